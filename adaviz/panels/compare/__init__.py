"""ComparePanel: several update rules on one surface, tuned alike."""

from adaviz.panels.compare.panel import ComparePanel

__all__ = ["ComparePanel"]
