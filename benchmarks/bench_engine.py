"""Benchmark the trajectory engine against the eager loop a user would write.

Run: ``.venv/bin/python benchmarks/bench_engine.py`` (about a minute). Prints, from one run,
median wall-clock times after warm-up:

(a) one 1,000-step rosenbrock trajectory with :func:`adaviz.simulate` (numpy conversion
    included), target <= 3 ms; and its ratio to the eager loop (``tf.GradientTape`` +
    ``keras.optimizers.Adadelta.apply_gradients`` per step, timed on 100 steps and scaled to
    1,000), target >= 1,000x;
(b) N = 16,384 starts x 1,000 steps recording everything, target >= 50 M trajectory-steps/s;
(c) the panel case: N = 1, 500 steps with a new hyperparameter value on each call;
(d) every update rule (``optimizer=...``): one 1,000-step trajectory, and N = 4,096 x 1,000
    steps with a new lr per run.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import adaviz  # noqa: E402
from adaviz import engine  # noqa: E402

tf = adaviz._tf.import_tensorflow()
import keras  # noqa: E402


def median_time(fn, repeats, warmup=2):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def eager_loop(steps):
    """The loop a user would write: one apply_gradients call per step."""
    surface = adaviz.surfaces.get("rosenbrock")
    var = tf.Variable(np.asarray(surface.start, np.float32))
    opt = keras.optimizers.Adadelta(learning_rate=1.0, rho=0.95, epsilon=1e-7)
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = surface.fn(var[0], var[1])
        opt.apply_gradients([(tape.gradient(loss, var), var)])
    return var.numpy()


def main():
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}")
    # (a) one trajectory
    engine_1000 = median_time(lambda: adaviz.simulate("rosenbrock", steps=1000), repeats=50)
    eager_100 = median_time(lambda: eager_loop(100), repeats=3, warmup=1)
    eager_1000 = eager_100 * 10
    print(f"(a) simulate, 1 x 1,000 steps:      {engine_1000 * 1e3:8.3f} ms   (target <= 3 ms)")
    print(f"    eager apply_gradients loop:      {eager_1000 * 1e3:8.1f} ms   (100 steps x 10)")
    print(
        f"    ratio eager / simulate:          {eager_1000 / engine_1000:8.0f} x  (target >= 1,000 x)"
    )

    # (b) batched throughput
    n, steps = 16_384, 1000
    rng = np.random.default_rng(0)
    (xmin, xmax), (ymin, ymax) = adaviz.surfaces.get("rosenbrock").domain
    starts = rng.uniform([xmin, ymin], [xmax, ymax], size=(n, 2))
    batched = median_time(
        lambda: adaviz.simulate("rosenbrock", start=starts, steps=steps), repeats=5, warmup=1
    )
    rate = n * steps / batched / 1e6
    print(
        f"(b) simulate, {n:,} x {steps:,} steps:  {batched * 1e3:8.1f} ms = {rate:.1f} M "
        "trajectory-steps/s   (target >= 50 M/s)"
    )

    # (c) the panel's slider case: new values each call, no retrace
    before = engine.trace_count()
    values = iter(np.linspace(0.5, 0.999, 1000))
    panel = median_time(
        lambda: adaviz.simulate("rosenbrock", steps=500, rho=float(next(values))), repeats=50
    )
    retraces = engine.trace_count() - before - 1  # the first call traces the 500-step graph
    print(
        f"(c) simulate, 1 x 500 steps, new rho each call: {panel * 1e3:.3f} ms, "
        f"retraces after the first call: {retraces}"
    )

    # (d) every rule
    lrs = np.logspace(-5, 0, 4096)
    for name in adaviz._math.RULES:
        one = median_time(
            lambda name=name: adaviz.simulate("rosenbrock", steps=1000, optimizer=name), 30
        )
        many = median_time(
            lambda name=name: adaviz.simulate("rosenbrock", steps=1000, optimizer=name, lr=lrs),
            repeats=3,
            warmup=1,
        )
        print(
            f"(d) {name:<9} 1 x 1,000 steps: {one * 1e3:6.3f} ms;  4,096 x 1,000 steps: "
            f"{many * 1e3:6.1f} ms = {4096 * 1000 / many / 1e6:5.1f} M trajectory-steps/s"
        )


if __name__ == "__main__":
    main()
