"""The messages every view transport carries (see docs/protocol.md).

Only this module knows the wire shape: every message is built and checked
here, and typed as a TypedDict per kind that mirrors ``js/src/protocol.ts``
(tests/unit/test_protocol_mirror.py compares the two and checks that the docs
name every kind). Links and transports pass the dicts through.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal, TypedDict

from ._change import RawChange

__all__ = [
    "CHUNK_LIMIT",
    "AnswersMsg",
    "Batch",
    "BoundFunction",
    "CallErrorMsg",
    "CallMsg",
    "CallsMsg",
    "CancelMsg",
    "Chunk",
    "ChunkAssembler",
    "ErrorMsg",
    "FunctionsMsg",
    "Hello",
    "LogMsg",
    "ProtocolError",
    "Reload",
    "RemoveMsg",
    "ResultMsg",
    "SetMsg",
    "Snapshot",
    "StoreMessage",
    "ViewMessage",
    "WireChange",
    "answers_message",
    "batch_message",
    "call_error_message",
    "decode",
    "encode",
    "error_message",
    "functions_message",
    "is_hello",
    "kind_of",
    "parse_view_message",
    "reload_message",
    "result_message",
    "runs_no_user_code",
    "snapshot_message",
    "store_frames",
]

# ---- the messages (as js/src/protocol.ts types them) ------------------------------------
# View -> store.


class Hello(TypedDict):
    t: Literal["hello"]
    view: str


class SetMsg(TypedDict):
    t: Literal["set"]
    view: str
    ns: str
    key: str
    value: Any
    id: int


class RemoveMsg(TypedDict):
    t: Literal["remove"]
    view: str
    ns: str
    key: str
    id: int


class _Chunk(TypedDict):
    t: Literal["chunk"]
    cid: str
    i: int
    n: int
    data: str


class Chunk(_Chunk, total=False):
    """A piece of a message over ``CHUNK_LIMIT``: view -> store, or (with ``to``) store -> view (a call's answer)."""

    to: str


class LogMsg(TypedDict):
    t: Literal["log"]
    view: str
    level: Literal["error", "warn"]
    message: str
    source: str
    dropped: int


# Calls (docs/protocol.md, "Calls").


class CallMsg(TypedDict):
    """Call the function bound as ``object.name`` (``object`` "": bound without one)."""

    t: Literal["call"]
    view: str
    id: int
    object: str
    name: str
    args: list[Any]


class CallsMsg(TypedDict):
    """The calls a page made in one task, in order: one message, not one per call."""

    t: Literal["calls"]
    view: str
    calls: list[CallMsg]


class CancelMsg(TypedDict):
    """The page gave up on call ``id`` (AbortSignal or timeout): its result is not wanted."""

    t: Literal["cancel"]
    view: str
    id: int


ViewMessage = Hello | SetMsg | RemoveMsg | Chunk | LogMsg | CallMsg | CallsMsg | CancelMsg

# Store -> view.


class WireChange(TypedDict):
    """A change on the wire (protocol.ts ``Change``)."""

    ns: str
    key: str
    value: Any
    removed: bool
    origin: str
    rev: int


# Optional fields (``ack?`` in TypeScript) sit in a subclass with total=False (NotRequired needs 3.11).


class _Snapshot(TypedDict):
    t: Literal["snapshot"]
    to: str | None  # None: for no view in particular (a notebook widget's boot snapshot)
    seq: int
    rev: int
    namespaces: list[str] | None
    state: dict[str, dict[str, Any]]


class Snapshot(_Snapshot, total=False):
    ack: int


class _Batch(TypedDict):
    t: Literal["batch"]
    seq: int
    changes: list[WireChange]


class Batch(_Batch, total=False):
    acks: dict[str, int]


class ErrorMsg(TypedDict):
    t: Literal["error"]
    to: str
    ns: Any  # as the view sent it: the error may be that it is not a str
    key: Any
    id: Any
    message: str


class Reload(TypedDict):
    """A desktop page's files changed on disk (reload on save): load the page again."""

    t: Literal["reload"]


class ResultMsg(TypedDict):
    """Call ``id`` of view ``to`` returned ``value``."""

    t: Literal["result"]
    to: str
    id: int
    value: Any


class CallErrorMsg(TypedDict):
    """Call ``id`` of view ``to`` failed: ``name`` is the error's class, ``message`` its text."""

    t: Literal["callerror"]
    to: str
    id: int
    name: str
    message: str


class AnswersMsg(TypedDict):
    """Results and call errors that were ready together, in order (each names its view)."""

    t: Literal["answers"]
    answers: list[ResultMsg | CallErrorMsg]


class BoundFunction(TypedDict):
    """One bound function: ``Pytonium.object.name`` (or ``Pytonium.name``), taking ``min`` to ``max`` arguments."""

    object: str
    name: str
    min: int
    max: int  # -1: any number


class FunctionsMsg(TypedDict):
    """The functions bound now: before the snapshot a hello asks for, and whenever they change."""

    t: Literal["functions"]
    functions: list[BoundFunction]


StoreMessage = Snapshot | Batch | ErrorMsg | Reload | ResultMsg | CallErrorMsg | AnswersMsg | FunctionsMsg | Chunk

CHUNK_LIMIT = 4 * 1024 * 1024
"""A message whose JSON text is longer than this many bytes (UTF-8) travels as chunks (as in js/src/protocol.ts)."""
CHUNK_UNITS = 1024 * 1024
"""Characters of JSON text per chunk: at most 4 MiB of UTF-8 even if all are outside the BMP."""

MAX_CHUNKS = 4096
"""A chunked message may have at most this many 4 MiB pieces (16 GiB would never fit anyway)."""

_VIEW_ID = re.compile(r"view:[A-Za-z0-9]{1,32}")


class ProtocolError(ValueError):
    """A message from a view that does not follow the protocol."""


def encode(message: Mapping[str, Any]) -> str:
    """JSON text of a message (values were checked on entry, so this cannot fail on NaN)."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def decode(text: str | bytes) -> dict[str, Any]:
    """Parse one incoming message; anything but a JSON object is a ProtocolError."""
    try:
        message = json.loads(text)
    except ValueError as exc:
        raise ProtocolError(f"message is not JSON: {exc}") from None
    except RecursionError:  # deeper than any value may be (the store allows 100 levels)
        raise ProtocolError("message is nested too deeply to be a state value") from None
    if type(message) is not dict:
        raise ProtocolError(f"message must be a JSON object, got {type(message).__name__}")
    return message


def change_dict(change: RawChange) -> WireChange:
    """A change on the wire (a ``Change`` or the store's plain tuple of the same fields)."""
    namespace, key, value, removed, origin, revision = change
    return {"ns": namespace, "key": key, "value": value, "removed": removed, "origin": origin, "rev": revision}


def batch_message(seq: int, changes: Iterable[RawChange], acks: dict[str, int] | None = None) -> Batch:
    message: Batch = {"t": "batch", "seq": seq, "changes": [change_dict(c) for c in changes]}
    if acks:
        message["acks"] = dict(acks)
    return message


def snapshot_message(
    to: str | None,
    seq: int,
    revision: int,
    namespaces: Iterable[str] | None,
    state: dict[str, dict[str, Any]],
    ack: int = 0,
) -> Snapshot:
    return {
        "t": "snapshot",
        "to": to,
        "seq": seq,
        "rev": revision,
        "namespaces": None if namespaces is None else sorted(namespaces),
        "state": state,
        "ack": ack,
    }


def error_message(to: str, namespace: Any, key: Any, write_id: Any, text: str) -> ErrorMsg:
    return {"t": "error", "to": to, "ns": namespace, "key": key, "id": write_id, "message": text}


def result_message(to: str, call_id: int, value: Any) -> ResultMsg:
    return {"t": "result", "to": to, "id": call_id, "value": value}


def call_error_message(to: str, call_id: int, name: str, text: str) -> CallErrorMsg:
    return {"t": "callerror", "to": to, "id": call_id, "name": name, "message": text}


def answers_message(answers: list[ResultMsg | CallErrorMsg]) -> StoreMessage:
    """Answers ready together: one alone, several in an ``answers`` message."""
    return answers[0] if len(answers) == 1 else {"t": "answers", "answers": answers}


def functions_message(functions: list[BoundFunction]) -> FunctionsMsg:
    return {"t": "functions", "functions": functions}


def store_frames(message: StoreMessage, to: str, cid: str) -> list[StoreMessage]:
    """``message`` for view ``to`` as it goes out: itself, or ``chunk`` pieces of its JSON text."""
    text = encode(message)
    if len(text) * 4 <= CHUNK_LIMIT or len(text.encode("utf-8")) <= CHUNK_LIMIT:
        return [message]
    pieces = [text[i : i + CHUNK_UNITS] for i in range(0, len(text), CHUNK_UNITS)]
    return [
        {"t": "chunk", "to": to, "cid": cid, "i": i, "n": len(pieces), "data": piece} for i, piece in enumerate(pieces)
    ]


def reload_message() -> Reload:
    """Tells a desktop page to load itself again (its folder changed on disk)."""
    return {"t": "reload"}


def kind_of(message: object) -> object:
    """The ``t`` of a message as it came (for logs); None when it is not an object."""
    return message.get("t") if type(message) is dict else None


def is_hello(message: object) -> bool:
    """Whether a view asks for a snapshot (not checked further: :func:`parse_view_message` does that)."""
    return kind_of(message) == "hello"


def runs_no_user_code(message: object) -> bool:
    """``hello`` and ``log``: answered with a snapshot or a log line, never a handler, so any thread may take them."""
    return kind_of(message) in ("hello", "log")


def parse_view_message(message: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Check the envelope of a view message; returns ``(type, message)``.

    Values and names are checked by the store itself, which names the key.
    """
    kind = message.get("t")
    if kind == "chunk":
        _require(message, "cid", str)
        _require(message, "i", int)
        _require(message, "n", int)
        _require(message, "data", str)
        if not 0 < message["n"] <= MAX_CHUNKS or not 0 <= message["i"] < message["n"]:
            raise ProtocolError(f"chunk {message['i']} of {message['n']} is out of range")
        return kind, message
    if kind not in ("hello", "set", "remove", "log", "call", "calls", "cancel"):
        raise ProtocolError(f"unknown message type {kind!r}")
    view = message.get("view")
    if type(view) is not str or not _VIEW_ID.fullmatch(view):
        raise ProtocolError(f"{kind}: 'view' must look like 'view:abc123', got {view!r}")
    if kind in ("call", "cancel"):
        _require(message, "id", int)
    if kind == "call":
        _require(message, "object", str)
        _require(message, "name", str)
        _require(message, "args", list)
    if kind == "calls":
        _require(message, "calls", list)
        for call in message["calls"]:
            if type(call) is not dict or call.get("t") != "call" or call.get("view") != view:
                raise ProtocolError(f"calls: every element must be a call of {view}, got {str(call)[:80]}")
            parse_view_message(call)
    if kind == "log":
        if message.get("level") not in ("error", "warn"):
            raise ProtocolError(f"log: 'level' must be 'error' or 'warn', got {message.get('level')!r}")
        _require(message, "message", str)
    if kind == "set" and "value" not in message:
        raise ProtocolError(f"set {message.get('ns')!r}.{message.get('key')!r}: no 'value'")
    return kind, message


def _require(message: dict[str, Any], field: str, kind: type) -> None:
    if type(message.get(field)) is not kind:
        raise ProtocolError(f"{message.get('t')}: field {field!r} must be {kind.__name__}")


class ChunkAssembler:
    """Joins the pieces of messages a view split because they were too large."""

    def __init__(self, max_open: int = 8) -> None:
        self._open: dict[str, list[str | None]] = {}
        self._max_open = max_open

    def add(self, chunk: dict[str, Any]) -> dict[str, Any] | None:
        """Add one piece; returns the whole message once its last piece arrived."""
        cid, index, count = chunk["cid"], chunk["i"], chunk["n"]
        parts = self._open.get(cid)
        if parts is None:
            if len(self._open) >= self._max_open:
                raise ProtocolError(f"too many chunked messages open at once (>{self._max_open})")
            parts = self._open[cid] = [None] * count
        if len(parts) != count:
            raise ProtocolError(f"chunk {cid!r}: count changed from {len(parts)} to {count}")
        parts[index] = chunk["data"]
        if any(p is None for p in parts):
            return None
        del self._open[cid]
        return decode("".join(parts))  # type: ignore[arg-type]
