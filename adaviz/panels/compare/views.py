"""ComparePanel's figures: one path, loss curve and step size per rule, and the sensitivity
of each to its lr (the last Tune's objective)."""

from __future__ import annotations

import math

import numpy as np

from adaviz.panels.compare.ghosts import slots as ghost_slots
from adaviz.panels.compare.runs import LR_GRID, tune_window
from adaviz.panels.kit.arrays import positive_or_nan
from adaviz.panels.kit.style import fmt
from adaviz.panels.views import CompareStepSizeView, ContourView, LossView, SensitivityView


def make_views(names, colors):
    """The panel's views by name: surface, loss, step_size, sensitivity."""
    contour_ghosts, loss_ghosts = ghost_slots(len(names))
    return {
        "surface": ContourView(
            paths=names,
            colors=colors,
            ghosts=contour_ghosts,
            marker=False,
            title="paths on the loss surface (same start and budget)",
        ),
        "loss": LossView(
            runs=names,
            colors=colors,
            ghosts=loss_ghosts,
            height=230,
            title="loss against step",
            legend=False,
        ),
        "step_size": CompareStepSizeView(names, colors),
        "sensitivity": SensitivityView(names, colors, lrs=LR_GRID),
    }


def draw_losses(view, drawn, f_star):
    """Draw each rule's loss curve (``drawn``: :func:`~adaviz.panels.compare.runs.drawn`
    per rule), as f − f* on a log axis when f* is known; returns ``(steps, losses)``."""
    gap = math.isfinite(f_star)
    losses = [d["loss"] for d in drawn]
    log = gap or all(bool(np.all(y[np.isfinite(y)] > 0)) for y in losses)
    view.set_y_axis(f"f − f* (f* = {fmt(f_star, 4)}, the surface's units)" if gap else "f", log)
    losses = [positive_or_nan(y) if log else y for y in losses]
    steps = [d["loss_steps"] for d in drawn]
    view.update(steps, losses)
    return steps, losses


def draw_sensitivity(view, tune, surface_name, elsewhere, gap, f_star, names, *, drawn=None):
    """Show ``tune`` (a :class:`~adaviz.panels.compare.runs.Tune` or None) in ``view``.

    Args:
        elsewhere: where the tune was made when that is not the current context ('' when
            it is), named in the title.
        gap: whether the loss is drawn as f − f* (``f_star`` known).
        drawn: what the view shows now (this function's last return value): nothing is
            sent when it would not change.

    Returns:
        What the view shows now.
    """
    empty = tune is None or tune.context[0] != surface_name
    now = ("empty", gap) if empty else (tune.number, elsewhere, gap)
    if now == drawn:
        return drawn
    if empty:
        view.show_empty(gap)
        return now
    steps = tune.context[1]
    view.show_tune(
        LR_GRID,
        [tune.curves[name] for name in names],
        f_star,
        title=f"tuning: mean loss over the last {tune_window(steps)} of {steps} steps vs lr"
        + (f" (tuned for {elsewhere})" if elsewhere else " (star: chosen)"),
    )
    return now
