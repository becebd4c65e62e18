"""Where a page's writes run: queued for update_message_loop, on an asyncio loop, or on the server thread."""

from __future__ import annotations

import asyncio
import threading

import pytest

from pytonium_lab import StateStore
from pytonium_lab.desktop._server import Session, get_server

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
