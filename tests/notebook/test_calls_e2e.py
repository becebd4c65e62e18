"""Calls in every notebook host (issue 16): JupyterLab, Notebook 7, marimo, Voilà.

One document per host: a cell binds the functions of tests/pages/calls_functions.py
through a StateWidget of tests/pages/calls.html (a page in the original Pytonium's
shapes) and shows it. Then: the page's feature test and callFunction fallback, a
real click on a bound object's function that also writes state, and the whole calls
contract (tests/pages/calls_contract.js) in the view. The sync functions ran on the
kernel's main thread, and both hang() calls (abort, timeout) got CancelledError. In
JupyterLab, a call waiting when the kernel restarts rejects with a DisconnectedError.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

PAGES = Path(__file__).resolve().parents[1] / "pages"
CONTRACT = (PAGES / "calls_contract.js").read_text()
EXPECTED = json.loads((PAGES / "calls_contract.expected.json").read_text())  # what calls_contract.js reports


def cells(kind: str) -> list[str]:
    functions = (PAGES / "calls_functions.py").read_text()
    make = (
        "from pytonium_lab import StateStore, StateWidget\n"
        "store = StateStore()\n"
        f"view = StateWidget(store, {str(PAGES / 'calls.html')!r}, height=220)\n"
    )
    if kind == "marimo":
        return ["import marimo as mo\n", make + functions + "\nmo.ui.anywidget(view)"]
    return [make + functions + "\nview"]


@pytest.mark.parametrize("host", ["jupyterlab", "notebook7", "marimo", "voila"], indirect=True)
def test_calls_in_a_notebook_host(host: Any, request: Any) -> None:
    kind = request.node.callspec.params["host"]
    page = host(cells(kind))
    page.wait_view_ready(0)
    view = page.view(0)
    expect(view.locator("#shell-out")).to_have_text("no shell")
    expect(view.locator("#config-out")).to_have_text("fallback after ReferenceError")
    view.locator("#go").click()
    expect(view.locator("#go-out")).to_have_text("Python says click")
    expect(view.locator("#count-out")).to_have_text("1")
    assert page.view_eval(0, CONTRACT) == EXPECTED
    if kind != "voila":  # Voilà runs no cells after the page is shown
        seen = page.run("import json\nprint(json.dumps(calls_seen))").strip().splitlines()[-1]
        assert json.loads(seen) == {"off_main": 0, "cancelled": 2}
    if kind == "jupyterlab":  # a call waiting when the kernel restarts rejects with DisconnectedError
        page.view_eval(
            0, "() => { window.__hung = 'waiting'; Pytonium.api.hang().catch((e) => { window.__hung = e.name; }); }"
        )
        page.page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.restartKernel()")
        deadline = time.monotonic() + 10
        while page.view_eval(0, "() => window.__hung") == "waiting" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert page.view_eval(0, "() => window.__hung") == "DisconnectedError"
