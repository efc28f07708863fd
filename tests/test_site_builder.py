"""The course site's builder (adaviz.site) without a kernel: pages from saved runs, the
index, what a page loads, and when a saved run is reused. Executing notebooks and opening
the pages in Chromium is tests/notebooks/ and tests/browser/test_site.py."""

from __future__ import annotations

import re

import nbformat
import plotly.graph_objects as go
import pytest

import adaviz
from adaviz import site
from adaviz.panels.kit import embed

PLOTLY_JSON = "application/vnd.plotly.v1+json"


@pytest.fixture(scope="module")
def panel_output():
    """A SurfacePanel's text/html as the first output of a session (with the libraries)."""
    panel = adaviz.SurfacePanel("booth", steps=30, precompile=False)
    try:
        return embed.fallback_html(panel, embed.Libraries())
    finally:
        panel.close()


def a_run(panel_output):
    """A notebook as an execution leaves it: a heading, math, a link to another notebook, a
    plotly figure (JSON only, as plotly shows it in a kernel), a panel, a widget state."""
    nb = nbformat.v4.new_notebook()
    figure = go.Figure(go.Scatter(y=[1, 3, 2], name="three points")).to_plotly_json()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# A lesson\nSee $\\sqrt{\\rho}$ and [next](second.ipynb)."),
        nbformat.v4.new_code_cell(
            "fig",
            outputs=[nbformat.v4.new_output("display_data", data={PLOTLY_JSON: figure})],
        ),
        nbformat.v4.new_code_cell(
            "panel",
            outputs=[nbformat.v4.new_output("display_data", data={"text/html": panel_output})],
        ),
    ]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    return nb


def test_a_page_loads_only_the_site_s_files(panel_output):
    text = site.page_html(a_run(panel_output), "first", pages=["first", "second"])
    sources = re.findall(r'<script[^>]* src="([^"]*)"', text)
    assert sources == [site.PLOTLY_URL, site.MATHJAX_URL]  # no require.js, nothing remote
    assert "plotly.js v" not in text  # the panel's own copy gave way to the site's file
    assert "window.adaviz.surfacePanel(root, " in text  # the panel's live page
    assert "function simulate(" in text  # its page code (engine.js), inline
    assert '"name":"three points"' in text and "Plotly.newPlot" in text  # the plotly figure
    assert "jupyter-widgets" not in text and "unpkg" not in text  # no saved widget state
    assert 'href="second.html"' in text and 'href="index.html"' in text
    assert "<title>first</title>" in text


def test_the_index_lists_the_pages_in_order():
    text = site.index_html([("00_tour", "A tour"), ("01_more", "More <things>")])
    links = re.findall(r'<a href="([^"]+)">([^<]+)</a>', text)
    assert links == [("00_tour.html", "A tour"), ("01_more.html", "More &lt;things&gt;")]


def test_build_reuses_a_current_saved_run_and_refuses_bad_input(panel_output, tmp_path):
    source = tmp_path / "notebooks" / "lesson.ipynb"
    source.parent.mkdir()
    nbformat.write(nbformat.v4.new_notebook(), source)
    runs = tmp_path / "runs"
    runs.mkdir()
    run = a_run(panel_output)
    run.metadata["adaviz"] = {"fingerprint": site.fingerprint(source)}
    nbformat.write(run, runs / "lesson.ipynb")
    assert site.saved_run(source, runs) is not None
    lines = []
    pages = site.build([source], tmp_path / "site", executed=runs, log=lines.append)
    assert [p.name for p in pages] == ["lesson.html", "index.html"]
    assert lines == [f"{source}: reusing the run saved in {runs}"]
    assert "A lesson" in pages[-1].read_text(encoding="utf-8")
    static = tmp_path / "site" / "_static"
    assert (static / "plotly.min.js").stat().st_size > 1_000_000
    assert (static / "mathjax" / "MathJax.js").is_file()
    assert (tmp_path / "site" / ".nojekyll").is_file()  # GitHub Pages serves _static/
    # the notebook changed since: its saved run is not what running it gives now
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")]), source)
    assert site.saved_run(source, runs) is None
    with pytest.raises(ValueError, match="notebooks must be .ipynb files that exist, got"):
        site.build([tmp_path / "missing.ipynb"], tmp_path / "site")
    with pytest.raises(ValueError, match="at least one"):
        site.build([], tmp_path / "site")
