r"""2D loss surfaces: :class:`Surface` and the built-in catalogue.

A :class:`Surface` wraps a TensorFlow-differentiable ``fn(x, y)`` (elementwise over
tensors) with the things a lesson needs: its domain, its known minima, a default start
that tells the story, a LaTeX formula and a one-sentence lesson::

    import adaviz
    adaviz.surfaces.names()                 # ['ackley', 'beale', ...]
    s = adaviz.surfaces.get("rosenbrock")
    s(1.0, 1.0), s.grad(-1.0, 1.0), s.hessian(-1.0, 1.0)
    X, Y, Z = s.grid(200)
    c = s.contour(200)                      # log-scaled colouring + levels for plotly/matplotlib

    bowl = adaviz.Surface(lambda x, y: x**2 + 3 * y**2, domain=((-2, 2), (-2, 2)),
                          minima=[(0, 0)], start=(1.5, 1.5), name="my bowl")

Surfaces compare by identity and are hashable, so the engine and the sweep keep their
compiled functions per surface (:mod:`adaviz.graphs`).
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import numpy as np

from adaviz import _math
from adaviz._tf import import_tensorflow

tf = import_tensorflow()

__all__ = ["Surface", "Contour", "names", "get"]

#: How far outside the domain a trajectory may wander before the engine calls it diverged,
#: in multiples of the domain's width/height on each side.
BOUND_MARGIN = 10.0


def _is_tensor(value):
    return isinstance(value, (tf.Tensor, tf.Variable))


def _as_float_pair(name, value):
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a pair of numbers (x, y), got {value!r}") from exc
    if arr.shape != (2,):
        raise ValueError(f"{name} must be a pair of numbers (x, y), got {value!r}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return float(arr[0]), float(arr[1])


def _check_domain(domain):
    try:
        arr = np.asarray(domain, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"domain must be ((xmin, xmax), (ymin, ymax)) of numbers, got {domain!r}"
        ) from exc
    if arr.shape != (2, 2):
        raise ValueError(
            f"domain must be ((xmin, xmax), (ymin, ymax)), got {domain!r} (shape {arr.shape})"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"domain must be finite, got {domain!r}")
    for axis, (low, high) in zip("xy", arr.tolist(), strict=True):
        if low > high:
            raise ValueError(
                f"domain is inverted along {axis}: {axis}min={low!r} > {axis}max={high!r} "
                f"in {domain!r}; give (min, max) with min < max"
            )
        if low == high:
            raise ValueError(
                f"domain is empty along {axis}: {axis}min == {axis}max == {low!r} in {domain!r}; "
                "give (min, max) with min < max"
            )
        width = high - low
        box = (low - BOUND_MARGIN * width, high + BOUND_MARGIN * width)
        if not all(math.isfinite(v) for v in (width, *box)):
            raise ValueError(
                f"domain is too wide along {axis}: {axis} in [{low!r}, {high!r}] is "
                f"{width!r} wide and the engine's box around it ({BOUND_MARGIN:g} widths "
                f"beyond each side) is [{box[0]!r}, {box[1]!r}]: both must be finite float64 "
                "numbers; give bounds within +-1e300"
            )
    return (float(arr[0, 0]), float(arr[0, 1])), (float(arr[1, 0]), float(arr[1, 1]))


class Contour(NamedTuple):
    """What a contour plot needs, with colouring that reads well when Z spans decades.

    ``color`` is the array to colour and contour by: ``Z`` itself when ``log`` is False,
    else ``log10(Z - floor + offset)``. ``start``/``end``/``size`` are evenly spaced
    contour levels in ``color`` units (plotly's ``contours=dict(start=, end=, size=)``);
    ``levels`` are the same levels in Z units (matplotlib's ``levels=``).
    ``tickvals`` (``color`` units) with ``ticktext`` (Z values) label a colour bar in
    the surface's own units. Map back with ``Z = 10**color - offset + floor``.

    With plotly::

        c = surface.contour(200, levels=25)
        go.Contour(x=c.x, y=c.y, z=c.color,
                   contours=dict(start=c.start, end=c.end, size=c.size),
                   colorbar=dict(tickvals=c.tickvals, ticktext=c.ticktext))

    With matplotlib: ``plt.contour(c.x, c.y, c.Z, levels=c.levels)``.
    """

    x: np.ndarray  # (n,) grid x coordinates
    y: np.ndarray  # (n,) grid y coordinates
    Z: np.ndarray  # (n, n) surface values, Z[i, j] = f(x[j], y[i])
    color: np.ndarray  # (n, n) values to colour by
    log: bool
    floor: float
    offset: float
    start: float
    end: float
    size: float
    levels: np.ndarray  # contour levels in Z units
    tickvals: np.ndarray
    ticktext: list


class Surface:
    r"""A 2D loss surface ``f(x, y)`` for trajectory plots.

    Args:
        fn: ``fn(x, y) -> z``, TensorFlow-differentiable and elementwise: tensors of any
            shape in, one floating-point value per point out. It must work in float32 and
            float64 (write constants as Python floats).
        domain: ``((xmin, xmax), (ymin, ymax))``, finite, with min < max.
        minima: known minima ``[(x, y), ...]`` inside the domain (may be empty, e.g. for a
            saddle). :attr:`min_value` is the lowest ``f`` over them.
        start: default start of a trajectory, inside the domain; defaults to the centre.
        name: short identifier (built-ins use it with :func:`get`).
        formula: LaTeX for the formula, without ``$``.
        lesson: one sentence saying what the surface shows about Adadelta.

    Raises:
        ValueError: the domain is empty, inverted, not finite or too wide for float64; a
            start or minimum lies outside the domain; ``fn`` does not return one
            floating-point value per point, raises, returns a non-finite value at the
            start, has no gradient (None) with respect to ``x`` or ``y`` at the start, is
            not element-wise (a point alone gives another value or gradient than in a
            batch), or cannot be traced into a graph as the engine runs it (eager-only
            code such as ``.numpy()``).
    """

    def __init__(self, fn, domain, minima=(), start=None, name="surface", formula="", lesson=""):
        if not callable(fn):
            raise ValueError(f"fn must be a callable fn(x, y), got {fn!r}")
        self.fn = fn
        self.domain = _check_domain(domain)
        (xmin, xmax), (ymin, ymax) = self.domain
        if start is None:
            start = (0.5 * (xmin + xmax), 0.5 * (ymin + ymax))
        self.start = _as_float_pair("start", start)
        self._check_inside("start", self.start)
        if minima is None:
            minima = ()
        try:
            minima = list(minima)
        except TypeError as exc:
            raise ValueError(f"minima must be a list of (x, y) pairs, got {minima!r}") from exc
        self.minima = tuple(_as_float_pair(f"minima[{i}]", m) for i, m in enumerate(minima))
        for i, m in enumerate(self.minima):
            self._check_inside(f"minima[{i}]", m)
        self.name = str(name)
        self.formula = str(formula)
        self.lesson = str(lesson)
        self._validate_fn()
        self.min_value = (
            float(np.min(self(*np.asarray(self.minima).T))) if self.minima else float("nan")
        )

    # ------------------------------------------------------------------ validation
    def _check_inside(self, what, point):
        (xmin, xmax), (ymin, ymax) = self.domain
        x, y = point
        if not (xmin <= x <= xmax and ymin <= y <= ymax):
            raise ValueError(
                f"{what}={point!r} is outside the domain x in [{xmin}, {xmax}], "
                f"y in [{ymin}, {ymax}]"
            )

    def _validate_fn(self):
        (xmin, xmax), (ymin, ymax) = self.domain
        x0, y0 = self.start
        # the start plus two interior points, in both dtypes the engine supports
        xs = [x0, xmin + 0.3 * (xmax - xmin), xmin + 0.7 * (xmax - xmin)]
        ys = [y0, ymin + 0.6 * (ymax - ymin), ymin + 0.2 * (ymax - ymin)]
        for dtype in (tf.float64, tf.float32):
            x = tf.constant(xs, dtype)
            y = tf.constant(ys, dtype)
            with tf.GradientTape() as tape:
                tape.watch([x, y])
                try:
                    z = self.fn(x, y)
                    z = tf.convert_to_tensor(z)
                except Exception as exc:
                    raise ValueError(
                        f"fn of surface {self.name!r} failed on {dtype.name} tensors of shape "
                        f"(3,): {type(exc).__name__}: {exc}. fn must be elementwise, written "
                        "with TensorFlow ops, and work in float32 and float64"
                    ) from exc
            if not z.dtype.is_floating:
                raise ValueError(
                    f"fn of surface {self.name!r} must return floating-point values, got "
                    f"dtype {z.dtype.name} for {dtype.name} input"
                )
            if z.shape != x.shape:
                raise ValueError(
                    f"fn of surface {self.name!r} must return one value per point: for "
                    f"inputs of shape {tuple(x.shape)} it returned shape {tuple(z.shape)}"
                )
            if z.dtype != dtype:
                raise ValueError(
                    f"fn of surface {self.name!r} must return the dtype of its inputs: "
                    f"got {z.dtype.name} for {dtype.name} input"
                )
            gx, gy = tape.gradient(z, [x, y])
            for axis, g in (("x", gx), ("y", gy)):
                if g is None:
                    raise ValueError(
                        f"fn of surface {self.name!r} has no gradient (None) with respect "
                        f"to {axis} at the start {self.start!r}: it must be differentiable "
                        "TensorFlow code in both x and y (add `+ 0 * y` for a surface that "
                        "ignores a coordinate)"
                    )
            if dtype == tf.float64:
                if not math.isfinite(float(z[0])):
                    raise ValueError(
                        f"fn of surface {self.name!r} is not finite at the start "
                        f"{self.start!r}: got {float(z[0])!r}"
                    )
                grad0 = (float(gx[0]), float(gy[0]))
                if not all(math.isfinite(g) for g in grad0):
                    raise ValueError(
                        f"the gradient of surface {self.name!r} is not finite at the start "
                        f"{self.start!r}: got {grad0!r}"
                    )
                batch = (z.numpy(), gx.numpy(), gy.numpy())
        # the catalogue's functions are element-wise TensorFlow code (tested): not re-checked
        if not any(self.fn is spec["fn"] for spec in _BUILTINS.values()):
            self._check_elementwise(xs, ys, *batch)
            self._check_traceable(len(xs))

    def _check_elementwise(self, xs, ys, z, gx, gy):
        """Each point evaluated alone must give its value and gradient in the batch."""
        for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
            tx, ty = tf.constant([x], tf.float64), tf.constant([y], tf.float64)
            try:
                with tf.GradientTape() as tape:
                    tape.watch([tx, ty])
                    alone = tf.reshape(tf.convert_to_tensor(self.fn(tx, ty)), [-1])
                grads = tape.gradient(
                    alone, [tx, ty], unconnected_gradients=tf.UnconnectedGradients.ZERO
                )
                got = np.array([alone[0], grads[0][0], grads[1][0]], np.float64)
                failure = "" if alone.shape == (1,) else f" (shape {tuple(alone.shape)})"
            except Exception as exc:
                got, failure = None, f" ({type(exc).__name__}: {exc})"
            want = np.array([z[i], gx[i], gy[i]], np.float64)
            if failure or not np.allclose(got, want, rtol=1e-6, atol=1e-9, equal_nan=True):
                alone_text = "fails" + failure if got is None else f"gives {got[0]:.6g}{failure}"
                raise ValueError(
                    f"fn of surface {self.name!r} must be element-wise: its value at a point "
                    "must depend only on that point's x and y, because the engine evaluates "
                    f"many runs in one batch; at (x, y) = ({x:g}, {y:g}) it gives {want[0]:.6g} "
                    f"(gradient ({want[1]:.6g}, {want[2]:.6g})) in a batch of {len(xs)} "
                    f"points and alone it {alone_text}"
                    + ("" if got is None else f" (gradient ({got[1]:.6g}, {got[2]:.6g}))")
                    + ". Avoid reductions, sorting or indexing over the batch "
                    "(tf.reduce_mean(x), tf.reduce_sum(x), x[0])"
                )

    def _check_traceable(self, n):
        """Trace ``fn`` into a graph as the compiled engine does (once per dtype)."""
        for dtype in (tf.float64, tf.float32):
            spec = tf.TensorSpec([n], dtype)
            try:
                tf.function(self.fn).get_concrete_function(spec, spec)
            except Exception as exc:
                raise ValueError(
                    f"fn of surface {self.name!r} works eagerly but cannot be traced into a "
                    f"TensorFlow graph ({dtype.name} tensors of shape ({n},)), which is how "
                    f"the engine runs it: {type(exc).__name__}: {str(exc).strip()}. fn must be written "
                    "with TensorFlow ops on its tensor arguments: no .numpy(), float(x), "
                    "int(x) or numpy functions of x and y"
                ) from None

    # ------------------------------------------------------------------ evaluation
    @staticmethod
    def _inputs(x, y):
        """Return (x, y) as tensors of one float dtype, and whether to return numpy."""
        if _is_tensor(x) or _is_tensor(y):
            dtype = x.dtype if _is_tensor(x) else y.dtype
            if not dtype.is_floating:
                dtype = tf.float64
            x = tf.cast(x, dtype) if _is_tensor(x) else tf.constant(x, dtype)
            y = tf.cast(y, dtype) if _is_tensor(y) else tf.constant(y, dtype)
            x, y = x + tf.zeros_like(y), y + tf.zeros_like(x)  # broadcast
            return x, y, False
        x, y = np.broadcast_arrays(np.asarray(x, np.float64), np.asarray(y, np.float64))
        return tf.constant(x), tf.constant(y), True

    def __call__(self, x, y):
        """Evaluate ``f(x, y)``: numpy in (float64) -> numpy out; tensors in -> tensor out."""
        tx, ty, to_numpy = self._inputs(x, y)
        z = self.fn(tx, ty)
        return z.numpy() if to_numpy else z

    def grad(self, x, y):
        """The gradient ``(df/dx, df/dy)`` by autodiff, stacked on a last axis of size 2."""
        tx, ty, to_numpy = self._inputs(x, y)
        with tf.GradientTape() as tape:
            tape.watch([tx, ty])
            z = self.fn(tx, ty)
        gx, gy = tape.gradient(z, [tx, ty], unconnected_gradients=tf.UnconnectedGradients.ZERO)
        g = tf.stack([gx, gy], axis=-1)
        return g.numpy() if to_numpy else g

    def hessian(self, x, y):
        """The Hessian ``[[f_xx, f_xy], [f_yx, f_yy]]`` by autodiff, on two last axes (2, 2)."""
        tx, ty, to_numpy = self._inputs(x, y)
        _, _, ((hxx, hxy), (hyx, hyy)) = _math.grad_and_hessian(self.fn, tx, ty, diagonal=False)
        h = tf.stack([tf.stack([hxx, hxy], -1), tf.stack([hyx, hyy], -1)], -2)
        return h.numpy() if to_numpy else h

    @property
    def bounds(self):
        """``((xlo, xhi), (ylo, yhi))``: leaving this box counts as divergence in the engine.

        The domain widened by :data:`BOUND_MARGIN` times its width/height on each side.
        """
        return tuple(
            (low - BOUND_MARGIN * (high - low), high + BOUND_MARGIN * (high - low))
            for low, high in self.domain
        )

    def nearest_minimum_distance(self, points):
        """Euclidean distance from each point (array ``(..., 2)``) to the nearest listed minimum.

        Raises:
            ValueError: the surface lists no minima.
        """
        if not self.minima:
            raise ValueError(f"surface {self.name!r} lists no minima to measure distance to")
        points = np.asarray(points, np.float64)
        diff = points[..., None, :] - np.asarray(self.minima)  # (..., M, 2)
        return np.sqrt(np.min(np.sum(diff**2, axis=-1), axis=-1))

    # ------------------------------------------------------------------ plotting helpers
    def grid(self, n=200):
        """The ``(X, Y, Z)`` mesh over the domain for contour plots.

        Args:
            n: points per axis (>= 2).

        Returns:
            ``X, Y, Z`` float64 arrays of shape ``(n, n)`` (``np.meshgrid`` "xy" indexing:
            ``X`` varies along axis 1, ``Z[i, j] = f(X[i, j], Y[i, j])``).
        """
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 2:
            raise ValueError(f"n must be an integer >= 2, got {n!r}")
        (xmin, xmax), (ymin, ymax) = self.domain
        X, Y = np.meshgrid(np.linspace(xmin, xmax, int(n)), np.linspace(ymin, ymax, int(n)))
        return X, Y, self(X, Y)

    def levels(self, Z=None, n=20):
        """Contour levels in Z units that read well even when Z spans many decades.

        Geometrically spaced above the minimum (see :meth:`contour`) when Z spans more
        than two decades above it, evenly spaced otherwise.

        Args:
            Z: values to choose levels for (default: :meth:`grid` ``(200)``'s Z).
            n: number of levels.
        """
        if Z is None:
            Z = self.grid(200)[2]
        return _scale(np.asarray(Z, np.float64), n, self.min_value)[-1]

    def contour(self, n=200, levels=20):
        """Grid, colouring and contour levels for a plot; see :class:`Contour`.

        When Z spans more than two decades above its minimum (rosenbrock, goldstein-price,
        beale ...), colours and levels are logarithmic in ``Z - floor + offset``, where
        ``floor`` is the lowest value (grid or known minimum) and ``offset`` a small positive
        number that keeps the logarithm finite at the minimum; otherwise linear in Z.
        """
        X, Y, Z = self.grid(n)
        if not np.isfinite(Z).any():
            (xmin, xmax), (ymin, ymax) = self.domain
            raise ValueError(
                f"surface {self.name!r} has no finite value on the {n} x {n} grid over its "
                f"domain x in [{xmin:g}, {xmax:g}], y in [{ymin:g}, {ymax:g}], so there is "
                "nothing to draw contours of: give a domain where fn is finite"
            )
        log, floor, offset, color, start, end, size, tickvals, lev = _scale(
            Z, levels, self.min_value
        )
        if log:
            ticktext = [f"{v:.3g}" for v in 10.0**tickvals - offset + floor]
        else:
            ticktext = [f"{v:.3g}" for v in tickvals]
        return Contour(
            X[0], Y[:, 0], Z, color, log, floor, offset, start, end, size, lev, tickvals, ticktext
        )

    def __repr__(self):
        return f"<adaviz.Surface {self.name!r} domain={self.domain} minima={list(self.minima)}>"


def _scale(Z, n, min_value):
    """Choose linear or log colouring for Z; see :meth:`Surface.contour`."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 2:
        raise ValueError(f"the number of levels must be an integer >= 2, got {n!r}")
    finite = Z[np.isfinite(Z)]
    if finite.size == 0:
        raise ValueError("Z has no finite values to choose contour levels for")
    floor = float(finite.min())
    if math.isfinite(min_value):
        floor = min(floor, min_value)
    shifted = finite - floor
    top = float(shifted.max())
    positive = shifted[shifted > 0]
    log = bool(positive.size and top / max(float(np.median(positive)), 1e-300) > 10.0)
    if log:
        # offset: about the lowest heights on the grid (0.1th percentile), >= top / 1e6
        offset = max(float(np.percentile(positive, 0.1)), top * 1e-6)
        color = np.log10(np.maximum(Z - floor, 0.0) + offset)
        start = math.log10(offset)
        end = math.log10(top + offset)
        ticks = np.arange(math.ceil(start), math.floor(end) + 1, dtype=np.float64)
    else:
        offset = 0.0
        color = Z.copy()
        start, end = floor, floor + top
        ticks = np.linspace(start, end, 6)
    size = (end - start) / n if end > start else 1.0
    grid_levels = start + size * (np.arange(n) + 0.5)
    levels = 10.0**grid_levels - offset + floor if log else grid_levels
    return log, floor, offset, color, start, end, size, ticks, levels


# ---------------------------------------------------------------------- the catalogue


def _rosenbrock(x, y):
    return (1.0 - x) ** 2 + 100.0 * (y - x**2) ** 2


def _beale(x, y):
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def _himmelblau(x, y):
    return (x**2 + y - 11.0) ** 2 + (x + y**2 - 7.0) ** 2


def _booth(x, y):
    return (x + 2.0 * y - 7.0) ** 2 + (2.0 * x + y - 5.0) ** 2


def _ill_conditioned(x, y):
    return 0.5 * (x**2 + 100.0 * y**2)


_SQRT_HALF = math.sqrt(0.5)


def _rotated_ill_conditioned(x, y):
    u = _SQRT_HALF * (x + y)
    v = _SQRT_HALF * (x - y)
    return 0.5 * (u**2 + 100.0 * v**2)


def _saddle(x, y):
    return x**2 - y**2


def _rastrigin(x, y):
    two_pi = 2.0 * math.pi
    return 20.0 + x**2 - 10.0 * tf.cos(two_pi * x) + y**2 - 10.0 * tf.cos(two_pi * y)


def _ackley(x, y):
    s = 0.5 * (x**2 + y**2)
    # sqrt with a zero (sub)gradient at the origin, where the cone has its tip
    positive = s > 0.0
    r = tf.where(positive, tf.sqrt(tf.where(positive, s, tf.ones_like(s))), tf.zeros_like(s))
    two_pi = 2.0 * math.pi
    return (
        -20.0 * tf.exp(-0.2 * r)
        - tf.exp(0.5 * (tf.cos(two_pi * x) + tf.cos(two_pi * y)))
        + (math.e + 20.0)
    )


def _six_hump_camel(x, y):
    return (4.0 - 2.1 * x**2 + x**4 / 3.0) * x**2 + x * y + (-4.0 + 4.0 * y**2) * y**2


def _goldstein_price(x, y):
    a = 1.0 + (x + y + 1.0) ** 2 * (
        19.0 - 14.0 * x + 3.0 * x**2 - 14.0 * y + 6.0 * x * y + 3.0 * y**2
    )
    b = 30.0 + (2.0 * x - 3.0 * y) ** 2 * (
        18.0 - 32.0 * x + 12.0 * x**2 + 48.0 * y - 36.0 * x * y + 27.0 * y**2
    )
    return a * b


def _plateau_cliff(x, y):
    s = x**2 + y**2
    return 1.0 - tf.exp(-s - s**2)


_BUILTINS = {
    "rosenbrock": dict(
        fn=_rosenbrock,
        domain=((-2.0, 2.0), (-1.0, 3.0)),
        minima=[(1.0, 1.0)],
        start=(-1.5, 2.5),
        formula=r"f(x, y) = (1 - x)^2 + 100\,(y - x^2)^2",
        lesson=(
            "A curved, narrow valley: Adadelta's steps start about sqrt(epsilon) long and "
            "must grow before it drops into the valley and crawls along its flat floor to (1, 1)."
        ),
    ),
    "beale": dict(
        fn=_beale,
        domain=((-4.5, 4.5), (-4.5, 4.5)),
        minima=[(3.0, 0.5)],
        start=(-2.0, 2.0),
        formula=(r"f(x, y) = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2"),
        lesson=(
            "Gradients that differ by orders of magnitude between flat arms and steep walls: "
            "Adadelta's per-coordinate normalization keeps its steps the same size on both."
        ),
    ),
    "himmelblau": dict(
        fn=_himmelblau,
        domain=((-5.0, 5.0), (-5.0, 5.0)),
        minima=[
            (3.0, 2.0),
            (-2.805118086952745, 3.131312518250573),
            (-3.779310253377747, -3.283185991286169),
            (3.5844283403304917, -1.8481265269644034),
        ],
        start=(-0.3, -0.9),
        formula=r"f(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2",
        lesson=(
            "Four equally good minima: started next to the central hilltop, rho and epsilon "
            "decide which basin Adadelta falls into."
        ),
    ),
    "booth": dict(
        fn=_booth,
        domain=((-10.0, 10.0), (-10.0, 10.0)),
        minima=[(1.0, 3.0)],
        start=(-8.0, 8.0),
        formula=r"f(x, y) = (x + 2y - 7)^2 + (2x + y - 5)^2",
        lesson=(
            "A plain tilted bowl: Adadelta needs no learning rate to tune, its step size "
            "grows on its own from sqrt(epsilon) until it matches the curvature."
        ),
    ),
    "ill_conditioned": dict(
        fn=_ill_conditioned,
        domain=((-5.0, 5.0), (-5.0, 5.0)),
        minima=[(0.0, 0.0)],
        start=(-4.5, 1.0),
        formula=r"f(x, y) = \tfrac{1}{2}\,(x^2 + 100\,y^2)",
        lesson=(
            "Curvatures 1 and 100 along the axes: Adadelta finds a separate step size for "
            "each coordinate, close to Newton's 1/|f_ii|, so the flat x direction is not held "
            "back by the steep y direction."
        ),
    ),
    "rotated_ill_conditioned": dict(
        fn=_rotated_ill_conditioned,
        domain=((-5.0, 5.0), (-5.0, 5.0)),
        minima=[(0.0, 0.0)],
        start=(-4.5, 1.0),
        formula=(
            r"f(x, y) = \tfrac{1}{2}\,(u^2 + 100\,v^2),\quad "
            r"u = \tfrac{x + y}{\sqrt{2}},\ v = \tfrac{x - y}{\sqrt{2}}"
        ),
        lesson=(
            "The same bowl turned by 45 degrees: both coordinates now feel the steep "
            "direction, both step sizes shrink to suit it, and progress along the flat "
            "diagonal slows down."
        ),
    ),
    "saddle": dict(
        fn=_saddle,
        domain=((-2.0, 2.0), (-2.0, 2.0)),
        minima=[],
        start=(-1.5, 0.001),
        formula=r"f(x, y) = x^2 - y^2",
        lesson=(
            "Started almost on the ridge, the tiny y-gradient is divided by its own RMS, "
            "so Adadelta takes full-sized steps away from the saddle at (0, 0) instead of "
            "lingering there, then runs downhill without end."
        ),
    ),
    "rastrigin": dict(
        fn=_rastrigin,
        domain=((-5.12, 5.12), (-5.12, 5.12)),
        minima=[(0.0, 0.0)],
        start=(2.2, -2.7),
        formula=(r"f(x, y) = 20 + x^2 - 10\cos(2\pi x) + y^2 - 10\cos(2\pi y)"),
        lesson=(
            "A regular field of local minima: Adadelta is a local method and settles in a "
            "nearby dimple unless large steps (high epsilon, low rho) carry it further."
        ),
    ),
    "ackley": dict(
        fn=_ackley,
        domain=((-5.0, 5.0), (-5.0, 5.0)),
        minima=[(0.0, 0.0)],
        start=(3.2, 2.4),
        formula=(
            r"f(x, y) = -20\,e^{-0.2\sqrt{(x^2 + y^2)/2}} "
            r"- e^{(\cos 2\pi x + \cos 2\pi y)/2} + e + 20"
        ),
        lesson=(
            "A nearly flat, ripple-covered plain around one deep funnel: the accumulated "
            "step sizes decide whether Adadelta rides over the ripples or gets caught."
        ),
    ),
    "six_hump_camel": dict(
        fn=_six_hump_camel,
        domain=((-3.0, 3.0), (-2.0, 2.0)),
        minima=[
            (0.08984201310031807, -0.7126564030207396),
            (-0.08984201310031807, 0.7126564030207396),
        ],
        start=(-1.9, 1.1),
        formula=r"f(x, y) = (4 - 2.1x^2 + x^4/3)\,x^2 + xy + (4y^2 - 4)\,y^2",
        lesson=(
            "Two global and four local minima: near a minimum Adadelta's steps do not "
            "shrink to zero, so it keeps bouncing around the bottom instead of settling."
        ),
    ),
    "goldstein_price": dict(
        fn=_goldstein_price,
        domain=((-2.0, 2.0), (-2.0, 2.0)),
        minima=[(0.0, -1.0)],
        start=(-1.5, 1.5),
        formula=(
            r"f(x, y) = [1 + (x + y + 1)^2 (19 - 14x + 3x^2 - 14y + 6xy + 3y^2)]"
            r"\,[30 + (2x - 3y)^2 (18 - 32x + 12x^2 + 48y - 36xy + 27y^2)]"
        ),
        lesson=(
            "Values from 3 to a million: Adadelta's updates have the units of x, not of f, "
            "so gradients a million times larger do not blow up its steps."
        ),
    ),
    "plateau_cliff": dict(
        fn=_plateau_cliff,
        domain=((-3.0, 3.0), (-3.0, 3.0)),
        minima=[(0.0, 0.0)],
        start=(-1.2, 1.05),
        formula=r"f(x, y) = 1 - e^{-s - s^2},\quad s = x^2 + y^2",
        lesson=(
            "On the almost flat plateau Adadelta's first steps are about sqrt(epsilon) "
            "long, so epsilon decides whether it reaches the cliff edge at all."
        ),
    ),
}

_CACHE: dict = {}


def names():
    """The names of the built-in surfaces, sorted."""
    return sorted(_BUILTINS)


def _normalize(name):
    return str(name).strip().lower().replace("-", "_").replace(" ", "_")


def get(name):
    """The built-in surface called ``name`` (one shared instance per name).

    ``"six-hump camel"`` and ``"six_hump_camel"`` are the same name.

    Raises:
        ValueError: unknown name; the message lists the valid names.
    """
    if isinstance(name, Surface):
        return name
    key = _normalize(name) if isinstance(name, str) else None
    if key not in _BUILTINS:
        raise ValueError(
            f"unknown surface {name!r}; the built-in surfaces are: {', '.join(names())}"
        )
    surface = _CACHE.get(key)
    if surface is None:
        surface = _CACHE[key] = Surface(name=key, **_BUILTINS[key])
    return surface
