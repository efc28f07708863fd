r"""Every update rule adaviz knows, each written once as a pure function of tensors.

Adadelta (Zeiler 2012), in TensorFlow's form (``ResourceApplyAdadelta``)::

    A_t   = rho * A_{t-1} + (1 - rho) * g_t**2                 # accum_grad,  E[g^2]
    r_t   = sqrt(D_{t-1} + eps) / sqrt(A_t + eps)              # unit-correcting ratio
    dx_t  = r_t * g_t                                          # the update direction
    x_t   = x_{t-1} - lr_t * dx_t
    D_t   = rho * D_{t-1} + (1 - rho) * dx_t**2                # accum_delta, E[dx^2]

``step_size = lr_t * r_t`` is the effective per-coordinate multiplier of the gradient.
Legacy decay: ``lr_t = lr / (1 + decay * t)`` with ``t`` the number of steps taken
before this one, so the first step uses ``lr``. From zero accumulators the first step
moves each coordinate by ``lr * sqrt(eps / (1 - rho))`` (:func:`first_step`), whatever
the gradient's size.

The other rules follow Keras 3's ``keras.optimizers.*`` ``update_step`` (same operation
order, so float64 runs agree to rounding), ``g`` the gradient, ``t`` the steps taken before::

    sgd       x -= lr * g
    momentum  v = momentum * v - lr * g;  x += v                        # SGD(momentum=...)
    nesterov  v = momentum * v - lr * g;  x += momentum * v - lr * g    # SGD(nesterov=True)
    adagrad   a += g**2;  x -= lr * g / sqrt(a + eps)                   # a_0 = initial_accumulator_value
    rmsprop   v = rho * v + (1 - rho) * g**2;  ga = rho * ga + (1 - rho) * g
              d = v - ga**2 + eps if centered else v + eps
              b = momentum * b + lr * g / sqrt(d);  x -= b
    adam      m += (g - m) * (1 - beta_1);  v += (g**2 - v) * (1 - beta_2);  v_hat = max(v_hat, v)
              alpha = lr * sqrt(1 - beta_2**(t+1)) / (1 - beta_1**(t+1))
              x -= m * alpha / (sqrt(v_hat if amsgrad else v) + eps)

The registry :data:`RULES` maps a name to a :class:`Rule`:

* ``name``, ``hyperparameters`` (names in Keras's signature order), ``defaults``
  (Keras 3's; Adadelta keeps adaviz's ``lr=1.0, rho=0.95, epsilon=1e-7, decay=0``, the
  Keras 2 / TF 1.x ones; ``momentum``/``nesterov`` take the conventional ``momentum=0.9``,
  where Keras's ``SGD`` defaults to 0),
  ``flags`` (the on/off hyperparameters, passed as 0.0 / 1.0 tensors so they batch and
  never retrace), ``state`` (names of the rule's slots), ``keras`` (the constructor that
  runs the same rule, with ``keras_fixed`` arguments, for copy-as-code).
* ``init(x, hp) -> state``: a tuple of tensors shaped like ``x``.
* ``step(x, state, grad, iteration, hp) -> (new_x, new_state, step_size)``.

``hp`` maps each hyperparameter name to a tensor broadcastable to ``x`` (any float dtype:
scalars derived from it, e.g. ``1 - rho``, are formed in that dtype and then cast to
``x.dtype``, as Keras does with Python-float hyperparameters); ``iteration`` is the number
of steps taken before this one (Adam's bias correction, Adadelta's legacy decay).
``step_size`` is the realized per-coordinate multiplier of the gradient,
``(x - new_x) / grad``; rules whose move carries a velocity (momentum, nesterov, adam,
rmsprop with momentum) divide by the gradient, so it is ``inf``/NaN where ``grad == 0``.

The optimizer (:mod:`adaviz.optimizer`) calls :func:`adadelta_step` and :func:`decayed_lr`;
the trajectory engine (:mod:`adaviz.engine`) and the sweeps call the rules' ``step``.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from adaviz._tf import import_tensorflow

tf = import_tensorflow()

__all__ = [
    "AdadeltaStep",
    "RULES",
    "Rule",
    "adadelta_step",
    "decayed_lr",
    "first_step",
    "grad_and_hessian",
    "rule",
]


class AdadeltaStep(NamedTuple):
    """Result of one Adadelta step; all tensors have the shape of the gradient."""

    update: object  # lr_t * dx_t, to be subtracted from the parameter
    accum_grad: object  # A_t
    accum_delta: object  # D_t
    step_size: object  # lr_t * r_t


def decayed_lr(lr, decay, iterations):
    """Legacy time-based decay: ``lr / (1 + decay * iterations)``."""
    return lr / (1.0 + decay * iterations)


def first_step(lr, rho, epsilon):
    """Adadelta's first move per coordinate from zero accumulators: ``lr * sqrt(eps / (1 - rho))``.

    Numbers or numpy arrays; ``inf`` where ``rho == 1`` (and ``epsilon > 0``).
    """
    lr, rho, epsilon = (np.asarray(v, np.float64) for v in (lr, rho, epsilon))
    with np.errstate(divide="ignore", invalid="ignore"):
        return (lr * np.sqrt(epsilon / (1.0 - rho)))[()]


def adadelta_step(accum_grad, accum_delta, grad, lr, rho, epsilon):
    """One Adadelta step as a pure function of tensors (broadcasting allowed).

    Args:
        accum_grad: E[g^2] before the step (A_{t-1}).
        accum_delta: E[dx^2] before the step (D_{t-1}).
        grad: the gradient g_t.
        lr: the learning rate for this step (already decayed), lr_t.
        rho: the decay rate of both running averages.
        epsilon: the fuzz factor inside both square roots.

    Returns:
        :class:`AdadeltaStep` ``(update, accum_grad, accum_delta, step_size)``:
        the parameter moves by ``-update``.
    """
    one_minus_rho = 1.0 - rho
    new_accum_grad = rho * accum_grad + one_minus_rho * tf.square(grad)
    ratio = tf.sqrt(accum_delta + epsilon) * tf.math.rsqrt(new_accum_grad + epsilon)
    delta = ratio * grad
    new_accum_delta = rho * accum_delta + one_minus_rho * tf.square(delta)
    return AdadeltaStep(lr * delta, new_accum_grad, new_accum_delta, lr * ratio)


def grad_and_hessian(fn, x, y, *, diagonal=True):
    """``f, (f_x, f_y), H`` of an elementwise ``fn(x, y)`` by nested gradient tapes.

    ``H`` is ``(f_xx, f_yy)`` when ``diagonal`` (the second tape differentiates each
    first derivative along its own coordinate only), else ``((f_xx, f_xy), (f_yx, f_yy))``.
    Derivatives that do not depend on an input are zeros, not ``None``.
    """
    zero = tf.UnconnectedGradients.ZERO
    with tf.GradientTape(persistent=True) as outer:
        outer.watch([x, y])
        with tf.GradientTape() as inner:
            inner.watch([x, y])
            f = fn(x, y)
        gx, gy = inner.gradient(f, [x, y], unconnected_gradients=zero)
    if diagonal:
        hessian = (
            outer.gradient(gx, x, unconnected_gradients=zero),
            outer.gradient(gy, y, unconnected_gradients=zero),
        )
    else:
        hessian = (
            tuple(outer.gradient(gx, [x, y], unconnected_gradients=zero)),
            tuple(outer.gradient(gy, [x, y], unconnected_gradients=zero)),
        )
    del outer
    return f, (gx, gy), hessian


# ---------------------------------------------------------------------------- the rules


class Rule(NamedTuple):
    """One update rule: its hyperparameters, its state and its pure ``init``/``step``."""

    name: str
    hyperparameters: tuple  # names, in Keras's signature order
    defaults: types.MappingProxyType  # name -> default value (float or bool)
    flags: tuple  # the on/off hyperparameters (0.0 / 1.0 tensors in hp)
    state: tuple  # slot names, in the order of init's / step's state tuples
    init: Callable  # (x, hp) -> state
    step: Callable  # (x, state, grad, iteration, hp) -> (new_x, new_state, step_size)
    keras: str  # the constructor running the same rule
    keras_fixed: types.MappingProxyType  # constructor arguments implied by the rule


def _get(hp, name, dtype):
    """``hp[name]`` cast to ``dtype``."""
    return tf.cast(hp[name], dtype)


def _one_minus(hp, name, dtype):
    """``1 - hp[name]`` formed in hp's own dtype, then cast (as Keras does with Python floats)."""
    return tf.cast(1.0 - tf.convert_to_tensor(hp[name]), dtype)


