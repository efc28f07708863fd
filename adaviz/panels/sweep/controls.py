"""SweepPanel's controls besides the fixed hyperparameters' sliders (the metric, the
first-step overlay, the loss scale, the gradient noise and its seeds per cell, the button
that opens a cell in a SurfacePanel) and the readout under the map."""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from adaviz.panels.kit.controls import LOSS_SCALE, Dropdown, IntSlider, make_slider, noise_controls
from adaviz.panels.kit.style import fmt

#: the metric dropdown: name -> label.
METRIC_LABELS = {
    "final_loss": "final loss",
    "min_loss": "lowest loss on the way",
    "distance_to_minimum": "final distance to the minimum",
    "steps_to_converge": "steps to converge",
}

_WIDTH = "330px"
#: the most noise seeds per cell the panel runs (K in [1, SEEDS_MAX])
SEEDS_MAX = 16


def make_controls(metrics, metric, overlay, exponent, noise=0.0, seeds=1):
    """``{metric, overlay, loss_scale, noise, seeds, open}``, each with its CSS class
    ``adaviz-<name>``.

    Args:
        metrics: the metrics the sweep has (the dropdown offers those).
        metric: the metric shown first.
        overlay: whether the first-step overlay is on.
        exponent: the loss-scale exponent k.
        noise: the gradient noise's standard deviation in every run.
        seeds: runs per cell with noise, K in [1, 16] (the map shows their mean).

    Raises:
        ValueError: a noise the slider cannot show, or ``seeds`` out of range.
    """
    noise_slider, _ = noise_controls(noise, 0, width=_WIDTH)
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
        "noise": noise_slider,
        "seeds": IntSlider(
            name="seeds",
            value=seeds,
            min=1,
            max=SEEDS_MAX,
            description="noise seeds per cell",
            continuous_update=False,
            style={"description_width": "initial"},
            layout=widgets.Layout(width=_WIDTH),
        ),
        "open": widgets.Button(
            description="open in SurfacePanel",
            icon="external-link",
            tooltip="Show the selected cell's run in a SurfacePanel below",
            disabled=True,
            layout=widgets.Layout(width="auto"),  # the default 148 px cuts the label
        ),
    }
    for name, control in controls.items():
        control.add_class(f"adaviz-{name.replace('_', '-')}")
    return controls


def layout(controls, hub, figures):
    """The panel's rows: these controls beside the fixed hyperparameters' sliders (``hub``),
    then the map and the selected run's path, then its accumulators and step sizes."""
    names = ("metric", "overlay", "loss_scale", "noise", "seeds", "open")
    top = widgets.HBox(
        [
            widgets.VBox([controls[name] for name in names]),
            widgets.VBox([*hub.sliders.values(), hub.reset]),
        ],
        layout=widgets.Layout(flex_flow="row wrap"),
    )
    return [
        top,
        widgets.HBox([figures["heatmap"], figures["surface"]]),
        widgets.HBox([figures["accumulators"], figures["step_size"]]),
    ]


def readout_html(sweep, selected=None):
    """The readout of ``sweep``: runs, diverged and empty cells, the best cell, and the
    ``selected`` cell's settings and value."""
    s = sweep
    noisy = (
        f", gradient noise σ = {fmt(s.noise)}: each cell the mean over {s.seeds} seeds, "
        "diverged when any seed diverged"
        if s.noise > 0
        else ""
    )
    parts = [
        f"<b>{s.values.size * s.seeds:,} runs</b> × {s.steps} steps{noisy}, "
        f"{int(s.diverged.sum()):,} diverged (red), "
        f"{int((np.isnan(s.values) & ~s.diverged).sum()):,} without a value (grey)"
    ]
    try:
        index, best = s.best()
        parts.append(
            f"best {METRIC_LABELS[s.metric]} {fmt(s.values[index])} at "
            + ", ".join(f"{k}={fmt(v)}" for k, v in best.items())
        )
    except ValueError:
        pass
    if selected is not None:
        cell = s.settings(*selected)
        state = "diverged" if s.diverged[selected] else fmt(s.values[selected])
        parts.append(
            f"selected {selected}: "
            + ", ".join(f"{k}={fmt(v)}" for k, v in cell.items())
            + f" → {METRIC_LABELS[s.metric]} {state}"
        )
    return "<br>".join(parts)
