"""Flushing every live notebook link when a cell ends.

Batches leave at most ~60 times a second; the last changes of a cell must not
wait for the next tick (or be held if the cell ended inside an interval), so
one IPython ``post_execute`` hook per process flushes every link still alive.
"""

from __future__ import annotations

import threading
import weakref
from typing import Protocol

__all__ = ["flush_at_cell_end"]


class _Flushable(Protocol):
    def flush(self) -> None: ...


_links: weakref.WeakSet[_Flushable] = weakref.WeakSet()
_lock = threading.Lock()
_hooked = False


def flush_at_cell_end(link: _Flushable) -> None:
    """Flush ``link`` after every cell (when running in IPython); forgets it once it is gone."""
    global _hooked
    with _lock:
        _links.add(link)
        if _hooked:
            return
        try:
            from IPython import get_ipython
        except ImportError:
            return
        shell = get_ipython()
        if shell is None:
            return
        shell.events.register("post_execute", flush_all)
        _hooked = True


def flush_all() -> None:
    """Send every link's pending changes now."""
    with _lock:
        links = list(_links)
    for link in links:
        link.flush()
