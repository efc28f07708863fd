"""ModelSweepPanel: :func:`adaviz.sweep_model`'s map of final losses, filling in as cells finish.

``adaviz.SweepPanel.for_model(build_model, data, ...)`` makes one. The training runs in a
background thread (on ``executor`` when given); each finished cell is drawn on the kit's
:class:`~adaviz.panels.views.heatmap.HeatmapView` from the kernel's event loop.

Contract: ``panel.figures`` (``heatmap``), ``panel.sweep`` (the finished
:class:`adaviz.sweeps.ModelSweep`), ``panel.values`` / ``panel.finished`` (the map so far),
``panel.start()``, ``panel.wait()``, ``to_html`` / ``snapshot`` (:mod:`adaviz.panels.kit.export`).
"""

from __future__ import annotations

import html
import threading

import ipywidgets as widgets
import numpy as np

from adaviz import _math
from adaviz._validate import check_int
from adaviz.panels.kit.controls import ADADELTA
from adaviz.panels.kit.export import StaticExport
from adaviz.panels.kit.schedule import running_loop
from adaviz.panels.sweep.axes import as_map, check_axes
from adaviz.panels.views.heatmap import HeatmapView

__all__ = ["ModelSweepPanel"]

#: sweep_model's arguments a ModelSweepPanel passes on.
_MODEL_OPTIONS = ("epochs", "batch_size", "seed", "loss", "validation_split", "executor")


class ModelSweepPanel(StaticExport, widgets.VBox):
    """:func:`adaviz.sweep_model`'s map of final losses, filling in as the cells finish.

    The training runs in a background thread (on ``executor`` when given), so the kernel
    stays free and the map is drawn cell by cell.

    Args:
        build_model, data: as :func:`adaviz.sweep_model`.
        x, y: the hyperparameters along the map's axes.
        resolution: cells per axis of the default axes (8: 64 trainings).
        start: begin training at once (else call ``panel.start()``).
        **kwargs: the rest of :func:`adaviz.sweep_model`'s arguments (``epochs``,
            ``batch_size``, ``seed``, ``loss``, ``validation_split``, ``executor``) and
            fixed hyperparameters or axes as in :class:`adaviz.SweepPanel`.

    Raises:
        ValueError: as :func:`adaviz.sweep_model`, before any training.
    """

    def __init__(
        self,
        build_model,
        data,
        *,
        x="epsilon",
        y="rho",
        resolution=8,
        start=True,
        static_fallback=True,
        **kwargs,
    ):
        from adaviz import sweeps

        resolution = check_int("resolution", resolution, 2, 64)
        options = {k: kwargs.pop(k) for k in _MODEL_OPTIONS if k in kwargs}
        axes, fixed = check_axes(x, y, kwargs, resolution)
        self._x, self._y = x, y
        self._args = (build_model, data)
        self._kwargs = dict(options, **fixed, **axes)
        self._static_fallback = bool(static_fallback)
        self._sweep_model = sweeps.sweep_model
        self._result = None
        self._error = None
        self._thread = None
        self._done = threading.Event()
        self._loop = running_loop()
        grid = sweeps.grid.grid_axes(_math.rule("adadelta"), {**fixed, **axes})[0]
        self._grid_axes = grid
        shape = tuple(len(v) for _, v in grid)
        self._values = np.full(shape, np.nan)
        self._diverged = np.zeros(shape, bool)
        self._finished = np.zeros(shape, bool)
        self._view = HeatmapView(title="final loss per cell (filling in)")
        self._status = widgets.HTML()
        self._status.add_class("adaviz-readouts")
        self._draw()
        self._view.attach("adaviz-figure-heatmap")
        super().__init__([self._status, self._view.figure])
        self.add_class("adaviz-model-sweep-panel")
        if start:
            self.start()

    @property
    def figures(self):
        """``{"heatmap": FigureWidget}``."""
        return {"heatmap": self._view.figure}

    @property
    def sweep(self):
        """The finished :class:`adaviz.sweeps.ModelSweep` (None while running)."""
        return self._result

    @property
    def finished(self):
        """Bool grid of the cells drawn so far."""
        return self._finished.copy()

    @property
    def values(self):
        """The map's values so far (NaN where not finished or diverged)."""
        return self._values.copy()

    def start(self):
        """Start the training in a background thread (a no-op when already started).

        Raises:
            ValueError: bad input, as :func:`adaviz.sweep_model` (checked here, before the
                thread starts).
        """
        if self._thread is not None:
            return self
        # a synchronous check first: bad input raises here, before any training
        self._check()
        self._thread = threading.Thread(target=self._work, name="adaviz-sweep-model", daemon=True)
        self._thread.start()
        return self

    def wait(self, timeout=None):
        """Block until every cell has finished; returns the sweep (or raises its error)."""
        self._done.wait(timeout)
        if self._error is not None:
            raise self._error
        return self._result

    # -- internals ------------------------------------------------------------------------
    def _check(self):
        import inspect

        from adaviz import sweeps

        signature = inspect.signature(sweeps.sweep_model).parameters
        options = {k: signature[k].default for k in _MODEL_OPTIONS}
        hyperparameters = {}
        for key, value in self._kwargs.items():
            (hyperparameters if key in ADADELTA else options)[key] = value
        sweeps.model.model_job(*self._args, hyperparameters=hyperparameters, **options)

    def _work(self):
        try:
            self._result = self._sweep_model(
                *self._args, progress=False, on_cell=self._cell_done, **self._kwargs
            )
            self._values = np.array(self._result.values)
            self._diverged = np.array(self._result.diverged)
            self._finished = np.array(self._result.finished)
            self._schedule(self._draw)
        except BaseException as exc:  # noqa: BLE001 - shown in the panel and re-raised by wait()
            self._error = exc
            message = f"<span style='color:#b00'>{html.escape(str(exc))}</span>"
            self._schedule(lambda: setattr(self._status, "value", message))
        finally:
            self._done.set()

    def _cell_done(self, index, curves):
        name = "val_loss" if "val_loss" in curves else "loss"
        final = curves[name][-1]
        ok = bool(np.all(np.isfinite(curves[name])))
        self._values[index] = final if ok else np.nan
        self._diverged[index] = not ok
        self._finished[index] = True
        self._schedule(self._draw)

    def _schedule(self, fn):
        if self._loop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(fn)
        else:
            fn()

    def _draw(self):
        xs, ys, transpose = as_map(self._grid_axes, self._x)

        def oriented(grid):
            return grid.T if transpose else grid

        self._view.update(
            xs,
            ys,
            oriented(self._values),
            oriented(self._diverged),
            label="final loss",
            log=True,
            x_name=self._x,
            y_name=self._y,
        )
        done, total = int(self._finished.sum()), self._finished.size
        self._status.value = f"{done} / {total} cells trained"

    @property
    def _export_title(self):
        return "adaviz sweep_model map"

    def _export_columns(self):
        return [[self._view.figure]]

    def _export_header(self):
        return f"<div>{self._status.value}</div>"
