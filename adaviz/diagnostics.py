"""Per-layer statistics of a model's Adadelta state, computed in-graph.

One implementation for :class:`adaviz.training.Trainer` (what ModelPanel drives) and
:class:`adaviz.AdadeltaMonitor`. Per layer with trainable weights (:func:`layer_groups`):

* ``accum_grad_rms`` / ``accum_delta_rms``: RMS[g] = ``sqrt(mean(A))`` and RMS[Δx] =
  ``sqrt(mean(D))`` over the layer's parameters, A = E[g²] and D = E[Δx²] after the step
  (in the units of g and of x);
* ``update_ratio``: ‖Δw‖ / ‖w‖ of the step (``w`` before it);
* the effective step size of every parameter, ``lr_t·√(D_{t-1}+ε)/√(A_t+ε)``
  (:func:`adaviz._math.adadelta_step`), and its min / median / max per layer.

The reductions are few ops (the parameters side by side, one segment sum per layer), so they stay cheap next to a training step. The methods of
:class:`LayerDiagnostics` build graph ops: call them inside a ``tf.function``.
"""

from __future__ import annotations

import numpy as np

from adaviz._math import adadelta_step, decayed_lr
from adaviz._tf import import_tensorflow, tf_variable

tf = import_tensorflow()
import keras  # noqa: E402  (after the quiet TensorFlow import)

__all__ = ["LayerDiagnostics", "adadelta_kind", "adadelta_slots", "layer_groups", "unwrap"]


def layer_groups(model):
    """``[(layer name, [variables])]`` for the layers of ``model`` with trainable weights.

    A variable shared by two layers counts for the first; trainable variables of no layer
    form a last group called "other".
    """
    groups, seen = [], set()
    for layer in model.layers:
        variables = [v for v in layer.trainable_variables if id(v) not in seen]
        if variables:
            groups.append((layer.name, variables))
            seen.update(id(v) for v in variables)
    rest = [v for v in model.trainable_variables if id(v) not in seen]
    if rest:
        groups.append(("other", rest))
    return groups


def unwrap(optimizer):
    """The optimizer doing the updates (inside a ``LossScaleOptimizer``, if any)."""
    inner = getattr(optimizer, "inner_optimizer", None)
    return inner if inner is not None else optimizer


def adadelta_kind(optimizer):
    """``"adaviz"`` (:class:`adaviz.Adadelta`), ``"keras"`` (``keras.optimizers.Adadelta``)
    or ``None`` (an optimizer without Adadelta state)."""
    from adaviz.optimizer import Adadelta

    if isinstance(optimizer, Adadelta):
        return "adaviz"
    if isinstance(optimizer, keras.optimizers.Adadelta):
        return "keras"
    return None


def adadelta_slots(optimizer, variable):
    """``(E[g²], E[Δx²])`` slot variables of ``variable`` in an Adadelta optimizer."""
    if adadelta_kind(optimizer) == "adaviz":
        return optimizer.accumulators(variable)
    index = optimizer._get_variable_index(variable)
    return optimizer._accumulated_grads[index], optimizer._accumulated_delta_vars[index]


def _f32(tensor):
    return tf.cast(tensor, tf.float32)


def _f64(tensor):
    return tf.cast(tensor, tf.float64)


