"""The hyperparameter notebooks in a real browser: ComparePanel and SweepPanel in JupyterLab,
and the compare dashboard in Voila.

Like ``tests/browser/test_browser.py`` (the fixtures are in ``tests/browser/conftest.py``):
each test starts its own server on a free localhost port over a temporary copy of
``notebooks/``, stops it afterwards, and saves screenshots to ``test-artifacts/`` (the
README's pictures of the two panels are ``test-artifacts/compare_panel.png`` and
``test-artifacts/sweep_panel.png``). Paths are compared in screen pixels, as the browser
drew them: the ``d`` attribute of each named trace's SVG path, read as a polyline.
"""

from __future__ import annotations

import re
import shutil
import time

import browser_harness as bh
import numpy as np
import pytest
from test_browser import NOTEBOOKS, screenshot_on_failure

pytestmark = pytest.mark.browser

COMPARE = "05_compare_optimizers.ipynb"
SWEEPS = "06_sweeps.ipynb"
DASHBOARD = "dashboard_compare.ipynb"
COMPARE_PANEL = ".adaviz-compare-panel"
COMPARE_CONTOUR = f"{COMPARE_PANEL} .adaviz-figure-surface"
LOSS_SCALE_HANDLE = f"{COMPARE_PANEL} .adaviz-loss-scale .noUi-handle"
COMPARE_FIGURES = 4  # surface, loss, step_size, sensitivity
# after a drag, seconds for the kernel to draw the last value (it may be compiling the
# other surfaces in the background, on a busy 2-core machine)
KERNEL_CATCH_UP = 180.0


@pytest.fixture
def root_dir(tmp_path):
    """A temporary copy of ``notebooks/`` (the servers write checkpoints and state)."""
    root = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return root


def need(name):
    if not (NOTEBOOKS / name).is_file():
        pytest.fail(f"notebooks/{name} is missing; the browser test opens it")


def polyline(d):
    """The vertices of an SVG path ``d`` made of M/L commands, as an (n, 2) array of pixels."""
    assert d and d[0] == "M", f"not a drawn path: {d!r:.80}"
    numbers = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", d)]
    return np.asarray(numbers).reshape(-1, 2)


def _to_segments(points, polyline_points):
    """Distance from each point to the nearest segment of the polyline (pixels)."""
    a, b = polyline_points[:-1], polyline_points[1:]
    if len(a) == 0:
        return np.linalg.norm(points - polyline_points[0], axis=-1)
    ab = b - a
    length2 = np.maximum((ab**2).sum(-1), 1e-12)
    t = np.clip(((points[:, None, :] - a[None]) * ab[None]).sum(-1) / length2, 0.0, 1.0)
    nearest = a[None] + t[..., None] * ab[None]
    return np.linalg.norm(points[:, None, :] - nearest, axis=-1).min(axis=1)


def path_distance(d0, d1):
    """Largest distance in pixels between two drawn paths (Hausdorff, vertices to segments).

    plotly simplifies lines (drops nearly collinear vertices), so two drawings of almost the
    same path can have different vertices; measuring to the other path's segments is immune.
    """
    p0, p1 = polyline(d0), polyline(d1)
    return max(_to_segments(p0, p1).max(), _to_segments(p1, p0).max())


def wait_path(page, root, name):
    """Wait until trace ``name`` under ``root`` has a drawn path; return its ``d``."""
    return bh.wait_trajectory(page, root=root, name=name)


def drag_by_fraction(page, handle, fraction):
    """Drag a slider handle with the mouse by ``fraction`` of its track (negative: left)."""
    knob = page.locator(handle).first
    knob.scroll_into_view_if_needed()
    track = knob.locator("xpath=ancestor::*[contains(@class, 'noUi-target')][1]")
    bh.drag(page, handle, fraction * track.bounding_box()["width"])


def wait_settled(page, root, names, quiet=1.5, timeout=KERNEL_CATCH_UP):
    """Wait until the paths ``names`` under ``root`` have not changed for ``quiet`` seconds."""
    deadline = time.monotonic() + timeout
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        now = [bh.trajectory_d(page, root, name) for name in names]
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return now
        page.wait_for_timeout(100)
    raise AssertionError(f"the paths {names} kept changing for {timeout:.0f} s")


