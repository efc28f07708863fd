"""A move drawn without ``Plotly.animate`` draws what plotly draws from the same figure.

The figure module applies a redraw-free move (``adaviz-move``) to plotly.js's derived
traces directly (``direct`` in ``adaviz/panels/kit/widget.py``), skipping the re-derivation of
the whole figure that ``Plotly.animate`` starts with. In a real JupyterLab + Chromium: a
SurfacePanel's rho slider is moved by key presses; every move takes the direct path (or,
with ``ADAVIZ_PLOTLY_FALLBACK=direct``, ``Plotly.animate``); then each plot's input data
must be the kernel's figure, and every drawn line, marker and hover point, the order
the traces are stacked in, the legend, the axes and the cursor line must equal what
plotly.js draws when it derives and draws the whole figure again from that input.

Then rho is set to 0.995 and key presses cross into divergence (at 1.0 the path stops at
its start: the end marker's legend name changes, the line views' step range shrinks) and
out of it again. Each of those presses stays a move in every plot, the legend name, axis
ranges and cursor riding along in the same message, and draws what plotly draws.
"""

from __future__ import annotations

import json
import re

import browser_harness as bh
import pytest
import test_browser
import test_browser_compare_echo as echo

pytestmark = pytest.mark.browser


NAME = "moves.ipynb"
CELLS = [
    """import adaviz
panel = adaviz.SurfacePanel(steps=300)
# edits plotly's front end reports back (a move's riding edits must not be)
reports = []
for fig in panel.figures.values():
    fig.observe(lambda change: change["new"] and reports.append(change["name"]),
                names=["_js2py_relayout", "_js2py_update", "_js2py_restyle"])
panel""",
    """import json
fig = panel.figures["surface"]
names = [t.name for t in fig.data]
path, label = fig.data[names.index("trajectory")], fig.data[names.index("end label")]
print("KERNEL", json.dumps([len(path.x), float(path.x[-1]), float(path.y[-1]), label.text[0],
                           reports]))""",
    'panel.controls["rho"].value = 0.995',
]
# key presses from rho 0.995, one slider step each: into divergence (1.0), out, in again
CROSSING = ["ArrowRight", "ArrowLeft", "ArrowRight"]
DIVERGED = "last point before<br>divergence (step 0)"

# What is drawn in a plot: every scatter trace's name, in the order drawn, with its path
# and point positions; the points hover would report; the legend's entries; the axes'
# ranges and tick labels; the shapes (the playback cursor line).
DRAWN = """(gd) => ({
    svg: [...gd.querySelectorAll('.scatterlayer .trace')].map((t) => [gd._fullData.find((d) => t.classList.contains('trace' + d.uid)).name,
      ...[...t.querySelectorAll('path.js-line')].map((p) => p.getAttribute('d')),
      ...[...t.querySelectorAll('path.point')].map((p) => p.getAttribute('transform')),
      ...[...t.querySelectorAll('.textpoint text')].map((e) => [e.textContent, e.getAttribute('x'),
                                                                e.getAttribute('y')].join(' ')),
    ]),
    hover: gd.calcdata.map((cd) => cd.map((p) => [p.x, p.y])),
    legend: [...gd.querySelectorAll('.legend .legendtext')].map((t) => t.textContent),
    ranges: [gd._fullLayout.xaxis.range, gd._fullLayout.yaxis.range],
    ticks: [...gd.querySelectorAll('.xtick text, .ytick text')].map((t) => t.textContent),
    shapes: [...gd.querySelectorAll('.shapelayer path')].map((p) => p.getAttribute('d')),
  })"""

# Each plot of the panel: the move counts, the contour's trajectory input and end label's
# text, and what is drawn.
DRAWN_JS = f"""() => {{
  const drawn = {DRAWN};
  const gds = [...document.querySelectorAll('.adaviz-surface-panel .js-plotly-plot')];
  const slot = Object.entries(globalThis).find(([k]) => k.startsWith('__adaviz_plotly_'));
  const data = gds[0].data;
  const trajectory = data.find((t) => t.name === 'trajectory');
  const label = data.find((t) => t.name === 'end label');
  return {{
    moves: slot ? Object.assign({{}}, slot[1].moves) : null,
    trajectory: [trajectory.x.length, trajectory.x[trajectory.x.length - 1],
                 trajectory.y[trajectory.y.length - 1], label.text[0]],
    before: gds.map(drawn),
  }};
}}"""

