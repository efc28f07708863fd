"""Checks for Adadelta hyperparameters, shared by the optimizer, the engine and the panels.

Every error names the argument, the value received and what is allowed, e.g.
``ValueError: rho must be in [0, 1], got 1.5``.
"""

from __future__ import annotations

import numbers

import numpy as np

#: name -> (lower bound, upper bound or None, human-readable allowed range)
RANGES = {
    "lr": (0.0, None, "a finite number >= 0"),
    "learning_rate": (0.0, None, "a finite number >= 0"),
    "rho": (0.0, 1.0, "in [0, 1]"),
    "epsilon": (0.0, None, "a finite number >= 0"),
    "decay": (0.0, None, "a finite number >= 0"),
}


def _describe(value):
    return repr(value) if not isinstance(value, np.ndarray) else f"array {value!r}"


def check_hyperparameter(name, value, *, allow_array=False):
    """Validate one hyperparameter and return it as a Python float (or float64 array).

    Args:
        name: one of ``lr``, ``learning_rate``, ``rho``, ``epsilon``, ``decay``.
        value: the value to check.
        allow_array: accept a 1-D array-like of values (for batched simulation).

    Raises:
        ValueError: the value is not a real number (or array of them), is NaN or
            infinite, or lies outside the allowed range.
    """
    low, high, allowed = RANGES[name]
    must = f"{name} must be {allowed}"
    if isinstance(value, (bool, np.bool_)) or value is None:
        raise ValueError(f"{must}, got {value!r} (a {type(value).__name__})")
    if isinstance(value, numbers.Real):
        arr = np.float64(value)
        scalar = True
    elif allow_array:
        try:
            arr = np.asarray(value)
        except Exception as exc:  # pragma: no cover - exotic objects
            raise ValueError(f"{must}, got {value!r}") from exc
        if arr.dtype.kind not in "iuf" or arr.dtype == np.bool_:
            raise ValueError(f"{must}, got {_describe(value)} of dtype {arr.dtype} (numbers only)")
        if arr.ndim > 1:
            raise ValueError(
                f"{name} must be a number or a 1-D array of numbers, "
                f"got an array of shape {arr.shape}"
            )
        arr = arr.astype(np.float64)
        scalar = arr.ndim == 0
    else:
        raise ValueError(f"{must}, got {value!r} (a {type(value).__name__})")
    bad = ~np.isfinite(arr) | (arr < low)
    if high is not None:
        bad |= arr > high
    if np.any(bad):
        if scalar:
            raise ValueError(f"{must}, got {value!r}")
        index = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{must}, got {float(arr[index])!r} at index {index} of {_describe(value)}"
        )
    return float(arr) if scalar else arr


def check_int(name, value, low, high=None):
    """Validate an integer argument and return it as a Python int.

    Args:
        name: the argument's name, for the message.
        value: the value to check (``bool`` is refused: it is not a count).
        low: the smallest allowed value.
        high: the largest allowed value, or ``None`` for no upper bound.

    Raises:
        ValueError: not an integer, or outside ``[low, high]``, e.g.
            ``batch_size must be an integer in [1, 400], got 0``.
    """
    ok = isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))
    if ok:
        ok = int(value) >= low and (high is None or int(value) <= high)
    if not ok:
        allowed = f"an integer >= {low}" if high is None else f"an integer in [{low}, {high}]"
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return int(value)
