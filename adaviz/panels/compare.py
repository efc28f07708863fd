"""ComparePanel: several update rules on one 2D surface, same start, same step budget.

``adaviz.ComparePanel("rosenbrock", optimizers=("adadelta", "sgd", "momentum", "adam"))``
is one ``ipywidgets.VBox``: a surface dropdown, a steps slider (the budget shared by every
optimizer), a loss-scale slider ``k`` (every optimizer runs on ``10**k * f``), a Tune
button, pin / clear buttons for ghosts, per optimizer a compact set of its own controls
(log sliders for lr and epsilon, a checkbox for rmsprop's ``centered`` and adam's
``amsgrad``), four views and a table saying how each run is set. It is a controller: controls
(:mod:`adaviz.panels._controls`) -> engine (:func:`adaviz.simulate`) -> views
(:mod:`adaviz.panels.views`).

Honest labels:
    Each run is labelled **library defaults** (Keras 3's; adaviz.Adadelta's legacy tf.keras
    ones for Adadelta), **changed by you**, or **tuned** (with the lr chosen), from the
    values it runs with now: moving a slider after tuning makes it "changed by you".

Tune (the button, or ``panel.tune()``):
    The same search for every optimizer: its lr over :data:`LR_GRID` (64 values, log-spaced
    over the 6 decades 1e-5 ... 10), its other hyperparameters as set, all 64 runs in one
    batched engine call per rule, at the current surface, start, budget and loss scale.
    The same objective for every rule, :func:`objective`: the mean loss over the last 10 %
    of the budget, in the surface's own units (a lucky last step is not rewarded; a run
    that diverges scores ``inf``). Each optimizer then runs at its best lr. The sensitivity
    view draws the objective against lr, one curve per optimizer, the chosen lr marked.

Loss scale:
    The readout per optimizer says how far its path moved compared with ``k = 0`` (the
    largest distance between the two paths over the budget). Every change runs each rule
    once for both (``loss_scale=[1, 10**k]``, one batched call); the ``k = 0`` path is
    drawn as a faint dashed ghost in the optimizer's colour when ``k != 0``.

Ghosts (as in SurfacePanel):
    **pin** (``panel.pin()``) keeps every current path, and its loss curve, as a faint
    dotted ghost in its optimizer's colour, labelled with its settings; the last
    :data:`PINS` pins are kept (a new one replaces the oldest). **clear**
    (``panel.clear_ghosts()``) removes them; so does choosing another surface.

Updates:
    The engine runs :func:`capacity` steps (1,000 for budgets up to 1,000, else 5,000)
    and the views show the first ``steps``, so the steps slider needs two compiled graphs
    per rule and surface, not one per step bucket. ``panel.precompile()`` (done when the
    panel is displayed in a kernel) compiles, in a background thread that never touches
    widgets: the current surface's other capacity and its Tune graphs first, then the other
    surfaces of the dropdown. Redraws go through :class:`adaviz.panels._schedule.Coalescer`. One
    colour per optimizer (:data:`COLORS`) in every view.

Contract: ``panel.controls[name][hyperparameter]`` (sliders), ``panel.controls["surface"]``,
``["steps"]``, ``["loss_scale"]``, ``["tune"]``, ``["pin"]``, ``["clear"]``; ``panel.figures`` (``surface``, ``loss``,
``step_size``, ``sensitivity``); ``panel.trajectories`` (``{name: Trajectory}``, the runs
drawn, cut to the budget); ``panel.labels``; ``panel.code`` (Keras 3 constructors);
``panel.tune()``; ``panel.pin()`` / ``clear_ghosts()`` / ``ghosts``; ``to_html`` / ``snapshot`` (:mod:`adaviz.panels._export`).
"""

from __future__ import annotations

import html
import math

import ipywidgets as widgets
import numpy as np

from adaviz import _math
from adaviz._validate import (
    check_int,
    check_rule_hyperparameters,
    check_start,
)
from adaviz.panels import _figures, _runs
from adaviz.panels._code import constructor
from adaviz.panels._controls import (
    LOSS_SCALE,
    Controls,
    ParamSpec,
    flag,
    ghost_buttons,
    loss_scale_exponent,
    make_slider,
    same_settings,
)
from adaviz.panels._export import StaticExport
from adaviz.panels._schedule import Coalescer
from adaviz.panels._warmup import WARMUP, in_kernel
from adaviz.panels.views import CompareStepSizeView, ContourView, LossView, SensitivityView
from adaviz.panels.views import compare_readouts as readouts
from adaviz.panels.views.sensitivity import EMPTY_TITLE

