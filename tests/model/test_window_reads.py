"""A window's page messages through the real loopback server while their reads move to the session's loop.

The server thread accepts each page and answers its ``hello``; then the page's reads
move to the loop that runs the session's messages. Pages here send ``hello`` and a
burst of writes and calls in one TCP write, so some are read before the move and
some after; the loop is sometimes busy in a "cell"; pages come and go; Python writes
from another thread meanwhile. Properties:

- each page's writes reach the handler exactly once, in order, on the loop's thread
  (a page that closed included: what it sent before closing counts);
- every call of a page still open is answered once, with its result;
- the store ends holding each page's last write.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pytonium_lab import StateStore
from pytonium_lab._calls import registry_of
from pytonium_lab.desktop._server import Session, get_server, serve

from .looping import LoopOnThread, wait_until
from .wspage import Page

steps = st.lists(
    st.one_of(
        st.tuples(st.just("open"), st.integers(0, 30)),
        st.tuples(st.just("send"), st.integers(0, 7), st.integers(1, 30)),
        st.tuples(st.just("close"), st.integers(0, 7)),
        st.tuples(st.just("busy")),
        st.tuples(st.just("py")),
    ),
    min_size=1,
    max_size=25,
)


class Recorder:
    def __init__(self) -> None:
        self.seen: list[tuple[str, Any, str]] = []

    def update_state(self, namespace: str, key: str, value: Any) -> None:
        self.seen.append((key, value, threading.current_thread().name))


class Pages:
    """The pages of one run, each with its view id, what it sent and what it should get back."""

    def __init__(self, session: Session, seed: int) -> None:
        self.session = session
        self.seed = seed
        self.open: list[Page] = []
        self.closed: list[Page] = []
        self.views: dict[Page, str] = {}
        self.writes: dict[str, list[int]] = {}
        self.calls: dict[Page, list[int]] = {}
        self._ids = itertools.count(1)

    def add(self, burst: int) -> None:
        server = get_server()
        page = Page(
            server.port, self.seed + len(self.views), f"/_pytonium/ws?token={self.session.token}", server.origin
        )
        view = f"view:p{len(self.views)}"
        self.views[page], self.writes[view], self.calls[page] = view, [], []
        self.open.append(page)
        assert page.accepted.wait(5)
        self.send(page, burst, hello=True)

    def send(self, page: Page, count: int, hello: bool = False) -> None:
        view = self.views[page]
        texts = [json.dumps({"t": "hello", "view": view})] if hello else []
        for i in range(count):
            n = next(self._ids)
            if i % 3 == 2:  # every third: a call, sync or async
                self.calls[page].append(n)
                name = "echo" if n % 2 else "later"
                texts.append(json.dumps({"t": "call", "view": view, "id": n, "object": "", "name": name, "args": [n]}))
            else:
                self.writes[view].append(n)
                texts.append(json.dumps({"t": "set", "view": view, "ns": "s", "key": view, "value": n, "id": n}))
        page.send(texts)

    def answered(self, page: Page) -> list[int]:
        results = []
        for text in page.got:
            message = json.loads(text)
            for answer in message["answers"] if message["t"] == "answers" else [message]:
                if answer["t"] == "result":
                    results.append(answer["id"])
                    assert answer["value"] == answer["id"], answer
        return results


@settings(max_examples=25, deadline=None)
@given(steps, st.integers(0, 2**32 - 1))
def test_page_messages_in_order_once_while_reads_move(ops, seed):
    store = StateStore()
    recorder = Recorder()
    store.add_state_handler(recorder, ["s"])

    def echo(x: int) -> int:
        return x

    async def later(x: int) -> int:
        await asyncio.sleep(0)
        return x

    registry_of(store).bind([(echo, "", ""), (later, "", "")], "test")
    user = LoopOnThread("user-loop")
    loop = user.loop
    session = Session(store, loop=loop)
    serve(session)
    pages = Pages(session, seed)
    try:
        pages.add(5)
        for op in ops:
            if op[0] == "open":
                pages.add(op[1])
            elif op[0] == "send" and pages.open:
                pages.send(pages.open[op[1] % len(pages.open)], op[2])
            elif op[0] == "close" and pages.open:
                page = pages.open.pop(op[1] % len(pages.open))
                page.close()
                pages.closed.append(page)
            elif op[0] == "busy":
                loop.call_soon_threadsafe(time.sleep, 0.02)  # a cell that blocks the loop a while
            elif op[0] == "py":
                store.set_state("s", "py", time.monotonic())  # from this thread, while pages talk
        for view, sent in pages.writes.items():
            wait_until(
                lambda view=view, sent=sent: (
                    [v for k, v, _ in recorder.seen if k == view] == sent
                    or len([1 for k, *_ in recorder.seen if k == view]) > len(sent)
                ),
                f"{view}'s writes",
            )
            assert [v for k, v, _ in recorder.seen if k == view] == sent  # once each, in order
            if sent:
                assert store.get_state("s", view) == sent[-1]
        assert {name for key, _, name in recorder.seen if key != "py"} <= {"user-loop"}
        for page in pages.open:
            wait_until(lambda page=page: len(pages.answered(page)) >= len(pages.calls[page]), "the calls' answers")
            assert sorted(pages.answered(page)) == sorted(pages.calls[page])  # each answered once
            assert not page.errors, page.errors
    finally:
        for page in pages.open:
            page.close()
        get_server().remove(session)
        user.stop()


def test_a_handler_that_pumps_keeps_the_order():
    """A handler calling update_message_loop() while its own message is handled reads no later message first."""
    store = StateStore()
    seen: list[int] = []
    user = LoopOnThread("user-loop")
    loop = user.loop
    session = Session(store, loop=loop)
    server = serve(session)

    class Pumper:
        def update_state(self, namespace: str, key: str, value: Any) -> None:
            seen.append(value)
            if value == 1:
                time.sleep(0.05)  # the second burst arrives meanwhile
            session.pump()

    store.add_state_handler(Pumper(), ["s"])
    page = Page(server.port, 0, f"/_pytonium/ws?token={session.token}", server.origin)
    try:
        assert page.accepted.wait(5)
        page.send([json.dumps({"t": "hello", "view": "view:a"})])
        wait_until(lambda: session.sockets, "the page's connection")  # the 101 may arrive just before it is listed
        (connection,) = session.sockets
        wait_until(lambda: connection.socket.owner is loop, "the reads to move to the loop")

        def burst(values: range) -> None:
            page.send([json.dumps({"t": "set", "view": "view:a", "ns": "s", "key": "k", "value": v}) for v in values])

        burst(range(1, 11))
        time.sleep(0.01)
        burst(range(11, 21))
        wait_until(lambda: len(seen) >= 20, "the writes")
        assert seen == list(range(1, 21))
    finally:
        page.close()
        get_server().remove(session)
        user.stop()
