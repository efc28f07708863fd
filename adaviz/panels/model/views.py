"""The live-model views shared by :class:`~adaviz.ModelPanel` and ``AdadeltaMonitor.panel()``.

One small class per figure, in :mod:`adaviz.panels.views`: :class:`TrainingLossView`
(``model_loss.py``), :class:`LayerLinesView` for the accumulators and the update ratio
and :class:`StepSizeHistogramView` (``model_layers.py``), :class:`BoundaryView` and
:class:`FitView` (``model_data.py``); each is built once and updated in place from
arrays (one ``batch_update()`` per figure) and knows nothing of the trainer or the
controls. :class:`ModelViews` composes them for a panel. Within the accumulator view
E[g²] is solid and E[Δx²] dashed.
"""

from __future__ import annotations

import numpy as np

from adaviz.panels.views.model.common import MAX_GHOSTS, MAX_POINTS, thin
from adaviz.panels.views.model.data import BoundaryView, FitView
from adaviz.panels.views.model.layers import LayerLinesView, StepSizeHistogramView
from adaviz.panels.views.model.loss import TrainingLossView

__all__ = ["MAX_GHOSTS", "MAX_POINTS", "ModelViews", "panel_views", "thin"]


def panel_views(layer_names, boundary, validation):
    """A ModelPanel's views: the loss on a log axis, the decision boundary or fit over
    ``boundary``'s grid (a :class:`adaviz.panels.model.boundary.Boundary`)."""
    return ModelViews(
        layer_names,
        validation=validation,
        boundary=boundary.boundary_spec(),
        fit=boundary.fit_spec(),
        loss_title="loss (log scale)",
    )


