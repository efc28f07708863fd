"""The gradient-noise controls of SurfacePanel and SweepPanel, moved in a real JupyterLab.

One JupyterLab serves both tests (a notebook each, so a kernel each). In Chromium the noise
slider is moved with the keyboard and the seed (SurfacePanel) or the seeds per cell
(SweepPanel) set as a user would; then the figures' data in the page are checked against
float64 runs made here, in the test's own process:

- SurfacePanel: the drawn path, accumulators and loss are the run
  ``adaviz.simulate(..., noise=sigma, seed=seed, dtype="float64")`` gives for the sigma and
  seed the page shows (the panel runs in float32: within 1e-4);
- SweepPanel: each cell of the map is the mean, over seeds 0 .. K-1, of the final loss of
  that cell's float64 ``simulate`` runs (within 1e-4 relative), not seed 0's alone.
"""

from __future__ import annotations

import json

import browser_harness as bh
import numpy as np
import pytest
import test_browser
import test_browser_compare_echo as echo

import adaviz

pytestmark = pytest.mark.browser


SURFACE = "surface_noise.ipynb"
SWEEP = "sweep_noise.ipynb"
STEPS = 300
SURFACE_SETTINGS = dict(lr=1.0, rho=0.95, epsilon=1e-6, decay=0.0)
# a tame corner of booth's rho x epsilon plane: every cell converges under the noise, so
# float32 (the panel) and float64 (the oracle) agree to 1e-5 in every cell
EPSILON = np.logspace(-8, -2, 12)
RHO = np.linspace(0.8, 0.99, 12)
CELLS = {
    SURFACE: [
        "import adaviz\n"
        f"panel = adaviz.SurfacePanel('rosenbrock', steps={STEPS}, "
        + ", ".join(f"{k}={v!r}" for k, v in SURFACE_SETTINGS.items())
        + ")\npanel"
    ],
    SWEEP: [
        "import adaviz, numpy as np\n"
        "panel = adaviz.SweepPanel('booth', steps=200, lr=1.0, decay=0.0,\n"
        "                          epsilon=np.logspace(-8, -2, 12), rho=np.linspace(0.8, 0.99, 12))\n"
        "panel"
    ],
}
TOLERANCE = 1e-4

