"""A move drawn without ``Plotly.animate`` draws what plotly draws from the same figure.

The figure module applies a redraw-free move (``adaviz-move``) to plotly.js's derived
traces directly (``direct`` in ``adaviz/panels/kit/widget.py``), skipping the re-derivation of
the whole figure that ``Plotly.animate`` starts with. In a real JupyterLab + Chromium: a
SurfacePanel's rho slider is moved by key presses; every move takes the direct path (or,
with ``ADAVIZ_PLOTLY_FALLBACK=direct``, ``Plotly.animate``); then each plot's input data
must be the kernel's figure, and every drawn line, marker and hover point, and the order
the traces are stacked in, must equal what plotly.js draws when it derives and draws the
whole figure again from that input.
"""

from __future__ import annotations

import json
import re

import browser_harness as bh
import pytest
import test_browser
import test_browser_compare_echo as echo

pytestmark = pytest.mark.browser

playwright = test_browser.playwright
page = test_browser.page

NAME = "moves.ipynb"
CELLS = [
    "import adaviz\npanel = adaviz.SurfacePanel(steps=300)\npanel",
    """import json
fig = panel.figures["surface"]
path = fig.data[[t.name for t in fig.data].index("trajectory")]
print("KERNEL", json.dumps([len(path.x), float(path.x[-1]), float(path.y[-1])]))""",
]

# Each plot of the panel: its move counts, its trajectory input, and what is drawn (every
# scatter trace's name, in the order drawn, with its path and point positions, and the
# points hover would report).
DRAWN_JS = """() => {
  const drawn = (gd) => ({
    svg: [...gd.querySelectorAll('.scatterlayer .trace')].map((t) => [gd._fullData.find((d) => t.classList.contains('trace' + d.uid)).name,
      ...[...t.querySelectorAll('path.js-line')].map((p) => p.getAttribute('d')),
      ...[...t.querySelectorAll('path.point')].map((p) => p.getAttribute('transform')),
    ]),
    hover: gd.calcdata.map((cd) => cd.map((p) => [p.x, p.y])),
  });
  const gds = [...document.querySelectorAll('.adaviz-surface-panel .js-plotly-plot')];
  const slot = Object.entries(globalThis).find(([k]) => k.startsWith('__adaviz_plotly_'));
  const trajectory = gds[0].data.find((t) => t.name === 'trajectory');
  return {
    moves: slot ? slot[1].moves : null,
    trajectory: [trajectory.x.length, trajectory.x[trajectory.x.length - 1],
                 trajectory.y[trajectory.y.length - 1]],
    before: gds.map(drawn),
  };
}"""

# plotly.js derives every trace again from the input and redraws all of it
REDRAW_JS = """async () => {
  const gds = [...document.querySelectorAll('.adaviz-surface-panel .js-plotly-plot')];
  const out = [];
  for (const gd of gds) {
    const data = gd.data.map((t) => Object.assign({}, t, {
      x: t.x && Array.from(t.x), y: t.y && Array.from(t.y)}));
    await window.Plotly.react(gd, data, gd.layout);
    out.push({
      svg: [...gd.querySelectorAll('.scatterlayer .trace')].map((t) => [gd._fullData.find((d) => t.classList.contains('trace' + d.uid)).name,
        ...[...t.querySelectorAll('path.js-line')].map((p) => p.getAttribute('d')),
        ...[...t.querySelectorAll('path.point')].map((p) => p.getAttribute('transform')),
      ]),
      hover: gd.calcdata.map((cd) => cd.map((p) => [p.x, p.y])),
    });
  }
  return out;
}"""


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
            bh.wait_kernels_idle(server)
            bh.wait_quiet(page, 500)
            state = page.evaluate(DRAWN_JS)
            echo.run_cell(page, server, 1)
            out = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output")
            kernel = json.loads(re.search(r"KERNEL (\[.*\])", out.last.inner_text()).group(1))
            redrawn = page.evaluate(REDRAW_JS)
            assert not page.adaviz_errors, f"JavaScript errors: {page.adaviz_errors}"
    moves = state["moves"]
    print(f"\nmoves: {moves}; trajectory in the browser {state['trajectory']}, kernel {kernel}")
    # every plot moved on every press, each by the path this run is about
    if direct:
        assert moves["animate"] == 0 and moves["direct"] >= 4 * 4, moves
    else:
        assert moves["direct"] == 0 and moves["animate"] >= 4 * 4, moves
    # the browser's input is the kernel's figure
    assert state["trajectory"][0] == kernel[0]
    assert state["trajectory"][1:] == pytest.approx(kernel[1:], rel=1e-12, abs=1e-12)
    assert len(redrawn) == len(state["before"]) == test_browser.SURFACE_PANEL_FIGURES
    for k, (was, now) in enumerate(zip(state["before"], redrawn, strict=True)):
        assert was["hover"] == now["hover"], f"plot {k}: hover points differ"
        assert was["svg"] == now["svg"], f"plot {k}: drawn traces differ"
