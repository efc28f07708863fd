"""Static export of a panel: ``to_html``, ``snapshot`` and the display's HTML fallback.

Every panel is a widget box holding plotly figures. Mix :class:`StaticExport` in front of
the widget class and say what the static page shows::

    class MyPanel(StaticExport, widgets.VBox):
        _export_title = "adaviz MyPanel"

        def _export_columns(self):      # columns of plotly figures (FigureWidgets work)
            return [[self._figs["a"]], [self._figs["b"], self._figs["c"]]]

        def _export_header(self):       # HTML above the figures (already escaped)
            return f"<p>{self._readouts.value}</p>"

        def _export_prepare(self):      # optional: e.g. draw pending changes first
            self.flush()

The mixin then provides:

* ``panel.to_html(path, live=None, include_plotlyjs=True)``: a standalone HTML page
  (plotly.js embedded by default, ``"cdn"`` links it); returns the ``pathlib.Path`` written.
  A panel with a ``_live_page(plotly, **options)`` method (a page whose controls run in the
  browser, :mod:`adaviz.web`) writes that by default; ``live=False`` writes the picture.
* ``panel.page()``: the live page as a notebook output (an iframe; plotly.js from the CDN
  by default), live with no kernel wherever the output's scripts run.
* ``panel.snapshot()``: an ``IPython.display.HTML`` fragment of the current views
  (plotly.js from the CDN), saved with the notebook and shown without a kernel.
* ``_repr_mimebundle_``: the live widget, plus (when ``self._static_fallback`` is true,
  the default) a ``text/html`` snapshot that frontends without widgets (nbviewer,
  ``nbconvert`` without widget state) show instead. Displaying also makes each figure's
  initial widget state the figure as it is now (see :func:`adaviz.panels.kit.widget.sync_initial_state`),
  and calls ``self._on_display()`` if the panel defines it.
* ``panel.close()``: closes the panel and every widget it owns, after the panel's
  ``_on_close()`` (if defined) has stopped its own activity; and a panel made by a re-run
  of a notebook cell closes the panels the cell's earlier run made
  (:mod:`adaviz.panels.kit.lifecycle`).

:func:`figures_html` is the page builder underneath, usable on its own.
"""

from __future__ import annotations

import html
from pathlib import Path

__all__ = ["StaticExport", "figures_html"]


