"""Static export shared by the panels (adaviz.panels.kit.export): to_html, snapshot and the
display's HTML fallback, on a minimal panel made of the kit."""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import plotly.graph_objects as go

from adaviz.panels.kit.base import Panel
from adaviz.panels.kit.export import figures_html
from adaviz.panels.kit.widget import FigureWidget


class TinyPanel(Panel):
    _export_title = "tiny <panel>"

    def __init__(self, static_fallback=True):
        self.fig = FigureWidget(
            go.Figure(go.Scatter(x=np.array([0.0, 1.0]), y=np.array([0.0, 1.0]), name="line"))
        )
        self.prepared = 0
        self.displayed = 0
        self._shell(static_fallback=static_fallback)
        self._build([self.fig], css_class="tiny-panel")

    def _export_columns(self):
        return [[self.fig]]

    def _export_header(self):
        return "<p class='hdr'>header</p>"

    def _export_prepare(self):
        self.prepared += 1

    def _on_display(self):
        self.displayed += 1


def trace_y(text, name):
    m = re.search(rf'"name":"{name}","x":(\{{[^}}]*\}}),"y":(\{{[^}}]*\}})', text)
    assert m, f"trace {name!r} not in the HTML"
    spec = json.loads(m.group(2))
    return np.frombuffer(base64.b64decode(spec["bdata"]), dtype=spec["dtype"])


def test_to_html_snapshot_and_mimebundle(tmp_path):
    p = TinyPanel()
    p.fig.data[0].y = np.array([3.0, 4.0])  # a change after construction is exported
    path = p.to_html(tmp_path / "tiny.html")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "<title>tiny &lt;panel&gt;</title>" in text
    assert len(text) > 1_000_000  # plotly.js embedded
    assert "<p class='hdr'>header</p>" in text
    np.testing.assert_array_equal(trace_y(text, "line"), [3.0, 4.0])
    cdn = p.to_html(tmp_path / "cdn.html", include_plotlyjs="cdn").read_text()
    assert "cdn.plot.ly" in cdn and len(cdn) < 100_000
    snap = p.snapshot()
    assert "<html" not in snap.data and "cdn.plot.ly" in snap.data
    np.testing.assert_array_equal(trace_y(snap.data, "line"), [3.0, 4.0])
    bundle = p._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    np.testing.assert_array_equal(trace_y(bundle["text/html"], "line"), [3.0, 4.0])
    assert p.displayed == 1 and p.prepared >= 4
    # the initial widget state is now the current figure
    np.testing.assert_array_equal(p.fig._widget_data[0]["y"], [3.0, 4.0])


def test_without_fallback_only_the_widget():
    p = TinyPanel(static_fallback=False)
    bundle = p._repr_mimebundle_()
    assert "text/html" not in bundle or "js-plotly" not in bundle.get("text/html", "")
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_figures_html_fragment_lays_out_columns():
    a = go.Figure(go.Scatter(x=[0.0], y=[1.0], name="a"))
    b = go.Figure(go.Scatter(x=[0.0], y=[2.0], name="b"))
    frag = figures_html([[a], [b]], header_html="<h1>h</h1>", include_plotlyjs="cdn", full=False)
    assert frag.startswith('<div class="adaviz-static"') and frag.count("cdn.plot.ly") == 1
    assert frag.index('"name":"a"') < frag.index('"name":"b"')


def test_to_html_names_path_when_it_is_not_a_path_or_cannot_be_written(tmp_path):
    import pytest

    p = TinyPanel()
    for bad in (None, 123):
        with pytest.raises(TypeError, match=rf"path must be a file path .*got .*{bad!r}"):
            p.to_html(bad)
    missing = tmp_path / "no such folder" / "page.html"
    with pytest.raises(FileNotFoundError, match=r"cannot write the page to '.*page.html' .*exists"):
        p.to_html(missing)
    assert not missing.parent.exists()
