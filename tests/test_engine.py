"""Tests for adaviz.engine.simulate: against adaviz.Adadelta, against an independent float64
numpy reference, batching, divergence, retracing and every refused input.

Chaos: near a minimum Adadelta's bouncing amplifies rounding differences exponentially, so
trajectories are compared in float64 or over windows where the dynamics are smooth (the
settings below move steadily downhill for all compared steps).
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

import adaviz
from adaviz import engine

# ---------------------------------------------------------------- float64 reference
# Hand-written gradients and Hessian diagonals, and Zeiler's update written from the paper
# (TensorFlow's form), sharing no code with adaviz.


def rosenbrock(p):
    x, y = p[..., 0], p[..., 1]
    f = (1 - x) ** 2 + 100 * (y - x**2) ** 2
    g = np.stack([-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)], -1)
    h = np.stack([2 - 400 * (y - x**2) + 800 * x**2, np.full_like(x, 200.0)], -1)
    return f, g, h


def booth(p):
    x, y = p[..., 0], p[..., 1]
    a, b = x + 2 * y - 7, 2 * x + y - 5
    f = a**2 + b**2
    g = np.stack([2 * a + 4 * b, 4 * a + 2 * b], -1)
    h = np.stack([np.full_like(x, 10.0), np.full_like(x, 10.0)], -1)
    return f, g, h


def himmelblau(p):
    x, y = p[..., 0], p[..., 1]
    a, b = x**2 + y - 11, x + y**2 - 7
    f = a**2 + b**2
    g = np.stack([4 * x * a + 2 * b, 2 * a + 4 * y * b], -1)
    h = np.stack([12 * x**2 + 4 * y - 42, 4 * x + 12 * y**2 - 26], -1)
    return f, g, h


REFERENCE_SURFACES = {"rosenbrock": rosenbrock, "booth": booth, "himmelblau": himmelblau}


def reference(fgh, start, steps, lr, rho, eps, decay):
    """Adadelta in float64 numpy, batched over rows; hyperparameters are (N,) arrays."""
    lr, rho, eps, decay = (np.asarray(v, np.float64)[:, None] for v in (lr, rho, eps, decay))
    p = np.array(start, np.float64)
    A = np.zeros_like(p)
    D = np.zeros_like(p)
    out = {k: [] for k in ("positions", "loss", "grads", "accum_grad", "accum_delta")}
    out.update(step_size=[], newton_step_size=[])
    for t in range(steps):
        f, g, h = fgh(p)
        out["positions"].append(p)
        out["loss"].append(f)
        out["grads"].append(g)
        out["accum_grad"].append(A)
        out["accum_delta"].append(D)
        out["newton_step_size"].append(1 / np.abs(h))
        lr_t = lr / (1 + decay * t)
        A = rho * A + (1 - rho) * g**2
        ratio = np.sqrt(D + eps) / np.sqrt(A + eps)
        dx = ratio * g
        p = p - lr_t * dx
        D = rho * D + (1 - rho) * dx**2
        out["step_size"].append(lr_t * ratio)
    out["positions"].append(p)
    out["loss"].append(fgh(p)[0])
    out["accum_grad"].append(A)
    out["accum_delta"].append(D)
    return {k: np.array(v) for k, v in out.items()}


FIELDS = ("positions", "loss", "grads", "accum_grad", "accum_delta", "step_size")


@pytest.mark.parametrize("name", sorted(REFERENCE_SURFACES))
def test_float64_simulate_equals_the_numpy_reference(name):
    s = adaviz.surfaces.get(name)
    starts = np.array([s.start, [s.start[0] * 0.5, s.start[1] * 0.8], [0.3, 0.4]])
    hyper = dict(
        lr=[1.0, 0.5, 2.0], rho=[0.95, 0.9, 0.8], epsilon=[1e-6, 1e-4, 1e-5], decay=[0, 0.01, 0.1]
    )
    steps = 150
    t = adaviz.simulate(s, start=starts, steps=steps, dtype=tf.float64, **hyper)
    ref = reference(
        REFERENCE_SURFACES[name],
        starts,
        steps,
        *(hyper[k] for k in ("lr", "rho", "epsilon", "decay")),
    )
    assert not t.diverged.any()
    for field in FIELDS + ("newton_step_size",):
        got, want = getattr(t, field), ref[field]
        assert got.shape == want.shape, field
        scale = np.max(np.abs(want), axis=0, keepdims=True)  # per run and coordinate
        error = np.abs(got - want)
        assert np.all(error <= 1e-9 * np.abs(want) + 1e-11 * scale), (field, error.max())
    np.testing.assert_array_equal(t.lr, hyper["lr"])
    np.testing.assert_array_equal(t.decay, hyper["decay"])


def test_float32_simulate_tracks_the_float64_reference_while_the_dynamics_are_smooth():
    s = adaviz.surfaces.get("booth")
    t = adaviz.simulate(s, steps=200, lr=1.0, rho=0.95, epsilon=1e-6, decay=0.01)
    ref = reference(booth, [s.start], 200, [1.0], [0.95], [1e-6], [0.01])
    assert t.positions.dtype == np.float32
    np.testing.assert_allclose(t.positions, ref["positions"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(t.accum_delta, ref["accum_delta"], rtol=1e-4, atol=1e-12)


# ---------------------------------------------------------------- against adaviz.Adadelta


def step_optimizer(surface, steps, dtype, grads=None, **hyper):
    """Step adaviz.Adadelta on a tf.Variable; grads[t] replaces the tape gradient if given."""
    var = tf.Variable(np.asarray(surface.start), dtype=dtype)
    opt = adaviz.Adadelta(track_step_size=True, **hyper)
    rec = {k: [] for k in ("positions", "accum_grad", "accum_delta", "step_size")}
    for t in range(steps):
        rec["positions"].append(var.numpy())
        if grads is None:
            with tf.GradientTape() as tape:
                loss = surface.fn(var[0], var[1])
            grad = tape.gradient(loss, var)
        else:
            grad = tf.constant(grads[t], dtype)
        opt.apply_gradients([(grad, var)])
        accum_grad, accum_delta = opt.accumulators(var)
        rec["accum_grad"].append(accum_grad.numpy())
        rec["accum_delta"].append(accum_delta.numpy())
        rec["step_size"].append(opt.step_size(var).numpy())
    rec["positions"].append(var.numpy())
    return {k: np.array(v) for k, v in rec.items()}


HYPER = dict(lr=1.0, rho=0.95, epsilon=1e-6, decay=0.01)


@pytest.mark.parametrize("name", ["rosenbrock", "beale"])
def test_simulate_equals_stepping_adaviz_adadelta_in_float64(name):
    s = adaviz.surfaces.get(name)
    t = adaviz.simulate(s, steps=200, dtype=tf.float64, **HYPER)
    opt = step_optimizer(s, 200, tf.float64, **HYPER)
    np.testing.assert_allclose(t.positions[:, 0], opt["positions"], rtol=0, atol=1e-12)
    for field in ("accum_grad", "accum_delta", "step_size"):
        got = getattr(t, field)[1:, 0] if field != "step_size" else t.step_size[:, 0]
        np.testing.assert_allclose(got, opt[field], rtol=1e-10, err_msg=field)


@pytest.mark.parametrize("name", ["rosenbrock", "beale"])
def test_simulate_equals_stepping_adaviz_adadelta_in_float32(name):
    # The optimizer is fed the engine's gradients: XLA's fused autodiff of f rounds the
    # gradient differently from eager TensorFlow in the last bit, which would otherwise
    # be the only source of difference. Positions then agree within 1e-6; accumulators
    # within a few float32 ulps (6e-8 relative each) of rounding between TF's fused
    # ResourceApplyAdadelta kernel and the XLA-compiled formula.
    s = adaviz.surfaces.get(name)
    t = adaviz.simulate(s, steps=200, **HYPER)
    opt = step_optimizer(s, 200, tf.float32, grads=t.grads[:, 0], **HYPER)
    np.testing.assert_allclose(t.positions[:, 0], opt["positions"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(t.accum_grad[1:, 0], opt["accum_grad"], rtol=2e-6)
    np.testing.assert_allclose(t.accum_delta[1:, 0], opt["accum_delta"], rtol=2e-6)
    np.testing.assert_allclose(t.step_size[:, 0], opt["step_size"], rtol=2e-6)


def test_defaults_match_adaviz_adadelta():
    t = adaviz.simulate("rosenbrock", steps=3)
    opt = adaviz.Adadelta()
    assert t.lr[0] == float(opt.lr) == 1.0
    assert t.rho[0] == pytest.approx(float(opt.rho)) and t.rho[0] == 0.95
    assert t.epsilon[0] == keras.config.epsilon() == pytest.approx(float(opt.epsilon))
    assert t.decay[0] == 0.0
    np.testing.assert_array_equal(t.positions[0, 0], adaviz.surfaces.get("rosenbrock").start)


# ---------------------------------------------------------------- shapes and helpers


def test_trajectory_shapes_always_have_an_n_axis():
    t = adaviz.simulate("himmelblau", steps=7)
    assert isinstance(t, adaviz.Trajectory)
    assert t.positions.shape == (8, 1, 2) and t.loss.shape == (8, 1)
    assert t.grads.shape == t.step_size.shape == t.newton_step_size.shape == (7, 1, 2)
    assert t.accum_grad.shape == t.accum_delta.shape == (8, 1, 2)
    assert t.diverged_at.shape == (1,) and t.diverged_at.dtype.kind == "i"
    assert t.steps == 7 and t.n == 1
    for hp in (t.lr, t.rho, t.epsilon, t.decay):
        assert hp.shape == (1,)
    np.testing.assert_array_equal(t.accum_grad[0], 0.0)
    # the recorded arrays are ordinary writeable numpy arrays
    t.positions[0, 0, 0] = 123.0
    t5 = adaviz.simulate("himmelblau", start=np.zeros((5, 2)), steps=3)
    assert t5.positions.shape == (4, 5, 2)
    # positions[t+1] = positions[t] - step_size[t] * grads[t]
    np.testing.assert_allclose(
        t5.positions[1:], t5.positions[:-1] - t5.step_size * t5.grads, rtol=1e-6
    )


def test_newton_step_size_is_the_inverse_curvature():
    t = adaviz.simulate("ill_conditioned", steps=20, dtype=tf.float64)
    np.testing.assert_allclose(t.newton_step_size[..., 0], 1.0)
    np.testing.assert_allclose(t.newton_step_size[..., 1], 0.01)


def test_helpers_final_loss_distance_and_steps_to_tolerance():
    s = adaviz.surfaces.get("himmelblau")
    starts = np.array([[2.5, 1.5], [-2.5, 2.5], [0.0, 0.0]])
    t = adaviz.simulate(s, start=starts, steps=400, epsilon=1e-4, dtype=tf.float64)
    np.testing.assert_array_equal(t.final_loss, t.loss[-1])
    np.testing.assert_array_equal(t.final_position, t.positions[-1])
    mins = np.array(s.minima)
    manual = [np.min(np.linalg.norm(mins - p, axis=1)) for p in t.positions[-1]]
    np.testing.assert_allclose(t.distance_to_minimum(), manual)
    np.testing.assert_allclose(
        t.distance_to_minimum(0), [np.min(np.linalg.norm(mins - p, axis=1)) for p in starts]
    )
    tol = 1e-2
    steps = t.steps_to_tolerance(tol)
    for i in range(3):
        within = np.flatnonzero(t.loss[:, i] <= tol)
        assert steps[i] == (within[0] if within.size else -1)
    assert (steps[:2] > 0).all()  # the first two reach their minimum
    assert (t.steps_to_tolerance(-0.0) <= t.steps).all()
    for bad in (-1.0, np.nan, np.inf, "1e-3", True):
        with pytest.raises(ValueError, match="tol must be a finite number >= 0"):
            t.steps_to_tolerance(bad)
    saddle = adaviz.simulate("saddle", steps=3)
    with pytest.raises(ValueError, match="no minima"):
        saddle.steps_to_tolerance(1e-3)
    with pytest.raises(ValueError, match="no minima"):
        saddle.distance_to_minimum()


# ---------------------------------------------------------------- batching


@pytest.mark.parametrize(
    "name, dtype, steps",
    [("six_hump_camel", tf.float64, 40), ("booth", tf.float32, 120), ("beale", tf.float32, 120)],
)
def test_one_batched_call_equals_separate_calls(name, dtype, steps):
    # XLA vectorizes N=4 and N=1 differently, so the last bit may differ; compare where the
    # runs descend smoothly (on the camel, run 0 starts bouncing in a local minimum at step
    # ~45 and a 1e-16 difference grows chaotically to 1e-7 by step 120, even in float64)
    s = adaviz.surfaces.get(name)
    rho = np.array([0.8, 0.9, 0.95, 0.99])
    eps = np.array([1e-6, 1e-4, 1e-3, 1e-7])
    lr = np.array([1.0, 0.5, 2.0, 1.0])
    decay = np.array([0.0, 0.01, 0.0, 0.1])
    if True:
        batched = adaviz.simulate(
            s, steps=steps, lr=lr, rho=rho, epsilon=eps, decay=decay, dtype=dtype
        )
        assert batched.positions.shape == (steps + 1, 4, 2)
        for i in range(4):
            single = adaviz.simulate(
                s, steps=steps, lr=lr[i], rho=rho[i], epsilon=eps[i], decay=decay[i], dtype=dtype
            )
            rtol = 1e-6 if dtype == tf.float32 else 1e-13
            for field in FIELDS + ("newton_step_size",):
                np.testing.assert_allclose(
                    getattr(batched, field)[:, i],
                    getattr(single, field)[:, 0],
                    rtol=rtol,
                    atol=rtol * np.abs(getattr(single, field)).max(),
                    err_msg=field,
                )


def test_starts_and_hyperparameters_broadcast():
    s = adaviz.surfaces.get("booth")
    starts = np.array([[0.0, 0.0], [5.0, -5.0], [-3.0, 2.0]])
    t = adaviz.simulate(s, start=starts, steps=30, rho=0.9)
    np.testing.assert_array_equal(t.rho, [0.9, 0.9, 0.9])
    np.testing.assert_array_equal(t.positions[0], starts)
    grid = adaviz.simulate(s, start=(1.0, 1.0), steps=30, rho=[0.9, 0.99])
    np.testing.assert_array_equal(grid.positions[0], [[1.0, 1.0], [1.0, 1.0]])
    assert not np.array_equal(grid.positions[-1, 0], grid.positions[-1, 1])


# ---------------------------------------------------------------- divergence


def test_divergence_is_flagged_not_raised():
    s = adaviz.surfaces.get("rosenbrock")
    # epsilon = 0 started exactly at the minimum: sqrt(0)/sqrt(0) = 0/0 on the first step
    t = adaviz.simulate(s, start=[[1.0, 1.0], [1.0, 1.0]], steps=50, epsilon=[0.0, 1e-7])
    np.testing.assert_array_equal(t.diverged_at, [1, -1])
    np.testing.assert_array_equal(t.diverged, [True, False])
    np.testing.assert_array_equal(t.positions[0, 0], [1.0, 1.0])
    assert np.isfinite(t.loss[0, 0]) and np.isfinite(t.grads[0, 0]).all()
    for field in ("positions", "loss", "accum_grad", "accum_delta"):
        assert np.isnan(getattr(t, field)[1:, 0]).all(), field
    for field in ("grads", "step_size", "newton_step_size"):
        assert np.isnan(getattr(t, field)[1:, 0]).all(), field
    # the healthy run next to it is untouched: at the minimum it stays put
    np.testing.assert_array_equal(t.positions[:, 1], np.ones((51, 2)))
    assert np.isnan(t.final_loss[0]) and t.final_loss[1] == 0.0


def test_leaving_the_bounds_is_divergence():
    s = adaviz.surfaces.get("saddle")  # unbounded below along y: Adadelta runs away
    t = adaviz.simulate(s, steps=2000, lr=50.0, epsilon=1e-2)
    k = int(t.diverged_at[0])
    assert k > 0
    (xlo, xhi), (ylo, yhi) = s.bounds
    before = t.positions[:k, 0]
    assert np.isfinite(before).all()
    assert ((before[:, 1] >= ylo) & (before[:, 1] <= yhi)).all()
    assert np.isnan(t.positions[k:, 0]).all() and np.isnan(t.loss[k:, 0]).all()
    # the unmasked next position would have been outside the bounds
    nxt = before[-1] - t.step_size[k - 1, 0] * t.grads[k - 1, 0]
    assert not (ylo <= nxt[1] <= yhi and xlo <= nxt[0] <= xhi)


def test_huge_learning_rate_overflows_without_raising():
    t = adaviz.simulate("goldstein_price", steps=100, lr=[1e30, 1.0], epsilon=[1.0, 1e-6])
    assert t.diverged_at[0] >= 1 and t.diverged_at[1] == -1


# ---------------------------------------------------------------- tracing


@pytest.mark.slow
def test_new_hyperparameter_values_never_retrace():
    s = adaviz.surfaces.get("beale")
    adaviz.simulate(s, steps=37)  # trace (and compile) this (surface, N, steps, dtype)
    before = engine.trace_count()
    rng = np.random.default_rng(0)
    for _ in range(20):
        adaviz.simulate(
            s,
            start=rng.uniform(-2, 2, 2),
            steps=37,
            lr=float(rng.uniform(0.1, 3)),
            rho=float(rng.uniform(0.5, 0.999)),
            epsilon=float(10 ** rng.uniform(-9, -2)),
            decay=float(rng.uniform(0, 0.1)),
        )
    assert engine.trace_count() == before
    # step counts in the same bucket share the graph (33..40 here); a new bucket,
    # a new N, a new dtype or a new surface trace once
    t = adaviz.simulate(s, steps=33)
    assert t.positions.shape == (34, 1, 2) and t.grads.shape == (33, 1, 2)
    longer = adaviz.simulate(s, steps=37, lr=0.7)
    shorter = adaviz.simulate(s, steps=33, lr=0.7)
    for field in FIELDS + ("newton_step_size",):
        np.testing.assert_array_equal(
            getattr(shorter, field), getattr(longer, field)[: getattr(shorter, field).shape[0]]
        )
    assert engine.trace_count() == before
    adaviz.simulate(s, steps=41)
    assert engine.trace_count() == before + 1
    adaviz.simulate(s, start=np.zeros((3, 2)), steps=37)
    assert engine.trace_count() == before + 2
    adaviz.simulate(s, steps=37, dtype=tf.float64)
    assert engine.trace_count() == before + 3
    adaviz.simulate("booth", steps=37)
    assert engine.trace_count() == before + 4
    adaviz.simulate(s, start=np.ones((3, 2)), steps=37, rho=[0.1, 0.2, 0.3])
    assert engine.trace_count() == before + 4


# ---------------------------------------------------------------- refused inputs


@pytest.mark.parametrize(
    "steps", [0, -5, 2.5, "100", True, None, np.array(5.0), np.array([5]), np.array(0)]
)
def test_bad_step_count_is_refused(steps):
    with pytest.raises(ValueError, match="steps must be an integer >= 1, got "):
        adaviz.simulate("booth", steps=steps)


@pytest.mark.parametrize("steps", [np.array(7), np.int64(7), np.array(7, np.uint8)])
def test_a_numpy_integer_step_count_is_taken_like_an_int(steps):
    got = adaviz.simulate("booth", steps=steps, rho=np.array(0.9))
    want = adaviz.simulate("booth", steps=7, rho=0.9)
    assert got.steps == 7
    np.testing.assert_array_equal(got.positions, want.positions)


def test_absurd_step_count_is_refused():
    with pytest.raises(ValueError, match=r"steps must be <= 1,000,000 .*steps=1,000,001 with N=1"):
        adaviz.simulate("booth", steps=1_000_001)
    with pytest.raises(ValueError, match=r"steps=100,000 with N=1,000"):
        adaviz.simulate("booth", start=np.zeros((1000, 2)), steps=100_000)


@pytest.mark.parametrize(
    "start, match",
    [
        ((1.0, 2.0, 3.0), r"shape \(2,\) or \(N, 2\).*got shape \(3,\)"),
        (np.zeros((4, 3)), r"got shape \(4, 3\)"),
        (np.zeros((2, 2, 2)), r"got shape \(2, 2, 2\)"),
        (np.zeros((0, 2)), r"got shape \(0, 2\)"),
        ([[1.0, np.nan]], "start must be finite"),
        ("origin", "start must be a point"),
        ((1e6, 0.0), r"start must lie within x in \[-210, 210\].*got \(1e\+06, 0\) at index 0"),
    ],
)
def test_bad_start_is_refused(start, match):
    with pytest.raises(ValueError, match=match):
        adaviz.simulate("booth", start=start, steps=5)


def test_hyperparameter_arrays_of_the_wrong_length_are_refused():
    with pytest.raises(ValueError, match=r"start: 3 points, rho: 2 values"):
        adaviz.simulate("booth", start=np.zeros((3, 2)), steps=5, rho=[0.9, 0.95])
    with pytest.raises(ValueError, match=r"lr: 2 values, epsilon: 3 values"):
        adaviz.simulate("booth", steps=5, lr=[1.0, 2.0], epsilon=[1e-6, 1e-5, 1e-4])
    with pytest.raises(ValueError, match=r"1-D array"):
        adaviz.simulate("booth", steps=5, rho=[[0.9, 0.95]])
    with pytest.raises(ValueError, match=r"rho must be a number or an array of N >= 1 values"):
        adaviz.simulate("booth", steps=5, rho=[])


@pytest.mark.parametrize(
    "name, value, match",
    [
        ("lr", -0.1, r"lr must be a finite number >= 0, got -0.1"),
        ("lr", np.inf, r"lr must be a finite number >= 0, got inf"),
        ("rho", 1.5, r"rho must be in \[0, 1\], got 1.5"),
        ("rho", -0.01, r"rho must be in \[0, 1\], got -0.01"),
        ("rho", np.nan, r"rho must be in \[0, 1\], got nan"),
        ("epsilon", -1e-7, r"epsilon must be a finite number >= 0, got -1e-07"),
        ("decay", -1.0, r"decay must be a finite number >= 0, got -1.0"),
        ("decay", "0.1", r"decay must be a finite number >= 0, got '0.1'"),
        ("rho", [0.9, 1.2], r"rho must be in \[0, 1\], got 1.2 at index 1"),
        ("lr", [1.0, np.nan], r"lr must be a finite number >= 0, got nan at index 1"),
        ("epsilon", True, r"epsilon must be a finite number >= 0, got True"),
    ],
)
def test_bad_hyperparameters_are_refused_like_the_optimizer(name, value, match):
    with pytest.raises(ValueError, match=match):
        adaviz.simulate("booth", steps=5, **{name: value})
    if np.ndim(value) == 0:  # adaviz.Adadelta refuses the same scalar
        with pytest.raises(ValueError):
            adaviz.Adadelta(**{name: value})


def test_unknown_surface_and_bad_dtype_are_refused():
    with pytest.raises(ValueError, match="unknown surface 'nope'.*rosenbrock"):
        adaviz.simulate("nope")
    for dtype in (tf.int32, tf.float16, "complex64", "not a dtype"):
        with pytest.raises(ValueError, match="dtype must be tf.float32 or tf.float64"):
            adaviz.simulate("booth", steps=5, dtype=dtype)