def wait_table_scale(page, k, timeout=KERNEL_CATCH_UP):
    """Wait until the panel's table (drawn by the kernel) is for the loss x 10^k."""
    page.wait_for_function(
        r"""([sel, k]) => {
          const t = document.querySelector(sel);
          const m = t && t.textContent.match(/loss × ([0-9.e+-]+)\)/);
          return m && Math.abs(Math.log10(parseFloat(m[1])) - k) < 0.01;
        }""",
        arg=[f"{COMPARE_PANEL} .adaviz-readouts", k],
        timeout=timeout * 1000,
        polling=250,
    )


def check_loss_scale_drag(page):
    """A drag of the loss-scale slider moves SGD's path and leaves Adadelta's in place."""
    panel = page.locator(COMPARE_PANEL).first
    panel.wait_for(state="attached", timeout=bh.RENDER_TIMEOUT * 1000)
    panel.scroll_into_view_if_needed()
    rendered = bh.wait_plots_rendered(page, COMPARE_PANEL, COMPARE_FIGURES)
    assert rendered >= COMPARE_FIGURES, f"only {rendered} ComparePanel figures drew SVG"
    wait_path(page, COMPARE_CONTOUR, "adadelta")
    wait_path(page, COMPARE_CONTOUR, "sgd")
    readout = f"{COMPARE_PANEL} .adaviz-loss-scale .widget-readout"
    # the notebook leaves the slider at k = 0 (the loss as it is)
    page.wait_for_function(
        "sel => parseFloat(document.querySelector(sel).textContent) === 0",
        arg=readout,
        timeout=bh.CHANGE_TIMEOUT * 1000,
        polling=250,
    )
    _, sgd0 = wait_settled(page, COMPARE_CONTOUR, ["adadelta", "sgd"])
    bh.screenshot(page, "lab-05-before-loss-scale-drag")

    drag_by_fraction(page, LOSS_SCALE_HANDLE, -0.25)  # k from 0 to about -1.5: the loss / 30
    k = float(page.inner_text(readout).strip().replace("\u2212", "-"))
    # the kernel may still be compiling the other surfaces in the background: give it time
    assert -2.5 <= k <= -0.5, f"the drag left the loss-scale exponent at {k}"
    wait_table_scale(page, k)
    names = ["adadelta", "adadelta at k = 0", "sgd", "sgd at k = 0"]
    adadelta1, adadelta_k0, sgd1, sgd_k0 = wait_settled(page, COMPARE_CONTOUR, names)
    assert sgd1 != sgd0, "SGD's path did not change after the drag"
    # each path against its own k = 0 ghost, drawn in the same frame with the same settings
    sgd_moved = path_distance(sgd_k0, sgd1)
    adadelta_moved = path_distance(adadelta_k0, adadelta1)
    bh.screenshot(page, "lab-05-after-loss-scale-drag")
    assert sgd_moved > 20, f"SGD's path moved only {sgd_moved:.1f} px for loss x 10^{k}"
    assert adadelta_moved < 2, f"Adadelta's path moved {adadelta_moved:.1f} px for loss x 10^{k}"
    return k, sgd_moved, adadelta_moved


def test_compare_notebook_in_jupyterlab(page, root_dir, tmp_path):
    need(COMPARE)
    bh.ARTIFACTS.mkdir(exist_ok=True)
    with bh.jupyter_lab(root_dir, tmp_path / "lab") as server:
        with screenshot_on_failure(page, "lab-05_compare", server):
            bh.open_lab_notebook(page, server, COMPARE)
            bh.run_all_cells(page, server, COMPARE)
            check_loss_scale_drag(page)
            assert not page.adaviz_errors, f"JavaScript errors: {page.adaviz_errors}"


SWEEP_PANEL = ".adaviz-sweep-panel"
SWEEP_HEATMAP = f"{SWEEP_PANEL} .adaviz-figure-heatmap"
SWEEP_CONTOUR = f"{SWEEP_PANEL} .adaviz-figure-surface"
SWEEP_FIGURES = 4  # heatmap, surface, accumulators, step_size
SELECTED = re.compile(r"selected \((\d+), (\d+)\)")


def selected_cell(page):
    """The (i, j) the SweepPanel's readout names as selected, or None."""
    match = SELECTED.search(page.inner_text(f"{SWEEP_PANEL} .adaviz-readouts"))
    return (int(match.group(1)), int(match.group(2))) if match else None


NOTEBOOK_SELECT = re.compile(r"cell \((\d+), (\d+)\): rho [^;]*; left the bounds")


