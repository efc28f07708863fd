"""SurfacePanel: the interactive Adadelta explorer on 2D loss surfaces.

Display ``adaviz.SurfacePanel("rosenbrock")`` as the last expression of a cell. The panel
is one ``ipywidgets.VBox``: hyperparameter controls (:mod:`adaviz.panels.kit.controls`), four
views (:mod:`adaviz.panels.views`: contour + path, accumulators, step sizes, loss),
readouts, a playback scrubber, ghost pins and a copy-as-code line. It is a controller:
controls -> engine (:func:`adaviz.simulate`) -> views.

How it updates:
    The figures are created once. A change (slider, preset, surface, click on the contour,
    ``panel.set_start``) runs the compiled engine once and updates each view in place with
    one message: the contour view's first (the path is what the user watches), then the
    other three, prepared together and sent back to back. Arrays go
    to the browser as 1-D float32/float64 binary buffers. When only the traces' x/y move
    (every change but a new surface, a new step count, a divergence appearing or going, or
    a curve leaving its view's y range) the message is a zero-duration ``Plotly.animate``
    with ``redraw: false`` (:func:`adaviz.panels.kit.widget.moving`): the browser redraws only
    those traces, in a few ms instead of a full redraw. The line views keep fixed axis
    ranges for that (:mod:`adaviz.panels.views.lines`).

No compile while the user waits:
    The engine compiles one XLA graph per surface and capacity (the most steps it can
    record; the step count itself is an argument of the graph). The panel runs exactly
    ``steps`` steps in the graph built for the steps slider's maximum (:data:`CAPACITY`),
    so one graph per surface serves every position of the slider (each graph costs ~10 MB
    of kernel memory, so one per surface rather than one per step bucket). Once the panel
    has been displayed in a kernel (or on
    ``panel.precompile()``), a background thread compiles those graphs and renders the
    background images of every surface in the dropdown (the shown surface first), so
    moving the steps slider or choosing another surface later compiles nothing. The
    thread never touches widgets; a draw of a surface being compiled at that moment waits
    for that compile (per-surface lock). Results do not depend on who compiled a graph:
    the same function runs the same graph (see :mod:`adaviz.panels.kit.warmup`).

Coalescing rapid changes:
    Redraws go through :class:`adaviz.panels.kit.schedule.Coalescer` (``throttle`` seconds):
    with a running event loop (a kernel), the first change after a quiet period draws at
    once, later ones within ``throttle`` coalesce into one redraw with the latest values.
    Without a running loop (scripts, pytest) every change draws synchronously. Either way
    ``panel.flush()`` draws a pending change now, and reading ``panel.trajectory``,
    ``panel.figures`` or ``panel.readouts`` flushes first.

Stable CSS classes (for browser tests and custom styling), added with ``add_class``:
    ``adaviz-surface-panel`` (the root widget), ``adaviz-surface`` (surface dropdown),
    ``adaviz-lr``, ``adaviz-rho``, ``adaviz-epsilon``, ``adaviz-decay``, ``adaviz-steps``,
    ``adaviz-preset``, ``adaviz-reset``, ``adaviz-step`` (scrubber), ``adaviz-play``,
    ``adaviz-pin``, ``adaviz-clear``, ``adaviz-readouts``, ``adaviz-code``,
    ``adaviz-title``, and ``adaviz-figure-surface`` / ``-accumulators`` / ``-step-size`` /
    ``-loss`` on the figures. The path's trace is named ``"trajectory"``.

The title's formula is MathML (:mod:`adaviz.panels.surface.formula`), which the browser
renders itself: it reads as a formula in JupyterLab, Voila and static HTML alike.

Views created late (Voila, a reloaded tab) get the figures as they are now (see
:mod:`adaviz.panels.kit.widget`). Without a kernel: ``panel.to_html(path)``,
``panel.snapshot()`` and the display's ``text/html`` fallback (:mod:`adaviz.panels.kit.export`).
"""

from __future__ import annotations

import contextlib
import html
import math

import ipywidgets as widgets
import numpy as np

