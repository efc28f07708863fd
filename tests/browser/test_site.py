"""The course site (``make site``, :mod:`adaviz.site`) and a plain ``jupyter nbconvert --to
html`` of the executed tour, opened from disk in Chromium with every network request refused.

On every page every live panel draws, a slider dragged with the mouse redraws all of that
panel's views, every other plotly figure draws, and the console shows no error. The pages
are built from the runs ``tests/notebooks/test_notebooks.py`` saved in ``build/notebooks``
(``make test`` runs it first); a run that is missing or stale (another notebook or adaviz
code) is executed here, so this file also runs alone.
"""

from __future__ import annotations

import re
import subprocess
import sys

import browser_harness as bh
import pytest
from nbconvert import HTMLExporter

import adaviz
from adaviz import site
from adaviz.panels.kit import embed

pytestmark = pytest.mark.browser


NOTEBOOKS = sorted((bh.REPO / "notebooks").glob("*.ipynb"))
#: where tests/notebooks/test_notebooks.py saves its runs
RUNS = bh.REPO / "build" / "notebooks"
TIMEOUT = 60_000  # ms
#: per live panel: its CSS class, the slider the test drags, and the views that slider does
#: not drive (ComparePanel's sensitivity view shows the last Tune's objective against lr, as
#: in Jupyter: moving an lr slider changes no Tune)
PANELS = {
    "surface": ("adaviz-surface-panel", "rho", ()),
    "compare": ("adaviz-compare-panel", None, ("sensitivity",)),  # None: the first rule's lr
    "sweep": ("adaviz-sweep-panel", "lr", ()),
    "model replay": ("adaviz-model-replay", "snapshot", ()),  # (ModelPanel's, replay.js)
}


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory):
    dest = tmp_path_factory.mktemp("site")
    site.build(NOTEBOOKS, dest, executed=RUNS)
    return dest


