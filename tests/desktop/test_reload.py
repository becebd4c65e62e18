"""Reload on save in a desktop window, and a page's errors in the Python log, on both backends."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from string import Template

import pytest

from pytonium_lab import Pytonium, StateStore

from .helpers import DevTools, wait_for

pytestmark = pytest.mark.e2e

PAGE = Template((Path(__file__).resolve().parents[1] / "pages" / "title_counter.html").read_text())


TITLE = "(document.getElementById('title') || {}).textContent"  # null while the page reloads


def test_a_saved_edit_reloads_the_window_with_the_current_state(tmp_path, backend, closing):
    page = tmp_path / "index.html"
    page.write_text(PAGE.substitute(title="first", extra=""))
    store = StateStore()
    store.set_state("demo", "n", 1)
    p = Pytonium(store, backend=backend, debug=True)  # debug watches by default
    closing(p)
    p.add_custom_scheme("app", str(tmp_path))
    p.initialize("app://index.html", 400, 300)
    tools = DevTools(p.devtools_port)
    try:
        tools.wait("document.getElementById('n').textContent === '1'")
        assert p._watch is not None and p._watch.wait_ready()
        store.set_state("demo", "n", 2)
        saved = time.monotonic()
        page.write_text(PAGE.substitute(title="second", extra=""))
        wait_for(lambda: tools.eval(TITLE) == "second", 5, "the reload")
        took = time.monotonic() - saved
        print(f"{backend}: reloaded {took * 1000:.0f} ms after the save")
        assert took < 1.0
        tools.wait("document.getElementById('n').textContent === '2'")  # state lives in Python
        # A save that breaks the page (not UTF-8) keeps the last good page.
        page.write_bytes(b"\xff\xfe not utf-8")
        time.sleep(0.6)
        assert tools.eval(TITLE) == "second"
    finally:
        tools.close()
    p.shutdown()
    assert not any(t.name.startswith("pytonium-watch") for t in threading.enumerate())


def test_no_watch_without_debug_or_watch(tmp_path, backend, closing):
    (tmp_path / "index.html").write_text(PAGE.substitute(title="x", extra=""))
    p = Pytonium(backend=backend)
    closing(p)
    p.add_custom_scheme("app", str(tmp_path))
    p.initialize("app://index.html", 400, 300)
    assert p._watch is None
    p.shutdown()


def test_a_page_error_reaches_the_python_log(tmp_path, backend, closing, caplog):
    (tmp_path / "index.html").write_text(
        "<!doctype html><html><body><script>console.warn('careful'); d3.select('p');</script>\n"
        "<script>\nPytonium.callFunction('save');</script></body></html>"
    )
    p = Pytonium(backend=backend)
    closing(p)
    p.add_custom_scheme("app", str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="pytonium_lab"):
        p.initialize("app://index.html", 400, 300)
        wait_for(lambda: "d3 is not defined" in caplog.text, 10, "the page's error in the log")
        wait_for(lambda: "callFunction" in caplog.text, 10, "the error the runtime threw at the page's call")
    records = [r for r in caplog.records if r.getMessage().startswith("page ")]
    assert any(r.levelno == logging.WARNING and "careful" in r.getMessage() for r in records)
    error = next(r for r in records if "d3 is not defined" in r.getMessage())
    assert error.levelno == logging.ERROR and error.getMessage().endswith("/app/index.html:1)")  # its own line
    thrown = next(r for r in records if "callFunction" in r.getMessage())  # by the runtime, injected on line 1
    assert thrown.getMessage().endswith("/app/index.html:3)"), thrown.getMessage()
    assert p._session is not None and p._session.token not in caplog.text  # no token in the log
    p.shutdown()
