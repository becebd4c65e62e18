"""``store.persist(path)``: keep a store's state in a JSON file across restarts.

The file is loaded into the store once, then rewritten after changes: at most
``DELAY`` seconds behind the last one, from the shared timer thread of
``_throttle`` (no thread per file), and once more at interpreter exit. Each
write is atomic (temp file in the same folder, fsync, ``os.replace``, fsync of
the folder), so a crash or ``kill -9`` at any moment leaves either the old file
or the new one, each a state the store really had (``snapshot_at`` is atomic).
That state is one between two writes: ``batch()`` defers delivery, not the
writes, so a file can hold part of a batch, as any snapshot can. The file is
created private to the user (mode 0600, from ``mkstemp``).

Listening costs the store nothing per write: the subscription is one-shot. The
first change after a write ends it and arms the timer; the write subscribes
again *before* it takes its snapshot, so no change is missed and a burst of
100,000 writes costs one callback per ``DELAY``, not one per write.

A file that does not load (not JSON, wrong format or version, a value the store
refuses) raises ``ValueError`` and is never written: the store stays unchanged
and nobody overwrites what may be the user's only copy.
"""

from __future__ import annotations

import atexit
import glob
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ._throttle import _timers
from ._values import check_name, check_namespaces, clean_value, shown_name

if TYPE_CHECKING:
    from ._store import Change, StateStore, Subscription

__all__ = ["DELAY", "FORMAT", "ORIGIN", "VERSION", "Persistence", "persist"]

log = logging.getLogger("pytonium_lab")

FORMAT = "pytonium_lab.state"
VERSION = 1
ORIGIN = "persist"
"""The origin of the changes that loading a file makes."""
DELAY = 0.1
"""Seconds a write may trail the first change after the previous write."""

State = dict[str, dict[str, Any]]

_open: dict[str, Persistence] = {}  # resolved path -> its persistence, for refusing a second one
_open_lock = threading.Lock()


def persist(store: StateStore, path: str | os.PathLike[str], namespaces: Iterable[str] | None = None) -> Persistence:
    """Load ``path`` into ``store`` and keep it current; see :class:`Persistence`."""
    return Persistence(store, _resolve(path), check_namespaces(namespaces))


