"""The ModelPanel's replay page: the run recorded so far, scrubbed in the browser, no kernel.

Training a Keras model needs Python and TensorFlow, so a page cannot train. It replays:
:func:`model_state` gathers a :class:`adaviz.ModelPanel`'s figures as they are (the whole
run's loss and per-layer lines, with the panel's trace names) and its snapshots (the
step-size histograms, the decision boundary or fit, the losses, settings and per-layer
statistics at recorded redraws, see :mod:`adaviz.panels.model.snapshots`);
:func:`replay_page` writes them around ``replay.js``, whose slider scrubs through the
snapshots::

    from adaviz.web import replay
    html = replay.replay_page(replay.model_state(panel))   # panel.to_html(path) does this

In the page the decision boundary's P(class 1) is stored to 1/254 (one byte a grid point);
class indices and a fit's curve (float32) are stored exactly as drawn; the figures' float64
arrays as float32 (the steps as int32). The page carries the state as zlib-compressed JSON
(:func:`_packed`), which ``replay.js`` inflates with the browser's own
``DecompressionStream``. Both together take a 3,000-step run's page (61 snapshots, plotly.js
from the CDN) from 632 KB to 249 KB.
"""

from __future__ import annotations

import base64
import json
import math
import zlib

import numpy as np

from adaviz.web import _read

__all__ = ["model_state", "replay_page", "replay_js"]

#: the figures of a ModelPanel in the page's order (those the panel has)
ORDER = ("loss", "boundary", "fit", "accumulators", "step_sizes", "update_ratio")
#: P(class 1) is stored as round(p * PROBABILITY_LEVELS); a missing value as 255
PROBABILITY_LEVELS = 254
FOOTER = (
    "Made with adaviz: a replay of a ModelPanel's run, recorded in a notebook; the page "
    "trains nothing (training needs a Python kernel with TensorFlow)."
)
NOSCRIPT = (
    "This page replays an adaviz ModelPanel's training run: its slider scrubs through the "
    "recorded steps with JavaScript, which is turned off or not supported here. Turn "
    "JavaScript on to use it."
)


def replay_js():
    """The text of ``replay.js``, the replay page's code (a classic script)."""
    return _read("replay.js")


def _narrowed(spec):
    """A plotly typed-array spec (``{"dtype", "bdata"}``) of float64 as int32 when its values
    are whole numbers that fit (the steps), else as float32 (a rounding far below a pixel
    and the hover's four digits): half the bytes."""
    values = np.frombuffer(base64.b64decode(spec["bdata"]), "<f8")
    whole = np.isfinite(values).all() and (values == np.rint(values)).all()
    if whole and (np.abs(values) < 2**31).all():
        values, dtype = values.astype("<i4"), "i4"
    else:
        values, dtype = values.astype("<f4"), "f4"
    return dict(spec, dtype=dtype, bdata=base64.b64encode(values.tobytes()).decode("ascii"))


def _plain(value):
    """``value`` as JSON-ready Python: arrays as lists, non-finite numbers as None, plotly's
    float64 typed-array specs narrowed (:func:`_narrowed`)."""
    if isinstance(value, dict):
        if value.get("dtype") == "f8" and isinstance(value.get("bdata"), str):
            return _narrowed(value)
        return {key: _plain(v) for key, v in value.items()}
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _predictions(kind, prediction):
    """The snapshots' data-view pictures, each base64 of its bytes (see the module doc)."""
    if kind == "probability":
        p = np.clip(prediction, 0.0, 1.0)
        values = np.where(np.isfinite(p), np.rint(p * PROBABILITY_LEVELS), 255).astype(np.uint8)
        dtype, scale = "uint8", PROBABILITY_LEVELS
    elif kind == "class":
        values, dtype, scale = prediction.astype(np.uint8), "uint8", 1
    else:
        values, dtype, scale = prediction.astype("<f4"), "float32", 1
    return {
        "kind": kind,
        "shape": list(prediction.shape[1:]),
        "dtype": dtype,
        "scale": scale,
        "missing": 255 if kind == "probability" else None,
        "data": [base64.b64encode(row.tobytes()).decode("ascii") for row in values],
    }


def model_state(panel):
    """The replay page of ``panel``'s run as a plain dict (JSON-ready).

    Args:
        panel: an :class:`adaviz.ModelPanel`; the page shows its figures as they are now
            and its :attr:`~adaviz.ModelPanel.snapshots`.

    Returns:
        ``panel`` "model_replay"; ``figures`` (name -> plotly figure dict, in ``order``);
        ``layer_names``; ``snapshots`` (the arrays of ``panel.snapshots`` but
        ``prediction``, as lists: NaN as None, the histograms' counts as integers); ``prediction`` (the data view's pictures,
        encoded, or None); ``steps`` (the last step recorded); ``nonfinite_step``.

    Raises:
        ValueError: ``panel`` is not a ModelPanel.
    """
    from adaviz.panels.model.panel import ModelPanel

    if not isinstance(panel, ModelPanel):
        raise ValueError(f"panel must be an adaviz.ModelPanel, got {type(panel).__name__}")
    figures = panel.figures
    snapshots = panel.snapshots
    prediction = snapshots.pop("prediction", None)
    snapshots["step_size_counts"] = snapshots["step_size_counts"].astype(np.int64)
    kind = None
    if "fit" in figures:
        kind = "curve"
    elif "boundary" in figures:
        kind = "probability" if figures["boundary"].data[0].type == "contour" else "class"
    order = [name for name in ORDER if name in figures]
    return {
        "panel": "model_replay",
        "figures": {name: _plain(figures[name].to_plotly_json()) for name in order},
        "order": order,
        "layer_names": list(panel.layer_names),
        "snapshots": _plain(snapshots),
        "prediction": None if kind is None else _predictions(kind, prediction),
        "steps": int(snapshots["step"][-1]),
        "nonfinite_step": panel.nonfinite_step,
    }


def _packed(state):
    """``state`` as the page carries it: ``{"packed": base64 of its zlib-compressed JSON}``
    (``adaviz.modelReplay`` inflates it before it builds the replay)."""
    text = json.dumps(state, allow_nan=False).encode("utf-8")
    return {"packed": base64.b64encode(zlib.compress(text, 9)).decode("ascii")}


def replay_page(state, *, plotly="inline", title=None):
    """A standalone HTML page replaying a ModelPanel's run, as a string.

    Args:
        state: what :func:`model_state` returns.
        plotly: ``"inline"`` (plotly.js embedded once, the page works offline) or ``"cdn"``.
        title: the page's title (default: "adaviz ModelPanel: replay of <n> steps").

    Raises:
        ValueError: ``plotly`` is neither "inline" nor "cdn"; ``state`` is not
            :func:`model_state`'s.
    """
    from adaviz.web.page import _page

    if not isinstance(state, dict) or state.get("panel") != "model_replay":
        raise ValueError(f"state must be model_state(...)'s dict, got {type(state).__name__}")
    title = title or f"adaviz ModelPanel: replay of {state['steps']:,} steps"
    return _page(
        _packed(state), "modelReplay", plotly, title, scripts=[_read("dom.js"), replay_js()], footer=FOOTER,
        noscript=NOSCRIPT,
    )  # fmt: skip
