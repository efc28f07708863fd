r"""The compiled trajectory engine: many Adadelta runs on a 2D surface in milliseconds.

:func:`simulate` runs Adadelta on a :class:`~adaviz.surfaces.Surface` from N starts (or
with N hyperparameter settings) at once. The whole loop is one XLA-compiled TensorFlow
graph per (surface, N, step bucket, dtype); hyperparameters and the step count enter as
tensors, so moving a slider never retraces or recompiles (step counts share a compiled graph
within quarter-octave buckets: 385..448, 449..512, 513..640, ...). The update is :func:`adaviz._math.adadelta_step`, the same
function :class:`adaviz.Adadelta` uses::

    import adaviz
    t = adaviz.simulate("rosenbrock", steps=500, rho=[0.9, 0.95, 0.99])
    t.positions.shape          # (501, 3, 2)
    t.final_loss, t.distance_to_minimum(), t.steps_to_tolerance(1e-3)

:func:`trace_count` says how many times the loop has been traced (tests use it).
"""

from __future__ import annotations

import dataclasses
import numbers

import numpy as np

from adaviz import _math
from adaviz._tf import import_tensorflow
from adaviz._validate import check_hyperparameter
from adaviz.surfaces import Surface, get

tf = import_tensorflow()

try:  # XLA's in-place dynamic-update-slice, the natural way to fill a recording buffer
    from tensorflow.compiler.tf2xla.python import xla as _xla
except ImportError:  # pragma: no cover - a TensorFlow build without the tf2xla Python ops
    _xla = None

__all__ = ["simulate", "Trajectory", "trace_count", "MAX_STEPS"]

#: The most steps one call may run; large batches are further limited to
#: ``steps * N <= 64 * MAX_STEPS``, so the recorded arrays stay within a few GB.
MAX_STEPS = 1_000_000
_MAX_STEP_POINTS = MAX_STEPS * 64

_TRACES = 0


def trace_count():
    """How many times the simulation loop has been traced (each trace compiles a graph)."""
    return _TRACES


@dataclasses.dataclass(frozen=True, eq=False)
class Trajectory:
    """The recorded Adadelta runs of one :func:`simulate` call, all numpy, always with an N axis.

    Index ``t`` of ``positions``/``loss``/``accum_*`` is the state after ``t`` steps (0 = the
    start, accumulators zero); index ``t`` of ``grads``/``step_size``/``newton_step_size``
    belongs to step ``t + 1``, the move from ``positions[t]`` to ``positions[t + 1]``.

    Attributes:
        surface: the :class:`~adaviz.surfaces.Surface`.
        positions: ``(steps + 1, N, 2)``.
        loss: ``(steps + 1, N)``, ``f`` at ``positions``.
        grads: ``(steps, N, 2)``, the gradient at ``positions[t]``.
        accum_grad: ``(steps + 1, N, 2)``, E[g^2] (A_t).
        accum_delta: ``(steps + 1, N, 2)``, E[dx^2] (D_t).
        step_size: ``(steps, N, 2)``, the realized multiplier ``lr_t*sqrt(D_t+eps)/sqrt(A_{t+1}+eps)``
            of the gradient: ``positions[t+1] = positions[t] - step_size[t] * grads[t]``.
        newton_step_size: ``(steps, N, 2)``, ``1/|f_ii|`` at ``positions[t]``: the step size
            Newton's method would use per coordinate (``inf`` where ``f_ii = 0``).
        diverged_at: ``(N,)`` int, the first index ``t`` whose position or loss is not finite
            or lies outside ``surface.bounds``, ``-1`` if never. From that index on, the run's
            recorded values are NaN.
        lr, rho, epsilon, decay: ``(N,)`` float64, the hyperparameters of each run.
    """

    surface: Surface
    positions: np.ndarray
    loss: np.ndarray
    grads: np.ndarray
    accum_grad: np.ndarray
    accum_delta: np.ndarray
    step_size: np.ndarray
    newton_step_size: np.ndarray
    diverged_at: np.ndarray
    lr: np.ndarray
    rho: np.ndarray
    epsilon: np.ndarray
    decay: np.ndarray

    @property
    def steps(self):
        """The number of steps run."""
        return self.grads.shape[0]

    @property
    def n(self):
        """The number of runs N."""
        return self.positions.shape[1]

    @property
    def diverged(self):
        """``(N,)`` bool: whether each run diverged."""
        return self.diverged_at >= 0

    @property
    def final_position(self):
        """``(N, 2)``: the position after the last step (NaN for diverged runs)."""
        return self.positions[-1]

    @property
    def final_loss(self):
        """``(N,)``: the loss after the last step (NaN for diverged runs)."""
        return self.loss[-1]

    def distance_to_minimum(self, t=-1):
        """``(N,)``: Euclidean distance from ``positions[t]`` to the nearest listed minimum.

        Raises:
            ValueError: the surface lists no minima.
        """
        return self.surface.nearest_minimum_distance(self.positions[t])

    def steps_to_tolerance(self, tol=1e-3):
        """``(N,)`` int: the first step count ``t`` with ``loss[t] - min_value <= tol``.

        ``min_value`` is the lowest loss over the surface's listed minima; the loss may
        later leave the tolerance again (Adadelta bounces). ``-1`` where it is never reached.

        Raises:
            ValueError: ``tol`` is negative or not finite, or the surface lists no minima.
        """
        if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not tol >= 0:
            raise ValueError(f"tol must be a finite number >= 0, got {tol!r}")
        if not np.isfinite(tol):
            raise ValueError(f"tol must be a finite number >= 0, got {tol!r}")
        if not self.surface.minima:
            raise ValueError(f"surface {self.surface.name!r} lists no minima to compare with")
        with np.errstate(invalid="ignore"):
            within = self.loss - self.surface.min_value <= tol  # NaN compares False
        first = np.argmax(within, axis=0)
        return np.where(within.any(axis=0), first, -1)


