r"""The metric sweep: one run on a 2D surface per cell of a hyperparameter grid, reduced to
metrics inside one XLA-compiled graph (no per-step recording)::

    import numpy as np
    import adaviz
    s = adaviz.sweep("rosenbrock", rho=np.linspace(0, 0.999, 64),
                     epsilon=np.logspace(-10, -1, 64))
    s.values.shape                 # (64, 64): rho along axis 0, epsilon along axis 1
    s.best()                       # ((i, j), {"lr": 1.0, "rho": ..., "epsilon": ..., ...})
    s.trajectory(3, 5)             # that cell's full run (adaviz.simulate)
    noisy = adaviz.sweep("rosenbrock", rho=..., epsilon=..., noise=1.0, seeds=8)
    noisy.values, noisy.spread["final_loss"]   # mean and standard deviation over 8 seeds
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
def _build(surface, rule, capacity, dtype, noisy=False):
    """One XLA-compiled function: up to ``capacity`` steps of N runs, reduced to metrics.

    With noise, ``reached`` is the first index of the last streak within ``tol`` (a noisy
    run may pass through the tolerance and leave it again); :func:`sweep` counts a run as
    converged only when that streak covers the last tenth of the steps.

    ``noisy`` builds the graph that adds gradient noise (its standard deviation and the
    seeds are arguments, so new values never retrace); the noise-free graph stays without
    it, so its runs equal :func:`adaviz.simulate`'s bit for bit in float32 too (XLA fuses
    the added term differently in the two graphs; with noise they agree to rounding).

    Per run it returns the final position ``(2, N)``, the final loss, the lowest loss seen,
    the first step count whose loss is within ``tol`` of ``min_value`` (-1: never) and the
    divergence index (-1: never). The step, the loss scale and the divergence rule are
    exactly :func:`adaviz.simulate`'s, so every run equals its recorded ``simulate`` run.
    """
    fn = surface.fn
    bounds = surface.bounds
    zero = tf.UnconnectedGradients.ZERO

    def run(start, loss_scale, noise, seed, steps, min_value, tol, *values):
        global _TRACES
        _TRACES += 1
        hp = dict(zip(rule.hyperparameters, values, strict=True))
        n = tf.shape(values[0])[0]
        scale = tf.cast(loss_scale, dtype)
        noise = tf.cast(noise, tf.float64)

        def observe(t, pos, raw, alive, diverged_at, lowest, reached):
            """Fold the loss ``scale * raw`` at index t into the run's metrics."""
            f = scale * raw
            ok = graphs.on_surface(pos, f, bounds)
            diverged_at = tf.where(alive & ~ok, t, diverged_at)
            alive = alive & ok
            lowest = tf.where(alive, tf.minimum(lowest, f), lowest)
            within = raw - min_value <= tol
            if noisy:  # the first index of the last streak within tol (-1: outside now)
                streak = tf.where(reached < 0, t, reached)
                reached = tf.where(alive, tf.where(within, streak, -1), reached)
            else:
                reached = tf.where(alive & (reached < 0) & within, t, reached)
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
            if noisy:  # the engine's noise, drawn from (seed, step) alone
                grad = grad + tf.cast(noise * graphs.gradient_noise(seed, t), dtype)
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


def _compiled(surface, rule, capacity, dtype, noisy=False):
    return graphs.cached(
        surface,
        ("sweep", rule.name, int(capacity), dtype.name, bool(noisy)),
        lambda: _build(surface, rule, int(capacity), dtype, bool(noisy)),
    )


