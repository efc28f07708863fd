"""Cost of ModelPanel / AdadeltaMonitor diagnostics against plain compiled training.

Same model (the panel's default 2-16-16-1 tanh MLP, same seed), same data ("moons",
400 samples), same batch size (32) and the same optimizer (adaviz.Adadelta, legacy
tf.keras settings). Measured in one run, repeats interleaved, median reported:

* anchor: a plain compiled training step written here, independently of the panel
  (``tf.function``: next batch from a seeded per-epoch shuffle, loss, gradients,
  ``optimizer.apply``), called in a Python loop;
* ``panel.step(n)``: the panel's compiled step with per-layer diagnostics written to its
  ring buffer every step (the last step a probe), plus one redraw at the end;
* panel playing: ``panel.play()`` on an asyncio loop for a fixed time, with the views
  redrawn at 10 Hz (what a notebook user sees);
* ``model.fit`` with ``AdadeltaMonitor(every=10)`` against the same ``fit`` without it.

Target: overhead <= 20 % (steps/s of the anchor divided by steps/s with diagnostics, - 1).

Run: ``.venv/bin/python benchmarks/bench_model_panel.py``
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

import adaviz  # noqa: E402

tf = adaviz._tf.import_tensorflow()
import keras  # noqa: E402

N_STEPS = 3000
REPEATS = 5
PLAY_SECONDS = 3.0
BATCH = 32
SEED = 0


def plain_model():
    """The panel's default MLP, built here with the same seeded initialisers."""
    init = keras.initializers.GlorotUniform
    return keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(16, activation="tanh", kernel_initializer=init(seed=SEED)),
            keras.layers.Dense(16, activation="tanh", kernel_initializer=init(seed=SEED + 1)),
            keras.layers.Dense(1, kernel_initializer=init(seed=SEED + 2)),
        ]
    )


def plain_step_fn(x, y):
    """A plain compiled training step (no diagnostics) over seeded shuffled batches."""
    model = plain_model()
    opt = adaviz.Adadelta()
    opt.build(model.trainable_variables)
    loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)
    X, Y = tf.constant(x), tf.constant(y[:, None])
    n = len(x)
    order = tf.Variable(tf.range(n))
    pos = tf.Variable(0)
    epoch = tf.Variable(0)

    @tf.function
    def step():
        if pos + BATCH > n:
            epoch.assign_add(1)
            noise = tf.random.stateless_uniform([n], seed=[SEED, epoch.read_value()])
            order.assign(tf.cast(tf.argsort(noise), tf.int32))
            pos.assign(0)
        idx = order[pos : pos + BATCH]
        pos.assign_add(BATCH)
        xb, yb = tf.gather(X, idx), tf.gather(Y, idx)
        with tf.GradientTape() as tape:
            loss = loss_fn(yb, model(xb, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply(grads, model.trainable_variables)
        return loss

    return step


def rate(fn, n):
    t0 = time.perf_counter()
    fn(n)
    return n / (time.perf_counter() - t0)


def play_rate(panel, seconds):
    async def run():
        start = panel.steps
        t0 = time.perf_counter()
        panel.play()
        await asyncio.sleep(seconds)
        panel.pause()
        await asyncio.sleep(0.05)  # let the task finish its last chunk
        return (panel.steps - start) / (time.perf_counter() - t0 - 0.05), panel._refresh_count

    before = panel._refresh_count
    steps_per_s, after = asyncio.run(run())
    return steps_per_s, (after - before) / seconds


def fit_rate(model, x, y, callbacks, epochs):
    t0 = time.perf_counter()
    model.fit(x, y, batch_size=BATCH, epochs=epochs, verbose=0, callbacks=callbacks)
    steps = epochs * int(np.ceil(len(x) / BATCH))
    return steps / (time.perf_counter() - t0)


def main():
    x, y = adaviz.datasets.make("moons", 400, seed=SEED)
    step = plain_step_fn(x, y)

    def anchor(n):
        for _ in range(n):
            step()
        step().numpy()  # make sure all work is done

    panel = adaviz.ModelPanel(data="moons", n=400, seed=SEED, batch_size=BATCH)
    anchor(200)
    panel.step(200)  # warm up (traces both graph variants)

    anchors, steps, plays, redraws = [], [], [], []
    for _ in range(REPEATS):
        anchors.append(rate(anchor, N_STEPS))
        steps.append(rate(panel.step, N_STEPS))
        anchors.append(rate(anchor, N_STEPS))
        p, r = play_rate(panel, PLAY_SECONDS)
        plays.append(p)
        redraws.append(r)
    a = statistics.median(anchors)
    s = statistics.median(steps)
    p = statistics.median(plays)
    print(f"plain compiled step (anchor): {a:8.0f} steps/s")
    print(f"ModelPanel.step(n):           {s:8.0f} steps/s   overhead {a / s - 1:+.1%}")
    print(
        f"ModelPanel playing (asyncio): {p:8.0f} steps/s   overhead {a / p - 1:+.1%}   "
        f"({statistics.median(redraws):.1f} redraws/s)"
    )

    # -- AdadeltaMonitor inside model.fit ------------------------------------------------
    def compiled(monitor):
        model = plain_model()
        model.compile(
            optimizer=adaviz.Adadelta(), loss=keras.losses.BinaryCrossentropy(from_logits=True)
        )
        model.fit(
            x, y, batch_size=BATCH, epochs=1, verbose=0, callbacks=[monitor] if monitor else []
        )
        return model

    plain = compiled(None)
    monitor = adaviz.AdadeltaMonitor(every=10)
    watched = compiled(monitor)
    epochs = 20
    fits, monitored = [], []
    for _ in range(REPEATS):
        fits.append(fit_rate(plain, x, y, [], epochs))
        monitored.append(fit_rate(watched, x, y, [monitor], epochs))
    f = statistics.median(fits)
    m = statistics.median(monitored)
    print(f"model.fit (anchor):           {f:8.0f} steps/s")
    print(f"model.fit + AdadeltaMonitor:  {m:8.0f} steps/s   overhead {f / m - 1:+.1%}")


if __name__ == "__main__":
    main()