def _on(hp, name):
    """The flag ``hp[name]`` (0.0 / 1.0) as a boolean tensor."""
    return tf.convert_to_tensor(hp[name]) > 0


def _zeros(count):
    def init(x, hp):
        return tuple(tf.zeros_like(x) for _ in range(count))

    return init


def _adadelta(x, state, grad, iteration, hp):
    accum_grad, accum_delta = state
    # lr_t in float64, as adaviz.Adadelta computes it, then cast once
    as64 = tf.float64
    lr_t = decayed_lr(_get(hp, "lr", as64), _get(hp, "decay", as64), tf.cast(iteration, as64))
    step = adadelta_step(
        accum_grad,
        accum_delta,
        grad,
        tf.cast(lr_t, x.dtype),
        _get(hp, "rho", x.dtype),
        _get(hp, "epsilon", x.dtype),
    )
    return x - step.update, (step.accum_grad, step.accum_delta), step.step_size


def _sgd(x, state, grad, iteration, hp):
    lr = _get(hp, "lr", x.dtype)
    return x - grad * lr, (), lr + tf.zeros_like(x)


def _momentum(x, state, grad, iteration, hp):
    (velocity,) = state
    velocity = velocity * _get(hp, "momentum", x.dtype) - grad * _get(hp, "lr", x.dtype)
    return x + velocity, (velocity,), -velocity / grad


def _nesterov(x, state, grad, iteration, hp):
    (velocity,) = state
    momentum, lr = _get(hp, "momentum", x.dtype), _get(hp, "lr", x.dtype)
    velocity = velocity * momentum - grad * lr
    move = velocity * momentum - grad * lr
    return x + move, (velocity,), -move / grad


