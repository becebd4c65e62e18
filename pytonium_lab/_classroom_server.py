"""The classroom's server: the desktop's loopback server, opened to many browsers with rights.

It is a :class:`~pytonium_lab.desktop._server.LoopbackServer` (same page
route, same runtime injection, same WebSocket transport and protocol) with
one session, on its own host and port (TLS if asked), whose socket handler
adds what a class needs (see docs/classroom.md):

- an identity per browser, issued here and kept in an HttpOnly cookie; its
  writes have the origin ``client:<id>``;
- rights: a write to a namespace not in ``writable`` (or to another client's
  keys of the ``own`` namespace) is refused with an ``error`` the page sees;
- a bounded send queue per client: past it the client's batches are dropped
  and, once it has taken what was queued, it gets a fresh snapshot; a client
  that takes nothing for ``stall_timeout`` seconds is disconnected;
- a write rate limit per client (refusals, never silent drops), a message
  size cap, a client limit, and pings that drop half-open sockets.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import tornado.websocket

from . import _protocol as proto
from ._link import StoreLink
from ._throttle import RateLimit
from .desktop._server import LoopbackServer, Session, _Files, _NoIcon

__all__ = ["ClassServer", "ClientInfo", "Rights"]

log = logging.getLogger("pytonium_lab")

PRIVATE = "pytonium."
"""Namespaces of the toolkit itself (a class's client list, an inspector's requests): never shown to clients."""

CLIENTS_NAMESPACE = "pytonium.classroom."
"""Plus the session id: where a class keeps its client list, for the notebook view and the inspector."""

CLIENT_COOKIE = "pytonium_client"
"""The identity cookie: a secret per browser; the client id is a hash of it (so ids seen in origins open nothing)."""


@dataclass(frozen=True)
class Rights:
    """What every client of a class may see and write."""

    namespaces: frozenset[str] | None  # visible (None: all)
    writable: frozenset[str]
    own: str | None  # the namespace where each client owns the keys "<its id>/..."


@dataclass(frozen=True)
class Limits:
    max_clients: int
    write_rate: float  # writes a second per client, after a burst of twice as many
    max_message: int  # bytes of one frame from a client
    queue_bytes: int  # bytes queued for one client before it falls behind
    stall_timeout: float  # seconds a client may stay behind before it is dropped
    ping_interval: float  # seconds between pings; a socket that does not answer is closed


@dataclass(frozen=True)
class ClientInfo:
    """One connected browser (or protocol client) of a class, as ``Classroom.clients`` lists it."""

    id: str
    address: str
    connected_at: float  # time.time()
    writes: int  # writes accepted
    refused: int  # writes refused (rights, rate, size)
    behind: bool  # its queue overflowed; it gets a snapshot once it catches up

    @property
    def origin(self) -> str:
        """The origin of this client's writes in the store (``subscribe`` callbacks see it)."""
        return f"client:{self.id}"


def client_id(secret: str, salt: str) -> str:
    """The public id of the browser holding ``secret`` (a cookie value) in one class."""
    return hashlib.blake2b(secret.encode(), key=salt.encode()[:64], digest_size=6).hexdigest()


