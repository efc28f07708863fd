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
    so one graph per surface serves every position of the slider. Once the panel
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
:mod:`adaviz.panels.kit.widget`). Without a kernel: ``panel.to_html(path)`` (the live page,
:mod:`adaviz.web`), the display's ``text/html`` fallback (the same page as a notebook output,
:mod:`adaviz.panels.kit.embed`) and ``panel.snapshot()`` (a picture).
"""

from __future__ import annotations

import contextlib

import ipywidgets as widgets

from adaviz._validate import check_int
from adaviz.panels.kit import readouts
from adaviz.panels.kit.base import THROTTLE, OnSurface, start_on, text_line
from adaviz.panels.kit.code import number
from adaviz.panels.kit.controls import check_adadelta_values
from adaviz.panels.kit.surface_menu import SurfaceMenu
from adaviz.panels.kit.warmup import WARMUP
from adaviz.panels.surface import drawn
from adaviz.panels.surface.controls import STEPS_RANGE, controls_box, make_controls, play_step
from adaviz.panels.views import AccumulatorView, ContourView, LossView, StepSizeView

#: the capacity of the engine graph the panel runs (every step count of the slider fits):
#: one compiled graph per surface.
CAPACITY = drawn.CAPACITY
#: number of preallocated ghost traces (pins beyond that replace the oldest one).
N_GHOSTS = 5


class SurfacePanel(OnSurface):
    """Interactive Adadelta explorer on a 2D loss surface.

    Args:
        surface: a built-in surface name (see ``adaviz.surfaces.names()``) or an
            ``adaviz.Surface``.
        start: starting point ``(x, y)`` inside the surface's domain (default: the
            surface's own start).
        steps: number of Adadelta steps, 1 to 5000.
        lr, rho, epsilon, decay: initial hyperparameters (default: Keras 2 / TF 1.x tf.keras,
            lr 1.0, rho 0.95, epsilon 1e-7, decay 0). ``learning_rate`` is accepted as
            an alias of ``lr``.
        noise: the standard deviation of Gaussian noise added to each gradient coordinate
            (:func:`adaviz.simulate`'s ``noise``), 0 or 1e-3 to 100 (the slider's range).
        seed: the noise's seed, an integer in [0, 2**32 - 1].
        throttle: minimum seconds between two redraws when an event loop is running
            (0 draws every change at once).
        grid_size: contour resolution (points per axis).
        static_fallback: add the live page to the display data, for front ends without
            widgets (an exported notebook; :mod:`adaviz.panels.kit.embed`).
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
        noise=0.0,
        seed=0,
        throttle=THROTTLE,
        grid_size=120,
        static_fallback=True,
        precompile=None,
    ):
        # -- validate everything before building any widget ----------------------------
        hyper = check_adadelta_values(lr, rho, epsilon, decay, learning_rate)
        self._menu = SurfaceMenu()
        key, surf = self._menu.register(surface)
        start = start_on(surf, start)
        steps = check_int("steps", steps, *STEPS_RANGE)
        grid_size = check_int("grid_size", grid_size, 10)
        self._shell(self._draw, throttle, static_fallback, precompile)

        self._surface = surf
        self._start = start
        self._grid_size = grid_size
        self._trajectory = None
        self._view = None  # arrays drawn, derived from the trajectory
        self._surface_dirty = True
        self._ghosts = [None] * N_GHOSTS  # label per slot, None = free
        self._next_ghost = 0
        self._readout_values = {}
        self._loss_axis = None

        # -- controls -------------------------------------------------------------------
        self._hp, self._controls = make_controls(self._menu, key, steps, hyper, noise, seed)
        self._hp.subscribe(lambda _changed: self._request())
        c = self._controls
        self._surface_select, self._steps = c["surface"], c["steps"]
        self._scrubber, self._play = c["step"], c["play"]
        self._surface_select.observe(self._surface_chosen, names="value")
        for name in ("steps", "noise", "seed"):
            c[name].observe(lambda _: self._request(), names="value")
        self._scrubber.observe(self._scrubbed, names="value")
        c["pin"].on_click(lambda _: self.pin())
        c["clear"].on_click(lambda _: self.clear_ghosts())

        # -- text -------------------------------------------------------------------
        self._title = text_line("adaviz-title")
        self._readouts = self._message = text_line("adaviz-readouts")
        self._code = text_line("adaviz-code")
        self._cursor_label = text_line(width="230px")

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
        self._request()
        self._redraw.flush()
        self._attach_views()
        self._views["surface"].on_click(self._set_start_from_click)

        # -- layout -------------------------------------------------------------------
        figures = self._figure_widgets()
        views = widgets.HBox(
            [
                figures["surface"],
                widgets.VBox([figures["accumulators"], figures["step_size"], figures["loss"]]),
            ]
        )
        playback = widgets.HBox(
            [self._play, self._scrubber, self._cursor_label, c["pin"], c["clear"]],
            layout=widgets.Layout(align_items="center"),
        )
        self._build(
            [self._title, controls_box(c), views, playback, self._readouts, self._code],
            css_class="adaviz-surface-panel",
        )

    # ==================================================================================
    # public API
    # ==================================================================================
    @property
    def controls(self):
        """The control widgets: surface, lr, rho, epsilon, decay, noise, seed, steps,
        preset, step, play (and reset, pin, clear)."""
        return self._controls

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
    def noise(self):
        """``(standard deviation, seed)`` of the gradient noise the path runs with."""
        c = self._controls
        return float(c["noise"].value), int(c["seed"].value)

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

    def set_values(self, **hyperparameters):
        """Set several of lr/rho/epsilon/decay at once (one redraw)."""
        self._hp.set_values(**hyperparameters)

    def pin(self):
        """Keep the current path as a faint labelled ghost (the oldest is replaced when
        all ghost slots are used). Returns the ghost's label."""
        self.flush()
        slot = self._next_ghost
        self._next_ghost = (slot + 1) % N_GHOSTS
        label = self._ghosts[slot] = drawn.ghost_label(self._hp.values())
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

    def precompile(self, wait=False, timeout=None):
        """Compile the engine and render the backgrounds of every surface in the dropdown,
        in a background thread (done automatically when the panel is displayed in a kernel).

        Args:
            wait: block until done (or ``timeout`` seconds).

        Returns:
            True when every surface is ready.
        """
        every = self._menu.surfaces(first=self._surface)
        WARMUP.start(
            [(s, ("adadelta", CAPACITY), drawn.compile_job(s)) for s in every],
            backgrounds=[(s, self._grid_size) for s in every],
        )
        return WARMUP.wait(timeout) if wait else False

    # -- export hooks (adaviz.panels.kit.base.Panel) ----------------------------------------
    @property
    def _export_title(self):
        return f"Adadelta on {self._surface.name}"

    def _export_columns(self):
        figs = self._figure_widgets()
        return [[figs["surface"]], [figs["accumulators"], figs["step_size"], figs["loss"]]]

    #: the height of the live page's iframe in a notebook (:meth:`page`), in pixels
    _live_page_height = 960

    def _live_page(self, plotly, javascript=None):
        """The live page of this panel's current settings (:mod:`adaviz.web.page`)."""
        from adaviz.web import page

        state = page.surface_state(
            self._surface, start=tuple(float(v) for v in self._start), steps=int(self._steps.value),
            noise=self.noise[0], seed=self.noise[1], javascript=javascript, **self._hp.values(),
        )  # fmt: skip
        return page.surface_page(state, plotly=plotly, title=self._export_title)

    def _export_header(self):
        return (
            f"<div>{self._title.value}</div><div style='margin:6px 0'>{self._readouts.value}"
            f"</div><div>{self._code.value}</div>"
        )

    # ==================================================================================
    # events
    # ==================================================================================
    def _scrubbed(self, change):
        if self._redraw.running or self._view is None:
            return
        k = min(max(int(change["new"]), 0), self._view["n"] - 1)
        self._views["surface"].set_cursor(k)
        for name in ("accumulators", "step_size", "loss"):
            self._views[name].set_cursor(k)
        self._cursor_label.value = drawn.cursor_text(
            self._trajectory, self._view, k, int(self._scrubber.value)
        )

    # ==================================================================================
    # drawing
    # ==================================================================================
    def _simulate(self):
        noise, seed = self.noise
        steps = int(self._steps.value)
        return drawn.run(self._surface, self._start, steps, self._hp.values(), noise, seed)

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
        view = self._view = drawn.arrays(traj, self._surface)
        steps = traj.steps
        if self._scrubber.max != steps:  # playback follows the step count
            if self._scrubber.value > steps:
                self._scrubber.value = steps
            self._scrubber.max = steps
            self._play.max = steps
            self._play.step = play_step(steps)
        cursor = min(int(self._scrubber.value), view["n"] - 1)

        surf = self._surface
        views = self._views
        loss = views["loss"]
        axis = drawn.loss_axis(surf, view)
        # The contour view's message goes first (the path is what the user watches); the
        # other three are prepared together and leave back to back when the stack unwinds
        # (last entered, first sent), with no Python work between them.
        background = WARMUP.background(surf, self._grid_size) if surface_changed else None
        views["surface"].update(
            [(view["px"], view["py"])],
            cursor,
            end_labels=[drawn.end_label(view)],
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
            # the step axes span the budget, so a path cut at divergence changes no axis
            budget, sizes = (0, steps), (1, max(steps, 2))
            stack.enter_context(loss.updating(view["steps"], [view["loss"]], cursor, budget))
            size_view, size_data = views["step_size"], (view["step_size"], view["newton"])
            stack.enter_context(size_view.updating(view["step_numbers"], *size_data, cursor, sizes))
            accum_data = (view["accum_grad"], view["accum_delta"])
            stack.enter_context(
                views["accumulators"].updating(view["steps"], *accum_data, cursor, budget)
            )
        if surface_changed:
            self._title.value = drawn.title_html(surf)
        self._draw_text(traj, view, cursor)

    def _draw_text(self, traj, view, cursor):
        v, (noise, seed) = self._hp.values(), self.noise
        values, first = drawn.outcome(traj, view, self._surface, v, self.TOLERANCE, noise > 0)
        self._readout_values = values
        rows = [
            readouts.first_step_html(
                first, values["first_step_formula"], v["lr"], v["rho"], v["epsilon"]
            )
        ]
        rows += readouts.outcome_html(
            values, traj.steps, self.TOLERANCE, bool(self._surface.minima)
        )
        rows += [drawn.noise_html(noise, seed)] if noise > 0 else []
        self._readouts.value = "<br>".join(rows)
        self._code.value = readouts.code_html(self.code)
        self._cursor_label.value = drawn.cursor_text(traj, view, cursor, int(self._scrubber.value))
