"""Window engines: a CEF host subprocess (cef or cefpython3), or a system ``chromium --app``.

All run in their own process group (so closing kills every helper process
the engine forked) and report their end promptly: a CEF host says
``closed`` ~1 ms after the user closes the window; chromium's DevTools pipe
reports its page target destroyed (its process exits 0.1-1 s later). An
engine that hangs or is stopped is noticed too: a CEF host beats every 0.5 s
from its UI thread, chromium answers a DevTools ping every second, and
:data:`HANG_AFTER` seconds of silence count as a hang (the group is killed;
``$PYTONIUM_LAB_HANG_AFTER`` changes it, see :func:`hang_limits`).
Nothing here knows about state: a window only loads a URL. Which engines
exist and work here is ``_engines``' business.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any

from ._cef_runtime import runtime_python
from ._devtools_pipe import PipeDevTools
from ._engines import ENGINES, chromium_executable, require_engine, resolve_engine

__all__ = ["BACKENDS", "LAUNCH_MIN", "WindowProcess", "launch", "resolve_backend"]

log = logging.getLogger("pytonium_lab")

BACKENDS = ENGINES
resolve_backend = resolve_engine  # the name the window code has always used

HANG_AFTER = 5.0
"""Seconds of silence after which a running engine counts as hung (its beats come every 0.5-1 s)."""

START_GRACE = 10.0
"""Seconds an engine may take before its first word (loading CEF, starting its UI thread)."""

HANG_ENV = "PYTONIUM_LAB_HANG_AFTER"
"""Sets :data:`HANG_AFTER` (seconds) for windows opened from then on; the start grace is twice it.
More on a slow machine, less where a hang must show sooner (the fault tests use 1.5)."""


def hang_limits() -> tuple[float, float]:
    """``(hang_after, start_grace)`` in seconds: the defaults, or ``$PYTONIUM_LAB_HANG_AFTER`` and twice it."""
    raw = os.environ.get(HANG_ENV, "").strip()
    if not raw:
        return HANG_AFTER, START_GRACE
    try:
        seconds = float(raw)
    except ValueError:
        seconds = float("nan")
    if not 1.0 <= seconds <= 3600:  # near a beat's period (0.5 s) a busy engine would count as hung
        raise ValueError(f"${HANG_ENV} must be a number of seconds between 1 and 3600, got {raw!r}")
    return seconds, 2 * seconds


LAUNCH_MIN = 50
"""The smallest size (px) an engine is started with. Smaller windows (a 36 px status bar) are
sized down through the window manager once mapped (``_window_control``), on every engine."""


def free_port() -> int:
    """A loopback port that was free a moment ago (for the opt-in DevTools server)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def group_pids(pgid: int) -> set[int]:
    """Live processes of process group ``pgid`` (zombies do not count; Linux /proc)."""
    found: set[int] = set()
    try:
        names = os.listdir("/proc")
    except OSError:
        return found
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            found.add(int(name))
    return found


def _group_alive(pgid: int) -> bool:
    """Whether a process of group ``pgid`` still runs."""
    return bool(group_pids(pgid))


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the parent dies (Linux ``PR_SET_PDEATHSIG``).

    Chromium does not read stdin, so this is what keeps a window from outliving
    a Python process that was killed. The signal follows the *thread* that
    forked, hence :func:`_spawn` forks from one long-lived thread.
    """
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _child_preparer(setup: Any) -> Any:
    """The ``preexec_fn`` of a window: die with the parent, then the engine's own ``setup``."""
    if setup is None:
        return _die_with_parent

    def prepare() -> None:
        _die_with_parent()
        setup()

    return prepare


class _Spawner:
    """One daemon thread that lives as long as the process and forks every window."""

    def __init__(self) -> None:
        self._jobs: list[tuple[Future[subprocess.Popen[bytes]], list[str], dict[str, Any]]] = []
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def popen(self, command: list[str], **options: Any) -> subprocess.Popen[bytes]:
        future: Future[subprocess.Popen[bytes]] = Future()
        with self._wake:
            self._jobs.append((future, command, options))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="pytonium-spawner", daemon=True)
                self._thread.start()
            self._wake.notify()
        return future.result()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._jobs:
                    self._wake.wait()
                future, command, options = self._jobs.pop(0)
            try:
                setup = options.pop("child_setup", None)
                # No Popen option sets PR_SET_PDEATHSIG, hence preexec_fn; and every fork happens
                # on this one thread, the thread the death signal follows.
                preexec = _child_preparer(setup)
                future.set_result(subprocess.Popen(command, preexec_fn=preexec, **options))  # noqa: PLW1509
            except BaseException as exc:  # handed to the caller
                future.set_exception(exc)