def notebook_selection(page):
    """The cell 06's ``panel.select(i, j)`` chose, read from the line it prints."""
    # textContent, not innerText: it holds off-screen cells too
    text = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook").first.text_content()
    match = NOTEBOOK_SELECT.search(text)
    assert match, "06 printed no 'cell (i, j): rho ...' line for its panel.select"
    return int(match.group(1)), int(match.group(2))


def check_heatmap_click(page, fx=0.3, fy=0.3, cells=64, notebook_cell=None):
    """The heatmap is drawn; a click on a cell selects it and draws that cell's path.

    ``notebook_cell``: the (i, j) the notebook's own code selected, if it did."""
    panel = page.locator(SWEEP_PANEL).first
    panel.wait_for(state="attached", timeout=bh.RENDER_TIMEOUT * 1000)
    panel.scroll_into_view_if_needed()
    rendered = bh.wait_plots_rendered(page, SWEEP_PANEL, SWEEP_FIGURES)
    assert rendered >= SWEEP_FIGURES, f"only {rendered} SweepPanel figures drew SVG"
    # plotly draws a heatmap as one raster <image> of its cells
    page.wait_for_function(
        """sel => { const im = document.querySelector(sel + ' g.heatmaplayer image');
                    return im && (im.getAttribute('href') || '').length > 1000; }""",
        arg=SWEEP_HEATMAP,
        timeout=bh.RENDER_TIMEOUT * 1000,
        polling=250,
    )
    if notebook_cell is not None:
        # the notebook selects a cell itself (panel.select): the readout says so before the
        # click, or that selection could land after the click and be taken for it
        deadline = time.monotonic() + KERNEL_CATCH_UP
        while time.monotonic() < deadline and selected_cell(page) != notebook_cell:
            page.wait_for_timeout(200)
        assert selected_cell(page) == notebook_cell, (
            f"the readout shows {selected_cell(page)}, not the notebook's {notebook_cell}"
        )
    before_cell = selected_cell(page)
    before = bh.trajectory_d(page, SWEEP_CONTOUR, "trajectory")

    plane = page.locator(f"{SWEEP_HEATMAP} .nsewdrag").first
    plane.scroll_into_view_if_needed()
    # outputs above may still be growing (a busy machine): click only once the map stays put
    box, deadline = None, time.monotonic() + KERNEL_CATCH_UP
    while time.monotonic() < deadline:
        page.wait_for_timeout(500)
        plane.scroll_into_view_if_needed()
        now = plane.bounding_box()
        if now == box:
            break
        box = now
    x, y = box["x"] + fx * box["width"], box["y"] + fy * box["height"]
    page.mouse.move(x, y)
    page.mouse.click(x, y)
    # the cell under the click: columns run along x (epsilon), rows along y (rho, upwards)
    expected = (int((1 - fy) * cells), int(fx * cells))
    deadline = time.monotonic() + KERNEL_CATCH_UP
    while time.monotonic() < deadline and selected_cell(page) in (None, before_cell):
        page.wait_for_timeout(200)
    cell = selected_cell(page)
    assert cell is not None and cell != before_cell, f"the click selected nothing ({cell})"
    # within 3 cells (5 % of the map): plotly pads the axes a little beyond the cells
    assert abs(cell[0] - expected[0]) <= 3 and abs(cell[1] - expected[1]) <= 3, (
        f"clicked near cell {expected}, the panel selected {cell}"
    )
    (after,) = wait_settled(page, SWEEP_CONTOUR, ["trajectory"])
    assert after and after != before, "the selected cell's path was not drawn"
    assert len(polyline(after)) > 2
    return cell


def test_sweeps_notebook_in_jupyterlab(page, root_dir, tmp_path):
    need(SWEEPS)
    bh.ARTIFACTS.mkdir(exist_ok=True)
    with bh.jupyter_lab(root_dir, tmp_path / "lab") as server:
        with screenshot_on_failure(page, "lab-06_sweeps", server):
            bh.open_lab_notebook(page, server, SWEEPS)
            bh.run_all_cells(page, server, SWEEPS)
            check_heatmap_click(page, notebook_cell=notebook_selection(page))
            bh.screenshot(page, "lab-06-after-click")
            assert not page.adaviz_errors, f"JavaScript errors: {page.adaviz_errors}"