def _adagrad_init(x, hp):
    return (tf.zeros_like(x) + _get(hp, "initial_accumulator_value", x.dtype),)


def _adagrad(x, state, grad, iteration, hp):
    (accumulator,) = state
    lr = _get(hp, "lr", x.dtype)
    accumulator = accumulator + tf.square(grad)
    root = tf.sqrt(accumulator + _get(hp, "epsilon", x.dtype))
    return x - (lr * grad) / root, (accumulator,), lr / root


def _rmsprop(x, state, grad, iteration, hp):
    velocity, average_gradient, momentum_buffer = state
    dtype = x.dtype
    rho, one_minus_rho = _get(hp, "rho", dtype), _one_minus(hp, "rho", dtype)
    lr, epsilon = _get(hp, "lr", dtype), _get(hp, "epsilon", dtype)
    momentum = _get(hp, "momentum", dtype)
    velocity = rho * velocity + one_minus_rho * tf.square(grad)
    average_gradient = rho * average_gradient + one_minus_rho * grad
    denominator = tf.where(
        _on(hp, "centered"), velocity - tf.square(average_gradient) + epsilon, velocity + epsilon
    )
    root = tf.sqrt(denominator)
    momentum_buffer = momentum * momentum_buffer + (lr * grad) / root
    step_size = tf.where(momentum > 0, momentum_buffer / grad, lr / root)
    new_state = (velocity, average_gradient, momentum_buffer)
    return x - momentum_buffer, new_state, step_size


def _adam(x, state, grad, iteration, hp):
    m, v, v_hat = state
    dtype = x.dtype
    local_step = tf.cast(iteration + 1, dtype)
    beta_1_power = tf.pow(_get(hp, "beta_1", dtype), local_step)
    beta_2_power = tf.pow(_get(hp, "beta_2", dtype), local_step)
    alpha = _get(hp, "lr", dtype) * tf.sqrt(1 - beta_2_power) / (1 - beta_1_power)
    m = m + (grad - m) * _one_minus(hp, "beta_1", dtype)
    v = v + (tf.square(grad) - v) * _one_minus(hp, "beta_2", dtype)
    v_hat = tf.maximum(v_hat, v)
    used = tf.where(_on(hp, "amsgrad"), v_hat, v)
    update = (m * alpha) / (tf.sqrt(used) + _get(hp, "epsilon", dtype))
    return x - update, (m, v, v_hat), update / grad


def _rule(name, defaults, state, init, step, keras, flags=(), **keras_fixed):
    return Rule(
        name=name,
        hyperparameters=tuple(defaults),
        defaults=types.MappingProxyType(dict(defaults)),
        flags=tuple(flags),
        state=tuple(state),
        init=init,
        step=step,
        keras=keras,
        keras_fixed=types.MappingProxyType(keras_fixed),
    )


#: name -> :class:`Rule`, in the order the panels list them.
RULES = types.MappingProxyType(
    {
        rule.name: rule
        for rule in (
            _rule(
                "adadelta",
                {"lr": 1.0, "rho": 0.95, "epsilon": 1e-7, "decay": 0.0},
                ("accum_grad", "accum_delta"),
                _zeros(2),
                _adadelta,
                "adaviz.Adadelta",
            ),
            _rule("sgd", {"lr": 0.01}, (), _zeros(0), _sgd, "keras.optimizers.SGD"),
            _rule(
                "momentum",
                {"lr": 0.01, "momentum": 0.9},
                ("velocity",),
                _zeros(1),
                _momentum,
                "keras.optimizers.SGD",
            ),
            _rule(
                "nesterov",
                {"lr": 0.01, "momentum": 0.9},
                ("velocity",),
                _zeros(1),
                _nesterov,
                "keras.optimizers.SGD",
                nesterov=True,
            ),
            _rule(
                "adagrad",
                {"lr": 0.001, "initial_accumulator_value": 0.1, "epsilon": 1e-7},
                ("accumulator",),
                _adagrad_init,
                _adagrad,
                "keras.optimizers.Adagrad",
            ),
            _rule(
                "rmsprop",
                {"lr": 0.001, "rho": 0.9, "momentum": 0.0, "epsilon": 1e-7, "centered": False},
                ("velocity", "average_gradient", "momentum_buffer"),
                _zeros(3),
                _rmsprop,
                "keras.optimizers.RMSprop",
                flags=("centered",),
            ),
            _rule(
                "adam",
                {"lr": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "amsgrad": False},
                ("m", "v", "v_hat"),
                _zeros(3),
                _adam,
                "keras.optimizers.Adam",
                flags=("amsgrad",),
            ),
        )
    }
)


def rule(name):
    """The :class:`Rule` called ``name`` (a Rule is returned as is).

    Raises:
        ValueError: ``name`` is not a known rule; the message lists the valid ones.
    """
    if isinstance(name, Rule):
        return name
    found = RULES.get(name.lower()) if isinstance(name, str) else None
    if found is None:
        raise ValueError(f"optimizer must be one of {', '.join(RULES)}, got {name!r}")
    return found
