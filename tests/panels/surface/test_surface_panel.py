"""SurfacePanel: drawn data vs the engine and a float64 reference, readouts, playback,
ghosts, export, in-place updates, coalescing and input checks. No browser needed."""

from __future__ import annotations

import ast
import asyncio
import base64
import json
import math
import re
import time

import numpy as np
import pytest

import adaviz
from adaviz import engine
from adaviz.panels.kit.controls import PRESETS
from adaviz.panels.surface import panel as surface_module
from adaviz.panels.surface.panel import N_GHOSTS, SurfacePanel
from adaviz.panels.views import contour

FIGURES = ("surface", "accumulators", "step_size", "loss")
# what may ride along with a line view's move: new axis ranges and the cursor
RIDING = {"xaxis.range", "yaxis.range", "shapes.0.x0", "shapes.0.x1"}


# ------------------------------------------------------------------------------- helpers
def drawn_path(panel):
    fig = panel.figures["surface"]
    (trace,) = [t for t in fig.data if t.name == "trajectory"]
    return np.stack([np.asarray(trace.x), np.asarray(trace.y)], axis=1)


def panel_settings(panel):
    c = panel.controls
    return {
        "lr": float(c["lr"].value),
        "rho": float(c["rho"].value),
        "epsilon": float(c["epsilon"].value),
        "decay": float(c["decay"].value),
        "steps": int(c["steps"].value),
    }


def expected_path(panel, surface, start):
    """adaviz.simulate with the settings read from the panel's controls, cut at divergence."""
    t = adaviz.simulate(surface, start=start, **panel_settings(panel))
    k = int(t.diverged_at[0])
    return t.positions[: (k if k >= 0 else None), 0]


def assert_path_is_simulate(panel, surface, start):
    want = expected_path(panel, surface, start)
    got = drawn_path(panel)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    assert np.array_equal(panel.trajectory.positions[: len(got), 0], want)


def beale_reference(x, y):
    """Beale's function written out independently of adaviz.surfaces."""
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def decode_png(uri):
    """An ``(h, w, 3)`` uint8 array from a data-URI PNG (8-bit RGB, unfiltered rows)."""
    import struct
    import zlib

    prefix = "data:image/png;base64,"
    assert uri.startswith(prefix)
    data = base64.b64decode(uri[len(prefix) :])
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        assert struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])[0] == (
            zlib.crc32(kind + body) & 0xFFFFFFFF
        )
        chunks[kind] = chunks.get(kind, b"") + body
        pos += 12 + length
    w, h, depth, ctype = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, ctype) == (8, 2)
    rows = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8).reshape(h, 1 + 3 * w)
    assert not rows[:, 0].any(), "rows use a PNG filter this decoder does not undo"
    return rows[:, 1:].reshape(h, w, 3)


def assert_background_is_the_surface(panel, surface, f):
    """The contour view's background image shows ``f`` (an independent formula of the
    surface) in bands of the surface's contour levels, upright and spanning the domain;
    the invisible click grid and the colour bar match it."""
    fig = panel.figures["surface"]
    (xmin, xmax), (ymin, ymax) = surface.domain
    (image,) = fig.layout.images
    assert (image.xref, image.yref, image.sizing) == ("x", "y", "stretch")
    assert (image.xanchor, image.yanchor) == ("left", "top")
    assert (image.x, image.y) == (xmin, ymax)
    assert (image.sizex, image.sizey) == pytest.approx((xmax - xmin, ymax - ymin))
    rgb = decode_png(image.source).astype(np.int64)
    h, w, _ = rgb.shape
    # the band each pixel centre falls in, from the independent formula and the surface's
    # own colouring parameters (log10(Z - floor + offset) when it spans decades)
    c = surface.contour(panel._grid_size, levels=contour.LEVELS)
    xs = xmin + (np.arange(w) + 0.5) * (xmax - xmin) / w
    ys = ymax - (np.arange(h) + 0.5) * (ymax - ymin) / h
    X, Y = np.meshgrid(xs, ys)
    Z = f(X, Y)
    color = np.log10(np.maximum(Z - c.floor, 0.0) + c.offset) if c.log else Z
    band = np.clip(np.floor((color - c.start) / c.size), 0, len(c.levels) - 1).astype(int)
    palette = contour.band_colors(len(c.levels)).astype(np.int64)
    # away from band edges (where the level lines are drawn) every pixel has its band's
    # colour; skip pixels whose band is within 2% of a level of changing (rounding)
    frac = (color - c.start) / c.size - np.floor((color - c.start) / c.size)
    inner = np.ones_like(band, dtype=bool)
    inner[1:-1, 1:-1] = (
        (band[1:-1, 1:-1] == band[:-2, 1:-1])
        & (band[1:-1, 1:-1] == band[2:, 1:-1])
        & (band[1:-1, 1:-1] == band[1:-1, :-2])
        & (band[1:-1, 1:-1] == band[1:-1, 2:])
    )
    inner[[0, -1], :] = False
    inner[:, [0, -1]] = False
    inner &= (frac > 0.02) & (frac < 0.98)
    assert inner.mean() > 0.5
    np.testing.assert_array_equal(rgb[inner], palette[band[inner]])
    # the level lines: darker pixels exist, and only where the band changes
    darker = (rgb.sum(-1) < palette[band].sum(-1)) & inner
    assert not darker.any()
    assert (rgb.sum(-1) < palette[band].sum(-1)).mean() > 0.01
    # not a trivial image: many bands are visible
    assert len(set(band[inner].tolist())) >= 5
    # click grid: invisible, covering the domain at the contour resolution
    grid = fig.data[0]
    assert grid.mode == "none" and grid.hoverinfo != "skip"
    n = panel._grid_size
    assert len(grid.x) == len(grid.y) == n * n
    np.testing.assert_allclose([grid.x.min(), grid.x.max()], surface.domain[0])
    np.testing.assert_allclose([grid.y.min(), grid.y.max()], surface.domain[1])
    assert len(np.unique(grid.x)) == len(np.unique(grid.y)) == n
    # the colour bar: the same scale and labels as the contour levels
    bar = [t for t in fig.data if t.marker and t.marker.showscale]
    assert len(bar) == 1
    marker = bar[0].marker
    # the bar spans the bands (0..1 = c.start..c.end), ticks at the contour's tick values
    assert (marker.cmin, marker.cmax) == (0.0, 1.0)
    assert marker.colorscale[0][0] == 0.0 and marker.colorscale[-1][0] == 1.0
    # ... in the image's band colours: band k fills [k/n, (k+1)/n] of the bar
    n = len(c.levels)
    scale = [tuple(stop) for stop in marker.colorscale]
    assert len(scale) == 2 * n
    for k in range(n):
        want = "rgb({},{},{})".format(*palette[k])
        assert scale[2 * k] == pytest.approx((k / n, want)), k
        assert scale[2 * k + 1] == pytest.approx(((k + 1) / n, want)), k
    np.testing.assert_allclose(
        np.asarray(marker.colorbar.tickvals) * (c.end - c.start) + c.start, c.tickvals
    )
    assert list(marker.colorbar.ticktext) == list(c.ticktext)
    assert ("log" in marker.colorbar.title.text) == c.log


