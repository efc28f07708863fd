"""ModelPanel: live training, diagnostics against the optimizer's slots, modes, bad input.

Reference numbers are recomputed here in float64 numpy from the optimizer's slot
variables and the model's weights (never read back from the panel's own arrays).
"""

import ast
import asyncio
import base64
import json
import time
from pathlib import Path

import ipywidgets
import keras
import numpy as np
import plotly.graph_objects as go
import pytest

import adaviz
from adaviz.panels.model.views import MAX_GHOSTS, MAX_POINTS
from adaviz.web import replay

CONTROL_KEYS = {
    "play", "pause", "step", "reset", "lr", "rho", "epsilon", "decay", "preset",
    "batch_size", "mode",
}  # fmt: skip


def bce_from_logits(logits, labels):
    """Mean binary cross-entropy on logits, float64, numerically stable form."""
    z = np.asarray(logits, np.float64).reshape(-1)
    y = np.asarray(labels, np.float64).reshape(-1)
    return float(np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))))


def full_loss(panel):
    x, y, _, _ = panel.data
    return bce_from_logits(panel.model(x).numpy(), y)


def slots64(panel):
    """Per trainable variable (A, D) as float64 numpy copies."""
    opt = panel.optimizer
    return [
        tuple(np.array(s.numpy(), np.float64) for s in opt.accumulators(v))
        for v in panel.model.trainable_variables
    ]


def weights64(panel):
    return [np.array(v.numpy(), np.float64) for v in panel.model.trainable_variables]


def layer_slices(panel):
    """Indices of model.trainable_variables per layer, in panel.layer_names order."""
    index = {id(v): i for i, v in enumerate(panel.model.trainable_variables)}
    out = []
    for name in panel.layer_names:
        layer = panel.model.get_layer(name)
        out.append([index[id(v)] for v in layer.trainable_variables])
    return out


@pytest.fixture(scope="module")
def panel():
    """One default panel shared by the read-only contract tests."""
    p = adaviz.ModelPanel(seed=0)
    p.step(5)
    return p


def test_contract(panel):
    assert CONTROL_KEYS <= set(panel.controls)
    assert set(panel.figures) == {"loss", "accumulators", "step_sizes", "update_ratio", "boundary"}
    assert all(isinstance(f, go.FigureWidget) for f in panel.figures.values())
    assert isinstance(panel.model, keras.Model)
    assert isinstance(panel.optimizer, adaviz.Adadelta)
    assert panel.layer_names == ["dense_1", "dense_2", "output"]
    h = panel.history
    assert isinstance(h, dict) and all(isinstance(v, np.ndarray) for v in h.values())
    assert len(h["loss"]) == 5 and list(h["step"]) == [1, 2, 3, 4, 5]
    assert h["accum_grad_rms"].shape == (5, 3)
    assert isinstance(panel, ipywidgets.VBox)
    # the controls show the panel's settings (Keras 2 / TF 1.x tf.keras defaults)
    assert panel.controls["lr"].value == pytest.approx(1.0)
    assert panel.controls["rho"].value == pytest.approx(0.95)
    assert panel.controls["epsilon"].value == pytest.approx(1e-7)
    assert panel.controls["preset"].value == "Keras 2 / TF 1.x tf.keras"
    assert panel.controls["mode"].value == "continue"
    assert panel.controls["batch_size"].value == 32
    assert panel.controls["batch_size"].max == 400  # impossible sizes cannot be chosen


