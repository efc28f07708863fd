"""LossView: the loss of one or several runs against step, with faint ghost runs."""

from __future__ import annotations

from adaviz.panels.kit import style
from adaviz.panels.views import lines
from adaviz.panels.views.lines import LineView, batch, line


class LossView(LineView):
    """Loss curves: one trace per run (``runs`` names, ``colors``), then ``ghosts`` faint slots.

    ``update(steps, losses)``: ``losses`` one 1-D array per run (``steps`` shared, or one x
    array per run). ``show_ghost(slot, x, y, label)`` / ``hide_ghosts()`` manage the ghosts.
    """

    def __init__(
        self,
        *,
        runs=("loss",),
        colors=None,
        ghosts=5,
        width=455,
        height=195,
        title="loss",
        y_title="loss − f* (loss units)",
        log_y=True,
        legend=False,
    ):
        colors = list(colors or [style.TRAJECTORY_COLOR] * len(runs))
        traces = [
            line(name, color, hovertemplate="step %{x}<br>%{y:.4e}<extra></extra>")
            for name, color in zip(runs, colors, strict=True)
        ]
        traces += [lines.ghost_line(slot, 1.5, showlegend=False) for slot in range(ghosts)]
        super().__init__(
            traces,
            title=title,
            y_title=y_title,
            log_y=log_y,
            width=width,
            height=height,
            legend=legend,
        )
        # a short plot over a few decades: at most ~3 labelled ticks, so that the log axis
        # labels decades instead of 2, 5, 20, 50 ... squeezed on top of one another
        self.figure.layout.yaxis.nticks = 3
        self.runs = len(runs)
        self.ghost_slots = ghosts
        self._ghost_y = {}  # slot -> y of a visible ghost (kept inside the y range)

    def update(self, steps, losses, cursor=None):
        """Show new loss curves; returns True when it went as a redraw-free move."""
        with self.updating(steps, losses, cursor):
            pass
        return self.redraw_free

    def updating(self, steps, losses, cursor=None, x_range=None):
        """:meth:`update` as a context manager: the message is sent when the block ends."""
        xs = steps if isinstance(steps, (list, tuple)) else [steps] * len(losses)
        series = [(i, xs[i], y) for i, y in enumerate(losses)]
        extra = list(self._ghost_y.values())
        return self._updating(series, cursor, range_extra=extra, x_range=x_range)

    def show_ghost(self, slot, x, y, label):
        """Show ghost ``slot`` with data ``(x, y)`` and legend/hover ``label``."""
        self._ghost_y[slot] = y
        with self.figure.batch_update():
            lines.show_ghost(self.figure.data[self.runs + slot], x, y, label)

    def hide_ghosts(self):
        """Hide every ghost (their data is emptied)."""
        self._ghost_y.clear()
        with batch(self.figure, redraw_free=False):
            lines.hide_ghosts(self.figure, range(self.runs, self.runs + self.ghost_slots))