#: steps slider range.
STEPS_RANGE = (10, 5000)
#: step counts the engine runs for the views (the smallest >= the budget is used).
CAPACITIES = (1000, STEPS_RANGE[1])
#: the lr values every optimizer is tuned over: 64, log-spaced over 6 decades.
LR_GRID = np.logspace(-5.0, 1.0, 64)
#: the objective averages the loss over this last fraction of the budget.
TUNE_WINDOW = 0.1
#: default minimum time between two redraws when an event loop is running, in seconds.
THROTTLE = 0.04
#: pins kept as ghosts (each: every optimizer's path and loss); a new pin replaces the oldest.
PINS = 2
#: engine runs kept per optimizer (a surface or setting chosen again runs nothing).
RUNS_KEPT = 4
#: the dash of the k = 0 ghosts, and of each pin's ghosts.
K0_DASH, PIN_DASHES = "dash", ("dot", "dashdot")

#: one colour per rule, the same in every view (Okabe-Ito, plus a brown).
COLORS = {
    "adadelta": "#1a1a1a",
    "sgd": "#E69F00",
    "momentum": "#56B4E9",
    "nesterov": "#009E73",
    "adagrad": "#8c564b",
    "rmsprop": "#0072B2",
    "adam": "#D55E00",
}

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

_WIDTH = "300px"


def objective(trajectory, steps=None):
    """The tuning objective of each run: the mean loss over the last 10 % of ``steps``.

    In the surface's own units (the loss divided by the run's loss scale), over the
    positions after steps ``steps - w + 1 ... steps``, ``w = ceil(0.1 * steps)``; ``inf``
    for a run that diverged by then. Returns an ``(N,)`` float64 array.
    """
    steps = trajectory.steps if steps is None else int(steps)
    window = max(1, math.ceil(TUNE_WINDOW * steps))
    loss = trajectory.loss[steps - window + 1 : steps + 1].astype(np.float64)
    with np.errstate(invalid="ignore"):
        value = np.mean(loss / trajectory.loss_scale, axis=0)
    diverged = (trajectory.diverged_at >= 0) & (trajectory.diverged_at <= steps)
    return np.where(diverged | ~np.isfinite(value), np.inf, value)


def capacity(steps):
    """The step count the panel runs for a budget of ``steps``: the smallest of
    :data:`CAPACITIES` that holds it."""
    return next(c for c in CAPACITIES if c >= steps)


def _job(surface, name, start, values, scale, steps, *, tune=False):
    """``(key, fn)``: the panel's engine call for one rule, run by ``fn()``, under
    :data:`WARMUP`'s ``key``. The draw: ``loss_scale = [1, scale]``; Tune (``tune``): every
    lr of :data:`LR_GRID` at ``scale``; both for ``capacity(steps)`` steps."""
    from adaviz import engine

    steps = capacity(steps)  # Tune's objective reads the first `steps` of them

    def call():
        return engine.simulate(
            surface,
            start=start,
            steps=steps,
            optimizer=name,
            loss_scale=scale if tune else [1.0, scale],
            **(dict(values, lr=LR_GRID) if tune else values),
        )

    return ("compare-tune" if tune else "compare", name, steps), call


def _run(surface, name, start, values, scale, steps):
    """The draw's engine call for one rule (waits only while the background thread
    compiles this surface)."""
    return WARMUP.run(surface, *_job(surface, name, start, values, scale, steps))


def _tune_runs(surface, name, start, values, scale, steps):
    """Tune's engine call for one rule: every lr of :data:`LR_GRID`."""
    return WARMUP.run(surface, *_job(surface, name, start, values, scale, steps, tune=True))


