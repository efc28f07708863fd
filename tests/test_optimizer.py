"""adaviz.Adadelta: construction, errors, live hyperparameters, legacy API, Keras integration.

Numbers are checked against the independent float64 reference of test_reference.py
(``reference_step``), never against the package itself.
"""

import math
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from test_reference import reference_step

import adaviz
from adaviz.optimizer import Adadelta


def reference_trajectory(x0, grads, hyper_per_step):
    """Float64 reference with hyperparameters that may change from step to step."""
    x = np.asarray(x0, np.float64)
    accum_grad, accum_delta = np.zeros_like(x), np.zeros_like(x)
    for t, (grad, hyper) in enumerate(zip(grads, hyper_per_step, strict=True)):
        x, accum_grad, accum_delta, _ = reference_step(
            x, accum_grad, accum_delta, grad, t=t, **hyper
        )
    return x, accum_grad, accum_delta


# ---------------------------------------------------------------------- construction


def test_is_a_registered_keras3_optimizer_with_legacy_defaults():
    opt = adaviz.Adadelta()
    assert isinstance(opt, keras.optimizers.Optimizer)
    assert keras.saving.get_registered_name(Adadelta) == "adaviz>Adadelta"
    assert keras.saving.get_registered_object("adaviz>Adadelta") is Adadelta
    assert (opt.lr, opt.rho, opt.epsilon, opt.decay) == (1.0, 0.95, keras.config.epsilon(), 0.0)
    assert opt.epsilon == 1e-7
    assert isinstance(opt.rho, float) and isinstance(opt.lr, float)
    assert opt.track_step_size is False


def test_positional_legacy_signature_and_learning_rate_alias():
    opt = Adadelta(0.5, 0.9, 1e-6, 0.01)
    assert (opt.lr, opt.rho, opt.epsilon, opt.decay) == (0.5, 0.9, 1e-6, 0.01)
    alias = Adadelta(learning_rate=0.25)
    assert alias.lr == 0.25 and alias.get_config()["learning_rate"] == 0.25
    assert Adadelta(lr=2).lr == 2.0  # integers are numbers too


def test_keras_base_arguments_pass_through():
    opt = Adadelta(name="teacher", clipnorm=1.5, use_ema=True, ema_momentum=0.9)
    config = opt.get_config()
    assert opt.name == "teacher" and config["name"] == "teacher"
    assert config["clipnorm"] == 1.5 and config["use_ema"] and config["ema_momentum"] == 0.9


def test_clipvalue_clips_the_gradient_before_the_update():
    grad = np.array([5.0, -0.3, -7.0])
    var = tf.Variable(np.zeros(3))
    Adadelta(rho=0.9, clipvalue=1.0).apply_gradients([(tf.constant(grad), var)])
    expected, *_ = reference_step(
        np.zeros(3), 0, 0, np.clip(grad, -1, 1), lr=1.0, rho=0.9, epsilon=1e-7, decay=0, t=0
    )
    np.testing.assert_allclose(var.numpy(), expected, rtol=1e-12)


BAD_VALUES = [
    ("lr", -0.1, "lr must be a finite number >= 0, got -0.1"),
    ("lr", float("nan"), "lr must be a finite number >= 0, got nan"),
    ("lr", float("inf"), "lr must be a finite number >= 0, got inf"),
    ("lr", "1.0", "lr must be a finite number >= 0, got '1.0'"),
    ("lr", True, "lr must be a finite number >= 0, got True"),
    ("learning_rate", -1.0, "learning_rate must be a finite number >= 0, got -1.0"),
    ("learning_rate", None, "learning_rate must be a finite number >= 0, got None"),
    ("rho", 1.5, "rho must be in [0, 1], got 1.5"),
    ("rho", -0.01, "rho must be in [0, 1], got -0.01"),
    ("rho", float("nan"), "rho must be in [0, 1], got nan"),
    ("rho", [0.9], "rho must be in [0, 1], got [0.9]"),
    ("epsilon", -1e-7, "epsilon must be a finite number >= 0, got -1e-07"),
    ("epsilon", float("-inf"), "epsilon must be a finite number >= 0, got -inf"),
    ("epsilon", "tiny", "epsilon must be a finite number >= 0, got 'tiny'"),
    ("decay", -0.5, "decay must be a finite number >= 0, got -0.5"),
    ("decay", float("inf"), "decay must be a finite number >= 0, got inf"),
    ("decay", None, "decay must be a finite number >= 0, got None"),
]


@pytest.mark.parametrize("name, value, message", BAD_VALUES)
def test_bad_hyperparameters_raise_naming_argument_value_and_range(name, value, message):
    with pytest.raises(ValueError) as info:
        Adadelta(**{name: value})
    assert str(info.value).startswith(message)


@pytest.mark.parametrize("name, value, message", BAD_VALUES)
def test_setters_validate_and_leave_the_value_unchanged(name, value, message):
    opt = Adadelta(lr=0.5, rho=0.9, epsilon=1e-6, decay=0.01)
    before = (opt.lr, opt.rho, opt.epsilon, opt.decay)
    with pytest.raises(ValueError) as info:
        setattr(opt, name, value)
    assert str(info.value).startswith(message)
    assert (opt.lr, opt.rho, opt.epsilon, opt.decay) == before


