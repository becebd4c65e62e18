"""A class in a notebook: the client list in the store (the inspector shows it), the view's URL and QR code."""

from __future__ import annotations

import asyncio
import sys
import time

from protoclient import Client, endpoints, until

from pytonium_lab import StateStore
from pytonium_lab._classroom_view import MISSING_QR

PAGE = "<html><body>class</body></html>"


def wait_for(check, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_the_client_list_is_kept_in_the_store_hidden_from_clients_and_shown_by_the_inspector():
    store = StateStore()
    room = store.serve(PAGE)
    ws_url, origin = endpoints(room)
    namespace = room.clients_namespace

    async def go():
        clients = [await Client(ws_url, origin).connect() for _ in range(3)]
        readers = [asyncio.ensure_future(c.run()) for c in clients]
        await until(lambda: all(c.ready.is_set() for c in clients), 5, "snapshots")
        await until(lambda: len(store.get_state(namespace, "clients", [])) == 3, 5, "the client list")
        await asyncio.sleep(0.1)
        assert all(c.state == {} for c in clients)  # clients never see the private list
        listed = sorted(c["id"] for c in store.get_state(namespace, "clients"))
        assert listed == sorted(c.id for c in room.clients)
        await clients[0].ws.close()
        await until(lambda: len(store.get_state(namespace, "clients")) == 2, 5, "a client leaving the list")
        for c in clients[1:]:
            await c.ws.close()
        for r in readers:
            r.cancel()

    asyncio.run(go())
    inspector = store.inspector()
    try:
        assert namespace in store.get_state(inspector.private, "namespaces")
    finally:
        inspector.close()
    room.close()
    assert namespace not in store.namespaces()


def test_the_view_shows_the_url_a_qr_code_and_the_count(monkeypatch):
    store = StateStore()
    with store.serve(PAGE) as room:
        bundle = room._repr_mimebundle_()  # ipywidgets: (data, metadata)
        assert "application/vnd.jupyter.widget-view+json" in bundle[0]
        srcdoc = room.view()._srcdoc
        assert room.url.replace("&", "&amp;") in srcdoc and "<svg" in srcdoc and 'id="count"' in srcdoc
        assert room.view() is room.view()  # one view, however often it is shown
        monkeypatch.setitem(sys.modules, "segno", None)  # without the classroom extra
        room._view = None
        assert MISSING_QR.replace("'", "&#x27;") in room.view()._srcdoc
    assert "closed" in room._repr_mimebundle_()["text/plain"]
