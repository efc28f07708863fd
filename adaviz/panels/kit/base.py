"""The shell every panel shares: :class:`Panel`.

A panel is a controller: controls -> engine (or trainer) -> views. Everything around that
is the same in every panel and lives here once:

* redraws: ``panel.flush()`` draws a pending change now; a change requests a redraw that
  :class:`~adaviz.panels.kit.schedule.Coalescer` coalesces (``throttle`` seconds apart
  while an event loop runs, at once without one);
* argument checks every panel makes (``throttle``, the start, ``lr``/``learning_rate``);
* errors: a redraw that fails shows its error in the panel's message widget, in red;
* display: the live widget plus an HTML fallback for front ends without widgets (the live
  page, or a picture: :mod:`adaviz.panels.kit.embed`), and background compiles once
  displayed (``precompile``);
* ``to_html`` (a live page, :mod:`adaviz.web`, for panels with a ``_live_page`` method;
  else a picture), ``page()`` (the live page as a notebook output), ``snapshot``,
  ``close()`` and the replacement of the panels an earlier run of the same notebook cell
  made (:mod:`adaviz.panels.kit.lifecycle`).

A panel subclasses :class:`Panel`, calls :meth:`Panel._shell` before it builds widgets and
:meth:`Panel._build` with its children last, and defines what its static page shows::

    class MyPanel(Panel):
        _export_title = "adaviz MyPanel"

        def __init__(self, *, throttle=THROTTLE):
            self._shell(draw=self._draw, throttle=throttle)
            self._views = {"a": SomeView()}
            self._message = widgets.HTML()          # where errors are shown
            ...
            self._build([controls, views, self._message], css_class="adaviz-my-panel")

        def _export_columns(self):                   # columns of figures for the page
            return [[self._views["a"].figure]]
"""

from __future__ import annotations

import html
import numbers
from pathlib import Path

import ipywidgets as widgets

from adaviz._validate import check_start
from adaviz.panels.kit import embed, lifecycle
from adaviz.panels.kit.export import figures_html
from adaviz.panels.kit.schedule import Coalescer
from adaviz.panels.kit.warmup import in_kernel

__all__ = ["Panel", "OnSurface", "THROTTLE", "check_throttle", "start_on", "text_line"]

#: default minimum time between two redraws when an event loop is running, in seconds.
THROTTLE = 0.04


def check_throttle(throttle):
    """Validate ``throttle``: a number of seconds >= 0; return it as a float."""
    if (
        isinstance(throttle, bool)
        or not isinstance(throttle, numbers.Real)
        or not throttle >= 0
        or throttle == float("inf")
    ):
        raise ValueError(f"throttle must be a number of seconds >= 0, got {throttle!r}")
    return float(throttle)


def start_on(surface, start=None):
    """The start of a run on ``surface``: ``start`` checked against its domain, or the
    surface's own start; a float64 ``(2,)`` array."""
    return check_start(
        surface.start if start is None else start, surface.domain, surface_name=surface.name
    )


def _plotly_mode(include_plotlyjs):
    """How a live page carries plotly.js: ``"inline"`` (``True``) or ``"cdn"``."""
    if include_plotlyjs not in (True, "cdn"):
        raise ValueError(
            f"include_plotlyjs must be True or 'cdn' for a live page, got {include_plotlyjs!r}"
        )
    return "inline" if include_plotlyjs is True else "cdn"


def text_line(css_class=None, width="930px"):
    """An HTML widget for a line of text across the panel (a title, readouts, code);
    ``width`` None lets it take the width of its text."""
    line = widgets.HTML(**({} if width is None else {"layout": widgets.Layout(width=width)}))
    if css_class:
        line.add_class(css_class)
    return line


