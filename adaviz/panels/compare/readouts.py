"""The readouts under a comparison panel, as HTML from numbers (no engine, no widgets)."""

from __future__ import annotations

import html
import math

from adaviz.panels.kit.style import fmt


def result_text(diverged_at, final_loss):
    """'diverged at step t' (``diverged_at`` >= 0) or 'final loss ...'."""
    if diverged_at >= 0:
        return f"diverged at step {int(diverged_at)}"
    return f"final loss {fmt(final_loss, 4)}"


def table_html(rows, steps, scale, note):
    """The table of runs: per row ``(name, colour, settings html, result text, moved)``
    (``moved``: the distance the path moved against loss scale 1, None for '—', ``inf``
    for 'diverged'), after ``steps`` steps at loss ``scale``; ``note`` under it."""
    cells = []
    for name, color, settings, result, moved in rows:
        moved_text = (
            "—" if moved is None else ("diverged" if not math.isfinite(moved) else fmt(moved))
        )
        cells.append(
            f"<tr><td><b style='color:{color}'>■ {html.escape(name)}</b></td>"
            f"<td>{settings}</td><td>{html.escape(result)}</td><td>{moved_text}</td></tr>"
        )
    return (
        "<table style='border-collapse:collapse' cellpadding='3'>"
        "<tr><th align='left'>optimizer</th><th align='left'>settings</th>"
        f"<th align='left'>after {steps} steps</th>"
        f"<th align='left'>path moved vs k = 0 (loss × {fmt(scale)})</th></tr>"
        + "".join(cells)
        + f"</table><div style='color:#555'>{html.escape(note)}</div>"
    )


def code_block_html(code):
    """The copy-as-code block: ``{name: constructor}``, one assignment per line."""
    lines = "\n".join(f"{html.escape(name)} = {html.escape(text)}" for name, text in code.items())
    return (
        "<b>copy as code</b> (Keras 3)<pre style='margin:2px 0'>import keras, adaviz\n"
        f"{lines}</pre>"
    )


def title_html(names, surface_name):
    """The panel's title: the rules compared on the surface, same start and budget."""
    return (
        f"<b style='font-size:15px'>{html.escape(', '.join(names))} on "
        f"{html.escape(surface_name)}</b> — same start, same budget of steps"
    )


def tune_note(grid, window):
    """What Tune does, under the table: the lr ``grid`` and the objective's ``window``
    (a fraction of the budget)."""
    return (
        f"Tune: each optimizer's lr over {len(grid)} values in [{grid[0]:g}, "
        f"{grid[-1]:g}], objective: mean loss over the last {window:.0%} of the "
        "budget (diverged: ∞)."
    )
