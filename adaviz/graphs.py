"""What the engine's and the sweep's compiled graphs share: one cache per surface, the step
bucket a graph is built for, and the divergence test.

:func:`adaviz.simulate` (records every step) and :func:`adaviz.sweep` (keeps only metrics)
build different XLA graphs of the same loop; both flag a run as diverged with
:func:`on_surface`, draw gradient noise with :func:`gradient_noise` and keep their graphs
in :func:`cached`.
"""

from __future__ import annotations

import weakref

import numpy as np

from adaviz._tf import import_tensorflow

tf = import_tensorflow()

__all__ = ["cached", "step_bucket", "on_surface", "gradient_noise"]

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


_GOLDEN = 0x9E3779B9


def _hash32(x):
    """A well-mixed 32-bit integer hash (Wellons' "lowbias32"), element-wise on uint32."""
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 16))
    x = x * tf.constant(0x7FEB352D, tf.uint32)
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 15))
    x = x * tf.constant(0x846CA68B, tf.uint32)
    return tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 16))


def gradient_noise(seed, step):
    """Standard normal noise ``(2, N)`` (float64) for step ``step`` of runs seeded ``seed``.

    A counter-based draw: two uniforms hashed from ``(seed, step)`` and a Box-Muller
    transform, so each run's noise depends on its seed and the step only, not on the batch
    it runs in, the rule, or how many steps ran before.

    Args:
        seed: ``(N,)`` integer tensor (taken modulo 2**32).
        step: the step index, an integer scalar tensor (0 for the first step).
    """
    seed = tf.cast(tf.cast(seed, tf.int64) % (1 << 32), tf.uint32)
    step = tf.cast(tf.cast(step, tf.int64) % (1 << 32), tf.uint32)
    key = _hash32(seed + tf.constant(_GOLDEN, tf.uint32) * _hash32(step + 1))
    words = [_hash32(tf.bitwise.bitwise_xor(key, tf.constant(c, tf.uint32))) for c in (1, 2)]
    u1, u2 = ((tf.cast(w, tf.float64) + 0.5) / 2.0**32 for w in words)  # in (0, 1)
    radius = tf.sqrt(-2.0 * tf.math.log(u1))
    angle = 2.0 * np.pi * u2
    return tf.stack([radius * tf.cos(angle), radius * tf.sin(angle)])
