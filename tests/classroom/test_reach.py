"""Beyond one process and plain loopback: TLS, the LAN warning, several serving processes behind Redis.

Everything stays on loopback addresses: the certificate is made here (trustme)
for 127.0.0.1, the LAN case is the warning and the URL, and redis-server is a
real one on a free loopback port.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
import trustme
import websockets
from protoclient import Client, until
from unit.redis_server import RedisServer

import pytonium_lab._classroom as classroom_module
from pytonium_lab import StateStore

PAGE = "<html><head></head><body>class</body></html>"


def test_tls_serves_https_and_wss_with_a_secure_identity_cookie(tmp_path):
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    for pem in cert.cert_chain_pems[1:]:
        pem.write_to_path(str(tmp_path / "cert.pem"), append=True)
    trusted = ssl.create_default_context()
    ca.configure_trust(trusted)
    store = StateStore()
    store.set_state("slide", "n", 1)
    with store.serve(PAGE, certfile=tmp_path / "cert.pem", keyfile=tmp_path / "key.pem", writable=["chat"]) as room:
        assert room.url.startswith(f"https://127.0.0.1:{room.port}/")
        with urllib.request.urlopen(room.url, context=trusted, timeout=5) as response:
            page = response.read().decode()
            cookies = response.headers.get_all("Set-Cookie")
        assert '"origin": "client:' in page and '"url": "/_pytonium/ws?token=' in page
        identity = next(c for c in cookies if c.startswith("pytonium_client_"))
        assert "Secure" in identity and "HttpOnly" in identity
        with pytest.raises(
            urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"
        ):  # an untrusted certificate is refused by the client, as it must be
            urllib.request.urlopen(room.url, context=ssl.create_default_context(), timeout=5)

        async def go():
            wss = f"wss://127.0.0.1:{room.port}/_pytonium/ws?token={room.token}"
            ws = await websockets.connect(wss, origin=f"https://127.0.0.1:{room.port}", ssl=trusted, proxy=None)
            await ws.send(json.dumps({"t": "hello", "view": "view:tls"}))
            snapshot = json.loads(await ws.recv())
            await ws.close()
            return snapshot

        assert asyncio.run(go())["state"] == {"slide": {"n": 1}}


def test_beyond_loopback_warns_in_the_log(monkeypatch, caplog):
    monkeypatch.setattr(classroom_module, "_loopback", lambda host: False)  # bound to loopback all the same
    with caplog.at_level(logging.WARNING, logger="pytonium_lab"), StateStore().serve(PAGE) as room:
        assert room.client_count == 0
    warned = [r.getMessage() for r in caplog.records if "beyond this machine" in r.getMessage()]
    assert len(warned) == 1 and "unencrypted" in warned[0] and "certfile" in warned[0]


def test_a_wildcard_host_is_advertised_as_an_address_of_this_machine():
    host = classroom_module._advertised("0.0.0.0")
    assert host and host not in ("0.0.0.0", "::")


SECOND_PROCESS = r"""
import json, sys
from pytonium_lab import StateStore
store = StateStore.connect(sys.argv[1], sys.argv[2])
room = store.serve("<html><body>second</body></html>", writable=["chat"], own="answers")
print(json.dumps({"port": room.port, "token": room.token}), flush=True)
sys.stdin.read()  # until the test closes our stdin
room.close()
store.close()
"""


@pytest.fixture(scope="module")
def redis(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


def test_several_serving_processes_behind_one_redis_store_converge(redis):
    store = StateStore.connect(redis.url, "classroom")
    second = subprocess.Popen(
        [sys.executable, "-c", SECOND_PROCESS, redis.url, "classroom"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    room = store.serve(PAGE, writable=["chat"], own="answers")
    try:
        other = json.loads(second.stdout.readline())
        assert other["token"] != room.token

        async def go():
            ends = [(room.port, room.token)] * 3 + [(other["port"], other["token"])] * 3
            clients = []
            for port, token in ends:
                url = f"ws://127.0.0.1:{port}/_pytonium/ws?token={token}"
                client = await Client(url, f"http://127.0.0.1:{port}").connect()
                client.reader = asyncio.ensure_future(client.run())
                clients.append(client)
            await until(lambda: all(c.ready.is_set() for c in clients), 10, "every snapshot")
            for i, client in enumerate(clients):
                await client.set("chat", f"from{i}", i)
                await client.set("answers", "choice", i)
            store.set_state("slide", "n", 7)
            want = {"slide": {"n": 7}, "chat": {f"from{i}": i for i in range(6)}}
            await until(
                lambda: all({k: v for k, v in c.state.items() if k != "answers"} == want for c in clients),
                15,
                "every client of both processes to converge",
            )
            assert [c.state["answers"] for c in clients] == [{"choice": i} for i in range(6)]
            for client in clients:
                await client.ws.close()

        asyncio.run(go())
        assert sorted(room.answers("choice").values()) == list(range(6))  # both processes' clients
        origins = {e.change.origin for e in store.history() if e.change.namespace == "chat"}
        assert len(origins) == 6 and all(o.startswith("client:") for o in origins)
    finally:
        second.stdin.close()
        second.wait(10)
        room.close()
        store.close()
