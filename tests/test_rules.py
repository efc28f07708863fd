"""Tests for the update rules of adaviz._math.RULES through adaviz.simulate.

Each rule against stepping the matching ``keras.optimizers.*`` on a ``tf.Variable`` (float64,
200 steps, positions within 1e-10), the realized step size, batching without retracing, the
recorded hyperparameters and state, the loss scale (and Adadelta's invariance to it), and
every refused input.

Keras 3 turns some Python-float hyperparameters into tensors through float32 before casting
them to the variable's dtype (``ops.cast(0.9, "float64")`` is 0.8999999761581421): SGD's
``momentum`` and Adam's ``beta_1``/``beta_2`` in its bias correction. adaviz keeps every
hyperparameter in float64, so the float64 comparisons use values exact in float32 (0.875,
1 - 2**-10, ...) and the Keras learning-rate variable is made float64 (``floatx``).
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

import adaviz
from adaviz import _math, engine

# ---------------------------------------------------------------- against Keras 3


@pytest.fixture
def float64_keras():
    """Keras's learning-rate variable is created in floatx: make it float64 for exact lr."""
    before = keras.config.floatx()
    keras.config.set_floatx("float64")
    yield
    keras.config.set_floatx(before)


# (adaviz rule, its hyperparameters, the Keras constructor written independently, surface)
KERAS_CASES = {
    "adadelta": (
        "adadelta",
        dict(lr=1.0, rho=0.95, epsilon=1e-6),
        lambda: keras.optimizers.Adadelta(learning_rate=1.0, rho=0.95, epsilon=1e-6),
        "rosenbrock",
    ),
    "sgd": (
        "sgd",
        dict(lr=1e-4),
        lambda: keras.optimizers.SGD(learning_rate=1e-4),
        "rosenbrock",
    ),
    "sgd-booth-defaults": ("sgd", {}, lambda: keras.optimizers.SGD(), "booth"),
    "momentum": (
        "momentum",
        dict(lr=2e-4, momentum=0.875),
        lambda: keras.optimizers.SGD(learning_rate=2e-4, momentum=0.875),
        "rosenbrock",
    ),
    "momentum-keras-rounds-0.9": (
        "momentum",
        dict(lr=2e-4, momentum=float(np.float32(0.9))),
        lambda: keras.optimizers.SGD(learning_rate=2e-4, momentum=0.9),
        "rosenbrock",
    ),
    "nesterov": (
        "nesterov",
        dict(lr=2e-4, momentum=0.75),
        lambda: keras.optimizers.SGD(learning_rate=2e-4, momentum=0.75, nesterov=True),
        "rosenbrock",
    ),
    "adagrad": (
        "adagrad",
        dict(lr=0.1, initial_accumulator_value=0.5, epsilon=1e-6),
        lambda: keras.optimizers.Adagrad(
            learning_rate=0.1, initial_accumulator_value=0.5, epsilon=1e-6
        ),
        "beale",
    ),
    "rmsprop": (
        "rmsprop",
        dict(lr=0.01),
        lambda: keras.optimizers.RMSprop(learning_rate=0.01),
        "himmelblau",
    ),
    "rmsprop-centered-momentum": (
        "rmsprop",
        dict(lr=0.003, rho=0.8, momentum=0.5, epsilon=1e-5, centered=True),
        lambda: keras.optimizers.RMSprop(
            learning_rate=0.003, rho=0.8, momentum=0.5, epsilon=1e-5, centered=True
        ),
        "booth",
    ),
    "adam": (
        "adam",
        dict(lr=0.02, beta_1=0.875, beta_2=1 - 2**-10),
        lambda: keras.optimizers.Adam(learning_rate=0.02, beta_1=0.875, beta_2=1 - 2**-10),
        "rosenbrock",
    ),
    "adam-amsgrad": (
        "adam",
        dict(lr=0.05, beta_1=0.75, beta_2=0.984375, epsilon=1e-5, amsgrad=True),
        lambda: keras.optimizers.Adam(
            learning_rate=0.05, beta_1=0.75, beta_2=0.984375, epsilon=1e-5, amsgrad=True
        ),
        "beale",
    ),
}


