"""StateWidget in a real JupyterLab: cells drive pages, pages drive Python handlers."""

from __future__ import annotations

import time
from pathlib import Path

from cells import COUNTER, RECORDING_STORE
from playwright.sync_api import expect

PAGES = Path(__file__).parent / "pages"
SETUP = RECORDING_STORE + f"widget = StateWidget(store, {COUNTER!r}, height=120)\nwidget\n"


def test_cell_set_state_changes_the_page(notebook) -> None:
    lab = notebook([SETUP])
    expect(lab.view(0).locator("#count")).to_have_text("1", timeout=20_000)
    lab.run('store.set_state("demo", "count", 41)')
    expect(lab.view(0).locator("#count")).to_have_text("41")


def test_click_in_the_page_reaches_a_python_handler(notebook) -> None:
    lab = notebook([SETUP])
    lab.wait_view_ready(0)
    lab.view(0).locator("#inc").click()
    expect(lab.view(0).locator("#count")).to_have_text("2")
    out = lab.run_until("print(edits[-1], store.get_state('demo', 'count'))", "('demo', 'count', 2) 2")
    assert "('demo', 'count', 2) 2" in out


def start_running_cell(notebook, code: str) -> tuple:
    """The SETUP notebook with its view ready, and ``code`` running in a new cell (not yet done)."""
    lab = notebook([SETUP])
    lab.wait_view_ready(0)
    run = lab.start_cell(code)
    time.sleep(1.0)  # the cell is in its loop by now
    assert not lab.settled(run)
    return lab, run


def test_a_click_reaches_a_handler_while_a_cell_awaits(notebook) -> None:
    """During an ``await`` the kernel handles comm messages: the cell itself sees the edit."""
    lab, run = start_running_cell(
        notebook,
        "import asyncio, time\n"
        "before, start = len(edits), time.monotonic()\n"
        "while len(edits) == before and time.monotonic() - start < 20:\n"
        "    await asyncio.sleep(0.01)\n"
        "print('seen while awaiting:', edits[before:])",
    )
    lab.view(0).locator("#inc").click()
    lab.wait(run, 30)
    assert "seen while awaiting: [('demo', 'count', 2)]" in lab.output(1)


def test_a_cell_that_blocks_hears_the_page_through_update_message_loop(notebook) -> None:
    """The spec's loop shape: the page's write runs the handler on the cell's own thread, mid-cell."""
    lab, run = start_running_cell(
        notebook,
        "import threading, time\n"
        "threads = []\n"
        "class ThreadRecorder:\n"
        "    def update_state(self, namespace, key, value):\n"
        "        threads.append(threading.current_thread() is threading.main_thread())\n"
        "store.add_state_handler(ThreadRecorder(), ['demo'])\n"
        "before, start = len(edits), time.monotonic()\n"
        "while len(edits) == before and time.monotonic() - start < 20:\n"
        "    widget.update_message_loop()\n"
        "    time.sleep(0.016)\n"
        "print('heard while blocking:', edits[before:], 'on the main thread:', threads)",
    )
    lab.view(0).locator("#inc").click()
    lab.wait(run, 30)
    assert "heard while blocking: [('demo', 'count', 2)] on the main thread: [True]" in lab.output(1)


def test_a_click_during_a_blocking_cell_runs_its_handler_after_the_cell(notebook) -> None:
    """JupyterLab sends widget messages to a subshell thread; handlers must still wait for the cell."""
    lab, run = start_running_cell(
        notebook,
        "import threading, time\n"
        "heard = []\n"
        "class When:\n"
        "    def update_state(self, namespace, key, value):\n"
        "        heard.append((time.monotonic(), threading.current_thread() is threading.main_thread()))\n"
        "store.add_state_handler(When(), ['demo'])\n"
        "time.sleep(4)\n"
        "cell_end = time.monotonic()\n"
        "print('heard during the cell:', len(heard))",
    )
    lab.view(0).locator("#inc").click()
    expect(lab.view(0).locator("#count")).to_have_text("2")
    lab.wait(run, 30)
    assert "heard during the cell: 0" in lab.output(1)
    out = lab.run_until(
        "print('after the cell, on the main thread:', [(t >= cell_end, main) for t, main in heard])",
        "after the cell, on the main thread: [(True, True)]",
    )
    assert "[(True, True)]" in out