class Messages:
    """Records what each FigureWidget sends to the browser."""

    KINDS = (
        "_py2js_update",
        "_py2js_animate",
        "_py2js_restyle",
        "_py2js_relayout",
        "_py2js_addTraces",
        "_py2js_deleteTraces",
        "_py2js_moveTraces",
    )

    def __init__(self, panel):
        self.log = {name: [] for name in FIGURES}
        self.order = []  # figure names in the order their messages were sent
        for name in FIGURES:
            fig = panel.figures[name]
            fig.observe(self._recorder(name), names=list(self.KINDS))

    def _recorder(self, name):
        def record(change):
            if change["new"] is not None:
                self.log[name].append((change["name"], change["new"]))
                self.order.append(name)

        return record

    def clear(self):
        for v in self.log.values():
            v.clear()
        self.order.clear()

    def kinds(self, name):
        return [k for k, _ in self.log[name]]


def rosenbrock_reference(start, steps, lr, rho, eps, decay):
    """Independent float64 Adadelta on rosenbrock with a hand-written gradient."""
    p = np.array(start, dtype=np.float64)
    a = np.zeros(2)
    d = np.zeros(2)
    out = [p.copy()]
    for t in range(steps):
        x, y = p
        g = np.array([-2.0 * (1.0 - x) - 400.0 * x * (y - x * x), 200.0 * (y - x * x)])
        lr_t = lr / (1.0 + decay * t)
        a = rho * a + (1.0 - rho) * g * g
        dx = np.sqrt(d + eps) / np.sqrt(a + eps) * g
        d = rho * d + (1.0 - rho) * dx * dx
        p = p - lr_t * dx
        out.append(p.copy())
    return np.array(out)


@pytest.fixture
def panel():
    return SurfacePanel("rosenbrock", steps=500, rho=0.9, epsilon=1e-6)


# ------------------------------------------------------------------ the path is the engine's
def test_initial_path_matches_float64_reference(panel):
    s = adaviz.surfaces.get("rosenbrock")
    got = drawn_path(panel)
    assert got.shape == (501, 2)
    np.testing.assert_allclose(got[0], s.start)
    ref = rosenbrock_reference(s.start, 60, 1.0, 0.9, 1e-6, 0.0)
    np.testing.assert_allclose(got[:61], ref, rtol=1e-4, atol=1e-5)
    assert_path_is_simulate(panel, "rosenbrock", s.start)


