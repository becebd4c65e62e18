"""StateWidget: a notebook view of a StateStore (an anywidget).

The user's page runs in a sandboxed iframe built from ``_srcdoc`` (the page,
its relative assets inlined, the JS runtime injected). Configuration travels
as synced traitlets; state travels as protocol messages (docs/protocol.md)
over the widget's custom messages, through one :class:`StoreLink` per widget.
"""

from __future__ import annotations

import functools
import logging
import os
import secrets
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from .._calls import CallBinding, registry_of
from .._handoff import Handoff
from .._link import StoreLink
from .._page import inject_runtime, locate_page, static_text
from .._protocol import StoreMessage, is_hello
from .._store import StateStore
from .._values import check_namespaces
from .._watch import FolderWatch
from ._assets import inline_assets
from ._host_hooks import close_with_host, flush_at_cell_end, pump_host
from ._kernel_route import cell_pumps, keep_cell_busy, on_our_subshell, route_to_subshell

__all__ = ["StateWidget", "load_page"]

log = logging.getLogger("pytonium_lab")


def _widget_esm() -> str:
    return static_text("widget.js")


def load_page(page: str | os.PathLike[str]) -> tuple[str, Path | None]:
    """Return ``(html, directory)`` for HTML text or the path of an ``.html`` file."""
    text, path = locate_page(page)
    if path is None:
        return text, None  # type: ignore[return-value]
    try:
        return path.read_text(encoding="utf-8"), path.parent
    except UnicodeDecodeError as exc:
        raise ValueError(f"page {path} is not UTF-8 text: {exc}") from None


def build_srcdoc(page: str | os.PathLike[str], store: StateStore | None = None) -> str:
    """The iframe document for ``page``: assets inlined, runtime injected (postMessage transport).

    The config names the functions bound to ``store`` now, so the page's scripts find
    them before it is connected (later changes arrive as messages).
    """
    html, directory = load_page(page)
    if directory is not None:
        html = inline_assets(html, directory, page=str(page))
    config: dict[str, Any] = {"transport": "postMessage"}
    functions = registry_of(store).functions() if store is not None else []
    if functions:
        config["functions"] = functions
    return inject_runtime(html, config)


