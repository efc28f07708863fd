"""SurfacePanel: the interactive Adadelta explorer on 2D loss surfaces.

Display ``adaviz.SurfacePanel("rosenbrock")`` as the last expression of a cell. The panel
is one ``ipywidgets.VBox`` holding hyperparameter controls (shared with every panel, see
:mod:`adaviz.panels._controls`), four plotly ``FigureWidget``s (contour + path,
accumulators, step sizes, loss), readouts, a playback scrubber, ghost pins and a
copy-as-code line.

How it updates:
    The figures are created once. A change (slider, preset, surface, click on the contour,
    ``panel.set_start``) runs the compiled engine once (:func:`adaviz.simulate`, no retrace
    for new hyperparameter values) and updates each figure in place with one message.
    Arrays sent to the browser are 1-D float32/float64, which plotly ships as binary
    buffers. The contour view's message goes first, since the path is what the user
    watches; when only the path, start, end and playback marker move (every change but a
    new surface or a divergence appearing or going), it is a zero-duration
    ``Plotly.animate`` with ``redraw: false``, which redraws only those traces (about
    10 ms in the browser instead of ~150 ms for a full redraw). The other views follow,
    each in one ``batch_update()`` (their log axes autorange).

The contour view:
    The loss surface is a PNG image in ``layout.images`` (filled contour bands, with thin
    darker lines between them, logarithmic where the loss spans decades), made with numpy
    once per surface, at about one image pixel per screen pixel. A plotly contour trace
    would be recomputed and redrawn on every update, and ``Plotly.animate`` removes the
    drawing of every trace type but scatter, so every trace of this view is a
    ``go.Scatter`` (the path stays SVG, ``path.js-line`` of the trace "trajectory").
    A tiny invisible scatter carries the colour bar.

Clicking the contour:
    plotly reports clicks on trace points only, so an invisible scatter (mode "none",
    nothing drawn) holds the ``grid_size`` x ``grid_size`` grid over the domain: a click
    sets the start to the nearest grid point; clicking the path, a marker or a minimum
    starts from that point exactly.

Coalescing rapid changes:
    With a running asyncio event loop (a Jupyter kernel), the first change after a quiet
    period is drawn at once; further changes within ``throttle`` seconds only mark the
    panel dirty and one redraw with the latest values is scheduled on the loop, so a
    burst of 100 slider values costs a handful of redraws and leaves no backlog. Without a
    running loop (scripts, pytest) every change is drawn synchronously. Either way,
    ``panel.flush()`` draws any pending change now, and reading ``panel.trajectory``,
    ``panel.figures`` or ``panel.readouts`` flushes first, so Python code always sees the
    state of the controls it just set.

Stable CSS classes (for browser tests and custom styling), added with ``add_class``:
    ``adaviz-surface-panel`` (the root widget), ``adaviz-surface`` (surface dropdown),
    ``adaviz-lr``, ``adaviz-rho``, ``adaviz-epsilon``, ``adaviz-decay``, ``adaviz-steps``,
    ``adaviz-preset``, ``adaviz-reset``, ``adaviz-step`` (scrubber), ``adaviz-play``,
    ``adaviz-pin``, ``adaviz-clear``, ``adaviz-readouts``, ``adaviz-code``, and
    ``adaviz-figure-surface`` / ``-accumulators`` / ``-step-size`` / ``-loss`` on the
    figures. The path's trace is named ``"trajectory"`` (its legend entry reads so).

Views created late:
    plotly's ``FigureWidget`` normally keeps its construction-time figure as widget state
    and sends every later change as a message, so a view opened afterwards (Voila, a
    reloaded browser tab) would show the old figure. The panel's figures report their
    current data and layout as their full state, so such views show what Python holds.

Without a kernel:
    ``panel.to_html(path)`` writes a standalone HTML page of the current views (plotly.js
    embedded by default). When the panel is displayed, its mimebundle also carries a
    ``text/html`` snapshot of the views at display time (plotly.js from the CDN), which
    frontends that cannot run widgets (nbviewer, ``nbconvert --to html`` without saved
    widget state) render instead of the live widget; JupyterLab and Voila show the live
    widget. ``panel.snapshot()`` returns the same snapshot as an ``IPython.display.HTML``
    for an explicit, saved-with-the-notebook picture of the current state. PNG images
    would need kaleido, which adaviz does not require.
"""

from __future__ import annotations

import base64
import html
import math
import struct
import time
import zlib
from pathlib import Path

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go

from adaviz.panels import _figures as F
from adaviz.panels._controls import HyperparameterControls, check_in_slider_range
from adaviz.panels._widget import FigureWidget, moving, sync_initial_state

#: steps slider range (a new step count compiles a new engine graph, so the slider only
#: reports on release).
STEPS_RANGE = (1, 5000)
#: number of preallocated ghost traces (pins beyond that replace the oldest one).
N_GHOSTS = 5
#: default minimum time between two redraws when an event loop is running, in seconds.
THROTTLE = 0.04

_CONTOUR_W, _CONTOUR_H = 480, 585
#: background image size in pixels, about the contour view's plot area (one image pixel
#: per screen pixel; the browser scales it to the axes).
_IMAGE_W, _IMAGE_H = 330, 450
#: number of colour bands (contour levels) of the background.
_LEVELS = 20
_SMALL_W, _SMALL_H = 455, 195
_CONTROL_WIDTH = "310px"  # three columns of controls in a ~940 px notebook cell