def test_path_follows_rho_epsilon_preset_surface_and_click(panel):
    rosen = adaviz.surfaces.get("rosenbrock")

    panel.controls["rho"].value = 0.835
    assert panel_settings(panel)["rho"] == pytest.approx(0.835)
    assert_path_is_simulate(panel, rosen, rosen.start)

    panel.controls["epsilon"].value = 1e-4
    assert panel_settings(panel)["epsilon"] == pytest.approx(1e-4)
    assert_path_is_simulate(panel, rosen, rosen.start)
    # independent check after a change as well (15 steps: from about step 25 on, bouncing
    # in the valley amplifies float32 rounding chaotically)
    ref = rosenbrock_reference(
        rosen.start,
        15,
        1.0,
        float(panel.controls["rho"].value),
        float(panel.controls["epsilon"].value),
        0.0,
    )
    np.testing.assert_allclose(drawn_path(panel)[:16], ref, rtol=1e-4, atol=1e-5)

    panel.controls["preset"].value = "PyTorch default"
    want = PRESETS["PyTorch default"]
    for name, value in want.items():
        assert panel_settings(panel)[name] == pytest.approx(value)
    assert_path_is_simulate(panel, rosen, rosen.start)

    panel.controls["surface"].value = "beale"
    beale = adaviz.surfaces.get("beale")
    assert panel.surface is beale
    assert_path_is_simulate(panel, beale, beale.start)
    assert_background_is_the_surface(panel, beale, beale_reference)
    assert tuple(panel.figures["surface"].layout.xaxis.range) == beale.domain[0]

    # a click on the contour, delivered the way the browser sends it
    fig = panel.figures["surface"]
    fig._js2py_pointsCallback = {
        "event_type": "plotly_click",
        "points": {"trace_indexes": [0], "point_indexes": [[10, 20]], "xs": [1.25], "ys": [-0.75]},
        "device_state": None,
        "selector": None,
    }
    np.testing.assert_array_equal(panel.start, [1.25, -0.75])
    assert_path_is_simulate(panel, beale, (1.25, -0.75))
    assert drawn_path(panel)[0].tolist() == [1.25, -0.75]


def test_set_start_and_surface_object():
    bowl = adaviz.Surface(
        lambda x, y: (x - 1.0) ** 2 + 10.0 * (y + 0.5) ** 2,
        domain=((-3, 3), (-3, 3)),
        minima=[(1.0, -0.5)],
        start=(-2.0, 2.0),
        name="bowl",
    )
    p = SurfacePanel(bowl, steps=300, lr=1.0, rho=0.9, epsilon=1e-3)
    assert p.surface is bowl
    assert p.controls["surface"].value == "bowl"
    assert "bowl" in [v for _, v in p.controls["surface"].options]
    assert_path_is_simulate(p, bowl, bowl.start)
    p.set_start(2.5, -2.5)
    assert_path_is_simulate(p, bowl, (2.5, -2.5))
    with pytest.raises(ValueError, match="start must lie inside the domain"):
        p.set_start(4.0, 0.0)
    # analytic: Newton's 1/|f_ii| on this quadratic is 1/2 along x and 1/20 along y
    newton = p.figures["step_size"].data
    np.testing.assert_allclose(newton[2].y, 0.5, rtol=1e-6)
    np.testing.assert_allclose(newton[3].y, 0.05, rtol=1e-6)


# -------------------------------------------------------------- accumulators, steps, loss
def test_views_equal_trajectory_arrays(panel):
    panel.controls["decay"].value = 0.01
    t = panel.trajectory
    assert t.decay[0] == pytest.approx(0.01)
    acc = panel.figures["accumulators"].data
    names = [tr.name for tr in acc]
    assert names == ["E[g²] x", "E[g²] y", "E[Δx²] x", "E[Δx²] y"]
    for i in (0, 1):
        np.testing.assert_array_equal(acc[i].y, t.accum_grad[:, 0, i])
        np.testing.assert_array_equal(acc[2 + i].y, t.accum_delta[:, 0, i])
        np.testing.assert_array_equal(acc[i].x, np.arange(t.steps + 1))
    # the recorded E[g²] follows its definition from the recorded gradients
    rho = float(panel.controls["rho"].value)
    g2 = t.grads[:, 0, :].astype(np.float64) ** 2
    a = np.zeros(2)
    for step in range(20):
        a = rho * a + (1 - rho) * g2[step]
        np.testing.assert_allclose([acc[0].y[step + 1], acc[1].y[step + 1]], a, rtol=1e-5)

    ss = panel.figures["step_size"].data
    for i in (0, 1):
        np.testing.assert_array_equal(ss[i].y, t.step_size[:, 0, i])
        np.testing.assert_array_equal(ss[2 + i].y, t.newton_step_size[:, 0, i])
        np.testing.assert_array_equal(ss[i].x, np.arange(1, t.steps + 1))
    # Newton reference: 1/|f_ii| of rosenbrock at the recorded positions (hand-written)
    x, y = t.positions[:-1, 0, 0].astype(np.float64), t.positions[:-1, 0, 1].astype(np.float64)
    fxx = 2.0 - 400.0 * (y - x * x) + 800.0 * x * x
    np.testing.assert_allclose(ss[2].y, 1.0 / np.abs(fxx), rtol=1e-3)
    np.testing.assert_allclose(ss[3].y, 1.0 / 200.0, rtol=1e-5)

    loss = panel.figures["loss"]
    np.testing.assert_allclose(loss.data[0].y, t.loss[:, 0] - 0.0)
    assert loss.layout.yaxis.type == "log"
    for name in ("accumulators", "step_size"):
        assert panel.figures[name].layout.yaxis.type == "log"


