"""HeatmapView: a metric over two hyperparameter axes, one cell per run.

Diverged cells in one colour of their own (:data:`DIVERGED_COLOR`), cells without a value
(e.g. never converged) in grey (:data:`NO_VALUE_COLOR`), each named in the hover; an
optional contour overlay (log10 of the values given) and a marker on the selected cell.
Axes whose values span decades (lr, epsilon) are drawn on log axes. The view knows no
engine: a controller passes the axis values and the grids.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from adaviz.panels.kit import arrays, style
from adaviz.panels.views._figure import FigureView, empty_scatter

__all__ = ["HeatmapView", "DIVERGED_COLOR", "NO_VALUE_COLOR", "HEATMAP_COLORSCALE", "is_log_axis"]

#: the colour of diverged cells, and of cells without a value (e.g. never converged).
DIVERGED_COLOR = "#d62728"
NO_VALUE_COLOR = "#bdbdbd"
HEATMAP_COLORSCALE = "Viridis"

_AXIS_LABELS = {"lr": "lr", "rho": "ρ (rho)", "epsilon": "ε (epsilon)", "decay": "decay"}
_AXIS_FORMAT = {"lr": ".3g", "rho": ".4f", "epsilon": ".2e", "decay": ".3g"}


def is_log_axis(name, values):
    """Whether the axis of hyperparameter ``name`` with these ``values`` is drawn on a log
    scale (lr and epsilon, when every value is > 0)."""
    values = np.asarray(values, np.float64)
    return bool(name in ("lr", "epsilon") and np.all(values > 0))


def _decade_ticks(lo, hi):
    """Tick positions (log10 units) and labels for a log colour bar from lo to hi."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [], []
    first, last = math.floor(lo), math.ceil(hi)
    stride = max(1, (last - first) // 8)
    ticks = list(range(first, last + 1, stride))
    return [float(t) for t in ticks], [f"1e{t}" if t else "1" for t in ticks]


def _grid_json(grid):
    """A 2-D array as nested lists with None where it is not finite.

    2-D arrays go to the browser as JSON (1-D float ones as binary buffers), and NaN or
    infinity is not JSON: None is plotly's gap.
    """
    grid = np.asarray(grid, np.float64)
    return np.where(np.isfinite(grid), grid, None).tolist()


class HeatmapView(FigureView):
    """A metric over two hyperparameter axes, with diverged / no-value cells in their own
    colours, an optional contour overlay and a marker on the selected cell.

    Traces (``view.index``): ``metric`` (heatmap; ``customdata`` holds the values, ``z``
    their log10 on a log colour scale), ``no value`` (grey cells), ``diverged`` (cells in
    :data:`DIVERGED_COLOR`, ``customdata`` the step of divergence), ``first step``
    (contour lines of the overlay), ``selected`` (a marker).
    """

    def __init__(self, *, width=520, height=470, title="metric over the grid (click a cell)"):
        empty = np.zeros((0, 0))
        one = [[0.0, NO_VALUE_COLOR], [1.0, NO_VALUE_COLOR]]
        red = [[0.0, DIVERGED_COLOR], [1.0, DIVERGED_COLOR]]
        traces = [
            go.Heatmap(z=empty, name="metric", colorscale=HEATMAP_COLORSCALE, hoverongaps=False),
            go.Heatmap(
                z=empty, name="no value", colorscale=one, showscale=False, hoverongaps=False
            ),
            go.Heatmap(
                z=empty, name="diverged", colorscale=red, showscale=False, hoverongaps=False
            ),
            go.Contour(
                z=empty,
                name="first step",
                visible=False,
                showscale=False,
                contours={"coloring": "lines", "showlabels": True},
                line={"color": "white", "width": 1},
                colorscale=[[0.0, "white"], [1.0, "white"]],
                hoverinfo="skip",
            ),
            empty_scatter(
                "selected",
                "markers",
                showlegend=False,
                marker={
                    "size": 14,
                    "symbol": "square-open",
                    "color": "white",
                    "line": {"color": "white", "width": 3},
                },
                hoverinfo="skip",
            ),
        ]
        self.index = {trace.name: i for i, trace in enumerate(traces)}
        lay = style.layout(
            title,
            width=width,
            height=height,
            xaxis=style.axis("x"),
            yaxis=style.axis("y"),
            legend=False,
        )
        lay["margin"] = {"l": 70, "r": 10, "t": 50, "b": 50}
        self.figure = go.Figure(data=traces, layout=lay)

    def on_click(self, callback):
        """Call ``callback(x, y)`` with the clicked cell's axis values. Needs ``attach``."""

        def clicked(_trace, points, _state):
            xs, ys = list(points.xs), list(points.ys)
            if xs:
                callback(float(xs[0]), float(ys[0]))

        for name in ("metric", "no value", "diverged"):
            self.figure.data[self.index[name]].on_click(clicked)
        return clicked

    def update(
        self,
        x,
        y,
        values,
        diverged,
        diverged_at=None,
        *,
        label,
        log,
        x_name,
        y_name,
        title=None,
        overlay=None,
        selected=None,
    ):
        """Draw ``values[i, j]`` at ``(x[j], y[i])``.

        Args:
            x, y: the axis values (1-D).
            values: ``(len(y), len(x))`` float, NaN where there is no value.
            diverged: ``(len(y), len(x))`` bool.
            diverged_at: ``(len(y), len(x))`` int, the step of divergence (hover), or None.
            label: the metric's name for the colour bar and the hover.
            log: colour by ``log10(values)`` (a value of 0 takes the lowest colour); when a
                value is negative (a loss on a surface with f* < 0, or unbounded below) the
                colours are linear instead, and the colour bar says so.
            x_name, y_name: the hyperparameters' names (axis titles, hover, log axes).
            title: the figure title (unchanged when None).
            overlay: ``(len(y), len(x))`` values whose contour lines are drawn (log10 is
                taken), or None to hide them.
            selected: ``(x, y)`` of the selected cell, or None.
        """
        x = arrays.floats(x)
        y = arrays.floats(y)
        values = np.asarray(values, np.float64)
        diverged = np.asarray(diverged, bool)
        finite = np.isfinite(values)
        shown = np.where(finite, values, np.nan)
        log = log and not bool(np.any(shown < 0))
        if log:
            with np.errstate(divide="ignore", invalid="ignore"):
                color = np.log10(np.where(shown > 0, shown, np.nan))
            tiny = np.nanmin(color) if np.isfinite(color).any() else 0.0
            color = np.where(finite & ~np.isfinite(color), tiny, color)  # 0 -> the lowest
        else:
            color = shown
        ok = np.isfinite(color)
        lo = float(np.min(color[ok])) if ok.any() else 0.0
        hi = float(np.max(color[ok])) if ok.any() else 1.0
        fmt = {"x": _AXIS_FORMAT.get(x_name, ".3g"), "y": _AXIS_FORMAT.get(y_name, ".3g")}
        where = f"{x_name}=%{{x:{fmt['x']}}}<br>{y_name}=%{{y:{fmt['y']}}}<br>"
        # the two status layers go as 1-D columns (x, y, z per cell): 1-D float arrays
        # travel to the browser as binary buffers, 2-D ones as nested lists
        gx, gy = np.meshgrid(x, y)
        gx, gy = arrays.floats(gx), arrays.floats(gy)
        no_value = arrays.floats(np.where(~finite & ~diverged, 1.0, np.nan))
        at = np.ones(values.shape) if diverged_at is None else np.asarray(diverged_at, float)
        red = arrays.floats(np.where(diverged, at, np.nan))
        fig = self.figure
        d = fig.data
        ix = self.index
        with fig.batch_update():
            metric = d[ix["metric"]]
            metric.x, metric.y, metric.z = x, y, _grid_json(color)
            metric.customdata = _grid_json(shown)
            metric.zmin, metric.zmax = lo, (hi if hi > lo else lo + 1.0)
            metric.hovertemplate = where + f"{label}=%{{customdata:.4g}}<extra></extra>"
            ticks, text = _decade_ticks(lo, hi) if log else (None, None)
            metric.colorbar = {
                "title": {"text": label + (" (log scale)" if log else ""), "side": "right"},
                "thickness": 12,
                "tickvals": ticks,
                "ticktext": text,
            }
            grey = d[ix["no value"]]
            grey.x, grey.y, grey.z = gx, gy, no_value
            grey.hovertemplate = where + f"{label}: no value (not reached)<extra></extra>"
            div = d[ix["diverged"]]
            div.x, div.y, div.z = gx, gy, red
            div.zmin, div.zmax = 0.0, 1.0
            div.hovertemplate = where + "diverged at step %{z:.0f}<extra></extra>"
            contour = d[ix["first step"]]
            if overlay is None:
                contour.visible = False
            else:
                with np.errstate(divide="ignore", invalid="ignore"):
                    levels = np.log10(np.asarray(overlay, np.float64))
                levels = np.where(np.isfinite(levels), levels, np.nan)
                contour.x, contour.y, contour.z = x, y, _grid_json(levels)
                contour.visible = True
                contour.contours = {
                    "coloring": "lines",
                    "showlabels": True,
                    "start": -12.0,
                    "end": 2.0,
                    "size": 1.0,
                    "labelfont": {"color": "white", "size": 10},
                }
            d[ix["selected"]].x, d[ix["selected"]].y = _marker_xy(selected)
            fig.layout.xaxis.title.text = _AXIS_LABELS.get(x_name, x_name)
            fig.layout.yaxis.title.text = _AXIS_LABELS.get(y_name, y_name)
            fig.layout.xaxis.type = "log" if is_log_axis(x_name, x) else "linear"
            fig.layout.yaxis.type = "log" if is_log_axis(y_name, y) else "linear"
            if title is not None:
                fig.layout.title.text = title

    def set_selected(self, selected):
        """Move the selected-cell marker to ``(x, y)`` (or hide it with None)."""
        marker = self.figure.data[self.index["selected"]]
        with self.figure.batch_update():
            marker.x, marker.y = _marker_xy(selected)


def _marker_xy(selected):
    """The selected-cell marker's x and y: one point, or none."""
    if selected is None:
        return [], []
    return [float(selected[0])], [float(selected[1])]
