"""Tests for adaviz.sweep_model (and adaviz.sweep) on executors: in-process, a spawn process
pool and a real Dask LocalCluster give identical grids; progress, interrupt, worker failures
and every refused input.

The cluster (2 worker processes, 1 thread each) is started once for the module and closed
at its end. Grids are small (2 x 2 cells, 2 epochs, 64 samples) to keep the suite fast.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os

import keras
import numpy as np
import pytest

import adaviz

distributed = pytest.importorskip("distributed")

RHO = [0.9, 0.99]
EPS = [1e-6, 1e-3]
KW = {"epochs": 2, "batch_size": 16, "rho": RHO, "epsilon": EPS, "progress": False}


def moons():
    return adaviz.datasets.make("moons", n=64, seed=1)


def make_builder(fail_outside_pid=None):
    """A build_model defined inside a function, like one from a notebook cell: it cannot be
    imported by name, so it travels to the workers by value (cloudpickle)."""

    def build_model():
        if fail_outside_pid is not None and os.getpid() != fail_outside_pid:
            raise RuntimeError("no GPU here (a failure only the workers see)")
        return keras.Sequential(
            [keras.Input((2,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(1)]
        )

    return build_model


@pytest.fixture(scope="module")
def in_process():
    return adaviz.sweep_model(make_builder(), moons(), **KW)


def make_dying_builder(marker, rho=RHO[1], epsilon=EPS[1]):
    """A build_model whose model kills its worker process (``os._exit``, as the OOM killer
    would) the first time it is compiled in a worker for the cell (rho, epsilon); the
    marker file, created then, makes it a one-off across processes."""
    parent = os.getpid()
    marker = str(marker)

    class DiesOnce(keras.Sequential):
        def compile(self, *args, **kwargs):
            opt = kwargs.get("optimizer")
            cell = opt is not None and np.allclose([opt.rho, opt.epsilon], [rho, epsilon])
            if cell and os.getpid() != parent:
                try:
                    os.close(os.open(marker, os.O_CREAT | os.O_EXCL))
                except FileExistsError:
                    pass
                else:
                    os._exit(1)
            return super().compile(*args, **kwargs)

    def build_model():
        return DiesOnce(
            [keras.Input((2,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(1)]
        )

    return build_model


@pytest.fixture(scope="module")
def client():
    import dask

    # a worker that dies fails the cells it was running at once (by default Dask retries
    # them on other workers, three times)
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=40,
        )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


# ------------------------------------------------------------------------ in-process
def test_in_process_grid_matches_keras_own_adadelta(in_process):
    s = in_process
    assert s.shape == (2, 2) and s.metric == "loss"
    assert s.finished.all() and not s.diverged.any() and not s.interrupted
    assert s.curves["loss"].shape == (2, 2, 2)
    np.testing.assert_array_equal(s.values, s.curves["loss"][..., -1])
    assert s.loss == "binary_crossentropy"  # inferred from 0/1 labels and one output
    x, y = moons()
    for i, j in [(0, 1), (1, 0)]:
        keras.utils.set_random_seed(0)  # the seed's initial weights
        model = make_builder()()
        model.compile(
            optimizer=keras.optimizers.Adadelta(learning_rate=1.0, rho=RHO[i], epsilon=EPS[j]),
            loss=keras.losses.BinaryCrossentropy(from_logits=True),
        )
        order = np.random.default_rng(0)  # the seed's batches: one permutation per epoch
        losses = []
        for _ in range(2):
            perm = order.permutation(len(x))
            history = model.fit(x[perm], y[perm], batch_size=16, shuffle=False, verbose=0)
            losses += history.history["loss"]
        np.testing.assert_allclose(s.curves["loss"][i, j], losses, rtol=1e-5)


@pytest.mark.slow  # trains Keras models: an integration test
def test_in_process_is_deterministic_and_uses_the_same_batches(in_process):
    again = adaviz.sweep_model(make_builder(), moons(), **KW)
    np.testing.assert_array_equal(again.curves["loss"], in_process.curves["loss"])
    # different settings give different losses (the cells really differ)
    assert len(np.unique(in_process.values)) == 4


@pytest.mark.slow  # trains Keras models: an integration test
def test_validation_split_gives_a_validation_grid():
    s = adaviz.sweep_model(
        make_builder(), moons(), epochs=1, validation_split=0.25, rho=[0.9, 0.95], progress=False
    )
    assert s.metric == "val_loss" and s.shape == (2,)
    np.testing.assert_array_equal(s.values, s.curves["val_loss"][:, -1])
    assert not np.array_equal(s.curves["val_loss"], s.curves["loss"])


def test_progress_bar_reports_every_cell(capsys):
    seen = []
    adaviz.sweep_model(
        make_builder(),
        moons(),
        epochs=1,
        rho=[0.9, 0.95, 0.99],
        progress=True,
        on_cell=lambda index, curves: seen.append((index, curves["loss"].copy())),
    )
    err = capsys.readouterr().err
    assert "sweep_model" in err and "3/3" in err
    assert sorted(index for index, _ in seen) == [(0,), (1,), (2,)]
    assert all(np.isfinite(curve).all() for _, curve in seen)


@pytest.mark.slow  # trains Keras models: an integration test
def test_keyboard_interrupt_keeps_the_finished_cells():
    calls = []

    def build_model():
        calls.append(1)
        if len(calls) == 4:  # 1: the check before any work; 2, 3: cells 0 and 1
            raise KeyboardInterrupt
        return make_builder()()

    s = adaviz.sweep_model(build_model, moons(), **KW)
    assert s.interrupted
    np.testing.assert_array_equal(s.finished, [[True, True], [False, False]])
    assert np.isfinite(s.values[0]).all() and np.isnan(s.values[1]).all()


def test_a_failing_cell_reports_settings_and_traceback_and_keeps_finished_cells():
    calls = []

    def build_model():
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("out of memory in cell 1")
        return make_builder()()

    with pytest.raises(adaviz.SweepError) as info:
        adaviz.sweep_model(build_model, moons(), **KW)
    error = info.value
    assert "'rho': 0.9" in str(error) and "'epsilon': 0.001" in str(error)
    assert "RuntimeError: out of memory in cell 1" in error.worker_traceback
    assert "Traceback" in str(error)
    assert error.settings == {"lr": 1.0, "rho": 0.9, "epsilon": 0.001, "decay": 0.0}
    np.testing.assert_array_equal(error.sweep.finished, [[True, False], [False, False]])
    assert np.isfinite(error.sweep.values[0, 0])


def test_diverging_cells_are_flagged():
    x = np.linspace(-1, 1, 32, dtype=np.float32)[:, None]
    # lr 1e30: the first step, 1e30 * sqrt(eps / (1 - rho)), sends the weights to ~1e27
    # and the squared error past float32's range
    s = adaviz.sweep_model(
        lambda: keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)]),
        (x, x[:, 0]),
        epochs=2,
        lr=[1e30, 1.0],
        progress=False,
    )
    assert s.finished.all()
    np.testing.assert_array_equal(s.diverged, [True, False])
    assert np.isnan(s.values[0]) and np.isfinite(s.values[1])


# ------------------------------------------------------------------------ executors
@pytest.mark.subprocess
def test_spawn_process_pool_gives_the_identical_grid(in_process):
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=context) as pool:
        got = adaviz.sweep_model(make_builder(), moons(), executor=pool, **KW)
    np.testing.assert_array_equal(got.curves["loss"], in_process.curves["loss"])
    np.testing.assert_array_equal(got.values, in_process.values)


def test_dask_local_cluster_gives_the_identical_grid(client, in_process):
    executor = client.get_executor()
    got = adaviz.sweep_model(make_builder(), moons(), executor=executor, **KW)
    np.testing.assert_array_equal(got.curves["loss"], in_process.curves["loss"])
    np.testing.assert_array_equal(got.values, in_process.values)
    assert got.finished.all()


def test_dask_surface_sweep_equals_in_process(client, monkeypatch):
    monkeypatch.setattr(adaviz.sweeps.metric, "CHUNK_RUNS", 40)  # 80 runs -> 2 chunks, one shape
    rho, eps = np.linspace(0, 0.999, 8), np.logspace(-10, -1, 10)
    surface = adaviz.Surface(
        lambda x, y: (x - 1.0) ** 2 + 10.0 * (y - x) ** 2,
        domain=((-2, 2), (-2, 2)),
        minima=[(1.0, 1.0)],
        start=(-1.0, 1.5),
        name="notebook valley",
    )
    executor = client.get_executor()
    expected = adaviz.sweep(surface, rho=rho, epsilon=eps, steps=120)  # fn travels by value
    got = adaviz.sweep(surface, rho=rho, epsilon=eps, steps=120, executor=executor)
    for name in adaviz.sweeps.METRICS:
        np.testing.assert_array_equal(got.metrics[name], expected.metrics[name])
    expected = adaviz.sweep("rosenbrock", rho=rho, epsilon=eps, steps=120)  # by name
    got = adaviz.sweep("rosenbrock", rho=rho, epsilon=eps, steps=120, executor=executor)
    np.testing.assert_array_equal(got.values, expected.values)
    np.testing.assert_array_equal(got.diverged, expected.diverged)


def test_a_worker_failure_carries_the_worker_traceback(client):
    with pytest.raises(adaviz.SweepError) as info:
        adaviz.sweep_model(
            make_builder(fail_outside_pid=os.getpid()),
            moons(),
            executor=client.get_executor(),
            **KW,
        )
    assert "no GPU here (a failure only the workers see)" in info.value.worker_traceback
    assert "build_model" in info.value.worker_traceback
    assert not info.value.sweep.finished.any()


def check_crash_kept_the_finished_cells(error, in_process, exception_name):
    """The SweepError of a worker that died on the cell (1, 1): named with its settings,
    and every finished cell kept, equal to the in-process grid."""
    assert isinstance(error, adaviz.sweeps.SweepError)
    message = str(error)
    assert f"a worker of the executor died ({exception_name})" in message
    named = [index for index, _ in error.cells]
    assert (1, 1) in named
    for index, settings in error.cells:
        assert f"{index} {settings}" in message
        assert not error.sweep.finished[index]
    assert error.settings == dict(error.cells)[named[0]]
    assert exception_name in error.worker_traceback
    done = error.sweep.finished
    assert done.sum() >= 1 and not done[1, 1]
    assert f"{int(done.sum())} of 4 cells finished" in message
    assert "resume=error.sweep" in message
    np.testing.assert_array_equal(error.sweep.curves["loss"][done], in_process.curves["loss"][done])
    np.testing.assert_array_equal(error.sweep.values[done], in_process.values[done])
    assert np.isnan(error.sweep.values[~done]).all()
    return done


def check_resumed(resumed, seen, done, in_process):
    """Only the unfinished cells ran again, and the grid is the in-process one."""
    assert sorted(seen) == sorted(map(tuple, np.argwhere(~done)))
    assert resumed.finished.all() and not resumed.interrupted
    np.testing.assert_array_equal(resumed.curves["loss"], in_process.curves["loss"])
    np.testing.assert_array_equal(resumed.values, in_process.values)


@pytest.mark.subprocess
def test_a_worker_process_that_dies_keeps_the_finished_cells_and_resume_runs_the_others(
    in_process, tmp_path
):
    build_model = make_dying_builder(tmp_path / "died")
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=context) as pool:
        with pytest.raises(adaviz.sweeps.SweepError) as info:
            adaviz.sweep_model(build_model, moons(), executor=pool, **KW)
    done = check_crash_kept_the_finished_cells(info.value, in_process, "BrokenProcessPool")
    assert (tmp_path / "died").exists()  # the worker really died on that cell
    seen = []
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=context) as pool:
        resumed = adaviz.sweep_model(
            build_model,
            moons(),
            executor=pool,
            resume=info.value.sweep,
            on_cell=lambda index, curves: seen.append(index),
            **KW,
        )
    check_resumed(resumed, seen, done, in_process)


def test_a_dask_worker_that_dies_keeps_the_finished_cells_and_resume_runs_the_others(
    client, in_process, tmp_path
):
    build_model = make_dying_builder(tmp_path / "died")
    executor = client.get_executor()
    with pytest.raises(adaviz.sweeps.SweepError) as info:
        adaviz.sweep_model(build_model, moons(), executor=executor, **KW)
    done = check_crash_kept_the_finished_cells(info.value, in_process, "KilledWorker")
    seen = []
    resumed = adaviz.sweep_model(
        build_model,
        moons(),
        executor=client.get_executor(),
        resume=info.value.sweep,
        on_cell=lambda index, curves: seen.append(index),
        **KW,
    )
    check_resumed(resumed, seen, done, in_process)


def raise_on_second_cell():
    seen = []

    def on_cell(index, curves):
        seen.append(index)
        if len(seen) == 2:
            raise KeyError("no column for this cell")

    return on_cell, seen


def check_on_cell_error(error, seen, in_process):
    index = seen[-1]
    message = str(error)
    assert message.startswith(
        f"on_cell raised KeyError: 'no column for this cell' for the cell {index} with "
        f"settings {error.settings}"
    )
    assert error.cells == [(index, error.settings)]
    assert "KeyError" in error.worker_traceback
    assert isinstance(error.__cause__, KeyError)
    done = error.sweep.finished
    assert done[seen[0]] and done[index]  # the cell on_cell failed for finished too
    np.testing.assert_array_equal(error.sweep.values[done], in_process.values[done])
    return done


@pytest.mark.slow
def test_an_on_cell_that_raises_keeps_the_finished_cells_and_resume_runs_the_others(
    in_process,
):
    on_cell, seen = raise_on_second_cell()
    with pytest.raises(adaviz.sweeps.SweepError) as info:
        adaviz.sweep_model(make_builder(), moons(), on_cell=on_cell, **KW)
    done = check_on_cell_error(info.value, seen, in_process)
    assert done.sum() == 2
    again = []
    resumed = adaviz.sweep_model(
        make_builder(),
        moons(),
        resume=info.value.sweep,
        on_cell=lambda index, curves: again.append(index),
        **KW,
    )
    check_resumed(resumed, again, done, in_process)


def test_an_on_cell_that_raises_on_dask_keeps_the_finished_cells(client, in_process):
    on_cell, seen = raise_on_second_cell()
    with pytest.raises(adaviz.sweeps.SweepError) as info:
        adaviz.sweep_model(
            make_builder(), moons(), executor=client.get_executor(), on_cell=on_cell, **KW
        )
    done = check_on_cell_error(info.value, seen, in_process)
    resumed = adaviz.sweep_model(
        make_builder(), moons(), executor=client.get_executor(), resume=info.value.sweep, **KW
    )
    np.testing.assert_array_equal(resumed.values, in_process.values)
    assert done.sum() >= 2


@pytest.mark.parametrize("on_cell", [3, "print"])
def test_an_on_cell_that_is_not_callable_is_refused_before_any_work(on_cell):
    calls = []

    def build_model():
        calls.append(1)
        return make_builder()()

    with pytest.raises(ValueError) as info:
        adaviz.sweep_model(build_model, moons(), on_cell=on_cell, **KW)
    assert str(info.value) == (
        "on_cell must be None or a callable on_cell(index, curves), got "
        f"{on_cell!r} (type {type(on_cell).__name__})"
    )
    assert calls == []


def check_shut_down_refused(executor):
    calls = []

    def build_model():
        calls.append(1)
        return make_builder()()

    with pytest.raises(ValueError) as info:
        adaviz.sweep_model(build_model, moons(), executor=executor, **KW)
    message = str(info.value)
    assert message.startswith(
        f"executor must be running to take the sweep's cells, got {executor!r}"
    )
    assert "cannot schedule new futures after shutdown" in message
    assert "Pass a new executor" in message
    assert calls == [1]  # the check in this process; no cell


def test_a_shut_down_process_pool_is_named():
    context = multiprocessing.get_context("spawn")
    pool = concurrent.futures.ProcessPoolExecutor(2, mp_context=context)
    pool.shutdown()  # no process started: the pool starts them at its first task
    check_shut_down_refused(pool)


def test_a_shut_down_dask_executor_is_named(client):
    executor = client.get_executor()
    executor.shutdown()
    check_shut_down_refused(executor)


def test_resume_of_a_finished_sweep_trains_nothing(in_process):
    calls = []

    def build_model():
        calls.append(1)
        return make_builder()()

    again = adaviz.sweep_model(build_model, moons(), resume=in_process, **KW)
    assert calls == [1]  # the check before any work only
    np.testing.assert_array_equal(again.curves["loss"], in_process.curves["loss"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"rho": [0.9, 0.95]}, r"its grid axes is \[\('rho', \[0.9, 0.99\]\), .* this call's is "),
        ({"lr": 0.5}, r"its fixed hyperparameters is \{'lr': 1.0, 'decay': 0.0\}, this call's is"),
        ({"epochs": 3}, r"its epochs is 2, this call's is 3"),
        ({"batch_size": 8}, r"its batch_size is 16, this call's is 8"),
        ({"seed": 1}, r"its seed is 0, this call's is 1"),
        (
            {"loss": "mse"},
            r"its loss is 'binary_crossentropy', this call's is 'mean_squared_error'",
        ),
        ({"validation_split": 0.25}, r"its metric is 'loss', this call's is 'val_loss'"),
        ({"data": "flip"}, r"data, initial weights .* its fingerprint [0-9a-f]{12} differs"),
    ],
)
def test_resume_of_another_grid_or_job_is_refused(in_process, change, message):
    kwargs = dict(KW, **change)
    data = kwargs.pop("data", None)
    x, y = moons()
    if data == "flip":
        y = 1.0 - y
    with pytest.raises(ValueError, match=r"resume must be a sweep of the same .*" + message):
        adaviz.sweep_model(make_builder(), (x, y), resume=in_process, **kwargs)


def test_resume_must_be_a_model_sweep(in_process):
    with pytest.raises(
        ValueError, match=r"resume must be None or a ModelSweep .*got 'last' \(type str\)"
    ):
        adaviz.sweep_model(make_builder(), moons(), resume="last", **KW)
    error = adaviz.sweeps.SweepError("x", sweep=in_process, settings={}, worker_traceback="")
    with pytest.raises(ValueError, match=r"\(pass error.sweep\), got .*\(type SweepError\)"):
        adaviz.sweep_model(make_builder(), moons(), resume=error, **KW)


def test_a_model_instance_for_build_model_says_to_pass_a_function():
    model = make_builder()()
    with pytest.raises(ValueError) as info:
        adaviz.sweep_model(model, moons(), **KW)
    assert str(info.value).startswith(
        "build_model must be a zero-argument function that returns a new, uncompiled "
        f"keras.Model (each cell builds its own), got the model {model.name!r} itself"
    )


def test_a_build_model_that_needs_arguments_is_refused():
    def build(width, depth=2):
        return make_builder()()

    with pytest.raises(ValueError) as info:
        adaviz.sweep_model(build, moons(), **KW)
    assert str(info.value) == (
        "build_model must be callable with no arguments (it returns a new, uncompiled "
        "keras.Model), got build(width, depth=2): wrap it, e.g. lambda: build(...)"
    )


# ------------------------------------------------------------------------ bad input
def compiled_model():
    model = make_builder()()
    model.compile(optimizer="sgd", loss="mse")
    return model


@pytest.mark.parametrize(
    ("build_model", "kwargs", "message"),
    [
        ("model", {"rho": RHO}, "build_model must be a zero-argument callable"),
        (lambda: "a model", {"rho": RHO}, "build_model must return a Keras model"),
        (compiled_model, {"rho": RHO}, "build_model must return an uncompiled model"),
        (
            lambda: keras.Sequential([keras.Input((5,)), keras.layers.Dense(1)]),
            {"rho": RHO},
            "cannot be called on x with samples of shape",
        ),
        (
            lambda: keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)]),
            {"rho": RHO, "loss": "mse"},
            r"model output of shape \(n, 3\) does not fit y",
        ),
        (make_builder(), {"rho": 0.9}, "give one or two hyperparameters as 1-D arrays"),
        (make_builder(), {"momentum": [0.9]}, "momentum is not a hyperparameter of optimizer"),
        (make_builder(), {"rho": [0.5, 2.0]}, r"rho must be in \[0, 1\], got 2.0 at index 1"),
        (make_builder(), {"rho": RHO, "executor": "dask"}, "executor must be a concurrent"),
        (make_builder(), {"rho": RHO, "epochs": 0}, "epochs must be an integer >= 1, got 0"),
        (make_builder(), {"rho": RHO, "batch_size": 0}, r"batch_size must be an integer in \["),
        (make_builder(), {"rho": RHO, "validation_split": 1.5}, "validation_split must be"),
        (make_builder(), {"rho": RHO, "loss": "no_such_loss"}, "loss must be a Keras loss name"),
    ],
)
def test_bad_input_is_refused_before_any_training(build_model, kwargs, message):
    with pytest.raises(ValueError, match=message):
        adaviz.sweep_model(build_model, moons(), progress=False, **kwargs)


def test_bad_data_is_refused():
    with pytest.raises(ValueError, match="data must be an"):
        adaviz.sweep_model(make_builder(), np.zeros((4, 2)), rho=RHO)
    with pytest.raises(ValueError, match="must have the same number of samples"):
        adaviz.sweep_model(make_builder(), (np.zeros((4, 2)), np.zeros(3)), rho=RHO)