def test_readouts_match_the_numbers(panel):
    panel.set_values(lr=0.5, rho=0.95, epsilon=1e-5)
    t = panel.trajectory
    r = panel.readouts
    lr, rho, eps = (float(panel.controls[k].value) for k in ("lr", "rho", "epsilon"))
    formula = lr * math.sqrt(eps / (1 - rho))
    assert r["first_step_formula"] == pytest.approx(formula, rel=1e-9)
    first = np.abs(t.positions[1, 0] - t.positions[0, 0])
    assert r["first_step"] == pytest.approx(tuple(first))
    # at the start |g| is large, so |Δx_1| ≈ lr·√(ε/(1−ρ)) (the readout's claim)
    assert r["first_step"][0] == pytest.approx(formula, rel=1e-3)
    f = adaviz.surfaces.get("rosenbrock")
    x, y = t.positions[-1, 0].astype(np.float64)
    assert r["final_loss"] == pytest.approx((1 - x) ** 2 + 100 * (y - x * x) ** 2, rel=1e-5)
    assert r["distance_to_minimum"] == pytest.approx(math.hypot(x - 1, y - 1), rel=1e-6)
    within = np.flatnonzero(t.loss[:, 0] - f.min_value <= SurfacePanel.TOLERANCE)
    assert r["steps_to_converge"] == (int(within[0]) if within.size else None)
    assert r["diverged_at"] is None
    text = r["text"]
    fmt = adaviz.panels.kit.style.fmt
    assert f"{formula:.2e}" in text  # 7.07e-03
    assert fmt(r["final_loss"], 4) in text
    assert fmt(r["distance_to_minimum"], 4) in text

    panel.set_values(lr=10.0, epsilon=0.1, rho=0.5)  # converges on rosenbrock within 500
    r = panel.readouts
    t = panel.trajectory
    within = np.flatnonzero(t.loss[:, 0] - f.min_value <= SurfacePanel.TOLERANCE)
    assert r["steps_to_converge"] == (int(within[0]) if within.size else None)
    if within.size:
        assert f"{int(within[0])}" in r["text"]


def test_code_line_is_the_settings(panel):
    panel.set_values(lr=0.3, rho=0.875, epsilon=3e-7, decay=0.002)
    code = panel.code
    assert code in panel._code.value.replace("&#x27;", "'")
    call = ast.parse(code, mode="eval").body
    assert ast.unparse(call.func) == "adaviz.Adadelta"
    kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords}
    assert list(kwargs) == ["lr", "rho", "epsilon", "decay"]
    for name, value in kwargs.items():
        assert value == pytest.approx(float(panel.controls[name].value), rel=1e-5)
    assert "user-select:all" in panel._code.value


# ------------------------------------------------------------------------- divergence
def test_divergence_message_and_recovery():
    p = SurfacePanel("beale", steps=500, lr=1.0, rho=0.5, epsilon=0.1)
    assert p.readouts["diverged_at"] is None
    p.controls["lr"].value = 10.0
    t = p.trajectory
    k = int(t.diverged_at[0])
    assert k > 0
    r = p.readouts
    assert r["diverged_at"] == k
    assert f"diverged at step {k}" in r["text"]
    path = drawn_path(p)
    assert path.shape == (k, 2)
    assert np.isfinite(path).all()
    np.testing.assert_array_equal(path, t.positions[:k, 0])
    assert len(p.figures["loss"].data[0].y) == k
    assert len(p.figures["step_size"].data[0].y) == k
    # still works: scrub past the end, pin, then bring lr back
    p.controls["step"].value = 400
    (marker,) = p.figures["surface"].select_traces(selector={"name": "step marker"})
    assert [marker.x[0], marker.y[0]] == path[-1].tolist()
    p.pin()
    p.controls["lr"].value = 1.0
    r = p.readouts
    assert r["diverged_at"] is None
    assert "diverged" not in r["text"]
    assert drawn_path(p).shape == (501, 2)
    assert_path_is_simulate(p, "beale", adaviz.surfaces.get("beale").start)


# -------------------------------------------------------------------- playback and ghosts
def test_scrubber_and_play_move_marker_and_cursors(panel):
    t = panel.trajectory
    (marker,) = panel.figures["surface"].select_traces(selector={"name": "step marker"})
    for k in (0, 137, 500):
        panel.controls["step"].value = k
        assert [marker.x[0], marker.y[0]] == t.positions[k, 0].tolist()
        for name in ("accumulators", "step_size", "loss"):
            shape = panel.figures[name].layout.shapes[0]
            assert shape.x0 == shape.x1 == float(k)
    panel.controls["play"].value = 42  # the Play widget drives the scrubber
    assert panel.controls["step"].value == 42
    assert [marker.x[0], marker.y[0]] == t.positions[42, 0].tolist()
    # a new trajectory moves the marker to the same step of the new path
    panel.controls["rho"].value = 0.7
    t2 = panel.trajectory
    assert [marker.x[0], marker.y[0]] == t2.positions[42, 0].tolist()
    assert panel.controls["step"].max == 500 and panel.controls["play"].max == 500


def test_steps_slider_resizes_everything(panel):
    panel.controls["step"].value = 300
    panel.controls["steps"].value = 120
    t = panel.trajectory
    assert t.steps == 120
    assert drawn_path(panel).shape == (121, 2)
    assert panel.controls["step"].max == 120 and panel.controls["play"].max == 120
    assert panel.controls["step"].value == 120
    assert_path_is_simulate(panel, "rosenbrock", adaviz.surfaces.get("rosenbrock").start)


