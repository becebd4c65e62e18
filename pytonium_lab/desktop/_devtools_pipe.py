"""DevTools over chromium's ``--remote-debugging-pipe``: a private channel, no port.

The chromium backend uses DevTools for two things: to hear at once that the
user closed the window (``Target.targetDestroyed``; the process exit comes
0.1-1 s later), and to run the runtime at the start of every document of an
allowed origin (``Page.addScriptToEvaluateOnNewDocument``). A pipe gives
that to this process alone: nothing listens on a port, so no other program or page can
drive the window. Chromium reads commands on its fd 3 and writes answers on
its fd 4, as NUL-terminated JSON.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

__all__ = ["PipeDevTools"]


class PipeDevTools:
    """The parent's end of chromium's DevTools pipe."""

    def __init__(self, on_event: Callable[[str, dict[str, Any]], None] | None = None) -> None:
        self.on_event = on_event  # called on the reader thread with each event's method and params
        self._child_reads, self._commands = os.pipe()
        self._answers, self._child_writes = os.pipe()
        self._pending: dict[int, Future[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._next_id = 0

    def child_setup(self) -> None:
        """In the forked child, before exec: put the pipe on fds 3 and 4 (async-signal-safe calls only)."""
        reads, writes = os.dup(self._child_reads), os.dup(self._child_writes)  # > 4: safe from the dup2s below
        os.dup2(reads, 3)
        os.dup2(writes, 4)

    pass_fds = (3, 4)

    def started(self) -> None:
        """In the parent, once the child runs: drop the child's ends and start reading answers."""
        os.close(self._child_reads)
        os.close(self._child_writes)
        threading.Thread(target=self._read, name="pytonium-devtools-pipe", daemon=True).start()

    def call(
        self, method: str, params: dict[str, Any] | None = None, *, session: str | None = None, timeout: float = 10.0
    ) -> dict[str, Any]:
        """Send one command and wait for its result; RuntimeError with chromium's message on failure."""
        answer = self.send(method, params, session=session).result(timeout)
        if "error" in answer:
            raise RuntimeError(f"chromium refused {method}: {answer['error'].get('message', answer['error'])}")
        result: dict[str, Any] = answer.get("result", {})
        return result

    def send(
        self, method: str, params: dict[str, Any] | None = None, *, session: str | None = None
    ) -> Future[dict[str, Any]]:
        """Send one command; the future gets chromium's whole answer."""
        future: Future[dict[str, Any]] = Future()
        with self._lock:
            self._next_id += 1
            number = self._next_id
            self._pending[number] = future
        message: dict[str, Any] = {"id": number, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        try:
            os.write(self._commands, json.dumps(message).encode() + b"\0")
        except OSError as exc:
            with self._lock:
                self._pending.pop(number, None)
            raise RuntimeError(f"chromium's DevTools pipe is closed ({exc})") from None
        return future

    def close(self) -> None:
        try:
            os.close(self._commands)
        except OSError:
            pass

    def _read(self) -> None:
        """Resolve calls from chromium's answers, hand events to ``on_event``; fail all calls at EOF."""
        buffered = b""
        with os.fdopen(self._answers, "rb", buffering=0) as answers:
            while True:
                chunk = answers.read(65536)
                if not chunk:
                    break
                buffered += chunk
                *messages, buffered = buffered.split(b"\0")
                for raw in messages:
                    answer = json.loads(raw)
                    if "id" not in answer:
                        if self.on_event is not None:
                            self.on_event(answer.get("method", ""), answer.get("params", {}))
                        continue
                    with self._lock:
                        future = self._pending.pop(answer["id"], None)
                    if future is not None:
                        future.set_result(answer)
        with self._lock:
            pending, self._pending = self._pending, {}
        for future in pending.values():
            future.set_exception(RuntimeError("chromium closed its DevTools pipe"))
