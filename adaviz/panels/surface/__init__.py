"""SurfacePanel: the interactive Adadelta explorer on 2D loss surfaces."""

from adaviz.panels.surface.panel import SurfacePanel

__all__ = ["SurfacePanel"]
