"""A real JupyterLab on loopback, driven by headless Chromium (tests and bench share it).

The recipe is the one measured in DESIGN.md: isolated settings/runtime dirs, the
notebook rendered without windowing (so every cell is in the DOM), cells run
through ``jupyterapp.commands`` and awaited through ``wait_for_function`` (a
``page.evaluate`` that awaits has no timeout).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
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
    output(index) { return outputText(panel().content.model.cells.get(index)); },
    cellCount() { return panel().content.model.cells.length; },
  };
}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JupyterLab:
    """One JupyterLab server on 127.0.0.1 serving ``root`` (start/stop)."""

    def __init__(self, root: Path, home: Path) -> None:
        self.root = root
        self.home = home
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> None:
        jupyter = shutil.which("jupyter", path=str(Path(sys.executable).parent))
        if jupyter is None:
            raise RuntimeError(f"jupyter is not installed next to {sys.executable}")
        settings = self.home / "settings"
        tracker = settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
        tracker.parent.mkdir(parents=True, exist_ok=True)
        tracker.write_text(json.dumps({"windowingMode": "none"}))
        env = dict(
            os.environ,
            JUPYTERLAB_SETTINGS_DIR=str(settings),
            JUPYTERLAB_WORKSPACES_DIR=str(self.home / "workspaces"),
            JUPYTER_RUNTIME_DIR=str(self.home / "runtime"),
            JUPYTER_CONFIG_DIR=str(self.home / "config"),
            PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
        )
        self.log = open(self.home / "jupyterlab.log", "wb")
        self.process = subprocess.Popen(
            [
                jupyter, "lab", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
                f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
                "--LabApp.expose_app_in_browser=True", "--allow-root",
                "--ServerApp.disable_check_xsrf=False",
            ],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=self.root,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited: see {self.home / 'jupyterlab.log'}")
            try:
                self.api("GET", "/api/status")
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"jupyter lab did not answer within {timeout} s")

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

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()

    def write_notebook(self, name: str, cells: list[str]) -> Path:
        notebook = nbformat.v4.new_notebook()
        notebook.cells = [nbformat.v4.new_code_cell(code) for code in cells]
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        path = self.root / name
        nbformat.write(notebook, path)
        return path


class LabPage:
    """A Playwright page showing one notebook in JupyterLab."""

    def __init__(self, lab: JupyterLab, page: Any) -> None:
        self.lab = lab
        self.page = page

    def open(self, name: str, timeout: float = 60) -> None:
        self.page.goto(f"{self.lab.url}/lab/tree/{name}?token={self.lab.token}&reset")
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

    def save(self) -> None:
        self.command("docmanager:save")

    def reload(self, timeout: float = 60) -> None:
        self.page.reload()
        self._wait_ready(timeout)
