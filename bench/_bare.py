"""Raw anchors for bench/desktop.py: each engine bare, showing a page that echoes over a plain WebSocket.

The same engine binary pytonium_lab drives (CEF 131 through cef-capi-py,
``chromium --app``, CEF 66 through cefpython3), started with nothing of
pytonium_lab: a bare page served by a bare tornado app opens
``ws://127.0.0.1:P/ws`` and sends every message back. Timed: process start
to the page's WebSocket open (the floor under ``initialize()`` to
``PytoniumReady``), and a message's echo (the floor under a state round trip).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import tornado.httpserver
import tornado.netutil
import tornado.web
import tornado.websocket

from pytonium_lab.desktop._cef_runtime import runtime_python
from pytonium_lab.desktop._engines import chromium_executable

BENCH = Path(__file__).resolve().parent

PAGE = b"""<!DOCTYPE html><html><head><title>bare</title></head><body><script>
var ws = new WebSocket("ws://" + location.host + "/ws");
ws.onmessage = function (e) { ws.send(e.data); };
</script></body></html>"""


def command(engine: str, url: str, profile: str) -> list[str]:
    """The bare engine on ``url``: no pytonium_lab host, no DevTools pipe, no heartbeat."""
    if engine == "cef":
        return [sys.executable, str(BENCH / "_cef_bare_page.py"), url]
    if engine == "cefpython3":
        python = runtime_python()
        if python is None:
            raise RuntimeError("no cefpython3 runtime: run `pytonium-lab setup-cef`")
        return [str(python), str(BENCH / "_cef_binding_anchor.py"), url]
    executable = chromium_executable()
    if executable is None:
        raise RuntimeError("no chromium on PATH")
    return [
        executable,
        f"--app={url}",
        f"--user-data-dir={profile}",
        "--window-size=400,300",
        "--no-sandbox",
        "--test-type",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-gpu",
        "--ozone-platform=x11",
    ]


class _Echo(tornado.websocket.WebSocketHandler):
    def open(self) -> None:
        self.application.settings["opened"](self)

    def on_message(self, message: str | bytes) -> None:
        self.application.settings["answered"](message)


class BareServer:
    """A tornado app on its own thread: ``/`` the bare page, ``/ws`` its echo socket."""

    def __init__(self) -> None:
        self._ready = threading.Event()
        self._opened = threading.Event()
        self._socket: _Echo | None = None
        self._reply: asyncio.Future[str | bytes] | None = None
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self._run, name="bare-server", daemon=True).start()
        self._ready.wait()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        class Page(tornado.web.RequestHandler):
            def get(self) -> None:
                self.set_header("Content-Type", "text/html")
                self.write(PAGE)

        class NoIcon(tornado.web.RequestHandler):
            def get(self) -> None:
                self.set_status(204)  # chromium asks for one: no 404 in the output

        app = tornado.web.Application(
            [("/", Page), ("/favicon.ico", NoIcon), ("/ws", _Echo)],
            opened=self._on_open,
            answered=self._on_answer,
            websocket_ping_interval=0,
        )

        async def start() -> None:
            sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
            tornado.httpserver.HTTPServer(app).add_sockets(sockets)
            self.port = sockets[0].getsockname()[1]
            self._ready.set()

        self.loop.run_until_complete(start())
        self.loop.run_forever()

    def _on_open(self, socket: _Echo) -> None:
        self._socket = socket
        self._opened.set()

    def _on_answer(self, message: str | bytes) -> None:
        if self._reply is not None and not self._reply.done():
            self._reply.set_result(message)

    def start(self, engine: str) -> tuple[float, subprocess.Popen[bytes], str]:
        """Start the bare engine; seconds from the spawn to its page's WebSocket open."""
        self._opened.clear()
        workdir = tempfile.mkdtemp(prefix=f"bench-bare-{engine}-")
        started = time.monotonic()
        proc = subprocess.Popen(
            command(engine, f"http://127.0.0.1:{self.port}/", f"{workdir}/profile"),
            cwd=workdir,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if not self._opened.wait(60):
            stop(proc, workdir)
            raise RuntimeError(f"the bare {engine} page did not connect within 60 s")
        return time.monotonic() - started, proc, workdir

    def round_trips(self, n: int, warmup: int = 100) -> list[float]:
        """Echo round trips (ms) on the last page's socket, timed on the server's own loop."""

        async def run() -> list[float]:
            assert self._socket is not None
            times = []
            for i in range(n + warmup):
                self._reply = self.loop.create_future()
                t0 = time.perf_counter()
                self._socket.write_message(str(i))
                await self._reply
                if i >= warmup:
                    times.append((time.perf_counter() - t0) * 1000)
            return times

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(120)


def stop(proc: subprocess.Popen[bytes], workdir: str) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(10)
    shutil.rmtree(workdir, ignore_errors=True)


_server: BareServer | None = None


def measure(engine: str, starts: int, n: int) -> tuple[list[float], list[float]]:
    """``starts`` cold starts (ms) of the bare engine, and ``n`` echo round trips (ms) on the last one.

    One server for the whole run (its thread lives as long as the bench).
    """
    global _server
    if starts < 1:
        raise ValueError("starts must be >= 1")
    if _server is None:
        _server = BareServer()
    times: list[float] = []
    for run in range(starts):
        took, proc, workdir = _server.start(engine)
        times.append(took * 1000)
        try:
            if run == starts - 1:
                return times, _server.round_trips(n)
        finally:
            stop(proc, workdir)
    raise AssertionError("unreachable")