def test_compare_dashboard_in_voila(page, root_dir, tmp_path):
    need(DASHBOARD)
    with bh.voila(root_dir / DASHBOARD, tmp_path / "voila") as server:
        with screenshot_on_failure(page, "voila-dashboard_compare", server):
            page.set_viewport_size({"width": 1400, "height": 1800})  # a whole panel in view
            page.goto(server.url, timeout=bh.RENDER_TIMEOUT * 1000)
            for root, figures in ((COMPARE_PANEL, COMPARE_FIGURES), (SWEEP_PANEL, SWEEP_FIGURES)):
                page.locator(root).first.wait_for(
                    state="attached", timeout=bh.RENDER_TIMEOUT * 1000
                )
                page.locator(root).first.scroll_into_view_if_needed()
                assert bh.wait_plots_rendered(page, root, figures) >= figures, root
            for name in ("adadelta", "sgd", "momentum", "adam"):
                wait_path(page, COMPARE_CONTOUR, name)
            # Tune in the browser: SGD, which diverges at its library default, gets a long path
            sgd0 = bh.trajectory_d(page, COMPARE_CONTOUR, "sgd")
            page.locator(f"{COMPARE_PANEL} .adaviz-tune").first.click()
            page.wait_for_function(
                "([r, d0]) => (window.__adaviz.trajectoryD(r, 'sgd') || '').length > 4 * d0.length",
                arg=[COMPARE_CONTOUR, sgd0],
                timeout=KERNEL_CATCH_UP * 1000,
                polling=250,
            )
            wait_settled(page, COMPARE_CONTOUR, ["adadelta", "sgd", "momentum", "adam"])
            # the README's pictures (element screenshots: Voila's page scrolls as a whole)
            page.locator(COMPARE_PANEL).first.screenshot(
                path=str(bh.ARTIFACTS / "compare_panel.png")
            )
            check_heatmap_click(page, fx=0.6, fy=0.25)
            page.mouse.move(1, 1)  # no hover label or mode bar over the picture
            page.wait_for_timeout(300)
            page.locator(SWEEP_PANEL).first.screenshot(path=str(bh.ARTIFACTS / "sweep_panel.png"))
            bh.screenshot(page, "voila-dashboard_compare")
            # Voila shows no code: no code-cell inputs or editors in the page.
            code = ".jp-CodeCell .jp-InputArea, .jp-InputArea-editor, .cm-editor, .jp-InputPrompt"
            assert page.locator(code).count() == 0
            assert not page.adaviz_errors, f"JavaScript errors: {page.adaviz_errors}"


def test_noise_slider_shakes_every_path_in_voila(page, root_dir, tmp_path):
    """The ComparePanel's gradient-noise slider, dragged in the browser, redraws the paths
    with noisy gradients (Adadelta's visibly: at its defaults the others' first steps are
    too short, or diverge too soon, for a small sigma to move a pixel), and its readout
    shows the chosen sigma."""
    need(DASHBOARD)
    with bh.voila(root_dir / DASHBOARD, tmp_path / "voila") as server:
        with screenshot_on_failure(page, "voila-dashboard_compare-noise", server):
            page.set_viewport_size({"width": 1400, "height": 1800})
            page.goto(server.url, timeout=bh.RENDER_TIMEOUT * 1000)
            panel = page.locator(COMPARE_PANEL).first
            panel.wait_for(state="attached", timeout=bh.RENDER_TIMEOUT * 1000)
            panel.scroll_into_view_if_needed()
            assert bh.wait_plots_rendered(page, COMPARE_PANEL, COMPARE_FIGURES) >= COMPARE_FIGURES
            names = ["adadelta", "sgd", "momentum", "adam"]
            for name in names:
                wait_path(page, COMPARE_CONTOUR, name)
            before = wait_settled(page, COMPARE_CONTOUR, names)
            readout = f"{COMPARE_PANEL} .adaviz-noise .widget-readout"
            assert page.inner_text(readout).strip() == "0 (off)"
            drag_by_fraction(page, f"{COMPARE_PANEL} .adaviz-noise .noUi-handle", 0.6)
            sigma = float(page.inner_text(readout).strip())
            assert 0.01 <= sigma <= 100, f"the drag left the noise at {sigma}"
            deadline = time.monotonic() + KERNEL_CATCH_UP
            while time.monotonic() < deadline:
                after = wait_settled(page, COMPARE_CONTOUR, names)
                if after[0] != before[0]:
                    break
            assert after[0] != before[0], "Adadelta's path did not change with the noise"
            bh.screenshot(page, "voila-compare-noise")
