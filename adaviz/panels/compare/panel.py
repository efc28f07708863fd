"""ComparePanel: several update rules on one 2D surface, same start, same step budget.

``adaviz.ComparePanel("rosenbrock", optimizers=("adadelta", "sgd", "momentum", "adam"))``
is one ``ipywidgets.VBox``: a surface dropdown, a steps slider (the budget shared by every
optimizer), a loss-scale slider ``k`` (every optimizer runs on ``10**k * f``), a Tune
button, pin / clear buttons for ghosts, per optimizer a compact set of its own controls
(log sliders for lr and epsilon, a checkbox for rmsprop's ``centered`` and adam's
``amsgrad``), four views and a table saying how each run is set. It is a controller: controls
(:mod:`adaviz.panels.compare.controls`) -> engine (:mod:`adaviz.panels.compare.runs`)
-> views (:mod:`adaviz.panels.views`, ghosts in :mod:`adaviz.panels.compare.ghosts`).

Honest labels:
    Each run is labelled **library defaults** (Keras 3's; adaviz.Adadelta's Keras 2 / TF 1.x
    tf.keras ones for Adadelta; for momentum and nesterov Keras 3's lr with the conventional
    momentum 0.9, not Keras's 0.0), **changed by you**, or **tuned** (with the lr chosen), from the
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
    and the views show the first ``steps``: two compiled graphs per rule and surface,
    which ``panel.precompile()`` prepares in the background (done when displayed in a
    kernel). A change runs only the rules whose runs it changes (the last few runs of each
    are kept) and sends each figure one message, a redraw-free move when only data
    changed. Redraws go through :class:`adaviz.panels.kit.schedule.Coalescer`. One colour per
    optimizer (:data:`COLORS`) in every view.

Contract: ``panel.controls[name][hyperparameter]`` (sliders), ``panel.controls["surface"]``,
``["steps"]``, ``["loss_scale"]``, ``["tune"]``, ``["pin"]``, ``["clear"]``; ``panel.figures`` (``surface``, ``loss``,
``step_size``, ``sensitivity``); ``panel.trajectories`` (``{name: Trajectory}``, the runs
drawn, cut to the budget); ``panel.labels``; ``panel.code`` (Keras 3 constructors);
``panel.tune()``; ``panel.pin()`` / ``clear_ghosts()`` / ``ghosts``; ``to_html`` / ``snapshot`` (:mod:`adaviz.panels.kit.export`).
"""

from __future__ import annotations

import math

from adaviz._validate import check_int
from adaviz.panels.compare import controls, readouts, runs, views
from adaviz.panels.compare.ghosts import Ghosts
from adaviz.panels.compare.runs import (
    LR_GRID,
    STEPS_RANGE,
    TUNE_WINDOW,
)
from adaviz.panels.kit.base import THROTTLE, OnSurface, start_on, text_line
from adaviz.panels.kit.code import constructor
from adaviz.panels.kit.controls import loss_scale_exponent, noise_controls
from adaviz.panels.kit.style import RULE_COLORS
from adaviz.panels.kit.surface_menu import SurfaceMenu
from adaviz.panels.kit.warmup import WARMUP

__all__ = ["ComparePanel"]


_WIDTH = "300px"