class ModelViews:
    """The figures of a live model: loss, accumulators, step sizes, update ratio, boundary.

    Args:
        layer_names: names of the layers with trainable weights (one colour each).
        validation: draw a validation-loss line.
        boundary: for 2D classification, ``(grid_x, grid_y, x, y, n_classes)``: the 1-D grid
            coordinates, the data points and labels drawn over the decision boundary.
        fit: for 1D regression, ``(grid_x, x, y)``: the model curve over the data.
        loss_title: the y-axis title of the loss view.
        loss_summaries: smoothed and all-data loss lines (see :class:`TrainingLossView`).
    """

    def __init__(
        self, layer_names, *, validation=False, boundary=None, fit=None, loss_title="loss",
        loss_summaries=True,
    ):  # fmt: skip
        self.layer_names = list(layer_names)
        self.validation = bool(validation)
        self._kept = []
        self.loss = TrainingLossView(
            validation=validation, title=loss_title, summaries=loss_summaries
        )
        self.accumulators = LayerLinesView(
            layer_names,
            [("RMS[g]", "solid"), ("RMS[Δx]", "dash")],
            title="Accumulators per layer: RMS[g] = √mean E[g²], RMS[Δx] = √mean E[Δx²]",
            ytitle="RMS[g] (units of g), RMS[Δx] (units of x)",
        )
        self.step_size = StepSizeHistogramView(layer_names)
        self.update_ratio = LayerLinesView(
            layer_names,
            [("", "solid")],
            title="Update-to-weight ratio ‖Δw‖/‖w‖ per layer",
            ytitle="‖Δw‖ / ‖w‖",
        )
        self.boundary = BoundaryView(*boundary) if boundary is not None else None
        self.fit = FitView(*fit) if fit is not None else None
        self.figures = {
            "loss": self.loss.figure,
            "accumulators": self.accumulators.figure,
            "step_sizes": self.step_size.figure,
            "update_ratio": self.update_ratio.figure,
        }
        if self.boundary is not None:
            self.figures["boundary"] = self.boundary.figure
        if self.fit is not None:
            self.figures["fit"] = self.fit.figure
        for name, fig in self.figures.items():
            fig.add_class(f"adaviz-figure-{name.replace('_', '-')}")

    def update(
        self,
        *,
        step=None,
        loss=None,
        loss_smoothed=None,
        accum_grad_rms=None,
        accum_delta_rms=None,
        update_ratio=None,
        full_step=None,
        full_loss=None,
        val_step=None,
        val_loss=None,
        step_sizes=None,
        prediction=None,
    ):
        """Redraw the views from new data, in place (one ``batch_update`` per figure).

        Args:
            step: 1-D array of steps (x axis of the time series).
            loss, loss_smoothed: 1-D arrays, one value per step.
            accum_grad_rms, accum_delta_rms, update_ratio: arrays of shape (steps, layers).
            full_step, full_loss, val_step, val_loss: all-data / validation loss points.
            step_sizes: list of 1-D arrays (one per layer) of current effective step sizes.
            prediction: for the boundary view the grid of P(class 1) (or class indices),
                shape (len(grid_y), len(grid_x)); for the fit view the model's output on
                the grid.
        Arguments left as ``None`` leave their view unchanged.
        """
        if step is not None and loss is not None:
            self.loss.update(
                step,
                loss,
                smoothed=loss_smoothed,
                full_step=full_step,
                full_loss=full_loss,
                val_step=val_step,
                val_loss=val_loss,
            )
        if step is not None and accum_grad_rms is not None:
            self.accumulators.update(step, accum_grad_rms, accum_delta_rms)
        if step is not None and update_ratio is not None:
            self.update_ratio.update(step, update_ratio)
        if step_sizes is not None:
            self.step_size.update(step_sizes)
        if prediction is not None:
            for view in (self.boundary, self.fit):
                if view is not None:
                    view.update(prediction)

    def show(self, history, *, step_sizes=None, prediction=None):
        """Redraw from a history dict (a trainer's or a monitor's): the keys it has of
        ``step``, ``loss``, ``loss_smoothed``, ``accum_grad_rms``, ``accum_delta_rms``,
        ``update_ratio``, ``full_step``/``full_loss``, ``val_step``/``val_loss``."""
        keys = (
            "step", "loss", "loss_smoothed", "accum_grad_rms", "accum_delta_rms",
            "update_ratio", "full_step", "full_loss", "val_step", "val_loss",
        )  # fmt: skip
        self.update(
            **{k: history[k] for k in keys if k in history},
            step_sizes=step_sizes,
            prediction=prediction,
        )

    def show_trainer(self, trainer, prediction=None):
        """Redraw from a :class:`adaviz.training.Trainer`: its history (with the full-data
        and validation losses evaluated now), the step sizes of its last probe step and
        where it went non-finite; returns the history drawn."""
        trainer.record_evaluation()
        history, sizes = trainer.history, trainer.step_sizes()
        if not trainer.steps:
            sizes = [np.zeros(0) for _ in sizes]
        self.show(history, step_sizes=sizes, prediction=prediction)
        self.loss.mark_nonfinite(trainer.nonfinite_step)
        return history

    def set_ghosts(self, ghosts):
        """Show earlier runs as faint loss curves (see :meth:`TrainingLossView.set_ghosts`)."""
        self.loss.set_ghosts(ghosts)

    def keep_run(self, label, history):
        """Keep the loss curve of ``history`` as a ghost labelled ``label`` (the last
        :data:`MAX_GHOSTS` are shown); a run of fewer than two steps is not kept."""
        if len(history["loss"]) < 2:  # a ghost needs a curve, not a point
            return
        steps, loss = thin(history["step"].astype(np.float64), history["loss"], limit=MAX_POINTS)
        self._kept = [*self._kept, (label, steps, loss)][-MAX_GHOSTS:]
        self.set_ghosts(self._kept)

    @property
    def kept(self):
        """The labels of the runs kept as ghosts, oldest first."""
        return [label for label, _, _ in self._kept]

    def widgets(self):
        """The figures in display order (loss, boundary/fit, accumulators, step sizes, ratio)."""
        order = ["loss", "boundary", "fit", "accumulators", "step_sizes", "update_ratio"]
        return [self.figures[k] for k in order if k in self.figures]
