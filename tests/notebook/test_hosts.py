"""The host matrix: StateWidget in JupyterLab, Notebook 7, marimo and Voilà, each a real server.

On each host: the page renders Python's state; a later ``set_state`` reaches
the page; a click reaches a Python handler; two views of one store agree
after a 2,000-write burst and after writes from a background thread;
re-running the cell that makes a widget leaves no old subscriber and no
browser error. marimo also: a cell's writes reach the views when the cell
ends, and ``update_message_loop()`` hears the page in a looping cell.
Screenshots go to test-artifacts/hosts/.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

HOSTS = ["jupyterlab", "notebook7", "marimo", "voila"]
COUNTER = str(Path(__file__).parent / "pages" / "counter.html")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "hosts"

SETUP = """
from pytonium_lab import StateStore, StateWidget
store = StateStore()
edits = []
class Recorder:
    def update_state(self, namespace, key, value):
        edits.append((namespace, key, value))
store.add_state_handler(Recorder(), ["demo"])
store.set_state("demo", "count", 1)
threads = []
"""


def cells(kind: str) -> list[str]:
    """Setup, then two cells that each make and show one StateWidget of the store (cells 1 and 2)."""
    show = (lambda name: f"mo.ui.anywidget({name})") if kind == "marimo" else (lambda name: name)
    setup = ("import marimo as mo\n" if kind == "marimo" else "") + SETUP
    return [
        setup,
        f"a = StateWidget(store, {COUNTER!r}, height=120)\n{show('a')}",
        f"b = StateWidget(store, {COUNTER!r}, height=120)\n{show('b')}",
    ]


def open_two_views(host: Any, kind: str) -> Any:
    page = host(cells(kind))
    for n in (0, 1):
        page.wait_view_ready(n)
    return page


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def store_state(page: Any, keys: list[str]) -> dict[str, Any]:
    out = page.run(f"import json\nprint(json.dumps({{k: store.get_state('demo', k) for k in {keys!r}}}))")
    return json.loads(out.strip().splitlines()[-1])


VIEW_STATE = "(keys) => Object.fromEntries(keys.map((k) => [k, Pytonium.appState.getState('demo', k) ?? null]))"


def assert_views_agree(page: Any, keys: list[str], timeout: float = 5) -> None:
    """Once quiet, both views show exactly the store's values of ``keys``."""
    expected = store_state(page, keys)
    deadline = time.monotonic() + timeout
    while True:
        shown = [page.view_eval(n, VIEW_STATE, keys) for n in (0, 1)]
        if all(s == expected for s in shown) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    for n, state in enumerate(shown):
        wrong = {k: (state.get(k), expected[k]) for k in keys if state.get(k) != expected[k]}
        assert not wrong, f"view {n} differs from the store (shown, store): {wrong}"


def subscribers(page: Any) -> int:
    return int(page.run("print(len(store._subscribers))").strip().splitlines()[-1])


def no_errors(page: Any) -> None:
    assert page.errors == [], "\n".join(page.errors)


hosts = pytest.mark.parametrize("host", HOSTS, indirect=True)


@hosts
def test_the_page_renders_python_state_and_follows_set_state(host: Any, request: Any) -> None:
    kind = request.node.callspec.params["host"]
    page = open_two_views(host, kind)
    for n in (0, 1):
        expect(page.view(n).locator("#count")).to_have_text("1")
    page.run('store.set_state("demo", "count", 41)')
    for n in (0, 1):
        expect(page.view(n).locator("#count")).to_have_text("41")
    shot(page, f"{kind}-rendered")
    no_errors(page)


@hosts
def test_a_click_reaches_a_python_handler(host: Any, request: Any) -> None:
    kind = request.node.callspec.params["host"]
    page = open_two_views(host, kind)
    page.view(0).locator("#inc").click()
    expect(page.view(1).locator("#count")).to_have_text("2")
    out = page.run_until("print(edits[-1], store.get_state('demo', 'count'))", "('demo', 'count', 2) 2")
    assert "('demo', 'count', 2) 2" in out
    no_errors(page)


KEYS = ["count"] + [f"k{i}" for i in range(20)]

