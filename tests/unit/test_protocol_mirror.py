"""The wire protocol is written three times: js/src/protocol.ts, pytonium_lab/_protocol.py, docs/protocol.md.

These tests read all three and fail when they disagree: every message kind
(a TypeScript object type whose ``t`` is a string literal) has a Python TypedDict
with the same ``t``, the same fields and the same optional fields; every kind of
any js/src module is documented in docs/protocol.md; and no module but
``_protocol.py`` builds or reads the ``t`` of a message. A kind added to
protocol.ts and _protocol.py the same way is picked up by these tests as is.
"""

from __future__ import annotations

import ast
import re
import types
import typing
from pathlib import Path

import pytest

import pytonium_lab
from pytonium_lab import _protocol as proto

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = Path(pytonium_lab.__file__).parent
PROTOCOL_TS = ROOT / "js" / "src" / "protocol.ts"
DOCS = ROOT / "docs" / "protocol.md"

_COMMENTS = re.compile(r"/\*.*?\*/|//[^\n]*", re.DOTALL)
_TYPE = re.compile(r"export\s+type\s+(\w+)\s*=\s*\{")
_FIELD = re.compile(r"^\s*(\w+)(\??)\s*:\s*(.+?)\s*$", re.DOTALL)

Fields = dict[str, tuple[bool, str]]  # field -> (optional, TypeScript type)


def object_types(source: str) -> dict[str, Fields]:
    """Each ``export type Name = { ... }`` of a TypeScript source: its top-level fields."""
    source = _COMMENTS.sub("", source)
    types: dict[str, Fields] = {}
    for match in _TYPE.finditer(source):
        depth, start = 1, match.end()
        end = start
        while depth:
            depth += {"{": 1, "}": -1}.get(source[end], 0)
            end += 1
        body = source[start : end - 1]
        fields: Fields = {}
        depth, piece = 0, ""
        for char in body + ";":
            depth += {"{": 1, "}": -1, "[": 1, "]": -1, "(": 1, ")": -1}.get(char, 0)
            if char in ";\n" and depth == 0:
                field = _FIELD.match(piece)
                if field:
                    fields[field[1]] = (field[2] == "?", field[3])
                piece = ""
            else:
                piece += char
        types[match[1]] = fields
    return types


def ts_kinds(source: str) -> dict[str, tuple[str, Fields]]:
    """Message kinds: the types whose ``t`` is one string literal, as kind -> (type name, fields)."""
    kinds = {}
    for name, fields in object_types(source).items():
        t = fields.get("t")
        if t is not None and re.fullmatch(r'"[\w-]+"', t[1]):
            kinds[t[1].strip('"')] = (name, fields)
    return kinds


def python_kinds() -> dict[str, type]:
    """The public TypedDicts of ``_protocol`` whose ``t`` is one Literal, by kind (``__all__`` or not)."""
    kinds = {}
    for name, cls in vars(proto).items():
        if name.startswith("_") or getattr(cls, "__module__", None) != proto.__name__:
            continue  # a base holding the required fields of a type with optional ones, or an import
        if isinstance(cls, type) and issubclass(cls, dict) and hasattr(cls, "__required_keys__"):
            t = typing.get_type_hints(cls).get("t")
            if typing.get_origin(t) is typing.Literal:
                (kind,) = typing.get_args(t)
                assert kind not in kinds, f"two TypedDicts for {kind!r}: {kinds[kind].__name__}, {name}"
                kinds[kind] = cls
    return kinds


def shape(cls: type) -> tuple[set[str], set[str]]:
    return set(cls.__required_keys__), set(cls.__optional_keys__)  # type: ignore[attr-defined]


def ts_shape(fields: Fields) -> tuple[set[str], set[str]]:
    return {f for f, (opt, _) in fields.items() if not opt}, {f for f, (opt, _) in fields.items() if opt}


def test_the_parser_reads_types_as_protocol_ts_writes_them() -> None:
    source = """
    /** doc */
    export type A = { t: "a"; view: string; n?: number };
    export type B = {
      t: "b";
      // a comment
      state: { [ns: string]: { [key: string]: X } };
      acks?: { [view: string]: number };
    };
    export type NotAMessage = { ns: string };
    """
    assert ts_kinds(source) == {
        "a": ("A", {"t": (False, '"a"'), "view": (False, "string"), "n": (True, "number")}),
        "b": (
            "B",
            {
                "t": (False, '"b"'),
                "state": (False, "{ [ns: string]: { [key: string]: X } }"),
                "acks": (True, "{ [view: string]: number }"),
            },
        ),
    }
    assert object_types(source)["NotAMessage"] == {"ns": (False, "string")}


