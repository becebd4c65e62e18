"""Where a page's writes run: queued for update_message_loop, on an asyncio loop, or on the server thread."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator

import pytest

from pytonium_lab import StateStore
from pytonium_lab._calls import registry_of
from pytonium_lab.desktop._server import PageConnection, Session, get_server

from .helpers import ViewClient, wait_for

VIEW = "view:abc"


class Recorder:
    def __init__(self):
        self.calls = []

    def update_state(self, namespace, key, value):
        self.calls.append((key, value, threading.current_thread().name))


def connect(session: Session) -> ViewClient:
    server = get_server()
    server.add(session)
    view = ViewClient(server, session.token, server.origin)
    view.send({"t": "hello", "view": VIEW})
    assert view.receive()["t"] == "snapshot"  # answered without any pump
    return view


@pytest.fixture
def store_and_handler():
    store = StateStore()
    handler = Recorder()
    store.add_state_handler(handler, ["s"])
    return store, handler


def test_queued_writes_wait_for_the_pump(store_and_handler):
    store, handler = store_and_handler
    session = Session(store, loop=None)
    view = connect(session)
    try:
        view.send({"t": "set", "view": VIEW, "ns": "s", "key": "k", "value": 1, "id": 1})
        wait_for(lambda: len(session._inbox), 5, "the write to be queued")
        assert store.get_state("s", "k") is None and handler.calls == []
        assert session.pump() == 1
        assert handler.calls == [("k", 1, threading.current_thread().name)]
        echo = view.receive()
        assert echo["t"] == "batch" and echo["changes"][0]["origin"] == VIEW
    finally:
        view.close()
        get_server().remove(session)


def test_writes_run_on_the_initializing_asyncio_loop(store_and_handler):
    store, handler = store_and_handler
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="kernel-loop", daemon=True)
    thread.start()
    session = Session(store, loop=loop)
    view = connect(session)
    try:
        for i in range(50):
            view.send({"t": "set", "view": VIEW, "ns": "s", "key": "k", "value": i, "id": i + 1})
        wait_for(lambda: store.get_state("s", "k") == 49, 5, "the writes to arrive")
        assert [c[1] for c in handler.calls] == list(range(50))  # in order, none lost
        assert {c[2] for c in handler.calls} == {"kernel-loop"}
    finally:
        view.close()
        get_server().remove(session)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def test_open_window_mode_runs_writes_on_the_server_thread(store_and_handler):
    store, handler = store_and_handler
    session = Session(store, loop="server")
    view = connect(session)
    try:
        view.send({"t": "set", "view": VIEW, "ns": "s", "key": "k", "value": "x", "id": 1})
        wait_for(lambda: handler.calls, 5, "the handler")
        assert handler.calls == [("k", "x", "pytonium-server")]
    finally:
        view.close()
        get_server().remove(session)


def test_namespace_filter_refuses_other_writes(store_and_handler):
    store, _ = store_and_handler
    session = Session(store, namespaces=["s"], loop="server")
    view = connect(session)
    try:
        view.send({"t": "set", "view": VIEW, "ns": "other", "key": "k", "value": 1, "id": 7})
        reply = view.receive()
        assert reply["t"] == "error" and reply["id"] == 7 and "other.k" in reply["message"]
        assert store.get_state("other", "k") is None
    finally:
        view.close()
        get_server().remove(session)


def test_removing_a_session_closes_its_sockets(store_and_handler):
    store, _ = store_and_handler
    session = Session(store, loop="server")
    view = connect(session)
    wait_for(lambda: session.sockets, 5, "the socket to register")
    listening = len(store._subscribers)  # the handler and the socket's link
    get_server().remove(session)  # the last session: the server stops too
    with pytest.raises(ConnectionError):
        view.receive()
    view.close()
    assert len(store._subscribers) == listening - 1  # the link let go of the store


@contextlib.contextmanager
def served_on_a_loop(store, thread_name: str) -> Iterator[tuple[asyncio.AbstractEventLoop, Session, ViewClient]]:
    """A session whose page messages run on a loop of its own thread, a view said hello, its reads moved there."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name=thread_name, daemon=True)
    thread.start()
    session = Session(store, loop=loop)
    view = connect(session)
    try:
        wait_for(lambda: session.sockets, 5, "the socket to register")
        (connection,) = session.sockets
        assert isinstance(connection, PageConnection)
        wait_for(lambda: connection.socket.owner is loop, 5, "the reads to move to the session's loop")
        yield loop, session, view
    finally:
        view.close()
        get_server().remove(session)
        if not loop.is_closed():
            loop.call_soon_threadsafe(loop.stop)
            thread.join(5)
            loop.close()