def test_pin_and_clear_ghosts(panel):
    fig = panel.figures["surface"]
    loss = panel.figures["loss"]
    n_traces = (len(fig.data), len(loss.data))
    first = drawn_path(panel).copy()
    label = panel.pin()
    assert "ρ=0.9" in label
    panel.controls["rho"].value = 0.99
    second = drawn_path(panel).copy()
    panel.pin()
    ghosts = [t for t in fig.data if t.name and t.name.startswith("ghost:")]
    assert len(ghosts) == 2 and all(t.visible for t in ghosts)
    np.testing.assert_array_equal(np.stack([ghosts[0].x, ghosts[0].y], 1), first)
    np.testing.assert_array_equal(np.stack([ghosts[1].x, ghosts[1].y], 1), second)
    assert ghosts[0].opacity < 1
    assert panel.ghosts == [ghosts[0].name, ghosts[1].name]
    assert sum(bool(t.visible) for t in loss.data[1:]) == 2
    # more pins than slots replace the oldest, the trace count never changes
    for rho in (0.5, 0.6, 0.7, 0.8):
        panel.controls["rho"].value = rho
        panel.pin()
    assert len(panel.ghosts) == N_GHOSTS
    assert "ρ=0.8" in panel.ghosts[-1] and "ρ=0.99" in panel.ghosts[0]
    assert (len(fig.data), len(loss.data)) == n_traces
    panel.controls["clear"].click()
    assert panel.ghosts == []
    assert not any(t.visible for t in fig.data if t.name.startswith("ghost"))
    assert all(len(t.x) == 0 for t in loss.data[1:])
    assert (len(fig.data), len(loss.data)) == n_traces


# ------------------------------------------------------------------------------ export
def test_to_html_live_page_starts_from_the_panel(panel, tmp_path):
    panel.controls["rho"].value = 0.85
    panel.set_start(-1.0, 2.0)
    path = panel.to_html(tmp_path / "live.html")  # live by default
    text = path.read_text(encoding="utf-8")
    assert "window.adaviz.surfacePanel(" in text and "<noscript>" in text
    state = json.loads(re.search(r"surfacePanel\(document[^,]*, (\{.*\})\);", text).group(1))
    assert state["surface"] == panel.surface.name
    assert state["start"] == [-1.0, 2.0]
    assert state["steps"] == panel.controls["steps"].value
    assert state["hyperparameters"] == panel.hyperparameters
    assert len(text) <= 5.5e6
    cdn = panel.to_html(tmp_path / "cdn.html", include_plotlyjs="cdn")
    assert cdn.stat().st_size <= 300e3
    with pytest.raises(ValueError, match="live page"):
        panel.to_html(tmp_path / "x.html", live=False, javascript={})
    with pytest.raises(FileNotFoundError, match="cannot write the page to .*no-such-folder"):
        panel.to_html(tmp_path / "no-such-folder" / "live.html")


def test_to_html_of_a_custom_surface_needs_its_javascript(tmp_path):
    bowl = adaviz.Surface(lambda x, y: x**2 + 3.0 * y**2, domain=((-4, 4), (-4, 4)), name="bowl")
    panel = adaviz.SurfacePanel(bowl, steps=20, precompile=False)
    try:
        with pytest.raises(ValueError, match="give its JavaScript expressions"):
            panel.to_html(tmp_path / "bowl.html")
        expressions = {"f": "x ** 2 + 3 * y ** 2", "f_x": "2 * x", "f_y": "6 * y"}
        expressions |= {"f_xx": "2", "f_yy": "6"}
        text = panel.to_html(tmp_path / "bowl.html", javascript=expressions).read_text()
        assert '"f_y": "6 * y"' in text
        assert panel.to_html(tmp_path / "picture.html", live=False).stat().st_size > 0
    finally:
        panel.close()


def test_to_html_contains_the_trajectory(panel, tmp_path):
    panel.controls["rho"].value = 0.85
    path = panel.to_html(tmp_path / "panel.html", live=False)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert "plotly.js" in text.lower() and len(text) > 1_000_000  # plotly.js embedded
    m = re.search(r'"name":"trajectory","x":(\{[^}]*\}),"y":(\{[^}]*\})', text)
    assert m, "the trajectory trace is not in the HTML"
    xy = []
    for blob in m.groups():
        spec = json.loads(blob)
        xy.append(np.frombuffer(base64.b64decode(spec["bdata"]), dtype=spec["dtype"]))
    np.testing.assert_array_equal(np.stack(xy, 1), drawn_path(panel))
    assert panel.code in text
    # the display data's fallback is the live page of the same settings
    bundle = panel._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "window.adaviz.surfacePanel(root, " in bundle["text/html"]
    assert '"rho": 0.85' in bundle["text/html"]


