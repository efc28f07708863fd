"""Cost of ModelPanel / AdadeltaMonitor diagnostics against plain compiled training.

Same model (the panel's default 2-16-16-1 tanh MLP, same seed), same data ("moons",
400 samples), same batch size (32) and the same optimizer (adaviz.Adadelta, legacy
tf.keras settings). Measured in one run, in short interleaved blocks; the median and the
best block of each are reported (on a busy shared machine the best blocks are the ones
least disturbed by other processes):

* anchor: a plain compiled training step written here, independently of the panel
  (``tf.function``: next batch from a seeded per-epoch shuffle, loss, gradients,
  ``optimizer.apply``), called in a Python loop; and the same step called through its
  concrete function, as the panel calls its own (like-for-like dispatch, so that line
  shows the in-graph cost of the diagnostics alone);
* ``panel.step(n)``: the panel's trainer (:class:`adaviz.training.Trainer`): its compiled
  step with per-layer diagnostics (:mod:`adaviz.diagnostics`) written to a small ring
  buffer every step and moved into the thinned whole-run history every 128 steps (the
  last step a probe), plus one redraw at the end;
* panel playing: ``panel.play()`` on an asyncio loop for a fixed time, with the views
  redrawn at 10 Hz (what a notebook user sees);
* ``model.fit`` with ``AdadeltaMonitor(every=10)`` against the same ``fit`` without it.

Target: overhead <= 20 % (steps/s of the anchor divided by steps/s with diagnostics, - 1).

Run: ``.venv/bin/python benchmarks/bench_model_panel.py``
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

import adaviz  # noqa: E402

tf = adaviz._tf.import_tensorflow()
import keras  # noqa: E402

BLOCK = 1000  # steps per timed block (panel.step redraws once per call)
ROUNDS = 9
PLAY_ROUNDS = 4
PLAY_SECONDS = 2.0
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


def report(label, rates, anchor_rates=None):
    med, best = statistics.median(rates), max(rates)
    line = f"{label:31s} median {med:7.0f} steps/s, best {best:7.0f}"
    if anchor_rates is not None:
        a_med, a_best = statistics.median(anchor_rates), max(anchor_rates)
        line += f"   overhead: median {a_med / med - 1:+.1%}, best {a_best / best - 1:+.1%}"
    print(line)


def main():
    x, y = adaviz.datasets.make("moons", 400, seed=SEED)
    step = plain_step_fn(x, y)

    def anchor(n):
        for _ in range(n):
            step()
        step().numpy()  # make sure all work is done

    # The panel calls its steps' concrete functions directly (no per-call signature
    # lookup); the same plain step called that way isolates the in-graph cost of the
    # diagnostics from that dispatch saving.
    concrete_step = plain_step_fn(x, y).get_concrete_function()

    def concrete_anchor(n):
        for _ in range(n):
            concrete_step()
        concrete_step().numpy()

    panel = adaviz.ModelPanel(data="moons", n=400, seed=SEED, batch_size=BATCH)
    anchor(200)
    concrete_anchor(200)
    panel.step(200)  # warm up (traces both graph variants)

    anchors, concrete_anchors, steps = [], [], []
    for _ in range(ROUNDS):
        anchors.append(rate(anchor, BLOCK))
        concrete_anchors.append(rate(concrete_anchor, BLOCK))
        steps.append(rate(panel.step, BLOCK))
    plays, redraws, play_anchors = [], [], []
    for _ in range(PLAY_ROUNDS):
        play_anchors.append(rate(anchor, BLOCK))
        p, r = play_rate(panel, PLAY_SECONDS)
        plays.append(p)
        redraws.append(r)
    report("plain compiled step (anchor)", anchors)
    report("ModelPanel.step(n)", steps, anchors)
    report("plain step, concrete function", concrete_anchors)
    report("ModelPanel.step(n) vs that", steps, concrete_anchors)
    report("plain compiled step (anchor)", play_anchors)
    report("ModelPanel playing (asyncio)", plays, play_anchors)
    print(f"  redraws while playing: {statistics.median(redraws):.1f} per second")

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
    # 8 copies of the data: 100 batches per epoch, so fit's per-epoch set-up weighs little
    x8, y8 = np.tile(x, (8, 1)), np.tile(y, 8)
    fits, monitored = [], []
    for _ in range(ROUNDS):
        fits.append(fit_rate(plain, x8, y8, [], 2))
        monitored.append(fit_rate(watched, x8, y8, [monitor], 2))
    report("model.fit (anchor)", fits)
    report("model.fit + AdadeltaMonitor(10)", monitored, fits)


if __name__ == "__main__":
    main()
