"""The host matrix: StateWidget in JupyterLab, Notebook 7, marimo and Voilà, each a real server.

On each host: the page renders Python's state; a later ``set_state`` reaches
the page; a click reaches a Python handler; two views of one store agree
after a 2,000-write burst and after writes from a background thread;
re-running the cell that makes a widget leaves no old subscriber and no
browser error. marimo also: a cell's writes reach the views when the cell
ends, and ``update_message_loop()`` hears the page in a looping cell.
JupyterLab and Notebook 7 also: a click during a blocking cell runs its
handler only after the cell, and a cell looping on ``update_message_loop()``
hears it mid-cell, both on the main thread.

The tests of a host share one document (``shared_host`` in conftest.py), reset
before each test (``doc``); a failed test discards it. Screenshots go to
test-artifacts/hosts/.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from cells import COUNTER, RECORDING_STORE
from playwright.sync_api import expect

HOSTS = ["jupyterlab", "notebook7", "marimo", "voila"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "hosts"

SETUP = RECORDING_STORE + "threads = []\n"


def cells(kind: str) -> list[str]:
    """Setup, then two cells that each make and show one StateWidget of the store (cells 1 and 2)."""
    show = (lambda name: f"mo.ui.anywidget({name})") if kind == "marimo" else (lambda name: name)
    setup = ("import marimo as mo\n" if kind == "marimo" else "") + SETUP
    return [
        setup,
        f"a = StateWidget(store, {COUNTER!r}, height=120)\n{show('a')}",
        f"b = StateWidget(store, {COUNTER!r}, height=120)\n{show('b')}",
    ]


RESET = """
for _t in threads:
    _t.join()
edits.clear()
store.set_state("demo", "count", 1)
"""


@pytest.fixture
def doc(shared_host: Any, request: Any) -> Any:
    """The host's shared document (setup, widget ``a``, widget ``b``), its two views ready, reset:
    ``count`` is 1, ``edits`` holds only that write, and ``page.errors`` counts from here."""
    kind = request.node.callspec.params["shared_host"]
    page = shared_host(cells(kind))
    page.kind = kind
    for n in (0, 1):
        page.wait_view_ready(n)
    page.run(RESET)
    for n in (0, 1):
        expect(page.view(n).locator("#count")).to_have_text("1")
    page.error_mark = len(page.errors)
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
    errors = page.errors[getattr(page, "error_mark", 0) :]
    assert errors == [], "\n".join(errors)


hosts = pytest.mark.parametrize("shared_host", HOSTS, indirect=True)


@hosts
def test_the_page_renders_python_state_and_follows_set_state(doc: Any) -> None:
    page, kind = doc, doc.kind
    for n in (0, 1):
        expect(page.view(n).locator("#count")).to_have_text("1")
    page.run('store.set_state("demo", "count", 41)')
    for n in (0, 1):
        expect(page.view(n).locator("#count")).to_have_text("41")
    shot(page, f"{kind}-rendered")
    no_errors(page)


@hosts
def test_a_click_reaches_a_python_handler(doc: Any) -> None:
    page = doc
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
def test_two_views_agree_after_a_2000_write_burst(doc: Any) -> None:
    page = doc
    page.run(BURST)
    for n in (0, 1):
        expect(page.view(n).locator("#count")).to_have_text("2000")
    assert_views_agree(page, KEYS)
    no_errors(page)


@hosts
def test_two_views_agree_after_writes_from_a_background_thread(doc: Any) -> None:
    page = doc
    page.run(THREAD)  # the cell ends while the thread writes
    assert "joined" in page.run("threads[-1].join()\nprint('joined')")
    for n in (0, 1):
        expect(page.view(n).locator("#count")).to_have_text("3000")
    assert_views_agree(page, KEYS)
    no_errors(page)


@hosts
def test_rerunning_the_widget_cell_leaves_no_old_subscriber_and_no_error(doc: Any) -> None:
    page, kind = doc, doc.kind
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
        # marimo's front end reports a message for a model it no longer has only 10 s later
        # ("Model not found for key ..."); the kernel's notifications show it at once: none may
        # reach a model after its close (the re-run closed the old widget's model).
        page.run('store.set_state("demo", "count", 79)')
        for n in (0, 1):
            expect(page.view(n).locator("#count")).to_have_text("79")
        assert "close" in {m for _, m in page.model_messages}, page.model_messages
        assert page.messages_after_close() == [], page.messages_after_close()
    shot(page, f"{kind}-rerun")
    no_errors(page)


# ---- marimo only --------------------------------------------------------------------


@pytest.mark.parametrize("shared_host", ["marimo"], indirect=True)
def test_marimo_a_cells_writes_reach_the_views_when_it_ends(doc: Any) -> None:
    page = doc
    assert page.run("from pytonium_lab.notebook import _marimo\nprint(len(_marimo._hooked_kernels))").strip() == "1"
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


@pytest.mark.parametrize("shared_host", ["marimo"], indirect=True)
def test_marimo_update_message_loop_hears_the_page_in_a_looping_cell(doc: Any) -> None:
    page = doc
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


# marimo's server puts each page message on two multiprocessing queues (control, then the
# mirror that update_message_loop() reads). Their pipes are separate, so the kernel can
# handle the control copy between cells while the mirror copy is still on its way; marimo
# drops that late copy at its next drain. This cell makes that order certain: it holds the
# click's mirror copy until the kernel has handled the control copy, then puts it back.
HOLD_MIRROR_COPY = """
import queue, time
from pytonium_lab.notebook import _marimo
mirror = _marimo._mirror_queue(_marimo._context()._kernel)
mirror.held_by_test, start = [], time.monotonic()
while not mirror.held_by_test and time.monotonic() - start < 20:
    try:
        command = mirror.get(timeout=0.05)
    except queue.Empty:
        continue
    content = getattr(command.message, "content", None)
    if isinstance(content, dict) and content.get("t") == "set":
        mirror.held_by_test.append(command)
    else:
        mirror.put_nowait(command)
