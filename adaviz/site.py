"""A course site: notebooks, executed, as HTML pages whose panels stay live without a kernel,
and an index linking them. The folder opens from disk (``file://``) or from any static host,
and its pages request nothing from the network::

    python -m adaviz.site notebooks site                            # make site
    python -m adaviz.site notebooks site --executed build/notebooks # reuse saved runs

A page is the executed notebook through nbconvert's ``lab`` template (what ``jupyter nbconvert
--to html`` makes), with what that template fetches from CDNs served from the site's
``_static/`` folder instead: MathJax (from the ``jupyter-server-mathjax`` package) and
plotly.js (from the plotly package: one file for the whole site, used by the panels and by
plotly figures a notebook shows); require.js, which no page uses, is left out. A panel shows
its live page (the ``text/html`` of its display, :mod:`adaviz.panels.kit.embed`): notebooks
run here save no widget state, so nbconvert shows that page rather than a widget that would
need a kernel.

Executing is the slow part. :func:`execute` can save a run, marked with a fingerprint of the
notebook and of adaviz's code; :func:`build` reuses a saved run whose fingerprint matches and
executes the others. The test suite's notebook test saves its runs in ``build/notebooks``,
so a site built after it executes nothing again.

Needs nbconvert, nbclient, ipykernel and jupyter-server-mathjax (``pip install
'adaviz[site]'``).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import html
import json
import re
import shutil
import sys
from pathlib import Path

__all__ = ["build", "execute", "fingerprint", "saved_run", "page_html", "index_html"]

#: where the pages find MathJax and plotly.js, relative to the site's folder
STATIC = "_static"
MATHJAX_URL = f"{STATIC}/mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"
PLOTLY_URL = f"{STATIC}/plotly.min.js"
_PLOTLY_JSON = "application/vnd.plotly.v1+json"
_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}
<script>window.PlotlyConfig = {MathJaxConfig: 'local'};</script>
<script src="PLOTLY_URL" charset="utf-8"></script>
{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}
<script type="text/x-mathjax-config">
MathJax.Hub.Config({menuSettings: {renderer: "NativeMML"},
                    "HTML-CSS": {availableFonts: [], webFont: "STIX-Web", imageFont: null}});
</script>
{{ super() }}
{%- endblock html_head_js_mathjax -%}
{%- block body_header -%}
{{ super() }}
<nav style="margin: 8px 0 0 calc(var(--jp-cell-prompt-width, 64px) + 8px)">
<a href="index.html">All notebooks</a></nav>
{%- endblock body_header -%}
""".replace("PLOTLY_URL", PLOTLY_URL)


def _needs(module, package):
    try:
        return __import__(module)
    except ImportError as exc:
        raise ImportError(
            f"building a site needs {package} ({exc}); pip install 'adaviz[site]'"
        ) from exc


def fingerprint(notebook):
    """A digest of ``notebook``'s file and of every ``.py``/``.js`` file of adaviz: a saved
    run with the same fingerprint is what executing the notebook now would give."""
    digest = hashlib.sha256(Path(notebook).read_bytes())
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*")):
        if path.suffix in (".py", ".js") and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(package)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def execute(notebook, save_to=None, *, timeout=600, kernel_name="python3"):
    """Run ``notebook`` top to bottom in a fresh kernel (in its own folder), saving no widget
    state; return the executed notebook (an ``nbformat.NotebookNode``).

    Args:
        notebook: the ``.ipynb`` file.
        save_to: a folder to save the run in (as ``<folder>/<notebook's name>``, with its
            fingerprint), for :func:`build` to reuse; None saves nothing.
        timeout: seconds a cell may take.
        kernel_name: the kernel to run it with.

    Raises:
        nbclient.exceptions.CellExecutionError: a cell raised (the message has the cell and
            the traceback); nothing is saved then.
    """
    _needs("nbclient", "nbclient")
    import nbformat
    from nbclient import NotebookClient

    notebook = Path(notebook)
    stamp = fingerprint(notebook)
    nb = nbformat.read(notebook, as_version=4)
    NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=kernel_name,
        store_widget_state=False,  # so an export shows the panels' live pages
        resources={"metadata": {"path": str(notebook.parent)}},
    ).execute()
    nb.metadata["adaviz"] = {"fingerprint": stamp}
    if save_to is not None:
        Path(save_to).mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, Path(save_to) / notebook.name)
    return nb


def saved_run(notebook, folder):
    """The run of ``notebook`` saved in ``folder`` by :func:`execute`, if it is what running
    the notebook now would give (same fingerprint); else None."""
    import nbformat

    path = Path(folder) / Path(notebook).name
    if not path.is_file():
        return None
    nb = nbformat.read(path, as_version=4)
    if nb.metadata.get("adaviz", {}).get("fingerprint") != fingerprint(notebook):
        return None
    return nb


def _site_outputs(nb):
    """``nb``'s outputs as the site shows them: plotly figures as HTML (plotly.js is the
    site's), the panels without their own copy of plotly.js, and no widget state."""
    import plotly.io as pio

    from adaviz.web import page

    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)  # a saved widget state would show widgets that need a kernel
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if _PLOTLY_JSON in data and "text/html" not in data:
                data["text/html"] = pio.to_html(
                    dict(data[_PLOTLY_JSON]), include_plotlyjs=False, full_html=False
                )
            elif "text/html" in data:
                data["text/html"] = page.without_plotly(data["text/html"])
    return nb