def step_keras(make_optimizer, surface, steps):
    """Positions of a float64 tf.Variable stepped by a Keras optimizer on the surface.

    Each step is Keras's own ``apply_gradients`` in a plain ``tf.function`` (a TensorFlow
    graph, no XLA): the same kernels as eager stepping, without eager's per-op dispatch.
    """
    var = tf.Variable(np.asarray(surface.start, np.float64))
    opt = make_optimizer()
    opt.build([var])  # the slots exist before the graph is traced

    @tf.function(jit_compile=False)
    def step():
        with tf.GradientTape() as tape:
            loss = surface.fn(var[0], var[1])
        opt.apply_gradients([(tape.gradient(loss, var), var)])

    positions = [var.numpy()]
    for _ in range(steps):
        step()
        positions.append(var.numpy())
    return np.array(positions)


@pytest.mark.parametrize("case", sorted(KERAS_CASES))
def test_every_rule_equals_stepping_keras_in_float64(case, float64_keras):
    name, hyper, make_optimizer, surface = KERAS_CASES[case]
    s = adaviz.surfaces.get(surface)
    t = adaviz.simulate(s, steps=200, optimizer=name, dtype=tf.float64, **hyper)
    want = step_keras(make_optimizer, s, 200)
    assert not t.diverged.any()
    assert np.abs(want[-1] - want[0]).max() > 0.05, "the run must actually move"
    np.testing.assert_allclose(t.positions[:, 0], want, rtol=0, atol=1e-10)


def test_the_keras_cases_cover_every_rule_and_flag():
    covered = {case[0] for case in KERAS_CASES.values()}
    assert covered == set(_math.RULES)
    flags = {k for case in KERAS_CASES.values() for k, v in case[1].items() if v is True}
    assert flags == {"centered", "amsgrad"}


def test_defaults_are_keras_3s():
    assert _math.RULES["adadelta"].defaults == dict(lr=1.0, rho=0.95, epsilon=1e-7, decay=0.0)
    for name, cls in [("sgd", keras.optimizers.SGD), ("adagrad", keras.optimizers.Adagrad)]:
        config = cls().get_config()
        for hp, value in _math.RULES[name].defaults.items():
            key = "learning_rate" if hp == "lr" else hp
            assert config[key] == pytest.approx(value), (name, hp)
    for name, cls in [("rmsprop", keras.optimizers.RMSprop), ("adam", keras.optimizers.Adam)]:
        config = cls().get_config()
        for hp, value in _math.RULES[name].defaults.items():
            key = "learning_rate" if hp == "lr" else hp
            assert config[key] == pytest.approx(value), (name, hp)
    momentum = keras.optimizers.SGD(momentum=0.9).get_config()
    for name in ("momentum", "nesterov"):
        assert _math.RULES[name].defaults == dict(lr=0.01, momentum=0.9)
        assert momentum["learning_rate"] == pytest.approx(0.01) and momentum["momentum"] == 0.9
    t = adaviz.simulate("booth", steps=3, optimizer="adam")
    assert t.lr[0] == 0.001 and t.beta_2[0] == 0.999 and not t.amsgrad[0]


# ---------------------------------------------------------------- what a Trajectory records


STATE = {
    "adadelta": ("accum_grad", "accum_delta"),
    "sgd": (),
    "momentum": ("velocity",),
    "nesterov": ("velocity",),
    "adagrad": ("accumulator",),
    "rmsprop": ("velocity", "average_gradient", "momentum_buffer"),
    "adam": ("m", "v", "v_hat"),
}


@pytest.mark.parametrize("name", sorted(_math.RULES))
def test_step_size_is_the_realized_multiplier_of_the_gradient(name):
    s = adaviz.surfaces.get("beale")
    hyper = {"momentum": {"momentum": 0.5}, "rmsprop": {"momentum": 0.3}}.get(name, {})
    hyper["lr"] = 1e-3 if name in ("sgd", "momentum", "nesterov") else 0.01
    t = adaviz.simulate(s, steps=100, optimizer=name, dtype=tf.float64, **hyper)
    assert not t.diverged.any()
    moved = t.positions[:-1] - t.positions[1:]
    np.testing.assert_allclose(t.step_size, moved / t.grads, rtol=1e-8)
    assert t.optimizer == name
    assert tuple(t.state) == STATE[name] == _math.RULES[name].state
    for slot in STATE[name]:
        assert t.state[slot].shape == (101, 1, 2)
        assert getattr(t, slot) is t.state[slot]
    assert set(t.hyperparameters) == set(_math.RULES[name].hyperparameters)
    for value in t.hyperparameters.values():
        assert value.shape == (1,)


