"""The plotly ``FigureWidget`` every adaviz panel draws with.

Two things differ from ``plotly.graph_objects.FigureWidget``:

* **plotly.js is sent to the browser once per page, not once per figure.** plotly's
  widget is an anywidget whose front-end module is the whole 4.8 MB plotly bundle; each
  figure ships and evaluates its own copy. A panel has four or five figures and a
  dashboard two panels, so a page evaluates plotly.js about ten times at once, and
  anywidget gives each figure 2 s to initialise: on a busy 2-core machine the figures
  miss that deadline and then ignore every update from the kernel (the page looks fine
  but nothing moves). Here one hidden loader widget carries the bundle and evaluates it
  once; each figure's module is a small stub that initialises immediately and hands
  over to plotly's own code when the shared bundle is ready. plotly's module keeps no
  state between figures, so sharing it is safe.

* **The widget state is the figure as it is now.** plotly syncs ``_widget_data`` and
  ``_widget_layout`` only at construction and sends later changes as messages, so a view
  created after them (Voila, a reloaded tab, saved widget state) would show the
  construction-time figure; the full state here reports the current data and layout.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
from pathlib import Path

import anywidget
import plotly
import plotly.graph_objects as go
import traitlets

_BUNDLE = Path(plotly.__file__).parent / "package_data" / "widgetbundle.js"


def _source():
    return _BUNDLE.read_text(encoding="utf-8")


# One key per plotly version, so two versions on one page never share a module.
_KEY = json.dumps(
    "__adaviz_plotly_" + hashlib.sha1(_BUNDLE.read_bytes()).hexdigest()[:12]
    if _BUNDLE.exists()
    else "__adaviz_plotly_missing"
)

_SLOT_JS = """
function slot() {
  const g = globalThis;
  if (!g[KEY]) {
    let resolve, reject;
    const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
    g[KEY] = { promise, resolve, reject, started: false };
  }
  return g[KEY];
}
"""

_LOADER_ESM = f"""
const KEY = {_KEY};
{_SLOT_JS}
export default () => ({{
  initialize({{ model }}) {{
    const s = slot();
    if (s.started) return;
    s.started = true;
    const url = URL.createObjectURL(new Blob([model.get("source")], {{ type: "text/javascript" }}));
    import(url)
      .then((mod) => {{ URL.revokeObjectURL(url); s.resolve(mod); }})
      .catch((err) => {{ s.started = false; console.error("[adaviz] plotly.js failed to load", err); s.reject(err); }});
  }},
}});
"""

_FIGURE_ESM = f"""
const KEY = {_KEY};
{_SLOT_JS}
export default () => {{
  let inner = null;
  const ready = slot().promise.then((mod) => {{ inner = mod.default(); }});
  return {{
    initialize(ctx) {{ ready.then(() => inner.initialize && inner.initialize(ctx)); }},
    async render(ctx) {{ await ready; return inner.render(ctx); }},
  }};
}};
"""


class _PlotlyLoader(anywidget.AnyWidget):
    """Hidden widget carrying plotly's front-end bundle, evaluated once per page."""

    _esm = _LOADER_ESM
    source = traitlets.Unicode().tag(sync=True)


_loader = None


def _ensure_loader():
    global _loader
    if _loader is None or _loader.comm is None:
        _loader = _PlotlyLoader(source=_source())
    return _loader


class FigureWidget(go.FigureWidget):
    """``go.FigureWidget`` with one shared plotly.js per page and up-to-date full state."""

    if _BUNDLE.exists():  # otherwise keep plotly's own module (a plotly without the bundle)
        _esm = _FIGURE_ESM

    def __init__(self, *args, **kwargs):
        if _BUNDLE.exists():
            _ensure_loader()
        super().__init__(*args, **kwargs)

    def get_state(self, key=None, drop_defaults=False):
        from plotly.serializers import _py_to_js

        state = super().get_state(key=key, drop_defaults=drop_defaults)
        current = self.__dict__  # (absent while plotly's constructor opens the comm)
        if "_widget_data" in state and "_data" in current:
            state["_widget_data"] = _py_to_js(current["_data"], None)
        if "_widget_layout" in state and "_layout" in current:
            state["_widget_layout"] = _py_to_js(current["_layout"], None)
        return state


#: ``Plotly.animate`` options that move traces without redrawing the figure: no transition,
#: no full redraw afterwards, and a newer move interrupts an older one.
_MOVE_OPTIONS = {
    "mode": "immediate",
    "transition": {"duration": 0, "easing": "linear"},
    "frame": {"duration": 0, "redraw": False},
}


@contextlib.contextmanager
def moving(fig):
    """Like ``fig.batch_update()``, for changes to traces' ``x``/``y`` only, which the
    browser then applies without redrawing the rest of the figure.

    ``batch_update`` becomes one ``Plotly.update``: plotly.js recomputes and redraws every
    trace, the axes and the legend (for the contour view with its 120x120 contour that is
    ~100 ms in the browser). Here the batch becomes one ``Plotly.animate`` with a zero
    duration and ``redraw: false`` (plotly's ``batch_animate`` cannot ask for that):
    plotly.js recomputes and redraws only the traces named in it (~10 ms). Use it only
    when nothing else changes (axis ranges, names, visibility, the legend). Python's copy
    of the figure is updated exactly as by ``batch_update``.
    """
    if fig._in_batch_mode:
        yield
        return
    fig._in_batch_mode = True
    try:
        yield
    finally:
        fig._in_batch_mode = False
        fig._perform_batch_animate(_MOVE_OPTIONS)


def sync_initial_state(fig):
    """Make the state a new front-end view receives the figure as it is now.

    plotly's own front end replays updates sent before its first view existed wrongly;
    setting the construction-time state to the current figure avoids that replay.
    """
    fig._widget_layout = copy.deepcopy(fig._layout_obj._props)
    fig._widget_data = copy.deepcopy(fig._data)
