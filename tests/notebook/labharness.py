"""A real JupyterLab on loopback, driven by headless Chromium (tests and bench share it).

The recipe is the one measured in DESIGN.md: isolated settings/runtime dirs, the
notebook rendered without windowing (so every cell is in the DOM), cells run
through ``jupyterapp.commands`` and awaited through ``wait_for_function`` (a
``page.evaluate`` that awaits has no timeout).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextlib.contextmanager
def headless_chromium() -> Iterator[Any]:
    """Debian's chromium under sync Playwright (never ``playwright install``); missing, it fails loudly."""
    if not os.access(CHROMIUM, os.X_OK):
        raise RuntimeError(f"{CHROMIUM} is missing: install Debian's chromium package (never `playwright install`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


# Helpers installed in the JupyterLab page: run code in a new cell, read outputs.
_LAB_HELPERS = r"""
() => {
  if (window.__lab) return;
  const panel = () => window.jupyterapp.shell.currentWidget;
  const outputText = (cell) => cell.outputs.toJSON().map((o) => {
    if (o.output_type === 'stream') return Array.isArray(o.text) ? o.text.join('') : o.text;
    if (o.output_type === 'error') return o.ename + ': ' + o.evalue + '\n';
    const d = o.data || {};
    const t = d['text/plain'];
    return t === undefined ? '' : (Array.isArray(t) ? t.join('') : t) + '\n';
  }).join('');
  window.__lab = {
    ready() {
      const p = panel();
      return !!(p && p.content && p.content.model && p.sessionContext && p.sessionContext.session
        && p.sessionContext.session.kernel && p.sessionContext.session.kernel.status === 'idle');
    },
    start(command) {
      const id = Math.random().toString(36).slice(2);
      window.__lab[id] = undefined;
      window.jupyterapp.commands.execute(command).then(
        () => { window.__lab[id] = { ok: true }; },
        (e) => { window.__lab[id] = { ok: false, error: String(e) }; });
      return id;
    },
    addCell(code) {
      const nb = panel().content;
      const index = nb.model.cells.length;
      nb.model.sharedModel.insertCell(index, { cell_type: 'code', source: code });
      nb.activeCellIndex = index;
      nb.deselectAll();
      return index;
    },
    select(index) {
      const nb = panel().content;
      nb.activeCellIndex = index;
      nb.deselectAll();
    },
    output(index) { return outputText(panel().content.model.cells.get(index)); },
    cellCount() { return panel().content.model.cells.length; },
  };
}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A web server subprocess on 127.0.0.1 (a free port, a token), started and stopped by tests.

    Subclasses give :meth:`command` (the argv), :meth:`environment` and the
    path that answers once the server is up (:attr:`ready_path`).
    """

    name = "server"
    ready_path = "/"

    def __init__(self, root: Path, home: Path) -> None:
        self.root = root
        self.home = home
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = home / f"{self.name}.log"

    def command(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        return dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))

    def start(self, timeout: float = 60) -> None:
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            self.command(), env=self.environment(), stdout=self.log, stderr=subprocess.STDOUT, cwd=self.root
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}: see {self.log_path}")
            try:
                self.get(self.ready_path)
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer within {timeout} s: see {self.log_path}")

    def get(self, path: str) -> bytes:
        request = urllib.request.Request(self.url + path, headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.read()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self.process is not None:
            self.log.close()


def jupyter_bin(name: str = "jupyter") -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        raise RuntimeError(f"{name} is not installed next to {sys.executable}")
    return found


class JupyterLab(Server):
    """One JupyterLab server on 127.0.0.1 serving ``root`` (start/stop)."""

    name = "jupyterlab"
    app = "lab"
    ready_path = "/api/status"
    tree = "/lab/tree/"  # where a notebook opens: tree + name + ?token=...

    def environment(self) -> dict[str, str]:
        settings = self.home / "settings"
        tracker = settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
        tracker.parent.mkdir(parents=True, exist_ok=True)
        tracker.write_text(json.dumps({"windowingMode": "none"}))
        return dict(
            super().environment(),
            JUPYTERLAB_SETTINGS_DIR=str(settings),
            JUPYTERLAB_WORKSPACES_DIR=str(self.home / "workspaces"),
            JUPYTER_RUNTIME_DIR=str(self.home / "runtime"),
            JUPYTER_CONFIG_DIR=str(self.home / "config"),
        )

    def command(self) -> list[str]:
        expose = "LabApp" if self.app == "lab" else "JupyterNotebookApp"
        return [
            jupyter_bin(), self.app, "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
            f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
            f"--{expose}.expose_app_in_browser=True", "--allow-root",
            "--ServerApp.disable_check_xsrf=False",
        ]  # fmt: skip

    def notebook_url(self, name: str) -> str:
        return f"{self.url}{self.tree}{name}?token={self.token}&reset"

    def api(self, method: str, path: str) -> Any:
        request = urllib.request.Request(
            self.url + path, method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """Stop every kernel (between tests: idle kernels with threads cost CPU)."""
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}")

    def write_notebook(self, name: str, cells: list[str]) -> Path:
        notebook = nbformat.v4.new_notebook()
        notebook.cells = [nbformat.v4.new_code_cell(code) for code in cells]
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        path = self.root / name
        nbformat.write(notebook, path)
        return path


class Notebook7(JupyterLab):
    """Jupyter Notebook 7 (the ``notebook`` package): the same shell API, one document per tab."""

    name = "notebook7"
    app = "notebook"
    tree = "/notebooks/"

    def notebook_url(self, name: str) -> str:
        # No `&reset`: Notebook 7 has no workspace to reset, and reloading its settings for it
        # throws in its shortcuts plugin ("reading 'schema'"), with or without our widgets.
        return f"{self.url}{self.tree}{name}?token={self.token}"


def collect_errors(page: Any) -> list[str]:
    """A live list of the page's console errors and uncaught exceptions (its frames' too)."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e} at {(e.stack or '').splitlines()[1:4]}"))
    # The console says only "Failed to load resource": name the request too.
    page.on(
        "response", lambda r: errors.append(f"http {r.status}: {r.request.method} {r.url}") if r.status >= 400 else None
    )
    return errors


class Views:
    """The StateWidget views of a Playwright ``page`` (any host: they are ``iframe[data-pytonium-view]``)."""

    page: Any

    def views(self) -> Any:
        return self.page.locator("iframe[data-pytonium-view]")

    def view(self, n: int = 0) -> Any:
        """The document inside the ``n``-th StateWidget iframe (a Playwright FrameLocator)."""
        return self.page.frame_locator("iframe[data-pytonium-view]").nth(n)

    def view_eval(self, n: int, script: str, arg: Any = None) -> Any:
        """Evaluate ``script`` (a function of ``arg``) inside the ``n``-th view's page."""
        return self.view(n).locator("body").evaluate(f"(_body, arg) => ({script})(arg)", arg)

    def wait_view_ready(self, n: int = 0, timeout: float = 20) -> None:
        self.view(n).locator("body").wait_for(timeout=timeout * 1000)
        deadline = time.monotonic() + timeout
        while not self.view_eval(n, "() => window.PytoniumReady === true"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"view {n} never became ready")
            time.sleep(0.05)


class LabPage(Views):
    """A Playwright page showing one notebook in JupyterLab (or Notebook 7: the same shell API)."""

    def __init__(self, lab: JupyterLab, page: Any) -> None:
        self.lab = lab
        self.page = page

    def open(self, name: str, timeout: float = 60) -> None:
        self.page.goto(self.lab.notebook_url(name))
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        self.page.wait_for_function("() => !!(window.jupyterapp && window.jupyterapp.shell)", timeout=timeout * 1000)
        self.page.evaluate(_LAB_HELPERS)
        self.page.wait_for_function("() => window.__lab.ready()", timeout=timeout * 1000)

    def command(self, command: str, timeout: float = 60) -> None:
        """Run a JupyterLab command and wait until its promise settles."""
        self.wait(self.start(command), timeout)

    def start(self, command: str) -> str:
        """Start a JupyterLab command; returns an id for :meth:`wait` / :meth:`settled`."""
        return self.page.evaluate("(c) => window.__lab.start(c)", command)

    def settled(self, run: str) -> bool:
        return bool(self.page.evaluate(f"() => !!window.__lab[{json.dumps(run)}]"))

    def wait(self, run: str, timeout: float = 60) -> None:
        handle = self.page.wait_for_function(f"() => window.__lab[{json.dumps(run)}]", timeout=timeout * 1000)
        result = handle.json_value()
        if not result["ok"]:
            raise RuntimeError(f"command failed: {result['error']}")

    def start_cell(self, code: str) -> str:
        """Append a code cell and start running it, without waiting (see :meth:`settled`)."""
        self.page.evaluate("(c) => window.__lab.addCell(c)", code)
        return self.start("notebook:run-cell")

    def run_all(self, timeout: float = 60) -> None:
        self.command("notebook:run-all-cells", timeout)

    def run(self, code: str, timeout: float = 60) -> str:
        """Append a code cell, run it, and return its text output (errors included)."""
        index = self.page.evaluate("(c) => window.__lab.addCell(c)", code)
        self.command("notebook:run-cell", timeout)
        return self.page.evaluate("(i) => window.__lab.output(i)", index)

    def run_until(self, code: str, expected: str, timeout: float = 10) -> str:
        """Run ``code`` in new cells until its output contains ``expected`` (for async effects)."""
        deadline = time.monotonic() + timeout
        while True:
            out = self.run(code)
            if expected in out or time.monotonic() > deadline:
                return out
            time.sleep(0.1)

    def output(self, index: int) -> str:
        return self.page.evaluate("(i) => window.__lab.output(i)", index)

    def rerun(self, index: int, timeout: float = 60) -> str:
        """Run the existing cell ``index`` again and return its new output."""
        self.page.evaluate("(i) => window.__lab.select(i)", index)
        self.command("notebook:run-cell", timeout)
        return self.output(index)

    def save(self) -> None:
        self.command("docmanager:save")

    def reload(self, timeout: float = 60) -> None:
        self.page.reload()
        self._wait_ready(timeout)
