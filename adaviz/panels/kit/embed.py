"""A panel's display without widgets: the ``text/html`` a front end shows when it cannot show
the widget (a notebook exported with ``jupyter nbconvert --to html`` from a run that saved
no widget state, nbviewer, a course site built with ``python -m adaviz.site``).

A panel with a live page (a ``_live_page`` method) shows that page, whose controls run the
optimizer in the browser with no kernel; another panel, or settings the page cannot run
(a custom surface without its JavaScript), shows a picture of the current views.

All the panels of a page share plotly.js and the live pages' code
(:func:`adaviz.web.page.libraries_html`, about 5 MB), so one output carries them: the first
panel output of the kernel session. Later outputs carry their own state only and start
when the shared code has run, wherever it is on the page. A cell run again whose earlier
run carried the libraries carries them again (by the cell id JupyterLab and Notebook 7
send), so re-running it keeps them in the notebook; each script runs once per page.
"""

from __future__ import annotations

from adaviz.panels.kit import lifecycle

__all__ = ["Libraries", "LIBRARIES", "fallback_html"]


class Libraries:
    """Which outputs of a kernel session carry the shared libraries."""

    def __init__(self):
        #: (cell id, execution request id) of the output that carried them last
        self._carrier = None

    def carry(self, cell=None):
        """Whether the output made now carries the libraries: the session's first, or the
        first output of a later run of the cell that carried them.

        Args:
            cell: ``(cell id, execution request id)`` of the cell running now
                (:func:`adaviz.panels.kit.lifecycle.current_cell`), or None when unknown.
        """
        if self._carrier is None:
            self._carrier = cell or (None, None)
            return True
        if cell is not None and cell[0] == self._carrier[0] and cell[1] != self._carrier[1]:
            self._carrier = cell
            return True
        return False


#: the kernel session's record
LIBRARIES = Libraries()


def fallback_html(panel, libraries=None):
    """The ``text/html`` of ``panel``'s display: its live page as a notebook output (else a
    picture of its views), after the shared libraries when this output carries them
    (``libraries``: the record to consult, default the session's :data:`LIBRARIES`)."""
    from adaviz.web import page

    libraries = LIBRARIES if libraries is None else libraries
    body = None
    if callable(getattr(panel, "_live_page", None)):
        try:
            body = panel._live_page(page.OUTPUT)
        except ValueError:  # settings no page can run (a custom surface without JavaScript)
            body = None
    if body is None:
        body = panel._export_html(False, full=False)
    if libraries.carry(lifecycle.current_cell()):
        body = page.libraries_html() + "\n" + body
    return body
