"""ModelPanel: a live Keras model trained with Adadelta, its losses and per-layer state."""

from adaviz.panels.model.panel import ModelPanel

__all__ = ["ModelPanel"]
