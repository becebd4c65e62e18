"""A class under faults: each bad client is refused or dropped, and the others lose nothing.

Protocol clients (tests/classroom/protoclient.py) on loopback; no browser.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time

import pytest
import websockets
from protoclient import Client, endpoints, public, until

from pytonium_lab import StateStore

PAGE = "<html><body>class</body></html>"


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 60))


async def started(ws_url, origin, **kw):
    client = await Client(ws_url, origin, **kw).connect()
    client.reader = asyncio.ensure_future(client.run())
    await until(client.ready.is_set, 5, "the first snapshot")
    return client


@pytest.fixture
def room():
    store = StateStore()
    store.set_state("slide", "n", 1)
    room = store.serve(PAGE, writable=["chat"], max_clients=4, max_message=4096, write_rate=10.0)
    yield room
    room.close()


def test_bad_token_foreign_origin_and_a_full_class_are_refused(room):
    ws_url, origin = endpoints(room)

    async def go():
        for url, page_origin, status in [
            (ws_url.replace(room.token, "wrong"), origin, 403),
            (ws_url.split("?")[0], origin, 403),
            (ws_url, "http://evil.example", 403),
            (ws_url, None, 403),
        ]:
            with pytest.raises(websockets.InvalidStatus) as refused:
                await websockets.connect(url, origin=page_origin, proxy=None)
            assert refused.value.response.status_code == status, (url, page_origin)
        clients = [await started(ws_url, origin) for _ in range(4)]
        with pytest.raises(websockets.InvalidStatus) as full:
            await websockets.connect(ws_url, origin=origin, proxy=None)
        assert full.value.response.status_code == 503
        assert b"full" in full.value.response.body
        for client in clients:
            await client.ws.close()

    run(go())
    assert public(room.store.snapshot()) == {"slide": {"n": 1}}


def test_malformed_frames_are_ignored_and_the_socket_lives_on(room):
    ws_url, origin = endpoints(room)

    async def go():
        bad, good = await started(ws_url, origin), await started(ws_url, origin)
        for frame in [
            "not json",
            "[1, 2]",
            json.dumps({"t": "mystery", "view": bad.view}),
            json.dumps({"t": "set", "view": "nope", "ns": "chat", "key": "k", "value": 1, "id": 1}),
            json.dumps({"t": "set", "view": "view:someoneelse", "ns": "chat", "key": "k", "value": 1, "id": 1}),
            json.dumps({"t": "chunk", "cid": "x", "i": 0, "n": 2, "data": "{"}),
            b"\x00\xff binary",
        ]:
            await bad.ws.send(frame)
        await bad.set("chat", "k", "still here")
        await until(lambda: good.state.get("chat") == {"k": "still here"}, 5, "the good write after the bad frames")
        assert bad.errors == []

    run(go())
    assert public(room.store.snapshot()) == {"slide": {"n": 1}, "chat": {"k": "still here"}}


def test_an_oversized_write_is_refused_and_a_huge_frame_drops_only_its_socket(room):
    ws_url, origin = endpoints(room)

    async def go():
        big, other = await started(ws_url, origin), await started(ws_url, origin)
        await big.set("chat", "k", "x" * 10_000)  # over max_message=4096: refused, the socket lives on
        await until(lambda: len(big.errors) == 1, 5, "the size refusal")
        assert "larger than 4096 bytes" in big.errors[0]["message"] and big.errors[0]["key"] == "k"
        await big.set("chat", "k", "x" * 20_000)  # over 4 x max_message: the socket is closed
        await until(lambda: big.ws.close_code is not None, 5, "the oversized client's socket to close")
        assert big.ws.close_code == 1009
        await other.set("chat", "k", "small")
        await until(lambda: other.state.get("chat") == {"k": "small"}, 5, "the other client's write")

    run(go())
    assert room.store.get_state("chat", "k") == "small"


def test_read_only_writes_and_floods_are_refused_never_dropped(room):
    ws_url, origin = endpoints(room)

    async def go():
        client = await started(ws_url, origin)
        await client.set("slide", "n", 99)
        await until(lambda: len(client.errors) == 1, 5, "the read-only refusal")
        assert "read-only" in client.errors[0]["message"] and client.errors[0]["ns"] == "slide"
        for i in range(100):  # write_rate=10: a burst of 20 passes, the rest is refused
            await client.set("chat", f"k{i}", i)
        await until(lambda: len(client.errors) + len(client.state.get("chat", {})) == 101, 10, "100 answers")
        return client

    client = run(go())
    accepted = room.store.snapshot().get("chat", {})
    refused = {e["key"] for e in client.errors if "too many writes" in e["message"]}
    assert 20 <= len(accepted) < 40, len(accepted)
    assert set(accepted) | refused == {f"k{i}" for i in range(100)} and not set(accepted) & refused
    assert room.store.get_state("slide", "n") == 1


def test_a_client_killed_mid_message_and_a_half_open_socket_are_dropped():
    store = StateStore()
    room = store.serve(PAGE, writable=["chat"], ping_interval=0.3)
    ws_url, origin = endpoints(room)
    try:

        async def go():
            other = await started(ws_url, origin)
            # Killed mid-message: a handshake, half a frame header, then the socket closes.
            raw = socket.create_connection(("127.0.0.1", room.port))
            raw.sendall(
                f"GET /_pytonium/ws?token={room.token} HTTP/1.1\r\nHost: 127.0.0.1:{room.port}\r\n"
                f"Origin: {origin}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
            )
            assert b"101" in raw.recv(4096).split(b"\r\n")[0]
            await until(lambda: room.client_count == 2, 5, "the raw client to join")
            raw.sendall(b"\x81\xfe\x10\x00mask")  # a masked text frame of 4096 bytes, cut off
            raw.close()
            await until(lambda: room.client_count == 1, 5, "the killed client to be dropped")
            # Half-open: a client that stops reading answers no ping and is dropped.
            silent = await started(ws_url, origin)
            silent.reader.cancel()
            silent.ws.transport.pause_reading()
            await until(lambda: room.client_count == 2, 5, "the silent client to join")
            await until(lambda: room.client_count == 1, 5, "the half-open socket to be dropped")
            await other.set("chat", "k", "fine")
            await until(lambda: other.state.get("chat") == {"k": "fine"}, 5, "the other client's write")
            silent.ws.transport.abort()

        run(go())
        assert public(store.snapshot()) == {"chat": {"k": "fine"}}
    finally:
        room.close()


def test_a_stalled_client_is_skipped_then_resynced_or_dropped():
    store = StateStore()
    room = store.serve(PAGE, queue_bytes=64 * 1024, stall_timeout=3.0)
    ws_url, origin = endpoints(room)
    try:

        async def go():
            stalled, other = await started(ws_url, origin), await started(ws_url, origin)
            stalled.reader.cancel()  # it reads nothing: websockets stops reading the socket at max_queue
            blob = "x" * 50_000
            for i in range(300):  # ~15 MB: past the kernel's socket buffers and the 64 KiB queue
                store.set_state("big", "blob", f"{i}{blob}")
                store.set_state("big", "i", i)
                await asyncio.sleep(0.001)
            await until(lambda: other.state.get("big", {}).get("i") == 299, 20, "the other client to get every write")
            assert any(c.behind for c in room.clients), room.clients
            # The stalled client reads again: it takes what was queued, then a snapshot.
            stalled.reader = asyncio.ensure_future(stalled.run())
            await until(lambda: stalled.state.get("big", {}).get("i") == 299, 20, "the stalled client to catch up")
            assert stalled.snapshots >= 2 and stalled.state == public(store.snapshot())
            assert not any(c.behind for c in room.clients)
            # Stalled for good (a new client: the first one's socket buffers have grown while it read):
            # dropped after stall_timeout, the others keep going.
            stuck = await started(ws_url, origin)
            stuck.reader.cancel()
            for i in range(300, 600):
                store.set_state("big", "blob", f"{i}{blob}")
                store.set_state("big", "i", i)
                await asyncio.sleep(0.001)
            start = time.monotonic()
            await until(lambda: room.client_count == 2, 15, "the stalled client to be dropped")
            assert time.monotonic() - start < 10
            for client in (other, stalled):
                await until(
                    lambda c=client: c.state.get("big", {}).get("i") == 599, 10, "the others to get every write"
                )
                assert client.state == public(store.snapshot())
            stuck.ws.transport.abort()

        run(go())
    finally:
        room.close()


def test_a_hello_flood_costs_a_few_snapshots_and_still_ends_current(room):
    ws_url, origin = endpoints(room)

    async def go():
        client = await started(ws_url, origin)
        for _ in range(100):
            await client.ws.send(json.dumps({"t": "hello", "view": client.view}))
        room.store.set_state("slide", "n", 2)
        await until(lambda: client.snapshots >= 6, 5, "the flood's snapshots")
        await asyncio.sleep(1.5)  # the coalesced answer comes a second later
        assert 6 <= client.snapshots <= 8, client.snapshots  # 1 + a burst of 5 + one for the rest
        assert client.state == public(room.store.snapshot())

    run(go())
