"""Voilà and marimo servers on loopback, and one page driver per host with the same verbs.

Every host page (:class:`JupyterHost` for JupyterLab and Notebook 7,
:class:`VoilaPage`, :class:`MarimoPage`) offers: ``open(name)`` (show a
document and wait until it has run), ``run(code) -> stdout`` (Python in the
document's kernel), ``rerun_widget_cell(index)``, and the views of
:class:`labharness.Views`. Console errors and uncaught exceptions are
collected in ``errors`` from the start.

- JupyterLab / Notebook 7: cells are added and run through the shell's commands.
- Voilà runs the notebook once; the test talks to that page's kernel as a
  second client (its connection file is in the server's runtime dir), so
  Python's writes reach the page's widgets over the kernel's IOPub. Voilà
  cannot re-run a cell: its re-run is a page reload (a new kernel).
- marimo (edit server, headless): ``run`` goes through the server's code-mode
  endpoint (``/api/kernel/execute``, a scratchpad cell with the notebook's
  globals, streamed back as server-sent events); a cell re-runs from the
  keyboard (Ctrl+Enter in its editor), as a user does.
"""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path
from typing import Any

from labharness import JupyterLab, LabPage, Server, Views, collect_errors, jupyter_bin

# Notebook 7.6's keyboard-shortcuts plugin throws this while the app starts, on a plain
# notebook with no widget (its pluginChanged handler reads a plugin it has not loaded).
_NOTEBOOK7_STARTUP_ERROR = "pageerror: Cannot read properties of undefined (reading 'schema')"


class JupyterHost(LabPage):
    """JupyterLab or Notebook 7: a LabPage that also collects console errors."""

    def __init__(self, lab: JupyterLab, page: Any) -> None:
        super().__init__(lab, page)
        self._errors = collect_errors(page)

    @property
    def errors(self) -> list[str]:
        if self.lab.name != "notebook7":
            return self._errors
        return [e for e in self._errors if not (e.startswith(_NOTEBOOK7_STARTUP_ERROR) and "notebook_core" in e)]

    def rerun_widget_cell(self, index: int) -> None:
        self.rerun(index)


# ---- Voilà --------------------------------------------------------------------------


class Voila(Server):
    name = "voila"
    ready_path = "/voila/tree"

    def environment(self) -> dict[str, str]:
        return dict(
            super().environment(),
            JUPYTER_RUNTIME_DIR=str(self.home / "runtime"),
            JUPYTER_CONFIG_DIR=str(self.home / "config"),
        )

    def command(self) -> list[str]:
        return [
            jupyter_bin("voila"), str(self.root), "--no-browser", "--Voila.ip=127.0.0.1", f"--port={self.port}",
            f"--token={self.token}", "--show_tracebacks=True",
            # Notebook 7's own lab extension fails to load in Voilà ("shared module ...
            # @jupyterlab/docregistry"): it is Notebook's UI, not a dashboard's.
            '--VoilaConfiguration.extension_denylist=@jupyter-notebook/lab-extension',
        ]  # fmt: skip

    def write_notebook(self, name: str, cells: list[str]) -> Path:
        return JupyterLab.write_notebook(self, name, cells)  # type: ignore[arg-type]

    def connection_files(self) -> set[Path]:
        """The kernels' connection files (Voilà keeps them in a temporary dir it names in its log)."""
        log = self.log_path.read_text(errors="replace")
        marker = "Storing connection files in "
        if marker not in log:
            return set()
        folder = log.split(marker, 1)[1].split("\n", 1)[0].strip().rstrip(".")
        return set(Path(folder).glob("kernel-*.json"))


