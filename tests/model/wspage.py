"""A page's end of a desktop WebSocket for model tests: a wsproto client on a blocking socket.

It reads on its own thread, slowly at times (so the server's sends fill the socket),
and keeps every whole text message it got, in order.
"""

from __future__ import annotations

import random
import socket
import threading
import time

from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Request, TextMessage
from wsproto.utilities import LocalProtocolError

__all__ = ["Page"]


class Page:
    """The browser's end: a wsproto client on a blocking socket, reading on its own thread (slowly, at times)."""

    def __init__(self, port: int, seed: int, target: str = "/_pytonium/ws", origin: str | None = None) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        self.ws = WSConnection(ConnectionType.CLIENT)
        headers = [(b"Origin", origin.encode())] if origin else []
        self.sock.sendall(self.ws.send(Request(host=f"127.0.0.1:{port}", target=target, extra_headers=headers)))
        self.got: list[str] = []
        self.accepted = threading.Event()
        self.closed = threading.Event()
        self.errors: list[BaseException] = []
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._parts: list[str] = []
        threading.Thread(target=self._read, name="page-reader", daemon=True).start()

    def send(self, texts: list[str]) -> None:
        with self._lock:
            data = b"".join(self.ws.send(TextMessage(data=t)) for t in texts)
        self.sock.sendall(data)  # one write: the server reads several messages at once

    def _read(self) -> None:
        try:
            while True:
                if self._rng.random() < 0.2:
                    time.sleep(0.002)  # a page busy elsewhere: the server's sends fill the socket
                data = self.sock.recv(65536)
                if not data:
                    break
                with self._lock:
                    self.ws.receive_data(data)
                    events = list(self.ws.events())
                for event in events:
                    if isinstance(event, AcceptConnection):
                        self.accepted.set()
                    elif isinstance(event, TextMessage):
                        self._parts.append(event.data)
                        if event.message_finished:
                            self.got.append("".join(self._parts))
                            self._parts = []
                    elif isinstance(event, CloseConnection):
                        return
        except BaseException as exc:  # a corrupt frame: the property fails with it
            self.errors.append(exc)
        finally:
            self.closed.set()

    def close(self) -> None:
        """Close as a page does (a close frame), then drop the socket."""
        with self._lock:
            try:
                data = self.ws.send(CloseConnection(code=1000))
            except LocalProtocolError:
                data = b""
        try:
            self.sock.sendall(data)
            self.closed.wait(5)  # the server's close answer (or its end)
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
