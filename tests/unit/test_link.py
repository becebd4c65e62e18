import logging
import threading
import time

import pytest

from pytonium_lab import StateStore
from pytonium_lab._link import StoreLink

VIEW = "view:abc"


class Wire:
    """The view side of a link: records what the store sends."""

    def __init__(self):
        self.messages = []
        self.event = threading.Event()

    def __call__(self, message):
        self.messages.append(message)
        self.event.set()

    def of(self, kind):
        return [m for m in self.messages if m["t"] == kind]


@pytest.fixture
def store():
    return StateStore()


def test_hello_gets_a_snapshot_addressed_to_the_view(store):
    store.set_state("user", "name", "Alice")
    wire = Wire()
    link = StoreLink(store, wire)
    link.receive({"t": "hello", "view": VIEW})
    assert wire.messages == [
        {
            "t": "snapshot",
            "to": VIEW,
            "seq": 0,
            "rev": 1,
            "namespaces": None,
            "state": {"user": {"name": "Alice"}},
            "ack": 0,
        }
    ]


def test_writes_are_acked_in_the_batch_stream_and_in_snapshots(store):
    wire = Wire()
    link = StoreLink(store, wire, interval=10)
    link.receive({"t": "set", "view": VIEW, "ns": "ns", "key": "k", "value": 1, "id": 1})
    link.receive({"t": "set", "view": VIEW, "ns": "ns", "key": "k", "value": 2, "id": 2})
    link.receive({"t": "set", "view": "view:other", "ns": "ns", "key": "j", "value": 0, "id": 5})
    link.flush()
    first, second = wire.of("batch")
    # The leading-edge batch went out inside set_state, with the write's ack.
    assert first["changes"][0]["value"] == 1 and first["acks"] == {VIEW: 1}
    assert second["acks"] == {VIEW: 2, "view:other": 5}
    assert [(c["key"], c["value"]) for c in second["changes"]] == [("k", 2), ("j", 0)]
    link.receive({"t": "hello", "view": VIEW})
    assert wire.of("snapshot")[0]["ack"] == 2
    link.flush()
    assert len(wire.of("batch")) == 2  # acks are sent once


def test_a_refused_write_or_an_empty_removal_is_acked_at_once(store):
    wire = Wire()
    link = StoreLink(store, wire, interval=0)
    link.receive({"t": "set", "view": VIEW, "ns": "ns", "key": "k", "value": float("inf"), "id": 3})
    assert wire.of("error")[0]["id"] == 3
    assert wire.of("batch")[0]["acks"] == {VIEW: 3}
    link.receive({"t": "remove", "view": VIEW, "ns": "ns", "key": "nothing", "id": 4})
    assert wire.of("batch")[1] == {"t": "batch", "seq": 2, "changes": [], "acks": {VIEW: 4}}


def test_a_write_queued_behind_a_batch_is_acked_with_its_own_change(store):
    wire = Wire()
    link = StoreLink(store, wire, interval=0)
    with store.batch():
        store.set_state("ns", "k", 0)
        link.receive({"t": "set", "view": VIEW, "ns": "ns", "key": "k", "value": 1, "id": 1})
        assert wire.of("batch") == []  # no ack may run ahead of the change it covers
    [batch] = wire.of("batch")
    assert batch["acks"] == {VIEW: 1} and batch["changes"][0]["value"] == 1


def test_first_change_is_sent_at_once_then_bursts_coalesce(store):
    wire = Wire()
    # The interval is long enough that the 2,000 writes fit in it even on a loaded CI machine
    # (about 6 ms unloaded; with 0.05 s they did not always, and the burst split in two).
    link = StoreLink(store, wire, interval=1.0)
    store.set_state("ns", "a", 0)
    assert [m["seq"] for m in wire.of("batch")] == [1]
    started = time.monotonic()
    for i in range(1, 1000):
        store.set_state("ns", "a", i)
        store.set_state("ns", "b", -i)
    assert time.monotonic() - started < 1.0, "the writes took longer than the interval: nothing to coalesce"
    assert len(wire.of("batch")) == 1, "nothing leaves before the interval ends"
    deadline = time.monotonic() + 3
    while len(wire.of("batch")) < 2 and time.monotonic() < deadline:
        time.sleep(0.005)
    batches = wire.of("batch")
    assert len(batches) == 2, "2000 writes inside one interval fold into one trailing batch"
    assert batches[1]["seq"] == 2
    assert [(c["key"], c["value"]) for c in batches[1]["changes"]] == [("a", 999), ("b", -999)]
    link.close()


