"""StepSizeView: Adadelta's realized step size per coordinate next to Newton's 1/|H_ii|."""

from __future__ import annotations

from adaviz.panels import _figures as F
from adaviz.panels.views.lines import LineView, line

TRACE_NAMES = ("Adadelta x", "Adadelta y", "Newton x", "Newton y")


class StepSizeView(LineView):
    """The effective step size (solid) and Newton's 1/|f_ii| (dotted), per coordinate.

    ``update(step_numbers, step_size, newton)``: x values (1, 2, ...), then pairs (x, y)
    of 1-D float arrays.
    """

    def __init__(
        self, *, width=455, height=195, title="effective step size (dotted: Newton 1/|H_ii|)"
    ):
        traces = []
        for label, dash in (("Adadelta", "solid"), ("Newton", "dot")):
            for coord in ("x", "y"):
                traces.append(
                    line(
                        f"{label} {coord}",
                        F.COORD_COLORS[coord],
                        dash=dash,
                        width=2.0 if dash == "solid" else 1.5,
                        hovertemplate=f"{label} {coord}<br>step %{{x}}<br>%{{y:.3e}}<extra></extra>",
                    )
                )
        super().__init__(
            traces,
            title=title,
            y_title="step size (x²/loss)",
            log_y=True,
            width=width,
            height=height,
        )

    def update(self, step_numbers, step_size, newton, cursor=None):
        """Show new step sizes; returns True when it went as a redraw-free move."""
        with self.updating(step_numbers, step_size, newton, cursor):
            pass
        return self.redraw_free

    def updating(self, step_numbers, step_size, newton, cursor=None):
        """:meth:`update` as a context manager: the message is sent when the block ends."""
        series = [(i, step_numbers, step_size[i]) for i in (0, 1)]
        series += [(2 + i, step_numbers, newton[i]) for i in (0, 1)]
        return self._updating(series, cursor)
