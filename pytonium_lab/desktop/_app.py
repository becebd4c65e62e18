"""``pytonium-lab app notebook.ipynb``: a notebook's UI as a desktop app, without a Jupyter server.

The notebook's code cells run, top to bottom, in a real ipykernel subprocess
(started with jupyter_client, on this Python, in the notebook's folder), so
the code behaves as in Jupyter: handlers on the kernel's main thread, comms,
the asyncio loop, top-level ``await``, ``persist()`` flushed at exit. Before
the first cell the command sets the kernel up (``_app_kernel.install``):
every StateWidget the notebook displays opens as a desktop window at that
moment, and the kernel reports each window's opening and closing, and each
other widget it cannot show, on its IOPub channel, which this module reads:

- ``stream`` output (``print``, warnings) goes to this terminal's stdout/stderr;
- a cell that raises stops the app: its traceback, then one line naming the
  cell (its number among the code cells and its first line) and the exception,
  exit code 1;
- once every cell has run, the app lives as long as its windows; when the last
  one closes (or on Ctrl-C / SIGTERM) a cell still running gets a moment to end
  by itself, then is interrupted, and the kernel is shut down cleanly (its
  ``atexit`` hooks, e.g. a ``persist()`` file's last write, run).

Exit codes: 0 after the last window closed (or, without any window, after the
last cell), 1 when a cell raised or the kernel died, 2 for bad arguments, 130
after Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from queue import Empty
from typing import Any, TextIO

from ._app_kernel import MIME

__all__ = ["Cell", "read_cells", "run_app"]

GRACE = 1.0
"""Seconds a running cell gets to end by itself after the last window closed, before it is interrupted."""

READY_TIMEOUT = 60.0
"""Seconds the kernel may take to start."""

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class Cell:
    """A code cell: its number among the notebook's code cells (from 1) and its source."""

    number: int
    source: str

    def describe(self) -> str:
        """``cell 3 (x = 1 / 0)``: how messages name the cell, by its number and its first line."""
        first = next(line.strip() for line in self.source.splitlines() if line.strip())
        if len(first) > 60:
            first = first[:59] + "\u2026"
        return f"cell {self.number} ({first})"


def read_cells(path: Path) -> list[Cell]:
    """The notebook's code cells (empty ones skipped); ``ValueError`` naming the file when it is not a notebook.

    Read as the JSON it is (nbformat 4, the format of every Jupyter since 2015),
    not with nbformat: importing nbformat (its schema validator) took 0.84 s, 40 %
    of the app's launch to its first window here.
    """
    try:
        with open(path, encoding="utf-8") as f:
            notebook = json.load(f)
    except FileNotFoundError:
        raise ValueError(f"no notebook at {path}") from None
    except (OSError, ValueError) as exc:  # not JSON, not UTF-8, a folder, ...
        raise ValueError(f"cannot read {path} as a notebook: {exc}") from None
    if type(notebook) is not dict or notebook.get("nbformat") != 4 or type(notebook.get("cells")) is not list:
        found = notebook.get("nbformat") if type(notebook) is dict else type(notebook).__name__
        raise ValueError(
            f"cannot read {path} as a notebook: expected the nbformat 4 JSON of Jupyter (with a cells list), "
            f"got nbformat {found!r} (open and save it in a current Jupyter to convert it)"
        )
    code = []
    for cell in notebook["cells"]:
        if type(cell) is dict and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            code.append("".join(source) if isinstance(source, list) else str(source))
    return [Cell(number, source) for number, source in enumerate(code, 1) if source.strip()]


class _Stopped(Exception):
    """The app ends: every window closed while a cell was still running."""


class _Failed(Exception):
    """The app ends with an error (already printed)."""


