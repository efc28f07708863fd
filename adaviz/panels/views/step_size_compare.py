"""CompareStepSizeView: the realized step size of several optimizers against step."""

from __future__ import annotations

from adaviz.panels.views.lines import LineView, line


class CompareStepSizeView(LineView):
    """The realized step size against step: per run (one colour each), x solid, y dotted.

    Traces ``"{name} x"`` and ``"{name} y"`` per run, in the order of ``names``.
    ``update(step_numbers, step_sizes)``: per run its x values and a pair (x, y) of 1-D
    float arrays.
    """

    def __init__(self, names, colors, *, width=455, height=230):
        traces = []
        for name, color in zip(names, colors, strict=True):
            for coord, dash in (("x", "solid"), ("y", "dot")):
                traces.append(
                    line(
                        f"{name} {coord}",
                        color,
                        dash=dash,
                        width=1.8,
                        hovertemplate=f"{name} {coord}<br>step %{{x}}<br>%{{y:.3e}}<extra></extra>",
                    )
                )
        super().__init__(
            traces,
            title="realized step size Δx / (−g) (solid x, dotted y)",
            y_title="step size (x²/loss)",
            log_y=True,
            width=width,
            height=height,
            legend=False,
        )

    def update(self, step_numbers, step_sizes):
        """Show new step sizes; returns True when it went as a redraw-free move."""
        series = []
        for i, (numbers, (sx, sy)) in enumerate(zip(step_numbers, step_sizes, strict=True)):
            series += [(2 * i, numbers, sx), (2 * i + 1, numbers, sy)]
        return self._update(series)
