"""The live-model views shared by :class:`~adaviz.ModelPanel` and ``AdadeltaMonitor.panel()``.

One small class per figure (:class:`LossView`, :class:`LayerLinesView` for the
accumulators and the update ratio, :class:`StepSizeView`, :class:`BoundaryView`,
:class:`FitView`), each built once and updated in place from arrays (one
``batch_update()`` per figure); a view knows nothing of the trainer or the controls.
:class:`ModelViews` composes them. Every layer keeps one colour in every view; within
the accumulator view E[g²] is solid and E[Δx²] dashed.
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
FULL_COLOR = "#0072B2"
NONFINITE_COLOR = "#cc0000"
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


class LossView:
    """Loss against step: the faint per-batch loss, its smoothed line, the loss over all
    training data (and validation data) every so often, and ghost runs.

    Trace order (fixed): the :data:`MAX_GHOSTS` ghosts, the batch loss, the validation
    loss (with ``validation``), the smoothed loss, the all-data loss.
    """

    def __init__(self, *, validation=False, title="loss"):
        self.validation = bool(validation)
        self.BATCH = MAX_GHOSTS
        self.VAL = MAX_GHOSTS + 1 if self.validation else None
        self.SMOOTHED = MAX_GHOSTS + 1 + int(self.validation)
        self.FULL = self.SMOOTHED + 1
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
        traces.append(_line("training loss (batch)", LOSS_COLOR, 1, opacity=0.3))
        if self.validation:
            traces.append(_line("validation loss", VAL_COLOR, 2, markers=True))
        traces.append(_line("training loss (smoothed)", LOSS_COLOR, 2))
        traces.append(_line("training loss (all data)", FULL_COLOR, 2, markers=True))
        self.figure = FigureWidget(
            data=traces,
            layout=layout(
                "Loss",
                width=_WIDTH,
                height=_HEIGHT,
                xaxis=axis("step"),
                yaxis=axis(title, log=True),
            ),
        )

    def update(
        self, step, loss, *, smoothed=None, full_step=None, full_loss=None, val_step=None,
        val_loss=None,
    ):  # fmt: skip
        """Redraw from 1-D arrays (``None`` leaves that line as it is)."""
        fig = self.figure
        with fig.batch_update():
            _set_line(fig.data[self.BATCH], step, loss)
            if smoothed is not None:
                _set_line(fig.data[self.SMOOTHED], step, smoothed)
            if full_step is not None:
                _set_line(fig.data[self.FULL], full_step, full_loss)
            if self.validation and val_step is not None:
                _set_line(fig.data[self.VAL], val_step, val_loss)

    def mark_nonfinite(self, step):
        """A red dotted line at ``step`` where the run went non-finite (``None``: none)."""
        shapes = []
        if step is not None:
            shapes = [
                {
                    "type": "line",
                    "xref": "x",
                    "yref": "paper",
                    "x0": float(step),
                    "x1": float(step),
                    "y0": 0.0,
                    "y1": 1.0,
                    "line": {"color": NONFINITE_COLOR, "width": 2, "dash": "dot"},
                }
            ]
        if tuple(self.figure.layout.shapes or ()) or shapes:
            self.figure.layout.shapes = shapes

    def set_ghosts(self, ghosts):
        """Show earlier runs as faint loss curves.

        Args:
            ghosts: list (oldest first, at most :data:`MAX_GHOSTS` are shown: the newest)
                of ``(label, step, loss)``.
        """
        ghosts = list(ghosts)[-MAX_GHOSTS:]
        fig = self.figure
        with fig.batch_update():
            for i in range(MAX_GHOSTS):
                trace = fig.data[i]
                if i < len(ghosts):
                    label, s, v = ghosts[i]
                    _set_line(trace, s, v)
                    trace.name = label
                    trace.visible = True
                    trace.showlegend = True
                else:
                    trace.x, trace.y = [], []
                    trace.name = ""
                    trace.visible = False
                    trace.showlegend = False


def _line(name, color, width, *, markers=False, **extra):
    """An empty line trace (with small markers when ``markers``)."""
    spec = {"marker": {"size": 4}} if markers else {}
    return go.Scatter(
        x=[], y=[], mode="lines+markers" if markers else "lines", name=name,
        line={"color": color, "width": width}, **spec, **extra,
    )  # fmt: skip


def _set_line(trace, step, values):
    """A line trace's x/y from arrays: thinned for the browser, log-axis safe, floats."""
    s, v = thin(np.asarray(step, np.float64), positive(values))
    trace.x, trace.y = floats(s), floats(v)


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
        self.figure = FigureWidget(
            data=traces,
            layout=layout(
                title,
                width=_WIDTH,
                height=_HEIGHT,
                xaxis=axis("step"),
                yaxis=axis(ytitle, log=True),
                title_font_size=12,
            ),
        )

    def update(self, step, *arrays):
        """Redraw from ``step`` (1-D) and one ``(steps, layers)`` array per series."""
        idx = thin(np.arange(len(step)))[0]
        s = floats(np.asarray(step, np.float64)[idx])
        k = len(self.series)
        fig = self.figure
        with fig.batch_update():
            for i in range(len(self.layer_names)):
                for j, values in enumerate(arrays):
                    trace = fig.data[k * i + j]
                    trace.x = s
                    trace.y = floats(positive(np.asarray(values)[idx, i]))


