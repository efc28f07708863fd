r"""Hyperparameter sweeps: a metric over a grid of settings, on 2D surfaces and on live models.

:func:`sweep` runs one optimizer run per grid cell on a :class:`~adaviz.surfaces.Surface` and
keeps only the metrics: the runs are reduced inside one XLA-compiled graph (no per-step
recording), so tens of thousands of runs take a fraction of a second::

    import numpy as np
    import adaviz
    s = adaviz.sweep("rosenbrock", rho=np.linspace(0, 0.999, 64),
                     epsilon=np.logspace(-10, -1, 64))
    s.values.shape                 # (64, 64): rho along axis 0, epsilon along axis 1
    s.best()                       # ((i, j), {"lr": 1.0, "rho": ..., "epsilon": ..., ...})
    s.trajectory(3, 5)             # that cell's full run (adaviz.simulate)

:func:`sweep_model` trains one fresh Keras model per cell, on any
:class:`concurrent.futures.Executor` (a process pool, or a Dask cluster through
``distributed.Client(...).get_executor()``).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import numbers
import sys
import types
import weakref

import numpy as np

from adaviz import _math
from adaviz._tf import import_tensorflow
from adaviz._validate import check_hyperparameter, check_int, check_rule_hyperparameters
from adaviz.engine import MAX_STEPS, _capacity, _check_dtype, _check_start, simulate
from adaviz.surfaces import Surface, get

tf = import_tensorflow()

__all__ = ["sweep", "Sweep", "sweep_model", "ModelSweep", "SweepError", "METRICS", "trace_count"]

#: The metrics :func:`sweep` computes for every run, in the order of its ``metric`` argument.
METRICS = ("final_loss", "min_loss", "distance_to_minimum", "steps_to_converge")
_NEEDS_MINIMA = ("distance_to_minimum", "steps_to_converge")

#: Runs per chunk when the grid is mapped on an executor.
CHUNK_RUNS = 16384

_TRACES = 0
_COMPILED = weakref.WeakKeyDictionary()  # surface -> {(capacity, dtype name): function}


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
    (xlo, xhi), (ylo, yhi) = surface.bounds
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
            x, y = pos[0], pos[1]
            ok = tf.math.is_finite(f) & (x >= xlo) & (x <= xhi) & (y >= ylo) & (y <= yhi)
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
    per_surface = _COMPILED.setdefault(surface, {})
    key = (rule.name, int(capacity), dtype.name)
    if key not in per_surface:
        per_surface[key] = _build(surface, rule, int(capacity), dtype)
    return per_surface[key]


def _run_runs(surface, rule, start, hyper, steps, loss_scale, tol, dtype):
    """Run ``len(hyper[...])`` runs; returns a dict of numpy arrays of that length.

    ``hyper`` maps each of the rule's hyperparameters to a float64 array. The batch is
    padded (with copies of its first run) to a size bucket, so grids of nearby sizes share
    one compiled graph.
    """
    n = len(hyper[rule.hyperparameters[0]])
    size = _capacity(n)
    np_dtype = dtype.as_numpy_dtype
    min_value = surface.min_value if surface.minima else 0.0
    values = [
        tf.constant(np.concatenate([hyper[name], np.repeat(hyper[name][:1], size - n)]))
        for name in rule.hyperparameters
    ]
    pos, f, lowest, reached, diverged_at = _compiled(surface, rule, _capacity(steps), dtype)(
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


# --------------------------------------------------------------------------------------
# chunks on an executor: the surface travels by name (built-ins) or by value (cloudpickle)
# --------------------------------------------------------------------------------------
_WORKER_SURFACES: dict = {}


def _dumps(obj):
    """``obj`` as bytes: cloudpickle when installed (functions defined in a notebook or a
    lambda travel by value), else plain pickle."""
    try:
        import cloudpickle
    except ImportError:  # pragma: no cover - distributed installs cloudpickle
        import pickle

        return pickle.dumps(obj)
    return cloudpickle.dumps(obj)


def _loads(data):
    import pickle

    return pickle.loads(data)  # cloudpickle's output loads with plain pickle


def _surface_payload(surface):
    """What a worker needs to rebuild ``surface``: its name if built-in, else its parts."""
    from adaviz import surfaces

    if surface.name in surfaces.names() and surfaces.get(surface.name) is surface:
        return surface.name
    parts = {
        "fn": surface.fn,
        "domain": surface.domain,
        "minima": surface.minima,
        "start": surface.start,
        "name": surface.name,
        "formula": surface.formula,
        "lesson": surface.lesson,
    }
    try:
        return _dumps(parts)
    except Exception as exc:
        raise ValueError(
            f"surface {surface.name!r} cannot be sent to the executor's workers: its fn "
            f"cannot be pickled ({type(exc).__name__}: {exc}); install cloudpickle or "
            "define fn in an importable module"
        ) from None


def _worker_surface(payload):
    if isinstance(payload, str):
        return get(payload)
    surface = _WORKER_SURFACES.get(payload)
    if surface is None:
        surface = _WORKER_SURFACES[payload] = Surface(**_loads(payload))
    return surface


def _run_chunk(payload, optimizer, start, hyper, steps, loss_scale, tol, dtype_name):
    """Executor task: one chunk of runs (module level, so it pickles by reference)."""
    surface = _worker_surface(payload)
    rule = _math.rule(optimizer)
    return _run_runs(surface, rule, start, hyper, steps, loss_scale, tol, tf.as_dtype(dtype_name))


# ======================================================================================
# the results
# ======================================================================================
@dataclasses.dataclass(frozen=True, eq=False)
class _Grid:
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

    def _index(self, index):
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
        index = self._index(index)
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


@dataclasses.dataclass(frozen=True, eq=False)
class Sweep(_Grid):
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


# ======================================================================================
# argument checks
# ======================================================================================
def _check_executor(executor):
    if executor is not None and not isinstance(executor, concurrent.futures.Executor):
        raise ValueError(
            "executor must be a concurrent.futures.Executor (e.g. a ProcessPoolExecutor or "
            f"distributed.Client(...).get_executor()) or None, got {executor!r}"
        )
    return executor


def _grid(rule, hyperparameters):
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


def _cells(rule, axes, fixed):
    """Every cell's hyperparameters, flattened in C order: ``{name: float64 (cells,)}``."""
    mesh = np.meshgrid(*(values for _, values in axes), indexing="ij")
    cells = mesh[0].size
    hyper = {name: np.full(cells, value) for name, value in fixed.items()}
    for (name, _), grid in zip(axes, mesh, strict=True):
        hyper[name] = grid.reshape(-1).astype(np.float64)
    return {name: hyper[name] for name in rule.hyperparameters}


