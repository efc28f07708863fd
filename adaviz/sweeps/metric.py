r"""The metric sweep: one run on a 2D surface per cell of a hyperparameter grid, reduced to
metrics inside one XLA-compiled graph (no per-step recording)::

    import numpy as np
    import adaviz
    s = adaviz.sweep("rosenbrock", rho=np.linspace(0, 0.999, 64),
                     epsilon=np.logspace(-10, -1, 64))
    s.values.shape                 # (64, 64): rho along axis 0, epsilon along axis 1
    s.best()                       # ((i, j), {"lr": 1.0, "rho": ..., "epsilon": ..., ...})
    s.trajectory(3, 5)             # that cell's full run (adaviz.simulate)
"""

from __future__ import annotations

import dataclasses

import numpy as np

from adaviz import _math, graphs
from adaviz._tf import import_tensorflow
from adaviz._validate import (
    check_dtype,
    check_executor,
    check_hyperparameter,
    check_int,
    check_starts,
    check_tol,
)
from adaviz.engine import MAX_STEPS, simulate
from adaviz.surfaces import Surface, get
from adaviz.sweeps.grid import Grid, grid_axes, grid_cells
from adaviz.sweeps.transport import surface_payload, worker_surface

tf = import_tensorflow()

__all__ = ["sweep", "Sweep", "METRICS", "CHUNK_RUNS", "trace_count"]

#: The metrics :func:`sweep` computes for every run, in the order of its ``metric`` argument.
METRICS = ("final_loss", "min_loss", "distance_to_minimum", "steps_to_converge")
_NEEDS_MINIMA = ("distance_to_minimum", "steps_to_converge")

#: Runs per chunk when the grid is mapped on an executor.
CHUNK_RUNS = 16384

_TRACES = 0


def trace_count():
    """How many times the sweep graph has been traced (each trace compiles a graph)."""
    return _TRACES


# ======================================================================================
# the metric-only compiled path
# ======================================================================================
def _build(surface, rule, capacity, dtype):
    """One XLA-compiled function: up to ``capacity`` steps of N runs, reduced to metrics.

    Per run it returns the final position ``(2, N)``, the final loss, the lowest loss seen,
    the first step count whose loss is within ``tol`` of ``min_value`` (-1: never) and the
    divergence index (-1: never). The step, the loss scale and the divergence rule are
    exactly :func:`adaviz.simulate`'s, so every run equals its recorded ``simulate`` run.
    """
    fn = surface.fn
    bounds = surface.bounds
    zero = tf.UnconnectedGradients.ZERO

    def run(start, loss_scale, steps, min_value, tol, *values):
        global _TRACES
        _TRACES += 1
        hp = dict(zip(rule.hyperparameters, values, strict=True))
        n = tf.shape(values[0])[0]
        scale = tf.cast(loss_scale, dtype)

        def observe(t, pos, raw, alive, diverged_at, lowest, reached):
            """Fold the loss ``scale * raw`` at index t into the run's metrics."""
            f = scale * raw
            ok = graphs.on_surface(pos, f, bounds)
            diverged_at = tf.where(alive & ~ok, t, diverged_at)
            alive = alive & ok
            lowest = tf.where(alive, tf.minimum(lowest, f), lowest)
            reached = tf.where(alive & (reached < 0) & (raw - min_value <= tol), t, reached)
            return f, alive, diverged_at, lowest, reached

        def body(t, pos, state, alive, diverged_at, lowest, reached):
            x, y = pos[0], pos[1]
            with tf.GradientTape() as tape:
                tape.watch([x, y])
                raw = fn(x, y)
            gx, gy = tape.gradient(raw, [x, y], unconnected_gradients=zero)
            _, alive, diverged_at, lowest, reached = observe(
                t, pos, raw, alive, diverged_at, lowest, reached
            )
            grad = scale * tf.stack([gx, gy])
            pos, state, _ = rule.step(pos, state, grad, t, hp)
            return t + 1, pos, tuple(state), alive, diverged_at, lowest, reached

        pos = tf.broadcast_to(start[:, None], tf.stack([2, n]))
        loop = (
            tf.constant(0, tf.int32),
            pos,
            tuple(rule.init(pos, hp)),
            tf.ones([n], tf.bool),
            tf.fill([n], tf.constant(-1, tf.int32)),
            tf.fill([n], tf.constant(float("inf"), dtype)),
            tf.fill([n], tf.constant(-1, tf.int32)),
        )
        t, pos, _, alive, diverged_at, lowest, reached = tf.while_loop(
            lambda t, *_: t < steps, body, loop, maximum_iterations=capacity
        )
        f, alive, diverged_at, lowest, reached = observe(
            t, pos, fn(pos[0], pos[1]), alive, diverged_at, lowest, reached
        )
        return pos, f, lowest, reached, diverged_at

    compiled = tf.function(run, jit_compile=True, reduce_retracing=False)
    compiled._omit_frequent_tracing_warning = True  # one function per surface is by design
    return compiled


