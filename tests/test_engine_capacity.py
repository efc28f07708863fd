"""simulate(..., capacity=): one compiled graph serves every step count up to its capacity
(what SurfacePanel runs, one graph per surface), with the same numbers as the default."""

from __future__ import annotations

import numpy as np
import pytest

import adaviz
from adaviz import engine


@pytest.mark.slow
def test_a_larger_capacity_gives_the_same_run_divergence_included():
    kwargs = dict(lr=10.0, rho=0.5, epsilon=0.1)  # beale diverges a few steps in
    # (700 steps: a step count of the loop below, so this graph is compiled only once)
    k = int(adaviz.simulate("beale", steps=700, **kwargs).diverged_at[0])
    assert 2 < k < 400
    for steps in (1, k - 1, k, k + 3, 700):
        want = adaviz.simulate("beale", steps=steps, **kwargs)
        got = adaviz.simulate("beale", steps=steps, capacity=5000, **kwargs)
        assert got.steps == steps
        assert int(got.diverged_at[0]) == int(want.diverged_at[0])
        np.testing.assert_array_equal(got.positions, want.positions)
        np.testing.assert_array_equal(got.loss, want.loss)
        np.testing.assert_array_equal(got.accum_grad, want.accum_grad)
        np.testing.assert_array_equal(got.accum_delta, want.accum_delta)
        np.testing.assert_array_equal(got.step_size, want.step_size)


def test_one_capacity_is_one_graph_for_every_step_count():
    adaviz.simulate("booth", steps=3, capacity=4000)
    before = engine.trace_count()
    for steps in (1, 17, 999, 4000):
        assert adaviz.simulate("booth", steps=steps, capacity=4000, rho=0.9).steps == steps
    assert engine.trace_count() == before


@pytest.mark.parametrize(
    ("capacity", "message"),
    [
        (99, r"capacity must be an integer in \[100, 1000000\], got 99"),
        (2.5, r"capacity must be an integer in \[100, 1000000\], got 2.5"),
        (True, r"capacity must be an integer in \[100, 1000000\], got True"),
        (2_000_000, r"capacity must be an integer in \[100, 1000000\], got 2000000"),
    ],
)
def test_capacity_below_steps_or_out_of_range_is_refused(capacity, message):
    with pytest.raises(ValueError, match=message):
        adaviz.simulate("booth", steps=100, capacity=capacity)
