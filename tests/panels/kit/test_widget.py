"""The plotly adapter (adaviz.panels.kit.widget): its checks of plotly's internals, its
fallback to plotly's own FigureWidget, the shared loader and the bundle on request.

The browser half (figures render with and without the loader, and with the fallback) is
in tests/browser/test_browser.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import plotly
import plotly.graph_objects as go
import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from adaviz.panels.kit import widget

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

ROOT = str(Path(__file__).resolve().parents[3])
KINDS = ["_py2js_update", "_py2js_animate", "_py2js_restyle", "_py2js_relayout"]


def sent(fig):
    """A list that receives (kind, message) for everything ``fig`` sends to the browser."""
    log = []
    fig.observe(
        lambda change: change["new"] is not None and log.append((change["name"], change["new"])),
        names=KINDS,
    )
    return log


def line_figure():
    return widget.FigureWidget(
        go.Figure(go.Scatter(x=np.array([0.0, 1.0]), y=np.array([1.0, 2.0]), name="path"))
    )


def test_installed_plotly_is_in_the_declared_range_and_needs_no_fallback():
    meta = tomllib.loads(open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8").read())
    (plotly_req,) = [d for d in meta["project"]["dependencies"] if d.startswith("plotly")]
    spec = SpecifierSet(plotly_req.removeprefix("plotly"))
    assert spec.contains(Version("6.3.0")) and not spec.contains(Version("8.0")), spec
    assert spec.contains(Version(plotly.__version__)), (plotly.__version__, spec)
    # `make test-plotly-oldest` runs this file against the oldest plotly: check it is that one
    expected = os.environ.get("ADAVIZ_EXPECT_PLOTLY")
    assert expected in (None, plotly.__version__), (expected, plotly.__version__, plotly.__file__)
    # Every plotly this project tests has the internals the adapter expects.
    assert widget.INTERNALS == dict.fromkeys(["bundle", "state", "animate", "move", "direct"]), (
        plotly.__version__,
        widget.INTERNALS,
    )


def test_one_loader_per_kernel_and_stub_modules():
    a, b = line_figure(), line_figure()
    loader = widget._loader
    assert loader is not None and loader.comm is not None
    assert len(loader.source) > 1_000_000  # plotly.js, once
    # each figure carries a stub module of a few kilobytes, not the bundle
    assert a._esm == b._esm == widget._FIGURE_ESM and len(a._esm) < 20_000
    line_figure()
    assert widget._loader is loader


def wire(fig):
    """A list that receives (data, buffers) of every comm message ``fig`` sends."""
    log = []
    fig.comm.publish_msg = lambda msg_type, data=None, metadata=None, buffers=None, **kw: (
        log.append((data, list(buffers or [])))
    )
    return log


def test_moving_sends_a_redraw_free_animate_and_updates_python():
    fig = line_figure()
    log = sent(fig)
    on_wire = wire(fig)
    with widget.moving(fig):
        fig.data[0].x = np.array([5.0, 6.0])
        fig.data[0].y = np.array([7.0, 8.0], dtype=np.float32)
    # Python-side observers see plotly's animate message ...
    assert [kind for kind, _ in log] == ["_py2js_animate"]
    assert log[0][1]["animation_opts"]["frame"]["redraw"] is False
    np.testing.assert_array_equal(fig.data[0].x, [5.0, 6.0])
    # ... the browser gets one custom message carrying it: no edit counters, no animate
    # state, so plotly's front end sends no deltas back
    assert len(on_wire) == 1, [data for data, _ in on_wire]
    data, buffers = on_wire[0]
    assert data["method"] == "custom"
    move = data["content"]
    assert move["type"] == widget._MOVE and move["traces"] == [0]
    assert move["options"]["frame"]["redraw"] is False
    assert move["options"]["transition"]["duration"] == 0
    (style,) = move["styles"]
    assert set(style) == {"x", "y"}
    for prop, dtype, values in (("x", "float64", [5.0, 6.0]), ("y", "float32", [7.0, 8.0])):
        ref = style[prop]
        assert ref["dtype"] == dtype and ref["shape"] == [2]
        got = np.frombuffer(bytes(buffers[ref["buffer_index"]]), dtype=dtype)
        np.testing.assert_array_equal(got, values)
    # the full state a new view receives is the figure now, not at construction
    state = fig.get_state()
    x = state["_widget_data"][0]["x"]  # plotly's binary form of a numpy array
    np.testing.assert_array_equal(np.frombuffer(x["buffer"], dtype=x["dtype"]), [5.0, 6.0])


def test_per_point_text_moves_with_its_points_in_the_same_message():
    """A label that follows its point (text, textposition) goes in the move, not as an
    edit after it; a text that is not a list of strings goes as plotly's own animate."""
    fig = widget.FigureWidget(go.Figure(go.Scatter(x=[0.0], y=[1.0], mode="text", text=[""])))
    on_wire = wire(fig)
    with widget.moving(fig):
        fig.data[0].x, fig.data[0].y = np.array([2.0]), np.array([3.0])
        fig.data[0].text = ["diverged<br>here"]
        fig.data[0].textposition = ["bottom left"]
    ((data, _),) = on_wire
    move = data["content"]
    assert move["type"] == widget._MOVE and "restyle" not in move
    (style,) = move["styles"]
    assert style["text"] == ["diverged<br>here"] and style["textposition"] == ["bottom left"]
    assert fig.data[0].text == ("diverged<br>here",)
    on_wire = wire(fig)
    with widget.moving(fig):
        fig.data[0].text = "one text for every point"
    assert not [data for data, _ in on_wire if data["method"] == "custom"]


