"""The prototyping loop in a real JupyterLab: the page's errors under the view, reload on save."""

from __future__ import annotations

import time
from pathlib import Path
from string import Template

from playwright.sync_api import expect

PAGE = Template((Path(__file__).resolve().parents[1] / "pages" / "title_counter.html").read_text())

RECORD_LOG = """
import logging
from pytonium_lab import StateStore, StateWidget
logged = []
class Keep(logging.Handler):
    def emit(self, record):
        logged.append((record.levelname, record.getMessage()))
logging.getLogger("pytonium_lab").addHandler(Keep())
store = StateStore()
store.set_state("demo", "n", 1)
"""


def write_page(folder: Path, title: str, extra: str = "") -> Path:
    folder.mkdir(exist_ok=True)
    page = folder / "page.html"
    page.write_text(PAGE.substitute(title=title, extra=extra))
    return page


def test_a_throwing_page_shows_its_errors_under_the_view_and_in_the_python_log(notebook, lab) -> None:
    page = write_page(
        lab.root / "broken",
        "broken",
        "console.warn('careful'); Pytonium.callFunction('save'); ",
    )
    (lab.root / "broken" / "d3user.html").write_text(
        "<!doctype html><html><body><p>chart</p><script>\n\nd3.select('p');</script></body></html>"
    )
    lab_page = notebook(
        [
            RECORD_LOG,
            f"w = StateWidget(store, {str(page)!r}, height=120)\nw",
            f"d = StateWidget(store, {str(lab.root / 'broken' / 'd3user.html')!r}, height=80)\nd",
        ]
    )
    logs = lab_page.page.locator(".pytonium-lab-log")
    # No Python function is bound under that name: the call's promise rejects, and the page sees why.
    expect(logs.nth(0)).to_contain_text("Pytonium.save is not bound (bound: none)", timeout=20_000)
    expect(logs.nth(0)).to_contain_text("warning: careful")
    # The page's line (7: $extra of title_counter.html), not the injected runtime's, which threw it.
    thrown = logs.nth(0).locator(".pytonium-lab-log-entry", has_text="is not bound")
    expect(thrown).to_contain_text("(about:srcdoc:7)")
    expect(logs.nth(1)).to_contain_text("d3 is not defined")
    expect(logs.nth(1)).to_contain_text("about:srcdoc:3")  # the page's own line
    lab_page.page.screenshot(path=str(Path("test-artifacts") / "page-errors-under-view.png"))
    out = lab_page.run_until(
        "print(sorted({lvl for lvl, m in logged if m.startswith('page ')}), "
        "any('d3 is not defined' in m for _, m in logged))",
        "['ERROR', 'WARNING'] True",
    )
    assert "['ERROR', 'WARNING'] True" in out
    # Clearing empties the list; a repeat is counted on its line.
    lab_page.page.locator(".pytonium-lab-log-clear").nth(1).click()
    expect(logs.nth(1)).to_be_hidden()
    for _ in range(3):
        lab_page.view_eval(1, "() => console.error('again')")
    expect(logs.nth(1)).to_contain_text("\u00d73")


def test_a_saved_edit_reloads_every_view_with_the_current_state(notebook, lab) -> None:
    folder = lab.root / "live"
    page = write_page(folder, "first")
    lab_page = notebook([RECORD_LOG, f"w = StateWidget(store, {str(page)!r}, height=100)\nw", "display(w)"])
    for n in (0, 1):
        lab_page.wait_view_ready(n)
        expect(lab_page.view(n).locator("#n")).to_have_text("1")
    lab_page.run('store.set_state("demo", "n", 2)')
    saved = time.monotonic()
    write_page(folder, "second")
    for n in (0, 1):
        expect(lab_page.view(n).locator("#title")).to_have_text("second", timeout=5_000)
    took = time.monotonic() - saved
    print(f"both views reloaded {took * 1000:.0f} ms after the save")
    assert took < 1.5  # the 1 s, plus Playwright's polling on a loaded machine
    for n in (0, 1):
        expect(lab_page.view(n).locator("#n")).to_have_text("2")  # state lives in Python
    # A save that breaks the page keeps the last good view and says why in the log.
    page.write_bytes(b"\xff\xfe not utf-8")
    out = lab_page.run_until("print(any('not reloading' in m for _, m in logged))", "True")
    assert "True" in out
    expect(lab_page.view(0).locator("#title")).to_have_text("second")
    lab_page.run("w.close()")
    assert "[]" in lab_page.run(
        "import threading; print([t.name for t in threading.enumerate() if t.name.startswith('pytonium-watch')])"
    )