class _App:
    """Runs the cells through a kernel client and follows the kernel's output and windows."""

    def __init__(self, manager: Any, client: Any, out: TextIO, err: TextIO, verbose: bool) -> None:
        self.manager = manager
        self.client = client
        self.out = out
        self.err = err
        self.verbose = verbose
        self.windows: set[int] = set()
        self.opened_any = False
        self.cell: Cell | None = None
        self.running: str | None = None  # msg_id of the execute request the kernel is busy with
        self.errors: list[dict[str, Any]] = []  # the running request's error outputs
        self.color = err.isatty()

    # ---- the kernel's output -------------------------------------------------------

    def say(self, text: str) -> None:
        print(f"pytonium-lab app: {text}", file=self.err, flush=True)

    def where(self) -> str:
        return self.cell.describe() if self.cell is not None else "the kernel"

    def handle(self, message: dict[str, Any]) -> None:
        kind = message["header"]["msg_type"]
        content = message["content"]
        mine = message.get("parent_header", {}).get("msg_id") == self.running
        if kind == "stream":
            stream = self.err if content.get("name") == "stderr" else self.out
            stream.write(content.get("text", ""))
            stream.flush()
        elif kind == "error":
            if mine:
                self.errors.append(content)
            else:  # not a cell's (a display from a handler): shown, the app goes on
                self.print_traceback(content)
        elif kind == "display_data" and MIME in content.get("data", {}):
            self.event(content["data"][MIME])
        elif kind == "status" and mine and content.get("execution_state") == "idle":
            self.running = None

    def event(self, event: dict[str, Any]) -> None:
        what = event.get("event")
        if what == "opened":
            self.windows.add(event["window"])
            self.opened_any = True
            if self.verbose:
                self.say(f"{self.where()} opened a {event.get('engine')} window ({len(self.windows)} open)")
        elif what == "closed":
            self.windows.discard(event["window"])
            if self.verbose:
                self.say(f"a window closed ({len(self.windows)} open)")
        elif what == "not shown":
            self.say(
                f"warning: {self.where()} displays a widget the app does not show: {event.get('widget')} "
                "(only StateWidgets, inspectors and Pytonium windows open as windows)"
            )

    def print_traceback(self, error: dict[str, Any]) -> None:
        text = "\n".join(error.get("traceback") or [f"{error.get('ename')}: {error.get('evalue')}"])
        print(text if self.color else _ANSI.sub("", text), file=self.err, flush=True)

    def pump(self, timeout: float) -> None:
        """Handle the kernel's output for up to ``timeout`` seconds (at least what is waiting now)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                message = self.client.get_iopub_msg(timeout=max(0.0, min(0.1, deadline - time.monotonic())))
            except Empty:
                if not self.manager.is_alive():
                    self.say(f"the kernel died (while running {self.where()})")
                    raise _Failed from None
                if time.monotonic() >= deadline:
                    return
                continue
            self.handle(message)

    @property
    def all_closed(self) -> bool:
        return self.opened_any and not self.windows

    # ---- running cells -------------------------------------------------------------

    def execute(self, code: str, *, silent: bool = False) -> None:
        """Run ``code`` until the kernel is idle again; ``_Failed`` if it raised, ``_Stopped`` if the windows closed."""
        self.errors = []
        self.running = self.client.execute(code, silent=silent, store_history=not silent, allow_stdin=False)
        closed_at: float | None = None
        while self.running is not None:
            self.pump(0.1)
            if self.all_closed and self.running is not None:  # a cell looping on after the last window
                closed_at = closed_at or time.monotonic()
                if time.monotonic() - closed_at > GRACE:
                    raise _Stopped
        if self.errors:
            for error in self.errors:
                self.print_traceback(error)
            first = self.errors[0]
            self.say(f"{self.where()} raised {first.get('ename')}: {first.get('evalue')}; stopping")
            raise _Failed

    def run(self, setup: str, cells: list[Cell]) -> int:
        self.execute(setup, silent=True)
        for cell in cells:
            self.cell = cell
            self.execute(cell.source)
            if self.all_closed:
                return 0
        self.cell = None
        if not self.opened_any:
            self.say("the notebook opened no window; done after its last cell")
            return 0
        while not self.all_closed:
            self.pump(0.5)
        return 0

    def stop(self) -> None:
        """Interrupt a cell still running (its output is still shown), then shut the kernel down cleanly."""
        if self.running is not None and self.manager.is_alive():
            self.manager.interrupt_kernel()
            self.errors = []
            deadline = time.monotonic() + 5
            while self.running is not None and time.monotonic() < deadline:
                try:
                    self.pump(0.1)
                except _Failed:
                    break
        self.manager.shutdown_kernel(now=False)  # a shutdown request: the kernel exits, running atexit
        while True:  # what it printed last (an interrupted cell, atexit hooks) still reaches the terminal
            try:
                self.handle(self.client.get_iopub_msg(timeout=0.05))
            except Empty:
                break
        self.client.stop_channels()


def _setup_code(width: int | None, height: int | None, engine: str) -> str:
    return (
        "from pytonium_lab.desktop._app_kernel import install as _pytonium_app_install\n"
        f"_pytonium_app_install(width={width!r}, height={height!r}, backend={engine!r})\n"
        "del _pytonium_app_install\n"
    )


def _terminate(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def run_app(
    notebook: str | os.PathLike[str],
    *,
    width: int | None = None,
    height: int | None = None,
    backend: str = "auto",
    verbose: bool = False,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Run ``notebook`` as a desktop app (see the module's docs); returns the exit code."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    from ._backends import resolve_backend
    from ._engines import BACKEND_ENV

    out = out or sys.stdout
    err = err or sys.stderr
    path = Path(notebook).expanduser().resolve()
    for name, size in (("width", width), ("height", height)):
        if size is not None and (type(size) is not int or size <= 0):
            print(f"pytonium-lab app: --{name} must be a positive number of pixels, got {size!r}", file=err)
            return 2
    try:
        cells = read_cells(path)
        engine = resolve_backend(backend)
    except ValueError as exc:
        print(f"pytonium-lab app: {exc}", file=err)
        return 2
    # The kernel runs on this Python (the one with this pytonium_lab), whatever kernels are installed:
    # with no kernel folders to search, jupyter_client takes ipykernel's own spec for sys.executable.
    # IPC sockets in a folder of our own (mode 0700), not loopback TCP ports any local user could reach;
    # absolute paths: the kernel runs in the notebook's folder.
    private = tempfile.mkdtemp(prefix="pytonium-app-")
    manager = KernelManager(
        kernel_name="python3",
        kernel_spec_manager=KernelSpecManager(kernel_dirs=[]),
        transport="ipc",
        ip=os.path.join(private, "kernel"),
        connection_file=os.path.join(private, "kernel.json"),
    )
    previous = signal.signal(signal.SIGTERM, _terminate)
    app: _App | None = None
    try:
        # $PYTONIUM_LAB_BACKEND: ``Pytonium(backend="auto")`` opens a window in this kernel, not an inline view.
        manager.start_kernel(cwd=str(path.parent), env={**os.environ, BACKEND_ENV: engine})
        client = manager.client()
        client.start_channels()
        client.wait_for_ready(timeout=READY_TIMEOUT)
        app = _App(manager, client, out, err, verbose)
        return app.run(_setup_code(width, height, engine), cells)
    except _Stopped:
        return 0
    except _Failed:
        return 1
    except KeyboardInterrupt:
        print("pytonium-lab app: stopped", file=err, flush=True)
        return 130
    finally:
        try:
            if app is not None:
                app.stop()
            elif manager.has_kernel:
                manager.shutdown_kernel(now=True)
        except KeyboardInterrupt:  # a second Ctrl-C: no more waiting
            manager.shutdown_kernel(now=True)
        signal.signal(signal.SIGTERM, previous)
        shutil.rmtree(private, ignore_errors=True)
