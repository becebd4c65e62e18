"""``store.inspector()``: a page of our own that shows, edits and rewinds a store.

The inspector is an ordinary :class:`StateWidget` (one link, one protocol, like
every view) showing ``pages/inspector.html``. The page reads the live state
from its own mirror. What a mirror cannot know (the history from before the
page opened, ``state_at``, ``restore``) it asks for over state, in a private
namespace ``pytonium.inspector.<id>`` (docs/protocol.md, "The inspector"):

- the page writes ``request`` = ``{"id", "view", "op", ...}`` (``op``:
  ``"history"``, ``"state_at"``, ``"restore"``),
- :class:`InspectorService`, a state handler on that namespace, answers in
  ``answer.<view id>`` (a key per view, so two views' answers never share a
  batch slot), on the thread that applies page writes (the kernel's main
  thread in a notebook),
- it keeps ``namespaces``, the list of namespaces to show, current, so a page
  inspecting every namespace registers for each new one.

Every inspector's private namespace is hidden from every inspector (unless
named explicitly) and never restored.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ._change import RawChange
from ._history import ABSENT, check_revision, kept_range
from ._store import StateStore, Subscription
from ._table import short_json
from ._values import check_namespaces
from .notebook import StateWidget
from .notebook._assets import inline_assets

__all__ = ["PREFIX", "Inspector", "InspectorService", "inspector_page"]

log = logging.getLogger("pytonium_lab")

PREFIX = "pytonium.inspector."
"""Private namespaces of inspectors start with this."""

MAX_CHANGES = 50
"""Recent changes sent per history answer (the newest)."""

MAX_TEXT = 120
"""Characters of an old/new value's JSON sent per change (cut with an ellipsis)."""

MAX_VIEWS = 8
"""Answer keys kept in the private namespace: the least recently answered views' keys are removed."""

PAGES = Path(__file__).parent / "pages"
"""Where the inspector's page, script and stylesheet are (shipped in the wheel)."""

_CONFIG_MARK = "__PYTONIUM_INSPECTOR_CONFIG__"


def _short(value: Any) -> str:
    return short_json(value, MAX_TEXT, (",", ":"))


def inspector_page(private: str, namespaces: list[str] | None) -> str:
    """The inspector's HTML: ``pages/inspector.html`` with its CSS/JS inlined and its config filled in.

    The config is JSON in a ``type="application/json"`` script (data, never run),
    with ``<`` escaped so no name can end the element.
    """
    html = (PAGES / "inspector.html").read_text(encoding="utf-8")
    html = inline_assets(html, PAGES, page="pytonium_lab/pages/inspector.html")
    config = json.dumps({"ns": private, "namespaces": namespaces}).replace("<", "\\u003c")
    return html.replace(_CONFIG_MARK, config, 1)


