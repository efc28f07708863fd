"""SweepPanel: a metric over a grid of two Adadelta hyperparameters, one run per cell.

``adaviz.SweepPanel("rosenbrock")`` is one ``ipywidgets.VBox``: a heatmap of the metric over
rho (linear, 0 ... 0.999) and epsilon (log, 1e-10 ... 1e-1), 64 x 64 runs of 500 steps each
(:func:`adaviz.sweep`, the metric-only compiled path); a metric dropdown (log colour scale
for the loss metrics and the distance); diverged cells in one colour of their own and
cells without a value (never converged) in grey, each named in the hover; sliders for the
fixed hyperparameters and the loss scale (moving one re-sweeps the whole map); an optional
overlay of the contour lines of Adadelta's predicted first step ``lr * sqrt(eps / (1 -
rho))`` (:func:`adaviz._math.first_step`).

Click a cell (or call ``panel.select(i, j)``): its path is drawn on the contour view beside
the map, its accumulators and step sizes below, and "open in SurfacePanel" shows that run
in a :class:`adaviz.SurfacePanel` under the panel.

It is a controller: controls (:mod:`adaviz.panels.kit.controls`) -> :func:`adaviz.sweep` ->
views (the kit's heatmap, contour, accumulator and step-size views), redraws through
:class:`adaviz.panels.kit.schedule.Coalescer`.

``SweepPanel.for_model(build_model, data, ...)`` is the live-model variant
(:class:`~adaviz.panels.sweep.model_sweep.ModelSweepPanel`): the map of
:func:`adaviz.sweep_model`'s final losses fills in as the cells finish.

Contract: ``panel.controls`` (``metric``, ``overlay``, ``loss_scale``, ``open``, and one
slider per fixed hyperparameter), ``panel.figures`` (``heatmap``, ``surface``,
``accumulators``, ``step_size``), ``panel.sweep`` (the :class:`adaviz.sweeps.Sweep` drawn),
``panel.select(i, j)`` (the cell ``panel.sweep.values[i, j]``), ``panel.selected``,
``panel.trajectory`` (the selected cell's run), ``panel.open_surface_panel()``,
``to_html`` / ``snapshot`` (:mod:`adaviz.panels.kit.export`).
"""

from __future__ import annotations

import math

import ipywidgets as widgets
import numpy as np

from adaviz import _math
from adaviz._validate import check_int
from adaviz.panels.kit.arrays import floats, positive_or_nan, step_axis
from adaviz.panels.kit.base import THROTTLE, Panel, text_line
from adaviz.panels.kit.controls import (
    ADADELTA,
    DEFAULTS,
    Controls,
    check_noise_for_slider,
    loss_scale_exponent,
)
from adaviz.panels.kit.warmup import WARMUP
from adaviz.panels.sweep.axes import as_map, check_axes
from adaviz.panels.sweep.controls import (
    METRIC_LABELS,
    SEEDS_MAX,
    layout,
    make_controls,
    readout_html,
)
from adaviz.panels.sweep.model_sweep import ModelSweepPanel
from adaviz.panels.views import AccumulatorView, ContourView, StepSizeView
from adaviz.panels.views.contour import divergence_label
from adaviz.panels.views.heatmap import HeatmapView, is_log_axis

__all__ = ["SweepPanel"]

#: metrics drawn on a log colour scale (they span decades).
LOG_METRICS = ("final_loss", "min_loss", "distance_to_minimum", "loss", "val_loss")


# ======================================================================================
# the cell under a click
# ======================================================================================


def _runs(sweep):
    """How many runs a map shows: one per cell, or with seeds the mean of K per cell."""
    if sweep.seeds == 1:
        return f"{sweep.values.size:,} runs"
    return f"{sweep.values.size:,} cells × mean of {sweep.seeds} seeds"


def _cell_for(sweep, x_name, y_name, xv, yv):
    """The sweep index of the cell nearest to the axis values ``(xv, yv)``."""
    index = []
    for name, values in sweep.axes:
        target = xv if name == x_name else yv
        values = np.asarray(values, np.float64)
        if is_log_axis(name, values) and target > 0:
            k = int(np.argmin(np.abs(np.log10(values) - math.log10(target))))
        else:
            k = int(np.argmin(np.abs(values - target)))
        index.append(k)
    return tuple(index)