def _compiled(surface, rule, capacity, dtype):
    return graphs.cached(
        surface,
        ("sweep", rule.name, int(capacity), dtype.name),
        lambda: _build(surface, rule, int(capacity), dtype),
    )


def _run_runs(surface, rule, start, hyper, steps, loss_scale, tol, dtype):
    """Run ``len(hyper[...])`` runs; returns a dict of numpy arrays of that length.

    ``hyper`` maps each of the rule's hyperparameters to a float64 array. The batch is
    padded (with copies of its first run) to a size bucket, so grids of nearby sizes share
    one compiled graph.
    """
    n = len(hyper[rule.hyperparameters[0]])
    size = graphs.step_bucket(n)
    np_dtype = dtype.as_numpy_dtype
    min_value = surface.min_value if surface.minima else 0.0
    values = [
        tf.constant(np.concatenate([hyper[name], np.repeat(hyper[name][:1], size - n)]))
        for name in rule.hyperparameters
    ]
    pos, f, lowest, reached, diverged_at = _compiled(
        surface, rule, graphs.step_bucket(steps), dtype
    )(
        tf.constant(np.asarray(start, np_dtype)),
        tf.constant(float(loss_scale), tf.float64),
        tf.constant(steps, tf.int32),
        tf.constant(min_value, dtype),
        tf.constant(tol, dtype),
        *values,
    )
    return {
        "final_position": pos.numpy()[:, :n].T.astype(np.float64),
        "final_loss": f.numpy()[:n].astype(np.float64),
        "min_loss": lowest.numpy()[:n].astype(np.float64),
        "reached": reached.numpy()[:n].astype(np.int64),
        "diverged_at": diverged_at.numpy()[:n].astype(np.int64),
    }


def _run_chunk(payload, optimizer, start, hyper, steps, loss_scale, tol, dtype_name):
    """Executor task: one chunk of runs (module level, so it pickles by reference)."""
    surface = worker_surface(payload)
    rule = _math.rule(optimizer)
    return _run_runs(surface, rule, start, hyper, steps, loss_scale, tol, tf.as_dtype(dtype_name))


@dataclasses.dataclass(frozen=True, eq=False)
class Sweep(Grid):
    """A metric over a grid of hyperparameter settings: one run on a surface per cell.

    Attributes:
        metric: the name of the metric in ``values`` (one of :data:`METRICS`).
        axes: ``((name, values), ...)``: one or two axes, in the rule's hyperparameter order;
            axis ``k`` of ``values`` runs along ``axes[k]``.
        fixed: the hyperparameters that are not swept, ``{name: value}``.
        values: the metric grid (float64); NaN for diverged cells and, for
            ``steps_to_converge``, for runs that never came within ``tol``.
        diverged: bool grid: runs that left the surface's bounds or went non-finite.
        surface: the :class:`~adaviz.surfaces.Surface`.
        start: ``(2,)`` float64, the start of every run.
        steps: steps per run.
        diverged_at: int grid, the first step index of divergence (-1: never).
        metrics: every metric's grid, ``{name: grid}`` (``values`` is ``metrics[metric]``).
        final_position: ``grid + (2,)``, the final positions (NaN where diverged).
        tol, optimizer, loss_scale, dtype: as given to :func:`sweep`.
    """

    surface: Surface = None
    start: np.ndarray = None
    steps: int = 0
    diverged_at: np.ndarray = None
    metrics: dict = None
    final_position: np.ndarray = None
    tol: float = 1e-3
    optimizer: str = "adadelta"
    loss_scale: float = 1.0
    dtype: object = tf.float32

    def with_metric(self, metric):
        """The same sweep showing another metric (no new runs).

        Raises:
            ValueError: a metric this sweep does not have.
        """
        if metric not in self.metrics:
            raise ValueError(f"metric must be one of {list(self.metrics)}, got {metric!r}")
        return dataclasses.replace(self, metric=metric, values=self.metrics[metric])

    def trajectory(self, *index):
        """The full run of cell ``index``: :func:`adaviz.simulate` with that cell's settings."""
        return simulate(
            self.surface,
            self.start,
            self.steps,
            optimizer=self.optimizer,
            loss_scale=self.loss_scale,
            dtype=self.dtype,
            **self.settings(*index),
        )


