"""AdadeltaMonitor: recorded statistics against the optimizer's slots, TensorBoard files.

The reference numbers are computed here in float64 numpy from copies of the weights
and slot variables taken around every batch by an independent spy callback.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.util import event_pb2

import adaviz
from adaviz.callbacks import STATS

X = np.random.default_rng(0).standard_normal((96, 3)).astype(np.float32)
Y = (np.sin(X[:, :1]) + 0.5 * X[:, 1:2]).astype(np.float32)


def small_model(seed=0):
    init = keras.initializers.GlorotUniform
    return keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(8, activation="tanh", name="hidden", kernel_initializer=init(seed)),
            keras.layers.Dense(1, name="out", kernel_initializer=init(seed + 1)),
        ]
    )


def read_slots(optimizer, variable):
    """(E[g²], E[Δx²]) of ``variable``, read without adaviz's helpers."""
    if isinstance(optimizer, adaviz.Adadelta):
        a, d = optimizer.accumulators(variable)
    else:
        index = optimizer._get_variable_index(variable)
        a, d = optimizer._accumulated_grads[index], optimizer._accumulated_delta_vars[index]
    return np.array(a.numpy(), np.float64), np.array(d.numpy(), np.float64)


class Spy(keras.callbacks.Callback):
    """Keeps float64 copies of weights and slots before and after every batch."""

    def __init__(self):
        super().__init__()
        self.before, self.after, self.iterations = {}, {}, {}
        self.seen = 0

    def _state(self):
        opt = self.model.optimizer
        variables = self.model.trainable_variables
        return (
            [np.array(v.numpy(), np.float64) for v in variables],
            [read_slots(opt, v) for v in variables],
        )

    def on_train_batch_begin(self, batch, logs=None):
        self.before[self.seen + 1] = self._state()
        self.iterations[self.seen + 1] = int(self.model.optimizer.iterations.numpy())

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        self.after[self.seen] = self._state()


def reference(spy, step, lr_t, eps):
    """Per layer (hidden, out): the six statistics and the step sizes, float64."""
    w0, s0 = spy.before[step]
    w1, s1 = spy.after[step]
    out = {k: [] for k in STATS}
    sizes = []
    for idx in ([0, 1], [2, 3]):  # kernel+bias of each Dense layer
        a = np.concatenate([s1[i][0].ravel() for i in idx])
        d = np.concatenate([s1[i][1].ravel() for i in idx])
        d_prev = np.concatenate([s0[i][1].ravel() for i in idx])
        dw = np.concatenate([(w1[i] - w0[i]).ravel() for i in idx])
        w = np.concatenate([w0[i].ravel() for i in idx])
        s = lr_t * np.sqrt(d_prev + eps) / np.sqrt(a + eps)
        out["accum_grad_rms"].append(np.sqrt(np.mean(a**2)))
        out["accum_delta_rms"].append(np.sqrt(np.mean(d**2)))
        out["update_ratio"].append(np.linalg.norm(dw) / np.linalg.norm(w))
        out["step_size_min"].append(s.min())
        out["step_size_median"].append(np.median(s))
        out["step_size_max"].append(s.max())
        sizes.append(s)
    return out, sizes


OPTIMIZERS = {
    "adaviz-decay": lambda: adaviz.Adadelta(lr=1.0, rho=0.9, epsilon=1e-6, decay=0.05),
    "adaviz-tracked": lambda: adaviz.Adadelta(lr=0.5, track_step_size=True),
    "keras": lambda: keras.optimizers.Adadelta(learning_rate=1.0, rho=0.95, epsilon=1e-7),
}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_recorded_statistics_equal_the_slots(name):
    optimizer = OPTIMIZERS[name]()
    model = small_model()
    model.compile(optimizer=optimizer, loss="mse")
    spy, monitor = Spy(), adaviz.AdadeltaMonitor(every=4)
    model.fit(X, Y, batch_size=16, epochs=2, verbose=0, shuffle=False, callbacks=[spy, monitor])
    h = monitor.history
    assert monitor.layer_names == ["hidden", "out"]
    np.testing.assert_array_equal(h["step"], [4, 8, 12])
    if name == "keras":
        lr, decay, eps = 1.0, 0.0, 1e-7
    else:
        lr, decay, eps = optimizer.lr, optimizer.decay, optimizer.epsilon
    for row, step in enumerate(h["step"]):
        lr_t = lr / (1.0 + decay * spy.iterations[step])
        assert spy.iterations[step] == step - 1
        np.testing.assert_allclose(h["lr"][row], lr_t, rtol=1e-12)
        expected, sizes = reference(spy, step, lr_t, eps)
        for key in STATS:
            np.testing.assert_allclose(h[key][row], expected[key], rtol=2e-5, err_msg=key)
    for got, want in zip(monitor.step_sizes, sizes, strict=True):
        np.testing.assert_allclose(got, want, rtol=2e-5)
    assert np.all(np.isfinite(h["loss"])) and h["loss"].shape == (3,)
    # a second fit keeps counting batches
    model.fit(X, Y, batch_size=16, epochs=1, verbose=0, callbacks=[spy, monitor])
    np.testing.assert_array_equal(monitor.history["step"], [4, 8, 12, 16])


