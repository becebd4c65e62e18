"""One store shared through Redis: a JupyterLab view in one process, a desktop window in another.

The notebook's kernel and a plain Python process both call ``StateStore.connect(url, "lab")``
on a redis-server of this test. A write in a notebook cell shows in the window (read through
DevTools), a write in the other process shows in the notebook view, and at the end both show
the same value.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

TESTS = Path(__file__).parents[1]
sys.path.insert(0, str(TESTS))  # the desktop helpers, as pytest names them

from desktop.helpers import wait_for  # noqa: E402

PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>shared</title></head><body>
<p>n: <span id="n">--</span></p>
<script>
function onReady() {
  const n = Pytonium.appState.getState("demo", "n");
  if (n !== undefined && n !== null) document.getElementById("n").textContent = n;
  Pytonium.appState.registerForStateUpdates("nChanged", ["demo"], false, true);
  window.addEventListener("nChanged", (e) => {
    if (e.detail.key === "n") document.getElementById("n").textContent = e.detail.value;
  });
}
if (window.PytoniumReady) onReady(); else window.addEventListener("PytoniumReady", onReady);
</script></body></html>"""

SHOWN = "document.getElementById('n').textContent"

# The other process: a desktop window on the shared store, read through DevTools (here: the test's
# main thread runs Playwright's loop). Commands on stdin, one answer line each:
# "set N" (a write of this process), "get" (its store's value), "shown" (what the window shows),
# "wait N" (until the window shows N), "quit".
WINDOW = r"""
import json, sys
sys.path.insert(0, sys.argv[3])
from desktop.helpers import DevTools
from pytonium_lab import Pytonium, StateStore
url, folder = sys.argv[1], sys.argv[2]
SHOWN = "document.getElementById('n').textContent"
store = StateStore.connect(url, "lab")
p = Pytonium(store, backend="chromium", debug=True)
p.add_custom_scheme("app", folder)
p.initialize("app://shared.html", 400, 300)
tools = DevTools(p.devtools_port)
print("ready", flush=True)
for line in sys.stdin:
    words = line.split()
    try:
        if words[0] == "set":
            store.set_state("demo", "n", int(words[1]))
            print("done", flush=True)
        elif words[0] == "get":
            print("value", store.get_state("demo", "n"), flush=True)
        elif words[0] == "shown":
            print("shown", tools.eval(SHOWN), flush=True)
        elif words[0] == "wait":
            tools.wait(SHOWN + " === " + json.dumps(words[1]), 15)
            print("shown", tools.eval(SHOWN), flush=True)
        elif words[0] == "quit":
            break
    except Exception as exc:
        print("error", repr(exc).replace(chr(10), " "), flush=True)
tools.close()
p.shutdown()
store.close()
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A redis-server on a free loopback port, its files in a temp folder, stopped after the test."""
    import redis

    exe = shutil.which("redis-server")
    if exe is None:
        pytest.fail("redis-server is missing: apt-get install -y redis-server (scripts/setup.sh installs it)")
    folder = tmp_path / "redis"
    folder.mkdir()
    port = _free_port()
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    try:
        wait_for(lambda: _pings(client), 10, f"redis-server on port {port}", every=0.02)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        proc.terminate()
        proc.wait(10)


def _pings(client: object) -> bool:
    import redis

    try:
        return bool(client.ping())  # type: ignore[attr-defined]
    except redis.ConnectionError:
        return False


@pytest.fixture
def display() -> Iterator[str]:
    """Our own Xvfb for the window process (as tests/desktop/conftest.py's ``xvfb`` starts it)."""
    if shutil.which("Xvfb") is None:
        pytest.fail("Xvfb is not installed (apt-get install xvfb): the window needs a real X server")
    number = next(
        n
        for n in range(90, 200)
        if not os.path.exists(f"/tmp/.X11-unix/X{n}") and not os.path.exists(f"/tmp/.X{n}-lock")
    )
    proc = subprocess.Popen(
        ["Xvfb", f":{number}", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: os.path.exists(f"/tmp/.X11-unix/X{number}") or proc.poll() is not None, 10, "Xvfb")
        assert proc.poll() is None, f"Xvfb :{number} did not start"
        yield f":{number}"
    finally:
        proc.terminate()
        proc.wait(5)


class WindowProcess:
    def __init__(self, url: str, folder: Path, display: str) -> None:
        if shutil.which("chromium") is None:
            pytest.fail("chromium is not installed (apt-get install chromium)")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WINDOW, url, str(folder), str(TESTS)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=dict(os.environ, DISPLAY=display),
        )
        assert self.line().strip() == "ready"

    def line(self) -> str:
        line = self.proc.stdout.readline()  # type: ignore[union-attr]
        if not line:
            raise AssertionError(f"the window process ended (exit code {self.proc.wait(10)})")
        return line

    def send(self, command: str) -> str:
        self.proc.stdin.write(command + "\n")  # type: ignore[union-attr]
        self.proc.stdin.flush()  # type: ignore[union-attr]
        return self.line().strip()

    def close(self) -> None:
        try:
            self.send("quit")
        except (AssertionError, OSError):
            pass
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def test_a_notebook_view_and_a_window_of_another_process_show_one_shared_store(
    notebook, redis_url: str, display: str, tmp_path: Path
) -> None:
    page = tmp_path / "shared.html"
    page.write_text(PAGE)
    lab = notebook(
        [
            f"""
from pytonium_lab import StateStore, StateWidget
store = StateStore.connect({redis_url!r}, "lab")
store.set_state("demo", "n", 1)
StateWidget(store, {str(page)!r}, height=80)
"""
        ]
    )
    expect(lab.view(0).locator("#n")).to_have_text("1", timeout=20_000)

    window = WindowProcess(redis_url, tmp_path, display)
    try:
        assert window.send("wait 1") == "shown 1"  # joined late: the window starts from the shared state

        # A notebook cell writes: the window of the other process shows it.
        lab.run('store.set_state("demo", "n", 2)')
        expect(lab.view(0).locator("#n")).to_have_text("2")
        assert window.send("wait 2") == "shown 2"
        assert window.send("get") == "value 2"

        # The other process writes: the notebook's view shows it, and the kernel's store holds it.
        assert window.send("set 3") == "done"
        assert window.send("wait 3") == "shown 3"
        expect(lab.view(0).locator("#n")).to_have_text("3", timeout=10_000)
        assert "n = 3" in lab.run_until("print('n =', store.get_state('demo', 'n'))", "n = 3")

        # A burst from both sides ends in one value, shown by both views.
        lab.run('for i in range(10, 20): store.set_state("demo", "n", i)')
        for i in range(20, 30):
            window.send(f"set {i}")
        time.sleep(0.5)
        final = window.send("get").split()[1]
        assert final == "29"  # the cell had finished (set_state returns once Redis ordered it)
        assert "n = " + final in lab.run_until("print('n =', store.get_state('demo', 'n'))", "n = " + final)
        expect(lab.view(0).locator("#n")).to_have_text(final, timeout=10_000)
        assert window.send(f"wait {final}") == f"shown {final}"
        assert window.send("shown") == f"shown {lab.view(0).locator('#n').text_content()}"
    finally:
        window.close()
    lab.run("store.close()")