# ======================================================================================
# SweepPanel
# ======================================================================================
class SweepPanel(Panel):
    """A heatmap of a sweep metric over two Adadelta hyperparameters, with drill-down.

    Args:
        surface: a built-in surface name or an ``adaviz.Surface``.
        start: the start of every run (default: the surface's).
        x, y: the hyperparameters along the map's x and y axes (``lr``, ``rho``,
            ``epsilon``, ``decay``).
        steps: steps per run.
        resolution: cells per axis of the default axes (64).
        metric: the metric shown first (:data:`adaviz.sweeps.METRICS`).
        overlay: draw the contour lines of the predicted first step.
        loss_scale: every run is on ``loss_scale * f``; a power of ten in [1e-3, 1e3].
        noise: Gaussian gradient noise of this standard deviation in every run (0, or
            1e-3 to 100 as the slider shows it).
        seeds: runs per cell with noise, K in [1, 16] (seeds 0 .. K-1): the map shows the
            metric's mean over them (:func:`adaviz.sweep`).
        throttle: minimum seconds between two redraws when an event loop runs.
        static_fallback: add the live page to the display data, for front ends without
            widgets (an exported notebook; :mod:`adaviz.panels.kit.embed`).
        precompile: once displayed, compile the selected-run graph in the background, so
            the first click does not wait for it (default: when in a Jupyter kernel).
        **hyperparameters: the fixed ones as numbers (slider start values; default the
            Keras 2 / TF 1.x tf.keras ones), the axes optionally as 1-D arrays of their values.

    Raises:
        ValueError: an unknown surface, metric or hyperparameter; x == y; a fixed value
            its slider cannot show; an axis that is not a 1-D array of valid values; bad
            ``steps``, ``resolution``, ``start`` or ``loss_scale``.
    """

    def __init__(
        self,
        surface="rosenbrock",
        start=None,
        *,
        x="epsilon",
        y="rho",
        steps=500,
        resolution=64,
        metric="final_loss",
        overlay=False,
        loss_scale=1.0,
        noise=0.0,
        seeds=1,
        throttle=THROTTLE,
        static_fallback=True,
        precompile=None,
        **hyperparameters,
    ):
        import adaviz
        from adaviz import surfaces as surfaces_module
        from adaviz import sweeps

        # -- validate everything before building any widget ---------------------------
        surf = surfaces_module.get(surface)
        resolution = check_int("resolution", resolution, 2, 1024)
        steps = check_int("steps", steps, 1, 100_000)
        if metric not in sweeps.METRICS:
            raise ValueError(f"metric must be one of {list(sweeps.METRICS)}, got {metric!r}")
        axes, given = check_axes(x, y, hyperparameters, resolution)
        fixed_names = [name for name in ADADELTA if name not in (x, y)]
        specs = {name: ADADELTA[name] for name in fixed_names}
        exponent = loss_scale_exponent(loss_scale)
        noise, seeds = check_noise_for_slider(noise), check_int("seeds", seeds, 1, SEEDS_MAX)
        self._shell(self._draw, throttle, static_fallback, precompile)
        self._hub = Controls(specs, initial=given, defaults=DEFAULTS)
        self._surface = surf
        self._x, self._y = x, y
        self._axes = axes
        self._steps = steps
        self._selected = None
        self._trajectory = None
        self._sweep = None
        self._adaviz = adaviz
        self._sweep_fn = sweeps.sweep
        # the first sweep checks the start and the axes' values (raises ValueError)
        self._start = None
        self._sweep = self._run(metric, start, 10.0**exponent, noise, seeds)
        self._start = self._sweep.start

        # -- controls -------------------------------------------------------------------
        top = make_controls(self._sweep.metrics, metric, overlay, exponent, noise, seeds)
        self._noise, self._seeds = top["noise"], top["seeds"]
        self._metric, self._overlay = top["metric"], top["overlay"]
        self._loss_scale, self._open = top["loss_scale"], top["open"]
        for name, slider in self._hub.sliders.items():
            slider.add_class(f"adaviz-{name}")
        self._hub.subscribe(lambda _changed: self._request())
        for name in ("loss_scale", "noise", "seeds"):
            top[name].observe(lambda _: self._request(), names="value")
        self._metric.observe(self._metric_chosen, names="value")
        self._overlay.observe(lambda _: self._draw_map(), names="value")
        self._open.on_click(lambda _: self.open_surface_panel())

        # -- views ----------------------------------------------------------------------
        self._readout = self._message = text_line("adaviz-readouts")
        self._output = widgets.Output()
        self._views = {
            "heatmap": HeatmapView(),
            "surface": ContourView(ghosts=0, width=420, height=470, title="the selected run"),
            "accumulators": AccumulatorView(),
            "step_size": StepSizeView(),
        }
        contour = self._views["surface"]
        contour.update([(np.zeros(0), np.zeros(0))], background=WARMUP.background(surf, 120))
        self._draw_map()
        self._attach_views()
        self._views["heatmap"].on_click(self._clicked)

        rows = layout(top, self._hub, self.figures)
        self._build(
            [*rows, self._readout, self._output], css_class="adaviz-sweep-panel", width="960px"
        )
        self._write_readout()

    # ==================================================================================
    # public API
    # ==================================================================================
    @classmethod
    def for_model(cls, build_model, data, **kwargs):
        """A :class:`ModelSweepPanel`: :func:`adaviz.sweep_model`'s map, filling in as
        cells finish (arguments as :class:`ModelSweepPanel`)."""
        return ModelSweepPanel(build_model, data, **kwargs)

    @property
    def controls(self):
        """``metric``, ``overlay``, ``loss_scale``, ``noise``, ``seeds``, ``open`` and one
        slider per fixed hyperparameter (by name)."""
        controls = dict(self._hub.sliders)
        controls.update(
            metric=self._metric,
            overlay=self._overlay,
            loss_scale=self._loss_scale,
            noise=self._noise,
            seeds=self._seeds,
            open=self._open,
            reset=self._hub.reset,
        )
        return controls

    @property
    def sweep(self):
        """The :class:`adaviz.sweeps.Sweep` the map shows (pending changes drawn first)."""
        self.flush()
        return self._sweep

    @property
    def selected(self):
        """The selected cell's index in ``panel.sweep.values``, or None."""
        return self._selected

    @property
    def trajectory(self):
        """The selected cell's :class:`adaviz.Trajectory` (None before a selection)."""
        self.flush()
        return self._trajectory

    def select(self, i, j):
        """Select the cell ``panel.sweep.values[i, j]``: draw its run beside the map.

        Raises:
            ValueError: an index out of range.
        """
        self.flush()
        index = self._sweep.index((i, j))
        self._selected = index
        self._draw_selected()
        self._open.disabled = False
        return self

    def open_surface_panel(self):
        """Show the selected cell's run in an :class:`adaviz.SurfacePanel` under the panel
        (and return it).

        Raises:
            ValueError: no cell is selected.
        """
        if self._selected is None:
            raise ValueError("select a cell first (click it, or panel.select(i, j))")
        settings = self._sweep.settings(*self._selected)
        panel = self._adaviz.SurfacePanel(
            self._surface, start=tuple(self._start), steps=min(self._steps, 5000), **settings
        )
        from IPython.display import display

        self._output.clear_output()
        with self._output:
            display(panel)
        return panel

    # -- export hooks ----------------------------------------------------------------------
    @property
    def _export_title(self):
        return f"adaviz SweepPanel: {self._y} x {self._x} on {self._surface.name}"

    def _export_columns(self):
        figs = self.figures
        return [[figs["heatmap"], figs["accumulators"]], [figs["surface"], figs["step_size"]]]

    #: the height of the live page's iframe in a notebook (:meth:`page`), in pixels
    _live_page_height = 900

    def _live_page(self, plotly):
        """The live page of this panel's current settings (:mod:`adaviz.web.page`)."""
        from adaviz.web import page

        x, y = self._x, self._y
        state = page.sweep_state(
            self._surface, x=x, y=y, x_values=self._axes[x], y_values=self._axes[y],
            start=tuple(float(v) for v in self._start), steps=self._steps,
            metric=self._metric.value, overlay=bool(self._overlay.value),
            loss_scale_exponent=float(self._loss_scale.value), tol=float(self._sweep.tol),
            noise=float(self._noise.value), seeds=int(self._seeds.value),
            **self._hub.values(),
        )  # fmt: skip
        return page.sweep_page(state, plotly=plotly, title=self._export_title)

    def _export_header(self):
        return f"<div>{self._readout.value}</div>"

    def precompile(self, wait=False, timeout=None):
        """Compile the selected-run graph in a background thread (done automatically when
        displayed in a kernel), so the first click does not wait for it.

        Returns:
            True when it is ready (only meaningful with ``wait``).
        """
        sweep = self._sweep  # compiles simulate for one run; the result is not used
        WARMUP.start([(self._surface, self._warmup_key, lambda: sweep.trajectory(0, 0))])
        return WARMUP.wait(timeout) if wait else False

    # ==================================================================================
    # internals
    # ==================================================================================
    @property
    def _warmup_key(self):
        return ("sweep-panel selected run", self._steps)

    def _run(self, metric, start=None, loss_scale=None, noise=None, seeds=None):
        """The sweep at the controls' values (or those given, before the controls exist)."""
        kwargs = dict(self._hub.values())
        kwargs.update(self._axes)
        if loss_scale is None:
            loss_scale = 10.0 ** float(self._loss_scale.value)
            noise, seeds = float(self._noise.value), int(self._seeds.value)
        return self._sweep_fn(
            self._surface,
            self._start if start is None else start,
            steps=self._steps,
            metric=metric,
            loss_scale=loss_scale,
            noise=noise,
            seeds=seeds if noise > 0 else 1,
            **kwargs,
        )

    def _draw(self):
        """Re-sweep with the current controls and redraw the map (and the selected run)."""
        self._sweep = self._run(self._metric.value)
        self._draw_map()
        if self._selected is not None:
            self._draw_selected()
        self._write_readout()

    def _metric_chosen(self, change):
        self.flush()
        self._sweep = self._sweep.with_metric(change["new"])
        self._draw_map()
        self._write_readout()

    def _draw_map(self):
        s = self._sweep
        xs, ys, transpose = as_map(s.axes, self._x)

        def oriented(grid):
            return grid.T if transpose else grid

        overlay = None
        if self._overlay.value:
            cells = [s.settings(*index) for index in np.ndindex(s.shape)]
            first = _math.first_step(
                [c["lr"] for c in cells], [c["rho"] for c in cells], [c["epsilon"] for c in cells]
            )
            overlay = oriented(np.asarray(first, np.float64).reshape(s.shape))
        selected = None
        if self._selected is not None:
            selected = self._cell_xy(self._selected)
        self._views["heatmap"].update(
            xs,
            ys,
            oriented(s.values),
            oriented(s.diverged),
            oriented(s.diverged_at),
            label=METRIC_LABELS[s.metric],
            log=s.metric in LOG_METRICS,
            x_name=self._x,
            y_name=self._y,
            title=f"{METRIC_LABELS[s.metric]}: {_runs(s)} of {s.steps} steps "
            f"on {self._surface.name} (click a cell)",
            overlay=overlay,
            selected=selected,
        )

    def _cell_xy(self, index):
        values = {name: float(v[k]) for k, (name, v) in zip(index, self._sweep.axes, strict=True)}
        return values[self._x], values[self._y]

    def _clicked(self, xv, yv):
        self.select(*_cell_for(self._sweep, self._x, self._y, xv, yv))

    def _draw_selected(self):
        sweep, index = self._sweep, self._selected
        t = WARMUP.run(self._surface, self._warmup_key, lambda: sweep.trajectory(*index))
        self._trajectory = t
        pos = t.positions[:, 0, :]
        ok = np.all(np.isfinite(pos), axis=1)
        path = (floats(pos[ok, 0]), floats(pos[ok, 1]))
        n = t.steps
        steps = step_axis(n + 1)
        ag, ad = t.accum_grad[:, 0, :], t.accum_delta[:, 0, :]
        ss, nss = t.step_size[:, 0, :], t.newton_step_size[:, 0, :]
        numbers = floats(np.arange(1, n + 1))
        views = self._views
        label = divergence_label() if t.diverged[0] else ""
        views["surface"].update([path], cursor=n, end_labels=[label])
        views["accumulators"].update(
            steps,
            (positive_or_nan(ag[:, 0]), positive_or_nan(ag[:, 1])),
            (positive_or_nan(ad[:, 0]), positive_or_nan(ad[:, 1])),
        )
        views["step_size"].update(
            numbers,
            (positive_or_nan(ss[:, 0]), positive_or_nan(ss[:, 1])),
            (positive_or_nan(nss[:, 0]), positive_or_nan(nss[:, 1])),
        )
        views["heatmap"].set_selected(self._cell_xy(self._selected))
        self._write_readout()

    def _write_readout(self):
        self._readout.value = readout_html(self._sweep, self._selected)