# ----------------------------------------------------- in place, no retrace, float arrays
def _arrays(obj):
    if isinstance(obj, np.ndarray):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _arrays(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _arrays(v)


def _numbers_lists(obj):
    """Lists of plain numbers in a message (data that would go as JSON, not binary)."""
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _numbers_lists(v)
    elif isinstance(obj, (list, tuple)):
        if len(obj) > 8 and all(isinstance(v, (int, float)) for v in obj):
            yield obj
        for v in obj:
            yield from _numbers_lists(v)


def test_updates_in_place_one_message_per_figure_float_buffers(panel):
    from plotly.serializers import _py_to_js

    figs = {name: panel.figures[name] for name in FIGURES}
    ids = {name: id(f) for name, f in figs.items()}
    counts = {name: len(f.data) for name, f in figs.items()}
    widget_children = list(panel.children)
    traces = engine.trace_count()
    messages = Messages(panel)

    changes = [
        ("rho", 0.735),
        ("epsilon", 1e-4),
        ("lr", 0.5),
        ("decay", 0.01),
        ("preset", "Zeiler 2012 paper"),
        ("rho", 0.91),
    ]
    redraw_free = set()
    for name, value in changes:
        messages.clear()
        panel.controls[name].value = value
        panel.flush()
        # the contour view goes first, as a move that redraws only the path's traces
        assert messages.order[0] == "surface", name
        assert messages.kinds("surface") == ["_py2js_animate"], name
        (_, msg) = messages.log["surface"][0]
        assert msg["animation_opts"]["frame"]["redraw"] is False
        assert msg["animation_opts"]["transition"]["duration"] == 0
        surface = panel.figures["surface"]
        moved = {surface.data[i].name for i in msg["style_traces"]}
        assert "trajectory" in moved and "loss" not in moved, moved
        assert not msg["layout_data"], msg["layout_data"]
        for style in msg["style_data"]:  # (and the end label's text, moving with its point)
            assert set(style) <= {"x", "y", "text", "textposition"}, style
        for fig_name in FIGURES:
            kinds = messages.kinds(fig_name)
            assert len(kinds) == 1, (name, fig_name, kinds)
            if fig_name != "surface" and kinds == ["_py2js_animate"]:
                # the line views move redraw-free too; new axis ranges ride along
                redraw_free.add(fig_name)
                (_, msg) = messages.log[fig_name][0]
                assert msg["animation_opts"]["frame"]["redraw"] is False
                assert set(msg["layout_data"]) <= RIDING, (fig_name, msg["layout_data"])
                for style in msg["style_data"]:
                    assert set(style) <= {"x", "y"}, style
            elif fig_name != "surface":
                assert kinds == ["_py2js_update"], (name, fig_name)
            (_, msg) = messages.log[fig_name][0]
            arrays = list(_arrays(msg["style_data"]))
            assert arrays, fig_name
            for arr in arrays:
                assert arr.dtype in (np.float32, np.float64), (fig_name, arr.dtype)
                assert arr.ndim == 1 and arr.flags.c_contiguous
                assert isinstance(_py_to_js(arr, None)["buffer"], memoryview)
            assert not list(_numbers_lists(msg["style_data"])), fig_name
    assert redraw_free == {"accumulators", "step_size", "loss"}, redraw_free

    # a surface change with ghosts pinned (they are cleared): still one message per figure
    panel.pin()
    messages.clear()
    panel.controls["surface"].value = "beale"
    panel.flush()
    assert messages.order[0] == "surface"
    assert messages.kinds("surface") == ["_py2js_update"]
    for fig_name in FIGURES:
        assert len(messages.kinds(fig_name)) == 1, fig_name
    assert panel.ghosts == []
    traces = engine.trace_count()  # a new surface may compile once; nothing after that

    # clicks, scrubbing, pins and clears do not add figures or traces either
    panel.figures["surface"]._js2py_pointsCallback = {
        "event_type": "plotly_click",
        "points": {"trace_indexes": [0], "point_indexes": [[3, 4]], "xs": [0.5], "ys": [0.5]},
        "device_state": None,
        "selector": None,
    }
    panel.controls["step"].value = 10
    panel.pin()
    panel.clear_ghosts()
    assert engine.trace_count() == traces, "the engine retraced for new hyperparameters"
    assert {name: id(f) for name, f in panel.figures.items()} == ids
    assert {name: len(f.data) for name, f in panel.figures.items()} == counts
    assert list(panel.children) == widget_children
    for fig in panel.figures.values():
        for trace in fig.data:
            for key in ("x", "y"):
                value = getattr(trace, key, None)
                if isinstance(value, np.ndarray) and value.size:
                    assert value.dtype.kind == "f", (trace.name, key, value.dtype)


def test_scrubbing_does_not_run_the_engine(panel, monkeypatch):
    calls = []
    real = engine.simulate
    monkeypatch.setattr(engine, "simulate", lambda *a, **k: calls.append(1) or real(*a, **k))
    for k in range(0, 500, 50):
        panel.controls["step"].value = k
    assert calls == []
    panel.controls["rho"].value = 0.5
    assert len(calls) == 1


# ------------------------------------------------------------------------- coalescing
def test_rapid_changes_coalesce_on_an_event_loop(monkeypatch):
    calls = []
    real = engine.simulate

    def counting(*args, **kwargs):
        calls.append(kwargs["rho"])
        return real(*args, **kwargs)

    async def scenario():
        p = SurfacePanel("rosenbrock", steps=500, throttle=0.05)
        monkeypatch.setattr(engine, "simulate", counting)
        values = np.linspace(0.5, 0.99, 100)
        # 100 values arriving together, as queued slider messages do in a kernel
        for v in values:
            p.controls["rho"].value = float(v)
        assert len(calls) <= 1  # at most the first one drew at once; the rest wait
        deadline = time.monotonic() + 10.0  # the loop runs the one scheduled redraw
        while p._redraw.pending and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert not p._redraw.pending
        assert len(calls) <= 2
        assert calls[-1] == pytest.approx(float(p.controls["rho"].value))
        rho_last = float(p.controls["rho"].value)
        # reading the panel flushes a pending change at once (no waiting for the loop)
        p.controls["rho"].value = 0.6
        assert p.trajectory.rho[0] == pytest.approx(float(p.controls["rho"].value))
        return p, rho_last

    p, rho_last = asyncio.run(scenario())
    assert rho_last == pytest.approx(0.99, abs=0.005)
    assert_path_is_simulate(p, "rosenbrock", adaviz.surfaces.get("rosenbrock").start)


def test_without_event_loop_every_change_draws_synchronously(panel, monkeypatch):
    calls = []
    real = engine.simulate
    monkeypatch.setattr(engine, "simulate", lambda *a, **k: calls.append(1) or real(*a, **k))
    for v in (0.6, 0.7, 0.8):
        panel.controls["rho"].value = v
        assert panel._trajectory.rho[0] == pytest.approx(float(panel.controls["rho"].value))
    assert len(calls) == 3


# ----------------------------------------------------------------- contract and classes
def test_contract_keys_classes_and_layout(panel):
    for key in ("surface", "lr", "rho", "epsilon", "decay", "steps", "preset", "step", "play"):
        assert key in panel.controls
    assert set(panel.figures) == set(FIGURES)
    assert "adaviz-surface-panel" in panel._dom_classes
    assert "adaviz-rho" in panel.controls["rho"]._dom_classes
    assert sorted(panel.controls["surface"].options, key=lambda o: o[1])[0][1] in (
        adaviz.surfaces.names()
    )
    assert {v for _, v in panel.controls["surface"].options} >= set(adaviz.surfaces.names())
    for fig in panel.figures.values():
        assert fig.layout.title.text
        assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
    total_width = panel.figures["surface"].layout.width + panel.figures["loss"].layout.width
    assert total_width <= 1000
    assert panel.controls["epsilon"].min == -10 and panel.controls["epsilon"].max == -1
    assert panel.controls["steps"].continuous_update is False


# ------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"surface": "rosenbrok"}, "unknown surface 'rosenbrok'.*rosenbrock"),
        ({"surface": 3}, "surface must be a built-in name"),
        ({"start": (5.0, 0.0)}, r"start must lie inside the domain.*x in \[-2, 2\]"),
        ({"start": (1.0,)}, "start must be a point"),
        ({"rho": 1.5}, r"rho must be in \[0, 1\], got 1.5"),
        ({"epsilon": -1e-7}, "epsilon must be"),
        ({"lr": "fast"}, "lr must be"),
        ({"lr": 100.0}, r"lr must be in \[.*\] for the panel's slider, got 100.0"),
        ({"decay": float("nan")}, "decay must be"),
        ({"steps": 0}, r"steps must be an integer in \[1, 5000\], got 0"),
        ({"steps": 2.5}, "steps must be an integer"),
        ({"lr": 1.0, "learning_rate": 0.5}, "give lr or learning_rate"),
    ],
)
def test_bad_input_is_refused_at_construction(kwargs, match, monkeypatch):
    calls = []
    monkeypatch.setattr(engine, "simulate", lambda *a, **k: calls.append(1))
    with pytest.raises(ValueError, match=match):
        SurfacePanel(**kwargs)
    assert calls == []  # refused before any work


