"""Bad input to the entry points of the prototyping loop: a named error, and nothing changed.

The tests the other files already hold are not repeated here (see ``test_traitlink.py``,
``test_history.py``, ``test_persist.py``, ``test_widget.py``); these fill the gaps:
``StateWidget(watch=...)``, revisions and namespace filters of ``history`` /
``state_at`` / ``restore``, link targets that cannot hold the key's value, and
``persist`` given a store value it cannot write.
"""

from __future__ import annotations

import os
import re
import threading
from typing import Any

import pytest
import traitlets

from pytonium_lab import StateStore, StateWidget

PAGE = "<html><body><p>hi</p></body></html>"


def watchers() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("pytonium-watch")]


@pytest.fixture
def store() -> StateStore:
    store = StateStore(history=10)
    store.set_state("a", "x", 1)
    store.set_state("a", "x", 2)
    store.set_state("b", "y", "two")
    return store


def unchanged(store: StateStore) -> tuple[Any, ...]:
    return store.revision, store.snapshot(), len(store.history()), store._subscribers


# ---- StateWidget(watch=...) ---------------------------------------------------------


@pytest.mark.parametrize("watch", ["yes", "", 1, 0, None, [True]])
def test_watch_must_be_a_bool_and_a_refused_widget_starts_nothing(store: StateStore, tmp_path, watch: Any) -> None:
    page = tmp_path / "page.html"
    page.write_text(PAGE)
    before = unchanged(store), watchers()
    with pytest.raises(TypeError, match=re.escape(f"watch must be True or False, got {watch!r}")):
        StateWidget(store, page, watch=watch)
    assert (unchanged(store), watchers()) == before  # no subscription, no watcher thread


def test_watch_false_and_html_text_start_no_watcher(store: StateStore, tmp_path) -> None:
    page = tmp_path / "page.html"
    page.write_text(PAGE)
    before = watchers()
    quiet = StateWidget(store, page, watch=False)
    text = StateWidget(store, PAGE, watch=True)  # HTML text has no folder to watch
    try:
        assert watchers() == before and quiet._watch is None and text._watch is None
    finally:
        quiet.close()
        text.close()


# ---- history / state_at / restore ---------------------------------------------------

BAD_REVISIONS = [
    (True, TypeError, "revision must be an int, got bool True"),
    (2.0, TypeError, "revision must be an int, got float 2.0"),
    ("2", TypeError, "revision must be an int, got str '2'"),
    (None, TypeError, "revision must be an int, got NoneType None"),
    (-1, ValueError, r"revision -1 is outside the kept history: revisions 0\.\.3 can be shown"),
    (4, ValueError, "revision 4 is in the future: the store is at revision 3"),
]


@pytest.mark.parametrize(("revision", "error", "message"), BAD_REVISIONS)
def test_bad_revisions_are_named_and_change_nothing(
    store: StateStore, revision: Any, error: type[Exception], message: str
) -> None:
    heard: list[Any] = []
    store.subscribe(heard.append)
    before = unchanged(store)
    with pytest.raises(error, match=message):
        store.state_at(revision)
    with pytest.raises(error, match=message):
        store.restore(revision)
    assert unchanged(store) == before and heard == []


BAD_FILTERS = [
    ("a", TypeError, "namespaces must be a list of str, not the str 'a'"),
    ([1], TypeError, r"namespaces must be str, got int 1 in \[1\]"),
    (["a", ""], ValueError, "namespaces must not be empty strings"),
    ([None], TypeError, "namespaces must be str, got NoneType"),
]


@pytest.mark.parametrize(("namespaces", "error", "message"), BAD_FILTERS)
def test_bad_namespace_filters_are_named_and_change_nothing(
    store: StateStore, namespaces: Any, error: type[Exception], message: str
) -> None:
    before = unchanged(store)
    for call in (
        lambda: store.history(namespaces),
        lambda: store.state_at(1, namespaces),
        lambda: store.restore(1, namespaces),
    ):
        with pytest.raises(error, match=message):
            call()
    assert unchanged(store) == before


@pytest.mark.parametrize("call", ["history", "state_at", "restore", "persist", "widget"])
def test_a_namespace_filter_that_is_not_a_list_is_named(store: StateStore, tmp_path, call: str) -> None:
    before = unchanged(store)
    calls = {
        "history": lambda: store.history(5),
        "state_at": lambda: store.state_at(1, 5),
        "restore": lambda: store.restore(1, 5),
        "persist": lambda: store.persist(tmp_path / "state.json", 5),
        "widget": lambda: StateWidget(store, PAGE, namespaces=5),
    }
    with pytest.raises(TypeError, match="namespaces must be None or a list of str, got int 5"):
        calls[call]()
    assert unchanged(store) == before and os.listdir(tmp_path) == []