def _diag_hessian_and_grad(fn, x, y):
    """f, (f_x, f_y), (f_xx, f_yy) of an elementwise fn, by nested tapes."""
    zero = tf.UnconnectedGradients.ZERO
    with tf.GradientTape(persistent=True) as outer:
        outer.watch([x, y])
        with tf.GradientTape() as inner:
            inner.watch([x, y])
            f = fn(x, y)
        gx, gy = inner.gradient(f, [x, y], unconnected_gradients=zero)
    hxx = outer.gradient(gx, x, unconnected_gradients=zero)
    hyy = outer.gradient(gy, y, unconnected_gradients=zero)
    return f, gx, gy, hxx, hyy


def _write(buffer, t, value):
    """``buffer[t] = value`` in place (an XLA dynamic-update-slice)."""
    if _xla is None:  # pragma: no cover
        return tf.tensor_scatter_nd_update(buffer, [[t]], value[None])
    index = [t] + [0] * (len(buffer.shape) - 1)
    return _xla.dynamic_update_slice(buffer, value[None], index)


def _capacity(steps):
    """The step bucket of ``steps``: rounded up to a quarter of its power of two (<= +25%)."""
    quantum = 1 << max(steps.bit_length() - 3, 0)
    return -(-steps // quantum) * quantum


def _build(surface, capacity, dtype):
    """One XLA-compiled function running up to ``capacity`` Adadelta steps on ``surface``.

    The step count is a tensor argument (<= ``capacity``). Inside, coordinates are the
    leading axis (``(2, N)`` per step, recorded into ``(capacity + 1, 2, N)`` buffers);
    :func:`simulate` slices the used rows and swaps the axes of the numpy views.
    """
    fn = surface.fn
    (xlo, xhi), (ylo, yhi) = surface.bounds

    def run(start, lr, rho, epsilon, decay, steps):
        global _TRACES
        _TRACES += 1
        n = tf.shape(start)[1]
        nan = tf.constant(float("nan"), dtype)

        def check(t, pos, f, alive, diverged_at):
            """Flag runs whose position or loss is bad at index t (their first time)."""
            x, y = pos[0], pos[1]
            ok = tf.math.is_finite(f) & (x >= xlo) & (x <= xhi) & (y >= ylo) & (y <= yhi)
            diverged_at = tf.where(alive & ~ok, t, diverged_at)
            return alive & ok, diverged_at

        def body(t, pos, accum_grad, accum_delta, alive, diverged_at, bufs):
            f, gx, gy, hxx, hyy = _diag_hessian_and_grad(fn, pos[0], pos[1])
            alive, diverged_at = check(t, pos, f, alive, diverged_at)
            keep = alive[None, :]
            # a diverged run is NaN from its divergence index on (NaN then propagates)
            pos = tf.where(keep, pos, nan)
            f = tf.where(alive, f, nan)
            accum_grad = tf.where(keep, accum_grad, nan)
            accum_delta = tf.where(keep, accum_delta, nan)
            grad = tf.where(keep, tf.stack([gx, gy]), nan)
            curvature = tf.where(keep, tf.abs(tf.stack([hxx, hyy])), nan)
            # lr_t in float64, as adaviz.Adadelta computes it, then cast once
            lr_t = tf.cast(_math.decayed_lr(lr, decay, tf.cast(t, tf.float64)), dtype)
            step = _math.adadelta_step(accum_grad, accum_delta, grad, lr_t, rho, epsilon)
            values = (pos, f, grad, accum_grad, accum_delta, step.step_size, 1.0 / curvature)
            bufs = tuple(_write(b, t, v) for b, v in zip(bufs, values, strict=True))
            new = (pos - step.update, step.accum_grad, step.accum_delta)
            return (t + 1, *new, alive, diverged_at, bufs)

        # distinct fill values keep XLA from sharing (and then copying) the buffers
        rows = capacity + 1
        shapes = [(rows, 2), (rows,), (rows, 2), (rows, 2), (rows, 2), (rows, 2), (rows, 2)]
        bufs = tuple(
            tf.fill(tf.concat([shape, [n]], 0), tf.constant(-float(i + 1), dtype))
            for i, shape in enumerate(shapes)
        )
        zeros = tf.zeros_like(start)
        alive = tf.ones([n], tf.bool)
        diverged_at = tf.fill([n], tf.constant(-1, tf.int32))
        t = tf.constant(0, tf.int32)
        t, pos, accum_grad, accum_delta, alive, diverged_at, bufs = tf.while_loop(
            lambda t, *_: t < steps,
            body,
            (t, start, zeros, zeros, alive, diverged_at, bufs),
            maximum_iterations=capacity,
        )
        f = fn(pos[0], pos[1])
        alive, diverged_at = check(t, pos, f, alive, diverged_at)
        keep = alive[None, :]
        b_pos, b_loss, b_grad, b_ag, b_ad, b_ss, b_nss = bufs
        b_pos = _write(b_pos, t, tf.where(keep, pos, nan))
        b_loss = _write(b_loss, t, tf.where(alive, f, nan))
        b_ag = _write(b_ag, t, tf.where(keep, accum_grad, nan))
        b_ad = _write(b_ad, t, tf.where(keep, accum_delta, nan))
        return b_pos, b_loss, b_grad, b_ag, b_ad, b_ss, b_nss, diverged_at

    compiled = tf.function(run, jit_compile=True, reduce_retracing=False)
    # One function per (surface, bucket, dtype) is by design, so TensorFlow's "frequent
    # retracing" warning (it counts traces of `run` across surfaces) would only be noise.
    compiled._omit_frequent_tracing_warning = True
    return compiled


def _compiled(surface, capacity, dtype):
    key = (int(capacity), dtype.name)
    fn = surface._compiled.get(key)
    if fn is None:
        fn = surface._compiled[key] = _build(surface, int(capacity), dtype)
    return fn


def _to_numpy(tensor):
    """The tensor's buffer as a writeable numpy array, without the copy ``.numpy()`` makes."""
    try:
        return tensor._numpy()  # shares the buffer (the array keeps the tensor alive)
    except AttributeError:  # pragma: no cover - other TensorFlow versions
        return np.array(tensor)


def _check_start(start, surface):
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


def simulate(
    surface,
    start=None,
    steps=500,
    lr=1.0,
    rho=0.95,
    epsilon=None,
    decay=0.0,
    dtype=tf.float32,
):
    """Run Adadelta on a 2D surface from one or many starts, compiled, and record everything.

    Args:
        surface: a :class:`~adaviz.surfaces.Surface` or a built-in name
            (:func:`adaviz.surfaces.names`).
        start: ``(2,)`` or ``(N, 2)`` starting points; default ``surface.start``.
        steps: number of Adadelta steps, ``1 <= steps <= 1,000,000`` and
            ``steps * N <= 64,000,000``.
        lr, rho, epsilon, decay: as in :class:`adaviz.Adadelta` (same defaults;
            ``epsilon=None`` means ``keras.config.epsilon()``). Each is a number or an
            array of shape ``(N,)``; numbers and single starts broadcast, so
            ``simulate(s, rho=[0.9, 0.95, 0.99])`` runs three settings from ``s.start``.
        dtype: ``tf.float32`` (default) or ``tf.float64``.

    Returns:
        :class:`Trajectory`. Runs that diverge are flagged in ``diverged_at`` and NaN
        afterwards; nothing raises.

    Raises:
        ValueError: unknown surface name; ``steps`` not an integer in range; ``start`` not of
            shape (2,) or (N, 2) or not finite; a hyperparameter out of range (as
            :class:`adaviz.Adadelta`) or an array of the wrong length; an unsupported dtype.
    """
    surface = get(surface)
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral):
        raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
    steps = int(steps)
    if steps < 1:
        raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
    try:
        dtype = tf.as_dtype(dtype)
    except TypeError as exc:
        raise ValueError(f"dtype must be tf.float32 or tf.float64, got {dtype!r}") from exc
    if dtype not in (tf.float32, tf.float64):
        raise ValueError(f"dtype must be tf.float32 or tf.float64, got {dtype!r}")
    if epsilon is None:
        import keras

        epsilon = keras.config.epsilon()
    starts = _check_start(start, surface)
    hyper = {}
    for name, value in (("lr", lr), ("rho", rho), ("epsilon", epsilon), ("decay", decay)):
        hyper[name] = np.atleast_1d(check_hyperparameter(name, value, allow_array=True))
        if hyper[name].size == 0:
            raise ValueError(f"{name} must be a number or an array of N >= 1 values, got 0 values")
    lengths = {len(v) for v in hyper.values() if len(v) != 1}
    if starts.shape[0] != 1:
        lengths.add(starts.shape[0])
    if len(lengths) > 1:
        described = ", ".join(
            [f"start: {starts.shape[0]} points"]
            + [f"{k}: {len(v)} values" for k, v in hyper.items() if len(v) != 1]
        )
        raise ValueError(
            "start and the hyperparameter arrays must all have the same length N "
            f"(or 1, to broadcast), got {described}"
        )
    n = lengths.pop() if lengths else 1
    if steps > MAX_STEPS or steps * n > _MAX_STEP_POINTS:
        raise ValueError(
            f"steps must be <= {MAX_STEPS:,} and steps * N <= {_MAX_STEP_POINTS:,} (the "
            f"recorded arrays would not fit in memory), got steps={steps:,} with N={n:,}"
        )
    starts = np.broadcast_to(starts, (n, 2))
    hyper = {k: np.broadcast_to(v, (n,)).copy() for k, v in hyper.items()}
    np_dtype = dtype.as_numpy_dtype
    args = [
        tf.constant(starts.T.astype(np_dtype)),
        tf.constant(hyper["lr"]),  # lr and decay stay float64 (lr_t is computed in float64)
        tf.constant(hyper["rho"].astype(np_dtype)),
        tf.constant(hyper["epsilon"].astype(np_dtype)),
        tf.constant(hyper["decay"]),
    ]
    args.append(tf.constant(steps, tf.int32))
    out = _compiled(surface, _capacity(steps), dtype)(*args)
    pos, loss, grads, ag, ad, ss, nss, div = (_to_numpy(o) for o in out)
    # views: the used rows of each bucket-sized buffer, coordinates last
    pos, ag, ad = (np.swapaxes(a[: steps + 1], 1, 2) for a in (pos, ag, ad))
    grads, ss, nss = (np.swapaxes(a[:steps], 1, 2) for a in (grads, ss, nss))
    loss = loss[: steps + 1]
    return Trajectory(
        surface=surface,
        positions=pos,
        loss=loss,
        grads=grads,
        accum_grad=ag,
        accum_delta=ad,
        step_size=ss,
        newton_step_size=nss,
        diverged_at=div.astype(np.int64),
        lr=hyper["lr"],
        rho=hyper["rho"],
        epsilon=hyper["epsilon"],
        decay=hyper["decay"],
    )