def watch_console(page):
    """Collect the page's console errors as ``(text, url)`` (the URL a failed load names)."""
    errors = []
    page.on(
        "console",
        lambda message: (
            errors.append((message.text, message.location.get("url", "")))
            if message.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda exc: errors.append((str(exc), "")))
    return errors


def views(page, root):
    """Each view of the panel ``root`` (an element id) as drawn: view name -> its traces'
    data as JSON (None for a view with no trace)."""
    return page.evaluate(
        """(id) => Object.fromEntries([...document.getElementById(id)
             .querySelectorAll('.adaviz-figure')].map((d) => [d.dataset.view,
             d.data && d.data.length ? JSON.stringify(d.data.map((t) => [t.name, t.x, t.y, t.z]))
             : null]))""",
        root,
    )


def draws(page, root):
    return int(page.evaluate("(id) => document.getElementById(id).dataset.draws", root))


def wait_draws(page, root, count):
    page.wait_for_function(
        "([id, n]) => Number(document.getElementById(id).dataset.draws) >= n",
        arg=[root, count],
        timeout=TIMEOUT,
    )


def drag_redraws_every_view(page, root, kind):
    """Drag the panel's slider with the mouse; every view it drives must change."""
    _, slider, undriven = PANELS[kind]
    if kind == "compare":
        slider = page.evaluate(
            "(id) => document.getElementById(id).querySelector('input[name$=\".lr\"]').name", root
        )
    if kind == "sweep":  # the cell views show a clicked cell
        heatmap = page.locator(f"#{root} .adaviz-figure-heatmap .nsewdrag").first
        heatmap.scroll_into_view_if_needed()
        box = heatmap.bounding_box()
        count = draws(page, root)
        page.mouse.click(box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.6)
        wait_draws(page, root, count + 1)
    before = views(page, root)
    empty = [name for name, data in before.items() if data is None]
    assert before and not empty, f"{kind} panel {root}: views {empty} not drawn"
    count = draws(page, root)
    selector = f'#{root} input[name="{slider}"]'
    value = page.eval_on_selector(selector, "e => e.value")
    bh.drag(page, selector, -60)
    assert page.eval_on_selector(selector, "e => e.value") != value, f"{selector} did not move"
    wait_draws(page, root, count + 1)
    after = views(page, root)
    unchanged = [name for name in before if after[name] == before[name] and name not in undriven]
    assert not unchanged, f"{kind} panel: dragging {slider} left {unchanged} as they were"


def check_live(page, path, allowed=()):
    """Open ``path`` offline; check every panel and figure on it (see the module doc).

    Args:
        allowed: URLs the page may try (and fail) to load: a template's own, not ours.
    """
    errors = watch_console(page)
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    expected = path.read_text(encoding="utf-8").count('<div class="adaviz-live-output"')
    roots = page.evaluate("() => [...document.querySelectorAll('.adaviz-live')].map(e => e.id)")
    assert len(roots) == expected, f"{len(roots)} of {expected} live panels started"
    for root in roots:
        wait_draws(page, root, 1)
    # every plotly figure on the page drew (the panels', a static picture's, a notebook's)
    bh.wait_plots_rendered(
        page, minimum=page.locator(".js-plotly-plot").count(), timeout=TIMEOUT / 1000
    )
    for root in roots:
        kinds = [k for k, (css, *_) in PANELS.items() if page.locator(f"#{root}.{css}").count()]
        assert len(kinds) == 1, f"live panel {root} is none of {list(PANELS)}: add it to PANELS"
        kind = kinds[0]
        drag_redraws_every_view(page, root, kind)
    refused = [url for url in page.adaviz_refused if not url.startswith(tuple(allowed))]
    assert not refused, f"the page requested the network: {refused}"
    ours = [text for text, url in errors if not (allowed and url.startswith(tuple(allowed)))]
    assert not ours, f"console errors: {ours}"
    return roots


@pytest.mark.parametrize("name", [p.stem for p in NOTEBOOKS])
def test_every_page_of_the_site_is_live_offline(offline, site_dir, name):
    check_live(offline, site_dir / f"{name}.html")
    assert offline.locator("nav a[href='index.html']").count() == 1


def test_the_index_links_every_page(offline, site_dir):
    errors = watch_console(offline)
    offline.goto((site_dir / "index.html").as_uri())
    links = offline.eval_on_selector_all("ol a", "links => links.map((a) => a.href)")
    assert links == [(site_dir / f"{p.stem}.html").as_uri() for p in NOTEBOOKS]
    assert not errors and not offline.adaviz_refused
    # the notebooks' links to each other lead to the pages
    tour = (site_dir / "00_tour.html").read_text(encoding="utf-8")
    assert 'href="01_adadelta_from_scratch.html"' in tour
    assert not re.search(r'href="[^"/]+\.ipynb', tour)


def test_nbconvert_html_of_the_tour_is_live_offline(offline, site_dir, tmp_path):
    # (site_dir made sure the tour's saved run is current)
    subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", "html", "--output-dir",
         str(tmp_path), str(RUNS / "00_tour.ipynb")],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    page = tmp_path / "00_tour.html"
    assert page.read_text(encoding="utf-8").count("plotly.js v") == 1  # one copy
    # nbconvert's template fetches require.js and MathJax from CDNs; nothing else may go out
    template = HTMLExporter()
    allowed = (template.require_js_url, template.mathjax_url.split("?")[0])
    roots = check_live(offline, page, allowed=allowed)
    assert len(roots) == 2  # the tour's SurfacePanel and its ModelPanel's replay


def test_panels_start_wherever_the_shared_code_is_and_say_when_it_is_missing(offline, tmp_path):
    surface = adaviz.SurfacePanel("booth", steps=40, precompile=False)
    sweep = adaviz.SweepPanel("booth", steps=20, resolution=4, precompile=False)
    try:
        libraries = embed.Libraries()
        carrier = embed.fallback_html(surface, libraries)  # the session's first output
        later = embed.fallback_html(sweep, libraries)
    finally:
        surface.close()
        sweep.close()
    # a later output above the one that carries the shared code (cells run out of order)
    page = tmp_path / "order.html"
    page.write_text(f"<!doctype html><title>t</title>{later}<hr>{carrier}", encoding="utf-8")
    assert len(check_live(offline, page)) == 2
    # the carrier's output deleted: the panel says what to do
    alone = tmp_path / "alone.html"
    alone.write_text(f"<!doctype html><title>t</title>{later}", encoding="utf-8")
    offline.goto(alone.as_uri())
    offline.wait_for_function(
        "document.body.innerText.includes('Restart Kernel and Run All')", timeout=TIMEOUT
    )
    assert offline.locator(".adaviz-live").count() == 0
    assert not offline.adaviz_refused
