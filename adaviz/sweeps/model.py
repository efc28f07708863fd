"""The model sweep: one fresh Keras model trained per cell of an Adadelta hyperparameter grid,
in-process or on any :class:`concurrent.futures.Executor` (a spawn process pool, or a Dask
cluster through ``distributed.Client(...).get_executor()``)."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import threading
import traceback
import uuid

import numpy as np

from adaviz import _math
from adaviz._tf import import_tensorflow
from adaviz._validate import check_executor, check_int
from adaviz.sweeps.grid import Grid, grid_axes
from adaviz.sweeps.transport import dumps, loads

tf = import_tensorflow()

__all__ = ["sweep_model", "ModelSweep", "SweepError"]


class SweepError(RuntimeError):
    """A cell of :func:`sweep_model` failed; ``sweep`` holds the cells that finished.

    A cell fails when its training raises, when the worker process running it dies (a
    ``BrokenProcessPool``, a Dask ``KilledWorker``), or when ``on_cell`` raises for it.
    ``sweep_model(..., resume=error.sweep)`` runs only the cells that did not finish.

    Attributes:
        sweep: the :class:`ModelSweep` of the finished cells (the others are not run).
        settings: the (first) failed cell's hyperparameters.
        cells: ``[(index, settings)]`` of every cell named as failed: the one whose
            training or ``on_cell`` raised, or those in flight when a worker died.
        worker_traceback: the traceback text from the process that ran the cell (this
            process's, for a dead worker or ``on_cell``).
    """

    def __init__(self, message, *, sweep, settings, worker_traceback, cells=None):
        super().__init__(message)
        self.sweep = sweep
        self.settings = settings
        self.worker_traceback = worker_traceback
        self.cells = list(cells) if cells is not None else []


@dataclasses.dataclass(frozen=True, eq=False)
class ModelSweep(Grid):
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
        fingerprint: a digest of the data, the initial weights and the validation split,
            which ``resume`` compares.
    """

    curves: dict = None
    finished: np.ndarray = None
    interrupted: bool = False
    epochs: int = 0
    batch_size: int = 0
    seed: int = 0
    loss: str = ""
    fingerprint: str = ""


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


def _train_cell(payload, settings, run_id=None):
    """Executor task: train one fresh model with ``adaviz.Adadelta(**settings)``.

    ``run_id`` is unique to one :func:`sweep_model` call: an executor that keys tasks by
    their arguments (Dask's pure tasks) would otherwise hand a resumed sweep the failure
    it remembers for the same cell.

    Returns ``{"loss": [...], "val_loss": [...]}`` per epoch, or ``{"error": traceback}``
    (a worker's traceback travels as text, whatever the executor).
    """
    import traceback

    try:
        import keras

        from adaviz.optimizer import Adadelta

        _single_threaded()
        job = loads(payload) if isinstance(payload, bytes) else payload
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


def _check_build_model(build_model):
    """Refuse what is not a zero-argument function returning a new model."""
    import inspect

    import keras

    if isinstance(build_model, keras.Model):
        raise ValueError(
            "build_model must be a zero-argument function that returns a new, uncompiled "
            f"keras.Model (each cell builds its own), got the model {build_model.name!r} "
            "itself: pass the function that builds it, e.g. "
            "sweep_model(lambda: keras.Sequential([...]), data, ...)"
        )
    if not callable(build_model):
        raise ValueError(
            "build_model must be a zero-argument callable that returns a new, uncompiled "
            f"keras.Model, got {build_model!r} (type {type(build_model).__name__})"
        )
    try:
        signature = inspect.signature(build_model)
    except (TypeError, ValueError):  # some builtins and C callables have none
        return
    try:
        signature.bind()
    except TypeError:
        name = getattr(build_model, "__name__", type(build_model).__name__)
        raise ValueError(
            "build_model must be callable with no arguments (it returns a new, uncompiled "
            f"keras.Model), got {name}{signature}: wrap it, e.g. lambda: {name}(...)"
        ) from None


def _fingerprint(job):
    """A digest of what makes two sweeps' cells comparable beyond their settings."""
    digest = hashlib.sha256()
    for array in (job["x"], job["y"], *job["weights"]):
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    digest.update(repr(job["validation_split"]).encode())
    return digest.hexdigest()


def _check_resume(resume, grid):
    """Check that ``resume`` is a sweep of the same grid and job as ``grid``."""
    if not isinstance(resume, ModelSweep):
        hint = " (pass error.sweep)" if isinstance(resume, SweepError) else ""
        raise ValueError(
            "resume must be None or a ModelSweep from sweep_model (e.g. error.sweep of a "
            f"SweepError){hint}, got {resume!r:.80} (type {type(resume).__name__})"
        )
    axes = [(name, np.asarray(values).tolist()) for name, values in grid.axes]
    before = [(name, np.asarray(values).tolist()) for name, values in resume.axes]
    checks = [
        ("grid axes", before, axes),
        ("fixed hyperparameters", dict(resume.fixed), dict(grid.fixed)),
        ("epochs", resume.epochs, grid.epochs),
        ("batch_size", resume.batch_size, grid.batch_size),
        ("seed", resume.seed, grid.seed),
        ("loss", resume.loss, grid.loss),
        ("metric", resume.metric, grid.metric),
    ]
    for what, old, new in checks:
        if old != new:
            raise ValueError(
                f"resume must be a sweep of the same grid and settings: its {what} is "
                f"{old!r}, this call's is {new!r}; call sweep_model without resume to "
                "start afresh"
            )
    if resume.fingerprint != grid.fingerprint:
        raise ValueError(
            "resume must be a sweep of the same data, initial weights (build_model and "
            "seed) and validation_split: its fingerprint "
            f"{resume.fingerprint[:12] or '(none)'} differs from this call's "
            f"{grid.fingerprint[:12]}; call sweep_model without resume to start afresh"
        )


class _FirstFailure:
    """Which cells were in flight when the executor first failed a future.

    A worker process that dies breaks a process pool: every unfinished future fails at
    once, the ones never started too. The futures still ``running()`` when the first
    failure arrives are the ones that had been handed to the workers.
    """

    def __init__(self, futures):
        self._futures = list(futures)
        self._lock = threading.Lock()
        self._seen = threading.Event()
        self._in_flight = None
        for future in self._futures:
            future.add_done_callback(self._done)

    def _done(self, future):
        if future.cancelled() or future.exception() is None:
            return
        with self._lock:
            if self._in_flight is None:
                running = [f for f in self._futures if f is not future and f.running()]
                self._in_flight = [future] + running
        self._seen.set()

    def in_flight(self, failed):
        """The futures in flight at the first failure, once ``failed`` has failed.

        The executor wakes waiters before it runs done-callbacks, so this waits (briefly)
        for the callback of ``failed`` to have run.
        """
        if not failed.cancelled():  # a cancelled future runs no failure callback
            self._seen.wait(timeout=30.0)
        return self._in_flight or [failed]


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


def model_job(
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
    _check_build_model(build_model)
    epochs = check_int("epochs", epochs, 1)
    seed = check_int("seed", seed, 0)
    executor = check_executor(executor)
    rule = _math.rule("adadelta")
    axes, fixed = grid_axes(rule, hyperparameters)
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
            payload = dumps(job)
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
    resume=None,
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
        executor: a running :class:`concurrent.futures.Executor` (a spawn
            ``ProcessPoolExecutor``, loky, ``distributed.Client(...).get_executor()``);
            ``None`` trains in-process.
        progress: show a progress bar (``tqdm.auto``) as cells finish.
        on_cell: called in this process as ``on_cell(index, curves)`` when a cell
            finishes (``curves`` as in :attr:`ModelSweep.curves`, for that cell); not
            called for cells collected while a failure is reported.
        resume: a :class:`ModelSweep` of the same grid, data and settings (e.g.
            ``error.sweep`` of a :class:`SweepError`, or an interrupted sweep): its
            finished cells are kept and only the others are trained.
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
        ValueError: before any training: bad data, ``build_model`` not a zero-argument
            function returning an uncompiled Keras model or returning one whose output
            does not fit the data or the loss; bad hyperparameters or axes (as
            :func:`sweep`); ``executor`` not an Executor, or one that is shut down or
            broken; ``on_cell`` not callable; ``resume`` not a sweep of the same grid,
            data and settings; bad ``epochs``, ``batch_size``, ``seed`` or
            ``validation_split``.
        SweepError: a cell failed (its training raised, its worker process died, or
            ``on_cell`` raised): the message names the cell(s) and their settings and
            has the traceback; ``error.sweep`` keeps every finished cell.
    """
    if on_cell is not None and not callable(on_cell):
        raise ValueError(
            "on_cell must be None or a callable on_cell(index, curves), got "
            f"{on_cell!r} (type {type(on_cell).__name__})"
        )
    rule, axes, fixed, job, payload, loss_fn, has_validation = model_job(
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
    grid = Grid("", axes, fixed, np.zeros(shape), np.zeros(shape, bool), rule.hyperparameters, ())
    settings = {index: grid.settings(*index) for index in cells}
    identity = dict(
        metric=names[-1],
        axes=axes,
        fixed=fixed,
        order=rule.hyperparameters,
        flags=(),
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        loss=_loss_label(loss_fn),
        fingerprint=_fingerprint(job),
    )
    if resume is not None:
        _check_resume(resume, ModelSweep(values=None, diverged=None, **identity))
        finished[...] = resume.finished
        for name in names:
            curves[name][finished] = resume.curves[name][finished]
    todo = [index for index in cells if not finished[index]]

    def record(index, result, notify=True):
        for name in names:
            values = result.get(name, np.zeros(0))[:epochs]
            curves[name][index][: len(values)] = values
        finished[index] = True
        if notify and on_cell is not None:
            try:
                on_cell(index, {name: curves[name][index] for name in names})
            except Exception as exc:
                text = traceback.format_exc()
                raise SweepError(
                    f"on_cell raised {type(exc).__name__}: {exc} for the cell {index} with "
                    f"settings {settings[index]}; that cell finished, and error.sweep keeps "
                    "it with every other finished cell (sweep_model(..., "
                    "resume=error.sweep) runs only the others)",
                    sweep=result_sweep(),
                    settings=settings[index],
                    worker_traceback=text,
                    cells=[(index, settings[index])],
                ) from exc

    def result_sweep(interrupted=False):
        final = curves[identity["metric"]][..., -1]
        # a non-finite loss stops a cell (TerminateOnNaN): its curve ends in NaN
        diverged = finished & ~np.all(np.isfinite(curves[identity["metric"]]), axis=-1)
        return ModelSweep(
            values=np.where(finished & ~diverged, final, np.nan),
            diverged=diverged,
            curves={name: values.copy() for name, values in curves.items()},
            finished=finished.copy(),
            interrupted=interrupted,
            **identity,
        )

    def failure(failed, text, how):
        named = ", ".join(f"{index} {settings[index]}" for index in failed)
        return SweepError(
            f"{how} {named}; {int(finished.sum())} of {len(cells)} cells finished and are "
            f"kept in error.sweep (sweep_model(..., resume=error.sweep) runs only the "
            f"others):\n{text}",
            sweep=result_sweep(),
            settings=settings[failed[0]],
            worker_traceback=text,
            cells=[(index, settings[index]) for index in failed],
        )

    from tqdm.auto import tqdm

    bar = tqdm(
        total=len(cells),
        initial=len(cells) - len(todo),
        desc="sweep_model",
        unit="cell",
        disable=not progress,
    )
    try:
        if executor is None:
            for index in todo:
                out = _train_cell(payload, settings[index])
                if "error" in out:
                    raise failure([index], out["error"], "the training of the cell")
                record(index, out)
                bar.update(1)
            return result_sweep()
        futures = _submit(executor, payload, todo, settings)
        watch = _FirstFailure(futures)
        try:
            for future in concurrent.futures.as_completed(futures):
                index = futures[future]
                try:
                    out = future.result()
                except Exception as exc:
                    _harvest(futures, finished, record)
                    in_flight = watch.in_flight(future)
                    failed = [f for f in futures if _lost_alone(f)]
                    named = sorted({futures[f] for f in in_flight + failed})
                    text = "".join(traceback.format_exception(exc))
                    name = type(exc).__name__
                    died = isinstance(exc, concurrent.futures.BrokenExecutor) or (
                        name == "KilledWorker"  # distributed's
                    )
                    if died:
                        how = f"a worker of the executor died ({name})"
                    else:
                        how = f"the executor failed ({name}: {exc})"
                    raise failure(named, text, f"{how} while these cells were in flight:") from exc
                if "error" in out:
                    _harvest(futures, finished, record)
                    raise failure([index], out["error"], "the training of the cell")
                try:
                    record(index, out)
                except SweepError as error:  # on_cell raised: keep what else has arrived
                    _harvest(futures, finished, record)
                    error.sweep = result_sweep()
                    raise
                bar.update(1)
        except BaseException:
            for future in futures:
                future.cancel()
            raise
        return result_sweep()
    except KeyboardInterrupt:
        return result_sweep(interrupted=True)
    finally:
        bar.close()


def _submit(executor, payload, todo, settings):
    """``{future: index}`` for every cell to run; a shut-down executor is named."""
    futures = {}
    run_id = uuid.uuid4().hex
    try:
        for index in todo:
            futures[executor.submit(_train_cell, payload, settings[index], run_id)] = index
    except RuntimeError as exc:  # shut down, or broken by a worker that died earlier
        for future in futures:
            future.cancel()
        raise ValueError(
            f"executor must be running to take the sweep's cells, got {executor!r}, which "
            f"refused new work ({type(exc).__name__}: {exc}): it was shut down (e.g. used "
            "after its `with` block) or broken by a worker that died. Pass a new executor "
            "(add resume=previous_sweep to run only the unfinished cells)"
        ) from None
    return futures


def _harvest(futures, finished, record):
    """Record every cell whose result arrived but was not yet taken (before a failure)."""
    for future, index in futures.items():
        if finished[index] or not future.done() or future.cancelled():
            continue
        if future.exception() is None and "error" not in future.result():
            record(index, future.result(), notify=False)


def _lost_alone(future):
    """Whether ``future`` failed on its own (a Dask ``KilledWorker``), not with its pool."""
    if not future.done() or future.cancelled():
        return False
    exc = future.exception()
    return exc is not None and not isinstance(exc, concurrent.futures.BrokenExecutor)


def _loss_label(loss):
    from adaviz import training

    return training.loss_name(loss)
