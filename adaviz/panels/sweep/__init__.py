"""SweepPanel (a metric over two hyperparameters on a surface) and ModelSweepPanel (the same
for a live model, filled in as cells finish)."""

from adaviz.panels.sweep.model_sweep import ModelSweepPanel
from adaviz.panels.sweep.panel import SweepPanel

__all__ = ["SweepPanel", "ModelSweepPanel"]
