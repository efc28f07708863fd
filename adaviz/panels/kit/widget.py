"""The plotly ``FigureWidget`` every adaviz panel draws with: the one adapter to plotly's internals.

Three things differ from ``plotly.graph_objects.FigureWidget``:

* **plotly.js is sent to the browser once per page, not once per figure.** plotly's
  widget is an anywidget whose front-end module is the whole plotly bundle; each
  figure ships and evaluates its own copy. A panel has four or five figures and a
  dashboard two panels, so a page evaluates plotly.js many times at once, while
  anywidget gives each figure a short deadline to initialise: on a busy machine the
  figures miss it and then ignore every update from the kernel (the page looks fine
  but nothing moves). Here one hidden loader widget carries the bundle and evaluates it
  once; each figure's module is a small stub that initialises immediately and hands
  over to plotly's own code when the shared bundle is ready. plotly's module keeps no
  state between figures, so sharing it is safe.

  A front-end that creates widget models only for what it displays, or gives each output
  a frame of its own (Colab, VS Code), may never run the loader. So a figure that finds
  no bundle on its page after :data:`BUNDLE_WAIT_MS` asks the kernel for it through its
  own widget model (an anywidget custom message) and loads it itself.

* **The widget state is the figure as it is now.** plotly syncs ``_widget_data`` and
  ``_widget_layout`` only at construction and sends later changes as messages, so a view
  created after them (Voila, a reloaded tab, saved widget state) would show the
  construction-time figure; the full state here reports the current data and layout.

* :func:`moving` sends trace moves as a redraw-free ``Plotly.animate``, as one message
  per figure that the browser answers with nothing. plotly's own animate message costs
  four messages to the browser (two edit counters, the animate, its reset), and after
  applying it plotly's front end diffs the whole figure against its model and sends the
  differences back twice (trace and layout deltas), which the kernel then echoes.
  Here the figure sends one custom message with the new x/y as binary buffers; the
  figure's module (the stub above) updates the model's figure state (which a view drawn
  later starts from) and applies the move to each drawn view itself. ``Plotly.animate``
  would first derive the whole figure again from its input (plotly.js's supplyDefaults:
  every trace, the layout, fonts, axes), though only x/y of a few scatter traces changed.
  So the module puts the new x/y (and per-point ``text``/``textposition``, a label that
  moves with its point) into plotly.js's input and derived traces itself and runs the
  rest of plotly's transition: each moved trace's calc, then the plot of the moved traces
  (``direct``). It checks, move by move, that the figure is as that needs (scatter
  traces, visible, no per-point hover values, no error bars, nothing pending) and else
  calls ``Plotly.animate``. Either way every trace is then put back at its own depth:
  plotly.js stacks the traces a move redrew on top of the others. What else changed with
  plain values (a trace's legend name, axis ranges, a shape) rides along in the same
  message and is applied after the move as one ``Plotly.update``, which for those edits
  recalculates no trace (a relayout of the axes; when that relayout is of axis ranges
  alone, it redraws every trace, so the move itself draws nothing). A legend name alone
  goes into plotly.js's input and the legend is redrawn by a relayout setting
  ``showlegend`` to the value it has (a restyle of a name restyles every trace too).
  plotly's front end reports each relayout/update event to the kernel, which would take a
  late report for the user's edit, unless the event's data is marked as its own edit
  (``_doNotReportToPy``); the module marks the event, not the edit (plotly.js takes an
  unknown key of an edit for an attribute and redraws the whole figure).

Each of these relies on plotly internals, which are checked when this module is imported
(:data:`INTERNALS`). A feature whose internals are not what this module expects falls back
to plotly's own ``FigureWidget`` behaviour (slower, still correct), never a blank figure.
Tested with plotly 6.3 and 7 (``pyproject.toml`` declares the range).

Switches read at import, for tests and for trouble-shooting:

* ``ADAVIZ_PLOTLY_FALLBACK=1``: use plotly's own behaviour for every feature (or only for
  the features named, e.g. ``state,animate``; ``move`` alone keeps plotly's animate message
  for moves; ``direct`` alone applies every move with ``Plotly.animate``);
* ``ADAVIZ_NO_LOADER=1``: create no loader widget, so every page takes the path a
  front-end without the loader takes (each figure fetches the bundle from the kernel).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import inspect
import json
import os
import re
from pathlib import Path

import anywidget
import ipywidgets
import numpy as np
import plotly
import plotly.graph_objects as go
import traitlets

#: Milliseconds a figure waits for the page's loader before fetching plotly.js itself.
BUNDLE_WAIT_MS = 1500

_BUNDLE = Path(plotly.__file__).parent / "package_data" / "widgetbundle.js"
# The tail of the bundle: an ES module whose default export is plotly's widget factory.
_DEFAULT_EXPORT = re.compile(r"export\s*(?:default\b|\{[^{}]*\bas\s+default\b[^{}]*\})")


def _check_bundle():
    if not _BUNDLE.is_file():
        return f"{_BUNDLE} is missing"
    esm = getattr(go.FigureWidget, "_esm", None)  # a path, or anywidget's FileContents of it
    esm_path = getattr(esm, "_path", esm)
    if not isinstance(esm_path, (str, Path)) or Path(esm_path).resolve() != _BUNDLE.resolve():
        return "FigureWidget._esm is not package_data/widgetbundle.js"
    with _BUNDLE.open("rb") as f:
        f.seek(max(0, _BUNDLE.stat().st_size - 20_000))
        tail = f.read().decode("utf-8", errors="replace")
    if not _DEFAULT_EXPORT.search(tail):
        return "widgetbundle.js has no default export at its end"
    return None


def _check_state():
    try:
        from plotly.serializers import _py_to_js
    except ImportError as exc:
        return f"plotly.serializers._py_to_js: {exc}"
    traits = go.FigureWidget.class_traits()
    for name in ("_widget_data", "_widget_layout"):
        if name not in traits:
            return f"FigureWidget has no synced trait {name}"
    fig = go.Figure(go.Scatter(x=[0.0], y=[1.0]))
    if not (isinstance(fig.__dict__.get("_data"), list) and "_layout" in fig.__dict__):
        return "Figure keeps no _data list / _layout dict"
    if not isinstance(getattr(fig._layout_obj, "_props", None), dict):
        return "Figure._layout_obj._props is not a dict"
    if _py_to_js(fig.__dict__["_data"], None) is None:
        return "_py_to_js returned nothing"
    return None


def _method_problem(cls, name, *parameters):
    """Why ``cls.name`` is not a method taking ``parameters``, or None when it is."""
    method = getattr(cls, name, None)
    if method is None:
        return f"{cls.__name__}.{name} is missing"
    if list(inspect.signature(method).parameters) != list(parameters):
        return f"{name}{inspect.signature(method)} is not ({', '.join(parameters)})"
    return None


def _check_animate():
    problem = _method_problem(go.FigureWidget, "_perform_batch_animate", "self", "animation_opts")
    if problem:
        return problem
    problem = _method_problem(go.FigureWidget, "_build_update_params_from_batch", "self")
    if problem:
        return problem
    fig = go.Figure()
    if getattr(fig, "_in_batch_mode", None) is not False:
        return "Figure._in_batch_mode is not a bool"
    for name in ("_batch_trace_edits", "_batch_layout_edits"):
        if not isinstance(getattr(fig, name, None), dict):
            return f"Figure.{name} is not a dict"
    return None


def _check_move():
    problem = _method_problem(
        go.FigureWidget,
        "_send_animate_msg",
        "self",
        "styles_data",
        "relayout_data",
        "trace_indexes",
        "animation_opts",
    ) or _method_problem(ipywidgets.Widget, "_should_send_property", "self", "key", "value")
    if problem:
        return problem
    if "_py2js_animate" not in go.FigureWidget.class_traits(sync=True):
        return "FigureWidget has no synced trait _py2js_animate"
    if _PLOTLY_GLOBAL not in _BUNDLE.read_bytes():
        return "widgetbundle.js does not set window.Plotly"
    return None


def _forced_fallbacks():
    """Features ``ADAVIZ_PLOTLY_FALLBACK`` turns off: ``1``/``all``, or names (``state,animate``)."""
    value = os.environ.get("ADAVIZ_PLOTLY_FALLBACK", "").strip().lower()
    if value in ("", "0"):
        return set()
    if value in ("1", "all", "true", "yes"):
        return set(_FEATURES)
    return {name.strip() for name in value.split(",")}


def _check_all():
    forced = _forced_fallbacks()
    result = {}
    for name, check in _FEATURES.items():
        if name in forced:
            result[name] = "ADAVIZ_PLOTLY_FALLBACK is set"
            continue
        needs = [other for other in _NEEDS.get(name, ()) if result[other] is not None]
        if needs:
            result[name] = f"needs the {' and '.join(needs)} feature"
            continue
        try:
            result[name] = check()
        except Exception as exc:  # noqa: BLE001 - any surprise means: do not rely on it
            result[name] = f"{type(exc).__name__}: {exc}"
    return result


_FEATURES = {
    "bundle": _check_bundle,
    "state": _check_state,
    "animate": _check_animate,
    "move": _check_move,
    "direct": lambda: None,  # checked in the browser, move by move (``direct`` in the stub)
}
# a move is an animate handled by the figure's own module (the stub of the bundle feature)
_NEEDS = {"move": ("bundle", "animate"), "direct": ("move",)}
_PLOTLY_GLOBAL = b"window.Plotly="


#: Feature -> None when plotly's internals for it are as expected, else why not (then the
#: feature is plotly's own behaviour). ``bundle``: one plotly.js per page; ``state``: the
#: full state is the current figure; ``animate``: redraw-free moves; ``move``: a move is
#: one message, applied by the figure's module (else plotly's own animate message);
#: ``direct``: the module applies a move without ``Plotly.animate``'s re-derivation of the
#: whole figure, where the browser finds plotly.js's internals as expected.
INTERNALS = _check_all()
DIRECT_MOVES = INTERNALS["direct"] is None
NO_LOADER = os.environ.get("ADAVIZ_NO_LOADER", "") not in ("", "0")

# One key per plotly bundle, so two plotly versions on one page never share a module.
_KEY = json.dumps(
    "__adaviz_plotly_" + hashlib.sha1(_BUNDLE.read_bytes()).hexdigest()[:12]
    if INTERNALS["bundle"] is None
    else "__adaviz_plotly_missing"
)
_REQUEST = "adaviz-plotly-bundle-request"
_REPLY = "adaviz-plotly-bundle"
_MOVE = "adaviz-move"

# The page-wide slot: a promise of plotly's module, and how it got (or gets) there.
_SLOT_JS = """
function slot() {
  const g = globalThis;
  if (!g[KEY]) {
    let resolve, reject;
    const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
    g[KEY] = { promise, resolve, reject, via: null, moves: { direct: 0, animate: 0 } };
  }
  return g[KEY];
}
function evaluate(s, parts, via) {
  s.via = via;
  const url = URL.createObjectURL(new Blob(parts, { type: "text/javascript" }));
  import(url)
    .then((mod) => { URL.revokeObjectURL(url); s.resolve(mod); })
    .catch((err) => { s.via = null; console.error("[adaviz] plotly.js failed to load", err); s.reject(err); });
}
"""

_LOADER_ESM = f"""
const KEY = {_KEY};
{_SLOT_JS}
export default () => ({{
  initialize({{ model }}) {{
    const s = slot();
    if (!s.via) evaluate(s, [model.get("source")], "loader");
  }},
}});
"""

#: plotly.js internals for a redraw-free move of scatter traces' x/y: ``direct(Plotly, el,
#: styles, traces, options, draw)`` (true when it moved them; false when the figure is not as it
#: needs, and the caller redraws with plotly.js's own API) and ``restack(el)``. The figures'
#: module here and the live pages (:mod:`adaviz.web.page`) both use it.
MOVE_JS = """
function restack(el) {
  // plotly.js draws the moved traces of a move on top of the others; put every trace
  // back at its own depth (trace order), as a full redraw draws them
  const index = new Map((el._fullData || []).map((trace, i) => [trace.uid, i]));
  const depth = (group) => {
    for (const name of group.classList) {
      if (name.startsWith("trace") && index.has(name.slice(5))) return index.get(name.slice(5));
    }
    return -1;
  };
  for (const layer of el.querySelectorAll(".scatterlayer")) {
    const groups = [...layer.children];
    const sorted = [...groups].sort((a, b) => depth(a) - depth(b));
    if (sorted.some((group, i) => group !== groups[i])) {
      for (const group of sorted) layer.appendChild(group);
    }
  }
}
const MOVED = ["x", "y", "text", "textposition"];
function direct(Plotly, el, styles, traces, options, draw = true) {
  // Plotly.animate without its first step: it re-derives the whole figure from its input
  // (supplyDefaults, most of its cost) although only x/y (and per-point text) of some
  // scatter traces changed. Here those go into the input and the derived traces directly,
  // then the rest of plotly's own transition runs for the moved traces: each one's calc by
  // its trace module, then each base plot module's plot of them (unless ``draw`` is false:
  // the caller's next call redraws every trace, e.g. a relayout of axis ranges).
  // Anything unexpected: false, and the caller uses plotly.js's own API (Plotly.animate
  // here, Plotly.update in a live page), which re-derives everything from the input.
  const full = el._fullLayout;
  const fullData = el._fullData;
  const calcdata = el.calcdata;
  if (!Array.isArray(fullData) || !Array.isArray(calcdata) || !el.data) return false;
  const modules = full._basePlotModules;
  if (!Array.isArray(modules) || !modules.every((m) => typeof m.plot === "function")) return false;
  if (el._transitioning || (el._promises && el._promises.length)) return false;
  const isArray = (v) => Array.isArray(v) || ArrayBuffer.isView(v);
  const updates = [];
  for (let k = 0; k < traces.length; k++) {
    const t = traces[k];
    const trace = fullData[t];
    const input = el.data[t];
    if (!trace || !input || trace._input !== input || trace.type !== "scatter") return false;
    if (trace.visible !== true || typeof input.mode !== "string" || !calcdata[t]) return false;
    if (!trace._module || typeof trace._module.calc !== "function") return false;
    // per-point values that plotly's hover step would spread over the points
    for (const name of ["hoverinfo", "hovertemplate"]) {
      if (isArray(trace[name])) return false;
    }
    if ((trace.error_x && trace.error_x.visible) || (trace.error_y && trace.error_y.visible)) return false;
    const style = styles[k];
    for (const prop of Object.keys(style)) {
      if (!MOVED.includes(prop) || !Array.isArray(style[prop])) return false;
    }
    const x = style.x || trace.x;
    const y = style.y || trace.y;
    if (!isArray(x) || !isArray(y) || !x.length || x.length !== y.length) return false;
    // per-point text (the trace module's calc spreads it): one value per point after the move
    for (const name of ["hovertext", "text", "textposition"]) {
      const value = name in style ? style[name] : trace[name];
      if (isArray(value) && value.length !== x.length) return false;
    }
    updates.push([t, input, trace, style, x.length]);
  }
  try {
    for (const [t, input, trace, style, length] of updates) {
      for (const prop of Object.keys(style)) {
        input[prop] = style[prop];
        trace[prop] = style[prop];
      }
      trace._length = length;
      const cd = trace._module.calc(el, trace);
      if (!Array.isArray(cd) || !cd[0]) throw new Error("no calcdata");
      if (!cd[0].t) cd[0].t = {};
      cd[0].trace = trace;
      calcdata[t] = cd;
    }
    if (draw) {
      const done = () => () => {};
      for (const m of modules) m.plot(el, traces.slice(), options.transition, done);
      restack(el);
    }
  } catch (err) {
    console.warn("[adaviz] direct move failed, redrawing with plotly.js", err);
    return false;
  }
  if (typeof full._rehover === "function") full._rehover();
  return true;
}
"""

_FIGURE_ESM = f"""
const KEY = {_KEY};
const WAIT_MS = {BUNDLE_WAIT_MS};
const FAST = {json.dumps(DIRECT_MOVES)};
{_SLOT_JS}
function fetchThrough(model, s) {{
  // No loader on this page: ask the kernel for plotly.js through this figure's own model.
  s.via = "figure";
  const onMessage = (msg, buffers) => {{
    if (!msg || msg.type !== "{_REPLY}") return;
    model.off("msg:custom", onMessage);
    evaluate(s, buffers, "figure");
  }};
  model.on("msg:custom", onMessage);
  model.send({{ type: "{_REQUEST}" }});
}}
function bundle(model) {{
  const s = slot();
  if (!s.via && !s.timer) {{
    s.timer = setTimeout(() => {{ if (!s.via) fetchThrough(model, s); }}, WAIT_MS);
  }}
  return s.promise;
}}
const TYPED = {{
  int8: Int8Array, int16: Int16Array, int32: Int32Array, uint8: Uint8Array,
  uint16: Uint16Array, uint32: Uint32Array, float32: Float32Array, float64: Float64Array,
}};
function setPath(obj, path, value) {{
  const parts = path.split(".");
  let node = obj;
  for (const part of parts.slice(0, -1)) {{
    if (node[part] === undefined || node[part] === null) node[part] = {{}};
    node = node[part];
  }}
  node[parts[parts.length - 1]] = value;
}}
function edit(Plotly, el, msg) {{
  const restyle = msg.restyle;
  const layout = Object.assign({{}}, msg.layout || {{}});
  if (!restyle && !msg.layout) return Promise.resolve();
  const namesOnly = restyle && Object.keys(restyle.values).every((prop) => prop === "name");
  const shown = el.layout && el.layout.showlegend;
  if (!restyle || (namesOnly && typeof shown === "boolean" && !("showlegend" in layout))) {{
    if (restyle) {{
      restyle.traces.forEach((t, k) => {{ el.data[t].name = restyle.values.name[k]; }});
      layout.showlegend = shown;
    }}
    return quietly(el, () => Plotly.relayout(el, layout));
  }}
  return quietly(el, () => Plotly.update(el, restyle.values, layout, restyle.traces));
}}
function redrawsData(msg) {{
  // a relayout of axis ranges alone redraws every trace (plotly.js's axis-range path)
  const keys = Object.keys(msg.layout || {{}});
  return !msg.restyle && keys.length > 0 && keys.every((key) => /^[xy]axis[0-9]*[.]range$/.test(key));
}}
function quietly(el, call) {{
  // not reported to the kernel as the user's edit (see the module's docstring)
  if (el.emit !== el.__adavizEmit) {{
    const emit = el.emit;
    el.__adavizQuiet = 0;
    el.__adavizEmit = el.emit = function (name, data) {{
      if (el.__adavizQuiet > 0 && data && typeof data === "object") {{
        if (name === "plotly_relayout") data._doNotReportToPy = true;
        if (name === "plotly_update" && data.data && data.data[0]) data.data[0]._doNotReportToPy = true;
      }}
      return emit.apply(this, arguments);
    }};
  }}
  el.__adavizQuiet += 1;
  return call().finally(() => {{ el.__adavizQuiet -= 1; }});
}}
function move(model, views, msg, buffers) {{
  // The new values go into the model's figure state in plotly's serialized form (a view
  // drawn later starts from it) and to Plotly.animate on each drawn view.
  const data = model.get("_widget_data") || [];
  if (msg.restyle) {{
    msg.restyle.traces.forEach((t, k) => {{
      for (const prop of Object.keys(msg.restyle.values)) {{
        if (data[t]) data[t][prop] = msg.restyle.values[prop][k];
      }}
    }});
  }}
  if (msg.layout) {{
    const layout = model.get("_widget_layout");
    if (layout) for (const key of Object.keys(msg.layout)) setPath(layout, key, msg.layout[key]);
  }}
  const styles = msg.styles.map((style, k) => {{
    const trace = data[msg.traces[k]];
    const values = {{}};
    for (const prop of Object.keys(style)) {{
      let value = style[prop];
      let stored = value;
      if (value && typeof value === "object" && "buffer_index" in value) {{
        const view = buffers[value.buffer_index];
        const bytes = view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength);
        stored = {{ dtype: value.dtype, shape: value.shape, buffer: new DataView(bytes) }};
        // a plain Array: plotly.js walks a typed array's elements as object keys when it
        // merges the frame into the trace (Lib.expandObjectPaths), two regexes each
        value = Array.from(new TYPED[value.dtype](bytes));
      }}
      values[prop] = value;
      if (trace) trace[prop] = stored;
    }}
    return values;
  }});
  const Plotly = globalThis.Plotly;
  if (!Plotly) return;  // nothing drawn yet
  const counts = slot().moves;
  const failed = (err) => console.error("[adaviz] move failed", err);
  for (const el of views) {{
    if (!el._fullLayout) continue;  // not drawn yet: it starts from the state above
    if (!msg.traces.length) {{
      edit(Plotly, el, msg).catch(failed);
      continue;
    }}
    if (FAST && direct(Plotly, el, styles, msg.traces, msg.options, !redrawsData(msg))) {{
      counts.direct += 1;
      edit(Plotly, el, msg).catch(failed);
      continue;
    }}
    counts.animate += 1;
    Plotly.animate(el, {{ data: styles, traces: msg.traces }}, msg.options)
      .then(() => restack(el))
      .catch((err) => {{
        if (err) failed(err);  // (undefined: a newer move came)
      }})
      .then(() => edit(Plotly, el, msg))
      .catch(failed);
  }}
}}
{MOVE_JS}
export default () => {{
  let ready = null;
  let inner = null;
  const views = new Set();  // this model's drawn views (their plotly graph divs)
  const start = (model) => {{
    if (!ready) ready = bundle(model).then((mod) => {{ inner = mod.default(); }});
    return ready;
  }};
  return {{
    initialize(ctx) {{
      ctx.model.on("msg:custom", (msg, buffers) => {{
        if (msg && msg.type === "{_MOVE}") move(ctx.model, views, msg, buffers);
      }});
      start(ctx.model).then(() => inner.initialize && inner.initialize(ctx));
    }},
    async render(ctx) {{
      await start(ctx.model);
      const cleanup = inner.render(ctx);
      views.add(ctx.el);
      return () => {{
        views.delete(ctx.el);
        if (typeof cleanup === "function") cleanup();
      }};
    }},
  }};
}};
"""


def _source():
    return _BUNDLE.read_text(encoding="utf-8")


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


def _send_bundle(widget, content, buffers):
    """Answer a figure's request for plotly.js (its page has no loader)."""
    if isinstance(content, dict) and content.get("type") == _REQUEST:
        widget.send({"type": _REPLY}, buffers=[_BUNDLE.read_bytes()])