_spawner = _Spawner()


class WindowProcess:
    """One window's process group; ``alive`` turns false as soon as the window is gone (or hangs)."""

    backend = "?"

    speaks = True
    """Whether the engine reports on stdout (a CEF host) or only by exiting (chromium)."""

    title: str | None = None
    """The page's title as the engine last reported it, for engines that do not title their window."""

    on_title: Callable[[str], None] | None = None
    """Called with each such title (the window control writes it to the window)."""

    def __init__(self, command: list[str], *, devtools_port: int | None, workdir: str, **spawn: Any) -> None:
        self.devtools_port = devtools_port
        self.workdir = workdir
        self.hung: str | None = None
        """Why the engine was taken for hung and killed (``None`` while it answers)."""
        self.x_window: int | None = None
        """The X11 window id, when the engine tells it (the CEF hosts do)."""
        # The engine's stderr for the window's whole life: close() closes it.
        self._errors = open(os.path.join(workdir, "stderr.log"), "wb")  # noqa: SIM115
        self.process = _spawner.popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE if self.speaks else self._errors,
            stderr=self._errors,
            cwd=workdir,  # the engine's own files (CEF's error.log, its profile) stay out of the user's folder
            start_new_session=True,  # own process group: killpg reaps the engine's helpers
            **spawn,
        )
        self._alive = True
        self._gone = threading.Event()
        self.ready = threading.Event()
        self._heard: float | None = None  # monotonic time of the engine's last word
        self._started = time.monotonic()
        self.hang_after, self.start_grace = hang_limits()
        threading.Thread(target=self._watch, name=f"pytonium-{self.backend}-watch", daemon=True).start()
        threading.Thread(target=self._watch_hang, name=f"pytonium-{self.backend}-hang", daemon=True).start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def is_alive(self) -> bool:
        return self._alive

    def _watch(self) -> None:
        """Read the engine's stdout until it ends (or wait for its exit); subclasses react to lines."""
        if self.process.stdout is not None:
            for line in self.process.stdout:
                self._heard = time.monotonic()
                self._on_line(line)
        else:
            self.process.wait()
        self._ended()

    def _on_line(self, line: bytes) -> None:
        pass

    def _watch_hang(self) -> None:
        """Kill the engine when it falls silent: a hang or a stop must not leave the caller waiting."""
        while not self._gone.wait(0.2):
            if not self._alive:
                continue
            now = time.monotonic()
            if self._heard is None:
                silent, limit = now - self._started, self.start_grace
            else:
                silent, limit = now - self._heard, self.hang_after
            if silent > limit:
                when = "since it started" if self._heard is None else "after it ran"
                self.hung = (
                    f"the {self.backend} engine (pid {self.pid}) said nothing for {silent:.1f} s ({when}): "
                    "hung or stopped, so it was killed"
                )
                log.warning("%s", self.hung)
                self._alive = False
                self.ready.set()
                self._kill_group()
                return

    def _ended(self) -> None:
        self._alive = False
        self.ready.set()  # wake anyone waiting for a start that will not come
        try:
            self.process.wait(2)
        except subprocess.TimeoutExpired:
            pass
        self._kill_group()
        # A throw-away engine profile is megabytes: drop it now, not at shutdown().
        shutil.rmtree(os.path.join(self.workdir, "profile"), ignore_errors=True)
        self._gone.set()

    def _kill_group(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            log.warning("window process %d did not exit after SIGKILL", self.process.pid)
        # The engine's helpers (renderer, zygote, GPU) are not our children: wait
        # until the kernel has taken them too, so "closed" means no process is left.
        deadline = time.monotonic() + 2
        while _group_alive(self.process.pid) and time.monotonic() < deadline:
            time.sleep(0.005)

    def close(self, timeout: float = 2.0) -> None:
        """Ask the window to close, then kill what is left of its process group."""
        if self._alive:
            self._ask_close()
        if not self._gone.wait(timeout):
            self._alive = False
            self._kill_group()
            self._gone.wait(5)
        self._errors.close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _ask_close(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)

    def navigate(self, url: str, inject: str | None = None) -> None:
        """Load ``url`` in the window (``inject``: the runtime for allowed origins, kept for later pages)."""
        raise NotImplementedError(f"load_url: the {self.backend} engine cannot load another URL")

    def _engine_title(self, title: str) -> None:
        """A title the engine reports itself (an engine that does not write it to its window)."""
        self.title = title
        if self.on_title is not None:
            self.on_title(title)

    def error_tail(self, limit: int = 2000) -> str:
        """The end of the engine's stderr, for error messages."""
        try:
            return Path(self.workdir, "stderr.log").read_text(errors="replace")[-limit:]
        except OSError:
            return ""


class _HostWindow(WindowProcess):
    """A CEF host subprocess speaking ``_host_channel``'s JSON lines (ready, beat, closed; close)."""

    host_script = ""
    """The host's file, next to this one."""

    def host_python(self) -> str:
        """The Python that runs the host script."""
        return sys.executable

    def __init__(
        self,
        url: str,
        width: int,
        height: int,
        title: str | None,
        debug: bool,
        devtools_port: int | None,
        inject: str | None = None,
    ) -> None:
        if debug and not devtools_port:
            devtools_port = free_port()
        workdir = tempfile.mkdtemp(prefix=f"pytonium-{self.backend}-")
        inject_file = None
        if inject is not None:
            inject_file = os.path.join(workdir, "inject.js")
            Path(inject_file).write_text(inject, encoding="utf-8")
        config = {
            "url": url,
            "width": width,
            "height": height,
            "title": title,
            "debug": debug,
            "devtools_port": devtools_port if debug else None,
            "inject_file": inject_file,
        }
        host = str(Path(__file__).with_name(self.host_script))
        super().__init__(
            [self.host_python(), host, json.dumps(config)],
            devtools_port=devtools_port if debug else None,
            workdir=workdir,
        )

    def _on_line(self, line: bytes) -> None:
        try:
            message = json.loads(line)
        except ValueError:
            return
        event = message.get("event")
        if event == "ready":
            self.x_window = message.get("window") or None
            self.ready.set()
        elif event == "closed":
            self._alive = False
        elif event == "title":
            self._engine_title(str(json.loads(line).get("title", "")))

    def _command(self, line: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + b"\n")
        self.process.stdin.flush()

    def navigate(self, url: str, inject: str | None = None) -> None:
        try:
            self._command(json.dumps({"load": url, "inject": inject}).encode())
        except (OSError, ValueError):
            raise RuntimeError("load_url: the CEF window has closed") from None

    def _ask_close(self) -> None:
        try:
            self._command(b"close")
        except (OSError, ValueError):
            super()._ask_close()


class CefWindow(_HostWindow):
    """CEF 131 (cef-capi-py) in ``_cef_host.py`` on this very Python."""

    backend = "cef"
    host_script = "_cef_host.py"


class Cefpython3Window(_HostWindow):
    """CEF 66 (cefpython3) in ``_cefpython3_host.py`` on the cached Python 3.7 runtime (``setup-cef``)."""

    backend = "cefpython3"
    host_script = "_cefpython3_host.py"

    def host_python(self) -> str:
        python = runtime_python()
        assert python is not None, "launch() checks the engine first"
        return str(python)


class ChromiumWindow(WindowProcess):
    """Debian's ``chromium --app=URL`` with a throw-away profile, driven over a private DevTools pipe."""

    backend = "chromium"
    speaks = False  # nothing on stdout: the DevTools pipe tells the close

    def __init__(
        self,
        url: str,
        width: int,
        height: int,
        title: str | None,
        debug: bool,
        devtools_port: int | None,
        inject: str | None = None,
    ) -> None:
        executable = chromium_executable()
        assert executable is not None, "launch() checks the engine first"
        workdir = tempfile.mkdtemp(prefix="pytonium-chromium-")
        command = [
            # With a script to inject, the page is opened once the script is in place.
            executable,
            f"--app={url if inject is None else 'about:blank'}",
            f"--user-data-dir={workdir}/profile",
            f"--window-size={width},{height}",
            "--window-position=0,0",
            "--no-sandbox",
            "--test-type",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-gpu",
            "--password-store=basic",
            "--disable-features=Translate,MediaRouter",
        ]
        if os.environ.get("DISPLAY"):
            command.append("--ozone-platform=x11")  # an X11 window, steerable through the WM (_x11.py)
        if debug:
            command.append(f"--remote-debugging-port={devtools_port or 0}")
        command.append("--remote-debugging-pipe")  # private: tells the close at once, injects scripts
        self._pages: set[str] = set()
        self._session: str | None = None  # the DevTools session on the window's page, once attached
        self._scripts: set[str] = set()  # scripts already run in every new document
        self._pipe = PipeDevTools(on_event=self._on_devtools_event)
        super().__init__(
            command,
            devtools_port=devtools_port,
            workdir=workdir,
            child_setup=self._pipe.child_setup,
            pass_fds=self._pipe.pass_fds,
        )
        self.ready.set()  # the page's first hello tells more
        self._pipe.started()
        threading.Thread(target=self._ping, name="pytonium-chromium-ping", daemon=True).start()
        try:
            self._pipe.send("Target.setDiscoverTargets", {"discover": True})
        except RuntimeError:
            pass  # chromium is already gone: its exit tells (_watch)
        if inject is not None:
            self._open_with_script(url, inject)
        if debug and not devtools_port:
            self.devtools_port = self._read_devtools_port(Path(workdir, "profile", "DevToolsActivePort"))

    def _ping(self) -> None:
        """Ask chromium something every second (more often for a short hang limit): its answers are
        the beats ``_watch_hang`` listens for."""
        while self._alive:
            try:
                self._pipe.call("Browser.getVersion", timeout=self.hang_after + 1)
            except (TimeoutError, FutureTimeout):
                continue  # silent: _watch_hang decides
            except RuntimeError:
                return  # the pipe is closed: the exit tells
            self._heard = time.monotonic()
            time.sleep(min(1.0, self.hang_after / 4))

    def _on_devtools_event(self, method: str, params: dict[str, Any]) -> None:
        """Track the window's pages: when the last one is gone, the user closed the window."""
        if method == "Target.targetCreated" and params["targetInfo"]["type"] == "page":
            self._pages.add(params["targetInfo"]["targetId"])
        elif method == "Target.targetDestroyed" and params["targetId"] in self._pages:
            self._pages.discard(params["targetId"])
            if not self._pages:
                self._alive = False

    def _open_with_script(self, url: str, script: str) -> None:
        """Have ``script`` run at the start of every document of the window's page, then open ``url``."""
        try:
            self.navigate(url, script)
        except RuntimeError as exc:
            tail = self.error_tail()
            self.close(0)
            why = self.hung or exc  # a stopped chromium shows no page either: say that it hung
            raise RuntimeError(f"chromium could not open {url!r} with the runtime in place: {why}\n{tail}") from None

    def navigate(self, url: str, inject: str | None = None, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        try:
            if self._session is None:
                while not self._pages:  # filled by Target.targetCreated (_on_devtools_event)
                    if time.monotonic() > deadline or not self._alive:
                        raise RuntimeError("chromium showed no page to open")
                    time.sleep(0.01)
                page = next(iter(set(self._pages)))
                self._session = self._pipe.call("Target.attachToTarget", {"targetId": page, "flatten": True})[
                    "sessionId"
                ]
                self._pipe.call("Page.enable", session=self._session)  # scripts for new documents need it
            if inject is not None and inject not in self._scripts:
                self._pipe.call("Page.addScriptToEvaluateOnNewDocument", {"source": inject}, session=self._session)
                self._scripts.add(inject)
            self._pipe.call("Page.navigate", {"url": url}, session=self._session)
        except (TimeoutError, KeyError) as exc:
            raise RuntimeError(f"chromium could not open {url!r}: {exc}") from None

    def close(self, timeout: float = 2.0) -> None:
        super().close(timeout)
        self._pipe.close()

    def _read_devtools_port(self, path: Path, timeout: float = 10.0) -> int | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._alive:
            try:
                return int(path.read_text().split()[0])
            except (OSError, ValueError, IndexError):
                time.sleep(0.02)
        return None


_KINDS: dict[str, type[CefWindow | ChromiumWindow | Cefpython3Window]] = {
    "cef": CefWindow,
    "chromium": ChromiumWindow,
    "cefpython3": Cefpython3Window,
}


def launch(
    backend: str,
    url: str,
    width: int,
    height: int,
    *,
    title: str | None = None,
    debug: bool = False,
    devtools_port: int | None = None,
    inject: str | None = None,
) -> WindowProcess:
    """Open a window showing ``url``. Fails at once, with the reason, when no display is available.

    ``inject`` is a script the engine runs as every top-level document starts
    (the runtime for pages of allowed origins).
    """
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise RuntimeError(
            "cannot open a desktop window: DISPLAY is not set (no X server); "
            "run under a desktop session or Xvfb (e.g. `xvfb-run python app.py`)"
        )
    engine = resolve_engine(backend)
    hang_limits()  # a bad $PYTONIUM_LAB_HANG_AFTER fails before any file or pipe is made
    for name, number in (("width", width), ("height", height)):
        if type(number) is not int or not LAUNCH_MIN <= number <= 16384:
            raise ValueError(f"{name} must be an int between {LAUNCH_MIN} and 16384, got {number!r}")
    require_engine(engine)
    kind = _KINDS[engine]
    if devtools_port is None and os.environ.get("PYTONIUM_LAB_DEVTOOLS_PORT"):
        devtools_port, debug = int(os.environ["PYTONIUM_LAB_DEVTOOLS_PORT"]), True
    return kind(url, width, height, title, debug, devtools_port, inject)
