"""The static page of a panel: plotly figures laid out in columns, as a whole HTML page or a
fragment. :class:`adaviz.panels.kit.base.Panel` builds ``to_html``, ``snapshot`` and the
display's HTML fallback on :func:`figures_html`."""

from __future__ import annotations

import html

__all__ = ["figures_html"]


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
