"""TrainingLossView: a live model's loss against step, whole run, with ghosts."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from adaviz.panels.kit.arrays import floats
from adaviz.panels.kit.style import GHOST_COLORS, GHOST_DASHES, GHOST_OPACITY, axis
from adaviz.panels.views.model.common import (
    FULL_COLOR,
    LOSS_COLOR,
    MAX_GHOSTS,
    NONFINITE_COLOR,
    VAL_COLOR,
    StepAxes,
    figure,
    positive,
    thin,
)


class TrainingLossView:
    """Loss against step: the faint per-batch loss, its smoothed line, the loss over all
    training data (and validation data) every so often, and ghost runs.

    Trace order (fixed): the :data:`MAX_GHOSTS` ghosts, the batch loss, the validation
    loss (with ``validation``), the smoothed loss, the all-data loss.

    Args:
        validation: draw a validation-loss line.
        title: the y-axis title.
        summaries: draw the smoothed and all-data lines over a faint batch loss; without
            them (a loss that is already a running mean, as Keras reports it) the batch
            line is drawn plainly, as "training loss", and the two traces stay hidden.
    """

    def __init__(self, *, validation=False, title="loss", summaries=True):
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
        if summaries:
            traces.append(_line("training loss (batch)", LOSS_COLOR, 1, opacity=0.3))
        else:
            traces.append(_line("training loss", LOSS_COLOR, 1.5))
        if self.validation:
            traces.append(_line("validation loss", VAL_COLOR, 2, markers=True))
        hidden = {} if summaries else {"visible": False, "showlegend": False}
        traces.append(_line("training loss (smoothed)", LOSS_COLOR, 2, **hidden))
        traces.append(_line("training loss (all data)", FULL_COLOR, 2, markers=True, **hidden))
        self.axes = StepAxes(log_y=True)
        self._lines = {}  # trace index -> (step, values) last drawn
        self._ghost_lines = []
        self.figure = figure(
            traces,
            "Loss",
            xaxis=axis("step"),
            yaxis=axis(title, log=True),
        )

    def update(
        self, step, loss, *, smoothed=None, full_step=None, full_loss=None, val_step=None,
        val_loss=None,
    ):  # fmt: skip
        """Redraw from 1-D arrays (``None`` leaves that line as it is)."""
        fig = self.figure
        lines = [(self.BATCH, step, loss)]
        if smoothed is not None:
            lines.append((self.SMOOTHED, step, smoothed))
        if full_step is not None:
            lines.append((self.FULL, full_step, full_loss))
        if self.validation and val_step is not None:
            lines.append((self.VAL, val_step, val_loss))
        for index, s, v in lines:
            self._lines[index] = (np.asarray(s, np.float64), np.asarray(v, np.float64))
        with self._updating():
            for index, s, v in lines:
                _set_line(fig.data[index], s, v)

    def _updating(self):
        """The axes fitted to every line drawn and every ghost (see :class:`StepAxes`)."""
        drawn = list(self._lines.values()) + list(self._ghost_lines)
        last = max((float(s[-1]) for s, _ in drawn if len(s)), default=None)
        return self.axes.updating(self.figure, last, [v for _, v in drawn])

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
        self._ghost_lines = [
            (np.asarray(s, np.float64), np.asarray(v, np.float64)) for _, s, v in ghosts
        ]
        self.axes.x = None  # names and visibility change: a full redraw
        with self._updating():
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
