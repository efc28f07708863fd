"""Benchmark adaviz.sweep's metric-only path against simulate recording everything.

Run: ``.venv/bin/python benchmarks/bench_sweep.py`` (about a minute). Prints, from one run:

(a) the first call's time (trace + XLA compile + run) of a 64 x 64 x 500 sweep in a fresh
    process, target <= 2 s (wall, and the process's CPU time: on a busy machine the wall
    time includes waiting for a core);
(b) 256 x 256 = 65,536 rosenbrock runs x 500 steps, warm median: sweep, target <= 0.3 s
    (>= 100 M trajectory-steps/s), against ``simulate`` of the same runs with every step
    recorded, and the ratio;
(c) 64 x 64 x 500 warm median, target <= 30 ms, against ``simulate`` likewise;
(d) the SweepPanel case, kernel side: a fixed hyperparameter slider moved 20 times at
    64 x 64 x 500 (re-sweep + heatmap update), p50 and p95, target p95 <= 100 ms.
Each warm call uses new hyperparameter values (no retrace: the trace count is printed).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import adaviz  # noqa: E402
from adaviz import sweeps  # noqa: E402

tf = adaviz._tf.import_tensorflow()


def grid(n):
    return np.linspace(0.0, 0.999, n), np.logspace(-10, -1, n)


def timed(fn, repeats):
    times = []
    for k in range(repeats):
        t0 = time.perf_counter()
        fn(k)
        times.append(time.perf_counter() - t0)
    return times


def main():
    print(
        f"TensorFlow {tf.__version__}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    rho, eps = grid(64)
    t0, c0 = time.perf_counter(), time.process_time()
    adaviz.sweep("rosenbrock", rho=rho, epsilon=eps)
    first, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(
        f"(a) first 64x64x500 sweep (trace + compile + run): {first:.2f} s wall, "
        f"{cpu:.2f} s CPU of this process  [target <= 2 s]"
    )

    for n, target in ((256, 0.3), (64, 0.030)):
        rho, eps = grid(n)
        R, E = (a.ravel() for a in np.meshgrid(rho, eps, indexing="ij"))
        runs = n * n

        def sweep_call(k, rho=rho, eps=eps):
            adaviz.sweep("rosenbrock", rho=rho, epsilon=eps, lr=1.0 + 0.001 * k)

        def simulate_call(k, R=R, E=E):
            adaviz.simulate("rosenbrock", steps=500, rho=R, epsilon=E, lr=1.0 + 0.001 * k)

        sweep_call(-1)  # compile this size
        simulate_call(-1)
        traces = sweeps.trace_count()
        repeats = 7 if n == 256 else 25
        sweep_t = statistics.median(timed(sweep_call, repeats))
        simulate_t = statistics.median(timed(simulate_call, 5 if n == 256 else 15))
        rate = runs * 500 / sweep_t / 1e6
        label = "(b)" if n == 256 else "(c)"
        print(
            f"{label} {n}x{n}x500 = {runs:,} runs: sweep {sweep_t * 1e3:.1f} ms "
            f"({rate:.0f} M trajectory-steps/s) [target <= {target * 1e3:.0f} ms]; simulate "
            f"(all recorded) {simulate_t * 1e3:.1f} ms; ratio {simulate_t / sweep_t:.1f}x; "
            f"retraces while warm: {sweeps.trace_count() - traces}"
        )

    panel = adaviz.SweepPanel("rosenbrock")  # 64 x 64 x 500
    slider = panel.controls["lr"]

    def move(k):
        slider.value = 0.5 + 0.05 * (k % 20)
        panel.flush()

    move(19)
    times = np.array(timed(move, 20))
    print(
        f"(d) SweepPanel 64x64x500, lr slider moved 20 times (re-sweep + heatmap): "
        f"p50 {np.median(times) * 1e3:.1f} ms, p95 {np.percentile(times, 95) * 1e3:.1f} ms "
        "[target p95 <= 100 ms]"
    )
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (other processes slow every figure)")


if __name__ == "__main__":
    main()
