"""AdadeltaMonitor: a Keras callback that records Adadelta's state while ``model.fit`` runs.

    model.compile(optimizer=adaviz.Adadelta(), loss="mse")
    monitor = adaviz.AdadeltaMonitor(every=10, log_dir="logs/adadelta")
    monitor.panel()  # in a notebook: the ModelPanel views, live during fit
    model.fit(x, y, callbacks=[monitor])
    monitor.history["accum_grad_rms"]  # (records, layers)

Works with :class:`adaviz.Adadelta` and with ``keras.optimizers.Adadelta`` (whose slot
variables it reads), also wrapped in a ``LossScaleOptimizer``.

What is recorded, every ``every`` training batches, per layer with trainable weights:
    * ``accum_grad_rms`` / ``accum_delta_rms``: ``sqrt(mean(A²))`` and ``sqrt(mean(D²))``
      over the layer's parameters, A = E[g²] and D = E[Δx²] after the step;
    * ``update_ratio``: ‖Δw‖ / ‖w‖ of that step (``w`` before it);
    * ``step_size_min`` / ``step_size_median`` / ``step_size_max``: over the layer's
      parameters, of the effective step size of that step,
      ``lr_t·√(D_{t-1}+ε)/√(A_t+ε)``. With ``adaviz.Adadelta(track_step_size=True)`` it
      is the optimizer's own :meth:`~adaviz.Adadelta.step_size`. Otherwise the monitor
      copies D (and the weights) right before a recorded step and computes it from
      that copy and the updated A: the same quantity, exact up to rounding, for any
      Adadelta. With ``steps_per_execution > 1`` Keras calls the callback once per
      group of steps, so the copy precedes the group: the figures then describe the
      group (Δw over all its steps, D from before it) rather than its last step.
    * ``loss``: ``logs["loss"]`` at that batch (Keras reports the running mean over
      the epoch so far), ``lr``: the learning rate ``lr_t`` used by that step.

The per-layer numbers are reduced inside one compiled function; the full per-parameter
step sizes stay on the device until :attr:`AdadeltaMonitor.step_sizes` or a redraw of
the panel asks for them. History is kept in ring buffers of ``max_records`` records.

With ``log_dir``, each record is also written for TensorBoard with ``tf.summary``:
scalars ``adadelta/<layer>/<statistic>`` and ``loss``/``lr``, and histograms
``adadelta/<layer>/log10_step_size`` (the step sizes span decades, so their log10 is
binned). The events are written in TensorBoard's own scalar/histogram format, which does
not need the ``tensorboard`` package to be installed (only to look at them).
"""

from __future__ import annotations

import math
import time

import numpy as np

from adaviz._tf import import_tensorflow
from adaviz._validate import check_int, check_real
from adaviz.diagnostics import LayerDiagnostics, adadelta_kind, unwrap
from adaviz.optimizer import _tf_variable

tf = import_tensorflow()
import keras  # noqa: E402

__all__ = ["AdadeltaMonitor"]

#: per-layer statistics, in the order of the history buffer's column blocks.
STATS = (
    "accum_grad_rms",
    "accum_delta_rms",
    "update_ratio",
    "step_size_min",
    "step_size_median",
    "step_size_max",
)
HIST_BUCKETS = 30


def _summary_metadata(plugin):
    from tensorflow.core.framework import summary_pb2

    meta = summary_pb2.SummaryMetadata()
    meta.plugin_data.plugin_name = plugin
    return meta