def test_the_kernel_shows_busy_while_a_blocking_cell_hears_the_page(notebook) -> None:
    lab, run = start_running_cell(
        notebook,
        "import time\n"
        "before, start = len(edits), time.monotonic()\n"
        "while len(edits) < before + 3 and time.monotonic() - start < 30:\n"
        "    widget.update_message_loop()\n"
        "    time.sleep(0.016)\n",
    )
    status = "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status"
    for clicks in (1, 2):
        lab.view(0).locator("#inc").click()
        expect(lab.view(0).locator("#count")).to_have_text(str(1 + clicks))
        time.sleep(0.8)  # the kernel has handled the page's message by now (typically < 20 ms)
        seen = []
        for _ in range(5):
            seen.append(lab.page.evaluate(status))
            time.sleep(0.05)
        assert seen == ["busy"] * 5, f"the kernel looked {seen} while the cell ran"
    assert not lab.settled(run)
    lab.view(0).locator("#inc").click()
    lab.wait(run, 30)
    lab.page.wait_for_function(f"() => ({status})() === 'idle'", timeout=10_000)


def test_views_of_one_store_stay_in_sync(notebook) -> None:
    lab = notebook([SETUP, f"other = StateWidget(store, {COUNTER!r}, height=120)\nother", "display(widget)"])
    for n in range(3):
        lab.wait_view_ready(n)
    lab.view(1).locator("#inc").click()
    lab.view(2).locator("#inc").click()
    for n in range(3):
        expect(lab.view(n).locator("#count")).to_have_text("3")
    lab.run('store.set_state("demo", "count", 10)')
    for n in range(3):
        expect(lab.view(n).locator("#count")).to_have_text("10")
    assert "[1, 2, 3, 10]" in lab.run_until("print([v for _, _, v in edits])", "[1, 2, 3, 10]")


def test_reloading_the_browser_page_restores_the_state(notebook) -> None:
    lab = notebook([SETUP])
    lab.wait_view_ready(0)
    lab.view(0).locator("#inc").click()
    lab.run(
        'store.set_state("demo", "note", "kept")\nstore.set_state("demo", "count", store.get_state("demo", "count") + 5)'
    )
    expect(lab.view(0).locator("#count")).to_have_text("7")
    lab.save()
    lab.reload()
    lab.wait_view_ready(0)
    expect(lab.view(0).locator("#count")).to_have_text("7")
    assert lab.view_eval(0, "() => Pytonium.appState.getState('demo', 'note')") == "kept"


def test_a_view_that_misses_a_batch_resynchronises_from_a_snapshot(notebook) -> None:
    lab = notebook([SETUP])
    lab.wait_view_ready(0)
    lab.run(
        "widget.send = lambda *args, **kwargs: None  # the next batch is lost on its way\n"
        "store.set_state('demo', 'count', 50)\n"
        "widget.flush()\n"
        "del widget.send  # the class's send again\n"
        "store.set_state('demo', 'note', 'after the gap')"
    )
    # Only the batch after the gap reached the view: seeing its number skip, the view asked
    # for a snapshot, which carries the lost change too.
    expect(lab.view(0).locator("#count")).to_have_text("50")
    assert lab.view_eval(0, "() => Pytonium.appState.getState('demo', 'note')") == "after the gap"