class FigureWidget(go.FigureWidget):
    """``go.FigureWidget`` with one shared plotly.js per page and up-to-date full state."""

    if INTERNALS["bundle"] is None:
        _esm = _FIGURE_ESM

    def __init__(self, *args, **kwargs):
        if INTERNALS["bundle"] is None and not NO_LOADER:
            _ensure_loader()
        super().__init__(*args, **kwargs)
        if INTERNALS["bundle"] is None:
            self.on_msg(_send_bundle)

    def get_state(self, key=None, drop_defaults=False):
        state = super().get_state(key=key, drop_defaults=drop_defaults)
        if INTERNALS["state"] is not None:
            return state
        from plotly.serializers import _py_to_js

        current = self.__dict__  # (absent while plotly's constructor opens the comm)
        if "_widget_data" in state and "_data" in current:
            state["_widget_data"] = _py_to_js(current["_data"], None)
        if "_widget_layout" in state and "_layout" in current:
            state["_widget_layout"] = _py_to_js(current["_layout"], None)
        return state

    def _send_animate_msg(self, styles_data, relayout_data, trace_indexes, animation_opts):
        message = None
        if animation_opts is _MOVE_OPTIONS and INTERNALS["move"] is None:
            traces = self._normalize_trace_indexes(trace_indexes)
            message = _move_message(styles_data, traces, relayout_data)
        if message is None:
            super()._send_animate_msg(styles_data, relayout_data, trace_indexes, animation_opts)
            return
        if traces or relayout_data:
            self.send(*message)
        # Python-side observers see the animate message plotly would have sent (its
        # content went with the move); the browser does not get it.
        self._unsynced = "_py2js_animate"
        try:
            self._py2js_animate = {
                "style_data": styles_data,
                "layout_data": relayout_data,
                "style_traces": traces,
                "animation_opts": animation_opts,
                "trace_edit_id": self._last_trace_edit_id,
                "layout_edit_id": self._last_layout_edit_id,
                "source_view_id": None,
            }
            self._py2js_animate = None
        finally:
            self._unsynced = None

    _unsynced = None  # a trait whose changes stay in Python just now

    def _should_send_property(self, key, value):
        if key == self._unsynced:
            return False
        return super()._should_send_property(key, value)


