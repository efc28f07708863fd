"""What the engine's and the sweep's compiled graphs share: one cache per surface, the step
bucket a graph is built for, and the divergence test.

:func:`adaviz.simulate` (records every step) and :func:`adaviz.sweep` (keeps only metrics)
build different XLA graphs of the same loop; both flag a run as diverged with
:func:`on_surface` and keep their graphs in :func:`cached`.
"""

from __future__ import annotations

import weakref

from adaviz._tf import import_tensorflow

tf = import_tensorflow()

__all__ = ["cached", "step_bucket", "on_surface"]

_GRAPHS = weakref.WeakKeyDictionary()  # surface -> {key: compiled function}


def cached(surface, key, build):
    """The compiled function of ``surface`` under ``key``, built by ``build()`` once.

    The cache lives as long as the surface does.
    """
    per_surface = _GRAPHS.setdefault(surface, {})
    fn = per_surface.get(key)
    if fn is None:
        fn = per_surface[key] = build()
    return fn


def step_bucket(count):
    """``count`` rounded up to a quarter of its power of two (at most +25 %): nearby step
    counts or batch sizes share one compiled graph."""
    quantum = 1 << max(count.bit_length() - 3, 0)
    return -(-count // quantum) * quantum


def on_surface(pos, f, bounds):
    """The divergence test, in graph: True where a run's loss ``f`` is finite and its
    position ``pos`` (``(2, N)``) lies within ``bounds`` (the surface's domain with its
    margin)."""
    (xlo, xhi), (ylo, yhi) = bounds
    x, y = pos[0], pos[1]
    return tf.math.is_finite(f) & (x >= xlo) & (x <= xhi) & (y >= ylo) & (y <= yhi)