def test_learning_rate_alias():
    p = SurfacePanel("rosenbrock", learning_rate=0.25)
    assert p.controls["lr"].value == pytest.approx(0.25)
    assert p.trajectory.lr[0] == pytest.approx(0.25)


def test_module_docstring_names_the_css_classes():
    doc = surface_module.__doc__
    for cls in ("adaviz-surface-panel", "adaviz-rho", '"trajectory"'):
        assert cls in doc


def test_full_widget_state_is_the_current_figure(panel):
    """Views created late (Voila, a reloaded page) get the figure as it is now."""
    from ipywidgets.widgets.widget import _remove_buffers

    panel.controls["rho"].value = 0.777
    fig = panel.figures["surface"]
    state, paths, buffers = _remove_buffers(fig.get_state())
    data = state["_widget_data"]
    index = [t.get("name") for t in data].index("trajectory")
    x_path = paths.index(["_widget_data", index, "x", "buffer"])
    dtype = data[index]["x"]["dtype"]
    x = np.frombuffer(buffers[x_path], dtype=dtype)
    np.testing.assert_array_equal(x, drawn_path(panel)[:, 0])
    assert state["_widget_layout"]["xaxis"]["range"] == [-2.0, 2.0]
    # a single-key sync is untouched
    assert set(fig.get_state("_py2js_update")) == {"_py2js_update"}


def test_widget_state_at_creation_and_display_is_the_drawn_figure():
    """The browser model starts from the finished figures (plotly's front end replays
    updates sent before the first view wrongly), and displaying re-sends them."""
    from adaviz.panels.kit import style as F

    def by_name(state, name):
        (trace,) = [t for t in state if t.get("name") == name]
        return trace

    p = SurfacePanel("rosenbrock", rho=0.9, static_fallback=False)
    fig = p.figures["surface"]
    messages = Messages(p)
    state = fig._widget_data  # what the comm sent when the widget was created
    np.testing.assert_array_equal(by_name(state, "trajectory")["x"], drawn_path(p)[:, 0])
    assert by_name(state, "start")["marker"]["color"] == F.START_COLOR
    assert fig._widget_layout["images"][0]["source"].startswith("data:image/png;base64,")
    p.controls["surface"].value = "beale"  # before display: sent as updates
    p.flush()
    assert messages.kinds("surface") == ["_py2js_update"]
    p._repr_mimebundle_()
    state = fig._widget_data
    np.testing.assert_array_equal(by_name(state, "trajectory")["x"], drawn_path(p)[:, 0])
    assert by_name(state, "start")["marker"]["color"] == F.START_COLOR
    assert fig._widget_layout["xaxis"]["range"] == list(adaviz.surfaces.get("beale").domain[0])


