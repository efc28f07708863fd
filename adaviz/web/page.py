"""Standalone live pages: a panel's state in, one HTML file out, its sliders run in the page.

:func:`surface_state` gathers what the SurfacePanel page needs as a plain dict (the surface,
start, steps, hyperparameters, the sliders' ranges and log scales, the presets);
:func:`surface_page` writes the page around ``engine.js`` and ``page.js``::

    from adaviz.web import page
    html = page.surface_page(page.surface_state("booth", lr=0.5))
    open("booth.html", "w").write(html)        # opens from disk, no server, no kernel

plotly.js comes from the plotly Python package, embedded once (``plotly="inline"``), or from
its CDN (``plotly="cdn"``, a page of a few tens of KB that needs the network).

In a notebook, a panel's output is a fragment (``plotly=OUTPUT``): the panel's state and
the script that starts it, with no libraries. :func:`libraries_html` is what all the panels
of a page share (plotly.js, ``engine.js``, ``page.js``): a kernel session's first panel
output carries it (:mod:`adaviz.panels.kit.embed`), so an exported notebook holds one copy.
"""

from __future__ import annotations

import ast
import html
import json
import numbers
import re
import uuid

import numpy as np

from adaviz._validate import check_int, check_start
from adaviz.web import _read, engine_js

__all__ = [
    "surface_state",
    "surface_page",
    "compare_state",
    "compare_page",
    "sweep_state",
    "sweep_page",
    "page_js",
    "libraries_html",
    "without_plotly",
    "OUTPUT",
]

#: the SurfacePanel's step range and its "converged" tolerance
STEPS_RANGE = (1, 5000)
TOLERANCE = 1e-3
PLOTLY_SOURCES = ("inline", "cdn")
#: ``plotly=OUTPUT``: a notebook output's fragment, without plotly.js and the page code (a
#: page shares them, :func:`libraries_html`), that leaves the URL fragment alone
OUTPUT = "output"


def page_js():
    """The live panels' page code: ``page.js``, after the plotly.js trace move the Jupyter
    panels' figures use too (:data:`adaviz.panels.kit.widget.MOVE_JS`, as
    ``adaviz.plotlyMove``, which counts the moves made that way and by ``Plotly.update``
    in ``moves``; it needs ``window.adaviz``, so it goes after ``engine.js``)."""
    from adaviz.panels.kit.widget import MOVE_JS

    move = (
        "(function (adaviz) {"
        + MOVE_JS
        + "adaviz.plotlyMove = { direct, restack, moves: { direct: 0, update: 0 } };\n"
        + "})(window.adaviz);\n"
    )
    return move + _read("page.js")


def live_scripts(*, replay=False):
    """The scripts a live page loads, in order: ``engine.js`` (it defines ``window.adaviz``,
    which the others extend), ``dom.js``, :func:`page_js` and, with ``replay``,
    ``replay.js``. A notebook page's shared code (:func:`libraries_html`) has them all."""
    scripts = [engine_js(), _read("dom.js"), page_js()]
    return scripts + [_read("replay.js")] if replay else scripts


def _controls_module():
    """adaviz's slider specs and presets (imported when a page is made: ipywidgets)."""
    from adaviz.panels.kit import controls

    return controls


#: the expressions a custom surface's page needs, in JavaScript
EXPRESSIONS = ("f", "f_x", "f_y", "f_xx", "f_yy")
#: how far a JavaScript expression may differ from the Python surface (relative where > 1)
EXPRESSION_TOL = 1e-9
_MATH = {
    "abs": np.abs, "sqrt": np.sqrt, "exp": np.exp, "log": np.log, "log10": np.log10,
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "tanh": np.tanh, "atan": np.arctan,
    "atan2": np.arctan2, "pow": np.power, "min": np.minimum, "max": np.maximum,
    "PI": np.pi, "E": np.e,
}  # fmt: skip
_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.USub, ast.UAdd)