def test_a_cell_of_100000_writes_stays_under_the_iopub_limit(notebook) -> None:
    lab = notebook([SETUP])
    lab.wait_view_ready(0)
    lab.view_eval(
        0,
        """() => window.addEventListener("countChanged", (e) => {
            if (e.detail.value === 99999) window.finalAt = performance.timeOrigin + performance.now();
        })""",
    )
    lab.run("sent = []\n_send = widget.send\nwidget.send = lambda m: (sent.append(m['t']), _send(m))")
    lab.run("import time\nfor i in range(100_000):\n    store.set_state('demo', 'count', i)\nend = time.time()")
    expect(lab.view(0).locator("#count")).to_have_text("99999", timeout=5_000)
    out = lab.run("print(len(sent), end)").split()
    assert int(out[0]) < 200, out  # ~60 batches a second while the loop runs, not 100,000 messages
    assert "IOPub message rate exceeded" not in lab.page.locator(".jp-Notebook").inner_text()
    shown_ms = lab.view_eval(0, "() => window.finalAt") - float(out[1]) * 1000
    assert shown_ms < 300, shown_ms  # the cell-end flush: ~tens of ms (bench/widget.py measures it)


BAD_CALLS = [
    "() => Pytonium.appState.setState('demo', 'count', undefined)",
    "() => Pytonium.appState.setState('demo', 'count', () => 1)",
    "() => Pytonium.appState.setState('demo', 'count', NaN)",
    "() => Pytonium.appState.setState('demo', 'count', {a: [1, new Map()]})",
    "() => Pytonium.appState.setState('demo', 'count', new Date())",
    "() => { const o = {}; o.self = o; Pytonium.appState.setState('demo', 'count', o); }",
    "() => Pytonium.appState.setState('', 'count', 1)",
    "() => Pytonium.appState.setState('demo', 7, 1)",
]


def test_bad_set_state_calls_throw_in_the_page_and_change_nothing(notebook) -> None:
    lab = notebook([SETUP])
    lab.wait_view_ready(0)
    for call in BAD_CALLS:
        result = lab.view_eval(
            0, f"() => {{ try {{ ({call})(); return 'no error'; }} catch (e) {{ return e.name + ': ' + e.message; }} }}"
        )
        assert result.startswith("TypeError: "), (call, result)
    assert "demo.count" in lab.view_eval(
        0,
        "() => { try { Pytonium.appState.setState('demo', 'count', {a: [1, new Map()]}); } catch (e) { return e.message; } }",
    )
    assert lab.view_eval(0, "() => Pytonium.appState.getState('demo', 'count')") == 1
    lab.view(0).locator("#inc").click()  # a good write after the bad ones still goes through
    out = lab.run_until("print(store.snapshot(), edits)", "('demo', 'count', 2)]")
    assert out.strip() == "{'demo': {'count': 2}} [('demo', 'count', 1), ('demo', 'count', 2)]"


def test_relative_css_js_and_images_render(notebook) -> None:
    page = PAGES / "assets" / "index.html"
    lab = notebook(
        [
            f"from pytonium_lab import StateStore, StateWidget\nStateWidget(StateStore(), {str(page)!r}, height=200, width=260)"
        ]
    )
    view = lab.view(0)
    expect(view.locator("#js")).to_have_text("script ran: function", timeout=20_000)
    box = lab.page.locator("iframe[data-pytonium-view]").first.bounding_box()
    assert box is not None and (round(box["width"]), round(box["height"])) == (260, 200)  # not the output's width
    expect(view.locator("#title")).to_have_css("color", "rgb(200, 30, 40)")
    assert view.locator("#tile").evaluate("e => getComputedStyle(e).backgroundImage").startswith('url("data:image/png')
    view.locator("#logo").evaluate("img => img.decode()")
    assert view.locator("#logo").evaluate("img => [img.naturalWidth, img.naturalHeight]") == [7, 5]


def test_a_write_larger_than_the_websocket_limit_arrives_in_chunks(notebook) -> None:
    lab = notebook([SETUP])
    lab.wait_view_ready(0)
    # 12 MB of JSON: one websocket message over 10 MiB would close the connection and be lost.
    lab.view_eval(0, "() => Pytonium.appState.setState('demo', 'blob', 'x'.repeat(12 * 1024 * 1024))")
    out = lab.run_until("print(len(store.get_state('demo', 'blob') or ''))", str(12 * 1024 * 1024), timeout=30)
    assert out.strip() == str(12 * 1024 * 1024)
    lab.run('store.set_state("demo", "count", 5)')  # the connection survived
    expect(lab.view(0).locator("#count")).to_have_text("5")


ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
BANNER = ".pytonium-lab-disconnected"