def _png(rgb):
    """PNG file bytes of an ``(h, w, 3)`` uint8 RGB image (zlib + struct, no dependency)."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w, _ = rgb.shape
    rows = np.zeros((h, 1 + 3 * w), dtype=np.uint8)  # filter byte 0 (none) per row
    rows[:, 1:] = rgb.reshape(h, 3 * w)

    def chunk(kind, data):
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
        + chunk(b"IEND", b"")
    )


def _hex_rgb(color):
    color = color.lstrip("#")
    return [int(color[i : i + 2], 16) for i in (0, 2, 4)]


def _band_colors(n, colorscale=F.CONTOUR_COLORSCALE):
    """``(n, 3)`` uint8: the colour scale at the middle of each of ``n`` equal bands."""
    stops = np.array([float(t) for t, _ in colorscale])
    rgb = np.array([_hex_rgb(c) for _, c in colorscale], dtype=np.float64)
    t = (np.arange(n) + 0.5) / n
    return np.stack([np.interp(t, stops, rgb[:, i]) for i in range(3)], -1).round().astype(np.uint8)


def _banded_colorscale(n, colorscale=F.CONTOUR_COLORSCALE):
    """A plotly colour scale of ``n`` flat bands (the colour bar of the banded image)."""
    scale = []
    for k, rgb in enumerate(_band_colors(n, colorscale)):
        color = "rgb({},{},{})".format(*(int(v) for v in rgb))
        scale += [[k / n, color], [(k + 1) / n, color]]
    return scale


def _surface_image(surf, c, width=_IMAGE_W, height=_IMAGE_H):
    """The contour view's background as a PNG data URI: filled contour bands with thin
    darker lines between them, coloured like ``c`` (a :class:`adaviz.surfaces.Contour`
    of ``surf``: logarithmic where the loss spans decades).

    The surface is evaluated at the centre of each pixel; row 0 is the top of the domain.
    """
    (xmin, xmax), (ymin, ymax) = surf.domain
    xs = xmin + (np.arange(width) + 0.5) * ((xmax - xmin) / width)
    ys = ymax - (np.arange(height) + 0.5) * ((ymax - ymin) / height)
    X, Y = np.meshgrid(xs, ys)
    with np.errstate(all="ignore"):
        Z = np.asarray(surf(X, Y), dtype=np.float64)
        color = np.log10(np.maximum(Z - c.floor, 0.0) + c.offset) if c.log else Z
        band = np.floor((color - c.start) / c.size)
    n = len(c.levels)
    band = np.where(np.isfinite(band), band, n - 1).clip(0, n - 1).astype(np.intp)
    rgb = _band_colors(n)[band]
    edge = np.zeros(band.shape, dtype=bool)
    edge[:, 1:] |= band[:, 1:] != band[:, :-1]
    edge[1:, :] |= band[1:, :] != band[:-1, :]
    rgb[edge] = (rgb[edge] * 0.72).astype(np.uint8)  # the level lines
    return "data:image/png;base64," + base64.b64encode(_png(rgb)).decode("ascii")


def _code_number(value):
    return repr(float(f"{float(value):.6g}"))


class SurfacePanel(widgets.VBox):
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
    ):
        from adaviz import surfaces as surfaces_module

        self._surfaces_module = surfaces_module
        # -- validate everything before building any widget ----------------------------
        if learning_rate is not None:
            if lr is not None:
                raise ValueError(
                    f"give lr or learning_rate, not both (got lr={lr!r}, "
                    f"learning_rate={learning_rate!r})"
                )
            lr = learning_rate
        self._catalogue = {}  # dropdown value -> Surface
        key, surf = self._register_surface(surface)
        start = self._check_start(surf, surf.start if start is None else start)
        steps = self._check_steps(steps)
        hyper = {"lr": lr, "rho": rho, "epsilon": epsilon, "decay": decay}
        for name, value in hyper.items():
            if value is not None:
                hyper[name] = check_in_slider_range(name, value)
        if not (isinstance(throttle, (int, float)) and throttle >= 0):
            raise ValueError(f"throttle must be a number of seconds >= 0, got {throttle!r}")
        grid_size = int(grid_size)
        if grid_size < 10:
            raise ValueError(f"grid_size must be an integer >= 10, got {grid_size!r}")

        self._surface = surf
        self._start = start
        self._throttle = float(throttle)
        self._grid_size = grid_size
        self._static_fallback = bool(static_fallback)
        self._trajectory = None
        self._view = None  # numbers derived from the trajectory for drawing
        self._dirty = False
        self._surface_dirty = True
        self._handle = None
        self._last_draw = -math.inf
        self._drawing = False
        self._contour_cache = {}
        self._ghosts = [None] * N_GHOSTS  # label per slot, None = free
        self._next_ghost = 0
        self._readout_values = {}
        self._drawn = {}  # what the figures currently show (to skip unchanged properties)

        # -- controls -------------------------------------------------------------------
        self._hp = HyperparameterControls(initial=hyper, on_change=self._request)
        for builtin in surfaces_module.names():
            self._catalogue.setdefault(builtin, None)  # resolved lazily
        options = [(self._label(k), k) for k in self._catalogue]
        style = {"description_width": "initial"}
        self._surface_select = widgets.Dropdown(
            options=options,
            value=key,
            description="surface",
            style=style,
            layout=widgets.Layout(width=_CONTROL_WIDTH),
        )
        self._steps = widgets.IntSlider(
            value=steps,
            min=STEPS_RANGE[0],
            max=STEPS_RANGE[1],
            step=1,
            description="steps",
            continuous_update=False,
            style=style,
            layout=widgets.Layout(width=_CONTROL_WIDTH),
        )
        self._scrubber = widgets.IntSlider(
            value=0,
            min=0,
            max=steps,
            step=1,
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
        self._pin = widgets.Button(
            description="pin",
            icon="thumb-tack",
            tooltip="Keep the current path as a faint ghost to compare with the next one",
        )
        self._clear = widgets.Button(
            description="clear",
            icon="eraser",
            tooltip="Remove the ghost paths",
            layout=widgets.Layout(width="100px"),
        )
        self._pin.layout = widgets.Layout(width="100px")
        for control in (*self._hp.sliders.values(), self._hp.preset):
            control.layout = widgets.Layout(width=_CONTROL_WIDTH)
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
        self._title = widgets.HTMLMath(layout=widgets.Layout(width="930px"))
        self._readouts = widgets.HTMLMath(layout=widgets.Layout(width="930px"))
        self._readouts.add_class("adaviz-readouts")
        self._code = widgets.HTML(layout=widgets.Layout(width="930px"))
        self._code.add_class("adaviz-code")
        self._cursor_label = widgets.HTML(layout=widgets.Layout(width="230px"))

        # -- figures (created once) ---------------------------------------------------
        # The first drawing goes into plain figures, which then become the widgets: the
        # browser gets the finished figures as the widgets' initial state. (Updates sent
        # before a FigureWidget is displayed are replayed wrongly by plotly's front end: a
        # property set on one trace of a batch is cleared on the batch's other traces.)
        self._figures = {
            "surface": self._make_surface_figure(),
            "accumulators": self._make_accumulator_figure(),
            "step_size": self._make_step_size_figure(),
            "loss": self._make_loss_figure(),
        }
        self._dirty = True
        self.flush()
        self._figures = {name: FigureWidget(fig) for name, fig in self._figures.items()}
        for name, fig in self._figures.items():
            fig.add_class(f"adaviz-figure-{name.replace('_', '-')}")
        self._surface_figure_clicks()

        # -- layout -------------------------------------------------------------------
        controls_box = widgets.HBox(
            [
                widgets.VBox([self._surface_select, self._steps, widgets.HBox([self._hp.preset])]),
                widgets.VBox([self._hp.lr, self._hp.rho, self._hp.reset]),
                widgets.VBox([self._hp.epsilon, self._hp.decay]),
            ]
        )
        views = widgets.HBox(
            [
                self._figures["surface"],
                widgets.VBox(
                    [
                        self._figures["accumulators"],
                        self._figures["step_size"],
                        self._figures["loss"],
                    ]
                ),
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
            f"adaviz.Adadelta(lr={_code_number(v['lr'])}, rho={_code_number(v['rho'])}, "
            f"epsilon={_code_number(v['epsilon'])}, decay={_code_number(v['decay'])})"
        )

    @property
    def ghosts(self):
        """Labels of the pinned ghost trajectories, oldest first."""
        n = len(self._ghosts)
        order = [(self._next_ghost + i) % n for i in range(n)]
        return [self._ghosts[i] for i in order if self._ghosts[i] is not None]

    def set_start(self, x, y):
        """Start the trajectory at ``(x, y)`` (must lie inside the surface's domain)."""
        self._start = self._check_start(self._surface, (x, y))
        self._request()

    def set_values(self, **hyperparameters):
        """Set several of lr/rho/epsilon/decay at once (one redraw)."""
        for name, value in hyperparameters.items():
            if name not in self._hp.sliders:
                raise ValueError(
                    f"unknown hyperparameter {name!r}; allowed: lr, rho, epsilon, decay"
                )
            check_in_slider_range(name, value)
        self._hp.set_values(**hyperparameters)

    def pin(self):
        """Keep the current path as a faint labelled ghost (the oldest is replaced when
        all ghost slots are used). Returns the ghost's label."""
        self.flush()
        slot = self._next_ghost
        self._next_ghost = (slot + 1) % N_GHOSTS
        v = self._hp.values()
        label = f"ghost: lr={F.fmt(v['lr'])}, ρ={F.fmt(v['rho'])}, ε={F.fmt(v['epsilon'], 2)}" + (
            f", decay={F.fmt(v['decay'])}" if v["decay"] else ""
        )
        self._ghosts[slot] = label
        view = self._view
        with self._figures["surface"].batch_update():
            trace = self._figures["surface"].data[self._ghost_index(slot)]
            trace.x = view["px"]
            trace.y = view["py"]
            trace.name = label
            trace.visible = True
            trace.showlegend = True
        with self._figures["loss"].batch_update():
            trace = self._figures["loss"].data[1 + slot]
            trace.x = view["steps"]
            trace.y = view["loss"]
            trace.name = label
            trace.visible = True
        return label

    def clear_ghosts(self):
        """Remove every ghost trajectory."""
        self._ghosts = [None] * N_GHOSTS
        self._next_ghost = 0
        for fig, first in (
            (self._figures["surface"], self._ghost_index(0)),
            (self._figures["loss"], 1),
        ):
            with fig.batch_update():
                self._hide_ghosts(fig, first)

    @staticmethod
    def _hide_ghosts(fig, first):
        empty = np.zeros(0, dtype=np.float64)
        for slot in range(N_GHOSTS):
            trace = fig.data[first + slot]
            trace.x = empty
            trace.y = empty
            trace.visible = False

    def flush(self):
        """Draw any pending change now (a no-op when nothing is pending)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if not self._dirty or self._drawing:
            return
        self._drawing = True
        try:
            self._dirty = False
            self._draw()
        finally:
            self._drawing = False
            self._last_draw = time.perf_counter()

    def to_html(self, path, *, include_plotlyjs=True):
        """Write a standalone HTML page of the current views, readouts and code line.

        Args:
            path: file to write.
            include_plotlyjs: ``True`` embeds plotly.js (works offline, ~4 MB);
                ``"cdn"`` links to it.

        Returns:
            The path written, as a ``pathlib.Path``.
        """
        path = Path(path)
        path.write_text(self._html_page(include_plotlyjs), encoding="utf-8")
        return path

    def snapshot(self):
        """A static ``IPython.display.HTML`` picture of the current views (plotly.js from
        the CDN), saved with the notebook and shown without a kernel."""
        from IPython.display import HTML

        return HTML(self._html_page("cdn", full=False))

    def _repr_mimebundle_(self, **kwargs):
        self.flush()
        # Like plotly's own FigureWidget display: the browser model gets the figures as
        # they are now, replacing whatever plotly's front end made of the updates sent
        # before the first view existed (it replays those wrongly; see __init__).
        for fig in self._figures.values():
            sync_initial_state(fig)
        data = super()._repr_mimebundle_(**kwargs)
        if self._static_fallback and isinstance(data, dict):
            try:
                data = dict(data)
                data["text/html"] = self._html_page("cdn", full=False)
            except Exception:  # the live widget matters more than the fallback
                pass
        return data

    # ==================================================================================
    # validation
    # ==================================================================================
    def _register_surface(self, surface):
        """Resolve ``surface`` (name or Surface) to (dropdown key, Surface)."""
        mod = self._surfaces_module
        if isinstance(surface, str):
            surf = mod.get(surface)  # ValueError listing the valid names
            key = surf.name
        elif isinstance(surface, mod.Surface):
            surf = surface
            base = str(getattr(surface, "name", None) or "custom surface")
            key = base
            taken = set(mod.names()) | set(self._catalogue)
            i = 2
            while key in taken and self._catalogue.get(key) is not surface:
                key = f"{base} (custom)" if i == 2 else f"{base} (custom {i - 1})"
                i += 1
        else:
            raise ValueError(
                "surface must be a built-in name "
                f"({', '.join(mod.names())}) or an adaviz.Surface, got {surface!r}"
            )
        self._catalogue[key] = surf
        return key, surf

    def _get_surface(self, key):
        surf = self._catalogue.get(key)
        if surf is None:
            surf = self._surfaces_module.get(key)
            self._catalogue[key] = surf
        return surf

    @staticmethod
    def _check_start(surf, start):
        arr = np.asarray(start, dtype=np.float64) if start is not None else None
        if arr is None or arr.shape != (2,):
            raise ValueError(f"start must be a point (x, y), got {start!r}")
        (xmin, xmax), (ymin, ymax) = np.asarray(surf.domain, dtype=np.float64)
        x, y = arr
        if not (np.isfinite(arr).all() and xmin <= x <= xmax and ymin <= y <= ymax):
            raise ValueError(
                f"start must lie inside the domain of {surf.name!r}, "
                f"x in [{xmin:g}, {xmax:g}] and y in [{ymin:g}, {ymax:g}], "
                f"got ({x:g}, {y:g})"
            )
        return arr

    @staticmethod
    def _check_steps(steps):
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)):
            raise ValueError(f"steps must be an integer, got {steps!r}")
        if not STEPS_RANGE[0] <= steps <= STEPS_RANGE[1]:
            raise ValueError(
                f"steps must be in [{STEPS_RANGE[0]}, {STEPS_RANGE[1]}], got {steps!r}"
            )
        return int(steps)

    def _label(self, key):
        return key.replace("_", " ")

    @staticmethod
    def _play_step(steps):
        return max(1, steps // 150)

    # ==================================================================================
    # scheduling
    # ==================================================================================
    def _request(self):
        """Something changed: draw now, or coalesce with other changes (see module doc)."""
        self._dirty = True
        if self._drawing:
            return
        loop = F.running_loop()
        if loop is None or self._throttle == 0:
            self.flush()
            return
        if self._handle is not None:
            return  # a redraw with the latest values is already scheduled
        wait = self._throttle - (time.perf_counter() - self._last_draw)
        if wait <= 0:
            self.flush()
        else:
            self._handle = loop.call_later(wait, self._scheduled_flush)

    def _scheduled_flush(self):
        self._handle = None
        try:
            self.flush()
        except Exception as exc:  # show it in the panel instead of losing it in a log
            self._readouts.value = (
                f"<span style='color:#b00'>could not update: {html.escape(repr(exc))}</span>"
            )

    def _surface_chosen(self, change):
        surf = self._get_surface(change["new"])
        self._surface = surf
        self._start = self._check_start(surf, surf.start)
        self._surface_dirty = True
        self._request()

    def _scrubbed(self, change):
        if self._drawing or self._view is None:
            return
        self._draw_cursor(int(change["new"]))

    # ==================================================================================
    # figures
    # ==================================================================================
    def _ghost_index(self, slot):
        return 2 + slot

    def _make_surface_figure(self):
        empty = np.zeros(0, dtype=np.float64)
        traces = [
            # The loss surface itself is a background image (layout.images, drawn once per
            # surface). This invisible grid of points (mode "none": nothing is drawn) is
            # what the mouse hovers and clicks: plotly reports clicks on trace points only.
            go.Scatter(
                x=empty,
                y=empty,
                mode="none",
                name="loss surface",
                showlegend=False,
                # not hoverinfo "skip": that would also stop the clicks that set the start
                hovertemplate="x=%{x:.3g}, y=%{y:.3g}<br>click to start here<extra></extra>",
            ),
            # Carries the colour bar of the background (two invisible markers); the bar
            # spans 0..1 = the bands' range, its tick labels are set per surface.
            go.Scatter(
                x=empty,
                y=empty,
                mode="markers",
                name="loss colour scale",
                showlegend=False,
                hoverinfo="skip",
                marker={
                    "opacity": 0,
                    "size": 1,
                    "color": np.array([0.0, 1.0]),
                    "cmin": 0.0,
                    "cmax": 1.0,
                    "colorscale": _banded_colorscale(_LEVELS),
                    "showscale": True,
                    "colorbar": {
                        "thickness": 12,
                        "len": 0.8,
                        "title": {"text": "loss", "side": "right"},
                    },
                },
            ),
        ]
        for slot in range(N_GHOSTS):
            traces.append(
                go.Scatter(
                    x=empty,
                    y=empty,
                    mode="lines",
                    name=f"ghost {slot + 1}",
                    visible=False,
                    opacity=F.GHOST_OPACITY,
                    line={"color": F.GHOST_COLORS[slot], "width": 2, "dash": F.GHOST_DASHES[slot]},
                    hoverinfo="name",
                )
            )
        traces += [
            go.Scatter(
                x=empty,
                y=empty,
                mode="lines",
                name="trajectory",
                line={"color": F.TRAJECTORY_COLOR, "width": 2},
                hovertemplate="step %{pointNumber}<br>x=%{x:.4g}<br>y=%{y:.4g}<extra></extra>",
            ),
            go.Scatter(
                x=empty,
                y=empty,
                mode="markers",
                name="start",
                marker={
                    "size": 12,
                    "color": F.START_COLOR,
                    "symbol": "circle",
                    "line": {"color": "white", "width": 1.5},
                },
                hovertemplate="start<br>x=%{x:.4g}<br>y=%{y:.4g}<extra></extra>",
            ),
            go.Scatter(
                x=empty,
                y=empty,
                mode="markers",
                name="end",
                marker={
                    "size": 12,
                    "color": F.END_COLOR,
                    "symbol": "square",
                    "line": {"color": "white", "width": 1.5},
                },
                hovertemplate="end<br>x=%{x:.4g}<br>y=%{y:.4g}<extra></extra>",
            ),
            go.Scatter(
                x=empty,
                y=empty,
                mode="markers",
                name="known minima",
                marker={
                    "size": 14,
                    "color": F.MINIMUM_COLOR,
                    "symbol": "star",
                    "line": {"color": "black", "width": 1},
                },
                hovertemplate="minimum<br>x=%{x:.4g}<br>y=%{y:.4g}<extra></extra>",
            ),
            go.Scatter(
                x=empty,
                y=empty,
                mode="markers",
                name="step marker",
                marker={
                    "size": 17,
                    "color": F.MARKER_COLOR,
                    "symbol": "circle-open",
                    "line": {"color": F.MARKER_COLOR, "width": 3},
                },
                showlegend=False,
                hovertemplate="playback<br>x=%{x:.4g}<br>y=%{y:.4g}<extra></extra>",
            ),
        ]
        self._ti = {
            "grid": 0,
            "colorbar": 1,
            "trajectory": 2 + N_GHOSTS,
            "start": 3 + N_GHOSTS,
            "end": 4 + N_GHOSTS,
            "minima": 5 + N_GHOSTS,
            "marker": 6 + N_GHOSTS,
        }
        lay = F.layout(
            "path on the loss surface (click to set the start)",
            width=_CONTOUR_W,
            height=_CONTOUR_H,
            xaxis=F.axis("x (parameter 1, no unit)", showgrid=False),
            yaxis=F.axis("y (parameter 2, no unit)", showgrid=False),
        )
        lay["legend"].update(
            {"orientation": "h", "y": -0.1, "yanchor": "top", "x": 0.0, "xanchor": "left"}
        )
        lay["margin"] = {"l": 60, "r": 10, "t": 40, "b": 95}
        lay["images"] = [
            {
                "source": "data:image/png;base64,"
                + base64.b64encode(_png(np.full((1, 1, 3), 255, np.uint8))).decode("ascii"),
                "xref": "x",
                "yref": "y",
                "x": 0.0,
                "y": 1.0,
                "sizex": 1.0,
                "sizey": 1.0,
                "sizing": "stretch",
                "layer": "below",
                "xanchor": "left",
                "yanchor": "top",
            }
        ]
        return go.Figure(data=traces, layout=lay)

    def _make_accumulator_figure(self):
        empty = np.zeros(0, dtype=np.float64)
        traces = []
        for label, dash in (
            ("E[g²]", "solid"),
            ("E[Δx²]", "dash"),
        ):
            for coord in ("x", "y"):
                traces.append(
                    go.Scatter(
                        x=empty,
                        y=empty,
                        mode="lines",
                        name=f"{label} {coord}",
                        line={"color": F.COORD_COLORS[coord], "width": 2, "dash": dash},
                        hovertemplate=f"{label} {coord}"
                        + "<br>step %{x}<br>%{y:.3e}<extra></extra>",
                    )
                )
        lay = F.layout(
            "accumulators",
            width=_SMALL_W,
            height=_SMALL_H,
            xaxis=F.axis("step"),
            yaxis=F.axis("E[g²]: (loss/x)², E[Δx²]: x²", log=True),
            shapes=[F.cursor_line()],
        )
        return go.Figure(data=traces, layout=lay)

    def _make_step_size_figure(self):
        empty = np.zeros(0, dtype=np.float64)
        traces = []
        for label, dash in (("Adadelta", "solid"), ("Newton", "dot")):
            for coord in ("x", "y"):
                traces.append(
                    go.Scatter(
                        x=empty,
                        y=empty,
                        mode="lines",
                        name=f"{label} {coord}",
                        line={
                            "color": F.COORD_COLORS[coord],
                            "width": 2 if dash == "solid" else 1.5,
                            "dash": dash,
                        },
                        hovertemplate=f"{label} {coord}"
                        + "<br>step %{x}<br>%{y:.3e}<extra></extra>",
                    )
                )
        lay = F.layout(
            "effective step size (dotted: Newton 1/|H_ii|)",
            width=_SMALL_W,
            height=_SMALL_H,
            xaxis=F.axis("step"),
            yaxis=F.axis("step size (x²/loss)", log=True),
            shapes=[F.cursor_line()],
        )
        return go.Figure(data=traces, layout=lay)

    def _make_loss_figure(self):
        empty = np.zeros(0, dtype=np.float64)
        traces = [
            go.Scatter(
                x=empty,
                y=empty,
                mode="lines",
                name="loss",
                line={"color": F.TRAJECTORY_COLOR, "width": 2},
                hovertemplate="step %{x}<br>%{y:.4e}<extra></extra>",
            )
        ]
        for slot in range(N_GHOSTS):
            traces.append(
                go.Scatter(
                    x=empty,
                    y=empty,
                    mode="lines",
                    name=f"ghost {slot + 1}",
                    visible=False,
                    opacity=F.GHOST_OPACITY,
                    showlegend=False,
                    line={
                        "color": F.GHOST_COLORS[slot],
                        "width": 1.5,
                        "dash": F.GHOST_DASHES[slot],
                    },
                    hoverinfo="name",
                )
            )
        lay = F.layout(
            "loss",
            width=_SMALL_W,
            height=_SMALL_H,
            xaxis=F.axis("step"),
            yaxis=F.axis("loss − f* (loss units)", log=True),
            shapes=[F.cursor_line()],
            showlegend=False,
        )
        return go.Figure(data=traces, layout=lay)

    def _surface_figure_clicks(self):
        fig = self._figures["surface"]
        for i in (
            self._ti["grid"],
            self._ti["trajectory"],
            self._ti["minima"],
            self._ti["start"],
            self._ti["end"],
        ):
            fig.data[i].on_click(self._clicked)

    def _clicked(self, _trace, points, _state):
        xs, ys = list(points.xs), list(points.ys)
        if not xs:
            return
        try:
            self.set_start(float(xs[0]), float(ys[0]))
        except ValueError as exc:  # a click outside the domain (e.g. on a zoomed-out edge)
            self._readouts.value = f"<span style='color:#b00'>{html.escape(str(exc))}</span>"

    # ==================================================================================
    # drawing
    # ==================================================================================
    def _simulate(self):
        from adaviz import engine

        v = self._hp.values()
        return engine.simulate(
            self._surface,
            start=self._start,
            steps=int(self._steps.value),
            lr=v["lr"],
            rho=v["rho"],
            epsilon=v["epsilon"],
            decay=v["decay"],
        )

    def _contour(self, surf):
        """(contour levels and colouring, background image URI, click grid x, y) of surf."""
        cached = self._contour_cache.get(surf)
        if cached is None:
            c = surf.contour(self._grid_size, levels=_LEVELS)
            # grid points row by row, every other row reversed (the order does not matter
            # for clicks; it keeps the never-drawn polyline short)
            X, Y = np.meshgrid(F.floats(c.x), F.floats(c.y))
            X[1::2] = X[1::2, ::-1]
            grid = (F.floats(X), F.floats(Y))
            cached = self._contour_cache[surf] = (c, _surface_image(surf, c), grid)
        return cached

    def _compute_view(self, traj):
        """The arrays drawn, cut at the divergence step (1-D float, contiguous)."""
        k = int(traj.diverged_at[0])
        n = traj.steps + 1 if k < 0 else k  # number of valid positions
        m = min(n, traj.steps)  # number of steps drawn in the step-size view
        pos = traj.positions[:n, 0]
        loss = traj.loss[:n, 0]
        f_star = self._surface.min_value
        gap = math.isfinite(f_star)
        loss_drawn = loss - loss.dtype.type(f_star) if gap else loss
        log_loss = gap or bool(np.all(loss > 0))
        return {
            "n": n,
            "diverged_at": None if k < 0 else k,
            "steps": F.step_axis(n),
            "step_numbers": F.step_axis(m + 1)[1:],
            "px": F.floats(pos[:, 0]),
            "py": F.floats(pos[:, 1]),
            "loss": F.floats(loss_drawn),
            "loss_gap": gap,
            "loss_log": log_loss,
            "accum_grad": [F.floats(traj.accum_grad[:n, 0, i]) for i in (0, 1)],
            "accum_delta": [F.floats(traj.accum_delta[:n, 0, i]) for i in (0, 1)],
            "step_size": [F.floats(traj.step_size[:m, 0, i]) for i in (0, 1)],
            "newton": [F.floats(traj.newton_step_size[:m, 0, i]) for i in (0, 1)],
        }

    def _draw(self):
        """Run the engine and update every view: one message per figure, the contour view's
        first (the path is what the user watches; the other views follow)."""
        surface_changed = self._surface_dirty
        self._surface_dirty = False
        clear = surface_changed and any(g is not None for g in self._ghosts)
        if clear:  # ghosts of another surface would mislead
            self._ghosts = [None] * N_GHOSTS
            self._next_ghost = 0
        traj = self._simulate()
        self._trajectory = traj
        view = self._view = self._compute_view(traj)
        steps = traj.steps

        # playback widgets follow the step count (their observers are idle while drawing)
        if self._scrubber.max != steps:
            if self._scrubber.value > steps:
                self._scrubber.value = steps
            self._scrubber.max = steps
            self._play.max = steps
            self._play.step = self._play_step(steps)
        cursor = min(int(self._scrubber.value), view["n"] - 1)

        self._draw_path(view, cursor, surface_changed, clear)
        self._draw_series(view, cursor, clear)
        self._draw_text(traj, view, cursor)

    def _draw_path(self, view, cursor, surface_changed, clear):
        """The contour view: path, start, end and playback marker (and the surface itself
        when it changed). Path-only changes are sent as a redraw-free move."""
        fig = self._figures["surface"]
        ti = self._ti
        drawn = self._drawn
        end_name = (
            "end"
            if view["diverged_at"] is None
            else f"last point before divergence (step {view['n'] - 1})"
        )
        # a new name must redraw the legend; anything but x/y needs a full update
        full = surface_changed or drawn.get("end_name") != end_name
        with fig.batch_update() if full else moving(fig):
            if surface_changed:
                self._draw_surface(fig)
            if clear:
                self._hide_ghosts(fig, self._ghost_index(0))
            d = fig.data
            d[ti["trajectory"]].x = view["px"]
            d[ti["trajectory"]].y = view["py"]
            start = (float(view["px"][0]), float(view["py"][0]))
            if full or drawn.get("start") != start:
                drawn["start"] = start
                d[ti["start"]].x = view["px"][:1]
                d[ti["start"]].y = view["py"][:1]
            d[ti["end"]].x = view["px"][-1:]
            d[ti["end"]].y = view["py"][-1:]
            if drawn.get("end_name") != end_name:
                drawn["end_name"] = end_name
                d[ti["end"]].name = end_name
            d[ti["marker"]].x = view["px"][cursor : cursor + 1]
            d[ti["marker"]].y = view["py"][cursor : cursor + 1]

    def _draw_series(self, view, cursor, clear):
        """Accumulators, step sizes and loss against step (one ``batch_update`` each)."""
        # what did not change is not set again (plotly validates every assignment)
        drawn = self._drawn
        lengths = (view["n"], len(view["step_numbers"]))
        new_n = drawn.get("lengths") != lengths
        new_cursor = drawn.get("cursor") != cursor
        drawn["lengths"] = lengths
        drawn["cursor"] = cursor

        fig = self._figures["accumulators"]
        with fig.batch_update():
            for i in (0, 1):
                fig.data[i].y = view["accum_grad"][i]
                fig.data[2 + i].y = view["accum_delta"][i]
                if new_n:
                    fig.data[i].x = view["steps"]
                    fig.data[2 + i].x = view["steps"]
            if new_cursor:
                self._set_cursor(fig, cursor)

        fig = self._figures["step_size"]
        with fig.batch_update():
            for i in (0, 1):
                fig.data[i].y = view["step_size"][i]
                fig.data[2 + i].y = view["newton"][i]
                if new_n:
                    fig.data[i].x = view["step_numbers"]
                    fig.data[2 + i].x = view["step_numbers"]
            if new_cursor:
                self._set_cursor(fig, cursor)

        fig = self._figures["loss"]
        with fig.batch_update():
            if clear:
                self._hide_ghosts(fig, 1)
            fig.data[0].y = view["loss"]
            if new_n:
                fig.data[0].x = view["steps"]
            if view["loss_gap"]:
                title = f"loss − f* (f* = {F.fmt(self._surface.min_value, 4)})"
            else:
                title = "loss (no known minimum)"
            axis_type = "log" if view["loss_log"] else "linear"
            if drawn.get("loss_axis") != (title, axis_type):
                drawn["loss_axis"] = (title, axis_type)
                fig.layout.yaxis.title.text = title
                fig.layout.yaxis.type = axis_type
            if new_cursor:
                self._set_cursor(fig, cursor)

    def _draw_surface(self, fig):
        """Background image, click grid, colour bar, minima, axis ranges and title for a
        new surface (inside a batch)."""
        surf = self._surface
        c, image, (grid_x, grid_y) = self._contour(surf)
        ti = self._ti
        (xmin, xmax), (ymin, ymax) = surf.domain
        fig.layout.images[0].update(
            source=image, x=xmin, y=ymax, sizex=xmax - xmin, sizey=ymax - ymin
        )
        grid = fig.data[ti["grid"]]
        grid.x = grid_x
        grid.y = grid_y
        bar = fig.data[ti["colorbar"]]
        bar.x = np.array([xmin, xmin], dtype=np.float64)
        bar.y = np.array([ymin, ymin], dtype=np.float64)
        # the bar's scale is fixed at 0..1 (the bands' span); its ticks are placed there
        span = (c.end - c.start) or 1.0
        bar.marker.colorbar.tickvals = F.floats((np.asarray(c.tickvals) - c.start) / span)
        bar.marker.colorbar.ticktext = list(c.ticktext)
        bar.marker.colorbar.title.text = "loss (log colour scale)" if c.log else "loss"
        minima = np.asarray(surf.minima, dtype=np.float64).reshape(-1, 2)
        fig.data[ti["minima"]].x = F.floats(minima[:, 0])
        fig.data[ti["minima"]].y = F.floats(minima[:, 1])
        fig.data[ti["minima"]].visible = bool(len(minima))
        fig.layout.xaxis.range = [xmin, xmax]
        fig.layout.yaxis.range = [ymin, ymax]
        self._title.value = (
            f"<b style='font-size:15px'>Adadelta on {html.escape(surf.name)}</b>"
            + (f"&nbsp; ${surf.formula}$" if surf.formula else "")
            + (f"<br><i>{html.escape(surf.lesson)}</i>" if surf.lesson else "")
        )

    @staticmethod
    def _set_cursor(fig, step):
        fig.layout.shapes[0].x0 = float(step)
        fig.layout.shapes[0].x1 = float(step)

    def _draw_cursor(self, step):
        """Move the playback marker and the cursor lines (no engine call)."""
        view = self._view
        k = min(max(int(step), 0), view["n"] - 1)
        self._drawn["cursor"] = k
        fig = self._figures["surface"]
        with moving(fig):
            fig.data[self._ti["marker"]].x = view["px"][k : k + 1]
            fig.data[self._ti["marker"]].y = view["py"][k : k + 1]
        for name in ("accumulators", "step_size", "loss"):
            fig = self._figures[name]
            with fig.batch_update():
                self._set_cursor(fig, k)
        self._cursor_label.value = self._cursor_text(k)

    def _cursor_text(self, k):
        view = self._view
        traj = self._trajectory
        text = (
            f"step {k}: x = {F.fmt(view['px'][k], 4)}, y = {F.fmt(view['py'][k], 4)}, "
            f"loss = {F.fmt(traj.loss[k, 0], 4)}"
        )
        if k < int(self._scrubber.value):
            text += " (path ends here)"
        return text

    def _draw_text(self, traj, view, cursor):
        v = self._hp.values()
        lr, rho, eps = v["lr"], v["rho"], v["epsilon"]
        values = {}
        # first step: the displacement of step 1 per coordinate, and the formula
        if view["n"] >= 2:
            first = np.abs(traj.positions[1, 0] - traj.positions[0, 0]).astype(np.float64)
        else:
            first = np.full(2, np.nan)
        values["first_step"] = (float(first[0]), float(first[1]))
        formula = lr * math.sqrt(eps / (1.0 - rho)) if rho < 1.0 else math.inf
        values["first_step_formula"] = formula
        surf = self._surface
        diverged = view["diverged_at"]
        values["diverged_at"] = diverged
        if diverged is None:
            values["final_loss"] = float(traj.final_loss[0])
        else:
            values["final_loss"] = float("nan")
        has_minima = bool(surf.minima)
        if has_minima and diverged is None:
            values["distance_to_minimum"] = float(traj.distance_to_minimum()[0])
            reached = int(traj.steps_to_tolerance(self.TOLERANCE)[0])
            values["steps_to_converge"] = None if reached < 0 else reached
        else:
            values["distance_to_minimum"] = float("nan")
            values["steps_to_converge"] = None
        self._readout_values = values

        if rho < 1.0:
            formula_text = (
                f"lr·√(ε/(1−ρ)) = {F.fmt(lr)}·√({F.fmt(eps, 2)}/(1−{F.fmt(rho, 4)})) "
                f"= <b>{F.fmt(formula)}</b>"
            )
        else:
            formula_text = (
                "lr·√(ε/(1−ρ)) is undefined at ρ = 1 (the averages never move: "
                "every step is lr·gradient)"
            )
        rows = [
            f"<b>first step</b> |Δx| = {F.fmt(first[0])}, |Δy| = {F.fmt(first[1])} "
            f"&nbsp;≈&nbsp; {formula_text} (when (1−ρ)·g² ≫ ε)"
        ]
        if diverged is not None:
            rows.append(
                f"<b style='color:#b00000'>diverged at step {diverged}</b>: the path is shown "
                f"up to step {diverged - 1}; lower lr or raise ρ to bring it back"
            )
        else:
            rows.append(
                f"<b>final loss</b> {F.fmt(values['final_loss'], 4)} after {traj.steps} steps"
            )
        if has_minima and diverged is None:
            conv = values["steps_to_converge"]
            rows.append(
                f"<b>distance to the nearest minimum</b> "
                f"{F.fmt(values['distance_to_minimum'], 4)} &nbsp;·&nbsp; "
                f"<b>steps to converge</b> (loss within {self.TOLERANCE:g} of f*) "
                + (f"{conv}" if conv is not None else f"not reached in {traj.steps} steps")
            )
        elif not has_minima:
            rows.append("this surface has no minimum (the loss is unbounded below)")
        self._readouts.value = "<br>".join(rows)
        code = html.escape(self.code)
        self._code.value = (
            "<b>as code</b> &nbsp;<code style='user-select:all;-webkit-user-select:all;"
            f"font-size:13px'>{code}</code>"
        )
        self._cursor_label.value = self._cursor_text(cursor)

    # ==================================================================================
    # export
    # ==================================================================================
    def _html_page(self, include_plotlyjs, full=True):
        self.flush()
        surf = self._surface
        title = f"<b style='font-size:15px'>Adadelta on {html.escape(surf.name)}</b>" + (
            f"<br><i>{html.escape(surf.lesson)}</i>" if surf.lesson else ""
        )
        header = (
            f"<div>{title}</div><div style='margin:6px 0'>{self._readouts.value}"
            f"</div><div>{self._code.value}</div>"
        )
        figs = self._figures
        return F.figures_html(
            [[figs["surface"]], [figs["accumulators"], figs["step_size"], figs["loss"]]],
            title=f"Adadelta on {self._surface.name}",
            header_html=header,
            include_plotlyjs=include_plotlyjs,
            full=full,
        )