class VoilaPage(Views):
    def __init__(self, server: Voila, page: Any) -> None:
        self.server = server
        self.page = page
        self.errors = collect_errors(page)
        self.client: Any = None
        # Voilà's template loads Font Awesome from a CDN; this machine is offline, so the
        # failed request would be a console error of the template, not of the widget.
        page.route(
            "https://cdn.jsdelivr.net/**", lambda route: route.fulfill(status=200, content_type="text/css", body="")
        )

    def open(self, name: str, timeout: float = 60) -> None:
        self.name = name
        before = self.server.connection_files()
        self.page.goto(f"{self.server.url}/voila/render/{name}?token={self.server.token}")
        self._connect(before, timeout)

    def _connect(self, before: set[Path], timeout: float) -> None:
        from jupyter_client import BlockingKernelClient

        deadline = time.monotonic() + timeout
        while not (new := self.server.connection_files() - before):
            if time.monotonic() > deadline:
                raise TimeoutError("Voilà started no kernel")
            time.sleep(0.1)
        if self.client is not None:
            self.client.stop_channels()
        self.client = BlockingKernelClient(connection_file=str(max(new, key=lambda p: p.stat().st_mtime)))
        self.client.load_connection_file()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=timeout)
        # The dashboard has run every cell once its widgets are on the page.
        self.page.wait_for_selector("iframe[data-pytonium-view]", timeout=timeout * 1000)

    def run(self, code: str, timeout: float = 60) -> str:
        out: list[str] = []

        def hook(msg: dict[str, Any]) -> None:
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                out.append(content["text"])
            elif kind == "error":
                out.append(f"{content['ename']}: {content['evalue']}\n")
            elif kind in ("execute_result", "display_data"):
                out.append(content["data"].get("text/plain", "") + "\n")

        self.client.execute_interactive(code, output_hook=hook, timeout=timeout, allow_stdin=False)
        return "".join(out)

    def run_until(self, code: str, expected: str, timeout: float = 10) -> str:
        return _run_until(self, code, expected, timeout)

    def rerun_widget_cell(self, index: int) -> None:
        """Voilà cannot re-run a cell: reload the dashboard (a new kernel runs every cell again)."""
        before = self.server.connection_files()
        seen = len(self.errors)
        self.page.reload()
        self._connect(before, 60)
        # The unloading page asks Voilà to shut its kernel down, and Voilà refuses that POST
        # with 403 under token auth (its own request; the kernel is culled later instead).
        shutdown = [e for e in self.errors[seen:] if e.startswith("http 403: POST") and "/voila/api/shutdown/" in e]
        for e in shutdown:
            self.errors.remove(e)
            self.errors.remove(
                "console.error: Failed to load resource: the server responded with a status of 403 (Forbidden)"
            )

    def close(self) -> None:
        if self.client is not None:
            self.client.stop_channels()


# ---- marimo -------------------------------------------------------------------------


class Marimo(Server):
    name = "marimo"
    ready_path = "/health"

    def environment(self) -> dict[str, str]:
        config = self.home / "xdg" / "marimo" / "marimo.toml"
        config.parent.mkdir(parents=True, exist_ok=True)
        # Run every cell when a notebook opens, as `marimo run` does; no AI, no update checks.
        config.write_text("[runtime]\nauto_instantiate = true\n")
        return dict(super().environment(), HOME=str(self.home), XDG_CONFIG_HOME=str(self.home / "xdg"))

    def command(self) -> list[str]:
        return [
            jupyter_bin("marimo"), "-y", "edit", "--headless", "--host=127.0.0.1", f"--port={self.port}",
            f"--token-password={self.token}", "--skip-update-check", "--no-sandbox",
            "--session-ttl=1", str(self.root),
        ]  # fmt: skip

    def write_notebook(self, name: str, cells: list[str]) -> Path:
        """A marimo notebook of ``cells`` (marimo works out each cell's inputs and outputs itself)."""
        body = ["import marimo", "", "app = marimo.App()", ""]
        for code in cells:
            body += ["", "@app.cell", "def _():", textwrap.indent(code.strip("\n"), "    "), "    return", ""]
        body += ["", 'if __name__ == "__main__":', "    app.run()", ""]
        path = self.root / name
        path.write_text("\n".join(body))
        return path


_EXECUTE = """
([id, sid, token, code]) => {
  window.__runs = window.__runs || {};
  window.__runs[id] = undefined;
  fetch('/api/kernel/execute', {
    method: 'POST',
    headers: {'Content-Type': 'application/json', 'Marimo-Session-Id': sid, 'Marimo-Server-Token': token},
    body: JSON.stringify({code}),
  }).then(async (r) => { window.__runs[id] = {status: r.status, text: await r.text()}; },
          (e) => { window.__runs[id] = {status: 0, text: String(e)}; });
}
"""