class StepSizeView:
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
        self.figure = FigureWidget(
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

    def update(self, step_sizes):
        """Redraw from one 1-D array of step sizes per layer."""
        edges, counts = log_histogram(step_sizes)
        fig = self.figure
        with fig.batch_update():
            for i, c in enumerate(counts):
                if edges is None:
                    fig.data[i].x, fig.data[i].y = [], []
                else:
                    fig.data[i].x = floats(edges)
                    fig.data[i].y = floats(np.append(c, c[-1]))


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
        self.figure = FigureWidget(
            data=traces,
            layout=layout(
                "Decision boundary",
                width=_WIDTH,
                height=_HEIGHT,
                xaxis=axis("x₁", range=[float(grid_x[0]), float(grid_x[-1])]),
                yaxis=axis("x₂", range=[float(grid_y[0]), float(grid_y[-1])]),
            ),
        )

    def update(self, prediction):
        """Redraw from the grid of P(class 1) (or class indices), shape (len(gy), len(gx))."""
        with self.figure.batch_update():
            self.figure.data[0].z = np.asarray(prediction, dtype=np.float64)


class FitView:
    """1D regression: the model's curve over the data."""

    def __init__(self, grid_x, x, y):
        self.figure = FigureWidget(
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
                "Model fit", width=_WIDTH, height=_HEIGHT, xaxis=axis("x"), yaxis=axis("y")
            ),
        )

    def update(self, prediction):
        """Redraw from the model's output on the grid (1-D)."""
        with self.figure.batch_update():
            self.figure.data[1].y = floats(prediction)


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
        self.loss = LossView(validation=validation, title=loss_title)
        self.accumulators = LayerLinesView(
            layer_names,
            [("E[g²]", "solid"), ("E[Δx²]", "dash")],
            title="Accumulators per layer (RMS over its parameters)",
            ytitle="RMS of the accumulator",
        )
        self.step_size = StepSizeView(layer_names)
        self.update_ratio = LayerLinesView(
            layer_names,
            [("", "solid")],
            title="Update-to-weight ratio ‖Δw‖/‖w‖ per layer",
            ytitle="‖Δw‖ / ‖w‖",
        )
        self.boundary = BoundaryView(*boundary) if boundary is not None else None
        self.fit = FitView(*fit) if fit is not None else None
        self.figures = {
            "loss": self.loss.figure,
            "accumulators": self.accumulators.figure,
            "step_sizes": self.step_size.figure,
            "update_ratio": self.update_ratio.figure,
        }
        if self.boundary is not None:
            self.figures["boundary"] = self.boundary.figure
        if self.fit is not None:
            self.figures["fit"] = self.fit.figure

    def update(
        self,
        *,
        step=None,
        loss=None,
        loss_smoothed=None,
        accum_grad_rms=None,
        accum_delta_rms=None,
        update_ratio=None,
        full_step=None,
        full_loss=None,
        val_step=None,
        val_loss=None,
        step_sizes=None,
        prediction=None,
    ):
        """Redraw the views from new data, in place (one ``batch_update`` per figure).

        Args:
            step: 1-D array of steps (x axis of the time series).
            loss, loss_smoothed: 1-D arrays, one value per step.
            accum_grad_rms, accum_delta_rms, update_ratio: arrays of shape (steps, layers).
            full_step, full_loss, val_step, val_loss: all-data / validation loss points.
            step_sizes: list of 1-D arrays (one per layer) of current effective step sizes.
            prediction: for the boundary view the grid of P(class 1) (or class indices),
                shape (len(grid_y), len(grid_x)); for the fit view the model's output on
                the grid.
        Arguments left as ``None`` leave their view unchanged.
        """
        if step is not None and loss is not None:
            self.loss.update(
                step,
                loss,
                smoothed=loss_smoothed,
                full_step=full_step,
                full_loss=full_loss,
                val_step=val_step,
                val_loss=val_loss,
            )
        if step is not None and accum_grad_rms is not None:
            self.accumulators.update(step, accum_grad_rms, accum_delta_rms)
        if step is not None and update_ratio is not None:
            self.update_ratio.update(step, update_ratio)
        if step_sizes is not None:
            self.step_size.update(step_sizes)
        if prediction is not None:
            for view in (self.boundary, self.fit):
                if view is not None:
                    view.update(prediction)

    def show(self, history, *, step_sizes=None, prediction=None):
        """Redraw from a history dict (a trainer's or a monitor's): the keys it has of
        ``step``, ``loss``, ``loss_smoothed``, ``accum_grad_rms``, ``accum_delta_rms``,
        ``update_ratio``, ``full_step``/``full_loss``, ``val_step``/``val_loss``."""
        keys = (
            "step", "loss", "loss_smoothed", "accum_grad_rms", "accum_delta_rms",
            "update_ratio", "full_step", "full_loss", "val_step", "val_loss",
        )  # fmt: skip
        self.update(
            **{k: history[k] for k in keys if k in history},
            step_sizes=step_sizes,
            prediction=prediction,
        )

    def set_ghosts(self, ghosts):
        """Show earlier runs as faint loss curves (see :meth:`LossView.set_ghosts`)."""
        self.loss.set_ghosts(ghosts)

    def widgets(self):
        """The figures in display order (loss, boundary/fit, accumulators, step sizes, ratio)."""
        order = ["loss", "boundary", "fit", "accumulators", "step_sizes", "update_ratio"]
        return [self.figures[k] for k in order if k in self.figures]