class ComparePanel(StaticExport, widgets.VBox):
    """Several optimizers on one 2D surface: same start, same budget, honest labels, tuning.

    Args:
        surface: a built-in surface name or an ``adaviz.Surface``.
        optimizers: rule names (``adaviz._math.RULES``), at least one, each once.
        steps: the step budget shared by every optimizer, 10 to 5000.
        start: the starting point shared by every optimizer (default: the surface's).
        loss_scale: every optimizer runs on ``loss_scale * f``; a power of ten in
            [1e-3, 1e3] (the slider shows its exponent k).
        hyperparameters: ``{name: {hyperparameter: value}}`` to start from instead of the
            library defaults (such runs are labelled "changed by you"; flags such as
            ``centered`` / ``amsgrad`` as bools).
        throttle: minimum seconds between two redraws when an event loop runs.
        grid_size: contour resolution (points per axis).
        static_fallback: add a static HTML snapshot to the display data.
        precompile: compile the other surfaces in the background once displayed
            (default: when running in a Jupyter kernel).

    Raises:
        ValueError: unknown surface or optimizer, an empty or repeated optimizer list,
            steps out of range, a start outside the domain, a loss scale out of range, or
            a hyperparameter the rule (or its slider) refuses.
    """

    def __init__(
        self,
        surface="rosenbrock",
        optimizers=("adadelta", "sgd", "momentum", "adam"),
        *,
        steps=1000,
        start=None,
        loss_scale=1.0,
        hyperparameters=None,
        throttle=THROTTLE,
        grid_size=120,
        static_fallback=True,
        precompile=None,
    ):
        from adaviz import surfaces as surfaces_module

        # -- validate everything before building any widget ------------------------------
        self._catalogue = {name: None for name in surfaces_module.names()}
        key, surf = self._register_surface(surface)
        names = self._check_optimizers(optimizers)
        steps = check_int("steps", steps, *STEPS_RANGE)
        start = check_start(
            surf.start if start is None else start, surf.domain, surface_name=surf.name
        )
        exponent = loss_scale_exponent(loss_scale)
        initial = self._check_hyperparameters(names, hyperparameters)
        if isinstance(throttle, bool) or not (isinstance(throttle, (int, float)) and throttle >= 0):
            raise ValueError(f"throttle must be a number of seconds >= 0, got {throttle!r}")
        self._grid_size = check_int("grid_size", grid_size, 10)

        self._surfaces_module = surfaces_module
        self._names = names
        self._colors = [COLORS[name] for name in names]
        self._surface = surf
        self._start = start
        self._static_fallback = bool(static_fallback)
        self._precompile_on_display = in_kernel() if precompile is None else bool(precompile)
        self._surface_dirty = True
        self._quiet = 0
        self._tune = None  # the last tune: context, curves, values (see tune())
        self._trajectories = {}
        self._runs = {}  # name -> {what a run depends on: the engine's Trajectory}
        self._sensitivity_drawn = None  # what the sensitivity view shows now
        self._tunes = 0  # how many tunes ran
        self._moved = {}
        self._ghost_paths = {}  # name -> the k = 0 ghost drawn
        self._pins = [None] * PINS  # per pin: {name: ghost label}, None = free
        self._next_pin = 0
        self._drawn = None  # the arrays drawn now: paths, loss steps, losses
        self._redraw = Coalescer(self._draw, interval=float(throttle), on_error=self._show_error)

        # -- controls ----------------------------------------------------------------------
        style = {"description_width": "initial"}
        self._hp = {}
        for name in names:
            rule = _math.rule(name)
            specs = {hp: SPECS[hp] for hp in rule.hyperparameters}
            defaults = dict(rule.defaults)
            hub = Controls(specs, initial=initial[name], defaults=defaults)
            for hp, slider in hub.sliders.items():
                slider.layout.width = _WIDTH
                slider.add_class(f"adaviz-{name}-{hp.replace('_', '-')}")
            hub.reset.layout.width = "90px"
            hub.reset.add_class(f"adaviz-{name}-reset")
            hub.subscribe(lambda _changed: self._request())
            self._hp[name] = hub
        self._surface_select = widgets.Dropdown(
            options=[(k.replace("_", " "), k) for k in self._catalogue],
            value=key,
            description="surface",
            style=style,
            layout=widgets.Layout(width=_WIDTH),
        )
        self._steps = widgets.IntSlider(
            value=steps,
            min=STEPS_RANGE[0],
            max=STEPS_RANGE[1],
            description="steps (budget)",
            continuous_update=False,
            style=style,
            layout=widgets.Layout(width=_WIDTH),
        )
        self._loss_scale = make_slider(LOSS_SCALE, exponent, width=_WIDTH)
        self._tune_button = widgets.Button(
            description="Tune",
            icon="search",
            tooltip="For every optimizer: its best lr of 64 (1e-5 ... 10), same objective",
        )
        self._surface_select.observe(self._surface_chosen, names="value")
        self._steps.observe(lambda _: self._request(), names="value")
        self._loss_scale.observe(lambda _: self._request(), names="value")
        self._pin, self._clear = ghost_buttons(
            "Keep the current paths as faint ghosts to compare with the next ones"
        )
        self._tune_button.on_click(lambda _: self.tune())
        self._pin.on_click(lambda _: self.pin())
        self._clear.on_click(lambda _: self.clear_ghosts())
        self._controls = {name: self._hp[name].sliders for name in names}
        self._controls.update(
            surface=self._surface_select,
            steps=self._steps,
            loss_scale=self._loss_scale,
            tune=self._tune_button,
            pin=self._pin,
            clear=self._clear,
        )
        for key_, control in (
            ("surface", self._surface_select),
            ("steps", self._steps),
            ("loss-scale", self._loss_scale),
            ("tune", self._tune_button),
            ("pin", self._pin),
            ("clear", self._clear),
        ):
            control.add_class(f"adaviz-{key_}")

        # -- text and views ----------------------------------------------------------------
        self._title = widgets.HTML(layout=widgets.Layout(width="930px"))
        self._table = widgets.HTML(layout=widgets.Layout(width="930px"))
        self._table.add_class("adaviz-readouts")
        self._code_box = widgets.HTML(layout=widgets.Layout(width="930px"))
        self._code_box.add_class("adaviz-code")
        n = len(names)
        self._views = {  # ghost slots: the k = 0 ghosts (contour only), then the pins'
            "surface": ContourView(
                paths=names,
                colors=self._colors,
                ghosts=n * (1 + PINS),
                title="paths on the loss surface (same start and budget)",
            ),
            "loss": LossView(
                runs=names,
                colors=self._colors,
                ghosts=n * PINS,
                height=230,
                title="loss against step",
                legend=False,
            ),
            "step_size": CompareStepSizeView(names, self._colors),
            "sensitivity": SensitivityView(names, self._colors),
        }
        contour, loss_view = self._views["surface"], self._views["loss"]
        for i, color in enumerate(self._colors):  # every ghost of run i in its colour
            contour.figure.data[contour.ghost_index(i)].line.update(color=color, dash=K0_DASH)
            for pin, dash in enumerate(PIN_DASHES[:PINS]):
                slot = n * pin + i
                contour.figure.data[contour.ghost_index(n + slot)].line.update(
                    color=color, dash=dash
                )
                loss_view.figure.data[n + slot].line.update(color=color, dash=dash)
        contour.figure.data[contour.index["marker"]].visible = False
        self._request()
        self._redraw.flush()
        for name, view in self._views.items():
            view.attach(f"adaviz-figure-{name.replace('_', '-')}")
        contour.on_click(self._set_start_from_click)

        # -- layout ------------------------------------------------------------------------
        figures = self.figures
        per_rule = [
            widgets.VBox(
                [
                    widgets.HTML(
                        f"<b style='color:{color}'>■ {html.escape(name)}</b>",
                    ),
                    *self._hp[name].sliders.values(),
                    self._hp[name].reset,
                ]
            )
            for name, color in zip(names, self._colors, strict=True)
        ]
        top = widgets.HBox(
            [
                self._surface_select,
                self._steps,
                self._loss_scale,
                self._tune_button,
                self._pin,
                self._clear,
            ],
            layout=widgets.Layout(flex_flow="row wrap"),
        )
        views = widgets.HBox(
            [
                figures["surface"],
                widgets.VBox([figures["loss"], figures["step_size"], figures["sensitivity"]]),
            ]
        )
        super().__init__(
            [
                self._title,
                top,
                widgets.HBox(per_rule, layout=widgets.Layout(flex_flow="row wrap")),
                views,
                self._table,
                self._code_box,
            ],
            layout=widgets.Layout(width="940px"),
        )
        self.add_class("adaviz-compare-panel")

    # ======================================================================================
    # public API
    # ======================================================================================
    @property
    def controls(self):
        """``controls[name][hyperparameter]`` (sliders), plus ``surface``, ``steps``,
        ``loss_scale`` (the exponent k) and ``tune`` (the button)."""
        return self._controls

    @property
    def figures(self):
        """The figures: ``surface``, ``loss``, ``step_size``, ``sensitivity``."""
        self.flush()
        return {name: view.figure for name, view in self._views.items()}

    @property
    def optimizers(self):
        """The rule names compared, in display order."""
        return self._names

    @property
    def trajectories(self):
        """``{name: Trajectory}``: each run drawn (N = 1, the current loss scale), cut to
        the budget."""
        self.flush()
        return dict(self._trajectories)

    @property
    def surface(self):
        """The :class:`adaviz.Surface` shown."""
        return self._surface

    @property
    def start(self):
        """The starting point shared by every optimizer, ``(x, y)``."""
        return tuple(float(v) for v in self._start)

    @property
    def loss_scale(self):
        """The factor ``10**k`` every optimizer's loss is multiplied by."""
        return 10.0 ** float(self._loss_scale.value)

    def hyperparameters(self, name):
        """The values optimizer ``name`` runs with now (flags as bools)."""
        return self._hp[name].values()

    @property
    def ghosts(self):
        """Labels of the pinned ghost paths, oldest pin first (one per optimizer and pin)."""
        order = [(self._next_pin + i) % PINS for i in range(PINS)]
        return [label for p in order if self._pins[p] for label in self._pins[p].values()]

    @property
    def labels(self):
        """``{name: label}``: "library defaults", "changed by you" or "tuned (lr = ...)"."""
        return {name: self._label(name)[0] for name in self._names}

    @property
    def moved(self):
        """``{name: distance}``: the largest distance between the path at the current loss
        scale and at ``k = 0`` over the budget (``inf`` if only one of them diverged)."""
        self.flush()
        return dict(self._moved)

    @property
    def code(self):
        """``{name: constructor}``: each optimizer's Keras 3 constructor with its values."""
        return {name: constructor(name, self.hyperparameters(name)) for name in self._names}

    def set_start(self, x, y):
        """Move the common start to ``(x, y)`` (inside the surface's domain)."""
        surf = self._surface
        self._start = check_start((x, y), surf.domain, surface_name=surf.name)
        self._request()

    def pin(self):
        """Keep every current path, and its loss curve, as a faint ghost in its optimizer's
        colour, labelled with its settings (the oldest pin is replaced when all
        :data:`PINS` are used). Returns ``{name: label}``."""
        self.flush()
        pin = self._next_pin
        self._next_pin = (pin + 1) % PINS
        n, k = len(self._names), float(self._loss_scale.value)
        paths, steps, losses = self._drawn
        contour, loss_view = self._views["surface"], self._views["loss"]
        labels = {}
        # one message per figure; the ghosts' labels show on hover, not in the legend
        # (a dozen more entries would squeeze the contour)
        with contour.figure.batch_update(), loss_view.figure.batch_update():
            for i, name in enumerate(self._names):
                lr = _figures.fmt(self.hyperparameters(name)["lr"])
                others = [text for hp, text in self._changed(name) if hp != "lr"]
                label = ", ".join(
                    [f"ghost: {name}, lr = {lr}", *others] + ([f"k = {k:g}"] if k else [])
                )
                slot = n * pin + i
                contour.show_ghost(n + slot, *paths[i], label)
                contour.figure.data[contour.ghost_index(n + slot)].showlegend = False
                loss_view.show_ghost(slot, steps[i], losses[i], label)
                labels[name] = label
        self._pins[pin] = labels
        return labels

    def clear_ghosts(self):
        """Remove every pinned ghost (the k = 0 ghosts stay while k != 0)."""
        self._pins = [None] * PINS
        self._next_pin = 0
        k0 = dict(self._ghost_paths)
        self._views["surface"].hide_ghosts()  # every slot; the k = 0 ghosts come back
        self._ghost_paths = {}
        if k0:
            contour = self._views["surface"]
            with contour.figure.batch_update():
                for slot, (x, y, label) in self._changed_ghosts(
                    [k0[name] for name in self._names]
                ).items():
                    contour.show_ghost(slot, x, y, label)
        self._views["loss"].hide_ghosts()

    def tune(self):
        """Tune every optimizer's lr over :data:`LR_GRID` with the same objective, then run
        each at its best lr.

        One batched engine call per rule (64 runs, :func:`capacity` steps of which the first
        ``steps`` count), at the current surface, start, budget, loss scale and other
        hyperparameters; the objective is :func:`objective`.

        Returns:
            ``{name: {hyperparameter: value}}``: the values each optimizer now runs with.
            An optimizer whose every run diverged keeps its lr (its label says so).
        """
        self.flush()
        steps = int(self._steps.value)
        scale = self.loss_scale
        results, curves = {}, {}
        for name in self._names:
            values = self.hyperparameters(name)
            runs = _tune_runs(self._surface, name, self._start, values, scale, steps)
            scores = objective(runs, steps)
            best = int(np.argmin(scores)) if np.isfinite(scores).any() else None
            curves[name] = (scores, None if best is None else float(LR_GRID[best]))
            if best is not None:
                results[name] = float(LR_GRID[best])
        self._quiet += 1
        try:
            for name, lr in results.items():
                self._hp[name].set_values(lr=lr)
        finally:
            self._quiet -= 1
        self._tunes += 1
        self._tune = {
            "context": self._context(),
            "curves": curves,
            "values": {name: (self.hyperparameters(name), name in results) for name in self._names},
        }
        self._request()
        self.flush()
        return {name: self.hyperparameters(name) for name in self._names}

    def flush(self):
        """Draw any pending change now (a no-op when nothing is pending)."""
        self._redraw.flush()

    def precompile(self, wait=False, timeout=None, *, surfaces=None):
        """Compile what the panel may need in a background thread (done automatically when
        displayed in a kernel): the current surface's other capacity and its Tune graphs,
        then every rule at both capacities on the other surfaces of the dropdown; and render
        their backgrounds. Results do not depend on who compiled.

        Args:
            wait: block until done (or ``timeout`` seconds).
            surfaces: dropdown names of the other surfaces to prepare (default: all).

        Returns:
            True when everything is ready (only meaningful with ``wait``).
        """
        current = self._surface
        keys = self._catalogue if surfaces is None else list(surfaces)
        others = [self._get_surface(key) for key in keys]
        others = [surf for surf in others if surf is not current]
        steps = int(self._steps.value)
        tiers = sorted(CAPACITIES, key=lambda c: c != capacity(steps))

        def job(surf, name, c, tune=False):
            return (surf, *_job(surf, name, surf.start, {}, 1.0, c, tune=tune))

        names = self._names
        jobs = [job(current, name, c, t) for t in (False, True) for c in tiers for name in names]
        jobs += [job(surf, name, c) for c in tiers for surf in others for name in names]
        WARMUP.start(jobs, backgrounds=[(surf, self._grid_size) for surf in others])
        return WARMUP.wait(timeout) if wait else False

    # -- export hooks ----------------------------------------------------------------------
    @property
    def _export_title(self):
        return f"{', '.join(self._names)} on {self._surface.name}"

    def _export_prepare(self):
        self.flush()

    def _export_columns(self):
        figs = {name: view.figure for name, view in self._views.items()}
        return [[figs["surface"]], [figs["loss"], figs["step_size"], figs["sensitivity"]]]

    def _export_header(self):
        return (
            f"<div>{self._title.value}</div><div>{self._table.value}</div>"
            f"<div>{self._code_box.value}</div>"
        )

    def _on_display(self):
        if self._precompile_on_display:
            self.precompile()

    # ======================================================================================
    # validation
    # ======================================================================================
    def _register_surface(self, surface):
        from adaviz import surfaces as surfaces_module

        if isinstance(surface, surfaces_module.Surface):
            key = surface.name
            if key in self._catalogue and self._catalogue[key] is not surface:
                key = f"{surface.name} (yours)"
            self._catalogue[key] = surface
            return key, surface
        surf = surfaces_module.get(surface)
        return surf.name, surf

    def _get_surface(self, key):
        surf = self._catalogue.get(key)
        if surf is None:
            surf = self._catalogue[key] = self._surfaces_module.get(key)
        return surf

    @staticmethod
    def _check_optimizers(optimizers):
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

    def _check_hyperparameters(self, names, hyperparameters):
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

    # ======================================================================================
    # events and drawing
    # ======================================================================================
    def _request(self):
        if not self._quiet:
            self._redraw.request()

    def _show_error(self, exc):
        self._table.value = (
            f"<span style='color:#b00'>could not update: {html.escape(repr(exc))}</span>"
        )

    def _surface_chosen(self, change):
        surf = self._get_surface(change["new"])
        self._surface = surf
        self._start = np.asarray(surf.start, dtype=np.float64)
        self._surface_dirty = True
        self._request()

    def _set_start_from_click(self, x, y):
        try:
            self.set_start(x, y)
        except ValueError:
            pass  # a click on the margin outside the domain: ignore

    def _label(self, name):
        """(short label, html detail) of optimizer ``name`` from the values it runs with."""
        rule = _math.rule(name)
        values = self.hyperparameters(name)
        tuned, found = (None, False) if self._tune is None else self._tune["values"][name]
        if tuned is not None and same_settings(SPECS, values, tuned):
            lr = _figures.fmt(values["lr"])
            grid = f"{len(LR_GRID)} values in [{LR_GRID[0]:g}, {LR_GRID[-1]:g}]"
            elsewhere = self._context_change()
            where = f" for {elsewhere}" if elsewhere else ""
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
        changed = ", ".join(text for _, text in self._changed(name))
        return "changed by you", f"<b>changed by you</b>: {html.escape(changed)}"

    def _changed(self, name):
        """``[(hyperparameter, "name = value")]`` of those ``name`` runs away from its defaults."""
        rule = _math.rule(name)
        values = self.hyperparameters(name)
        return [
            (hp, f"{hp} = {_figures.fmt(values[hp]) if hp not in rule.flags else values[hp]}")
            for hp in rule.hyperparameters
            if not same_settings(SPECS, {hp: values[hp]}, {hp: rule.defaults[hp]})
        ]

    def _draw(self):
        """Run every rule and update every view: one message per figure, the contour first."""
        surface_changed = self._surface_dirty
        self._surface_dirty = False
        clear = surface_changed and any(self._pins)
        if clear:  # ghosts of another surface would mislead
            self._pins = [None] * PINS
            self._next_pin = 0
            self._ghost_paths = {}
        surf = self._surface
        steps = int(self._steps.value)
        k = float(self._loss_scale.value)
        scale = 10.0**k
        paths, ghosts, losses, loss_x, sizes, size_x = [], [], [], [], [], []
        f_star = surf.min_value
        gap = math.isfinite(f_star)
        for name in self._names:
            both = _runs.cut(self._engine_run(name, scale, steps), steps)
            traj = self._trajectories[name] = _runs.cut(both, steps, slice(1, 2))
            base = _runs.cut(both, steps, slice(0, 1))
            self._moved[name] = _runs.distance(base, traj)
            n = _runs.valid(traj)
            pos = traj.positions[:n, 0]
            paths.append((_figures.floats(pos[:, 0]), _figures.floats(pos[:, 1])))
            m0 = _runs.valid(base)
            ghosts.append(
                (
                    _figures.floats(base.positions[:m0, 0, 0]),
                    _figures.floats(base.positions[:m0, 0, 1]),
                )
            )
            loss = traj.loss[:n, 0].astype(np.float64) / scale
            losses.append(_figures.floats(loss - f_star if gap else loss))
            loss_x.append(_figures.step_axis(n))
            m = min(n, steps)
            sizes.append(tuple(_figures.positive_or_nan(traj.step_size[:m, 0, i]) for i in (0, 1)))
            size_x.append(_figures.step_axis(m + 1)[1:])
        contour = self._views["surface"]
        if k == 0.0 and self._ghost_paths:
            contour.hide_ghosts()
            self._ghost_paths = {}
        contour.update(
            paths,
            -1,
            background=WARMUP.background(surf, self._grid_size) if surface_changed else None,
            clear_ghosts=clear,
            ghosts=self._changed_ghosts(ghosts) if k != 0.0 else None,
        )
        loss_view = self._views["loss"]
        if clear:
            loss_view.hide_ghosts()
        title = f"f − f* (f* = {_figures.fmt(f_star, 4)}, the surface's units)" if gap else "f"
        log = gap or all(bool(np.all(y[np.isfinite(y)] > 0)) for y in losses)
        loss_view.set_y_axis(title, log)
        losses = [_figures.positive_or_nan(y) if log else y for y in losses]
        loss_view.update(loss_x, losses)
        self._drawn = (paths, loss_x, losses)
        self._views["step_size"].update(size_x, sizes)
        self._draw_sensitivity(gap, f_star)
        if surface_changed:
            self._title.value = (
                f"<b style='font-size:15px'>{html.escape(', '.join(self._names))} on "
                f"{html.escape(surf.name)}</b> — same start, same budget of steps"
            )
        self._draw_text(steps, k)

    def _engine_run(self, name, scale, steps):
        """The engine's runs of ``name`` (k = 0 and current k), reused while nothing they
        depend on changed (a slider of another optimizer, or the budget within a capacity),
        and when the settings of one of the last :data:`RUNS_KEPT` come back."""
        values = self.hyperparameters(name)
        key = (
            id(self._surface),
            tuple(self._start),
            capacity(steps),
            scale,
            tuple(sorted(values.items())),
        )
        kept = self._runs.setdefault(name, {})
        run = kept.pop(key, None)  # (re-inserted: the most recently used is last)
        if run is None:
            run = _run(self._surface, name, self._start, values, scale, steps)
        kept[key] = run
        while len(kept) > RUNS_KEPT:
            del kept[next(iter(kept))]
        return run

    def _changed_ghosts(self, ghosts):
        """``{slot: (x, y, label)}`` of the k = 0 ghosts whose path is not the one drawn."""
        changed = {}
        for i, (name, (x, y)) in enumerate(zip(self._names, ghosts, strict=True)):
            old = self._ghost_paths.get(name)
            if old is not None and np.array_equal(old[0], x) and np.array_equal(old[1], y):
                continue
            changed[i] = (x, y, f"{name} at k = 0")
            self._ghost_paths[name] = (x, y)
        return changed

    def _context(self):
        """What a tune depends on besides the hyperparameters: surface, budget, k, start."""
        return (
            self._surface.name,
            int(self._steps.value),
            float(self._loss_scale.value),
            tuple(float(v) for v in self._start),
        )

    def _context_change(self):
        """'' when the last tune was made in the current context, else where it was made."""
        if self._tune is None:
            return ""
        then, now = self._tune["context"], self._context()
        parts = []
        if then[0] != now[0]:
            parts.append(then[0])
        if then[1] != now[1]:
            parts.append(f"{then[1]} steps")
        if then[2] != now[2]:
            parts.append(f"k = {then[2]:g}")
        if then[3] != now[3] and then[0] == now[0]:
            parts.append(f"start ({then[3][0]:.3g}, {then[3][1]:.3g})")
        return ", ".join(parts)

    def _draw_sensitivity(self, gap, f_star):
        view = self._views["sensitivity"]
        empty = self._tune is None or self._tune["context"][0] != self._surface.name
        if empty:
            drawn = ("empty", gap)
        else:
            drawn = (self._tunes, self._surface.name, self._context_change(), gap)
        if drawn == self._sensitivity_drawn:
            return  # nothing it shows changed
        self._sensitivity_drawn = drawn
        if empty:
            empty = [np.zeros(0)] * len(self._names)
            view.update(
                empty,
                empty,
                [(np.nan, np.nan)] * len(self._names),
                title=EMPTY_TITLE,
                y_title="objective − f*" if gap else "objective",
                log_y=gap,
            )
            return
        curves = self._tune["curves"]
        lrs, ys, chosen = [], [], []
        for name in self._names:
            scores, best = curves[name]
            y = np.where(np.isfinite(scores), scores - f_star if gap else scores, np.nan)
            lrs.append(LR_GRID)
            ys.append(_figures.positive_or_nan(y) if gap else y)
            if best is None:
                chosen.append((np.nan, np.nan))
            else:
                chosen.append((best, float(y[int(np.argmin(scores))])))
        steps = self._tune["context"][1]
        window = max(1, math.ceil(TUNE_WINDOW * steps))
        elsewhere = self._context_change()
        view.update(
            lrs,
            ys,
            chosen,
            title=f"tuning: mean loss over the last {window} of {steps} steps vs lr"
            + (f" (tuned for {elsewhere})" if elsewhere else " (star: chosen)"),
            y_title="objective − f* (surface units)" if gap else "objective (surface units)",
            log_y=gap,
        )

    def _draw_text(self, steps, k):
        scale = 10.0**k
        rows = []
        for name, color in zip(self._names, self._colors, strict=True):
            traj = self._trajectories[name]
            result = readouts.result_text(traj.diverged_at[0], float(traj.loss[-1, 0]) / scale)
            moved = None if k == 0.0 else self._moved[name]
            rows.append((name, color, self._label(name)[1], result, moved))
        note = (
            f"Tune: each optimizer's lr over {len(LR_GRID)} values in [{LR_GRID[0]:g}, "
            f"{LR_GRID[-1]:g}], objective: mean loss over the last {TUNE_WINDOW:.0%} of the "
            "budget (diverged: ∞)."
        )
        self._table.value = readouts.table_html(rows, steps, scale, note)
        self._code_box.value = readouts.code_block_html(self.code)
