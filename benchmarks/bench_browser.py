"""End-to-end latency in a real browser: rho key press -> trajectory path redrawn.

In one JupyterLab + Chromium run, two notebooks are open side by side:

* **baseline** - the floor set by Jupyter's message round trip and plotly's redraw: one
  ``FloatSlider`` whose observer only sets one ``FigureWidget`` trace's y values (as many
  points as the panel's trajectory);
* **SurfacePanel** - ``adaviz.SurfacePanel()`` with its defaults (all views live).

Each measurement happens in the page: a capturing ``keydown`` listener takes
``performance.now()``, a ``MutationObserver`` on the panel takes it again when the
trajectory path's ``d`` attribute differs from before the press. Presses go to the focused
rho slider handle (ArrowLeft, one slider step each) and alternate between the two notebooks
in blocks, so both see the same machine load; after each press the page waits until the
plots have been quiet for 300 ms. Prints median and p95 of each and two targets, both
against the baseline's p95 in the same run:

* **path**: key press -> the SurfacePanel's trajectory path changed, p95 <= 1.25x;
* **all views settled**: key press -> the last DOM change inside any of the panel's plotly
  plots (contour, accumulators, step sizes and loss all redrawn), p95 <= 1.5x.

As a diagnostic it also prints the time to the first DOM change inside any plot (the
kernel's reply has arrived and some figure started redrawing).

``--crossing``: the tour's panel (``SurfacePanel("rosenbrock", steps=2000)``) with rho at
0.995, and every press crosses divergence: ArrowRight to rho 1.0 (the path stops at its
start, the end label "last point before divergence (step 0)" appears beside it, the step
size view's y range changes), ArrowLeft back to 0.995. The baseline's presses alternate the same way.
Target: all views settled, p95 <= 1.5x the baseline's (echo) p95.

Usage: ``python benchmarks/bench_browser.py [--presses 30] [--block 5] [--warmup 3] [--warm]
[--crossing]`` (``--warm``: the panel's background compile of every surface finishes
before the first press; by default the first presses compete with it, as a user's first
seconds do).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import browser_harness as bh  # noqa: E402

BASELINE = """\
import numpy as np
import ipywidgets as widgets
import plotly.graph_objects as go

x = np.linspace(0.0, 1.0, {points})
fig = go.FigureWidget(data=[go.Scatter(x=x, y=np.sin(6 * x + 10 * 0.95), mode="lines",
                                       name="trajectory")])
slider = widgets.FloatSlider(value=0.95, min=0.0, max=1.0, step=0.005, description="rho")
slider.add_class("adaviz-rho")


def on_value(change):
    fig.data[0].y = np.sin(6 * x + 10 * change["new"])


slider.observe(on_value, names="value")
box = widgets.VBox([slider, fig])
box.add_class("adaviz-surface-panel")
box
"""

PANEL = """\
import adaviz

panel = adaviz.SurfacePanel()
panel
"""

# --warm: the panel's background compile of every surface (tens of seconds on 2 cores,
# competing with the kernel's main thread for the GIL and the CPUs) is over before the
# first press, so only the steady state is measured.
PANEL_WARM = """\
import adaviz

panel = adaviz.SurfacePanel()
panel.precompile(wait=True)
panel
"""

# --crossing: the tour's panel, one rho step below divergence
PANEL_CROSSING = """\
import adaviz

panel = adaviz.SurfacePanel("rosenbrock", steps=2000)
panel.controls["rho"].value = 0.995
{precompile}panel
"""
CROSSING_STEPS = 2000


def write_notebook(path, source):
    """A one-cell notebook with the python3 kernelspec."""
    nb = {
        "cells": [
            {"cell_type": "code", "execution_count": None, "id": "bench", "metadata": {},
             "outputs": [], "source": source}
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }  # fmt: skip
    Path(path).write_text(json.dumps(nb, indent=1))


def panel_points():
    """Number of points the default SurfacePanel draws (steps + the start)."""
    import inspect

    import adaviz

    steps = inspect.signature(adaviz.SurfacePanel).parameters["steps"].default
    return int(steps) + 1


# Key press -> the last DOM change in the panel's plots (all views redrawn).
SETTLE_JS = """() => {
  const root = document.querySelector('.adaviz-surface-panel');
  const s = window.__benchSettle = {t0: 0, last: 0};
  document.addEventListener('keydown', () => { s.t0 = performance.now(); s.last = s.t0; }, true);
  new MutationObserver(records => {
    if (records.some(r => r.target.closest && r.target.closest('.js-plotly-plot'))) {
      s.last = performance.now();
    }
  }).observe(root, {subtree: true, childList: true, attributes: true});
}"""


def open_and_run(context, server, name):
    page = context.new_page()
    page.adaviz_errors = []
    page.on("pageerror", lambda exc: page.adaviz_errors.append(str(exc)))
    bh.open_lab_notebook(page, server, name)
    bh.run_all_cells(page, server, name)
    page.locator(bh.PANEL).first.scroll_into_view_if_needed()
    bh.wait_trajectory(page)
    bh.wait_quiet(page, 500)
    page.evaluate(SETTLE_JS)
    return page


def press(page, samples, label, first=None, settled=None, keys=("ArrowLeft",)):
    """One key press on ``page``'s rho slider: the next of ``keys``, in turn per page."""
    page.bring_to_front()
    count = getattr(page, "bench_presses", 0)
    page.bench_presses = count + 1
    key = keys[count % len(keys)]
    result, _ = bh.press_and_measure(page, key, timeout=15)
    latency = result["latency"]
    if latency is None:
        hint = ""
        if any(bh.ANYWIDGET_INIT_FAILED in e for e in page.adaviz_errors):
            hint = "\n" + bh.ANYWIDGET_INIT_HELP
        raise RuntimeError(f"{label}: the trajectory did not change within 15 s{hint}")
    bh.wait_quiet(page, 300)
    if samples is not None:
        samples.append(latency)
        first.append(result["firstPlot"])
        settled.append(page.evaluate("() => window.__benchSettle.last - window.__benchSettle.t0"))