def test_learning_rate_callables_are_checked_when_given():
    import numpy as np

    with pytest.raises(ValueError, match=r"lr must be a finite number >= 0, got <class 'dict'>"):
        adaviz.Adadelta(lr=dict)
    with pytest.raises(ValueError, match=r"whose result is refused: lr must be .* got -1.0"):
        adaviz.Adadelta(lr=lambda: -1.0)
    with pytest.raises(ValueError, match=r"calling .* failed"):
        adaviz.Adadelta(lr=lambda: 1 / 0)
    opt = adaviz.Adadelta(lr=0.5)
    with pytest.raises(ValueError, match=r"whose result is refused: lr must be .* got 'x'"):
        opt.lr = lambda: "x"
    assert opt.lr == 0.5  # nothing changed
    assert adaviz.Adadelta(lr=np.array(0.25)).lr == 0.25  # a 0-d array is a number
    assert adaviz.Adadelta(lr=lambda: 0.5).learning_rate == pytest.approx(0.5)


def test_lr_and_learning_rate_together_is_an_error():
    with pytest.raises(ValueError, match=r"lr=0\.5, learning_rate=0\.1"):
        Adadelta(lr=0.5, learning_rate=0.1)
    with pytest.raises(ValueError, match="got both"):
        Adadelta(1.0, learning_rate=1.0)  # even when equal, and lr at its default value


def test_unknown_keyword_arguments_are_named():
    with pytest.raises(ValueError, match=r"unknown keyword argument\(s\) beta_1, momentum") as info:
        Adadelta(momentum=0.9, beta_1=0.5)
    assert "momentum=0.9" in str(info.value) and "clipnorm" in str(info.value)
    with pytest.raises(ValueError, match="track_step_size must be True or False, got 'yes'"):
        Adadelta(track_step_size="yes")


def test_setters_accept_numpy_and_eager_scalars():
    opt = Adadelta()
    opt.rho = np.float32(0.5)
    opt.epsilon = tf.constant(1e-3, tf.float64)
    opt.lr = np.array(0.25)
    assert (opt.rho, opt.epsilon, opt.lr, opt.learning_rate.numpy()) == (0.5, 1e-3, 0.25, 0.25)


# ---------------------------------------------------------------------- live hyperparameters


def test_changed_hyperparameters_act_on_the_next_step_without_retracing():
    rng = np.random.default_rng(0)
    x0 = rng.normal(size=(4, 3))
    grads = [rng.normal(size=(4, 3)) for _ in range(8)]
    var = tf.Variable(x0)
    opt = Adadelta(lr=1.0, rho=0.9, epsilon=1e-6, decay=0.0)

    @tf.function
    def step(grad):
        opt.apply_gradients([(grad, var)])

    hyper = {"lr": 1.0, "rho": 0.9, "epsilon": 1e-6, "decay": 0.0}
    traces = None  # the first call traces twice (it creates the slot variables)
    changes = {
        2: {"rho": 0.5},
        3: {"epsilon": 1e-3},
        4: {"decay": 0.25},
        5: {"lr": 0.3},
        6: {"learning_rate": 0.2},
        7: {"rho": 0.99, "epsilon": 1e-8, "decay": 0.0, "lr": 2.0},
    }
    schedule = []
    for t, grad in enumerate(grads):
        for name, value in changes.get(t, {}).items():
            setattr(opt, name, value)
            hyper["lr" if name == "learning_rate" else name] = value
        schedule.append(dict(hyper))
        step(tf.constant(grad))
        traces = traces or step.experimental_get_tracing_count()
    x, accum_grad, accum_delta = reference_trajectory(x0, grads, schedule)
    assert step.experimental_get_tracing_count() == traces
    np.testing.assert_allclose(var.numpy(), x, rtol=1e-12)
    np.testing.assert_allclose(opt.accumulators(var)[0].numpy(), accum_grad, rtol=1e-12)
    np.testing.assert_allclose(opt.accumulators(var)[1].numpy(), accum_delta, rtol=1e-12)


def test_hyperparameters_read_inside_tf_function_are_live_tensors():
    opt = Adadelta(lr=0.5, rho=0.9, epsilon=1e-6, decay=0.01)

    @tf.function
    def read():
        return opt.lr, opt.rho, opt.epsilon, opt.decay

    assert [float(v) for v in read()] == [0.5, 0.9, 1e-6, 0.01]
    opt.lr, opt.rho, opt.epsilon, opt.decay = 0.25, 0.5, 1e-3, 0.0
    assert [float(v) for v in read()] == [0.25, 0.5, 1e-3, 0.0]
    assert read.experimental_get_tracing_count() == 1


def _linear_regression(seed=0, n=32):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    y = x @ np.array([[1.0], [-2.0], [0.5]]) + 0.1 * rng.normal(size=(n, 1))
    return x, y


def test_changes_between_fit_calls_take_effect_in_the_compiled_train_step():
    x, y = _linear_regression()
    w0 = np.array([[0.3], [0.1], [-0.2]])
    model = keras.Sequential(
        [keras.Input((3,), dtype="float64"), keras.layers.Dense(1, use_bias=False, dtype="float64")]
    )
    model.layers[0].kernel.assign(w0)
    opt = Adadelta(lr=1.0, rho=0.9, epsilon=1e-6)
    model.compile(optimizer=opt, loss=keras.losses.MeanSquaredError(dtype="float64"))
    model.fit(x, y, batch_size=len(x), epochs=3, shuffle=False, verbose=0)
    train_function = model.train_function
    opt.rho, opt.epsilon, opt.decay, opt.lr = 0.5, 1e-4, 0.2, 0.7
    model.fit(x, y, batch_size=len(x), epochs=3, shuffle=False, verbose=0)
    assert model.train_function is train_function  # same compiled step, new values

    first = {"lr": 1.0, "rho": 0.9, "epsilon": 1e-6, "decay": 0.0}
    second = {"lr": 0.7, "rho": 0.5, "epsilon": 1e-4, "decay": 0.2}
    w = w0
    accum_grad, accum_delta = np.zeros_like(w), np.zeros_like(w)
    for t, hyper in enumerate([first] * 3 + [second] * 3):
        grad = 2.0 / len(x) * x.T @ (x @ w - y)  # d/dw of the mean squared error
        w, accum_grad, accum_delta, _ = reference_step(
            w, accum_grad, accum_delta, grad, t=t, **hyper
        )
    # Keras sums the per-sample gradients in its own order, and the residuals x w - y
    # cancel as w converges: float64 rounding, amplified, only.
    kernel = model.layers[0].kernel
    np.testing.assert_allclose(kernel.numpy(), w, rtol=1e-9)
    np.testing.assert_allclose(opt.accumulators(kernel)[1].numpy(), accum_delta, rtol=1e-9)