def _check_expression(key, text):
    """The arithmetic subset JavaScript and Python read alike, as a Python code object."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"javascript[{key!r}] must be an expression in x and y, got {text!r}")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"javascript[{key!r}] is not an expression: {text!r} ({exc.msg})") from exc
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            if isinstance(node.left, ast.UnaryOp):  # -x ** 2 is a JavaScript syntax error
                raise ValueError(f"javascript[{key!r}]: write (-x) ** 2, not -x ** 2, in {text!r}")
        if isinstance(node, ast.Attribute):
            if not (isinstance(node.value, ast.Name) and node.value.id == "Math"):
                raise ValueError(f"javascript[{key!r}]: only Math.<name> is allowed, in {text!r}")
            if node.attr not in _MATH:
                raise ValueError(
                    f"javascript[{key!r}]: Math.{node.attr} is not one of "
                    f"{', '.join('Math.' + n for n in _MATH)}"
                )
        elif isinstance(node, ast.Name):
            if node.id not in ("x", "y", "Math"):
                raise ValueError(f"javascript[{key!r}]: unknown name {node.id!r} in {text!r}")
        elif not isinstance(
            node,
            (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Call, ast.Constant, ast.Load) + _OPERATORS,
        ):
            raise ValueError(
                f"javascript[{key!r}]: {type(node).__name__} is not allowed in {text!r} (numbers, "
                "x, y, + - * / **, parentheses and Math functions only)"
            )
        if isinstance(node, ast.Constant) and not isinstance(node.value, (int, float)):
            raise ValueError(f"javascript[{key!r}]: {node.value!r} is not a number, in {text!r}")
    return compile(tree, f"<javascript[{key!r}]>", "eval")


def _custom_surface(surf, javascript):
    """The page's definition of a custom surface, after checking each JavaScript expression
    against the Python surface on a 25 x 25 grid of its domain, its start and its minima."""
    if javascript is None:
        raise ValueError(
            f"surface {surf.name!r} is a custom surface (a Python function), which the live page "
            "cannot run: give its JavaScript expressions, javascript={'f': ..., 'f_x': ..., "
            "'f_y': ..., 'f_xx': ..., 'f_yy': ...} (checked against the Python surface), or "
            "write a picture with live=False"
        )
    if not isinstance(javascript, dict) or set(javascript) != set(EXPRESSIONS):
        given = sorted(javascript) if isinstance(javascript, dict) else javascript
        raise ValueError(
            f"javascript must be a dict with the keys {list(EXPRESSIONS)}, got {given!r}"
        )
    (xmin, xmax), (ymin, ymax) = surf.domain
    X, Y = np.meshgrid(np.linspace(xmin, xmax, 25), np.linspace(ymin, ymax, 25))
    points = [np.ravel(X), np.ravel(Y)]
    extra = [surf.start, *surf.minima]
    x = np.concatenate([points[0], [p[0] for p in extra]])
    y = np.concatenate([points[1], [p[1] for p in extra]])
    hessian = surf.hessian(x, y)
    gradient = surf.grad(x, y)
    python = {
        "f": surf(x, y),
        "f_x": gradient[:, 0],
        "f_y": gradient[:, 1],
        "f_xx": hessian[:, 0, 0],
        "f_yy": hessian[:, 1, 1],
    }
    math = type("Math", (), {})()
    for name, value in _MATH.items():
        setattr(math, name, value)
    for key in EXPRESSIONS:
        code = _check_expression(key, javascript[key])
        with np.errstate(all="ignore"):
            page = np.broadcast_to(
                np.asarray(eval(code, {"__builtins__": {}}, {"x": x, "y": y, "Math": math}), float),
                x.shape,
            )
            want = python[key]
            error = np.abs(page - want) / np.maximum(1.0, np.abs(want))
        error = np.where(np.isnan(page) & np.isnan(want), 0.0, error)
        error = np.where(np.isnan(error), np.inf, error)
        worst = int(np.argmax(error))
        if error[worst] > EXPRESSION_TOL:
            raise ValueError(
                f"the JavaScript expression {key} = {javascript[key]!r} disagrees with surface "
                f"{surf.name!r}: largest difference {abs(page[worst] - want[worst]):.3g} at "
                f"(x, y) = ({x[worst]:.6g}, {y[worst]:.6g}): JavaScript {page[worst]:.10g}, "
                f"Python {want[worst]:.10g}"
            )
    return {
        "name": surf.name,
        "domain": [list(d) for d in surf.domain],
        "minima": [list(m) for m in surf.minima],
        "start": list(surf.start),
        **{key: javascript[key] for key in EXPRESSIONS},
    }


def _noise_state(noise, seed=None):
    """The gradient-noise fields of a page's state: ``noise`` on the panels' slider, its
    values (0 = off, then log-spaced) and, unless None, ``seed``."""
    controls = _controls_module()
    out = {
        "noise": controls.check_noise_for_slider(noise),
        "noise_values": list(controls.NOISE_VALUES),
    }
    if seed is not None:
        out |= {
            "seed": check_int("seed", seed, 0, controls.SEED_MAX),
            "seed_max": controls.SEED_MAX,
        }
    return out


def _start(surface, start):
    """``start`` (default: the surface's own) checked against the surface's domain."""
    start = surface.start if start is None else start
    return check_start(start, surface.domain, surface_name=surface.name)


def surface_state(
    surface="rosenbrock",
    *,
    start=None,
    steps=500,
    lr=None,
    rho=None,
    epsilon=None,
    decay=None,
    noise=0.0,
    seed=0,
    javascript=None,
):
    """The SurfacePanel page's settings as a plain dict (JSON-ready).

    Args:
        surface: a built-in surface name, or an :class:`adaviz.Surface`; a custom surface
            needs ``javascript``.
        start: ``(x, y)`` inside the surface's domain; default the surface's start.
        steps: 1 to 5000.
        lr, rho, epsilon, decay: Adadelta's; ``None`` takes the panel's default.
        noise, seed: the gradient noise's standard deviation (0, or 1e-3 to 100 as the
            panel's slider shows it) and its seed (an integer in [0, 2**32 - 1]).
        javascript: a custom surface's value, gradient and Hessian diagonal as JavaScript
            expressions in ``x`` and ``y``, ``{"f": "x * x + 3 * y * y", "f_x": "2 * x",
            "f_y": "6 * y", "f_xx": "2", "f_yy": "6"}`` (numbers, + - * / **, parentheses
            and ``Math.*`` functions). Each is checked against the Python surface at 627
            points of its domain (within 1e-9, relative where values exceed 1).

    Raises:
        ValueError: an unknown surface; a custom surface without ``javascript``, or with an
            expression that disagrees with it (the message gives the largest difference and
            where); a start outside the domain, steps out of range, or a hyperparameter, a
            noise or a seed the panel's controls cannot show.
    """
    from adaviz import surfaces

    controls = _controls_module()
    custom = None
    if isinstance(surface, surfaces.Surface) and not (
        surface.name in surfaces.names() and surfaces.get(surface.name) is surface
    ):
        surf = surface
        custom = _custom_surface(surf, javascript)
    else:
        surf = surfaces.get(surface)
    x, y = (float(v) for v in _start(surf, start))
    steps = check_int("steps", steps, *STEPS_RANGE)
    given = {"lr": lr, "rho": rho, "epsilon": epsilon, "decay": decay}
    hyper = {}
    for key, value in given.items():
        hyper[key] = (
            controls.DEFAULTS[key] if value is None else controls.check_in_slider_range(key, value)
        )
    specs = {
        key: {
            "low": spec.low,
            "high": spec.high,
            "log": spec.log,
            "step": spec.step,
            "description": spec.description,
        }
        for key, spec in controls.ADADELTA.items()
    }
    return {
        "panel": "surface",
        "surface": surf.name,
        "start": [x, y],
        "steps": steps,
        "hyperparameters": hyper,
        "defaults": dict(controls.DEFAULTS),
        "specs": specs,
        "presets": {key: dict(values) for key, values in controls.PRESETS.items()},
        "steps_range": list(STEPS_RANGE),
        **_noise_state(noise, seed),
        "tolerance": TOLERANCE,
        "grid_size": 120,
        "lessons": {n: surfaces.get(n).lesson for n in surfaces.names()}
        | ({surf.name: surf.lesson} if custom else {}),
        "custom": custom,
    }


def compare_state(
    surface="rosenbrock",
    optimizers=("adadelta", "sgd", "momentum", "adam"),
    *,
    start=None,
    steps=1000,
    loss_scale_exponent=0.0,
    hyperparameters=None,
    labels=None,
    noise=0.0,
    seed=0,
):
    """The ComparePanel page's settings as a plain dict (JSON-ready).

    Args:
        surface: a built-in surface name.
        optimizers: the rules compared, names of :data:`adaviz._math.RULES`.
        start: ``(x, y)`` inside the domain; default the surface's start.
        steps: the budget, 10 to 5000.
        loss_scale_exponent: k, every rule runs on ``10**k * f``; -3 to 3.
        hyperparameters: ``{rule: {name: value}}``, the values each rule runs with (default:
            its library defaults).
        labels: ``{rule: label}`` shown per run ("library defaults", "changed by you", ...).
        noise, seed: the gradient noise every rule runs with (the same sequence for all), as
            :func:`surface_state`'s.

    Raises:
        ValueError: an unknown surface or rule, a value a slider cannot show.
    """
    from adaviz import _math
    from adaviz.panels.compare import controls as compare_controls
    from adaviz.panels.compare import runs
    from adaviz.panels.compare.ghosts import PINS
    from adaviz.panels.kit.style import RULE_COLORS as COLORS

    controls = _controls_module()
    surf = _builtin(surface, "ComparePanel")
    names = compare_controls.check_optimizers(optimizers)
    values = compare_controls.check_hyperparameters(names, hyperparameters or {})
    x, y = (float(v) for v in _start(surf, start))
    spec = controls.LOSS_SCALE
    k = float(loss_scale_exponent)
    if not spec.low <= k <= spec.high:
        raise ValueError(f"loss_scale_exponent must be in [{spec.low:g}, {spec.high:g}], got {k!r}")
    hyper = {}
    for name in names:
        hyper[name] = dict(_math.RULES[name].defaults) | dict(values.get(name, {}))
        hyper[name] = {
            key: (bool(v) if isinstance(v, bool) else float(v)) for key, v in hyper[name].items()
        }
    return {
        "panel": "compare",
        "surface": surf.name,
        "optimizers": list(names),
        "start": [x, y],
        "steps": check_int("steps", steps, *runs.STEPS_RANGE),
        "steps_range": list(runs.STEPS_RANGE),
        "loss_scale_exponent": k,
        "loss_scale_spec": {"low": spec.low, "high": spec.high, "step": spec.step},
        **_noise_state(noise, seed),
        "hyperparameters": hyper,
        "labels": {name: (labels or {}).get(name, "library defaults") for name in names},
        "specs": {
            key: {
                "low": s.low,
                "high": s.high,
                "log": s.log,
                "step": s.step,
                "description": s.description,
                "flag": s.flag,
            }
            for key, s in compare_controls.SPECS.items()
        },
        "colors": {name: COLORS[name] for name in names},
        "lr_grid": [float(v) for v in runs.LR_GRID],
        "tune_window": runs.TUNE_WINDOW,
        "pins": PINS,
        "grid_size": 120,
        # copy as code: each rule's Keras 3 constructor and the arguments it implies
        # (adaviz.panels.kit.code.constructor); the page adds the values it runs with
        "keras": {
            name: {
                "constructor": _math.RULES[name].keras,
                "fixed": [
                    f"{key}={value!r}" for key, value in _math.RULES[name].keras_fixed.items()
                ],
            }
            for name in names
        },
    }


def sweep_state(
    surface="rosenbrock",
    *,
    x="epsilon",
    y="rho",
    x_values=None,
    y_values=None,
    start=None,
    steps=500,
    metric="final_loss",
    overlay=False,
    loss_scale_exponent=0.0,
    tol=1e-3,
    noise=0.0,
    seeds=1,
    **fixed,
):
    """The SweepPanel page's settings as a plain dict (JSON-ready).

    Args:
        surface: a built-in surface name.
        x, y: the hyperparameters along the map's axes; ``x_values``/``y_values`` their
            values (default: the panel's 64-value axes).
        start, steps, metric, overlay, tol: as :class:`adaviz.SweepPanel`.
        loss_scale_exponent: k, the runs are on ``10**k * f``.
        noise, seeds: the gradient noise's standard deviation (as :func:`surface_state`'s)
            and K, the runs per cell with noise (seeds 0 .. K-1, 1 to 16): the map shows the
            mean over them, as :func:`adaviz.sweep`.
        **fixed: the other Adadelta hyperparameters (default: the panel's defaults).

    Raises:
        ValueError: an unknown surface, metric or hyperparameter; a custom surface; a
            noise or a number of seeds the panel's controls cannot show.
    """
    from adaviz import sweeps
    from adaviz.panels.sweep import controls as sweep_controls
    from adaviz.panels.sweep import panel as sweep_panel
    from adaviz.panels.sweep.axes import default_axis
    from adaviz.panels.views import heatmap

    controls = _controls_module()
    surf = _builtin(surface, "SweepPanel")
    if metric not in sweeps.METRICS:
        raise ValueError(f"metric must be one of {list(sweeps.METRICS)}, got {metric!r}")
    names = list(controls.ADADELTA)
    for name in (x, y, *fixed):
        if name not in names:
            raise ValueError(f"hyperparameter must be one of {names}, got {name!r}")
    values = {}
    for name, given in ((x, x_values), (y, y_values)):
        values[name] = [float(v) for v in (default_axis(name, 64) if given is None else given)]
    start = surf.start if start is None else start
    return {
        "panel": "sweep",
        "surface": surf.name,
        "start": [float(v) for v in start],
        "steps": int(steps),
        "x": x,
        "y": y,
        "x_values": values[x],
        "y_values": values[y],
        "x_log": bool(heatmap.is_log_axis(x, np.asarray(values[x]))),
        "y_log": bool(heatmap.is_log_axis(y, np.asarray(values[y]))),
        "fixed": {
            name: float(fixed.get(name, controls.DEFAULTS[name]))
            for name in names
            if name not in (x, y)
        },
        "specs": {
            name: {
                "low": s.low,
                "high": s.high,
                "log": s.log,
                "step": s.step,
                "description": s.description,
            }
            for name, s in controls.ADADELTA.items()
        },
        "metric": metric,
        "metric_labels": dict(sweep_panel.METRIC_LABELS),
        "log_metrics": list(sweep_panel.LOG_METRICS),
        "overlay": bool(overlay),
        "loss_scale_exponent": float(loss_scale_exponent),
        "loss_scale_spec": {
            "low": controls.LOSS_SCALE.low,
            "high": controls.LOSS_SCALE.high,
            "step": controls.LOSS_SCALE.step,
        },
        "tol": float(tol),
        **_noise_state(noise),
        "seeds": check_int("seeds", seeds, 1, sweep_controls.SEEDS_MAX),
        "seeds_max": sweep_controls.SEEDS_MAX,
        "diverged_color": heatmap.DIVERGED_COLOR,
        "heatmap_colorscale": heatmap.HEATMAP_COLORSCALE,
    }


def sweep_page(state, *, plotly="inline", title=None):
    """A standalone HTML page of the live SweepPanel, as a string (see :func:`surface_page`)."""
    if not isinstance(state, dict) or state.get("panel") != "sweep":
        raise ValueError(f"state must be sweep_state(...)'s dict, got {type(state).__name__}")
    return _page(state, "sweepPanel", plotly, title or f"Adadelta sweep on {state['surface']}")


def _builtin(surface, panel):
    from adaviz import surfaces

    surf = surfaces.get(surface)
    builtin = surf.name in surfaces.names() and surfaces.get(surf.name) is surf
    if not builtin:
        raise ValueError(
            f"surface {surf.name!r} is a custom surface; the live {panel} page runs the built-in "
            "surfaces only; use live=False for a picture"
        )
    return surf


def _plotly_tag(source):
    if source not in PLOTLY_SOURCES:
        raise ValueError(f"plotly must be one of {list(PLOTLY_SOURCES)}, got {source!r}")
    import plotly
    import plotly.offline

    if source == "cdn":
        return (
            f'<script src="https://cdn.plot.ly/plotly-{plotly.__version__}.min.js" '
            'charset="utf-8"></script>'
        )
    return f'<script type="text/javascript">{plotly.offline.get_plotlyjs()}</script>'


def _script(text):
    # a script's text must not close its own element
    return "<script>" + text.replace("</script", "<\\/script") + "</script>"


_PAGE_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 16px; color: #222; }
"""
#: the panels' own rules (a notebook output carries these, not the page's)
_STYLE = """
.adaviz-live { width: 960px; }
.adaviz-title { margin-bottom: 6px; }
.adaviz-note.adaviz-warning { background: #fff4e5; border: 1px solid #e69f00; padding: 4px 8px;
  margin: 4px 0; }
.adaviz-controls { display: flex; gap: 18px; margin: 8px 0; }
.adaviz-controls > div { display: flex; flex-direction: column; gap: 4px; width: 300px; }
.adaviz-control { display: flex; align-items: center; gap: 6px; font-size: 13px; }
.adaviz-control .adaviz-label { min-width: 92px; }
.adaviz-control input[type=range] { flex: 1; }
.adaviz-readout { min-width: 56px; font-variant-numeric: tabular-nums; }
.adaviz-views { display: flex; gap: 8px; }
.adaviz-rules { display: flex; flex-wrap: wrap; gap: 8px; margin-bottom: 8px; }
.adaviz-rule { width: 290px; font-size: 13px; }
.adaviz-rule .adaviz-label { min-width: 70px; }
.adaviz-readouts table { border-collapse: collapse; }
.adaviz-readouts td, .adaviz-readouts th { padding: 2px 8px; text-align: left; }
.adaviz-stack { position: relative; width: 520px; height: 600px; }
.adaviz-stack > div { position: absolute; left: 0; top: 0; }
.adaviz-side { display: flex; flex-direction: column; }
.adaviz-playback { display: flex; align-items: center; gap: 8px; margin: 6px 0; font-size: 13px; }
.adaviz-playback input[type=range] { width: 360px; }
.adaviz-readouts { font-size: 13px; line-height: 1.5; }
.adaviz-code { background: #f6f8fa; padding: 6px; font-size: 12px; }
.adaviz-footer { color: #666; font-size: 12px; margin-top: 8px; }
"""


def surface_page(state, *, plotly="inline", title=None):
    """A standalone HTML page of the live SurfacePanel, as a string.

    Args:
        state: what :func:`surface_state` returns.
        plotly: ``"inline"`` (plotly.js embedded once, the page works offline) or ``"cdn"``;
            :data:`OUTPUT` makes a notebook output's fragment instead of a page.
        title: the page's title (default: "Adadelta on <surface>").

    Raises:
        ValueError: ``plotly`` is neither "inline" nor "cdn"; ``state`` is not a surface
            panel's state.
    """
    if not isinstance(state, dict) or state.get("panel") != "surface":
        raise ValueError(f"state must be surface_state(...)'s dict, got {type(state).__name__}")
    if not isinstance(state.get("steps"), numbers.Integral):
        raise ValueError(f"state['steps'] must be an integer, got {state.get('steps')!r}")
    return _page(state, "surfacePanel", plotly, title or f"Adadelta on {state['surface']}")


def compare_page(state, *, plotly="inline", title=None):
    """A standalone HTML page of the live ComparePanel, as a string (see :func:`surface_page`).

    Raises:
        ValueError: ``plotly`` is neither "inline" nor "cdn"; ``state`` is not
            :func:`compare_state`'s.
    """
    if not isinstance(state, dict) or state.get("panel") != "compare":
        raise ValueError(f"state must be compare_state(...)'s dict, got {type(state).__name__}")
    default = f"{', '.join(state['optimizers'])} on {state['surface']}"
    return _page(state, "comparePanel", plotly, title or default)


#: the live pages' footer
FOOTER = (
    "Made with adaviz: the optimizer runs in this page (float64 JavaScript, checked against "
    "adaviz.simulate); no kernel needed."
)
#: what the live pages say in a browser without JavaScript
NOSCRIPT = (
    "This page is a live adaviz panel: its sliders run the optimizer in the browser with "
    "JavaScript, which is turned off or not supported here. Turn JavaScript on to use it."
)


def _page(state, boot_function, plotly, title, *, scripts=None, footer=FOOTER, noscript=NOSCRIPT):
    """The page around ``scripts`` (default: :func:`live_scripts`) that boots
    ``adaviz.<boot_function>(root, state)``, with ``footer`` under it and ``noscript`` for
    a browser without JavaScript (both plain text)."""
    if plotly == OUTPUT:
        return _output(state, boot_function, title)
    scripts = live_scripts() if scripts is None else scripts
    data = json.dumps(state).replace("</", "<\\/")
    boot = f"window.adaviz.{boot_function}(document.getElementById('adaviz-panel'), {data});"
    return "\n".join(
        [
            "<!doctype html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            f"<title>{html.escape(title)}</title>",
            f"<style>{_PAGE_STYLE}{_STYLE}</style>",
            _plotly_tag(plotly),
            *(_script(text) for text in scripts),
            "</head>",
            "<body>",
            f"<noscript><p>{html.escape(noscript)}</p></noscript>",
            '<div id="adaviz-panel"></div>',
            f'<p class="adaviz-footer">{html.escape(footer)}</p>',
            _script(boot),
            "</body>",
            "</html>",
        ]
    )


_MISSING = (
    "This live adaviz panel needs the page code that the first panel output of its kernel "
    "session carries, and that output is not on this page. Run the notebook from the top "
    "(Restart Kernel and Run All) and export it again."
)


def _output(state, boot_function, title):
    """A live panel as a notebook output, without the libraries (see :func:`libraries_html`).

    The panel starts as soon as ``window.adaviz`` has its page code: at once when an earlier
    output brought it, else when :func:`libraries_html` runs (it starts the waiting panels).
    If no output brings it by the time the page has loaded, the panel says so. The panel
    leaves the URL fragment alone: several panels share the page.
    """
    element = f"adaviz-live-{uuid.uuid4().hex}"
    data = json.dumps(dict(state, fragment=False)).replace("</", "<\\/")
    boot = f"""(function () {{
  var root = document.getElementById("{element}"), started = false;
  function start() {{
    started = true;
    root.textContent = "";
    window.adaviz.{boot_function}(root, {data});
  }}
  if (window.adaviz && window.adaviz.{boot_function}) return start();
  (window.adavizWaiting = window.adavizWaiting || []).push(start);
  function missing() {{ if (!started) root.textContent = {json.dumps(_MISSING)}; }}
  if (document.readyState === "complete") setTimeout(missing, 1000);
  else window.addEventListener("load", missing);
}})();"""
    return (
        f'<div class="adaviz-live-output" title="{html.escape(title)}">'
        f"<noscript><p>{html.escape(NOSCRIPT)}</p></noscript>"
        f'<div id="{element}">Starting the live panel…</div>{_script(boot)}</div>'
    )


_PLOTLY_LIBRARY = 'data-adaviz-library="plotly"'


def without_plotly(text):
    """``text`` (a notebook output's HTML) without the copy of plotly.js that
    :func:`libraries_html` put in it, for a page that loads plotly.js itself."""
    return re.sub(rf"<script {_PLOTLY_LIBRARY}>.*?</script>", "", text, flags=re.S)


def libraries_html(include_plotlyjs=True):
    """What every live panel of a notebook page shares, once: the panels' CSS, plotly.js
    (from the plotly package; ``include_plotlyjs=False`` leaves it to the page) and every
    script of :mod:`adaviz.web` (:func:`live_scripts`, the replay's too); then
    it starts the panels that waited for them.

    Each script runs only if the page does not have it yet (a Plotly already on the page, a
    cell run again), so an output may carry it more than once without harm.
    """
    import plotly.offline

    parts = [f"<style>{_STYLE}</style>"]
    if include_plotlyjs:
        parts.append(
            f'<script {_PLOTLY_LIBRARY}>if (typeof window.Plotly === "undefined") {{\n'
            + plotly.offline.get_plotlyjs().replace("</script", "<\\/script")
            + "\n}</script>"
        )
    code = "\n".join(live_scripts(replay=True))
    parts += [
        _script(f"if (!window.adavizPageCode) {{\n{code}\nwindow.adavizPageCode = true;\n}}"),
        _script(
            "(window.adavizWaiting || []).splice(0).forEach(function (start) {\n"
            "  try { start(); } catch (error) { setTimeout(function () { throw error; }); }\n"
            "});"
        ),
    ]
    return "\n".join(parts)
