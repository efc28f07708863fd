"""LineView: lines against step on axes that stay fixed between updates.

The base of the accumulator, step-size and loss views (:class:`CoordinatePairView`: two
quantities per coordinate, the accumulator and step-size views' shape). The x range is the
step range (or one the caller fixes, e.g. the run's budget); the y range is fitted to the
data on a coarse grid (half decades on log axes, a 1-2-5 grid on linear ones) and kept
while the data stays inside it and fills it reasonably, so most updates change only the
traces' x/y and go to the browser as a redraw-free move. New axis ranges and the cursor
position ride along in the move's message; only the first update and a trace that gains or
loses all its points need a full update.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
import plotly.graph_objects as go

from adaviz.panels.kit import style
from adaviz.panels.kit.arrays import same_array
from adaviz.panels.kit.widget import MOVES_CARRY_EDITS, moving
from adaviz.panels.views._figure import FigureView, empty_scatter

#: a log range may be this many decades wider than the data before it is refitted.
LOG_SLACK = 2.0
#: decades of margin around the data on log axes (small moves stay inside the range).
LOG_MARGIN = 0.25
#: a linear range is refitted when the data fills less than this fraction of it.
LINEAR_FILL = 0.4


def _finite(arrays, positive):
    values = [np.asarray(a, dtype=np.float64).reshape(-1) for a in arrays if a is not None]
    values = [v for v in values if v.size]
    if not values:
        return None
    v = np.concatenate(values)
    ok = np.isfinite(v) & (v > 0) if positive else np.isfinite(v)
    return v[ok] if ok.any() else None


def _nice_step(span):
    """A 1-2-5 step giving about five intervals over ``span``."""
    raw = span / 5.0
    exp = 10.0 ** math.floor(math.log10(raw))
    for m in (1.0, 2.0, 5.0, 10.0):
        if raw <= m * exp:
            return m * exp
    return 10.0 * exp  # pragma: no cover


def fit_range(arrays, log, current=None, keep_inside=False):
    """The y range to show ``arrays`` (plotly units: log10 on log axes), or ``current``
    when that still fits (``keep_inside``: whenever the data lies inside it, however little
    of it the data fills). None when there is nothing finite to show."""
    v = _finite(arrays, positive=log)
    if v is None:
        return current
    lo, hi = float(v.min()), float(v.max())
    if log:
        lo, hi = math.log10(lo), math.log10(hi)
    if keep_inside and current is not None and current[0] <= lo and hi <= current[1]:
        return current
    if log:
        if current is not None and current[0] <= lo and hi <= current[1]:
            if (current[1] - current[0]) <= (hi - lo) + LOG_SLACK + 1.0:
                return current
        # a quarter decade of margin, then out to half decades
        low = math.floor((lo - LOG_MARGIN) * 2.0) / 2.0
        high = math.ceil((hi + LOG_MARGIN) * 2.0) / 2.0
        if high - low < 1.0:
            low, high = low - 0.5, high + 0.5
        return [low, high]
    if current is not None and current[0] <= lo and hi <= current[1]:
        if hi - lo >= LINEAR_FILL * (current[1] - current[0]):
            return current
    span = hi - lo
    if span <= 0:
        span = abs(hi) if hi else 1.0
    step = _nice_step(span)
    return [math.floor(lo / step) * step - 0.5 * step, math.ceil(hi / step) * step + 0.5 * step]


def batch(fig, redraw_free):
    """``moving(fig)`` when only x/y change and ``fig`` is a widget, else ``batch_update``."""
    if redraw_free and isinstance(fig, go.FigureWidget):
        return moving(fig)
    return fig.batch_update()


class LineView(FigureView):
    """A figure of line traces against step with a playback cursor line.

    Args:
        traces: the ``go.Scatter`` traces (their order is the index used by ``update``).
        title, y_title: figure and y-axis titles (units in the axis title).
        log_y: logarithmic y axis.
        width, height: pixels.
        x_title: x-axis title.
        legend: show the legend.
    """

    def __init__(
        self, traces, *, title, y_title, log_y, width, height, x_title="step", legend=True
    ):
        lay = style.layout(
            title,
            width=width,
            height=height,
            xaxis=style.axis(x_title, range=[0.0, 1.0]),
            yaxis=style.axis(y_title, log=log_y, range=[-1.0, 1.0] if log_y else [0.0, 1.0]),
            shapes=[style.cursor_line()],
            showlegend=legend,
        )
        if not legend:
            # room on the right for the last x tick label ("2000" half overhangs the plot
            # area): a label that outgrew the margin would push it, resizing the plot area
            # and redrawing the whole figure when the step range changes
            lay["margin"] = {**lay["margin"], "r": 30}
        self.figure = go.Figure(data=traces, layout=lay)
        self._log = bool(log_y)
        self._xrange = None
        self._yrange = None
        self._x = {}  # trace index -> x array currently set
        self._y = {}  # trace index -> a copy of the y array currently set
        self._cursor = 0.0
        #: whether the last update went to the browser as a redraw-free move.
        self.redraw_free = False

    # -- public ------------------------------------------------------------------
    @property
    def log_y(self):
        return self._log

    def set_cursor(self, step):
        """Move the playback cursor line to ``step`` (one relayout)."""
        step = float(step)
        if step == self._cursor:
            return
        self._cursor = step
        with self.figure.batch_update():
            self._put_cursor()

    def set_y_axis(self, title, log):
        """Change the y-axis title and type (applied with the next update, or now)."""
        lay = self.figure.layout.yaxis
        if lay.title.text == title and self._log == bool(log):
            return
        with self.figure.batch_update():
            lay.title.text = title
            lay.type = "log" if log else "linear"
        self._log = bool(log)
        self._yrange = None

    # -- for subclasses ------------------------------------------------------------
    def _update(self, series, cursor=None, range_extra=()):
        """Set traces' data now (see :meth:`_updating`); True when it went redraw-free."""
        with self._updating(series, cursor, range_extra):
            pass
        return self.redraw_free

    @contextlib.contextmanager
    def _updating(self, series, cursor=None, range_extra=(), x_range=None):
        """Set traces' data: ``series`` is a list of (trace index, x, y). The message goes
        to the browser when the block ends (redraw-free when nothing but x/y changes), so
        a controller can prepare several views and then send their messages together.
        ``x_range`` fixes the step axis (e.g. to the run's budget, so a path cut at
        divergence changes no axis, nor the y axis while its few points fit inside it);
        default: the data's step range."""
        fig = self.figure
        xs = [x for _, x, _ in series if len(x)]
        x_hi = max((float(x[-1]) for x in xs), default=None)
        if x_range is not None:
            xrange = [float(x_range[0]), float(x_range[1])]
        elif xs:
            x_lo = min(float(x[0]) for x in xs)
            xrange = [x_lo, x_hi if x_hi > x_lo else x_lo + 1.0]
        else:
            xrange = self._xrange or [0.0, 1.0]
        cut = x_range is not None and x_hi is not None and x_hi < xrange[1]
        ys = [y for _, _, y in series] + list(range_extra)
        yrange = fit_range(ys, self._log, self._yrange, keep_inside=cut)
        if yrange is None:
            yrange = self._yrange or ([-1.0, 1.0] if self._log else [0.0, 1.0])
        new_cursor = cursor is not None and float(cursor) != self._cursor
        relayout = xrange != self._xrange or yrange != self._yrange or new_cursor
        # new ranges and the cursor ride along with the move (after the first update, which
        # sets them); a trace that gains or loses all its points is shown or hidden by
        # plotly.js, which needs a full update
        rides = self._xrange is not None and MOVES_CARRY_EDITS
        shown = any(self._has_points(i) != bool(len(x) and len(y)) for i, x, y in series)
        full = shown or (relayout and not rides)
        self.redraw_free = not full
        with batch(fig, redraw_free=not full):
            for i, x, y in series:  # arrays that did not change are not sent again
                trace = fig.data[i]
                if not same_array(self._y.get(i), y):
                    trace.y = y
                    self._y[i] = np.array(y, copy=True)
                if not same_array(self._x.get(i), x):
                    trace.x = x
                    self._x[i] = np.array(x, copy=True)
            if relayout:  # new axis ranges and cursor ride along with a move
                fig.layout.xaxis.range = xrange
                fig.layout.yaxis.range = yrange
                self._xrange, self._yrange = xrange, yrange
                if new_cursor:
                    self._cursor = float(cursor)
                    self._put_cursor()
            yield

    def _has_points(self, i):
        return bool(len(self._x.get(i, ())) and len(self._y.get(i, ())))

    def _put_cursor(self):
        shape = self.figure.layout.shapes[0]
        shape.x0 = self._cursor
        shape.x1 = self._cursor


