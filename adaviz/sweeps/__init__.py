"""Hyperparameter sweeps: a metric over a grid of settings, on 2D surfaces and on live models.

:func:`sweep` (:mod:`adaviz.sweeps.metric`) runs one optimizer run per grid cell on a
:class:`~adaviz.surfaces.Surface` and keeps only the metrics. :func:`sweep_model`
(:mod:`adaviz.sweeps.model`) trains one fresh Keras model per cell, on any
:class:`concurrent.futures.Executor`. Both grids are :class:`~adaviz.sweeps.grid.Grid`\\ s.
"""

from adaviz.sweeps.metric import METRICS, Sweep, sweep, trace_count
from adaviz.sweeps.model import ModelSweep, SweepError, sweep_model

__all__ = [
    "sweep",
    "Sweep",
    "sweep_model",
    "ModelSweep",
    "SweepError",
    "METRICS",
    "trace_count",
]
