"""The two axes of a sweep map, shared by SweepPanel and ModelSweepPanel: their default
values, the check of the ``x``/``y`` names and of the values given, and which way the grid
lies on the map."""

from __future__ import annotations

import math

import numpy as np

from adaviz.panels.kit.controls import ADADELTA

__all__ = ["default_axis", "check_axes", "as_map"]


def default_axis(name, n):
    """The panel's default ``n`` values of an Adadelta hyperparameter axis: rho linear in
    [0, 0.999], epsilon log over 1e-10 ... 1e-1, lr log over 1e-4 ... 10, decay linear in
    [0, 0.1]."""
    if name == "rho":
        return np.linspace(0.0, 0.999, n)
    if name == "decay":
        return np.linspace(0.0, 0.1, n)
    spec = ADADELTA[name]
    return np.logspace(math.log10(spec.low), math.log10(spec.high), n)


def check_axes(x, y, hyperparameters, resolution):
    """The two swept axes ``{name: values}`` and the fixed values given."""
    names = tuple(ADADELTA)
    for which, name in (("x", x), ("y", y)):
        if name not in names:
            raise ValueError(f"{which} must be one of {', '.join(names)}, got {name!r}")
    if x == y:
        raise ValueError(f"x and y must be two different hyperparameters, got {x!r} twice")
    axes = {}
    fixed = {}
    for name, value in hyperparameters.items():
        if name == "learning_rate":
            name = "lr"
        if name not in names:
            raise ValueError(
                f"{name!r} is not an Adadelta hyperparameter; allowed: {', '.join(names)}"
            )
        if value is None:
            continue
        if name in (x, y):
            if np.ndim(value) != 1:
                raise ValueError(
                    f"{name} is an axis of the map: give its values as a 1-D array, or "
                    f"leave it out for the default grid; got {value!r}"
                )
            axes[name] = value
        else:
            fixed[name] = value
    for name in (x, y):
        if name not in axes:
            axes[name] = default_axis(name, resolution)
    return axes, fixed


def as_map(axes, x_name):
    """``(x values, y values, transpose)`` of a grid's ``axes`` (``((name, values), ...)``):
    heatmap rows run along y."""
    (first, first_values), (second, second_values) = axes
    if first == x_name:
        return first_values, second_values, True
    return second_values, first_values, False
