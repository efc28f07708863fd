"""AccumulatorView: Adadelta's E[g²] and E[Δx²] per coordinate against step (log axis)."""

from __future__ import annotations

from adaviz.panels import _figures as F
from adaviz.panels.views.lines import LineView, line

TRACE_NAMES = ("E[g²] x", "E[g²] y", "E[Δx²] x", "E[Δx²] y")


class AccumulatorView(LineView):
    """E[g²] (solid) and E[Δx²] (dashed), one colour per coordinate.

    ``update(steps, accum_grad, accum_delta)``: ``steps`` the x values, ``accum_grad`` and
    ``accum_delta`` pairs (x, y) of 1-D float arrays of the same length.
    """

    def __init__(self, *, width=455, height=195, title="accumulators"):
        traces = []
        for label, dash in (("E[g²]", "solid"), ("E[Δx²]", "dash")):
            for coord in ("x", "y"):
                traces.append(
                    line(
                        f"{label} {coord}",
                        F.COORD_COLORS[coord],
                        dash=dash,
                        hovertemplate=f"{label} {coord}<br>step %{{x}}<br>%{{y:.3e}}<extra></extra>",
                    )
                )
        super().__init__(
            traces,
            title=title,
            y_title="E[g²]: (loss/x)², E[Δx²]: x²",
            log_y=True,
            width=width,
            height=height,
        )

    def update(self, steps, accum_grad, accum_delta, cursor=None):
        """Show new accumulators; returns True when it went as a redraw-free move."""
        with self.updating(steps, accum_grad, accum_delta, cursor):
            pass
        return self.redraw_free

    def updating(self, steps, accum_grad, accum_delta, cursor=None):
        """:meth:`update` as a context manager: the message is sent when the block ends."""
        series = [(i, steps, accum_grad[i]) for i in (0, 1)]
        series += [(2 + i, steps, accum_delta[i]) for i in (0, 1)]
        return self._updating(series, cursor)
