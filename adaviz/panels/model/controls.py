"""ModelPanel's controls: play, pause, step, reset, the speed, the batch size, the
continue/restart choice and Adadelta's sliders, each with its stable CSS class."""

from __future__ import annotations

import ipywidgets as widgets

from adaviz.panels.kit.controls import HyperparameterControls, IntSlider
from adaviz.panels.model.play import SPEEDS

MODES = ("continue", "restart")

_STYLE = {"description_width": "initial"}


def make_controls(values, batch_size, samples, mode, speed):
    """``(hub, controls)``: the hyperparameter hub (starting at ``values``) and every
    control by name, not yet wired to the panel.

    Args:
        batch_size: the batch-size slider's value, 1 to ``samples``.
        mode: "continue" or "restart"; speed: steps per second (0: as fast as possible).
    """
    hub = HyperparameterControls(initial=values)
    hub.reset.description = "default settings"
    hub.reset.tooltip = "Back to the starting hyperparameters"
    button = dict(layout=widgets.Layout(width="90px"))
    controls = {
        "play": widgets.Button(description="play", icon="play", **button),
        "pause": widgets.Button(description="pause", icon="pause", **button),
        "step": widgets.Button(description="step", icon="step-forward", **button),
        "reset": widgets.Button(
            description="reset", icon="refresh", tooltip="Fresh weights and state (same seed)",
            **button,
        ),
        "lr": hub.lr,
        "rho": hub.rho,
        "epsilon": hub.epsilon,
        "decay": hub.decay,
        "preset": hub.preset,
        "batch_size": IntSlider(
            name="batch_size", value=batch_size, min=1, max=samples, step=1,
            description="batch size", continuous_update=False, style=_STYLE,
            layout=widgets.Layout(width="330px"),
        ),
        "mode": widgets.ToggleButtons(
            options=list(MODES),
            value=mode,
            description="on change",
            tooltips=[
                "new settings apply from the next step, state kept",
                "new settings restart from fresh weights and state (same seed)",
            ],
            style={"description_width": "initial", "button_width": "80px"},
        ),
        "speed": widgets.Dropdown(
            options=list(SPEEDS.items()), value=speed, description="speed", style=_STYLE,
            layout=widgets.Layout(width="330px"),
        ),
        "reset_settings": hub.reset,
    }  # fmt: skip
    for name, control in controls.items():
        control.add_class(f"adaviz-{name.replace('_', '-')}")
    return hub, controls


def wire(controls, hub, panel, changed, set_speed):
    """Connect the buttons to ``panel``'s play/pause/step/reset, the hyperparameter hub and
    the batch size to ``changed()``, and the speed to ``set_speed(steps per second)``."""
    hub.subscribe(lambda _changed: changed())
    controls["play"].on_click(lambda _: panel.play())
    controls["pause"].on_click(lambda _: panel.pause())
    controls["step"].on_click(lambda _: panel.step(1))
    controls["reset"].on_click(lambda _: panel.reset())
    controls["batch_size"].observe(lambda _: changed(), names="value")
    controls["speed"].observe(lambda change: set_speed(change["new"]), names="value")


def layout(controls, hub, readouts, figures):
    """The panel's rows: buttons, speed, batch, mode and readouts beside the sliders, then
    the figures two by two."""
    c = controls
    buttons = widgets.HBox([c["play"], c["pause"], c["step"], c["reset"]])
    left = widgets.VBox([buttons, c["speed"], c["batch_size"], c["mode"], readouts])
    rows = [widgets.HBox(figures[i : i + 2]) for i in range(0, len(figures), 2)]
    return [widgets.HBox([left, hub.widget()]), *rows]