def test_schedule_as_lr_with_decay_on_top():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.8, decay_steps=1, decay_rate=0.5)
    opt = Adadelta(lr=schedule, rho=0.9, epsilon=1e-6, decay=0.1)
    rng = np.random.default_rng(1)
    x0, grads = rng.normal(size=5), [rng.normal(size=5) for _ in range(4)]
    var = tf.Variable(x0)
    for grad in grads:
        opt.apply_gradients([(tf.constant(grad), var)])
    # Reference: lr_t = schedule(t) / (1 + decay * t), schedule(t) = 0.8 * 0.5**t.
    x, accum_grad, accum_delta = np.asarray(x0), np.zeros(5), np.zeros(5)
    for t, grad in enumerate(grads):
        x, accum_grad, accum_delta, _ = reference_step(
            x, accum_grad, accum_delta, grad, lr=0.8 * 0.5**t, rho=0.9, epsilon=1e-6,
            decay=0.1, t=t,
        )  # fmt: skip
    # The schedule computes in float32.
    np.testing.assert_allclose(var.numpy(), x, rtol=1e-6)
    assert opt.lr == pytest.approx(0.8 * 0.5**4)
    with pytest.raises(ValueError, match="created with a LearningRateSchedule"):
        opt.lr = 0.1
    clone = Adadelta.from_config(opt.get_config())
    assert isinstance(clone._learning_rate, keras.optimizers.schedules.ExponentialDecay)
    assert clone.get_config() == opt.get_config()


# ---------------------------------------------------------------------- config


def test_get_config_has_legacy_and_keras3_keys_as_plain_floats():
    opt = Adadelta(lr=0.1, rho=1 / 3, epsilon=1e-8, decay=0.003, name="a")
    opt.rho = 2 / 7  # live changes are part of the config
    config = opt.get_config()
    assert config["lr"] == config["learning_rate"] == 0.1
    assert (config["rho"], config["epsilon"], config["decay"]) == (2 / 7, 1e-8, 0.003)
    for key in ("lr", "learning_rate", "rho", "epsilon", "decay"):
        assert type(config[key]) is float, key
    for key in ("name", "clipnorm", "clipvalue", "global_clipnorm", "weight_decay", "use_ema"):
        assert key in config
    clone = Adadelta.from_config(config)
    assert clone.get_config() == config  # exact round trip
    assert Adadelta.from_config(keras.optimizers.serialize(opt)["config"]).rho == 2 / 7
    revived = keras.optimizers.deserialize(keras.optimizers.serialize(opt))
    assert type(revived) is Adadelta and revived.get_config() == config


@pytest.mark.parametrize(
    "legacy",
    [
        {"lr": 1.0, "rho": 0.95, "decay": 0.0, "epsilon": 1e-07},
        {"lr": 0.5, "rho": 0.9, "decay": 0.01, "epsilon": 1e-06, "name": "Adadelta"},
        {"lr": 1.0, "rho": 0.95, "decay": 0.0, "epsilon": None},
        # tf.keras >= 2.11 optimizer_v2 / legacy configs
        {"name": "Adadelta", "learning_rate": 0.001, "decay": 0.0, "rho": 0.95, "epsilon": 1e-07},
        {
            "name": "Adadelta",
            "learning_rate": 0.001,
            "rho": 0.95,
            "epsilon": 1e-07,
            "is_legacy_optimizer": False,
            "jit_compile": True,
            "clipnorm": None,
        },
    ],
)
def test_from_config_accepts_legacy_configs(legacy):
    opt = Adadelta.from_config(dict(legacy))
    assert opt.lr == legacy.get("lr", legacy.get("learning_rate"))
    assert opt.rho == legacy["rho"] and opt.decay == legacy.get("decay", 0.0)
    assert opt.epsilon == (legacy["epsilon"] or keras.config.epsilon())
    if "name" in legacy:
        assert opt.name == legacy["name"]
    assert Adadelta.from_config(opt.get_config()).get_config() == opt.get_config()


@pytest.mark.parametrize("config", [None, "x", 3, ["lr", 1.0]])
def test_from_config_says_what_a_config_is(config):
    with pytest.raises(ValueError) as info:
        Adadelta.from_config(config)
    message = str(info.value)
    assert message.startswith("config must be a dict, as get_config() returns")
    assert f"got {config!r} (type {type(config).__name__})" in message


