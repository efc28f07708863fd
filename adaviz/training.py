"""Train a Keras 3 model step by step with Adadelta, without widgets.

Two parts, both free of ipywidgets and plotly (a script, a test or a sweep can use them):

* **Data and loss checks** -- :func:`check_data`, :func:`resolve_loss`,
  :func:`infer_loss`, :func:`class_count`, :func:`default_model`,
  :func:`check_model_fits`, :func:`split_validation`: turn a user's ``(x, y)``, model and
  loss into checked arrays and a loss, or raise a ``ValueError`` naming the argument, the
  value received and what is allowed -- before anything trains.
* **The live trainer** -- :class:`Trainer`: one compiled step per batch size,
  hyperparameter changes assigned to the optimizer's variables (no retracing),
  continue/restart, per-layer diagnostics (:mod:`adaviz.diagnostics`) every step, a
  history that keeps the whole run in bounded memory (:class:`ThinnedHistory`), and
  non-finite detection. :class:`adaviz.ModelPanel` drives it.
"""

from __future__ import annotations

import math
import numbers
import threading
import time

import numpy as np

from adaviz._math import decayed_lr
from adaviz._tf import import_tensorflow
from adaviz._validate import check_hyperparameter, check_int, check_widths

tf = import_tensorflow()
import keras  # noqa: E402  (after the quiet TensorFlow import)

__all__ = [
    "Trainer",
    "ThinnedHistory",
    "check_data",
    "load_data",
    "resolve_loss",
    "infer_loss",
    "class_count",
    "default_model",
    "check_model",
    "check_model_fits",
    "split_validation",
    "prepare",
    "loss_name",
    "is_sparse",
    "from_logits",
]


# ======================================================================================
# data, model and loss checks
# ======================================================================================
def _numeric_array(name, value):
    """``value`` as a finite float32 numpy array with a sample axis."""
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and other oddities
        raise ValueError(
            f"{name} must be a numeric array, got {type(value).__name__} ({exc})"
        ) from None
    if arr.dtype.kind not in "biuf":
        raise ValueError(
            f"{name} must hold numbers (int/float/bool), got an array of dtype {arr.dtype}"
        )
    if arr.ndim == 0:
        raise ValueError(f"{name} must have one entry per sample, got a scalar {arr!r}")
    arr = arr.astype(np.float32)
    if not np.all(np.isfinite(arr)):
        bad = int(np.flatnonzero(~np.isfinite(arr.reshape(-1)))[0])
        raise ValueError(
            f"{name} must be finite, got {float(arr.reshape(-1)[bad])!r} at flat index {bad}"
        )
    return arr


def check_data(x, y, what="data"):
    """Check a pair of training arrays and return them as float32 numpy arrays.

    Args:
        x, y: array-likes with one entry per sample (``x`` 1-D is taken as one feature).
        what: how the pair is named in messages ("data", "validation data").

    Returns:
        ``(x, y)``: ``x`` of shape ``(n, features...)``, ``y`` as given, both float32.

    Raises:
        ValueError: non-numeric or non-finite values, a scalar, no samples, or x and y
            of different lengths.
    """
    x = _numeric_array(f"x ({what})", x)
    y = _numeric_array(f"y ({what})", y)
    if len(x) != len(y):
        raise ValueError(
            f"x and y ({what}) must have the same number of samples, "
            f"got len(x)={len(x)} and len(y)={len(y)}"
        )
    if len(x) == 0:
        raise ValueError(
            f"{what} has no samples: x and y ({what}) must hold at least one sample, "
            f"got x of shape {x.shape} and y of shape {y.shape}"
        )
    if x.ndim == 1:
        x = x[:, None]
    return x, y


def load_data(data, *, n=400, noise=None, seed=0):
    """Training arrays from a built-in dataset name or a user's ``(x, y)`` pair.

    Args:
        data: a name from ``adaviz.datasets.names()`` or ``(x, y)`` arrays.
        n, noise, seed: size, noise and seed of a built-in dataset.

    Returns:
        ``(x, y, info)``: checked float32 arrays (:func:`check_data`) and the dataset's
        :func:`adaviz.datasets.info` (``None`` for arrays).

    Raises:
        ValueError: an unknown name (the valid ones are listed), or bad arrays.
    """
    from adaviz import datasets

    if isinstance(data, str):
        info = datasets.info(data)
        x, y = datasets.make(data, n, noise=noise, seed=seed)
        return x, y, info
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return (*check_data(*data), None)
    raise ValueError(
        f"data must be a dataset name ({', '.join(datasets.names())}) or an "
        f"(x, y) pair of arrays, got {type(data).__name__}"
    )


