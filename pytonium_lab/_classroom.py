"""``store.serve(page)``: one store served to a class of browsers (see docs/classroom.md).

The page runs unchanged against ``Pytonium.appState``: it is served, with the
same runtime and protocol, by the desktop's server (``_classroom_server``),
opened to many clients with rights per namespace.
"""

from __future__ import annotations

import html
import ipaddress
import logging
import os
import socket
import ssl
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ._calls import offered_functions
from ._classroom_server import ClassServer, ClientInfo, Limits, Rights
from ._page import locate_page
from ._values import check_name, check_namespaces
from ._where import running_loop
from .desktop._server import Session

if TYPE_CHECKING:
    from ._store import StateStore

__all__ = ["Classroom", "ClientInfo", "serve"]

log = logging.getLogger("pytonium_lab")


class Classroom:
    """A served store: give out :attr:`url`; :attr:`clients` are connected; :meth:`close` ends the class."""

    def __init__(self, store: StateStore, server: ClassServer, session: Session, path: str, host: str) -> None:
        self.store = store
        self._server = server
        self._session = session
        self._path = path
        self._host = host
        self._lock = threading.Lock()
        self._view: Any = None

    @property
    def url(self) -> str:
        """The page's URL with the class's token: whoever has it can join (as read-only unless ``writable``)."""
        scheme = "https" if self._server.tls else "http"
        host = _advertised(self._host)
        origin = f"{scheme}://{host}:{self._server.port}"
        return origin + self._server.page_url(self._session, "app", self._path)[len(self._server.origin) :]

    @property
    def token(self) -> str:
        return self._session.token

    @property
    def port(self) -> int:
        port: int = self._server.port
        return port

    @property
    def clients(self) -> list[ClientInfo]:
        """The connected clients now (one per open page or socket; a page reload is a new socket, same id)."""
        return sorted((s.info() for s in list(self._server.sockets) if s.live), key=lambda c: c.connected_at)

    @property
    def client_count(self) -> int:
        return self._server.client_count()

    @property
    def closed(self) -> bool:
        return not self._server.thread.is_alive()

    def answers(self, key: str | None = None) -> dict[str, Any]:
        """The ``own`` namespace by client: ``{client id: {key: value}}`` (or ``{client id: value}`` of ``key``)."""
        own = self._server.rights.own
        if own is None:
            raise ValueError("this class has no own namespace: serve(..., own='answers') gives each client one")
        result: dict[str, Any] = {}
        for stored, value in self.store.snapshot([own]).get(own, {}).items():
            client, _, name = stored.partition("/")
            if key is None:
                result.setdefault(client, {})[name] = value
            elif name == key:
                result[client] = value
        return result

    @property
    def clients_namespace(self) -> str:
        """Where the class keeps its client list in the store (hidden from clients; the inspector shows it)."""
        return self._server.clients_namespace

    def view(self, *, height: int | str = 170) -> Any:
        """A notebook view (a StateWidget) of the URL, its QR code and the live client count."""
        from ._classroom_view import class_page
        from .notebook import StateWidget

        if self._view is None:
            page = class_page(self.url, self.clients_namespace)
            self._view = StateWidget(self.store, page, namespaces=[self.clients_namespace], height=height, watch=False)
        return self._view

    def close(self) -> None:
        """Disconnect every client and close the port (idempotent)."""
        with self._lock:
            self._server.stop()
            self.store.remove_state(self.clients_namespace, "clients", origin="classroom")

    def __enter__(self) -> Classroom:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{self.client_count} clients"
        return f"<Classroom {self.url} ({state})>"

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """As a cell's last line: the live view (URL, QR code, client count); closed, one line of text."""
        if self.closed:
            return {"text/plain": repr(self), "text/html": f"<code>{html.escape(repr(self))}</code>"}
        return self.view()._repr_mimebundle_(**kwargs)


