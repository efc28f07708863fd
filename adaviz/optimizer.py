"""Adadelta: a Keras 3 optimizer with TensorFlow's fused kernel and the legacy tf.keras API.

The equations live in :mod:`adaviz._math`. This module applies them to model variables:
dense float32/float64 variables go through TensorFlow's fused ``ResourceApplyAdadelta``
kernel (one pass over memory instead of a dozen element-wise ops); every other case
(other dtypes, step-size tracking) calls :func:`adaviz._math.adadelta_step`.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras.optimizers.schedules import LearningRateSchedule

from adaviz._math import adadelta_step, decayed_lr
from adaviz._validate import check_hyperparameter

__all__ = ["Adadelta"]

#: Keras 3 base-optimizer keyword arguments that pass straight through.
BASE_KWARGS = (
    "name",
    "weight_decay",
    "clipnorm",
    "clipvalue",
    "global_clipnorm",
    "use_ema",
    "ema_momentum",
    "ema_overwrite_frequency",
    "loss_scale_factor",
    "gradient_accumulation_steps",
)
#: Keys of legacy tf.keras configs that carry no meaning here; ``from_config`` drops them.
_LEGACY_ONLY_KEYS = ("is_legacy_optimizer", "jit_compile")
_FUSED_DTYPES = ("float32", "float64")


class _DefaultLR(float):
    """The default ``lr`` (1.0), distinguishable from an explicit ``lr=1.0``."""

    def __repr__(self):
        return "1.0"


_DEFAULT_LR = _DefaultLR(1.0)


def _is_schedule(value, name="lr"):
    """Whether ``value`` is a learning-rate schedule rather than a number.

    A ``LearningRateSchedule``, or a zero-argument callable (not a class) whose result is a
    valid learning rate: it is called once here, so a wrong one fails now, not at the
    first training step.

    Raises:
        ValueError: ``value`` is a callable that fails or returns no valid learning rate.
    """
    if isinstance(value, LearningRateSchedule):
        return True
    if not callable(value) or isinstance(value, type) or isinstance(value, keras.Variable):
        return False
    try:
        result = _coerce(value())
    except Exception as exc:
        raise ValueError(
            f"{name} must be a number >= 0, a LearningRateSchedule or a zero-argument "
            f"callable returning such a number; calling {value!r} failed: {exc}"
        ) from exc
    try:
        check_hyperparameter(name, result)
    except ValueError as exc:
        raise ValueError(
            f"{name} is a callable, {value!r}, whose result is refused: {exc}"
        ) from None
    return True


def _tf_variable(variable):
    """The ``tf.Variable`` behind a Keras variable (or the variable itself)."""
    return variable.value if isinstance(variable, keras.Variable) else variable


def _coerce(value):
    """An eager 0-d tensor or array becomes a Python float; other values pass unchanged."""
    if isinstance(value, keras.Variable) or tf.is_tensor(value) or isinstance(value, np.ndarray):
        if tf.is_tensor(value) and not tf.executing_eagerly():
            return value  # a graph tensor cannot be checked here; assigned as given
        array = np.asarray(value.numpy() if hasattr(value, "numpy") else value)
        if array.shape == () and array.dtype.kind in "iuf":
            return float(array)
    return value


def _check(name, value):
    """Validate a hyperparameter given to a setter (graph tensors pass unchecked)."""
    value = _coerce(value)
    return value if tf.is_tensor(value) else check_hyperparameter(name, value)


def _is_numeric(value):
    """Whether ``value`` converts to a numeric numpy array."""
    try:
        return np.asarray(value).dtype.kind in "biuf"
    except Exception:
        return False


def _read(variable):
    """A scalar hyperparameter variable as a Python float (a tensor inside a graph)."""
    value = tf.convert_to_tensor(_tf_variable(variable))
    return float(value.numpy()) if tf.executing_eagerly() else value


@keras.saving.register_keras_serializable(package="adaviz")
class Adadelta(keras.optimizers.Optimizer):
    """Adadelta (Zeiler, 2012) with TensorFlow's update and the legacy tf.keras API.

    A drop-in Keras 3 optimizer (``model.compile(optimizer=adaviz.Adadelta())``) whose
    defaults are the legacy ``tf.keras.optimizers.Adadelta`` ones (``lr=1.0``), with
    legacy time-based decay ``lr_t = lr / (1 + decay * t)`` (``t`` = steps taken before
    this one). The equations are in :mod:`adaviz._math`.

    ``lr``, ``rho``, ``epsilon`` and ``decay`` are held in float64 scalar variables, so
    assigning ``opt.lr``, ``opt.rho``, ``opt.epsilon`` or ``opt.decay`` takes effect on
    the next step of an already traced ``tf.function`` / ``model.fit`` without retracing
    (and float64 models see their exact values). Reading them eagerly gives Python floats.

    Args:
        lr: learning rate, a number >= 0, or a ``LearningRateSchedule`` (or a
            zero-argument callable) as in Keras 3. With a schedule, ``decay`` applies on
            top of it: ``lr_t = schedule(t) / (1 + decay * t)``, as in tf.keras.
        rho: decay rate of both running averages, in [0, 1].
        epsilon: fuzz factor inside both square roots, >= 0; ``None`` means
            ``keras.config.epsilon()`` (1e-7).
        decay: legacy learning-rate decay per step, >= 0.
        track_step_size: also keep, per variable element, the effective step size of
            the last step, ``lr_t * sqrt(D_{t-1} + eps) / sqrt(A_t + eps)``
            (see :meth:`step_size`). Off by default: it costs memory and time.
        **kwargs: ``learning_rate`` (the Keras 3 spelling of ``lr``) and the Keras 3
            base arguments: ``name``, ``weight_decay``, ``clipnorm``, ``clipvalue``,
            ``global_clipnorm``, ``use_ema``, ``ema_momentum``,
            ``ema_overwrite_frequency``, ``loss_scale_factor``,
            ``gradient_accumulation_steps``.

    Raises:
        ValueError: a hyperparameter out of range, NaN, infinite or not a number; an
            unknown keyword argument; ``lr`` and ``learning_rate`` given together.

    Reference: Zeiler, "ADADELTA: An Adaptive Learning Rate Method", 2012,
    https://arxiv.org/abs/1212.5701
    """

    def __init__(
        self,
        lr=_DEFAULT_LR,
        rho=0.95,
        epsilon=None,
        decay=0.0,
        *,
        track_step_size=False,
        **kwargs,
    ):
        if "learning_rate" in kwargs:
            learning_rate = kwargs.pop("learning_rate")
            if lr is not _DEFAULT_LR:
                raise ValueError(
                    "give the learning rate once, as lr or as learning_rate (its Keras 3 "
                    f"name), got both: lr={lr!r}, learning_rate={learning_rate!r}"
                )
            lr, lr_name = learning_rate, "learning_rate"
        else:
            lr, lr_name = (1.0 if lr is _DEFAULT_LR else lr), "lr"
        unknown = sorted(set(kwargs) - set(BASE_KWARGS))
        if unknown:
            raise ValueError(
                f"unknown keyword argument(s) {', '.join(unknown)} "
                f"(got {', '.join(f'{k}={kwargs[k]!r}' for k in unknown)}); "
                "allowed: lr, learning_rate, rho, epsilon, decay, track_step_size, "
                + ", ".join(BASE_KWARGS)
            )
        if not _is_schedule(lr, lr_name):
            lr = check_hyperparameter(lr_name, _coerce(lr))
        rho = check_hyperparameter("rho", rho)
        if epsilon is None:
            epsilon = keras.config.epsilon()
        epsilon = check_hyperparameter("epsilon", epsilon)
        decay = check_hyperparameter("decay", decay)
        if not isinstance(track_step_size, (bool, np.bool_)):
            raise ValueError(f"track_step_size must be True or False, got {track_step_size!r}")

        super().__init__(learning_rate=lr, **kwargs)
        self._track_step_size = bool(track_step_size)
        with keras.name_scope(self.name, caller=self):
            if isinstance(self._learning_rate, keras.Variable):
                # Keras keeps lr in floatx (float32); keep it exact, like the others.
                self._untrack_variable(self._learning_rate)
                self._learning_rate = self._scalar_variable("learning_rate", lr)
            self._rho = self._scalar_variable("rho", rho)
            self._epsilon = self._scalar_variable("epsilon", epsilon)
            self._decay = self._scalar_variable("decay", decay)
        self._accum_grads = []
        self._accum_deltas = []
        self._step_sizes = []

    def _scalar_variable(self, name, value):
        variable = keras.Variable(
            value,
            name=name,
            dtype="float64",
            trainable=False,
            aggregation="only_first_replica",
            autocast=False,
        )
        self._track_variable(variable)
        return variable

    # ------------------------------------------------------------------ hyperparameters

    @property
    def learning_rate(self):
        """The learning-rate variable (or the schedule's current value), as in Keras 3."""
        return self._get_current_learning_rate()

    @learning_rate.setter
    def learning_rate(self, value):
        if not _is_schedule(value, "learning_rate"):
            value = _check("learning_rate", value)
            if not isinstance(self._learning_rate, keras.Variable):
                raise ValueError(
                    f"learning_rate cannot be set to {value!r}: this optimizer was created "
                    "with a LearningRateSchedule (or callable); create it with a number "
                    "to make the learning rate settable"
                )
        keras.optimizers.Optimizer.learning_rate.fset(self, value)

    @property
    def lr(self):
        """The (undecayed) learning rate; a Python float when read eagerly."""
        return _read(self._get_current_learning_rate())

    @lr.setter
    def lr(self, value):
        if not _is_schedule(value, "lr"):
            value = _check("lr", value)
        self.learning_rate = value

    @property
    def rho(self):
        """Decay rate of the running averages; a Python float when read eagerly."""
        return _read(self._rho)

    @rho.setter
    def rho(self, value):
        self._rho.assign(_check("rho", value))

    @property
    def epsilon(self):
        """Fuzz factor inside the square roots; a Python float when read eagerly."""
        return _read(self._epsilon)

    @epsilon.setter
    def epsilon(self, value):
        self._epsilon.assign(_check("epsilon", value))

    @property
    def decay(self):
        """Legacy learning-rate decay; a Python float when read eagerly."""
        return _read(self._decay)

    @decay.setter
    def decay(self, value):
        self._decay.assign(_check("decay", value))

    @property
    def track_step_size(self):
        """Whether :meth:`step_size` is available (fixed at construction)."""
        return self._track_step_size

    # ------------------------------------------------------------------ state

    def build(self, var_list):
        """Create E[g^2], E[dx^2] (and, if tracked, step-size) slots for ``var_list``."""
        if self.built:
            return
        super().build(var_list)
        self._accum_grads, self._accum_deltas = self.add_optimizer_variables(
            var_list, ["accum_grad", "accum_delta"]
        )
        if self._track_step_size:
            self._step_sizes = self.add_optimizer_variables(var_list, "step_size")

    def _index(self, variable):
        if not self.built:
            raise ValueError(
                f"the optimizer has no state yet, so it has none for {variable.name!r}: "
                "apply a step (or call build(variables)) first"
            )
        try:
            return self._get_variable_index(variable)
        except (KeyError, AttributeError):
            raise ValueError(
                f"variable {getattr(variable, 'name', variable)!r} is not one of the "
                f"{len(self._trainable_variables)} variables this optimizer was built with"
            ) from None

    def accumulators(self, variable):
        """The running averages of one model variable.

        Returns:
            ``(accum_grad, accum_delta)``: the slot variables holding E[g^2] and E[dx^2],
            same shape as ``variable``.

        Raises:
            ValueError: the optimizer is not built, or ``variable`` is not one of its.
        """
        index = self._index(variable)
        return self._accum_grads[index], self._accum_deltas[index]

    def step_size(self, variable):
        """The per-element effective step size of the last step for one variable.

        ``lr_t * sqrt(D_{t-1} + eps) / sqrt(A_t + eps)``: the parameter moved by
        ``-step_size * g_t``. Zero before the first step.

        Raises:
            ValueError: step sizes are not tracked (create the optimizer with
                ``track_step_size=True``), the optimizer is not built, or ``variable``
                is not one of its.
        """
        if not self._track_step_size:
            raise ValueError(
                "step sizes are not tracked by this optimizer (track_step_size=False): "
                "create it with Adadelta(..., track_step_size=True) to read step_size()"
            )
        return self._step_sizes[self._index(variable)]

    # ------------------------------------------------------------------ the update

    def _hyperparameters(self, learning_rate, dtypes):
        """Per dtype name: (lr_t, rho, epsilon) cast once for this step."""
        lr = tf.cast(learning_rate, tf.float64)
        steps = tf.cast(self.iterations, tf.float64)
        lr_t = decayed_lr(lr, tf.convert_to_tensor(self._decay.value), steps)
        rho = tf.convert_to_tensor(self._rho.value)
        epsilon = tf.convert_to_tensor(self._epsilon.value)
        return {
            name: (tf.cast(lr_t, name), tf.cast(rho, name), tf.cast(epsilon, name))
            for name in dtypes
        }

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        # Compute lr_t and cast the hyperparameters once per step and dtype, not per
        # variable; the dict travels to update_step in place of the learning rate.
        dtypes = sorted({tf.as_dtype(v.dtype).name for v in trainable_variables})
        hyper = self._hyperparameters(learning_rate, dtypes)
        super()._backend_update_step(grads, trainable_variables, hyper)

    def update_step(self, gradient, variable, learning_rate):
        """Apply one Adadelta step to ``variable`` (called by Keras per variable)."""
        dtype = tf.as_dtype(variable.dtype).name
        if isinstance(learning_rate, dict):
            lr_t, rho, epsilon = learning_rate[dtype]
        else:
            lr_t, rho, epsilon = self._hyperparameters(learning_rate, [dtype])[dtype]
        index = self._get_variable_index(variable)
        accum_grad = _tf_variable(self._accum_grads[index])
        accum_delta = _tf_variable(self._accum_deltas[index])
        variable = _tf_variable(variable)
        if isinstance(gradient, tf.IndexedSlices):
            # Dense Adadelta decays every row's accumulators, so a sparse gradient must
            # act as its dense equivalent: densify, summing duplicate indices.
            gradient = tf.math.unsorted_segment_sum(
                gradient.values, gradient.indices, tf.shape(variable, out_type=tf.int64)[0]
            )
        gradient = tf.cast(gradient, variable.dtype)

        if self._track_step_size:
            step = adadelta_step(accum_grad, accum_delta, gradient, lr_t, rho, epsilon)
            variable.assign_sub(step.update)
            accum_grad.assign(step.accum_grad)
            accum_delta.assign(step.accum_delta)
            _tf_variable(self._step_sizes[index]).assign(step.step_size)
        elif dtype in _FUSED_DTYPES and hasattr(variable, "handle"):
            tf.raw_ops.ResourceApplyAdadelta(
                var=variable.handle,
                accum=accum_grad.handle,
                accum_update=accum_delta.handle,
                lr=lr_t,
                rho=rho,
                epsilon=epsilon,
                grad=gradient,
                use_locking=False,
            )
        else:
            step = adadelta_step(accum_grad, accum_delta, gradient, lr_t, rho, epsilon)
            variable.assign_sub(step.update)
            accum_grad.assign(step.accum_grad)
            accum_delta.assign(step.accum_delta)

    # ------------------------------------------------------------------ config

    def get_config(self):
        """Keras 3 config plus ``lr``, ``rho``, ``epsilon``, ``decay`` as plain floats.

        Also ``track_step_size``. With a schedule, ``lr`` (like ``learning_rate``) holds the
        schedule's serialized config.
        """
        config = super().get_config()
        config.update(
            {
                "lr": config["learning_rate"],
                "rho": self.rho,
                "epsilon": self.epsilon,
                "decay": self.decay,
                "track_step_size": self._track_step_size,
            }
        )
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Rebuild an optimizer from :meth:`get_config` output or a legacy tf.keras config.

        Legacy configs look like ``{"lr": 1.0, "rho": 0.95, "decay": 0.0,
        "epsilon": 1e-07}`` (optionally with ``name``); ``is_legacy_optimizer`` and
        ``jit_compile`` keys of later tf.keras configs are ignored.

        Raises:
            ValueError: ``config`` not a dict; ``lr`` and ``learning_rate`` both present
                and different; a learning rate that is a dict Keras cannot deserialize
                into a ``LearningRateSchedule``; or any error of the constructor.
        """
        if not isinstance(config, dict):
            raise ValueError(
                "config must be a dict, as get_config() returns (e.g. {'lr': 1.0, "
                f"'rho': 0.95}}), got {config!r} (type {type(config).__name__})"
            )
        config = dict(config)
        for key in _LEGACY_ONLY_KEYS:
            config.pop(key, None)
        if "lr" in config and "learning_rate" in config:
            lr = config.pop("lr")
            if lr != config["learning_rate"]:
                raise ValueError(
                    "config gives two different learning rates: "
                    f"lr={lr!r}, learning_rate={config['learning_rate']!r}"
                )
        for key in ("lr", "learning_rate"):
            if isinstance(config.get(key), dict):
                try:
                    config[key] = keras.saving.deserialize_keras_object(
                        config[key], custom_objects=custom_objects
                    )
                except Exception as exc:
                    raise ValueError(
                        f"{key} in config must be a number >= 0 or a serialized "
                        "LearningRateSchedule (keras.optimizers.schedules.serialize(schedule), "
                        "with custom_objects for your own classes), got "
                        f"{config[key]!r}, which Keras cannot deserialize: "
                        f"{type(exc).__name__}: {exc}"
                    ) from None
        return cls(**config)

    # ------------------------------------------------------------------ legacy tf.keras API

    def get_gradients(self, loss, params):
        """Gradients of ``loss`` with respect to ``params`` (legacy tf.keras API).

        Args:
            loss: a zero-argument callable returning the loss (eagerly or in a
                ``tf.function``), or a loss tensor computed inside a ``tf.function``.
            params: list of variables.

        Returns:
            List of gradient tensors, one per variable.

        Raises:
            ValueError: ``loss`` is an eager tensor (pass a callable instead), or a
                gradient cannot be computed (``None``) for some variable.
        """
        params = list(params)
        tf_params = [_tf_variable(p) for p in params]
        if callable(loss):
            with tf.GradientTape(watch_accessed_variables=False) as tape:
                tape.watch(tf_params)
                value = loss()
            grads = tape.gradient(value, tf_params)
        elif tf.is_tensor(loss) and not tf.executing_eagerly():
            grads = tf.gradients(loss, tf_params)
        elif tf.is_tensor(loss):
            raise ValueError(
                f"loss is an eager tensor ({loss!r}): it was already computed, so it cannot "
                "be differentiated; pass a zero-argument callable that computes it, e.g. "
                "get_gradients(lambda: loss_fn(model(x), y), params), or call "
                "get_gradients inside a tf.function"
            )
        else:
            raise ValueError(
                "loss must be a zero-argument callable (or a tensor inside a tf.function), "
                f"got {loss!r} (a {type(loss).__name__})"
            )
        for grad, param in zip(grads, params, strict=True):
            if grad is None:
                raise ValueError(
                    f"variable {getattr(param, 'path', param.name)!r} has None for gradient: "
                    "the loss does not depend on it, or an op in between is not "
                    "differentiable (e.g. argmax, round, a cast to int)"
                )
        return grads

    def get_updates(self, loss, params):
        """Compute the gradients of ``loss`` and apply one step (legacy tf.keras API).

        Returns:
            The updated values, in the legacy order: the iteration count, then for each
            parameter its E[g^2], the parameter, its E[dx^2]. Inside a ``tf.function``
            these are the graph tensors of the updates; eagerly, their new values.
        """
        params = list(params)
        grads = self.get_gradients(loss, params)
        self.apply_gradients(zip(grads, params, strict=True))
        updates = [self._iterations]
        for param in params:
            accum_grad, accum_delta = self.accumulators(param)
            updates += [accum_grad, param, accum_delta]
        return [tf.convert_to_tensor(_tf_variable(v)) for v in updates]

    def _slot_labels(self):
        """``id(variable) -> "E[g^2] of 'dense/kernel'"`` for messages about the state."""
        labels = {id(self._iterations): "iteration"}
        for variable, accum_grad, accum_delta in zip(
            self._trainable_variables, self._accum_grads, self._accum_deltas, strict=True
        ):
            path = getattr(variable, "path", variable.name)
            labels[id(accum_grad)] = f"E[g^2] of {path!r}, {accum_grad.name}"
            labels[id(accum_delta)] = f"E[dx^2] of {path!r}, {accum_delta.name}"
        return labels

    def _slot_minimum(self, variable):
        """Why ``variable`` cannot be negative, or ``""`` when it can."""
        if variable is self._iterations:
            return "a count of steps"
        if any(variable is v for v in self._accum_grads + self._accum_deltas):
            return "a running average of squares"
        return ""

    def _legacy_weights(self):
        return [v for v in self._accum_grads + self._accum_deltas if v is not None]

    def get_weights(self):
        """The optimizer state as numpy arrays in the legacy tf.keras order.

        Returns:
            ``[]`` before the optimizer has state; then every E[g^2] accumulator,
            then every E[dx^2] accumulator, in variable order.
        """
        if not self.built:
            return []
        return [np.array(v.numpy()) for v in self._legacy_weights()]

    def set_weights(self, weights):
        """Set the optimizer state from numpy arrays (legacy tf.keras API).

        Args:
            weights: the :meth:`get_weights` layout (all E[g^2], then all E[dx^2]), or
                the later layout with the iteration count first (one array longer).
                Keras 3's layout, the values of ``optimizer.variables``, is accepted
                too (it is always longer, so never ambiguous).

        Raises:
            ValueError: ``weights`` is not a list of arrays; the optimizer has no state
                yet; the number of arrays fits neither layout; an array has the wrong
                shape, a value that is not finite, a negative E[g^2] or E[dx^2] (running
                averages of squares) or a negative iteration count; a hyperparameter of
                Keras 3's layout is out of range. Nothing is changed unless every array
                fits.
        """
        if (
            weights is None
            or isinstance(weights, (str, bytes, dict))
            or not (hasattr(weights, "__iter__"))
        ):
            raise ValueError(
                "weights must be a list of numpy arrays (the layout of get_weights()), "
                f"got {weights!r} (type {type(weights).__name__})"
            )
        if not self.built:
            raise ValueError(
                "the optimizer has no state yet, so set_weights has nothing to set: "
                "apply a step (or call build(variables)) first"
            )
        targets = self._legacy_weights()
        legacy = len(targets)
        weights = list(weights)
        if len(weights) == legacy + 1:
            first = np.shape(weights[0]) if _is_numeric(weights[0]) else None
            if first != ():
                raise ValueError(
                    f"weights has {len(weights)} arrays, one more than get_weights() gives "
                    f"({legacy}: every E[g^2] then every E[dx^2] accumulator). A list of "
                    f"{len(weights)} must start with the iteration count, but weights[0] "
                    f"(iteration) is not a number (shape ()), got "
                    + (f"shape {first}" if first is not None else repr(weights[0]))
                    + f": pass the {legacy} accumulators, or the iteration count then them"
                )
            targets = [self._iterations] + targets
        elif len(weights) == len(self.variables):
            # Keras 3's own layout (what keras.optimizers.MultiOptimizer passes); always
            # longer than the legacy ones (it adds iterations and the hyperparameters).
            targets = self.variables
        elif len(weights) != legacy:
            how = "too long" if len(weights) > legacy else "too short"
            raise ValueError(
                f"weights must be a list of {legacy} arrays (every E[g^2] then every "
                f"E[dx^2] accumulator) or {legacy + 1} (the iteration count first), "
                f"got {len(weights)}: the list is {how}"
            )
        labels = self._slot_labels()
        values = []
        for index, (target, weight) in enumerate(zip(targets, weights, strict=True)):
            expected = tuple(target.shape)
            label = labels.get(id(target), target.name)
            try:
                value = np.asarray(weight, dtype=np.dtype(target.dtype))
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    f"weights[{index}] ({label}) must be a numeric array of shape "
                    f"{expected}, got {weight!r}"
                ) from exc
            if value.shape != expected:
                raise ValueError(
                    f"weights[{index}] ({label}) must have shape {expected}, "
                    f"got shape {value.shape}"
                )
            flat = value.reshape(-1)
            bad = np.flatnonzero(~np.isfinite(flat))
            if len(bad):
                raise ValueError(
                    f"weights[{index}] ({label}) must be finite, got {flat[bad[0]].item()!r} at flat "
                    f"index {int(bad[0])}"
                )
            must = self._slot_minimum(target)
            bad = np.flatnonzero(flat < 0) if must else ()
            if len(bad):
                raise ValueError(
                    f"weights[{index}] ({label}) must be >= 0 ({must}), got "
                    f"{flat[bad[0]].item()!r} at flat index {int(bad[0])}"
                )
            if target is not self._iterations and target.name in (
                "learning_rate",
                "rho",
                "epsilon",
                "decay",
            ):
                try:
                    check_hyperparameter(target.name, float(value))
                except ValueError as exc:
                    raise ValueError(f"weights[{index}] ({label}): {exc}") from None
            values.append(value)
        for target, value in zip(targets, values, strict=True):
            target.assign(value)
