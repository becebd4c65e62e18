import logging
import threading

import pytest

from pytonium_lab import Change, StateStore


class Recorder:
    def __init__(self):
        self.calls = []

    def update_state(self, namespace, key, value):
        self.calls.append(("update", namespace, key, value))

    def remove_state(self, namespace, key):
        self.calls.append(("remove", namespace, key))


@pytest.fixture
def store():
    return StateStore()


def test_set_get_remove(store):
    store.set_state("user", "name", "Alice")
    assert store.get_state("user", "name") == "Alice"
    assert store.get_state("user", "missing") is None
    assert store.get_state("user", "missing", default=7) == 7
    assert ("user", "name") in store
    assert store.remove_state("user", "name") is True
    assert store.remove_state("user", "name") is False
    assert store.get_state("user", "name") is None
    assert store.namespaces() == []


def test_spec_example_values_and_listing(store):
    store.set_state("user", "name", "Alice")
    store.set_state("user", "score", 42)
    store.set_state("settings", "theme", "dark")
    stats = {"cpu": 45.2, "memory": 68.1, "processes": ["python", "chrome", "vscode"]}
    store.set_state("dashboard", "stats", stats)
    assert store.namespaces() == ["user", "settings", "dashboard"]
    assert store.keys("user") == ["name", "score"]
    assert store.keys("nothing") == []
    assert store.snapshot() == {
        "user": {"name": "Alice", "score": 42},
        "settings": {"theme": "dark"},
        "dashboard": {"stats": stats},
    }
    assert store.snapshot(["settings"]) == {"settings": {"theme": "dark"}}


def test_values_are_stored_by_value(store):
    value = {"items": [1, 2]}
    store.set_state("ns", "k", value)
    value["items"].append(3)
    got = store.get_state("ns", "k")
    got["items"].append(4)
    snap = store.snapshot()
    snap["ns"]["k"]["items"].append(5)
    assert store.get_state("ns", "k") == {"items": [1, 2]}


def test_bool_stays_bool(store):
    store.set_state("ns", "flag", True)
    assert store.get_state("ns", "flag") is True


def _nested(depth):
    value = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("args", "error", "words"),
    [
        (("", "k", 1), ValueError, "namespace"),
        (("ns", 3, 1), TypeError, "key must be a str"),
        (("settings", "volume", [1, 2, {"x": float("nan")}]), ValueError, r"settings\.volume\[2\]\.x"),
        (("settings", "volume", 2**60), ValueError, r"settings\.volume"),
        (("settings", "volume", {1, 2}), TypeError, r"settings\.volume: set"),
        (("settings", "volume", _nested(10_000)), ValueError, r"settings\.volume\[0\]\[0\].*more than \d+ levels"),
    ],
)
def test_rejected_writes_leave_store_unchanged_and_notify_nobody(store, args, error, words):
    store.set_state("settings", "volume", 75)
    seen = []
    store.subscribe(seen.append)
    before = (store.snapshot(), store.revision)
    with pytest.raises(error, match=words):
        store.set_state(*args)
    assert (store.snapshot(), store.revision) == before
    assert seen == []


def test_handler_is_called_immediately_for_its_namespaces(store):
    handler = Recorder()
    store.add_state_handler(handler, namespaces=["dashboard", "settings"])
    store.set_state("dashboard", "cpu", 1.5)
    assert handler.calls == [("update", "dashboard", "cpu", 1.5)]
    store.set_state("user", "name", "x")
    store.set_state("settings", "theme", "dark")
    store.remove_state("settings", "theme")
    assert handler.calls[1:] == [("update", "settings", "theme", "dark"), ("remove", "settings", "theme")]


def test_handler_without_update_state_warns_and_is_ignored(store):
    class NoUpdate:
        pass

    with pytest.warns(UserWarning, match="NoUpdate has no update_state"):
        assert store.add_state_handler(NoUpdate(), ["ns"]) is None
    store.set_state("ns", "k", 1)  # nothing to call, nothing raised


def test_handler_without_remove_state_is_skipped_on_removal(store):
    calls = []

    class OnlyUpdate:
        def update_state(self, namespace, key, value):
            calls.append(value)

    store.add_state_handler(OnlyUpdate(), ["ns"])
    store.set_state("ns", "k", 1)
    store.remove_state("ns", "k")
    assert calls == [1]


def test_namespaces_must_be_a_list_not_a_str(store):
    with pytest.raises(TypeError, match="list of str"):
        store.add_state_handler(Recorder(), "settings")
    with pytest.raises(ValueError, match="must not be empty"):
        store.subscribe(print, [""])
    with pytest.raises(TypeError, match="namespaces must be str, got int"):
        store.add_state_handler(Recorder(), ["ok", 3])


def test_subscribe_change_objects_and_unsubscribe(store):
    seen = []
    unsubscribe = store.subscribe(seen.append, ["a"])
    store.set_state("a", "x", 1)
    store.set_state("b", "x", 2)
    store.remove_state("a", "x", origin="view:abc")
    unsubscribe()
    store.set_state("a", "x", 3)
    assert seen == [
        Change("a", "x", 1, False, "python", 1),
        Change("a", "x", None, True, "view:abc", 3),
    ]


