"""Tests for adaviz.surfaces: the catalogue against independent numpy formulas, autodiff
against finite differences, minima, plotting helpers and every refused input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf

import adaviz
from adaviz import surfaces

# ---------------------------------------------------------------- independent oracles
# The textbook formulas, written again in numpy (no package code).


def np_ackley(x, y):
    r = np.sqrt(0.5 * (x**2 + y**2))
    c = 0.5 * (np.cos(2 * np.pi * x) + np.cos(2 * np.pi * y))
    return -20 * np.exp(-0.2 * r) - np.exp(c) + np.e + 20


def np_goldstein_price(x, y):
    a = 1 + (x + y + 1) ** 2 * (19 - 14 * x + 3 * x**2 - 14 * y + 6 * x * y + 3 * y**2)
    b = 30 + (2 * x - 3 * y) ** 2 * (18 - 32 * x + 12 * x**2 + 48 * y - 36 * x * y + 27 * y**2)
    return a * b


ORACLES = {
    "rosenbrock": lambda x, y: (1 - x) ** 2 + 100 * (y - x**2) ** 2,
    "beale": lambda x, y: (
        (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2
    ),
    "himmelblau": lambda x, y: (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2,
    "booth": lambda x, y: (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2,
    "ill_conditioned": lambda x, y: 0.5 * x**2 + 50 * y**2,
    # rotated by 45 degrees: u = (x+y)/sqrt2, v = (x-y)/sqrt2 -> 0.25*((x+y)^2 + 100(x-y)^2)
    "rotated_ill_conditioned": lambda x, y: 0.25 * ((x + y) ** 2 + 100 * (x - y) ** 2),
    "saddle": lambda x, y: x**2 - y**2,
    "rastrigin": lambda x, y: (
        20 + x**2 - 10 * np.cos(2 * np.pi * x) + y**2 - 10 * np.cos(2 * np.pi * y)
    ),
    "ackley": np_ackley,
    "six_hump_camel": lambda x, y: (
        (4 - 2.1 * x**2 + x**4 / 3) * x**2 + x * y + (-4 + 4 * y**2) * y**2
    ),
    "goldstein_price": np_goldstein_price,
    "plateau_cliff": lambda x, y: 1 - np.exp(-(x**2 + y**2) - (x**2 + y**2) ** 2),
}

# published global minimum values
MIN_VALUES = {
    "rosenbrock": 0.0,
    "beale": 0.0,
    "himmelblau": 0.0,
    "booth": 0.0,
    "ill_conditioned": 0.0,
    "rotated_ill_conditioned": 0.0,
    "rastrigin": 0.0,
    "ackley": 0.0,
    "six_hump_camel": -1.031628453489877,
    "goldstein_price": 3.0,
    "plateau_cliff": 0.0,
}


def random_points(surface, n=16, seed=0):
    (xmin, xmax), (ymin, ymax) = surface.domain
    rng = np.random.default_rng(seed)
    return rng.uniform(xmin, xmax, n), rng.uniform(ymin, ymax, n)


def test_catalogue_has_the_twelve_named_surfaces_with_their_teaching_material():
    assert set(ORACLES) <= set(surfaces.names())
    assert surfaces.names() == sorted(surfaces.names())
    for name in surfaces.names():
        s = surfaces.get(name)
        assert isinstance(s, adaviz.Surface)
        assert s.name == name
        assert s.formula.startswith("f(x, y) =")
        # one sentence: ends with a period, no sentence break inside
        assert s.lesson.endswith(".") and ". " not in s.lesson[:-1], s.lesson
        (xmin, xmax), (ymin, ymax) = s.domain
        assert xmin <= s.start[0] <= xmax and ymin <= s.start[1] <= ymax
        if name != "saddle":
            assert s.minima, name


def test_get_returns_one_shared_hashable_instance_and_normalizes_names():
    s = surfaces.get("six_hump_camel")
    assert surfaces.get("Six-Hump Camel") is s
    assert surfaces.get(s) is s
    cache = {s: 1}
    assert cache[surfaces.get("six-hump-camel")] == 1
    assert s != surfaces.get("booth")
    assert adaviz.surfaces is surfaces


def test_unknown_name_lists_the_valid_names():
    with pytest.raises(ValueError) as info:
        surfaces.get("rosenbruck")
    message = str(info.value)
    assert "'rosenbruck'" in message
    for name in surfaces.names():
        assert name in message
    with pytest.raises(ValueError, match="unknown surface"):
        surfaces.get(3)


@pytest.mark.parametrize("name", sorted(ORACLES))
def test_values_match_the_textbook_formula(name):
    s = surfaces.get(name)
    x, y = random_points(s)
    np.testing.assert_allclose(s(x, y), ORACLES[name](x, y), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(ORACLES))
def test_gradient_and_hessian_match_finite_differences(name):
    s = surfaces.get(name)
    f = ORACLES[name]
    x, y = random_points(s, n=12, seed=1)
    h = 1e-5
    fd_grad = np.stack(
        [(f(x + h, y) - f(x - h, y)) / (2 * h), (f(x, y + h) - f(x, y - h)) / (2 * h)], -1
    )
    grad = s.grad(x, y)
    assert grad.shape == (12, 2)
    scale = 1.0 + np.abs(fd_grad)
    assert np.all(np.abs(grad - fd_grad) <= 1e-5 * scale), (grad, fd_grad)

    k = 1e-4  # second differences: error ~ eps*|f|/k^2 + k^2*|f''''|
    fxx = (f(x + k, y) - 2 * f(x, y) + f(x - k, y)) / k**2
    fyy = (f(x, y + k) - 2 * f(x, y) + f(x, y - k)) / k**2
    fxy = (f(x + k, y + k) - f(x + k, y - k) - f(x - k, y + k) + f(x - k, y - k)) / (4 * k**2)
    fd_hess = np.stack([np.stack([fxx, fxy], -1), np.stack([fxy, fyy], -1)], -2)
    hess = s.hessian(x, y)
    assert hess.shape == (12, 2, 2)
    tol = 1e-4 * (1.0 + np.abs(fd_hess)) + 1e-10 * np.abs(f(x, y))[:, None, None] / k**2
    assert np.all(np.abs(hess - fd_hess) <= tol), (hess, fd_hess)


@pytest.mark.parametrize("name", sorted(MIN_VALUES))
def test_listed_minima_are_stationary_minima_with_the_published_value(name):
    s = surfaces.get(name)
    mins = np.asarray(s.minima)
    x, y = mins[:, 0], mins[:, 1]
    f = ORACLES[name]
    np.testing.assert_allclose(f(x, y), MIN_VALUES[name], atol=1e-12)
    assert s.min_value == pytest.approx(MIN_VALUES[name], abs=1e-12)
    np.testing.assert_allclose(s.grad(x, y), 0.0, atol=1e-9)
    # lower than every point on small rings around it (a minimum, not a saddle)
    for radius in (1e-3, 1e-2):
        angles = np.linspace(0, 2 * np.pi, 16, endpoint=False)
        for mx, my in mins:
            ring = f(mx + radius * np.cos(angles), my + radius * np.sin(angles))
            assert np.all(ring > f(mx, my)), (name, mx, my, radius)


def test_saddle_has_a_stationary_saddle_and_no_minima():
    s = surfaces.get("saddle")
    assert s.minima == ()
    assert math.isnan(s.min_value)
    np.testing.assert_allclose(s.grad(0.0, 0.0), [0.0, 0.0])
    np.testing.assert_allclose(s.hessian(0.0, 0.0), [[2.0, 0.0], [0.0, -2.0]])
    with pytest.raises(ValueError, match="no minima"):
        s.nearest_minimum_distance([[0.0, 0.0]])


def test_numpy_in_numpy_out_tensor_in_tensor_out():
    s = surfaces.get("himmelblau")
    z = s(np.array([0.5, 1.0]), np.array([2.0, -1.0]))
    assert isinstance(z, np.ndarray) and z.dtype == np.float64
    for dtype in (tf.float32, tf.float64):
        tx = tf.constant([0.5, 1.0], dtype)
        ty = tf.constant([2.0, -1.0], dtype)
        tz = s(tx, ty)
        assert isinstance(tz, tf.Tensor) and tz.dtype == dtype
        np.testing.assert_allclose(tz.numpy(), z, rtol=1e-6)
        assert s.grad(tx, ty).dtype == dtype
        np.testing.assert_allclose(
            s.grad(tx, ty).numpy(), s.grad([0.5, 1.0], [2.0, -1.0]), rtol=1e-5
        )
        assert s.hessian(tx, ty).shape == (2, 2, 2)
    assert np.shape(s(3.0, 2.0)) == ()
    assert s(3.0, 2.0) == 0.0
    # broadcasting scalar with array
    np.testing.assert_allclose(
        s(np.array([3.0, 0.0]), 2.0), ORACLES["himmelblau"](np.array([3.0, 0.0]), 2.0)
    )


def test_grid_covers_the_domain_in_meshgrid_order():
    s = surfaces.get("six_hump_camel")
    X, Y, Z = s.grid(31)
    assert X.shape == Y.shape == Z.shape == (31, 31)
    assert (X.min(), X.max(), Y.min(), Y.max()) == (-3.0, 3.0, -2.0, 2.0)
    assert np.all(np.diff(X[0]) > 0) and np.all(X[:, 0] == -3.0)
    np.testing.assert_allclose(Z, ORACLES["six_hump_camel"](X, Y), rtol=1e-12, atol=1e-12)
    for bad in (1, 0, 2.5, True, "10"):
        with pytest.raises(ValueError, match="n must be an integer >= 2"):
            s.grid(bad)


def test_contour_is_logarithmic_when_z_spans_decades_and_round_trips():
    gp = surfaces.get("goldstein_price")  # 3 .. ~1e6
    c = gp.contour(80, levels=25)
    assert c.log
    assert c.floor <= 3.0 and c.offset > 0
    np.testing.assert_allclose(10.0**c.color - c.offset + c.floor, c.Z, rtol=1e-9)
    assert c.start == pytest.approx(math.log10(c.offset))
    assert c.end == pytest.approx(math.log10(c.Z.max() - c.floor + c.offset))
    assert c.size == pytest.approx((c.end - c.start) / 25)
    assert len(c.levels) == 25 and np.all(np.diff(c.levels) > 0)
    # geometric spacing: level heights above the floor grow by a constant factor
    heights = c.levels - c.floor + c.offset
    ratios = heights[1:] / heights[:-1]
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-9)
    assert c.levels[0] > c.Z.min() - 1e-9 and c.levels[-1] < c.Z.max()
    # several decades of colour-bar ticks, labelled in Z units
    assert len(c.tickvals) >= 4 and len(c.ticktext) == len(c.tickvals)
    np.testing.assert_allclose(gp.levels(c.Z, n=25), c.levels)

    bowl = surfaces.get("himmelblau")  # 0 .. ~900, not decades above its median
    c = bowl.contour(60, levels=10)
    assert not c.log
    np.testing.assert_array_equal(c.color, c.Z)
    np.testing.assert_allclose(np.diff(c.levels), c.size)
    assert c.x.shape == (60,) and c.y.shape == (60,)
    with pytest.raises(ValueError, match="number of levels"):
        bowl.contour(20, levels=1)


# ---------------------------------------------------------------- user-defined surfaces


@pytest.mark.slow
def test_user_defined_surface_works_like_a_builtin():
    mine = adaviz.Surface(
        lambda x, y: (x + 2.0 * y - 7.0) ** 2 + (2.0 * x + y - 5.0) ** 2,
        domain=((-10, 10), (-10, 10)),
        minima=[(1, 3)],
        start=(-8, 8),
        name="my booth",
        formula="f(x, y) = ...",
        lesson="Mine.",
    )
    booth = surfaces.get("booth")
    assert mine.name == "my booth" and mine.minima == ((1.0, 3.0),) and mine.min_value == 0.0
    assert hash(mine) != hash(booth) or mine is not booth
    pts = random_points(booth)
    np.testing.assert_array_equal(mine(*pts), booth(*pts))
    np.testing.assert_array_equal(mine.grad(*pts), booth.grad(*pts))
    np.testing.assert_array_equal(mine.hessian(*pts), booth.hessian(*pts))
    np.testing.assert_array_equal(mine.grid(20)[2], booth.grid(20)[2])
    a = adaviz.simulate(mine, steps=50, rho=[0.9, 0.99])
    b = adaviz.simulate(booth, steps=50, rho=[0.9, 0.99])
    np.testing.assert_array_equal(a.positions, b.positions)
    np.testing.assert_array_equal(a.newton_step_size, b.newton_step_size)
    np.testing.assert_allclose(mine.nearest_minimum_distance([[1, 3], [4, 7]]), [0, 5])


def test_user_surface_defaults_to_the_domain_centre_and_no_minima():
    s = adaviz.Surface(lambda x, y: x**2 + y**2 + x * y, domain=((0, 2), (-1, 3)))
    assert s.start == (1.0, 1.0) and s.minima == ()


# ---------------------------------------------------------------- refused inputs

GOOD = dict(fn=lambda x, y: x**2 + y**2, minima=[(0, 0)], start=(1, 1))


@pytest.mark.parametrize(
    "domain, match",
    [
        (((1, 1), (-1, 1)), "empty along x"),
        (((-1, 1), (2, 2)), "empty along y"),
        (((1, -1), (-1, 1)), "inverted along x"),
        (((-1, 1), (3, -3)), "inverted along y"),
        (((-np.inf, 1), (-1, 1)), "finite"),
        (((-1, np.nan), (-1, 1)), "finite"),
        (((-1, 1),), r"\(\(xmin, xmax\), \(ymin, ymax\)\)"),
        ((-1, 1, -1, 1), r"\(\(xmin, xmax\), \(ymin, ymax\)\)"),
        ("square", r"\(\(xmin, xmax\), \(ymin, ymax\)\)"),
    ],
)
def test_bad_domain_is_refused(domain, match):
    with pytest.raises(ValueError, match=match):
        adaviz.Surface(domain=domain, **GOOD)


def test_start_or_minimum_outside_the_domain_is_refused():
    dom = ((-1, 1), (-1, 1))
    with pytest.raises(ValueError, match=r"start=\(2\.0, 0\.0\) is outside the domain"):
        adaviz.Surface(GOOD["fn"], dom, minima=[(0, 0)], start=(2, 0))
    with pytest.raises(ValueError, match=r"minima\[1\]=\(0\.0, -3\.0\) is outside the domain"):
        adaviz.Surface(GOOD["fn"], dom, minima=[(0, 0), (0, -3)], start=(0.5, 0))
    with pytest.raises(ValueError, match="start must be a pair"):
        adaviz.Surface(GOOD["fn"], dom, start=(0, 0, 0))
    with pytest.raises(ValueError, match="start must be finite"):
        adaviz.Surface(GOOD["fn"], dom, start=(np.nan, 0))
    with pytest.raises(ValueError, match=r"minima\[0\] must be a pair"):
        adaviz.Surface(GOOD["fn"], dom, minima=[(0, 0, 1)])


@pytest.mark.parametrize(
    "fn, match",
    [
        (lambda x, y: tf.reduce_sum(x**2 + y**2), "one value per point"),
        (lambda x, y: tf.stack([x, y], -1), "one value per point"),
        (lambda x, y: 1.0, "one value per point"),
        (lambda x, y: tf.cast(x > y, tf.int32), "floating-point"),
        (lambda x, y: x > y, "floating-point"),
        (lambda x, y: tf.constant(np.asarray(x) ** 2 + np.asarray(y) ** 2), r"no gradient"),
        (lambda x, y: tf.stop_gradient(x**2 + y**2), r"no gradient \(None\) with respect to x"),
        (lambda x, y: x**2, r"no gradient \(None\) with respect to y"),
        (lambda x, y: tf.math.log(x - 5.0) + y, "not finite at the start"),
        (lambda x, y: tf.sqrt(x**2 + y**2 - 2.0), "not finite at the start"),
        (lambda x, y: x + y + tf.constant(1.0, tf.float32), r"failed on float64"),
        (lambda x, y: tf.cast(x + y, tf.float16), "dtype"),
    ],
)
def test_bad_functions_are_refused(fn, match):
    with pytest.raises(ValueError, match=match):
        adaviz.Surface(fn, ((-2, 2), (-2, 2)), start=(1, 1))


def test_not_callable_is_refused():
    with pytest.raises(ValueError, match="fn must be a callable"):
        adaviz.Surface("x**2", ((-1, 1), (-1, 1)))


@pytest.mark.parametrize(
    "axis, domain", [("x", ((-1e308, 1e308), (-1, 1))), ("y", ((-1, 1), (-1e308, 1e308)))]
)
def test_a_domain_too_wide_for_float64_is_refused(axis, domain):
    with pytest.raises(ValueError) as info:
        adaviz.Surface(domain=domain, **GOOD)
    message = str(info.value)
    assert f"domain is too wide along {axis}: {axis} in [-1e+308, 1e+308] is inf wide" in message
    assert "give bounds within +-1e300" in message


def test_a_wide_domain_that_fits_float64_is_kept():
    s = adaviz.Surface(domain=((-1e300, 1e300), (-1, 1)), **GOOD)
    assert np.isfinite(np.asarray(s.bounds)).all()


def test_contour_of_a_surface_without_finite_values_names_the_surface_and_domain():
    s = adaviz.Surface(GOOD["fn"], ((-1e306, 1e306), (-1, 1)), name="huge")
    with pytest.raises(ValueError) as info:
        s.contour(20)
    message = str(info.value)
    assert "surface 'huge' has no finite value on the 20 x 20 grid" in message
    assert "x in [-1e+306, 1e+306], y in [-1, 1]" in message


def test_an_eager_only_function_is_refused_when_the_surface_is_made():
    def eager_only(x, y):
        return x**2 + y**2 + 0.0 * float(np.sum(x.numpy()))

    assert np.isfinite(eager_only(tf.constant([1.0]), tf.constant([2.0]))).all()  # eager: fine
    with pytest.raises(ValueError) as info:
        adaviz.Surface(eager_only, ((-2, 2), (-2, 2)), name="eager")
    message = str(info.value)
    assert "fn of surface 'eager' works eagerly but cannot be traced" in message
    assert "'SymbolicTensor' object has no attribute 'numpy'" in message
    assert "must be written with TensorFlow ops" in message and "no .numpy()" in message


@pytest.mark.parametrize(
    "fn",
    [
        lambda x, y: (x - tf.reduce_mean(x)) ** 2 + y**2,
        lambda x, y: (x - x[0]) ** 2 + y**2,
        lambda x, y: tf.sort(x) ** 2 + y**2,
    ],
)
def test_a_function_that_is_not_element_wise_is_refused(fn):
    with pytest.raises(ValueError) as info:
        adaviz.Surface(fn, ((-2, 2), (-2, 2)), start=(1.0, 0.5), name="batchy")
    message = str(info.value)
    assert "fn of surface 'batchy' must be element-wise" in message
    assert "in a batch of 3 points and alone it gives" in message
    assert "tf.reduce_mean(x)" in message


def test_element_wise_tensorflow_functions_are_kept():
    def banded(x, y):
        return tf.where(x > 0.0, tf.sin(3.0 * x) ** 2, tf.exp(0.5 * x) - 1.0) + tf.tanh(y) ** 2

    s = adaviz.Surface(banded, ((-2, 2), (-2, 2)), start=(1.3, -0.7))
    x, y = np.array([1.3, -1.1]), np.array([-0.7, 0.4])
    expected = np.where(x > 0, np.sin(3 * x) ** 2, np.exp(0.5 * x) - 1) + np.tanh(y) ** 2
    np.testing.assert_allclose(s(x, y), expected, rtol=1e-12)
    run = adaviz.simulate(s, steps=20, start=[(1.3, -0.7), (-1.1, 0.4)])
    assert np.isfinite(run.positions).all()
