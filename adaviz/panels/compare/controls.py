"""The controls of a comparison of update rules: each rule's sliders, the checks of what
a panel is given, and the honest label of each run (defaults, changed by you, tuned)."""

from __future__ import annotations

import html

import ipywidgets as widgets

from adaviz import _math
from adaviz._validate import check_rule_hyperparameters
from adaviz.panels.compare.runs import LR_GRID, STEPS_RANGE
from adaviz.panels.kit.controls import (
    LOSS_SCALE,
    Controls,
    ParamSpec,
    flag,
    ghost_buttons,
    make_slider,
    same_settings,
    steps_slider,
)
from adaviz.panels.kit.style import fmt

#: the control of each hyperparameter; lr, epsilon and the accumulator start are log sliders,
#: the flags checkboxes.
SPECS = {
    # 1/21 decade: every value of LR_GRID (a tick every 2/21 decade) is a slider tick, so a
    # tuned lr is shown, echoed back by the browser and run unchanged
    "lr": ParamSpec("lr", 1e-5, 10.0, log=True, step=1.0 / 21.0, description="lr"),
    "epsilon": ParamSpec(
        "epsilon", 1e-10, 1e-1, log=True, step=0.1, description="ε", readout_format=".1e"
    ),
    "rho": ParamSpec("rho", 0.0, 1.0, step=0.005, description="ρ", readout_format=".3f"),
    "decay": ParamSpec("decay", 0.0, 0.1, step=0.001, description="decay", readout_format=".3f"),
    "momentum": ParamSpec(
        "momentum", 0.0, 0.999, step=0.001, description="momentum", readout_format=".3f"
    ),
    "beta_1": ParamSpec("beta_1", 0.0, 0.999, step=0.001, description="β₁", readout_format=".3f"),
    "beta_2": ParamSpec("beta_2", 0.0, 0.9999, step=0.0001, description="β₂", readout_format=".4f"),
    "initial_accumulator_value": ParamSpec(
        "initial_accumulator_value", 1e-4, 10.0, log=True, step=0.1, description="a₀"
    ),
    "centered": flag("centered", "centered"),
    "amsgrad": flag("amsgrad", "amsgrad"),
}


def check_optimizers(optimizers):
    """The rule names of ``optimizers`` (a name or a list), lower case, each once.

    Raises:
        ValueError: not a list of names, an empty list, an unknown or a repeated name.
    """
    valid = ", ".join(_math.RULES)
    if isinstance(optimizers, str):
        optimizers = (optimizers,)
    try:
        names = list(optimizers)
    except TypeError:
        raise ValueError(
            f"optimizers must be a list of names among {valid}, got {optimizers!r}"
        ) from None
    if not names:
        raise ValueError(f"optimizers must name at least one of {valid}, got {optimizers!r}")
    checked = []
    for name in names:
        if not isinstance(name, str) or name.lower() not in _math.RULES:
            raise ValueError(f"optimizers must be among {valid}, got {name!r}")
        if name.lower() in checked:
            raise ValueError(f"optimizers must name each rule once, got {name!r} twice")
        checked.append(name.lower())
    return tuple(checked)


def check_hyperparameters(names, hyperparameters):
    """``{name: {hyperparameter: value}}`` of the values given for the rules ``names``
    (``learning_rate`` as ``lr``), each one its slider can show.

    Raises:
        ValueError: a rule that is not compared, a hyperparameter of another rule, or a
            value out of the rule's or its slider's range.
    """
    given = dict(hyperparameters or {})
    for name in given:
        if name not in names:
            raise ValueError(
                f"hyperparameters names an optimizer that is not compared, {name!r}; "
                f"compared: {', '.join(names)}"
            )
    initial = {}
    for name in names:
        rule = _math.rule(name)
        values = dict(given.get(name) or {})
        checked = check_rule_hyperparameters(rule, values, others=_math.RULES.values())
        if "learning_rate" in values:
            values["lr"] = values.pop("learning_rate")
        initial[name] = {hp: SPECS[hp].check(checked[hp]) for hp in values}
    return initial


