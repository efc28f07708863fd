"""The live-model views shared by :class:`~adaviz.ModelPanel` and ``AdadeltaMonitor.panel()``.

Figures are built once; :meth:`ModelViews.update` rewrites their traces in place, one
``batch_update()`` per figure. Every layer keeps one colour in every view; within the
accumulator view E[g²] is solid and E[Δx²] dashed.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from adaviz.panels._figures import GHOST_COLORS, GHOST_DASHES, GHOST_OPACITY, axis, floats
from adaviz.panels._figures import layout as _shared_layout
from adaviz.panels._widget import FigureWidget

#: one colour per layer (Okabe-Ito, then tab10 for deep models).
LAYER_COLORS = [
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#CC79A7",
    "#E69F00",
    "#56B4E9",
    "#1a1a1a",
    "#8c564b",
    "#7f7f7f",
    "#bcbd22",
]
LOSS_COLOR = "#1a1a1a"
VAL_COLOR = "#D55E00"
CLASS_COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"]
MAX_GHOSTS = len(GHOST_COLORS)
#: at most this many points per line are sent to the browser (strided).
MAX_POINTS = 1000
HIST_BINS = 40

_WIDTH, _HEIGHT = 480, 370


def layout(title, **kwargs):
    """The shared figure layout with the legend in rows under the plot (the figures are
    narrow, and a legend on the side would squeeze them)."""
    spec = _shared_layout(title, **kwargs)
    spec["legend"] = {
        "orientation": "h",
        "x": 0.0,
        "xanchor": "left",
        "y": -0.25,
        "yanchor": "top",
        "font": {"size": 11},
        "bgcolor": "rgba(255,255,255,0.6)",
    }
    spec["margin"] = dict(spec.get("margin", {}), l=65, r=15, t=45, b=100)
    return spec


def layer_color(i):
    """The colour of layer ``i`` in every view."""
    return LAYER_COLORS[i % len(LAYER_COLORS)]


def thin(*arrays, limit=MAX_POINTS):
    """Stride ``arrays`` (same length) down to at most ``limit`` points, keeping the last."""
    n = len(arrays[0]) if arrays else 0
    if n <= limit:
        return arrays
    index = np.unique(np.concatenate([np.arange(0, n, -(-n // limit)), [n - 1]]))
    return tuple(np.asarray(a)[index] for a in arrays)


def positive(values):
    """float array with non-positive and non-finite entries as NaN (gaps on log axes)."""
    arr = np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(arr) & (arr > 0), arr, np.nan)


def log_histogram(values_by_layer, bins=HIST_BINS):
    """Histograms of positive values over shared log-spaced bins.

    Args:
        values_by_layer: list of 1-D arrays (one per layer).

    Returns:
        ``(edges, counts)``: ``edges`` (bins + 1 values, log-spaced) and a list with one
        count array per layer. Non-positive and non-finite values are left out.
        ``edges`` is ``None`` when no layer has a positive value.
    """
    logs = []
    for values in values_by_layer:
        arr = np.asarray(values, dtype=np.float64).reshape(-1)
        logs.append(np.log10(arr[np.isfinite(arr) & (arr > 0)]))
    nonempty = [a for a in logs if a.size]
    if not nonempty:
        return None, [np.zeros(bins) for _ in logs]
    lo = min(float(a.min()) for a in nonempty)
    hi = max(float(a.max()) for a in nonempty)
    if hi - lo < 1e-6:  # all equal: a one-decade window around the value
        lo, hi = lo - 0.5, hi + 0.5
    log_edges = np.linspace(lo, hi, bins + 1)  # binned in log10, so min and max are inside
    counts = [np.histogram(a, bins=log_edges)[0].astype(np.float64) for a in logs]
    edges = 10.0**log_edges
    return edges, counts


class ModelViews:
    """The figures of a live model: loss, accumulators, step sizes, update ratio, boundary.

    Args:
        layer_names: names of the layers with trainable weights (one colour each).
        validation: draw a validation-loss line.
        boundary: for 2D classification, ``(grid_x, grid_y, x, y, n_classes)``: the 1-D grid
            coordinates, the data points and labels drawn over the decision boundary.
        fit: for 1D regression, ``(grid_x, x, y)``: the model curve over the data.
        loss_title: the y-axis title of the loss view.
    """

    def __init__(
        self, layer_names, *, validation=False, boundary=None, fit=None, loss_title="loss"
    ):
        self.layer_names = list(layer_names)
        self.validation = bool(validation)
        self.figures = {
            "loss": self._loss_figure(loss_title),
            "accumulators": self._accumulator_figure(),
            "step_sizes": self._step_size_figure(),
            "update_ratio": self._ratio_figure(),
        }
        if boundary is not None:
            self.figures["boundary"] = self._boundary_figure(*boundary)
        if fit is not None:
            self.figures["fit"] = self._fit_figure(*fit)

    # -- construction ---------------------------------------------------------
    def _loss_figure(self, title):
        traces = [
            go.Scatter(
                x=[],
                y=[],
                mode="lines",
                name="",
                showlegend=False,
                visible=False,
                opacity=GHOST_OPACITY,
                line={"color": GHOST_COLORS[i], "dash": GHOST_DASHES[i], "width": 1.5},
                hovertemplate="%{fullData.name}<br>step %{x}<br>loss %{y:.4g}<extra></extra>",
            )
            for i in range(MAX_GHOSTS)
        ]
        traces.append(
            go.Scatter(
                x=[],
                y=[],
                mode="lines",
                name="training loss (batch)",
                line={"color": LOSS_COLOR, "width": 1.5},
            )
        )
        if self.validation:
            traces.append(
                go.Scatter(
                    x=[],
                    y=[],
                    mode="lines+markers",
                    name="validation loss",
                    line={"color": VAL_COLOR, "width": 2},
                    marker={"size": 4},
                )
            )
        return FigureWidget(
            data=traces,
            layout=layout(
                "Loss",
                width=_WIDTH,
                height=_HEIGHT,
                xaxis=axis("step"),
                yaxis=axis(title, log=True),
            ),
        )

    def _accumulator_figure(self):
        traces = []
        for i, name in enumerate(self.layer_names):
            color = layer_color(i)
            traces.append(
                go.Scatter(
                    x=[],
                    y=[],
                    mode="lines",
                    name=f"{name} E[g²]",
                    legendgroup=name,
                    line={"color": color, "width": 1.5},
                )
            )
            traces.append(
                go.Scatter(
                    x=[],
                    y=[],
                    mode="lines",
                    name=f"{name} E[Δx²]",
                    legendgroup=name,
                    line={"color": color, "width": 1.5, "dash": "dash"},
                )
            )
        return FigureWidget(
            data=traces,
            layout=layout(
                "Accumulators per layer (RMS over its parameters)",
                width=_WIDTH,
                height=_HEIGHT,
                xaxis=axis("step"),
                yaxis=axis("RMS of the accumulator", log=True),
                title_font_size=12,
            ),
        )

    def _step_size_figure(self):
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
        return FigureWidget(
            data=traces,
            layout=layout(
                "Effective step sizes lr·RMS[Δx]/RMS[g], last step",
                width=_WIDTH,
                height=_HEIGHT,
                xaxis=axis("step size (log scale)", log=True),
                yaxis=axis("number of parameters"),
                title_font_size=12,
            ),
        )

    def _ratio_figure(self):
        traces = [
            go.Scatter(
                x=[],
                y=[],
                mode="lines",
                name=name,
                line={"color": layer_color(i), "width": 1.5},
            )
            for i, name in enumerate(self.layer_names)
        ]
        return FigureWidget(
            data=traces,
            layout=layout(
                "Update-to-weight ratio ‖Δw‖/‖w‖ per layer",
                width=_WIDTH,
                height=_HEIGHT,
                xaxis=axis("step"),
                yaxis=axis("‖Δw‖ / ‖w‖", log=True),
                title_font_size=12,
            ),
        )

    def _boundary_figure(self, grid_x, grid_y, x, y, n_classes):
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
        return FigureWidget(
            data=traces,
            layout=layout(
                "Decision boundary",
                width=_WIDTH,
                height=_HEIGHT,
                xaxis=axis("x₁", range=[float(grid_x[0]), float(grid_x[-1])]),
                yaxis=axis("x₂", range=[float(grid_y[0]), float(grid_y[-1])]),
            ),
        )

    def _fit_figure(self, grid_x, x, y):
        return FigureWidget(
            data=[
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
            layout=layout(
                "Model fit",
                width=_WIDTH,
                height=_HEIGHT,
                xaxis=axis("x"),
                yaxis=axis("y"),
            ),
        )

    # -- updates --------------------------------------------------------------
    def update(
        self,
        *,
        step=None,
        loss=None,
        accum_grad_rms=None,
        accum_delta_rms=None,
        update_ratio=None,
        val_step=None,
        val_loss=None,
        step_sizes=None,
        prediction=None,
    ):
        """Redraw the views from new data, in place (one ``batch_update`` per figure).

        Args:
            step: 1-D array of steps (x axis of the time series).
            loss: 1-D array, one loss per step.
            accum_grad_rms, accum_delta_rms, update_ratio: arrays of shape (steps, layers).
            val_step, val_loss: validation-loss points.
            step_sizes: list of 1-D arrays (one per layer) of current effective step sizes.
            prediction: for the boundary view the grid of P(class 1) (or class indices),
                shape (len(grid_y), len(grid_x)); for the fit view the model's output on
                the grid.
        Arguments left as ``None`` leave their view unchanged.
        """
        if step is not None and loss is not None:
            fig = self.figures["loss"]
            s, v = thin(np.asarray(step, np.float64), positive(loss))
            with fig.batch_update():
                fig.data[MAX_GHOSTS].x = floats(s)
                fig.data[MAX_GHOSTS].y = floats(v)
                if self.validation and val_step is not None:
                    vs, vv = thin(np.asarray(val_step, np.float64), positive(val_loss))
                    fig.data[MAX_GHOSTS + 1].x = floats(vs)
                    fig.data[MAX_GHOSTS + 1].y = floats(vv)
        if step is not None and accum_grad_rms is not None:
            fig = self.figures["accumulators"]
            a = np.asarray(accum_grad_rms)
            d = np.asarray(accum_delta_rms)
            idx = thin(np.arange(len(step)))[0]
            s = floats(np.asarray(step, np.float64)[idx])
            with fig.batch_update():
                for i in range(len(self.layer_names)):
                    fig.data[2 * i].x = s
                    fig.data[2 * i].y = floats(positive(a[idx, i]))
                    fig.data[2 * i + 1].x = s
                    fig.data[2 * i + 1].y = floats(positive(d[idx, i]))
        if step is not None and update_ratio is not None:
            fig = self.figures["update_ratio"]
            r = np.asarray(update_ratio)
            idx = thin(np.arange(len(step)))[0]
            s = floats(np.asarray(step, np.float64)[idx])
            with fig.batch_update():
                for i in range(len(self.layer_names)):
                    fig.data[i].x = s
                    fig.data[i].y = floats(positive(r[idx, i]))
        if step_sizes is not None:
            edges, counts = log_histogram(step_sizes)
            fig = self.figures["step_sizes"]
            with fig.batch_update():
                for i, c in enumerate(counts):
                    if edges is None:
                        fig.data[i].x, fig.data[i].y = [], []
                    else:
                        fig.data[i].x = floats(edges)
                        fig.data[i].y = floats(np.append(c, c[-1]))
        if prediction is not None:
            if "boundary" in self.figures:
                fig = self.figures["boundary"]
                with fig.batch_update():
                    fig.data[0].z = np.asarray(prediction, dtype=np.float64)
            elif "fit" in self.figures:
                fig = self.figures["fit"]
                with fig.batch_update():
                    fig.data[1].y = floats(prediction)

    def set_ghosts(self, ghosts):
        """Show earlier runs as faint loss curves.

        Args:
            ghosts: list (oldest first, at most :data:`MAX_GHOSTS` are shown: the newest)
                of ``(label, step, loss)``.
        """
        ghosts = list(ghosts)[-MAX_GHOSTS:]
        fig = self.figures["loss"]
        with fig.batch_update():
            for i in range(MAX_GHOSTS):
                trace = fig.data[i]
                if i < len(ghosts):
                    label, s, v = ghosts[i]
                    s, v = thin(np.asarray(s, np.float64), positive(v))
                    trace.x, trace.y = floats(s), floats(v)
                    trace.name = label
                    trace.visible = True
                    trace.showlegend = True
                else:
                    trace.x, trace.y = [], []
                    trace.name = ""
                    trace.visible = False
                    trace.showlegend = False

    def widgets(self):
        """The figures in display order (loss, boundary/fit, accumulators, step sizes, ratio)."""
        order = ["loss", "boundary", "fit", "accumulators", "step_sizes", "update_ratio"]
        return [self.figures[k] for k in order if k in self.figures]