@pytest.mark.parametrize("key", ["lr", "learning_rate"])
def test_from_config_says_what_a_learning_rate_may_be(key):
    serialized = {"class_name": "Nope", "config": {}, "module": None}
    with pytest.raises(ValueError) as info:
        Adadelta.from_config({key: serialized, "rho": 0.9})
    message = str(info.value)
    assert message.startswith(f"{key} in config must be a number >= 0 or a serialized ")
    assert "LearningRateSchedule" in message and repr(serialized) in message
    assert "Could not locate class 'Nope'" in message
    schedule = keras.optimizers.schedules.ExponentialDecay(0.5, 10, 0.9)
    config = {key: keras.optimizers.schedules.serialize(schedule)}
    opt = Adadelta.from_config(config)  # a serialized schedule is still taken
    assert float(opt.learning_rate) == pytest.approx(0.5)


def test_from_config_rejects_conflicting_learning_rates_and_unknown_keys():
    with pytest.raises(ValueError, match=r"lr=1\.0, learning_rate=0\.5"):
        Adadelta.from_config({"lr": 1.0, "learning_rate": 0.5})
    with pytest.raises(ValueError, match="unknown keyword argument.*momentum"):
        Adadelta.from_config({"lr": 1.0, "momentum": 0.9})


# ---------------------------------------------------------------------- state access


def test_accumulators_and_step_size_access():
    var = keras.Variable(np.array([1.0, -2.0]), name="w")
    other = keras.Variable(np.zeros(2), name="stranger")
    opt = Adadelta(lr=0.5, rho=0.8, epsilon=1e-4, track_step_size=True)
    with pytest.raises(ValueError, match="no state yet"):
        opt.accumulators(var)
    grad = np.array([0.3, 4.0])
    opt.apply_gradients([(tf.constant(grad), var)])
    accum_grad, accum_delta = opt.accumulators(var)
    assert accum_grad.shape == accum_delta.shape == var.shape
    assert opt.accumulators(var.value)[0] is accum_grad  # the tf.Variable works too
    _, a, d, step_size = reference_step([1.0, -2.0], 0, 0, grad, 0.5, 0.8, 1e-4, 0.0, 0)
    np.testing.assert_allclose(accum_grad.numpy(), a, rtol=1e-12)
    np.testing.assert_allclose(accum_delta.numpy(), d, rtol=1e-12)
    np.testing.assert_allclose(opt.step_size(var).numpy(), step_size, rtol=1e-12)
    with pytest.raises(ValueError, match="'stranger' is not one of the 1 variables"):
        opt.accumulators(other)
    untracked = Adadelta()
    untracked.apply_gradients([(tf.constant(grad), var)])
    with pytest.raises(ValueError, match=r"track_step_size=True"):
        untracked.step_size(var)


def test_tracking_step_sizes_does_not_change_the_trajectory():
    """Tracking runs adaviz._math.adadelta_step; without it, the fused kernel: same numbers."""
    rng = np.random.default_rng(2)
    x0 = rng.normal(size=(50, 20)).astype(np.float32)
    fused, tracked = tf.Variable(x0), tf.Variable(x0)
    opt_fused, opt_tracked = Adadelta(rho=0.9), Adadelta(rho=0.9, track_step_size=True)
    for _ in range(10):
        grad = tf.constant(rng.normal(size=x0.shape).astype(np.float32))
        opt_fused.apply_gradients([(grad, fused)])
        opt_tracked.apply_gradients([(grad, tracked)])
    np.testing.assert_allclose(tracked.numpy(), fused.numpy(), rtol=1e-6, atol=1e-7)
    for a, b in zip(opt_fused.accumulators(fused), opt_tracked.accumulators(tracked), strict=True):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-6)


# ---------------------------------------------------------------------- legacy API


def test_get_gradients_with_callable_and_inside_tf_function():
    w = keras.Variable(np.array([1.0, -3.0]), name="w")
    b = tf.Variable(2.0, name="b", dtype=tf.float64)
    opt = Adadelta()
    grads = opt.get_gradients(lambda: tf.reduce_sum(w * w) + 3.0 * b, [w, b])
    np.testing.assert_allclose(grads[0].numpy(), [2.0, -6.0])
    assert float(grads[1]) == 3.0

    @tf.function
    def in_graph():
        loss = tf.reduce_sum(w * w * w) + b * b
        return opt.get_gradients(loss, [w, b])

    grads = in_graph()
    np.testing.assert_allclose(grads[0].numpy(), [3.0, 27.0])
    assert float(grads[1]) == 4.0


def test_get_gradients_errors():
    w = keras.Variable(np.array([1.0, 2.0]), name="w")
    unused = keras.Variable(np.array([0.0]), name="unused")
    opt = Adadelta()
    with pytest.raises(ValueError, match="eager tensor.*pass a zero-argument callable"):
        opt.get_gradients(tf.reduce_sum(w * w), [w])
    with pytest.raises(ValueError, match=r"variable 'unused' has None for gradient"):
        opt.get_gradients(lambda: tf.reduce_sum(w * w), [w, unused])
    with pytest.raises(ValueError, match=r"variable 'w' has None for gradient"):
        opt.get_gradients(lambda: tf.cast(tf.argmax(w), tf.float64), [w])
    with pytest.raises(ValueError, match="loss must be a zero-argument callable.*got 3.0"):
        opt.get_gradients(3.0, [w])


