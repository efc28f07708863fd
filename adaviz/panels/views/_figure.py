"""What every view shares: the figure it owns, turned into the shared widget once, and
empty traces that ``update`` fills in.

A view builds ``self.figure`` as a plain ``go.Figure`` (the first drawing becomes the
widget's initial state); :meth:`FigureView.attach` turns it into the shared
:class:`adaviz.panels.kit.widget.FigureWidget`.
"""

from __future__ import annotations

import plotly.graph_objects as go

__all__ = ["FigureView", "empty_scatter"]


class FigureView:
    """Base of a view owning one figure (``self.figure``)."""

    figure = None

    def attach(self, css_class=None):
        """Turn the figure into the shared ``FigureWidget`` (its state: the figure now)."""
        from adaviz.panels.kit.widget import FigureWidget

        self.figure = FigureWidget(self.figure)
        if css_class:
            self.figure.add_class(css_class)
        return self.figure


def empty_scatter(name, mode="lines", **spec):
    """A ``go.Scatter`` named ``name`` without points yet (``update`` sets x and y)."""
    return go.Scatter(x=[], y=[], mode=mode, name=name, **spec)
