"""adaviz.Adadelta against an independent float64 numpy reference and against the oracles.

The reference below is written from the equations of TensorFlow's ResourceApplyAdadelta
and shares no code with adaviz. The oracles are tf_keras's legacy Adadelta (same
hyperparameters, including decay) and Keras 3's Adadelta (no decay).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import adaviz

SHAPES = [(), (7,), (3, 4), (2, 3, 5)]
STEPS = 50


def reference_step(x, accum_grad, accum_delta, grad, lr, rho, epsilon, decay, t):
    """One float64 Adadelta step; returns (x, A, D, step_size)."""
    x, accum_grad, accum_delta, grad = (
        np.asarray(a, np.float64) for a in (x, accum_grad, accum_delta, grad)
    )
    lr_t = lr / (1.0 + decay * t)
    accum_grad = rho * accum_grad + (1.0 - rho) * grad * grad
    ratio = np.sqrt(accum_delta + epsilon) / np.sqrt(accum_grad + epsilon)
    dx = ratio * grad
    x = x - lr_t * dx
    accum_delta = rho * accum_delta + (1.0 - rho) * dx * dx
    return x, accum_grad, accum_delta, lr_t * ratio


def reference_run(x0, grads, lr, rho, epsilon, decay):
    x = np.asarray(x0, np.float64)
    accum_grad = np.zeros_like(x)
    accum_delta = np.zeros_like(x)
    step_size = np.zeros_like(x)
    for t, grad in enumerate(grads):
        x, accum_grad, accum_delta, step_size = reference_step(
            x, accum_grad, accum_delta, grad, lr, rho, epsilon, decay, t
        )
    return x, accum_grad, accum_delta, step_size


def random_hyperparameters(rng):
    return {
        "lr": float(10 ** rng.uniform(-2, 0.5)),
        "rho": float(rng.uniform(0.5, 0.999)),
        "epsilon": float(10 ** rng.uniform(-8, -2)),
        "decay": float(rng.uniform(0.0, 0.1)),
    }


def random_problem(rng, dtype):
    x0 = [rng.normal(size=s).astype(dtype) for s in SHAPES]
    # Gradient scales spanning four decades, different per step and per variable.
    grads = [
        [(rng.normal(size=s) * 10 ** rng.uniform(-3, 1)).astype(dtype) for _ in range(STEPS)]
        for s in SHAPES
    ]
    return x0, grads


@pytest.mark.parametrize("track_step_size", [False, True], ids=["fused", "tracked"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_float64_matches_reference_over_50_steps(seed, track_step_size):
    rng = np.random.default_rng(seed)
    hyper = random_hyperparameters(rng)
    x0, grads = random_problem(rng, np.float64)
    variables = [tf.Variable(x) for x in x0]
    opt = adaviz.Adadelta(**hyper, track_step_size=track_step_size)

    @tf.function
    def step(gs):
        opt.apply_gradients(zip(gs, variables, strict=True))

    for t in range(STEPS):
        step([tf.constant(g[t]) for g in grads])
    for i, var in enumerate(variables):
        x, accum_grad, accum_delta, step_size = reference_run(x0[i], grads[i], **hyper)
        got_a, got_d = opt.accumulators(var)
        np.testing.assert_allclose(var.numpy(), x, rtol=1e-12)
        np.testing.assert_allclose(got_a.numpy(), accum_grad, rtol=1e-12)
        np.testing.assert_allclose(got_d.numpy(), accum_delta, rtol=1e-12)
        if track_step_size:
            np.testing.assert_allclose(opt.step_size(var).numpy(), step_size, rtol=1e-12)


@pytest.mark.parametrize("track_step_size", [False, True], ids=["fused", "tracked"])
@pytest.mark.parametrize("seed", [3, 4, 5])
def test_float32_matches_reference_every_step(seed, track_step_size):
    """Each of 50 float32 steps equals the float64 reference step from the same state.

    Checked step by step (the reference starts each step from the optimizer's float32
    state): over 50 steps float32 rounding (6e-8 per operation) compounds through the
    feedback of E[dx^2] into the update, so only the one-step error is a property of
    the implementation. The parameter is compared on the scale of the subtraction
    ``|x| + |lr_t * dx|`` (a parameter crossing zero has no meaningful relative error).
    """
    rng = np.random.default_rng(seed)
    hyper = random_hyperparameters(rng)
    x0, grads = random_problem(rng, np.float32)
    variables = [tf.Variable(x) for x in x0]
    opt = adaviz.Adadelta(**hyper, track_step_size=track_step_size)

    @tf.function
    def step(gs):
        opt.apply_gradients(zip(gs, variables, strict=True))

    opt.build(variables)
    for t in range(STEPS):
        before = [(v.numpy(), *(a.numpy() for a in opt.accumulators(v))) for v in variables]
        step([tf.constant(g[t]) for g in grads])
        for i, var in enumerate(variables):
            x_old, a_old, d_old = before[i]
            x, accum_grad, accum_delta, step_size = reference_step(
                x_old, a_old, d_old, grads[i][t], t=t, **hyper
            )
            got_a, got_d = opt.accumulators(var)
            np.testing.assert_allclose(got_a.numpy(), accum_grad, rtol=1e-6)
            np.testing.assert_allclose(got_d.numpy(), accum_delta, rtol=1e-6)
            scale = np.abs(x_old) + np.abs(x - x_old)
            assert np.all(np.abs(var.numpy() - x) <= 1e-6 * scale), (t, i)
            if track_step_size:
                np.testing.assert_allclose(opt.step_size(var).numpy(), step_size, rtol=1e-6)


def test_float32_whole_run_stays_close_to_reference():
    """The 50-step float32 trajectory as a whole, against float64 (compounded rounding)."""
    rng = np.random.default_rng(6)
    hyper = random_hyperparameters(rng)
    x0, grads = random_problem(rng, np.float32)
    variables = [tf.Variable(x) for x in x0]
    opt = adaviz.Adadelta(**hyper)
    for t in range(STEPS):
        opt.apply_gradients([(tf.constant(g[t]), v) for g, v in zip(grads, variables, strict=True)])
    for i, var in enumerate(variables):
        x, accum_grad, accum_delta, _ = reference_run(x0[i], grads[i], **hyper)
        got_a, got_d = opt.accumulators(var)
        np.testing.assert_allclose(got_a.numpy(), accum_grad, rtol=1e-5)
        np.testing.assert_allclose(got_d.numpy(), accum_delta, rtol=1e-4)
        np.testing.assert_allclose(var.numpy(), x, rtol=1e-4, atol=1e-5 * np.abs(x0[i]).max())


def test_float16_variables_take_the_generic_path():
    """Dtypes without the fused kernel go through adaviz._math.adadelta_step."""
    grad = np.array([0.5, -2.0, 3.0], np.float16)
    var = tf.Variable(np.array([1.0, 2.0, -1.0], np.float16))
    opt = adaviz.Adadelta(lr=1.0, rho=0.9, epsilon=1e-3)
    opt.apply_gradients([(tf.constant(grad), var)])
    x, accum_grad, accum_delta, _ = reference_run([1.0, 2.0, -1.0], [grad], 1.0, 0.9, 1e-3, 0.0)
    assert var.dtype == tf.float16
    np.testing.assert_allclose(var.numpy(), x, rtol=2e-3)
    np.testing.assert_allclose(opt.accumulators(var)[0].numpy(), accum_grad, rtol=2e-3)
    np.testing.assert_allclose(opt.accumulators(var)[1].numpy(), accum_delta, rtol=5e-3)


# ---------------------------------------------------------------------- oracles


def _run_pair(ours, theirs, dtype, seed, steps=STEPS):
    """Apply the same random gradients with both optimizers; return both variable sets."""
    rng = np.random.default_rng(seed)
    x0, grads = random_problem(rng, dtype)
    ours_vars = [tf.Variable(x) for x in x0]
    theirs_vars = [tf.Variable(x) for x in x0]
    for t in range(steps):
        ours.apply_gradients(
            [(tf.constant(g[t]), v) for g, v in zip(grads, ours_vars, strict=True)]
        )
        theirs.apply_gradients(
            [(tf.constant(g[t]), v) for g, v in zip(grads, theirs_vars, strict=True)]
        )
    return ours_vars, theirs_vars


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_tf_keras_legacy_adadelta_with_decay(dtype):
    import tf_keras

    # tf_keras keeps hyperparameters in float32 variables even for float64 models, so
    # use values that float32 represents exactly (adaviz keeps them in float64).
    hyper = {"rho": 0.875, "epsilon": 2.0**-20, "decay": 0.0625}
    ours = adaviz.Adadelta(lr=0.5, **hyper)
    theirs = tf_keras.optimizers.legacy.Adadelta(learning_rate=0.5, **hyper)
    ours_vars, theirs_vars = _run_pair(ours, theirs, dtype, seed=7)
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    assert int(ours.iterations.numpy()) == int(theirs.iterations.numpy()) == STEPS
    for mine, other in zip(ours_vars, theirs_vars, strict=True):
        np.testing.assert_allclose(mine.numpy(), other.numpy(), rtol=rtol, atol=rtol * 1e-3)
        accum_grad, accum_delta = ours.accumulators(mine)
        np.testing.assert_allclose(
            accum_grad.numpy(), theirs.get_slot(other, "accum_grad").numpy(), rtol=rtol
        )
        np.testing.assert_allclose(
            accum_delta.numpy(), theirs.get_slot(other, "accum_var").numpy(), rtol=rtol
        )
    assert theirs.get_config()["decay"] == ours.get_config()["decay"] == 0.0625


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_keras3_adadelta_without_decay(dtype):
    # Keras 3 keeps lr in float32: use values float32 represents exactly.
    hyper = {"learning_rate": 0.25, "rho": 0.875, "epsilon": 2.0**-20}
    ours = adaviz.Adadelta(**hyper)
    theirs = keras.optimizers.Adadelta(**hyper)
    ours_vars, theirs_vars = _run_pair(ours, theirs, dtype, seed=8)
    # Keras 3 divides where TF multiplies by rsqrt: a few ulps per step.
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    for i, (mine, other) in enumerate(zip(ours_vars, theirs_vars, strict=True)):
        np.testing.assert_allclose(mine.numpy(), other.numpy(), rtol=rtol, atol=rtol * 1e-3)
        accum_grad, accum_delta = ours.accumulators(mine)
        np.testing.assert_allclose(
            accum_grad.numpy(), theirs._accumulated_grads[i].numpy(), rtol=rtol
        )
        np.testing.assert_allclose(
            accum_delta.numpy(), theirs._accumulated_delta_vars[i].numpy(), rtol=rtol
        )


# ---------------------------------------------------------------------- golden values


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64])
def test_golden_rho0_eps1_lr1_g1_moves_by_minus_0_70710678(dtype):
    # A = 1, dx = sqrt(0 + 1) / sqrt(1 + 1) * 1 = 1/sqrt(2). TensorFlow issue #9058 got
    # -0.866 from an evaluation-order bug (using the old D after updating it).
    var = tf.Variable(tf.zeros([1], dtype))
    opt = adaviz.Adadelta(lr=1.0, rho=0.0, epsilon=1.0)
    opt.apply_gradients([(tf.ones([1], dtype), var)])
    rtol = 1e-7 if dtype == tf.float32 else 1e-15
    np.testing.assert_allclose(var.numpy(), [-0.70710678118654752], rtol=rtol)
    np.testing.assert_allclose(opt.accumulators(var)[1].numpy(), [0.5], rtol=rtol)


@pytest.mark.parametrize(
    "lr, rho, epsilon", [(1.0, 0.95, 1e-7), (0.001, 0.95, 1e-7), (1.0, 0.9, 1e-6), (2.0, 0.5, 1e-8)]
)
def test_first_step_is_lr_sqrt_eps_over_one_minus_rho_times_sign(lr, rho, epsilon):
    grad = np.array([3.0, -0.5, 40.0, -0.1], np.float64)
    var = tf.Variable(np.zeros(4))
    adaviz.Adadelta(lr=lr, rho=rho, epsilon=epsilon).apply_gradients([(tf.constant(grad), var)])
    # Whatever the gradient's size, once (1 - rho) g^2 >> eps.
    expected = -lr * np.sqrt(epsilon / (1 - rho)) * np.sign(grad)
    np.testing.assert_allclose(var.numpy(), expected, rtol=1e-3)


def _stepping(values, counter):
    """A zero-argument callable returning ``values[counter[0]]`` (the last one after)."""

    def value():
        return values[min(counter[0], len(values) - 1)]

    return value


RHOS = [0.875, 0.5, 0.9375, 0.75]  # float32-exact, one per step
EPSILONS = [2.0**-20, 2.0**-16, 2.0**-24, 2.0**-18]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_callable_rho_matches_tf_keras_evaluated_every_step(dtype):
    """tf_keras's OptimizerV2 calls a callable ``rho`` at every step: so does adaviz.

    (tf_keras's Adadelta keeps ``epsilon`` as a plain attribute, so only ``rho`` is
    compared with it; a callable ``epsilon`` is checked against the reference below.)"""
    import tf_keras

    ours_step, theirs_step = [0], [0]
    ours = adaviz.Adadelta(lr=0.5, rho=_stepping(RHOS, ours_step), epsilon=2.0**-20)
    theirs = tf_keras.optimizers.legacy.Adadelta(
        learning_rate=0.5, rho=_stepping(RHOS, theirs_step), epsilon=2.0**-20
    )
    rng = np.random.default_rng(9)
    x0, grads = random_problem(rng, dtype)
    ours_vars = [tf.Variable(x) for x in x0]
    theirs_vars = [tf.Variable(x) for x in x0]
    for t in range(len(RHOS)):
        ours_step[0] = theirs_step[0] = t
        ours.apply_gradients(
            [(tf.constant(g[t]), v) for g, v in zip(grads, ours_vars, strict=True)]
        )
        theirs.apply_gradients(
            [(tf.constant(g[t]), v) for g, v in zip(grads, theirs_vars, strict=True)]
        )
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    for mine, other in zip(ours_vars, theirs_vars, strict=True):
        np.testing.assert_allclose(mine.numpy(), other.numpy(), rtol=rtol, atol=rtol * 1e-3)
        np.testing.assert_allclose(
            ours.accumulators(mine)[1].numpy(),
            theirs.get_slot(other, "accum_var").numpy(),
            rtol=rtol,
        )
    # both serialize a callable by its current value
    assert ours.get_config()["rho"] == theirs.get_config()["rho"] == RHOS[-1]


def test_callable_rho_and_epsilon_follow_the_reference_step_by_step():
    step = [0]
    opt = adaviz.Adadelta(lr=0.5, rho=_stepping(RHOS, step), epsilon=_stepping(EPSILONS, step))
    rng = np.random.default_rng(10)
    x0, grads = random_problem(rng, np.float64)
    variables = [tf.Variable(x) for x in x0]
    for t in range(len(RHOS)):
        step[0] = t
        opt.apply_gradients([(tf.constant(g[t]), v) for g, v in zip(grads, variables, strict=True)])
    for i, var in enumerate(variables):
        x = np.asarray(x0[i], np.float64)
        accum_grad, accum_delta = np.zeros_like(x), np.zeros_like(x)
        for t in range(len(RHOS)):
            x, accum_grad, accum_delta, _ = reference_step(
                x, accum_grad, accum_delta, grads[i][t], t=t, lr=0.5, rho=RHOS[t],
                epsilon=EPSILONS[t], decay=0.0,
            )  # fmt: skip
        np.testing.assert_allclose(var.numpy(), x, rtol=1e-12)
        np.testing.assert_allclose(opt.accumulators(var)[1].numpy(), accum_delta, rtol=1e-12)
    assert opt.get_config()["epsilon"] == EPSILONS[-1]
