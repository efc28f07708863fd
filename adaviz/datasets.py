"""Small seeded toy datasets for the live-model panel: made with numpy, no downloads.

Four 2D binary classification sets and one 1D regression task::

    x, y = adaviz.datasets.make("moons", n=400, seed=0)

``x`` is float32 of shape ``(n, 2)`` (``(n, 1)`` for "regression"); ``y`` is float32 of
shape ``(n,)``: class labels 0/1 for classification, targets for regression. The same
name, ``n``, ``noise`` and ``seed`` always give the same arrays.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np

from adaviz._validate import check_int


class DatasetInfo(NamedTuple):
    """What a built-in dataset is: its task, input dimension, classes and default noise."""

    task: str  # "classification" or "regression"
    input_dim: int
    n_classes: int  # 0 for regression
    noise: float  # default noise level
    description: str


_INFO = {
    "moons": DatasetInfo(
        "classification", 2, 2, 0.2, "two interleaving half circles (sklearn's make_moons)"
    ),
    "circles": DatasetInfo(
        "classification", 2, 2, 0.1, "a small circle inside a large one (radius ratio 0.5)"
    ),
    "spiral": DatasetInfo("classification", 2, 2, 0.2, "two interleaved spiral arms"),
    "xor": DatasetInfo(
        "classification", 2, 2, 0.1, "uniform points in [-1, 1]^2, class = sign(x1*x2) > 0"
    ),
    "regression": DatasetInfo(
        "regression", 1, 0, 0.1, "y = sin(3x) + 0.3x on [-2, 2] plus Gaussian noise"
    ),
}


def names():
    """The built-in dataset names, in a fixed order."""
    return list(_INFO)


def info(name):
    """The :class:`DatasetInfo` of a built-in dataset.

    Raises:
        ValueError: unknown name (the message lists the valid ones).
    """
    return _INFO[_check_name(name)]


def _check_name(name):
    if not isinstance(name, str) or name not in _INFO:
        raise ValueError(f"dataset must be one of {names()}, got {name!r}")
    return name


def _check_noise(noise):
    if isinstance(noise, (bool, np.bool_)) or not isinstance(noise, numbers.Real):
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    return float(noise)


def _split(n, n_classes):
    """Per-class counts that add up to ``n`` (as equal as possible)."""
    base, extra = divmod(n, n_classes)
    return [base + (1 if k < extra else 0) for k in range(n_classes)]


def _moons(n, noise, rng):
    n0, n1 = _split(n, 2)
    t0 = np.linspace(0.0, np.pi, n0)
    t1 = np.linspace(0.0, np.pi, n1)
    outer = np.stack([np.cos(t0), np.sin(t0)], axis=1)
    inner = np.stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)], axis=1)
    x = np.concatenate([outer, inner])
    y = np.concatenate([np.zeros(n0), np.ones(n1)])
    return x + noise * rng.standard_normal(x.shape), y


def _circles(n, noise, rng):
    n0, n1 = _split(n, 2)
    t0 = np.linspace(0.0, 2 * np.pi, n0, endpoint=False)
    t1 = np.linspace(0.0, 2 * np.pi, n1, endpoint=False)
    outer = np.stack([np.cos(t0), np.sin(t0)], axis=1)
    inner = 0.5 * np.stack([np.cos(t1), np.sin(t1)], axis=1)
    x = np.concatenate([outer, inner])
    y = np.concatenate([np.zeros(n0), np.ones(n1)])
    return x + noise * rng.standard_normal(x.shape), y


def _spiral(n, noise, rng):
    counts = _split(n, 2)
    xs, ys = [], []
    for k, m in enumerate(counts):
        r = np.linspace(0.05, 1.0, m)
        t = 1.75 * 2 * np.pi * r + k * np.pi
        arm = np.stack([r * np.sin(t), r * np.cos(t)], axis=1)
        xs.append(arm + noise * 0.5 * r[:, None] * rng.standard_normal(arm.shape))
        ys.append(np.full(m, float(k)))
    return np.concatenate(xs), np.concatenate(ys)


def _xor(n, noise, rng):
    x = rng.uniform(-1.0, 1.0, size=(n, 2))
    y = (x[:, 0] * x[:, 1] > 0).astype(np.float64)
    return x + noise * rng.standard_normal(x.shape), y


def _regression(n, noise, rng):
    x = np.sort(rng.uniform(-2.0, 2.0, size=n))
    y = np.sin(3.0 * x) + 0.3 * x + noise * rng.standard_normal(n)
    return x[:, None], y


_MAKERS = {
    "moons": _moons,
    "circles": _circles,
    "spiral": _spiral,
    "xor": _xor,
    "regression": _regression,
}


def make(name, n=400, *, noise=None, seed=0):
    """Generate a built-in dataset.

    Args:
        name: one of :func:`names` ("moons", "circles", "spiral", "xor", "regression").
        n: number of samples (>= 4).
        noise: standard deviation of the Gaussian noise added; ``None`` takes the
            dataset's default (``info(name).noise``).
        seed: seed of the numpy generator; the same arguments give the same arrays.

    Returns:
        ``(x, y)``: float32 arrays of shapes ``(n, input_dim)`` and ``(n,)``, shuffled.

    Raises:
        ValueError: unknown name (the message lists the valid ones), ``n`` < 4,
            negative or non-finite noise, a seed that is not a non-negative integer.
    """
    name = _check_name(name)
    n = check_int("n", n, 4)
    seed = check_int("seed", seed, 0)
    noise = _INFO[name].noise if noise is None else _check_noise(noise)
    rng = np.random.default_rng(seed)
    x, y = _MAKERS[name](n, noise, rng)
    order = rng.permutation(n)
    return x[order].astype(np.float32), y[order].astype(np.float32)


#: Alias of :func:`make`.
get = make
