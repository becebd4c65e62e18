"""What a state value may be, checked once where it enters the store.

Values must round-trip through JavaScript exactly, so only JSON values are
allowed: ``None``, ``bool``, ``int`` within +-(2**53 - 1), finite ``float``,
``str``, ``list`` and ``dict`` with ``str`` keys, nested at most ``MAX_DEPTH``
levels. Checking and copying happen in one walk, so the store never holds an
object the caller can still mutate.

numpy bools, integers and floats (scalars and arrays of any shape) are taken
as the JSON value they hold (``.tolist()``), under the same rules; numpy is
recognised by its type's module, never imported here. pandas objects are
refused with the conversion to use.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable
from typing import Any

__all__ = [
    "MAX_DEPTH",
    "MAX_NAME",
    "MAX_SAFE_INTEGER",
    "check_name",
    "check_namespaces",
    "clean_value",
    "copy_value",
    "shown_name",
]

MAX_SAFE_INTEGER = 2**53 - 1

MAX_DEPTH = 100
"""How many lists/dicts a value may nest (``[[1]]`` is 2): the same limit as ``js/src/values.ts``.

Every layer that handles a value recurses once per level (this walk, copies,
``json``, a page's ``JSON.parse``) and a protocol message adds a few levels
around it; 100 stays far below Python's recursion limit (1000 frames, of which
the caller may already use many) and below the 255 levels that some JSON
libraries (orjson) accept, while real state rarely nests more than ten.
"""

MAX_NAME = 256
"""The longest namespace or key, in characters (code points): the same limit as ``js/src/values.ts``.

Names travel in every change, snapshot and error message and show in tables and
the inspector; far beyond any real name, a limit keeps a mistake (a value passed
as a name) from flooding all of them.
"""

_SCALARS = frozenset((str, bool, type(None)))


def check_name(namespace: object, key: object) -> None:
    """Reject namespaces and keys that are not non-empty strings of at most ``MAX_NAME`` characters."""
    for label, name in (("namespace", namespace), ("key", key)):
        if type(name) is not str:
            raise TypeError(f"state {label} must be a str, got {type(name).__name__} ({_where(namespace, key)})")
        if not name:
            raise ValueError(f"state {label} must not be empty ({_where(namespace, key)})")
        if len(name) > MAX_NAME:
            raise ValueError(_too_long(f"state {label}", name))


def shown_name(name: object, limit: int = 40) -> str:
    """``repr(name)`` for a message, a long str cut to its start (a name may be up to 256 characters)."""
    if type(name) is not str or len(name) <= limit:
        return repr(name)
    return repr(name[:limit]) + "..."


def _too_long(what: str, name: str) -> str:
    return f"{what} {shown_name(name)} is {len(name)} characters long; the limit is {MAX_NAME}"


def check_namespaces(namespaces: object) -> list[str] | None:
    """A namespace filter as a list (``None``: every namespace); a lone str is a mistake.

    Takes any object: it is the check every public ``namespaces=`` argument goes through.
    """
    if namespaces is None:
        return None
    if isinstance(namespaces, str):
        raise TypeError(f"namespaces must be a list of str, not the str {namespaces!r}")
    if isinstance(namespaces, bytes) or not isinstance(namespaces, Iterable):
        raise TypeError(f"namespaces must be None or a list of str, got {type(namespaces).__name__} {namespaces!r}")
    names = list(namespaces)
    for name in names:
        if type(name) is not str:
            raise TypeError(f"namespaces must be str, got {type(name).__name__} {name!r} in {names!r}")
        if not name:
            raise ValueError(f"namespaces must not be empty strings: {names!r}")
        if len(name) > MAX_NAME:
            raise ValueError(_too_long("namespaces: the name", name))
    return names


def clean_value(namespace: str, key: str, value: Any) -> Any:
    """Return a private copy of ``value``, or raise naming where it is wrong.

    The common case (a scalar) returns without a walk.
    """
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is int and -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        return value
    if kind is float and value - value == 0.0:  # false for NaN and the infinities
        return value
    return _walk(value, f"{namespace}.{key}", set())


def copy_value(value: Any) -> Any:
    """Copy an already clean value (lists and dicts are copied, scalars shared)."""
    kind = type(value)
    if kind is dict:
        return {k: copy_value(v) for k, v in value.items()}
    if kind is list:
        return [copy_value(v) for v in value]
    return value


def _walk(value: Any, path: str, active: set[int]) -> Any:
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is int:
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise ValueError(
                f"{path}: int {value} is outside +-(2**53 - 1) and would not round-trip through JavaScript"
            )
        return value
    if kind is float:
        if not math.isfinite(value):
            raise ValueError(f"{path}: float {value!r} is not allowed (JSON has no NaN or infinity)")
        return value
    if kind is list or kind is dict:
        marker = id(value)
        if marker in active:
            raise ValueError(f"{path}: the value contains itself (a cycle)")
        if len(active) == MAX_DEPTH:  # ``active`` holds the lists/dicts around this one
            raise ValueError(f"{_shorten(path)}: more than {MAX_DEPTH} levels of nested lists/dicts (the limit)")
        active.add(marker)
        try:
            if kind is list:
                return [_walk(item, f"{path}[{i}]", active) for i, item in enumerate(value)]
            copied = {}
            for k, item in value.items():
                if type(k) is not str:
                    raise TypeError(f"{path}: dict keys must be str, got {type(k).__name__} {k!r}")
                copied[k] = _walk(item, f"{path}.{k}", active)
            return copied
        finally:
            active.discard(marker)
    module = kind.__module__
    if module == "numpy":
        return _walk(_from_numpy(value, path), path, active)
    if (module == "pandas" or module.startswith("pandas.")) and (hasattr(value, "tolist") or hasattr(value, "to_dict")):
        raise TypeError(
            f"{path}: a pandas {kind.__name__} is not a state value: convert it first, "
            "with .to_dict() (a DataFrame or Series as a dict) or .tolist() (a Series or Index as a list)"
        )
    raise TypeError(
        f"{path}: {kind.__name__} is not a state value (allowed: None, bool, int, float, str, list, dict with str keys)"
    )


_NUMPY_KINDS = "biuf"  # numpy dtype kinds with a JSON value: bool, signed and unsigned integer, float


def _from_numpy(value: Any, path: str) -> Any:
    """A numpy scalar's or array's plain value (bool, int, float or nested lists), still to be checked."""
    dtype = getattr(value, "dtype", None)
    kind = getattr(dtype, "kind", None)
    if kind is None:
        raise TypeError(f"{path}: numpy {type(value).__name__} is not a state value")
    if kind not in _NUMPY_KINDS:
        what = "array" if isinstance(value, sys.modules["numpy"].ndarray) else "scalar"  # numpy made ``value``
        raise TypeError(
            f"{path}: a numpy {what} of dtype {dtype} is not a state value "
            "(only bool, integer and float numpy values convert to JSON)"
        )
    return value.tolist()


def _shorten(path: str, limit: int = 60) -> str:
    """A place deep inside a value, cut to its start (``ns.key[0][0]...``)."""
    return path if len(path) <= limit else path[:limit] + "..."


def _where(namespace: object, key: object) -> str:
    return f"namespace={shown_name(namespace)}, key={shown_name(key)}"
