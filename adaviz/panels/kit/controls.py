"""Hyperparameter controls many views and panels subscribe to: sliders, presets, reset.

One :class:`Controls` hub owns a set of named sliders (made by one factory,
:func:`make_slider`, from :class:`ParamSpec`s: log sliders for quantities spanning
decades such as lr and epsilon, a checkbox for an on/off flag such as Adam's
``amsgrad``, see :func:`flag`), an optional preset dropdown and a reset button. Views
never build sliders; they subscribe::

    from adaviz.panels.kit.controls import Controls, ParamSpec, HyperparameterControls

    hp = HyperparameterControls(initial={"rho": 0.9})       # Adadelta: lr, rho, epsilon, decay
    hp.subscribe(lambda changed: redraw.request())          # every change
    hp.subscribe(on_rho, names=["rho"])                     # only when rho moved
    hp.set_values(rho=0.95, epsilon=1e-6)                   # one notification for both
    hp.values()                                             # {"lr": 1.0, "rho": 0.95, ...}

    momentum = Controls(                                     # any other set of parameters
        {"lr": ParamSpec("lr", 1e-4, 10.0, log=True, step=0.05, description="lr"),
         "momentum": ParamSpec("momentum", 0.0, 0.999, step=0.001, description="momentum")},
        initial={"lr": 0.01, "momentum": 0.9},
        presets={"Keras default": {"lr": 0.01, "momentum": 0.0}},
    )

A subscriber is called with a dict ``{name: new value}`` of the parameters changed since
the last notification (applying a preset moves several sliders but notifies once; the
preset dropdown follows the sliders without notifying). ``subscribe`` returns a function
that unsubscribes. :data:`ADADELTA` holds the Adadelta specs, :data:`PRESETS` its presets.
:func:`same_settings` says whether two settings are one as their sliders show them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import numbers

import ipywidgets as widgets
import numpy as np

from adaviz._validate import RANGES, check_hyperparameter

CUSTOM = "custom"

_STYLE = {"description_width": "initial"}
_WIDTH = "330px"


@dataclasses.dataclass(frozen=True)
class ParamSpec:
    """What a slider may show: name, range, log or linear, step, label and readout format.

    For a log slider ``low``/``high`` are the values at the ends (e.g. 1e-4 and 10) and
    ``step`` is in decades. A ``flag`` (see :func:`flag`) is a checkbox holding a bool.
    """

    name: str
    low: float
    high: float
    log: bool = False
    step: float = 0.01
    description: str = ""
    readout_format: str = ".3g"
    flag: bool = False

    def check(self, value):
        """``value`` as a float (a bool for a flag), refused unless the control can show it.

        Raises:
            ValueError: not a finite real number (a flag: not True/False or 0/1), outside
                the parameter's own range (Adadelta's, see :mod:`adaviz._validate`) or
                outside the slider's.
        """
        if self.flag:
            if isinstance(value, (numbers.Real, np.bool_)) and value in (0, 1):
                return bool(value)
            raise ValueError(f"{self.name} must be True or False, got {value!r}")
        if self.name in RANGES:
            value = check_hyperparameter(self.name, value)
        elif (
            isinstance(value, bool)
            or not isinstance(value, numbers.Real)
            or not math.isfinite(value)
        ):
            raise ValueError(f"{self.name} must be a finite number, got {value!r}")
        value = float(value)
        low, high = self.low, self.high
        if (
            not (low <= value <= high)
            and not math.isclose(value, low)
            and not math.isclose(value, high)
        ):
            raise ValueError(
                f"{self.name} must be in [{low:g}, {high:g}] for the panel's slider, got {value!r}"
            )
        return value

    def ticks(self, value):
        """Where ``value`` sits on the slider, in steps from its low end (log: in decades)."""
        if self.log:
            return (math.log10(max(float(value), 1e-300)) - math.log10(self.low)) / self.step
        return (float(value) - self.low) / self.step


def flag(name, description=""):
    """The :class:`ParamSpec` of an on/off hyperparameter (a checkbox)."""
    return ParamSpec(name, 0.0, 1.0, step=1.0, description=description or name, flag=True)


def same_settings(specs, a, b):
    """Whether the settings ``a`` and ``b`` (name -> value, the same names) are one setting
    as the controls of ``specs`` show them: a browser echoes a value rounded to the
    slider's nearest tick, so values less than half a step apart are one setting (flags,
    and names without a spec, must be equal)."""
    for name in a:
        spec = specs.get(name)
        if spec is None or spec.flag or isinstance(a[name], bool):
            if not math.isclose(float(a[name]), float(b[name]), rel_tol=1e-9, abs_tol=1e-15):
                return False
        elif abs(spec.ticks(a[name]) - spec.ticks(b[name])) > 0.5 + 1e-6:
            return False
    return True


def make_slider(spec, value, *, continuous_update=True, width=_WIDTH):
    """The one control factory: a ``FloatLogSlider`` (``spec.log``), a ``FloatSlider``,
    or a ``Checkbox`` (``spec.flag``)."""
    if spec.flag:
        return widgets.Checkbox(
            value=bool(value),
            description=spec.description or spec.name,
            indent=False,
            style=_STYLE,
            layout=widgets.Layout(width=width),
        )
    common = dict(
        value=value,
        step=spec.step,
        description=spec.description or spec.name,
        readout_format=spec.readout_format,
        continuous_update=continuous_update,
        style=_STYLE,
        layout=widgets.Layout(width=width),
    )
    if spec.log:
        return widgets.FloatLogSlider(
            base=10, min=math.log10(spec.low), max=math.log10(spec.high), **common
        )
    return widgets.FloatSlider(min=spec.low, max=spec.high, **common)


def steps_slider(value, low, high, *, description="steps", width=_WIDTH):
    """The step-budget slider: an ``IntSlider`` from ``low`` to ``high`` that sends its
    value when released (each budget is a new run)."""
    return widgets.IntSlider(
        value=value,
        min=low,
        max=high,
        description=description,
        continuous_update=False,
        style=_STYLE,
        layout=widgets.Layout(width=width),
    )


def ghost_buttons(
    tooltip="Keep the current path as a faint ghost to compare with the next one",
):
    """The **pin** and **clear** buttons of a panel's ghosts (the same labels everywhere):
    pin keeps what is drawn now as faint ghosts (``tooltip`` says what), clear removes them."""
    pin = widgets.Button(
        description="pin",
        icon="thumb-tack",
        tooltip=tooltip,
        layout=widgets.Layout(width="100px"),
    )
    clear = widgets.Button(
        description="clear",
        icon="eraser",
        tooltip="Remove the ghost paths",
        layout=widgets.Layout(width="100px"),
    )
    return pin, clear


# Slider ranges of Adadelta's hyperparameters. lr and epsilon are logarithmic.
LR_EXP = (-4.0, 1.0)  # 1e-4 ... 10
EPS_EXP = (-10.0, -1.0)  # 1e-10 ... 1e-1
RHO_RANGE = (0.0, 1.0)
DECAY_RANGE = (0.0, 0.1)

#: The Adadelta hyperparameters' slider specs, in display order.
ADADELTA = {
    "lr": ParamSpec(
        "lr", 10 ** LR_EXP[0], 10 ** LR_EXP[1], log=True, step=0.05,
        description="lr (learning rate)", readout_format=".3g",
    ),
    "rho": ParamSpec(
        "rho", *RHO_RANGE, step=0.005, description="ρ (rho, decay of E[·])", readout_format=".3f"
    ),
    "epsilon": ParamSpec(
        "epsilon", 10 ** EPS_EXP[0], 10 ** EPS_EXP[1], log=True, step=0.1,
        description="ε (epsilon)", readout_format=".1e",
    ),
    "decay": ParamSpec(
        "decay", *DECAY_RANGE, step=0.001, description="decay (lr / (1 + decay·t))",
        readout_format=".3f",
    ),
}  # fmt: skip

#: The loss-scale exponent k (the loss multiplied by 10^k), shared by ComparePanel and SweepPanel.
LOSS_SCALE = ParamSpec(
    "loss_scale", -3.0, 3.0, step=0.25, description="loss × 10^k, k", readout_format=".2f"
)


def loss_scale_exponent(loss_scale):
    """The exponent ``k`` at which the :data:`LOSS_SCALE` slider shows ``loss_scale = 10**k``.

    Raises:
        ValueError: not a finite number > 0, or outside the slider's [1e-3, 1e3].
    """
    scale = check_hyperparameter("loss_scale", loss_scale)
    k = math.log10(scale)
    low, high = LOSS_SCALE.low, LOSS_SCALE.high
    if not (low - 1e-12 <= k <= high + 1e-12):
        raise ValueError(
            f"loss_scale must be in [1e{low:g}, 1e{high:g}] for the panel's slider (10^k, k in "
            f"[{low:g}, {high:g}]), got {loss_scale!r}"
        )
    return min(max(k, low), high)


#: Preset name -> Adadelta hyperparameters (decay 0 throughout).
PRESETS = {
    "Zeiler 2012 paper": {"lr": 1.0, "rho": 0.95, "epsilon": 1e-6, "decay": 0.0},
    "legacy tf.keras": {"lr": 1.0, "rho": 0.95, "epsilon": 1e-7, "decay": 0.0},
    "Keras 3 default": {"lr": 0.001, "rho": 0.95, "epsilon": 1e-7, "decay": 0.0},
    "PyTorch default": {"lr": 1.0, "rho": 0.9, "epsilon": 1e-6, "decay": 0.0},
}
DEFAULTS = dict(PRESETS["legacy tf.keras"])


def check_in_slider_range(name, value):
    """Validate an Adadelta hyperparameter and check that the panel's slider can show it."""
    return ADADELTA[name].check(value)


