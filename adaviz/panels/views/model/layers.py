"""Per-layer views of a live model: lines against step, and the step-size histogram."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from adaviz.panels.kit.arrays import floats
from adaviz.panels.kit.style import axis
from adaviz.panels.views.model.common import (
    StepAxes,
    figure,
    layer_color,
    log_histogram,
    positive,
    thin,
)


class LayerLinesView:
    """Per-layer lines against step: one colour per layer, one dash per series.

    Args:
        layer_names: the layers (one colour each).
        series: ``[(label, dash)]``: per layer one line per series (label "" for one).
        title, ytitle: the figure's title and y-axis title (log axis).
    """

    def __init__(self, layer_names, series, *, title, ytitle):
        self.layer_names = list(layer_names)
        self.series = list(series)
        traces = []
        for i, name in enumerate(self.layer_names):
            for label, dash in self.series:
                traces.append(
                    go.Scatter(
                        x=[],
                        y=[],
                        mode="lines",
                        name=f"{name} {label}".strip(),
                        legendgroup=name,
                        line={"color": layer_color(i), "width": 1.5, "dash": dash},
                    )
                )
        self.axes = StepAxes(log_y=True)
        self.figure = figure(
            traces,
            title,
            xaxis=axis("step"),
            yaxis=axis(ytitle, log=True),
            title_font_size=12,
        )

    def update(self, step, *arrays):
        """Redraw from ``step`` (1-D) and one ``(steps, layers)`` array per series."""
        idx = thin(np.arange(len(step)))[0]
        s = floats(np.asarray(step, np.float64)[idx])
        k = len(self.series)
        fig = self.figure
        last = float(step[-1]) if len(step) else None
        with self.axes.updating(fig, last, [np.asarray(a) for a in arrays]):
            for i in range(len(self.layer_names)):
                for j, values in enumerate(arrays):
                    trace = fig.data[k * i + j]
                    trace.x = s
                    trace.y = floats(positive(np.asarray(values)[idx, i]))


class StepSizeHistogramView:
    """Histogram of every parameter's effective step size per layer, on a log x axis."""

    def __init__(self, layer_names):
        self.layer_names = list(layer_names)
        traces = [
            go.Scatter(
                x=[],
                y=[],
                mode="lines",
                name=name,
                line={"color": layer_color(i), "width": 1.5},
                line_shape="hv",
                fill="tozeroy",
                opacity=0.8,
            )
            for i, name in enumerate(self.layer_names)
        ]
        self.figure = figure(
            traces,
            "Effective step sizes lr·RMS[Δx]/RMS[g], last step",
            # at most about three labels a decade: over a decade or so plotly labels every
            # digit (3, 4, 5 ... x 10^-2), and the labels ran into each other
            xaxis=axis("step size (log scale)", log=True, nticks=3),
            yaxis=axis("number of parameters"),
            title_font_size=12,
        )
        #: ``(edges, counts)`` last drawn (see :func:`log_histogram`)
        self.histogram = (None, [np.zeros(0) for _ in self.layer_names])

    def update(self, step_sizes):
        """Redraw from one 1-D array of step sizes per layer."""
        edges, counts = self.histogram = log_histogram(step_sizes)
        fig = self.figure
        with fig.batch_update():
            for i, c in enumerate(counts):
                if edges is None:
                    fig.data[i].x, fig.data[i].y = [], []
                else:
                    fig.data[i].x = floats(edges)
                    fig.data[i].y = floats(np.append(c, c[-1]))