def test_every_kind_of_protocol_ts_has_a_typeddict_with_the_same_fields() -> None:
    ts = ts_kinds(PROTOCOL_TS.read_text(encoding="utf-8"))
    py = python_kinds()
    assert {"hello", "set", "remove", "chunk", "log", "snapshot", "batch", "error", "reload"} <= set(ts)
    assert set(ts) == set(py), f"only in protocol.ts: {set(ts) - set(py)}; only in _protocol.py: {set(py) - set(ts)}"
    for kind, (name, fields) in ts.items():
        assert shape(py[kind]) == ts_shape(fields), f"{kind}: protocol.ts {name} vs _protocol.{py[kind].__name__}"


_TS_PRIMITIVES: dict[str, object] = {"string": str, "number": int, "boolean": bool, "null": type(None)}

LOOSER_IN_PYTHON = {("error", "ns"), ("error", "key"), ("error", "id")}
"""Fields Python types as ``Any`` on purpose: an error echoes what the view sent, which may be what is wrong."""


def ts_atoms(text: str) -> set[object] | None:
    """A TypeScript field type made of primitives, ``null`` and string literals, as a set; None for anything else."""
    atoms: set[object] = set()
    for part in (p.strip() for p in text.split("|")):
        if part in _TS_PRIMITIVES:
            atoms.add(_TS_PRIMITIVES[part])
        elif re.fullmatch(r'"[^"]*"', part):
            atoms.add(part.strip('"'))
        else:
            return None
    return atoms


def py_atoms(annotation: object) -> set[object] | None:
    """The same for a Python annotation (str, int, bool, None, Literal and unions of them); None otherwise."""
    if annotation in (str, int, bool, type(None)):
        return {annotation}
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return set(typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        parts = [py_atoms(a) for a in typing.get_args(annotation)]
        return None if any(p is None for p in parts) else set().union(*parts)  # type: ignore[arg-type]
    return None


def test_simple_field_types_agree() -> None:
    """Where both sides use primitives, null and string literals, they say the same."""
    ts = ts_kinds(PROTOCOL_TS.read_text(encoding="utf-8"))
    py = python_kinds()
    differ = []
    for kind, (name, fields) in ts.items():
        hints = typing.get_type_hints(py[kind])
        for field, (_, text) in fields.items():
            want, have = ts_atoms(text), py_atoms(hints[field])
            if want is None or (kind, field) in LOOSER_IN_PYTHON:
                continue
            if want != have:
                differ.append(f"{name}.{field}: protocol.ts {text!r}, _protocol.py {hints[field]!r}")
    assert differ == []


def test_a_change_on_the_wire_has_the_same_fields() -> None:
    fields = object_types(PROTOCOL_TS.read_text(encoding="utf-8"))["Change"]
    assert shape(proto.WireChange) == ts_shape(fields)


def test_the_builders_make_what_the_types_say() -> None:
    """Each builder's message has its TypedDict's keys (the optional ones may be left out)."""
    built = [
        proto.batch_message(1, [("ns", "k", 1, False, "python", 2)], {"view:a": 1}),
        proto.batch_message(1, []),
        proto.snapshot_message("view:a", 1, 2, None, {}),
        proto.error_message("view:a", "ns", "k", 3, "bad"),
        proto.reload_message(),
    ]
    kinds = python_kinds()
    for message in built:
        required, optional = shape(kinds[message["t"]])
        assert required <= set(message) <= required | optional, message


def test_docs_name_every_kind() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    kinds = set()
    for ts in sorted((ROOT / "js" / "src").rglob("*.ts")):
        kinds |= set(ts_kinds(ts.read_text(encoding="utf-8")))
    assert {"reload", "disconnected"} <= kinds
    missing = sorted(k for k in kinds if f'{{"t":"{k}"' not in docs)
    assert missing == [], f"docs/protocol.md does not show these message kinds: {missing}"


def _t_uses(path: Path) -> list[str]:
    """Where a module builds or reads a message's ``t``: a ``{"t": ...}`` literal, ``m["t"]``, ``m.get("t")``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        literal = isinstance(node, ast.Dict) and any(isinstance(k, ast.Constant) and k.value == "t" for k in node.keys)
        index = isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and node.slice.value == "t"
        get = (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and bool(node.args)
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value == "t"
        )
        if literal or index or get:
            found.append(f"{path.name}:{getattr(node, 'lineno', 0)}")
    return found


def test_only_the_protocol_module_touches_the_wire_shape(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text('def f(m):\n    send({"t": "reload"})\n    return m["t"] == "x" or m.get("t")\n')
    assert len(_t_uses(probe)) == 3
    found = [use for p in sorted(PACKAGE.rglob("*.py")) if p.name != "_protocol.py" for use in _t_uses(p)]
    assert found == [], f"build and check messages in _protocol.py: {found}"


@pytest.mark.parametrize("kind", ["hello", "log"])
def test_hello_and_log_run_no_user_code(kind: str) -> None:
    assert proto.runs_no_user_code({"t": kind})
    assert not proto.runs_no_user_code({"t": "set"}) and not proto.runs_no_user_code("hello")
    assert proto.is_hello({"t": "hello"}) and not proto.is_hello({"t": "log"}) and not proto.is_hello(None)