class AdadeltaMonitor(keras.callbacks.Callback):
    """Record Adadelta's accumulators and step sizes during ``model.fit``.

    Args:
        every: record every ``every`` training batches (>= 1).
        log_dir: a directory to write TensorBoard summaries to, created here if it does
            not exist (``None``: none).
        max_records: records kept in :attr:`history` (older ones are dropped).
        refresh_hz: maximum redraws per second of :meth:`panel` during fit.

    Raises:
        ValueError: ``every``, ``max_records`` or ``refresh_hz`` out of range, a
            ``log_dir`` that is not a path or cannot be created; at ``on_train_begin``, a model compiled with
            an optimizer that has no Adadelta state.
    """

    def __init__(self, every=10, log_dir=None, *, max_records=10_000, refresh_hz=10.0):
        super().__init__()
        check_int("every", every, 1)
        check_int("max_records", max_records, 2)
        refresh_hz = check_real("refresh_hz", refresh_hz, 0, 60, open_low=True)
        if log_dir is not None:
            import os

            if not isinstance(log_dir, (str, os.PathLike)) or not os.fspath(log_dir):
                raise ValueError(f"log_dir must be a directory path or None, got {log_dir!r}")
            log_dir = os.fspath(log_dir)
            try:
                tf.io.gfile.makedirs(log_dir)
            except (tf.errors.OpError, OSError) as exc:
                raise ValueError(
                    f"log_dir must be a directory that can be created and written to (or "
                    f"None), got {log_dir!r}: {type(exc).__name__}: {exc}"
                ) from None
        self.every = int(every)
        self.log_dir = log_dir
        self.max_records = int(max_records)
        self._refresh_interval = 1.0 / float(refresh_hz)
        self.layer_names = []
        self._bound_to = None  # (model, optimizer) the compiled functions were built for
        self._writer = None
        self._buffer = None
        self._count = 0
        self._seen = 0  # training batches seen, over every fit call
        self._armed = False  # a snapshot was taken for the coming step
        self._views = None
        self._panel = None
        self._last_refresh = -math.inf
        self._nonfinite_step = None

    # ==================================================================================
    # public
    # ==================================================================================
    @property
    def history(self):
        """The recorded statistics (the last ``max_records`` records), as numpy arrays.

        ``step`` (the training batch number, 1-based, counted over every ``fit`` call),
        ``loss``, ``lr`` of shape (records,); ``accum_grad_rms``, ``accum_delta_rms``,
        ``update_ratio``, ``step_size_min``, ``step_size_median``, ``step_size_max`` of
        shape (records, layers), columns in :attr:`layer_names` order;
        ``nonfinite_step`` (a 0-d int64 array): the first batch whose loss, weights,
        updates or accumulators were not finite, 0 while all are.
        """
        nl = len(self.layer_names)
        nonfinite = np.array(self.nonfinite_step or 0, np.int64)
        if self._buffer is None:
            out = {"step": np.zeros(0, np.int64), "loss": np.zeros(0), "lr": np.zeros(0)}
            out.update({k: np.zeros((0, nl)) for k in STATS})
            out["nonfinite_step"] = nonfinite
            return out
        cap = self.max_records
        if self._count <= cap:
            rows = self._buffer[: self._count]
        else:
            start = self._count % cap
            rows = np.concatenate([self._buffer[start:], self._buffer[:start]])
        out = {
            "step": rows[:, 0].astype(np.int64),
            "loss": rows[:, 1].copy(),
            "lr": rows[:, 2].copy(),
        }
        for i, key in enumerate(STATS):
            out[key] = rows[:, 3 + i * nl : 3 + (i + 1) * nl].copy()
        out["nonfinite_step"] = nonfinite
        return out

    @property
    def nonfinite_step(self):
        """The first training batch (1-based, over every ``fit``) whose loss, weights,
        updates or accumulators were not finite, or ``None``.

        The loss is checked every batch, the rest at each record. The monitor only
        records it; ``keras.callbacks.TerminateOnNaN`` stops the training.
        """
        return self._nonfinite_step

    @property
    def step_sizes(self):
        """Per layer, the effective step sizes of every parameter at the last record."""
        if self._bound_to is None or self._count == 0:
            return [np.zeros(0) for _ in self.layer_names]
        return [np.asarray(a) for a in self._read_step_sizes()]

    def panel(self):
        """The ModelPanel views of the recorded history (redrawn live during fit).

        Returns:
            An ``ipywidgets.VBox``; display it before calling ``fit`` to watch live.
        """
        import ipywidgets as widgets

        if self._panel is None:
            self._readout = widgets.HTML()
            self._panel = widgets.VBox([self._readout], layout=widgets.Layout(width="980px"))
            self._panel.add_class("adaviz-monitor-panel")
        if self.layer_names and self._views is None:
            self._make_views()
        self.refresh()
        return self._panel

    @property
    def figures(self):
        """The panel's ``FigureWidget``s (after :meth:`panel` and the first training)."""
        return {} if self._views is None else self._views.figures

    def refresh(self):
        """Redraw the panel's views from the history now."""
        if self._panel is None:
            return
        if self._views is None:
            if not self.layer_names:
                self._readout.value = "AdadeltaMonitor: waiting for model.fit to start…"
                return
            self._make_views()
        history = self.history
        self._views.show(history, step_sizes=self.step_sizes)
        if len(history["step"]):
            self._readout.value = (
                f"<b>batch</b> {int(history['step'][-1])} · <b>loss</b> "
                f"{history['loss'][-1]:.4g} · <b>lr<sub>t</sub></b> {history['lr'][-1]:.3g}"
                f" · {self._count} records"
            )
            if self.nonfinite_step is not None:
                self._readout.value += (
                    f" · <b>not finite from batch {self.nonfinite_step}</b>: "
                    "try a lower lr, then train a fresh model"
                )
        self._last_refresh = time.perf_counter()

    # ==================================================================================
    # Keras hooks
    # ==================================================================================
    def on_train_begin(self, logs=None):
        optimizer = unwrap(self.model.optimizer)
        if adadelta_kind(optimizer) is None:
            raise ValueError(
                "AdadeltaMonitor needs a model compiled with an Adadelta optimizer "
                "(adaviz.Adadelta or keras.optimizers.Adadelta) to read E[g²] and E[Δx²]; "
                f"got optimizer={type(optimizer).__module__}.{type(optimizer).__name__}, "
                "which has no Adadelta state"
            )
        if self._bound_to is None or self._bound_to != (id(self.model), id(optimizer)):
            self._bind(optimizer)
        if self.log_dir is not None and self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)

    def on_train_batch_begin(self, batch, logs=None):
        if (self._seen + 1) % self.every == 0:
            self._snapshot_fn()  # weights, E[dx^2] and lr_t right before the step
            self._armed = True

    def on_train_batch_end(self, batch, logs=None):
        self._seen += 1
        loss = float((logs or {}).get("loss", float("nan")))
        if self._nonfinite_step is None and not math.isfinite(loss) and "loss" in (logs or {}):
            self._nonfinite_step = self._seen
        if self._seen % self.every != 0 or not self._armed:
            return
        self._armed = False
        row = self._stats_fn().numpy()
        row, finite = row[:-1], bool(row[-1])
        if self._nonfinite_step is None and not finite:
            self._nonfinite_step = self._seen
        self._record(self._seen, loss, row)
        if self._writer is not None:
            self._write_summaries(self._seen, loss, row)
        if self._panel is not None and (
            time.perf_counter() - self._last_refresh >= self._refresh_interval
        ):
            self.refresh()

    def on_epoch_end(self, epoch, logs=None):
        if self._writer is not None:
            self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.flush()
        if self._panel is not None:
            self.refresh()

    # ==================================================================================
    # internals
    # ==================================================================================
    def _bind(self, optimizer):
        """Build the compiled snapshot/statistics functions for this model and optimizer."""
        model = self.model
        diag = LayerDiagnostics(model, optimizer)
        self.layer_names = diag.layer_names
        tracked = diag.kind == "adaviz" and optimizer.track_step_size
        own = [_tf_variable(optimizer.step_size(v)) for v in diag.variables] if tracked else None

        def copies(tensors):
            return [tf.Variable(tf.zeros(t.shape, t.dtype), trainable=False) for t in tensors]

        before_w = copies(diag.weights())
        before_d = [] if tracked else copies(diag.accum_delta())
        sizes = copies(diag.weights())
        lr_var = tf.Variable(0.0, dtype=tf.float64, trainable=False)

        def snapshot():
            """Weights, E[dx^2] and lr_t right before the coming step."""
            lr_var.assign(diag.learning_rate())
            for dst, src in zip(before_w, diag.weights(), strict=True):
                dst.assign(src)
            for dst, src in zip(before_d, diag.accum_delta() if before_d else [], strict=True):
                dst.assign(src)

        def stats():
            lr_t = lr_var.read_value()
            if tracked:
                step_sizes = [s.read_value() for s in own]
            else:
                step_sizes = diag.step_sizes(lr_t, [d.read_value() for d in before_d])
            for dst, src in zip(sizes, step_sizes, strict=True):
                dst.assign(src)
            found = diag.statistics([w.read_value() for w in before_w])
            low, mid, high = diag.spread(step_sizes)
            columns = [found[k] for k in STATS[:3]] + [low, mid, high]
            finite = tf.cast(found["finite"], tf.float64)[None]
            return tf.concat([[lr_t], tf.cast(tf.concat(columns, 0), tf.float64), finite], 0)

        def read_sizes():
            return diag.per_layer([s.read_value() for s in sizes])

        def histograms():
            return [self._log_histogram(values) for values in read_sizes()]

        self._snapshot_fn = tf.function(snapshot)
        self._stats_fn = tf.function(stats)
        self._read_fn = tf.function(read_sizes)
        self._hist_fn = tf.function(histograms)
        self._buffer = np.zeros((self.max_records, 3 + len(STATS) * len(diag.layer_names)))
        self._count = 0
        self._views = None
        self._bound_to = (id(model), id(optimizer))

    @staticmethod
    def _log_histogram(values):
        """TensorBoard histogram buckets ``[left, right, count]`` of log10 of the values."""
        positive = tf.boolean_mask(values, values > 0)
        logs = tf.cast(tf.math.log(positive) / math.log(10.0), tf.float64)
        empty = tf.equal(tf.size(logs), 0)
        zero = tf.constant(0.0, tf.float64)
        lo = tf.where(empty, zero, tf.reduce_min(logs))
        hi = tf.where(empty, zero + 1.0, tf.reduce_max(logs))
        hi = tf.where(hi - lo < 1e-9, lo + 1.0, hi)
        counts = tf.histogram_fixed_width(logs, [lo, hi], nbins=HIST_BUCKETS)
        edges = tf.linspace(lo, hi, HIST_BUCKETS + 1)
        return tf.stack([edges[:-1], edges[1:], tf.cast(counts, tf.float64)], axis=1)

    def _read_step_sizes(self):
        return [a.numpy() for a in self._read_fn()]

    def _record(self, step, loss, row):
        """Append one record: ``row`` is ``[lr_t, statistics...]``."""
        slot = self._count % self.max_records
        self._buffer[slot, 0] = step
        self._buffer[slot, 1] = loss
        self._buffer[slot, 2:] = row
        self._count += 1

    def _write_summaries(self, step, loss, row):
        scalar, histogram = _summary_metadata("scalars"), _summary_metadata("histograms")
        nl = len(self.layer_names)
        with self._writer.as_default():
            tf.summary.write("loss", tf.constant(loss, tf.float32), step=step, metadata=scalar)
            tf.summary.write("lr", tf.constant(row[0], tf.float32), step=step, metadata=scalar)
            for i, key in enumerate(STATS):
                for j, name in enumerate(self.layer_names):
                    tf.summary.write(
                        f"adadelta/{name}/{key}",
                        tf.constant(row[1 + i * nl + j], tf.float32),
                        step=step,
                        metadata=scalar,
                    )
            for name, buckets in zip(self.layer_names, self._hist_fn(), strict=True):
                tf.summary.write(
                    f"adadelta/{name}/log10_step_size", buckets, step=step, metadata=histogram
                )

    def _make_views(self):
        from adaviz.panels.model.views import ModelViews

        self._views = ModelViews(
            self.layer_names, loss_title="loss (epoch mean so far)", loss_summaries=False
        )
        for name, fig in self._views.figures.items():
            fig.add_class(f"adaviz-figure-{name.replace('_', '-')}")
        import ipywidgets as widgets

        figs = self._views.widgets()
        rows = [widgets.HBox(figs[i : i + 2]) for i in range(0, len(figs), 2)]
        self._panel.children = [self._readout, *rows]