from adaviz import _math
from adaviz._validate import check_int, check_start
from adaviz.panels.kit import readouts, runs
from adaviz.panels.kit.arrays import floats, step_axis
from adaviz.panels.kit.code import number
from adaviz.panels.kit.controls import (
    HyperparameterControls,
    check_in_slider_range,
    ghost_buttons,
    steps_slider,
)
from adaviz.panels.kit.export import StaticExport
from adaviz.panels.kit.schedule import Coalescer
from adaviz.panels.kit.style import fmt
from adaviz.panels.kit.surface_menu import SurfaceMenu
from adaviz.panels.kit.warmup import WARMUP, in_kernel
from adaviz.panels.surface.formula import formula_html
from adaviz.panels.views import AccumulatorView, ContourView, LossView, StepSizeView
from adaviz.panels.views import contour as _contour

#: steps slider range.
STEPS_RANGE = (1, 5000)
#: the capacity of the engine graph the panel runs (every step count of the slider fits):
#: one compiled graph per surface.
CAPACITY = STEPS_RANGE[1]
#: number of preallocated ghost traces (pins beyond that replace the oldest one).
N_GHOSTS = 5
#: default minimum time between two redraws when an event loop is running, in seconds.
THROTTLE = 0.04

# (names the tests and other modules have used)
_LEVELS = _contour.LEVELS
_band_colors = _contour.band_colors

_CONTROL_WIDTH = "310px"  # three columns of controls in a ~940 px notebook cell


#: the first ``steps`` steps of a longer run (the kit's one implementation)
_cut = runs.cut