def test_a_kernel_restart_disconnects_the_view_until_the_cell_runs_again(notebook) -> None:
    """Issue 7: after a restart the old view says so, refuses writes, and a re-run shows the new store."""
    lab = notebook([SETUP])
    lab.wait_view_ready(0)
    lab.view(0).locator("#inc").click()
    expect(lab.view(0).locator("#count")).to_have_text("2")
    console: list[str] = []  # every frame's console, the view's iframe included
    lab.page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    assert lab.page.locator(BANNER).count() == 0
    # When the banner appears, timed in the page against the moment the restart starts.
    lab.page.evaluate(
        """(sel) => {
            window.__bannerAt = null;
            new MutationObserver((_, obs) => {
                if (document.querySelector(sel)) { window.__bannerAt = performance.now(); obs.disconnect(); }
            }).observe(document.body, { childList: true, subtree: true });
            window.__restartAt = performance.now();
            window.jupyterapp.shell.currentWidget.sessionContext.restartKernel();  // no dialog
        }""",
        BANNER,
    )
    banner = lab.page.locator(BANNER)
    expect(banner).to_be_visible(timeout=10_000)
    shown_ms = lab.page.evaluate("() => window.__bannerAt - window.__restartAt")
    print(f"banner shown {shown_ms:.0f} ms after the restart started")
    assert shown_ms < 1000, shown_ms
    expect(banner).to_have_text("Disconnected from the kernel: re-run the cell to reconnect")
    ARTIFACTS.mkdir(exist_ok=True)
    lab.page.locator(".pytonium-lab-view").first.screenshot(path=str(ARTIFACTS / "widget-disconnected.png"))
    # The banner covers the page: a click lands on it, not in the page.
    on_top = lab.page.evaluate(
        """(sel) => { const r = document.querySelector('iframe[data-pytonium-view]').getBoundingClientRect();
            const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
            return !!(hit && hit.closest(sel)); }""",
        BANNER,
    )
    assert on_top
    # The page knows, and refuses writes with an error naming the key; its mirror is unchanged.
    expect_page = "() => Pytonium.appState.disconnected"
    deadline = time.monotonic() + 5
    while not lab.view_eval(0, expect_page) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert lab.view_eval(0, expect_page) is True
    result = lab.view_eval(
        0,
        "() => { try { Pytonium.appState.setState('demo', 'count', 99); return 'no error'; } catch (e) { return e.message; } }",
    )
    assert "setState(demo.count) refused: this view is disconnected" in result, result
    assert lab.view_eval(0, "() => Pytonium.appState.getState('demo', 'count')") == 2
    deadline = time.monotonic() + 5
    while not any("demo.count" in c and "disconnected" in c for c in console) and time.monotonic() < deadline:
        time.sleep(0.05)
    refused = [c for c in console if "demo.count" in c and "disconnected" in c]
    assert refused and refused[0].startswith("error: "), console
    # Re-running the cells makes a new store and a new, live view that shows it.
    lab.page.wait_for_function("() => window.__lab.ready()", timeout=30_000)
    lab.run_all()
    expect(lab.view(0).locator("#count")).to_have_text("1", timeout=20_000)
    assert lab.page.locator(BANNER).count() == 0
    lab.run('store.set_state("demo", "count", 5)')
    expect(lab.view(0).locator("#count")).to_have_text("5")
    assert lab.view_eval(0, "() => Pytonium.appState.disconnected") is False
    lab.view(0).locator("#inc").click()
    assert "[1, 5, 6]" in lab.run_until("print([v for _, _, v in edits])", "[1, 5, 6]")
