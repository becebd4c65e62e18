"""Handing work from transport threads to the thread where user code runs.

Page messages arrive on other threads (a kernel subshell, the loopback
server, the shared store's Redis reader), but handlers and bound functions
run on one thread: the kernel's main thread in a notebook (its asyncio loop),
the thread calling ``update_message_loop()`` in a script. A :class:`Handoff`
is that queue: jobs run in the order they were posted, either on ``loop``
(woken once per run of jobs, not once per job: a burst of 20k page writes
would otherwise thrash the two threads) or at the next :meth:`pump`.

The widget (``widget.py``), each desktop window's ``Session`` (``desktop/_server.py``),
the shared store's reader (``_shared.py``) and calls (``_calls.py``) all use it.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

__all__ = ["Handoff"]


class Handoff:
    """Jobs for one thread, run in order by ``loop`` or by :meth:`pump`.

    ``loop``: an asyncio loop to run the jobs on (a Jupyter kernel's), or ``None``
    to keep them for :meth:`pump`. It may be changed at any time.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.loop = loop
        self._jobs: deque[Callable[[], Any]] = deque()
        self._lock = threading.Lock()
        self._running = threading.RLock()  # one pump at a time, so jobs run in order; re-entrant
        self._wake_queued = False

    def __len__(self) -> int:
        """How many jobs wait."""
        return len(self._jobs)

    def post(self, job: Callable[[], Any]) -> bool:
        """Queue ``job`` and wake the loop (if any); returns False if the loop is closed.

        A job posted to a closed loop stays queued for the next :meth:`pump`.
        """
        with self._lock:
            self._jobs.append(job)
            loop = self.loop
            if loop is None or self._wake_queued:
                return True
            self._wake_queued = True
        try:
            loop.call_soon_threadsafe(self._wake)
        except RuntimeError:  # the loop is closed (the kernel is going away)
            with self._lock:
                self._wake_queued = False
            return False
        return True

    def run(self, job: Callable[[], Any]) -> None:
        """On ``loop``'s own thread: run ``job`` now, after the jobs already queued (their order kept).

        A transport that reads on the loop itself hands its messages on this way:
        no wake-up, no waiting for the next loop turn.
        """
        with self._lock:
            self._jobs.append(job)
        self.pump()

    def _wake(self) -> None:
        with self._lock:
            self._wake_queued = False
        self.pump()

    def pump(self) -> int:
        """Run the queued jobs on the calling thread, in order; returns how many ran."""
        ran = 0
        with self._running:
            while True:
                with self._lock:
                    if not self._jobs:
                        return ran
                    job = self._jobs.popleft()
                job()
                ran += 1
