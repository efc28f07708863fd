"""Views of a live model against its data: the decision boundary and the 1D fit."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from adaviz.panels.kit.arrays import floats
from adaviz.panels.kit.style import axis
from adaviz.panels.views.model.common import (
    CLASS_COLORS,
    LAYER_COLORS,
    figure,
)


class BoundaryView:
    """2D classification: P(class 1) (or the predicted class) over a grid, and the data."""

    def __init__(self, grid_x, grid_y, x, y, n_classes):
        grid_x, grid_y = floats(grid_x), floats(grid_y)
        if n_classes <= 2:
            surface = go.Contour(
                x=grid_x,
                y=grid_y,
                z=np.full((len(grid_y), len(grid_x)), 0.5),
                zmin=0.0,
                zmax=1.0,
                colorscale="RdBu_r",
                opacity=0.55,
                contours={"start": 0.0, "end": 1.0, "size": 0.1},
                line={"width": 0.5},
                showscale=True,
                colorbar={"title": {"text": "P(class 1)"}, "thickness": 12, "len": 0.8},
                hovertemplate="x1 %{x:.2f}<br>x2 %{y:.2f}<br>P(class 1) %{z:.3f}<extra></extra>",
            )
        else:
            surface = go.Heatmap(
                x=grid_x,
                y=grid_y,
                z=np.zeros((len(grid_y), len(grid_x))),
                zmin=-0.5,
                zmax=n_classes - 0.5,
                opacity=0.45,
                showscale=False,
                colorscale=[
                    [k / (n_classes - 1), CLASS_COLORS[k % len(CLASS_COLORS)]]
                    for k in range(n_classes)
                ],
                hovertemplate="x1 %{x:.2f}<br>x2 %{y:.2f}<br>class %{z}<extra></extra>",
            )
        traces = [surface]
        labels = np.asarray(y).reshape(-1)
        for k in range(max(n_classes, 2)):
            mask = labels == k
            traces.append(
                go.Scatter(
                    x=floats(np.asarray(x)[mask, 0]),
                    y=floats(np.asarray(x)[mask, 1]),
                    mode="markers",
                    name=f"class {k}",
                    marker={
                        "color": CLASS_COLORS[k % len(CLASS_COLORS)],
                        "size": 5,
                        "line": {"color": "white", "width": 0.5},
                    },
                )
            )
        self.figure = figure(
            traces,
            "Decision boundary",
            xaxis=axis("x₁", range=[float(grid_x[0]), float(grid_x[-1])]),
            yaxis=axis("x₂", range=[float(grid_y[0]), float(grid_y[-1])]),
        )

    def update(self, prediction):
        """Redraw from the grid of P(class 1) (or class indices), shape (len(gy), len(gx))."""
        with self.figure.batch_update():
            self.figure.data[0].z = np.asarray(prediction, dtype=np.float64)


class FitView:
    """1D regression: the model's curve over the data."""

    def __init__(self, grid_x, x, y):
        self.figure = figure(
            [
                go.Scatter(
                    x=floats(np.asarray(x)[:, 0]),
                    y=floats(y),
                    mode="markers",
                    name="data",
                    marker={"color": "#7f7f7f", "size": 4},
                ),
                go.Scatter(
                    x=floats(grid_x),
                    y=np.zeros(len(grid_x)),
                    mode="lines",
                    name="model",
                    line={"color": LAYER_COLORS[0], "width": 2.5},
                ),
            ],
            "Model fit",
            xaxis=axis("x"),
            yaxis=axis("y"),
        )

    def update(self, prediction):
        """Redraw from the model's output on the grid (1-D)."""
        with self.figure.batch_update():
            self.figure.data[1].y = floats(prediction)
