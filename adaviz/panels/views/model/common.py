"""What the live-model views share: layer colours, the narrow layout, thinning, histograms.

Used by :mod:`model_loss`, :mod:`model_layers` and :mod:`model_data` (the views of
:class:`~adaviz.ModelPanel` and ``AdadeltaMonitor.panel()``). Every layer keeps one
colour in every view.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np

from adaviz.panels.kit.style import GHOST_COLORS
from adaviz.panels.kit.style import layout as _shared_layout

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

VIEW_WIDTH, VIEW_HEIGHT = 480, 370


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


def figure(traces, title, *, xaxis, yaxis, **extra):
    """A view's ``FigureWidget``: ``traces`` in the narrow layout (:func:`layout`)."""
    from adaviz.panels.kit.widget import FigureWidget

    return FigureWidget(
        data=traces,
        layout=layout(
            title, width=VIEW_WIDTH, height=VIEW_HEIGHT, xaxis=xaxis, yaxis=yaxis, **extra
        ),
    )


def step_ceiling(step):
    """The x-axis end for a run at ``step``: the next of 1, 2, 5 x 10^k (at least 10)."""
    step = max(float(step), 10.0)
    exp = 10.0 ** math.floor(math.log10(step))
    for m in (1.0, 2.0, 5.0, 10.0):
        if step <= m * exp * (1 + 1e-12):
            return m * exp
    return 10.0 * exp  # pragma: no cover


class StepAxes:
    """Axis ranges of a growing run, kept between updates.

    x from 0 to a 1-2-5 ceiling of the last step (:func:`step_ceiling`), y fitted on a
    coarse grid (:func:`adaviz.panels.views.lines.fit_range`): most updates then change
    only the traces' x/y and go to the browser as a redraw-free move, which costs the
    browser a few milliseconds instead of a full redraw.

    Args:
        log_y: whether the y axis is logarithmic.
    """

    def __init__(self, log_y=True):
        self.log_y = bool(log_y)
        self.x = None
        self.y = None
        #: whether the last update went to the browser redraw-free.
        self.redraw_free = False

    @contextlib.contextmanager
    def updating(self, fig, last_step, ys):
        """Change ``fig``'s traces inside the block; the ranges follow ``last_step`` and
        the y arrays ``ys`` (a full redraw only when a range has to change)."""
        from adaviz.panels.views.lines import batch, fit_range

        x = [0.0, step_ceiling(last_step)] if last_step is not None else (self.x or [0.0, 10.0])
        y = fit_range(ys, self.log_y, self.y) or self.y or ([-1.0, 1.0] if self.log_y else [0, 1])
        full = x != self.x or y != self.y
        with batch(fig, redraw_free=not full):
            yield
            if full:
                fig.layout.xaxis.range = x
                fig.layout.yaxis.range = y
                self.x, self.y = x, y
        self.redraw_free = not full


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
