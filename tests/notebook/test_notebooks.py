"""The teaching notebooks run top to bottom: headless (nbclient) and in a real JupyterLab."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from playwright.sync_api import expect

NOTEBOOKS = Path(__file__).parents[2] / "notebooks"
NAMES = ["live_sensors.ipynb", "settings_panel.ipynb", "many_views.ipynb"]


def text_of(cell: nbformat.NotebookNode) -> str:
    out = []
    for o in cell.get("outputs", []):
        out.append(o.get("text", "") or o.get("data", {}).get("text/plain", ""))
    return "".join(out)


@pytest.mark.parametrize("name", NAMES)
def test_notebook_executes_with_nbclient(name: str) -> None:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(
        notebook, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    ).execute()
    outputs = "\n".join(text_of(c) for c in notebook.cells if c.cell_type == "code")
    assert "Traceback" not in outputs
    expected = {
        "live_sensors.ipynb": "final value 99.999",
        "settings_panel.ipynb": "'status': 'Python applied volume 30%'",
        "many_views.ipynb": "'verdict': 'too loud!'",
    }[name]
    assert expected in outputs


@pytest.fixture
def lab_notebooks(lab) -> Path:
    """The notebooks, and the examples whose pages they share, under the lab's root."""
    for folder in ("notebooks", "examples"):
        target = lab.root / folder
        if not target.exists():
            shutil.copytree(NOTEBOOKS.parent / folder, target)
    return lab.root / "notebooks"


def test_live_sensors_in_jupyterlab(lab_notebooks: Path, notebook_page) -> None:
    lab = notebook_page("notebooks/live_sensors.ipynb")
    expect(lab.view(0).locator("#temp")).to_have_text("99.999", timeout=20_000)
    expect(lab.view(0).locator("#hum")).to_have_text(re.compile(r"^\d+(\.\d)?$"))


def test_settings_panel_in_jupyterlab(lab_notebooks: Path, notebook_page) -> None:
    lab = notebook_page("notebooks/settings_panel.ipynb")
    view = lab.view(0)
    expect(view.locator("body")).to_have_class("light", timeout=20_000)
    view.locator("#themeToggle").click()
    expect(view.locator("body")).to_have_class("dark")
    view.locator("#volume").fill("55")  # a range input: fill() sets the value and fires `input`
    expect(view.locator("#status")).to_have_text("Python applied volume 55%")
    expect(lab.page.get_by_text("Setting changed: volume = 55").first).to_be_visible()  # the handler's log


def test_many_views_in_jupyterlab(lab_notebooks: Path, notebook_page) -> None:
    lab = notebook_page("notebooks/many_views.ipynb")
    for n in range(3):  # mixer, meter, mixer again (the limited view was closed by the last cell)
        lab.wait_view_ready(n)
    for n in (0, 2):  # the second mixer was displayed late: it started from the store's state
        expect(lab.view(n).locator("#levelText")).to_have_text("100")
    lab.view(2).locator("#mute").click()
    expect(lab.view(1).locator("#verdict")).to_have_text("silent")
    expect(lab.view(0).locator("#levelText")).to_have_text("0")
    out = lab.run_until("print(history)", ", 0]")
    assert out.strip().endswith(", 100, 0]"), out
