"""adaviz.training: the widget-free trainer, its bounded history and the data checks.

References are computed here independently: float64 numpy from the optimizer's slot
variables and the model's outputs, and a second run with the same seed kept whole.
"""

import numpy as np
import pytest

import adaviz
from adaviz import training

X, Y = adaviz.datasets.make("moons", 200, seed=0)
XR, YR = adaviz.datasets.make("regression", 200, seed=0)


def trainer(history_size=5000, x=X, y=Y[:, None], classes=2, **kwargs):
    model = training.default_model(x.shape[1], (8,), seed=0)
    return training.Trainer(
        model, training.default_loss(classes), x, y, history_size=history_size, **kwargs
    )


def bce_from_logits(logits, labels):
    z = np.asarray(logits, np.float64).reshape(-1)
    t = np.asarray(labels, np.float64).reshape(-1)
    return float(np.mean(np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))))


# -- ThinnedHistory ---------------------------------------------------------------------
@pytest.mark.parametrize("total", [10_000, 1_000_000])
def test_thinned_history_keeps_the_whole_run_in_bounded_memory(total):
    history = training.ThinnedHistory(width=2, capacity=64)
    rng = np.random.default_rng(0)
    start = 1
    while start <= total:
        n = min(int(rng.integers(1, 5000)), total - start + 1)
        steps = np.arange(start, start + n)
        history.append(steps, np.stack([steps * 2.0, -steps], axis=1))
        start += n
    steps, rows = history.arrays()
    assert 32 <= len(steps) <= 65  # bounded whatever the length of the run
    assert steps[-1] == total  # the newest step is always there
    assert steps[0] == history.stride  # the start of the run is still there
    np.testing.assert_array_equal(steps[:-1] % history.stride, 0)  # evenly thinned
    assert np.all(np.diff(steps) > 0)
    np.testing.assert_array_equal(rows[:, 0], steps * 2.0)  # every value keeps its label
    np.testing.assert_array_equal(rows[:, 1], -steps)


def test_thinned_history_says_what_width_takes():
    with pytest.raises(ValueError, match=r"width must be an integer >= 1, got 'a'"):
        training.ThinnedHistory(width="a", capacity=10)


def test_thinned_history_keeps_everything_until_full():
    history = training.ThinnedHistory(width=1, capacity=10)
    history.append(np.arange(1, 11), np.arange(1, 11)[:, None])
    np.testing.assert_array_equal(history.arrays()[0], np.arange(1, 11))
    history.append([11], [[11]])  # full: every 2nd of the run, plus the newest
    np.testing.assert_array_equal(history.arrays()[0], [2, 4, 6, 8, 10, 11])
    with pytest.raises(ValueError, match=r"capacity must be an even integer >= 4, got 7"):
        training.ThinnedHistory(width=1, capacity=7)


# -- Trainer ------------------------------------------------------------------------------
def test_trainer_statistics_equal_the_slots():
    t = trainer(seed=1)
    t.run(5)
    opt, variables = t.optimizer, t.model.trainable_variables
    d_prev = [np.array(opt.accumulators(v)[1].numpy(), np.float64) for v in variables]
    t.run(1)  # a probe: step sizes recorded
    h = t.history
    assert list(h["step"]) == [1, 2, 3, 4, 5, 6]
    slots = [[np.array(s.numpy(), np.float64) for s in opt.accumulators(v)] for v in variables]
    for j, idx in enumerate(([0, 1], [2, 3])):
        a = np.concatenate([slots[i][0].ravel() for i in idx])
        d = np.concatenate([slots[i][1].ravel() for i in idx])
        np.testing.assert_allclose(h["accum_grad_rms"][-1, j], np.sqrt(np.mean(a**2)), rtol=1e-5)
        np.testing.assert_allclose(h["accum_delta_rms"][-1, j], np.sqrt(np.mean(d**2)), rtol=1e-5)
        dp = np.concatenate([d_prev[i].ravel() for i in idx])
        expected = np.sqrt(dp + 1e-7) / np.sqrt(a + 1e-7)  # lr 1, no decay
        np.testing.assert_allclose(t.step_sizes()[j], expected, rtol=1e-5)
    assert t.trace_count == 2