def _check_tol(tol):
    if (
        isinstance(tol, (bool, np.bool_))
        or not isinstance(tol, numbers.Real)
        or not np.isfinite(tol)
        or tol < 0
    ):
        raise ValueError(f"tol must be a finite number >= 0, got {tol!r}")
    return float(tol)


# ======================================================================================
# sweep
# ======================================================================================
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
    tol = _check_tol(tol)
    loss_scale = check_hyperparameter("loss_scale", loss_scale)
    executor = _check_executor(executor)
    dtype = _check_dtype(dtype)
    start = _check_start(start, surface)
    if start.shape[0] != 1:
        raise ValueError(f"start must be one point (x, y) for a sweep, got {start.shape[0]} points")
    start = start[0]
    axes, fixed = _grid(rule, hyperparameters)
    shape = tuple(len(values) for _, values in axes)
    runs = _map_runs(
        surface, rule, start, _cells(rule, axes, fixed), steps, loss_scale, tol, dtype, executor
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
    payload = _surface_payload(surface)
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


# ======================================================================================
# sweep_model: one live-model training per cell, on any executor
# ======================================================================================
class SweepError(RuntimeError):
    """A cell of :func:`sweep_model` failed; ``sweep`` holds the cells that finished.

    Attributes:
        sweep: the :class:`ModelSweep` of the finished cells (the others are not run).
        settings: the failed cell's hyperparameters.
        worker_traceback: the traceback text from the process that ran the cell.
    """

    def __init__(self, message, *, sweep, settings, worker_traceback):
        super().__init__(message)
        self.sweep = sweep
        self.settings = settings
        self.worker_traceback = worker_traceback


@dataclasses.dataclass(frozen=True, eq=False)
class ModelSweep(_Grid):
    """The final loss of one fresh model per grid cell (what :func:`sweep_model` returns).

    Attributes:
        metric: ``"loss"`` (the last epoch's training loss) or ``"val_loss"`` (its
            validation loss), the metric in ``values``.
        axes, fixed: as in :class:`Sweep`.
        values: the final loss per cell; NaN where it went non-finite or the cell did
            not run.
        diverged: bool grid, cells whose loss went non-finite (training stopped there).
        curves: ``{"loss": grid + (epochs,), "val_loss": ...}``, the per-epoch losses as
            Keras reports them (NaN after a stop, and for cells not run).
        finished: bool grid, the cells that ran to the end (or to a non-finite stop).
        interrupted: True when a KeyboardInterrupt cancelled the pending cells.
        epochs, batch_size, seed, loss: as given (``loss`` the name of the loss used).
    """

    curves: dict = None
    finished: np.ndarray = None
    interrupted: bool = False
    epochs: int = 0
    batch_size: int = 0
    seed: int = 0
    loss: str = ""


def _check_model(model):
    import keras

    if not isinstance(model, keras.Model):
        raise ValueError(
            "build_model must return a Keras model (keras.Model), got "
            f"{type(model).__name__}: {model!r}"
        )
    if getattr(model, "compiled", False) or getattr(model, "optimizer", None) is not None:
        raise ValueError(
            f"build_model must return an uncompiled model (each cell compiles it with "
            f"adaviz.Adadelta), got model {model.name!r} already compiled"
        )
    return model


def _prepare(build_model, x, y, loss, validation_split, seed):
    """Build one model and check it against the data: ``(model, loss, x, y, x_val, y_val)``.

    The same function prepares the check before any work and every cell, so a cell sees
    exactly what the check saw.
    """
    from adaviz import training

    model = _check_model(build_model())
    x, y, x_val, y_val = training.split_validation(x, y, validation_split, None, seed)
    loss, y, y_val, _ = training.prepare(model, loss, x, y, x_val, y_val)
    return model, loss, x, y, x_val, y_val


def _single_threaded():
    """One TensorFlow thread per op and between ops, when the runtime has not started yet."""
    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # already running (in-process, or a reused worker): keep it
        pass


def _train_cell(payload, settings):
    """Executor task: train one fresh model with ``adaviz.Adadelta(**settings)``.

    Returns ``{"loss": [...], "val_loss": [...]}`` per epoch, or ``{"error": traceback}``
    (a worker's traceback travels as text, whatever the executor).
    """
    import traceback

    try:
        import keras

        from adaviz.optimizer import Adadelta

        _single_threaded()
        job = _loads(payload) if isinstance(payload, bytes) else payload
        keras.utils.set_random_seed(job["seed"])
        model, loss, x, y, x_val, y_val = _prepare(
            job["build_model"],
            job["x"],
            job["y"],
            job["loss"],
            job["validation_split"],
            job["seed"],
        )
        # the initial weights drawn once, before any work: a worker's own draws could
        # differ (Python's global random is shared with the worker's other threads)
        model.set_weights(job["weights"])
        model.compile(optimizer=Adadelta(**settings), loss=loss, jit_compile=False)
        # the batches: one seeded permutation per epoch, the same in every cell and process
        # (Keras's own shuffle draws from TensorFlow's per-process random state)
        order = np.random.default_rng(job["seed"])
        curves = {}
        for _ in range(job["epochs"]):
            perm = order.permutation(len(x))
            history = model.fit(
                x[perm],
                y[perm],
                epochs=1,
                batch_size=job["batch_size"],
                shuffle=False,
                validation_data=None if x_val is None else (x_val, y_val),
                callbacks=[keras.callbacks.TerminateOnNaN()],
                verbose=0,
            )
            for name, values in history.history.items():
                curves.setdefault(name, []).extend(values)
            if not all(np.isfinite(values[-1]) for values in history.history.values()):
                break  # a non-finite loss ends the cell
        return {name: np.asarray(values, np.float64) for name, values in curves.items()}
    except Exception:
        return {"error": traceback.format_exc()}


def _data_pair(data, seed):
    from adaviz import datasets, training

    if isinstance(data, str):
        return datasets.make(data, seed=seed)
    if not (isinstance(data, (tuple, list)) and len(data) == 2):
        raise ValueError(
            "data must be an (x, y) pair of arrays or a built-in dataset name "
            f"({', '.join(datasets.names())}), got {type(data).__name__}"
        )
    return training.check_data(*data)


def _model_job(
    build_model,
    data,
    *,
    epochs,
    batch_size,
    seed,
    loss,
    validation_split,
    executor,
    hyperparameters,
):
    """Every check of :func:`sweep_model`, before any training, and the job for the cells.

    Returns:
        ``(rule, axes, fixed, job, payload, loss, has_validation)``: ``payload`` is what
        each task receives (``job`` itself in-process, its pickle for an executor).

    Raises:
        ValueError: see :func:`sweep_model`.
    """
    if not callable(build_model):
        raise ValueError(f"build_model must be a zero-argument callable, got {build_model!r}")
    epochs = check_int("epochs", epochs, 1)
    seed = check_int("seed", seed, 0)
    executor = _check_executor(executor)
    rule = _math.rule("adadelta")
    axes, fixed = _grid(rule, hyperparameters)
    x, y = _data_pair(data, seed)
    import keras

    keras.utils.set_random_seed(seed)
    try:
        model, loss_fn, x_train, _, x_val, _ = _prepare(
            build_model, x, y, loss, validation_split, seed
        )
    except ValueError:
        raise
    except Exception as exc:
        raise ValueError(f"build_model() failed: {type(exc).__name__}: {exc}") from exc
    batch_size = check_int("batch_size", batch_size, 1, len(x_train))
    weights = model.get_weights()
    del model

    job = {
        "build_model": build_model,
        "x": x,
        "y": y,
        "loss": loss,
        "validation_split": validation_split,
        "seed": seed,
        "epochs": epochs,
        "batch_size": batch_size,
        "weights": weights,
    }
    if executor is not None:
        try:
            payload = _dumps(job)
        except Exception as exc:
            raise ValueError(
                "build_model and data must be picklable to go to the executor's workers "
                f"(install cloudpickle for functions defined in a notebook): "
                f"{type(exc).__name__}: {exc}"
            ) from None
    else:
        payload = job
    return rule, axes, fixed, job, payload, loss_fn, x_val is not None


def sweep_model(
    build_model,
    data,
    *,
    epochs=5,
    batch_size=32,
    seed=0,
    loss=None,
    validation_split=0.0,
    executor=None,
    progress=True,
    on_cell=None,
    **hyperparameters,
):
    """Train one fresh Keras model per cell of an Adadelta hyperparameter grid.

    Every cell builds its model with ``build_model()`` after seeding with ``seed`` (same
    initial weights and the same batches for every cell), compiles it with
    ``adaviz.Adadelta(**cell)`` and trains it with ``model.fit``. On an executor each
    task imports TensorFlow itself and runs single-threaded; for the same seed the grid
    equals the in-process one.

    Args:
        build_model: a zero-argument callable returning an uncompiled ``keras.Model``.
            It travels to workers by value when it has to (cloudpickle: a function
            defined in a notebook works), by reference when it is importable.
        data: ``(x, y)`` arrays, or a built-in dataset name (:func:`adaviz.datasets.make`).
        epochs, batch_size: as in ``model.fit``.
        seed: the seed of every cell (weights, shuffling, the validation split).
        loss: a Keras loss; default: inferred from ``y`` and the model's output as
            :class:`adaviz.ModelPanel` does.
        validation_split: fraction held out (seeded) for a validation loss; with it the
            grid is of the final validation loss.
        executor: a :class:`concurrent.futures.Executor` (a spawn ``ProcessPoolExecutor``,
            loky, ``distributed.Client(...).get_executor()``); ``None`` trains in-process.
        progress: show a progress bar (``tqdm.auto``) as cells finish.
        on_cell: called in this process as ``on_cell(index, curves)`` when a cell
            finishes (``curves`` as in :attr:`ModelSweep.curves`, for that cell).
        **hyperparameters: Adadelta's ``lr``, ``rho``, ``epsilon``, ``decay``: one or two
            are 1-D arrays (the grid's axes, in that order), the others numbers.

    Returns:
        :class:`ModelSweep`. A KeyboardInterrupt cancels the pending cells and returns the
        finished ones (``interrupted`` set, ``finished`` marking them).

    The initial weights are drawn once, in this process, after
    ``keras.utils.set_random_seed(seed)`` (which also seeds Python's, numpy's and
    TensorFlow's global generators here); every cell starts from them and sees the same
    batches (one seeded numpy permutation per epoch).

    Raises:
        ValueError: before any training: bad data, ``build_model`` not returning an
            uncompiled Keras model or returning one whose output does not fit the data or
            the loss; bad hyperparameters or axes (as :func:`sweep`); ``executor`` not an
            Executor; bad ``epochs``, ``batch_size``, ``seed`` or ``validation_split``.
        SweepError: a cell failed; the message has the cell's settings and the worker's
            traceback, ``error.sweep`` the finished cells.
    """
    rule, axes, fixed, job, payload, loss_fn, has_validation = _model_job(
        build_model,
        data,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        loss=loss,
        validation_split=validation_split,
        executor=executor,
        hyperparameters=hyperparameters,
    )
    epochs, batch_size = job["epochs"], job["batch_size"]
    shape = tuple(len(values) for _, values in axes)
    names = ["loss"] + (["val_loss"] if has_validation else [])
    curves = {name: np.full(shape + (epochs,), np.nan) for name in names}
    finished = np.zeros(shape, bool)
    cells = list(np.ndindex(shape))
    grid = _Grid("", axes, fixed, np.zeros(shape), np.zeros(shape, bool), rule.hyperparameters, ())
    settings = [grid.settings(*index) for index in cells]

    def record(index, result):
        for name in names:
            values = result.get(name, np.zeros(0))[:epochs]
            curves[name][index][: len(values)] = values
        finished[index] = True
        if on_cell is not None:
            on_cell(index, {name: curves[name][index] for name in names})

    def result(interrupted=False):
        metric = names[-1]
        final = curves[metric][..., -1]
        # a non-finite loss stops a cell (TerminateOnNaN): its curve ends in NaN
        diverged = finished & ~np.all(np.isfinite(curves[metric]), axis=-1)
        return ModelSweep(
            metric=metric,
            axes=axes,
            fixed=fixed,
            values=np.where(finished & ~diverged, final, np.nan),
            diverged=diverged,
            order=rule.hyperparameters,
            flags=(),
            curves=curves,
            finished=finished.copy(),
            interrupted=interrupted,
            epochs=epochs,
            batch_size=batch_size,
            seed=seed,
            loss=_loss_label(loss_fn),
        )

    def failure(index, text):
        cell = settings[cells.index(index)]
        return SweepError(
            f"the cell {index} with settings {cell} failed in its worker:\n{text}",
            sweep=result(),
            settings=cell,
            worker_traceback=text,
        )

    from tqdm.auto import tqdm

    bar = tqdm(total=len(cells), desc="sweep_model", unit="cell", disable=not progress)
    try:
        if executor is None:
            for index, cell in zip(cells, settings, strict=True):
                out = _train_cell(payload, cell)
                if "error" in out:
                    raise failure(index, out["error"])
                record(index, out)
                bar.update(1)
            return result()
        futures = {
            executor.submit(_train_cell, payload, cell): index
            for index, cell in zip(cells, settings, strict=True)
        }
        try:
            for future in concurrent.futures.as_completed(futures):
                out = future.result()
                if "error" in out:
                    raise failure(futures[future], out["error"])
                record(futures[future], out)
                bar.update(1)
        except BaseException:
            for future in futures:
                future.cancel()
            raise
        return result()
    except KeyboardInterrupt:
        return result(interrupted=True)
    finally:
        bar.close()


def _loss_label(loss):
    from adaviz import training

    return training.loss_name(loss)


class _CallableModule(types.ModuleType):
    """This module, callable as :func:`sweep`.

    ``adaviz.sweep`` names both the module and its main function; Python sets a package's
    attribute to the submodule whenever ``adaviz.sweep`` is imported, so the module itself
    answers ``adaviz.sweep(...)``.
    """

    @functools.wraps(sweep)
    def __call__(self, *args, **kwargs):
        return sweep(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