class InspectorService:
    """Answers one inspector's requests and keeps its list of namespaces (see the module docs).

    ``namespaces`` is what the inspector shows (``None``: every namespace but the
    inspectors' private ones). :meth:`close` stops it and removes its keys.
    """

    def __init__(self, store: StateStore, private: str, namespaces: list[str] | None) -> None:
        self.store = store
        self.private = private
        self.namespaces = namespaces
        self._answered: OrderedDict[str, None] = OrderedDict()  # answer keys, least recently written first
        with store.write_lock:  # the list and the subscription see the same state
            if namespaces is None:
                self._known = {ns for ns in store.namespaces() if self.visible(ns)}
            else:
                self._known = set(namespaces)
            store.set_state(private, "namespaces", sorted(self._known))
            self._handler: Subscription | None = store.add_state_handler(self, [private])
            # A view's subscription: it keeps set_state's fast path (a batch subscriber would not).
            self._watch: Subscription | None = store.subscribe_view(self._seen) if namespaces is None else None

    def visible(self, namespace: str) -> bool:
        """Whether the inspector shows ``namespace``."""
        if self.namespaces is not None:
            return namespace in self.namespaces
        return not namespace.startswith(PREFIX)

    def _seen(self, change: RawChange, last: bool) -> None:
        namespace = change[0]
        if not change[3] and namespace not in self._known and self.visible(namespace):
            self._known.add(namespace)
            self.store.set_state(self.private, "namespaces", sorted(self._known))  # queued: we are delivering

    # ---- requests --------------------------------------------------------------------

    def update_state(self, namespace: str, key: str, value: Any) -> None:
        """The store's handler call: a ``request`` written by a page gets its answer."""
        if namespace != self.private or key != "request":
            return
        view = value.get("view") if type(value) is dict else None
        if type(view) is not str or not view or len(view) > 64:
            log.warning("inspector %s: a request without a view id is ignored: %.200r", self.private, value)
            return
        answer = self.answer(value)
        slot = "answer." + view
        self._answered.pop(slot, None)
        self._answered[slot] = None
        self.store.set_state(self.private, slot, answer)
        while len(self._answered) > MAX_VIEWS:
            old, _ = self._answered.popitem(last=False)
            self.store.remove_state(self.private, old)

    def answer(self, request: Any) -> dict[str, Any]:
        """The answer to one request: ``{"id", "op", "ok": True, ...}`` or ``{"id", "ok": False, "error"}``."""
        ident = request.get("id") if type(request) is dict else None
        if type(ident) not in (int, str):
            ident = None
        try:
            if type(request) is not dict:
                raise TypeError(f"a request must be an object, got {type(request).__name__}")
            op = request.get("op")
            if op == "history":
                body = self.history()
            elif op == "state_at":
                revision = check_revision(request.get("revision"))
                body = {"revision": revision, "state": self.state_at(revision)}
            elif op == "restore":
                revision = check_revision(request.get("revision"))
                body = {"revision": revision, "changes": self.restore(revision)}
            else:
                raise ValueError(f"unknown op {op!r} (history, state_at, restore)")
        except (TypeError, ValueError) as exc:
            return {"id": ident, "ok": False, "error": str(exc)}
        return {"id": ident, "op": op, "ok": True, **body}

    def history(self) -> dict[str, Any]:
        """The kept revisions the slider can show, and the newest changes (values as short JSON text).

        ``revisions`` is ``[[revision, time], ...]``, oldest first: the oldest state
        that can be rebuilt (time ``None``), then each kept change of a shown
        namespace. ``current`` is the store's revision.
        """
        store = self.store
        with store.write_lock:  # the kept records as they are: only read here, so no copies
            kept = store.kept_records()
            current = store.revision
        oldest = kept_range(kept, current)
        shown = [record for record in kept if record[0][5] > oldest and self.visible(record[0][0])]
        revisions: list[list[Any]] = [[oldest, None]]
        revisions.extend([change[5], when] for change, when, _ in shown)
        changes = [
            {
                "rev": change[5],
                "time": when,
                "ns": change[0],
                "key": change[1],
                "origin": change[4],
                "removed": change[3],
                "existed": old is not ABSENT,
                "old": None if old is ABSENT else _short(old),
                "new": None if change[3] else _short(change[2]),
            }
            for change, when, old in shown[-MAX_CHANGES:]
        ]
        changes.reverse()  # newest first
        return {"current": current, "revisions": revisions, "changes": changes}

    def state_at(self, revision: int) -> dict[str, dict[str, Any]]:
        """The shown namespaces as they were right after ``revision``."""
        state = self.store.state_at(revision, namespaces=self.namespaces)
        return {ns: keys for ns, keys in state.items() if self.visible(ns)}

    def restore(self, revision: int) -> int:
        """Write the shown namespaces of ``revision`` back (``StateStore.restore``); how many changes."""
        store = self.store
        with store.write_lock:
            names = self.namespaces
            if names is None:
                then = store.state_at(revision)
                names = sorted({ns for ns in (*store.namespaces(), *then) if self.visible(ns)})
            return store.restore(revision, namespaces=names)

    def close(self) -> None:
        """Stop answering and following the store; remove the private namespace's keys (idempotent)."""
        for sub in (self._handler, self._watch):
            if sub is not None:
                sub()
        self._handler = self._watch = None
        for key in self.store.keys(self.private):
            self.store.remove_state(self.private, key)


class Inspector(StateWidget):
    """``store.inspector(namespaces=None)``: the store as a live table, its recent changes, and a time slider.

    Edit a value as JSON in place, remove a key, move the slider to see the state
    at an older kept revision and restore it. A :class:`StateWidget` showing the
    project's own page (``pages/inspector.html``); ``open_window()`` shows the
    same page in a desktop window on the same store. ``close()`` ends it: its
    requests are answered until then.
    """

    def __init__(
        self,
        store: StateStore,
        namespaces: Iterable[str] | None = None,
        *,
        height: int | str = 520,
        **kwargs: Any,
    ) -> None:
        if not isinstance(store, StateStore):
            raise TypeError(f"store must be a StateStore, got {type(store).__name__}")
        if namespaces is not None and not isinstance(namespaces, Iterable):
            raise TypeError(f"namespaces must be None or a list of namespace names, got {type(namespaces).__name__}")
        names = check_namespaces(namespaces)
        if names is not None:
            if not names:
                raise ValueError("namespaces must name at least one namespace (None: every namespace)")
            names = list(dict.fromkeys(names))
        private = PREFIX + secrets.token_hex(8)
        page = inspector_page(private, names)
        view = None if names is None else [*names, private]
        super().__init__(store, page, height=height, namespaces=view, watch=False, **kwargs)
        self.private = private
        self.inspected = names
        self.service = InspectorService(store, private, names)

    def _stop(self) -> None:
        super()._stop()
        service = getattr(self, "service", None)
        if service is not None:
            service.close()

    def __repr__(self) -> str:
        return f"<Inspector namespaces={self.inspected!r} private={self.private!r} store={self.store!r}>"
