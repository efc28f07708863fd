"""ModelPanel's data view: the grid a 2D classifier's decision boundary (or a 1D
regression's fit) is evaluated on, and the model's output turned into what is drawn."""

from __future__ import annotations

import numpy as np

#: decision-boundary grid resolution (points per axis).
GRID = 50


class Boundary:
    """The grid over the data and what the views draw of the model's output on it.

    ``grid`` is ``(gx, gy, points)`` for a 2D classification, ``(gx, None, points)`` for a
    1D regression, and None for other data (no data view).
    """

    def __init__(self, x, y, task, n_classes):
        self.x, self.y, self.n_classes = x, y, n_classes
        self.grid = None
        if x.shape[1] == 2 and task == "classification":
            lo, hi = x.min(axis=0), x.max(axis=0)
            pad = 0.1 * (hi - lo) + 1e-6
            gx = np.linspace(lo[0] - pad[0], hi[0] + pad[0], GRID, dtype=np.float32)
            gy = np.linspace(lo[1] - pad[1], hi[1] + pad[1], GRID, dtype=np.float32)
            xx, yy = np.meshgrid(gx, gy)
            self.grid = gx, gy, np.stack([xx.ravel(), yy.ravel()], axis=1)
        elif x.shape[1] == 1 and task == "regression" and y.ndim <= 2:
            lo, hi = float(x.min()), float(x.max())
            pad = 0.05 * (hi - lo) + 1e-6
            gx = np.linspace(lo - pad, hi + pad, 200, dtype=np.float32)
            self.grid = gx, None, gx[:, None]

    @property
    def points(self):
        """The grid's points, ``(n, features)``, or None."""
        return None if self.grid is None else self.grid[2]

    @property
    def shape(self):
        """The shape of what :meth:`drawn` returns, or None without a grid."""
        if self.grid is None:
            return None
        gx, gy, _ = self.grid
        return (len(gx),) if gy is None else (len(gy), len(gx))

    def boundary_spec(self):
        """What the decision-boundary view is built from, or None."""
        if self.grid is None or self.grid[1] is None:
            return None
        y = self.y
        labels = y.reshape(len(y), -1)[:, 0] if self.n_classes <= 2 else y
        return self.grid[0], self.grid[1], self.x, labels, self.n_classes

    def fit_spec(self):
        """What the regression-fit view is built from, or None."""
        if self.grid is None or self.grid[1] is not None:
            return None
        return self.grid[0], self.x, self.y.reshape(len(self.y), -1)[:, 0]

    def drawn(self, out, from_logits):
        """The model's output on the grid as drawn: class probabilities (two classes),
        the arg-max class (more), or the fitted curve (regression); None without a grid."""
        if self.grid is None:
            return None
        gx, gy, _ = self.grid
        if gy is None:
            return out.reshape(len(gx), -1)[:, 0]
        if self.n_classes > 2:
            return np.argmax(out.reshape(len(gx) * len(gy), -1), axis=1).reshape(len(gy), len(gx))
        out = out.reshape(len(gy), len(gx))
        if from_logits:
            out = 1.0 / (1.0 + np.exp(-out))
        return np.clip(out, 0.0, 1.0)
