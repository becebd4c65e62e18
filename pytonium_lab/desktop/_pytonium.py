"""``Pytonium``: the spec's class, a facade over a StateStore plus a desktop window.

State lives in the store (Python), not in the page: closing, reloading or
killing the window loses nothing, and a new ``initialize`` shows the current
state. Several ``Pytonium`` objects on one store are several synced windows.

Outside a kernel, ``backend="auto"`` takes the most modern window engine
present (``cef``, then ``chromium``, then ``cefpython3``: see ``_engines``).
In a Jupyter kernel, ``auto`` shows the page inline as a
:class:`~pytonium_lab.StateWidget` instead (``backend="notebook"`` asks for it
anywhere; a named engine still opens a desktop window from a kernel),
so the spec's Python runs in a notebook with only the import line changed.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .._calls import CallBinding
from .._paths import check_scheme, resolve_inside, served_folder
from .._protocol import reload_message
from .._store import StateStore, Subscription
from .._watch import FolderWatch
from .._where import jupyter_kernel, running_loop
from ._backends import LAUNCH_MIN, WindowProcess, resolve_backend
from ._engines import check_backend, chosen_backend
from ._origins import injection_script, normalize_origin, origin_of
from ._server import LoopbackServer, Session, serve
from ._window import READY_TIMEOUT, show, wait_connected
from ._window_control import WindowControls

__all__ = ["Pytonium"]

log = logging.getLogger("pytonium_lab")

_CUSTOM_URL = re.compile(r"([a-z][a-z0-9+.-]*)://(.*)", re.IGNORECASE | re.DOTALL)


class Pytonium(CallBinding, WindowControls):
    """A desktop window bound to a (possibly shared) :class:`StateStore`.

    The window API (``minimize_window``, ``set_window_position``, ...) is
    :class:`~pytonium_lab.desktop._window_control.WindowControls`'; the binding
    API (``bind_function_to_javascript``, ...) is :class:`~pytonium_lab._calls.CallBinding`'s.
    """

    def __init__(
        self, store: StateStore | None = None, *, backend: str = "auto", debug: bool = False, watch: bool | None = None
    ) -> None:
        if store is not None and not isinstance(store, StateStore):
            raise TypeError(f"store must be a StateStore or None, got {type(store).__name__}")
        for name, flag in (("debug", debug), ("watch", watch)):
            if type(flag) is not bool and not (name == "watch" and flag is None):
                raise TypeError(f"{name} must be True or False, got {flag!r}")
        check_backend(backend)
        self.store = store if store is not None else StateStore()
        self.backend = backend
        self.debug = debug
        # Reload on save: the window reloads when a file of its scheme folder changes.
        self.watch = debug if watch is None else watch
        self._watch: FolderWatch | None = None
        self._folders: dict[str, str] = {}
        self._origins: set[str] = set()
        self._session: Session | None = None
        self._server: LoopbackServer | None = None  # the one serving _session
        self._window: WindowProcess | None = None
        self._widget: Any = None  # the StateWidget of the notebook backend
        self._init_window_controls()

    # ---- state (the store's API) ---------------------------------------------------

    def set_state(self, namespace: str, key: str, value: Any) -> None:
        """Set a value; handlers and every window hear it at once."""
        self.store.set_state(namespace, key, value)

    def get_state(self, namespace: str, key: str, default: Any = None) -> Any:
        return self.store.get_state(namespace, key, default)

    def remove_state(self, namespace: str, key: str) -> bool:
        return self.store.remove_state(namespace, key)

    def add_state_handler(self, state_handler: Any, namespaces: Iterable[str]) -> Subscription | None:
        """Call ``state_handler.update_state(namespace, key, value)`` on changes of ``namespaces``.

        Returns the :class:`Subscription` (call it to remove the handler), as the store does.
        """
        return self.store.add_state_handler(state_handler, namespaces)

    # ---- window --------------------------------------------------------------------

    def add_custom_scheme(self, scheme: str, folder: str) -> None:
        """Serve ``folder`` as ``scheme://...`` (resolved now, relative to the working directory)."""
        scheme = check_scheme(scheme.lower() if isinstance(scheme, str) else scheme)
        self._folders[scheme] = served_folder(scheme, folder)
        if self._session is not None:
            self._session.folders[scheme] = self._folders[scheme]

    def allow_origin(self, origin: str) -> None:
        """Give pages of ``origin`` (``scheme://host[:port]``, e.g. a dev server) the state API too.

        By default only the app's own scheme pages get it: an allowed origin's
        top-level pages receive the runtime and may connect to this window's
        store. Pages that use the API wait for ``PytoniumReady``, as the spec's do.
        """
        self._origins.add(normalize_origin(origin))
        if self._session is not None:
            self._session.origins.update(self._origins)

    def initialize(
        self,
        url: str,
        width: int,
        height: int,
        *,
        frameless: bool | None = None,
        icon_path: str | os.PathLike[str] | None = None,
        x: int | None = None,
        y: int | None = None,
        always_on_top: bool = False,
    ) -> None:
        """Open the window on ``url`` (``scheme://path`` of a custom scheme, or http(s)).

        Returns once the page is connected to the store. Only custom-scheme
        pages and pages of allowed origins get the state API; other pages
        load as they are. ``frameless`` and ``icon_path`` default to what
        ``set_frameless_window`` / ``set_custom_icon_path`` said; ``x, y`` place
        the window's outer corner (see docs/desktop.md, "The window API").
        """
        if self.is_running():
            raise RuntimeError("initialize: this Pytonium window is already running; call shutdown() first")
        if type(url) is not str:
            raise TypeError(f"url must be a str, got {type(url).__name__}")
        options = self._window_options(width, height, frameless, icon_path, x, y, always_on_top)
        scheme, path, query = _split_url(url)
        if scheme in self._folders:
            _page_file(self._folders, scheme, path, url)  # no window for a page that cannot be served
        if _inline(self.backend):
            self._widget = _show_inline(self.store, self._folders, scheme, path, url, width, height)
            return
        ours = scheme in self._folders or origin_of(url) in self._origins
        if not ours and scheme not in ("http", "https") and url != "about:blank":
            known = ", ".join(f"{s}://" for s in self._folders) or "none; call add_custom_scheme first"
            raise ValueError(f"initialize: no custom scheme for {url!r} (registered: {known})")
        if self._window is not None:  # the last window was closed or killed: reap what is left
            self._detach_window()
            self._window.close()
            self._window = None
        server, session = self._serve()
        inject = None
        if scheme in self._folders:
            page = server.page_url(session, scheme, path, query)
        else:
            page = url
            if ours:
                inject = injection_script(server.runtime_config(session), self._origins)
        try:
            self._window = show(
                session,
                page,
                max(width, LAUNCH_MIN),  # smaller windows are sized once mapped (_attach_window)
                max(height, LAUNCH_MIN),
                backend=resolve_backend(self.backend),
                title=None,
                debug=self.debug,
                wait=ours,
                inject=inject,
            )
        except BaseException:
            self._release()  # no window: keep no session (nor, if it was the last, the server's port)
            raise
        try:
            self._attach_window(options)
        except BaseException:
            self.shutdown()  # a window the options could not be applied to: close it, say why
            raise
        if self.watch and scheme in self._folders:
            self._watch_page(server, session, scheme, path)

    def load_url(self, url: str) -> None:
        """Show ``url`` in the open window (as ``initialize`` would; same rules for the state API).

        A page of the app's schemes or of an allowed origin gets the state API
        (and this returns once it is connected); any other page loads without it.
        """
        if self._widget is not None:
            raise NotImplementedError("load_url: the notebook engine shows one page inline; it has no window")
        window, server, session = self._window, self._server, self._session
        if window is None or server is None or session is None or not window.is_alive():
            raise RuntimeError("load_url: no window is running; call initialize() first")
        if type(url) is not str:
            raise TypeError(f"load_url: url must be a str, got {type(url).__name__}")
        scheme, path, query = _split_url(url)
        inject = None
        if scheme in self._folders:
            _page_file(self._folders, scheme, path, url)
            page, ours = server.page_url(session, scheme, path, query), True
        else:
            ours = origin_of(url) in self._origins
            if not ours and scheme not in ("http", "https") and url != "about:blank":
                known = ", ".join(f"{s}://" for s in self._folders) or "none; call add_custom_scheme first"
                raise ValueError(f"load_url: no custom scheme for {url!r} (registered: {known})")
            page = url
            if ours:
                inject = injection_script(server.runtime_config(session), self._origins)
        session.connected.clear()
        try:
            window.navigate(page, inject)
        except RuntimeError as exc:
            raise RuntimeError(f"load_url({url!r}) on the {window.backend} engine: {window.hung or exc}") from None
        if ours and not wait_connected(session, window):
            if not window.is_alive():
                why = window.hung or "the window closed"
                raise RuntimeError(
                    f"load_url({url!r}): the {window.backend} window ended before the page connected: {why}"
                )
            log.warning("load_url(%r): the page did not connect within %.0f s", url, READY_TIMEOUT)
        self._stop_watching()
        if self.watch and scheme in self._folders:
            self._watch_page(server, session, scheme, path)

    def _watch_page(self, server: LoopbackServer, session: Session, scheme: str, path: str) -> None:
        """Reload the window when a file of the page's folder changes (the page itself must still load)."""
        self._stop_watching()
        folder = Path(self._folders[scheme])

        def reload(_paths: set[Path]) -> None:
            try:
                Path(_page_file(self._folders, scheme, path, f"{scheme}://{path}")).read_text(encoding="utf-8")
            except (OSError, ValueError) as exc:  # removed, not UTF-8, moved out: keep the last good page
                log.warning("not reloading %s://%s after a change: %s", scheme, path, exc)
                return
            server.call(lambda: session.broadcast(reload_message()))

        self._watch = FolderWatch(folder, reload)

    def _stop_watching(self) -> None:
        if self._watch is not None:
            self._watch.close()
            self._watch = None

    def _serve(self) -> tuple[LoopbackServer, Session]:
        """This object's session on the running server: kept across windows, made anew after a release."""
        if self._session is None or self._server is None:
            self._session = Session(self.store, loop=running_loop())
            self._session.folders.update(self._folders)
            self._session.origins.update(self._origins)
            self._server = serve(self._session)
        else:
            self._session.loop = running_loop()
        return self._server, self._session

    def _release(self) -> None:
        """Apply the page's last writes and unregister the session; the last one closes the server's port."""
        if self._session is not None and self._server is not None:
            self._session.pump()
            self._server.remove(self._session)
        self._session = self._server = None

    def is_running(self) -> bool:
        """Whether the window (or the notebook view) is open; false within milliseconds of a close."""
        if self._widget is not None:
            return self._widget.comm is not None
        running = self._window is not None and self._window.is_alive()
        if not running:
            self._stop_watching()  # no watcher outlives its window
            self._detach_window()
        return running

    def update_message_loop(self) -> None:
        """Apply the page's queued writes (runs your handlers on this thread).

        In the notebook backend it does the same for the inline view (where the
        kernel routes page messages to a subshell, see ``_kernel_route``); the
        kernel applies them itself between cells and while a cell awaits.
        """
        if self._widget is not None:
            self._widget.update_message_loop()
        if self._session is not None:
            self._session.pump()

    @property
    def devtools_port(self) -> int | None:
        """The window's DevTools port when ``debug=True`` (``None`` otherwise)."""
        return self._window.devtools_port if self._window is not None else None

    def shutdown(self) -> None:
        """Close the window, its connections and its processes (idempotent)."""
        self._stop_watching()
        if self._widget is not None:
            self._widget.close()
            self._widget = None
        self._release()
        self._detach_window()
        if self._window is not None:
            self._window.close()

    def __repr__(self) -> str:
        state = "running" if self.is_running() else "not running"
        return f"<Pytonium {state} {self.store!r}>"