class ClassServer(LoopbackServer):
    """One class's server: ``host:port`` (TLS with ``ssl_options``), one session, many clients."""

    def __init__(
        self, session: Session, rights: Rights, limits: Limits, *, host: str, port: int, ssl_options: Any = None
    ) -> None:
        self._sessions = {session.token: session}
        self.session = session
        self.rights = rights
        self.limits = limits
        self.sockets: set[ClientSocket] = set()
        self.tls = ssl_options is not None
        self.clients_namespace = CLIENTS_NAMESPACE + session.id
        self._publish_due = False
        self._jobs: list[Callable[[], None]] = []
        self._jobs_lock = threading.Lock()
        self._start("pytonium-class", host=host, port=port, ssl_options=ssl_options)

    def routes(self) -> list[Any]:
        args = {"server": self}
        return [
            (r"/_pytonium/ws", ClientSocket, args),
            (r"/favicon\.ico", _NoIcon),
            (r"/_s/([0-9a-f]+)/([a-z][a-z0-9+.-]*)/(.*)", ClassFiles, args),
        ]

    def settings(self) -> dict[str, Any]:
        return {
            # A write over max_message is refused (an error the page sees, so its copy returns
            # to the store's value); a frame over 4 times that closes the socket (1009).
            "websocket_max_message_size": self.limits.max_message * 4,
            "websocket_ping_interval": self.limits.ping_interval,
            "websocket_ping_timeout": self.limits.ping_interval,
        }

    def schedule(self, job: Callable[[], None]) -> None:
        """Run ``job`` on the next server-loop turn (any thread); one wake-up of the loop for many jobs.

        A write reaches every client's link in the writing thread, and each link
        asks for its flush: 300 loop wake-ups (a syscall each) per write otherwise.
        """
        with self._jobs_lock:
            self._jobs.append(job)
            if len(self._jobs) > 1:
                return
        self.loop.add_callback(self._run_jobs)

    def _run_jobs(self) -> None:
        with self._jobs_lock:
            jobs, self._jobs = self._jobs, []
        for job in jobs:
            job()

    def client_count(self) -> int:
        return sum(1 for client in list(self.sockets) if client.live)

    def clients_changed(self) -> None:
        """Publish the client list to the store soon (server thread; a burst of joins is one write)."""
        if not self._publish_due:
            self._publish_due = True
            self.loop.call_later(0.2, self._publish)

    def _publish(self) -> None:
        self._publish_due = False
        clients = sorted(({"id": c.id, "address": c.request.remote_ip or ""} for c in self.sockets if c.live), key=str)
        store, namespace = self.session.store, self.clients_namespace
        # Where the clients' writes run: the notebook's handlers hear it on the kernel's thread.
        self.session.post(lambda: store.set_state(namespace, "clients", clients, origin="classroom"))

    def ws_url(self, session: Session) -> str:
        # Relative: a LAN client reaches the server under whatever name or address it used.
        return f"/_pytonium/ws?token={session.token}"

    def stop(self) -> None:
        """Close every client's socket, then the port (idempotent; returns once the port is closed)."""
        if not self.thread.is_alive():
            return

        def close_all() -> None:
            for client in list(self.sockets):
                client.close(1001, "the class was closed")
                client.release()

        self.call(close_all)
        self._stop()


class ClassFiles(_Files):
    """The page and its folder, as the desktop serves them, plus the client's identity cookie."""

    server: ClassServer
    token_leaves_the_url = False

    def get(self, session_id: str, scheme: str, path: str) -> None:
        name = f"{CLIENT_COOKIE}_{session_id}"
        secret = self.get_cookie(name)
        if not secret and self.session(session_id) is not None:
            secret = secrets.token_urlsafe(18)
            self.set_cookie(
                name, secret, httponly=True, samesite="Lax", path="/", secure=self.server.tls, expires_days=30
            )
        self.client = client_id(secret, session_id) if secret else None
        super().get(session_id, scheme, path)

    def runtime_config(self, session: Session) -> dict[str, str]:
        config = super().runtime_config(session)
        if self.client is not None:
            config["origin"] = f"client:{self.client}"
        return config