def test_a_restore_refused_for_one_key_changes_no_key() -> None:
    store = StateStore()
    store.set_state("a", "x", 1)
    store.set_state("a", "y", 1)
    store.set_state("a", "x", 2)
    store.set_state("a", "y", 2)
    heard: list[Any] = []
    store.subscribe(heard.append)
    with pytest.raises(ValueError, match="revision 9 is in the future"):
        store.restore(9, ["a"])
    assert store.snapshot() == {"a": {"x": 2, "y": 2}} and heard == []


def test_a_store_without_history_refuses_old_revisions_by_name() -> None:
    store = StateStore(history=0)
    store.set_state("a", "x", 1)
    store.set_state("a", "x", 2)
    with pytest.raises(ValueError, match=r"keeps no history \(StateStore\(history=0\)\); only the current revision 2"):
        store.restore(1)
    assert store.snapshot() == {"a": {"x": 2}} and store.restore(2) == 0


# ---- store.link ---------------------------------------------------------------------


class Model(traitlets.HasTraits):
    n = traitlets.Int(0)
    fixed = traitlets.Int(5, read_only=True)
    choice = traitlets.Enum(["a", "b"], default_value="a")


def test_a_key_value_that_does_not_fit_the_trait_links_nothing(store: StateStore) -> None:
    model = Model()
    before = unchanged(store)
    with pytest.raises(ValueError, match=r"b\.y = 'two' does not fit Model\.n"):
        store.link("b", "y", (model, "n"))
    with pytest.raises(ValueError, match=r"a\.x = 2 does not fit Model\.fixed"):  # a read-only trait
        store.link("a", "x", (model, "fixed"))
    with pytest.raises(ValueError, match=r"a\.x = 2 does not fit Model\.choice"):
        store.link("a", "x", (model, "choice"))
    assert unchanged(store) == before
    assert (model.n, model.fixed, model.choice) == (0, 5, "a")
    model.n = 9  # no observer was left behind
    assert unchanged(store) == before


@pytest.mark.parametrize(
    ("target", "error", "message"),
    [
        ((), TypeError, r"link target for a\.x must be a tuple"),
        ([Model(), "n"], TypeError, r"link target for a\.x must be a tuple \(obj, 'trait_name'\), got list"),
        ((Model, "n"), TypeError, r"must be a traitlets\.HasTraits .*got MetaHasTraits"),
        ((Model(), None), ValueError, "Model has no trait None to link to a.x"),
        ((Model(), "_private"), ValueError, "Model has no trait '_private'"),
    ],
)
def test_more_bad_link_targets_are_named_and_change_nothing(
    store: StateStore, target: Any, error: type[Exception], message: str
) -> None:
    before = unchanged(store)
    with pytest.raises(error, match=message):
        store.link("a", "x", target)
    assert unchanged(store) == before


def test_a_trait_value_the_store_refuses_later_changes_nothing(store: StateStore) -> None:
    model = traitlets.HasTraits()
    model.add_traits(anything=traitlets.Any(0))
    store.link("a", "x", (model, "anything"))
    revision, snapshot = store.revision, store.snapshot()
    for bad, error in (({1, 2}, TypeError), (float("inf"), ValueError), (2**60, ValueError), (object(), TypeError)):
        with pytest.raises(error, match=r"a\.x"):
            model.anything = bad
    assert (store.revision, store.snapshot()) == (revision, snapshot)


# ---- persist ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "error", "message"),
    [
        (None, TypeError, "path must be a str or os.PathLike, got NoneType"),
        (3.5, TypeError, "path must be a str or os.PathLike, got float"),
        ("missing/state.json", ValueError, "does not exist"),
    ],
)
def test_more_bad_persist_paths_are_named_and_change_nothing(
    store: StateStore, tmp_path, monkeypatch, path: Any, error: type[Exception], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    before = unchanged(store)
    with pytest.raises(error, match=message):
        store.persist(path)
    assert unchanged(store) == before and os.listdir(tmp_path) == []


def test_a_refused_file_leaves_the_store_and_the_file_alone(store: StateStore, tmp_path) -> None:
    path = tmp_path / "state.json"
    text = '{"format": "pytonium_lab.state", "version": 1, "revision": 1, "state": {"a": {"x": NaN}}}'
    path.write_text(text)
    before = unchanged(store)
    with pytest.raises(ValueError, match=r"state\.json"):
        store.persist(path)
    assert unchanged(store) == before and path.read_text() == text and os.listdir(tmp_path) == ["state.json"]
    store.persist(tmp_path / "other.json").close()  # the refused file holds no lock on the store


# ---- Pytonium(watch=...) ------------------------------------------------------------


@pytest.mark.parametrize("kwargs", [{"watch": "no"}, {"watch": 1}, {"debug": "no"}])
def test_pytonium_watch_and_debug_must_be_bools(kwargs: dict[str, Any]) -> None:
    from pytonium_lab import Pytonium

    name, value = next(iter(kwargs.items()))
    with pytest.raises(TypeError, match=re.escape(f"{name} must be True or False, got {value!r}")):
        Pytonium(backend="chromium", **kwargs)