def split_validation(x, y, validation_split, validation_data, seed):
    """Hold out validation data: a seeded ``validation_split`` or ``validation_data``.

    Returns:
        ``(x, y, x_val, y_val)``; ``x_val``/``y_val`` are ``None`` without validation.

    Raises:
        ValueError: both given, a split outside [0, 1) or one that leaves a side empty,
            validation samples of another shape than ``x``'s.
    """
    if validation_data is not None:
        if validation_split:
            raise ValueError(
                "give validation_split or validation_data, not both "
                f"(got validation_split={validation_split!r})"
            )
        if not (isinstance(validation_data, (tuple, list)) and len(validation_data) == 2):
            raise ValueError(
                "validation_data must be an (x_val, y_val) pair of arrays, "
                f"got {type(validation_data).__name__}"
            )
        x_val, y_val = check_data(*validation_data, what="validation data")
        if x_val.shape[1:] != x.shape[1:]:
            raise ValueError(
                f"x_val must have samples of shape {x.shape[1:]} like x, got {x_val.shape[1:]}"
            )
        return x, y, x_val, y_val
    split = validation_split if validation_split is not None else 0.0
    if (
        isinstance(split, (bool, np.bool_))
        or not isinstance(split, numbers.Real)
        or not 0.0 <= split < 1.0
    ):
        raise ValueError(f"validation_split must be a number in [0, 1), got {split!r}")
    if split == 0:
        return x, y, None, None
    n_val = int(round(len(x) * split))
    if n_val < 1 or n_val >= len(x):
        raise ValueError(
            f"validation_split={split!r} of {len(x)} samples leaves {n_val} for "
            "validation; at least one sample must go to each side"
        )
    order = np.random.default_rng(seed).permutation(len(x))
    train, val = order[n_val:], order[:n_val]
    return x[train], y[train], x[val], y[val]


def loss_name(loss):
    """A loss's name for messages ("binary_crossentropy", "mse", a function's name)."""
    return getattr(loss, "name", None) or getattr(loss, "__name__", None) or type(loss).__name__


def is_sparse(loss):
    """Whether ``loss`` takes class indices (a sparse categorical loss)."""
    return "sparse" in loss_name(loss).lower() or "sparse" in type(loss).__name__.lower()


def from_logits(loss):
    """Whether ``loss`` expects logits (``from_logits=True``)."""
    return bool(getattr(loss, "from_logits", False))


def resolve_loss(loss):
    """A Keras loss from a name (``"mse"``), a ``keras.losses.Loss`` or a callable.

    Raises:
        ValueError: an unknown name or something that is not callable.
    """
    if isinstance(loss, str):
        try:
            return keras.losses.get(loss)
        except (ValueError, TypeError) as exc:
            raise ValueError(
                f"loss must be a Keras loss name (e.g. 'mse', 'binary_crossentropy'), "
                f"a keras.losses.Loss or a callable, got {loss!r} ({exc})"
            ) from None
    if callable(loss):
        return loss
    raise ValueError(
        f"loss must be a Keras loss name, a keras.losses.Loss or a callable, got {loss!r}"
    )


def _output_activation(model):
    layer = model.layers[-1] if getattr(model, "layers", None) else None
    return getattr(getattr(layer, "activation", None), "__name__", None)


def infer_loss(model, y, out_dim):
    """A loss for a user's model given without one.

    Binary cross-entropy for 0/1 labels and a one-unit output, sparse categorical
    cross-entropy for integer labels and a multi-unit output (``from_logits`` unless the
    last layer's activation is sigmoid/softmax), mean squared error otherwise.

    Args:
        model: the Keras model (its last layer's activation is looked at).
        y: the targets (numpy).
        out_dim: number of output values per sample.
    """
    integer = bool(np.all(y == np.round(y)))
    activation = _output_activation(model)
    if integer and y.ndim == 1 and out_dim == 1 and set(np.unique(y)) <= {0.0, 1.0}:
        return keras.losses.BinaryCrossentropy(from_logits=activation != "sigmoid")
    if integer and y.ndim == 1 and out_dim > 1 and y.min() >= 0:
        return keras.losses.SparseCategoricalCrossentropy(from_logits=activation != "softmax")
    return keras.losses.MeanSquaredError()


def default_loss(classes):
    """The loss of the built-in MLP: cross-entropy on logits for classes, else MSE.

    Args:
        classes: number of classes (0 for regression, see :func:`class_count`).
    """
    if classes > 2:
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    if classes == 2:
        return keras.losses.BinaryCrossentropy(from_logits=True)
    return keras.losses.MeanSquaredError()


def class_count(y):
    """Number of classes when ``y`` looks like class labels (1-D, integers 0..k-1 with
    k <= 10), else 0 (regression targets)."""
    if y.ndim != 1:
        return 0
    labels = np.unique(y)
    if labels.size > 10 or np.any(labels != np.round(labels)) or labels.min() < 0:
        return 0
    if labels.size == 1 or labels.max() >= 10:
        return 0
    return max(int(labels.max()) + 1, 2)