class Persistence:
    """What ``store.persist(path)`` returns: the link between the store and its file.

    ``flush()`` writes now (if anything changed); ``close()`` flushes and stops
    listening (again does nothing). The file holds ``{"format", "version",
    "revision", "state"}``; ``revision`` counts the writes of the file.
    Namespaces outside ``namespaces`` that the file holds are kept as they were.
    """

    def __init__(self, store: StateStore, path: str, namespaces: list[str] | None) -> None:
        self.store = store
        self.path = path
        self.namespaces = namespaces
        wanted = None if namespaces is None else frozenset(namespaces)
        revision, state = _read(path)
        loaded = {ns: keys for ns, keys in state.items() if keys and (wanted is None or ns in wanted)}
        self._kept = {ns: keys for ns, keys in state.items() if ns not in loaded}
        self._writes = revision
        self._flags = threading.Lock()  # guards the flags below, never held while calling the store
        self._dirty = False  # a change not yet taken into a snapshot
        self._saving = 0  # threads between clearing _dirty and the end of their write
        self._failed = False  # the last write raised: flush() tries again
        self._armed = False  # a timer call is pending
        self._closed = False
        self._listener: _Listener | None = None
        self._write_lock = threading.Lock()  # one file write at a time; never held while calling the store
        self._saved_at = -1  # the store revision of the snapshot on disk
        self._finished = False  # close() wrote the last time
        _claim(self)
        try:
            _remove_stale_temp_files(path)
            with store.batch():
                for ns, keys in loaded.items():
                    for key, value in keys.items():
                        store.set_state(ns, key, value, origin=ORIGIN)
            listener = self._listen()
        except BaseException:
            _release(self)
            raise
        now, revision_now = store.snapshot_at(namespaces)
        if now == loaded:
            self._saved_at = revision_now
        else:  # the store held keys the file lacks: write them soon
            listener.fire()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def flush(self) -> None:
        """Write the file now if its namespaces changed since the last write (else do nothing)."""
        self._save(flush=True)

    def close(self) -> None:
        """Flush, stop listening and release the file (idempotent)."""
        with self._flags:
            if self._closed:
                return
            self._closed = True
            listener, self._listener = self._listener, None
        try:
            if listener is not None:
                listener.cancel()
            self._write(*self.store.snapshot_at(self.namespaces), last=True)
        finally:
            _release(self)

    def __repr__(self) -> str:
        names = "all namespaces" if self.namespaces is None else repr(self.namespaces)
        return f"<Persistence of {names} to {self.path!r} ({'closed' if self._closed else 'open'})>"

    # ---- scheduling --------------------------------------------------------------

    def _listen(self) -> _Listener:
        listener = _Listener(self.store, self.namespaces, self._changed)
        with self._flags:
            stale = self._closed
            if not stale:
                self._listener = listener
        if stale:
            listener.cancel()
        return listener

    def _changed(self) -> None:
        """The first change after a write (the store's lock is held): write within DELAY."""
        with self._flags:
            if self._dirty or self._closed:
                return
            self._dirty = True
            if self._armed:
                return
            self._armed = True
        _timers.call_at(time.monotonic() + DELAY, self._fire)

    def _fire(self) -> None:
        with self._flags:
            self._armed = False
        try:
            self._save(flush=False)
        except OSError:
            log.exception("could not write the state file %s; trying again at the next change", self.path)

    def _save(self, flush: bool) -> None:
        """Snapshot and write if a change came since the last snapshot.

        ``flush`` also writes while another thread is between taking the dirty
        flag and finishing its write, so that flush() returns with the file
        current without waiting for that thread (which may wait for the store's
        lock, held by the handler calling flush), and after a failed write.
        """
        with self._flags:
            relisten = self._dirty
            if self._closed or not (relisten or (flush and (self._saving or self._failed))):
                return
            self._dirty = False
            self._saving += 1
        try:
            if relisten:
                self._listen()  # before the snapshot: a later change is heard, an earlier one is in it
            self._write(*self.store.snapshot_at(self.namespaces))
        finally:
            with self._flags:
                self._saving -= 1

    # ---- the file ----------------------------------------------------------------

    def _write(self, state: State, revision: int, last: bool = False) -> None:
        """Write a snapshot unless a newer one is already on disk (two writers may race to here)."""
        with self._write_lock:
            if self._finished:
                return
            self._finished = last
            if revision <= self._saved_at:
                return
            document = {"format": FORMAT, "version": VERSION, "revision": self._writes + 1, "state": state}
            if self._kept:
                document["state"] = {**self._kept, **state}
            self._failed = True
            _write_atomically(self.path, json.dumps(document, ensure_ascii=False, allow_nan=False).encode() + b"\n")
            self._failed = False
            self._writes += 1
            self._saved_at = revision


class _Listener:
    """A subscription that ends at its first change and then calls ``on_change()`` once."""

    __slots__ = ("_done", "_on_change", "_sub")

    def __init__(self, store: StateStore, namespaces: list[str] | None, on_change: Callable[[], None]) -> None:
        self._done = False
        self._on_change = on_change
        self._sub: Subscription | None = None
        sub = store.subscribe_batches(self._heard, namespaces)
        self._sub = sub
        if self._done:  # a change came in another thread before ``_sub`` was set
            sub.unsubscribe()

    def _heard(self, changes: list[Change]) -> None:
        self.fire()

    def fire(self) -> None:
        if not self._done:  # the store delivers one change at a time: no race between two calls
            self.cancel()
            self._on_change()

    def cancel(self) -> None:
        self._done = True
        if self._sub is not None:
            self._sub.unsubscribe()