def test_figures_show_the_history(panel):
    h = panel.history
    loss_trace = panel.figures["loss"].data[MAX_GHOSTS]
    np.testing.assert_allclose(loss_trace.x, h["step"])
    np.testing.assert_allclose(loss_trace.y, h["loss"])
    acc = panel.figures["accumulators"].data
    for i in range(len(panel.layer_names)):
        np.testing.assert_allclose(acc[2 * i].y, h["accum_grad_rms"][:, i])
        np.testing.assert_allclose(acc[2 * i + 1].y, h["accum_delta_rms"][:, i])
        np.testing.assert_allclose(panel.figures["update_ratio"].data[i].y, h["update_ratio"][:, i])
    # step-size histogram: every parameter of each layer is counted once, on a log x axis
    assert panel.figures["step_sizes"].layout.xaxis.type == "log"
    for trace, sizes in zip(panel.figures["step_sizes"].data, panel.step_sizes, strict=True):
        assert np.sum(trace.y[:-1]) == sizes.size
        assert trace.x[0] <= sizes.min() * (1 + 1e-9) and trace.x[-1] >= sizes.max() * (1 - 1e-9)
    # decision boundary: P(class 1) on the grid, equal to the model's sigmoid output
    boundary = panel.figures["boundary"].data[0]
    gx, gy = np.asarray(boundary.x), np.asarray(boundary.y)
    grid = np.stack(np.meshgrid(gx, gy), axis=-1).reshape(-1, 2).astype(np.float32)
    logits = panel.model(grid).numpy().reshape(len(gy), len(gx)).astype(np.float64)
    np.testing.assert_allclose(np.asarray(boundary.z), 1 / (1 + np.exp(-logits)), atol=1e-6)
    # arrays go to the browser as floats (binary buffers), never int64
    for fig in panel.figures.values():
        for trace in fig.data:
            for key in ("x", "y"):
                value = getattr(trace, key, None)
                if isinstance(value, np.ndarray) and value.size:
                    assert value.dtype.kind == "f", (trace.name, key, value.dtype)


@pytest.mark.slow  # trains Keras models: an integration test
def test_paper_preset_trains_keras3_default_barely_moves():
    """300 steps on moons, batch 32, the same seeded MLP and batches.

    Measured (full-data binary cross-entropy): start 0.531; Zeiler 2012 paper preset
    (lr 1, rho 0.95, eps 1e-6) -> about 0.30; tf.keras 2 / Keras 3 preset (lr 0.001, same rho,
    eps 1e-7) -> about 0.529.
    """
    paper = adaviz.ModelPanel(seed=0)
    paper.controls["preset"].value = "Zeiler 2012 paper"
    assert paper.optimizer.lr == 1.0 and paper.optimizer.epsilon == pytest.approx(1e-6)
    keras3 = adaviz.ModelPanel(seed=0)
    keras3.controls["preset"].value = "tf.keras 2 / Keras 3"
    assert keras3.optimizer.lr == pytest.approx(0.001)
    start = full_loss(paper)
    assert full_loss(keras3) == pytest.approx(start, abs=0)  # same seed, same start
    paper.step(300)
    keras3.step(300)
    end_paper, end_keras3 = full_loss(paper), full_loss(keras3)
    print(f"moons, 300 steps: start {start:.4f}, paper {end_paper:.4f}, keras3 {end_keras3:.4f}")
    assert 0.45 < start < 0.65
    assert end_paper < 0.7 * start  # well below the start
    assert abs(end_keras3 - start) < 0.02 * start  # barely moves
    # the panel's own evaluation agrees with the float64 reference
    assert paper.evaluate() == pytest.approx(end_paper, rel=1e-5)