def test_state_is_the_rules_state_from_its_formulas():
    # momentum's velocity is minus the move; adagrad's accumulator sums g^2 from its start
    s = adaviz.surfaces.get("booth")
    t = adaviz.simulate(s, steps=50, optimizer="momentum", lr=1e-3, dtype=tf.float64)
    np.testing.assert_array_equal(t.velocity[0], 0.0)
    np.testing.assert_allclose(t.velocity[1:], t.positions[1:] - t.positions[:-1], rtol=1e-12)
    a = adaviz.simulate(
        s, steps=50, optimizer="adagrad", initial_accumulator_value=0.25, dtype=tf.float64
    )
    want = 0.25 + np.concatenate([np.zeros((1, 1, 2)), np.cumsum(a.grads**2, axis=0)])
    np.testing.assert_allclose(a.accumulator, want, rtol=1e-12)
    adam = adaviz.simulate(s, steps=50, optimizer="adam", lr=0.1, dtype=tf.float64)
    np.testing.assert_array_equal(adam.v_hat, np.maximum.accumulate(adam.v, axis=0))


@pytest.mark.parametrize(
    "name, arrays",
    [
        ("sgd", dict(lr=[1e-4, 3e-4, 1e-3])),
        ("momentum", dict(lr=[1e-4, 3e-4, 1e-3], momentum=[0.5, 0.9, 0.0])),
        ("nesterov", dict(lr=[1e-4, 3e-4, 1e-3], momentum=[0.5, 0.9, 0.99])),
        ("adagrad", dict(lr=[0.01, 0.1, 0.5], initial_accumulator_value=[0.0, 0.1, 1.0])),
        ("rmsprop", dict(lr=[1e-3, 1e-2, 3e-3], centered=[True, False, True], momentum=0.2)),
        ("adam", dict(lr=[1e-3, 1e-2, 3e-2], amsgrad=[False, True, True], beta_1=0.8)),
        ("adadelta", dict(learning_rate=[0.5, 1.0, 2.0], rho=[0.9, 0.95, 0.99])),
    ],
)
def test_batched_hyperparameters_equal_separate_calls_and_never_retrace(name, arrays):
    s = adaviz.surfaces.get("beale")
    steps = 60
    batched = adaviz.simulate(s, steps=steps, optimizer=name, dtype=tf.float64, **arrays)
    assert batched.positions.shape == (steps + 1, 3, 2)
    before = engine.trace_count()
    for i in range(3):
        one = {k: (v[i] if isinstance(v, list) else v) for k, v in arrays.items()}
        single = adaviz.simulate(s, steps=steps, optimizer=name, dtype=tf.float64, **one)
        np.testing.assert_allclose(
            batched.positions[:, i], single.positions[:, 0], rtol=1e-12, atol=1e-12
        )
        for k, v in one.items():
            key = "lr" if k == "learning_rate" else k
            assert batched.hyperparameters[key][i] == v and single.hyperparameters[key][0] == v
    # the first single run traces the N = 1 graph; new values after that never retrace
    assert engine.trace_count() - before == 1
    for key, value in arrays.items():
        key = "lr" if key == "learning_rate" else key
        recorded = batched.hyperparameters[key]
        assert recorded.shape == (3,)
        if key in ("centered", "amsgrad"):
            assert recorded.dtype == bool
        np.testing.assert_array_equal(recorded, np.broadcast_to(value, (3,)))


def test_learning_rate_is_an_alias_of_lr():
    a = adaviz.simulate("booth", steps=20, optimizer="adam", learning_rate=0.05)
    b = adaviz.simulate("booth", steps=20, optimizer="adam", lr=0.05)
    np.testing.assert_array_equal(a.positions, b.positions)
    assert a.lr[0] == 0.05


