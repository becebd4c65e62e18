"""The package's layering, read from its source (ast): features use the store's extension surface.

Only ``_store.py`` touches a store's private attributes (``store._x`` or
``getattr(store, "_x")``, where ``_x`` is a private name of ``StateStore``); a
subclass uses its own ``self._*`` freely. Every feature (links, the inspector,
trait links, persistence, the shared store, the hosts) goes through the
surface docs/extending.md describes.
"""

from __future__ import annotations

import ast
import threading
from pathlib import Path

import pytonium_lab
from pytonium_lab import StateStore

PACKAGE = Path(pytonium_lab.__file__).parent
STORE = PACKAGE / "_store.py"


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "static" not in p.parts)


def store_private_names() -> set[str]:
    """Private attributes and methods of ``StateStore`` (``self._x`` in its class body, ``def _x``)."""
    tree = ast.parse(STORE.read_text(encoding="utf-8"))
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "StateStore")
    names = set()
    for node in ast.walk(cls):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
            names.add(node.attr)
        elif isinstance(node, ast.FunctionDef):
            names.add(node.name)
    return {n for n in names if n.startswith("_") and not n.startswith("__")}


def _is_self(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id in ("self", "cls")


def reaches(path: Path, private: set[str]) -> list[str]:
    """``file:line: expression`` for each access to a store private from outside ``self``."""
    source = path.read_text(encoding="utf-8")
    where = path.relative_to(PACKAGE) if PACKAGE in path.parents else path.name
    found = []
    for node in ast.walk(ast.parse(source)):
        target: ast.expr | None = None
        name = None
        if isinstance(node, ast.Attribute) and node.attr in private and not _is_self(node.value):
            target, name = node.value, node.attr
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "setattr", "hasattr")
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and node.args[1].value in private
            and not _is_self(node.args[0])
        ):
            target, name = node.args[0], node.args[1].value
        elif isinstance(node, ast.ImportFrom) and (node.module or "").endswith("_store"):
            for alias in node.names:
                if alias.name.startswith("_"):
                    found.append(f"{where}:{node.lineno}: from {node.module} import {alias.name}")
        if target is not None:
            found.append(f"{where}:{node.lineno}: {ast.unparse(target)}.{name}")
    return found


def test_the_scan_knows_the_store_privates(tmp_path: Path) -> None:
    private = store_private_names()
    assert {"_lock", "_data", "_history", "_revision", "_add", "_deliver"} <= private
    # and it sees a reach-in, by attribute or by getattr, but not a class's own self._x
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from ._store import _MISSING\n"
        "def f(store):\n    with store._lock:\n        return getattr(store, '_data')\n"
        "class Sub:\n    def g(self):\n        return self._data\n"
    )
    assert [line.split(": ", 1)[1] for line in reaches(probe, private)] == [
        "from _store import _MISSING",
        "store._lock",
        "store._data",
    ]


def test_only_the_store_touches_a_stores_private_attributes() -> None:
    private = store_private_names()
    found = [line for path in modules() if path != STORE for line in reaches(path, private)]
    assert found == [], "modules reach into a store (use the extension surface, docs/extending.md):\n" + "\n".join(
        found
    )


# ---- the surface itself ---------------------------------------------------------------------

SURFACE = ("write_lock", "subscribe_view", "kept_records", "apply_ordered")


def test_the_surface_is_documented_for_extension_authors_and_not_exported() -> None:
    docs = (PACKAGE.parent / "docs" / "extending.md").read_text(encoding="utf-8")
    for name in SURFACE:
        assert hasattr(StateStore, name), name
        assert f"`store.{name}" in docs, f"docs/extending.md does not describe store.{name}"
        assert name not in pytonium_lab.__all__


def test_the_write_lock_holds_other_threads_writes() -> None:
    store = StateStore()
    done = threading.Event()
    with store.write_lock:
        writer = threading.Thread(target=lambda: (store.set_state("a", "k", 1), done.set()))
        writer.start()
        assert not done.wait(0.2)  # waits for the lock
        store.set_state("a", "mine", 0)  # the holder's own writes go in
        assert store.revision == 1
    writer.join(5)
    assert done.is_set() and store.snapshot() == {"a": {"mine": 0, "k": 1}}


def test_kept_records_subscribe_view_and_apply_ordered() -> None:
    store = StateStore(history=3)
    seen: list[tuple[object, bool]] = []
    sub = store.subscribe_view(lambda change, last: seen.append((change, last)), ["a"])
    store.set_state("a", "k", 1)
    with store.batch():
        store.set_state("a", "k", 2)
        store.set_state("b", "x", 0)  # not a namespace of the view
        store.set_state("a", "j", [1])
    assert [(c[:3], last) for c, last in seen] == [
        (("a", "k", 1), True),
        (("a", "k", 2), False),
        (("a", "j", [1]), True),
    ]
    store.apply_ordered([("a", "k", 7, False, "elsewhere", 10), ("a", "j", None, True, "elsewhere", 11)], 11)
    assert store.revision == 11 and store.snapshot(["a"]) == {"a": {"k": 7}}
    assert seen[-1][0] == ("a", "j", None, True, "elsewhere", 11)
    records = store.kept_records()
    assert [r[0][5] for r in records] == [4, 10, 11]  # the last 3 changes, oldest first
    assert records[-1][2] == [1]  # the value the removal replaced
    sub()
    assert StateStore(history=0).kept_records() == []


def test_the_notebook_host_is_one_package_and_its_public_paths_stay() -> None:
    from pytonium_lab import notebook, widget

    assert pytonium_lab.StateWidget is notebook.StateWidget is widget.StateWidget
    assert widget.load_page is notebook.load_page and widget.__all__ == ["StateWidget", "load_page"]
    host = {"_widget", "_host_hooks", "_kernel_route", "_marimo", "_assets"}
    assert host <= {p.stem for p in (PACKAGE / "notebook").glob("*.py")}
    assert not host & {p.stem for p in PACKAGE.glob("*.py")}, "notebook host modules outside pytonium_lab/notebook/"
