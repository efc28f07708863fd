"""ModelPanel's snapshots: what its views showed at its redraws, for the replay page.

The loss and per-layer lines already cover the whole run (the trainer's history), but the
step-size histogram and the decision boundary (or the regression fit) exist only at a
redraw. Each redraw therefore records them here with the step's losses, settings and
per-layer statistics; :mod:`adaviz.web.replay` turns them into a page that scrubs through
them.

Memory is bounded: at most :data:`MAX_SNAPSHOTS` snapshots plus the newest are kept. When
full, every other one is dropped and from then on only every 2nd redraw is kept, then every
4th, ... (:class:`adaviz.training.ThinnedHistory`), so the snapshots still span the whole
run. A 50 x 50 decision boundary makes a snapshot about 21 KB.
"""

from __future__ import annotations

import numpy as np

from adaviz.panels.views.model.common import HIST_BINS
from adaviz.training import ThinnedHistory

#: snapshots kept at most (plus the newest)
MAX_SNAPSHOTS = 64
#: one value per snapshot: the step's losses and the settings it ran with (``lr`` is lr_t)
SCALARS = (
    "loss", "loss_smoothed", "full_loss", "val_loss", "lr", "rho", "epsilon", "decay",
    "batch_size",
)  # fmt: skip
#: one value per layer and snapshot
PER_LAYER = ("accum_grad_rms", "accum_delta_rms", "update_ratio")


class Snapshots:
    """The views at recorded redraws, one snapshot per step at most, in bounded memory.

    Args:
        n_layers: layers with trainable weights.
        prediction_shape: the shape of the data view's picture (the decision boundary's
            grid, or the fit's), or None without a data view.
    """

    def __init__(self, n_layers, prediction_shape):
        self._shapes = {name: () for name in SCALARS}
        self._shapes.update({name: (n_layers,) for name in PER_LAYER})
        self._shapes["step_size_edges"] = (HIST_BINS + 1,)
        self._shapes["step_size_counts"] = (n_layers, HIST_BINS)
        if prediction_shape is not None:
            self._shapes["prediction"] = tuple(prediction_shape)
        width = sum(int(np.prod(shape)) for shape in self._shapes.values())
        self._rows = ThinnedHistory(width, MAX_SNAPSHOTS)
        self._last = None

    def clear(self):
        """Forget every snapshot (a new run starts)."""
        self._rows.clear()
        self._last = None

    def record(self, history, histogram, prediction):
        """Keep what the views show at the step ``history`` ends at (0 before the first
        step); a step already recorded is not recorded again.

        Args:
            history: the trainer's history as just drawn (with the full-data and
                validation losses evaluated at this step).
            histogram: ``(edges, counts)`` of the step-size view (``edges`` None before
                the first step).
            prediction: what the data view drew, or None without one.
        """
        steps = history["step"]
        step = int(steps[-1]) if len(steps) else 0
        if step == self._last:
            return
        values = {}
        for name in SCALARS + PER_LAYER:
            column = history.get(name)
            values[name] = column[-1] if step and column is not None else np.nan
        for which in ("full", "val"):  # evaluated every redraw: at this step, or missing
            evaluated = history.get(f"{which}_step")
            if evaluated is not None and len(evaluated) and evaluated[-1] == step:
                values[f"{which}_loss"] = history[f"{which}_loss"][-1]
        edges, counts = histogram
        values["step_size_edges"] = np.nan if edges is None else edges
        values["step_size_counts"] = 0.0 if edges is None else np.stack(counts)
        if "prediction" in self._shapes:
            values["prediction"] = prediction
        row = [
            np.broadcast_to(np.asarray(values[name], np.float64), shape).reshape(-1)
            for name, shape in self._shapes.items()
        ]
        self._rows.append([step], np.concatenate(row)[None])
        self._last = step

    def arrays(self):
        """The snapshots, oldest first: ``step`` (k,), each of :data:`SCALARS` (k,), each of
        :data:`PER_LAYER` (k, layers), ``step_size_edges`` (k, bins + 1; NaN before the
        first step), ``step_size_counts`` (k, layers, bins) and, with a data view,
        ``prediction`` (k, *grid shape). Missing values are NaN."""
        steps, rows = self._rows.arrays()
        out = {"step": steps}
        start = 0
        for name, shape in self._shapes.items():
            size = int(np.prod(shape))
            out[name] = rows[:, start : start + size].reshape(len(steps), *shape)
            start += size
        return out