# ---------------------------------------------------------------- the loss scale


@pytest.mark.parametrize("name", ["adadelta", "sgd", "adam"])
def test_loss_scale_runs_the_rule_on_the_scaled_function(name):
    s = adaviz.surfaces.get("himmelblau")
    scaled = adaviz.Surface(
        lambda x, y: 30.0 * s.fn(x, y), s.domain, minima=s.minima, start=s.start
    )
    lr = {"sgd": 1e-5, "adam": 0.05}.get(name, 1.0)
    a = adaviz.simulate(s, steps=80, optimizer=name, loss_scale=30.0, lr=lr, dtype=tf.float64)
    b = adaviz.simulate(scaled, steps=80, optimizer=name, lr=lr, dtype=tf.float64)
    for field in ("positions", "loss", "grads", "step_size", "newton_step_size"):
        want = getattr(b, field)
        np.testing.assert_allclose(
            getattr(a, field), want, rtol=1e-9, atol=1e-12 * np.abs(want).max(), err_msg=field
        )
    np.testing.assert_array_equal(a.loss_scale, [30.0])
    # tolerances stay in the surface's own units
    gap = s(a.positions[:, 0, 0], a.positions[:, 0, 1]) - s.min_value
    ordered = np.sort(gap)
    tol = float(ordered[40] + ordered[41]) / 2  # between two recorded values, not on one
    assert a.steps_to_tolerance(tol)[0] == np.flatnonzero(gap <= tol)[0] > 0


def test_loss_scale_batches_and_never_retraces():
    s = adaviz.surfaces.get("booth")
    adaviz.simulate(s, steps=30, optimizer="sgd", lr=1e-3)
    before = engine.trace_count()
    many = adaviz.simulate(
        s, start=np.zeros((3, 2)), steps=30, optimizer="sgd", lr=1e-3, loss_scale=[0.1, 1.0, 10.0]
    )
    assert engine.trace_count() == before + 1  # the new N only
    for i, k in enumerate([0.1, 1.0, 10.0]):
        one = adaviz.simulate(s, start=(0.0, 0.0), steps=30, optimizer="sgd", lr=1e-3 * k)
        # SGD on k*f is SGD on f with lr*k
        np.testing.assert_allclose(many.positions[:, i], one.positions[:, 0], rtol=1e-5)
    assert engine.trace_count() == before + 1


def test_adadelta_barely_moves_when_the_loss_is_scaled_and_sgd_does():
    # Zeiler 2012 section 3.2: Adadelta's update has the units of x, so multiplying the loss by
    # 100 leaves its path almost where it was once (1 - rho) g^2 >> epsilon, while SGD's step
    # scales with the loss. Rosenbrock, 2,000 steps, float64, loss x1 vs x100.
    def moved(name, **hyper):
        runs = adaviz.simulate(
            "rosenbrock",
            steps=2000,
            optimizer=name,
            loss_scale=[1.0, 100.0],
            dtype=tf.float64,
            **hyper,
        )
        gap = np.linalg.norm(runs.positions[:, 0] - runs.positions[:, 1], axis=-1)
        return runs, np.nanmax(gap)

    runs, adadelta = moved("adadelta")
    assert not runs.diverged.any()
    assert adadelta < 0.05  # measured 0.0052
    runs, sgd = moved("sgd", lr=1e-5)  # stable at x1 (lr 1e-4 diverges at x100)
    assert not runs.diverged.any()
    assert sgd > 1.0  # measured 3.0: at x100 it reaches the valley floor, at x1 it crawls
    assert sgd > 100 * adadelta
    runs, _ = moved("sgd", lr=1e-4)
    assert runs.diverged_at[0] == -1 and runs.diverged_at[1] > 0


# ---------------------------------------------------------------- refused inputs


def test_unknown_optimizer_lists_the_valid_ones():
    with pytest.raises(
        ValueError,
        match=r"optimizer must be one of adadelta, sgd, momentum, nesterov, adagrad, rmsprop, "
        r"adam, got 'adamw'",
    ):
        adaviz.simulate("booth", steps=5, optimizer="adamw")
    with pytest.raises(ValueError, match="optimizer must be one of"):
        adaviz.simulate("booth", steps=5, optimizer=None)


