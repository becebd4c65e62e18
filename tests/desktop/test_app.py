"""``pytonium-lab app notebook.ipynb``: a notebook run as a desktop app, in real windows and a real kernel.

Each test starts the command as a user would (the installed ``pytonium-lab``
script), reads its terminal output and the X server's windows, and ends it the
way the app is meant to end: the last window closed, a raising cell, Ctrl-C.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from pytonium_lab.desktop._backends import free_port

from .helpers import DevTools, top_windows, wait_for, wm_close, x_click

pytestmark = pytest.mark.e2e

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
COMMAND = Path(sys.executable).with_name("pytonium-lab")

TICKER = """<!DOCTYPE html><html><head><title>ticker</title></head><body><div id="n">--</div><script>
function onReady() {
  let n = 0;
  setInterval(() => Pytonium.appState.setState("demo", "tick", ++n), 100);
}
if (window.PytoniumReady) onReady(); else window.addEventListener("PytoniumReady", onReady);
</script></body></html>"""


class App:
    """One ``pytonium-lab app`` process; its stdout and stderr go to files (read while it runs)."""

    def __init__(self, notebook: Path, logs: Path, *args: str, env: dict[str, str] | None = None) -> None:
        if not COMMAND.exists():
            pytest.fail(f"{COMMAND} is missing: install the package (pip install -e .) so its script exists")
        self.started = time.monotonic()
        self._out = logs / f"{notebook.stem}.stdout"  # not next to the notebook: it may be the repository's
        self._err = logs / f"{notebook.stem}.stderr"
        with open(self._out, "wb") as out, open(self._err, "wb") as err:
            self.proc = subprocess.Popen(
                [str(COMMAND), "app", str(notebook), "--verbose", *args],
                stdout=out,
                stderr=err,
                env=dict(os.environ, **(env or {})),
            )

    @property
    def out(self) -> str:
        return self._out.read_text(errors="replace")

    @property
    def err(self) -> str:
        return self._err.read_text(errors="replace")

    def wait_out(self, text: str, timeout: float = 20.0, stream: str = "out") -> None:
        wait_for(lambda: text in getattr(self, stream) or self.proc.poll() is not None, timeout, repr(text))
        assert text in getattr(self, stream), f"{text!r} not in its {stream}; stdout:\n{self.out}\nstderr:\n{self.err}"

    def ends(self, timeout: float) -> int:
        """Its exit code, once it exited within ``timeout`` seconds (else the test fails, the app is killed)."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"the app did not exit within {timeout} s; stderr:\n{self.err[-3000:]}") from None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def apps(tmp_path):
    """Starts apps; kills what is left of them after the test."""
    started: list[App] = []

    def start(notebook: Path, *args: str, env: dict[str, str] | None = None) -> App:
        started.append(App(notebook, tmp_path, *args, env=env))
        return started[-1]

    yield start
    for app in started:
        app.kill()


def notebook(folder: Path, *cells: str) -> Path:
    path = folder / "app.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(cell) for cell in cells]
    nbformat.write(nb, path)
    return path


def windows_of(display: str) -> list:
    return top_windows(display)


def test_settings_panel_notebook_as_an_app(backend, xvfb, apps):
    """The teaching notebook, unchanged: window, state both ways, prints, the log box's warning, WM close."""
    port = free_port()
    app = apps(NOTEBOOKS / "settings_panel.ipynb", "--backend", backend, env={"PYTONIUM_LAB_DEVTOOLS_PORT": str(port)})
    wait_for(lambda: windows_of(xvfb), 30, "the panel's window")
    mapped = time.monotonic() - app.started
    tools = DevTools(port)
    try:
        # Python -> page: the cell after the display set light and 30 on the open window.
        tools.wait("document.body.className === 'light' && document.getElementById('volume').value === '30'", 20)
        ready = time.monotonic() - app.started
        print(
            f"\n[{backend}] launch to window mapped {mapped:.2f} s, to the page showing the cells' state {ready:.2f} s"
        )
        app.wait_out("Setting changed: volume = 30")  # the handler's print, from a cell
        app.wait_out(
            'warning: cell 2 (panel = StateWidget(store, "web/settings.html", height=190,\u2026) displays a widget '
            "the app does not show: ipywidgets.HTML",
            stream="err",
        )

        # Page -> Python: a real X11 click on the theme toggle runs the kernel's handler, which prints.
        def toggled() -> bool:
            x_click(xvfb, *tools.screen_point("#themeToggle", xvfb))
            try:
                return bool(wait_for(lambda: tools.eval("document.body.className") == "dark", 1))
            except AssertionError:  # an engine may drop input right after load (DESIGN.md): click again
                return False

        wait_for(toggled, 10, "the click on the theme toggle to switch to dark", every=0.2)
        wait_for(lambda: app.out.count("Setting changed: theme = dark") == 2, 10, "the handler's print of the click")
        # And the handler's answer travels back: page write -> kernel handler -> store -> page.
        tools.eval(
            "(() => { const v = document.getElementById('volume'); v.value = 42;"
            " v.dispatchEvent(new Event('input')); })()"
        )
        tools.wait("document.getElementById('status').textContent === 'Python applied volume 42%'")
        app.wait_out("Setting changed: volume = 42")
    finally:
        tools.close()
    closed = time.monotonic()
    wm_close(xvfb)
    assert app.ends(10) == 0, app.err
    print(f"[{backend}] window closed to app exited {time.monotonic() - closed:.2f} s")
    assert "Traceback" not in app.err
    assert windows_of(xvfb) == []