def test_recorded_statistics_equal_the_slots():
    panel = adaviz.ModelPanel(seed=1, data="circles", hidden=(8, 4))
    panel.step(6)
    eps = panel.optimizer.epsilon
    w_before = weights64(panel)
    slots_before = slots64(panel)
    panel.step(1)  # the last step of step(n) is a probe: step sizes recorded
    w_after = weights64(panel)
    slots_after = slots64(panel)
    h = panel.history
    assert h["step"][-1] == 7
    sizes = panel.step_sizes
    for j, idx in enumerate(layer_slices(panel)):
        a = np.concatenate([slots_after[i][0].ravel() for i in idx])
        d = np.concatenate([slots_after[i][1].ravel() for i in idx])
        np.testing.assert_allclose(h["accum_grad_rms"][-1, j], np.sqrt(np.mean(a)), rtol=1e-5)
        np.testing.assert_allclose(h["accum_delta_rms"][-1, j], np.sqrt(np.mean(d)), rtol=1e-5)
        dw = np.concatenate([(w_after[i] - w_before[i]).ravel() for i in idx])
        w0 = np.concatenate([w_before[i].ravel() for i in idx])
        np.testing.assert_allclose(
            h["update_ratio"][-1, j], np.linalg.norm(dw) / np.linalg.norm(w0), rtol=1e-4
        )
        d_prev = np.concatenate([slots_before[i][1].ravel() for i in idx])
        expected = 1.0 * np.sqrt(d_prev + eps) / np.sqrt(a + eps)  # lr_t = 1 (no decay)
        np.testing.assert_allclose(sizes[j], expected, rtol=1e-5)
        # and the update really was -step_size * g: A_t - rho*A_{t-1} = (1-rho) g^2
        a_prev = np.concatenate([slots_before[i][0].ravel() for i in idx])
        g_sq = (a - 0.95 * a_prev) / 0.05
        np.testing.assert_allclose(dw**2, expected**2 * g_sq, rtol=2e-3, atol=1e-12)
    assert panel.trainer.trace_count == 2  # one trace each for the plain and the probe step


def test_continue_mode_rho_change_applies_next_step_and_keeps_state():
    panel = adaviz.ModelPanel(seed=2)
    panel.step(20)
    slots_before = slots64(panel)
    w_before = weights64(panel)
    panel.controls["rho"].value = 0.8
    assert panel.optimizer.rho == pytest.approx(0.8)
    for (a0, d0), (a1, d1) in zip(slots_before, slots64(panel), strict=True):
        np.testing.assert_array_equal(a0, a1)  # accumulators kept
        np.testing.assert_array_equal(d0, d1)
    assert panel.steps == 20 and not panel.ghosts
    panel.step(1)
    w_after = weights64(panel)
    for (_, d0), (_, d1), w0, w1 in zip(
        slots_before, slots64(panel), w_before, w_after, strict=True
    ):
        dx_sq = (w1 - w0) ** 2  # lr = 1, so the update is dx itself
        np.testing.assert_allclose(d1, 0.8 * d0 + 0.2 * dx_sq, rtol=1e-4, atol=1e-12)
        # with the old rho the new E[dx^2] would differ
        assert not np.allclose(d1, 0.95 * d0 + 0.05 * dx_sq, rtol=1e-3, atol=1e-12)
    h = panel.history
    assert len(h["loss"]) == 21
    np.testing.assert_allclose(h["rho"], [0.95] * 20 + [0.8])
    assert panel.trainer.trace_count == 2  # no retracing for the new value
    # batch size: applies from the next step, recorded per step
    panel.controls["batch_size"].value = 8
    panel.step(2)
    assert list(panel.history["batch_size"][-3:]) == [32, 8, 8]


def test_restart_mode_reproduces_the_first_run_exactly():
    panel = adaviz.ModelPanel(seed=3, mode="restart")
    panel.step(40)
    first_loss = panel.history["loss"].copy()
    first_weights = weights64(panel)
    panel.controls["rho"].value = 0.9  # restart with rho 0.9
    assert panel.steps == 0 and len(panel.history["loss"]) == 0
    assert panel.ghosts == ["lr 1, ρ 0.95, ε 1.0e-07, batch 32"]
    ghost = panel.figures["loss"].data[0]
    assert ghost.visible and ghost.name == panel.ghosts[0]
    np.testing.assert_allclose(ghost.y, first_loss)
    panel.step(40)
    assert not np.array_equal(panel.history["loss"], first_loss)
    panel.controls["rho"].value = 0.95  # restart again with the first settings
    panel.step(40)
    np.testing.assert_array_equal(panel.history["loss"], first_loss)
    for w0, w1 in zip(first_weights, weights64(panel), strict=True):
        np.testing.assert_array_equal(w0, w1)
    # the Reset button does the same in either mode
    panel.controls["mode"].value = "continue"
    panel.controls["reset"].click()
    assert panel.steps == 0 and len(panel.ghosts) == 3
    panel.step(40)
    np.testing.assert_array_equal(panel.history["loss"], first_loss)
    # a fresh panel with the same seed is the same run too
    fresh = adaviz.ModelPanel(seed=3)
    fresh.step(40)
    np.testing.assert_array_equal(fresh.history["loss"], first_loss)


