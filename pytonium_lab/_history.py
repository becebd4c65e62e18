"""Rewinding the store: its kept history (how a store shows itself is ``_table``).

The store records each change under its lock as one tuple ``(change, time,
old)`` in a ``deque(maxlen=N)``: ``change`` is the 6-tuple it already built for
its subscribers, ``time`` is ``time.time()`` and ``old`` the value the change
replaced (:data:`ABSENT` when the key was not set). Recording is an append, so
``set_state`` stays cheap; everything else (copies, undoing, diffing) happens
here, when someone asks. The store never mutates a value in place, so the kept
references stay true; what leaves this module is copied.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Reversible
from typing import Any, NamedTuple

from ._change import Change, RawChange, make_change
from ._values import copy_value

__all__ = ["ABSENT", "RESTORE", "HistoryEntry", "Record", "same"]

RESTORE = "restore"
"""The origin of the changes ``StateStore.restore`` writes."""

ABSENT: Any = object()
"""``old`` of a kept change that created its key."""

Record = tuple[RawChange, float, Any]
"""What the store keeps per change: (change tuple, wall-clock time, replaced value or ABSENT)."""

State = dict[str, dict[str, Any]]


class HistoryEntry(NamedTuple):
    """One kept change: what changed, when, and the value it replaced.

    ``change`` is the same :class:`Change` subscribers heard; ``time`` is
    ``time.time()`` when it was written; ``old`` is the value before it (``None``
    when ``existed`` is false, i.e. the change created the key: ``None`` is a
    value too, hence the flag). A wrapper rather than more fields on ``Change``,
    which subscribers unpack as six fields.
    """

    change: Change
    time: float
    old: Any
    existed: bool


def check_capacity(history: object) -> int:
    """``StateStore(history=N)``: a count of changes, not a bool or a float."""
    if type(history) is not int:
        raise TypeError(f"history must be an int (how many changes to keep), got {type(history).__name__}")
    if history < 0:
        raise ValueError(f"history must be >= 0 (0 keeps none), got {history}")
    return history


def check_revision(revision: object) -> int:
    if type(revision) is not int:
        raise TypeError(f"revision must be an int, got {type(revision).__name__} {revision!r}")
    return revision


def entries(kept: Iterable[Record], wanted: frozenset[str] | None) -> list[HistoryEntry]:
    """Kept changes as fresh entries, oldest first; values copied so callers cannot alter the record."""
    out = []
    for change, when, old in kept:
        if wanted is not None and change[0] not in wanted:
            continue
        existed = old is not ABSENT
        out.append(
            HistoryEntry(
                make_change(change, copy_value(change[2])),
                when,
                copy_value(old) if existed else None,
                existed,
            )
        )
    return out


def kept_range(kept: Reversible[Record], current: int) -> int:
    """The oldest revision whose state can be rebuilt: one before the oldest of an unbroken run of kept changes."""
    oldest = current
    for change, _, _ in reversed(kept):
        if change[5] != oldest:
            break  # a revision the history did not see: nothing older can be undone
        oldest -= 1
    return oldest


def state_at(
    state: Mapping[str, Mapping[str, Any]],
    kept: Reversible[Record],
    current: int,
    revision: int,
    capacity: int,
    wanted: frozenset[str] | None = None,
) -> State:
    """The state right after ``revision``: the current one with the newer kept changes undone, newest first."""
    check_revision(revision)
    oldest = kept_range(kept, current)
    if not oldest <= revision <= current:
        if revision > current:
            raise ValueError(f"revision {revision} is in the future: the store is at revision {current}")
        if capacity == 0:
            raise ValueError(
                f"revision {revision} is not kept: the store keeps no history (StateStore(history=0)); "
                f"only the current revision {current} can be shown"
            )
        raise ValueError(
            f"revision {revision} is outside the kept history: revisions {oldest}..{current} can be shown "
            f"(the store keeps the last {capacity} changes)"
        )
    work: dict[str, dict[str, Any]] = {ns: dict(keys) for ns, keys in state.items()}
    for change, _, old in reversed(kept):
        if change[5] <= revision:
            break
        namespace, key = change[0], change[1]
        if old is ABSENT:
            keys = work[namespace]
            del keys[key]
            if not keys:
                del work[namespace]
        else:
            work.setdefault(namespace, {})[key] = old
    return {
        ns: {k: copy_value(v) for k, v in keys.items()} for ns, keys in work.items() if wanted is None or ns in wanted
    }


def differences(
    now: Mapping[str, Mapping[str, Any]], then: Mapping[str, Mapping[str, Any]]
) -> list[tuple[str, str, Any, bool]]:
    """What turns ``now`` into ``then``, as (namespace, key, value, removed): only keys that differ."""
    out: list[tuple[str, str, Any, bool]] = []
    for ns, keys in now.items():
        old = then.get(ns, {})
        out.extend((ns, key, None, True) for key in keys if key not in old)
    for ns, keys in then.items():
        current = now.get(ns, {})
        for key, value in keys.items():
            if key not in current or not same(current[key], value):
                out.append((ns, key, value, False))
    return out


def same(a: Any, b: Any) -> bool:
    """Equal as JSON values: ``True``, ``1`` and ``1.0`` are three values here, unlike ``==``."""
    kind = type(a)
    if kind is not type(b):
        return False
    if kind is list:
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if kind is dict:
        return a.keys() == b.keys() and all(same(v, b[k]) for k, v in a.items())
    return bool(a == b)
