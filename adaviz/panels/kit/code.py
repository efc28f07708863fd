"""Copy-as-code: the constructor that runs an update rule with given values."""

from __future__ import annotations

from adaviz import _math


def number(value):
    """``value`` as Python source, to 6 significant digits (``0.001``, ``1e-07``)."""
    return repr(float(f"{float(value):.6g}"))


def constructor(name, values):
    """The Keras 3 constructor (``adaviz.Adadelta`` for Adadelta) running rule ``name``
    with ``values`` (every hyperparameter of the rule; flags as bools)."""
    rule = _math.rule(name)
    args = []
    for hp in rule.hyperparameters:
        value = values[hp]
        key = "learning_rate" if hp == "lr" else hp
        args.append(f"{key}={bool(value)!r}" if hp in rule.flags else f"{key}={number(value)}")
    args += [f"{key}={value!r}" for key, value in rule.keras_fixed.items()]
    return f"{rule.keras}({', '.join(args)})"
