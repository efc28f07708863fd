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

import html
import json
import numbers

from adaviz.web import _read, engine_js

__all__ = ["surface_state", "surface_page", "page_js"]

#: the SurfacePanel's step range and its "converged" tolerance
STEPS_RANGE = (1, 5000)
TOLERANCE = 1e-3
PLOTLY_SOURCES = ("inline", "cdn")


def page_js():
    """The text of ``page.js``, the live panels' page code."""
    return _read("page.js")


def _controls_module():
    """adaviz's slider specs and presets (the panels' kit since the panels' refactor)."""
    try:
        from adaviz.panels.kit import controls
    except ImportError:
        from adaviz.panels import _controls as controls
    return controls


def surface_state(
    surface="rosenbrock", *, start=None, steps=500, lr=None, rho=None, epsilon=None, decay=None
):
    """The SurfacePanel page's settings as a plain dict (JSON-ready).

    Args:
        surface: a built-in surface name (the page's engine has the built-ins only).
        start: ``(x, y)`` inside the surface's domain; default the surface's start.
        steps: 1 to 5000.
        lr, rho, epsilon, decay: Adadelta's; ``None`` takes the panel's default.

    Raises:
        ValueError: an unknown or custom surface, a start outside the domain, steps out of
            range, or a hyperparameter the panel's slider cannot show.
    """
    from adaviz import surfaces
    from adaviz._validate import check_int

    controls = _controls_module()
    if isinstance(surface, surfaces.Surface) and surface.name not in surfaces.names():
        raise ValueError(
            f"surface {surface.name!r} is a custom surface; the live page runs the built-in "
            f"surfaces only ({', '.join(surfaces.names())}); use live=False for a picture"
        )
    name = surface.name if isinstance(surface, surfaces.Surface) else surface
    surf = surfaces.get(name)
    if isinstance(surface, surfaces.Surface) and surface is not surf:
        raise ValueError(
            f"surface {surface.name!r} is not the built-in surface of that name; the live page "
            "runs the built-in surfaces only; use live=False for a picture"
        )
    if start is None:
        start = surf.start
    x, y = (float(v) for v in start)
    (xmin, xmax), (ymin, ymax) = surf.domain
    if not (xmin <= x <= xmax and ymin <= y <= ymax):
        raise ValueError(
            f"start must lie within {surf.name}'s domain x in [{xmin:g}, {xmax:g}], "
            f"y in [{ymin:g}, {ymax:g}], got ({x:g}, {y:g})"
        )
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
        "lessons": {n: surfaces.get(n).lesson for n in surfaces.names()},
    }


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
    title = title or f"Adadelta on {state['surface']}"
    data = json.dumps(state).replace("</", "<\\/")
    boot = f"window.adaviz.surfacePanel(document.getElementById('adaviz-panel'), {data});"
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
