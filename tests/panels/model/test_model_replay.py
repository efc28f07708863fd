"""ModelPanel's replay: the snapshots it records at its redraws, and the replay page's state.

Every snapshot is checked against what the test computes itself at that step, in float64
numpy from the model and the step sizes (the decision boundary: the model's sigmoid on the
grid; the all-data loss: cross-entropy of the model's logits), and against the trainer's
history at that step (the losses and per-layer statistics the page's markers show).
"""

import base64
import json
import re
import zlib

import numpy as np
import pytest
from test_model_panel import bce_from_logits  # the panel tests' float64 cross-entropy

import adaviz
from adaviz.panels.model.snapshots import MAX_SNAPSHOTS, Snapshots
from adaviz.panels.views.model.common import HIST_BINS
from adaviz.web import replay


def grid_of(panel):
    """The decision boundary's grid points, (len(gy) * len(gx), 2), and its shape."""
    contour = panel.figures["boundary"].data[0]
    gx, gy = np.asarray(contour.x), np.asarray(contour.y)
    points = np.stack(np.meshgrid(gx, gy), axis=-1).reshape(-1, 2).astype(np.float32)
    return points, (len(gy), len(gx))


def seen_now(panel):
    """What the test computes itself at the panel's current step."""
    points, shape = grid_of(panel)
    logits = panel.model(points).numpy().reshape(shape).astype(np.float64)
    x, y, x_val, y_val = panel.data
    return {
        "step": panel.steps,
        "probability": 1.0 / (1.0 + np.exp(-logits)),
        "full_loss": bce_from_logits(panel.model(x).numpy(), y) if panel.steps else np.nan,
        "val_loss": bce_from_logits(panel.model(x_val).numpy(), y_val) if panel.steps else np.nan,
        "step_sizes": [np.array(s, np.float64).reshape(-1) for s in panel.step_sizes],
    }


@pytest.fixture(scope="module")
def recorded():
    """A panel with validation data redrawn at steps 0, 3 and 7, and what the test saw."""
    panel = adaviz.ModelPanel(seed=3, n=160, validation_split=0.25, batch_size=16)
    seen = [seen_now(panel)]
    for n in (3, 4):
        panel.step(n)
        seen.append(seen_now(panel))
    return panel, seen


def test_snapshots_are_the_views_at_each_redraw(recorded):
    panel, seen = recorded
    snaps = panel.snapshots
    assert list(snaps["step"]) == [0, 3, 7]
    history = panel.history
    assert list(history["step"]) == list(range(1, 8))  # a short run: nothing thinned
    nl = len(panel.layer_names)
    for i, want in enumerate(seen):
        step = want["step"]
        # the data view: P(class 1) of the model at that step, on the panel's grid
        np.testing.assert_allclose(snaps["prediction"][i], want["probability"], atol=1e-6)
        np.testing.assert_allclose(snaps["full_loss"][i], want["full_loss"], rtol=1e-5)
        np.testing.assert_allclose(snaps["val_loss"][i], want["val_loss"], rtol=1e-5)
        # the step-size histogram: every parameter counted once, in the right bin
        edges, counts = snaps["step_size_edges"][i], snaps["step_size_counts"][i]
        assert counts.shape == (nl, HIST_BINS)
        if step == 0:
            assert np.all(np.isnan(edges)) and not counts.any()
            for key in ("loss", "loss_smoothed", "lr", "accum_grad_rms", "update_ratio"):
                assert np.all(np.isnan(snaps[key][i])), key
            continue
        log_edges = np.log10(edges)
        log_edges[0], log_edges[-1] = log_edges[0] - 1e-9, log_edges[-1] + 1e-9
        for layer, sizes in enumerate(want["step_sizes"]):
            expected, _ = np.histogram(np.log10(sizes), bins=log_edges)
            np.testing.assert_array_equal(counts[layer], expected)
        # the losses, settings and per-layer statistics: the history's row of that step
        row = list(history["step"]).index(step)
        for key in ("loss", "loss_smoothed", "lr", "rho", "epsilon", "decay", "batch_size"):
            assert snaps[key][i] == history[key][row], key
        for key in ("accum_grad_rms", "accum_delta_rms", "update_ratio"):
            np.testing.assert_array_equal(snaps[key][i], history[key][row])


def test_model_state_is_the_panel_as_drawn(recorded):
    panel, seen = recorded
    state = replay.model_state(panel)
    json.dumps(state, allow_nan=False)  # plain JSON: no NaN, no numpy
    assert state["panel"] == "model_replay" and state["steps"] == 7
    assert state["order"] == ["loss", "boundary", "accumulators", "step_sizes", "update_ratio"]
    assert state["layer_names"] == panel.layer_names and state["nonfinite_step"] is None
    for name in state["order"]:  # the panel's own traces, names and titles
        names = [trace.get("name") for trace in state["figures"][name]["data"]]
        assert names == [trace.name for trace in panel.figures[name].data], name
    snaps = state["snapshots"]
    assert snaps["step"] == [0, 3, 7] and snaps["loss"][0] is None
    np.testing.assert_array_equal(snaps["accum_grad_rms"][2], panel.history["accum_grad_rms"][-1])
    # P(class 1) stored to 1/254, one byte a grid point
    prediction = state["prediction"]
    assert prediction["kind"] == "probability" and prediction["shape"] == [50, 50]
    for i, want in enumerate(seen):
        raw = np.frombuffer(base64.b64decode(prediction["data"][i]), np.uint8)
        page = raw.reshape(50, 50) / prediction["scale"]
        np.testing.assert_allclose(page, want["probability"], atol=0.5 / 254 + 1e-6)
    # the figures' lines as float32 (the steps as int32), equal to the panel's to float32
    compared = 0
    for name in ("loss", "accumulators", "update_ratio"):
        for trace, ours in zip(
            state["figures"][name]["data"], panel.figures[name].data, strict=True
        ):
            for axis in ("x", "y"):
                spec, want = trace.get(axis), getattr(ours, axis)
                if isinstance(spec, dict) and "bdata" in spec:
                    got = np.frombuffer(base64.b64decode(spec["bdata"]), "<" + spec["dtype"])
                    assert spec["dtype"] == ("i4" if axis == "x" else "f4"), (name, axis)
                    np.testing.assert_array_equal(got, np.asarray(want, np.float32))
                    compared += 1
    assert compared >= 2 * 9  # the batch and smoothed losses, 6 + 3 per-layer lines