def test_a_move_that_is_not_plain_x_y_goes_as_plotlys_own_animate():
    """Nested properties, or arrays the browser has no typed array for (dates, big-endian
    floats): plotly's own message."""
    fig = line_figure()
    for change in (
        lambda: setattr(fig.data[0].line, "color", "red"),
        lambda: setattr(fig.data[0], "x", np.array(["2020-01-01", "2020-01-02"], "M8[D]")),
        lambda: setattr(fig.data[0], "y", np.array([3.0, 4.0], dtype=">f8")),
    ):
        log = sent(fig)
        on_wire = wire(fig)
        with widget.moving(fig):
            change()
        assert [kind for kind, _ in log] == ["_py2js_animate"]
        kinds = [list(data.get("state", {})) for data, _ in on_wire]
        assert ["_py2js_animate"] in kinds, kinds
        assert not [data for data, _ in on_wire if data["method"] == "custom"]
    assert fig.data[0].line.color == "red"
    assert fig.data[0].x.dtype.kind == "M"
    np.testing.assert_array_equal(fig.data[0].y, [3.0, 4.0])


def test_the_figure_module_applies_moves_itself():
    """The stub handles the move message: the model's figure state, then Plotly.animate."""
    esm = widget._FIGURE_ESM
    assert f'msg.type === "{widget._MOVE}"' in esm
    assert "Plotly.animate(el" in esm and 'model.get("_widget_data")' in esm
    assert widget._PLOTLY_GLOBAL in widget._BUNDLE.read_bytes()


def test_sync_initial_state_makes_construction_state_current():
    fig = line_figure()
    fig.data[0].y = np.array([3.0, 4.0])
    fig.layout.title.text = "now"
    widget.sync_initial_state(fig)
    np.testing.assert_array_equal(fig._widget_data[0]["y"], [3.0, 4.0])
    assert fig._widget_layout["title"]["text"] == "now"


def test_a_figure_answers_a_request_for_plotly_js():
    """A page without the loader asks through the figure's own model; the kernel replies."""
    fig = line_figure()
    replies = []
    fig.comm.publish_msg = lambda msg_type, data=None, metadata=None, buffers=None, **kw: (
        replies.append((data, buffers))
    )
    request = {"method": "custom", "content": {"type": widget._REQUEST}}
    fig._handle_msg({"content": {"data": request}, "buffers": []})
    fig._handle_msg({"content": {"data": {"method": "custom", "content": {"x": 1}}}})
    assert len(replies) == 1, replies
    data, buffers = replies[0]
    assert data["method"] == "custom" and data["content"] == {"type": widget._REPLY}
    (bundle,) = buffers
    assert bytes(bundle) == widget._BUNDLE.read_bytes()


def run_python(code, **env):
    full_env = dict(os.environ, **env)
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=full_env, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


FALLBACK_PROBE = """
import json
import numpy as np
import plotly.graph_objects as go
import adaviz
from adaviz.panels.kit import widget

fig = widget.FigureWidget(go.Figure(go.Scatter(x=np.array([0.0, 1.0]), y=np.array([1.0, 2.0]))))
log = []
fig.observe(lambda c: c["new"] is not None and log.append(c["name"]),
            names=["_py2js_update", "_py2js_animate"])
with widget.moving(fig):
    fig.data[0].x = np.array([5.0, 6.0])
widget.sync_initial_state(fig)  # a no-op here: plotly's own construction-time state
panel = adaviz.SurfacePanel("rosenbrock", steps=100)
before = np.array(panel.figures["surface"].data[0].x, dtype=float)
log_panel = []
for f in panel.figures.values():
    f.observe(lambda c: c["new"] is not None and log_panel.append(c["name"]),
              names=["_py2js_update", "_py2js_animate"])
panel.controls["rho"].value = 0.5
panel.flush()
traj = adaviz.simulate("rosenbrock", steps=100, rho=0.5)
names = [t.name for t in panel.figures["surface"].data]
path = panel.figures["surface"].data[names.index("trajectory")]
print(json.dumps({
    "internals": widget.INTERNALS,
    "esm_is_plotlys": "_esm" not in vars(widget.FigureWidget) and str(fig._esm) == str(go.FigureWidget._esm),
    "loader": widget._loader is not None,
    "moving": log,
    "x": list(fig.data[0].x),
    "widget_x": list(fig._widget_data[0]["x"]),
    "panel_kinds": sorted(set(log_panel)),
    "path_matches_engine": bool(np.allclose(path.x, traj.positions[:, 0, 0], rtol=1e-5)),
}))
"""