def test_continue_and_restart_reproduce_exactly():
    t = trainer(seed=3)
    t.run(40)
    first = t.history["loss"].copy()
    t.set_hyperparameters(rho=0.8)  # continue: applies from step 41, state kept
    t.run(10)
    h = t.history
    np.testing.assert_allclose(h["rho"], [0.95] * 40 + [0.8] * 10)
    np.testing.assert_array_equal(h["loss"][:40], first)
    assert t.trace_count == 2  # a new value is assigned, not traced
    t.set_batch_size(8)
    t.run(2)
    assert list(t.history["batch_size"][-3:]) == [32, 8, 8] and t.trace_count == 4
    t.restart()
    assert t.steps == 0 and len(t.history["step"]) == 0
    t.set_hyperparameters(rho=0.95)
    t.set_batch_size(32)
    t.run(40)
    np.testing.assert_array_equal(t.history["loss"], first)  # the same run again
    assert t.trace_count == 4  # batch size 32 was compiled before


@pytest.mark.slow
def test_whole_run_thinned_and_smoothed():
    small, whole = trainer(history_size=100, seed=4), trainer(history_size=6000, seed=4)
    small.run(5000)
    whole.run(5000)
    hs, hw = small.history, whole.history
    assert len(hs["step"]) <= 101 and hs["step"][-1] == 5000
    assert hs["step"][0] <= 64  # the start of the run is still drawn
    assert len(hw["step"]) == 5000
    np.testing.assert_array_equal(hs["loss"], hw["loss"][hs["step"] - 1])
    np.testing.assert_array_equal(hs["accum_grad_rms"], hw["accum_grad_rms"][hs["step"] - 1])
    # the smoothed loss: a bias-corrected EMA over every step, float64 reference
    ema, expected = 0.0, []
    for i, v in enumerate(hw["loss"], start=1):
        ema = training.EMA_DECAY * ema + (1 - training.EMA_DECAY) * v
        expected.append(ema / (1 - training.EMA_DECAY**i))
    np.testing.assert_allclose(hw["loss_smoothed"], expected, rtol=1e-4)
    np.testing.assert_allclose(hs["loss_smoothed"], np.asarray(expected)[hs["step"] - 1], rtol=1e-4)


def test_full_data_and_validation_loss():
    t = trainer(x_val=X[:50], y_val=Y[:50, None], seed=5)
    t.record_evaluation()  # nothing before the first step
    assert len(t.history["full_step"]) == 0
    t.run(30)
    t.record_evaluation()
    t.record_evaluation()  # once per step
    h = t.history
    assert list(h["full_step"]) == [30] and list(h["val_step"]) == [30]
    logits = t.model(X).numpy()
    np.testing.assert_allclose(h["full_loss"][-1], bce_from_logits(logits, Y), rtol=1e-5)
    logits = t.model(X[:50]).numpy()
    np.testing.assert_allclose(h["val_loss"][-1], bce_from_logits(logits, Y[:50]), rtol=1e-5)


def test_issue_example_keeps_finite_diagnostics():
    """Targets scaled by 1e17, lr 10, rho 0: E[g²] ~ 1e34, whose square overflows
    float32. The loss (~1e33) and weights stay finite, and so must the diagnostics."""
    t = trainer(x=XR, y=YR[:, None] * 1e17, classes=0, lr=10.0, rho=0.0)
    t.run(300)
    h = t.history
    assert t.nonfinite_step is None and int(h["nonfinite_step"]) == 0
    for key in ("loss", "accum_grad_rms", "accum_delta_rms", "update_ratio"):
        assert np.all(np.isfinite(h[key])), key
    assert h["accum_grad_rms"][-1].max() > 1e30