def events(log_dir):
    """All summary values in ``log_dir``: {tag: [(step, plugin, ndarray)]}."""
    out = {}
    for path in sorted(log_dir.glob("events.out.tfevents.*")):
        for record in tf.data.TFRecordDataset(str(path)):
            event = event_pb2.Event.FromString(record.numpy())
            for value in event.summary.value:
                out.setdefault(value.tag, []).append(
                    (
                        event.step,
                        value.metadata.plugin_data.plugin_name,
                        tf.make_ndarray(value.tensor),
                    )
                )
    return out


def test_tensorboard_event_files(tmp_path):
    model = small_model(1)
    model.compile(optimizer=adaviz.Adadelta(), loss="mse")
    monitor = adaviz.AdadeltaMonitor(every=3, log_dir=tmp_path / "tb")
    model.fit(X, Y, batch_size=16, epochs=2, verbose=0, callbacks=[monitor])
    assert list((tmp_path / "tb").glob("events.out.tfevents.*"))
    found = events(tmp_path / "tb")
    h = monitor.history
    steps = list(h["step"])
    assert steps == [3, 6, 9, 12]
    expected_tags = {"loss", "lr"} | {
        f"adadelta/{layer}/{key}" for layer in ("hidden", "out") for key in STATS
    }
    expected_tags |= {f"adadelta/{layer}/log10_step_size" for layer in ("hidden", "out")}
    assert set(found) == expected_tags
    for j, layer in enumerate(("hidden", "out")):
        for key in STATS:
            records = found[f"adadelta/{layer}/{key}"]
            assert [r[0] for r in records] == steps
            assert {r[1] for r in records} == {"scalars"}
            np.testing.assert_allclose([r[2] for r in records], h[key][:, j], rtol=1e-6)
        hist = found[f"adadelta/{layer}/log10_step_size"]
        assert [r[0] for r in hist] == steps and {r[1] for r in hist} == {"histograms"}
        n_params = 3 * 8 + 8 if layer == "hidden" else 8 + 1
        for row, (_, _, buckets) in enumerate(hist):
            assert buckets.shape == (30, 3)
            assert buckets[:, 2].sum() == n_params
            np.testing.assert_allclose(
                buckets[0, 0], np.log10(h["step_size_min"][row, j]), atol=1e-5
            )
            np.testing.assert_allclose(
                buckets[-1, 1], np.log10(h["step_size_max"][row, j]), atol=1e-5
            )
    np.testing.assert_allclose([r[2] for r in found["loss"]], h["loss"], rtol=1e-6)


@pytest.mark.slow
def test_ten_thousand_steps_stay_at_the_bound():
    x = np.random.default_rng(1).standard_normal((10_000, 3)).astype(np.float32)
    model = small_model(2)
    model.compile(optimizer=adaviz.Adadelta(), loss="mse")
    monitor = adaviz.AdadeltaMonitor(every=10, max_records=200)
    model.fit(x, x[:, :1], batch_size=1, epochs=1, verbose=0, callbacks=[monitor])
    h = monitor.history
    np.testing.assert_array_equal(h["step"], np.arange(8010, 10_001, 10))
    for key in ("loss", "lr"):
        assert h[key].shape == (200,)
    for key in STATS:
        assert h[key].shape == (200, 2)
    assert monitor._buffer.shape[0] == 200


def test_panel_shows_the_history():
    model = small_model(3)
    model.compile(optimizer=keras.optimizers.Adadelta(learning_rate=1.0), loss="mse")
    monitor = adaviz.AdadeltaMonitor(every=2)
    box = monitor.panel()
    assert "waiting" in box.children[0].value
    model.fit(X, Y, batch_size=16, epochs=2, verbose=0, callbacks=[monitor])
    figures = monitor.figures
    assert set(figures) == {"loss", "accumulators", "step_sizes", "update_ratio"}
    assert all(
        fig in box.children[1].children + box.children[2].children for fig in figures.values()
    )
    h = monitor.history
    from adaviz.panels.model.views import MAX_GHOSTS

    np.testing.assert_allclose(figures["loss"].data[MAX_GHOSTS].y, h["loss"])
    np.testing.assert_allclose(figures["accumulators"].data[2].y, h["accum_grad_rms"][:, 1])
    np.testing.assert_allclose(figures["update_ratio"].data[0].y, h["update_ratio"][:, 0])
    for trace, sizes in zip(figures["step_sizes"].data, monitor.step_sizes, strict=True):
        assert np.sum(trace.y[:-1]) == sizes.size


