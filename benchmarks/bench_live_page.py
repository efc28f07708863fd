"""The live SurfacePanel page's speed figures, in one run, in headless Chromium.

Run: ``.venv/bin/python benchmarks/bench_live_page.py [--presses 30] [--no-lab]``. Prints:

(a) sizes: the standalone live page with plotly.js embedded (target <= 5.5 MB) and with
    plotly.js from the CDN (target <= 300 KB), and a ModelPanel's replay page of a
    3,000-step run recorded at 60 redraws (61 snapshots) with the CDN (target <= 300 KB);
(b) page load -> all four views drawn, median of 7 alternating loads from disk (network
    refused): the live page against the same panel's static page (``to_html(live=False)``),
    ratio target <= 1.2x;
(c) rho key press -> all views settled (the last DOM change inside any of the page's plots),
    median and p95: the live page (no network) against the live JupyterLab SurfacePanel
    (as ``bench_browser.py`` measures it: same page helpers, same presses), alternating
    blocks of presses in the same run; p95 ratio target <= 0.5x. Both sides count the
    plots that changed after each press: every view (the live page's static contour
    backdrop aside) must have been redrawn, else the live page's run stops with an error
    and the count is printed. ``--no-lab`` measures the live page only (no JupyterLab, no
    TensorFlow kernel).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run from a checkout
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

import bench_browser  # noqa: E402
import browser_harness as bh  # noqa: E402

from adaviz.web import page as web_page  # noqa: E402

LIVE_ROOT = bh.PANEL  # the live page's container has the panel's class
LIVE_RHO = "input[name=rho]"
LOADS = 7
VIEWS = ".js-plotly-plot:not(.adaviz-figure-backdrop)"  # every view (not the live contour)

# bench_browser.SETTLE_JS, which also keeps the plots that changed since the key press
SETTLE_JS = """() => {
  const root = document.querySelector('.adaviz-surface-panel');
  const s = window.__benchSettle = {t0: 0, last: 0, plots: new Set()};
  document.addEventListener('keydown', () => {
    s.t0 = performance.now(); s.last = s.t0; s.plots = new Set();
  }, true);
  new MutationObserver(records => {
    for (const r of records) {
      const plot = r.target.closest && r.target.closest('.js-plotly-plot');
      if (plot) { s.last = performance.now(); s.plots.add(plot); }
    }
  }).observe(root, {subtree: true, childList: true, attributes: true});
}"""
# [views that changed since the key press, views in the panel]
VIEWS_CHANGED_JS = f"""() => {{
  const root = document.querySelector('.adaviz-surface-panel');
  const views = [...root.querySelectorAll('{VIEWS}')];
  return [views.filter((v) => window.__benchSettle.plots.has(v)).length, views.length];
}}"""


def offline_route(route):
    if route.request.url.startswith("file:"):
        route.continue_()
    else:
        route.abort()


def load_time(page, path):
    """Seconds from navigation to all four plots drawn (polled every animation frame)."""
    t0 = time.perf_counter()
    page.goto(path.as_uri())
    bh.install_page_js(page)
    page.wait_for_function(
        "() => window.__adaviz.plotsRendered(null) >= 4", polling="raf", timeout=60_000
    )
    return time.perf_counter() - t0


def press_live(page, samples, settled):
    result, _ = bh.press_and_measure(page, "ArrowLeft", handle=LIVE_RHO, root=LIVE_ROOT, timeout=15)
    if result["latency"] is None:
        raise RuntimeError("live page: the trajectory did not change within 15 s")
    bh.wait_quiet(page, 300)
    changed, views = page.evaluate(VIEWS_CHANGED_JS)
    if changed < views:
        raise RuntimeError(f"live page: a press redrew {changed} of its {views} views")
    if samples is not None:
        samples.append(result["latency"])
        settled.append(page.evaluate("() => window.__benchSettle.last - window.__benchSettle.t0"))


def summary(samples):
    a = np.asarray(samples)
    return float(np.median(a)), float(np.percentile(a, 95))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=30)
    parser.add_argument("--block", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--no-lab", action="store_true", help="skip the JupyterLab panel")
    args = parser.parse_args()
    reason = bh.browser_missing_reason()
    if reason:
        sys.exit(f"bench_live_page: {reason}")
    from playwright.sync_api import sync_playwright

    import adaviz

    work = Path(tempfile.mkdtemp(prefix="adaviz-bench-live-"))
    state = web_page.surface_state("rosenbrock")
    live = work / "live.html"
    live.write_text(web_page.surface_page(state), encoding="utf-8")
    cdn = web_page.surface_page(state, plotly="cdn")
    static = work / "static.html"
    panel = adaviz.SurfacePanel("rosenbrock", precompile=False)
    panel.to_html(static, live=False)
    panel.close()
    model = adaviz.ModelPanel(data="moons")
    for _ in range(60):
        model.step(50)
    replay = model.to_html(work / "replay.html", include_plotlyjs="cdn")
    snapshots = len(model.snapshots["step"])
    model.close()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(
        f"(a) sizes: live page {live.stat().st_size / 1e6:.2f} MB with plotly.js embedded "
        f"[target <= 5.5 MB], {len(cdn.encode()) / 1e3:.0f} KB with plotly.js from the CDN "
        f"[target <= 300 KB]; static page {static.stat().st_size / 1e6:.2f} MB; ModelPanel "
        f"replay of 3,000 steps ({snapshots} snapshots) {replay.stat().st_size / 1e3:.0f} KB "
        f"with plotly.js from the CDN [target <= 300 KB]"
    )

    root = work / "notebooks"
    root.mkdir()
    bench_browser.write_notebook(root / "surface_panel.ipynb", bench_browser.PANEL)
    with sync_playwright() as pw, bh.chromium(pw) as context:
        page = context.new_page()
        page.route("**/*", offline_route)
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        load_time(page, live)  # warm the disk cache and the browser
        load_time(page, static)
        loads = {"live": [], "static": []}
        for _ in range(LOADS):
            for label, path in (("live", live), ("static", static)):
                loads[label].append(load_time(page, path))
        live_load, static_load = (statistics.median(loads[k]) for k in ("live", "static"))
        print(
            f"(b) page load -> all 4 views drawn, median of {LOADS}: live {live_load * 1e3:.0f} ms, "
            f"static {static_load * 1e3:.0f} ms, ratio {live_load / static_load:.2f}x "
            "[target <= 1.2x]"
        )

        page.goto(live.as_uri())
        bh.wait_plots_rendered(page, LIVE_ROOT, minimum=4)
        page.evaluate(SETTLE_JS)
        pages = {"live page": page}
        with contextlib.ExitStack() as stack:
            if not args.no_lab:
                server = stack.enter_context(bh.jupyter_lab(root, work / "lab"))
                pages["JupyterLab"] = bench_browser.open_and_run(
                    context, server, "surface_panel.ipynb"
                )
                pages["JupyterLab"].evaluate(SETTLE_JS)  # (replaces bench_browser's)
            samples = {label: [] for label in pages}
            settled = {label: [] for label in pages}
            redrawn = {label: [] for label in pages}  # (views changed, views) per press

            def one(label, record):
                target = pages[label]
                target.bring_to_front()
                if label == "live page":
                    press_live(target, samples[label] if record else None, settled[label])
                else:
                    bench_browser.press(
                        target, samples[label] if record else None, label, [], settled[label]
                    )
                if record:
                    redrawn[label].append(target.evaluate(VIEWS_CHANGED_JS))

            for label in pages:
                for _ in range(args.warmup):
                    one(label, False)
            while min(len(s) for s in samples.values()) < args.presses:
                for label in pages:
                    for _ in range(min(args.block, args.presses - len(samples[label]))):
                        one(label, True)
        assert not errors, errors
    print("(c) rho key press -> all views settled (ms):")
    for label in pages:
        median, p95 = summary(settled[label])
        path_median, path_p95 = summary(samples[label])
        fewest = min(redrawn[label])
        print(
            f"    {label:12s} settled median {median:7.1f}, p95 {p95:7.1f}; "
            f"path changed median {path_median:7.1f}, p95 {path_p95:7.1f}; "
            f"views redrawn per press: at least {fewest[0]} of {fewest[1]}"
        )
    if "JupyterLab" in pages:
        ratio = summary(settled["live page"])[1] / summary(settled["JupyterLab"])[1]
        print(f"    p95 ratio live page / JupyterLab panel: {ratio:.2f}x [target <= 0.5x]")


if __name__ == "__main__":
    main()