class ComparePanel(OnSurface):
    """Several optimizers on one 2D surface: same start, same budget, honest labels, tuning.

    Args:
        surface: a built-in surface name or an ``adaviz.Surface``.
        optimizers: rule names (``adaviz._math.RULES``), at least one, each once.
        steps: the step budget shared by every optimizer, 10 to 5000.
        start: the starting point shared by every optimizer (default: the surface's).
        loss_scale: every optimizer runs on ``loss_scale * f``; a power of ten in
            [1e-3, 1e3] (the slider shows its exponent k).
        noise, seed: Gaussian gradient noise of standard deviation ``noise`` (0, or 1e-3
            to 100 as the slider shows it) and its seed, the same noise sequence for every
            optimizer (:func:`adaviz.simulate`).
        hyperparameters: ``{name: {hyperparameter: value}}`` to start from instead of the
            library defaults (such runs are labelled "changed by you"; flags such as
            ``centered`` / ``amsgrad`` as bools).
        throttle: minimum seconds between two redraws when an event loop runs.
        grid_size: contour resolution (points per axis).
        static_fallback: put the live page in the display data (front ends without widgets).
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
        noise=0.0,
        seed=0,
        throttle=THROTTLE,
        grid_size=120,
        static_fallback=True,
        precompile=None,
    ):
        # -- validate everything before building any widget ------------------------------
        self._menu = SurfaceMenu()
        key, surf = self._menu.register(surface)
        names = controls.check_optimizers(optimizers)
        steps = check_int("steps", steps, *STEPS_RANGE)
        start = start_on(surf, start)
        exponent = loss_scale_exponent(loss_scale)
        noise_slider, seed_box = noise_controls(noise, seed, width=_WIDTH)
        initial = controls.check_hyperparameters(names, hyperparameters)
        self._grid_size = check_int("grid_size", grid_size, 10)

        self._names = names
        self._colors = [RULE_COLORS[name] for name in names]
        self._surface = surf
        self._start = start
        self._shell(self._draw, throttle, static_fallback, precompile)
        self._surface_dirty = True
        self._tune = None  # the last runs.Tune
        self._trajectories = {}
        self._moved = {}
        self._runs = runs.RunCache()
        self._sensitivity_drawn = None  # what the sensitivity view shows now
        self._drawn = None  # the arrays drawn now: paths, loss steps, losses

        # -- controls ----------------------------------------------------------------------
        self._hp = {}
        for name in names:
            self._hp[name] = controls.rule_controls(name, initial[name], _WIDTH)
            self._hp[name].subscribe(lambda _changed: self._request())
        noise = (noise_slider, seed_box)
        top = controls.panel_controls(self._menu.options(), key, steps, exponent, noise, _WIDTH)
        self._steps, self._loss_scale = top["steps"], top["loss_scale"]
        self._noise, self._seed = noise
        top["surface"].observe(self._surface_chosen, names="value")
        for name in ("steps", "loss_scale", "noise", "seed"):
            top[name].observe(lambda _: self._request(), names="value")
        top["tune"].on_click(lambda _: self.tune())
        top["pin"].on_click(lambda _: self.pin())
        top["clear"].on_click(lambda _: self.clear_ghosts())
        self._controls = {name: self._hp[name].sliders for name in names}
        self._controls.update(top)

        # -- text and views ----------------------------------------------------------------
        self._title = text_line()
        self._table = self._message = text_line("adaviz-readouts")
        self._code_box = text_line("adaviz-code")
        self._views = views.make_views(names, self._colors)
        contour = self._views["surface"]
        self._ghosts = Ghosts(contour, self._views["loss"], names, self._colors)
        self._request()
        self._redraw.flush()
        self._attach_views()
        contour.on_click(self._set_start_from_click)
        self._lay_out(list(top.values()))

    def _lay_out(self, top):
        rules = [
            (n, color, self._hp[n]) for n, color in zip(self._names, self._colors, strict=True)
        ]
        rows = controls.layout(top, rules, self.figures)
        self._build(
            [self._title, *rows, self._table, self._code_box], css_class="adaviz-compare-panel"
        )

    # ======================================================================================
    # public API
    # ======================================================================================
    @property
    def controls(self):
        """``controls[name][hyperparameter]`` (sliders), plus ``surface``, ``steps``,
        ``loss_scale`` (the exponent k), ``noise`` and ``seed`` (the gradient noise, shared
        by every rule) and ``tune`` (the button)."""
        return self._controls

    @property
    def noise(self):
        """``(standard deviation, seed)`` of the gradient noise every rule runs with."""
        return float(self._noise.value), int(self._seed.value)

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
        return self._ghosts.labels

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

    def pin(self):
        """Keep every current path, and its loss curve, as a faint ghost in its optimizer's
        colour, labelled with its settings (the oldest pin is replaced when all
        :data:`PINS` are used). Returns ``{name: label}``."""
        self.flush()
        k = float(self._loss_scale.value)
        labels = [controls.ghost_label(n, self.hyperparameters(n), k) for n in self._names]
        return self._ghosts.pin(*self._drawn, labels)

    def clear_ghosts(self):
        """Remove every pinned ghost (the k = 0 ghosts stay while k != 0)."""
        self._ghosts.clear()

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
        steps, scale = int(self._steps.value), self.loss_scale
        surf, start, noise = self._surface, self._start, self.noise
        curves = {
            n: runs.best_lr(surf, n, start, self.hyperparameters(n), scale, steps, noise)
            for n in self._names
        }
        self._quiet += 1
        try:
            for name, (_scores, lr) in curves.items():
                if lr is not None:
                    self._hp[name].set_values(lr=lr)
        finally:
            self._quiet -= 1
        self._tune = runs.Tune(
            number=1 if self._tune is None else self._tune.number + 1,
            context=self._context(),
            curves=curves,
            values={name: self.hyperparameters(name) for name in self._names},
        )
        self._request()
        self.flush()
        return {name: self.hyperparameters(name) for name in self._names}

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
        others = self._menu.surfaces(first=current, keys=surfaces)[1:]
        jobs = runs.warmup_jobs(current, others, self._names, int(self._steps.value))
        WARMUP.start(jobs, backgrounds=[(surf, self._grid_size) for surf in others])
        return WARMUP.wait(timeout) if wait else False

    # -- export hooks ----------------------------------------------------------------------
    @property
    def _export_title(self):
        return f"{', '.join(self._names)} on {self._surface.name}"

    def _export_columns(self):
        figs = {name: view.figure for name, view in self._views.items()}
        return [[figs["surface"]], [figs["loss"], figs["step_size"], figs["sensitivity"]]]

    #: the height of the live page's iframe in a notebook (:meth:`page`), in pixels
    _live_page_height = 1300

    def _live_page(self, plotly):
        """The live page of this panel's current settings (:mod:`adaviz.web.page`)."""
        from adaviz.web import page

        state = page.compare_state(
            self._surface, self._names, start=self.start, steps=int(self._steps.value),
            loss_scale_exponent=float(self._loss_scale.value), labels=self.labels,
            hyperparameters={name: self.hyperparameters(name) for name in self._names},
            noise=self.noise[0], seed=self.noise[1])  # fmt: skip
        return page.compare_page(state, plotly=plotly, title=self._export_title)

    def _export_header(self):
        return (
            f"<div>{self._title.value}</div><div>{self._table.value}</div>"
            f"<div>{self._code_box.value}</div>"
        )

    # ======================================================================================
    # events and drawing
    # ======================================================================================
    def _context(self):
        """What a tune depends on besides the hyperparameters: surface, budget, k, start,
        noise."""
        return (
            self._surface.name,
            int(self._steps.value),
            float(self._loss_scale.value),
            tuple(float(v) for v in self._start),
            self.noise,
        )

    def _context_change(self):
        """'' when the last tune was made in the current context, else where it was made."""
        return "" if self._tune is None else self._tune.where(self._context())

    def _label(self, name):
        """(short label, html detail) of optimizer ``name`` from the values it runs with."""
        values, tune = self.hyperparameters(name), self._tune
        if tune is None:
            return controls.label(name, values)
        where = self._context_change()
        return controls.label(name, values, tune.values[name], tune.found(name), where)

    def _draw(self):
        """Run every rule and update every view: one message per figure, the contour first."""
        surface_changed = self._surface_dirty
        self._surface_dirty = False
        clear = surface_changed and self._ghosts.forget()
        surf = self._surface
        steps, k = int(self._steps.value), float(self._loss_scale.value)
        scale = 10.0**k
        f_star = surf.min_value
        gap = math.isfinite(f_star)
        drawn = []
        for name in self._names:
            values = self.hyperparameters(name)
            both = self._runs.get(surf, name, self._start, values, scale, steps, self.noise)
            d = runs.drawn(both, steps, scale, f_star)
            self._trajectories[name] = d["run"]
            self._moved[name] = d["moved"]
            drawn.append(d)
        paths = [d["path"] for d in drawn]
        contour = self._views["surface"]
        if k == 0.0:
            self._ghosts.hide_k0()
        contour.update(
            paths, -1, clear_ghosts=clear,
            background=WARMUP.background(surf, self._grid_size) if surface_changed else None,
            ghosts=self._ghosts.k0_changes([d["ghost"] for d in drawn]) if k != 0.0 else None,
        )  # fmt: skip
        loss_view = self._views["loss"]
        if clear:
            loss_view.hide_ghosts()
        loss_x, losses = views.draw_losses(loss_view, drawn, f_star)
        self._drawn = (paths, loss_x, losses)
        self._views["step_size"].update(
            [d["size_steps"] for d in drawn], [d["step_size"] for d in drawn]
        )
        self._sensitivity_drawn = views.draw_sensitivity(
            self._views["sensitivity"], self._tune, surf.name, self._context_change(), gap,
            f_star, self._names, drawn=self._sensitivity_drawn,
        )  # fmt: skip
        if surface_changed:
            self._title.value = readouts.title_html(self._names, surf.name)
        self._draw_text(steps, k)

    def _draw_text(self, steps, k):
        scale = 10.0**k
        details = [self._label(name)[1] for name in self._names]
        moved = None if k == 0.0 else self._moved
        rows = readouts.rows(self._names, self._colors, details, self._trajectories, scale, moved)
        note = readouts.tune_note(LR_GRID, TUNE_WINDOW)
        self._table.value = readouts.table_html(rows, steps, scale, note)
        self._code_box.value = readouts.code_block_html(self.code)
