"""300 protocol clients (another process) and real Chromium pages in one class, with one stalled client.

Every client ends equal to the store, 300 answers written at once all arrive,
and a client that never reads changes nobody else's state or delivery (here
the kernel's socket buffers absorb what it does not read; its queue overflowing,
then snapshot or drop, is tests/classroom/test_faults.py's stalled client).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from protoclient import public

from pytonium_lab import StateStore

pytestmark = pytest.mark.e2e

CLIENTS = 300
PAGES = 3


def stalled_client(room) -> socket.socket:
    """A WebSocket client that completes the handshake, says hello, and never reads again."""
    raw = socket.create_connection(("127.0.0.1", room.port))
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.sendall(
        f"GET /_pytonium/ws?token={room.token} HTTP/1.1\r\nHost: 127.0.0.1:{room.port}\r\n"
        f"Origin: http://127.0.0.1:{room.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    assert raw.recv(12) == b"HTTP/1.1 101"
    hello = json.dumps({"t": "hello", "view": "view:stalled"}).encode()
    raw.sendall(bytes([0x81, 0x80 | len(hello)]) + b"\0\0\0\0" + hello)  # masked with a zero key
    return raw


def test_300_clients_and_pages_converge_and_lose_no_answer(browser, classroom):
    store = StateStore()
    store.set_state("slide", "n", 0)
    room = classroom(store, writable=["chat"], own="answers", queue_bytes=32 * 1024, write_rate=50.0)
    ws_url = f"ws://127.0.0.1:{room.port}/_pytonium/ws?token={room.token}"
    stalled = stalled_client(room)
    start = time.monotonic()
    crowd = subprocess.Popen(
        [
            *(sys.executable, str(Path(__file__).parent / "protoclient.py"), ws_url, f"http://127.0.0.1:{room.port}"),
            *("--clients", str(CLIENTS), "--answer", "answers", "--done", "control.done", "--seconds", "60"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        pages = []
        for _ in range(PAGES):
            page = browser.new_context().new_page()
            page.goto(room.url)
            pages.append(page)
        for page in pages:
            page.wait_for_function("() => window.PytoniumReady === true", timeout=20_000)
        assert json.loads(crowd.stdout.readline()) == {"ready": CLIENTS}
        # Python writes the slide at ~60/s, with a filler that makes the stalled client fall behind,
        # while the 300 clients and the pages answer.
        writer = threading.Thread(
            target=lambda: [
                (store.set_state("slide", "n", i), store.set_state("slide", "filler", "x" * 2000), time.sleep(1 / 60))
                for i in range(1, 121)
            ]
        )
        writer.start()
        for i, page in enumerate(pages):
            page.evaluate(f"() => Pytonium.appState.setState('answers', 'choice', 'page{i}')")
            page.evaluate(f"() => Pytonium.appState.setState('chat', 'page{i}', 'hi')")
        deadline = time.monotonic() + 60
        while len(room.answers("choice")) < CLIENTS + PAGES and time.monotonic() < deadline:
            time.sleep(0.05)
        writer.join(30)
        assert not any(c.behind for c in room.clients if c.address)  # no reader fell behind its queue
        answers = room.answers("choice")
        assert len(answers) == CLIENTS + PAGES
        assert sorted(v for v in answers.values() if isinstance(v, int)) == sorted(i % 4 for i in range(CLIENTS))
        assert sorted(v for v in answers.values() if isinstance(v, str)) == [f"page{i}" for i in range(PAGES)]
        store.set_state("control", "done", True)
        out, _ = crowd.communicate(timeout=60)
        report = json.loads(out.strip().splitlines()[-1])
    finally:
        if crowd.poll() is None:
            crowd.kill()
        stalled.close()
    shared = {ns: keys for ns, keys in public(store.snapshot()).items() if ns != "answers"}
    assert shared["slide"]["n"] == 120
    for i, state in enumerate(report["states"]):
        assert {ns: keys for ns, keys in state.items() if ns != "answers"} == shared, f"client {i}"
        assert state["answers"] == {"choice": i % 4}, f"client {i} sees only its own answer"
    assert report["errors"] == 0
    for i, page in enumerate(pages):
        page.wait_for_function("() => Pytonium.appState.getState('control', 'done') === true", timeout=10_000)
        mirror = page.evaluate(
            "() => [Pytonium.appState.getState('slide', 'n'), Pytonium.appState.getState('chat', 'page2'), Pytonium.appState.getState('answers', 'choice')]"
        )
        assert mirror == [120, "hi", f"page{i}"]
    assert time.monotonic() - start < 60
