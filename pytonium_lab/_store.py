"""The StateStore: the one source of truth every view mirrors.

Writes are ordered by one re-entrant lock and numbered by a revision counter.
The writing thread delivers its change to the subscribers while it holds the
lock, so every subscriber hears one order and a write from another thread waits
its turn. A subscriber that writes state from inside its callback (same thread,
so the lock lets it in) only queues the change, which is delivered right after
the current one: nothing deadlocks or recurses. One lock for both jobs also
keeps ``set_state`` cheap (see bench/store.py).

The price: a handler must not block waiting for *another* thread that writes
to the same store (that thread waits for the handler to return).
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ._change import Change, RawChange
from ._change import make_change as _make_change
from ._history import ABSENT as _ABSENT
from ._history import RESTORE, HistoryEntry, Record, check_capacity, differences, entries, state_at
from ._table import html_table, text_table
from ._values import MAX_NAME, MAX_SAFE_INTEGER, check_name, check_namespaces, clean_value, copy_value

if TYPE_CHECKING:
    import os

    from ._inspector import Inspector
    from ._persist import Persistence
    from ._shared import SharedStore
    from ._traitlink import TraitLink

__all__ = ["PYTHON", "Change", "StateStore", "Subscription"]

log = logging.getLogger("pytonium_lab")

PYTHON = "python"
"""The origin of writes made by Python code."""

_MISSING: Any = object()
_now = time.time  # a history entry's wall-clock time
_MIN_INT = -MAX_SAFE_INTEGER
_PLAIN = frozenset((str, bool, type(None)))  # values that need neither a check nor a copy


_HANDLER, _CALLBACK, _BATCHED, _VIEW = 0, 1, 2, 3

_Route = tuple[tuple["_Subscriber", ...], tuple[tuple[Callable[..., Any], ...], tuple[Callable[..., Any], ...]] | None]
"""A namespace's subscribers, and (handlers, views) callables when set_state may take its fast path."""


class _Subscriber:
    """One registration; ``kind`` says how it wants changes (spec handler, Change, list)."""

    __slots__ = ("active", "call", "kind", "namespaces", "remove")

    def __init__(self, kind: int, call: Callable[..., Any], namespaces: frozenset[str] | None, remove: Any = None):
        self.kind = kind
        self.call = call
        self.remove = remove  # a spec handler's optional remove_state(namespace, key)
        self.namespaces = namespaces
        self.active = True


class Subscription:
    """What ``subscribe``, ``subscribe_batches`` and ``add_state_handler`` return.

    Calling it (or :meth:`unsubscribe`) ends the subscription; again does
    nothing. It is an object rather than a bare closure so that, as a cell's
    last line (Voila prints that atop a dashboard), it shows one plain line
    saying what it listens to, not ``<function ..._add.<locals>.unsubscribe>``.
    """

    __slots__ = ("_store", "_sub")

    def __init__(self, store: StateStore, sub: _Subscriber) -> None:
        self._store = store
        self._sub = sub

    @property
    def active(self) -> bool:
        """Whether changes still reach the callback."""
        return self._sub.active

    def unsubscribe(self) -> None:
        """Stop the callback from hearing later changes (idempotent)."""
        self._store._remove(self._sub)

    __call__ = unsubscribe

    def __repr__(self) -> str:
        names = self._sub.namespaces
        to = "all namespaces" if names is None else repr(sorted(names))
        return f"<Subscription to {to} ({'active' if self.active else 'inactive'})>"