def test_non_finite_step_stops_the_run_and_keeps_the_history():
    """One target of 1e20 (besides 1e17 ones): its squared error overflows float32, so
    the first batch that holds it has an infinite loss."""
    y = YR[:, None] * 1e17
    y[127] = 1e20  # not drawn in the first epoch
    t = trainer(x=XR, y=y, classes=0, lr=10.0, rho=0.0, seed=2, chunk=16)
    t.run(500)
    bad = t.nonfinite_step
    assert bad is not None and bad > 1
    h = t.history
    assert h["step"][-1] == bad and int(h["nonfinite_step"]) == bad
    assert np.all(np.isfinite(h["loss"][:-1])) and not np.isfinite(h["loss"][-1])
    # that step's batch is the first to hold sample 127 (the seeded order, recomputed)
    import tensorflow as tf

    per_epoch = 200 // 32
    for step in range(1, bad + 1):
        epoch, batch = divmod(step - 1, per_epoch)
        order = tf.argsort(tf.random.stateless_uniform([200], seed=[2, epoch])).numpy()
        if 127 in order[batch * 32 : (batch + 1) * 32]:
            break
    assert step == bad
    assert t.run(10) == 0  # no more steps until a restart
    t.restart()
    assert t.nonfinite_step is None and t.run(3) == 3


def test_run_for_a_time_stops_early():
    t = trainer(seed=6)
    taken = t.run(10**9, seconds=0.05)
    assert 1 <= taken < 10**9 and t.steps == taken


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"batch_size": 0}, r"batch_size must be an integer in \[1, 200\], got 0"),
        ({"batch_size": 201}, r"batch_size must be an integer in \[1, 200\], got 201"),
        ({"rho": 1.5}, r"rho must be in \[0, 1\], got 1.5"),
        ({"history_size": 5}, r"history_size must be an integer >= 10, got 5"),
    ],
)
def test_trainer_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        trainer(**kwargs)


def mlp(outputs=1):
    return training.default_model(2, (8,), seed=0, outputs=outputs)


@pytest.mark.parametrize(
    "args, kwargs, message",
    [
        (
            (mlp, "no_such_loss", X, Y),
            {},
            r"loss must be a Keras loss name .* got 'no_such_loss'",
        ),
        (
            (mlp, None, X, Y[:-1]),
            {},
            r"x and y \(data\) must have the same number of samples, "
            r"got len\(x\)=200 and len\(y\)=199",
        ),
        ((mlp, None, X.astype(str), Y), {}, r"x \(data\) must hold numbers .* dtype <U"),
        ((mlp, None, X, Y.astype(str)), {}, r"y \(data\) must hold numbers .* dtype <U"),
        (
            ("a model", None, X, Y),
            {},
            r"model must be a Keras 3 keras.Model \(uncompiled is fine\), got builtins.str",
        ),
        (
            (lambda: mlp(3), "mse", X, Y),
            {},
            r"model output of shape \(n, 3\) does not fit y \(data\) of shape \(200,\)",
        ),
        (
            (mlp, None, np.where(np.arange(400).reshape(200, 2) == 7, np.nan, X), Y),
            {},
            r"x \(data\) must be finite, got nan at flat index 7",
        ),
        (
            (mlp, None, X, np.where(np.arange(200) == 3, np.inf, Y)),
            {},
            r"y \(data\) must be finite, got inf at flat index 3",
        ),
        (
            (mlp, None, X, Y),
            {"x_val": X[:10]},
            r"x_val and y_val go together: x_val was given and y_val is None",
        ),
        (
            (mlp, None, X, Y),
            {"x_val": X[:10], "y_val": np.full(10, np.nan)},
            r"y \(validation data\) must be finite, got nan",
        ),
    ],
)
def test_trainer_checks_model_loss_and_data_before_anything_runs(args, kwargs, message):
    build, *rest = args
    model = build() if callable(build) else build
    with pytest.raises(ValueError, match=message):
        training.Trainer(model, *rest, **kwargs)