class StateWidget(CallBinding, anywidget.AnyWidget):
    """Shows ``page`` in a notebook output, as a live view of ``store``.

    ``page`` is HTML text or the path of an ``.html`` file (its relative CSS,
    scripts and images are inlined, so they travel over the comm).
    ``height`` and ``width`` are CSS lengths (an int means pixels; the width
    is the output's full width, ``"100%"``, by default). ``namespaces`` limits
    what the view sees and may write (``None``: everything). Display the
    widget several times, or make several widgets on one store: every view
    stays in sync. A page given as a file is watched (``watch=False`` turns it
    off): saving it, or any file in its folder, reloads every view of it, which
    then shows the store's current state. The page's errors and warnings are
    listed under each view and logged on the ``pytonium_lab`` logger.

    The page's writes reach the store and your handlers on the kernel's main
    thread: between cells, while a cell awaits, or inside a cell that loops
    calling :meth:`update_message_loop` (as the spec's loops do).
    """

    _esm = traitlets.Unicode().tag(sync=True)
    # A stable id for the front end's one mirror per model: hosts hand each
    # display a new model proxy, so the proxy object cannot be the key.
    _uid = traitlets.Unicode().tag(sync=True)
    _srcdoc = traitlets.Unicode().tag(sync=True)
    # The state when the widget was made: views start from it (and the batches
    # after it) even while the kernel is busy and cannot answer their hello.
    _boot = traitlets.Dict().tag(sync=True)
    height = traitlets.Union([traitlets.Unicode(), traitlets.Int()], default_value="400px").tag(sync=True)
    width = traitlets.Union([traitlets.Unicode(), traitlets.Int()], default_value="100%").tag(sync=True)
    namespaces = traitlets.List(traitlets.Unicode(), default_value=None, allow_none=True, read_only=True).tag(sync=True)

    def __init__(
        self,
        store: StateStore,
        page: str | os.PathLike[str],
        *,
        height: int | str = "400px",
        width: int | str = "100%",
        namespaces: Iterable[str] | None = None,
        watch: bool = True,
        **kwargs: Any,
    ) -> None:
        if not isinstance(store, StateStore):
            raise TypeError(f"store must be a StateStore, got {type(store).__name__}")
        names = check_namespaces(namespaces)
        if type(watch) is not bool:
            raise TypeError(f"watch must be True or False, got {watch!r}")
        _widget_esm()  # bad input and a missing JS build fail here, before a comm is opened
        srcdoc = build_srcdoc(page, store)
        self.store = store
        self._page = page
        self._namespaces = names
        self._windows: list[Any] = []  # open_window()'s handles: update_message_loop() pumps them too
        super().__init__(_srcdoc=srcdoc, height=height, width=width, **kwargs)
        self._link = StoreLink(store, self._send_to_views, namespaces=names, interval=1 / 60)
        self._boot = dict(self._link.initial_snapshot())
        self.on_msg(self._on_view_message)
        # Where ipykernel allows it, page messages arrive on a subshell thread while a cell
        # loops on update_message_loop(); writes then wait in _inbox for that call.
        self._main_loop = route_to_subshell(self.comm)
        self._inbox = Handoff(self._main_loop)
        flush_at_cell_end(self._link)
        # A host that closes the comm (marimo re-running the cell) or re-runs the cell
        # that made it (Jupyter) ends the link: no dead view stays subscribed.
        close_with_host(self, self._stop)
        # The page's config names the bound functions (its scripts see them from the start), so
        # binding or unbinding one reloads the views, as saving the page does.
        self._unfollow_calls = registry_of(store).follow(lambda: self._reload(set()))
        # Reload on save: a page given as a file reloads in every view when its folder changes.
        self._watch: FolderWatch | None = None
        file = locate_page(page)[1]
        if watch and file is not None:
            self._watch = FolderWatch(file.parent, self._reload)

    @traitlets.default("_esm")
    def _default_esm(self) -> str:
        return _widget_esm()

    @traitlets.default("_uid")
    def _default_uid(self) -> str:
        return secrets.token_hex(12)

    @traitlets.default("namespaces")
    def _default_namespaces(self) -> list[str] | None:
        return self._namespaces

    @traitlets.validate("height", "width")
    def _valid_size(self, proposal: dict[str, Any]) -> str:
        name = proposal["trait"].name
        value: str | int = proposal["value"]
        if isinstance(value, bool) or (isinstance(value, int) and value <= 0):
            raise traitlets.TraitError(f"{name} must be a CSS length or a positive int (pixels), got {value!r}")
        if isinstance(value, int):
            return f"{value}px"
        if not value.strip():
            raise traitlets.TraitError(f"{name} must not be empty (try {'400px' if name == 'height' else '100%'!r})")
        return value

    def _send_to_views(self, message: StoreMessage) -> None:
        self.send(message)  # looked up per call, so a test can replace ``send``

    def _on_view_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if threading.current_thread() is threading.main_thread():
            self._inbox.pump()
            self._link.receive(content)
            return
        # Off the main thread: our subshell while a cell loops on update_message_loop()
        # (or a kernel that delivers comm messages elsewhere). A hello is answered here
        # (a snapshot runs no user code); writes, which run user handlers, wait for the
        # main thread: the next update_message_loop(), or the kernel's loop once the
        # cell ends or awaits. Handlers never run beside the user's cell code.
        if self._main_loop is not None and on_our_subshell():
            keep_cell_busy()
        if is_hello(content):
            self._link.receive(content)
            return
        if self._main_loop is None:  # no kernel loop to hand over to (plain Python)
            self._link.receive(content)
            return
        self._inbox.post(functools.partial(self._link.receive, content))  # a closed loop: the kernel is going away

    def update_message_loop(self) -> None:
        """Apply the page's queued writes here (runs your handlers) and send pending changes.

        Call it in a loop that keeps a cell busy, as the spec's loops do; between
        cells and during ``await`` the kernel does it by itself.
        """
        cell_pumps()
        pump_host()  # marimo: hand over the page messages it queued while this cell runs
        self._inbox.pump()
        for handle in self._windows:  # the windows open_window() opened: their pages' writes
            handle.session.pump()
        self._windows = [handle for handle in self._windows if handle.is_running()]
        self._link.flush()

    def flush(self) -> None:
        """Send pending state changes to the views now (cells end with a flush anyway)."""
        self._link.flush()

    def _reload(self, _paths: set[Path]) -> None:
        """A file of the page's folder changed: every view reloads, from the store's current state."""
        try:
            srcdoc = build_srcdoc(self._page, self.store)
        except (OSError, ValueError) as exc:  # removed, not UTF-8, ...: keep the last good page
            log.warning("not reloading %s after a change: %s", self._page, exc)
            return
        if srcdoc != self._srcdoc:
            self._srcdoc = srcdoc  # the front end sets it as the iframe's srcdoc: the page loads again

    def _stop(self) -> None:
        """Stop following the store and the page's folder (idempotent)."""
        link = getattr(self, "_link", None)
        if link is not None:
            link.close()
        unfollow = getattr(self, "_unfollow_calls", None)
        if unfollow is not None:
            unfollow()
        watch = getattr(self, "_watch", None)
        if watch is not None:
            watch.close()

    def close(self) -> None:
        """Stop following the store and close the widget's views."""
        self._stop()
        super().close()

    def open_window(self, **kwargs: Any) -> Any:
        """Open the same page on the same store in a desktop window (see ``pytonium_lab.desktop``)."""
        from ..desktop import open_window

        handle = open_window(self.store, self._page, namespaces=self.namespaces, **kwargs)
        self._windows.append(handle)
        return handle

    def __repr__(self) -> str:
        page = self._page if isinstance(self._page, os.PathLike) or "<" not in self._page else "<html text>"
        return f"<StateWidget page={str(page)!r} namespaces={self.namespaces!r} store={self.store!r}>"