def figures_html(columns, *, title="", header_html="", include_plotlyjs=True, full=True):
    """HTML with plotly figures laid out in columns: a standalone page or a fragment.

    Args:
        columns: list of columns, each a list of plotly figures (``FigureWidget`` works).
        title: page title.
        header_html: HTML shown above the figures (already escaped where needed).
        include_plotlyjs: as in :func:`plotly.io.to_html`; ``True`` embeds plotly.js
            (works offline), ``"cdn"`` links to it (smaller file).
        full: a whole ``<html>`` page (True) or a ``<div>`` fragment for a notebook output.
    """
    import plotly.io as pio

    first = True
    cols = []
    for column in columns:
        parts = []
        for fig in column:
            parts.append(
                pio.to_html(
                    fig,
                    full_html=False,
                    include_plotlyjs=include_plotlyjs if first else False,
                    config={"displaylogo": False, "responsive": False},
                )
            )
            first = False
        cols.append(
            '<div style="display:flex;flex-direction:column;gap:4px">' + "\n".join(parts) + "</div>"
        )
    body = (
        '<div class="adaviz-static" style="font-family:Arial,Helvetica,sans-serif">'
        f"{header_html}"
        '<div style="display:flex;flex-wrap:wrap;gap:4px;align-items:flex-start">'
        + "\n".join(cols)
        + "</div></div>"
    )
    if not full:
        return body
    return (
        '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n"
        "<style>body{margin:16px;} code{background:#f4f4f4;padding:2px 4px;}</style>\n"
        f"</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


class StaticExport:
    """Mixin giving a widget panel ``to_html``, ``snapshot`` and an HTML display fallback.

    The panel defines ``_export_columns()`` and may define ``_export_header()``,
    ``_export_title``, ``_export_prepare()`` and ``_on_display()`` (see the module doc).
    """

    _export_title = "adaviz"
    _static_fallback = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from adaviz.panels.kit.lifecycle import adopt

        adopt(self)  # replaces the panels an earlier run of this notebook cell made

    def close(self):
        """Close the panel: stop its redraws (and training), close every widget it owns
        and the panel itself; the front end removes its views. A no-op when closed."""
        try:
            from adaviz.panels.kit.lifecycle import close_panel
        except ImportError:  # pragma: no cover - interpreter shutdown
            super().close()
            return
        close_panel(self, super().close)

    def _export_columns(self):  # pragma: no cover - every panel defines it
        raise NotImplementedError

    def _export_header(self):
        return ""

    def _export_prepare(self):
        pass

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
            path: file to write.
            live: a live page, whose controls run the optimizer in the browser with no
                kernel, starting from the panel's current settings (the default for panels
                that have one: SurfacePanel); ``False`` writes a picture of the current views.
            include_plotlyjs: ``True`` embeds plotly.js (works offline, ~4.6 MB);
                ``"cdn"`` links to it.
            **page_options: options of the panel's live page (SurfacePanel: ``javascript``,
                a custom surface's expressions, see :func:`adaviz.web.page.surface_state`).

        Returns:
            The path written, as a ``pathlib.Path``.

        Raises:
            ValueError: ``live=True`` on a panel without a live page; page options with
                ``live=False``; a live page the panel's settings cannot make (a custom
                surface without its JavaScript expressions).
            OSError: ``path`` cannot be written (the message names the path and what to do).
        """
        has_live = callable(getattr(self, "_live_page", None))
        if live is None:
            live = has_live
        if live and not has_live:
            raise ValueError(
                f"{type(self).__name__} has no live page yet; use to_html(path, live=False) for "
                "a picture of its current views"
            )
        if page_options and not live:
            raise ValueError(
                f"{', '.join(sorted(page_options))} only apply to a live page (live=True)"
            )
        if live:
            if include_plotlyjs not in (True, "cdn"):
                raise ValueError(
                    f"include_plotlyjs must be True or 'cdn' for a live page, got {include_plotlyjs!r}"
                )
            text = self._live_page("inline" if include_plotlyjs is True else "cdn", **page_options)
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
        """The panel's live page as a notebook output: an ``IPython.display.HTML`` iframe whose
        controls run the optimizer in the browser, saved with the notebook and live in any
        front end that runs a page's scripts (``jupyter nbconvert --to html``, nbviewer,
        Jupyter Book), with no kernel.

        Args:
            include_plotlyjs: ``"cdn"`` (default, about 70 KB per panel; the reader needs the
                network) or ``True`` (plotly.js embedded in each panel's page, ~4.6 MB,
                offline).
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
        if include_plotlyjs not in (True, "cdn"):
            raise ValueError(
                f"include_plotlyjs must be True or 'cdn' for a live page, got {include_plotlyjs!r}"
            )
        text = self._live_page("inline" if include_plotlyjs is True else "cdn", **page_options)
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
        # Like plotly's own FigureWidget display: the browser model gets the figures as
        # they are now (plotly's front end replays updates sent before its first view
        # wrongly).
        for column in self._export_columns():
            for fig in column:
                if hasattr(fig, "_widget_data"):
                    sync_initial_state(fig)
        data = super()._repr_mimebundle_(**kwargs)
        if self._static_fallback and isinstance(data, dict):
            try:
                data = dict(data)
                data["text/html"] = self._export_html("cdn", full=False)
            except Exception:  # noqa: BLE001 - the live widget matters more than the fallback
                pass
        on_display = getattr(self, "_on_display", None)
        if on_display is not None:
            on_display()
        return data