def the_connection(session: Session) -> PageConnection:
    (connection,) = session.sockets
    return connection


def test_reads_move_to_the_session_loop_after_hello(store_and_handler):
    """A page's messages are read, run and answered on the session's loop: no thread hop either way."""
    store, handler = store_and_handler
    ran_on = []
    with served_on_a_loop(store, "user-loop") as (_, session, view):
        registry_of(store).bind(
            [(lambda x: ran_on.append(threading.current_thread().name) or x * 2, "double", "")], "t"
        )
        connection, received = the_connection(session), []
        original = connection._on_text
        connection.socket._on_text = lambda text: (received.append(threading.current_thread().name), original(text))
        view.send({"t": "call", "view": VIEW, "id": 1, "object": "", "name": "double", "args": [21]})
        view.send({"t": "set", "view": VIEW, "ns": "s", "key": "k", "value": 1, "id": 1})
        answer = view.receive()
        while answer["t"] not in ("result", "answers"):
            answer = view.receive()
        results = answer["answers"] if answer["t"] == "answers" else [answer]
        assert results[0]["value"] == 42
        wait_for(lambda: handler.calls, 5, "the write")
        assert received == ["user-loop", "user-loop"]  # read there, not on the server thread
        assert ran_on == ["user-loop"] and handler.calls == [("k", 1, "user-loop")]


def test_a_pump_on_the_busy_loop_reads_its_pages(store_and_handler):
    """A cell that loops forever calling update_message_loop() runs on the loop that reads the page."""
    store, handler = store_and_handler
    stop, looping = threading.Event(), threading.Event()
    with served_on_a_loop(store, "kernel-main") as (loop, session, view):

        def looping_cell() -> None:  # never yields to the loop
            looping.set()
            while not stop.is_set():
                session.pump()
                time.sleep(0.005)

        loop.call_soon_threadsafe(looping_cell)
        try:
            assert looping.wait(5)
            for i in range(20):
                view.send({"t": "set", "view": VIEW, "ns": "s", "key": "k", "value": i, "id": i + 1})
            wait_for(lambda: len(handler.calls) == 20, 5, "the writes, through the looping cell's pumps")
            assert [c[1] for c in handler.calls] == list(range(20))
            assert {c[2] for c in handler.calls} == {"kernel-main"}
        finally:
            stop.set()


def test_reads_come_back_to_the_server_when_the_loop_closes(store_and_handler):
    """asyncio.run ended, the window stayed: the spec's pump loop gets the page's writes from then on."""
    store, handler = store_and_handler
    with served_on_a_loop(store, "short-loop") as (loop, session, view):
        loop.call_soon_threadsafe(loop.stop)
        wait_for(lambda: not loop.is_running(), 5, "the loop to stop")
        loop.close()
        view.send({"t": "set", "view": VIEW, "ns": "s", "key": "k", "value": "late", "id": 1})
        wait_for(lambda: session.pump() or handler.calls, 5, "the write, through update_message_loop()")
        assert handler.calls == [("k", "late", threading.current_thread().name)]
        assert the_connection(session).socket.owner is get_server().loop.asyncio_loop