def serve(
    store: StateStore,
    page: str | os.PathLike[str],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    namespaces: Iterable[str] | None = None,
    writable: Iterable[str] = (),
    own: str | None = None,
    certfile: str | os.PathLike[str] | None = None,
    keyfile: str | os.PathLike[str] | None = None,
    max_clients: int = 500,
    write_rate: float = 20.0,
    max_message: int = 256 * 1024,
    queue_bytes: int = 1024 * 1024,
    stall_timeout: float = 30.0,
    ping_interval: float = 10.0,
    functions: Iterable[str] = (),
) -> Classroom:
    """Serve ``store`` with ``page`` to any browser that has the returned :attr:`Classroom.url`.

    See :meth:`StateStore.serve` and docs/classroom.md.
    """
    text, path = locate_page(page)
    rights = _rights(namespaces, writable, own)
    offered = offered_functions("serve", functions)
    limits = Limits(
        max_clients=_positive("max_clients", max_clients, int),
        write_rate=_positive("write_rate", write_rate, (int, float)),
        max_message=_positive("max_message", max_message, int),
        queue_bytes=_positive("queue_bytes", queue_bytes, int),
        stall_timeout=_positive("stall_timeout", stall_timeout, (int, float)),
        ping_interval=_positive("ping_interval", ping_interval, (int, float)),
    )
    if type(host) is not str or not host:
        raise TypeError(f"host must be a non-empty str such as '127.0.0.1', got {host!r}")
    if type(port) is not int or not 0 <= port <= 65535:
        raise ValueError(f"port must be an int from 0 (any free port) to 65535, got {port!r}")
    ssl_options = _tls(certfile, keyfile)
    if not _loopback(host):
        log.warning(
            "serving the class beyond this machine, on %s:%s%s: anyone on the network who has the URL (its token) "
            "can join",
            host,
            port or "(a free port)",
            "" if ssl_options else ", unencrypted (give certfile= and keyfile= for TLS)",
        )
    # A served page's writes run where the notebook's cells run (the kernel's loop), else on the server thread.
    session = Session(store, namespaces=rights.namespaces, loop=running_loop() or "server", functions=offered)
    if path is None:
        session.add_document("app", "index.html", text)  # type: ignore[arg-type]
        served = "index.html"
    else:
        session.add_folder("app", str(path.parent))
        served = path.name
    server = ClassServer(session, rights, limits, host=host, port=port, ssl_options=ssl_options)
    return Classroom(store, server, session, served, host)


def _rights(namespaces: Iterable[str] | None, writable: Iterable[str], own: str | None) -> Rights:
    visible = check_namespaces(namespaces)
    if isinstance(writable, str):
        raise TypeError(f"writable must be a list of namespace names, not the str {writable!r}")
    names = check_namespaces(list(writable)) or []
    if own is not None:
        if type(own) is not str:
            raise TypeError(f"own must be a namespace name (str) or None, got {type(own).__name__} {own!r}")
        check_name(own, "-")
        if own in names:
            raise ValueError(f"own={own!r} is also in writable: every client could write every client's keys")
    if visible is not None:
        hidden = [n for n in names if n not in visible]
        if hidden:
            raise ValueError(
                f"writable namespaces {hidden} are not in namespaces={visible}: clients could not see them"
            )
        if own is not None and own not in visible:
            visible.append(own)
    return Rights(None if visible is None else frozenset(visible), frozenset(names), own)


def _positive(name: str, value: Any, kind: Any) -> Any:
    if type(value) is bool or not isinstance(value, kind) or not value > 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return value


def _tls(certfile: Any, keyfile: Any) -> ssl.SSLContext | None:
    if certfile is None and keyfile is None:
        return None
    if certfile is None or keyfile is None:
        raise ValueError("TLS needs both certfile= and keyfile= (PEM files), got only one")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(os.fspath(certfile), os.fspath(keyfile))
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(
            f"cannot load the TLS certificate {os.fspath(certfile)!r} / key {os.fspath(keyfile)!r}: {exc}"
        ) from None
    return context


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _advertised(host: str) -> str:
    """The host name for the URL: a wildcard address becomes this machine's address on the LAN."""
    if host not in ("0.0.0.0", "::", ""):
        return f"[{host}]" if ":" in host else host
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # TEST-NET: no packet is sent; picks the outgoing interface
            return str(probe.getsockname()[0])
    except OSError:
        return socket.gethostname()
