"""The engine calls of a comparison of update rules: the step capacities, the runs drawn,
Tune's batched search and its objective, and the compile jobs that prepare them.

Every call goes through :data:`adaviz.panels.kit.warmup.WARMUP` under the key its compile
job has, so a draw waits only for the one graph the background thread is compiling.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from adaviz.panels.kit import arrays
from adaviz.panels.kit.runs import cut, distance, valid
from adaviz.panels.kit.warmup import WARMUP

#: steps slider range.
STEPS_RANGE = (10, 5000)
#: step counts the engine runs for the views (the smallest >= the budget is used).
CAPACITIES = (1000, STEPS_RANGE[1])
#: the lr values every optimizer is tuned over: 64, log-spaced over 6 decades.
LR_GRID = np.logspace(-5.0, 1.0, 64)
#: the objective averages the loss over this last fraction of the budget.
TUNE_WINDOW = 0.1
#: engine runs kept per optimizer (a surface or setting chosen again runs nothing).
RUNS_KEPT = 4


def objective(trajectory, steps=None):
    """The tuning objective of each run: the mean loss over the last 10 % of ``steps``.

    In the surface's own units (the loss divided by the run's loss scale), over the
    positions after steps ``steps - w + 1 ... steps``, ``w = ceil(0.1 * steps)``; ``inf``
    for a run that diverged by then. Returns an ``(N,)`` float64 array.
    """
    steps = trajectory.steps if steps is None else int(steps)
    window = tune_window(steps)
    loss = trajectory.loss[steps - window + 1 : steps + 1].astype(np.float64)
    with np.errstate(invalid="ignore"):
        value = np.mean(loss / trajectory.loss_scale, axis=0)
    diverged = (trajectory.diverged_at >= 0) & (trajectory.diverged_at <= steps)
    return np.where(diverged | ~np.isfinite(value), np.inf, value)


def tune_window(steps):
    """How many of the last positions of a budget of ``steps`` the objective averages."""
    return max(1, math.ceil(TUNE_WINDOW * steps))


def capacity(steps):
    """The step count the panel runs for a budget of ``steps``: the smallest of
    :data:`CAPACITIES` that holds it."""
    return next(c for c in CAPACITIES if c >= steps)


def job(surface, name, start, values, scale, steps, *, tune=False):
    """``(key, fn)``: the panel's engine call for one rule, run by ``fn()``, under
    :data:`WARMUP`'s ``key``. The draw: ``loss_scale = [1, scale]``; Tune (``tune``): every
    lr of :data:`LR_GRID` at ``scale``; both for ``capacity(steps)`` steps."""
    from adaviz import engine

    steps = capacity(steps)  # Tune's objective reads the first `steps` of them

    def call():
        return engine.simulate(
            surface,
            start=start,
            steps=steps,
            optimizer=name,
            loss_scale=scale if tune else [1.0, scale],
            **(dict(values, lr=LR_GRID) if tune else values),
        )

    return ("compare-tune" if tune else "compare", name, steps), call


def run(surface, name, start, values, scale, steps):
    """The draw's engine call for one rule (waits only while the background thread
    compiles this surface)."""
    return WARMUP.run(surface, *job(surface, name, start, values, scale, steps))


def tune_runs(surface, name, start, values, scale, steps):
    """Tune's engine call for one rule: every lr of :data:`LR_GRID`."""
    return WARMUP.run(surface, *job(surface, name, start, values, scale, steps, tune=True))


def best_lr(surface, name, start, values, scale, steps):
    """Tune one rule: ``(scores, lr)``, the objective of every lr of :data:`LR_GRID` and
    the best of them (None when every run diverged)."""
    scores = objective(tune_runs(surface, name, start, values, scale, steps), steps)
    if not np.isfinite(scores).any():
        return scores, None
    return scores, float(LR_GRID[int(np.argmin(scores))])


