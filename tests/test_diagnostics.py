"""adaviz.diagnostics: per-layer statistics against the optimizer's slot variables.

The references are computed here in float64 numpy from copies of the weights and of the
optimizer's slot variables (read directly, not through adaviz.diagnostics).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import adaviz
from adaviz.diagnostics import LayerDiagnostics, layer_groups

X = np.random.default_rng(0).standard_normal((64, 3)).astype(np.float32)
Y = (np.sin(X[:, :1]) + 0.5 * X[:, 1:2]).astype(np.float32)


def small_model(seed=0):
    init = keras.initializers.GlorotUniform
    return keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(6, activation="tanh", name="hidden", kernel_initializer=init(seed)),
            keras.layers.Dense(1, name="out", kernel_initializer=init(seed + 1)),
        ]
    )


def slots64(optimizer, variable):
    if isinstance(optimizer, adaviz.Adadelta):
        a, d = optimizer.accumulators(variable)
    else:
        i = optimizer._get_variable_index(variable)
        a, d = optimizer._accumulated_grads[i], optimizer._accumulated_delta_vars[i]
    return np.array(a.numpy(), np.float64), np.array(d.numpy(), np.float64)


def run_one_step(model, optimizer, diag):
    """One training step with the diagnostics taken around it, in one tf.function."""
    loss_fn = keras.losses.MeanSquaredError()

    @tf.function
    def step():
        w0, d0, lr_t = diag.weights(), diag.accum_delta(), diag.learning_rate()
        with tf.GradientTape() as tape:
            loss = loss_fn(Y, model(X, training=True))
        grads = tape.gradient(loss, diag.variables)
        optimizer.apply(grads, diag.variables)
        sizes = diag.step_sizes(lr_t, d0)
        return diag.statistics(w0), sizes, diag.spread(sizes), diag.per_layer(sizes), lr_t

    return step()


@pytest.mark.parametrize(
    "make",
    [
        lambda: adaviz.Adadelta(lr=0.7, rho=0.9, epsilon=1e-6, decay=0.1),
        lambda: keras.optimizers.Adadelta(learning_rate=1.0, rho=0.95, epsilon=1e-7),
    ],
    ids=["adaviz", "keras"],
)
def test_statistics_equal_the_slots(make):
    model, optimizer = small_model(), make()
    diag = LayerDiagnostics(model, optimizer)
    assert diag.layer_names == ["hidden", "out"] and diag.sizes == [3 * 6 + 6, 6 + 1]
    variables = model.trainable_variables
    for _ in range(3):  # three steps, so the accumulators and the decay are non-trivial
        before_w = [np.array(v.numpy(), np.float64) for v in variables]
        before = [slots64(optimizer, v) for v in variables]
        iterations = int(optimizer.iterations.numpy())
        stats, sizes, (low, mid, high), flat, lr_t = run_one_step(model, optimizer, diag)
    after_w = [np.array(v.numpy(), np.float64) for v in variables]
    after = [slots64(optimizer, v) for v in variables]
    if isinstance(optimizer, adaviz.Adadelta):
        lr, decay, eps = 0.7, 0.1, 1e-6
    else:
        lr, decay, eps = 1.0, 0.0, 1e-7
    expected_lr = lr / (1 + decay * iterations)
    np.testing.assert_allclose(float(lr_t), expected_lr, rtol=1e-12)
    assert bool(stats["finite"])
    for j, idx in enumerate(([0, 1], [2, 3])):
        a = np.concatenate([after[i][0].ravel() for i in idx])
        d = np.concatenate([after[i][1].ravel() for i in idx])
        d_prev = np.concatenate([before[i][1].ravel() for i in idx])
        dw = np.concatenate([(after_w[i] - before_w[i]).ravel() for i in idx])
        w0 = np.concatenate([before_w[i].ravel() for i in idx])
        np.testing.assert_allclose(stats["accum_grad_rms"][j], np.sqrt(np.mean(a)), rtol=1e-5)
        np.testing.assert_allclose(stats["accum_delta_rms"][j], np.sqrt(np.mean(d)), rtol=1e-5)
        np.testing.assert_allclose(
            stats["update_ratio"][j], np.linalg.norm(dw) / np.linalg.norm(w0), rtol=1e-4
        )
        s = expected_lr * np.sqrt(d_prev + eps) / np.sqrt(a + eps)
        np.testing.assert_allclose(flat[j].numpy(), s, rtol=1e-5)
        np.testing.assert_allclose(
            [low[j], mid[j], high[j]], [s.min(), np.median(s), s.max()], rtol=1e-5
        )
    assert [t.shape for t in sizes] == [v.shape for v in variables]


def test_non_finite_weights_are_flagged():
    model, optimizer = small_model(1), adaviz.Adadelta()
    diag = LayerDiagnostics(model, optimizer)
    stats = tf.function(lambda: diag.statistics(diag.weights()))
    assert bool(stats()["finite"])
    kernel = model.get_layer("out").kernel
    kernel.assign(np.where(np.arange(6)[:, None] == 2, np.inf, kernel.numpy()))
    assert not bool(stats()["finite"])


def test_layer_groups_and_refusal():
    shared = keras.layers.Dense(3, name="shared")
    inputs = keras.Input((3,))
    outputs = keras.layers.Dense(1, name="head")(shared(shared(inputs)))
    model = keras.Model(inputs, outputs)
    groups = layer_groups(model)
    assert [name for name, _ in groups] == ["shared", "head"]
    assert sum(len(vs) for _, vs in groups) == len(model.trainable_variables) == 4
    with pytest.raises(ValueError, match=r"need an Adadelta optimizer .* got keras.*SGD"):
        LayerDiagnostics(model, keras.optimizers.SGD())
