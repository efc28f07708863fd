"""The live pages: adaviz's engine and panels in JavaScript, for pages that run without Python.

``engine.js`` mirrors :mod:`adaviz._math`'s rules and :mod:`adaviz.surfaces`' built-in
surfaces in float64 and defines ``window.adaviz`` (``adaviz.simulate(...)``,
``adaviz.sweep(...)``); it is package data, read with :func:`engine_js`.
"""

from __future__ import annotations

from importlib import resources

__all__ = ["engine_js"]


def _read(name):
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")


def engine_js():
    """The text of ``engine.js``, the page's engine (a classic script defining ``adaviz``)."""
    return _read("engine.js")