def test_rho_one_and_snapshot(panel):
    panel.set_values(rho=1.0, lr=0.001)  # the averages never move: plain gradient descent
    r = panel.readouts
    assert math.isinf(r["first_step_formula"])
    assert "undefined at ρ = 1" in r["text"]
    t = panel.trajectory
    # with rho = 1 the step size is lr·√ε/√ε = lr exactly (float32)
    np.testing.assert_allclose(t.step_size[:50, 0], 0.001, rtol=1e-6)
    snap = panel.snapshot()
    assert '"name":"trajectory"' in snap.data and "<html" not in snap.data
    with pytest.raises(ValueError, match="lr must be in"):
        panel.set_values(lr=100.0)
    with pytest.raises(ValueError, match="unknown hyperparameter 'beta'"):
        panel.set_values(beta=0.5)


def test_custom_surface_named_like_a_builtin():
    own = adaviz.Surface(
        lambda x, y: x**2 + y**2,
        domain=((-1, 1), (-1, 1)),
        minima=[(0, 0)],
        start=(0.5, 0.5),
        name="rosenbrock",
    )
    p = SurfacePanel(own, steps=500)
    keys = [v for _, v in p.controls["surface"].options]
    assert "rosenbrock" in keys and p.controls["surface"].value == "rosenbrock (custom)"
    assert p.surface is own
    p.controls["surface"].value = "rosenbrock"
    assert p.surface is adaviz.surfaces.get("rosenbrock")
    p.controls["surface"].value = "rosenbrock (custom)"
    assert p.surface is own
    assert_path_is_simulate(p, own, own.start)


# ------------------------------------------------------------ no compile on the critical path
@pytest.mark.slow
def test_background_compile_does_not_change_what_the_panel_draws():
    from adaviz.panels.views import background

    p = SurfacePanel("rosenbrock", steps=500, rho=0.9, epsilon=1e-6, precompile=True)
    p._repr_mimebundle_()  # displaying starts compiling the other surfaces in a thread
    # while the thread runs, the panel draws what the engine computes
    for name in ("beale", "saddle", "himmelblau"):
        p.controls["surface"].value = name
        surf = adaviz.surfaces.get(name)
        assert_path_is_simulate(p, surf, surf.start)
    assert p.precompile(wait=True, timeout=600), "the background compile did not finish"

    # every surface and every step count now draws without compiling anything
    names = adaviz.surfaces.names()
    refs = {n: adaviz.simulate(n, steps=500, rho=0.9, epsilon=1e-6) for n in names}
    traces = engine.trace_count()
    drawn = {}
    for name in names:
        p.controls["surface"].value = name
        drawn[name] = (drawn_path(p).copy(), p.figures["surface"].layout.images[0].source)
    for steps in (1, 37, 100, 101, 700, 2000, 4999, 5000, 500):
        p.controls["steps"].value = steps
        assert p.trajectory.steps == steps
    assert engine.trace_count() == traces, "a surface or steps change compiled a graph"
    for name in names:
        surf = adaviz.surfaces.get(name)
        ref = refs[name]
        k = int(ref.diverged_at[0])
        n = 501 if k < 0 else k
        np.testing.assert_array_equal(drawn[name][0], ref.positions[:n, 0])
        # the background rendered in the thread is the one rendered here
        assert drawn[name][1] == background(surf, p._grid_size).image, name


def test_noise_slider_and_seed_run_the_engine_with_that_noise_without_retracing():
    panel = SurfacePanel("ill_conditioned", steps=800, throttle=0, precompile=False)
    assert panel.controls["noise"].value == 0.0 and panel.controls["seed"].value == 0
    panel.controls["noise"].value = 1.0
    panel.controls["seed"].value = 7
    before = engine.trace_count()
    panel.controls["noise"].value = 0.1
    assert engine.trace_count() == before  # new noise values never retrace
    want = adaviz.simulate("ill_conditioned", steps=800, noise=0.1, seed=7)
    np.testing.assert_array_equal(panel.trajectory.positions, want.positions)
    np.testing.assert_array_equal(panel.trajectory.grads, want.grads)
    assert "gradient noise σ = 0.1 (seed 7)" in panel._readouts.value
    # "converged" under noise: within the tolerance over the last tenth, not passing through
    converged = want.converged(SurfacePanel.TOLERANCE)[0]
    shown = panel._readout_values["steps_to_converge"]
    assert (shown is not None) == bool(converged)
    panel.close()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            dict(noise=500.0),
            r"noise must be 0 or in \[0.001, 100\] for the panel's slider, got 500.0",
        ),
        (dict(noise=-1.0), r"noise must be a finite number >= 0, got -1.0"),
        (dict(seed=-3), r"seed must be an integer in \[0, 4294967295\], got -3"),
    ],
)
def test_noise_and_seed_out_of_the_controls_range_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SurfacePanel("rosenbrock", precompile=False, **kwargs)
