"""Fixtures for classroom tests: one headless Debian Chromium per module, classes served from a plain thread.

A missing chromium fails loudly (never `playwright install`).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "notebook"))

from labharness import headless_chromium

from pytonium_lab import StateStore
from pytonium_lab._classroom import Classroom

POLL_PAGE = """<!doctype html>
<html><head><title>poll</title></head><body>
<p id="slide"></p>
<script>
  window.events = []; window.refused = [];
  addEventListener("PytoniumWriteRefused", (e) => refused.push(e.detail));
  document.addEventListener("seen", (e) => events.push(e.detail));
  Pytonium.appState.registerForStateUpdates("seen", ["slide", "chat", "answers"], true, true);
</script>
</body></html>"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with headless_chromium() as chromium:
        yield chromium


def serve_in_thread(store: StateStore, page: str, **options: Any) -> Classroom:
    """``store.serve(...)`` as a script calls it: from a thread with no running asyncio loop.

    Playwright's sync API leaves a loop running in the test's thread, which serve()
    would take for a notebook kernel's and apply the clients' writes there.
    """
    result: list[Any] = []

    def run() -> None:
        try:
            result.append(store.serve(page, **options))
        except BaseException as exc:  # handed to the test's thread
            result.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(20)
    if isinstance(result[0], BaseException):
        raise result[0]
    return result[0]  # type: ignore[no-any-return]


@pytest.fixture
def classroom() -> Iterator[Callable[..., Classroom]]:
    """``classroom(store, page=POLL_PAGE, **options)``: a served class, closed after the test."""
    rooms: list[Classroom] = []

    def make(store: StateStore, page: str = POLL_PAGE, **options: Any) -> Classroom:
        room = serve_in_thread(store, page, **options)
        rooms.append(room)
        return room

    yield make
    for room in rooms:
        room.close()