def test_get_updates_applies_one_step_and_returns_the_updates():
    w0 = np.array([1.0, -3.0])
    w = keras.Variable(w0, name="w")
    opt = Adadelta(rho=0.9, epsilon=1e-6)
    updates = opt.get_updates(lambda: tf.reduce_sum(w * w), [w])
    x, a, d, _ = reference_step(w0, 0, 0, 2 * w0, 1.0, 0.9, 1e-6, 0.0, 0)
    # legacy order: iterations, then per parameter its E[g^2], itself, its E[dx^2]
    assert [u.shape for u in updates] == [(), (2,), (2,), (2,)]
    assert int(updates[0]) == 1
    np.testing.assert_allclose(updates[1].numpy(), a, rtol=1e-12)
    np.testing.assert_allclose(updates[2].numpy(), x, rtol=1e-12)
    np.testing.assert_allclose(updates[3].numpy(), d, rtol=1e-12)
    np.testing.assert_allclose(w.numpy(), x, rtol=1e-12)

    @tf.function
    def in_graph():
        updates = opt.get_updates(tf.reduce_sum(w * w), [w])
        assert all(isinstance(u, tf.Tensor) and not hasattr(u, "numpy") for u in updates)
        return updates

    x2, a2, d2, _ = reference_step(x, a, d, 2 * x, 1.0, 0.9, 1e-6, 0.0, 1)
    updates = in_graph()
    assert int(updates[0]) == 2
    np.testing.assert_allclose(updates[2].numpy(), x2, rtol=1e-12)
    np.testing.assert_allclose(w.numpy(), x2, rtol=1e-12)
    with pytest.raises(ValueError, match="pass a zero-argument callable"):
        opt.get_updates(tf.reduce_sum(w * w), [w])


def _built_optimizer():
    variables = [
        keras.Variable(np.ones((2, 3), np.float32), name="kernel"),
        keras.Variable(np.ones(3, np.float32), name="bias"),
    ]
    opt = Adadelta()
    return opt, variables


def test_get_weights_is_empty_then_all_accum_grads_then_all_accum_deltas():
    opt, variables = _built_optimizer()
    assert opt.get_weights() == []
    grads = [tf.fill((2, 3), 0.5), tf.fill((3,), -2.0)]
    opt.apply_gradients(zip(grads, variables, strict=True))
    weights = opt.get_weights()
    assert [w.shape for w in weights] == [(2, 3), (3,), (2, 3), (3,)]
    assert all(isinstance(w, np.ndarray) for w in weights)
    expected = [opt.accumulators(v)[0] for v in variables]
    expected += [opt.accumulators(v)[1] for v in variables]
    for got, slot in zip(weights, expected, strict=True):
        np.testing.assert_array_equal(got, slot.numpy())
    np.testing.assert_allclose(weights[1], 0.05 * 4.0, rtol=1e-6)  # (1 - rho) g^2


def test_set_weights_takes_both_layouts():
    opt, variables = _built_optimizer()
    opt.build(variables)
    new = [np.full((2, 3), 1.0), np.full(3, 2.0), np.full((2, 3), 3.0), np.full(3, 4.0)]
    opt.set_weights(new)
    for got, want in zip(opt.get_weights(), new, strict=True):
        np.testing.assert_array_equal(got, want)
    assert int(opt.iterations.numpy()) == 0
    opt.set_weights([np.int64(7)] + [w + 1 for w in new])  # iteration count first
    assert int(opt.iterations.numpy()) == 7
    np.testing.assert_array_equal(opt.get_weights()[3], np.full(3, 5.0))
    # The restored state drives the next step: compare with the reference from it.
    opt.apply_gradients([(tf.ones((2, 3)), variables[0]), (tf.ones(3), variables[1])])
    x, a, d, _ = reference_step(np.ones(3), 3.0, 5.0, np.ones(3), 1.0, 0.95, 1e-7, 0.0, 7)
    np.testing.assert_allclose(variables[1].numpy(), x, rtol=1e-6)
    np.testing.assert_allclose(opt.get_weights()[3], d, rtol=1e-6)