class MarimoPage(Views):
    def __init__(self, server: Marimo, page: Any) -> None:
        self.server = server
        self.page = page
        self.errors = collect_errors(page)
        self.headers: dict[str, str] = {}
        self._runs = 0
        # Every model-lifecycle notification the kernel sent this page, in order: (model id, method).
        self.model_messages: list[tuple[str, str]] = []
        page.on("request", self._seen)
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def _frame(self, payload: Any) -> None:
        if not isinstance(payload, str) or "model-lifecycle" not in payload:
            return
        try:
            message = json.loads(payload)
        except ValueError:
            return
        data = message.get("data") if isinstance(message, dict) else None
        if not isinstance(data, dict) or message.get("op", data.get("op")) != "model-lifecycle":
            return
        inner = data.get("message")
        method = inner.get("method") if isinstance(inner, dict) else None
        self.model_messages.append((str(data.get("model_id")), str(method)))

    def messages_after_close(self) -> list[tuple[str, str]]:
        """Notifications for a model after the kernel closed it: the browser reports each of these,
        10 s later, as "Model not found for key ..." (the kernel still feeding a dead view)."""
        closed: set[str] = set()
        late = []
        for model, method in self.model_messages:
            if model in closed:
                late.append((model, method))
            if method == "close":
                closed.add(model)
        return late

    def _seen(self, request: Any) -> None:
        sid = request.headers.get("marimo-session-id")
        if sid and not self.headers:
            self.headers = {"sid": sid, "token": request.headers.get("marimo-server-token", "")}

    def open(self, name: str, timeout: float = 60) -> None:
        self.page.goto(f"{self.server.url}/?file={name}&access_token={self.server.token}")
        self.page.wait_for_selector("iframe[data-pytonium-view]", timeout=timeout * 1000)
        deadline = time.monotonic() + timeout
        while not self.headers:
            if time.monotonic() > deadline:
                raise TimeoutError("the marimo page sent no request with its session id")
            time.sleep(0.05)

    def start(self, code: str) -> str:
        """Start running ``code`` in the kernel (a scratchpad cell); returns an id for :meth:`wait`."""
        self._runs += 1
        run = f"r{self._runs}"
        self.page.evaluate(_EXECUTE, [run, self.headers["sid"], self.headers["token"], code])
        return run

    def settled(self, run: str) -> bool:
        return bool(self.page.evaluate("(id) => !!window.__runs[id]", run))

    def wait(self, run: str, timeout: float = 60) -> str:
        handle = self.page.wait_for_function("(id) => window.__runs[id]", arg=run, timeout=timeout * 1000)
        result = handle.json_value()
        if result["status"] != 200:
            raise RuntimeError(f"marimo refused the code ({result['status']}): {result['text'][:500]}")
        return _sse_output(result["text"])

    def run(self, code: str, timeout: float = 60) -> str:
        return self.wait(self.start(code), timeout)

    def run_until(self, code: str, expected: str, timeout: float = 10) -> str:
        return _run_until(self, code, expected, timeout)

    def rerun_widget_cell(self, index: int) -> None:
        """Re-run cell ``index`` from the keyboard, as a user does; wait until it has run."""
        editor = self.page.locator(".marimo-cell").nth(index).locator(".cm-content")
        editor.click()
        self.page.keyboard.press("Control+Enter")
        # A scratchpad cell queues behind the re-run: once it answers, the re-run is done.
        self.run("pass")


def _sse_output(text: str) -> str:
    """The text a marimo scratchpad run printed (stdout, stderr, and its error if it failed)."""
    out: list[str] = []
    event = None
    for line in text.splitlines():
        if line.startswith("event: "):
            event = line[7:].strip()
        elif line.startswith("data: "):
            data = json.loads(line[6:])
            if event in ("stdout", "stderr"):
                out.append(data.get("data", ""))
            elif (event == "done" and not data.get("success", True)) or event == "error":
                out.append(json.dumps(data) + "\n")
    return "".join(out)


def _run_until(host: Any, code: str, expected: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        out = host.run(code)
        if expected in out or time.monotonic() > deadline:
            return out
        time.sleep(0.1)
