r"""The compiled trajectory engine: many optimizer runs on a 2D surface in milliseconds.

:func:`simulate` runs an update rule (Adadelta by default, or SGD, momentum, Nesterov,
Adagrad, RMSprop, Adam) on a :class:`~adaviz.surfaces.Surface` from N starts (or with N
hyperparameter settings) at once. The whole loop is one XLA-compiled TensorFlow graph per
(surface, rule, N, step bucket, dtype); hyperparameters, the loss scale and the step count
enter as tensors, so moving a slider never retraces or recompiles (step counts share a
compiled graph within quarter-octave buckets: 385..448, 449..512, 513..640, ...). The
updates are the rules of :data:`adaviz._math.RULES`; Adadelta's calls
:func:`adaviz._math.adadelta_step`, the same function :class:`adaviz.Adadelta` uses::

    import adaviz
    t = adaviz.simulate("rosenbrock", steps=500, rho=[0.9, 0.95, 0.99])
    t.positions.shape          # (501, 3, 2)
    t.final_loss, t.distance_to_minimum(), t.steps_to_tolerance(1e-3)
    adam = adaviz.simulate("rosenbrock", optimizer="adam", lr=[1e-3, 1e-2, 1e-1])
    adam.state["m"].shape      # (501, 3, 2)

:func:`trace_count` says how many times the loop has been traced (tests use it).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from adaviz import _math, graphs
from adaviz._tf import import_tensorflow
from adaviz._validate import (
    check_dtype,
    check_hyperparameter,
    check_int,
    check_rule_hyperparameters,
    check_starts,
    check_tol,
)
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
    """The recorded runs of one :func:`simulate` call, all numpy, always with an N axis.

    Index ``t`` of ``positions``/``loss``/``state[...]`` is the state after ``t`` steps
    (0 = the start); index ``t`` of ``grads``/``step_size``/``newton_step_size`` belongs to
    step ``t + 1``, the move from ``positions[t]`` to ``positions[t + 1]``. ``loss``,
    ``grads`` and ``newton_step_size`` are those of the function the rule ran on,
    ``loss_scale * f``.

    Attributes:
        surface: the :class:`~adaviz.surfaces.Surface`.
        optimizer: the rule's name (``"adadelta"``, ``"sgd"``, ...).
        positions: ``(steps + 1, N, 2)``.
        loss: ``(steps + 1, N)``, ``loss_scale * f`` at ``positions``.
        grads: ``(steps, N, 2)``, the gradient at ``positions[t]``.
        step_size: ``(steps, N, 2)``, the realized multiplier of the gradient:
            ``positions[t+1] = positions[t] - step_size[t] * grads[t]`` (Adadelta:
            ``lr_t*sqrt(D_t+eps)/sqrt(A_{t+1}+eps)``).
        newton_step_size: ``(steps, N, 2)``, ``1/|f_ii|`` at ``positions[t]``: the step size
            Newton's method would use per coordinate (``inf`` where ``f_ii = 0``).
        diverged_at: ``(N,)`` int, the first index ``t`` whose position or loss is not finite
            or lies outside ``surface.bounds``, ``-1`` if never. From that index on, the run's
            recorded values are NaN.
        hyperparameters: name -> ``(N,)`` array for every hyperparameter of the rule
            (float64; ``centered``/``amsgrad`` bool). Also readable as attributes:
            ``t.lr``, ``t.rho``, ``t.beta_1``, ...
        state: slot name -> ``(steps + 1, N, 2)``, the rule's state (Adadelta:
            ``accum_grad`` E[g^2] and ``accum_delta`` E[dx^2]; momentum: ``velocity``;
            adam: ``m``, ``v``, ``v_hat``; ...). Also readable as attributes:
            ``t.accum_grad``, ``t.velocity``, ...
        loss_scale: ``(N,)`` float64, the factor the loss was multiplied by.
    """

    surface: Surface
    optimizer: str
    positions: np.ndarray
    loss: np.ndarray
    grads: np.ndarray
    step_size: np.ndarray
    newton_step_size: np.ndarray
    diverged_at: np.ndarray
    hyperparameters: dict
    state: dict
    loss_scale: np.ndarray

    def __getattr__(self, name):
        # only called when normal lookup fails: hyperparameters and state slots by name
        if not name.startswith("_") and name not in ("hyperparameters", "state"):
            for table in (self.hyperparameters, self.state):
                if name in table:
                    return table[name]
        raise AttributeError(
            f"{type(self).__name__} of optimizer {self.__dict__.get('optimizer')!r} has no "
            f"attribute {name!r}"
        )

    @property
    def lr(self):
        """``(N,)`` float64: the learning rate of each run."""
        return self.hyperparameters["lr"]

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
        """``(N,)`` int: the first step count ``t`` with ``f(positions[t]) - min_value <= tol``.

        ``min_value`` is the lowest loss over the surface's listed minima; the loss may
        later leave the tolerance again (Adadelta bounces). ``-1`` where it is never reached.

        Raises:
            ValueError: ``tol`` is negative or not finite, or the surface lists no minima.
        """
        tol = check_tol(tol)
        if not self.surface.minima:
            raise ValueError(f"surface {self.surface.name!r} lists no minima to compare with")
        with np.errstate(invalid="ignore"):
            # in the surface's own units, whatever the loss scale; NaN compares False
            within = self.loss / self.loss_scale - self.surface.min_value <= tol
        first = np.argmax(within, axis=0)
        return np.where(within.any(axis=0), first, -1)


def _write(buffer, t, value):
    """``buffer[t] = value`` in place (an XLA dynamic-update-slice)."""
    if _xla is None:  # pragma: no cover
        return tf.tensor_scatter_nd_update(buffer, [[t]], value[None])
    index = [t] + [0] * (len(buffer.shape) - 1)
    return _xla.dynamic_update_slice(buffer, value[None], index)


def _build(surface, rule, capacity, dtype):
    """One XLA-compiled function running up to ``capacity`` steps of ``rule`` on ``surface``.

    The step count, the loss scale and every hyperparameter are tensor arguments, so new
    values never retrace. Inside, coordinates are the leading axis (``(2, N)`` per step,
    recorded into ``(capacity + 1, 2, N)`` buffers); :func:`simulate` slices the used rows
    and swaps the axes of the numpy views.
    """
    fn = surface.fn
    bounds = surface.bounds
    slots = len(rule.state)

    def run(start, loss_scale, steps, *values):
        global _TRACES
        _TRACES += 1
        hp = dict(zip(rule.hyperparameters, values, strict=True))
        n = tf.shape(start)[1]
        nan = tf.constant(float("nan"), dtype)
        scale = tf.cast(loss_scale, dtype)

        def check(t, pos, f, alive, diverged_at):
            """Flag runs whose position or loss is bad at index t (their first time)."""
            ok = graphs.on_surface(pos, f, bounds)
            diverged_at = tf.where(alive & ~ok, t, diverged_at)
            return alive & ok, diverged_at

        def body(t, pos, state, alive, diverged_at, bufs):
            f, (gx, gy), (hxx, hyy) = _math.grad_and_hessian(fn, pos[0], pos[1])
            f = scale * f
            alive, diverged_at = check(t, pos, f, alive, diverged_at)
            keep = alive[None, :]
            # a diverged run is NaN from its divergence index on (NaN then propagates)
            pos = tf.where(keep, pos, nan)
            f = tf.where(alive, f, nan)
            state = tuple(tf.where(keep, slot, nan) for slot in state)
            grad = tf.where(keep, scale * tf.stack([gx, gy]), nan)
            curvature = tf.where(keep, tf.abs(scale * tf.stack([hxx, hyy])), nan)
            new_pos, new_state, step_size = rule.step(pos, state, grad, t, hp)
            recorded = (pos, f, grad, *state, step_size, 1.0 / curvature)
            bufs = tuple(_write(b, t, v) for b, v in zip(bufs, recorded, strict=True))
            return (t + 1, new_pos, tuple(new_state), alive, diverged_at, bufs)

        # distinct fill values keep XLA from sharing (and then copying) the buffers
        rows = capacity + 1
        shapes = [(rows, 2), (rows,), (rows, 2)] + [(rows, 2)] * slots + [(rows, 2), (rows, 2)]
        bufs = tuple(
            tf.fill(tf.concat([shape, [n]], 0), tf.constant(-float(i + 1), dtype))
            for i, shape in enumerate(shapes)
        )
        state = tuple(rule.init(start, hp))
        alive = tf.ones([n], tf.bool)
        diverged_at = tf.fill([n], tf.constant(-1, tf.int32))
        t = tf.constant(0, tf.int32)
        t, pos, state, alive, diverged_at, bufs = tf.while_loop(
            lambda t, *_: t < steps,
            body,
            (t, start, state, alive, diverged_at, bufs),
            maximum_iterations=capacity,
        )
        f = scale * fn(pos[0], pos[1])
        alive, diverged_at = check(t, pos, f, alive, diverged_at)
        keep = alive[None, :]
        b_pos, b_loss, b_grad, *b_state = bufs[: 3 + slots]
        b_pos = _write(b_pos, t, tf.where(keep, pos, nan))
        b_loss = _write(b_loss, t, tf.where(alive, f, nan))
        b_state = [
            _write(b, t, tf.where(keep, slot, nan)) for b, slot in zip(b_state, state, strict=True)
        ]
        return (b_pos, b_loss, b_grad, *b_state, *bufs[3 + slots :], diverged_at)

    compiled = tf.function(run, jit_compile=True, reduce_retracing=False)
    # One function per (surface, rule, bucket, dtype) is by design, so TensorFlow's "frequent
    # retracing" warning (it counts traces of `run` across surfaces) would only be noise.
    compiled._omit_frequent_tracing_warning = True
    return compiled


def _compiled(surface, rule, capacity, dtype):
    return graphs.cached(
        surface,
        ("simulate", rule.name, int(capacity), dtype.name),
        lambda: _build(surface, rule, int(capacity), dtype),
    )


def _to_numpy(tensor):
    """The tensor's buffer as a writeable numpy array, without the copy ``.numpy()`` makes."""
    try:
        return tensor._numpy()  # shares the buffer (the array keeps the tensor alive)
    except AttributeError:  # pragma: no cover - other TensorFlow versions
        return np.array(tensor)