def default_model(input_dim, hidden, seed, outputs=1):
    """A seeded MLP: tanh hidden layers of widths ``hidden``, a linear output layer.

    Raises:
        ValueError: ``hidden`` not a sequence of widths (see :func:`check_widths`).
    """
    hidden = check_widths("hidden", hidden)
    init = keras.initializers.GlorotUniform
    layers = [keras.Input((input_dim,), name="x")]
    for i, units in enumerate(hidden):
        layers.append(
            keras.layers.Dense(
                units,
                activation="tanh",
                name=f"dense_{i + 1}",
                kernel_initializer=init(seed=seed + i),
            )
        )
    layers.append(
        keras.layers.Dense(outputs, name="output", kernel_initializer=init(seed=seed + len(hidden)))
    )
    return keras.Sequential(layers, name="adaviz_mlp")


def check_model(model, name="model"):
    """Check that ``model`` is a Keras 3 model and return it.

    Raises:
        ValueError: anything else (a tf.keras 2 model, a layer, a function...), e.g.
            ``model must be a Keras 3 keras.Model (uncompiled is fine), got builtins.str``.
    """
    if not isinstance(model, keras.Model):
        kind = f"{type(model).__module__}.{type(model).__name__}"
        raise ValueError(
            f"{name} must be a Keras 3 keras.Model (uncompiled is fine), got {kind}: "
            f"{_short_repr(model)}"
        )
    return model


def _short_repr(value, limit=80):
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def call_model(model, x):
    """The model's output on ``x`` as numpy, checked to have one row per sample."""
    try:
        pred = model(x, training=False)
    except Exception as exc:
        raise ValueError(
            f"model {model.name!r} cannot be called on x with samples of shape "
            f"{x.shape[1:]}: {type(exc).__name__}: {exc}"
        ) from None
    pred = np.asarray(keras.ops.convert_to_numpy(pred))
    if pred.ndim == 0 or pred.shape[0] != len(x):
        raise ValueError(
            f"model {model.name!r} must return one output per sample, got an output of "
            f"shape {pred.shape} for {len(x)} samples"
        )
    return pred


def check_model_fits(model, loss, pred, x, y, what="data"):
    """Check that the model's output fits ``y`` and the loss; return ``y`` reshaped to it.

    Args:
        model, loss: the Keras model and loss.
        pred: the model's output on the first samples (from :func:`call_model`).
        x, y: checked arrays (from :func:`check_data`).
        what: how the pair is named in messages.

    Raises:
        ValueError: an output shape that does not fit ``y`` or the loss, class indices
            out of range, a loss that fails or is not finite on the first samples.
    """
    out_shape = pred.shape[1:]
    if is_sparse(loss):
        if pred.ndim != 2 or out_shape[0] < 2:
            raise ValueError(
                f"model output of shape {pred.shape} does not fit the sparse loss "
                f"{loss_name(loss)!r}: it needs one score per class, shape (n, classes)"
            )
        if y.ndim > 2 or (y.ndim == 2 and y.shape[1] != 1):
            raise ValueError(
                f"y ({what}) must hold one class index per sample for the sparse loss, "
                f"got shape {y.shape}"
            )
        y = y.reshape(-1)
        if np.any(y != np.round(y)) or y.min() < 0 or y.max() >= out_shape[0]:
            raise ValueError(
                f"y ({what}) must hold class indices 0..{out_shape[0] - 1} for a model "
                f"with {out_shape[0]} outputs, got values in [{y.min():g}, {y.max():g}]"
            )
    else:
        if int(np.prod(y.shape[1:])) != int(np.prod(out_shape)):
            raise ValueError(
                f"model output of shape (n, {', '.join(map(str, out_shape))}) does not "
                f"fit y ({what}) of shape {y.shape}: each sample needs "
                f"{int(np.prod(y.shape[1:]))} output value(s)"
            )
        y = y.reshape((len(y),) + tuple(out_shape))
    k = min(len(x), 8)
    try:
        value = keras.ops.convert_to_numpy(loss(y[:k], model(x[:k], training=False)))
        value = float(np.mean(value))
    except Exception as exc:
        raise ValueError(
            f"loss {loss_name(loss)!r} cannot compare y ({what}) of shape {y.shape} with "
            f"the model output of shape {pred.shape}: {type(exc).__name__}: {exc}"
        ) from None
    if not math.isfinite(value):
        raise ValueError(
            f"loss {loss_name(loss)!r} is {value} on the first samples of {what}: "
            "check that y fits the loss (e.g. labels 0/1 for binary cross-entropy)"
        )
    return y


