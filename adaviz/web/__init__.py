"""The live pages: adaviz's engine and panels in JavaScript, for pages that run without Python.

* ``engine.js`` mirrors :mod:`adaviz._math`'s rules and :mod:`adaviz.surfaces`' built-in
  surfaces in float64 and defines ``window.adaviz`` (``adaviz.simulate(...)``,
  ``adaviz.sweep(...)``); read it with :func:`engine_js`.
* ``page.js`` builds the live SurfacePanel, ComparePanel and SweepPanel in a page
  (``adaviz.surfacePanel(root, state)``, ...); :mod:`adaviz.web.page` writes the standalone
  pages (``panel.to_html(path)`` and ``panel.page()`` call it) and a panel's notebook output
  (its display's ``text/html``, :mod:`adaviz.panels.kit.embed`).
* ``replay.js`` replays a ModelPanel's recorded run (``adaviz.modelReplay(root, state)``);
  :mod:`adaviz.web.replay` writes its page.

All are package data: classic scripts (they work from a ``file://`` page), no build step,
no dependency but plotly.js.
"""

from __future__ import annotations

from importlib import resources

__all__ = ["engine_js"]


def _read(name):
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")


def engine_js():
    """The text of ``engine.js``, the page's engine (a classic script defining ``adaviz``)."""
    return _read("engine.js")