def sweep(
    surface,
    start=None,
    *,
    steps=500,
    metric="final_loss",
    optimizer="adadelta",
    tol=1e-3,
    loss_scale=1.0,
    executor=None,
    dtype=tf.float32,
    **hyperparameters,
):
    """Run one optimizer run per cell of a hyperparameter grid and keep a metric of each.

    Args:
        surface: a :class:`~adaviz.surfaces.Surface` or a built-in name.
        start: ``(2,)``, the start of every run; default ``surface.start``.
        steps: steps per run, ``1 <= steps <= 1,000,000``.
        metric: ``"final_loss"`` (loss after the last step), ``"min_loss"`` (lowest loss on
            the way), ``"distance_to_minimum"`` (final distance to the nearest listed
            minimum) or ``"steps_to_converge"`` (the first step count whose loss is within
            ``tol`` of the surface's minimum value; NaN when never reached). Every metric
            is computed; :meth:`Sweep.with_metric` switches without new runs.
        optimizer: the update rule, a name in :data:`adaviz._math.RULES` (``"adadelta"``).
        tol: the tolerance of ``steps_to_converge``, in the surface's own units.
        loss_scale: run the rule on ``loss_scale * f``, > 0 (the loss metrics are of the
            scaled loss, as in :func:`adaviz.simulate`).
        executor: a :class:`concurrent.futures.Executor` to map chunks of runs on (e.g.
            ``distributed.Client(...).get_executor()``); ``None`` runs in-process.
        dtype: ``tf.float32`` (default) or ``tf.float64``.
        **hyperparameters: the rule's hyperparameters (Adadelta: ``lr``, ``rho``,
            ``epsilon``, ``decay``). One or two are 1-D arrays, the grid's axes, ordered as
            the rule lists them: ``sweep(s, rho=R, epsilon=E)`` has shape
            ``(len(R), len(E))``. The others are numbers (default: the rule's defaults).

    Returns:
        :class:`Sweep`. Diverged runs are NaN in ``values`` and True in ``diverged``.

    Raises:
        ValueError: unknown surface, metric, optimizer or hyperparameter; no array axis or
            more than two; an empty axis or one with an invalid value (named with its
            index); ``executor`` not an Executor; a metric that needs minima on a surface
            without them; bad ``steps``, ``start``, ``tol``, ``loss_scale`` or ``dtype``.
    """
    surface = get(surface)
    rule = _math.rule(optimizer)
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {list(METRICS)}, got {metric!r}")
    if metric in _NEEDS_MINIMA and not surface.minima:
        raise ValueError(
            f"metric {metric!r} needs the surface's minima, and surface {surface.name!r} "
            "lists none; use 'final_loss' or 'min_loss'"
        )
    steps = check_int("steps", steps, 1, MAX_STEPS)
    tol = check_tol(tol)
    loss_scale = check_hyperparameter("loss_scale", loss_scale)
    executor = check_executor(executor)
    dtype = check_dtype(dtype)
    start = check_starts(start, surface)
    if start.shape[0] != 1:
        raise ValueError(f"start must be one point (x, y) for a sweep, got {start.shape[0]} points")
    start = start[0]
    axes, fixed = grid_axes(rule, hyperparameters)
    shape = tuple(len(values) for _, values in axes)
    runs = _map_runs(
        surface, rule, start, grid_cells(rule, axes, fixed), steps, loss_scale, tol, dtype, executor
    )

    diverged_at = runs["diverged_at"]
    diverged = diverged_at >= 0
    nan = np.where(diverged, np.nan, 0.0)  # + nan: NaN where diverged
    metrics = {"final_loss": runs["final_loss"] + nan, "min_loss": runs["min_loss"] + nan}
    final_position = runs["final_position"] + nan[:, None]
    if surface.minima:
        metrics["distance_to_minimum"] = surface.nearest_minimum_distance(final_position)
        reached = runs["reached"].astype(np.float64)
        metrics["steps_to_converge"] = np.where(reached < 0, np.nan, reached) + nan
    metrics = {name: grid.reshape(shape) for name, grid in metrics.items()}
    return Sweep(
        metric=metric,
        axes=axes,
        fixed=fixed,
        values=metrics[metric],
        diverged=diverged.reshape(shape),
        order=rule.hyperparameters,
        flags=rule.flags,
        surface=surface,
        start=start,
        steps=steps,
        diverged_at=diverged_at.reshape(shape),
        metrics=metrics,
        final_position=final_position.reshape(shape + (2,)),
        tol=tol,
        optimizer=rule.name,
        loss_scale=loss_scale,
        dtype=dtype,
    )


def _map_runs(surface, rule, start, hyper, steps, loss_scale, tol, dtype, executor):
    """All runs in-process, or in chunks of :data:`CHUNK_RUNS` mapped on ``executor``."""
    if executor is None:
        return _run_runs(surface, rule, start, hyper, steps, loss_scale, tol, dtype)
    payload = surface_payload(surface)
    n = len(hyper[rule.hyperparameters[0]])
    bounds = list(range(0, n, CHUNK_RUNS)) + [n]
    futures = [
        executor.submit(
            _run_chunk,
            payload,
            rule.name,
            start,
            {name: values[lo:hi] for name, values in hyper.items()},
            steps,
            loss_scale,
            tol,
            dtype.name,
        )
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)
    ]
    try:
        parts = [future.result() for future in futures]
    except BaseException:
        for future in futures:
            future.cancel()
        raise
    return {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
