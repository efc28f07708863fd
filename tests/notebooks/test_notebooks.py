"""Every teaching notebook runs top to bottom in a fresh kernel, and is stored stripped.

The runs are saved in ``build/notebooks`` (:func:`adaviz.site.execute`): the course site's
browser test (``tests/browser/test_site.py``) builds its pages from them rather than
executing every notebook a second time.
"""

import json
from pathlib import Path

import pytest

from adaviz import site

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
#: where the runs are saved, for the site's test and ``make site``
RUNS = REPO / "build" / "notebooks"
EXPECTED = {
    "00_tour.ipynb",
    "01_adadelta_from_scratch.ipynb",
    "02_rho_and_epsilon.ipynb",
    "03_loss_surfaces.ipynb",
    "04_live_models.ipynb",
    "05_compare_optimizers.ipynb",
    "06_sweeps.ipynb",
    "07_the_paper_in_small.ipynb",
    "08_the_lineage.ipynb",
    "dashboard.ipynb",
    "dashboard_compare.ipynb",
}


def test_the_teaching_notebooks_are_all_there():
    assert EXPECTED <= {p.name for p in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_stored_without_outputs(path):
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"{path.name}: outputs not stripped"
            assert cell["execution_count"] is None, f"{path.name}: execution count kept"


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path, monkeypatch):
    # the kernel starts as a user's would: without the log level the test process set
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    # raises CellExecutionError, with the cell and traceback, on any error
    nb = site.execute(path, RUNS, timeout=600)
    errors = [
        out
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.output_type == "error"
    ]
    assert not errors
    # TensorFlow's C++ start-up noise must not reach the reader (adaviz is imported first)
    stderr = "".join(
        out.get("text", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.output_type == "stream" and out.name == "stderr"
    )
    assert "oneDNN" not in stderr and "absl::InitializeLog" not in stderr, stderr[:500]
    # an export shows the panels' live pages (no widget state saved), which share one
    # copy of plotly.js and of the page code: the first panel output's
    html = [
        out.get("data", {}).get("text/html", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
    ]
    panels = [text for text in html if "adaviz-live-output" in text or "adaviz-static" in text]
    carriers = [i for i, text in enumerate(panels) if 'data-adaviz-library="plotly"' in text]
    assert carriers == ([0] if panels else []), carriers
    assert "widgets" not in nb.metadata
