"""Tests for adaviz.sweep: every cell against simulate and an independent float64 reference,
metrics, divergence, retracing, executors and every refused input.

Chaos: near a minimum Adadelta's bouncing amplifies rounding differences exponentially, so a
float32 cell is compared with the same cell of a batched ``simulate`` (same compiled shapes),
and single-cell runs are compared in float64.
"""

from __future__ import annotations

import concurrent.futures

import numpy as np
import pytest
import tensorflow as tf

import adaviz
from adaviz import sweeps

RHO = np.linspace(0.0, 0.999, 12)
EPS = np.logspace(-10, -1, 9)


def bowl():
    """A user-defined surface (a lambda: it must travel to workers by value)."""
    return adaviz.Surface(
        lambda x, y: (x - 0.5) ** 2 + 3.0 * (y + 0.25) ** 2,
        domain=((-2, 2), (-2, 2)),
        minima=[(0.5, -0.25)],
        start=(-1.5, 1.5),
        name="test bowl",
    )


def booth_reference(start, steps, lr, rho, eps):
    """Adadelta on Booth's function in float64 numpy, written from the paper (no adaviz code)."""
    p = np.array(start, np.float64)
    accum_grad = np.zeros(2)
    accum_delta = np.zeros(2)
    losses = []
    for _ in range(steps):
        x, y = p
        a, b = x + 2 * y - 7, 2 * x + y - 5
        losses.append(a**2 + b**2)
        g = np.array([2 * a + 4 * b, 4 * a + 2 * b])
        accum_grad = rho * accum_grad + (1 - rho) * g**2
        dx = np.sqrt(accum_delta + eps) / np.sqrt(accum_grad + eps) * g
        p = p - lr * dx
        accum_delta = rho * accum_delta + (1 - rho) * dx**2
    x, y = p
    losses.append((x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2)
    return np.array(losses), p


def grid_simulate(surface, steps, dtype, **axes_and_fixed):
    """simulate over every cell of a 2-axis rho x epsilon grid, flattened in C order."""
    rho, eps = np.meshgrid(axes_and_fixed.pop("rho"), axes_and_fixed.pop("epsilon"), indexing="ij")
    return adaviz.simulate(
        surface, steps=steps, rho=rho.ravel(), epsilon=eps.ravel(), dtype=dtype, **axes_and_fixed
    )


# ------------------------------------------------------------------------ against simulate
def test_every_cell_equals_the_batched_simulate_float32():
    s = adaviz.sweep("rosenbrock", epsilon=EPS, rho=RHO, steps=300, tol=1.0)
    assert s.shape == (len(RHO), len(EPS))  # rule order: rho before epsilon
    assert [name for name, _ in s.axes] == ["rho", "epsilon"]
    np.testing.assert_array_equal(s.axes[0][1], RHO)
    t = grid_simulate("rosenbrock", 300, tf.float32, rho=RHO, epsilon=EPS)
    np.testing.assert_array_equal(s.diverged.ravel(), t.diverged)
    np.testing.assert_array_equal(s.metrics["final_loss"].ravel(), t.final_loss)
    with np.errstate(invalid="ignore"):
        lowest = np.where(t.diverged, np.nan, np.nanmin(t.loss, axis=0))
    np.testing.assert_array_equal(s.metrics["min_loss"].ravel(), lowest)
    np.testing.assert_array_equal(s.metrics["distance_to_minimum"].ravel(), t.distance_to_minimum())
    reached = t.steps_to_tolerance(1.0).astype(float)
    reached[(reached < 0) | t.diverged] = np.nan  # not reached, or diverged later
    np.testing.assert_array_equal(s.metrics["steps_to_converge"].ravel(), reached)
    assert np.isfinite(s.metrics["steps_to_converge"]).any()  # some cells do converge
    assert np.isnan(s.metrics["steps_to_converge"]).any()  # and some do not


@pytest.mark.parametrize("surface", ["rosenbrock", "himmelblau", "user"])
def test_cells_equal_their_single_simulate_run_float64(surface):
    surface = bowl() if surface == "user" else surface
    s = adaviz.sweep(surface, rho=RHO, epsilon=EPS, lr=0.7, steps=200, dtype=tf.float64)
    for i, j in [(0, 0), (3, 5), (7, 2), (11, 8), (11, 0)]:
        t = s.trajectory(i, j)
        assert t.hyperparameters["rho"][0] == RHO[i]
        assert t.hyperparameters["epsilon"][0] == EPS[j]
        assert t.hyperparameters["lr"][0] == 0.7
        assert s.diverged[i, j] == t.diverged[0]
        np.testing.assert_array_equal(s.metrics["final_loss"][i, j], t.final_loss[0])
        np.testing.assert_array_equal(s.final_position[i, j], t.final_position[0])
        if not t.diverged[0]:
            assert s.metrics["min_loss"][i, j] == np.min(t.loss[:, 0])


def test_final_loss_equals_an_independent_float64_reference():
    rho = np.array([0.5, 0.9, 0.95])
    eps = np.array([1e-6, 1e-3])
    s = adaviz.sweep("booth", (0.0, 0.0), rho=rho, epsilon=eps, lr=0.5, steps=150, dtype="float64")
    for i, r in enumerate(rho):
        for j, e in enumerate(eps):
            losses, final = booth_reference((0.0, 0.0), 150, 0.5, r, e)
            # The run's own sensitivity bounds what rounding alone can change: rho 0.5 with
            # epsilon 1e-3 turns a 1e-15 change of the start into ~5e-10 of the final loss,
            # so XLA's and NumPy's roundings (FMA or not) differ by up to ~3e-8 there.
            moved, _ = booth_reference((1e-15, 0.0), 150, 0.5, r, e)
            sensitivity = abs(moved[-1] - losses[-1]) / losses[-1]
            rtol = max(1e-9, 1e3 * sensitivity)
            np.testing.assert_allclose(s.values[i, j], losses[-1], rtol=rtol)
            np.testing.assert_allclose(
                s.metrics["min_loss"][i, j], losses.min(), rtol=rtol, atol=1e-12
            )
            np.testing.assert_allclose(s.final_position[i, j], final, rtol=rtol)
            np.testing.assert_allclose(
                s.metrics["distance_to_minimum"][i, j],
                np.hypot(final[0] - 1.0, final[1] - 3.0),
                rtol=1e-6,
                atol=1e-12,
            )
            within = np.flatnonzero(losses - 0.0 <= 1e-3)
            expected = within[0] if within.size else np.nan
            np.testing.assert_array_equal(s.metrics["steps_to_converge"][i, j], expected)


def test_one_axis_sweep_and_other_rules():
    lr = np.array([0.001, 0.01, 0.05])
    s = adaviz.sweep("booth", optimizer="sgd", lr=lr, steps=50, dtype=tf.float64)
    assert s.shape == (3,)
    t = adaviz.simulate("booth", steps=50, optimizer="sgd", lr=lr, dtype=tf.float64)
    np.testing.assert_array_equal(s.values, t.final_loss)
    assert s.settings(1) == {"lr": 0.01}
    m = adaviz.sweep("booth", optimizer="momentum", momentum=[0.0, 0.5, 0.9], lr=0.01, steps=40)
    assert [name for name, _ in m.axes] == ["momentum"]
    assert m.trajectory(2).hyperparameters["momentum"][0] == 0.9


@pytest.mark.slow
def test_loss_scale_matches_simulate():
    s = adaviz.sweep("booth", rho=[0.9, 0.95], loss_scale=1e3, steps=80, dtype=tf.float64)
    t = adaviz.simulate("booth", steps=80, rho=[0.9, 0.95], loss_scale=1e3, dtype=tf.float64)
    np.testing.assert_array_equal(s.values, t.final_loss)
    np.testing.assert_array_equal(s.trajectory(1).final_loss, t.final_loss[1:])


# ------------------------------------------------------------------------ metrics
def test_steps_to_converge_is_nan_when_not_reached_and_zero_only_at_the_minimum():
    far = adaviz.sweep("rosenbrock", rho=[0.9, 0.95], steps=1, metric="steps_to_converge")
    assert np.all(np.isnan(far.values)) and not far.diverged.any()
    at_min = adaviz.sweep(
        "rosenbrock", (1.0, 1.0), rho=[0.9, 0.95], steps=5, metric="steps_to_converge"
    )
    np.testing.assert_array_equal(at_min.values, [0.0, 0.0])


def test_diverged_cells_are_nan_and_flagged():
    lr = np.array([0.1, 1e4])  # lr 1e4: the first step, 1e4*sqrt(0.1), leaves the bounds
    s = adaviz.sweep(bowl(), lr=lr, rho=[0.0, 0.5], epsilon=0.1, steps=20, tol=5.0)
    t = adaviz.simulate(bowl(), steps=20, lr=np.repeat(lr, 2), rho=[0.0, 0.5] * 2, epsilon=0.1)
    np.testing.assert_array_equal(s.diverged.ravel(), t.diverged)
    assert s.diverged[1].all() and not s.diverged[0].any()
    np.testing.assert_array_equal(s.diverged_at[1], [1, 1])
    for metric in sweeps.METRICS:
        values = s.with_metric(metric).values
        assert np.isnan(values[1]).all(), metric
        assert np.isfinite(values[0]).all(), metric
    assert s.best()[0][0] == 0


def test_best_and_settings():
    s = adaviz.sweep("rosenbrock", rho=RHO, epsilon=EPS, decay=0.001, metric="min_loss")
    index, settings = s.best()
    assert s.values[index] == np.nanmin(s.values)
    assert settings == {
        "lr": 1.0,
        "rho": float(RHO[index[0]]),
        "epsilon": float(EPS[index[1]]),
        "decay": 0.001,
    }
    assert s.with_metric("final_loss").values is s.metrics["final_loss"]
    with pytest.raises(ValueError, match=r"the epsilon index must be an integer in \[0, 8\]"):
        s.settings(0, 9)
    with pytest.raises(ValueError, match="has 2 indices, got 1"):
        s.trajectory(0)
    never = adaviz.sweep("rosenbrock", rho=[0.9], steps=1, metric="steps_to_converge")
    with pytest.raises(ValueError, match="no cell of this sweep has a finite steps_to_converge"):
        never.best()


def test_new_values_do_not_retrace():
    adaviz.sweep("rosenbrock", rho=RHO, epsilon=EPS, steps=300)
    before = sweeps.trace_count()
    for k in range(3):
        adaviz.sweep(
            "rosenbrock",
            rho=RHO * (0.5 + 0.1 * k),
            epsilon=EPS * (k + 1),
            lr=0.5 + k,
            decay=0.01 * k,
            steps=290 + k,  # same step bucket
        )
    assert sweeps.trace_count() == before


# ------------------------------------------------------------------------ executors
# (worker processes: a Dask LocalCluster in test_model_sweep.py, which starts one anyway)
@pytest.mark.slow
def test_thread_pool_executor_equals_in_process(monkeypatch):
    monkeypatch.setattr(sweeps.metric, "CHUNK_RUNS", 25)  # 108 runs -> 5 chunks
    expected = adaviz.sweep(bowl(), rho=RHO, epsilon=EPS, steps=100)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        got = adaviz.sweep(bowl(), rho=RHO, epsilon=EPS, steps=100, executor=pool)
    for name in sweeps.METRICS:
        np.testing.assert_array_equal(got.metrics[name], expected.metrics[name])
    np.testing.assert_array_equal(got.diverged_at, expected.diverged_at)


# ------------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"metric": "loss"}, r"metric must be one of \['final_loss', 'min_loss', "),
        ({}, "give one or two hyperparameters as 1-D arrays"),
        ({"rho": RHO, "epsilon": EPS, "lr": [1.0, 2.0]}, "one or two axes, got arrays for 3"),
        ({"rho": []}, "rho must have at least one value to sweep, got an empty array"),
        ({"rho": [0.5, 1.5]}, r"rho must be in \[0, 1\], got 1.5 at index 1"),
        ({"epsilon": [1e-6, np.nan]}, "epsilon must be a finite number >= 0, got nan at index 1"),
        ({"rho": RHO, "beta_1": 0.9}, "beta_1 is not a hyperparameter of optimizer 'adadelta'"),
        ({"rho": RHO, "optimizer": "lbfgs"}, "optimizer must be one of"),
        ({"rho": RHO, "executor": 4}, "executor must be a concurrent.futures.Executor"),
        ({"rho": RHO, "steps": 0}, r"steps must be an integer in \[1, "),
        ({"rho": RHO, "tol": -1.0}, "tol must be a finite number >= 0, got -1.0"),
        ({"rho": RHO, "loss_scale": 0.0}, "loss_scale must be a finite number > 0"),
        ({"rho": RHO, "start": [(0, 0), (1, 1)]}, "start must be one point"),
        ({"rho": RHO, "dtype": "int32"}, "dtype must be tf.float32 or tf.float64"),
    ],
)
def test_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        adaviz.sweep("rosenbrock", **kwargs)


def test_metrics_that_need_minima_are_refused_on_a_surface_without_them():
    saddle = adaviz.Surface(lambda x, y: x**2 - y**2, domain=((-1, 1), (-1, 1)), name="saddle")
    with pytest.raises(ValueError, match="'distance_to_minimum' needs the surface's minima"):
        adaviz.sweep(saddle, rho=RHO, metric="distance_to_minimum")
    s = adaviz.sweep(saddle, rho=RHO, steps=10)
    assert sorted(s.metrics) == ["final_loss", "min_loss"]
    with pytest.raises(ValueError, match="metric must be one of"):
        s.with_metric("steps_to_converge")
