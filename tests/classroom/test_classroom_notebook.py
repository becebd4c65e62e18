"""notebooks/classroom.ipynb runs top to bottom under nbclient: a served poll, 30 simulated students, a tally."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).parents[2]


def test_the_classroom_notebook_runs_with_nbclient(tmp_path: Path) -> None:
    folder = tmp_path / "notebooks"
    shutil.copytree(REPO / "notebooks", folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    notebook = nbformat.read(folder / "classroom.ipynb", as_version=4)
    NotebookClient(notebook, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    outputs = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            outputs.append(output.get("text", "") or output.get("data", {}).get("text/plain", ""))
    text = "\n".join(outputs)
    assert "Traceback" not in text
    assert "answers: 30 tally: {" in text
    tally = ast.literal_eval(text.split("tally: ", 1)[1].splitlines()[0])
    assert sum(tally.values()) == 30 and set(tally) == {"Quicksort", "Merge sort", "Bubble sort", "Insertion sort"}
    assert "(closed)>" in text and "total answers kept: 30" in text
    assert "written by: ['client:" in text
    served = notebook.cells[3].outputs[0]["data"]
    assert "application/vnd.jupyter.widget-view+json" in served  # the live view (URL, QR code, count)
