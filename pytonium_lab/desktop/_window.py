"""A desktop window showing a store: a server session plus a window process.

``open_window`` is the promotion path (a notebook's store in its own window):
it works in a plain script and inside a running Jupyter kernel, where JS
writes run on the kernel's event loop.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable

from .._page import locate_page, runtime_source
from .._store import StateStore
from .._where import running_loop
from ._backends import WindowProcess, launch, resolve_backend
from ._server import LoopbackServer, Session, serve

__all__ = ["WindowHandle", "observe_windows", "open_window", "show", "wait_connected"]

log = logging.getLogger("pytonium_lab")

READY_TIMEOUT = 15.0

_observers: list[Callable[[WindowProcess], None]] = []


def observe_windows(callback: Callable[[WindowProcess], None]) -> None:
    """Call ``callback(window)`` for every window this process opens from now on.

    ``pytonium-lab app`` counts a notebook's windows this way, whichever API
    opened them (``open_window``, ``Pytonium.initialize``, a displayed widget).
    """
    _observers.append(callback)


def show(
    session: Session,
    url: str,
    width: int,
    height: int,
    *,
    backend: str,
    title: str | None,
    debug: bool,
    wait: bool = True,
    inject: str | None = None,
) -> WindowProcess:
    """Open a window on ``url`` and, for our own pages, wait until the page is connected.

    Waiting makes ``initialize`` fail loudly (with the engine's stderr) when
    the window cannot start, instead of a loop that ends silently. An engine
    that dies before its page connects is started once more: CEF 66 now and
    then fails its own start on a heavily loaded machine. An engine that hangs
    (falls silent, see ``_backends.HANG_AFTER``) is killed and reported at once.
    A missing JS build fails before any window: our page would only be a 500
    error that never connects.
    """
    if wait:
        runtime_source()  # raises, saying how to build the JS, when static/runtime.js is missing
    for attempt in (1, 2):
        session.connected.clear()
        window = launch(backend, url, width, height, title=title, debug=debug, inject=inject)
        if not wait:
            return _opened(window)
        if wait_connected(session, window):
            return _opened(window)
        if window.is_alive():
            log.warning("the %s window did not connect within %.0f s; going on", window.backend, READY_TIMEOUT)
            return _opened(window)
        tail = window.error_tail()
        window.close(0)
        if window.hung:
            raise RuntimeError(f"the {window.backend} window stopped before its page connected: {window.hung}\n{tail}")
        why = (
            f"the {window.backend} window exited before its page connected "
            f"(exit code {window.process.poll()}); its stderr ends with:\n{tail}"
        )
        if attempt == 2:
            raise RuntimeError(why)
        log.warning("%s\nstarting it once more", why)
    raise AssertionError("unreachable")


def wait_connected(session: Session, window: WindowProcess, timeout: float = READY_TIMEOUT) -> bool:
    """Wait until the window's page connects (``session.connected``); ``False`` at the timeout or as soon
    as the window is gone (closed, crashed, or killed as hung): a dead engine never keeps the caller waiting."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and window.is_alive():
        if session.connected.wait(0.02):
            return True
    return False


def _opened(window: WindowProcess) -> WindowProcess:
    for callback in _observers:
        callback(window)
    return window


def _serve_page(session: Session, page: str | os.PathLike[str]) -> str:
    """Serve ``page`` as ``app/...``: HTML text as a document, a file with its folder (for assets)."""
    text, path = locate_page(page)
    if path is None:
        session.add_document("app", "index.html", text)  # type: ignore[arg-type]
        return "index.html"
    session.add_folder("app", str(path.parent))
    return path.name


class WindowHandle:
    """A window opened by :func:`open_window`: ``is_running()``, ``close()``."""

    def __init__(self, session: Session, window: WindowProcess, server: LoopbackServer) -> None:
        self.session = session
        self.window = window
        self.store = session.store
        self._server = server

    def is_running(self) -> bool:
        return self.window.is_alive()

    @property
    def devtools_port(self) -> int | None:
        return self.window.devtools_port

    def close(self) -> None:
        """Close the window and its connections (idempotent); the last window closes the server's port."""
        self._server.remove(self.session)
        self.window.close()

    def __repr__(self) -> str:
        state = "running" if self.is_running() else "closed"
        return f"<WindowHandle {self.window.backend} pid={self.window.pid} {state}>"


def open_window(
    store: StateStore,
    page: str | os.PathLike[str],
    *,
    width: int = 800,
    height: int = 600,
    namespaces: Iterable[str] | None = None,
    title: str | None = None,
    backend: str = "auto",
    debug: bool = False,
) -> WindowHandle:
    """Show ``store`` in a desktop window running ``page`` (HTML text or an .html file).

    A file's folder is served too, so its relative assets load. JS writes are
    applied on the calling thread's event loop when there is one (a Jupyter
    kernel), otherwise on the server thread: no pump loop is needed.
    """
    if not isinstance(store, StateStore):
        raise TypeError(f"store must be a StateStore, got {type(store).__name__}")
    if isinstance(namespaces, str):
        raise TypeError(f"namespaces must be a list of str, not the str {namespaces!r}")
    session = Session(store, namespaces=namespaces, loop=running_loop() or "server")
    path = _serve_page(session, page)
    server = serve(session)
    try:
        window = show(
            session,
            server.page_url(session, "app", path),
            width,
            height,
            backend=resolve_backend(backend),
            title=title,
            debug=debug,
        )
    except BaseException:
        server.remove(session)
        raise
    return WindowHandle(session, window, server)
