"""``store.link(namespace, key, (obj, "name"))``: a store key and a traitlets trait, kept equal both ways.

Any ``traitlets.HasTraits`` works, ipywidgets controls included, so a slider
in a cell and a page's slider on the same key move together.

- At link time the store's value wins when the key is set (it is the source
  of truth every view already shows); else the trait's value is written.
- Trait -> store: an observer writes each new trait value with origin
  ``trait:<Class>.<name>``. A value the store refuses (a set, NaN, ...) raises
  the store's own error out of the trait assignment (the observer path) and
  leaves the store unchanged; the trait keeps the refused value.
- Store -> trait: a state handler sets the trait. It runs on the thread that
  wrote the store (as every handler does), so the trait is set from there; for
  ipywidgets that is fine, the kernel sends the update from any thread. A value
  the trait refuses (a str for an ``Int``) is logged, naming both sides, and
  the trait keeps its value; a value the trait coerces (an ``IntSlider``
  clamps to ``max``) is written back, so both sides agree. Removing the key
  leaves the trait as it is (a trait cannot be unset).
- No echo: the trait assignment made for a store change is not written back
  (only its coerced result, when it differs), and a store change equal to the
  trait's value does not touch the trait.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from ._history import same
from ._values import check_name

if TYPE_CHECKING:
    from ._store import StateStore, Subscription

__all__ = ["TraitLink"]

log = logging.getLogger("pytonium_lab")


class TraitLink:
    """What ``StateStore.link`` returns: calling it (or :meth:`unlink`) ends the link; again does nothing."""

    __slots__ = ("_applying", "_key", "_name", "_namespace", "_obj", "_origin", "_store", "_subscription")

    def __init__(self, store: StateStore, namespace: str, key: str, target: tuple[Any, str]) -> None:
        import traitlets

        check_name(namespace, key)
        if not isinstance(target, tuple) or len(target) != 2:
            raise TypeError(
                f"link target for {namespace}.{key} must be a tuple (obj, 'trait_name'), got {type(target).__name__}"
            )
        obj, name = target
        if not isinstance(obj, traitlets.HasTraits):
            raise TypeError(
                f"link target for {namespace}.{key} must be a traitlets.HasTraits (an ipywidget, say), "
                f"got {type(obj).__name__}"
            )
        if type(name) is not str or not obj.has_trait(name):
            names = sorted(n for n in obj.trait_names() if not n.startswith("_"))
            shown = ", ".join(names[:15]) + (", ..." if len(names) > 15 else "")
            raise ValueError(
                f"{type(obj).__name__} has no trait {name!r} to link to {namespace}.{key} (traits: {shown})"
            )
        self._store = store
        self._namespace = namespace
        self._key = key
        self._obj = obj
        self._name = name
        self._origin = f"trait:{type(obj).__name__}.{name}"
        self._applying: int | None = None  # the thread setting the trait for a store change
        self._subscription: Subscription | None = None
        with store.write_lock:  # nothing is written between the first sync and the subscription
            if (namespace, key) in store:
                value = store.get_state(namespace, key)
                try:
                    setattr(obj, name, value)
                except traitlets.TraitError as err:
                    raise ValueError(
                        f"{namespace}.{key} = {value!r} does not fit {type(obj).__name__}.{name}: {err}"
                    ) from err
                coerced = getattr(obj, name)
                if not same(coerced, value):
                    store.set_state(namespace, key, coerced, origin=self._origin)
            else:
                store.set_state(namespace, key, getattr(obj, name), origin=self._origin)  # refusals raise here
            obj.observe(self._on_trait, names=name)
            self._subscription = store.add_state_handler(_StoreSide(self), [namespace])

    @property
    def active(self) -> bool:
        """Whether the key and the trait still follow each other."""
        return self._subscription is not None

    def unlink(self) -> None:
        """Stop following, both ways (idempotent)."""
        with self._store.write_lock:
            subscription, self._subscription = self._subscription, None
            if subscription is None:
                return
            subscription()
            self._obj.unobserve(self._on_trait, names=self._name)

    __call__ = unlink

    def __repr__(self) -> str:
        state = "active" if self.active else "inactive"
        return f"<TraitLink {self._namespace}.{self._key} <-> {type(self._obj).__name__}.{self._name} ({state})>"

    def _on_trait(self, change: dict[str, Any]) -> None:
        if self._applying == threading.get_ident():
            return  # our own assignment of a store value: the store has it already
        self._store.set_state(self._namespace, self._key, change["new"], origin=self._origin)

    def _on_store(self, value: Any) -> None:
        import traitlets

        obj, name = self._obj, self._name
        if self._subscription is None or same(getattr(obj, name), value):
            return
        self._applying = threading.get_ident()
        try:
            setattr(obj, name, value)
        except traitlets.TraitError as err:
            log.warning(
                "%s.%s = %r does not fit %s.%s (%s); the trait keeps %r",
                self._namespace,
                self._key,
                value,
                type(obj).__name__,
                name,
                err,
                getattr(obj, name),
            )
            return
        finally:
            self._applying = None
        coerced = getattr(obj, name)
        if not same(coerced, value):  # the trait clamped or cast it: let the store agree
            self._store.set_state(self._namespace, self._key, coerced, origin=self._origin)


class _StoreSide:
    """The link's spec handler: a handler (not a ``subscribe`` callback) keeps set_state's fast path."""

    __slots__ = ("_link",)

    def __init__(self, link: TraitLink) -> None:
        self._link = link

    def update_state(self, namespace: str, key: str, value: Any) -> None:
        if key == self._link._key:
            self._link._on_store(value)
