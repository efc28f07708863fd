"""The views (adaviz.panels.views) given arrays: figure data, several paths/runs with one
colour each, fixed axis ranges and redraw-free moves, ghosts, clicks, the formula."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest

import adaviz
from adaviz.panels.kit import style as F
from adaviz.panels.surface.formula import formula_html, to_mathml
from adaviz.panels.views import (
    AccumulatorView,
    ContourView,
    HeatmapView,
    LossView,
    StepSizeView,
    background,
)
from adaviz.panels.views.contour import divergence_label
from adaviz.panels.views.lines import fit_range


class Sent:
    """The messages one FigureWidget sends to the browser."""

    def __init__(self, fig):
        self.log = []
        fig.observe(
            lambda c: c["new"] is not None and self.log.append((c["name"], c["new"])),
            names=["_py2js_update", "_py2js_animate", "_py2js_restyle", "_py2js_relayout"],
        )

    def kinds(self):
        kinds = [k for k, _ in self.log]
        self.log.clear()
        return kinds


def f64(*values):
    return np.asarray(values, dtype=np.float64)


def test_accumulator_and_step_size_views_show_the_arrays():
    steps = np.arange(4, dtype=np.float64)
    ag = [f64(0, 1, 2, 3), f64(0, 10, 20, 30)]
    ad = [f64(0, 1e-3, 2e-3, 3e-3), f64(0, 1e-4, 2e-4, 3e-4)]
    view = AccumulatorView()
    view.update(steps, ag, ad)
    data = view.figure.data
    assert [t.name for t in data] == ["E[g²] x", "E[g²] y", "E[Δx²] x", "E[Δx²] y"]
    for i in (0, 1):
        np.testing.assert_array_equal(data[i].y, ag[i])
        np.testing.assert_array_equal(data[2 + i].y, ad[i])
        np.testing.assert_array_equal(data[i].x, steps)
        assert data[i].line.color == data[2 + i].line.color == F.COORD_COLORS["xy"[i]]
    assert view.figure.layout.yaxis.type == "log"
    # the y range (log10 units) covers every positive value: 1e-4 .. 30
    lo, hi = view.figure.layout.yaxis.range
    assert lo <= -4 and hi >= np.log10(30)
    assert tuple(view.figure.layout.xaxis.range) == (0.0, 3.0)

    ss = StepSizeView()
    ss.update(steps[1:], [f64(1, 2, 3), f64(4, 5, 6)], [f64(0.5, 0.5, 0.5), f64(0.05, 0.05, 0.05)])
    assert [t.name for t in ss.figure.data] == ["Adadelta x", "Adadelta y", "Newton x", "Newton y"]
    np.testing.assert_array_equal(ss.figure.data[3].y, [0.05] * 3)
    np.testing.assert_array_equal(ss.figure.data[0].x, [1, 2, 3])


def test_line_views_move_redraw_free_while_the_range_fits():
    view = AccumulatorView()
    view.attach("adaviz-figure-accumulators")
    assert "adaviz-figure-accumulators" in view.figure._dom_classes
    sent = Sent(view.figure)
    steps = np.arange(5, dtype=np.float64)
    base = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    view.update(steps, [base, base], [base, base])
    assert sent.kinds() == ["_py2js_update"]  # first data: ranges set
    view.update(steps, [base * 1.1, base], [base, base * 0.95])
    assert sent.kinds() == ["_py2js_animate"]  # same ranges: only x/y move
    # out of range: the new y range rides along with the move, in the same message
    view.update(steps, [base * 1e6, base], [base, base])
    ((kind, msg),) = sent.log
    assert kind == "_py2js_animate" and view.redraw_free
    assert set(msg["layout_data"]) == {"yaxis.range"}
    assert view.figure.layout.yaxis.range[1] >= 6 + np.log10(5)
    sent.log.clear()
    # fewer steps (a path cut at divergence): the new ranges and the cursor ride along
    # with the move, in the same message
    view.update(np.arange(3, dtype=np.float64), [base[:3]] * 2, [base[:3]] * 2, cursor=2)
    ((kind, msg),) = sent.log
    assert kind == "_py2js_animate" and view.redraw_free
    assert set(msg["layout_data"]) == {"xaxis.range", "yaxis.range", "shapes.0.x0", "shapes.0.x1"}
    assert msg["layout_data"]["xaxis.range"] == [0.0, 2.0]
    assert msg["layout_data"]["shapes.0.x0"] == msg["layout_data"]["shapes.0.x1"] == 2.0
    assert tuple(view.figure.layout.xaxis.range) == (0.0, 2.0)
    sent.log.clear()
    # a trace that loses all its points is hidden by plotly.js: a full update
    empty = np.zeros(0)
    view.update(steps, [empty, base], [base, base])
    assert sent.kinds() == ["_py2js_update"] and not view.redraw_free
    view.set_cursor(1)
    assert sent.kinds() == ["_py2js_update"]
    assert view.figure.layout.shapes[0].x0 == view.figure.layout.shapes[0].x1 == 1.0


def test_a_path_cut_short_on_a_fixed_step_axis_keeps_both_axes():
    """With the step axis fixed to the budget, a run cut at divergence (a few points inside
    the current ranges) and then restored moves only x/y (and the cursor)."""
    view = AccumulatorView()
    view.attach("adaviz-figure-accumulators")
    sent = Sent(view.figure)
    steps = np.arange(101, dtype=np.float64)
    full = 10.0 ** np.linspace(-6.0, -2.0, 101)
    view.update(steps, [full, full], [full, full], cursor=100, x_range=(0, 100))
    ranges = (tuple(view.figure.layout.xaxis.range), tuple(view.figure.layout.yaxis.range))
    sent.log.clear()
    cut = full[:2] * 3.0  # two points, well inside the range, filling little of it
    view.update(steps[:2], [cut, cut], [cut, cut], cursor=1, x_range=(0, 100))
    view.update(steps, [full, full], [full, full], cursor=100, x_range=(0, 100))
    assert [kind for kind, _ in sent.log] == ["_py2js_animate", "_py2js_animate"]
    for _, msg in sent.log:
        assert set(msg["layout_data"]) == {"shapes.0.x0", "shapes.0.x1"}, msg["layout_data"]
    assert (tuple(view.figure.layout.xaxis.range), tuple(view.figure.layout.yaxis.range)) == ranges
    # the same two points as a whole run (the step axis follows the data) refit the y axis
    view.update(steps[:2], [cut, cut], [cut, cut], cursor=1)
    assert tuple(view.figure.layout.yaxis.range) != ranges[1]


def test_fit_range_is_coarse_and_sticky():
    wide = [-6.0, 3.0]  # nine decades
    assert fit_range([f64(2.0, 3.0)], log=True, current=wide, keep_inside=True) == wide
    assert fit_range([f64(2.0, 3.0)], log=True, current=wide) == [0.0, 1.0]  # too loose
    assert fit_range([f64(2.0, 3e3)], log=True, current=wide, keep_inside=True) != wide  # out
    assert fit_range([f64(2.0, 300.0)], log=True) == [0.0, 3.0]
    assert fit_range([f64(2.0, 300.0)], log=True, current=[-1.0, 3.0]) == [-1.0, 3.0]
    assert fit_range([f64(2.0, 300.0)], log=True, current=[-6.0, 3.0]) == [0.0, 3.0]  # too loose
    assert fit_range([f64(np.nan, -1.0, 0.0, 5.0)], log=True) == [0.0, 1.0]  # positive only
    assert fit_range([f64(np.nan)], log=True, current=[1.0, 2.0]) == [1.0, 2.0]
    lo, hi = fit_range([f64(-3.0, 7.0)], log=False)
    assert lo < -3.0 and hi > 7.0
    assert fit_range([f64(-3.0, 7.0)], log=False, current=[-4.0, 8.0]) == [-4.0, 8.0]
    assert fit_range([f64(0.0, 0.1)], log=False, current=[-4.0, 8.0]) != [-4.0, 8.0]


def test_loss_view_several_runs_and_ghosts():
    view = LossView(runs=("adadelta", "sgd"), colors=("#111111", "#222222"), ghosts=2)
    steps = np.arange(3, dtype=np.float64)
    view.update(steps, [f64(3, 2, 1), f64(30, 20, 10)])
    data = view.figure.data
    assert [t.name for t in data[:2]] == ["adadelta", "sgd"]
    assert [t.line.color for t in data[:2]] == ["#111111", "#222222"]
    np.testing.assert_array_equal(data[1].y, [30, 20, 10])
    view.show_ghost(1, steps, f64(1e-5, 1e-6, 1e-7), "ghost: old")
    assert data[3].visible and data[3].name == "ghost: old" and not data[2].visible
    view.update(steps, [f64(3, 2, 1), f64(30, 20, 10)])
    assert view.figure.layout.yaxis.range[0] <= -7  # the ghost stays in view
    view.hide_ghosts()
    assert not data[3].visible and len(data[3].x) == 0
    view.set_y_axis("loss (no known minimum)", log=False)
    assert view.figure.layout.yaxis.type == "linear"
    view.update(steps, [f64(-3, 2, 1), f64(30, 20, 10)])
    lo, hi = view.figure.layout.yaxis.range
    assert lo < -3 and hi > 30


def test_contour_view_background_paths_markers_and_clicks():
    surf = adaviz.surfaces.get("himmelblau")
    bg = background(surf, grid_size=20)
    assert bg.image.startswith("data:image/png;base64,")
    assert len(bg.grid_x) == len(bg.grid_y) == 400
    np.testing.assert_allclose([bg.grid_x.min(), bg.grid_x.max()], surf.domain[0])
    assert bg.minima.shape == (4, 2)

    view = ContourView(paths=("adadelta", "sgd"), colors=("#0000ff", "#ff0000"), ghosts=1)
    a = (f64(0, 1, 2), f64(0, 1, 1))
    b = (f64(0, -1), f64(0, -2))
    view.update([a, b], cursor=5, background=bg)
    d, ix = view.figure.data, view.index
    assert [d[ix["adadelta"]].line.color, d[ix["sgd"]].line.color] == ["#0000ff", "#ff0000"]
    np.testing.assert_array_equal(d[ix["sgd"]].y, b[1])
    # one end (and one playback point, clipped into each path) per path, in its colour
    np.testing.assert_array_equal(d[ix["end"]].x, [2.0, -1.0])
    assert list(d[ix["end"]].marker.color) == ["#0000ff", "#ff0000"]
    np.testing.assert_array_equal(d[ix["marker"]].y, [1.0, -2.0])
    np.testing.assert_array_equal(d[ix["minima"]].x, bg.minima[:, 0])
    assert tuple(view.figure.layout.xaxis.range) == surf.domain[0]
    assert view.figure.layout.images[0].source == bg.image

    view.attach()
    sent = Sent(view.figure)
    view.update([b, a], cursor=0)  # paths only: a redraw-free move of x/y
    ((kind, msg),) = sent.log
    assert kind == "_py2js_animate" and not msg["layout_data"]
    assert all(set(s) <= {"x", "y", "text", "textposition"} for s in msg["style_data"])
    sent.log.clear()
    # crossing into divergence: the label beside the end point moves with it, and every
    # edit goes in the move's own message (the legend does not change)
    label = divergence_label(1)
    assert label == "last point before<br>divergence (step 1)"
    assert view.update([b, a], cursor=0, end_labels=[label, ""])
    ((kind, msg),) = sent.log
    assert kind == "_py2js_animate" and not msg["layout_data"]
    d = view.figure.data  # the widget attach() made
    assert d[ix["end"]].name == "end"
    text = d[ix["end label"]]
    assert list(text.text) == [label, " "] and "text" in text.mode and not text.showlegend
    np.testing.assert_array_equal(text.x, d[ix["end"]].x)
    # toward the middle of himmelblau's square: b ends at (-1, -2), a at (2, 1)
    assert list(text.textposition) == ["top right", "bottom left"]
    traces, styles = msg["style_traces"], msg["style_data"]
    assert styles[traces.index(ix["end label"])]["text"] == [label, " "]
    assert not any("name" in s for s in styles)
    clicks = []
    view.on_click(lambda x, y: clicks.append((x, y)))
    view.figure._js2py_pointsCallback = {
        "event_type": "plotly_click",
        "points": {"trace_indexes": [0], "point_indexes": [[3]], "xs": [1.5], "ys": [-0.5]},
        "device_state": None,
        "selector": None,
    }
    assert clicks == [(1.5, -0.5)]


def test_contour_ghosts_go_with_the_paths_and_a_drawn_background_is_not_sent_again():
    surf = adaviz.surfaces.get("booth")
    bg = background(surf, grid_size=10)
    view = ContourView(paths=("a", "b"), ghosts=2)
    view.update([(f64(0, 1), f64(0, 1)), (f64(0, 2), f64(0, 2))], background=bg)
    view.attach()
    sent = Sent(view.figure)
    a, b = (f64(0, 1, 2), f64(0, 1, 1)), (f64(0, -1), f64(0, -2))
    ghost = view.figure.data[view.ghost_index(1)]
    # a new ghost: one full update carries it with the paths
    view.update([a, b], background=bg, ghosts={1: (f64(3, 4), f64(5, 6), "b at k = 0")})
    assert sent.kinds() == ["_py2js_update"]
    assert ghost.visible and ghost.name == "b at k = 0" and ghost.showlegend
    np.testing.assert_array_equal(ghost.y, [5.0, 6.0])
    # the same ghost with new data and the background drawn already: one redraw-free move
    view.update([b, a], background=bg, ghosts={1: (f64(3, 4, 5), f64(1, 2, 3), "b at k = 0")})
    ((kind, msg),) = sent.log
    assert kind == "_py2js_animate" and view.ghost_index(1) in msg["style_traces"]
    assert all(set(s) <= {"x", "y", "text", "textposition"} for s in msg["style_data"])
    np.testing.assert_array_equal(ghost.x, [3.0, 4.0, 5.0])
    sent.log.clear()
    # another background with the same domain: the click grid is not sent again
    other = bg._replace(image=bg.image + "x")
    view.update([b, a], background=other)
    ((kind, msg),) = sent.log
    assert kind == "_py2js_update"
    assert view.index["grid"] not in msg["style_traces"]
    assert view.figure.layout.images[0].source == other.image
    # without a playback marker its trace stays hidden and empty
    plain = ContourView(paths=("a",), marker=False)
    plain.update([a], cursor=1, background=bg)
    plain.set_cursor(2)
    marker = plain.figure.data[plain.index["marker"]]
    assert marker.visible is False and len(marker.x) == 0
    # hide_ghosts forgets them: the next ghost is shown (full update) again
    view.hide_ghosts()
    assert not ghost.visible
    sent.log.clear()
    view.update([a, b], ghosts={1: (f64(3, 4), f64(5, 6), "b at k = 0")})
    assert sent.kinds() == ["_py2js_update"] and ghost.visible


def test_single_path_is_named_trajectory_and_ghosts_rotate_in_slots():
    view = ContourView(ghosts=2)
    assert view.figure.data[view.index["trajectory"]].name == "trajectory"
    view.show_ghost(0, f64(0, 1), f64(0, 1), "ghost: a")
    ghost = view.figure.data[view.ghost_index(0)]
    assert ghost.visible and ghost.name == "ghost: a" and ghost.opacity < 1
    view.hide_ghosts()
    assert not ghost.visible and len(ghost.x) == 0


@pytest.mark.parametrize("name", adaviz.surfaces.names())
def test_every_surface_formula_is_mathml(name):
    tex = adaviz.surfaces.get(name).formula
    markup = to_mathml(tex)
    root = ET.fromstring(markup)  # well-formed
    assert root.tag == "math"
    visible = "".join(root.find("semantics").find("mrow").itertext())
    assert "\\" not in visible and "$" not in visible and "{" not in visible
    assert formula_html(tex) == markup


def test_formula_structure_and_fallback():
    root = ET.fromstring(to_mathml(r"\tfrac{1}{2}\,(x^2 + y_1)"))
    assert root.find(".//mfrac") is not None and root.find(".//msup") is not None
    assert [m.text for m in root.iter("mn")][:2] == ["1", "2"]
    root = ET.fromstring(to_mathml(r"e^{-\sqrt{x}}\cos 2\pi"))
    assert root.find(".//msup/mrow/msqrt") is not None
    assert "π" in "".join(root.itertext())
    with pytest.raises(ValueError, match="unsupported LaTeX command"):
        to_mathml(r"\unknowncommand x")
    assert formula_html(r"\int x") == r"<code>\int x</code>"
    assert formula_html("") == ""


def test_contour_first_points_and_last_points_redraw_the_legend():
    """A move leaves the legend as it was drawn, and the legend skips traces without
    points: the first path drawn into an empty view (a SweepPanel before a cell is
    chosen) and an emptied view are full updates; paths after that are moves."""
    bg = background(adaviz.surfaces.get("booth"), grid_size=10)
    view = ContourView(ghosts=0)
    empty = (f64(), f64())
    view.update([empty], background=bg)
    view.attach()
    sent = Sent(view.figure)
    path = (f64(0, 1, 2), f64(0, 1, 1))
    assert view.update([path]) is False
    assert sent.kinds() == ["_py2js_update"]
    sent.log.clear()
    assert view.update([(f64(0, 2), f64(0, 2))]) is True
    assert [k for k, _ in sent.log] == ["_py2js_animate"]
    sent.log.clear()
    assert view.update([empty]) is False
    assert sent.kinds() == ["_py2js_update"]


@pytest.mark.parametrize(
    ("values", "log"),
    [([[0.5, 2.0], [0.0, 100.0]], True), ([[0.5, -2.0], [0.0, 100.0]], False)],
)
def test_heatmap_colours_by_log10_unless_a_value_is_negative(values, log):
    """A loss below zero (f* < 0, or a surface unbounded below) cannot sit on a log colour
    scale: the colours are the values then, and the colour bar says no log scale. On a log
    scale a value of 0 takes the lowest colour."""
    view = HeatmapView()
    grid = np.array(values)
    view.update([1.0, 2.0], [0.1, 0.2], grid, np.zeros((2, 2), bool), label="final loss",
                log=True, x_name="rho", y_name="epsilon")  # fmt: skip
    metric = view.figure.data[view.index["metric"]]
    z = np.asarray(metric.z, float)
    if log:
        expected = np.log10(np.where(grid > 0, grid, 0.5))  # 0 -> the lowest, log10(0.5)
        np.testing.assert_allclose(z, expected, rtol=1e-12)
        assert "log scale" in metric.colorbar.title.text
    else:
        np.testing.assert_array_equal(z, grid)
        assert "log scale" not in metric.colorbar.title.text
