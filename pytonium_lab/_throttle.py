"""A leading-edge throttle driven by one shared timer thread.

Views want the first change after a quiet spell at once (latency) and bursts
folded into at most one message per interval (rate). One daemon thread serves
every throttle, so a notebook with many widgets does not start many threads.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable

__all__ = ["RateLimit", "Soon", "Throttle"]


class _Timers:
    """Runs callbacks at given monotonic times on one daemon thread."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._counter = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def call_at(self, when: float, callback: Callable[[], None]) -> None:
        with self._wake:
            heapq.heappush(self._heap, (when, next(self._counter), callback))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="pytonium-flush", daemon=True)
                self._thread.start()
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._wake.wait(timeout)
                _, _, callback = heapq.heappop(self._heap)
            try:
                callback()
            except Exception:  # a flush must never kill the shared thread
                import logging

                logging.getLogger("pytonium_lab").exception("scheduled flush failed")


_timers = _Timers()


class Throttle:
    """Call ``action`` at most once per ``interval``; the first call of a quiet spell runs at once."""

    def __init__(self, action: Callable[[], None], interval: float) -> None:
        self._action = action
        self._interval = interval
        self._lock = threading.Lock()
        self._last = -1e9
        self._armed = False

    @property
    def armed(self) -> bool:
        """A call is already due: asking again changes nothing (a lock-free check for hot paths)."""
        return self._armed

    def __call__(self) -> None:
        with self._lock:
            if self._armed:
                return
            due = self._last + self._interval
            now = time.monotonic()
            if now >= due:
                self._last = now
                run_now = True
            else:
                self._armed = True
                run_now = False
        if run_now:
            self._action()
        else:
            _timers.call_at(due, self._fire)

    def _fire(self) -> None:
        with self._lock:
            self._armed = False
            self._last = time.monotonic()
        self._action()


class Soon:
    """Run ``action`` once, soon, however often it is asked for before it runs.

    For transports with an event loop of their own (``schedule`` is e.g.
    ``loop.add_callback``): single changes leave after one loop turn, and a
    burst joins one message for as long as the loop is busy. A timer throttle
    would add its interval to every ping-pong round trip instead.
    """

    def __init__(self, action: Callable[[], None], schedule: Callable[[Callable[[], None]], object]) -> None:
        self._action = action
        self._schedule = schedule
        self._lock = threading.Lock()
        self._queued = False

    @property
    def armed(self) -> bool:
        """A run is already queued: asking again changes nothing."""
        return self._queued

    def __call__(self) -> None:
        with self._lock:
            if self._queued:
                return
            self._queued = True
        self._schedule(self._run)

    def _run(self) -> None:
        with self._lock:
            self._queued = False
        self._action()


class RateLimit:
    """A token bucket: at most ``burst`` at once, then ``per_second``; counts what it refused.

    For input that a page can flood (its console): the kernel and the output
    must not drown in it, and the user learns how much was dropped.
    """

    def __init__(self, burst: int, per_second: float) -> None:
        self._burst = burst
        self._rate = per_second
        self._tokens = float(burst)
        self._last = time.monotonic()
        self._lock = threading.Lock()
        self._dropped = 0

    def take(self) -> bool:
        """Whether one more may pass now."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
            self._last = now
            if self._tokens < 1:
                self._dropped += 1
                return False
            self._tokens -= 1
            return True

    def take_dropped(self) -> int:
        """How many were refused since the last call (and start counting again)."""
        with self._lock:
            dropped, self._dropped = self._dropped, 0
            return dropped