BURST = """
for i in range(2000):
    store.set_state("demo", f"k{i % 20}", i)
    if i % 7 == 0:
        store.remove_state("demo", f"k{(i * 3) % 20}")
store.set_state("demo", "count", 2000)
"""

THREAD = """
import threading, time
def writes():
    for i in range(2000):
        store.set_state("demo", f"k{i % 20}", -i)
        if i % 100 == 0:
            time.sleep(0.01)
    store.set_state("demo", "count", 3000)
threads.append(threading.Thread(target=writes))
threads[-1].start()
"""


@hosts
def test_two_views_agree_after_a_2000_write_burst(host: Any, request: Any) -> None:
    kind = request.node.callspec.params["host"]
    page = open_two_views(host, kind)
    page.run(BURST)
    for n in (0, 1):
        expect(page.view(n).locator("#count")).to_have_text("2000")
    assert_views_agree(page, KEYS)
    no_errors(page)


@hosts
def test_two_views_agree_after_writes_from_a_background_thread(host: Any, request: Any) -> None:
    kind = request.node.callspec.params["host"]
    page = open_two_views(host, kind)
    page.run(THREAD)  # the cell ends while the thread writes
    assert "joined" in page.run("threads[-1].join()\nprint('joined')")
    for n in (0, 1):
        expect(page.view(n).locator("#count")).to_have_text("3000")
    assert_views_agree(page, KEYS)
    no_errors(page)


@hosts
def test_rerunning_the_widget_cell_leaves_no_old_subscriber_and_no_error(host: Any, request: Any) -> None:
    kind = request.node.callspec.params["host"]
    page = open_two_views(host, kind)
    before = subscribers(page)
    page.rerun_widget_cell(1)
    for n in (0, 1):
        page.wait_view_ready(n)
    assert page.views().count() == 2
    assert subscribers(page) == before
    page.run('store.set_state("demo", "count", 77)')
    for n in (0, 1):
        expect(page.view(n).locator("#count")).to_have_text("77")
    page.view(0).locator("#inc").click()
    assert "78" in page.run_until("print(store.get_state('demo', 'count'))", "78")
    if kind == "marimo":
        # marimo's front end reports a message for a model it no longer has after 10 s.
        page.run('store.set_state("demo", "count", 79)')
        time.sleep(10.5)
    shot(page, f"{kind}-rerun")
    no_errors(page)


# ---- marimo only --------------------------------------------------------------------


@pytest.mark.parametrize("host", ["marimo"], indirect=True)
def test_marimo_a_cells_writes_reach_the_views_when_it_ends(host: Any) -> None:
    page = open_two_views(host, "marimo")
    assert page.run("from pytonium_lab import _marimo\nprint(len(_marimo._hooked_kernels))").strip() == "1"
    page.view_eval(
        0,
        """() => window.addEventListener("countChanged", (e) => {
            if (e.detail.value === 1999) window.finalAt = performance.timeOrigin + performance.now();
        })""",
    )
    end = float(
        page.run("import time\nfor i in range(2000):\n    store.set_state('demo', 'count', i)\nprint(time.time())")
    )
    expect(page.view(0).locator("#count")).to_have_text("1999", timeout=5_000)
    shown_ms = page.view_eval(0, "() => window.finalAt") - end * 1000
    assert shown_ms < 300, shown_ms


@pytest.mark.parametrize("host", ["marimo"], indirect=True)
def test_marimo_update_message_loop_hears_the_page_in_a_looping_cell(host: Any) -> None:
    page = open_two_views(host, "marimo")
    run = page.start(
        "import threading, time\n"
        "before, start = len(edits), time.monotonic()\n"
        "while len(edits) == before and time.monotonic() - start < 20:\n"
        "    a.update_message_loop()\n"
        "    time.sleep(0.016)\n"
        "print('heard while looping:', edits[before:], threading.current_thread() is threading.main_thread(),"
        " round(time.monotonic() - start, 1))"
    )
    time.sleep(1.0)
    assert not page.settled(run)
    page.view(0).locator("#inc").click()
    out = page.wait(run, 30)
    assert "heard while looping: [('demo', 'count', 2)] True" in out, out
    # Handled once: the kernel's own copy of the message, after the cell, is skipped.
    assert page.run("print(edits)").strip() == "[('demo', 'count', 1), ('demo', 'count', 2)]"
    no_errors(page)
