"""SensitivityView: a tuning objective against lr, one curve per optimizer, the choice marked."""

from __future__ import annotations

import plotly.graph_objects as go

from adaviz.panels import _figures
from adaviz.panels.views._figure import FigureView, empty_scatter

EMPTY_TITLE = "tuning: objective vs lr (press Tune)"


class SensitivityView(FigureView):
    """The objective against lr (log x), one curve per run, the chosen lr as a star.

    Traces: ``name`` per run (the curves), then ``"{name} chosen lr"`` per run (one star
    each), in the order of ``names``.
    """

    def __init__(self, names, colors, *, width=455, height=230):
        self.names = tuple(names)
        pairs = list(zip(self.names, colors, strict=True))
        curves = [
            empty_scatter(
                name,
                "lines+markers",
                line={"color": color, "width": 2},
                marker={"size": 3, "color": color},
                hovertemplate=f"{name}<br>lr %{{x:.3g}}<br>%{{y:.4e}}<extra></extra>",
            )
            for name, color in pairs
        ]
        stars = [
            empty_scatter(
                f"{name} chosen lr",
                "markers",
                marker={"size": 13, "color": color, "symbol": "star", "line": {"width": 1}},
                showlegend=False,
                hovertemplate=f"{name}: chosen lr %{{x:.3g}}<extra></extra>",
            )
            for name, color in pairs
        ]
        lay = _figures.layout(
            EMPTY_TITLE,
            width=width,
            height=height,
            xaxis=_figures.axis("lr (log)", log=True),
            yaxis=_figures.axis("objective − f*", log=True),
            showlegend=False,
        )
        self.figure = go.Figure(data=curves + stars, layout=lay)

    def update(self, lrs, values, chosen, *, title, y_title, log_y):
        """Per run: its lr values, the objective there (drawn) and the chosen ``(lr, value)``
        (NaNs: no star); one full redraw."""
        n = len(self.names)
        with self.figure.batch_update():
            for i in range(n):
                curve, star = self.figure.data[i], self.figure.data[n + i]
                curve.x, curve.y = _figures.floats(lrs[i]), _figures.floats(values[i])
                x, y = chosen[i]
                star.x, star.y = _figures.floats([x]), _figures.floats([y])
            self.figure.layout.title.text = title
            self.figure.layout.yaxis.title.text = y_title
            self.figure.layout.yaxis.type = "log" if log_y else "linear"