def _inline(backend: str) -> bool:
    """Whether ``backend`` means the notebook view (``auto`` does inside a Jupyter kernel)."""
    chosen = chosen_backend(backend)
    return chosen == "notebook" or (chosen == "auto" and jupyter_kernel() is not None)


def _split_url(url: str) -> tuple[str, str, str]:
    """``scheme://path?query#fragment`` -> ``(scheme, path, "?query#fragment")`` (scheme lower-cased)."""
    found = _CUSTOM_URL.fullmatch(url)
    if found is None:
        return "", "", ""
    rest = found.group(2).lstrip("/")
    path = re.split(r"[?#]", rest, maxsplit=1)[0]  # up to the first ? or #; the rest is the query
    query = rest[len(path) :]
    return found.group(1).lower(), path, query


def _page_file(folders: dict[str, str], scheme: str, path: str, url: str) -> str:
    """The file ``scheme://path`` shows; an error naming ``url`` and the file when it cannot be served.

    Checked before a window opens: a page the server would answer with 404
    never connects, so ``initialize`` would wait its whole timeout for nothing.
    """
    try:
        return resolve_inside(folders[scheme], path)
    except OSError as exc:  # FileNotFoundError, OutsideFolder
        raise type(exc)(f"initialize({url!r}): {exc}") from None


def _show_inline(
    store: StateStore, folders: dict[str, str], scheme: str, path: str, url: str, width: int, height: int
) -> Any:
    """Display the page of ``scheme://path`` as a StateWidget in the current notebook output, sized as the window."""
    from IPython.display import display

    from ..notebook import StateWidget

    if scheme not in folders:
        known = ", ".join(f"{s}://" for s in folders) or "none; call add_custom_scheme first"
        raise ValueError(
            f"initialize: the notebook view shows custom-scheme pages only, not {url!r} (registered: {known})"
        )
    widget = StateWidget(store, _page_file(folders, scheme, path, url), width=width, height=height)
    display(widget)
    return widget
