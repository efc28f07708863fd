"""Time one Adadelta step on ~10.5 M parameters: adaviz vs Keras 3 vs the bare fused kernel.

Ten 1024x1024 matrices and ten 1024-vectors (float32), gradients fixed, each candidate's
``apply_gradients`` called inside a ``tf.function``; the median of ``--steps`` steps after
warm-up. Also prints the memory-bandwidth floor: 28 bytes per parameter per step (read
parameter, gradient and two accumulators, write parameter and two accumulators) at the
bandwidth measured here on a 128 MB array. Candidates are timed round-robin; the minimum
is printed next to the median as a hint of how loaded the machine was.

Run: ``python benchmarks/bench_optimizer.py [--steps 50]``. Prints ratios measured in
this one run; never used as a timed test.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import adaviz  # first: it imports TensorFlow without the C++ start-up lines

tf = adaviz._tf.import_tensorflow()
import keras  # noqa: E402

SHAPES = [(1024, 1024)] * 10 + [(1024,)] * 10


def make_problem(seed=0):
    rng = np.random.default_rng(seed)
    values = [rng.normal(size=s).astype(np.float32) for s in SHAPES]
    grads = [tf.constant(rng.normal(size=s).astype(np.float32)) for s in SHAPES]
    return values, grads


def time_steps(steps_by_name, steps, warmup=3):
    """Median seconds per step of each candidate, timed round-robin (one step each in turn,
    so that load from other processes hits every candidate alike)."""
    for step in steps_by_name.values():
        for _ in range(warmup):
            step()
    times = {name: [] for name in steps_by_name}
    for _ in range(steps):
        for name, step in steps_by_name.items():
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    return {name: (statistics.median(t), min(t)) for name, t in times.items()}


def keras_step(optimizer, values, grads):
    variables = [keras.Variable(v) for v in values]
    pairs = list(zip(grads, variables, strict=True))

    @tf.function
    def step():
        optimizer.apply_gradients(pairs)

    # .numpy() of a scalar forces completion without copying the big tensors.
    return lambda: (step(), optimizer.iterations.numpy())


def fused_step(values, grads):
    variables = [tf.Variable(v) for v in values]
    accums = [tf.Variable(tf.zeros_like(v)) for v in values]
    deltas = [tf.Variable(tf.zeros_like(v)) for v in values]
    counter = tf.Variable(0, dtype=tf.int64)

    @tf.function
    def step():
        lr, rho, eps = tf.constant(1.0), tf.constant(0.95), tf.constant(1e-7)
        for v, a, d, g in zip(variables, accums, deltas, grads, strict=True):
            tf.raw_ops.ResourceApplyAdadelta(
                var=v.handle,
                accum=a.handle,
                accum_update=d.handle,
                lr=lr,
                rho=rho,
                epsilon=eps,
                grad=g,
                use_locking=False,
            )
        counter.assign_add(1)

    return lambda: (step(), counter.numpy())


def bandwidth_bytes_per_second(n=1 << 25, repeats=7):
    """Memory bandwidth (bytes read + written per second), best of a numpy copy and a
    multi-threaded TensorFlow element-wise op over a 128 MB float32 array."""
    src = np.ones(n, np.float32)
    dst = np.empty_like(src)
    numpy_copy = min(_timed(lambda: np.copyto(dst, src)) for _ in range(repeats))
    x = tf.Variable(src)
    y = tf.Variable(dst)

    @tf.function
    def add_one():
        y.assign(x + 1.0)

    tf_op = min(_timed(lambda: (add_one(), y[0].numpy())) for _ in range(repeats))
    return 2 * src.nbytes / min(numpy_copy, tf_op)


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50, help="timed steps (>= 20)")
    args = parser.parse_args()
    values, grads = make_problem()
    n_params = sum(int(np.prod(s)) for s in SHAPES)

    candidates = {
        "adaviz.Adadelta": keras_step(adaviz.Adadelta(), values, grads),
        "keras.optimizers.Adadelta": keras_step(
            keras.optimizers.Adadelta(learning_rate=1.0), values, grads
        ),
        "bare ResourceApplyAdadelta": fused_step(values, grads),
    }
    medians = time_steps(candidates, args.steps)
    floor = 28 * n_params / bandwidth_bytes_per_second()

    print(f"{n_params / 1e6:.2f} M float32 parameters, median (min) of {args.steps} steps")
    fused = medians["bare ResourceApplyAdadelta"][0]
    for name, (median, fastest) in medians.items():
        print(
            f"  {name:28s} {median * 1e3:7.2f} ms/step ({fastest * 1e3:6.2f})  "
            f"{median / fused:5.2f}x fused"
        )
    print(
        f"  {'bandwidth floor (28 B/param)':28s} {floor * 1e3:7.2f} ms/step           "
        f"{floor / fused:5.2f}x fused"
    )
    ours, theirs = medians["adaviz.Adadelta"][0], medians["keras.optimizers.Adadelta"][0]
    print(f"adaviz vs fused kernel: {ours / fused:.2f}x (target <= 1.10x)")
    print(f"keras.optimizers.Adadelta / adaviz: {theirs / ours:.2f}x (target ~3x)")


if __name__ == "__main__":
    main()
