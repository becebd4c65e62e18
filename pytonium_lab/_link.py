"""StoreLink: connects one transport (a widget comm, a websocket) to a store.

It is the Python half of docs/protocol.md: it turns store changes into
numbered, coalesced batches for the views, answers ``hello`` with a snapshot,
and applies the views' writes to the store under the view's id. A transport
only has to hand it incoming dicts (:meth:`receive`) and give it a ``send``.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from . import _protocol as proto
from ._calls import LinkCalls, registry_of
from ._change import RawChange
from ._store import StateStore
from ._throttle import RateLimit, Soon, Throttle
from ._values import check_namespaces

__all__ = ["StoreLink"]

_T = TypeVar("_T")

log = logging.getLogger("pytonium_lab")


class StoreLink:
    """One channel between a store and the views behind one transport.

    ``interval`` bounds how often batches leave (a notebook comm wants ~1/60 s);
    the first change after a quiet spell is sent at once. A transport with an
    event loop passes ``schedule`` (e.g. ``loop.add_callback``) instead: a
    batch then leaves on the next loop turn, joining whatever came meanwhile.
    """

    def __init__(
        self,
        store: StateStore,
        send: Callable[[proto.StoreMessage], Any],
        *,
        namespaces: Iterable[str] | None = None,
        interval: float = 1 / 60,
        schedule: Callable[[Callable[[], None]], object] | None = None,
    ) -> None:
        self.store = store
        names = check_namespaces(namespaces)
        self.namespaces = None if names is None else frozenset(names)
        self._send = send
        self._lock = threading.RLock()
        self._pending: dict[tuple[str, str], RawChange] = {}
        self._seq = 0
        self._sent_revision = 0
        self._acks: dict[str, int] = {}  # view -> id of its last write, since the last batch
        self._last_acks: dict[str, int] = {}  # the same, for the link's whole life
        self._in_flight: deque[tuple[str, int]] = deque()  # view writes handed to the store
        self._chunks = proto.ChunkAssembler()
        self._log_limit = RateLimit(burst=20, per_second=10)
        self._closed = False
        self._throttle = Throttle(self.flush, interval) if schedule is None else Soon(self.flush, schedule)
        self._unsubscribe = store.subscribe_view(self._on_change, self.namespaces)
        # Calls (docs/protocol.md, "Calls"): the store's bound functions, answered to the calling view.
        self.calls = LinkCalls(registry_of(store), self._deliver)
        self._unfollow = self.calls.registry.follow(lambda: self._deliver(self.calls.functions_message()))

    # ---- store -> views ------------------------------------------------------------

    def _on_change(self, change: RawChange, last: bool = True) -> None:
        # The hot path of a cell that writes in a loop: the store's plain tuple, acquire/release.
        lock = self._lock
        lock.acquire()
        try:
            pending = self._pending
            where = (change[0], change[1])
            if where in pending:
                del pending[where]  # latest wins, in the order of the last writes
            pending[where] = change
            # Writes of this link's views reach the store in order, one change each.
            in_flight = self._in_flight
            if in_flight and change[4] == in_flight[0][0]:
                view, write_id = in_flight.popleft()
                self._acks[view] = self._last_acks[view] = write_id
        finally:
            lock.release()
        if last and not self._throttle.armed:  # a flush due anyway takes what we just added
            self._throttle()

    def flush(self) -> None:
        """Send the pending changes and acks now as one batch (no-op when there are none)."""
        with self._lock:
            if not (self._pending or self._acks) or self._closed:
                return
            self._seq += 1
            changes = self._pending.values()
            if changes:
                self._sent_revision = max(c[5] for c in changes)
            message = proto.batch_message(self._seq, changes, self._acks)
            self._pending, self._acks = {}, {}
            self._deliver(message)

    def _send_snapshot(self, to: str | None) -> None:
        self._snapshot(to, self._deliver)

    def initial_snapshot(self) -> proto.Snapshot:
        """A snapshot for no view in particular, consistent with the batches to come.

        A notebook widget ships it in its model state, so a view can start
        while the kernel is busy running a cell (it cannot answer ``hello`` then).
        """
        return self._snapshot(None, lambda message: message)

    def _snapshot(self, to: str | None, then: Callable[[proto.Snapshot], _T]) -> _T:
        # Take the store's lock before ours, never inside it: the store holds its
        # lock while it hands us changes (_on_change), so the other order deadlocks.
        while True:
            state, revision = self.store.snapshot_at(self.namespaces)
            with self._lock:
                if self._sent_revision > revision:
                    continue  # a newer batch left meanwhile: this snapshot would undo it
                # Pending changes stay pending: the other views behind this link still need
                # them. The view the snapshot is for skips those it includes (rev <= revision).
                ack = self._last_acks.get(to, 0) if to else 0
                return then(proto.snapshot_message(to, self._seq, revision, self.namespaces, state, ack))

    def _deliver(self, message: proto.StoreMessage) -> None:
        try:
            self._send(message)
        except Exception:
            log.exception("sending a %r message to a view failed", proto.kind_of(message))

    # ---- views -> store ------------------------------------------------------------

    def receive(self, message: Any) -> None:
        """Handle one message from a view. Bad messages are logged, never raised."""
        try:
            if type(message) is not dict:
                raise proto.ProtocolError(f"message must be an object, got {type(message).__name__}")
            kind, message = proto.parse_view_message(message)
            if kind == "chunk":
                whole = self._chunks.add(message)
                if whole is not None:
                    self.receive(whole)
            elif kind == "hello":
                if self.calls.registry.version:  # first: the page knows them when it is ready
                    self._deliver(self.calls.functions_message())
                self._send_snapshot(message["view"])
            elif kind in ("call", "calls"):
                with self.calls.holding():  # answers ready now leave together, before this returns
                    for call in message["calls"] if kind == "calls" else [message]:
                        self.calls.call(call)
            elif kind == "cancel":
                self.calls.cancel(message)
            elif kind == "log":
                self._page_log(message)
            else:
                self._write(kind, message)
        except proto.ProtocolError as exc:
            log.warning("ignored a message from a view: %s", exc)

    def _page_log(self, message: dict[str, Any]) -> None:
        """Log a page's error or warning, so it is seen outside the page (at most ~10 a second)."""
        if not self._log_limit.take():
            return
        dropped = message.get("dropped")
        lost = self._log_limit.take_dropped() + (dropped if type(dropped) is int and dropped > 0 else 0)
        source = message.get("source")
        where = f" ({source})" if type(source) is str and source else ""
        more = f" [{lost} more dropped]" if lost else ""
        level = logging.ERROR if message["level"] == "error" else logging.WARNING
        log.log(level, "page %s: %s%s%s", message["view"], message["message"][:4000], where, more)

    def _write(self, kind: str, message: dict[str, Any]) -> None:
        """Apply a view's write. Acks tell the view which of its writes the batches
        include, so it can ignore older changes to keys it wrote since (a dragged
        slider never jumps back). An accepted write is acked by its own change, in
        the same batch (see _on_change); a refused or empty one at once."""
        view: str = message["view"]  # checked by parse_view_message
        # Not checked yet: the store checks names itself and says what is wrong with them.
        namespace: Any = message.get("ns")
        key: Any = message.get("key")
        given_id = message.get("id")
        write_id = given_id if type(given_id) is int else 0
        entry = (view, write_id)
        with self._lock:
            self._in_flight.append(entry)
        changed = False
        try:
            if self.namespaces is not None and namespace not in self.namespaces:
                raise ValueError(f"{namespace}.{key}: this view may only write to {sorted(self.namespaces)}")
            if kind == "set":
                self.store.set_state(namespace, key, message["value"], origin=view)
                changed = True
            else:
                changed = self.store.remove_state(namespace, key, origin=view)
        except (TypeError, ValueError) as exc:
            log.warning("refused a write from %s: %s", view, exc)
            self._deliver(proto.error_message(view, namespace, key, message.get("id"), str(exc)))
        if not changed:
            with self._lock:
                self._in_flight.remove(entry)
                self._acks[view] = self._last_acks[view] = write_id
            self._throttle()

    # ---- lifetime ------------------------------------------------------------------

    def close(self) -> None:
        """Stop listening to the store (idempotent)."""
        with self._lock:
            self._closed = True
            self._pending = {}
        self._unsubscribe()
        self._unfollow()
        self.calls.close()