_TYPED = {"int8", "int16", "int32", "uint8", "uint16", "uint32", "float32", "float64"}
#: per-point text properties a move carries with x/y (the JavaScript ``direct`` takes them).
_LABELS = ("text", "textposition")


def _move_message(styles, traces, layout=None):
    """The custom message of a move (content, buffers), or None when it cannot carry it.

    ``x``/``y`` of each trace are the move (a number, a string, a list of them or a 1-D
    numeric array), with per-point ``text``/``textposition`` (lists of strings); other
    top-level trace properties with plain values (a legend name) and ``layout`` edits with
    plain values (axis ranges, shapes) ride along as one ``Plotly.update`` (``restyle``:
    the same properties on every trace that has any).
    """
    buffers = []
    out = []
    moved = []
    extra = {}  # trace index -> {property: value} besides x/y
    for trace, style in zip(traces, styles, strict=True):
        entry = {}
        for prop, value in style.items():
            if not (isinstance(prop, str) and prop.isidentifier()):
                return None
            if prop in _LABELS:
                if not (
                    isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)
                ):
                    return None
                entry[prop] = list(value)
            elif prop not in ("x", "y"):
                if not _plain(value):
                    return None
                extra.setdefault(trace, {})[prop] = value
            elif isinstance(value, np.ndarray):
                if value.ndim != 1 or value.dtype.name not in _TYPED or not value.dtype.isnative:
                    return None
                entry[prop] = {
                    "dtype": value.dtype.name,
                    "shape": [len(value)],
                    "buffer_index": len(buffers),
                }
                buffers.append(memoryview(np.ascontiguousarray(value)))
            elif _plain(value):
                entry[prop] = value
            else:
                return None
        if entry:
            moved.append(trace)
            out.append(entry)
    content = {"type": _MOVE, "traces": moved, "styles": out, "options": _MOVE_OPTIONS}
    if extra:
        props = set(next(iter(extra.values())))
        if any(set(values) != props for values in extra.values()):
            return None
        content["restyle"] = {
            "traces": list(extra),
            "values": {prop: [values[prop] for values in extra.values()] for prop in props},
        }
    if layout:
        if not all(isinstance(key, str) and _plain(value) for key, value in layout.items()):
            return None
        content["layout"] = dict(layout)
    return content, buffers


