r"""The Adadelta update, written once.

Zeiler (2012), in TensorFlow's form (``ResourceApplyAdadelta``)::

    A_t   = rho * A_{t-1} + (1 - rho) * g_t**2                 # accum_grad,  E[g^2]
    r_t   = sqrt(D_{t-1} + eps) / sqrt(A_t + eps)              # unit-correcting ratio
    dx_t  = r_t * g_t                                          # the update direction
    x_t   = x_{t-1} - lr_t * dx_t
    D_t   = rho * D_{t-1} + (1 - rho) * dx_t**2                # accum_delta, E[dx^2]

``step_size = lr_t * r_t`` is the effective per-coordinate multiplier of the gradient.
Legacy decay: ``lr_t = lr / (1 + decay * t)`` with ``t`` the number of steps taken
before this one, so the first step uses ``lr``.

The optimizer (:mod:`adaviz.optimizer`) and the trajectory engine
(:mod:`adaviz.engine`) both call :func:`adadelta_step`.
"""

from __future__ import annotations

from typing import NamedTuple


class AdadeltaStep(NamedTuple):
    """Result of one Adadelta step; all tensors have the shape of the gradient."""

    update: object  # lr_t * dx_t, to be subtracted from the parameter
    accum_grad: object  # A_t
    accum_delta: object  # D_t
    step_size: object  # lr_t * r_t


def decayed_lr(lr, decay, iterations):
    """Legacy time-based decay: ``lr / (1 + decay * iterations)``."""
    return lr / (1.0 + decay * iterations)


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
    import tensorflow as tf

    one_minus_rho = 1.0 - rho
    new_accum_grad = rho * accum_grad + one_minus_rho * tf.square(grad)
    ratio = tf.sqrt(accum_delta + epsilon) * tf.math.rsqrt(new_accum_grad + epsilon)
    delta = ratio * grad
    new_accum_delta = rho * accum_delta + one_minus_rho * tf.square(delta)
    return AdadeltaStep(lr * delta, new_accum_grad, new_accum_delta, lr * ratio)
