"""Tests for adaviz._validate: each check names the argument, the value and what is allowed."""

from __future__ import annotations

import numpy as np
import pytest

import adaviz
from adaviz import _validate


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: _validate.check_int("steps", 0, 1, 10),
            r"steps must be an integer in \[1, 10\], got 0",
        ),
        (lambda: _validate.check_int("steps", True, 1), r"steps must be an integer >= 1, got True"),
        (lambda: _validate.check_int("steps", 2.5, 1), r"steps must be an integer >= 1, got 2.5"),
        (lambda: _validate.check_hyperparameter("rho", 1.5), r"rho must be in \[0, 1\], got 1.5"),
        (lambda: _validate.check_tol(-1.0), r"tol must be a finite number >= 0, got -1.0"),
        (
            lambda: _validate.check_dtype("int32"),
            r"dtype must be tf.float32 or tf.float64, got 'int32'",
        ),
        (
            lambda: _validate.check_executor(3),
            r"executor must be a concurrent.futures.Executor .*got 3",
        ),
        (
            lambda: _validate.check_widths("hidden", "big"),
            r"hidden must be a list or tuple .*got 'big'",
        ),
        (lambda: _validate.lr_alias(1.0, 0.5), r"give lr or learning_rate, not both"),
    ],
)
def test_each_check_names_argument_value_and_what_is_allowed(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_integers_and_starts_in_the_forms_numpy_gives_them():
    assert _validate.check_int("steps", np.array(5), 1) == 5  # a 0-d integer array
    assert _validate.check_int("steps", np.int64(7), 1) == 7
    surface = adaviz.surfaces.get("rosenbrock")
    np.testing.assert_array_equal(_validate.check_starts(None, surface), [surface.start])
    starts = _validate.check_starts([(0.0, 0.0), (1.0, 1.0)], surface)
    assert starts.shape == (2, 2) and starts.dtype == np.float64
    (xlo, xhi), _ = surface.bounds
    with pytest.raises(ValueError, match=r"start must lie within .* at index 1"):
        _validate.check_starts([(0.0, 0.0), (xhi + 1.0, 0.0)], surface)
    with pytest.raises(ValueError, match=r"start must lie inside the domain of 'rosenbrock'"):
        _validate.check_start((50.0, 0.0), surface.domain, surface_name="rosenbrock")