@pytest.mark.slow
def test_ten_thousand_steps_whole_run_in_bounded_memory():
    panel = adaviz.ModelPanel(seed=4, data="xor", hidden=(4,), history_size=500)
    panel.step(10_000)
    h = panel.history
    assert panel.steps == 10_000
    n = len(h["step"])
    assert 250 <= n <= 501  # bounded, and the same bound for a run of any length
    for key in ("loss", "loss_smoothed", "lr", "rho", "epsilon", "decay", "batch_size"):
        assert h[key].shape == (n,), key
    for key in ("accum_grad_rms", "accum_delta_rms", "update_ratio"):
        assert h[key].shape == (n, 2), key
    # the whole run stays visible: from its first steps to the last, evenly thinned
    assert h["step"][0] <= 32 and h["step"][-1] == 10_000
    stride = h["step"][0]
    np.testing.assert_array_equal(h["step"][:-1], stride * np.arange(1, n))
    loss_trace = panel.figures["loss"].data[MAX_GHOSTS]
    assert len(loss_trace.x) <= MAX_POINTS + 1 and loss_trace.x[0] == h["step"][0]
    # the most recent row is the current state
    a = np.concatenate([s[0].ravel() for s in slots64(panel)[:2]])
    np.testing.assert_allclose(h["accum_grad_rms"][-1, 0], np.sqrt(np.mean(a)), rtol=1e-5)


def test_loss_view_draws_smoothed_and_all_data_losses():
    panel = adaviz.ModelPanel(seed=8, validation_split=0.2)
    panel.step(50)
    h = panel.history
    fig = panel.figures["loss"]
    names = [t.name for t in fig.data[MAX_GHOSTS:]]
    assert names == [
        "training loss (batch)",
        "validation loss",
        "training loss (smoothed)",
        "training loss (all data)",
    ]
    smoothed, full = fig.data[MAX_GHOSTS + 2], fig.data[MAX_GHOSTS + 3]
    np.testing.assert_allclose(smoothed.y, h["loss_smoothed"])
    assert fig.data[MAX_GHOSTS].opacity < 1  # the per-batch loss is faint
    # the all-data loss is the mean loss over the training data (float64 reference)
    assert list(h["full_step"]) == [50] and list(full.x) == [50]
    np.testing.assert_allclose(full.y[-1], full_loss(panel), rtol=1e-5)
    panel.step(25)
    assert list(panel.history["full_step"]) == [50, 75]


