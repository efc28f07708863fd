"""The readouts under a trajectory panel, as HTML from numbers (no engine, no widgets)."""

from __future__ import annotations

import html

from adaviz.panels.kit.style import fmt


def first_step_html(first, formula, lr, rho, epsilon):
    """'first step |Δx|, |Δy| ≈ lr·√(ε/(1−ρ)) = ...' for the measured ``first`` (|Δx|, |Δy|)
    and the ``formula`` value (``inf`` at ρ = 1, where it is undefined)."""
    if rho < 1.0:
        formula_text = (
            f"lr·√(ε/(1−ρ)) = {fmt(lr)}·√({fmt(epsilon, 2)}/(1−{fmt(rho, 4)})) "
            f"= <b>{fmt(formula)}</b>"
        )
    else:
        formula_text = (
            "lr·√(ε/(1−ρ)) is undefined at ρ = 1 (the averages never move: "
            "every step is lr·gradient)"
        )
    return (
        f"<b>first step</b> |Δx| = {fmt(first[0])}, |Δy| = {fmt(first[1])} "
        f"&nbsp;≈&nbsp; {formula_text} (when (1−ρ)·g² ≫ ε)"
    )


def outcome_html(values, steps, tolerance, has_minima):
    """Divergence or final loss, then distance and steps to converge, from ``values``
    (keys ``diverged_at``, ``final_loss``, ``distance_to_minimum``, ``steps_to_converge``)."""
    diverged = values["diverged_at"]
    rows = []
    if diverged is not None:
        rows.append(
            f"<b style='color:#b00000'>diverged at step {diverged}</b>: the path is shown "
            f"up to step {diverged - 1}; lower lr or raise ρ to bring it back"
        )
    else:
        rows.append(f"<b>final loss</b> {fmt(values['final_loss'], 4)} after {steps} steps")
    if has_minima and diverged is None:
        conv = values["steps_to_converge"]
        rows.append(
            f"<b>distance to the nearest minimum</b> "
            f"{fmt(values['distance_to_minimum'], 4)} &nbsp;·&nbsp; "
            f"<b>steps to converge</b> (loss within {tolerance:g} of f*) "
            + (f"{conv}" if conv is not None else f"not reached in {steps} steps")
        )
    elif not has_minima:
        rows.append("this surface has no minimum (the loss is unbounded below)")
    return rows


def code_html(code):
    """The copy-as-code line (selects as a whole on click)."""
    return (
        "<b>as code</b> &nbsp;<code style='user-select:all;-webkit-user-select:all;"
        f"font-size:13px'>{html.escape(code)}</code>"
    )
