"""SweepPanel's controls besides the fixed hyperparameters' sliders: the metric, the
first-step overlay, the loss scale and the button that opens a cell in a SurfacePanel."""

from __future__ import annotations

import ipywidgets as widgets

from adaviz.panels.kit.controls import LOSS_SCALE, Dropdown, make_slider

#: the metric dropdown: name -> label.
METRIC_LABELS = {
    "final_loss": "final loss",
    "min_loss": "lowest loss on the way",
    "distance_to_minimum": "final distance to the minimum",
    "steps_to_converge": "steps to converge",
}

_WIDTH = "330px"


def make_controls(metrics, metric, overlay, exponent):
    """``{metric, overlay, loss_scale, open}``, each with its CSS class ``adaviz-<name>``.

    Args:
        metrics: the metrics the sweep has (the dropdown offers those).
        metric: the metric shown first.
        overlay: whether the first-step overlay is on.
        exponent: the loss-scale exponent k.
    """
    controls = {
        "metric": Dropdown(
            name="metric",
            options=[(label, name) for name, label in METRIC_LABELS.items() if name in metrics],
            value=metric,
            description="metric",
            style={"description_width": "initial"},
            layout=widgets.Layout(width=_WIDTH),
        ),
        "overlay": widgets.Checkbox(
            value=bool(overlay),
            description="first step lr·√(ε/(1−ρ)) (contours, log10)",
            indent=False,
            layout=widgets.Layout(width=_WIDTH),
        ),
        "loss_scale": make_slider(LOSS_SCALE, exponent, width=_WIDTH),
        "open": widgets.Button(
            description="open in SurfacePanel",
            icon="external-link",
            tooltip="Show the selected cell's run in a SurfacePanel below",
            disabled=True,
        ),
    }
    for name, control in controls.items():
        control.add_class(f"adaviz-{name.replace('_', '-')}")
    return controls