def summary(samples):
    a = np.asarray(samples)
    return float(np.median(a)), float(np.percentile(a, 95))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=30)
    parser.add_argument("--block", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument(
        "--warm",
        action="store_true",
        help="let the panel's background compile finish before the first press",
    )
    parser.add_argument(
        "--crossing",
        action="store_true",
        help="the tour's panel at rho 0.995: every press crosses into or out of divergence",
    )
    args = parser.parse_args()
    reason = bh.browser_missing_reason()
    if reason:
        sys.exit(f"bench_browser: {reason}")
    from playwright.sync_api import sync_playwright

    points = CROSSING_STEPS + 1 if args.crossing else panel_points()
    keys = ("ArrowRight", "ArrowLeft") if args.crossing else ("ArrowLeft",)
    work = Path(tempfile.mkdtemp(prefix="adaviz-bench-browser-"))
    root = work / "notebooks"
    root.mkdir()
    write_notebook(root / "baseline.ipynb", BASELINE.format(points=points))
    if args.crossing:
        warm = "panel.precompile(wait=True)\n" if args.warm else ""
        panel = PANEL_CROSSING.format(precompile=warm)
    else:
        panel = PANEL_WARM if args.warm else PANEL
    write_notebook(root / "surface_panel.ipynb", panel)

    t0 = time.perf_counter()
    with (
        bh.jupyter_lab(root, work / "lab") as server,
        sync_playwright() as pw,
        bh.chromium(pw) as context,
    ):
        pages = {
            "baseline": open_and_run(context, server, "baseline.ipynb"),
            "SurfacePanel": open_and_run(context, server, "surface_panel.ipynb"),
        }
        samples = {label: [] for label in pages}
        first = {label: [] for label in pages}
        settled = {label: [] for label in pages}
        for label, page in pages.items():
            for _ in range(args.warmup):
                press(page, None, label, keys=keys)
        while min(len(s) for s in samples.values()) < args.presses:
            for label, page in pages.items():
                for _ in range(min(args.block, args.presses - len(samples[label]))):
                    press(page, samples[label], label, first[label], settled[label], keys)
        bh.screenshot(pages["SurfacePanel"], "bench-browser-surface-panel")
        with urllib.request.urlopen(server.url + "/api/kernels", timeout=5) as resp:
            kernels = len(json.load(resp))

    crossing = ", every press crossing divergence (rho 0.995 <-> 1.0)" if args.crossing else ""
    print(
        f"Browser latency, key press on rho -> trajectory path changed in the DOM "
        f"({args.presses} presses each{crossing}, {points} points, JupyterLab, headless Chromium, "
        f"{kernels} kernels, run took {time.perf_counter() - t0:.0f} s"
        + (", after the panel's background compile)" if args.warm else ")")
    )
    print(
        f"{'':14s} {'median ms':>10s} {'p95 ms':>8s}   first plot mutation: median, p95 ms"
        "   all views settled: median, p95 ms"
    )
    stats = {label: summary(s) for label, s in samples.items()}
    for label, (median, p95) in stats.items():
        f_med, f_p95 = summary(first[label])
        s_med, s_p95 = summary(settled[label])
        print(
            f"{label:14s} {median:10.1f} {p95:8.1f}   {f_med:8.1f} {f_p95:8.1f}"
            f"{'':21s}{s_med:8.1f} {s_p95:8.1f}"
        )
    echo_p95 = stats["baseline"][1]
    ratio = stats["SurfacePanel"][1] / echo_p95
    verdict = "meets" if ratio <= 1.25 else "misses"
    print(f"path: p95 ratio SurfacePanel / baseline: {ratio:.2f} ({verdict} the <= 1.25 target)")
    settled_ratio = summary(settled["SurfacePanel"])[1] / echo_p95
    verdict = "meets" if settled_ratio <= 1.5 else "misses"
    print(
        f"all views settled: p95 ratio SurfacePanel settled / baseline echo: "
        f"{settled_ratio:.2f} ({verdict} the <= 1.5 target)"
    )


if __name__ == "__main__":
    main()