def test_loss_scale_optimizer_is_unwrapped():
    model = small_model(4)
    model.compile(optimizer=keras.optimizers.LossScaleOptimizer(adaviz.Adadelta()), loss="mse")
    monitor = adaviz.AdadeltaMonitor(every=6)
    model.fit(X, Y, batch_size=16, epochs=1, verbose=0, callbacks=[monitor])
    inner = model.optimizer.inner_optimizer
    a = np.concatenate(
        [read_slots(inner, v)[0].ravel() for v in model.layers[0].trainable_variables]
    )
    np.testing.assert_allclose(
        monitor.history["accum_grad_rms"][-1, 0], np.sqrt(np.mean(a**2)), rtol=1e-5
    )


@pytest.mark.parametrize("optimizer", ["sgd", "rmsprop"])
def test_optimizer_without_adadelta_state_fails_at_train_begin(optimizer):
    model = small_model(5)
    model.compile(optimizer=optimizer, loss="mse")
    model.build((None, 3))
    weights = [w.copy() for w in model.get_weights()]
    with pytest.raises(
        ValueError, match=r"AdadeltaMonitor needs a model compiled with an Adadelta optimizer"
    ):
        model.fit(X, Y, epochs=1, verbose=0, callbacks=[adaviz.AdadeltaMonitor()])
    for w0, w1 in zip(weights, model.get_weights(), strict=True):
        np.testing.assert_array_equal(w0, w1)  # nothing trained


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"every": 0}, r"every must be an integer >= 1, got 0"),
        ({"every": 2.5}, r"every must be an integer >= 1, got 2.5"),
        ({"max_records": 1}, r"max_records must be an integer >= 2, got 1"),
        ({"refresh_hz": 0}, r"refresh_hz must be a number in \(0, 60\], got 0"),
        ({"log_dir": 5}, r"log_dir must be a directory path or None, got 5"),
        ({"log_dir": ""}, r"log_dir must be a directory path or None, got ''"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        adaviz.AdadeltaMonitor(**kwargs)


def test_a_log_dir_that_cannot_be_created_is_refused_when_the_monitor_is_made(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    import sys

    log_dirs = [blocker / "tb"] + (["/proc/adaviz_tb"] if sys.platform == "linux" else [])
    for log_dir in log_dirs:
        with pytest.raises(ValueError) as info:
            adaviz.AdadeltaMonitor(log_dir=log_dir)
        message = str(info.value)
        assert message.startswith(
            "log_dir must be a directory that can be created and written to (or None), "
            f"got {str(log_dir)!r}: "
        )


def test_a_new_log_dir_is_created_when_the_monitor_is_made(tmp_path):
    log_dir = tmp_path / "runs" / "adadelta"
    monitor = adaviz.AdadeltaMonitor(log_dir=log_dir)
    assert log_dir.is_dir() and monitor.log_dir == str(log_dir)


def test_non_finite_run_is_recorded():
    """Targets scaled by 1e17 (lr 10, rho 0), and one batch scaled by 1e20 more: its
    squared errors overflow float32, so the loss of batch 6 is inf, then weights NaN."""
    model = small_model(6)
    model.compile(optimizer=adaviz.Adadelta(lr=10.0, rho=0.0), loss="mse")
    monitor = adaviz.AdadeltaMonitor(every=1)
    losses = []
    spy = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: losses.append(float(logs["loss"]))
    )
    targets = Y * 1e17
    targets[40:48] *= 1e3
    model.fit(X, targets, batch_size=8, epochs=2, verbose=0, shuffle=False,
              callbacks=[monitor, spy])  # fmt: skip
    first_bad = int(np.flatnonzero(~np.isfinite(losses))[0]) + 1
    assert first_bad == 6
    h = monitor.history
    assert monitor.nonfinite_step == first_bad
    assert int(h["nonfinite_step"]) == monitor.nonfinite_step
    # every record before it is finite, the one at it is not
    before = h["step"] < monitor.nonfinite_step
    assert before.any() and np.all(np.isfinite(h["loss"][before]))
    assert np.all(np.isfinite(h["accum_grad_rms"][before]))
    assert not np.isfinite(h["loss"][h["step"] == first_bad][0])
    assert "not finite from batch 6" in monitor.panel().children[0].value


def test_finite_run_has_no_nonfinite_step():
    model = small_model(7)
    model.compile(optimizer=adaviz.Adadelta(), loss="mse")
    monitor = adaviz.AdadeltaMonitor(every=2)
    model.fit(X, Y, batch_size=16, epochs=1, verbose=0, callbacks=[monitor])
    assert monitor.nonfinite_step is None and int(monitor.history["nonfinite_step"]) == 0
