"""adaviz.datasets: seeded numpy toy data, checked against the generating geometry."""

import numpy as np
import pytest

from adaviz import datasets

CLASSIFICATION = ["moons", "circles", "spiral", "xor"]


def test_names_and_info():
    assert datasets.names() == ["moons", "circles", "spiral", "xor", "regression"]
    for name in CLASSIFICATION:
        info = datasets.info(name)
        assert (info.task, info.input_dim, info.n_classes) == ("classification", 2, 2)
    info = datasets.info("regression")
    assert (info.task, info.input_dim, info.n_classes) == ("regression", 1, 0)


@pytest.mark.parametrize("name", datasets.names())
def test_shapes_dtypes_and_seeding(name):
    x, y = datasets.make(name, n=101, seed=3)
    dim = datasets.info(name).input_dim
    assert x.shape == (101, dim) and y.shape == (101,)
    assert x.dtype == np.float32 and y.dtype == np.float32
    assert np.all(np.isfinite(x)) and np.all(np.isfinite(y))
    x2, y2 = datasets.make(name, n=101, seed=3)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    x3, _ = datasets.make(name, n=101, seed=4)
    assert not np.array_equal(x, x3)
    assert datasets.get is datasets.make


@pytest.mark.parametrize("name", CLASSIFICATION)
def test_classes_balanced(name):
    _, y = datasets.make(name, n=201, seed=0)
    assert set(np.unique(y)) == {0.0, 1.0}
    if name != "xor":  # xor labels follow the uniform points
        assert abs(int(y.sum()) - 100) <= 1


def test_noise_free_geometry():
    x, y = datasets.make("moons", n=200, noise=0.0)
    outer = x[y == 0].astype(np.float64)
    inner = x[y == 1].astype(np.float64)
    np.testing.assert_allclose(np.hypot(outer[:, 0], outer[:, 1]), 1.0, rtol=1e-6)
    assert np.all(outer[:, 1] >= -1e-6)
    np.testing.assert_allclose(np.hypot(inner[:, 0] - 1.0, inner[:, 1] - 0.5), 1.0, rtol=1e-6)
    assert np.all(inner[:, 1] <= 0.5 + 1e-6)

    x, y = datasets.make("circles", n=200, noise=0.0)
    r = np.hypot(x[:, 0], x[:, 1])
    np.testing.assert_allclose(r[y == 0], 1.0, rtol=1e-6)
    np.testing.assert_allclose(r[y == 1], 0.5, rtol=1e-6)

    x, y = datasets.make("xor", n=300, noise=0.0)
    assert np.all(np.abs(x) <= 1.0)
    np.testing.assert_array_equal(y, (x[:, 0] * x[:, 1] > 0).astype(np.float32))

    x, y = datasets.make("regression", n=300, noise=0.0)
    xs = x[:, 0].astype(np.float64)
    np.testing.assert_allclose(y, np.sin(3 * xs) + 0.3 * xs, atol=1e-6)

    x, y = datasets.make("spiral", n=200, noise=0.0)
    for k in (0, 1):
        arm = x[y == k].astype(np.float64)
        r = np.hypot(arm[:, 0], arm[:, 1])
        theta = np.arctan2(arm[:, 0], arm[:, 1])  # x = r sin t, y = r cos t
        t = 1.75 * 2 * np.pi * r + k * np.pi
        np.testing.assert_allclose(np.cos(theta - t), 1.0, atol=1e-5)
        assert r.min() >= 0.05 - 1e-6 and r.max() <= 1.0 + 1e-6


def test_noise_scales_the_spread():
    x0, _ = datasets.make("circles", n=400, noise=0.0, seed=1)
    x1, _ = datasets.make("circles", n=400, noise=0.3, seed=1)
    r0 = np.hypot(x0[:, 0], x0[:, 1])
    r1 = np.hypot(x1[:, 0], x1[:, 1])
    assert np.std(r1 - r0) > 0.1


def test_unknown_name_lists_valid_ones():
    with pytest.raises(ValueError, match=r"dataset must be one of .*moons.*regression.*'mnist'"):
        datasets.make("mnist")
    with pytest.raises(ValueError, match="dataset must be one of"):
        datasets.info(3)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n": 3}, r"n must be an integer >= 4, got 3"),
        ({"n": 10.5}, r"n must be an integer >= 4, got 10.5"),
        ({"n": True}, r"n must be an integer >= 4, got True"),
        ({"noise": -0.1}, r"noise must be a finite number >= 0, got -0.1"),
        ({"noise": float("nan")}, r"noise must be a finite number >= 0, got nan"),
        ({"noise": "big"}, r"noise must be a finite number >= 0, got 'big'"),
        ({"seed": -1}, r"seed must be an integer >= 0, got -1"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        datasets.make("moons", **kwargs)
