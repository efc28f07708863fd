"""SurfacePanel's controls: Adadelta's sliders and presets, the surface and steps, playback
and the ghost buttons, each with its stable CSS class."""

from __future__ import annotations

import ipywidgets as widgets

from adaviz.panels.kit.controls import (
    Dropdown,
    HyperparameterControls,
    ghost_buttons,
    noise_controls,
    steps_slider,
)

#: steps slider range.
STEPS_RANGE = (1, 5000)

_WIDTH = "310px"  # three columns of controls in a ~940 px notebook cell
_STYLE = {"description_width": "initial"}


def play_step(steps):
    """How many steps one tick of Play advances: about 150 ticks for the whole path."""
    return max(1, steps // 150)


def make_controls(menu, key, steps, hyperparameters, noise=0.0, seed=0):
    """Every control of a SurfacePanel, not yet wired to it.

    Args:
        menu: the :class:`~adaviz.panels.kit.surface_menu.SurfaceMenu` of the dropdown.
        key: the dropdown's entry shown first.
        steps: the steps slider's value.
        hyperparameters: lr, rho, epsilon, decay to start from (None: the default).
        noise, seed: the gradient noise's standard deviation and seed.

    Returns:
        ``(hub, controls)``: the :class:`HyperparameterControls` hub and
        ``{name: widget}`` for surface, lr, rho, epsilon, decay, noise, seed, steps,
        preset, step (the scrubber), play, reset, pin and clear.

    Raises:
        ValueError: a noise the slider cannot show, or a seed out of range.
    """
    noise_slider, seed_box = noise_controls(noise, seed, width=_WIDTH)
    hub = HyperparameterControls(initial=hyperparameters)
    for control in (*hub.sliders.values(), hub.preset):
        control.layout.width = _WIDTH  # (a new Layout would orphan the old one)
    surface = Dropdown(
        name="surface",
        options=menu.options(),
        value=key,
        description="surface",
        style=_STYLE,
        layout=widgets.Layout(width=_WIDTH),
    )
    scrubber = widgets.IntSlider(
        value=0,
        min=0,
        max=steps,
        description="step",
        continuous_update=True,
        style=_STYLE,
        layout=widgets.Layout(width="390px"),
    )
    play = widgets.Play(
        value=0,
        min=0,
        max=steps,
        step=play_step(steps),
        interval=50,
        description="play",
        tooltip="Play the trajectory step by step",
    )
    widgets.link((play, "value"), (scrubber, "value"))
    pin, clear = ghost_buttons()
    controls = {
        "surface": surface,
        "lr": hub.lr,
        "rho": hub.rho,
        "epsilon": hub.epsilon,
        "decay": hub.decay,
        "noise": noise_slider,
        "seed": seed_box,
        "steps": steps_slider(steps, *STEPS_RANGE, width=_WIDTH),
        "preset": hub.preset,
        "step": scrubber,
        "play": play,
        "reset": hub.reset,
        "pin": pin,
        "clear": clear,
    }
    for name, control in controls.items():
        control.add_class(f"adaviz-{name.replace('_', '-')}")
    return hub, controls


def controls_box(controls):
    """The three columns of controls above the views."""
    c = controls
    return widgets.HBox(
        [
            widgets.VBox([c["surface"], c["steps"], widgets.HBox([c["preset"]])]),
            widgets.VBox([c["lr"], c["rho"], c["reset"]]),
            widgets.VBox([c["epsilon"], c["decay"], c["noise"], c["seed"]]),
        ]
    )