def test_flush_sends_pending_now(store):
    wire = Wire()
    link = StoreLink(store, wire, interval=10)
    store.set_state("ns", "a", 1)  # leading edge
    store.set_state("ns", "a", 2)  # pending for 10 s
    link.flush()
    assert [b["changes"][0]["value"] for b in wire.of("batch")] == [1, 2]
    link.flush()
    assert len(wire.of("batch")) == 2


def test_view_writes_reach_the_store_with_the_view_as_origin(store):
    wire = Wire()
    link = StoreLink(store, wire, interval=0)
    seen = []
    store.subscribe(seen.append)
    link.receive({"t": "set", "view": VIEW, "ns": "settings", "key": "volume", "value": 30, "id": 1})
    link.receive({"t": "remove", "view": VIEW, "ns": "settings", "key": "volume", "id": 2})
    assert [(c.origin, c.removed) for c in seen] == [(VIEW, False), (VIEW, True)]
    echoed = [c for b in wire.of("batch") for c in b["changes"]]
    assert [c["origin"] for c in echoed] == [VIEW, VIEW]


def test_bad_view_write_is_refused_with_an_error_naming_the_key(store, caplog):
    store.set_state("settings", "volume", 75)
    wire = Wire()
    link = StoreLink(store, wire)
    with caplog.at_level(logging.WARNING, logger="pytonium_lab"):
        link.receive({"t": "set", "view": VIEW, "ns": "settings", "key": "volume", "value": 2**60, "id": 7})
    assert store.get_state("settings", "volume") == 75
    [error] = wire.of("error")
    assert error["to"] == VIEW and error["id"] == 7
    assert "settings.volume" in error["message"]
    assert "settings.volume" in caplog.text


def test_namespace_filter_limits_what_a_view_sees_and_writes(store):
    store.set_state("secret", "k", 1)
    wire = Wire()
    link = StoreLink(store, wire, namespaces=["public"], interval=0)
    link.receive({"t": "hello", "view": VIEW})
    assert wire.of("snapshot")[0]["state"] == {}
    assert wire.of("snapshot")[0]["namespaces"] == ["public"]
    store.set_state("secret", "k", 2)
    assert wire.of("batch") == []
    link.receive({"t": "set", "view": VIEW, "ns": "secret", "key": "k", "value": 3, "id": 1})
    assert store.get_state("secret", "k") == 2
    assert "may only write to ['public']" in wire.of("error")[0]["message"]


def test_malformed_messages_are_logged_not_raised(store, caplog):
    wire = Wire()
    link = StoreLink(store, wire)
    with caplog.at_level(logging.WARNING, logger="pytonium_lab"):
        link.receive("hello")
        link.receive({"t": "explode"})
    assert "must be an object" in caplog.text and "explode" in caplog.text
    assert wire.messages == [] and store.snapshot() == {}


def test_chunked_write_is_applied_once_complete(store):
    from pytonium_lab._protocol import encode

    wire = Wire()
    link = StoreLink(store, wire)
    text = encode({"t": "set", "view": VIEW, "ns": "big", "key": "blob", "value": "x" * 1000, "id": 1})
    pieces = [text[i : i + 100] for i in range(0, len(text), 100)]
    for i, piece in enumerate(pieces):
        assert store.get_state("big", "blob") is None
        link.receive({"t": "chunk", "cid": "c", "i": i, "n": len(pieces), "data": piece})
    assert store.get_state("big", "blob") == "x" * 1000


