"""Gradient noise in adaviz.simulate: the rules on recorded noisy gradients, the noise's
statistics, seeds, and no retrace on new noise values.

The Keras oracles step ``keras.optimizers.*`` (and adaviz.Adadelta, whose own oracle is
tf_keras's) with the gradients the engine recorded, so they share nothing with the
engine's noise or its update rules.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

import adaviz
from adaviz import engine


@pytest.fixture
def float64_keras():
    """Keras's learning-rate variable is created in floatx: make it float64 for exact lr."""
    before = keras.config.floatx()
    keras.config.set_floatx("float64")
    yield
    keras.config.set_floatx(before)


# (rule, hyperparameters exact in float32, the Keras constructor written independently)
CASES = {
    "adadelta": (
        "adadelta",
        dict(lr=1.0, rho=0.875, epsilon=2.0**-20),
        lambda: keras.optimizers.Adadelta(learning_rate=1.0, rho=0.875, epsilon=2.0**-20),
    ),
    "sgd": ("sgd", dict(lr=2.0**-12), lambda: keras.optimizers.SGD(learning_rate=2.0**-12)),
    "momentum": (
        "momentum",
        dict(lr=2.0**-13, momentum=0.875),
        lambda: keras.optimizers.SGD(learning_rate=2.0**-13, momentum=0.875),
    ),
    "rmsprop": (
        "rmsprop",
        dict(lr=2.0**-7, rho=0.875),
        lambda: keras.optimizers.RMSprop(learning_rate=2.0**-7, rho=0.875),
    ),
    "adam": (
        "adam",
        dict(lr=2.0**-6, beta_1=0.875, beta_2=1 - 2**-10),
        lambda: keras.optimizers.Adam(learning_rate=2.0**-6, beta_1=0.875, beta_2=1 - 2**-10),
    ),
}


def step_keras_with(make_optimizer, start, grads):
    """Positions of a float64 variable stepped by a Keras optimizer with the given gradients."""
    var = tf.Variable(np.asarray(start, np.float64))
    opt = make_optimizer()
    opt.build([var])

    @tf.function(jit_compile=False)
    def step(grad):
        opt.apply_gradients([(grad, var)])

    positions = [var.numpy()]
    for grad in grads:
        step(tf.constant(grad))
        positions.append(var.numpy())
    return np.array(positions)


@pytest.mark.parametrize("case", sorted(CASES))
def test_keras_stepped_with_the_recorded_noisy_gradients_reproduces_the_run(case, float64_keras):
    name, hyper, make_optimizer = CASES[case]
    t = adaviz.simulate(
        "rosenbrock", steps=150, optimizer=name, noise=5.0, seed=11, dtype="float64", **hyper
    )
    assert not t.diverged.any()
    noise = t.grads[:, 0] - t.true_grads[:, 0]
    assert np.abs(noise).max() > 1.0, "the run must actually be noisy"
    want = step_keras_with(make_optimizer, t.positions[0, 0], t.grads[:, 0])
    assert np.abs(want[-1] - want[0]).max() > 1e-3, "the run must actually move"
    np.testing.assert_allclose(t.positions[:, 0], want, rtol=0, atol=1e-10)
    # the true gradient is the surface's own at each recorded position
    clean = adaviz.simulate("rosenbrock", start=t.positions[:-1, 0], steps=1, dtype="float64")
    np.testing.assert_allclose(t.true_grads[:, 0], clean.grads[0], rtol=1e-10, atol=1e-10)


def test_adaviz_adadelta_stepped_with_the_recorded_gradients_reproduces_the_run():
    t = adaviz.simulate("beale", steps=100, noise=[0.5, 20.0], seed=[3, 4], dtype="float64")
    for i in range(2):
        want = step_keras_with(
            lambda: adaviz.Adadelta(lr=1.0, rho=0.95, epsilon=1e-7),
            t.positions[0, i],
            t.grads[:, i],
        )
        np.testing.assert_allclose(t.positions[:, i], want, rtol=0, atol=1e-10)