def rule_controls(name, initial, width):
    """The :class:`~adaviz.panels.kit.controls.Controls` of rule ``name``: one control per
    hyperparameter (CSS class ``adaviz-<rule>-<hyperparameter>``) and a reset button
    (``adaviz-<rule>-reset``), starting from ``initial`` over the rule's defaults."""
    rule = _math.rule(name)
    specs = {hp: SPECS[hp] for hp in rule.hyperparameters}
    hub = Controls(specs, initial=initial, defaults=dict(rule.defaults))
    for hp, slider in hub.sliders.items():
        slider.layout.width = width
        slider.add_class(f"adaviz-{name}-{hp.replace('_', '-')}")
    hub.reset.layout.width = "90px"
    hub.reset.add_class(f"adaviz-{name}-reset")
    return hub


def panel_controls(surfaces, surface, steps, exponent, width):
    """The controls every rule shares, ``{"surface", "steps", "loss_scale", "tune", "pin",
    "clear": widget}`` (CSS class ``adaviz-<key>``, ``_`` as ``-``): the surface dropdown
    (``surfaces`` its options, ``surface`` chosen), the budget slider at ``steps``, the
    loss-scale slider at exponent ``exponent``, the Tune button and the pin / clear buttons."""
    style = {"description_width": "initial"}
    pin, clear = ghost_buttons(
        "Keep the current paths as faint ghosts to compare with the next ones"
    )
    top = {
        "surface": widgets.Dropdown(
            options=surfaces,
            value=surface,
            description="surface",
            style=style,
            layout=widgets.Layout(width=width),
        ),
        "steps": steps_slider(steps, *STEPS_RANGE, description="steps (budget)", width=width),
        "loss_scale": make_slider(LOSS_SCALE, exponent, width=width),
        "tune": widgets.Button(
            description="Tune",
            icon="search",
            tooltip="For every optimizer: its best lr of 64 (1e-5 ... 10), same objective",
        ),
        "pin": pin,
        "clear": clear,
    }
    for key, control in top.items():
        control.add_class(f"adaviz-{key.replace('_', '-')}")
    return top


def changed(name, values):
    """``[(hyperparameter, "name = value")]`` of those rule ``name`` runs away from its
    defaults at ``values``."""
    rule = _math.rule(name)
    return [
        (hp, f"{hp} = {fmt(values[hp]) if hp not in rule.flags else values[hp]}")
        for hp in rule.hyperparameters
        if not same_settings(SPECS, {hp: values[hp]}, {hp: rule.defaults[hp]})
    ]


def ghost_label(name, values, k):
    """The label of a pinned ghost of rule ``name`` run with ``values`` at loss scale
    ``10**k``: its lr, what else differs from the defaults, and k when it is not 0."""
    lr = fmt(values["lr"])
    others = [text for hp, text in changed(name, values) if hp != "lr"]
    return ", ".join([f"ghost: {name}, lr = {lr}", *others] + ([f"k = {k:g}"] if k else []))


def label(name, values, tuned=None, found=False, where=""):
    """``(short label, html detail)`` of rule ``name`` running with ``values``.

    Args:
        tuned: the values the last tune set (None: never tuned).
        found: whether that tune found an lr at which a run did not diverge.
        where: '' when the tune was made in the current context, else where it was made.
    """
    rule = _math.rule(name)
    if tuned is not None and same_settings(SPECS, values, tuned):
        lr = fmt(values["lr"])
        grid = f"{len(LR_GRID)} values in [{LR_GRID[0]:g}, {LR_GRID[-1]:g}]"
        where = f" for {where}" if where else ""
        if not found:
            return f"tuned{where}: every lr diverged", (
                f"<b>tuning failed</b>{html.escape(where)}: every lr of the {grid} "
                f"diverged; lr kept at {lr}"
            )
        return f"tuned{where} (lr = {lr})", (
            f"<b>tuned</b>{html.escape(where)}: lr = {lr}, the best of {grid}"
        )
    if same_settings(SPECS, values, rule.defaults):
        whose = "adaviz.Adadelta's" if name == "adadelta" else "Keras 3's"
        return "library defaults", f"<b>library defaults</b> ({whose})"
    text = ", ".join(text for _, text in changed(name, values))
    return "changed by you", f"<b>changed by you</b>: {html.escape(text)}"
