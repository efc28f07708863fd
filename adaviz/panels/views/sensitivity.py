"""SensitivityView: a tuning objective against lr, one curve per optimizer, the choice marked."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from adaviz.panels.kit import arrays, style
from adaviz.panels.views._figure import FigureView, empty_scatter

EMPTY_TITLE = "tuning: objective vs lr (press Tune)"


class SensitivityView(FigureView):
    """The objective against lr (log x), one curve per run, the chosen lr as a star.

    Traces: ``name`` per run (the curves), then ``"{name} chosen lr"`` per run (one star
    each), in the order of ``names``. ``lrs``: the lr values a tune tries; the x axis spans
    them, also before the first tune (else it fits the curves).
    """

    def __init__(self, names, colors, *, lrs=None, width=455, height=230):
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
        lay = style.layout(
            EMPTY_TITLE,
            width=width,
            height=height,
            xaxis=style.axis("lr (log)", log=True, range=None if lrs is None else lr_range(lrs)),
            yaxis=style.axis("objective − f*", log=True),
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
                curve.x, curve.y = arrays.floats(lrs[i]), arrays.floats(values[i])
                x, y = chosen[i]
                star.x, star.y = arrays.floats([x]), arrays.floats([y])
            self.figure.layout.title.text = title
            self.figure.layout.yaxis.title.text = y_title
            self.figure.layout.yaxis.type = "log" if log_y else "linear"

    def show_empty(self, gap):
        """No tune for this surface yet: no curves, the title says to press Tune (``gap``:
        the objective is drawn above the surface's known minimum f*, on a log axis)."""
        empty = [np.zeros(0)] * len(self.names)
        self.update(
            empty,
            empty,
            [(np.nan, np.nan)] * len(self.names),
            title=EMPTY_TITLE,
            y_title="objective − f*" if gap else "objective",
            log_y=gap,
        )

    def show_tune(self, lrs, curves, f_star, *, title):
        """Per run its objective ``scores`` at the values ``lrs`` and the lr chosen (None:
        none), ``curves[i] = (scores, best)``; drawn above ``f_star`` (on a log axis)
        when it is finite, diverged runs (``inf``) left out."""
        gap = bool(np.isfinite(f_star))
        ys, chosen = [], []
        for scores, best in curves:
            y = np.where(np.isfinite(scores), scores - f_star if gap else scores, np.nan)
            ys.append(arrays.positive_or_nan(y) if gap else y)
            if best is None:
                chosen.append((np.nan, np.nan))
            else:
                chosen.append((best, float(y[int(np.argmin(scores))])))
        self.update(
            [lrs] * len(curves),
            ys,
            chosen,
            title=title,
            y_title="objective − f* (surface units)" if gap else "objective (surface units)",
            log_y=gap,
        )


def lr_range(lrs):
    """A log x axis range (in decades) over ``lrs``, a tenth of a decade wider each side."""
    low, high = np.log10(np.min(lrs)), np.log10(np.max(lrs))
    return [float(low) - 0.1, float(high) + 0.1]
