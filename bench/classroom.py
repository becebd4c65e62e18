"""A class of 300 clients: fan-out of set_state, with and without a stalled client, and memory per client.

Three phases, same run, same crowd size, same rate (60 writes/s), same messages:

- *anchor*: a raw broadcast over the same WebSocket library (tornado): one
  server thread that encodes each write's batch message once and writes it to
  every socket; no store, no link, no rights, no queue accounting;
- *serve*: ``store.serve(page)`` with the crowd connected, ``set_state`` in
  this process at 60/s;
- *serve + stalled*: the same with one more client that says hello and never
  reads again (a 4 KiB receive buffer). At these message sizes the kernel's
  socket buffers take what it does not read for the whole run, so its queue
  stays short: the run shows that such a client costs the others nothing. Its
  queue overflowing (skipped, then a snapshot, or dropped) is tested in
  tests/classroom/test_faults.py; a bench that fills it would have to send the
  300 readers gigabytes. The script prints whether it fell behind.

The crowd is 300 asyncio WebSocket clients (``websockets``) in another
process. Each write's value carries its send time (CLOCK_MONOTONIC, shared by
the processes); every client records when each write arrives, and the crowd
reports percentiles over all (client, write) pairs; the serving process's CPU
time per write (all its threads) is the figure least moved by other load on
the machine. A served class coalesces
(latest value per key per batch) when it is busy, so its clients may see fewer
writes (``n``) than the anchor's, which sends every one. Memory per idle
client: the serving process's RSS with the crowd connected and idle, minus
before, over 300; measured in a fresh process (the first served phase; the
anchor runs in a process of its own), since a later phase reuses memory the
allocator kept.

Goal (issue 17): serve p99 <= 50 ms on 2 cores.

    .venv/bin/python bench/classroom.py [--clients 300] [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
from typing import Any

import tornado.httpserver
import tornado.ioloop
import tornado.web
import tornado.websocket

from pytonium_lab import StateStore
from pytonium_lab import _protocol as proto

RATE = 60


def rss() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


# ---- the crowd (another process) -------------------------------------------------------


MARK = b'"key":"w","value":['


class _Client(asyncio.Protocol):
    """A lean WebSocket client (RFC 6455 by hand): the crowd must not be what is measured.

    It sends the handshake and a hello, then parses the server's unmasked frames,
    answers pings, and takes each write's ``[i, sent]`` out of the text without
    a JSON parse.
    """

    def __init__(self, host: str, path: str, origin: str, crowd: _Crowd) -> None:
        self.host, self.path, self.origin, self.crowd = host, path, origin, crowd
        self.buffer = b""
        self.upgraded = False
        self.first = True
        self.done = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        transport.write(
            f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\nOrigin: {self.origin}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        self.send(1, json.dumps({"t": "hello", "view": "view:" + os.urandom(6).hex()}).encode())

    def send(self, opcode: int, payload: bytes) -> None:
        assert len(payload) < 126
        self.transport.write(bytes([0x80 | opcode, 0x80 | len(payload)]) + b"\0\0\0\0" + payload)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        buffer = self.buffer + data
        if not self.upgraded:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                self.buffer = buffer
                return
            self.upgraded = True
            buffer = buffer[end + 4 :]
        at = 0
        while len(buffer) - at >= 2:
            opcode, size, head = buffer[at] & 0x0F, buffer[at + 1] & 0x7F, 2
            if size == 126:
                if len(buffer) - at < 4:
                    break
                size, head = int.from_bytes(buffer[at + 2 : at + 4], "big"), 4
            elif size == 127:
                if len(buffer) - at < 10:
                    break
                size, head = int.from_bytes(buffer[at + 2 : at + 10], "big"), 10
            if len(buffer) - at < head + size:
                break
            payload = buffer[at + head : at + head + size]
            at += head + size
            if opcode == 9:
                self.send(10, payload)
            elif opcode == 1:
                self.message(payload, now)
        self.buffer = buffer[at:]

    def message(self, payload: bytes, now: float) -> None:
        if self.first:
            self.first = False
            self.crowd.ready += 1
            return
        found = payload.find(MARK)
        if found < 0:
            return
        i, sent = payload[found + len(MARK) : payload.index(b"]", found)].split(b",")
        self.crowd.latencies.append(now - float(sent))
        if int(i) == self.crowd.writes - 1 and not self.done.done():
            self.done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_exception(ConnectionError(f"a crowd client lost its connection: {exc}"))


class _Crowd:
    def __init__(self, writes: int) -> None:
        self.writes = writes
        self.ready = 0
        self.latencies: list[float] = []


async def crowd(url: str, origin: str, clients: int, writes: int, seconds: float) -> dict[str, Any]:
    state = _Crowd(writes)
    rest = url.split("://", 1)[1]
    host, path = rest.split("/", 1)
    address, port = host.rsplit(":", 1)
    loop = asyncio.get_running_loop()
    protocols = []
    for _ in range(clients):
        _, protocol = await loop.create_connection(lambda: _Client(host, "/" + path, origin, state), address, int(port))
        protocols.append(protocol)
    deadline = time.monotonic() + 60
    while state.ready < clients:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {state.ready} of {clients} clients ready")
        await asyncio.sleep(0.05)
    print(json.dumps({"ready": clients}), flush=True)
    await asyncio.wait_for(asyncio.gather(*(p.done for p in protocols)), seconds + 60)
    latencies = sorted(state.latencies)
    n = len(latencies)

    def pick(q: float) -> float:
        return latencies[min(n - 1, int(q * n))] * 1000

    return {"n": n, "p50": pick(0.5), "p90": pick(0.9), "p99": pick(0.99), "max": latencies[-1] * 1000}


def run_crowd(url: str, origin: str, clients: int, writes: int, seconds: float) -> subprocess.Popen[str]:
    args = [sys.executable, __file__, "--crowd", url, origin, str(clients), str(writes), str(seconds)]
    return subprocess.Popen(args, stdout=subprocess.PIPE, text=True)


# ---- the anchor: a raw tornado broadcast --------------------------------------------------


class RawBroadcast:
    """A tornado WebSocket server on its own thread: each message encoded once, written to every socket."""

    def __init__(self) -> None:
        self.sockets: set[tornado.websocket.WebSocketHandler] = set()
        self.seq = 0
        ready = threading.Event()
        owner = self

        class Socket(tornado.websocket.WebSocketHandler):
            def check_origin(self, origin: str) -> bool:
                return True

            def open(self) -> None:
                self.set_nodelay(True)
                owner.sockets.add(self)

            def on_message(self, message: str | bytes) -> None:
                self.write_message(json.dumps({"t": "snapshot", "seq": 0, "state": {}}))

            def on_close(self) -> None:
                owner.sockets.discard(self)

        def run() -> None:
            asyncio.set_event_loop(asyncio.new_event_loop())
            self.loop = tornado.ioloop.IOLoop.current()
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sock.listen(1024)
            sock.setblocking(False)
            self.port = sock.getsockname()[1]
            server = tornado.httpserver.HTTPServer(tornado.web.Application([(r"/ws", Socket)]))
            server.add_sockets([sock])
            ready.set()
            self.loop.start()

        threading.Thread(target=run, daemon=True).start()
        ready.wait(10)

    def set_state(self, namespace: str, key: str, value: Any) -> None:
        """What a store write becomes on the wire, broadcast (from any thread, as set_state is called)."""

        def send() -> None:
            self.seq += 1
            change = (namespace, key, value, False, "python", self.seq)
            text = proto.encode(proto.batch_message(self.seq, [change]))
            for handler in list(self.sockets):
                handler.write_message(text)

        self.loop.add_callback(send)


# ---- phases ----------------------------------------------------------------------------


def writes_at_rate(target: Any, count: int) -> None:
    start = time.monotonic()
    for i in range(count):
        due = start + i / RATE
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        target.set_state("bench", "w", [i, time.monotonic()])


def stalled_client(port: int, token: str) -> socket.socket:
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect(("127.0.0.1", port))
    raw.sendall(
        f"GET /_pytonium/ws?token={token} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Origin: http://127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    raw.recv(4096)
    hello = json.dumps({"t": "hello", "view": "view:stalled"}).encode()
    raw.sendall(bytes([0x81, 0x80 | len(hello)]) + b"\0\0\0\0" + hello)
    return raw


def phase(name: str, url: str, origin: str, target: Any, clients: int, seconds: float) -> dict[str, Any]:
    writes = int(seconds * RATE)
    before = rss()
    process = run_crowd(url, origin, clients, writes, seconds)
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        raise RuntimeError(f"{name}: the crowd did not start")
    time.sleep(1.0)  # idle, connected
    idle = rss()
    cpu = time.process_time()
    writes_at_rate(target, writes)
    out, _ = process.communicate(timeout=seconds + 90)
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    result["cpu_ms_per_write"] = (time.process_time() - cpu) / writes * 1000
    result["per_client_kib"] = (idle - before) / clients / 1024
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--crowd", nargs=5, help=argparse.SUPPRESS)
    parser.add_argument("--anchor", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.crowd:
        url, origin, clients, writes, seconds = args.crowd
        print(json.dumps(asyncio.run(crowd(url, origin, int(clients), int(writes), float(seconds)))), flush=True)
        return
    if args.anchor:  # its own process: its memory is not what the served phases left behind
        raw = RawBroadcast()
        url, origin = f"ws://127.0.0.1:{raw.port}/ws", f"http://127.0.0.1:{raw.port}"
        print(json.dumps(phase("anchor", url, origin, raw, args.clients, args.seconds)), flush=True)
        return

    results: dict[str, Any] = {}
    store = StateStore(history=0)
    for stalled in (False, True):
        with store.serve("<html><body>bench</body></html>", max_clients=args.clients + 10) as room:
            url = f"ws://127.0.0.1:{room.port}/_pytonium/ws?token={room.token}"
            stuck = stalled_client(room.port, room.token) if stalled else None
            name = "serve + 1 stalled client" if stalled else "serve"
            origin = f"http://127.0.0.1:{room.port}"
            results[name] = phase(name, url, origin, store, args.clients, args.seconds)
            if stuck is not None:
                results[name]["stalled_behind"] = any(c.behind for c in room.clients)
                results[name]["per_client_kib"] = None  # a later phase: the allocator's reuse, not a measure
                stuck.close()

    anchor_run = subprocess.run(
        [sys.executable, __file__, "--anchor", "--clients", str(args.clients), "--seconds", str(args.seconds)],
        capture_output=True,
        text=True,
        check=True,
        timeout=args.seconds + 180,
    )
    anchor = results["anchor: raw tornado broadcast"] = json.loads(anchor_run.stdout.strip().splitlines()[-1])
    print(f"{args.clients} clients in another process, {RATE} writes/s for {args.seconds:g} s, fan-out latency (ms):")
    print(
        f"{'':28} {'p50':>7} {'p90':>7} {'p99':>7} {'max':>7} {'p99/anchor':>11} {'KiB/client':>11} {'CPU ms/write':>13}"
    )
    for name, r in results.items():
        print(
            f"{name:28} {r['p50']:7.1f} {r['p90']:7.1f} {r['p99']:7.1f} {r['max']:7.1f} "
            f"{r['p99'] / anchor['p99']:11.2f} {'-' if r['per_client_kib'] is None else format(r['per_client_kib'], '.1f'):>11} "
            f"{r['cpu_ms_per_write']:13.2f}"
        )
    print(f"the stalled client fell behind its queue: {results['serve + 1 stalled client']['stalled_behind']}")
    served = results["serve"]
    print(f"goal: serve p99 <= 50 ms: {'met' if served['p99'] <= 50 else 'NOT met'} ({served['p99']:.1f} ms)")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
