"""A notebook view's life with the cells: flushed when a cell ends, closed when its cell re-runs.

Batches leave at most ~60 times a second; the last changes of a cell must not
wait for the next tick (or be held if the cell ended inside an interval), so
one hook per process flushes every link still alive after each cell: an
IPython ``post_execute`` hook in a Jupyter kernel, marimo's post-execution
cell hook in marimo (``_marimo``).

A widget must stop following its store once its host is done with it, or
the store keeps feeding a dead view (in marimo every later change then
raised ``Model not found for key ...`` in the browser):

- when its comm closes, from either side: marimo closes a re-run cell's
  widget comms without calling the widget's ``close()``;
- when the cell that made it runs again (Jupyter): the re-run clears that
  cell's output, so its old views are gone, but ipywidgets keeps the model
  alive. As in marimo, re-running a cell closes the StateWidgets its previous
  run made (a view of one displayed by another cell disappears too: display
  the new widget there). IPython says which cell runs (``cell_id``, from the
  front end's ``cellId``); without it nothing is closed.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable
from typing import Any, Protocol

from .._where import ipython_shell
from . import _marimo

__all__ = ["close_with_host", "flush_all", "flush_at_cell_end", "pump_host"]

log = logging.getLogger("pytonium_lab")


class _Flushable(Protocol):
    def flush(self) -> None: ...


_links: weakref.WeakSet[_Flushable] = weakref.WeakSet()
_lock = threading.Lock()
_hooked = False  # IPython's post_execute / pre_run_cell hooks are registered
_made_by: dict[str, list[weakref.ref[Any]]] = {}  # cell id -> the widgets its last run made


def _hookipython_shell() -> bool:
    global _hooked
    if _hooked:
        return True
    shell = ipython_shell()
    if shell is None:
        return False
    shell.events.register("post_execute", flush_all)
    shell.events.register("pre_run_cell", _cell_starts)
    _hooked = True
    return True


def flush_at_cell_end(link: _Flushable) -> None:
    """Flush ``link`` after every cell (IPython or marimo); forgets it once it is gone."""
    with _lock:
        _links.add(link)
        if _hookipython_shell():
            return
    if _marimo.running():
        _marimo.on_cell_end(flush_all)


def flush_all() -> None:
    """Send every link's pending changes now."""
    with _lock:
        links = list(_links)
    for link in links:
        link.flush()


# ---- closing with the host ----------------------------------------------------------


def close_with_host(widget: Any, stop: Callable[[], None]) -> None:
    """Call ``stop()`` (once) when ``widget``'s comm closes or the cell that made it runs again."""
    stop = _once(stop)
    comm = getattr(widget, "comm", None)
    if comm is not None:
        _follow_comm(comm, stop)
    cell = _running_cell()
    if cell is not None:
        with _lock:
            _made_by.setdefault(cell, []).append(weakref.ref(widget))
    if _marimo.running():
        _marimo.watch(widget)


def _once(stop: Callable[[], None]) -> Callable[[], None]:
    """``stop`` that runs at most once: both sides may close a comm, and close() may be called twice."""
    pending = [stop]

    def stop_once() -> None:
        with _lock:
            if not pending:
                return
            first = pending.pop()
        first()

    return stop_once


def _follow_comm(comm: Any, stop: Callable[[], None]) -> None:
    # The front end closing it (ipykernel calls on_close's callback; ipywidgets sets none).
    on_close = getattr(comm, "on_close", None)
    if callable(on_close):
        on_close(lambda _msg: stop())
    # The host closing it from Python (marimo's re-run): wrap this comm's close.
    close = getattr(comm, "close", None)
    if not callable(close):
        return

    def close_and_stop(*args: Any, **kwargs: Any) -> Any:
        try:
            stop()
        finally:
            result = close(*args, **kwargs)
        return result

    try:
        comm.close = close_and_stop
    except (AttributeError, TypeError):
        log.debug("cannot follow the close of %r", comm)


def _running_cell() -> str | None:
    """The front-end id of the cell this kernel runs now (what IPython's ``cell_id`` is made from)."""
    kernel = getattr(ipython_shell(), "kernel", None)
    get_parent = getattr(kernel, "get_parent", None)
    if not callable(get_parent):
        return None
    try:
        parent = get_parent("shell")
    except Exception:
        return None
    header = parent.get("header") if isinstance(parent, dict) else None
    if not isinstance(header, dict) or header.get("msg_type") != "execute_request":
        return None  # between cells (a handler made it): no cell owns it
    metadata = parent.get("metadata")
    cell = metadata.get("cellId") if isinstance(metadata, dict) else None
    return cell if isinstance(cell, str) and cell else None


def _cell_starts(info: Any = None) -> None:
    cell = getattr(info, "cell_id", None)
    if not isinstance(cell, str) or not cell:
        return
    with _lock:
        old = _made_by.pop(cell, [])
    for ref in old:
        widget = ref()
        if widget is None:
            continue
        try:
            widget.close()
        except Exception:
            log.exception("closing a StateWidget of a re-run cell failed")


def pump_host() -> None:
    """Let the host hand over page messages queued for a running cell (marimo)."""
    if _marimo.running():
        _marimo.pump()