@pytest.mark.subprocess
def test_forced_fallback_is_plotlys_own_figure_widget_and_still_correct():
    got = run_python(FALLBACK_PROBE, ADAVIZ_PLOTLY_FALLBACK="1")
    assert set(got["internals"]) == {"bundle", "state", "animate", "move", "direct"}
    assert all(reason for reason in got["internals"].values()), got["internals"]
    assert got["esm_is_plotlys"] and not got["loader"]
    assert got["moving"] == ["_py2js_update"]  # batch_update: a full Plotly.update
    assert got["x"] == [5.0, 6.0]
    assert got["widget_x"] == [0.0, 1.0]  # plotly's own: the construction-time state
    assert got["panel_kinds"] == ["_py2js_update"]
    assert got["path_matches_engine"]


@pytest.mark.subprocess
def test_no_loader_switch_creates_no_loader_but_keeps_the_stub():
    code = (
        "import json, plotly.graph_objects as go\n"
        "from adaviz.panels.kit import widget\n"
        "fig = widget.FigureWidget(go.Figure(go.Scatter(x=[0.0], y=[1.0])))\n"
        "print(json.dumps({'loader': widget._loader is not None, 'no_loader': widget.NO_LOADER,"
        " 'stub': fig._esm == widget._FIGURE_ESM}))\n"
    )
    assert run_python(code, ADAVIZ_NO_LOADER="1") == {
        "loader": False,
        "no_loader": True,
        "stub": True,
    }


@pytest.mark.subprocess
def test_move_fallback_sends_plotlys_own_animate():
    code = (
        "import json, numpy as np, plotly.graph_objects as go\n"
        "from adaviz.panels.kit import widget\n"
        "fig = widget.FigureWidget(go.Figure(go.Scatter(x=[0.0, 1.0], y=[1.0, 2.0])))\n"
        "wire = []\n"
        "fig.comm.publish_msg = lambda t, data=None, metadata=None, buffers=None, **k: "
        "wire.append(data)\n"
        "with widget.moving(fig):\n"
        "    fig.data[0].y = np.array([3.0, 4.0])\n"
        "print(json.dumps({'internals': widget.INTERNALS, 'y': list(fig.data[0].y),"
        " 'wire': [sorted(d.get('state', {})) or d['method'] for d in wire]}))\n"
    )
    got = run_python(code, ADAVIZ_PLOTLY_FALLBACK="move")
    assert got["internals"]["move"] and got["internals"]["animate"] is None
    assert ["_py2js_animate"] in got["wire"] and "custom" not in got["wire"], got["wire"]
    assert got["y"] == [3.0, 4.0]


def test_a_missing_internal_is_reported_not_raised(monkeypatch):
    """Each check names what is missing (and then the feature is plotly's own)."""
    widget_class = plotly.basewidget.BaseFigureWidget
    monkeypatch.setattr(widget_class, "_send_animate_msg", lambda self, message: None)
    assert "_send_animate_msg" in widget._check_move()
    monkeypatch.delattr(plotly.basedatatypes.BaseFigure, "_perform_batch_animate")
    assert "_perform_batch_animate" in widget._check_animate()
    monkeypatch.setattr(widget, "_BUNDLE", widget._BUNDLE.with_name("nothing-here.js"))
    assert "missing" in widget._check_bundle()


def test_fallback_switch_names_features(monkeypatch):
    for value, expected in [
        ("", set()),
        ("0", set()),
        ("1", {"bundle", "state", "animate", "move", "direct"}),
        ("all", {"bundle", "state", "animate", "move", "direct"}),
        ("state, animate", {"state", "animate"}),
    ]:
        monkeypatch.setenv("ADAVIZ_PLOTLY_FALLBACK", value)
        assert widget._forced_fallbacks() == expected, value
    monkeypatch.setenv("ADAVIZ_PLOTLY_FALLBACK", "animate")
    assert widget._check_all() == {
        "bundle": None,
        "state": None,
        "animate": "ADAVIZ_PLOTLY_FALLBACK is set",
        "move": "needs the animate feature",
        "direct": "needs the move feature",
    }
