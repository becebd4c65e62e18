"""The loopback server every desktop window of this process talks to.

One tornado server per process, on its own daemon thread and IOLoop, bound to
127.0.0.1 on a random port, while at least one window's session is registered:
removing the last one closes the port and ends the thread (the next window
starts a new server, on a new port). It serves the folders of ``add_custom_scheme``
(HTML gets the JS runtime injected) and the ``/_pytonium/ws`` WebSocket. Each
window belongs to a :class:`Session` with its own secret token, store and
folders; a request without the right token, or a WebSocket from another
origin, gets 403. A page's WebSocket (:class:`PageConnection`) is accepted and
answers ``hello`` here; then, when its session runs page messages on an asyncio
loop, its reads move to that loop (``_page_socket.py`` says why). A session's
files live under ``/_s/{session id}/``: the token arrives in the first URL and
is kept in an HttpOnly SameSite=Strict cookie scoped to that path (the first
URL then redirects to itself without the token, so no window title or history
entry shows it), so relative assets load and two windows of one process never
read each other's cookie.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import logging
import mimetypes
import secrets
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import tornado.httpserver
import tornado.ioloop
import tornado.web

from .. import _protocol as proto
from .._calls import Offered, registry_of
from .._handoff import Handoff
from .._link import StoreLink
from .._page import inject_runtime
from .._paths import OutsideFolder, check_scheme, resolve_inside, served_folder
from .._store import StateStore
from .._where import running_loop
from ._page_socket import PageSocket, accept

__all__ = ["LoopbackServer", "PageConnection", "ServerThread", "Session", "get_server", "serve"]

log = logging.getLogger("pytonium_lab")

COOKIE = "pytonium_token"
MAX_MESSAGE = 64 * 1024 * 1024
"""Characters of one message from a page (larger ones arrive chunked, docs/protocol.md)."""


class Session:
    """What one window may see: a store (maybe filtered), folders, and how JS writes reach Python.

    ``loop``: an asyncio loop that runs the JS writes (a Jupyter kernel's), or
    ``None`` to queue them for :meth:`pump` (the spec's ``update_message_loop``
    loops), or the string ``"server"`` to apply them on the server thread.
    ``hello`` is always answered on the server thread: a snapshot runs no user
    code, so a page becomes ready even before the first pump.
    """

    def __init__(
        self,
        store: StateStore,
        *,
        namespaces: Iterable[str] | None = None,
        loop: Any = None,
        functions: Offered = None,
    ) -> None:
        self.store = store
        self.functions = functions  # the bound functions its pages may call (None: all)
        self.namespaces = None if namespaces is None else list(namespaces)
        self.token = secrets.token_urlsafe(24)
        self.id = secrets.token_hex(6)  # public: names the session's URL prefix
        self._inbox = Handoff()  # JS writes and window events, for ``loop`` or the next pump()
        self.loop = loop
        self.folders: dict[str, str] = {}
        self.origins: set[str] = set()  # other origins whose pages may connect (allow_origin)
        self.documents: dict[tuple[str, str], str] = {}
        self.sockets: set[Any] = set()
        self.connected = threading.Event()

    @property
    def loop(self) -> Any:
        return self._loop

    @loop.setter
    def loop(self, loop: Any) -> None:
        self._loop = loop
        self._inbox.loop = None if loop is None or loop == "server" else loop

    @property
    def reading_loop(self) -> asyncio.AbstractEventLoop | None:
        """The asyncio loop that runs this session's page messages, if one does (its pages are read there)."""
        return self._inbox.loop

    def add_folder(self, scheme: str, folder: str) -> None:
        self.folders[check_scheme(scheme)] = served_folder(scheme, folder)

    def add_document(self, scheme: str, path: str, html: str) -> None:
        """Serve an HTML string at ``/{scheme}/{path}`` (pages given as text)."""
        self.documents[(check_scheme(scheme), path)] = html

    def broadcast(self, message: proto.StoreMessage) -> None:
        """Send ``message`` to every page of this session (e.g. ``reload``; call on the server thread)."""
        for socket_handler in list(self.sockets):
            socket_handler.send(message)

    def deliver(self, link: StoreLink, message: dict[str, Any]) -> None:
        # hello and log run no user code: answered on the server thread, even before a pump.
        if proto.runs_no_user_code(message) or self.loop == "server":
            link.receive(message)
            return
        job = functools.partial(link.receive, message)
        loop = self.reading_loop
        if loop is not None and running_loop() is loop:  # read on the session's own loop: no hop
            self._inbox.run(job)
        else:
            self.post(job)

    def post(self, job: Callable[[], Any]) -> None:
        """Run ``job`` where this session runs the page's writes (its loop, or the next :meth:`pump`).

        Window events (title changes) take this path too, so their callbacks run
        on the same thread as the state handlers.
        """
        if self.loop == "server":
            job()
            return
        if not self._inbox.post(job):
            self._inbox.loop = None  # from now on: queued for update_message_loop(), as said once
            log.warning("the session's event loop is closed; JS writes wait for update_message_loop()")

    def pump(self) -> int:
        """Apply queued JS messages (and posted jobs) on the calling thread; returns how many.

        Pages read on the loop this pump runs on (a cell that loops, calling
        ``update_message_loop()``) are read here first; pages read on a loop that
        was closed since (``asyncio.run`` ended, the window stayed) are read on the
        server thread again, so their messages reach this pump.
        """
        for connection in list(self.sockets):
            if isinstance(connection, PageConnection):
                connection.read_here_if_orphaned()
                connection.socket.read_now()
        return self._inbox.pump()

    def close_sockets(self) -> None:
        """Close every WebSocket of this session (call on the server thread)."""
        for socket_handler in list(self.sockets):
            socket_handler.close()
            socket_handler.release()  # now: the server may stop before the page answers the close


class _Base(tornado.web.RequestHandler):
    def initialize(self, server: LoopbackServer) -> None:
        self.server = server

    def session(self, session_id: str) -> Session | None:
        """The session of ``/_s/{session_id}/``, if the request carries its token."""
        session = self.server.by_id(session_id)
        token = self.get_query_argument("token", None) or self.get_cookie(COOKIE) or ""
        if session is None or not hmac.compare_digest(session.token.encode(), token.encode()):
            return None
        return session

    def refuse(self, status: int, why: str) -> None:
        log.info("refused %s %s: %s", self.request.method, self.request.path, why)
        self.set_status(status)
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(f"{status}: {why}\n")


class _Files(_Base):
    """``/{scheme}/{path}``: a file of the session's folder; HTML gets the runtime."""

    token_leaves_the_url = True
    """Answer a request that carries the token with a redirect to the same URL without it.

    Engines title a page without ``<title>`` (and every page while it loads) by its
    address; once the token is in the cookie, no address the window shows holds it.
    A class's page keeps it (its URL is given out, and is opened from other sites,
    whose navigations would not carry a SameSite=Strict cookie through a redirect)."""

    def get(self, session_id: str, scheme: str, path: str) -> None:
        session = self.session(session_id)
        if session is None:
            return self.refuse(403, "missing or wrong token")
        document = session.documents.get((scheme, path))
        target = None
        if document is None:
            folder = session.folders.get(scheme)
            if folder is None:
                return self.refuse(404, f"no custom scheme {scheme!r}")
            try:
                target = resolve_inside(folder, path)
            except OutsideFolder as exc:
                return self.refuse(403, str(exc))
            except (FileNotFoundError, OSError) as exc:
                return self.refuse(404, str(exc))
        if self.get_query_argument("token", None):
            self.set_cookie(COOKIE, session.token, httponly=True, samesite="Strict", path=f"/_s/{session.id}/")
            if self.token_leaves_the_url:
                rest = urlencode(
                    [(k, v) for k, v in parse_qsl(self.request.query, keep_blank_values=True) if k != "token"]
                )
                return self.redirect(self.request.path + (f"?{rest}" if rest else ""), status=303)
        if document is not None:
            return self._send(path, document.encode("utf-8"), session)
        assert target is not None
        with open(target, "rb") as f:
            return self._send(target, f.read(), session)

    def runtime_config(self, session: Session) -> dict[str, str]:
        return self.server.runtime_config(session)

    def _send(self, name: str, body: bytes, session: Session) -> None:
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if kind == "text/html":
            body = inject_runtime(body.decode("utf-8", "replace"), self.runtime_config(session)).encode("utf-8")
        if kind.startswith("text/") or kind in ("application/javascript", "application/json"):
            kind += "; charset=utf-8"
        self.set_header("Content-Type", kind)
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.finish(body)


class _NoIcon(tornado.web.RequestHandler):
    """``/favicon.ico``: 204, no content. Chromium asks every page that names no icon for it,
    and a 404 would be logged for every window. A page's own ``<link rel="icon">`` is a
    file of its folder, served as any other."""

    def get(self) -> None:
        self.set_status(204)
        self.finish()


class _PageUpgrade(_Base):
    """``/_pytonium/ws?token=T``: a window page's WebSocket, handed to a :class:`PageConnection`."""

    def get(self) -> None:
        session = self.server.find(self.get_query_argument("token", None))
        origin = self.request.headers.get("Origin")
        if session is None:
            return self.refuse(403, "missing or wrong token")
        if origin is None:
            return self.refuse(403, "missing Origin header")
        if origin != self.server.origin and origin not in session.origins:
            return self.refuse(403, f"pages of {origin} may not connect")
        try:
            ws, answer = accept(_request_head(self.request))
        except ValueError as exc:
            return self.refuse(400, str(exc))
        stream = self.detach()
        sock = stream.socket.dup()  # ours from now on; the stream's own copy goes
        stream.close()
        PageConnection(self.server, session, sock, ws, answer)
        return None


def _request_head(request: Any) -> bytes:
    """The upgrade request as it came (tornado parsed it; wsproto reads it again to answer it)."""
    lines = [f"{request.method} {request.uri} HTTP/1.1", *(f"{k}: {v}" for k, v in request.headers.get_all())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class PageConnection:
    """One window page's WebSocket and its StoreLink.

    Read on the server thread until the page's ``hello`` is answered, then on the
    loop that runs the session's page messages, when one does: a call is then read,
    run and answered on one thread. Sent from any thread.
    """

    def __init__(self, server: LoopbackServer, session: Session, sock: Any, ws: Any, greeting: bytes) -> None:
        self.server = server
        self.session = session
        self.socket = PageSocket(sock, ws, self._on_text, self.release, greeting=greeting, max_message=MAX_MESSAGE)
        # Batches leave on the next server-loop turn: no timer in a ping-pong round trip.
        self.link = StoreLink(
            session.store,
            self.send,
            namespaces=session.namespaces,
            schedule=server.loop.add_callback,
            functions=session.functions,
        )
        session.sockets.add(self)
        self.socket.resume()  # on the server thread

    def send(self, message: proto.StoreMessage) -> None:
        """Send one message to this page (any thread)."""
        self.socket.send_text(proto.encode(message))

    def _on_text(self, text: str) -> None:
        try:
            message = proto.decode(text)
        except proto.ProtocolError as exc:
            log.warning("ignored a message from a desktop view: %s", exc)
            return
        self.session.deliver(self.link, message)
        if proto.is_hello(message):
            self.session.connected.set()
            self.socket.after_read(self._read_on_session_loop)

    def _read_on_session_loop(self) -> None:
        """Move the reads to the loop that runs the session's page messages (after hello, on the server thread).

        The move is queued behind the messages handed to that loop already, so it
        sees every message in order. If it is run by a pump instead (the loop closed
        meanwhile), the reads come back here.
        """
        loop = self.session.reading_loop
        if loop is None or loop.is_closed() or self.socket.owner is loop:
            return
        self.socket.pause()

        def resume() -> None:
            if running_loop() is loop:
                self.socket.resume()
            else:
                self.server.call(self.socket.resume)

        self.session.post(resume)

    def read_here_if_orphaned(self) -> None:
        """Read on the server thread again if the loop that read this page was closed."""
        if self.socket.orphaned():
            self.server.call(self.socket.adopt_orphan)

    def close(self) -> None:
        self.socket.close()

    def release(self) -> None:
        """Stop this connection's link listening to the store (idempotent)."""
        self.link.close()
        self.session.sockets.discard(self)


class ServerThread:
    """A tornado server on its own daemon thread and IOLoop, listening on one socket.

    The desktop's :class:`LoopbackServer` and a classroom (``pytonium_lab._classroom``)
    are both one of these: subclasses give the routes (:meth:`routes`) and the
    application settings; ``host``, ``port`` and ``ssl_options`` say where it listens.
    """

    host = "127.0.0.1"

    def _start(self, name: str, *, host: str = "127.0.0.1", port: int = 0, ssl_options: Any = None) -> None:
        self.host = host
        self._ssl_options = ssl_options
        self._bind = (host, port)
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise self._error
        if not self._ready.is_set():
            raise RuntimeError(f"the {name} server did not start within 10 s")

    def routes(self) -> list[Any]:
        raise NotImplementedError

    def settings(self) -> dict[str, Any]:
        return {}

    def _run(self) -> None:
        asyncio.set_event_loop(asyncio.new_event_loop())
        self.loop = tornado.ioloop.IOLoop.current()
        self.thread_id = threading.get_ident()
        try:
            family = socket.AF_INET6 if ":" in self._bind[0] else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(self._bind)
            sock.listen(1024)
            sock.setblocking(False)
            self.port = sock.getsockname()[1]
            scheme = "https" if self._ssl_options is not None else "http"
            self.origin = f"{scheme}://{self._bind[0]}:{self.port}"
            app = tornado.web.Application(self.routes(), **self.settings())
            self._http = tornado.httpserver.HTTPServer(app, xheaders=False, ssl_options=self._ssl_options)
            self._http.add_sockets([sock])
        except BaseException as exc:  # e.g. the port is taken: raised in the thread that asked
            self._error = exc
            self._ready.set()
            self.loop.close(all_fds=True)
            return
        self._ready.set()
        self.loop.start()
        # Stopped (_stop): end what its sockets left running (pings, writes), then drop the connections.
        _cancel_pending(self.loop.asyncio_loop)  # type: ignore[attr-defined]  # tornado runs on asyncio
        self.loop.close(all_fds=True)

    def _stop(self) -> None:
        """Close the listening port and end the server thread; returns once the port is closed."""

        def stop() -> None:
            self._http.stop()
            self.loop.stop()

        self.call(stop)
        if threading.get_ident() != self.thread_id:
            self.thread.join(5)

    def call(self, function: Callable[[], Any]) -> None:
        """Run ``function`` on the server thread."""
        self.loop.add_callback(function)


class LoopbackServer(ServerThread):
    """The process's server: get it with :func:`get_server` (or :func:`serve` a session)."""

    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}
        self._start("pytonium-server")

    def routes(self) -> list[Any]:
        args = {"server": self}
        return [
            (r"/_pytonium/ws", _PageUpgrade, args),
            (r"/favicon\.ico", _NoIcon),
            (r"/_s/([0-9a-f]+)/([a-z][a-z0-9+.-]*)/(.*)", _Files, args),
        ]

    # ---- sessions ----------------------------------------------------------------

    def add(self, session: Session) -> None:
        with _server_lock:
            if _server is not self:
                raise RuntimeError("this pytonium loopback server has stopped; use get_server() or serve()")
            self._sessions[session.token] = session

    def remove(self, session: Session) -> None:
        """Forget ``session`` and close its sockets; the last one stops the server (idempotent)."""
        global _server
        with _server_lock:
            if self._sessions.pop(session.token, None) is None:
                return
            last = not self._sessions
            if last and _server is self:
                _server = None
        self.call(session.close_sockets)
        if last:
            self._stop()

    def by_id(self, session_id: str) -> Session | None:
        for session in list(self._sessions.values()):
            if session.id == session_id:
                return session
        return None

    def find(self, token: str | None) -> Session | None:
        if not token:
            return None
        for known, session in list(self._sessions.items()):
            if hmac.compare_digest(known.encode(), token.encode()):
                return session
        return None

    # ---- URLs --------------------------------------------------------------------

    def page_url(self, session: Session, scheme: str, path: str, query: str = "") -> str:
        """The http URL of ``scheme://path?query#fragment`` for ``session`` (token first)."""
        query, _, fragment = query.partition("#")
        extra = "&" + query[1:] if query.startswith("?") and len(query) > 1 else ""
        return f"{self.origin}/_s/{session.id}/{scheme}/{quote(path)}?token={session.token}{extra}" + (
            f"#{fragment}" if fragment else ""
        )

    def ws_url(self, session: Session) -> str:
        return f"ws://127.0.0.1:{self.port}/_pytonium/ws?token={session.token}"

    def runtime_config(self, session: Session) -> dict[str, Any]:
        """``window.__PYTONIUM_CONFIG__`` for a page of ``session`` (served here or of an allowed origin).

        It names the bound functions, so a page's scripts find them before it is connected.
        """
        config: dict[str, Any] = {"transport": "websocket", "url": self.ws_url(session), "token": session.token}
        functions = registry_of(session.store).functions(session.functions)
        if functions:
            config["functions"] = functions
        return config


_server: LoopbackServer | None = None
_server_lock = threading.RLock()


def _cancel_pending(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel the stopped loop's leftover tasks (a WebSocket write still waiting for the page, a
    client's ping) and let them end, as ``asyncio.run`` does: closed with them pending, each
    printed "Task was destroyed but it is pending!" (1 shutdown in 12, measured)."""
    pending = asyncio.all_tasks(loop)
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))


def get_server() -> LoopbackServer:
    """The process's running loopback server, started if there is none."""
    global _server
    with _server_lock:
        if _server is None:
            _server = LoopbackServer()
        return _server


def serve(session: Session) -> LoopbackServer:
    """Register ``session`` with the running server (started if needed) and return that server.

    One step under the lock: a server whose last session another thread is
    removing meanwhile cannot be handed out and then stop under this one.
    """
    with _server_lock:
        server = get_server()
        server.add(session)
        return server