def test_a_subscription_unsubscribes_once_whichever_way(store):
    handler = Recorder()
    by_call = store.add_state_handler(handler, ["a"])
    by_method = store.subscribe(print, ["a"])
    assert by_call.active and by_method.active
    by_call()
    by_method.unsubscribe()
    by_call()  # idempotent, both ways
    by_method()
    store.set_state("a", "x", 1)
    assert handler.calls == [] and not by_call.active and not by_method.active


def test_a_subscription_shows_itself_as_a_plain_line(store):
    """A cell's last line displays it (Voila prints it atop the dashboard): one short text line."""
    from IPython.core.formatters import DisplayFormatter

    some = store.subscribe(print, ["settings", "demo"])
    every = store.subscribe_batches(print)
    assert repr(some) == "<Subscription to ['demo', 'settings'] (active)>"
    assert repr(every) == "<Subscription to all namespaces (active)>"
    every()
    assert repr(every) == "<Subscription to all namespaces (inactive)>"
    handler = store.add_state_handler(Recorder(), ["settings"])
    assert DisplayFormatter().format(handler) == ({"text/plain": "<Subscription to ['settings'] (active)>"}, {})


def test_each_subscriber_gets_its_own_copy(store):
    got = []

    def mutating(change):
        change.value.append("mutated")
        got.append(change.value)

    store.subscribe(mutating)
    store.subscribe(lambda change: got.append(list(change.value)))
    store.set_state("ns", "k", [1])
    assert got == [[1, "mutated"], [1]]
    assert store.get_state("ns", "k") == [1]


def test_revision_grows_with_every_change(store):
    revisions = []
    store.subscribe(lambda c: revisions.append(c.revision))
    for i in range(5):
        store.set_state("ns", "k", i)
    store.remove_state("ns", "k")
    assert revisions == [1, 2, 3, 4, 5, 6]
    assert store.revision == 6


def test_handler_writes_are_delivered_after_in_order_without_recursion(store):
    order = []

    class Chain:
        def update_state(self, namespace, key, value):
            order.append((self.name, key, value))
            if self.name == "first" and key == "a" and value < 50:
                store.set_state(namespace, "a", value + 1)
                store.set_state(namespace, "b", value)

    first, second = Chain(), Chain()
    first.name, second.name = "first", "second"
    store.add_state_handler(first, ["ns"])
    store.add_state_handler(second, ["ns"])
    store.set_state("ns", "a", 0)  # 50 levels deep if it recursed: it must not
    # Everyone hears change n before anyone hears change n+1.
    names = [o[0] for o in order]
    assert names == ["first", "second"] * (len(order) // 2)
    assert [o[1:] for o in order[::2]][:4] == [("a", 0), ("a", 1), ("b", 0), ("a", 2)]
    assert store.get_state("ns", "a") == 50


def test_a_raising_handler_is_logged_and_others_still_run(store, caplog):
    calls = []

    class Broken:
        def update_state(self, namespace, key, value):
            raise RuntimeError("boom")

    store.add_state_handler(Broken(), ["ns"])
    store.subscribe(calls.append)
    with caplog.at_level(logging.ERROR, logger="pytonium_lab"):
        store.set_state("ns", "k", 1)
    assert len(calls) == 1
    assert store.get_state("ns", "k") == 1
    assert "boom" in caplog.text and "ns.k" in caplog.text
    store.set_state("ns", "k", 2)  # the store still delivers afterwards
    assert len(calls) == 2


def test_batch_delays_and_keeps_order(store):
    seen = []
    lists = []
    store.subscribe(lambda c: seen.append((c.key, c.value)))
    store.subscribe_batches(lambda changes: lists.append([(c.key, c.value) for c in changes]))
    with store.batch():
        store.set_state("ns", "a", 1)
        with store.batch():
            store.set_state("ns", "b", 2)
        store.remove_state("ns", "a")
        assert seen == [] and lists == []
        assert store.get_state("ns", "b") == 2  # reads see writes at once
    assert seen == [("a", 1), ("b", 2), ("a", None)]
    assert lists == [[("a", 1), ("b", 2), ("a", None)]]


def test_batch_delivers_even_if_the_block_raises(store):
    seen = []
    store.subscribe(seen.append)

    def write_then_raise():
        with store.batch():
            store.set_state("ns", "a", 1)
            raise KeyError("x")

    with pytest.raises(KeyError):
        write_then_raise()
    assert len(seen) == 1


def test_threads_lose_no_update(store):
    totals = []
    store.subscribe(lambda c: totals.append(c.revision))
    threads = [
        threading.Thread(target=lambda t=t: [store.set_state("ns", f"t{t}", i) for i in range(2000)]) for t in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.revision == 16000
    assert totals == list(range(1, 16001))  # delivered once each, in store order
    assert all(store.get_state("ns", f"t{t}") == 1999 for t in range(8))


def test_handler_writing_from_another_thread_meanwhile_is_ordered(store):
    seen = []
    started = threading.Event()

    class Slow:
        def update_state(self, namespace, key, value):
            seen.append(value)
            if value == "first":
                started.set()
                threading.Event().wait(0.05)

    store.add_state_handler(Slow(), ["ns"])
    writer = threading.Thread(target=lambda: store.set_state("ns", "k", "first"))
    writer.start()
    started.wait(2)
    store.set_state("ns", "k", "second")  # waits for the first delivery, then goes
    writer.join()
    assert seen == ["first", "second"]
