"""Protocol clients of a class: asyncio WebSocket clients that mirror the store like the page runtime.

Used in the test process (one or a few clients) and, for load, as a script in
another process: ``python protoclient.py WS_URL ORIGIN --clients N ...`` prints
one JSON line with what every client saw (see :func:`main`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
import time
from typing import Any

import websockets


class Client:
    """One client: hello, snapshot, batches applied by revision (as js/src/runtime.ts does)."""

    def __init__(self, ws_url: str, origin: str, cookie: str | None = None) -> None:
        self.ws_url, self.origin, self.cookie = ws_url, origin, cookie
        self.view = "view:" + secrets.token_hex(8)
        self.state: dict[str, dict[str, Any]] = {}
        self.rev = 0
        self.seq = 0
        self.errors: list[dict[str, Any]] = []
        self.snapshots = 0
        self.received = 0
        self.write_id = 0
        self.ws: Any = None
        self.ready = asyncio.Event()
        self.arrivals: dict[str, float] = {}  # key "ns.key=value" -> monotonic time first seen

    async def connect(self) -> Client:
        headers = {"Cookie": self.cookie} if self.cookie else None
        self.ws = await websockets.connect(
            self.ws_url,
            origin=self.origin,
            additional_headers=headers,
            max_size=None,
            ping_interval=None,
            proxy=None,
            compression=None,
        )
        await self.ws.send(json.dumps({"t": "hello", "view": self.view}))
        return self

    async def run(self) -> None:
        """Read messages until the socket closes."""
        try:
            async for text in self.ws:
                self.handle(json.loads(text))
        except websockets.ConnectionClosed:
            pass

    def handle(self, message: dict[str, Any]) -> None:
        self.received += 1
        kind = message["t"]
        if kind == "snapshot" and message["to"] == self.view:
            self.state = {ns: dict(keys) for ns, keys in message["state"].items()}
            self.rev, self.seq = message["rev"], message["seq"]
            self.snapshots += 1
            self.ready.set()
        elif kind == "batch" and self.ready.is_set():
            if message["seq"] != self.seq + 1:
                self.ready.clear()
                self._hello = asyncio.ensure_future(self.ws.send(json.dumps({"t": "hello", "view": self.view})))
                return
            self.seq = message["seq"]
            now = time.monotonic()
            for change in message["changes"]:
                self.arrivals.setdefault(f"{change['ns']}.{change['key']}={json.dumps(change['value'])}", now)
                if change["rev"] <= self.rev:
                    continue
                self.rev = change["rev"]
                keys = self.state.setdefault(change["ns"], {})
                if change["removed"]:
                    keys.pop(change["key"], None)
                else:
                    keys[change["key"]] = change["value"]
        elif kind == "error" and message["to"] == self.view:
            self.errors.append(message)

    async def set(self, ns: str, key: str, value: Any) -> None:
        self.write_id += 1
        message = {"t": "set", "view": self.view, "ns": ns, "key": key, "value": value, "id": self.write_id}
        await self.ws.send(json.dumps(message))


async def until(check, timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.01)


async def _load(args: argparse.Namespace) -> dict[str, Any]:
    """N clients; each writes its own answer at once (if --answer), waits until the store says --done, reports."""
    clients = [Client(args.ws_url, args.origin) for _ in range(args.clients)]
    for i in range(0, len(clients), 50):  # connect in waves: a listen backlog is no load test
        await asyncio.gather(*(c.connect() for c in clients[i : i + 50]))
    readers = [asyncio.ensure_future(c.run()) for c in clients]
    await until(lambda: all(c.ready.is_set() for c in clients), args.seconds, "every snapshot")
    print(json.dumps({"ready": len(clients)}), flush=True)
    if args.answer:
        await asyncio.gather(*(c.set(args.answer, "choice", i % 4) for i, c in enumerate(clients)))
    done_ns, done_key = args.done.split(".")
    await until(
        lambda: all(c.state.get(done_ns, {}).get(done_key) for c in clients), args.seconds, f"{args.done} everywhere"
    )
    await asyncio.sleep(args.settle)
    report = {
        "states": [c.state for c in clients],
        "errors": sum(len(c.errors) for c in clients),
        "snapshots": [c.snapshots for c in clients],
        "arrivals": [c.arrivals for c in clients] if args.arrivals else None,
    }
    for c in clients:
        await c.ws.close()
    for r in readers:
        r.cancel()
    return report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("ws_url")
    parser.add_argument("origin")
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--answer", default="", help="own namespace to write an answer to, at once")
    parser.add_argument("--done", default="control.done", help="ns.key: when truthy in every mirror, report")
    parser.add_argument("--settle", type=float, default=0.0)
    parser.add_argument("--arrivals", action="store_true")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(_load(args))), flush=True)


if __name__ == "__main__":
    sys.exit(main())


def endpoints(room: Any) -> tuple[str, str]:
    """The WebSocket URL (with the token) and the page's Origin of a served class on loopback."""
    return f"ws://127.0.0.1:{room.port}/_pytonium/ws?token={room.token}", f"http://127.0.0.1:{room.port}"


def public(state: dict[str, Any]) -> dict[str, Any]:
    """A store's state as clients may see it: without the toolkit's private ``pytonium.*`` namespaces."""
    return {ns: keys for ns, keys in state.items() if not ns.startswith("pytonium.")}