def test_trainer_takes_a_loss_by_name():
    t = training.Trainer(training.default_model(1, (8,), seed=0), "mse", XR, YR, seed=3)
    assert t.run(4) == 4
    pred = t.model(XR).numpy().astype(np.float64).reshape(-1)
    np.testing.assert_allclose(t.evaluate(), np.mean((pred - YR) ** 2), rtol=1e-5)


@pytest.mark.parametrize("probe", ["yes", 1, None])
def test_run_says_what_probe_takes(probe):
    t = trainer()
    with pytest.raises(ValueError, match=rf"probe must be True or False, got {probe!r}"):
        t.run(2, probe=probe)
    assert t.steps == 0


@pytest.mark.parametrize("seconds", ["a", -1.0, float("nan"), True])
def test_run_says_what_seconds_takes(seconds):
    t = trainer()
    with pytest.raises(
        ValueError, match=r"seconds must be None \(no time limit\) or a number >= 0, got "
    ) as info:
        t.run(3, seconds=seconds)
    assert repr(seconds) in str(info.value)
    assert t.steps == 0


@pytest.mark.parametrize(
    "x, message",
    [
        ("ab", r"x \(predictor\) must hold numbers .* dtype <U2"),
        (np.zeros((3, 5)), r"x \(predictor\) must hold samples of shape \(2,\) like the "),
        (np.full((3, 2), np.nan), r"x \(predictor\) must be finite, got nan at flat index 0"),
    ],
)
def test_predictor_checks_its_input(x, message):
    with pytest.raises(ValueError, match=message):
        trainer().predictor(x)


def test_predictor_gives_the_model_output():
    t = trainer(seed=4)
    t.run(3)
    grid = np.array([[0.0, 0.5], [1.0, -0.5]])
    np.testing.assert_allclose(t.predictor(grid)(), t.model(grid).numpy(), rtol=1e-6)


@pytest.mark.parametrize(
    "hidden, message",
    [
        (
            "big",
            r"hidden must be a list or tuple of layer widths \(integers >= 1\), got 'big' "
            r"\(type str\)",
        ),
        (16, r"hidden must be a list or tuple of layer widths \(integers >= 1\), got 16 "),
        ((16, 0), r"hidden\[1\] must be an integer >= 1, got 0"),
        ([8, 2.5], r"hidden\[1\] must be an integer >= 1, got 2.5"),
    ],
)
def test_default_model_says_what_hidden_takes(hidden, message):
    with pytest.raises(ValueError, match=message):
        training.default_model(2, hidden, seed=0)


def test_default_model_takes_widths_as_a_list_tuple_or_array():
    for hidden in ([8, 4], (8, 4), np.array([8, 4])):
        model = training.default_model(2, hidden, seed=0)
        assert [layer.units for layer in model.layers] == [8, 4, 1]


# -- data checks ---------------------------------------------------------------------------
def test_empty_data_says_it_has_no_samples():
    with pytest.raises(ValueError, match=r"data has no samples"):
        training.check_data(X[:0], Y[:0])
    with pytest.raises(ValueError, match=r"validation data has no samples"):
        training.split_validation(X, Y, 0.0, (X[:0], Y[:0]), seed=0)


def test_inferred_losses():
    import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")])
    loss = training.infer_loss(model, Y, 1)
    assert isinstance(loss, keras.losses.BinaryCrossentropy) and not loss.from_logits
    loss = training.infer_loss(model, np.array([0.0, 2.0, 1.0]), 3)
    assert isinstance(loss, keras.losses.SparseCategoricalCrossentropy) and loss.from_logits
    assert isinstance(training.infer_loss(model, YR, 1), keras.losses.MeanSquaredError)
    assert training.class_count(Y) == 2 and training.class_count(YR) == 0


def test_core_modules_import_no_panel_and_no_widget():
    """training, diagnostics and callbacks load without adaviz.panels, plotly or ipywidgets."""
    import subprocess
    import sys

    code = (
        "import sys, adaviz.training, adaviz.diagnostics, adaviz.callbacks\n"
        "bad = sorted(m for m in sys.modules if m.startswith(('adaviz.panels', 'plotly',"
        " 'ipywidgets')))\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"