class StateStore:
    """Namespaced state shared by Python code and every attached view.

    ``set_state(namespace, key, value)`` validates and copies the value, records
    it, and notifies matching subscribers and handlers before it returns (unless
    another delivery is under way, in a handler or a thread, which then delivers
    it next, in order).
    """

    def __init__(self, *, history: int = 1000) -> None:
        self._data: dict[str, dict[str, Any]] = {}
        self._history_size = check_capacity(history)
        self._history: deque[Record] = deque(maxlen=self._history_size)  # (change, time, old): see _history
        self._record = self._history.append if self._history_size else None
        self._lock = threading.RLock()
        self._revision = 0
        self._subscribers: tuple[_Subscriber, ...] = ()
        self._routes: dict[str, _Route] = {}  # namespace -> its route (see _route)
        self._queue: deque[RawChange] = deque()  # changes made during a delivery or a batch
        self._delivering = False
        self._batch_depth = 0

    @classmethod
    def connect(cls, url: str, name: str, *, history: int = 1000) -> SharedStore:
        """A store whose state is shared, through the Redis at ``url``, by every process connected to ``name``.

        E.g. ``StateStore.connect("redis://127.0.0.1:6379/0", "lab")``: same API,
        one order of changes for all processes (see ``pytonium_lab._shared``).
        Raises ``ConnectionError`` at once when Redis cannot be reached.
        """
        from ._shared import SharedStore

        return SharedStore(url, name, history=history)

    # ---- reading -----------------------------------------------------------------

    @property
    def revision(self) -> int:
        """A number that grows with every change of the store."""
        return self._revision

    def get_state(self, namespace: str, key: str, default: Any = None) -> Any:
        """Return a copy of the value, or ``default`` when the key is not set."""
        check_name(namespace, key)
        value = self._data.get(namespace, {}).get(key, _MISSING)
        return default if value is _MISSING else copy_value(value)

    def namespaces(self) -> list[str]:
        """Namespaces that hold at least one key."""
        with self._lock:
            return list(self._data)

    def keys(self, namespace: str) -> list[str]:
        """Keys set in ``namespace`` (empty when there are none)."""
        check_name(namespace, "-")
        with self._lock:
            return list(self._data.get(namespace, ()))

    def snapshot(self, namespaces: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        """A plain nested-dict copy of the state (of ``namespaces`` only, if given)."""
        return self.snapshot_at(namespaces)[0]

    def snapshot_at(self, namespaces: Iterable[str] | None = None) -> tuple[dict[str, dict[str, Any]], int]:
        """A snapshot and the revision it shows, taken atomically (for views)."""
        wanted = None if namespaces is None else frozenset(namespaces)
        with self._lock:
            state = {
                ns: {k: copy_value(v) for k, v in keys.items()}
                for ns, keys in self._data.items()
                if wanted is None or ns in wanted
            }
            return state, self._revision

    def __contains__(self, item: tuple[str, str]) -> bool:
        namespace, key = item
        return key in self._data.get(namespace, ())

    def __repr__(self) -> str:
        counts = {ns: len(keys) for ns, keys in self._data.items()}
        return f"<StateStore revision={self._revision} keys={counts}>"

    # ---- writing -----------------------------------------------------------------

    def set_state(self, namespace: str, key: str, value: Any, *, origin: str = PYTHON) -> None:
        """Store a copy of ``value`` and notify subscribers of ``namespace``."""
        if type(namespace) is not str or type(key) is not str or not namespace or not key:
            check_name(namespace, key)  # the names' lengths are checked below, only for names new to the store
        kind = type(value)
        if kind is int:
            if not _MIN_INT <= value <= MAX_SAFE_INTEGER:
                value = clean_value(namespace, key, value)  # raises, naming the key
        elif kind not in _PLAIN:
            value = clean_value(namespace, key, value)
        lock = self._lock
        lock.acquire()  # acquire/release: a third of the cost of `with` on CPython 3.11
        try:
            keys = self._data.get(namespace)
            if keys is None:
                if len(namespace) > MAX_NAME or len(key) > MAX_NAME:
                    check_name(namespace, key)  # raises: nothing has changed
                keys = self._data[namespace] = {}
                old = _ABSENT
            else:
                old = keys.get(key, _ABSENT)
                if old is _ABSENT and len(key) > MAX_NAME:
                    check_name(namespace, key)  # raises: nothing has changed
            self._revision = revision = self._revision + 1
            change = (namespace, key, value, False, origin, revision)
            record = self._record
            if record is not None:  # history keeps the value this replaces, for state_at (see _history)
                record((change, _now(), old))
            keys[key] = value
            if self._delivering or self._batch_depth:
                self._queue.append(change)
                return
            route = self._routes.get(namespace) or self._route(namespace)
            subscribers, fast = route
            if subscribers:  # _deliver(), inlined: this is the hot path
                self._delivering = True
                try:
                    if fast is not None and kind is not dict and kind is not list:
                        updates, views = fast  # spec handlers and views only, and nothing to copy
                        for update in updates:
                            try:
                                update(namespace, key, value)
                            except Exception:
                                _report(update, namespace, key)
                        for view in views:  # they only read the plain tuple: nothing to make
                            try:
                                view(change, True)
                            except Exception:
                                log.exception("state view %r raised; the other subscribers still run", view)
                    else:
                        self._dispatch(change, subscribers)
                    if self._queue:
                        self._drain()
                finally:
                    self._delivering = False
        finally:
            lock.release()

    def remove_state(self, namespace: str, key: str, *, origin: str = PYTHON) -> bool:
        """Remove a key; subscribers hear a change with ``removed=True``.

        Returns whether the key existed (removing a missing key notifies nobody).
        """
        check_name(namespace, key)
        with self._lock:
            keys = self._data.get(namespace)
            if keys is None or key not in keys:
                return False
            old = keys.pop(key)
            if not keys:
                del self._data[namespace]
            self._revision = revision = self._revision + 1
            change = (namespace, key, None, True, origin, revision)
            if self._record is not None:
                self._record((change, _now(), old))
            if self._delivering or self._batch_depth:
                self._queue.append(change)
            else:
                self._deliver(change, self._route(namespace)[0])
            return True

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group changes: subscribers hear them after the block, in order.

        Batches nest; only the outermost one delivers. Writes made by other
        threads meanwhile are held too, so the store keeps one order.
        """
        with self._lock:
            self._batch_depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._batch_depth -= 1
                if not self._batch_depth and not self._delivering and self._queue:
                    self._deliver(None, ())

    # ---- extending (docs/extending.md) ---------------------------------------------
    # What features built on the store use instead of its private parts. Public but
    # not in __all__: for extension authors, not for notebooks.

    @property
    def write_lock(self) -> threading.RLock:
        """The lock every write takes (re-entrant): ``with store.write_lock:`` nothing is written meanwhile.

        Hold it to read state and subscribe (or read ``kept_records`` and
        ``revision``) as one step. Writes from the same thread still go in (and
        are delivered after the current delivery); other threads' writes wait.
        Never wait for another thread that writes to this store while holding it.
        """
        return self._lock

    def subscribe_view(
        self, callback: Callable[[RawChange, bool], Any], namespaces: Iterable[str] | None = None
    ) -> Subscription:
        """For views (``StoreLink``): ``callback(change, last)`` with the store's own plain tuple, per change.

        The cheapest delivery there is (no ``Change`` and no list made per write,
        and set_state keeps its fast path): a view only reads the fields (by
        index). The value is the store's own, not a copy: a view must never change
        it. ``last`` is false inside a run of changes (a ``batch()`` block) but for
        its final one, so the run can leave for the views in one message.
        """
        return self._add(_Subscriber(_VIEW, callback, _namespace_set(namespaces)))

    def kept_records(self) -> list[Record]:
        """The kept history as the store keeps it, oldest first: ``(change tuple, time, old)`` (see ``_history``).

        Not copies (that is :meth:`history`): read them, never change them.
        Take :attr:`write_lock` around this and ``revision`` to see both at once.
        """
        with self._lock:
            return list(self._history)

    def apply_ordered(self, changes: Iterable[RawChange], revision: int) -> None:
        """Apply changes ordered elsewhere (a shared store's log), each with its own origin and revision.

        Values must be clean already; ``revision`` is the store's revision
        afterwards. Subscribers hear the changes as one run, in order.
        """
        with self._lock:
            data, record, queue = self._data, self._record, self._queue
            for change in changes:
                namespace, key, value, removed, _, _ = change
                keys = data.get(namespace)
                if keys is None:
                    keys = data[namespace] = {}
                if removed:
                    old = keys.pop(key, _ABSENT)
                    if not keys:
                        del data[namespace]
                else:
                    old = keys.get(key, _ABSENT)
                    keys[key] = value
                if record is not None:
                    record((change, _now(), old))
                queue.append(change)
            self._revision = revision
            if queue and not self._delivering and not self._batch_depth:
                self._deliver(None, ())

    # ---- history -----------------------------------------------------------------

    def history(self, namespaces: Iterable[str] | None = None) -> list[HistoryEntry]:
        """The kept changes (of ``namespaces`` only, if given), oldest first, as :class:`HistoryEntry`.

        ``StateStore(history=N)`` keeps the last N changes (default 1000, 0 none).
        The entries hold copies: changing them never changes what is kept.
        """

        wanted = _namespace_set(namespaces)
        with self._lock:
            kept = list(self._history)
        return entries(kept, wanted)

    def state_at(self, revision: int, namespaces: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        """The state as it was right after ``revision`` (a snapshot), rebuilt from the kept history.

        Raises ``ValueError`` naming the revisions that can be shown when
        ``revision`` is older than the history reaches (or newer than the store).
        """

        wanted = _namespace_set(namespaces)
        with self._lock:
            return state_at(self._data, self._history, self._revision, revision, self._history_size, wanted)

    def restore(self, revision: int, namespaces: Iterable[str] | None = None) -> int:
        """Write the state of ``revision`` back, as one batch of ordinary changes with origin ``"restore"``.

        Only keys that differ are written (keys that did not exist then are
        removed), so handlers and every view follow. Returns how many changes
        that made; the restore itself is history too, and can be undone. A
        handler that writes in reply to a restored key adds its own changes after.
        """

        wanted = _namespace_set(namespaces)
        with self._lock:
            then = self.state_at(revision, namespaces=wanted)
            now = {ns: keys for ns, keys in self._data.items() if wanted is None or ns in wanted}
            changes = differences(now, then)
            with self.batch():
                for namespace, key, value, removed in changes:
                    if removed:
                        self.remove_state(namespace, key, origin=RESTORE)
                    else:
                        self.set_state(namespace, key, value, origin=RESTORE)
            return len(changes)

    # ---- showing (``_table``) ---------------------------------------------------------

    def _repr_html_(self) -> str:
        """A notebook shows a store as a table: namespace, key, value (JSON), origin and revision of its last write."""
        with self._lock:
            return html_table(self._data, self._history, self._revision)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """IPython's text view: one ``namespace.key = value`` line per key."""
        with self._lock:
            text = text_table(self._data, self._history, self._revision)
        printer.text(text)

    # ---- linking traits ----------------------------------------------------------

    def link(self, namespace: str, key: str, target: tuple[Any, str]) -> TraitLink:
        """Link ``namespace.key`` and a trait of a ``traitlets.HasTraits`` (an ipywidget) both ways.

        ``target`` is ``(obj, "trait_name")``. The store's value wins when the
        key is set, else the trait's value is written. Call the result to
        unlink. See ``pytonium_lab._traitlink`` for threads and refusals.
        """
        from ._traitlink import TraitLink

        return TraitLink(self, namespace, key, target)

    # ---- persistence -------------------------------------------------------------

    def persist(self, path: str | os.PathLike[str], namespaces: Iterable[str] | None = None) -> Persistence:
        """Load the state file at ``path`` now, then keep it current (``pytonium_lab._persist``).

        Returns a handle with ``flush()`` and ``close()``; ``namespaces`` limits
        what is loaded and saved.
        """
        from ._persist import persist

        return persist(self, path, namespaces)

    # ---- inspecting --------------------------------------------------------------

    def inspector(self, namespaces: Iterable[str] | None = None, *, height: int | str = 520) -> Inspector:
        """A widget to see, edit and rewind this store: live table, recent changes, time slider.

        ``namespaces`` limits what it shows (``None``: all); ``open_window()`` shows
        it in a desktop window. See ``pytonium_lab._inspector``.
        """
        from ._inspector import Inspector

        return Inspector(self, namespaces, height=height)

    # ---- subscribing -------------------------------------------------------------

    def subscribe(self, callback: Callable[[Change], Any], namespaces: Iterable[str] | None = None) -> Subscription:
        """Call ``callback(change)`` for every later change; calling the result unsubscribes."""
        return self._add(_Subscriber(_CALLBACK, callback, _namespace_set(namespaces)))

    def subscribe_batches(
        self, callback: Callable[[list[Change]], Any], namespaces: Iterable[str] | None = None
    ) -> Subscription:
        """Like :meth:`subscribe`, but each run of queued changes comes as one list (for views)."""
        return self._add(_Subscriber(_BATCHED, callback, _namespace_set(namespaces)))

    def add_state_handler(self, state_handler: Any, namespaces: Iterable[str]) -> Subscription | None:
        """Register a spec handler: ``state_handler.update_state(namespace, key, value)``.

        A handler may also define ``remove_state(namespace, key)``. A handler
        without ``update_state`` is ignored with a ``UserWarning``, as in Pytonium.
        Returns the :class:`Subscription` (call it to remove the handler), or
        ``None`` when the handler is ignored.
        """
        update = getattr(state_handler, "update_state", None)
        if not callable(update):
            warnings.warn(
                f"{type(state_handler).__name__} has no update_state(namespace, key, value) "
                "method; the state handler is ignored",
                UserWarning,
                stacklevel=2,
            )
            return None
        remove = getattr(state_handler, "remove_state", None)
        wanted = _namespace_set(namespaces)
        return self._add(_Subscriber(_HANDLER, update, wanted, remove if callable(remove) else None))

    def _add(self, sub: _Subscriber) -> Subscription:
        if not callable(sub.call):
            raise TypeError(f"callback must be callable, got {type(sub.call).__name__}")
        with self._lock:
            self._subscribers = (*self._subscribers, sub)
            self._routes = {}
        return Subscription(self, sub)

    def _remove(self, sub: _Subscriber) -> None:
        with self._lock:
            sub.active = False
            self._subscribers = tuple(s for s in self._subscribers if s is not sub)
            self._routes = {}

    def _route(self, namespace: str) -> _Route:
        """The subscribers of one namespace, computed once per subscription change.

        With no ``subscribe`` callbacks among them (the usual case: spec handlers
        and views), the route also holds the handlers' and views' bare callables,
        for set_state's fast path.
        """
        route = self._routes.get(namespace)
        if route is None:
            with self._lock:
                subs = tuple(s for s in self._subscribers if s.namespaces is None or namespace in s.namespaces)
                fast = None
                if all(s.kind in (_HANDLER, _VIEW) for s in subs):
                    fast = (
                        tuple(s.call for s in subs if s.kind == _HANDLER),
                        tuple(s.call for s in subs if s.kind == _VIEW),
                    )
                route = self._routes[namespace] = (subs, fast)
        return route

    # ---- delivery ----------------------------------------------------------------

    def _deliver(self, first: RawChange | None, subscribers: tuple[_Subscriber, ...]) -> None:
        """Deliver ``first``, then whatever handlers wrote meanwhile, in order.

        Runs with the lock held, so one thread delivers at a time and every
        subscriber hears the store's one order. A write from inside a handler
        (same thread: the lock is re-entrant) sees ``_delivering`` and is queued.
        """
        self._delivering = True
        try:
            if first is not None:
                self._dispatch(first, subscribers)
            self._drain()
        finally:
            self._delivering = False

    def _drain(self) -> None:
        queue = self._queue
        while queue:
            changes = list(queue)
            queue.clear()
            self._dispatch_many(changes)

    def _dispatch(self, change: RawChange, subscribers: tuple[_Subscriber, ...], views: bool = True) -> None:
        namespace, key, value, removed, _, _ = change
        shared = type(value) is dict or type(value) is list
        for sub in subscribers:
            kind = sub.kind
            if not sub.active or (kind >= _BATCHED and not views):
                continue
            try:
                if not kind:  # _HANDLER is 0: the common case costs no global lookup
                    if not removed:
                        sub.call(namespace, key, copy_value(value) if shared else value)  # a copy of its own
                    elif sub.remove is not None:
                        sub.remove(namespace, key)
                elif kind == _CALLBACK:
                    sub.call(_make_change(change, copy_value(value) if shared else value))
                elif kind == _VIEW:
                    sub.call(change, True)
                else:
                    sub.call([_make_change(change, value)])
            except Exception:
                _report(sub.call, namespace, key)

    def _dispatch_many(self, changes: list[RawChange]) -> None:
        """Views hear a run of changes first (``subscribe_batches`` as one list), then everyone else."""
        for sub in self._subscribers:
            if sub.kind < _BATCHED:
                continue
            wanted = sub.namespaces
            mine = [c for c in changes if wanted is None or c[0] in wanted]
            if not mine or not sub.active:
                continue
            try:
                if sub.kind == _VIEW:
                    last = mine[-1]
                    for change in mine:  # a run (a batch() block) leaves for the views as one
                        sub.call(change, change is last)
                else:
                    sub.call([_make_change(c, c[2]) for c in mine])
            except Exception:
                log.exception("state view %r raised; the other subscribers still run", sub.call)
        for change in changes:
            self._dispatch(change, self._route(change[0])[0], views=False)


def _report(subscriber: Callable[..., Any], namespace: str, key: str) -> None:
    # Called from the except blocks of set_state and _dispatch only.
    log.exception(  # noqa: LOG004
        "state subscriber %r raised on %s.%s; the other subscribers still run", subscriber, namespace, key
    )


def _namespace_set(namespaces: Iterable[str] | None) -> frozenset[str] | None:
    names = check_namespaces(namespaces)
    return None if names is None else frozenset(names)
