"""DevTools over chromium's ``--remote-debugging-pipe``: a private channel, no port.

The chromium backend needs DevTools for one thing: to run the runtime at the
start of every document of an allowed origin
(``Page.addScriptToEvaluateOnNewDocument``). A pipe gives that to this
process alone: nothing listens on a port, so no other program or page can
drive the window. Chromium reads commands on its fd 3 and writes answers on
its fd 4, as NUL-terminated JSON.
"""

from __future__ import annotations

import json
import os
import threading
from concurrent.futures import Future
from typing import Any

__all__ = ["PipeDevTools"]


class PipeDevTools:
    """The parent's end of chromium's DevTools pipe."""

    def __init__(self) -> None:
        self._child_reads, self._commands = os.pipe()
        self._answers, self._child_writes = os.pipe()
        self._pending: dict[int, Future] = {}
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

    def call(self, method: str, params: dict[str, Any] | None = None, *, session: str | None = None,
             timeout: float = 10.0) -> dict[str, Any]:
        """Send one command and wait for its result; RuntimeError with chromium's message on failure."""
        future: Future = Future()
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
            raise RuntimeError(f"chromium's DevTools pipe is closed ({exc})") from None
        answer = future.result(timeout)
        if "error" in answer:
            raise RuntimeError(f"chromium refused {method}: {answer['error'].get('message', answer['error'])}")
        return answer.get("result", {})

    def close(self) -> None:
        try:
            os.close(self._commands)
        except OSError:
            pass

    def _read(self) -> None:
        """Resolve calls from chromium's answers (events are not needed); fail them all at EOF."""
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
                    with self._lock:
                        future = self._pending.pop(answer.get("id"), None)
                    if future is not None:
                        future.set_result(answer)
        with self._lock:
            pending, self._pending = self._pending, {}
        for future in pending.values():
            future.set_exception(RuntimeError("chromium closed its DevTools pipe"))
