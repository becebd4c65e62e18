"""The store's kept history, state_at and restore, and how a store shows itself in a notebook."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from IPython.lib.pretty import pretty

from pytonium_lab import Change, StateStore
from pytonium_lab._history import HistoryEntry, same
from pytonium_lab._table import MAX_ROWS


def test_history_keeps_changes_with_time_and_the_value_they_replaced() -> None:
    store = StateStore()
    before = time.time()
    store.set_state("a", "x", 1)
    store.set_state("a", "x", [1, 2], origin="view:1")
    store.remove_state("a", "x")
    after = time.time()
    first, second, third = store.history()
    assert first == HistoryEntry(Change("a", "x", 1, False, "python", 1), first.time, None, False)
    assert second == HistoryEntry(Change("a", "x", [1, 2], False, "view:1", 2), second.time, 1, True)
    assert third == HistoryEntry(Change("a", "x", None, True, "python", 3), third.time, [1, 2], True)
    assert before <= first.time <= second.time <= third.time <= after


def test_a_write_of_none_over_nothing_is_told_apart_from_one_over_none() -> None:
    store = StateStore()
    store.set_state("a", "x", None)
    store.set_state("a", "x", None)
    created, overwrote = store.history()
    assert (created.old, created.existed) == (None, False)
    assert (overwrote.old, overwrote.existed) == (None, True)


def test_history_is_bounded_and_zero_turns_it_off() -> None:
    store = StateStore(history=3)
    for i in range(10):
        store.set_state("a", "x", i)
    assert [e.change.revision for e in store.history()] == [8, 9, 10]
    off = StateStore(history=0)
    off.set_state("a", "x", 1)
    assert off.history() == []
    assert off.state_at(1) == {"a": {"x": 1}}
    with pytest.raises(
        ValueError, match=r"revision 0 is not kept: the store keeps no history \(StateStore\(history=0\)\)"
    ):
        off.state_at(0)
    assert StateStore().history() == []
    assert StateStore()._history.maxlen == 1000


@pytest.mark.parametrize(
    ("history", "error", "message"),
    [
        (True, TypeError, "history must be an int.*got bool"),
        (2.0, TypeError, "history must be an int.*got float"),
        ("5", TypeError, "history must be an int.*got str"),
        (None, TypeError, "history must be an int.*got NoneType"),
        (-1, ValueError, r"history must be >= 0 \(0 keeps none\), got -1"),
    ],
)
def test_bad_history_sizes_are_named(history: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        StateStore(history=history)


def test_history_filters_namespaces_and_names_bad_filters() -> None:
    store = StateStore()
    store.set_state("a", "x", 1)
    store.set_state("b", "y", 2)
    assert [e.change.key for e in store.history(["b"])] == ["y"]
    with pytest.raises(TypeError, match="namespaces must be a list of str, not the str 'b'"):
        store.history("b")
    with pytest.raises(ValueError, match="namespaces must not be empty strings"):
        store.history([""])


def test_history_hands_out_copies() -> None:
    store = StateStore()
    store.set_state("a", "x", {"list": [1]})
    store.set_state("a", "x", {"list": [2]})
    entry = store.history()[1]
    entry.change.value["list"].append(99)
    entry.old["list"].append(99)
    again = store.history()[1]
    assert again.change.value == {"list": [2]}
    assert again.old == {"list": [1]}
    assert store.state_at(1) == {"a": {"x": {"list": [1]}}}
    store.state_at(1)["a"]["x"]["list"].append(5)
    assert store.state_at(1) == {"a": {"x": {"list": [1]}}}
    assert store.get_state("a", "x") == {"list": [2]}


def test_batched_and_handler_writes_are_history_too() -> None:
    store = StateStore()

    class Mirror:
        def update_state(self, namespace: str, key: str, value: Any) -> None:
            if key == "x":
                store.set_state("a", "mirror", value)

    store.add_state_handler(Mirror(), ["a"])
    with store.batch():
        store.set_state("a", "x", 1)
        store.set_state("b", "y", 2)
    assert [(e.change.key, e.change.revision) for e in store.history()] == [("x", 1), ("y", 2), ("mirror", 3)]
    assert store.state_at(1) == {"a": {"x": 1}}
    assert store.state_at(2) == {"a": {"x": 1}, "b": {"y": 2}}


def test_state_at_names_what_it_cannot_show() -> None:
    store = StateStore(history=2)
    for i in range(5):
        store.set_state("a", "x", i)
    assert store.state_at(3) == {"a": {"x": 2}}
    with pytest.raises(ValueError, match=r"revision 2 is outside the kept history: revisions 3\.\.5 can be shown"):
        store.state_at(2)
    with pytest.raises(ValueError, match="revision 6 is in the future: the store is at revision 5"):
        store.state_at(6)
    with pytest.raises(ValueError, match="revision -1 is outside the kept history"):
        store.state_at(-1)
    for bad in (True, 3.0, "3", None):
        with pytest.raises(TypeError, match="revision must be an int"):
            store.state_at(bad)  # type: ignore[arg-type]
    assert store.state_at(5, namespaces=["other"]) == {}


def test_restore_writes_only_what_differs_as_one_batch_with_origin_restore() -> None:
    store = StateStore()
    store.set_state("a", "same", "kept")
    store.set_state("a", "x", 1)
    mark = store.revision
    store.set_state("a", "x", 2)
    store.set_state("a", "new", "gone after restore")
    store.set_state("b", "y", True)
    heard: list[list[Change]] = []
    store.subscribe_batches(heard.append)
    handled: list[tuple[str, str, Any]] = []

    class Handler:
        def update_state(self, namespace: str, key: str, value: Any) -> None:
            handled.append((namespace, key, value))

        def remove_state(self, namespace: str, key: str) -> None:
            handled.append((namespace, key, "<removed>"))

    store.add_state_handler(Handler(), ["a", "b"])
    assert store.restore(mark) == 3
    assert store.snapshot() == {"a": {"same": "kept", "x": 1}}
    [run] = heard  # one batch
    assert {(c.namespace, c.key, c.value, c.removed, c.origin) for c in run} == {
        ("a", "new", None, True, "restore"),
        ("b", "y", None, True, "restore"),
        ("a", "x", 1, False, "restore"),
    }
    assert sorted(handled) == [("a", "new", "<removed>"), ("a", "x", 1), ("b", "y", "<removed>")]
    assert store.restore(store.revision) == 0  # nothing differs: nothing written
    assert store.restore(store.revision - 3) == 3  # the restore itself can be undone
    assert store.snapshot() == {"a": {"same": "kept", "x": 2, "new": "gone after restore"}, "b": {"y": True}}


def test_restore_tells_true_from_one_and_one_from_one_point_zero() -> None:
    store = StateStore()
    store.set_state("a", "flag", True)
    store.set_state("a", "n", 1.0)
    store.set_state("a", "flag", 1)
    store.set_state("a", "n", 1)
    store.restore(2)
    assert type(store.get_state("a", "flag")) is bool
    assert type(store.get_state("a", "n")) is float
    assert same([1, {"k": True}], [1, {"k": True}])
    assert not same([1, {"k": True}], [1, {"k": 1}])


def test_restore_of_some_namespaces_leaves_the_others() -> None:
    store = StateStore()
    store.set_state("a", "x", 1)
    store.set_state("b", "y", 1)
    store.set_state("a", "x", 2)
    store.set_state("b", "y", 2)
    assert store.restore(2, namespaces=["a"]) == 1
    assert store.snapshot() == {"a": {"x": 1}, "b": {"y": 2}}


def test_bad_restore_changes_nothing() -> None:
    store = StateStore(history=1)
    store.set_state("a", "x", 1)
    store.set_state("a", "x", 2)
    heard: list[Change] = []
    store.subscribe(heard.append)
    for bad, error in ((0, ValueError), (9, ValueError), ("1", TypeError), (1.0, TypeError)):
        with pytest.raises(error, match="revision"):
            store.restore(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="namespaces must be a list of str"):
        store.restore(1, namespaces="a")  # type: ignore[arg-type]
    assert (store.revision, store.snapshot(), heard) == (2, {"a": {"x": 2}}, [])


# ---- property: state_at and restore against snapshots taken as the store went ----------

VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.sampled_from([0.0, 1.0, 2.5]) | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("pq"), inner, max_size=2),
    max_leaves=5,
)
OPS = st.lists(
    st.tuples(st.sampled_from(["set", "remove", "batch"]), st.sampled_from("ab"), st.sampled_from("xyz"), VALUES),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(ops=OPS, capacity=st.integers(0, 15), seed=st.integers(0, 2**32 - 1))
def test_state_at_and_restore_match_the_snapshots_taken_along_the_way(
    ops: list[tuple[str, str, str, Any]], capacity: int, seed: int
) -> None:
    store = StateStore(history=capacity)

    class Echo:  # a handler's writes are queued behind the change that caused them
        def update_state(self, namespace: str, key: str, value: Any) -> None:
            if key == "z":
                store.set_state(namespace, "echo", value)

    echo = store.add_state_handler(Echo(), ["a"])
    snapshots: dict[int, dict[str, dict[str, Any]]] = {0: {}}
    rng = random.Random(seed)

    def write(kind: str, ns: str, key: str, value: Any) -> None:
        if kind == "remove":
            store.remove_state(ns, key)
        else:
            store.set_state(ns, key, value)
        snapshots[store.revision] = store.snapshot()

    for kind, ns, key, value in ops:
        if kind == "batch":
            with store.batch():
                for _ in range(rng.randint(1, 3)):
                    write(rng.choice(["set", "remove"]), rng.choice("ab"), rng.choice("xyz"), value)
            snapshots[store.revision] = store.snapshot()
        else:
            write(kind, ns, key, value)
    current = store.revision
    oldest = max(0, current - capacity)
    for revision, snapshot in snapshots.items():
        if revision >= oldest:
            assert store.state_at(revision) == snapshot, revision
        else:
            with pytest.raises(ValueError, match=f"revision {revision} is"):
                store.state_at(revision)
    assert echo is not None
    echo()  # restore writes ordinary changes: a handler that reacts would add its own writes
    kept = [r for r in snapshots if r >= oldest]
    target = rng.choice(kept)
    before = store.snapshot()
    store.restore(target)
    assert store.snapshot() == snapshots[target]
    if capacity > store.revision - current:  # the restore is undoable while its changes are kept
        store.restore(current)
        assert store.snapshot() == before


# ---- showing the store -------------------------------------------------------------


def test_repr_stays_short() -> None:
    store = StateStore()
    store.set_state("a", "x", "y" * 1000)
    assert repr(store) == "<StateStore revision=1 keys={'a': 1}>"


def test_html_table_shows_escaped_shortened_json_with_origin_and_revision() -> None:
    store = StateStore()
    store.set_state("ui<b>", "k&1", "<script>alert(1)</script>")
    store.set_state("a", "long", list(range(100)), origin="view:9")
    store.set_state("a", "long", list(range(100)), origin="view:7")
    html = store._repr_html_()
    assert "<script>" not in html
    assert "<td>ui&lt;b&gt;</td><td>k&amp;1</td>" in html
    assert "&quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;" in html
    assert "<td>python</td><td>1</td>" in html
    assert "<td>view:7</td><td>3</td>" in html
    assert "[0, 1, 2, 3" in html and "\u2026</code>" in html
    assert "revision 3, 2 keys, 3 change(s) kept" in html
    assert "<th>namespace</th><th>key</th><th>value</th><th>origin</th><th>revision</th>" in html


def test_table_follows_removals_and_caps_its_rows() -> None:
    store = StateStore(history=MAX_ROWS + 7)
    for i in range(MAX_ROWS + 5):
        store.set_state("n", f"k{i}", i)
    store.remove_state("n", "k0")
    store.set_state("n", "k0", "back", origin="view:2")
    html = store._repr_html_()
    assert html.count("<tr><td>n</td>") == MAX_ROWS
    assert "\u2026 and 5 more keys" in html
    text = pretty(store)
    assert text.startswith(f"StateStore revision={MAX_ROWS + 7}, {MAX_ROWS + 5} keys\n  n.k1 = 1  (python, r2)")
    assert text.endswith("\u2026 and 5 more keys")
    few = StateStore()
    few.set_state("n", "k0", 1)
    few.remove_state("n", "k0")
    few.set_state("n", "k0", "back", origin="view:2")
    assert pretty(few) == 'StateStore revision=3, 1 key\n  n.k0 = "back"  (view:2, r3)'


def test_the_table_reads_origin_and_revision_from_the_kept_history() -> None:
    """Nothing is recorded for the table: a key whose last write the history no longer holds shows its value only."""
    store = StateStore(history=2)
    store.set_state("n", "old", 1)
    store.set_state("n", "a", 2, origin="view:1")
    store.set_state("n", "b", 3)
    assert (
        pretty(store) == "StateStore revision=3, 3 keys\n  n.old = 1\n  n.a = 2  (view:1, r2)\n  n.b = 3  (python, r3)"
    )
    assert '<td>old</td><td style="text-align:left"><code>1</code></td><td></td><td></td></tr>' in store._repr_html_()
    off = StateStore(history=0)
    off.set_state("n", "k", [1, 2])
    assert pretty(off) == "StateStore revision=1, 1 key\n  n.k = [1, 2]"


def test_pretty_text_of_an_empty_store() -> None:
    assert pretty(StateStore()) == "StateStore revision=0, 0 keys"


def test_writes_from_many_threads_are_kept_in_the_store_order() -> None:
    store = StateStore(history=10_000)

    def writer(name: str) -> None:
        for i in range(300):
            store.set_state("t", name, i)
            if i % 7 == 0:
                store.remove_state("t", name)

    threads = [threading.Thread(target=writer, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    kept = store.history()
    assert [e.change.revision for e in kept] == list(range(1, store.revision + 1))
    assert store.state_at(0) == {}
    assert store.state_at(store.revision) == store.snapshot()


def test_removing_a_missing_key_is_no_history() -> None:
    store = StateStore()
    assert not store.remove_state("a", "x")
    assert store.history() == []
