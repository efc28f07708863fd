"""The controls hub (adaviz.panels.kit.controls): one notification per change, subscribers by
name, presets, reset, one slider factory, checks."""

from __future__ import annotations

import re

import ipywidgets as widgets
import numpy as np
import pytest

from adaviz.panels.kit.controls import (
    PRESETS,
    Controls,
    HyperparameterControls,
    ParamSpec,
    flag,
    ghost_buttons,
    loss_scale_exponent,
    make_slider,
    same_settings,
)


def test_subscribers_get_what_changed_once_per_change():
    hp = HyperparameterControls(initial={"rho": 0.9})
    everything, rho_only, legacy = [], [], []
    hp.subscribe(everything.append)
    unsubscribe = hp.subscribe(rho_only.append, names=["rho"])
    hp2 = HyperparameterControls(on_change=lambda: legacy.append(1))
    hp.rho.value = 0.8
    hp.lr.value = 0.5
    assert everything == [{"rho": 0.8}, {"lr": 0.5}]
    assert rho_only == [{"rho": 0.8}]
    hp.set_values(rho=0.7, epsilon=1e-5)  # two sliders, one notification
    assert everything[-1] == {"rho": 0.7, "epsilon": pytest.approx(1e-5)}
    assert rho_only[-1] == {"rho": 0.7}
    unsubscribe()
    hp.rho.value = 0.6
    assert rho_only[-1] == {"rho": 0.7}
    assert len(everything) == 4
    hp2.preset.value = "Zeiler 2012 paper"  # four sliders, one call
    assert legacy == [1]


def test_presets_follow_the_sliders_and_reset_restores():
    hp = HyperparameterControls()
    calls = []
    hp.subscribe(calls.append)
    assert hp.preset.value == "Keras 2 / TF 1.x tf.keras"
    hp.preset.value = "PyTorch default"
    assert hp.values() == pytest.approx(PRESETS["PyTorch default"])
    assert len(calls) == 1
    hp.rho.value = 0.5
    assert hp.preset.value == "custom" and len(calls) == 2  # the dropdown follows silently
    hp.reset.click()
    assert hp.values() == pytest.approx(PRESETS["Keras 2 / TF 1.x tf.keras"])
    assert hp.preset.value == "Keras 2 / TF 1.x tf.keras" and len(calls) == 3


def test_one_factory_log_sliders_and_other_parameter_sets():
    hp = HyperparameterControls()
    assert isinstance(hp.lr, widgets.FloatLogSlider) and isinstance(
        hp.epsilon, widgets.FloatLogSlider
    )
    assert (hp.lr.min, hp.lr.max) == (-4.0, 1.0)
    assert isinstance(hp.rho, widgets.FloatSlider)
    # another optimizer's sliders from the same factory (what a compare panel needs)
    momentum = Controls(
        {
            "lr": ParamSpec("lr", 1e-4, 10.0, log=True, step=0.05),
            "momentum": ParamSpec("momentum", 0.0, 0.999, step=0.001),
            "beta_1": ParamSpec("beta_1", 0.0, 0.999, step=0.001),
        },
        initial={"lr": 0.01, "momentum": 0.9, "beta_1": 0.9},
        presets={"Keras": {"lr": 0.01, "momentum": 0.0}},
    )
    seen = []
    momentum.subscribe(seen.append, names=["beta_1"])
    momentum.beta_1.value = 0.5
    momentum.momentum.value = 0.5
    assert seen == [{"beta_1": 0.5}]
    assert momentum.preset.value == "custom"
    momentum.preset.value = "Keras"
    assert momentum.values()["momentum"] == 0.0
    s = make_slider(ParamSpec("x", 1e-3, 1.0, log=True), 0.1)
    assert isinstance(s, widgets.FloatLogSlider) and s.value == pytest.approx(0.1)


def test_checks_name_the_argument_value_and_range():
    with pytest.raises(ValueError, match=r"rho must be in \[0, 1\], got 1.5"):
        HyperparameterControls(initial={"rho": 1.5})
    with pytest.raises(
        ValueError, match=r"lr must be in \[0.0001, 10\] for the panel's slider, got 100.0"
    ):
        HyperparameterControls(initial={"lr": 100.0})
    hp = HyperparameterControls()
    with pytest.raises(
        ValueError, match="unknown hyperparameter 'beta'; allowed: lr, rho, epsilon, decay"
    ):
        hp.set_values(beta=0.5)
    with pytest.raises(ValueError, match="momentum must be in"):
        Controls({"momentum": ParamSpec("momentum", 0.0, 0.99)}, initial={"momentum": 2.0})
    with pytest.raises(ValueError, match="gamma must be a finite number, got 'x'"):
        Controls({"gamma": ParamSpec("gamma", 0.0, 1.0)}, initial={"gamma": "x"})
    with pytest.raises(ValueError, match="names must be among"):
        hp.subscribe(print, names=["beta"])