def line(name, color, *, dash="solid", width=2.0, hovertemplate=None, **extra):
    """An empty ``go.Scatter`` line trace (data comes with the first update)."""
    return empty_scatter(
        name,
        line={"color": color, "width": width, "dash": dash},
        hovertemplate=hovertemplate,
        **extra,
    )


def ghost_line(slot, width, **extra):
    """The faint, hidden line trace of ghost ``slot`` (the slot-th ghost colour and dash);
    :func:`show_ghost` fills it in, :func:`hide_ghosts` empties it again."""
    return line(
        f"ghost {slot + 1}",
        style.GHOST_COLORS[slot % len(style.GHOST_COLORS)],
        dash=style.GHOST_DASHES[slot % len(style.GHOST_DASHES)],
        width=width,
        visible=False,
        opacity=style.GHOST_OPACITY,
        hoverinfo="name",
        **extra,
    )


def show_ghost(trace, x, y, label, **extra):
    """Show the ghost ``trace`` with data ``(x, y)`` and legend/hover ``label``."""
    trace.update(x=x, y=y, name=label, visible=True, **extra)


def hide_ghosts(figure, indices):
    """Hide the ghost traces at ``indices`` of ``figure`` (their data is emptied)."""
    empty = np.zeros(0, dtype=np.float64)
    for i in indices:
        figure.data[i].update(x=empty, y=empty, visible=False)


