"""Reload on save: a thread that calls back when files in a page's folder change.

Built on watchfiles (inotify on Linux, made for exactly this). One thread per
watch, stopped by :meth:`FolderWatch.close` within about one ``step``, so no
watcher outlives the widget or window that owns it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

__all__ = ["FolderWatch"]

log = logging.getLogger("pytonium_lab")


class FolderWatch:
    """Call ``on_change(paths)`` on a daemon thread whenever files below ``folder`` change.

    Changes within ``debounce_ms`` are joined into one call (an editor's save is
    often several writes and a rename).
    """

    def __init__(
        self,
        folder: Path,
        on_change: Callable[[set[Path]], None],
        *,
        debounce_ms: int = 50,
        step_ms: int = 50,
    ) -> None:
        import watchfiles  # imported here: only file pages that are watched need it

        self.folder = folder
        self._on_change = on_change
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._watch = watchfiles.watch
        self._debounce = debounce_ms
        self._step = step_ms
        self._thread = threading.Thread(target=self._run, name=f"pytonium-watch {folder.name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            changes = self._watch(
                self.folder,
                stop_event=self._stop,
                debounce=self._debounce,
                step=self._step,
                rust_timeout=200,  # an empty batch every 200 ms: the first one says the watch is in place
                yield_on_timeout=True,
            )
            for batch in changes:
                self._ready.set()  # the first timeout step: the watcher is in place
                if batch:
                    try:
                        self._on_change({Path(path) for _, path in batch})
                    except Exception:
                        log.exception("reloading after a change in %s failed", self.folder)
        except Exception:
            log.exception("watching %s for changes stopped", self.folder)
        finally:
            self._ready.set()

    def wait_ready(self, timeout: float = 5) -> bool:
        """Wait until the watcher is in place (a save before that could go unseen)."""
        return self._ready.wait(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def close(self, timeout: float = 2) -> None:
        """Stop watching and wait for the thread to end (idempotent)."""
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def __repr__(self) -> str:
        return f"<FolderWatch {str(self.folder)!r} ({'watching' if self.alive else 'stopped'})>"
