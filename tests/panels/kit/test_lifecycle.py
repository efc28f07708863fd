"""A panel's life in a notebook (adaviz.panels.kit.lifecycle): ``close()`` closes every widget
the panel owns; a panel made by a re-run of a notebook cell closes (and lets go of) the
panels the cell's earlier run made, and leaves other cells' panels alone. In-process for
the bookkeeping, and in a real ipykernel for the cell ids and IPython's output cache."""

from __future__ import annotations

import ast
import gc
import weakref
from pathlib import Path

import pytest
from ipywidgets.widgets.widget import _instances

import adaviz
from adaviz.panels.kit import lifecycle


def _surface_panel():
    return adaviz.SurfacePanel("rosenbrock", steps=100, precompile=False)


@pytest.fixture(scope="module", autouse=True)
def _shared_widgets_exist():
    # the process-wide plotly loader widget is made with the first figure, not by a panel
    _surface_panel().close()


def _opened_by(make):
    """(result of make(), ids of the widgets it registered)."""
    before = set(_instances)
    made = make()
    return made, set(_instances) - before


def test_close_closes_every_widget_a_surface_panel_made():
    panel, made = _opened_by(_surface_panel)
    assert len(made) > 50  # boxes, sliders, layouts, styles, four figures
    figure = panel.figures["surface"]
    assert figure.comm is not None
    panel.close()
    assert not made & set(_instances), [
        type(_instances[k]).__name__ for k in made & set(_instances)
    ]
    assert panel.comm is None and figure.comm is None
    panel.close()  # twice is fine


def test_close_stops_a_model_panel_training_and_closes_its_widgets():
    panel, made = _opened_by(lambda: adaviz.ModelPanel(data="moons", seed=0))
    panel.play()  # a thread (no event loop here)
    assert panel.playing
    panel.close()
    assert not panel.playing
    steps = panel.steps
    assert not made & set(_instances), [
        type(_instances[k]).__name__ for k in made & set(_instances)
    ]
    assert panel.steps == steps


@pytest.mark.parametrize("make", ["SweepPanel", "ComparePanel"])
def test_close_closes_the_widget_tree_of_the_other_panels(make):
    kwargs = {"ComparePanel": {"steps": 50}, "SweepPanel": {"steps": 50, "resolution": 5}}[make]
    panel = getattr(adaviz, make)("rosenbrock", precompile=False, **kwargs)
    found, _ = lifecycle.owned_widgets(panel)
    figures = list(panel.figures.values())
    assert figures and all(f in found for f in figures)
    panel.close()
    assert all(w.comm is None for w in found) and panel.comm is None


def test_a_rerun_of_a_cell_closes_the_panels_of_its_earlier_run_only():
    first, second = _surface_panel(), _surface_panel()  # one run making two panels
    assert lifecycle.adopt(first, cell=("cell-a", "run-1")) == []
    assert lifecycle.adopt(second, cell=("cell-a", "run-1")) == []
    other = _surface_panel()
    assert lifecycle.adopt(other, cell=("cell-b", "run-2")) == []
    assert first.comm is not None and second.comm is not None  # same run: both live

    again = _surface_panel()
    closed = lifecycle.adopt(again, cell=("cell-a", "run-3"))
    assert closed == [first, second]
    assert first.comm is None and second.comm is None
    assert again.comm is not None and other.comm is not None  # the new one, another cell's
    # nothing in the kit keeps the closed panels: they can be garbage-collected
    refs = [weakref.ref(first), weakref.ref(second)]
    del first, second, closed
    gc.collect()
    assert [r() for r in refs] == [None, None]
    for panel in (again, other):
        panel.close()


def test_outside_a_notebook_cell_nothing_is_replaced():
    assert lifecycle.current_cell() is None  # pytest: no kernel
    panels = [_surface_panel(), _surface_panel()]
    assert all(p.comm is not None for p in panels)
    for panel in panels:
        panel.close()


@pytest.mark.subprocess
def test_rerunning_a_cell_in_a_real_kernel_lets_the_old_panels_go():
    """As JupyterLab runs a cell: an execute request whose metadata names the cell."""
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3", cwd=str(Path(__file__).resolve().parents[3]))

    def run(code, cell=None, value=None):
        content = {
            "code": code,
            "silent": False,
            "store_history": True,
            "user_expressions": {"value": value} if value else {},
            "allow_stdin": False,
            "stop_on_error": True,
        }
        metadata = {"cellId": cell} if cell else {}
        msg = kc.session.msg("execute_request", content, metadata=metadata)
        kc.shell_channel.send(msg)
        while True:
            reply = kc.get_shell_msg(timeout=180)
            if reply["parent_header"].get("msg_id") == msg["header"]["msg_id"]:
                break
        assert reply["content"]["status"] == "ok", reply["content"]
        if value:
            result = reply["content"]["user_expressions"]["value"]
            assert result["status"] == "ok", result
            return ast.literal_eval(result["data"]["text/plain"])
        return None

    panel_cell = (
        'p = adaviz.SurfacePanel("rosenbrock", steps=100, precompile=False)\n'
        "refs.append(weakref.ref(p))\n"
        "p"  # displayed: IPython's output cache holds it (Out[n], _)
    )
    count = "(gc.collect(), len(_instances))[1]"
    try:
        run(
            "import gc, weakref\nimport adaviz\n"
            "from ipywidgets.widgets.widget import _instances\nrefs = []",
            cell="setup",
        )
        assert run("from adaviz.panels.kit import lifecycle", cell="probe", value=(
            "lifecycle.current_cell()[0]"
        )) == "probe"  # fmt: skip
        run(panel_cell, cell="panel")
        one = run("", cell="count-1", value=count)
        run('q = adaviz.SurfacePanel("himmelblau", steps=100, precompile=False)\nq', cell="other")
        two = run("", cell="count-2", value=count)
        for _ in range(4):
            run(panel_cell, cell="panel")
        alive = run("", cell="check", value="(gc.collect(), [r() is not None for r in refs])[1]")
        assert alive == [False, False, False, False, True]
        assert run("", cell="check-2", value="(q.comm is not None, p.comm is not None)") == (
            True,
            True,
        )
        assert run("", cell="count-3", value=count) == two  # two panels' widgets, as before
        assert two > one
        # without a cell id (a front end that sends none) nothing is replaced
        run(panel_cell)
        run(panel_cell)
        alive = run("", cell="check-3", value="(gc.collect(), [r() is not None for r in refs])[1]")
        assert alive[-3:] == [True, True, True]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