def _claim(handle: Persistence) -> None:
    """Refuse a second persistence of one file in this process (the two would overwrite each other)."""
    with _open_lock:
        other = _open.setdefault(handle.path, handle)
    if other is not handle:
        whose = "this store" if other.store is handle.store else "another store"
        raise ValueError(f"{handle.path}: {whose} already persists to this file; close() that persistence first")


def _release(handle: Persistence) -> None:
    with _open_lock:
        if _open.get(handle.path) is handle:
            del _open[handle.path]


def _resolve(path: object) -> str:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__} {path!r}")
    name = os.fspath(path)
    if not isinstance(name, str):
        raise TypeError(f"path must name a file with a str, got {type(name).__name__} {name!r}")
    if not name:
        raise ValueError("path must not be empty")
    resolved = os.path.realpath(name)
    folder = os.path.dirname(resolved)
    if not os.path.isdir(folder):
        raise ValueError(f"{resolved}: the folder {folder} does not exist")
    if os.path.isdir(resolved):
        raise ValueError(f"{resolved}: is a folder, not a state file")
    return resolved


def _read(path: str) -> tuple[int, State]:
    """The file's write count and state, checked like any write (missing: 0 and empty)."""
    try:
        with open(path, "rb") as file:
            data = file.read()
    except FileNotFoundError:
        return 0, {}

    def bad(what: str) -> ValueError:
        return ValueError(f"{path}: {what}; the file is left untouched (fix or remove it)")

    if not data:
        raise bad("the file is empty (truncated?)")
    try:
        document = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise bad(f"not UTF-8 text ({e})") from None
    except RecursionError:
        raise bad("not a state file (JSON nested too deeply)") from None
    except ValueError as e:  # JSONDecodeError, and ints too long to parse
        raise bad(f"not valid JSON, perhaps truncated ({e})") from None
    if not isinstance(document, dict) or "format" not in document:
        raise bad(f'not a state file (expected a JSON object with "format": "{FORMAT}")')
    if document["format"] != FORMAT:
        raise bad(f'"format" is {document["format"]!r}, expected "{FORMAT}"')
    version = document.get("version")
    if type(version) is not int or version != VERSION:
        raise bad(f'"version" {version!r} is not supported (this pytonium_lab reads version {VERSION})')
    revision = document.get("revision")
    if type(revision) is not int or revision < 0:
        raise bad(f'"revision" must be a count of writes (an int >= 0), got {revision!r}')
    state = document.get("state")
    if not isinstance(state, dict):
        raise bad(f'"state" must be an object of namespaces, got {type(state).__name__}')
    for namespace, keys in state.items():
        if not isinstance(keys, dict):
            raise bad(f'"state".{shown_name(namespace)} must be an object of keys, got {type(keys).__name__}')
        for key, value in keys.items():
            try:
                check_name(namespace, key)
                keys[key] = clean_value(namespace, key, value)
            except (TypeError, ValueError) as e:
                raise bad(f"the store refuses namespace {shown_name(namespace)}, key {shown_name(key)}: {e}") from None
    return revision, state


def _write_atomically(path: str, data: bytes) -> None:
    """Replace ``path`` by ``data`` so that a crash leaves the old file or the new one, never a mix."""
    folder, name = os.path.split(path)
    fd, temp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    try:
        with open(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
    if os.name == "posix":  # the rename itself reaches the disk only with the folder
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _remove_stale_temp_files(path: str) -> None:
    """Temp files a killed process left behind (only one process should persist to a file)."""
    folder, name = os.path.split(path)
    for stale in glob.glob(os.path.join(glob.escape(folder), f".{glob.escape(name)}.*.tmp")):
        try:
            os.unlink(stale)
        except OSError:
            pass


@atexit.register
def _close_all() -> None:
    """Write every open file once more at interpreter exit (the timer thread is a daemon)."""
    with _open_lock:
        handles = list(_open.values())
    for handle in handles:
        try:
            handle.close()
        except Exception:
            log.exception("could not write the state file %s at exit", handle.path)
