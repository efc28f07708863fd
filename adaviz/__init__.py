"""adaviz: see inside the Adadelta optimizer.

A TensorFlow/Keras 3 Adadelta that honours the legacy ``tf.keras`` API, a compiled
trajectory engine for 2D loss surfaces, and Jupyter panels that plot Adadelta's
accumulators and effective step sizes while you move the rho/epsilon/decay sliders.
"""

from __future__ import annotations

import importlib

from adaviz._tf import import_tensorflow

import_tensorflow()  # fails early, in one sentence, when TensorFlow is missing

__version__ = "0.1.0"

# Imported eagerly so that ``import adaviz`` registers "adaviz>Adadelta" for Keras
# deserialization (loading a saved model compiled with it needs no extra import).
from adaviz.optimizer import Adadelta as Adadelta  # noqa: E402  (re-export)

# Public name -> module that defines it. Imported on first use so that
# ``import adaviz`` stays light (plotly and ipywidgets load with the panels).
_PUBLIC = {
    "Surface": "adaviz.surfaces",
    "surfaces": "adaviz.surfaces",
    "simulate": "adaviz.engine",
    "Trajectory": "adaviz.engine",
    "SurfacePanel": "adaviz.panels.surface",
    "ModelPanel": "adaviz.panels.model",
    "ComparePanel": "adaviz.panels.compare",
    "AdadeltaMonitor": "adaviz.callbacks",
    "datasets": "adaviz.datasets",
    "training": "adaviz.training",  # the widget-free Trainer and data checks
    "sweeps": "adaviz.sweeps",
    "sweep": "adaviz.sweeps",
    "Sweep": "adaviz.sweeps",
    "sweep_model": "adaviz.sweeps",
    "ModelSweep": "adaviz.sweeps",
    "SweepError": "adaviz.sweeps",
    "SweepPanel": "adaviz.panels.sweep",
}

__all__ = sorted([*_PUBLIC, "Adadelta"]) + ["__version__"]


def __getattr__(name):
    module_name = _PUBLIC.get(name)
    if module_name is None:
        raise AttributeError(f"module 'adaviz' has no attribute {name!r}")
    module = importlib.import_module(module_name)
    value = module if module_name.endswith("." + name) else getattr(module, name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