class LayerDiagnostics:
    """The per-layer statistics of one model trained by one Adadelta optimizer.

    Args:
        model: a built Keras 3 model.
        optimizer: an :class:`adaviz.Adadelta` or ``keras.optimizers.Adadelta`` (a
            ``LossScaleOptimizer`` around one is unwrapped); built here if needed.

    Attributes:
        layer_names: the layers with trainable weights, in model order.
        variables: the model's trainable variables, grouped by layer in that order (the
            order of every per-variable list below).
        sizes: the number of parameters of each layer.
    """

    def __init__(self, model, optimizer):
        optimizer = unwrap(optimizer)
        self.kind = adadelta_kind(optimizer)
        if self.kind is None:
            raise ValueError(
                "per-layer Adadelta diagnostics need an Adadelta optimizer "
                "(adaviz.Adadelta or keras.optimizers.Adadelta) to read E[g²] and E[Δx²]; "
                f"got {type(optimizer).__module__}.{type(optimizer).__name__}"
            )
        if not optimizer.built:
            optimizer.build(model.trainable_variables)
        self.optimizer = optimizer
        groups = layer_groups(model)
        self.layer_names = [name for name, _ in groups]
        self.variables = [v for _, vs in groups for v in vs]
        self._raw = [tf_variable(v) for v in self.variables]
        self._slots = [
            tuple(tf_variable(s) for s in adadelta_slots(optimizer, v)) for v in self.variables
        ]
        self._ranges, start = [], 0
        for _, vs in groups:
            self._ranges.append((start, start + len(vs)))
            start += len(vs)
        self.sizes = [
            int(sum(int(np.prod(self._raw[i].shape)) for i in range(lo, hi)))
            for lo, hi in self._ranges
        ]
        self._sizes = tf.constant([[float(n)] for n in self.sizes], tf.float64)
        self._layer_of = tf.constant(np.repeat(np.arange(len(self.sizes)), self.sizes), tf.int32)

    # -- state reads (graph ops) -------------------------------------------------------
    def weights(self):
        """The current weights, one tensor per variable (copies: safe across an update)."""
        return [tf.identity(v) for v in self._raw]

    def accum_delta(self):
        """The current E[Δx²] slots, one tensor per variable (copies)."""
        return [tf.identity(d) for _, d in self._slots]

    def learning_rate(self):
        """``lr_t`` of the coming step (float64), from the optimizer's own state."""
        opt = self.optimizer
        if self.kind == "adaviz":
            steps = tf.cast(tf_variable(opt.iterations), tf.float64)
            return tf.cast(decayed_lr(opt.lr, opt.decay, steps), tf.float64)
        return tf.cast(tf.convert_to_tensor(tf_variable(opt.learning_rate)), tf.float64)

    def epsilon(self):
        """The optimizer's epsilon (float64)."""
        return tf.cast(self.optimizer.epsilon, tf.float64)

    # -- statistics (graph ops) --------------------------------------------------------
    def statistics(self, weights_before):
        """Per-layer statistics after a step.

        Args:
            weights_before: the weights right before the step (from :meth:`weights`).

        Returns:
            A dict of float32 tensors of shape ``[layers]``: ``accum_grad_rms``,
            ``accum_delta_rms``, ``update_ratio``; and ``finite``, a boolean scalar: every
            weight, update and accumulator is finite.
        """
        # All parameters side by side, [4, parameters]: few ops however many variables.
        # Sums of squares in float64: the square of a finite float32 (up to 3.4e38)
        # cannot overflow there, so a sum is finite exactly when every value in it is.
        columns = [
            tf.reshape(tf.stack([a, d, v - old, old]), [4, -1])
            for v, (a, d), old in zip(self._raw, self._slots, weights_before, strict=True)
        ]
        values = _f64(tf.concat(columns, axis=1))
        squares = tf.square(values)
        # per layer [layers, 4]; a segment sum, so a non-finite layer leaves the others alone
        per_layer = tf.math.unsorted_segment_sum(
            tf.transpose(squares), self._layer_of, len(self.sizes)
        )
        # RMS[g] = sqrt(mean E[g²]), RMS[Δx] = sqrt(mean E[Δx²]): the accumulators are >= 0
        accum_sums = tf.math.unsorted_segment_sum(
            tf.transpose(values[:2]), self._layer_of, len(self.sizes)
        )
        rms = _f32(tf.sqrt(accum_sums / self._sizes))
        ratio = _f32(tf.math.divide_no_nan(tf.sqrt(per_layer[:, 2]), tf.sqrt(per_layer[:, 3])))
        return {
            "accum_grad_rms": rms[:, 0],
            "accum_delta_rms": rms[:, 1],
            "update_ratio": ratio,
            "finite": tf.reduce_all(tf.math.is_finite(per_layer)),
        }

    def step_sizes(self, lr_t, accum_delta_before):
        """Per variable, the effective step size of the step just taken.

        ``lr_t·√(D_{t-1}+ε)/√(A_t+ε)``: Adadelta's step with ``rho = 1`` and a zero
        gradient leaves ``A_t`` as it is, so its ``step_size`` is exactly that.

        Args:
            lr_t: the learning rate of the step (from :meth:`learning_rate` before it).
            accum_delta_before: E[Δx²] before the step (from :meth:`accum_delta`).
        """
        eps = self.epsilon()
        out = []
        for v, (a, _), d_prev in zip(self._raw, self._slots, accum_delta_before, strict=True):
            dt = v.dtype
            out.append(
                adadelta_step(
                    a.read_value(),
                    d_prev,
                    tf.zeros_like(v),
                    tf.cast(lr_t, dt),
                    tf.constant(1.0, dt),
                    tf.cast(eps, dt),
                ).step_size
            )
        return out

    def per_layer(self, per_variable):
        """Per-variable tensors flattened and concatenated per layer (float32)."""
        return [
            tf.concat([tf.reshape(_f32(t), [-1]) for t in per_variable[lo:hi]], axis=0)
            for lo, hi in self._ranges
        ]

    def spread(self, per_variable):
        """``(min, median, max)`` per layer of per-variable values, each ``[layers]``."""
        low, mid, high = [], [], []
        for values, n in zip(self.per_layer(per_variable), self.sizes, strict=True):
            ordered = tf.sort(values)
            low.append(ordered[0])
            mid.append(0.5 * (ordered[(n - 1) // 2] + ordered[n // 2]))
            high.append(ordered[n - 1])
        return tf.stack(low), tf.stack(mid), tf.stack(high)