class Panel(widgets.VBox):
    """The widget box every panel is, with the shell it shares (see the module doc)."""

    _export_title = "adaviz"
    _static_fallback = True
    _precompile_on_display = False
    _redraw = None
    #: while > 0, a change requests no redraw (the panel draws once when it is done)
    _quiet = 0
    #: the HTML widget that shows an error (set by the panel)
    _message = None

    # -- set-up --------------------------------------------------------------------------
    def _shell(self, draw=None, throttle=THROTTLE, static_fallback=True, precompile=False):
        """Check and keep the shell's arguments before any widget is built.

        Args:
            draw: the panel's redraw (run by :meth:`flush` and by coalesced requests).
            throttle: minimum seconds between two redraws when an event loop runs.
            static_fallback: add the HTML a front end without widgets shows to the display
                data (the live page, else a picture; :mod:`adaviz.panels.kit.embed`).
            precompile: run :meth:`precompile` once displayed; ``None``: when in a kernel.
        """
        interval = check_throttle(throttle)
        self._static_fallback = bool(static_fallback)
        self._precompile_on_display = in_kernel() if precompile is None else bool(precompile)
        if draw is not None:
            self._redraw = Coalescer(draw, interval=interval, on_error=self._show_error)

    def _build(self, children, *, css_class, width="940px"):
        """Become the widget box of ``children`` (the panel's last step); ``width`` None
        lets the box take the width of its children."""
        super().__init__(
            children, **({} if width is None else {"layout": widgets.Layout(width=width)})
        )
        self.add_class(css_class)
        lifecycle.adopt(self)  # replaces the panels an earlier run of this cell made

    def _attach_views(self):
        """Turn each view of ``self._views`` into its widget, with its CSS class
        ``adaviz-figure-<name>``."""
        for name, view in self._views.items():
            view.attach(f"adaviz-figure-{name.replace('_', '-')}")

    def _figure_widgets(self):
        return {name: view.figure for name, view in self._views.items()}

    @property
    def figures(self):
        """The panel's ``FigureWidget``s by name (pending changes drawn first)."""
        self.flush()
        return self._figure_widgets()

    # -- redraws and errors --------------------------------------------------------------
    def flush(self):
        """Draw any pending change now (a no-op when nothing is pending)."""
        if self._redraw is not None:
            self._redraw.flush()

    def _request(self):
        if not self._quiet:
            self._redraw.request()

    def _show_error(self, exc):
        """Show a failed redraw's error in the panel (in red)."""
        self._show_problem(f"could not update: {type(exc).__name__}: {exc}")

    def _show_problem(self, text):
        """Show ``text`` (plain text) in red in the panel's message widget."""
        if self._message is not None:
            self._message.value = f"<span style='color:#b00'>{html.escape(text)}</span>"

    # -- what a panel may define ---------------------------------------------------------
    def precompile(self, wait=False, timeout=None):
        """Compile what the panel will need in the background (nothing for this panel).

        Returns:
            True when everything is ready.
        """
        return True

    def _export_columns(self):  # pragma: no cover - every panel defines it
        raise NotImplementedError

    def _export_header(self):
        return ""

    def _export_prepare(self):
        self.flush()

    def _on_display(self):
        if self._precompile_on_display:
            self.precompile()

    def _on_close(self):
        """Stop the panel's own activity before its widgets close (e.g. training)."""

    # -- life and export -----------------------------------------------------------------
    def close(self):
        """Close the panel: stop its redraws (and training), close every widget it owns
        and the panel itself; the front end removes its views. A no-op when closed."""
        try:
            lifecycle.close_panel(self, super().close)
        except ImportError:  # pragma: no cover - interpreter shutdown
            super().close()

    def _export_html(self, include_plotlyjs, full=True):
        """The panel's static page (``full``) or fragment, as a string."""
        self._export_prepare()
        return figures_html(
            self._export_columns(),
            title=self._export_title,
            header_html=self._export_header(),
            include_plotlyjs=include_plotlyjs,
            full=full,
        )

    def to_html(self, path, *, live=None, include_plotlyjs=True, **page_options):
        """Write a standalone HTML page of the panel to ``path``.

        Args:
            path: the file to write (a ``str`` or ``os.PathLike``).
            live: a live page, whose controls run the optimizer in the browser with no
                kernel, starting from the panel's current settings (the default for panels
                that have one, :mod:`adaviz.web`; ModelPanel's replays the run recorded so
                far); ``False`` writes a picture of the current views.
            include_plotlyjs: ``True`` embeds plotly.js (works offline); ``"cdn"`` links to it.
            **page_options: options of the panel's live page (SurfacePanel: ``javascript``,
                a custom surface's expressions, see :func:`adaviz.web.page.surface_state`).

        Returns:
            The path written, as a ``pathlib.Path``.

        Raises:
            TypeError: ``path`` is not a str or path.
            ValueError: ``live=True`` on a panel without a live page; page options with
                ``live=False``; a live page the panel's settings cannot make (a custom
                surface without its JavaScript expressions).
            OSError: ``path`` cannot be written (the message names the path and what to do).
        """
        if not isinstance(path, (str, Path)) and not hasattr(path, "__fspath__"):
            raise TypeError(
                f"path must be a file path (str or os.PathLike), got {type(path).__name__}: "
                f"{path!r}"
            )
        has_live = callable(getattr(self, "_live_page", None))
        live = has_live if live is None else live
        if live and not has_live:
            raise ValueError(
                f"{type(self).__name__} has no live page yet; use to_html(path, live=False) for "
                "a picture of its current views"
            )
        if page_options and not live:
            raise ValueError(f"{', '.join(sorted(page_options))} only apply to a live page")
        if live:
            text = self._live_page(_plotly_mode(include_plotlyjs), **page_options)
        else:
            text = self._export_html(include_plotlyjs, full=True)
        path = Path(path)
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise type(exc)(
                f"cannot write the page to {str(path)!r} ({exc.strerror or exc}); give a path "
                "in a folder that exists and that you can write to"
            ) from exc
        return path

    def page(self, *, include_plotlyjs="cdn", height=None, **page_options):
        """The panel's live page as a notebook output of its own: an ``IPython.display.HTML``
        iframe whose controls run the optimizer in the browser with no kernel, live in any
        front end that runs an output's scripts, including those that give each output its
        own frame. Displaying the panel is enough for an export (its display data carries
        the live page, :mod:`adaviz.panels.kit.embed`); ``page()`` also shows the live page
        where the widget is shown instead (JupyterLab), and needs no other output.

        Args:
            include_plotlyjs: ``"cdn"`` (default, small; the reader needs the network) or
                ``True`` (plotly.js embedded in each panel's page, offline).
            height: the iframe's height in pixels (default: the panel's page height).
            **page_options: as :meth:`to_html`.

        Raises:
            ValueError: the panel has no live page, or its settings cannot make one.
        """
        from IPython.display import HTML

        if not callable(getattr(self, "_live_page", None)):
            raise ValueError(
                f"{type(self).__name__} has no live page yet; use snapshot() for a picture"
            )
        text = self._live_page(_plotly_mode(include_plotlyjs), **page_options)
        height = int(height or getattr(self, "_live_page_height", 1000))
        return HTML(
            '<div class="adaviz-live-output">'
            f'<iframe class="adaviz-live-page" title="{html.escape(self._export_title)}" '
            f'srcdoc="{html.escape(text, quote=True)}" sandbox="allow-scripts" '
            f'style="width: 100%; max-width: 1000px; height: {height}px; border: 0"></iframe>'
            "</div>"
        )

    def snapshot(self):
        """A static ``IPython.display.HTML`` picture of the current views (plotly.js from
        the CDN), saved with the notebook and shown without a kernel."""
        from IPython.display import HTML

        return HTML(self._export_html("cdn", full=False))

    def _repr_mimebundle_(self, **kwargs):
        from adaviz.panels.kit.widget import sync_initial_state

        self._export_prepare()
        # the browser's model gets the figures as they are now (plotly's front end replays
        # updates sent before its first view wrongly)
        for column in self._export_columns():
            for fig in column:
                sync_initial_state(fig)
        data = super()._repr_mimebundle_(**kwargs)
        if self._static_fallback and isinstance(data, dict):
            try:
                data = dict(data)
                data["text/html"] = embed.fallback_html(self)
            except Exception:  # noqa: BLE001 - the live widget matters more than the fallback
                pass
        self._on_display()
        return data


class OnSurface(Panel):
    """A panel whose runs share one surface, chosen in a
    :class:`~adaviz.panels.kit.surface_menu.SurfaceMenu` (``self._menu``), and one start
    (``self._start``), set by a click on the contour view or :meth:`set_start`."""

    def set_start(self, x, y):
        """Start the runs at ``(x, y)`` (inside the surface's domain).

        Raises:
            ValueError: ``(x, y)`` is not a point of the surface's domain.
        """
        self._start = start_on(self._surface, (x, y))
        self._request()

    def _set_start_from_click(self, x, y):
        try:
            self.set_start(x, y)
        except ValueError as exc:  # a click outside the domain (e.g. on a zoomed-out edge)
            self._show_problem(str(exc))

    def _surface_chosen(self, change):
        surf = self._menu.get(change["new"])
        self._surface = surf
        self._start = start_on(surf)
        self._surface_dirty = True
        self._request()
