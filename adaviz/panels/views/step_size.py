"""StepSizeView: Adadelta's realized step size per coordinate next to Newton's 1/|H_ii|."""

from __future__ import annotations

from adaviz.panels.views.lines import CoordinatePairView

TRACE_NAMES = ("Adadelta x", "Adadelta y", "Newton x", "Newton y")


class StepSizeView(CoordinatePairView):
    """The effective step size (solid) and Newton's 1/|f_ii| (dotted), per coordinate.

    ``update(step_numbers, step_size, newton)``: x values (1, 2, ...), then pairs (x, y)
    of 1-D float arrays; ``updating(...)`` the same as a context manager (see
    :class:`CoordinatePairView`).
    """

    def __init__(
        self, *, width=455, height=195, title="effective step size (dotted: Newton 1/|H_ii|)"
    ):
        super().__init__(
            ("Adadelta", "Newton"),
            ("solid", "dot"),
            (2.0, 1.5),
            title=title,
            y_title="step size (x²/loss)",
            width=width,
            height=height,
        )