# plotly.js derives every trace again from the input and redraws all of it
REDRAW_JS = f"""async () => {{
  const drawn = {DRAWN};
  const gds = [...document.querySelectorAll('.adaviz-surface-panel .js-plotly-plot')];
  const out = [];
  for (const gd of gds) {{
    const data = gd.data.map((t) => Object.assign({{}}, t, {{
      x: t.x && Array.from(t.x), y: t.y && Array.from(t.y)}}));
    await window.Plotly.react(gd, data, gd.layout);
    out.push(drawn(gd));
  }}
  return out;
}}"""


def settle_and_compare(page, server):
    """(the plots' state, the kernel's figure, plotly.js's full redraw of the same input)."""
    bh.wait_kernels_idle(server)
    bh.wait_quiet(page, 500)
    state = page.evaluate(DRAWN_JS)
    echo.run_cell(page, server, 1)
    out = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output")
    kernel = json.loads(re.search(r"KERNEL (\[.*\])", out.last.inner_text()).group(1))
    redrawn = page.evaluate(REDRAW_JS)
    return state, kernel, redrawn


def check(state, kernel, redrawn, moves, direct, presses):
    """Every plot moved on every press (a full update is not counted as a move), each by
    the path this run is about; the browser's input is the kernel's figure; what is drawn
    is what plotly.js draws from that input."""
    if direct:
        assert moves["animate"] == 0 and moves["direct"] >= 4 * presses, moves
    else:
        assert moves["direct"] == 0 and moves["animate"] >= 4 * presses, moves
    assert state["trajectory"][0] == kernel[0]
    assert state["trajectory"][1:3] == pytest.approx(kernel[1:3], rel=1e-12, abs=1e-12)
    assert state["trajectory"][3] == kernel[3]
    assert kernel[4] == [], kernel[4]  # no edit of a move came back as the user's
    assert len(redrawn) == len(state["before"]) == test_browser.SURFACE_PANEL_FIGURES
    for k, (was, now) in enumerate(zip(state["before"], redrawn, strict=True)):
        assert was["hover"] == now["hover"], f"plot {k}: hover points differ"
        assert was["svg"] == now["svg"], f"plot {k}: drawn traces differ"
        for part in ("legend", "ranges", "ticks", "shapes"):
            assert was[part] == now[part], f"plot {k}: {part} differ"


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "plotly-animate"])
def test_a_move_draws_what_plotly_draws_from_the_same_figure(page, tmp_path, direct):
    root = tmp_path / "root"
    root.mkdir()
    (root / NAME).write_text(json.dumps(echo.notebook(CELLS)))
    env = {} if direct else {"ADAVIZ_PLOTLY_FALLBACK": "direct"}
    with bh.jupyter_lab(root, tmp_path / "lab", extra_env=env) as server:
        with test_browser.screenshot_on_failure(page, "lab-moves", server):
            bh.open_lab_notebook(page, server, NAME)
            echo.run_cell(page, server, 0)
            bh.wait_trajectory(page)
            bh.wait_quiet(page, 500)
            for _ in range(4):
                result, before = bh.press_and_measure(page, "ArrowLeft")
                assert result["latency"] is not None, "the trajectory did not change"
                bh.wait_quiet(page, 300)
            pressed = settle_and_compare(page, server)
            echo.run_cell(page, server, 2)  # rho 0.995: the next press diverges
            bh.wait_quiet(page, 500)
            start = page.evaluate(DRAWN_JS)["moves"]
            names = []
            for key in CROSSING:
                result, before = bh.press_and_measure(page, key)
                assert result["latency"] is not None, f"{key}: the trajectory did not change"
                bh.wait_quiet(page, 300)
                names.append(page.evaluate(DRAWN_JS)["trajectory"][3])
            crossed = settle_and_compare(page, server)
            assert not page.adaviz_errors, f"JavaScript errors: {page.adaviz_errors}"
    state, kernel, redrawn = pressed
    print(f"\nmoves: {state['moves']}; trajectory in the browser {state['trajectory']}, "
          f"kernel {kernel}")  # fmt: skip
    check(state, kernel, redrawn, state["moves"], direct, 4)

    state, kernel, redrawn = crossed
    moves = {kind: state["moves"][kind] - start[kind] for kind in start}
    print(f"crossing divergence: moves {moves}; end labels {names}")
    assert names == [DIVERGED, " ", DIVERGED]
    assert kernel[0] == 1 and kernel[3] == DIVERGED  # the path stops at its start
    check(state, kernel, redrawn, moves, direct, len(CROSSING))
    # the label is drawn beside the end point (one text line per <br> part); the legend
    # does not change
    (label,) = [t for t in state["before"][0]["svg"] if t[0] == "end label"]
    assert any(part.startswith("last point beforedivergence (step 0) ") for part in label), label
    assert "end" in state["before"][0]["legend"]