class Controls:
    """A publish/subscribe hub of named sliders, with optional presets and a reset button.

    Args:
        specs: name -> :class:`ParamSpec`, in display order.
        initial: starting values (missing or None entries take ``defaults``).
        defaults: name -> value for every spec (default: each spec's ``low``).
        presets: preset name -> values; adds a preset dropdown (``self.preset``).
        on_change: shorthand for ``subscribe(lambda changed: on_change())``.

    Raises:
        ValueError: an initial value the slider cannot show.
    """

    def __init__(self, specs, *, initial=None, defaults=None, presets=None, on_change=None):
        self.specs = dict(specs)
        values = {name: spec.low for name, spec in self.specs.items()}
        values.update(defaults or {})
        values.update({k: v for k, v in (initial or {}).items() if v is not None})
        for name, spec in self.specs.items():
            values[name] = spec.check(values[name])
        self.initial = values
        self.presets = dict(presets or {})
        self._subscribers = []
        self._holding = 0
        self._changed = {}
        self._sliders = {name: make_slider(spec, values[name]) for name, spec in self.specs.items()}
        self.preset = None
        if self.presets:
            self.preset = widgets.Dropdown(
                options=[CUSTOM, *self.presets],
                value=self._matching_preset(),
                description="preset",
                style=_STYLE,
                layout=widgets.Layout(width=_WIDTH),
            )
            self.preset.observe(self._preset_chosen, names="value")
        self.reset = widgets.Button(
            description="reset", icon="undo", tooltip="Back to the starting settings"
        )
        for name, slider in self._sliders.items():
            slider.observe(
                lambda change, name=name: self._slider_moved(name, change), names="value"
            )
        self.reset.on_click(lambda _: self.set_values(**self.initial))
        if on_change is not None:
            self.subscribe(lambda _changed: on_change())

    # -- public ---------------------------------------------------------------
    @property
    def sliders(self):
        """name -> slider widget (a checkbox for a flag), in display order."""
        return dict(self._sliders)

    def __getattr__(self, name):  # hp.lr, hp.rho, ... are the sliders
        sliders = self.__dict__.get("_sliders")
        if sliders is not None and name in sliders:
            return sliders[name]
        raise AttributeError(name)

    def values(self):
        """Current values as a dict of floats (bools for flags)."""
        return {name: self._value(name, s.value) for name, s in self._sliders.items()}

    def check(self, **values):
        """Validate ``values`` as :meth:`set_values` would, without setting them.

        Raises:
            ValueError: an unknown name or a value the slider cannot show.
        """
        for name, value in values.items():
            if name not in self.specs:
                raise ValueError(
                    f"unknown hyperparameter {name!r}; allowed: {', '.join(self.specs)}"
                )
            self.specs[name].check(value)

    def set_values(self, **values):
        """Set several values at once; subscribers are notified once."""
        self.check(**values)
        with self.hold():
            for name, value in values.items():
                self._sliders[name].value = value
        return self

    def subscribe(self, callback, names=None):
        """Call ``callback(changed)`` after each change of one of ``names`` (default: any).

        ``changed`` maps each changed name to its new value. Returns a function that
        unsubscribes.
        """
        entry = (callback, None if names is None else frozenset(names))
        if entry[1] is not None and not entry[1] <= set(self.specs):
            raise ValueError(
                f"names must be among {', '.join(self.specs)}, got {sorted(entry[1])!r}"
            )
        self._subscribers.append(entry)

        def unsubscribe():
            if entry in self._subscribers:
                self._subscribers.remove(entry)

        return unsubscribe

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
                self._notify()

    def widget(self):
        """The controls laid out as one box."""
        top = [w for w in (self.preset, self.reset) if w is not None]
        return widgets.VBox([widgets.HBox(top), *self._sliders.values()])

    # -- internals ------------------------------------------------------------
    def _matching_preset(self):
        current = self.values() if hasattr(self, "_sliders") else self.initial
        for name, preset in self.presets.items():
            if all(
                math.isclose(current[k], v, rel_tol=1e-9, abs_tol=1e-12) for k, v in preset.items()
            ):
                return name
        return CUSTOM

    def _sync_preset(self):
        if self.preset is None:
            return
        name = self._matching_preset()
        if self.preset.value != name:
            self._holding += 1  # the dropdown follows the sliders; no extra notification
            try:
                self.preset.value = name
            finally:
                self._holding -= 1

    def _value(self, name, value):
        return bool(value) if self.specs[name].flag else float(value)

    def _slider_moved(self, name, change):
        self._changed[name] = self._value(name, change["new"])
        if self._holding:
            return
        self._sync_preset()
        self._notify()

    def _preset_chosen(self, change):
        if self._holding or change["new"] == CUSTOM:
            return
        self.set_values(**self.presets[change["new"]])

    def _notify(self):
        changed, self._changed = self._changed, {}
        if not changed:
            return
        for callback, names in list(self._subscribers):
            if names is None:
                callback(dict(changed))
            elif names & changed.keys():
                callback({k: v for k, v in changed.items() if k in names})


class HyperparameterControls(Controls):
    """Adadelta's lr / rho / epsilon / decay sliders, its presets and a reset button.

    Args:
        initial: starting hyperparameters (missing keys take the legacy tf.keras defaults).
        on_change: called with no arguments once per user-visible change
            (one slider move, or one preset applied).
    """

    def __init__(self, initial=None, on_change=None):
        super().__init__(
            ADADELTA, initial=initial, defaults=DEFAULTS, presets=PRESETS, on_change=on_change
        )