def page_html(nb, name, pages=()):
    """The site's page of the executed notebook ``nb``, as a string.

    Args:
        nb: the executed notebook.
        name: its name without ``.ipynb`` (the page's title and file name).
        pages: the names of the site's pages; links to ``<page>.ipynb`` become links to
            ``<page>.html``.
    """
    _needs("nbconvert", "nbconvert")
    import jinja2
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="lab",
        template_file="adaviz_site.html.j2",
        extra_loaders=[jinja2.DictLoader({"adaviz_site.html.j2": _TEMPLATE})],
        mathjax_url=MATHJAX_URL,
    )
    text, _ = exporter.from_notebook_node(_site_outputs(nb), resources={"metadata": {"name": name}})
    known = set(pages)

    def link(match):
        target = match.group(1)
        return f'href="{target}.html{match.group(2) or ""}"' if target in known else match.group(0)

    return re.sub(r'href="([^"/#]+)\.ipynb(#[^"]*)?"', link, text)


def _title(nb, name):
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return name


def index_html(entries, title="adaviz notebooks"):
    """The site's index: ``entries`` are ``(page name, notebook title)``, in order."""
    items = "\n".join(
        f'<li><a href="{html.escape(name)}.html">{html.escape(text)}</a> '
        f"<code>{html.escape(name)}.ipynb</code></li>"
        for name, text in entries
    )
    return f"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body {{ font-family: system-ui, sans-serif; max-width: 760px; margin: 32px auto;
color: #222; line-height: 1.5; }} code {{ color: #666; font-size: 85%; }}</style></head>
<body>
<h1>{html.escape(title)}</h1>
<p>The notebooks, run once. Their panels are live: the sliders run the optimizer in the page,
with no Python kernel. To change the code, open the notebooks in Jupyter.</p>
<ol>
{items}
</ol>
</body>
</html>
"""


def _copy_static(dest):
    import plotly.offline

    mathjax = _needs("jupyter_server_mathjax", "jupyter-server-mathjax")
    static = Path(dest) / STATIC
    (Path(dest) / ".nojekyll").touch()  # GitHub Pages' Jekyll would leave out _static/
    shutil.copytree(
        Path(mathjax.__file__).parent / "static", static / "mathjax", dirs_exist_ok=True
    )
    (static / "plotly.min.js").write_text(plotly.offline.get_plotlyjs(), encoding="utf-8")


def build(notebooks, dest, *, executed=None, timeout=600, log=print):
    """Build the site: each notebook executed (or its saved run reused) as ``<name>.html`` in
    ``dest``, with ``index.html`` and ``_static/``.

    Args:
        notebooks: the ``.ipynb`` files, in the index's order.
        dest: the site's folder (made if missing; files of the same names are replaced).
        executed: a folder of saved runs (:func:`execute`): a run whose fingerprint matches
            is reused, and the notebooks executed here are saved there. None executes all.
        timeout: seconds a cell may take.
        log: called with a line of progress per notebook.

    Returns:
        The pages written (``index.html`` last).

    Raises:
        ValueError: ``notebooks`` is empty or names a file that is not a notebook.
        nbclient.exceptions.CellExecutionError: a notebook failed (its cell and traceback).
    """
    notebooks = [Path(p) for p in notebooks]
    if not notebooks:
        raise ValueError("notebooks must name at least one .ipynb file, got none")
    for path in notebooks:
        if path.suffix != ".ipynb" or not path.is_file():
            raise ValueError(f"notebooks must be .ipynb files that exist, got {str(path)!r}")
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    _copy_static(dest)
    names = [path.stem for path in notebooks]
    written, entries = [], []
    for path in notebooks:
        nb = saved_run(path, executed) if executed is not None else None
        if nb is None:
            log(f"executing {path}")
            nb = execute(path, executed, timeout=timeout)
        else:
            log(f"{path}: reusing the run saved in {executed}")
        page = dest / f"{path.stem}.html"
        page.write_text(page_html(nb, path.stem, names), encoding="utf-8")
        written.append(page)
        entries.append((path.stem, _title(nb, path.stem)))
    index = dest / "index.html"
    index.write_text(index_html(entries), encoding="utf-8")
    return [*written, index]


def main(argv=None):
    """``python -m adaviz.site SOURCE DEST [--executed FOLDER] [--timeout SECONDS]``."""
    parser = argparse.ArgumentParser(
        prog="python -m adaviz.site",
        description="Build a static site of executed notebooks whose adaviz panels stay live.",
    )
    parser.add_argument("source", type=Path, help="a folder of notebooks, or one .ipynb file")
    parser.add_argument("dest", type=Path, help="the site's folder")
    parser.add_argument("--executed", type=Path, help="a folder of saved runs to reuse and fill")
    parser.add_argument("--timeout", type=float, default=600, help="seconds a cell may take")
    args = parser.parse_args(argv)
    source = args.source
    notebooks = sorted(source.glob("*.ipynb")) if source.is_dir() else [source]
    if not notebooks:
        parser.error(f"source {str(source)!r} holds no .ipynb file; give a folder of notebooks")
    pages = build(notebooks, args.dest, executed=args.executed, timeout=args.timeout)
    print(json.dumps({"site": str(args.dest), "pages": len(pages)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