def test_non_finite_run_pauses_and_says_why():
    """Regression targets scaled by 1e17 (lr 10, rho 0), one target 1e20 whose squared
    error overflows float32: the first batch holding it has an infinite loss."""
    x, y = adaviz.datasets.make("regression", 200, seed=0)
    y = y * 1e17
    y[127] = 1e20  # not drawn in the first epoch of seed 2
    panel = adaviz.ModelPanel(data=(x, y), lr=10.0, rho=0.0, seed=2)
    panel.step(300)
    bad = panel.nonfinite_step
    assert bad is not None and bad > 6
    h = panel.history
    assert h["step"][-1] == bad and int(h["nonfinite_step"]) == bad
    assert np.all(np.isfinite(h["loss"][:-1]))
    assert panel.readouts["nonfinite_step"] == bad
    text = panel.readouts["text"]
    assert f"from step {bad}" in text and "lower lr" in text
    assert panel.figures["loss"].layout.shapes[0].x0 == bad  # marked on the loss view
    state = replay.model_state(panel)  # the replay page ends there, and says so
    assert state["steps"] == state["nonfinite_step"] == bad
    json.dumps(state, allow_nan=False)  # a non-finite value is written as null
    assert panel.play() is None and not panel.playing  # Play does not start
    steps = panel.steps
    panel.step(5)
    assert panel.steps == steps  # nothing more to train until a restart
    panel.controls["reset"].click()
    assert panel.nonfinite_step is None and panel.steps == 0
    assert not panel.figures["loss"].layout.shapes

    async def session():  # Play pauses by itself at the same step (same seed)
        task = panel.play()
        await until(task.done, what="Play to pause at the non-finite step")

    asyncio.run(session())
    assert not panel.playing and panel.nonfinite_step == bad
    assert f"from step {bad}" in panel.readouts["text"]


def test_speed_control_limits_the_step_rate():
    panel = adaviz.ModelPanel(seed=9, speed=100)
    assert panel.controls["speed"].value == 100
    assert set(panel.controls["speed"].options) >= {
        ("10 steps/s", 10),
        ("100 steps/s", 100),
        ("1,000 steps/s", 1000),
        ("as fast as possible", 0),
    }
    panel.step(1)  # compile first

    async def session():
        task = panel.play()
        t0, start = time.perf_counter(), panel.steps
        await until(lambda: panel.steps >= start + 30, what="30 steps at 100 steps/s")
        panel.pause()
        await until(task.done, what="the play task to end")
        return panel.steps - start, time.perf_counter() - t0

    taken, elapsed = asyncio.run(session())
    # never faster than the speed allows (plus the quarter-second burst allowance)
    assert taken <= 100 * elapsed + 25 + 2
    with pytest.raises(ValueError, match=r"speed must be one of 10, 100, 1000 .* got 50"):
        adaviz.ModelPanel(speed=50)
    fastest = adaviz.ModelPanel(seed=9)  # default: as fast as possible, shown selected
    assert fastest.controls["speed"].label == "as fast as possible"
    fastest.controls["speed"].label = "10 steps/s"
    assert fastest.controls["speed"].value == 10


