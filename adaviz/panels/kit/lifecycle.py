"""A panel's life in a notebook: ``close()`` releases it; re-running its cell replaces it.

A panel is a tree of widgets (boxes, sliders, plotly ``FigureWidget``s holding copies of
their data) plus the Python state behind them. Two things in a kernel keep all of that
alive after the panel has left the screen:

* ipywidgets keeps every widget in its registry until the widget is closed
  (``Widget.close()`` closes that one widget, not its children);
* IPython keeps every displayed value in its output cache (``Out[n]``, ``_n``, ``_``,
  ``__``, ``___``) and the display data of every output in its history.

So re-running the cell ``adaviz.SurfacePanel()`` twenty times kept twenty panels. The kit
therefore gives every panel (through :class:`adaviz.panels.kit.export.StaticExport`):

* ``panel.close()``: stops the panel's own activity (pending redraws, a panel's
  ``_on_close()`` hook, e.g. ModelPanel's training), then closes every widget the panel
  owns (found by :func:`owned_widgets`) and the panel itself; the browser removes its
  views. A closed panel draws nothing more.
* replacement by cell: a panel records the notebook cell that created it (the ``cellId``
  JupyterLab and Notebook 7 put in an execution request's metadata). When a later run of
  the same cell creates a panel, the panels of the earlier run are closed and dropped from
  IPython's output cache, so they can be garbage-collected. Panels created by one run
  (several in one cell) live together; panels of other cells are untouched. Without a
  cell id (a script, pytest, a front end that sends none) nothing is replaced.
"""

from __future__ import annotations

import contextlib
import weakref

__all__ = ["adopt", "close_panel", "current_cell", "forget_outputs", "owned_widgets"]

#: cell id -> (id of the execution request that made them, [weakref to panel, ...])
_BY_CELL: dict[str, tuple[str, list]] = {}

_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def current_cell():
    """``(cell id, execution request id)`` of the notebook cell running now, or None.

    The cell id is the ``cellId`` of the request's metadata (JupyterLab, Notebook 7);
    None outside a kernel or when the front end sends none.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return None
    shell = get_ipython()
    kernel = getattr(shell, "kernel", None)
    if kernel is None:
        return None
    try:
        if hasattr(kernel, "get_parent"):
            parent = kernel.get_parent("shell")
        else:  # pragma: no cover - ipykernel < 6
            parent = getattr(kernel, "_parent_header", None)
    except Exception:  # noqa: BLE001 - no parent message: not a cell
        return None
    if not isinstance(parent, dict):
        return None
    cell = (parent.get("metadata") or {}).get("cellId")
    request = (parent.get("header") or {}).get("msg_id")
    if not cell or not request:
        return None
    return str(cell), str(request)


def adopt(panel, cell=None):
    """Record that ``panel`` was made by ``cell`` (default: :func:`current_cell`) and
    close the panels an earlier run of that cell made.

    Args:
        panel: the new panel (anything with ``close()``).
        cell: ``(cell id, execution request id)``; None looks it up (nothing happens
            outside a notebook cell).

    Returns:
        The panels closed (possibly empty).
    """
    if cell is None:
        cell = current_cell()
    if cell is None:
        return []
    cell_id, request = cell
    entry = _BY_CELL.get(cell_id)
    closed = []
    if entry is not None and entry[0] != request:
        for ref in entry[1]:
            old = ref()
            if old is None or old is panel:
                continue
            forget_outputs(old)
            with contextlib.suppress(Exception):  # a broken old panel must not stop the new one
                old.close()
            closed.append(old)
        entry = None
    if entry is None:
        entry = _BY_CELL[cell_id] = (request, [])
    entry[1].append(weakref.ref(panel))
    return closed


def _ours(obj):
    return type(obj).__module__.startswith("adaviz.")


def owned_widgets(root):
    """Every widget reachable from ``root`` through its widget traits (children, layout,
    style, links) and the attributes of adaviz objects (views, control hubs), except
    ``root`` itself; plus the coalescers found on the way. Returns ``(widgets, coalescers)``.

    The walk does not enter objects of other libraries other than widgets' traits, so
    process-wide state (surfaces' compiled graphs, caches) is never reached through them.
    """
    from ipywidgets import Widget

    from adaviz.panels.kit.schedule import Coalescer

    found, coalescers, seen, stack = [], [], set(), [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, Widget):
            if obj is not root:
                found.append(obj)
            stack.extend(obj._trait_values.values())
            if not _ours(obj):
                continue
        if isinstance(obj, Coalescer):
            coalescers.append(obj)
        elif isinstance(obj, (list, tuple, set, frozenset)):
            stack.extend(obj)
            continue
        elif isinstance(obj, dict):
            stack.extend(obj.values())
            continue
        if _ours(obj) and hasattr(obj, "__dict__"):
            stack.extend(v for k, v in vars(obj).items() if k != "_trait_values")
    return found, coalescers


def close_panel(panel, close_self):
    """Stop ``panel``'s activity and close the widgets it owns, then ``close_self()``
    (the widget class's own ``close``). Safe to call twice, and from ``__del__``."""
    if getattr(panel, "_adaviz_closed", False):
        return
    panel._adaviz_closed = True
    hook = getattr(panel, "_on_close", None)
    try:
        if hook is not None:
            hook()
    finally:  # (the widgets are closed even when the hook fails)
        found, coalescers = owned_widgets(panel)
        for coalescer in coalescers:
            coalescer.cancel()
        for widget in found:
            widget.close()
        close_self()


def forget_outputs(panel):
    """Drop ``panel`` from IPython's output cache (``Out``, ``_n``, ``_``/``__``/``___``)
    and its display data from the output history, where a re-run cell's old panel would
    otherwise stay. Other values and the user's own variables are left alone."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return
    shell = get_ipython()
    if shell is None:
        return
    history = getattr(shell, "history_manager", None)
    cache = getattr(history, "output_hist", None)
    # (the displayhook writes _n, _, __, ___ into both namespaces)
    namespaces = [ns for ns in (shell.user_ns, getattr(shell, "user_ns_hidden", None)) if ns]
    names = ["_", "__", "___"]
    if isinstance(cache, dict):
        for count in [n for n, value in cache.items() if value is panel]:
            del cache[count]
            names.append(f"_{count}")
    hook = getattr(shell, "displayhook", None)
    for name in ("_", "__", "___"):
        if getattr(hook, name, None) is panel:
            setattr(hook, name, None)
    for ns in namespaces:
        for name in names:
            if ns.get(name) is panel:
                if name.lstrip("_"):
                    del ns[name]
                else:
                    ns[name] = None
    last = getattr(shell, "last_execution_result", None)
    if getattr(last, "result", None) is panel:
        last.result = None
    # the display data IPython keeps for every output (its static HTML is large)
    comm = getattr(panel, "comm", None)
    model_id = getattr(comm, "comm_id", None)
    outputs = getattr(history, "outputs", None)
    if model_id is None or not isinstance(outputs, dict):
        return
    for records in outputs.values():
        for record in records:
            bundle = getattr(record, "bundle", None)
            view = bundle.get(_WIDGET_VIEW) if isinstance(bundle, dict) else None
            if isinstance(view, dict) and view.get("model_id") == model_id:
                bundle.pop("text/html", None)
