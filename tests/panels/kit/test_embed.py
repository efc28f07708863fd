"""A panel's display without widgets (adaviz.panels.kit.embed): the live page as the
``text/html`` of the display data, plotly.js and the page code carried once per session."""

from __future__ import annotations

import json
import re
from importlib import resources

import numpy as np
import plotly
import pytest
from test_base import TinyPanel

import adaviz
from adaviz.panels.kit import embed

WIDGET = "application/vnd.jupyter.widget-view+json"
PLOTLY_COPY = f"plotly.js v{plotly.offline.get_plotlyjs_version()}"


@pytest.fixture(scope="module")
def surface_panel():
    panel = adaviz.SurfacePanel("booth", steps=60, rho=0.9, epsilon=1e-4, precompile=False)
    yield panel
    panel.close()


def boot_state(text, function):
    """The state a boot script hands to ``window.adaviz.<function>(root, state)``."""
    found = re.findall(rf"window\.adaviz\.{function}\(root, (\{{.*?\}})\);\n", text)
    assert len(found) == 1, f"{len(found)} {function} boot scripts in the output"
    return json.loads(found[0].replace("<\\/", "</"))


def test_one_plotly_js_per_session_then_boot_only(surface_panel, monkeypatch):
    monkeypatch.setattr(embed, "LIBRARIES", embed.Libraries())  # a fresh kernel session
    compare = adaviz.ComparePanel("booth", ("sgd", "adam"), steps=40, precompile=False)
    try:
        first = surface_panel._repr_mimebundle_()
        second = compare._repr_mimebundle_()
        third = surface_panel._repr_mimebundle_()  # the same panel shown again
    finally:
        compare.close()
    assert all(WIDGET in bundle for bundle in (first, second, third))
    outputs = [bundle["text/html"] for bundle in (first, second, third)]
    assert [text.count(PLOTLY_COPY) for text in outputs] == [1, 0, 0]
    # every script of adaviz.web (engine.js, page.js, ...) travels with the first output
    scripts = [f for f in resources.files("adaviz.web").iterdir() if f.name.endswith(".js")]
    assert {"engine.js", "page.js"} <= {f.name for f in scripts}
    for script in scripts:
        code = script.read_text(encoding="utf-8")
        assert [text.count(code) for text in outputs] == [1, 0, 0], script.name
    assert len(outputs[1]) < 30_000 and len(outputs[2]) < 30_000
    assert not any(re.search(r"<script[^>]* src=|<html", text) for text in outputs)
    # each output starts its own panel from the panel's settings, leaving the URL alone
    state = boot_state(outputs[2], "surfacePanel")
    assert state["surface"] == "booth" and state["steps"] == 60 and state["fragment"] is False
    assert state["hyperparameters"]["rho"] == 0.9 and state["hyperparameters"]["epsilon"] == 1e-4
    np.testing.assert_array_equal(state["start"], adaviz.surfaces.get("booth").start)
    state = boot_state(outputs[1], "comparePanel")
    assert state["optimizers"] == ["sgd", "adam"] and state["steps"] == 40
    ids = re.findall(r'<div id="(adaviz-live-[0-9a-f]+)">', "".join(outputs))
    assert len(set(ids)) == 3  # one root element each, even for the same panel


def test_libraries_go_with_the_first_output_and_a_rerun_of_its_cell():
    libraries = embed.Libraries()
    assert libraries.carry(("cell-a", "run-1"))
    assert not libraries.carry(("cell-a", "run-1"))  # a second panel of the same run
    assert not libraries.carry(("cell-b", "run-2"))
    assert not libraries.carry(None)
    assert libraries.carry(("cell-a", "run-3"))  # cell a again: its new output replaces the old
    assert not libraries.carry(("cell-b", "run-4"))
    # without cell ids (nbclient, a script): the first output only
    plain = embed.Libraries()
    assert [plain.carry(None) for _ in range(3)] == [True, False, False]


def test_a_panel_without_a_live_page_shows_its_picture_without_the_cdn():
    tiny = TinyPanel()
    first = embed.fallback_html(tiny, embed.Libraries())
    assert first.count(PLOTLY_COPY) == 1 and not re.search(r"<script[^>]* src=", first)
    assert '"name":"line"' in first and "Plotly.newPlot" in first
    later = embed.Libraries()
    later.carry(None)
    text = embed.fallback_html(tiny, later)
    assert PLOTLY_COPY not in text and '"name":"line"' in text


def test_a_custom_surface_without_javascript_shows_its_picture():
    bowl = adaviz.Surface(
        lambda x, y: x**2 + y**2, domain=((-2, 2), (-2, 2)), minima=[(0, 0)], start=(1.0, 1.0)
    )
    panel = adaviz.SurfacePanel(bowl, steps=20, precompile=False)
    try:
        libraries = embed.Libraries()
        libraries.carry(None)
        text = embed.fallback_html(panel, libraries)
    finally:
        panel.close()
    assert "surfacePanel(" not in text and '"name":"trajectory"' in text