print('held', len(mirror.held_by_test))
"""

LATE_COPY_THEN_LOOP = """
import time
from pytonium_lab.notebook import _marimo
mirror = _marimo._mirror_queue(_marimo._context()._kernel)
for command in mirror.held_by_test:
    mirror.put_nowait(command)
time.sleep(0.3)  # the queue's feeder thread has written it
before, start = len(edits), time.monotonic()
while len(edits) == before and time.monotonic() - start < 2:
    a.update_message_loop()
    time.sleep(0.016)
print('heard while looping:', edits[before:])
"""


@pytest.mark.parametrize("shared_host", ["marimo"], indirect=True)
def test_marimo_update_message_loop_skips_a_late_copy_of_a_message_handled_between_cells(doc: Any) -> None:
    """The cause of the looping-cell test's failures beside other tests: a click handled
    between cells was handed over again by the next looping cell (its mirror copy came late)."""
    page = doc
    run = page.start(HOLD_MIRROR_COPY)
    time.sleep(0.5)
    page.view(0).locator("#inc").click()
    assert "held 1" in page.wait(run, 30)
    assert "('demo', 'count', 2)" in page.run_until("print(edits[-1])", "('demo', 'count', 2)")
    out = page.run(LATE_COPY_THEN_LOOP)
    assert "heard while looping: []" in out, out
    assert page.run("print(edits)").strip() == "[('demo', 'count', 1), ('demo', 'count', 2)]"
    no_errors(page)


# ---- JupyterLab and Notebook 7: handlers wait for the cell (issue 7) ----------------------

jupyter = pytest.mark.parametrize("shared_host", ["jupyterlab", "notebook7"], indirect=True)


def start_running_cell(page: Any, code: str) -> tuple[str, int]:
    """Start ``code`` in a new cell of ``page``; returns its run id and cell index once it is running."""
    index = page.page.evaluate("() => window.__lab.cellCount()")
    run = page.start_cell(code)
    time.sleep(1.0)  # the cell is past its setup and blocking by now
    assert not page.settled(run)
    return run, index


@jupyter
def test_a_click_during_a_blocking_cell_runs_its_handler_after_the_cell(doc: Any) -> None:
    """JupyterLab 4.6 and Notebook 7 send widget messages to a subshell thread: handlers still wait."""
    page = doc
    run, index = start_running_cell(
        page,
        "import threading, time\n"
        "heard = []\n"
        "class When:\n"
        "    def update_state(self, namespace, key, value):\n"
        "        heard.append((time.monotonic(), threading.current_thread() is threading.main_thread()))\n"
        "when = store.add_state_handler(When(), ['demo'])\n"
        "time.sleep(4)\n"
        "cell_end = time.monotonic()\n"
        "print('heard during the cell:', len(heard))",
    )
    page.view(0).locator("#inc").click()
    expect(page.view(0).locator("#count")).to_have_text("2")  # the page sees its own write at once
    page.wait(run, 30)
    assert "heard during the cell: 0" in page.output(index)
    out = page.run_until(
        "print('after the cell, on the main thread:', [(t >= cell_end, main) for t, main in heard])",
        "after the cell, on the main thread: [(True, True)]",
    )
    assert "after the cell, on the main thread: [(True, True)]" in out, out
    page.run("when()")
    no_errors(page)


@jupyter
def test_a_cell_looping_on_update_message_loop_hears_a_click_mid_cell(doc: Any) -> None:
    """The spec's loop shape: the page's write runs the handler on the cell's own (main) thread."""
    page = doc
    run, index = start_running_cell(
        page,
        "import threading, time\n"
        "on_main = []\n"
        "class ThreadRecorder:\n"
        "    def update_state(self, namespace, key, value):\n"
        "        on_main.append(threading.current_thread() is threading.main_thread())\n"
        "recorder = store.add_state_handler(ThreadRecorder(), ['demo'])\n"
        "before, start = len(edits), time.monotonic()\n"
        "while len(edits) == before and time.monotonic() - start < 20:\n"
        "    a.update_message_loop()\n"
        "    time.sleep(0.016)\n"
        "recorder()\n"
        "print('heard while looping:', edits[before:], 'on the main thread:', on_main,"
        " 'still looping:', time.monotonic() - start < 20)",
    )
    page.view(0).locator("#inc").click()
    page.wait(run, 30)
    expected = "heard while looping: [('demo', 'count', 2)] on the main thread: [True] still looping: True"
    assert expected in page.output(index), page.output(index)
    no_errors(page)