def test_to_html_writes_the_replay_and_live_false_the_picture(recorded, tmp_path):
    panel, _ = recorded
    text = panel.to_html(tmp_path / "replay.html").read_text()  # a replay by default
    assert "window.adaviz.modelReplay(" in text and "adaviz.modelReplay = modelReplay" in text
    assert "replays an adaviz ModelPanel" in text  # what a browser without JavaScript says
    assert "the optimizer runs in this page" not in text  # nothing trains in a replay
    cdn = panel.to_html(tmp_path / "cdn.html", include_plotlyjs="cdn")
    assert cdn.stat().st_size < 300_000
    # the page carries model_state as zlib-compressed JSON
    packed = re.search(r'\{"packed": "([^"]+)"', cdn.read_text()).group(1)
    assert json.loads(zlib.decompress(base64.b64decode(packed))) == replay.model_state(panel)
    picture = panel.to_html(tmp_path / "picture.html", live=False).read_text()
    assert "Decision boundary" in picture and "modelReplay" not in picture
    assert "modelReplay" in panel.page().data


def test_a_panel_before_its_first_step_replays_its_start():
    """No error before the first step: the page shows the model's start (one snapshot, at
    step 0, and says that nothing was trained); a reset starts the snapshots again."""
    panel = adaviz.ModelPanel(seed=1, data="circles", n=120, hidden=(8,))
    panel.step(2)
    assert list(panel.snapshots["step"]) == [0, 2]
    panel.reset()
    state = replay.model_state(panel)
    assert state["steps"] == 0 and state["snapshots"]["step"] == [0]
    assert state["snapshots"]["loss"] == [None]
    points, shape = grid_of(panel)
    logits = panel.model(points).numpy().reshape(shape).astype(np.float64)
    raw = np.frombuffer(base64.b64decode(state["prediction"]["data"][0]), np.uint8)
    np.testing.assert_allclose(raw.reshape(shape) / 254, 1 / (1 + np.exp(-logits)), atol=0.002)
    assert "modelReplay" in replay.replay_page(state, plotly="cdn")


def test_regression_fit_is_replayed_as_float32():
    panel = adaviz.ModelPanel(seed=2, data="regression", n=120, hidden=(8,))
    panel.step(3)
    grid = np.asarray(panel.figures["fit"].data[1].x, np.float32)[:, None]
    want = panel.model(grid).numpy()[:, 0]
    state = replay.model_state(panel)
    assert state["order"] == ["loss", "fit", "accumulators", "step_sizes", "update_ratio"]
    prediction = state["prediction"]
    assert prediction["kind"] == "curve" and prediction["shape"] == [len(grid)]
    np.testing.assert_array_equal(
        np.frombuffer(base64.b64decode(prediction["data"][-1]), "<f4"), want
    )


def test_snapshots_stay_bounded_and_span_the_run():
    snapshots = Snapshots(2, (3,))
    for step in range(0, 1001):  # 1,001 redraws, one a step
        history = {
            "step": np.arange(1, step + 1),
            "loss": np.arange(1.0, step + 1),  # each row its own step's value
            "accum_grad_rms": np.arange(1.0, step + 1)[:, None] * [1.0, 2.0],
        }
        snapshots.record(history, (None, [np.zeros(0)] * 2), np.full(3, step / 1000))
        snapshots.record(history, (None, [np.zeros(0)] * 2), np.zeros(3))  # same step: kept once
    got = snapshots.arrays()
    steps = got["step"]
    assert len(steps) <= MAX_SNAPSHOTS + 1 and steps[-1] == 1000
    assert steps[0] < 32 and np.all(np.diff(steps) > 0) and np.diff(steps).max() <= 32
    np.testing.assert_array_equal(got["loss"][steps > 0], steps[steps > 0])
    np.testing.assert_array_equal(got["accum_grad_rms"][:, 1][steps > 0], 2.0 * steps[steps > 0])
    np.testing.assert_array_equal(got["prediction"][:, 0], steps / 1000)
    assert np.all(np.isnan(got["full_loss"]))  # never evaluated: missing, not zero
    snapshots.clear()
    assert len(snapshots.arrays()["step"]) == 0


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: replay.model_state("moons"), "panel must be an adaviz.ModelPanel, got str"),
        (lambda: replay.replay_page({"panel": "surface"}), "state must be model_state"),
    ],
)
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_bad_plotly_source(recorded):
    state = replay.model_state(recorded[0])
    with pytest.raises(ValueError, match=r"plotly must be one of \['inline', 'cdn'\], got 'local'"):
        replay.replay_page(state, plotly="local")
