"""ComparePanel latency, kernel side, and the cost of Tune.

Run: ``.venv/bin/python benchmarks/bench_compare.py`` (about a minute after compiling).

(a) Control changes: a panel comparing adadelta, sgd, momentum and adam on rosenbrock with
    a budget of 1,000 steps. Every widget gets a stand-in comm that JSON-encodes each
    outgoing message and its binary buffers, as the kernel would. After a warm-up pass
    (which compiles each rule once per surface used, what ``panel.precompile()`` does in
    the background once the panel is shown), 120 changes are timed from setting the
    control to every figure updated: each optimizer's lr, Adadelta's rho, Adam's beta_1,
    the loss-scale slider, the steps slider and the surface. No event loop runs, so each
    change draws synchronously. Checked: no engine trace during the timed changes, and
    the drawn paths equal ``adaviz.simulate``'s for the final settings.
(b) Tune: a panel with all 7 rules, 1,000 steps; ``panel.tune()`` runs 7 batched engine
    calls of 64 lr values each and redraws. The first call compiles (reported); then 5
    warm calls.

Targets: (a) p95 <= 50 ms; (b) warm tune <= 0.5 s. Prints median / p95 / max and the
ratio to each target, measured in this one run, and the CPU time this process used per
change (on a machine shared with other work, wall-clock latency includes waiting for a
core; the load average is printed too).
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import numpy as np  # noqa: E402
from _timing import all_widgets, attach_comms, ms  # noqa: E402 - benchmarks/_timing.py

import adaviz  # noqa: E402
from adaviz import _math, engine  # noqa: E402
from adaviz.panels.compare import runs  # noqa: E402


def paths_match_engine(panel):
    """Whether every drawn path is ``adaviz.simulate``'s for the panel's settings."""
    steps = int(panel.controls["steps"].value)
    for name in panel.optimizers:
        t = adaviz.simulate(
            panel.surface,
            start=panel.start,
            steps=runs.capacity(int(panel.controls["steps"].value)),
            optimizer=name,
            loss_scale=[1.0, panel.loss_scale],
            **panel.hyperparameters(name),
        )
        k = int(t.diverged_at[1])
        n = steps + 1 if k < 0 or k > steps else k
        (trace,) = [tr for tr in panel.figures["surface"].data if tr.name == name]
        got = np.stack([np.asarray(trace.x), np.asarray(trace.y)], axis=1)
        if not np.array_equal(got, t.positions[:n, 1]):
            return False
    return True


def control_changes(rng):
    """120 (widget path, value) changes: sliders of every optimizer, k, steps, surface."""
    surfaces = ["rosenbrock", "beale", "himmelblau", "booth"]
    changes = []
    for i in range(120):
        kind = i % 8
        if kind == 0:
            changes.append((("adadelta", "lr"), float(10 ** rng.uniform(-1, 0.7))))
        elif kind == 1:
            changes.append((("sgd", "lr"), float(10 ** rng.uniform(-5, -3))))
        elif kind == 2:
            changes.append((("momentum", "lr"), float(10 ** rng.uniform(-5, -3))))
        elif kind == 3:
            changes.append((("adam", "lr"), float(10 ** rng.uniform(-3, -1))))
        elif kind == 4:
            changes.append((("adadelta", "rho"), float(np.round(rng.uniform(0.8, 0.99), 3))))
        elif kind == 5:
            changes.append((("loss_scale",), float(rng.choice(np.arange(-3, 3.25, 0.25)))))
        elif kind == 6:
            changes.append((("steps",), int(rng.integers(10, 5001))))
        else:
            changes.append((("surface",), surfaces[(i // 8) % len(surfaces)]))
    return changes, surfaces


def widget(panel, path):
    control = panel.controls[path[0]]
    return control[path[1]] if len(path) == 2 else control


def load():
    """The load average (1, 5, 15 min) as text."""
    return ", ".join(f"{v:.1f}" for v in os.getloadavg())


def main():
    load_at_start = load()
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    panel = adaviz.ComparePanel("rosenbrock", steps=1000)
    built = time.perf_counter() - t0
    comms = attach_comms(all_widgets(panel))
    changes, surfaces = control_changes(rng)
    t0 = time.perf_counter()
    for surface in surfaces:  # what panel.precompile() does in the background, for these
        panel.controls["surface"].value = surface
    for path, value in changes:  # warm-up pass
        widget(panel, path).value = value
    warm = time.perf_counter() - t0
    panel.controls["surface"].value = "rosenbrock"
    panel.controls["steps"].value = 1000

    traces_before = engine.trace_count()
    msgs_before, bytes_before = sum(c.messages for c in comms), sum(c.bytes for c in comms)
    times, cpu, by_kind, cpu_by_kind = [], [], {}, {}
    for path, value in changes:
        w = widget(panel, path)
        if w.value == value:
            continue
        c0, t0 = time.process_time(), time.perf_counter()
        w.value = value  # returns once every figure has been updated and sent
        elapsed = time.perf_counter() - t0
        cpu.append(time.process_time() - c0)
        times.append(elapsed)
        by_kind.setdefault(path[-1], []).append(elapsed)
        cpu_by_kind.setdefault(path[-1], []).append(cpu[-1])
    compiles = engine.trace_count() - traces_before
    msgs = (sum(c.messages for c in comms) - msgs_before) / len(times)
    sent = (sum(c.bytes for c in comms) - bytes_before) / len(times)
    same = paths_match_engine(panel)

    # the engine alone: the four calls one change makes
    engine_times = []
    for _ in range(30):
        t0 = time.perf_counter()
        for name in panel.optimizers:
            runs.run(panel.surface, name, panel.start, panel.hyperparameters(name), 10.0, 1000)
        engine_times.append(time.perf_counter() - t0)

    # (b) tune with every rule
    tuner = adaviz.ComparePanel("rosenbrock", tuple(_math.RULES), steps=1000)
    attach_comms(all_widgets(tuner))
    t0 = time.perf_counter()
    tuner.tune()
    cold = time.perf_counter() - t0
    tunes = []
    for lr in (0.5, 1.0, 2.0, 0.7, 1.5):
        tuner.controls["adadelta"]["lr"].value = lr  # a new start point, same search
        t0 = time.perf_counter()
        result = tuner.tune()
        tunes.append(time.perf_counter() - t0)

    p95 = ms(times, 95)
    print(f"load average (1, 5, 15 min): at start {load_at_start}; now {load()} (2 cores)")
    print(
        f"ComparePanel (adadelta, sgd, momentum, adam; rosenbrock, 1,000 steps): built in "
        f"{built:.1f} s (compiles 4 rules), warm-up pass {warm:.1f} s"
    )
    print(
        f"(a) control change -> all 4 figures updated, {len(times)} changes: median "
        f"{ms(times, 50):.1f} ms   p95 {p95:.1f} ms   max {max(times) * 1e3:.1f} ms"
    )
    print(
        f"    TARGET p95 <= 50 ms: p95 {p95:.1f} ms = {p95 / 50:.2f} x the target -> "
        f"{'met' if p95 <= 50 else 'NOT met'}"
    )
    print(
        f"    CPU time of this process per change (less sensitive to other processes on a "
        f"shared machine): median {ms(cpu, 50):.1f} ms   p95 {ms(cpu, 95):.1f} ms"
    )
    print("    per control kind (wall clock; CPU time of this process):")
    for kind, values in by_kind.items():
        used = cpu_by_kind[kind]
        print(
            f"    {kind:<10} n={len(values):3d}  median {ms(values, 50):5.1f} ms   "
            f"p95 {ms(values, 95):5.1f} ms   (CPU median {ms(used, 50):5.1f} ms   "
            f"p95 {ms(used, 95):5.1f} ms)"
        )
    print(
        f"    graphs compiled during the timed changes: {compiles}; drawn paths equal "
        f"adaviz.simulate's: {same}; per change {msgs:.0f} comm messages, {sent / 1e3:.0f} kB"
    )
    print(
        "    engine alone, one change at a 1,000-step budget (4 rules x 2 loss scales x "
        f"{runs.capacity(1000):,} steps): median {ms(engine_times, 50):.1f} ms"
    )
    warm_med = ms(tunes, 50)
    print(
        f"(b) tune(), 7 rules x {len(runs.LR_GRID)} lr x 1,000 steps: first (compiles) "
        f"{cold:.2f} s; warm median {warm_med / 1e3:.3f} s, max {max(tunes):.3f} s"
    )
    print(
        f"    TARGET warm tune <= 0.5 s: max {max(tunes):.3f} s = {max(tunes) / 0.5:.2f} x "
        f"the target -> {'met' if max(tunes) <= 0.5 else 'NOT met'}"
    )
    print("    tuned lr: " + ", ".join(f"{k} {v['lr']:.3g}" for k, v in result.items()))


if __name__ == "__main__":
    main()