def test_the_noise_has_the_stated_standard_deviation_and_mean_zero():
    # a flat surface: the true gradient is 0, so the recorded gradient is the noise itself
    flat = adaviz.Surface(lambda x, y: 0.0 * x + 0.0 * y, domain=((-1, 1), (-1, 1)), name="flat")
    sigma = np.array([0.1, 3.0])
    t = adaviz.simulate(flat, start=(0.0, 0.0), steps=10_000, optimizer="sgd", lr=0.0,
                        noise=sigma, seed=[1, 2], dtype="float64")  # fmt: skip
    draws = t.grads  # (10000, 2, 2)
    np.testing.assert_array_equal(t.true_grads, 0.0)
    for i, s in enumerate(sigma):
        z = draws[:, i].ravel() / s  # 20,000 standard normal draws
        # mean: 4 standard errors; std: 4 standard errors of the std estimate
        assert abs(z.mean()) < 4 / np.sqrt(z.size), z.mean()
        assert abs(z.std() - 1.0) < 4 / np.sqrt(2 * z.size), z.std()
        # x and y uncorrelated, successive steps uncorrelated
        assert abs(np.corrcoef(draws[:, i, 0], draws[:, i, 1])[0, 1]) < 4 / np.sqrt(10_000)
        assert abs(np.corrcoef(draws[:-1, i, 0], draws[1:, i, 0])[0, 1]) < 4 / np.sqrt(10_000)
        # Gaussian tails: 4.55 % beyond 2 sigma
        assert abs(np.mean(np.abs(z) > 2) - 0.0455) < 0.006


def test_same_seed_same_run_other_seed_other_run_whatever_the_batch_or_rule():
    one = adaviz.simulate("rosenbrock", steps=200, noise=2.0, seed=5, dtype="float64")
    again = adaviz.simulate("rosenbrock", steps=200, noise=2.0, seed=5, dtype="float64")
    np.testing.assert_array_equal(one.positions, again.positions)
    # in a batch of other runs, at another position of it, the same noise and run
    batch = adaviz.simulate(
        "rosenbrock", steps=200, noise=[1.0, 2.0, 2.0], seed=[9, 5, 6], dtype="float64"
    )
    np.testing.assert_array_equal(batch.positions[:, 1], one.positions[:, 0])
    assert np.abs(batch.positions[-1, 2] - one.positions[-1, 0]).max() > 1e-3  # another seed
    # another rule sees the same noise sequence at the same steps
    noise = one.grads[:, 0] - one.true_grads[:, 0]
    sgd = adaviz.simulate(
        "rosenbrock", steps=200, optimizer="sgd", lr=1e-4, noise=2.0, seed=5, dtype="float64"
    )
    np.testing.assert_allclose(sgd.grads[:, 0] - sgd.true_grads[:, 0], noise, rtol=0, atol=1e-9)
    # noise 0 is the noise-free run, bit for bit
    quiet = adaviz.simulate("rosenbrock", steps=200, noise=0.0, seed=5, dtype="float64")
    plain = adaviz.simulate("rosenbrock", steps=200, dtype="float64")
    np.testing.assert_array_equal(quiet.positions, plain.positions)
    np.testing.assert_array_equal(quiet.grads, quiet.true_grads)
    np.testing.assert_array_equal(one.noise, [2.0]) and np.testing.assert_array_equal(one.seed, [5])


def test_new_noise_values_and_seeds_never_retrace():
    adaviz.simulate("himmelblau", steps=300, noise=0.1, seed=0)
    before = engine.trace_count()
    for noise, seed in ((0.0, 1), (1.0, 2), ([0.5, 2.0], [3, 4]), (10.0, 2**32 - 1)):
        t = adaviz.simulate("himmelblau", steps=300, noise=noise, seed=seed)
        assert t.positions.shape[0] == 301
    # a batch of 2 is another N: one more trace for that shape, none for the values
    assert engine.trace_count() - before == 1


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(noise=-0.1), r"noise must be a finite number >= 0, got -0.1"),
        (dict(noise=float("nan")), r"noise must be a finite number >= 0, got nan"),
        (dict(noise=[0.1, 0.2], seed=[1, 2, 3]), r"same length N"),
        (
            dict(seed=-1),
            r"seed must be an integer in \[0, 4294967295\] or a 1-D array of them, got -1",
        ),
        (dict(seed=1.5), r"seed must be an integer .* got 1.5"),
        (dict(seed=2**32), r"seed must be an integer .* got 4294967296"),
    ],
)
def test_bad_noise_and_seeds_are_refused_with_the_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        adaviz.simulate("rosenbrock", steps=5, **kwargs)


# ---------------------------------------------------------------------- sweep(noise=, seeds=)


