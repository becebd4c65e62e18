"""``Change``: one change of the store, the record every subscriber and view receives.

Its own module so the store, its history and the view protocol all use it
without importing one another.
"""

from __future__ import annotations

from typing import Any, NamedTuple

__all__ = ["Change", "RawChange", "make_change"]

RawChange = tuple[str, str, Any, bool, str, int]
"""A change as the store keeps it inside: ``Change``'s fields in a plain tuple (cheaper to make)."""


class Change(NamedTuple):
    """One change of the store, as subscribers receive it."""

    namespace: str
    key: str
    value: Any
    removed: bool
    origin: str
    revision: int


def make_change(change: RawChange, value: Any) -> Change:
    """``change`` as a ``Change`` holding ``value`` (a copy, when the caller made one)."""
    return tuple.__new__(Change, (*change[:2], value, *change[3:]))
