"""A window page's WebSocket (PageSocket) under random interleavings of the things users cause.

Real loopback TCP, wsproto framing on both ends, two event loops on two threads
(the server thread's and the user's), and Python threads that send at once while
the page's reads move between the loops and the page reads slowly (so sends
fill the socket and leave their rest to the owner's writer). Properties:

- every page message is handled exactly once, in the order sent, on the thread
  of the loop that owns the reads at that moment;
- every message Python sends arrives whole, each sender's in order, whichever
  thread sent it and however full the socket was.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from pytonium_lab.desktop._page_socket import PageSocket, accept

from .looping import LoopOnThread, wait_until
from .wspage import Page

SENDERS = 3

ops = st.lists(
    st.one_of(
        st.tuples(st.just("page"), st.integers(1, 20)),
        st.tuples(st.just("py"), st.integers(0, SENDERS - 1), st.sampled_from([10, 1000, 200_000])),
        st.tuples(st.just("move")),
        st.tuples(st.just("nap")),
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=100, deadline=None)
@given(ops, st.integers(0, 2**32 - 1))
def test_messages_arrive_once_in_order_while_reads_move_and_threads_send(steps, seed):
    listener = socket.create_server(("127.0.0.1", 0))
    page = Page(listener.getsockname()[1], seed)
    conn, _ = listener.accept()
    listener.close()
    head = b""
    while b"\r\n\r\n" not in head:
        head += conn.recv(4096)
    ws, answer = accept(head)
    loops = [LoopOnThread("loop-a"), LoopOnThread("loop-b")]
    handled: list[tuple[str, str, bool]] = []
    closed = threading.Event()

    def on_text(text: str) -> None:
        on_owner = page_socket.owner is asyncio.get_running_loop()
        handled.append((text, threading.current_thread().name, on_owner))

    page_socket = PageSocket(conn, ws, on_text, closed.set, greeting=answer, max_message=1 << 24)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)  # a 200 kB message never fits at once
    owner = 0
    loops[owner].loop.call_soon_threadsafe(page_socket.resume)
    assert page.accepted.wait(5)

    sent_by_page: list[str] = []
    sent_by_py: dict[int, list[str]] = {i: [] for i in range(SENDERS)}
    last_send: dict[int, threading.Thread] = {}  # each sender's latest send: the only one that may still run
    try:
        for step in steps:
            if step[0] == "page":
                texts = [f"p{len(sent_by_page) + i}" for i in range(step[1])]
                sent_by_page += texts
                page.send(texts)
            elif step[0] == "py":
                who, size = step[1], step[2]
                text = f"{who}:{len(sent_by_py[who])}:" + "x" * size
                sent_by_py[who].append(text)
                # Each send is a thread of its own, racing the other senders'; one sender's sends keep
                # their order because its previous send has returned (joined) before the next starts.
                # (Joining only when the last thread started was this sender's let two of its sends
                # race whenever another sender's came between them: a harness bug seen once in CI.)
                if who in last_send:
                    last_send[who].join()
                thread = threading.Thread(target=page_socket.send_text, args=(text,), name=f"sender-{who}")
                thread.start()
                last_send[who] = thread
            elif step[0] == "move":  # the server's move: pause on the owner, then resume on the other loop
                other = 1 - owner
                old_loop, new_loop = loops[owner].loop, loops[other].loop
                moved = threading.Event()

                def resume(moved: threading.Event = moved) -> None:
                    page_socket.resume()
                    moved.set()

                old_loop.call_soon_threadsafe(
                    lambda new_loop=new_loop, resume=resume: (
                        page_socket.pause(),
                        new_loop.call_soon_threadsafe(resume),
                    )
                )
                assert moved.wait(5)  # one move at a time, as the server makes them (messages still in flight)
                owner = other
            else:
                time.sleep(0.001)
        for thread in last_send.values():
            thread.join(10)
        wait_until(lambda: len(handled) >= len(sent_by_page), "the page's messages to be handled")
        expected = sum(len(v) for v in sent_by_py.values())
        wait_until(lambda: len(page.got) >= expected or page.errors, "Python's messages to arrive")
        assert not page.errors, page.errors
        assert [h[0] for h in handled] == sent_by_page  # once each, in order
        assert all(on_owner for _, _, on_owner in handled), handled  # on the owning loop's thread
        assert {name for _, name, _ in handled} <= {"loop-a", "loop-b"}
        assert len(page.got) == expected
        for who, texts in sent_by_py.items():
            assert [t for t in page.got if t.startswith(f"{who}:")] == texts  # whole, in order
    finally:
        loops[owner].loop.call_soon_threadsafe(page_socket.close)
        wait_until(closed.is_set, "the socket to close", 5)
        page.closed.wait(5)
        page.sock.close()
        for each in loops:
            each.stop()