class SurfacePanel(StaticExport, widgets.VBox):
    """Interactive Adadelta explorer on a 2D loss surface.

    Args:
        surface: a built-in surface name (see ``adaviz.surfaces.names()``) or an
            ``adaviz.Surface``.
        start: starting point ``(x, y)`` inside the surface's domain (default: the
            surface's own start).
        steps: number of Adadelta steps, 1 to 5000.
        lr, rho, epsilon, decay: initial hyperparameters (default: legacy tf.keras,
            lr 1.0, rho 0.95, epsilon 1e-7, decay 0). ``learning_rate`` is accepted as
            an alias of ``lr``.
        throttle: minimum seconds between two redraws when an event loop is running
            (0 draws every change at once).
        grid_size: contour resolution (points per axis).
        static_fallback: add a static HTML snapshot to the panel's display data.
        precompile: compile the other surfaces in the background once the panel is
            displayed (default: when running in a Jupyter kernel).

    Raises:
        ValueError: unknown surface name, start outside the domain, steps out of range,
            or a hyperparameter the optimizer (or its slider) refuses.
    """

    #: "converged" means the loss is within this of the lowest known minimum.
    TOLERANCE = 1e-3

    def __init__(
        self,
        surface="rosenbrock",
        *,
        start=None,
        steps=500,
        lr=None,
        rho=None,
        epsilon=None,
        decay=None,
        learning_rate=None,
        throttle=THROTTLE,
        grid_size=120,
        static_fallback=True,
        precompile=None,
    ):
        # -- validate everything before building any widget ----------------------------
        if learning_rate is not None:
            if lr is not None:
                raise ValueError(
                    f"give lr or learning_rate, not both (got lr={lr!r}, "
                    f"learning_rate={learning_rate!r})"
                )
            lr = learning_rate
        self._menu = SurfaceMenu()
        key, surf = self._menu.register(surface)
        start = check_start(
            surf.start if start is None else start, surf.domain, surface_name=surf.name
        )
        steps = check_int("steps", steps, *STEPS_RANGE)
        hyper = {"lr": lr, "rho": rho, "epsilon": epsilon, "decay": decay}
        for name, value in hyper.items():
            if value is not None:
                hyper[name] = check_in_slider_range(name, value)
        if isinstance(throttle, bool) or not (isinstance(throttle, (int, float)) and throttle >= 0):
            raise ValueError(f"throttle must be a number of seconds >= 0, got {throttle!r}")
        grid_size = check_int("grid_size", grid_size, 10)

        self._surface = surf
        self._start = start
        self._grid_size = grid_size
        self._static_fallback = bool(static_fallback)
        self._precompile_on_display = in_kernel() if precompile is None else bool(precompile)
        self._trajectory = None
        self._view = None  # arrays drawn, derived from the trajectory
        self._surface_dirty = True
        self._ghosts = [None] * N_GHOSTS  # label per slot, None = free
        self._next_ghost = 0
        self._readout_values = {}
        self._loss_axis = None
        self._redraw = Coalescer(self._draw, interval=float(throttle), on_error=self._show_error)

        # -- controls -------------------------------------------------------------------
        self._hp = HyperparameterControls(initial=hyper)
        self._hp.subscribe(lambda _changed: self._request())
        style = {"description_width": "initial"}
        width = widgets.Layout(width=_CONTROL_WIDTH)
        self._surface_select = widgets.Dropdown(
            options=self._menu.options(),
            value=key,
            description="surface",
            style=style,
            layout=width,
        )
        self._steps = steps_slider(steps, *STEPS_RANGE, width=_CONTROL_WIDTH)
        self._scrubber = widgets.IntSlider(
            value=0,
            min=0,
            max=steps,
            description="step",
            continuous_update=True,
            style=style,
            layout=widgets.Layout(width="390px"),
        )
        self._play = widgets.Play(
            value=0,
            min=0,
            max=steps,
            step=self._play_step(steps),
            interval=50,
            description="play",
            tooltip="Play the trajectory step by step",
        )
        self._link = widgets.link((self._play, "value"), (self._scrubber, "value"))
        self._pin, self._clear = ghost_buttons()
        for control in (*self._hp.sliders.values(), self._hp.preset):
            control.layout.width = _CONTROL_WIDTH  # (a new Layout would orphan the old one)
        self._surface_select.observe(self._surface_chosen, names="value")
        self._steps.observe(lambda _: self._request(), names="value")
        self._scrubber.observe(self._scrubbed, names="value")
        self._pin.on_click(lambda _: self.pin())
        self._clear.on_click(lambda _: self.clear_ghosts())
        self._controls = {
            "surface": self._surface_select,
            "lr": self._hp.lr,
            "rho": self._hp.rho,
            "epsilon": self._hp.epsilon,
            "decay": self._hp.decay,
            "steps": self._steps,
            "preset": self._hp.preset,
            "step": self._scrubber,
            "play": self._play,
            "reset": self._hp.reset,
            "pin": self._pin,
            "clear": self._clear,
        }
        for name, control in self._controls.items():
            control.add_class(f"adaviz-{name.replace('_', '-')}")

        # -- text -------------------------------------------------------------------
        self._title = widgets.HTML(layout=widgets.Layout(width="930px"))
        self._title.add_class("adaviz-title")
        self._readouts = widgets.HTML(layout=widgets.Layout(width="930px"))
        self._readouts.add_class("adaviz-readouts")
        self._code = widgets.HTML(layout=widgets.Layout(width="930px"))
        self._code.add_class("adaviz-code")
        self._cursor_label = widgets.HTML(layout=widgets.Layout(width="230px"))

        # -- views (created once) -----------------------------------------------------
        # The first drawing goes into plain figures, which then become the widgets: the
        # browser gets the finished figures as the widgets' initial state (plotly's front
        # end replays updates sent before its first view wrongly).
        self._views = {
            "surface": ContourView(ghosts=N_GHOSTS),
            "accumulators": AccumulatorView(),
            "step_size": StepSizeView(),
            "loss": LossView(ghosts=N_GHOSTS),
        }
        self._ti = self._views["surface"].index
        self._request()
        self._redraw.flush()
        for name, view in self._views.items():
            view.attach(f"adaviz-figure-{name.replace('_', '-')}")
        self._views["surface"].on_click(self._set_start_from_click)

        # -- layout -------------------------------------------------------------------
        figures = self._figures
        controls_box = widgets.HBox(
            [
                widgets.VBox([self._surface_select, self._steps, widgets.HBox([self._hp.preset])]),
                widgets.VBox([self._hp.lr, self._hp.rho, self._hp.reset]),
                widgets.VBox([self._hp.epsilon, self._hp.decay]),
            ]
        )
        views = widgets.HBox(
            [
                figures["surface"],
                widgets.VBox([figures["accumulators"], figures["step_size"], figures["loss"]]),
            ]
        )
        playback = widgets.HBox(
            [self._play, self._scrubber, self._cursor_label, self._pin, self._clear],
            layout=widgets.Layout(align_items="center"),
        )
        super().__init__(
            [self._title, controls_box, views, playback, self._readouts, self._code],
            layout=widgets.Layout(width="940px"),
        )
        self.add_class("adaviz-surface-panel")

    # ==================================================================================
    # public API
    # ==================================================================================
    @property
    def controls(self):
        """The control widgets: surface, lr, rho, epsilon, decay, steps, preset, step,
        play (and reset, pin, clear)."""
        return self._controls

    @property
    def _figures(self):
        return {name: view.figure for name, view in self._views.items()}

    @property
    def figures(self):
        """The ``FigureWidget``s: surface, accumulators, step_size, loss (flushed first)."""
        self.flush()
        return self._figures

    @property
    def trajectory(self):
        """The :class:`adaviz.Trajectory` currently shown (flushed first)."""
        self.flush()
        return self._trajectory

    @property
    def surface(self):
        """The :class:`adaviz.Surface` currently shown."""
        return self._surface

    @property
    def start(self):
        """The current start ``(x, y)`` as a float64 array."""
        return self._start.copy()

    @property
    def hyperparameters(self):
        """The current lr, rho, epsilon, decay as floats."""
        return self._hp.values()

    @property
    def readouts(self):
        """The numbers shown in the readouts, as a dict (flushed first).

        Keys: ``first_step`` (|Δx|, |Δy| of step 1), ``first_step_formula``
        (lr·√(ε/(1−ρ))), ``final_loss``, ``distance_to_minimum``, ``steps_to_converge``
        (None if not reached), ``diverged_at`` (None if not diverged), ``text`` (the HTML
        shown).
        """
        self.flush()
        return dict(self._readout_values, text=self._readouts.value)

    @property
    def code(self):
        """The current settings as one line of Python."""
        v = self._hp.values()
        return (
            f"adaviz.Adadelta(lr={number(v['lr'])}, rho={number(v['rho'])}, "
            f"epsilon={number(v['epsilon'])}, decay={number(v['decay'])})"
        )

    @property
    def ghosts(self):
        """Labels of the pinned ghost trajectories, oldest first."""
        n = len(self._ghosts)
        order = [(self._next_ghost + i) % n for i in range(n)]
        return [self._ghosts[i] for i in order if self._ghosts[i] is not None]

    def set_start(self, x, y):
        """Start the trajectory at ``(x, y)`` (must lie inside the surface's domain)."""
        surf = self._surface
        self._start = check_start((x, y), surf.domain, surface_name=surf.name)
        self._request()

    def set_values(self, **hyperparameters):
        """Set several of lr/rho/epsilon/decay at once (one redraw)."""
        self._hp.set_values(**hyperparameters)

    def pin(self):
        """Keep the current path as a faint labelled ghost (the oldest is replaced when
        all ghost slots are used). Returns the ghost's label."""
        self.flush()
        slot = self._next_ghost
        self._next_ghost = (slot + 1) % N_GHOSTS
        v = self._hp.values()
        label = f"ghost: lr={fmt(v['lr'])}, ρ={fmt(v['rho'])}, ε={fmt(v['epsilon'], 2)}" + (
            f", decay={fmt(v['decay'])}" if v["decay"] else ""
        )
        self._ghosts[slot] = label
        view = self._view
        self._views["surface"].show_ghost(slot, view["px"], view["py"], label)
        self._views["loss"].show_ghost(slot, view["steps"], view["loss"], label)
        return label

    def clear_ghosts(self):
        """Remove every ghost trajectory."""
        self._ghosts = [None] * N_GHOSTS
        self._next_ghost = 0
        self._views["surface"].hide_ghosts()
        self._views["loss"].hide_ghosts()

    def flush(self):
        """Draw any pending change now (a no-op when nothing is pending)."""
        self._redraw.flush()

    def precompile(self, wait=False, timeout=None):
        """Compile the engine and render the backgrounds of every surface in the dropdown,
        in a background thread (done automatically when the panel is displayed in a kernel).

        Args:
            wait: block until done (or ``timeout`` seconds).

        Returns:
            True when every surface is ready.
        """
        current = self._surface
        others = [self._menu.get(key) for key in self._menu.catalogue]
        others = [s for s in others if s is not current]
        WARMUP.start(
            [(s, ("adadelta", CAPACITY), self._compile_job(s)) for s in [current, *others]],
            backgrounds=[(s, self._grid_size) for s in [current, *others]],
        )
        return WARMUP.wait(timeout) if wait else False

    # -- export hooks (adaviz.panels.kit.export) -----------------------------------------
    @property
    def _export_title(self):
        return f"Adadelta on {self._surface.name}"

    def _export_prepare(self):
        self.flush()

    def _export_columns(self):
        figs = self._figures
        return [[figs["surface"]], [figs["accumulators"], figs["step_size"], figs["loss"]]]

    #: the height of the live page's iframe in a notebook (:meth:`page`), in pixels
    _live_page_height = 960

    def _live_page(self, plotly, javascript=None):
        """The live page of this panel's current settings (:mod:`adaviz.web.page`)."""
        from adaviz.web import page

        state = page.surface_state(
            self._surface,
            start=tuple(float(v) for v in self._start),
            steps=int(self._steps.value),
            javascript=javascript,
            **self._hp.values(),
        )
        return page.surface_page(state, plotly=plotly, title=self._export_title)

    def _export_header(self):
        return (
            f"<div>{self._title.value}</div><div style='margin:6px 0'>{self._readouts.value}"
            f"</div><div>{self._code.value}</div>"
        )

    def _on_display(self):
        if self._precompile_on_display:
            self.precompile()

    # ==================================================================================
    # events
    # ==================================================================================
    def _request(self):
        self._redraw.request()

    def _show_error(self, exc):
        self._readouts.value = (
            f"<span style='color:#b00'>could not update: {html.escape(repr(exc))}</span>"
        )

    def _surface_chosen(self, change):
        surf = self._menu.get(change["new"])
        self._surface = surf
        self._start = check_start(surf.start, surf.domain, surface_name=surf.name)
        self._surface_dirty = True
        self._request()

    def _scrubbed(self, change):
        if self._redraw.running or self._view is None:
            return
        k = min(max(int(change["new"]), 0), self._view["n"] - 1)
        self._views["surface"].set_cursor(k)
        for name in ("accumulators", "step_size", "loss"):
            self._views[name].set_cursor(k)
        self._cursor_label.value = self._cursor_text(k)

    def _set_start_from_click(self, x, y):
        try:
            self.set_start(x, y)
        except ValueError as exc:  # a click outside the domain (e.g. on a zoomed-out edge)
            self._readouts.value = f"<span style='color:#b00'>{html.escape(str(exc))}</span>"

    def _clicked(self, _trace, points, _state):
        """A plotly click callback (what the contour view's traces call)."""
        xs, ys = list(points.xs), list(points.ys)
        if xs:
            self._set_start_from_click(float(xs[0]), float(ys[0]))

    @staticmethod
    def _play_step(steps):
        return max(1, steps // 150)

    # ==================================================================================
    # drawing
    # ==================================================================================
    def _simulate(self):
        from adaviz import engine

        v = self._hp.values()
        surf = self._surface
        return WARMUP.run(  # waits only while the background compiles this surface
            surf,
            ("adadelta", CAPACITY),
            lambda: engine.simulate(
                surf,
                start=self._start,
                steps=int(self._steps.value),
                capacity=CAPACITY,
                lr=v["lr"],
                rho=v["rho"],
                epsilon=v["epsilon"],
                decay=v["decay"],
            ),
        )

    @staticmethod
    def _compile_job(surface):
        def job():
            from adaviz import engine

            engine.simulate(surface, steps=1, capacity=CAPACITY, lr=1.0, rho=0.95, epsilon=1e-7)

        return job

    def _compute_view(self, traj):
        """The arrays drawn, cut at the divergence step (1-D float, contiguous)."""
        k = int(traj.diverged_at[0])
        n = traj.steps + 1 if k < 0 else k  # number of valid positions
        m = min(n, traj.steps)  # number of steps drawn in the step-size view
        pos = traj.positions[:n, 0]
        loss = traj.loss[:n, 0]
        f_star = self._surface.min_value
        gap = math.isfinite(f_star)
        return {
            "n": n,
            "diverged_at": None if k < 0 else k,
            "steps": step_axis(n),
            "step_numbers": step_axis(m + 1)[1:],
            "px": floats(pos[:, 0]),
            "py": floats(pos[:, 1]),
            "loss": floats(loss - loss.dtype.type(f_star) if gap else loss),
            "loss_gap": gap,
            "loss_log": gap or bool(np.all(loss > 0)),
            "accum_grad": [floats(traj.accum_grad[:n, 0, i]) for i in (0, 1)],
            "accum_delta": [floats(traj.accum_delta[:n, 0, i]) for i in (0, 1)],
            "step_size": [floats(traj.step_size[:m, 0, i]) for i in (0, 1)],
            "newton": [floats(traj.newton_step_size[:m, 0, i]) for i in (0, 1)],
        }

    def _draw(self):
        """Run the engine and update every view: one message per figure, the contour
        view's first."""
        surface_changed = self._surface_dirty
        self._surface_dirty = False
        clear = surface_changed and any(g is not None for g in self._ghosts)
        if clear:  # ghosts of another surface would mislead
            self._ghosts = [None] * N_GHOSTS
            self._next_ghost = 0
        traj = self._trajectory = self._simulate()
        view = self._view = self._compute_view(traj)
        steps = traj.steps
        if self._scrubber.max != steps:  # playback follows the step count
            if self._scrubber.value > steps:
                self._scrubber.value = steps
            self._scrubber.max = steps
            self._play.max = steps
            self._play.step = self._play_step(steps)
        cursor = min(int(self._scrubber.value), view["n"] - 1)

        surf = self._surface
        if view["diverged_at"] is None:
            end_name = "end"
        else:
            end_name = f"last point before divergence (step {view['n'] - 1})"
        views = self._views
        loss = views["loss"]
        if view["loss_gap"]:
            title = f"loss − f* (f* = {fmt(surf.min_value, 4)})"
        else:
            title = "loss (no known minimum)"
        axis = (title, view["loss_log"])
        # The contour view's message goes first (the path is what the user watches); the
        # other three are prepared together and leave back to back when the stack unwinds
        # (last entered, first sent), with no Python work between them.
        background = WARMUP.background(surf, self._grid_size) if surface_changed else None
        views["surface"].update(
            [(view["px"], view["py"])],
            cursor,
            end_name=end_name,
            background=background,
            clear_ghosts=clear,
        )
        with contextlib.ExitStack() as stack:
            if clear or axis != self._loss_axis:
                self._loss_axis = axis
                stack.enter_context(loss.figure.batch_update())
                if clear:
                    loss.hide_ghosts()
                loss.set_y_axis(*axis)
            stack.enter_context(loss.updating(view["steps"], [view["loss"]], cursor))
            stack.enter_context(
                views["step_size"].updating(
                    view["step_numbers"], view["step_size"], view["newton"], cursor
                )
            )
            stack.enter_context(
                views["accumulators"].updating(
                    view["steps"], view["accum_grad"], view["accum_delta"], cursor
                )
            )
        if surface_changed:
            self._title.value = (
                f"<b style='font-size:15px'>Adadelta on {html.escape(surf.name)}</b>"
                + (f"&nbsp; {formula_html(surf.formula)}" if surf.formula else "")
                + (f"<br><i>{html.escape(surf.lesson)}</i>" if surf.lesson else "")
            )
        self._draw_text(traj, view, cursor)

    def _cursor_text(self, k):
        view = self._view
        text = (
            f"step {k}: x = {fmt(view['px'][k], 4)}, y = {fmt(view['py'][k], 4)}, "
            f"loss = {fmt(self._trajectory.loss[k, 0], 4)}"
        )
        if k < int(self._scrubber.value):
            text += " (path ends here)"
        return text

    def _draw_text(self, traj, view, cursor):
        v = self._hp.values()
        lr, rho, eps = v["lr"], v["rho"], v["epsilon"]
        values = {}
        if view["n"] >= 2:  # the displacement of step 1 per coordinate
            first = np.abs(traj.positions[1, 0] - traj.positions[0, 0]).astype(np.float64)
        else:
            first = np.full(2, np.nan)
        values["first_step"] = (float(first[0]), float(first[1]))
        formula = float(_math.first_step(lr, rho, eps)) if rho < 1.0 else math.inf
        values["first_step_formula"] = formula
        surf = self._surface
        diverged = view["diverged_at"]
        values["diverged_at"] = diverged
        values["final_loss"] = float(traj.final_loss[0]) if diverged is None else float("nan")
        has_minima = bool(surf.minima)
        if has_minima and diverged is None:
            values["distance_to_minimum"] = float(traj.distance_to_minimum()[0])
            reached = int(traj.steps_to_tolerance(self.TOLERANCE)[0])
            values["steps_to_converge"] = None if reached < 0 else reached
        else:
            values["distance_to_minimum"] = float("nan")
            values["steps_to_converge"] = None
        self._readout_values = values

        rows = [readouts.first_step_html(first, formula, lr, rho, eps)]
        rows += readouts.outcome_html(values, traj.steps, self.TOLERANCE, has_minima)
        self._readouts.value = "<br>".join(rows)
        self._code.value = readouts.code_html(self.code)
        self._cursor_label.value = self._cursor_text(cursor)