class ClientSocket(tornado.websocket.WebSocketHandler):
    """One client's WebSocket: a StoreLink with identity, rights, limits and a bounded queue.

    tornado's WebSocket, not the desktop's ``PageConnection``: a class needs TLS, pings and
    write futures for its per-client queues, and its reads run no user code.
    """

    server: ClassServer

    def initialize(self, server: LoopbackServer) -> None:
        self.server = server  # type: ignore[assignment]  # a ClassServer: routes() passes itself
        self.link: StoreLink | None = None
        self.view_session: Session | None = None
        self.id = ""
        self.view: str | None = None  # pinned by the first message that names one
        self.connected_at = time.time()
        self.writes = self.refused = self.ignored = 0
        self.queued = 0
        self.behind = False
        self._behind_since = 0.0
        self._prefix = ""
        self._limit: RateLimit | None = None
        self._outbox: list[proto.StoreMessage] = []
        self._hellos = RateLimit(burst=5, per_second=2)
        self._hello_due = False
        self._outbox_lock = threading.Lock()

    async def get(self, *args: Any, **kwargs: Any) -> None:
        server = self.server
        session = server.find(self.get_query_argument("token", None))
        origin = self.request.headers.get("Origin")
        why = None
        if session is None:
            why, status = "missing or wrong token", 403
        elif origin is None:
            why, status = "missing Origin header", 403
        elif server.client_count() >= server.limits.max_clients:
            why, status = f"the class is full ({server.limits.max_clients} clients)", 503
        if why is not None:
            log.info("refused a class websocket from %s: %s", self.request.remote_ip, why)
            self.set_status(status)
            self.finish(f"{status}: {why}\n")
            return
        assert session is not None
        self.view_session = session
        secret = self.get_cookie(f"{CLIENT_COOKIE}_{session.id}") or secrets.token_urlsafe(18)  # none: a new client
        self.id = client_id(secret, session.id)
        await tornado.websocket.WebSocketHandler.get(self, *args, **kwargs)

    def check_origin(self, origin: str) -> bool:
        # The page's own origin: scheme-less host:port equal to the Host it asked (tornado's check).
        return tornado.websocket.WebSocketHandler.check_origin(self, origin)

    def open(self, *args: Any, **kwargs: Any) -> None:
        server, session = self.server, self.view_session
        assert session is not None
        self.set_nodelay(True)
        rights = server.rights
        self._prefix = f"{self.id}/"
        self._limit = RateLimit(burst=max(1, int(server.limits.write_rate * 2)), per_second=server.limits.write_rate)
        self.link = StoreLink(
            session.store,
            self._send,
            namespaces=rights.namespaces,
            schedule=server.schedule,
            origin=f"client:{self.id}",
            functions=session.functions,
        )
        server.sockets.add(self)
        session.sockets.add(self)
        session.connected.set()
        server.clients_changed()

    @property
    def live(self) -> bool:
        """Open, and not closing (a ping timeout closes the protocol; tornado then waits 5 s for the client)."""
        connection = self.ws_connection
        return connection is not None and not connection.server_terminated

    def info(self) -> ClientInfo:
        return ClientInfo(
            self.id, self.request.remote_ip or "", self.connected_at, self.writes, self.refused, self.behind
        )

    # ---- store -> client ---------------------------------------------------------

    def send(self, message: proto.StoreMessage) -> None:
        """Send one message to this client (any thread)."""
        self._send(message)

    def _send(self, message: proto.StoreMessage) -> None:
        """Queue ``message`` (any thread); the server loop filters, encodes and writes it soon, in order.

        The link calls this holding its lock, which the writing thread needs for
        every change: encoding and socket writes must not happen under it, or a
        write from Python waits for 300 clients' sends (measured: most of its time).
        """
        with self._outbox_lock:
            self._outbox.append(message)
            if len(self._outbox) > 1:
                return
        self.server.schedule(self._drain_outbox)

    def _drain_outbox(self) -> None:
        with self._outbox_lock:
            messages, self._outbox = self._outbox, []
        own = self.server.rights.own
        for message in messages:
            kind = proto.kind_of(message)
            if self.behind and kind == "batch":
                continue  # it gets a snapshot when it catches up (see _written)
            self._client_view(kind, cast(dict[str, Any], message), own)
            self._write(proto.encode(message), even_behind=kind == "snapshot")

    def _client_view(self, kind: object, message: dict[str, Any], own: str | None) -> None:
        """What a client sees: no private namespace, and of ``own`` only its keys, without their ``<id>/``."""
        prefix = self._prefix
        if kind == "snapshot":
            state = message["state"]
            for namespace in [ns for ns in state if ns.startswith(PRIVATE)]:
                del state[namespace]
            if own is not None:
                keys = state.pop(own, None)
                mine = {k[len(prefix) :]: v for k, v in (keys or {}).items() if k.startswith(prefix)}
                if mine:
                    state[own] = mine
        elif kind == "batch":
            changes = []
            for change in message["changes"]:
                namespace = change["ns"]
                if namespace == own:
                    if not change["key"].startswith(prefix):
                        continue
                    change["key"] = change["key"][len(prefix) :]
                elif namespace.startswith(PRIVATE):
                    continue
                changes.append(change)
            message["changes"] = changes
        elif kind == "error" and own is not None and message.get("ns") == own:
            key = message.get("key")
            if type(key) is str and key.startswith(prefix):
                message["key"] = key[len(prefix) :]

    def _write(self, text: str, even_behind: bool = False) -> None:
        if self.ws_connection is None or (self.behind and not even_behind):
            return
        if self.ws_connection.server_terminated:  # closing (a ping timed out): nothing more to send
            return
        try:
            written = self.write_message(text)
        except tornado.websocket.WebSocketClosedError:
            return
        size = len(text)
        self.queued += size
        written.add_done_callback(lambda _: self._written(size))
        if self.queued > self.server.limits.queue_bytes and not self.behind:
            self.behind = True
            self._behind_since = since = time.monotonic()
            log.info(
                "class client %s fell behind (%d bytes queued): it gets a snapshot when it catches up",
                self.id,
                self.queued,
            )
            self.server.loop.call_later(self.server.limits.stall_timeout, self._check_stalled, since)

    def _written(self, size: int) -> None:
        self.queued -= size
        if self.behind and self.queued <= 0:
            self.behind = False
            if self.view is not None and self.link is not None:
                self.link.receive(proto.hello_message(self.view))  # a fresh snapshot, then batches again

    def _check_stalled(self, since: float) -> None:
        if self.behind and self._behind_since == since and self.ws_connection is not None:
            log.warning(
                "class client %s took nothing for %.0f s: disconnected", self.id, self.server.limits.stall_timeout
            )
            self.close(1013, "too slow: reconnect for a snapshot")
            self.release()

    # ---- client -> store ---------------------------------------------------------

    def on_message(self, text: str | bytes) -> None:
        session, link = self.view_session, self.link
        if session is None or link is None:
            return
        try:
            message = proto.decode(text)
            kind, message = proto.parse_view_message(message)
            if kind == "chunk":
                raise proto.ProtocolError(
                    f"chunked messages are not taken from class clients (max {self.server.limits.max_message} bytes)"
                )
            if self.view is None:
                self.view = message["view"]
            elif message["view"] != self.view:
                raise proto.ProtocolError(f"{message['view']!r} is not this socket's view ({self.view!r})")
        except proto.ProtocolError as exc:
            self.ignored += 1
            if self.ignored <= 3:
                log.warning("ignored a message from class client %s: %s", self.id, exc)
            return
        if kind in ("set", "remove"):
            limit = self.server.limits.max_message
            why = (
                f"{message.get('ns')}.{message.get('key')}: the write is larger than {limit} bytes"
                if len(text) > limit
                else None
            )
            why = why or self._refusal(message)
            if why is not None:
                self.refused += 1
                self._send(
                    proto.error_message(self.view, message.get("ns"), message.get("key"), message.get("id"), why)
                )
                return
            self.writes += 1
        elif kind == "hello" and not self._hellos.take():
            # Each hello costs a snapshot of the whole state: a flood gets one, a second later.
            if not self._hello_due:
                self._hello_due = True
                self.server.loop.call_later(1.0, self._late_hello)
            return
        session.deliver(link, message)

    def _late_hello(self) -> None:
        self._hello_due = False
        if self.link is not None and self.view is not None and self.live:
            self.link.receive(proto.hello_message(self.view))

    def _refusal(self, message: dict[str, Any]) -> str | None:
        """Why this write may not go to the store (None: it may); makes ``own`` keys the client's."""
        rights, namespace, key = self.server.rights, message.get("ns"), message.get("key")
        if namespace == rights.own and type(key) is str:
            message["key"] = self._prefix + key
        elif namespace not in rights.writable:
            can = sorted(rights.writable) + ([f"{rights.own} (own keys)"] if rights.own else [])
            return (
                f"{namespace}.{key}: namespace {namespace!r} is read-only for clients of this class (writable: {can})"
            )
        assert self._limit is not None
        if not self._limit.take():
            return f"{namespace}.{key}: too many writes (at most {self.server.limits.write_rate:g} a second); refused"
        return None

    # ---- lifetime ------------------------------------------------------------------

    def on_close(self) -> None:
        self.release()

    def release(self) -> None:
        """Stop this client's link listening to the store, and forget the client (idempotent)."""
        if self.link is not None:
            self.link.close()
        if self.view_session is not None:
            self.view_session.sockets.discard(self)
        if self in self.server.sockets:
            self.server.sockets.discard(self)
            self.server.clients_changed()
