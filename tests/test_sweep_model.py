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


@pytest.fixture(scope="module")
def client():
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


def test_in_process_is_deterministic_and_uses_the_same_batches(in_process):
    again = adaviz.sweep_model(make_builder(), moons(), **KW)
    np.testing.assert_array_equal(again.curves["loss"], in_process.curves["loss"])
    # different settings give different losses (the cells really differ)
    assert len(np.unique(in_process.values)) == 4


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