def prepare(model, loss, x, y, x_val=None, y_val=None):
    """Check a model against its data and settle the loss: the usual sequence in one call.

    Calls the model on the first samples (:func:`call_model`), takes ``loss`` as given
    (:func:`resolve_loss`) or infers it (:func:`infer_loss`, ``loss=None``), and checks
    that the output fits ``y`` (and ``y_val``) and the loss (:func:`check_model_fits`).

    Returns:
        ``(loss, y, y_val, pred)``: the Keras loss, the targets reshaped to the model's
        output (``y_val`` None without validation data), and the model's output on the
        first samples.

    Raises:
        ValueError: see the functions above; also a model without trainable variables.
    """
    pred = call_model(model, x[: min(len(x), 8)])
    out_dim = int(np.prod(pred.shape[1:])) if pred.ndim > 1 else 1
    loss = infer_loss(model, y, out_dim) if loss is None else resolve_loss(loss)
    y = check_model_fits(model, loss, pred, x, y, "data")
    if y_val is not None:
        y_val = check_model_fits(model, loss, pred, x_val, y_val, "validation data")
    if not model.trainable_variables:
        raise ValueError(f"model {model.name!r} has no trainable variables to train")
    return loss, y, y_val, pred


def task_of(loss, pred):
    """``("classification", n_classes)`` for a cross-entropy/hinge loss, else
    ``("regression", 0)``."""
    name = loss_name(loss).lower() + type(loss).__name__.lower()
    if "crossentropy" in name or "hinge" in name:
        return "classification", (pred.shape[1] if is_sparse(loss) else 2)
    return "regression", 0


# ======================================================================================
# bounded history
# ======================================================================================
class ThinnedHistory:
    """Rows of a growing series in bounded memory, with the whole series still visible.

    Every appended row is kept until ``capacity`` rows are held; then every other kept
    row is dropped and from then on only every 2nd row is kept; when full again every
    4th, and so on (the stride doubles). Each row keeps its step label, and the newest
    row is always available, so 10,000 or 1,000,000 appended rows cost the same memory.

    Args:
        width: values per row.
        capacity: rows kept at most (even, >= 4), plus the newest row.
    """

    def __init__(self, width, capacity):
        capacity = check_int("capacity", capacity, 4)
        if capacity % 2:
            raise ValueError(f"capacity must be an even integer >= 4, got {capacity}")
        self.width = check_int("width", width, 1)
        self.capacity = capacity
        self._steps = np.zeros(capacity, np.int64)
        self._rows = np.zeros((capacity, self.width), np.float64)
        self.clear()

    def clear(self):
        """Forget every row."""
        self._n = 0
        self.stride = 1  # every stride-th appended row is kept
        self._appended = 0
        self._last = None  # (step, row) of the newest row

    def __len__(self):
        steps, _ = self.arrays()
        return len(steps)

    def append(self, steps, rows):
        """Append rows (in step order).

        Args:
            steps: 1-D integer labels, one per row.
            rows: shape ``(len(steps), width)``.
        """
        steps = np.asarray(steps, np.int64).reshape(-1)
        if not len(steps):
            return
        rows = np.asarray(rows, np.float64).reshape(len(steps), self.width)
        order = self._appended + 1 + np.arange(len(steps))  # 1-based arrival numbers
        self._appended += len(steps)
        self._last = (int(steps[-1]), rows[-1].copy())
        keep = order % self.stride == 0
        while self._n + int(keep.sum()) > self.capacity:
            # the kept rows are arrivals stride*1, stride*2, ...: keep the even multiples
            half = self._n // 2
            self._steps[:half] = self._steps[1 : self._n : 2]
            self._rows[:half] = self._rows[1 : self._n : 2]
            self._n = half
            self.stride *= 2
            keep = order % self.stride == 0
        k = int(keep.sum())
        self._steps[self._n : self._n + k] = steps[keep]
        self._rows[self._n : self._n + k] = rows[keep]
        self._n += k

    def arrays(self):
        """``(steps, rows)``: copies of the kept rows and the newest one, in step order."""
        steps, rows = self._steps[: self._n], self._rows[: self._n]
        if self._last is not None and (self._n == 0 or steps[-1] != self._last[0]):
            steps = np.append(steps, self._last[0])
            rows = np.vstack([rows, self._last[1][None]])
        return steps.copy(), rows.copy()


# ======================================================================================
# the trainer
# ======================================================================================
#: smoothing factor of the in-graph exponential moving average of the batch loss.
EMA_DECAY = 0.98


