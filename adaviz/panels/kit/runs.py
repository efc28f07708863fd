"""Slicing and comparing :class:`adaviz.Trajectory` runs for the views (no engine calls)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np


def cut(traj, steps, runs=slice(None)):
    """The first ``steps`` steps of runs ``runs`` of a Trajectory run for longer: every
    per-step array cut along time and runs, per-run arrays along runs, a divergence after
    ``steps`` forgotten."""
    total = traj.steps

    def part(value):
        if isinstance(value, dict):
            return {k: part(v) for k, v in value.items()}
        if isinstance(value, np.ndarray) and value.ndim >= 2:
            if value.shape[0] == total + 1:
                return value[: steps + 1, runs]
            if value.shape[0] == total:
                return value[:steps, runs]
        if isinstance(value, np.ndarray) and value.ndim == 1:
            return value[runs]
        return value

    changes = {f.name: part(getattr(traj, f.name)) for f in dataclasses.fields(traj)}
    changes["diverged_at"] = np.where(changes["diverged_at"] > steps, -1, changes["diverged_at"])
    return dataclasses.replace(traj, **changes)


def valid(traj):
    """The number of valid positions of a single-run Trajectory: up to its divergence."""
    k = int(traj.diverged_at[0])
    return traj.steps + 1 if k < 0 else k


def distance(base, other):
    """The largest distance between two single-run paths over their valid positions
    (``inf`` if exactly one of them diverged)."""
    if base.diverged[0] != other.diverged[0]:
        return math.inf
    n = min(valid(base), valid(other))
    if n == 0:
        return 0.0
    a, b = base.positions[:n, 0], other.positions[:n, 0]
    return float(np.max(np.linalg.norm(a - b, axis=-1)))