async def until(condition, timeout=60.0, what="the condition"):
    """Poll ``condition()`` on the event loop until it holds (a deadline, not a sleep)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout  # generous: compiling on a loaded CI machine
    while not condition():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


def test_play_runs_on_the_event_loop_and_stays_responsive():
    panel = adaviz.ModelPanel(seed=5, refresh_hz=10)
    panel.step(1)
    figures_before = {k: id(v) for k, v in panel.figures.items()}

    async def session():
        refreshes = panel._refresh_count
        task = panel.play()
        assert isinstance(task, asyncio.Task) and panel.playing
        t0 = time.perf_counter()
        await until(lambda: panel.steps > 1, what="training while this coroutine waits")
        steps_mid = panel.steps
        panel.controls["rho"].value = 0.9  # a slider move during training
        assert panel.optimizer.rho == pytest.approx(0.9)
        await until(lambda: panel.steps > steps_mid, what="training after the slider move")
        panel.controls["pause"].click()
        await until(task.done, what="the play task to end")
        elapsed = time.perf_counter() - t0
        assert not panel.playing and panel.steps > steps_mid
        return elapsed, panel._refresh_count - refreshes

    elapsed, redraws = asyncio.run(session())
    assert 1 <= redraws <= 10 * elapsed + 3  # bounded redraw rate whatever the step rate
    h = panel.history
    assert set(np.unique(h["rho"])) == {0.95, 0.9}
    assert {k: id(v) for k, v in panel.figures.items()} == figures_before  # in place
    # the Step button takes exactly one step
    n = panel.steps
    panel.controls["step"].click()
    assert panel.steps == n + 1


def test_restart_while_playing_makes_one_restart_per_drag(tmp_path, monkeypatch):
    import adaviz.panels.model.panel as model_module

    # a long rest time, so a busy machine cannot split the drag below into two
    monkeypatch.setattr(model_module, "RESTART_DEBOUNCE", 1.0)
    panel = adaviz.ModelPanel(seed=7, mode="restart")

    async def session():
        task = panel.play()
        await until(lambda: panel.steps > 0, what="the first steps")
        for rho in (0.9, 0.88, 0.86, 0.85):  # one drag of the slider
            panel.controls["rho"].value = rho
            await asyncio.sleep(0)  # the loop runs between two slider messages
        assert panel.optimizer.rho == pytest.approx(0.95)  # waits for the drag to end
        await until(lambda: panel.optimizer.rho == pytest.approx(0.85), what="the restart")
        assert len(panel.ghosts) == 1 and "ρ 0.95" in panel.ghosts[0]
        await until(lambda: panel.steps > 0, what="the new run")
        panel.pause()
        await until(task.done, what="the play task to end")

    asyncio.run(session())
    np.testing.assert_allclose(panel.history["rho"], 0.85)  # the new run: final value only
    assert panel.steps > 0
    # static export of the current views (the default, a replay, is tests/.../test_model_replay.py's)
    text = panel.to_html(tmp_path / "panel.html", live=False).read_text()
    assert "Decision boundary" in text and "plotly" in text
    bundle = panel._repr_mimebundle_()
    assert "text/html" in bundle and "application/vnd.jupyter.widget-view+json" in bundle


def test_play_without_event_loop_uses_a_thread():
    panel = adaviz.ModelPanel(seed=6, data="regression")
    assert "fit" in panel.figures and "boundary" not in panel.figures
    runner = panel.play()
    assert runner.__class__.__name__ == "Thread"
    deadline = time.perf_counter() + 30  # generous: compiling and a loaded CI machine
    while panel.steps < 5 and time.perf_counter() < deadline:
        time.sleep(0.05)
    panel.pause()
    assert not runner.is_alive() and panel.steps > 0
    fit = panel.figures["fit"].data[1]
    grid = np.asarray(fit.x, np.float32)[:, None]
    np.testing.assert_allclose(fit.y, panel.model(grid).numpy()[:, 0], rtol=1e-5, atol=1e-6)


def test_user_model_multiclass_with_validation_split():
    rng = np.random.default_rng(0)
    centers = np.array([[0.0, 2.0], [2.0, -1.0], [-2.0, -1.0]])
    y = rng.integers(0, 3, size=240)
    x = centers[y] + 0.5 * rng.standard_normal((240, 2))
    model = keras.Sequential(
        [keras.Input((2,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(3)]
    )
    panel = adaviz.ModelPanel(
        model,
        data=(x, y),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        validation_split=0.25,
    )
    assert panel.task == "classification" and panel.n_classes == 3
    x_train, _, x_val, _ = panel.data
    assert len(x_train) == 180 and len(x_val) == 60
    panel.step(30)
    h = panel.history
    assert list(h["val_step"]) == [30]
    logits = model(x_val.astype(np.float32)).numpy().astype(np.float64)
    top = logits.max(axis=1, keepdims=True)
    logp = logits - top - np.log(np.sum(np.exp(logits - top), axis=1, keepdims=True))
    labels = panel.data[3].astype(int)
    expected = -np.mean(logp[np.arange(len(labels)), labels])
    np.testing.assert_allclose(h["val_loss"][-1], expected, rtol=1e-4)
    val_trace = panel.figures["loss"].data[MAX_GHOSTS + 1]
    np.testing.assert_allclose(val_trace.y, h["val_loss"])
    z = np.asarray(panel.figures["boundary"].data[0].z)
    assert set(np.unique(z)) <= {0.0, 1.0, 2.0}  # predicted class per grid point
    # the replay page stores the predicted class of every grid point exactly, a byte each
    heatmap = panel.figures["boundary"].data[0]
    grid = np.stack(np.meshgrid(heatmap.x, heatmap.y), axis=-1).reshape(-1, 2)
    predicted = np.argmax(model(grid.astype(np.float32)).numpy(), axis=1).reshape(z.shape)
    prediction = replay.model_state(panel)["prediction"]
    assert prediction["kind"] == "class" and prediction["scale"] == 1
    stored = np.frombuffer(base64.b64decode(prediction["data"][-1]), np.uint8)
    np.testing.assert_array_equal(stored.reshape(z.shape), predicted)
    # no model: the built-in MLP gets one output per class, or one for regression
    default = adaviz.ModelPanel(data=(x, y), batch_size=16)
    assert default.model.output_shape == (None, 3) and default.n_classes == 3
    assert isinstance(default.loss, keras.losses.SparseCategoricalCrossentropy)
    default = adaviz.ModelPanel(data=(x, x[:, 0] * 0.5))
    assert default.task == "regression" and default.model.output_shape == (None, 1)
    assert isinstance(default.loss, keras.losses.MeanSquaredError)
    # an inferred loss for a sigmoid output and 0/1 labels
    binary = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")])
    p2 = adaviz.ModelPanel(binary, data=(x, (y == 1).astype(float)))
    assert isinstance(p2.loss, keras.losses.BinaryCrossentropy) and not p2.loss.from_logits


# -- bad input: a clear ValueError before anything trains ---------------------------
def _mlp(inputs=2, outputs=1):
    return keras.Sequential([keras.Input((inputs,)), keras.layers.Dense(outputs)])


X = np.random.default_rng(0).standard_normal((50, 2)).astype(np.float32)
Y = (X[:, 0] > 0).astype(np.float32)


@pytest.mark.parametrize(
    "args, kwargs, message",
    [
        (
            (),
            {"data": "mnist"},
            r"dataset must be one of \['moons', 'circles', 'spiral', 'xor', 'regression'\], got 'mnist'",
        ),
        (
            (),
            {"data": (X, Y[:40])},
            r"x and y \(data\) must have the same number of samples, got len\(x\)=50 and len\(y\)=40",
        ),
        (
            (),
            {"data": (np.array([["a", "b"]] * 4), np.zeros(4))},
            r"x \(data\) must hold numbers .* dtype <U1",
        ),
        ((), {"data": (X, np.where(Y > 0, np.nan, 0))}, r"y \(data\) must be finite, got nan"),
        (
            (),
            {"data": 42},
            r"data must be a dataset name .* or an \(x, y\) pair of arrays, got int",
        ),
        ((), {"data": (X[:0], Y[:0])}, r"data has no samples: x and y \(data\) must hold at"),
        ((), {"validation_data": (X[:0], Y[:0])}, r"validation data has no samples"),
        ((), {"refresh_hz": 0}, r"refresh_hz must be a number in \(0, 60\], got 0"),
        ((), {"batch_size": 0}, r"batch_size must be an integer in \[1, 400\], got 0"),
        ((), {"batch_size": 401}, r"batch_size must be an integer in \[1, 400\], got 401"),
        ((), {"batch_size": 2.5}, r"batch_size must be an integer in \[1, 400\], got 2.5"),
        ((), {"rho": 1.5}, r"rho must be in \[0, 1\], got 1.5"),
        ((), {"epsilon": -1e-7}, r"epsilon must be a finite number >= 0, got -1e-07"),
        ((), {"lr": float("nan")}, r"lr must be a finite number >= 0, got nan"),
        ((), {"decay": "fast"}, r"decay must be a finite number >= 0, got 'fast'"),
        ((), {"lr": 100.0}, r"lr must be in \[0.0001, 10\] for the panel's slider, got 100.0"),
        ((), {"lr": 1.0, "learning_rate": 1.0}, r"give lr or learning_rate, not both"),
        ((), {"mode": "resume"}, r"mode must be one of \['continue', 'restart'\], got 'resume'"),
        ((), {"validation_split": 1.0}, r"validation_split must be a number in \[0, 1\), got 1.0"),
        ((), {"loss": "no_such_loss"}, r"loss must be a Keras loss name .*'no_such_loss'"),
        (("not a model",), {}, r"model must be a Keras 3 keras.Model .* got builtins.str"),
        ((), {"hidden": "big"}, r"hidden must be a list or tuple of layer widths .*got 'big'"),
        ((), {"hidden": (16, 0)}, r"hidden\[1\] must be an integer >= 1, got 0"),
    ],
)
def test_bad_input(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        adaviz.ModelPanel(*args, **kwargs)


def test_model_that_does_not_fit_the_data_is_refused_untrained():
    wrong_output = _mlp(outputs=3)
    weights = [w.copy() for w in wrong_output.get_weights()]
    with pytest.raises(
        ValueError, match=r"model output of shape \(n, 3\) does not fit y \(data\) of shape \(50,\)"
    ):
        adaviz.ModelPanel(wrong_output, data=(X, Y), loss="binary_crossentropy")
    for w0, w1 in zip(weights, wrong_output.get_weights(), strict=True):
        np.testing.assert_array_equal(w0, w1)
    with pytest.raises(ValueError, match=r"cannot be called on x with samples of shape \(2,\)"):
        adaviz.ModelPanel(_mlp(inputs=5), data=(X, Y), loss="mse")
    with pytest.raises(ValueError, match=r"class indices 0..1 for a model with 2 outputs"):
        adaviz.ModelPanel(_mlp(outputs=2), data=(X, Y * 2), loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"x_val must have samples of shape \(2,\) like x"):
        adaviz.ModelPanel(_mlp(), data=(X, Y), loss="mse", validation_data=(X[:, :1], Y))


@pytest.mark.subprocess
def test_play_keeps_a_real_kernel_responsive():
    """In a real ipykernel: cells run and widget messages are handled while training plays."""
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3", cwd=str(Path(__file__).resolve().parents[3]))

    def run(code):
        reply = kc.execute_interactive(code, timeout=120, output_hook=lambda msg: None)
        assert reply["content"]["status"] == "ok", reply["content"]
        return reply

    def value(expr):
        outputs = []

        def hook(msg):
            if msg["msg_type"] == "execute_result":
                outputs.append(msg["content"]["data"]["text/plain"])

        reply = kc.execute_interactive(expr, timeout=120, output_hook=hook)
        assert reply["content"]["status"] == "ok", reply["content"]
        return ast.literal_eval(outputs[-1])

    try:
        run("import adaviz\np = adaviz.ModelPanel(seed=0)\np.play()")
        first = value("p.steps")
        deadline = time.time() + 60  # generous: the first step compiles; CI may be loaded
        second, playing = value("(p.steps, p.playing)")
        while second <= first and time.time() < deadline:
            time.sleep(0.2)
            second, playing = value("(p.steps, p.playing)")
        assert playing and second > first  # training went on between the cells
        # a slider drag as the browser sends it: a comm message to the widget's model
        model_id = value("p.controls['rho'].model_id")
        msg = kc.session.msg(
            "comm_msg",
            {
                "comm_id": model_id,
                "data": {"method": "update", "state": {"value": 0.8}, "buffer_paths": []},
            },
        )
        kc.shell_channel.send(msg)
        deadline = time.time() + 30
        while value("p.optimizer.rho") != pytest.approx(0.8):
            assert time.time() < deadline, "the slider message was not handled while playing"
            time.sleep(0.2)
        third, playing = value("(p.steps, p.playing)")
        while third <= second and time.time() < deadline:
            time.sleep(0.2)
            third, playing = value("(p.steps, p.playing)")
        assert playing and third > second
        run("p.pause()")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