@dataclasses.dataclass(frozen=True)
class Tune:
    """What one tune found and set (see :func:`best_lr`).

    Attributes:
        number: how many tunes ran before it and it (1 for the first).
        context: where it was made: ``(surface name, budget, k, start)``.
        curves: per rule ``(scores, best lr or None)``, the objective over :data:`LR_GRID`.
        values: per rule the values it set (its lr when none was found).
    """

    number: int
    context: tuple
    curves: dict
    values: dict

    def found(self, name):
        """Whether the tune found an lr for rule ``name`` (some run did not diverge)."""
        return self.curves[name][1] is not None

    def where(self, now):
        """'' when it holds in context ``now``, else where it was made ("beale, 300 steps,
        k = 1", the start only on the same surface)."""
        then, parts = self.context, []
        if then[0] != now[0]:
            parts.append(then[0])
        if then[1] != now[1]:
            parts.append(f"{then[1]} steps")
        if then[2] != now[2]:
            parts.append(f"k = {then[2]:g}")
        if then[3] != now[3] and then[0] == now[0]:
            parts.append(f"start ({then[3][0]:.3g}, {then[3][1]:.3g})")
        return ", ".join(parts)


def warmup_jobs(current, others, names, steps):
    """The compile jobs of a panel on ``current`` (its other capacity and its Tune graphs
    first), then of every rule at both capacities on the ``others`` surfaces."""
    tiers = sorted(CAPACITIES, key=lambda c: c != capacity(steps))

    def one(surf, name, c, tune=False):
        return (surf, *job(surf, name, surf.start, {}, 1.0, c, tune=tune))

    jobs = [one(current, name, c, t) for t in (False, True) for c in tiers for name in names]
    jobs += [one(surf, name, c) for c in tiers for surf in others for name in names]
    return jobs


class RunCache:
    """The draw's runs of each rule, the last :data:`RUNS_KEPT` per rule: a run is made
    again only when something it depends on changed (another rule's slider, or the
    budget within a capacity, runs nothing)."""

    def __init__(self):
        self._kept = {}  # name -> {what a run depends on: the engine's Trajectory}

    def get(self, surface, name, start, values, scale, steps):
        """The runs of ``name`` at loss scales 1 and ``scale`` (see :func:`run`)."""
        key = (
            surface,  # the object (by identity), not its id: an id can be reused
            tuple(float(v) for v in start),
            capacity(steps),
            scale,
            tuple(sorted(values.items())),
        )
        kept = self._kept.setdefault(name, {})
        found = kept.pop(key, None)  # (re-inserted: the most recently used is last)
        if found is None:
            found = run(surface, name, start, values, scale, steps)
        kept[key] = found
        while len(kept) > RUNS_KEPT:
            del kept[next(iter(kept))]
        return found


def drawn(runs, steps, scale, f_star):
    """What the views draw of one rule's runs at loss scales 1 and ``scale`` (see
    :func:`run`), cut to ``steps``: a dict of ``run`` (the Trajectory at k, N = 1), ``base`` (at 1),
    ``moved`` (how far the path moved from the base, :func:`adaviz.panels.kit.runs.distance`),
    ``path`` and ``ghost`` (``(x, y)`` float64 up to each one's divergence), ``loss``
    (in the surface's units, above ``f_star`` when it is finite) against ``loss_steps``,
    and ``step_size`` (x, y) against ``size_steps``."""
    both = cut(runs, steps)
    traj = cut(both, steps, slice(1, 2))
    base = cut(both, steps, slice(0, 1))
    n, m0 = valid(traj), valid(base)
    pos = traj.positions[:n, 0]
    loss = traj.loss[:n, 0].astype(np.float64) / scale
    m = min(n, steps)
    return {
        "run": traj,
        "base": base,
        "moved": distance(base, traj),
        "path": (arrays.floats(pos[:, 0]), arrays.floats(pos[:, 1])),
        "ghost": tuple(arrays.floats(base.positions[:m0, 0, i]) for i in (0, 1)),
        "loss": arrays.floats(loss - f_star if math.isfinite(f_star) else loss),
        "loss_steps": arrays.step_axis(n),
        "step_size": tuple(arrays.positive_or_nan(traj.step_size[:m, 0, i]) for i in (0, 1)),
        "size_steps": arrays.step_axis(m + 1)[1:],
    }