class CoordinatePairView(LineView):
    """Two quantities per coordinate against step on a log axis: four traces, ``first``
    then ``second`` (each in its own dash and width), one colour per coordinate.

    Args:
        labels: the two quantities' legend labels (a trace is named "<label> x|y").
        dashes, widths: their line dash and width.
        title, y_title, width, height: as for :class:`LineView`.

    ``update(steps, first, second)``: ``steps`` the x values, ``first`` and ``second``
    pairs (x, y) of 1-D float arrays of the same length.
    """

    def __init__(self, labels, dashes, widths, *, title, y_title, width, height):
        traces = [
            line(
                f"{label} {coord}",
                style.COORD_COLORS[coord],
                dash=dash,
                width=line_width,
                hovertemplate=f"{label} {coord}<br>step %{{x}}<br>%{{y:.3e}}<extra></extra>",
            )
            for label, dash, line_width in zip(labels, dashes, widths, strict=True)
            for coord in ("x", "y")
        ]
        super().__init__(
            traces, title=title, y_title=y_title, log_y=True, width=width, height=height
        )

    def update(self, steps, first, second, cursor=None, x_range=None):
        """Show new curves; returns True when it went as a redraw-free move."""
        with self.updating(steps, first, second, cursor, x_range):
            pass
        return self.redraw_free

    def updating(self, steps, first, second, cursor=None, x_range=None):
        """:meth:`update` as a context manager: the message is sent when the block ends."""
        series = [(i, steps, first[i]) for i in (0, 1)]
        series += [(2 + i, steps, second[i]) for i in (0, 1)]
        return self._updating(series, cursor, x_range=x_range)
