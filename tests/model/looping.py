"""Helpers of the window model tests: an event loop on a thread of its own, and waiting for a condition."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

__all__ = ["LoopOnThread", "wait_until"]


class LoopOnThread:
    """An asyncio loop running on a daemon thread named ``name`` (a server's, a user's)."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Stop the loop, end its thread and close it (idempotent)."""
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


def wait_until(check: Any, what: str, timeout: float = 20) -> None:
    """Poll ``check()`` until it is true; an AssertionError naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.002)