def test_set_weights_also_takes_keras3_variables_layout():
    opt, variables = _built_optimizer()
    opt.apply_gradients([(tf.ones((2, 3)), variables[0]), (tf.ones(3), variables[1])])
    opt.rho = 0.5
    twin, twin_variables = _built_optimizer()
    twin.build(twin_variables)
    twin.set_weights([v.numpy() for v in opt.variables])  # as MultiOptimizer does
    assert (twin.rho, int(twin.iterations.numpy())) == (0.5, 1)
    for a, b in zip(twin.get_weights(), opt.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("weights", [None, 3, "abc", {"a": 1}])
def test_set_weights_says_what_weights_are(weights):
    opt, variables = _built_optimizer()
    opt.build(variables)
    with pytest.raises(ValueError) as info:
        opt.set_weights(weights)
    message = str(info.value)
    assert message.startswith("weights must be a list of numpy arrays (the layout of get_weights")
    assert f"got {weights!r} (type {type(weights).__name__})" in message


@pytest.mark.parametrize(
    "index, value, expected",
    [
        (1, np.nan, r"weights[1] (E[g^2] of 'bias', bias_accum_grad) must be finite, got nan "),
        (
            2,
            np.inf,
            r"weights[2] (E[dx^2] of 'kernel', kernel_accum_delta) must be finite, got inf",
        ),
        (
            0,
            -1.0,
            r"weights[0] (E[g^2] of 'kernel', kernel_accum_grad) must be >= 0 "
            "(a running average of squares), got -1.0 at flat index 0",
        ),
        (
            3,
            -0.5,
            r"weights[3] (E[dx^2] of 'bias', bias_accum_delta) must be >= 0 "
            "(a running average of squares), got -0.5 at flat index 0",
        ),
    ],
)
def test_set_weights_refuses_states_that_would_turn_the_next_step_nan(index, value, expected):
    opt, variables = _built_optimizer()
    opt.apply_gradients([(tf.ones((2, 3)), variables[0]), (tf.ones(3), variables[1])])
    before = opt.get_weights()
    weights = [w.copy() for w in before]
    weights[index].reshape(-1)[0] = value
    with pytest.raises(ValueError) as info:
        opt.set_weights(weights)
    assert str(info.value).startswith(expected)
    for got, want in zip(opt.get_weights(), before, strict=True):
        np.testing.assert_array_equal(got, want)


def test_set_weights_refuses_a_negative_iteration_count_and_hyperparameters_out_of_range():
    opt, variables = _built_optimizer()
    opt.build(variables)
    with pytest.raises(ValueError, match=r"weights\[0\] \(iteration\) must be >= 0 \(a count "):
        opt.set_weights([np.int64(-3)] + opt.get_weights())
    keras3 = [np.float64(2.0) if v.name == "rho" else v.numpy() for v in opt.variables]
    with pytest.raises(ValueError, match=r"weights\[2\] \(rho\): rho must be in \[0, 1\], got 2.0"):
        opt.set_weights(keras3)
    assert opt.rho == 0.95


def test_set_weights_errors_change_nothing():
    opt, variables = _built_optimizer()
    with pytest.raises(ValueError, match="no state yet"):
        opt.set_weights([])
    opt.apply_gradients([(tf.ones((2, 3)), variables[0]), (tf.ones(3), variables[1])])
    before = opt.get_weights()
    iterations = int(opt.iterations.numpy())
    good = [np.zeros((2, 3)), np.zeros(3), np.zeros((2, 3)), np.zeros(3)]
    with pytest.raises(ValueError, match="list of 4 arrays .* or 5 .*got 3"):
        opt.set_weights(good[:3])
    with pytest.raises(ValueError, match="got 6: the list is too long"):
        opt.set_weights(good + good[:2])
    with pytest.raises(
        ValueError,
        match=r"weights\[3\] \(.*bias_accum_delta.*\) must have shape \(3,\), got shape \(4,\)",
    ):
        opt.set_weights(good[:3] + [np.zeros(4)])
    with pytest.raises(
        ValueError,
        match=r"weights has 5 arrays, one more than get_weights\(\) gives \(4: .*weights\[0\] "
        r"\(iteration\) is not a number \(shape \(\)\), got shape \(2,\): pass the 4 ",
    ):
        opt.set_weights([np.zeros(2)] + good)
    with pytest.raises(ValueError, match=r"weights\[1\] .* must be a numeric array"):
        opt.set_weights([good[0], "abc", *good[2:]])
    for got, want in zip(opt.get_weights(), before, strict=True):
        np.testing.assert_array_equal(got, want)
    assert int(opt.iterations.numpy()) == iterations


# ---------------------------------------------------------------------- sparse gradients


def test_indexed_slices_equal_their_dense_gradient_exactly():
    rng = np.random.default_rng(3)
    x0 = rng.normal(size=(6, 3)).astype(np.float32)
    sparse_var, dense_var = tf.Variable(x0), tf.Variable(x0)
    opt_sparse, opt_dense = Adadelta(rho=0.9), Adadelta(rho=0.9)
    first = tf.constant(rng.normal(size=(6, 3)).astype(np.float32))  # every row has state
    opt_sparse.apply_gradients([(first, sparse_var)])
    opt_dense.apply_gradients([(first, dense_var)])
    accum_before = [a.numpy() for a in opt_dense.accumulators(dense_var)]
    slices = tf.IndexedSlices(
        values=tf.constant(rng.normal(size=(3, 3)).astype(np.float32)),
        indices=tf.constant([1, 4, 1]),  # a duplicate index: its rows add up
        dense_shape=tf.constant([6, 3]),
    )
    opt_sparse.apply_gradients([(slices, sparse_var)])
    opt_dense.apply_gradients([(tf.convert_to_tensor(slices), dense_var)])
    np.testing.assert_array_equal(sparse_var.numpy(), dense_var.numpy())
    pairs = zip(opt_sparse.accumulators(sparse_var), opt_dense.accumulators(dense_var), strict=True)
    for a, b in pairs:
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    # Rows without a gradient keep their value but their accumulators decay by rho.
    np.testing.assert_array_equal(sparse_var.numpy()[0], dense_var.numpy()[0])
    accum_grad, accum_delta = (a.numpy() for a in opt_sparse.accumulators(sparse_var))
    np.testing.assert_allclose(accum_grad[0], 0.9 * accum_before[0][0], rtol=1e-6)
    np.testing.assert_allclose(accum_delta[0], 0.9 * accum_before[1][0], rtol=1e-6)


class OneHotEmbedding(keras.layers.Layer):
    """The dense equivalent of an Embedding: one_hot(ids) @ table."""

    def __init__(self, vocabulary, width, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary, self.width = vocabulary, width

    def build(self, input_shape):
        self.embeddings = self.add_weight(shape=(self.vocabulary, self.width), name="embeddings")

    def call(self, ids):
        return tf.matmul(
            tf.one_hot(ids, self.vocabulary, dtype=self.compute_dtype), self.embeddings
        )


def _embedding_model(layer):
    model = keras.Sequential(
        [
            keras.Input((5,), dtype="int32"),
            layer,
            keras.layers.GlobalAveragePooling1D(dtype="float64"),
            keras.layers.Dense(1, dtype="float64"),
        ]
    )
    model.compile(optimizer=Adadelta(rho=0.9, epsilon=1e-6), loss="mse")
    return model


def test_embedding_model_equals_its_dense_equivalent():
    rng = np.random.default_rng(4)
    ids = rng.integers(0, 12, size=(40, 5)).astype(np.int32)  # repeats within a batch
    target = rng.normal(size=(40, 1))
    sparse = _embedding_model(keras.layers.Embedding(12, 4, dtype="float64"))
    dense = _embedding_model(OneHotEmbedding(12, 4, dtype="float64"))
    dense.set_weights(sparse.get_weights())
    table = sparse.layers[0].embeddings
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(sparse(ids[:8]))
    assert isinstance(tape.gradient(loss, table.value), tf.IndexedSlices)  # the sparse path
    for model in (sparse, dense):
        model.fit(ids, target, batch_size=8, epochs=3, shuffle=False, verbose=0)
    for a, b in zip(sparse.get_weights(), dense.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    for a, b in zip(sparse.optimizer.get_weights(), dense.optimizer.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------------- saving


def _small_model():
    keras.utils.set_random_seed(5)
    return keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(1)]
    )


@pytest.mark.parametrize("track_step_size", [False, True], ids=["fused", "tracked"])
def test_keras_save_load_restores_state_and_training_continues_exactly(tmp_path, track_step_size):
    x, y = _linear_regression(seed=1, n=48)
    model = _small_model()
    opt = Adadelta(rho=0.9, epsilon=1e-6, decay=0.01, track_step_size=track_step_size)
    model.compile(optimizer=opt, loss="mse")
    model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    opt.rho, opt.lr = 0.8, 0.7  # a live change made in a panel is saved too
    path = tmp_path / "model.keras"
    model.save(path)

    loaded = keras.saving.load_model(path)
    restored = loaded.optimizer
    assert type(restored) is Adadelta
    assert restored.get_config() == opt.get_config()
    assert (restored.rho, restored.lr, int(restored.iterations.numpy())) == (0.8, 0.7, 6)
    for a, b in zip(restored.variables, opt.variables, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for a, b in zip(restored.get_weights(), opt.get_weights(), strict=True):
        assert np.any(a != 0)
        np.testing.assert_array_equal(a, b)

    model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    loaded.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(loaded.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(restored.get_weights(), opt.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_import_adaviz_alone_is_enough_to_load_a_saved_model(tmp_path):
    model = _small_model()
    model.compile(optimizer=Adadelta(rho=0.9), loss="mse")
    x, y = _linear_regression(seed=3, n=16)
    model.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    script = (
        "import adaviz, keras, sys; "
        "opt = keras.saving.load_model(sys.argv[1]).optimizer; "
        "print(type(opt).__module__, type(opt).__name__, opt.rho, int(opt.iterations))"
    )
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-c", script, str(path)],
        capture_output=True,
        text=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["adaviz.optimizer", "Adadelta", "0.9", "1"]


# ---------------------------------------------------------------------- distribution


@pytest.fixture(scope="module")
def two_cpus():
    devices = [d.name for d in tf.config.list_logical_devices("CPU")]
    if len(devices) < 2:  # conftest.py sets up two; this would be a set-up bug
        pytest.fail(f"expected two logical CPU devices from conftest.py, got {devices}")
    return tf.distribute.MirroredStrategy(devices[:2])


def _fit_float64(strategy, track_step_size, x, y):
    with strategy.scope():
        keras.utils.set_random_seed(6)
        model = keras.Sequential(
            [
                keras.Input((3,), dtype="float64"),
                keras.layers.Dense(6, activation="tanh", dtype="float64"),
                keras.layers.Dense(1, dtype="float64"),
            ]
        )
        opt = Adadelta(rho=0.9, epsilon=1e-6, decay=0.02, track_step_size=track_step_size)
        model.compile(optimizer=opt, loss="mse")
    model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    opt.rho = 0.7  # a live change under the strategy reaches every replica
    model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    return model


@pytest.mark.slow  # trains Keras models: an integration test
@pytest.mark.parametrize("track_step_size", [False, True], ids=["fused", "tracked"])
def test_mirrored_strategy_fit_matches_one_device(two_cpus, track_step_size):
    x, y = _linear_regression(seed=2, n=64)
    mirrored = _fit_float64(two_cpus, track_step_size, x, y)
    single = _fit_float64(tf.distribute.get_strategy(), track_step_size, x, y)
    assert mirrored.distribute_strategy.num_replicas_in_sync == 2
    slot = mirrored.optimizer.accumulators(mirrored.trainable_variables[0])[0]
    assert isinstance(slot.value, tf.distribute.DistributedValues)
    # Replicas sum their half-batch gradients: equal up to summation order.
    for a, b in zip(mirrored.get_weights(), single.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)
    for a, b in zip(mirrored.optimizer.get_weights(), single.optimizer.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)
    if track_step_size:
        kernel = mirrored.trainable_variables[0]
        np.testing.assert_allclose(
            mirrored.optimizer.step_size(kernel).numpy(),
            single.optimizer.step_size(single.trainable_variables[0]).numpy(),
            rtol=1e-10,
        )


# ---------------------------------------------------------------------- a real model


def two_moons(n, rng, noise=0.1):
    t = rng.uniform(0, np.pi, n)
    label = rng.integers(0, 2, n)
    upper = np.c_[np.cos(t), np.sin(t)]
    lower = np.c_[1 - np.cos(t), 0.5 - np.sin(t)]
    x = np.where(label[:, None] == 0, upper, lower) + noise * rng.normal(size=(n, 2))
    return x.astype(np.float32), label.astype(np.float32)[:, None]


def _moons_model(lr):
    # float64 so that parameter differences show 1e-6 steps precisely
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((2,), dtype="float64"),
            keras.layers.Dense(16, activation="tanh", dtype="float64"),
            keras.layers.Dense(16, activation="tanh", dtype="float64"),
            keras.layers.Dense(1, dtype="float64"),
        ]
    )
    model.compile(
        optimizer=Adadelta(lr=lr),
        loss=keras.losses.BinaryCrossentropy(from_logits=True, dtype="float64"),
    )
    return model


@pytest.mark.slow  # trains Keras models: an integration test
def test_two_moons_learns_with_lr_1_and_barely_moves_with_keras3_lr_0_001():
    x, y = two_moons(256, np.random.default_rng(0))
    results = {}
    for lr in (1.0, 0.001):
        model = _moons_model(lr)
        start = [w.copy() for w in model.get_weights()]
        initial_loss = model.evaluate(x, y, verbose=0)
        # The very first step moves every parameter by ~ lr * sqrt(eps / (1 - rho)):
        # the unit-correcting ratio starts at sqrt(eps) / sqrt((1 - rho) g^2).
        model.fit(x[:16], y[:16], batch_size=16, epochs=1, shuffle=False, verbose=0)
        first = np.concatenate(
            [np.abs(a - b).ravel() for a, b in zip(model.get_weights(), start, strict=True)]
        )
        model.fit(x, y, batch_size=16, epochs=5, shuffle=False, verbose=0)
        moved = max(np.abs(a - b).max() for a, b in zip(model.get_weights(), start, strict=True))
        results[lr] = (initial_loss, model.evaluate(x, y, verbose=0), first, moved)

    floor = math.sqrt(1e-7 / (1 - 0.95))  # 1.41e-3
    for lr, (_, _, first, _) in results.items():
        # |step| = lr sqrt(eps) |g| / sqrt((1 - rho) g^2 + eps) < lr sqrt(eps / (1 - rho)),
        # reached as soon as (1 - rho) g^2 >> eps, i.e. for most parameters.
        assert first.max() <= lr * floor * (1 + 1e-5)
        np.testing.assert_allclose(first.max(), lr * floor, rtol=1e-3)
        assert np.median(first) > 0.95 * lr * floor
    initial, final, _, moved = results[1.0]
    assert final < 0.6 * initial  # e.g. 0.62 -> 0.32
    assert moved > 0.1
    initial, final, _, moved = results[0.001]
    # 81 steps of about 1.4e-6 each (growing slowly as E[dx^2] builds up): nothing moves.
    assert moved < 81 * 10 * 0.001 * floor
    assert abs(initial - final) < 0.01 * initial


# ---------------------------------------------------------------------- callable rho, epsilon


def test_callable_rho_and_epsilon_are_checked_when_given_and_at_each_step():
    with pytest.raises(
        ValueError,
        match=r"rho is a callable, .* whose result is refused: rho must be in \[0, 1\], got 1.5",
    ):
        Adadelta(rho=lambda: 1.5)
    with pytest.raises(
        ValueError,
        match=r"epsilon must be a number or a zero-argument callable .* calling .* failed",
    ):
        Adadelta(epsilon=lambda: 1 / 0)
    values = [0.9]
    opt = Adadelta(rho=lambda: values[0], epsilon=lambda: 1e-6)
    assert (opt.rho, opt.epsilon) == (0.9, 1e-6)
    values[0] = 0.5
    assert opt.rho == 0.5  # read: the callable's current result, as tf.keras's _get_hyper
    var = tf.Variable([1.0, -2.0])
    values[0] = 2.0  # refused at the step that calls it
    with pytest.raises(ValueError, match=r"rho must be in \[0, 1\], got 2.0"):
        opt.apply_gradients([(tf.constant([0.5, 0.5]), var)])
    np.testing.assert_array_equal(var.numpy(), [1.0, -2.0])


def test_callable_and_number_hyperparameters_cannot_be_swapped_by_setters():
    opt = Adadelta(rho=lambda: 0.9)
    with pytest.raises(
        ValueError,
        match=r"rho cannot be set to 0.5: this optimizer was created with a callable rho",
    ):
        opt.rho = 0.5
    plain = Adadelta(epsilon=1e-6)
    with pytest.raises(
        ValueError, match=r"epsilon cannot be set to .*created with a number epsilon"
    ):
        plain.epsilon = lambda: 1e-5
    assert plain.epsilon == 1e-6


def test_callable_rho_reading_a_variable_changes_a_traced_step_without_retracing():
    rho = tf.Variable(0.9, dtype=tf.float64)
    epsilon = tf.Variable(1e-6, dtype=tf.float64)
    opt = Adadelta(lr=1.0, rho=lambda: rho, epsilon=lambda: epsilon)
    var = tf.Variable([1.5, -0.5], dtype=tf.float64)
    opt.build([var])  # slots made outside, so the one trace is the step's own

    @tf.function
    def step(grad):
        opt.apply_gradients([(grad, var)])

    grads = [np.array([0.3, -2.0]), np.array([1.0, 0.5]), np.array([-0.7, 0.2])]
    hyper = [(0.9, 1e-6), (0.5, 1e-4), (0.99, 1e-8)]
    for grad, (r, e) in zip(grads, hyper, strict=True):
        rho.assign(r)
        epsilon.assign(e)
        step(tf.constant(grad))
    assert step.experimental_get_tracing_count() == 1
    schedule = [{"lr": 1.0, "rho": r, "epsilon": e, "decay": 0.0} for r, e in hyper]
    x, accum_grad, accum_delta = reference_trajectory([1.5, -0.5], grads, schedule)
    np.testing.assert_allclose(var.numpy(), x, rtol=1e-12)
    np.testing.assert_allclose(opt.accumulators(var)[0].numpy(), accum_grad, rtol=1e-12)
    np.testing.assert_allclose(opt.accumulators(var)[1].numpy(), accum_delta, rtol=1e-12)
    assert (opt.rho, opt.epsilon) == (0.99, 1e-8)