def test_a_flag_is_a_checkbox_from_the_same_factory_holding_a_bool():
    specs = {"lr": ParamSpec("lr", 1e-5, 10.0, log=True, step=1 / 21), "amsgrad": flag("amsgrad")}
    hub = Controls(
        specs, initial={"amsgrad": np.bool_(True)}, defaults={"lr": 1e-3, "amsgrad": False}
    )
    assert isinstance(hub.amsgrad, widgets.Checkbox) and hub.amsgrad.description == "amsgrad"
    assert hub.values() == {"lr": pytest.approx(1e-3), "amsgrad": True}
    assert type(hub.values()["amsgrad"]) is bool
    seen = []
    hub.subscribe(seen.append, names=["amsgrad"])
    hub.amsgrad.value = False
    hub.lr.value = 0.01
    assert seen == [{"amsgrad": False}]
    hub.set_values(amsgrad=1, lr=0.1)  # 0 / 1 are accepted as False / True
    assert hub.values()["amsgrad"] is True and seen[-1] == {"amsgrad": True}
    hub.reset.click()
    assert hub.values()["amsgrad"] is True  # the starting settings
    for bad in (0.5, "yes", None):
        with pytest.raises(ValueError, match=f"amsgrad must be True or False, got {bad!r}"):
            hub.set_values(amsgrad=bad)


def test_same_settings_treats_values_within_half_a_tick_as_one():
    specs = {
        "lr": ParamSpec("lr", 1e-5, 10.0, log=True, step=1 / 21),
        "rho": ParamSpec("rho", 0.0, 1.0, step=0.005),
        "centered": flag("centered"),
    }
    a = {"lr": 1e-3, "rho": 0.9, "centered": False}
    half_tick = 10 ** (1 / 21 / 2)  # half a tick of the lr slider, as a factor
    assert same_settings(specs, a, dict(a, lr=1e-3 * half_tick**0.9, rho=0.902))
    assert not same_settings(specs, a, dict(a, lr=1e-3 * half_tick**1.1))
    assert not same_settings(specs, a, dict(a, rho=0.903))
    assert not same_settings(specs, a, dict(a, centered=True))
    assert same_settings({}, {"x": 1.0}, {"x": 1.0}) and not same_settings(
        {}, {"x": 1.0}, {"x": 1.01}
    )


def test_ghost_buttons_are_pin_and_clear_as_in_the_surface_panel():
    pin, clear = ghost_buttons("Keep the paths")
    assert (pin.description, pin.icon, pin.tooltip) == ("pin", "thumb-tack", "Keep the paths")
    assert (clear.description, clear.icon) == ("clear", "eraser")
    clicks = []
    pin.on_click(lambda _: clicks.append("pin"))
    pin.click()
    assert clicks == ["pin"]


def test_the_loss_scale_slider_shows_the_exponent_and_refuses_what_it_cannot_show():
    assert loss_scale_exponent(100.0) == pytest.approx(2.0)
    assert loss_scale_exponent(1e-3) == -3.0 and loss_scale_exponent(1) == 0.0
    with pytest.raises(ValueError, match=r"loss_scale must be a finite number > 0, got -1.0"):
        loss_scale_exponent(-1.0)
    with pytest.raises(
        ValueError, match=r"loss_scale must be in \[1e-3, 1e3\] for the panel's slider .*got 5000.0"
    ):
        loss_scale_exponent(5000.0)


@pytest.mark.parametrize(
    ("name", "value", "allowed"),
    [("rho", 7.0, "[0, 1]"), ("lr", 1e9, "[0.0001, 10]"), ("epsilon", 0.5, "[1e-10, 0.1]")],
)
def test_a_value_set_from_code_outside_the_slider_is_refused_not_clamped(name, value, allowed):
    hub = HyperparameterControls()
    before = hub.values()
    message = f"{name} must be in {allowed} for the panel's slider, got {value!r}"
    with pytest.raises(ValueError, match=re.escape(message)):
        hub.sliders[name].value = value
    assert hub.values() == before  # nothing moved


def test_a_steps_slider_refuses_out_of_range_and_takes_rounding_at_its_ends():
    from adaviz.panels.kit.controls import steps_slider

    slider = steps_slider(10, 1, 5000)
    for bad in (10**9, -5, 0):
        with pytest.raises(ValueError, match=rf"steps must be in \[1, 5000\] .*got {bad}"):
            slider.value = bad
    assert slider.value == 10
    hub = HyperparameterControls()
    hub.sliders["lr"].value = 10.000000000001  # a browser's 10**1 in floating point
    assert hub.values()["lr"] == 10.0


def test_panels_refuse_what_their_sliders_would_clamp_and_name_unknown_surfaces():
    import adaviz

    panel = adaviz.SurfacePanel(steps=50, static_fallback=False)
    with pytest.raises(ValueError, match=r"rho must be in \[0, 1\] for the panel's slider, got 7"):
        panel.controls["rho"].value = 7.0
    with pytest.raises(ValueError, match=r"steps must be in \[1, 5000\].*got 1000000000"):
        panel.controls["steps"].value = 10**9
    assert panel.hyperparameters["rho"] == 0.95 and panel.trajectory.steps == 50
    with pytest.raises(ValueError, match=r"surface must be one of .*'rosenbrock'.*got 'nope'"):
        panel.controls["surface"].value = "nope"
    assert panel.surface.name == "rosenbrock"
    panel.close()