@pytest.mark.parametrize(
    "name, hyper, match",
    [
        (
            "sgd",
            {"beta_1": 0.9},
            r"beta_1 is not a hyperparameter of optimizer 'sgd' \(it belongs to adam\); "
            r"sgd takes lr \(or learning_rate\)$",
        ),
        (
            "adam",
            {"rho": 0.9},
            r"rho is not a hyperparameter of optimizer 'adam' \(it belongs to adadelta, "
            r"rmsprop\); adam takes lr \(or learning_rate\), beta_1, beta_2, epsilon, amsgrad",
        ),
        ("adadelta", {"nesterov": True}, r"nesterov is not a hyperparameter .*'adadelta'; "),
        ("adam", {"lr": 0.1, "learning_rate": 0.1}, r"pass one of them, got both"),
        ("momentum", {"momentum": 1.5}, r"momentum must be in \[0, 1\], got 1.5"),
        ("adam", {"beta_1": 1.0}, r"beta_1 must be in \[0, 1\), got 1.0"),
        ("adam", {"beta_2": [0.9, -0.1]}, r"beta_2 must be in \[0, 1\), got -0.1 at index 1"),
        ("adam", {"amsgrad": 0.5}, r"amsgrad must be True or False, got 0.5"),
        ("rmsprop", {"centered": [True, "yes"]}, r"centered must be True or False, got 'yes'"),
        ("adagrad", {"initial_accumulator_value": -1.0}, r"must be a finite number >= 0"),
        ("rmsprop", {"epsilon": np.nan}, r"epsilon must be a finite number >= 0, got nan"),
        ("sgd", {"lr": -0.1}, r"lr must be a finite number >= 0, got -0.1"),
    ],
)
def test_bad_hyperparameters_are_refused(name, hyper, match):
    with pytest.raises(ValueError, match=match):
        adaviz.simulate("booth", steps=5, optimizer=name, **hyper)


@pytest.mark.parametrize(
    "value, match",
    [
        (0.0, r"loss_scale must be a finite number > 0, got 0.0"),
        (-2.0, r"got -2.0"),
        (np.inf, r"got inf"),
        (np.nan, r"got nan"),
        ([1.0, 0.0], r"got 0.0 at index 1"),
        ("big", r"loss_scale must be a finite number > 0, got 'big'"),
    ],
)
def test_bad_loss_scale_is_refused(value, match):
    with pytest.raises(ValueError, match=match):
        adaviz.simulate("booth", steps=5, loss_scale=value)


def test_first_step_formula_is_adadeltas_first_move():
    lr, rho, eps = (
        np.array([1.0, 0.5, 2.0]),
        np.array([0.95, 0.9, 0.5]),
        np.array([1e-6, 1e-4, 1e-2]),
    )
    t = adaviz.simulate("rosenbrock", steps=1, lr=lr, rho=rho, epsilon=eps, dtype=tf.float64)
    moved = np.abs(t.positions[1] - t.positions[0])  # (N, 2): the same on both coordinates
    want = lr * np.sqrt(eps / (1 - rho))  # written out here, independently
    # (the formula neglects epsilon against (1 - rho) g^2: here within 1e-5)
    np.testing.assert_allclose(moved, np.stack([want, want], -1), rtol=1e-5)
    np.testing.assert_allclose(_math.first_step(lr, rho, eps), want, rtol=1e-15)
    assert _math.first_step(1.0, 1.0, 1e-7) == np.inf
    assert isinstance(_math.first_step(1.0, 0.95, 1e-7), float)


def test_a_trajectory_names_what_its_rule_does_not_have():
    t = adaviz.simulate("booth", steps=3, optimizer="sgd")
    with pytest.raises(AttributeError, match=r"optimizer 'sgd' has no attribute 'rho'"):
        t.rho  # noqa: B018
    with pytest.raises(AttributeError, match="accum_grad"):
        t.accum_grad  # noqa: B018
