"""A window page's WebSocket: read on whichever event loop owns it, written from any thread.

tornado's WebSocketHandler lives on the loop that accepted it, so a page's call
crossed from the server thread to the user's loop (where calls and handlers run)
and its answer crossed back: two thread hops, 0.2 ms of a 0.6 ms round trip
(measured, bench/calls.py). Here the server thread accepts the connection and
answers ``hello``; then the connection's reads move to the user's loop, so a
call is read, run and answered on one thread. The framing is wsproto's (a
sans-I/O WebSocket library); this module only does the socket I/O.

Rules that keep one file descriptor safe on two threads:
- exactly one loop (``owner``) has the socket registered, for reading and for
  writing what did not fit; only code running on that loop touches the
  registrations, so a move is "stop on the old loop, then start on the new";
- a send takes the lock, frames, and writes what the socket takes at once, from
  the calling thread; the rest waits for the owner's writer callback.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Callable

from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    Request,
    TextMessage,
)
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

from .._where import running_loop

__all__ = ["PageSocket", "accept"]

log = logging.getLogger("pytonium_lab")

_READ = 256 * 1024


def accept(request_head: bytes) -> tuple[WSConnection, bytes]:
    """The server side of a WebSocket whose HTTP upgrade request was ``request_head``, and its 101 answer.

    Raises ``ValueError`` when the request is no WebSocket upgrade.
    """
    ws = WSConnection(ConnectionType.SERVER)
    try:
        ws.receive_data(request_head)
        events = list(ws.events())
    except RemoteProtocolError as exc:
        raise ValueError(f"not a WebSocket upgrade: {exc}") from None
    if not events or not isinstance(events[0], Request):
        raise ValueError("not a WebSocket upgrade")
    return ws, ws.send(AcceptConnection())


class PageSocket:
    """One open WebSocket over a non-blocking socket.

    ``on_text(text)`` gets each whole text message on the owner loop's thread;
    ``on_closed()`` is called once, when the connection is gone (either side).
    """

    def __init__(
        self,
        sock: socket.socket,
        ws: WSConnection,
        on_text: Callable[[str], None],
        on_closed: Callable[[], None],
        *,
        greeting: bytes = b"",
        max_message: int,
    ) -> None:
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock
        self._fd = sock.fileno()
        self._ws = ws
        self._on_text = on_text
        self._on_closed = on_closed
        self._max_message = max_message
        self._lock = threading.Lock()
        self._out = bytearray()  # framed bytes the socket did not take yet
        self._parts: list[str] = []  # the text of a message still arriving in fragments
        self._size = 0
        self._owner: asyncio.AbstractEventLoop | None = None
        self._reading = False
        self._writing = False
        self._closing = False  # no more sends; the owner finishes the close
        self._finished = False
        self._after_read: list[Callable[[], None]] = []
        self._in_read = False
        if greeting:
            with self._lock:
                self._write_locked(greeting)  # the 101 answer: first on the wire, before any message

    @property
    def owner(self) -> asyncio.AbstractEventLoop | None:
        """The loop this socket is read on (None between a :meth:`pause` and the next :meth:`resume`)."""
        return self._owner

    # ---- which loop reads ------------------------------------------------------------

    def resume(self) -> None:
        """Read on the loop running on this thread from now on (call on that loop)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            self._owner = loop
            if self._finished:
                return
            closing, want_write = self._closing, bool(self._out)
        if not closing:
            loop.add_reader(self._fd, self._read_once)
            self._reading = True
        if want_write:
            self._start_writer()
        if closing:  # closed while paused: send what waits (the close frame), then finish
            self._close_when_sent()

    def pause(self) -> None:
        """Stop reading on the owner loop (call on it); incoming bytes wait in the kernel until :meth:`resume`."""
        with self._lock:
            owner, self._owner = self._owner, None
        if owner is None:
            return
        if self._reading:
            owner.remove_reader(self._fd)
            self._reading = False
        if self._writing:
            owner.remove_writer(self._fd)
            self._writing = False

    def after_read(self, job: Callable[[], None]) -> None:
        """Run ``job`` once the messages of the current read are handled (``on_text`` may ask this).

        A move of the reads asked for by one message must wait for the messages that
        arrived with it: they are handed on first, so the new loop sees them in order.
        """
        self._after_read.append(job)

    def orphaned(self) -> bool:
        """Whether the loop that reads this socket was closed under it (its reads stopped for good)."""
        owner = self._owner
        return owner is not None and owner.is_closed() and not self._finished

    def adopt_orphan(self) -> None:
        """Read on this thread's loop instead of a closed one (its registrations died with it)."""
        with self._lock:
            self._owner = None
        self._reading = self._writing = False
        self.resume()

    # ---- sending ---------------------------------------------------------------------

    def send_text(self, text: str) -> bool:
        """Send one text message (any thread); False when the connection is closing or closed."""
        with self._lock:
            if self._closing or self._finished:
                return False
            try:
                data = self._ws.send(TextMessage(data=text))
            except LocalProtocolError:  # the page started closing
                return False
            return self._write_locked(data)

    def _write_locked(self, data: bytes) -> bool:
        if self._out:
            self._out += data
            return True
        try:
            sent = self._sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            self._closing = True
            self._call_owner(self._finish)
            return False
        if sent < len(data):
            self._out += data[sent:]
            self._call_owner(self._start_writer)
        return True

    def _call_owner(self, job: Callable[[], None]) -> None:
        """Run ``job`` on the owner loop (now, when this is its thread); nothing while paused."""
        owner = self._owner
        if owner is None:
            return  # resume() takes it from here
        if running_loop() is owner:
            owner.call_soon(job)
            return
        try:
            owner.call_soon_threadsafe(job)
        except RuntimeError:  # the owner loop was closed under us: whoever adopts the orphan writes it
            pass

    def _on_owner(self, job: Callable[[], None]) -> bool:
        """Whether this runs on the owner loop's thread; if not, ``job`` goes to the owner (or, paused, to resume()).

        A job queued for a loop that has since given the socket up (a move) must not
        touch the registrations from there: they belong to the new owner.
        """
        owner = self._owner
        if owner is not None and owner is running_loop():
            return True
        self._call_owner(job)
        return False

    def _start_writer(self) -> None:
        if not self._on_owner(self._start_writer) or self._writing or self._finished:
            return
        assert self._owner is not None
        self._owner.add_writer(self._fd, self._writable)
        self._writing = True

    def _writable(self) -> None:
        with self._lock:
            try:
                sent = self._sock.send(self._out)
            except BlockingIOError:
                return
            except OSError:
                sent = -1
            if sent >= 0:
                del self._out[:sent]
            done = not self._out or sent < 0
        if done and self._writing and self._owner is not None:
            self._owner.remove_writer(self._fd)
            self._writing = False
        if sent < 0 or (self._closing and not self._out):
            self._finish()

    # ---- receiving -------------------------------------------------------------------

    def read_now(self) -> int:
        """Handle what has arrived, on the owner loop's thread while that loop cannot turn.

        A cell that loops forever calling ``update_message_loop()`` runs on the
        loop that reads this socket: its pump reads here. Returns how many reads.
        """
        reads = 0
        while not self._in_read and self._reading and self._owner is running_loop() and self._read_once():
            reads += 1
        return reads

    def _read_once(self) -> bool:
        """Read and handle one chunk; False when nothing was there (or the connection ended).

        Not re-entered: a handler that pumps (``update_message_loop()``) while its own
        message is handled would otherwise run later messages before this read's others.
        """
        self._in_read = True
        try:
            return self._read_and_handle()
        finally:
            self._in_read = False

    def _read_and_handle(self) -> bool:
        try:
            data = self._sock.recv(_READ)
        except BlockingIOError:
            return False
        except OSError:
            data = b""
        if not data:
            self._finish()
            return False
        with self._lock:
            try:
                self._ws.receive_data(data)
                events = list(self._ws.events())
            except RemoteProtocolError as exc:
                log.info("closed a page's websocket: %s", exc)
                events = []
                self._closing = True
        for event in events:
            if isinstance(event, TextMessage):
                self._text_part(event.data, event.message_finished)
            elif isinstance(event, Ping):
                with self._lock:
                    if not self._closing:
                        self._write_locked(self._ws.send(event.response()))
            elif isinstance(event, CloseConnection):
                with self._lock:
                    if not self._closing:
                        try:
                            self._write_locked(self._ws.send(event.response()))
                        except LocalProtocolError:
                            pass
                    self._closing = True
            elif isinstance(event, BytesMessage):
                log.info("ignored a binary message from a page (the protocol is JSON text)")
            if self._finished:
                return False
        if self._closing:
            self._close_when_sent()
        while self._after_read:
            self._after_read.pop(0)()
        return not self._finished

    def _text_part(self, part: str, finished: bool) -> None:
        self._size += len(part)
        if self._size > self._max_message:
            log.warning("closed a page's websocket: a message over %d characters", self._max_message)
            self.close(1009)
            return
        if not finished:
            self._parts.append(part)
            return
        text = "".join(self._parts) + part if self._parts else part
        self._parts, self._size = [], 0
        try:
            self._on_text(text)
        except Exception:  # the messages read with it still count
            log.exception("handling a page's message failed")

    # ---- closing ---------------------------------------------------------------------

    def close(self, code: int = 1000) -> None:
        """Close the connection (any thread): a close frame now, the socket once it is sent."""
        with self._lock:
            if self._closing or self._finished:
                return
            try:
                self._write_locked(self._ws.send(CloseConnection(code=code)))
            except LocalProtocolError:
                pass
            self._closing = True
        self._call_owner(self._close_when_sent)
        if self._owner is None or self._owner.is_closed():
            self._finish()

    def _close_when_sent(self) -> None:
        if not self._on_owner(self._close_when_sent):
            return
        with self._lock:
            waiting = bool(self._out) and not self._finished
        if not waiting:
            self._finish()

    def _finish(self) -> None:
        """Drop the registrations and the socket, once (on the owner loop, or with no live owner)."""
        owner = self._owner
        if owner is not None and not owner.is_closed() and owner is not running_loop():
            self._call_owner(self._finish)  # its registrations are the owner's to drop
            return
        with self._lock:
            if self._finished:
                return
            self._finished = self._closing = True
        try:
            if owner is not None and not owner.is_closed():
                if self._reading:
                    owner.remove_reader(self._fd)
                if self._writing:
                    owner.remove_writer(self._fd)
        finally:
            self._reading = self._writing = False
            self._after_read.clear()
            try:
                self._sock.close()
            finally:
                self._on_closed()