def test_a_hello_keeps_pending_changes_for_the_other_views(store):
    """The issue's repro: batch 1 leaves, a second write waits in the interval, one view says hello."""
    wire = Wire()
    link = StoreLink(store, wire, interval=10)
    store.set_state("ns", "a", 1)  # sent at once (leading edge)
    store.set_state("ns", "a", 2)  # pending
    link.receive({"t": "hello", "view": VIEW})
    snapshot = wire.of("snapshot")[0]
    assert snapshot["state"] == {"ns": {"a": 2}} and snapshot["seq"] == 1
    link.flush()
    # Every other view still hears a = 2; the view that asked skips it (rev <= the snapshot's).
    second = wire.of("batch")[1]
    assert second["seq"] == 2 and second["changes"][0]["value"] == 2
    assert second["changes"][0]["rev"] <= snapshot["rev"]


def test_close_stops_sending(store):
    wire = Wire()
    link = StoreLink(store, wire, interval=0)
    link.close()
    store.set_state("ns", "a", 1)
    assert wire.messages == []


def test_views_converge_under_concurrent_writers(store):
    """Replaying batches over a snapshot gives the store's final state."""
    wire = Wire()
    link = StoreLink(store, wire, interval=0.001)
    link.receive({"t": "hello", "view": VIEW})

    def writer(n):
        for i in range(500):
            store.set_state("ns", f"k{i % 7}", n * 1000 + i)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    link.receive({"t": "hello", "view": VIEW})  # a resync in the middle
    for t in threads:
        t.join()
    time.sleep(0.05)
    link.flush()
    mirror: dict = {}
    expected_seq = None
    for message in wire.messages:
        if message["t"] == "snapshot":
            mirror = {ns: dict(keys) for ns, keys in message["state"].items()}
            expected_seq = message["seq"] + 1
        else:
            if message["seq"] != expected_seq:
                continue  # a batch the snapshot already covers
            expected_seq += 1
            for change in message["changes"]:
                mirror.setdefault(change["ns"], {})[change["key"]] = change["value"]
    assert mirror == store.snapshot()


def test_initial_snapshot_is_for_no_view_and_consistent_with_later_batches(store):
    store.set_state("ns", "a", 1)
    wire = Wire()
    link = StoreLink(store, wire, interval=10)
    boot = link.initial_snapshot()
    assert boot["to"] is None and boot["seq"] == 0 and boot["state"] == {"ns": {"a": 1}}
    assert wire.messages == []  # returned, not sent
    store.set_state("ns", "a", 2)
    assert wire.of("batch")[0]["seq"] == boot["seq"] + 1


def test_page_errors_are_logged_with_their_source_and_a_flood_is_cut(store, caplog):
    link = StoreLink(store, Wire())
    log = {"t": "log", "view": VIEW, "level": "error", "source": "about:srcdoc:12", "dropped": 0}
    with caplog.at_level(logging.WARNING, logger="pytonium_lab"):
        link.receive({**log, "message": "ReferenceError: d3 is not defined"})
        link.receive({**log, "level": "warn", "message": "careful", "source": ""})
        for i in range(500):
            link.receive({**log, "message": f"loop {i}"})
    records = [r for r in caplog.records if r.getMessage().startswith("page ")]
    assert records[0].levelno == logging.ERROR
    assert records[0].getMessage() == f"page {VIEW}: ReferenceError: d3 is not defined (about:srcdoc:12)"
    assert records[1].levelno == logging.WARNING and records[1].getMessage() == f"page {VIEW}: careful"
    assert len(records) <= 25  # a burst of 20, then ~10 a second
    time.sleep(0.2)
    with caplog.at_level(logging.WARNING, logger="pytonium_lab"):
        link.receive({**log, "message": "after", "dropped": 3})
    assert caplog.records[-1].getMessage().endswith("[" + str(500 - (len(records) - 2) + 3) + " more dropped]")


def test_a_log_message_must_say_its_level(store, caplog):
    link = StoreLink(store, Wire())
    with caplog.at_level(logging.WARNING, logger="pytonium_lab"):
        link.receive({"t": "log", "view": VIEW, "level": "info", "message": "hi"})
    assert "log: 'level' must be 'error' or 'warn', got 'info'" in caplog.text
