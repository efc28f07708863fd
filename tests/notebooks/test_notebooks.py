"""Every teaching notebook runs top to bottom in a fresh kernel, and is stored stripped."""

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
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
def test_notebook_runs_top_to_bottom(path, tmp_path, monkeypatch):
    # the kernel starts as a user's would: without the log level the test process set
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()  # raises CellExecutionError, with the cell and traceback, on any error
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
    nbformat.write(nb, tmp_path / path.name)  # executed copy, for a look when it fails