def test_windows_of_every_kind_and_a_cell_that_loops_forever(xvfb, apps, tmp_path):
    """StateWidget, inspector and Pytonium windows; page writes reach a handler while the last cell loops;
    the app lives until the last window closes, then interrupts the loop and exits 0, running atexit."""
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "index.html").write_text(TICKER.replace('"tick"', '"ptick"'))
    path = notebook(
        tmp_path,
        f"""
import atexit, time
from pytonium_lab import Pytonium, StateStore, StateWidget
store = StateStore()
store.persist("state.json")
atexit.register(lambda: store.set_state("demo", "bye", True))  # runs before persist's last write
class Printer:
    def update_state(self, namespace, key, value):
        print(f"handler: {{key}} = {{value}}", flush=True)
store.add_state_handler(Printer(), ["demo"])
view = StateWidget(store, {TICKER!r}, height=200, namespaces=["demo"])
view
""",
        "store.inspector()",
        """
window = Pytonium(store)
window.add_custom_scheme("app", "web")
window.initialize("app://index.html", 400, 200)
""",
        """
print("looping", flush=True)
while True:
    view.update_message_loop()
    window.update_message_loop()
    time.sleep(0.02)
""",
        'print("never")',
    )
    app = apps(path, "--backend", "chromium")
    app.wait_out("looping")
    opened = app.err.count("opened a chromium window")
    assert opened == 3, app.err
    assert "cell 2 (store.inspector()) opened a chromium window" in app.err
    assert "cell 3 (window = Pytonium(store)) opened a chromium window" in app.err
    wait_for(lambda: len(windows_of(xvfb)) == 3, 10, "three windows")
    # The pages' writes reach the handler while the last cell loops (its update_message_loop calls).
    for key in ("tick", "ptick"):  # the StateWidget's page, the Pytonium window's page
        before = app.out.count(f"handler: {key} =")
        wait_for(lambda k=key, n=before: app.out.count(f"handler: {k} =") > n + 5, 10, f"{key}s handled in the loop")
    for left in (2, 1):
        wm_close(xvfb)
        wait_for(lambda left=left: len(windows_of(xvfb)) == left, 10, f"{left} windows left")
        time.sleep(0.3)
        assert app.proc.poll() is None, f"the app ended with windows open; stderr:\n{app.err}"
    closed = time.monotonic()
    wm_close(xvfb)
    assert app.ends(10) == 0, app.err
    print(f"\nlast window closed to app exited (looping cell interrupted) {time.monotonic() - closed:.2f} s")
    assert "never" not in app.out
    assert "Traceback" not in app.err and "KeyboardInterrupt" not in app.err
    saved = json.loads((tmp_path / "state.json").read_text())
    assert saved["state"]["demo"]["bye"] is True, saved  # atexit ran, and persist wrote after it
    assert saved["state"]["demo"]["tick"] > 5, saved


def test_a_raising_cell_stops_the_app_and_its_windows(xvfb, apps, tmp_path):
    path = notebook(
        tmp_path,
        f"""
from pytonium_lab import StateStore, StateWidget
store = StateStore()
StateWidget(store, {TICKER!r}, height=200)
""",
        'total = 1\nraise ValueError("boom")',
        'print("never")',
    )
    app = apps(path, "--backend", "chromium")
    assert app.ends(30) == 1
    assert "opened a chromium window" in app.err
    assert "pytonium-lab app: cell 2 (total = 1) raised ValueError: boom; stopping" in app.err
    assert 'raise ValueError("boom")' in app.err  # the traceback, with its line
    assert "never" not in app.out
    wait_for(lambda: windows_of(xvfb) == [], 5, "no window left")


