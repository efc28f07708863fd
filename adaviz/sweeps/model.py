"""The model sweep: one fresh Keras model trained per cell of an Adadelta hyperparameter grid,
in-process or on any :class:`concurrent.futures.Executor` (a spawn process pool, or a Dask
cluster through ``distributed.Client(...).get_executor()``)."""

from __future__ import annotations

import concurrent.futures
import dataclasses

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
    if not callable(build_model):
        raise ValueError(f"build_model must be a zero-argument callable, got {build_model!r}")
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
