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

import numpy as np

from adaviz._tf import import_tensorflow

tf = import_tensorflow()
import keras  # noqa: E402  (after the quiet TensorFlow import)

__all__ = [
    "check_data",
    "resolve_loss",
    "infer_loss",
    "class_count",
    "default_model",
    "check_model_fits",
    "split_validation",
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
    """A seeded MLP: tanh hidden layers of widths ``hidden``, a linear output layer."""
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


def task_of(loss, pred):
    """``("classification", n_classes)`` for a cross-entropy/hinge loss, else
    ``("regression", 0)``."""
    name = loss_name(loss).lower() + type(loss).__name__.lower()
    if "crossentropy" in name or "hinge" in name:
        return "classification", (pred.shape[1] if is_sparse(loss) else 2)
    return "regression", 0
