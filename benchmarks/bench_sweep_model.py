"""Benchmark adaviz.sweep_model on three executors: in-process, a 2-process spawn pool and a
Dask LocalCluster (2 worker processes, 1 thread each).

Run: ``.venv/bin/python benchmarks/bench_sweep_model.py`` (a few minutes on 2 cores).
16 cells (rho x epsilon, 4 x 4) x a moons MLP (2-16-16-1, tanh), 400 samples, 5 epochs,
batch 32. Prints, from one run, the wall-clock time of each (the pool and the cluster are
started, and their workers have imported TensorFlow, before the clock starts: a warm-up
cell runs first), the speed-up over in-process, and whether the three grids are identical.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import adaviz  # noqa: E402

tf = adaviz._tf.import_tensorflow()
import keras  # noqa: E402

RHO = [0.9, 0.95, 0.99, 0.999]
EPS = [1e-8, 1e-6, 1e-4, 1e-2]
OPTIONS = {"epochs": 5, "batch_size": 32, "seed": 0, "progress": False}


def build_model():
    """The moons MLP (importable by name, so it travels to the workers by reference)."""
    return keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(16, activation="tanh"),
            keras.layers.Dense(16, activation="tanh"),
            keras.layers.Dense(1),
        ]
    )


def run(data, executor=None):
    t0 = time.perf_counter()
    result = adaviz.sweep_model(
        build_model, data, executor=executor, rho=RHO, epsilon=EPS, **OPTIONS
    )
    return time.perf_counter() - t0, result


def warm(data, executor):
    """One small sweep, so every worker has started and imported TensorFlow."""
    adaviz.sweep_model(
        build_model, data, executor=executor, rho=[0.9, 0.95], epochs=1, progress=False
    )


def main():
    import distributed

    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, distributed "
          f"{distributed.__version__}")  # fmt: skip
    data = adaviz.datasets.make("moons", n=400, seed=0)
    warm(data, None)
    base_t, base = run(data)
    print(f"in-process:            {base_t:6.1f} s  (16 cells x 5 epochs)")

    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=context) as pool:
        warm(data, pool)
        pool_t, pooled = run(data, pool)
    print(
        f"spawn pool, 2 procs:   {pool_t:6.1f} s  speed-up {base_t / pool_t:.2f}x  "
        f"identical grid: {np.array_equal(pooled.curves['loss'], base.curves['loss'])}"
    )

    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=40,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        executor = client.get_executor()
        warm(data, executor)
        dask_t, dasked = run(data, executor)
    print(
        f"Dask LocalCluster 2x1: {dask_t:6.1f} s  speed-up {base_t / dask_t:.2f}x  "
        f"identical grid: {np.array_equal(dasked.curves['loss'], base.curves['loss'])}"
    )
    print(
        f"machine: {multiprocessing.cpu_count()} CPU cores, load average "
        f"{os.getloadavg()[0]:.1f} (a speed-up needs idle cores)"
    )


if __name__ == "__main__":
    main()