def _plain(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    return False


#: ``Plotly.animate`` options that move traces without redrawing the figure: no transition,
#: no full redraw afterwards, and a newer move interrupts an older one.
_MOVE_OPTIONS = {
    "mode": "immediate",
    "transition": {"duration": 0, "easing": "linear"},
    "frame": {"duration": 0, "redraw": False},
}


def _carried(fig):
    """Whether the changes batched in ``fig`` can go as a move.

    Besides x/y, a move carries layout edits and top-level trace properties (a legend
    name) in the figure's own message only; plotly's animate message would leave them
    undrawn, so then the batch goes as ``batch_update``. Other changes (nested trace
    properties) go in plotly's animate message, as plotly's ``batch_animate`` sends them.
    """
    rides = bool(fig._batch_layout_edits) or any(
        prop not in ("x", "y", *_LABELS) and prop.isidentifier()
        for style in fig._batch_trace_edits.values()
        for prop in style
    )
    if not rides:
        return True
    if INTERNALS["move"] is not None:
        return False
    traces = list(fig._batch_trace_edits)
    styles = list(fig._batch_trace_edits.values())
    return _move_message(styles, traces, fig._batch_layout_edits) is not None


@contextlib.contextmanager
def moving(fig):
    """Like ``fig.batch_update()``, for changes to traces' ``x``/``y`` only, which the
    browser then applies without redrawing the rest of the figure.

    ``batch_update`` becomes one ``Plotly.update``: plotly.js recomputes and redraws every
    trace, the axes and the legend (for the contour view with its 120x120 contour that is
    ~100 ms in the browser). Here the batch becomes one ``Plotly.animate`` with a zero
    duration and ``redraw: false`` (plotly's ``batch_animate`` cannot ask for that):
    plotly.js recomputes and redraws only the traces named in it (~10 ms). It leaves as
    one custom message that the figure's module applies (``move`` in :data:`INTERNALS`;
    else plotly's own animate message). Other changes with plain values (a trace's legend
    name, axis ranges, a shape's position) ride along in the same message, applied after
    the move as one ``Plotly.update`` (when the figure's module cannot take them, the
    whole batch goes as ``batch_update``). Do not use it for changes of which traces have
    points (plotly.js hides a trace without points, and the move would not redraw the
    legend). Python's copy of the figure is updated exactly as by ``batch_update`` (which
    it is, when plotly's internals are not as expected), and Python-side observers of
    ``_py2js_animate`` see plotly's animate message either way.
    """
    if INTERNALS["animate"] is not None or not isinstance(fig, go.FigureWidget):
        with fig.batch_update():
            yield
        return
    if fig._in_batch_mode:
        yield
        return
    fig._in_batch_mode = True
    try:
        yield
    finally:
        fig._in_batch_mode = False
        if _carried(fig):
            fig._perform_batch_animate(_MOVE_OPTIONS)
        else:  # what batch_update does when its block ends
            restyle, relayout, traces = fig._build_update_params_from_batch()
            fig.plotly_update(restyle_data=restyle, relayout_data=relayout, trace_indexes=traces)
            fig._batch_layout_edits.clear()
            fig._batch_trace_edits.clear()


#: Whether a move can carry legend names, axis ranges and shapes (else those changes make
#: :func:`moving` a ``batch_update``).
MOVES_CARRY_EDITS = INTERNALS["move"] is None


def sync_initial_state(fig):
    """Make the state a new front-end view receives the figure as it is now.

    plotly's own front end replays updates sent before its first view existed wrongly;
    setting the construction-time state to the current figure avoids that replay. Without
    the expected internals, or for a figure that is not a widget, this does nothing.
    """
    if INTERNALS["state"] is not None or not isinstance(fig, go.FigureWidget):
        return
    fig._widget_layout = copy.deepcopy(fig._layout_obj._props)
    fig._widget_data = copy.deepcopy(fig._data)