@pytest.mark.slow
def test_noisy_sweep_is_the_mean_over_seeds_of_the_simulated_runs():
    rhos, epsilons = np.array([0.9, 0.95]), np.array([1e-6, 1e-4, 1e-2])
    s = adaviz.sweep("rosenbrock", steps=120, rho=rhos, epsilon=epsilons, noise=3.0, seeds=4,
                     dtype="float64")  # fmt: skip
    assert s.values.shape == (2, 3) and s.seeds == 4 and s.noise == 3.0
    for i, rho in enumerate(rhos):
        for j, eps in enumerate(epsilons):
            runs = adaviz.simulate("rosenbrock", steps=120, rho=rho, epsilon=eps, noise=3.0,
                                   seed=np.arange(4), dtype="float64")  # fmt: skip
            assert not runs.diverged.any()
            np.testing.assert_allclose(s.values[i, j], runs.final_loss.mean(), rtol=1e-9)
            np.testing.assert_allclose(
                s.spread["final_loss"][i, j], runs.final_loss.std(), rtol=1e-7
            )
            np.testing.assert_allclose(
                s.metrics["min_loss"][i, j], np.nanmin(runs.loss, axis=0).mean(), rtol=1e-9
            )
            # a cell's trajectory(seed=k) is that seed's run
            np.testing.assert_array_equal(
                s.trajectory(i, j, seed=2).positions[:, 0], runs.positions[:, 2]
            )
    assert s.spread["final_loss"].min() > 0  # the seeds differ
    assert (s.diverged_fraction == 0).all()


def test_noise_free_sweep_is_unchanged_and_new_noise_never_retraces():
    from adaviz.sweeps import metric

    plain = adaviz.sweep("himmelblau", steps=200, rho=[0.9, 0.95], epsilon=[1e-6, 1e-3])
    quiet = adaviz.sweep(
        "himmelblau", steps=200, rho=[0.9, 0.95], epsilon=[1e-6, 1e-3], noise=0.0, seeds=1
    )
    np.testing.assert_array_equal(plain.values, quiet.values)
    np.testing.assert_array_equal(quiet.spread["final_loss"], 0.0)
    adaviz.sweep("himmelblau", steps=200, rho=[0.9, 0.95], epsilon=[1e-6, 1e-3], noise=0.5, seeds=2)
    before = metric.trace_count()
    for noise in (0.1, 1.0, 7.0):
        adaviz.sweep(
            "himmelblau", steps=200, rho=[0.9, 0.95], epsilon=[1e-6, 1e-3], noise=noise, seeds=2
        )
    assert metric.trace_count() == before
    with pytest.raises(ValueError, match=r"seeds must be an integer in \[1, 1024\], got 0"):
        adaviz.sweep("himmelblau", steps=20, rho=[0.9, 0.95], noise=1.0, seeds=0)
    with pytest.raises(ValueError, match=r"noise must be a finite number >= 0, got -1"):
        adaviz.sweep("himmelblau", steps=20, rho=[0.9, 0.95], noise=-1)


def test_converged_means_within_tol_over_the_last_tenth_of_the_budget():
    t = adaviz.simulate("ill_conditioned", steps=3000, optimizer="sgd", lr=0.015,
                        noise=[0.0, 1.0], seed=0, dtype="float64")  # fmt: skip
    within = t.loss - 0.0 <= 1e-3  # (steps + 1, 2); the bowl's minimum value is 0
    tail = within[-300:]
    np.testing.assert_array_equal(t.converged(1e-3), tail.all(axis=0))
    assert t.converged(1e-3)[0] and not t.converged(1e-3)[1]  # the noisy run only passes through
    assert t.steps_to_tolerance(1e-3)[1] >= 0  # ... although it did pass through
    with pytest.raises(ValueError, match=r"fraction must be a number in \(0, 1\], got 0"):
        t.converged(1e-3, fraction=0)


def test_noisy_sweep_counts_convergence_only_when_it_stays_within_tol():
    lrs = np.array([0.002, 0.005, 0.015])
    s = adaviz.sweep("ill_conditioned", steps=2000, optimizer="sgd", lr=lrs, noise=1.0, seeds=3,
                     tol=0.05, metric="steps_to_converge", dtype="float64")  # fmt: skip
    for i, lr in enumerate(lrs):
        runs = adaviz.simulate("ill_conditioned", steps=2000, optimizer="sgd", lr=lr, noise=1.0,
                               seed=np.arange(3), dtype="float64")  # fmt: skip
        converged = runs.converged(0.05)
        within = runs.loss <= 0.05  # the bowl's minimum value is 0
        starts = []
        for k in range(3):
            outside = np.flatnonzero(~within[:, k])
            starts.append(outside[-1] + 1 if len(outside) else 0)
        want = np.mean(starts) if converged.all() else np.nan
        np.testing.assert_allclose(s.values[i], want)
    assert np.isfinite(s.values).any() and np.isnan(s.values).any()  # both cases occur
