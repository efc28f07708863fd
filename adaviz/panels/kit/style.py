"""How every figure looks: colours, axis and layout styles, the playback cursor, short numbers.

One colour per coordinate (x, y), used by every panel: ``COORD_COLORS["x"]`` and
``COORD_COLORS["y"]`` (Okabe-Ito blue and vermillion, readable by colour-blind viewers).
Within a coordinate, E[g²] / step size are solid lines, E[Δx²] / the Newton reference
dashed or dotted.
"""

from __future__ import annotations

import math

#: coordinate -> line colour, the same in every view and every panel.
COORD_COLORS = {"x": "#0072B2", "y": "#D55E00"}
#: one colour per update rule, the same in every view and panel (Okabe-Ito, plus a brown).
RULE_COLORS = {
    "adadelta": "#1a1a1a",
    "sgd": "#E69F00",
    "momentum": "#56B4E9",
    "nesterov": "#009E73",
    "adagrad": "#8c564b",
    "rmsprop": "#0072B2",
    "adam": "#D55E00",
}
#: the trajectory, its loss curve and the playback marker.
TRAJECTORY_COLOR = "#1a1a1a"
START_COLOR = "#009E73"
END_COLOR = "#CC79A7"
MINIMUM_COLOR = "#F0E442"
MARKER_COLOR = "#E69F00"
#: ghost (pinned) trajectories: faint, each with its own colour and dash.
GHOST_COLORS = ["#56B4E9", "#CC79A7", "#009E73", "#999999", "#8c564b"]
GHOST_DASHES = ["dash", "dot", "dashdot", "longdash", "longdashdot"]
GHOST_OPACITY = 0.55
#: a light sequential scale, so the dark path stays visible on top of it.
CONTOUR_COLORSCALE = [
    [0.0, "#f7fbff"],
    [0.25, "#deebf7"],
    [0.5, "#9ecae1"],
    [0.75, "#4292c6"],
    [1.0, "#08306b"],
]

FONT = {"family": "Arial, Helvetica, sans-serif", "size": 12}


def axis(title, *, log=False, **extra):
    """An axis dict with a title (give units in it), light grid and optional log type."""
    spec = {
        "title": {"text": title, "font": {"size": 11}},
        "type": "log" if log else "linear",
        "showgrid": True,
        "gridcolor": "#e5e5e5",
        "zeroline": False,
        "showline": True,
        "linecolor": "#888888",
        "ticks": "outside",
        "exponentformat": "power",
        # log axes over a decade or two: label 20, 50 ... in full, not as tiny bare digits
        # (vertical ones label decades only, see layout)
        "minorloglabels": "complete",
    }
    spec.update(extra)
    return spec


def layout(title, *, width, height, xaxis, yaxis, legend=True, **extra):
    """A compact figure layout for a notebook column (white background, legend on top)."""
    if yaxis.get("type") == "log":
        # whole decades only: on a short vertical axis over a decade or two plotly also
        # labels 2 and 5 times each decade, and those labels ran into each other
        yaxis = {**yaxis, "minorloglabels": "none"}
    spec = {
        "title": {"text": title, "x": 0.02, "xanchor": "left", "font": {"size": 14}},
        "width": width,
        "height": height,
        "margin": {"l": 70, "r": 10, "t": 50, "b": 40},
        "font": FONT,
        "plot_bgcolor": "white",
        "paper_bgcolor": "white",
        "xaxis": xaxis,
        "yaxis": yaxis,
        "showlegend": legend,
        "legend": {
            "orientation": "v",
            "x": 1.02,
            "xanchor": "left",
            "y": 1.0,
            "yanchor": "top",
            "font": {"size": 11},
            "bgcolor": "rgba(255,255,255,0.6)",
        },
        "hovermode": "closest",
    }
    spec.update(extra)
    return spec


def cursor_line(x=0.0):
    """A vertical dashed line spanning the plot height (the playback cursor), as a shape."""
    return {
        "type": "line",
        "xref": "x",
        "yref": "paper",
        "x0": float(x),
        "x1": float(x),
        "y0": 0.0,
        "y1": 1.0,
        "line": {"color": MARKER_COLOR, "width": 2, "dash": "dot"},
    }


def fmt(value, digits=3):
    """A short human number: 1.41e-03, 0.95, 12.3; 'NaN' and infinities spelled out."""
    value = float(value)
    if not math.isfinite(value):
        return "∞" if value > 0 else ("−∞" if value < 0 else "NaN")
    if value != 0 and (abs(value) < 1e-2 or abs(value) >= 1e4):
        return f"{value:.{digits - 1}e}"
    return f"{value:.{digits}g}"