def _run_runs(surface, rule, start, hyper, steps, loss_scale, tol, dtype, noise=0.0, seeds=None):
    """Run ``len(hyper[...])`` runs; returns a dict of numpy arrays of that length.

    ``hyper`` maps each of the rule's hyperparameters to a float64 array; ``seeds`` is the
    int64 array of the runs' noise seeds (default 0). The batch is padded (with copies of
    its first run) to a size bucket, so grids of nearby sizes share one compiled graph.
    """
    n = len(hyper[rule.hyperparameters[0]])
    size = graphs.step_bucket(n)
    np_dtype = dtype.as_numpy_dtype
    min_value = surface.min_value if surface.minima else 0.0
    values = [
        tf.constant(np.concatenate([hyper[name], np.repeat(hyper[name][:1], size - n)]))
        for name in rule.hyperparameters
    ]
    seeds = np.zeros(n, np.int64) if seeds is None else np.asarray(seeds, np.int64)
    seeds = np.concatenate([seeds, np.repeat(seeds[:1], size - n)])
    pos, f, lowest, reached, diverged_at = _compiled(
        surface, rule, graphs.step_bucket(steps), dtype, noise > 0
    )(
        tf.constant(np.asarray(start, np_dtype)),
        tf.constant(float(loss_scale), tf.float64),
        tf.constant(float(noise), tf.float64),
        tf.constant(seeds, tf.int64),
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


def _run_chunk(
    payload, optimizer, start, hyper, steps, loss_scale, tol, dtype_name, noise=0.0, seeds=None
):
    """Executor task: one chunk of runs (module level, so it pickles by reference)."""
    surface = worker_surface(payload)
    rule = _math.rule(optimizer)
    dtype = tf.as_dtype(dtype_name)
    return _run_runs(surface, rule, start, hyper, steps, loss_scale, tol, dtype, noise, seeds)


@dataclasses.dataclass(frozen=True, eq=False)
class Sweep(Grid):
    """A metric over a grid of hyperparameter settings: one run on a surface per cell.

    Attributes:
        metric: the name of the metric in ``values`` (one of :data:`METRICS`); with
            ``seeds`` > 1, its mean over the seeds.
        axes: ``((name, values), ...)``: one or two axes, in the rule's hyperparameter order;
            axis ``k`` of ``values`` runs along ``axes[k]``.
        fixed: the hyperparameters that are not swept, ``{name: value}``.
        values: the metric grid (float64); NaN for diverged cells and, for
            ``steps_to_converge``, for runs that never came within ``tol``.
        diverged: bool grid: runs that left the surface's bounds or went non-finite.
        surface: the :class:`~adaviz.surfaces.Surface`.
        start: ``(2,)`` float64, the start of every run.
        steps: steps per run.
        diverged_at: int grid, the first step index of divergence (-1: never); of seed 0.
        metrics: every metric's grid, ``{name: grid}`` (``values`` is ``metrics[metric]``).
        final_position: ``grid + (2,)``, the final positions (NaN where diverged); of seed 0.
        tol, optimizer, loss_scale, dtype, noise: as given to :func:`sweep`.
        seeds: the number of noise seeds per cell, K (seeds 0 .. K-1).
        spread: every metric's standard deviation over the seeds, ``{name: grid}`` (zeros
            for K = 1); a cell where any seed diverged is NaN, as in ``values``.
        diverged_fraction: float grid, the share of a cell's seeds that diverged
            (``diverged`` is True where any did).
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
    noise: float = 0.0
    seeds: int = 1
    spread: dict = None
    diverged_fraction: np.ndarray = None

    def with_metric(self, metric):
        """The same sweep showing another metric (no new runs).

        Raises:
            ValueError: a metric this sweep does not have.
        """
        if metric not in self.metrics:
            raise ValueError(f"metric must be one of {list(self.metrics)}, got {metric!r}")
        return dataclasses.replace(self, metric=metric, values=self.metrics[metric])

    def trajectory(self, *index, seed=0):
        """The full run of cell ``index``: :func:`adaviz.simulate` with that cell's settings
        (and, with noise, the noise of ``seed``, one of ``0 .. seeds - 1``)."""
        seed = check_int("seed", seed, 0, self.seeds - 1)
        return simulate(
            self.surface,
            self.start,
            self.steps,
            optimizer=self.optimizer,
            loss_scale=self.loss_scale,
            noise=self.noise,
            seed=seed,
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
    noise=0.0,
    seeds=1,
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
            ``tol`` of the surface's minimum value; NaN when never reached; with noise, the
            start of the last streak within ``tol``, counted only when it covers the last
            tenth of the steps, as :meth:`adaviz.Trajectory.converged`). Every metric
            is computed; :meth:`Sweep.with_metric` switches without new runs.
        optimizer: the update rule, a name in :data:`adaviz._math.RULES` (``"adadelta"``).
        tol: the tolerance of ``steps_to_converge``, in the surface's own units.
        loss_scale: run the rule on ``loss_scale * f``, > 0 (the loss metrics are of the
            scaled loss, as in :func:`adaviz.simulate`).
        noise: the standard deviation of Gaussian noise added to each gradient coordinate
            (as in :func:`adaviz.simulate`), a number >= 0. New values never retrace.
        seeds: with noise, how many runs per cell, K >= 1, with the noise seeds
            ``0 .. K-1`` (the same seeds in every cell): ``values`` is the metric's mean over
            them and ``spread`` its standard deviation.
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
    noise = check_hyperparameter("noise", noise)
    seeds = check_int("seeds", seeds, 1, 1024)
    executor = check_executor(executor)
    dtype = check_dtype(dtype)
    start = check_starts(start, surface)
    if start.shape[0] != 1:
        raise ValueError(f"start must be one point (x, y) for a sweep, got {start.shape[0]} points")
    start = start[0]
    axes, fixed = grid_axes(rule, hyperparameters)
    shape = tuple(len(values) for _, values in axes)
    cells = grid_cells(rule, axes, fixed)
    # K runs per cell, seed-major: run k * cells + c is cell c with seed k
    hyper = {name: np.tile(values, seeds) for name, values in cells.items()}
    seed_of_run = np.repeat(np.arange(seeds, dtype=np.int64), len(cells[rule.hyperparameters[0]]))
    runs = _map_runs(
        surface, rule, start, hyper, steps, loss_scale, tol, dtype, executor, noise, seed_of_run
    )
    runs = {key: value.reshape((seeds, -1) + value.shape[1:]) for key, value in runs.items()}

    diverged_at = runs["diverged_at"]  # (seeds, cells)
    diverged = diverged_at >= 0
    nan = np.where(diverged, np.nan, 0.0)  # + nan: NaN where diverged
    per_seed = {"final_loss": runs["final_loss"] + nan, "min_loss": runs["min_loss"] + nan}
    final_position = runs["final_position"] + nan[..., None]
    if surface.minima:
        per_seed["distance_to_minimum"] = surface.nearest_minimum_distance(
            final_position.reshape(-1, 2)
        ).reshape(diverged.shape)
        reached = runs["reached"].astype(np.float64)
        if noise > 0:  # converged: within tol over the last tenth (Trajectory.converged)
            tail = max(1, int(np.ceil(0.1 * steps)))
            reached = np.where(reached > steps - tail + 1, -1.0, reached)
        per_seed["steps_to_converge"] = np.where(reached < 0, np.nan, reached) + nan
    # the mean over seeds; NaN where any seed diverged (or never converged)
    metrics = {name: grid.mean(axis=0).reshape(shape) for name, grid in per_seed.items()}
    spread = {name: grid.std(axis=0).reshape(shape) for name, grid in per_seed.items()}
    return Sweep(
        metric=metric,
        axes=axes,
        fixed=fixed,
        values=metrics[metric],
        diverged=diverged.any(axis=0).reshape(shape),
        order=rule.hyperparameters,
        flags=rule.flags,
        surface=surface,
        start=start,
        steps=steps,
        diverged_at=diverged_at[0].reshape(shape),
        metrics=metrics,
        final_position=final_position[0].reshape(shape + (2,)),
        tol=tol,
        optimizer=rule.name,
        loss_scale=loss_scale,
        dtype=dtype,
        noise=noise,
        seeds=seeds,
        spread=spread,
        diverged_fraction=diverged.mean(axis=0).reshape(shape),
    )


def _map_runs(
    surface, rule, start, hyper, steps, loss_scale, tol, dtype, executor, noise=0.0, seeds=None
):
    """All runs in-process, or in chunks of :data:`CHUNK_RUNS` mapped on ``executor``."""
    if executor is None:
        return _run_runs(surface, rule, start, hyper, steps, loss_scale, tol, dtype, noise, seeds)
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
            noise,
            None if seeds is None else seeds[lo:hi],
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
