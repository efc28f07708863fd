"""The grid every sweep runs over: its axes, its cells, and :class:`Grid`, the part of a
result that every sweep has."""

from __future__ import annotations

import dataclasses
import numbers

import numpy as np

from adaviz import _math
from adaviz._validate import check_rule_hyperparameters

__all__ = ["Grid", "grid_axes", "grid_cells"]


@dataclasses.dataclass(frozen=True, eq=False)
class Grid:
    """What every sweep result has: a metric over one or two hyperparameter axes."""

    metric: str
    axes: tuple
    fixed: dict
    values: np.ndarray
    diverged: np.ndarray
    order: tuple  # the rule's hyperparameters, in signature order
    flags: tuple  # the on/off ones among them (settings gives them as bool)

    @property
    def shape(self):
        """The grid's shape."""
        return self.values.shape

    def index(self, index):
        """``index`` checked against the grid's shape, as a tuple of non-negative ints.

        Raises:
            ValueError: the wrong number of indices, or one out of range.
        """
        if len(index) != len(self.axes):
            raise ValueError(
                f"a cell of this sweep has {len(self.axes)} indices, got {len(index)}: {index!r}"
            )
        checked = []
        for i, (name, values) in zip(index, self.axes, strict=True):
            if (
                isinstance(i, (bool, np.bool_))
                or not isinstance(i, numbers.Integral)
                or not -len(values) <= i < len(values)
            ):
                raise ValueError(
                    f"the {name} index must be an integer in [0, {len(values) - 1}], got {i!r}"
                )
            checked.append(int(i) % len(values))
        return tuple(checked)

    def settings(self, *index):
        """The hyperparameters of cell ``index`` (e.g. ``settings(i, j)``), in the rule's order.

        Raises:
            ValueError: the wrong number of indices, or one out of range.
        """
        index = self.index(index)
        cell = dict(self.fixed)
        for i, (name, values) in zip(index, self.axes, strict=True):
            cell[name] = float(values[i])
        return {
            name: bool(cell[name]) if name in self.flags else float(cell[name])
            for name in self.order
        }

    def best(self):
        """The cell with the lowest metric value: ``(index, settings)``.

        Raises:
            ValueError: every cell is NaN (all diverged, not reached or not run).
        """
        if np.all(np.isnan(self.values)):
            raise ValueError(f"no cell of this sweep has a finite {self.metric}")
        index = np.unravel_index(int(np.nanargmin(self.values)), self.values.shape)
        index = tuple(int(i) for i in index)
        return index, self.settings(*index)


def grid_axes(rule, hyperparameters):
    """Split ``hyperparameters`` into the grid's axes (in rule order) and the fixed values.

    Returns:
        ``(axes, fixed)``: ``axes`` a tuple of ``(name, float64 array)``, ``fixed`` a dict
        of floats for every other hyperparameter of the rule (its defaults filled in).
    """
    given = {name: value for name, value in hyperparameters.items() if value is not None}
    for name, value in given.items():
        if np.ndim(value) == 1 and np.size(value) == 0:
            raise ValueError(f"{name} must have at least one value to sweep, got an empty array")
    checked = check_rule_hyperparameters(rule, given, allow_array=True, others=_math.RULES.values())
    axes = tuple((name, v) for name, v in checked.items() if np.ndim(v) == 1)
    fixed = {name: float(v) for name, v in checked.items() if np.ndim(v) == 0}
    if not axes:
        raise ValueError(
            "give one or two hyperparameters as 1-D arrays (the grid's axes), e.g. "
            "rho=np.linspace(0, 0.999, 64); got numbers only"
        )
    if len(axes) > 2:
        raise ValueError(
            f"a sweep has one or two axes, got arrays for {len(axes)} hyperparameters: "
            f"{', '.join(name for name, _ in axes)}"
        )
    return axes, fixed


def grid_cells(rule, axes, fixed):
    """Every cell's hyperparameters, flattened in C order: ``{name: float64 (cells,)}``."""
    mesh = np.meshgrid(*(values for _, values in axes), indexing="ij")
    cells = mesh[0].size
    hyper = {name: np.full(cells, value) for name, value in fixed.items()}
    for (name, _), grid in zip(axes, mesh, strict=True):
        hyper[name] = grid.reshape(-1).astype(np.float64)
    return {name: hyper[name] for name in rule.hyperparameters}
