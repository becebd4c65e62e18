"""Calls in a real window on every engine (issue 16): a page in the original Pytonium's shapes.

One window per engine: the page's feature test and callFunction fallback, a real
click on a bound object's function that also writes state, then the whole calls
contract (tests/pages/calls_contract.js), while this thread loops on
``update_message_loop()`` as a script does; then a function bound while the page
runs appears in it, and a call waiting when the connection drops rejects with a
DisconnectedError while the reconnected page calls again. The script's thread runs the sync functions; ``async def``
ones run on the library's own loop (no loop runs in a plain script).
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from pytonium_lab import Pytonium, StateStore

from .helpers import DevTools, wait_for

pytestmark = pytest.mark.e2e

PAGES = Path(__file__).resolve().parents[1] / "pages"
CONTRACT = (PAGES / "calls_contract.js").read_text()
EXPECTED = json.loads((PAGES / "calls_contract.expected.json").read_text())  # what calls_contract.js reports


def pumped(p: Pytonium, tools: DevTools, expression: str, timeout: float = 60) -> object:
    """Evaluate a JS expression that makes a Promise, pumping until it settles; its value as JSON."""
    tools.eval(
        "window.__done = undefined; Promise.resolve(" + expression + ").then("
        "(v) => { window.__done = JSON.stringify({ ok: v }); }, (e) => { window.__done = JSON.stringify({ err: String(e) }); })"
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        p.update_message_loop()
        done = tools.eval("window.__done")
        if done is not None:
            return json.loads(done)
        time.sleep(0.005)
    raise AssertionError(f"{expression[:80]} did not settle within {timeout} s")


def test_calls_in_a_window(backend, closing):
    store = StateStore()
    p = Pytonium(store, backend=backend, debug=True)
    closing(p)
    scope = {"store": store, "view": p}
    exec((PAGES / "calls_functions.py").read_text(), scope)
    p.add_custom_scheme("app", str(PAGES))
    p.initialize("app://calls.html", 480, 360)
    tools = DevTools(p.devtools_port)
    try:
        # The page's own scripts: a feature test and a fallback for a function nobody bound.
        wait_for(
            lambda: (
                (p.update_message_loop(), tools.eval("document.getElementById('config-out').textContent"))[1]
                == "fallback after ReferenceError"
            ),
            10,
            "the callFunction fallback",
        )
        assert tools.eval("document.getElementById('shell-out').textContent") == "no shell"
        # A real click calls Python; its function also writes state, which the page shows.
        tools.click("#go")
        wait_for(
            lambda: (
                (p.update_message_loop(), tools.eval("document.getElementById('go-out').textContent"))[1]
                == "Python says click"
            ),
            10,
            "the click's result",
        )
        wait_for(lambda: tools.eval("document.getElementById('count-out').textContent") == "1", 5, "the state change")
        result = pumped(p, tools, f"({CONTRACT})()")
        assert result == {"ok": EXPECTED}
        assert scope["calls_seen"] == {"off_main": 0, "cancelled": 2}  # abort and timeout both cancelled hang()
        # Bound while the page runs: the page sees it without a reload.
        p.bind_function_to_javascript(lambda: threading.current_thread().name, name="late")
        wait_for(lambda: tools.eval("typeof Pytonium.late") == "function", 5, "the late binding")
        assert pumped(p, tools, "Pytonium.late()") == {"ok": threading.current_thread().name}
        # The connection drops while a call waits: it rejects; the page reconnects and calls again.
        tools.eval("window.__hung = 'waiting'; Pytonium.api.hang().catch((e) => { window.__hung = e.name; })")
        running = lambda: any(sock.link.calls._running for sock in p._session.sockets)  # noqa: E731
        wait_for(lambda: (p.update_message_loop(), running())[1], 5, "hang() to run in Python")
        p._server.call(p._session.close_sockets)
        wait_for(lambda: tools.eval("window.__hung") == "DisconnectedError", 10, "the pending call to reject")
        assert pumped(p, tools, "Pytonium.test_function_binding.testfunc('again')") == {"ok": "Python says again"}
    finally:
        tools.close()
