"""Hyperparameter controls shared by every panel: sliders, presets and reset.

One place defines the ranges (so impossible states cannot be reached from the UI),
the presets, and the "one change -> one callback" behaviour: applying a preset moves
four sliders but notifies the panel once.
"""

from __future__ import annotations

import contextlib
import math

import ipywidgets as widgets

from adaviz._validate import check_hyperparameter

#: Preset name -> hyperparameters (decay 0 throughout).
PRESETS = {
    "Zeiler 2012 paper": {"lr": 1.0, "rho": 0.95, "epsilon": 1e-6, "decay": 0.0},
    "legacy tf.keras": {"lr": 1.0, "rho": 0.95, "epsilon": 1e-7, "decay": 0.0},
    "Keras 3 default": {"lr": 0.001, "rho": 0.95, "epsilon": 1e-7, "decay": 0.0},
    "PyTorch default": {"lr": 1.0, "rho": 0.9, "epsilon": 1e-6, "decay": 0.0},
}
CUSTOM = "custom"
DEFAULTS = dict(PRESETS["legacy tf.keras"])

# Slider ranges. lr and epsilon are logarithmic (they span decades).
LR_EXP = (-4.0, 1.0)  # 1e-4 ... 10
EPS_EXP = (-10.0, -1.0)  # 1e-10 ... 1e-1
RHO_RANGE = (0.0, 1.0)
DECAY_RANGE = (0.0, 0.1)

_STYLE = {"description_width": "initial"}
_LAYOUT = widgets.Layout(width="330px")


def _clip(value, low, high):
    return min(max(value, low), high)


def check_in_slider_range(name, value):
    """Validate a hyperparameter and check that the panel's slider can show it."""
    value = check_hyperparameter(name, value)
    ranges = {
        "lr": (10 ** LR_EXP[0], 10 ** LR_EXP[1]),
        "rho": RHO_RANGE,
        "epsilon": (10 ** EPS_EXP[0], 10 ** EPS_EXP[1]),
        "decay": DECAY_RANGE,
    }
    low, high = ranges[name]
    if (
        not (low <= value <= high)
        and not math.isclose(value, low)
        and not math.isclose(value, high)
    ):
        raise ValueError(
            f"{name} must be in [{low:g}, {high:g}] for the panel's slider, got {value!r}"
        )
    return value


class HyperparameterControls:
    """lr / rho / epsilon / decay sliders, a preset dropdown and a reset button.

    Args:
        initial: starting hyperparameters (missing keys take the legacy tf.keras defaults).
        on_change: called with no arguments once per user-visible change
            (one slider move, or one preset applied).
    """

    def __init__(self, initial=None, on_change=None):
        values = dict(DEFAULTS)
        values.update({k: v for k, v in (initial or {}).items() if v is not None})
        for name in ("lr", "rho", "epsilon", "decay"):
            values[name] = check_in_slider_range(name, values[name])
        self.initial = values
        self._on_change = on_change
        self._holding = 0
        self._pending = False

        self.lr = widgets.FloatLogSlider(
            value=values["lr"],
            base=10,
            min=LR_EXP[0],
            max=LR_EXP[1],
            step=0.05,
            description="lr (learning rate)",
            readout_format=".3g",
            continuous_update=True,
            style=_STYLE,
            layout=_LAYOUT,
        )
        self.rho = widgets.FloatSlider(
            value=values["rho"],
            min=RHO_RANGE[0],
            max=RHO_RANGE[1],
            step=0.005,
            description="ρ (rho, decay of E[·])",
            readout_format=".3f",
            continuous_update=True,
            style=_STYLE,
            layout=_LAYOUT,
        )
        self.epsilon = widgets.FloatLogSlider(
            value=values["epsilon"],
            base=10,
            min=EPS_EXP[0],
            max=EPS_EXP[1],
            step=0.1,
            description="ε (epsilon)",
            readout_format=".1e",
            continuous_update=True,
            style=_STYLE,
            layout=_LAYOUT,
        )
        self.decay = widgets.FloatSlider(
            value=values["decay"],
            min=DECAY_RANGE[0],
            max=DECAY_RANGE[1],
            step=0.001,
            description="decay (lr / (1 + decay·t))",
            readout_format=".3f",
            continuous_update=True,
            style=_STYLE,
            layout=_LAYOUT,
        )
        self.preset = widgets.Dropdown(
            options=[CUSTOM, *PRESETS],
            value=self._matching_preset(),
            description="preset",
            style=_STYLE,
            layout=_LAYOUT,
        )
        self.reset = widgets.Button(
            description="reset", icon="undo", tooltip="Back to the starting settings"
        )
        for slider in self.sliders.values():
            slider.observe(self._slider_moved, names="value")
        self.preset.observe(self._preset_chosen, names="value")
        self.reset.on_click(lambda _: self.set_values(**self.initial))

    # -- public ---------------------------------------------------------------
    @property
    def sliders(self):
        return {"lr": self.lr, "rho": self.rho, "epsilon": self.epsilon, "decay": self.decay}

    def values(self):
        """Current hyperparameters as a dict of floats."""
        return {name: float(s.value) for name, s in self.sliders.items()}

    def set_values(self, **values):
        """Set several hyperparameters at once; the panel is notified once."""
        with self.hold():
            for name, value in values.items():
                self.sliders[name].value = value
        return self

    @contextlib.contextmanager
    def hold(self):
        """Coalesce the notifications of several changes into one."""
        self._holding += 1
        try:
            yield
        finally:
            self._holding -= 1
            if self._holding == 0:
                self._sync_preset()
                if self._pending:
                    self._pending = False
                    self._notify()

    def widget(self):
        """The controls laid out as one box."""
        return widgets.VBox(
            [widgets.HBox([self.preset, self.reset]), self.lr, self.rho, self.epsilon, self.decay]
        )

    # -- internals ------------------------------------------------------------
    def _matching_preset(self):
        current = (
            {name: float(s.value) for name, s in self.sliders.items()}
            if hasattr(self, "decay")
            else None
        )
        if current is None:
            current = self.initial
        for name, preset in PRESETS.items():
            if all(
                math.isclose(current[k], v, rel_tol=1e-9, abs_tol=1e-12) for k, v in preset.items()
            ):
                return name
        return CUSTOM

    def _sync_preset(self):
        name = self._matching_preset()
        if self.preset.value != name:
            self._holding += 1  # the dropdown follows the sliders; no extra notification
            try:
                self.preset.value = name
            finally:
                self._holding -= 1

    def _slider_moved(self, _change):
        if self._holding:
            self._pending = True
            return
        self._sync_preset()
        self._notify()

    def _preset_chosen(self, change):
        if self._holding or change["new"] == CUSTOM:
            return
        self.set_values(**PRESETS[change["new"]])

    def _notify(self):
        if self._on_change is not None:
            self._on_change()
