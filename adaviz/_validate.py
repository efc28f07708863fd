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
    "momentum": (0.0, 1.0, "in [0, 1]"),
    "initial_accumulator_value": (0.0, None, "a finite number >= 0"),
    "beta_1": (0.0, 1.0, "in [0, 1)"),
    "beta_2": (0.0, 1.0, "in [0, 1)"),
    "loss_scale": (0.0, None, "a finite number > 0"),
    "noise": (0.0, None, "a finite number >= 0"),
}

#: names whose (lower, upper) bound is excluded from the allowed range
_OPEN_BOUNDS = {"beta_1": (False, True), "beta_2": (False, True), "loss_scale": (True, False)}


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
    open_low, open_high = _OPEN_BOUNDS.get(name, (False, False))
    bad = ~np.isfinite(arr) | ((arr <= low) if open_low else (arr < low))
    if high is not None:
        bad |= (arr >= high) if open_high else (arr > high)
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
        value: the value to check: an integer or a 0-d integer array (``bool`` is
            refused: it is not a count).
        low: the smallest allowed value.
        high: the largest allowed value, or ``None`` for no upper bound.

    Raises:
        ValueError: not an integer, or outside ``[low, high]``, e.g.
            ``batch_size must be an integer in [1, 400], got 0``.
    """
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "iu":
        value = value[()]  # a 0-d integer array, as numpy reductions return
    ok = isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))
    if ok:
        ok = int(value) >= low and (high is None or int(value) <= high)
    if not ok:
        allowed = f"an integer >= {low}" if high is None else f"an integer in [{low}, {high}]"
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return int(value)


def check_seeds(name, value):
    """Validate random seeds: an integer or a 1-D array of integers in [0, 2**32 - 1].

    Returns:
        A 1-D int64 array (one value for a single seed).

    Raises:
        ValueError: not integers, not 1-D, or out of range, e.g.
            ``seed must be an integer in [0, 4294967295] or a 1-D array of them, got -1``.
    """
    must = f"{name} must be an integer in [0, {2**32 - 1}] or a 1-D array of them"
    if isinstance(value, (bool, np.bool_)) or value is None:
        raise ValueError(f"{must}, got {value!r}")
    if isinstance(value, numbers.Integral):
        arr = np.array([int(value)], dtype=object)
    else:
        try:
            arr = np.asarray(value)
        except Exception as exc:  # pragma: no cover - exotic objects
            raise ValueError(f"{must}, got {value!r}") from exc
        if arr.ndim != 1 or arr.size == 0 or arr.dtype.kind not in "iu":
            raise ValueError(f"{must}, got {_describe(value)}")
    bad = [i for i, v in enumerate(arr) if not 0 <= int(v) <= 2**32 - 1]
    if bad:
        raise ValueError(f"{must}, got {int(arr[bad[0]])} at index {bad[0]} of {_describe(value)}")
    return np.array([int(v) for v in arr], np.int64)


def check_widths(name, value):
    """Validate layer widths (e.g. an MLP's ``hidden``) and return them as a tuple of ints.

    Raises:
        ValueError: not a list or tuple (a string or a single number included) of
            integers >= 1, e.g. ``hidden must be a list or tuple of layer widths
            (integers >= 1), got 'big' (type str)``.
    """
    if isinstance(value, np.ndarray) and value.ndim == 1:
        value = list(value)
    if not isinstance(value, (list, tuple)):
        raise ValueError(
            f"{name} must be a list or tuple of layer widths (integers >= 1), got {value!r} "
            f"(type {type(value).__name__})"
        )
    return tuple(check_int(f"{name}[{i}]", width, 1) for i, width in enumerate(value))


def check_flag(name, value, *, allow_array=False):
    """Validate an on/off hyperparameter (``centered``, ``amsgrad``): 1.0/0.0 or a float64 array.

    Accepts ``True``/``False``, ``0``/``1`` and, with ``allow_array``, a 1-D array of them.

    Raises:
        ValueError: anything else, e.g. ``amsgrad must be True or False, got 0.5``.
    """
    must = f"{name} must be True or False"
    arr = np.asarray(value, dtype=object) if allow_array else None
    if isinstance(value, (bool, np.bool_, numbers.Real)) or (arr is not None and arr.ndim == 0):
        items, scalar = [value], True
    elif arr is not None and arr.ndim == 1:
        items, scalar = list(arr), False
    else:
        raise ValueError(f"{must}, got {value!r}")
    for index, item in enumerate(items):
        ok = isinstance(item, (bool, np.bool_, numbers.Real)) and item in (0, 1)
        if not ok:
            where = "" if scalar else f" at index {index} of {_describe(value)}"
            raise ValueError(f"{must}, got {item!r}{where}")
    values = np.array([float(bool(item)) for item in items])
    return float(values[0]) if scalar else values


def check_rule_hyperparameters(rule, given, *, allow_array=False, others=()):
    """Check the hyperparameters passed to one update rule and fill in its defaults.

    Args:
        rule: an :class:`adaviz._math.Rule`.
        given: name -> value as the user passed them; ``learning_rate`` is an alias of ``lr``.
        allow_array: accept 1-D arrays (batched runs) as well as numbers.
        others: every known :class:`~adaviz._math.Rule`, to say where a foreign name belongs.

    Returns:
        ``{name: float or float64 array}`` for every name in ``rule.hyperparameters``
        (flags as 0.0 / 1.0).

    Raises:
        ValueError: a name the rule does not take (the message lists the ones it takes),
            both ``lr`` and ``learning_rate``, or a value out of range.
    """
    given = dict(given)
    if "learning_rate" in given:
        if "lr" in given:
            raise ValueError(
                "lr and learning_rate are the same hyperparameter: pass one of them, got both "
                f"(lr={given['lr']!r}, learning_rate={given['learning_rate']!r})"
            )
        given["lr"] = given.pop("learning_rate")
    takes = ", ".join("lr (or learning_rate)" if n == "lr" else n for n in rule.hyperparameters)
    for name in given:
        if name not in rule.hyperparameters:
            owners = [r.name for r in others if name in r.hyperparameters]
            belongs = f" (it belongs to {', '.join(owners)})" if owners else ""
            raise ValueError(
                f"{name} is not a hyperparameter of optimizer {rule.name!r}{belongs}; "
                f"{rule.name} takes {takes}"
            )
    checked = {}
    for name in rule.hyperparameters:
        value = given.get(name, rule.defaults[name])
        if name in rule.flags:
            checked[name] = check_flag(name, value, allow_array=allow_array)
        else:
            checked[name] = check_hyperparameter(name, value, allow_array=allow_array)
    return checked


def check_start(start, domain, *, surface_name="the surface"):
    """Validate one starting point inside a 2D domain; return it as a float64 ``(2,)`` array.

    Args:
        start: the point ``(x, y)``.
        domain: ``((xmin, xmax), (ymin, ymax))``, bounds included.
        surface_name: named in the message.

    Raises:
        ValueError: not a point of two finite numbers, or outside the domain, e.g.
            ``start must lie inside the domain of 'rosenbrock', x in [-2, 2] and y in
            [-1, 3], got (5, 0)``.
    """
    try:
        arr = np.asarray(start, dtype=np.float64) if start is not None else None
    except (TypeError, ValueError):
        arr = None
    if arr is None or arr.shape != (2,):
        raise ValueError(f"start must be a point (x, y), got {start!r}")
    (xmin, xmax), (ymin, ymax) = np.asarray(domain, dtype=np.float64)
    x, y = arr
    if not (np.isfinite(arr).all() and xmin <= x <= xmax and ymin <= y <= ymax):
        raise ValueError(
            f"start must lie inside the domain of {surface_name!r}, "
            f"x in [{xmin:g}, {xmax:g}] and y in [{ymin:g}, {ymax:g}], got ({x:g}, {y:g})"
        )
    return arr


def check_real(name, value, low, high, *, open_low=False):
    """Validate a real number in ``[low, high]`` (``(low, high]`` when ``open_low``).

    Raises:
        ValueError: not a finite real number in range, e.g.
            ``refresh_hz must be a number in (0, 60], got 0``.
    """
    ok = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
    ok = ok and (low < value if open_low else low <= value) and value <= high
    if not ok:
        bracket = "(" if open_low else "["
        raise ValueError(f"{name} must be a number in {bracket}{low:g}, {high:g}], got {value!r}")
    return float(value)


def lr_alias(lr, learning_rate):
    """``lr``, or ``learning_rate`` (its alias) when only that one is given.

    Raises:
        ValueError: both are given.
    """
    if learning_rate is None:
        return lr
    if lr is not None:
        raise ValueError(
            f"give lr or learning_rate, not both (got lr={lr!r}, learning_rate={learning_rate!r})"
        )
    return learning_rate


def check_starts(start, surface):
    """Validate one start ``(2,)`` or N starts ``(N, 2)`` of a run on ``surface`` (default:
    ``surface.start``); return them as a float64 ``(N, 2)`` array.

    Raises:
        ValueError: the wrong shape, a value that is not finite, or a start outside the
            surface's bounds (its domain with the divergence margin), named with its index.
    """
    if start is None:
        start = surface.start
    try:
        arr = np.array(start, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"start must be a point (x, y) of shape (2,) or N points of shape (N, 2), got {start!r}"
        ) from exc
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] < 1:
        raise ValueError(
            f"start must have shape (2,) or (N, 2) with N >= 1, got shape {np.shape(start)}"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"start must be finite, got {start!r}")
    (xlo, xhi), (ylo, yhi) = surface.bounds
    outside = (arr[:, 0] < xlo) | (arr[:, 0] > xhi) | (arr[:, 1] < ylo) | (arr[:, 1] > yhi)
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        raise ValueError(
            f"start must lie within x in [{xlo:g}, {xhi:g}] and y in [{ylo:g}, {yhi:g}] "
            f"(the surface's domain with its divergence margin), got ({arr[i, 0]:g}, "
            f"{arr[i, 1]:g}) at index {i}"
        )
    return arr


def check_dtype(dtype):
    """Validate a compute dtype of the engine: ``tf.float32`` or ``tf.float64`` (or their
    names); return it as a ``tf.DType``."""
    from adaviz._tf import import_tensorflow

    tf = import_tensorflow()
    given = dtype
    try:
        dtype = tf.as_dtype(dtype)
    except TypeError as exc:
        raise ValueError(f"dtype must be tf.float32 or tf.float64, got {given!r}") from exc
    if dtype not in (tf.float32, tf.float64):
        raise ValueError(f"dtype must be tf.float32 or tf.float64, got {given!r}")
    return dtype


def check_tol(tol):
    """Validate a convergence tolerance: a finite number >= 0."""
    if (
        isinstance(tol, (bool, np.bool_))
        or not isinstance(tol, numbers.Real)
        or not np.isfinite(tol)
        or tol < 0
    ):
        raise ValueError(f"tol must be a finite number >= 0, got {tol!r}")
    return float(tol)


def check_executor(executor):
    """Validate an executor to map work on: a ``concurrent.futures.Executor`` or None."""
    import concurrent.futures

    if executor is not None and not isinstance(executor, concurrent.futures.Executor):
        raise ValueError(
            "executor must be a concurrent.futures.Executor (e.g. a ProcessPoolExecutor or "
            f"distributed.Client(...).get_executor()) or None, got {executor!r}"
        )
    return executor