def simulate(
    surface,
    start=None,
    steps=500,
    *,
    optimizer="adadelta",
    loss_scale=1.0,
    dtype=tf.float32,
    capacity=None,
    **hyperparameters,
):
    """Run an update rule on a 2D surface from one or many starts, compiled, and record everything.

    Args:
        surface: a :class:`~adaviz.surfaces.Surface` or a built-in name
            (:func:`adaviz.surfaces.names`).
        start: ``(2,)`` or ``(N, 2)`` starting points; default ``surface.start``.
        steps: number of steps, ``1 <= steps <= 1,000,000`` and ``steps * N <= 64,000,000``.
        optimizer: the update rule, one of :data:`adaviz._math.RULES`: ``"adadelta"``
            (default), ``"sgd"``, ``"momentum"``, ``"nesterov"``, ``"adagrad"``,
            ``"rmsprop"``, ``"adam"``.
        loss_scale: run the rule on ``loss_scale * f``, > 0; a number or ``(N,)`` array.
        dtype: ``tf.float32`` (default) or ``tf.float64``.
        capacity: the largest step count the compiled function is built for, >= ``steps``
            (default: ``steps`` rounded up to a quarter of its power of two). The step
            count is an argument of that function, so one ``capacity`` serves every
            ``steps`` up to it with one compiled graph (each graph costs ~10 MB of memory
            and a compile); the results do not depend on it.
        **hyperparameters: the rule's own, under Keras 3's names and with Keras 3's
            defaults (Adadelta: ``lr=1.0, rho=0.95, epsilon=1e-7, decay=0`` as
            :class:`adaviz.Adadelta`); ``learning_rate`` is an alias of ``lr``; ``None``
            means the default. Each is a number or an array of shape ``(N,)``; numbers and
            single starts broadcast, so ``simulate(s, rho=[0.9, 0.95, 0.99])`` runs three
            settings from ``s.start``. ``centered`` / ``amsgrad`` take True/False.

    Returns:
        :class:`Trajectory`. Runs that diverge are flagged in ``diverged_at`` and NaN
        afterwards; nothing raises.

    Raises:
        ValueError: unknown surface or optimizer name; a hyperparameter the rule does not
            take; ``steps`` not an integer in range; ``start`` not of shape (2,) or (N, 2)
            or not finite; a hyperparameter or ``loss_scale`` out of range, or an array of
            the wrong length; an unsupported dtype; ``capacity`` not an integer in
            ``[steps, 1,000,000]``.
    """
    surface = get(surface)
    rule = _math.rule(optimizer)
    steps = check_int("steps", steps, 1)
    if capacity is None:
        capacity = graphs.step_bucket(steps)
    else:
        capacity = check_int("capacity", capacity, steps, MAX_STEPS)
    dtype = check_dtype(dtype)
    starts = check_starts(start, surface)
    given = {name: value for name, value in hyperparameters.items() if value is not None}
    checked = check_rule_hyperparameters(rule, given, allow_array=True, others=_math.RULES.values())
    checked["loss_scale"] = check_hyperparameter("loss_scale", loss_scale, allow_array=True)
    hyper = {}
    for name, value in checked.items():
        hyper[name] = np.atleast_1d(value)
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
    if capacity * n > _MAX_STEP_POINTS:
        raise ValueError(
            f"capacity * N must be <= {_MAX_STEP_POINTS:,} (the recorded arrays would not fit "
            f"in memory), got capacity={capacity:,} with N={n:,}"
        )
    starts = np.broadcast_to(starts, (n, 2))
    hyper = {k: np.broadcast_to(v, (n,)).copy() for k, v in hyper.items()}
    scale = hyper.pop("loss_scale")
    np_dtype = dtype.as_numpy_dtype
    # hyperparameters enter in float64; each rule casts what it needs (Adadelta's lr_t is
    # formed in float64, as adaviz.Adadelta forms it)
    out = _compiled(surface, rule, capacity, dtype)(
        tf.constant(starts.T.astype(np_dtype)),
        tf.constant(scale),
        tf.constant(steps, tf.int32),
        *(tf.constant(hyper[name]) for name in rule.hyperparameters),
    )
    out = [_to_numpy(o) for o in out]
    slots = len(rule.state)
    pos, loss, grads = out[:3]
    state, (ss, nss), div = out[3 : 3 + slots], out[3 + slots : 5 + slots], out[-1]
    # views: the used rows of each bucket-sized buffer, coordinates last
    pos = np.swapaxes(pos[: steps + 1], 1, 2)
    state = {k: np.swapaxes(a[: steps + 1], 1, 2) for k, a in zip(rule.state, state, strict=True)}
    grads, ss, nss = (np.swapaxes(a[:steps], 1, 2) for a in (grads, ss, nss))
    for name in rule.flags:
        hyper[name] = hyper[name] > 0
    return Trajectory(
        surface=surface,
        optimizer=rule.name,
        positions=pos,
        loss=loss[: steps + 1],
        grads=grads,
        step_size=ss,
        newton_step_size=nss,
        diverged_at=div.astype(np.int64),
        hyperparameters=hyper,
        state=state,
        loss_scale=scale,
    )
