"""Standalone live pages: a panel's state in, one HTML file out, its sliders run in the page.

:func:`surface_state` gathers what the SurfacePanel page needs as a plain dict (the surface,
start, steps, hyperparameters, the sliders' ranges and log scales, the presets);
:func:`surface_page` writes the page around ``engine.js`` and ``page.js``::

    from adaviz.web import page
    html = page.surface_page(page.surface_state("booth", lr=0.5))
    open("booth.html", "w").write(html)        # opens from disk, no server, no kernel

plotly.js comes from the plotly Python package, embedded once (``plotly="inline"``), or from
its CDN (``plotly="cdn"``, a page of a few tens of KB that needs the network).
"""

from __future__ import annotations

import ast
import html
import json
import numbers

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
]

#: the SurfacePanel's step range and its "converged" tolerance
STEPS_RANGE = (1, 5000)
TOLERANCE = 1e-3
PLOTLY_SOURCES = ("inline", "cdn")


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
    javascript=None,
):
    """The SurfacePanel page's settings as a plain dict (JSON-ready).

    Args:
        surface: a built-in surface name, or an :class:`adaviz.Surface`; a custom surface
            needs ``javascript``.
        start: ``(x, y)`` inside the surface's domain; default the surface's start.
        steps: 1 to 5000.
        lr, rho, epsilon, decay: Adadelta's; ``None`` takes the panel's default.
        javascript: a custom surface's value, gradient and Hessian diagonal as JavaScript
            expressions in ``x`` and ``y``, ``{"f": "x * x + 3 * y * y", "f_x": "2 * x",
            "f_y": "6 * y", "f_xx": "2", "f_yy": "6"}`` (numbers, + - * / **, parentheses
            and ``Math.*`` functions). Each is checked against the Python surface at 627
            points of its domain (within 1e-9, relative where values exceed 1).

    Raises:
        ValueError: an unknown surface; a custom surface without ``javascript``, or with an
            expression that disagrees with it (the message gives the largest difference and
            where); a start outside the domain, steps out of range, or a hyperparameter the
            panel's slider cannot show.
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
    **fixed,
):
    """The SweepPanel page's settings as a plain dict (JSON-ready).

    Args:
        surface: a built-in surface name.
        x, y: the hyperparameters along the map's axes; ``x_values``/``y_values`` their
            values (default: the panel's 64-value axes).
        start, steps, metric, overlay, tol: as :class:`adaviz.SweepPanel`.
        loss_scale_exponent: k, the runs are on ``10**k * f``.
        **fixed: the other Adadelta hyperparameters (default: the panel's defaults).

    Raises:
        ValueError: an unknown surface, metric or hyperparameter; a custom surface.
    """
    from adaviz import sweeps
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


_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 16px; color: #222; }
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
.adaviz-stack { position: relative; width: 520px; height: 560px; }
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
        plotly: ``"inline"`` (plotly.js embedded once, the page works offline) or ``"cdn"``.
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


def _page(state, boot_function, plotly, title):
    data = json.dumps(state).replace("</", "<\\/")
    boot = f"window.adaviz.{boot_function}(document.getElementById('adaviz-panel'), {data});"
    return "\n".join(
        [
            "<!doctype html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            f"<title>{html.escape(title)}</title>",
            f"<style>{_STYLE}</style>",
            _plotly_tag(plotly),
            _script(engine_js()),
            _script(page_js()),
            "</head>",
            "<body>",
            "<noscript><p>This page is a live adaviz panel: its sliders run the optimizer in "
            "the browser with JavaScript, which is turned off or not supported here. Turn "
            "JavaScript on to use it.</p></noscript>",
            '<div id="adaviz-panel"></div>',
            '<p class="adaviz-footer">Made with adaviz: the optimizer runs in this page '
            "(float64 JavaScript, checked against adaviz.simulate); no kernel needed.</p>",
            _script(boot),
            "</body>",
            "</html>",
        ]
    )
