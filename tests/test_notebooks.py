"""The notebooks in notebooks/ run top to bottom against this checkout, and are committed without outputs."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
EXPECTED = {"01_quickstart.ipynb", "02_what_if.ipynb"}
KERNEL = "python3"
CELL_TIMEOUT = 300  # seconds per cell; each notebook takes about 10 s in all on 2 cores


def listing() -> set[Path]:
    """Where a notebook could leave files: the repository's top level (e.g. results/) and its own folder."""
    return {p for folder in (ROOT, NOTEBOOK_DIR) for p in folder.iterdir()}


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def test_the_notebooks_are_there():
    assert EXPECTED <= {p.name for p in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path: Path):
    """Outputs and execution counts stay out of git, so that diffs show only what was written."""
    nb = read(path)
    nbformat.validate(nb)
    assert nb.nbformat == 4
    assert nb.metadata.kernelspec.name == KERNEL
    dirty = [i for i, cell in enumerate(nb.cells)
             if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)]
    assert not dirty, f"{path.name}: cells {dirty} have outputs or execution counts; clear them before committing"


def test_python3_kernel_is_installed():
    """nbclient starts the 'python3' kernel, which ipykernel provides in this environment."""
    try:
        spec = KernelSpecManager().get_kernel_spec(KERNEL)
    except NoSuchKernel:
        pytest.fail(f"no {KERNEL!r} kernel: install ipykernel in this environment (pip install '.[test]')")
    assert spec.language == "python"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_runs_top_to_bottom(path: Path, tmp_path: Path, monkeypatch):
    # The kernel inherits this environment: import escalsim from this checkout (not an older installed copy),
    # draw without a display, and let the notebook's tempfile.mkdtemp() write under pytest's tmp_path.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    before = listing()
    nb = read(path)
    NotebookClient(nb, kernel_name=KERNEL, timeout=CELL_TIMEOUT,
                   resources={"metadata": {"path": str(NOTEBOOK_DIR)}}).execute()  # raises on a failing cell
    stderr = [(i, out.text) for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
              for out in cell.outputs if out.output_type == "stream" and out.name == "stderr"]
    assert not stderr, f"{path.name} printed warnings or errors (cell, text): {stderr}"
    assert listing() == before, f"{path.name} left files behind: {sorted(listing() - before)}"
