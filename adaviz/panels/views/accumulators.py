"""AccumulatorView: Adadelta's E[g²] and E[Δx²] per coordinate against step (log axis)."""

from __future__ import annotations

from adaviz.panels.views.lines import CoordinatePairView

TRACE_NAMES = ("E[g²] x", "E[g²] y", "E[Δx²] x", "E[Δx²] y")


class AccumulatorView(CoordinatePairView):
    """E[g²] (solid) and E[Δx²] (dashed), one colour per coordinate.

    ``update(steps, accum_grad, accum_delta)``: ``steps`` the x values, ``accum_grad`` and
    ``accum_delta`` pairs (x, y) of 1-D float arrays of the same length; ``updating(...)``
    the same as a context manager (see :class:`CoordinatePairView`).
    """

    def __init__(self, *, width=455, height=195, title="accumulators"):
        super().__init__(
            ("E[g²]", "E[Δx²]"),
            ("solid", "dash"),
            (2.0, 2.0),
            title=title,
            y_title="E[g²]: (loss/x)², E[Δx²]: x²",
            width=width,
            height=height,
        )