# the figure data plotly.js holds, by trace name, in the plots under `root`
TRACES_JS = """([root, names]) => {
  const out = {};
  for (const gd of document.querySelectorAll(root + ' .js-plotly-plot')) {
    for (const trace of gd.data || []) {
      if (!names.includes(trace.name)) continue;
      const plain = (v) => (v && typeof v === 'object' ? Array.from(v, plain) : v);
      out[trace.name] = {x: plain(trace.x), y: plain(trace.y), z: plain(trace.z),
                         customdata: plain(trace.customdata)};
    }
  }
  return out;
}"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """One JupyterLab over the two notebooks, for the module (each test opens its notebook
    in a workspace of its own, so the other's tab is not restored beside it)."""
    reason = bh.browser_missing_reason()
    if reason:
        pytest.skip(reason)  # (the playwright fixture fails instead under CI=true)
    root = tmp_path_factory.mktemp("noise")
    (root / "notebooks").mkdir()
    for name, cells in CELLS.items():
        (root / "notebooks" / name).write_text(json.dumps(echo.notebook(cells)))
    with bh.jupyter_lab(root / "notebooks", root / "lab") as server:
        yield server


def press(page, handle, key, times):
    """Press ``key`` ``times`` times on a slider's handle, the kernel idle after each."""
    page.focus(handle)
    for _ in range(times):
        page.keyboard.press(key)
        page.wait_for_timeout(100)


def settled(page, server):
    """The kernel idle and the panel's plots unchanged for 800 ms."""
    bh.wait_kernels_idle(server)
    bh.install_page_js(page)
    page.evaluate("r => window.__adaviz.arm(r, 'trajectory')", ".jp-NotebookPanel")
    bh.wait_quiet(page, 800)
    bh.wait_kernels_idle(server)


def wait_text(page, selector, text, timeout=bh.KERNEL_RUN_TIMEOUT):
    """Wait until the element ``selector`` (a readout the kernel writes) contains ``text``."""
    page.wait_for_function(
        "([sel, text]) => (document.querySelector(sel) || {}).textContent.includes(text)",
        arg=[selector, text],
        timeout=timeout * 1000,
        polling=250,
    )


def traces(page, root, names):
    return page.evaluate(TRACES_JS, [root, list(names)])


def readout(page, root, name):
    return page.inner_text(f"{root} .adaviz-{name} .widget-readout").strip()


def test_surface_panel_noise_and_seed_redraw_the_run_simulate_gives(page, lab):
    root = bh.PANEL
    with test_browser.screenshot_on_failure(page, "lab-surface-noise", lab):
        bh.open_lab_notebook(page, lab, SURFACE, path="lab/workspaces/surface/tree")
        echo.run_cell(page, lab, 0)
        assert bh.wait_plots_rendered(page, root, 4) >= 4
        bh.wait_trajectory(page)
        assert readout(page, root, "noise") == "0 (off)"
        # 13 presses: from 0 (off) over 1e-3 ... to 1 (four values a decade)
        press(page, f"{root} .adaviz-noise .noUi-handle", "ArrowRight", 13)
        seed_box = page.locator(f"{root} .adaviz-seed input").first
        seed_box.fill("7")
        seed_box.press("Enter")
        wait_text(page, f"{root} .adaviz-readouts", "σ = 1 (seed 7)")
        settled(page, lab)
        sigma = float(readout(page, root, "noise"))
        seed = int(seed_box.input_value())
        names = ["trajectory", "E[g²] x", "E[Δx²] y", "loss"]
        drawn = traces(page, root, names)
        bh.screenshot(page, "lab-surface-noise")
        assert not page.adaviz_errors, f"JavaScript errors: {page.adaviz_errors}"

    assert (sigma, seed) == (1.0, 7)
    run = adaviz.simulate("rosenbrock", steps=STEPS, noise=sigma, seed=seed, dtype="float64",
                          **SURFACE_SETTINGS)  # fmt: skip
    assert run.diverged_at[0] < 0
    positions = run.positions[:, 0, :]
    path = np.column_stack([drawn["trajectory"]["x"], drawn["trajectory"]["y"]])
    assert path.shape == positions.shape
    np.testing.assert_allclose(path, positions, rtol=TOLERANCE, atol=TOLERANCE)
    np.testing.assert_allclose(drawn["E[g²] x"]["y"], run.accum_grad[:, 0, 0], rtol=TOLERANCE)
    np.testing.assert_allclose(drawn["E[Δx²] y"]["y"], run.accum_delta[:, 0, 1], rtol=TOLERANCE)
    gap = run.loss[:, 0] - adaviz.surfaces.get("rosenbrock").min_value
    np.testing.assert_allclose(drawn["loss"]["y"], gap, rtol=TOLERANCE, atol=1e-12)
    # the seed and the noise matter: another seed, or none, is another path
    for other in (dict(noise=sigma, seed=0), dict(noise=0.0)):
        elsewhere = adaviz.simulate("rosenbrock", steps=STEPS, dtype="float64", **other,
                                    **SURFACE_SETTINGS)  # fmt: skip
        assert np.abs(elsewhere.positions[:, 0, :] - positions).max() > 100 * TOLERANCE, other


def test_sweep_panel_with_noise_shows_the_mean_over_seeds(page, lab):
    root = ".adaviz-sweep-panel"
    with test_browser.screenshot_on_failure(page, "lab-sweep-noise", lab):
        bh.open_lab_notebook(page, lab, SWEEP, path="lab/workspaces/sweep/tree")
        echo.run_cell(page, lab, 0)
        assert bh.wait_plots_rendered(page, root, 1) >= 1
        press(page, f"{root} .adaviz-noise .noUi-handle", "ArrowRight", 13)
        press(page, f"{root} .adaviz-seeds .noUi-handle", "ArrowRight", 2)
        wait_text(page, f"{root} .adaviz-readouts", "mean over 3 seeds")
        settled(page, lab)
        sigma = float(readout(page, root, "noise"))
        seeds = int(readout(page, root, "seeds"))
        text = page.inner_text(f"{root} .adaviz-readouts")
        heatmap = traces(page, root, ["metric"])["metric"]
        bh.screenshot(page, "lab-sweep-noise")
        assert not page.adaviz_errors, f"JavaScript errors: {page.adaviz_errors}"

    assert (sigma, seeds) == (1.0, 3)
    assert f"mean over {seeds} seeds" in text, text
    epsilon, rho = np.asarray(heatmap["x"]), np.asarray(heatmap["y"])
    np.testing.assert_allclose(epsilon, EPSILON, rtol=1e-12)
    np.testing.assert_allclose(rho, RHO, rtol=1e-12)
    shown = np.array(heatmap["customdata"], dtype=float)  # rows: rho, columns: epsilon
    grid_eps, grid_rho = np.meshgrid(epsilon, rho)
    cells = grid_eps.size
    runs = adaviz.simulate(
        "booth", steps=200, lr=1.0, decay=0.0, dtype="float64", noise=sigma,
        epsilon=np.tile(grid_eps.ravel(), seeds), rho=np.tile(grid_rho.ravel(), seeds),
        seed=np.repeat(np.arange(seeds), cells),
    )  # fmt: skip
    final = runs.loss[-1].reshape(seeds, *grid_eps.shape)
    assert np.isfinite(final).all()
    np.testing.assert_allclose(shown, final.mean(axis=0), rtol=TOLERANCE)
    # not seed 0's map: where the noise moves the runs (the larger epsilon), far from it
    apart = np.max(np.abs(final[0] - shown) / shown)
    assert apart > 100 * TOLERANCE, f"seed 0's map is within {apart:.2g} of the one shown"