def _checked_validation(x, y, x_val, y_val):
    """``(x, y, x_val, y_val)`` with the validation pair checked like the training pair."""
    if (x_val is None) != (y_val is None):
        given, missing = ("x_val", "y_val") if y_val is None else ("y_val", "x_val")
        raise ValueError(
            f"x_val and y_val go together: {given} was given and {missing} is None; "
            "give both or neither"
        )
    if x_val is None:
        return x, y, None, None
    return split_validation(x, y, None, (x_val, y_val), seed=0)


def _compiled(fn):
    """``fn`` (no arguments) traced once into a concrete function, called directly.

    A ``tf.function`` looks its signature up on every call (about 0.1 ms, noticeable
    next to a sub-millisecond step), and warns about "frequent retracing" when many
    trainers trace the same code; a concrete function does neither.
    """
    return tf.function(fn).get_concrete_function()


class Trainer:
    """Train a Keras 3 model with :class:`adaviz.Adadelta`, one compiled step at a time.

    Each step is one ``tf.function`` (traced once per batch size): the next batch of a
    seeded per-epoch shuffle, the loss and gradients, Adadelta's update, and the
    per-layer diagnostics (:class:`adaviz.diagnostics.LayerDiagnostics`) written as one
    row into a small ring buffer on the device. Python only calls it, and moves the ring's
    rows into a :class:`ThinnedHistory` every ``chunk`` steps. New hyperparameters are
    assigned to the optimizer's variables: no retracing.

    A step whose loss, weights, updates or accumulators are not finite stops the run:
    :attr:`nonfinite_step` says which, the history ends there, and :meth:`run` takes no
    more steps until :meth:`restart`.

    The model, the loss and the data pass the checks :class:`adaviz.ModelPanel` and
    :func:`adaviz.sweep_model` use (:func:`check_model`, :func:`check_data`,
    :func:`prepare`), before anything is traced.

    Args:
        model: a Keras 3 model (uncompiled is fine).
        loss: a Keras loss name, a ``keras.losses.Loss`` or a callable (see
            :func:`resolve_loss`); ``None`` infers one (:func:`infer_loss`).
        x, y: training arrays (see :func:`check_data` and :func:`check_model_fits`).
        x_val, y_val: validation arrays (both or neither) or ``None``.
        batch_size: samples per step, 1 to ``len(x)``.
        seed: seeds the batch order; :meth:`restart` goes back to it exactly.
        history_size: rows kept in the history (even, >= 10; see :class:`ThinnedHistory`).
        lr, rho, epsilon, decay: Adadelta's hyperparameters.
        chunk: steps between two moves of the ring buffer into the history.

    Raises:
        ValueError: not a Keras model; non-numeric, non-finite or empty data, x and y of
            different lengths; a loss that is unknown or does not fit the model's output
            and ``y``; a batch size, seed, history size or hyperparameter out of range.
    """

    def __init__(
        self,
        model,
        loss,
        x,
        y,
        *,
        x_val=None,
        y_val=None,
        batch_size=32,
        seed=0,
        history_size=5000,
        lr=1.0,
        rho=0.95,
        epsilon=1e-7,
        decay=0.0,
        chunk=128,
    ):
        from adaviz.diagnostics import LayerDiagnostics
        from adaviz.optimizer import Adadelta

        model = check_model(model)
        x, y = check_data(x, y)
        x, y, x_val, y_val = _checked_validation(x, y, x_val, y_val)
        loss, y, y_val, _ = prepare(model, loss, x, y, x_val, y_val)
        self._n = len(x)
        self._bs = check_int("batch_size", batch_size, 1, self._n)
        self._seed = check_int("seed", seed, 0)
        history_size = check_int("history_size", history_size, 10)
        history_size += history_size % 2
        self._chunk = check_int("chunk", chunk, 1)
        hyper = {
            name: check_hyperparameter(name, value)
            for name, value in (("lr", lr), ("rho", rho), ("epsilon", epsilon), ("decay", decay))
        }
        self.model, self.loss = model, loss
        self.optimizer = Adadelta(**hyper)
        self._diag = LayerDiagnostics(model, self.optimizer)
        self.layer_names = list(self._diag.layer_names)
        self._x_val = x_val
        self._lock = threading.RLock()
        self._traces = 0
        self._compiled = {}  # batch size -> (train, probe) concrete functions
        nl = len(self.layer_names)
        self._width = 1 + 3 * nl  # loss and the 3 per-layer blocks

        self._X, self._Y = tf.constant(x), tf.constant(y)
        self._perm = tf.Variable(self._permutation(0), trainable=False, name="batch_order")
        self._pos = tf.Variable(0, dtype=tf.int32, trainable=False, name="batch_position")
        self._epoch = tf.Variable(0, dtype=tf.int32, trainable=False, name="epoch")
        self._count = tf.Variable(0, dtype=tf.int64, trainable=False, name="steps")
        self._ring = tf.Variable(
            tf.zeros([self._chunk, self._width], tf.float32), trainable=False, name="recent"
        )
        self._step_size_vars = [
            tf.Variable(tf.zeros(v.shape, v.dtype), trainable=False, name="step_size")
            for v in self._diag.variables
        ]
        self._read_step_sizes = _compiled(
            lambda: self._diag.per_layer([s.read_value() for s in self._step_size_vars])
        )
        self._train_loss_fn = _compiled(lambda: self._mean_loss(self._X, self._Y))
        if x_val is not None:
            self._X_val, self._Y_val = tf.constant(x_val), tf.constant(y_val)
            self._val_loss_fn = _compiled(lambda: self._mean_loss(self._X_val, self._Y_val))
        self._initial_weights = [v.numpy().copy() for v in model.variables]

        self._history = ThinnedHistory(self._width + 1, history_size)  # + smoothed loss
        self._evals = ThinnedHistory(2, history_size)  # full-data loss, validation loss
        self._steps = 0  # steps taken in this run (mirrors self._count)
        self._drained = 0  # steps already moved from the ring into the history
        self._nonfinite = None
        self._ema = 0.0  # the loss's moving average without bias correction
        self._changes = [(0, self.settings())]

    # -- public ------------------------------------------------------------------------
    @property
    def steps(self):
        """Steps taken in the current run."""
        return self._steps

    @property
    def batch_size(self):
        return self._bs

    @property
    def trace_count(self):
        """How many times a step was traced (one train and one probe per batch size)."""
        return self._traces

    @property
    def nonfinite_step(self):
        """The first step (1-based) whose loss, weights, updates or accumulators were not
        finite, or ``None``."""
        with self._lock:
            self._drain()
            return self._nonfinite

    @property
    def changes(self):
        """``[(first step, settings)]``: the settings of the run, from which step on."""
        return list(self._changes)

    def hyperparameters(self):
        """The optimizer's lr, rho, epsilon, decay as floats."""
        opt = self.optimizer
        return {"lr": opt.lr, "rho": opt.rho, "epsilon": opt.epsilon, "decay": opt.decay}

    def settings(self):
        """The hyperparameters and the batch size in effect for the next step."""
        return dict(self.hyperparameters(), batch_size=self._bs)

    def set_hyperparameters(self, **values):
        """Assign lr/rho/epsilon/decay to the optimizer (from the next step; no retrace)."""
        with self._lock:
            for name, value in values.items():
                if name not in ("lr", "rho", "epsilon", "decay"):
                    raise ValueError(
                        f"unknown hyperparameter {name!r}; allowed: lr, rho, epsilon, decay"
                    )
                setattr(self.optimizer, name, check_hyperparameter(name, value))
            self._log_change()

    def set_batch_size(self, batch_size):
        """Use ``batch_size`` samples from the next step (a new size is traced once)."""
        with self._lock:
            self._bs = check_int("batch_size", batch_size, 1, self._n)
            self._log_change()

    def run(self, n=1, *, seconds=None, probe=True):
        """Take up to ``n`` steps (fewer when ``seconds`` pass or a step is not finite).

        Args:
            n: the most steps to take.
            seconds: stop after about this long (``None``: no limit).
            probe: make the last step a probe, which also records every parameter's
                effective step size (:meth:`step_sizes`).

        Returns:
            The number of steps taken (0 once a step was not finite).

        Raises:
            ValueError: ``n`` not an integer >= 1, ``seconds`` not ``None`` or a number
                >= 0, ``probe`` not True or False.
        """
        n = check_int("n", n, 1)
        if not isinstance(probe, (bool, np.bool_)):
            raise ValueError(f"probe must be True or False, got {probe!r}")
        if seconds is not None and (
            isinstance(seconds, (bool, np.bool_))
            or not isinstance(seconds, numbers.Real)
            or not seconds >= 0
        ):
            raise ValueError(
                f"seconds must be None (no time limit) or a number >= 0, got {seconds!r}"
            )
        end = None if seconds is None else time.perf_counter() + seconds
        with self._lock:
            if self._nonfinite is not None:
                return 0
            train, probe_step = self._steppers()
            taken = 0
            while taken < n - 1 and (end is None or time.perf_counter() < end):
                train()
                taken += 1
                self._steps += 1
                if self._steps - self._drained >= self._chunk:
                    self._drain()
                    if self._nonfinite is not None:
                        return taken
            (probe_step if probe else train)()
            self._steps += 1
            self._drain()
            return taken + 1

    def restart(self):
        """Back to the seeded start: weights, optimizer state, batch order, history."""
        with self._lock:
            for var, value in zip(self.model.variables, self._initial_weights, strict=True):
                var.assign(value)
            opt = self.optimizer
            for v in self._diag.variables:
                for slot in opt.accumulators(v):
                    slot.assign(tf.zeros(slot.shape, slot.dtype))
            opt.iterations.assign(0)
            for s in self._step_size_vars:
                s.assign(tf.zeros(s.shape, s.dtype))
            self._perm.assign(self._permutation(0))
            self._pos.assign(0)
            self._epoch.assign(0)
            self._count.assign(0)
            self._ema = 0.0
            self._steps = self._drained = 0
            self._history.clear()
            self._evals.clear()
            self._nonfinite = None
            self._changes = [(0, self.settings())]

    def step_sizes(self):
        """Per layer, the effective step size of every parameter in the last probe step,
        ``lr_t·√(E[Δx²]_{t-1}+ε)/√(E[g²]_t+ε)`` (zeros before the first)."""
        with self._lock:
            return [a.numpy() for a in self._read_step_sizes()]

    def evaluate(self, which="train"):
        """The mean loss of the current model on the training ("train") or "val" data."""
        if which not in ("train", "val"):
            raise ValueError(f"which must be 'train' or 'val', got {which!r}")
        if which == "val" and self._x_val is None:
            raise ValueError("there is no validation data: pass validation_split or data")
        with self._lock:
            fn = self._train_loss_fn if which == "train" else self._val_loss_fn
            return float(fn().numpy())

    def record_evaluation(self):
        """Add the full-data (and validation) loss at the current step to the history
        (once per step; nothing before the first step)."""
        with self._lock:
            self._drain()
            step = self._steps if self._nonfinite is None else self._nonfinite
            steps, _ = self._evals.arrays()
            if step == 0 or (len(steps) and steps[-1] == step):
                return
            val = self.evaluate("val") if self._x_val is not None else math.nan
            self._evals.append([step], [[self.evaluate("train"), val]])

    def predictor(self, x):
        """A compiled function returning the model's output on the fixed input ``x``.

        Raises:
            ValueError: ``x`` not finite numbers, or samples of another shape than the
                training data's.
        """
        x = _numeric_array("x (predictor)", x)
        features = tuple(self._X.shape[1:])
        if x.shape[1:] != features:
            raise ValueError(
                f"x (predictor) must hold samples of shape {features} like the training "
                f"data, got an array of shape {x.shape}"
            )
        grid = tf.constant(x)
        fn = _compiled(lambda: self.model(grid, training=False))

        def predict():
            with self._lock:
                return np.asarray(fn().numpy(), dtype=np.float64)

        return predict

    @property
    def history(self):
        """The current run, whole, in bounded memory (see :class:`ThinnedHistory`).

        A dict of numpy arrays: ``step`` (1-based step numbers), ``loss`` (the batch loss
        before the update), ``loss_smoothed`` (its bias-corrected exponential moving
        average, decay :data:`EMA_DECAY`, over every step), ``lr`` (the decayed ``lr_t``
        used), ``rho``, ``epsilon``, ``decay``, ``batch_size``; per layer (columns in
        ``layer_names`` order, shape ``(steps, layers)``): ``accum_grad_rms``,
        ``accum_delta_rms`` (RMS over the layer's parameters of E[g²] and E[Δx²] after
        the step) and ``update_ratio`` (‖Δw‖/‖w‖, ``w`` before the step); ``full_step``
        and ``full_loss`` (the mean loss over all training data, at each
        :meth:`record_evaluation`), ``val_step`` and ``val_loss`` with validation data;
        ``nonfinite_step`` (0-d int64: the first non-finite step, 0 while all are finite).
        """
        with self._lock:
            self._drain()
            steps, rows = self._history.arrays()
            eval_steps, evals = self._evals.arrays()
            nonfinite = self._nonfinite
        nl = len(self.layer_names)
        out = {
            "step": steps,
            "loss": rows[:, 0],
            "loss_smoothed": rows[:, 1],
            "accum_grad_rms": rows[:, 2 : 2 + nl],
            "accum_delta_rms": rows[:, 2 + nl : 2 + 2 * nl],
            "update_ratio": rows[:, 2 + 2 * nl : 2 + 3 * nl],
        }
        out.update(self._settings_per_step(steps))
        out["full_step"], out["full_loss"] = eval_steps, evals[:, 0]
        if self._x_val is not None:
            out["val_step"], out["val_loss"] = eval_steps.copy(), evals[:, 1]
        out["nonfinite_step"] = np.array(nonfinite or 0, np.int64)
        return out

    # -- internals ---------------------------------------------------------------------
    def _steppers(self):
        """The compiled (train, probe) steps for the current batch size."""
        pair = self._compiled.get(self._bs)
        if pair is None:
            bs = self._bs
            pair = self._compiled[bs] = (
                _compiled(lambda: self._step_graph(bs, probe=False)),
                _compiled(lambda: self._step_graph(bs, probe=True)),
            )
        return pair

    def _permutation(self, epoch):
        """The seeded batch order of ``epoch`` (stateless: the same after a restart)."""
        noise = tf.random.stateless_uniform([self._n], seed=[self._seed, epoch])
        return tf.cast(tf.argsort(noise), tf.int32)

    def _mean_loss(self, x, y):
        return tf.cast(tf.reduce_mean(self.loss(y, self.model(x, training=False))), tf.float32)

    def _next_batch(self, bs):
        """The next ``bs`` samples of the seeded per-epoch order (reshuffled when fewer
        than ``bs`` are left in the epoch)."""
        if self._pos + bs > self._n:
            self._epoch.assign_add(1)
            self._perm.assign(self._permutation(self._epoch.read_value()))
            self._pos.assign(0)
        start = self._pos.read_value()
        idx = tf.slice(self._perm, [start], [bs])  # static shape [bs]
        self._pos.assign(start + bs)
        return tf.gather(self._X, idx), tf.gather(self._Y, idx)

    def _step_graph(self, bs, probe):
        """One training step and its diagnostics row, traced into a graph."""
        self._traces += 1  # a Python side effect: runs once per trace
        diag, model = self._diag, self.model
        xb, yb = self._next_batch(bs)
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(self.loss(yb, model(xb, training=True)))
            if model.losses:
                loss = loss + tf.add_n(model.losses)
        grads = tape.gradient(loss, diag.variables)
        before = diag.weights()
        if probe:
            accum_delta, lr_t = diag.accum_delta(), diag.learning_rate()
        self.optimizer.apply(grads, diag.variables)
        if probe:
            for out, size in zip(
                self._step_size_vars, diag.step_sizes(lr_t, accum_delta), strict=True
            ):
                out.assign(size)
        stats = diag.statistics(before)
        # Every entry is finite exactly when the loss, weights, updates and accumulators
        # are (the statistics' sums are float64), so _drain checks the row itself.
        row = tf.concat(
            [
                [tf.cast(loss, tf.float32)],
                stats["accum_grad_rms"],
                stats["accum_delta_rms"],
                stats["update_ratio"],
            ],
            axis=0,
        )
        slot = tf.cast(self._count % self._chunk, tf.int32)
        self._ring.scatter_update(tf.IndexedSlices(row[None], slot[None]))
        self._count.assign_add(1)

    def _drain(self):
        """Move the ring's new rows into the history; stop at a non-finite one."""
        new = self._steps - self._drained
        if new <= 0 or self._nonfinite is not None:
            return
        steps = np.arange(self._drained + 1, self._steps + 1, dtype=np.int64)
        rows = self._ring.numpy()[(steps - 1) % self._chunk].astype(np.float64)
        bad = np.flatnonzero(~np.all(np.isfinite(rows), axis=1))
        if len(bad):
            steps, rows = steps[: bad[0] + 1], rows[: bad[0] + 1]
            self._nonfinite = int(steps[-1])
        smoothed = np.empty(len(steps))
        ema = self._ema
        for i, value in enumerate(rows[:, 0]):  # every step, in order (bias-corrected)
            ema = EMA_DECAY * ema + (1.0 - EMA_DECAY) * value
            smoothed[i] = ema
        self._ema = ema
        smoothed /= 1.0 - EMA_DECAY ** steps.astype(np.float64)
        self._history.append(
            steps, np.concatenate([rows[:, :1], smoothed[:, None], rows[:, 1:]], 1)
        )
        self._drained = self._steps

    def _log_change(self):
        settings = self.settings()
        if self._changes and self._changes[-1][0] == self._steps:
            self._changes[-1] = (self._steps, settings)
        else:
            self._changes.append((self._steps, settings))
        if len(self._changes) > self._history.capacity:
            # keep the changes that a kept step refers to (and the newest)
            steps, _ = self._history.arrays()
            used = set(self._change_index(steps).tolist()) | {len(self._changes) - 1}
            self._changes = [c for i, c in enumerate(self._changes) if i in used]

    def _change_index(self, steps):
        starts = np.array([first for first, _ in self._changes], dtype=np.int64)
        which = np.searchsorted(starts, np.asarray(steps) - 1, side="right") - 1
        return np.clip(which, 0, len(self._changes) - 1)

    def _settings_per_step(self, steps):
        """Per recorded step, the settings in effect (from the change log)."""
        which = self._change_index(steps)
        out = {}
        for key in ("lr", "rho", "epsilon", "decay", "batch_size"):
            column = np.array([s[key] for _, s in self._changes], dtype=np.float64)
            out[key] = column[which]
        out["lr"] = decayed_lr(out["lr"], out["decay"], steps - 1.0)
        out["batch_size"] = out["batch_size"].astype(np.int64)
        return out