def test_ctrl_c_stops_the_app_cleanly(xvfb, apps, tmp_path):
    path = notebook(
        tmp_path,
        f"""
import atexit, pathlib, time
from pytonium_lab import StateStore, StateWidget
atexit.register(lambda: pathlib.Path("bye.txt").write_text("bye"))
atexit.register(lambda: print("atexit prints", flush=True))
StateWidget(StateStore(), {TICKER!r}, height=200)
""",
        'print("sleeping", flush=True)\nwhile True:\n    time.sleep(0.05)',
    )
    app = apps(path, "--backend", "chromium")
    app.wait_out("sleeping")
    wait_for(lambda: windows_of(xvfb), 10, "the window")
    app.proc.send_signal(signal.SIGINT)
    assert app.ends(15) == 130
    assert "pytonium-lab app: stopped" in app.err
    assert (tmp_path / "bye.txt").read_text() == "bye"  # the kernel shut down cleanly: atexit ran
    assert "atexit prints" in app.out  # and what it printed then still reached the terminal
    wait_for(lambda: windows_of(xvfb) == [], 5, "no window left")


# ---- no window: the kernel alone -------------------------------------------------------


def test_a_notebook_without_windows_prints_warns_and_fails_by_its_cell(apps, tmp_path):
    path = notebook(
        tmp_path,
        'print("to stdout")\nimport sys\nprint("to stderr", file=sys.stderr)',
        "import ipywidgets\nipywidgets.IntSlider()",
        "\n\n1 / 0",
    )
    app = apps(path)
    assert app.ends(30) == 1
    assert app.out == "to stdout\n"
    err = app.err
    assert "to stderr" in err
    assert "cell 2 (import ipywidgets) displays a widget the app does not show: ipywidgets.IntSlider" in err
    assert "pytonium-lab app: cell 3 (1 / 0) raised ZeroDivisionError: division by zero; stopping" in err
    assert "\x1b[" not in err  # not a terminal: no colour codes in the traceback


def test_a_notebook_without_windows_ends_after_its_last_cell(apps, tmp_path):
    app = apps(notebook(tmp_path, "x = 6 * 7", "print(x)"))
    assert app.ends(30) == 0, app.err
    assert app.out == "42\n"
    assert "the notebook opened no window" in app.err


def test_bad_arguments_exit_2(apps, tmp_path):
    missing = apps(tmp_path / "missing.ipynb")
    assert missing.ends(10) == 2
    assert f"no notebook at {tmp_path / 'missing.ipynb'}" in missing.err
    (tmp_path / "bad.ipynb").write_text("not json")
    bad = apps(tmp_path / "bad.ipynb")
    assert bad.ends(10) == 2
    assert "cannot read" in bad.err and "bad.ipynb" in bad.err
    (tmp_path / "old.ipynb").write_text(json.dumps({"nbformat": 3, "worksheets": []}))
    old = apps(tmp_path / "old.ipynb")
    assert old.ends(10) == 2
    assert "old.ipynb as a notebook: expected the nbformat 4 JSON" in old.err and "got nbformat 3" in old.err
    engine = apps(notebook(tmp_path, "x = 1"), "--backend", "netscape")
    assert engine.ends(10) == 2
    assert "netscape" in engine.err


def test_help_explains_every_option():
    help_text = subprocess.run(
        [str(COMMAND), "app", "--help"], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    for option in ("--width", "--height", "--backend", "--verbose", "cefpython3", "chromium", "Exit codes", "Ctrl-C"):
        assert option in help_text
    assert "``" not in help_text


def test_a_window_that_cannot_open_fails_its_cell(apps, tmp_path):
    """The display hook's error (here: no X server) is the displaying cell's error, not a silent no-show."""
    path = notebook(
        tmp_path,
        "from pytonium_lab import StateStore, StateWidget",
        f"StateWidget(StateStore(), {TICKER!r})",
        'print("never")',
    )
    app = apps(path, env={"DISPLAY": "", "WAYLAND_DISPLAY": ""})
    assert app.ends(30) == 1
    assert "pytonium-lab app: cell 2 (StateWidget(StateStore()," in app.err
    assert "raised RuntimeError: cannot open a desktop window: DISPLAY is not set" in app.err
    assert "never" not in app.out
