"""StateStore.connect(url, name): one store shared through a real redis-server (started per module)."""

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from urllib.parse import quote

import pytest
import trustme

from pytonium_lab import StateStore, _shared
from pytonium_lab._link import StoreLink
from pytonium_lab._shared import SharedStore

from .redis_server import RedisServer, free_port

WORKER = r"""
import json, sys, time
from pytonium_lab import StateStore
url, name, mode, idx = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
store = StateStore.connect(url, name)
seen = []
store.subscribe(lambda c: seen.append([c.revision, c.namespace, c.key, c.value, c.removed, c.origin]))
if mode == "snapshot":
    print(json.dumps({"state": store.snapshot(), "revision": store.revision}), flush=True)
    sys.exit(0)
if mode == "burst":  # write until killed
    print("ready", flush=True)
    i = 0
    while True:
        with store.batch():
            store.set_state("ns", "a", i)
            store.set_state("ns", "b", -i)
        store.set_state("ns", "c", i)
        i += 1
print("ready", flush=True)
sys.stdin.readline()  # go
origin = f"p{idx}"
for i in range(150):
    if i % 10 == 0:
        with store.batch():
            store.set_state("ns", f"k{i % 5}", [idx, i], origin=origin)
            store.set_state("ns", "shared", idx, origin=origin)
    elif i % 7 == 0:
        store.remove_state("ns", f"k{i % 5}", origin=origin)
    else:
        store.set_state("ns", f"k{i % 5}", [idx, i], origin=origin)
print("done", flush=True)
final = int(sys.stdin.readline())
deadline = time.monotonic() + 20
while store.revision < final and time.monotonic() < deadline:
    time.sleep(0.01)
print(json.dumps({"seen": seen, "state": store.snapshot(), "revision": store.revision}), flush=True)
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = RedisServer(tmp_path_factory.mktemp("redis"))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    srv = RedisServer(tmp_path_factory.mktemp("redis_tls"), tls=True)
    yield srv
    srv.stop()


@pytest.fixture
def stores():
    """Stores a test connects; closed afterwards."""
    opened = []
    yield opened
    for store in opened:
        store.close()


@pytest.fixture
def name(request):
    return request.node.name.replace("[", "_").replace("]", "")


def connect(stores, url, name, **kw):
    store = SharedStore(url, name, **kw) if kw else StateStore.connect(url, name)
    stores.append(store)
    return store


def wait_for(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.005)


def spawn(server, name, mode, idx=0):
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, server.url, name, mode, str(idx)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def redis_revision(server, name):
    return int(server.client().get(f"pytonium_lab:{{{name}}}:revision") or 0)


# ---- the API on a shared store -------------------------------------------------------


def test_set_state_is_ordered_applied_and_seen_by_others(server, stores, name):
    a, b = connect(stores, server.url, name), connect(stores, server.url, name)
    heard = []
    b.subscribe(heard.append)
    a.set_state("settings", "volume", 75)
    assert a.get_state("settings", "volume") == 75  # applied when set_state returns
    assert a.revision == 1
    with a.batch():
        a.set_state("settings", "theme", {"dark": [True, 1.5, "é\n"]}, origin="page")
        assert a.get_state("settings", "theme") is None  # sent at the end of the block
        a.remove_state("settings", "volume")
        a.remove_state("settings", "missing")  # no change
    assert a.revision == 3
    wait_for(lambda: b.revision == 3)
    assert b.snapshot() == a.snapshot() == {"settings": {"theme": {"dark": [True, 1.5, "é\n"]}}}
    assert [(c.key, c.removed, c.origin, c.revision) for c in heard] == [
        ("volume", False, "python", 1),
        ("theme", False, "page", 2),
        ("volume", True, "python", 3),
    ]
    assert a.remove_state("settings", "missing") is False
    assert a.revision == 3
    late = connect(stores, server.url, name)  # a late joiner gets the state and the revision
    assert late.snapshot() == a.snapshot()
    assert late.revision == 3
    with pytest.raises(ValueError, match="nan"):
        a.set_state("settings", "x", float("nan"))
    assert "SharedStore" in repr(a)


def test_handler_write_and_restore_work(server, stores, name):
    a, b = connect(stores, server.url, name), connect(stores, server.url, name)

    class Echo:
        def update_state(self, namespace, key, value):
            if key == "ping":
                b.set_state("ns", "pong", value + 1)  # a write from a handler on the reader thread

    b.add_state_handler(Echo(), ["ns"])
    a.set_state("ns", "ping", 1)
    wait_for(lambda: a.get_state("ns", "pong") == 2)
    a.set_state("ns", "ping", 10)
    assert a.restore(2) > 0
    wait_for(lambda: b.revision == a.revision)
    assert b.get_state("ns", "ping") == 1


def test_others_changes_arrive_promptly_while_this_store_writes_in_a_tight_loop(server, stores, name, monkeypatch):
    """The reader waits a little after reads of only its own writes: others' changes must still come soon.

    The wait is stretched to 0.5 s here so that what keeps the delay short is the writer
    ending it (the poke); with the real 5 ms wait a missing poke would cost too little to see.

    A delay counts from when the other store's write returned, that is from when Redis had
    ordered it: the test's redis-server fsyncs every write, and CI runs four Pythons' tests
    at once, so a write itself can wait on the disk for more than half a second (seen twice).
    """
    monkeypatch.setattr(_shared, "_QUIET", 0.5)
    busy, other = connect(stores, server.url, name), connect(stores, server.url, name)
    heard = {}  # the other store's write (its number) -> when the busy store's handler heard it
    written = {}  # its number -> when other.set_state returned

    class Heard:
        def update_state(self, namespace, key, value):
            heard[value] = time.perf_counter()

    busy.add_state_handler(Heard(), ["other"])
    stop = threading.Event()

    def write_now_and_then():
        n = 0
        while not stop.wait(0.03):
            n += 1
            other.set_state("other", "t", n)
            written[n] = time.perf_counter()

    thread = threading.Thread(target=write_now_and_then)
    thread.start()
    writes = 0
    start = time.monotonic()
    while time.monotonic() - start < 1.5:
        last_write_started = time.perf_counter()
        busy.set_state("busy", "n", writes)
        writes += 1
    stop.set()
    thread.join()
    wait_for(lambda: busy.revision == other.revision)
    assert busy.snapshot() == other.snapshot()  # every write arrived in the end
    # The poke comes from this store's next write: a write of the other store that returned
    # before this store's last write began was ordered before it, so it is poked for; one
    # ordered after waits out the quiet wait (0.5 s here, 5 ms for real; seen in CI: 479 ms).
    during = [n for n in heard if written[n] < last_write_started]
    assert len(during) >= 20, f"heard {len(during)} of the other store's {len(written)} writes in 1.5 s"
    delays = sorted((heard[n] - written[n]) * 1000 for n in during)
    assert delays[-1] < 150, f"the other store's writes arrived up to {delays[-1]:.1f} ms late: {delays[-5:]}"
    assert writes > 100


def test_bad_url_and_name(server, stores):
    for url in ("http://127.0.0.1:6379", "", 6379, None):
        with pytest.raises(ValueError, match="url"):
            StateStore.connect(url, "lab")
    for bad in ("", "a b", "x" * 201, 5, None, "{tag}"):
        with pytest.raises(ValueError, match="name"):
            StateStore.connect(server.url, bad)


def test_a_batch_larger_than_one_hset_call_is_one_change(server, stores, name):
    """The script sets at most 1,000 fields per HSET call: 2,500 take three calls, one stream entry."""
    a, b = connect(stores, server.url, name), connect(stores, server.url, name)
    with a.batch():
        for i in range(2500):
            a.set_state("big", f"k{i}", i)
    assert a.revision == 2500
    with a.batch():  # removals take the script's other path
        for i in range(0, 2500, 2):
            a.remove_state("big", f"k{i}")
        a.remove_state("big", "missing")
        a.set_state("big", "k0", "back")
    assert a.revision == 2500 + 1250 + 1
    expected = {"big": {"k0": "back", **{f"k{i}": i for i in range(1, 2500, 2)}}}
    wait_for(lambda: b.revision == a.revision)
    assert a.snapshot() == b.snapshot() == connect(stores, server.url, name).snapshot() == expected
    assert server.client().xlen(f"pytonium_lab:{{{name}}}:log") == 2


def test_bad_writes_name_the_key_and_change_nothing_here_or_in_redis(server, stores, name):
    a = connect(stores, server.url, name)
    a.set_state("ns", "kept", 1)
    bad = [
        (lambda: a.set_state("ns", "k", ["ok", "\ud800"]), ValueError, r"ns\.k: .*surrogates"),
        (lambda: a.set_state("ns", "\udfff", 1), ValueError, "surrogates"),
        (lambda: a.remove_state("\ud800", "k"), ValueError, "surrogates"),
        (lambda: a.set_state("ns", "k", 1, origin="\ud800"), ValueError, "origin .*surrogates"),
        (lambda: a.set_state("ns", "k", 1, origin=["page"]), TypeError, "origin must be a str, got list"),
        (lambda: a.set_state("ns", "k", 2**60), ValueError, r"ns\.k: int"),
        (lambda: a.set_state("ns", "", 1), ValueError, "key must not be empty"),
    ]
    for call, error, message in bad:
        with pytest.raises(error, match=message):
            call()
    with a.batch():  # a refused write in a block: the block's other writes still go
        a.set_state("ns", "in batch", True)
        with pytest.raises(ValueError, match="surrogates"):
            a.set_state("ns", "k", "\ud800")
    assert a.snapshot() == {"ns": {"kept": 1, "in batch": True}}
    assert a.revision == redis_revision(server, name) == 2
    assert len(server.client().hgetall(f"pytonium_lab:{{{name}}}:state")) == 2


def test_unreachable_at_connect_is_a_clear_error_at_once():
    url = f"redis://127.0.0.1:{free_port()}/0"
    start = time.monotonic()
    with pytest.raises(ConnectionError, match=f"Redis at {url}"):
        StateStore.connect(url, "lab")
    assert time.monotonic() - start < 3


def test_password(tmp_path, stores):
    srv = RedisServer(tmp_path, password="s3cret")
    try:
        store = connect(stores, srv.url, "pw")
        store.set_state("ns", "k", 1)
        assert srv.client().hget("pytonium_lab:{pw}:state", '["ns","k"]') == "1"
        with pytest.raises(ConnectionError, match=r"redis://:\*\*\*@127.0.0.1"):
            StateStore.connect(f"redis://:wrong@127.0.0.1:{srv.port}/0", "pw")
        with pytest.raises(ConnectionError):
            StateStore.connect(f"redis://127.0.0.1:{srv.port}/0", "pw")
    finally:
        srv.stop()


# ---- TLS (rediss://) ----------------------------------------------------------------


def test_rediss_url_with_the_ca_shares_a_store_over_tls(tls_server, stores, name):
    url = tls_server.url
    assert url.startswith("rediss://127.0.0.1:") and "?ssl_ca_certs=" in url
    a, b = connect(stores, url, name), connect(stores, url, name)
    heard = []
    b.subscribe(heard.append)
    a.set_state("ns", "k", {"tls": [1, 2]})
    wait_for(lambda: b.revision == 1)  # b's reader thread follows the stream over its own TLS connection
    assert b.get_state("ns", "k") == {"tls": [1, 2]}
    assert [(c.key, c.value, c.revision) for c in heard] == [("k", {"tls": [1, 2]}, 1)]
    b.set_state("ns", "back", 2)
    wait_for(lambda: a.get_state("ns", "back") == 2)
    in_redis = tls_server.client().hgetall(f"pytonium_lab:{{{name}}}:state")  # a TLS client: no plain port
    assert in_redis == {'["ns","k"]': '{"tls":[1,2]}', '["ns","back"]': "2"}
    assert redis_revision(tls_server, name) == 2
    other = spawn(tls_server, name, "snapshot")  # another process, connected with the same URL
    out = json.loads(other.stdout.readline())
    assert other.wait(10) == 0
    assert out == {"state": {"ns": {"k": {"tls": [1, 2]}, "back": 2}}, "revision": 2}


def _bad_tls_urls(server, tmp_path):
    """URLs of the TLS server that must not connect, and a pattern of what the error must say."""
    wrong_ca = str(tmp_path / "wrong_ca.pem")
    trustme.CA().cert_pem.write_to_path(wrong_ca)
    host_port = f"127.0.0.1:{server.port}/0"
    untrusted = r"CERTIFICATE_VERIFY_FAILED\] certificate verify failed: self.signed certificate in certificate chain"
    return [
        (f"rediss://{host_port}", untrusted),  # no ssl_ca_certs: the system's CAs only
        (f"rediss://{host_port}?ssl_ca_certs={quote(wrong_ca)}", untrusted),  # another trustme CA
        # the right CA, but the certificate is for 127.0.0.1: redis-py checks the host name by default
        (f"rediss://localhost:{server.port}/0?ssl_ca_certs={quote(server.ca_path)}", "Hostname mismatch"),
        (f"redis://{host_port}", "Connection reset by peer"),  # plain text to the TLS-only port
    ]


def test_untrusted_tls_and_plain_text_fail_at_connect_at_once(tls_server, tmp_path):
    for url, reason in _bad_tls_urls(tls_server, tmp_path):
        start = time.monotonic()
        with pytest.raises(ConnectionError, match=f"cannot reach Redis at {re.escape(url)}: .*{reason}"):
            StateStore.connect(url, "lab")
        assert time.monotonic() - start < 3, url


def test_password_over_rediss(tmp_path, stores):
    srv = RedisServer(tmp_path, password="s3cret", tls=True)
    try:
        assert srv.url.startswith("rediss://:s3cret@127.0.0.1:")
        store = connect(stores, srv.url, "pw")
        store.set_state("ns", "k", 1)
        assert srv.client().hget("pytonium_lab:{pw}:state", '["ns","k"]') == "1"
        wrong = srv.url.replace(":s3cret@", ":wrong@")
        with pytest.raises(
            ConnectionError, match=r"rediss://:\*\*\*@127\.0\.0\.1:\d+/0\?ssl_ca_certs=.*: invalid username-password"
        ):
            StateStore.connect(wrong, "pw")
        with pytest.raises(ConnectionError, match=r"Redis at rediss://127\.0\.0\.1:.*authenticated"):
            StateStore.connect(srv.url.replace(":s3cret@", ""), "pw")
    finally:
        srv.stop()


def test_kernel_loop_runs_remote_handlers_on_the_main_thread(server, stores, name):
    writer = connect(stores, server.url, name)
    threads = []

    async def main():
        store = connect(stores, server.url, name)  # a running loop on the main thread, as in a kernel
        store.subscribe(lambda change: threads.append(threading.current_thread()))
        await asyncio.to_thread(writer.set_state, "ns", "k", 1)
        for _ in range(500):
            if threads:
                break
            await asyncio.sleep(0.01)

    asyncio.run(main())
    assert threads == [threading.main_thread()]


def test_store_link_on_a_shared_store_shows_another_stores_write(server, stores, name):
    a, b = connect(stores, server.url, name), connect(stores, server.url, name)
    sent = []
    link = StoreLink(b, sent.append, interval=0.01)
    try:
        a.set_state("settings", "volume", 42)
        wait_for(lambda: "42" in json.dumps(sent))
    finally:
        link.close()


# ---- many processes ------------------------------------------------------------------


def test_three_processes_converge_to_one_state_and_one_order(server, name):
    procs = [spawn(server, name, "write", idx) for idx in range(3)]
    try:
        for proc in procs:
            assert proc.stdout.readline().strip() == "ready"
        for proc in procs:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        for proc in procs:
            assert proc.stdout.readline().strip() == "done"
        final = redis_revision(server, name)
        for proc in procs:
            proc.stdin.write(f"{final}\n")
            proc.stdin.flush()
        results = [json.loads(proc.stdout.readline()) for proc in procs]
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
    assert all(r["revision"] == final for r in results)
    assert results[0]["seen"] == results[1]["seen"] == results[2]["seen"]
    assert [s[0] for s in results[0]["seen"]] == list(range(1, final + 1))
    assert {s[5] for s in results[0]["seen"]} == {"p0", "p1", "p2"}
    assert results[0]["state"] == results[1]["state"] == results[2]["state"]
    fresh = StateStore.connect(server.url, name)
    try:
        assert fresh.snapshot() == results[0]["state"]
    finally:
        fresh.close()


def test_a_writer_killed_mid_burst_leaves_the_others_consistent(server, stores, name):
    follower = connect(stores, server.url, name)
    heard = []
    follower.subscribe(lambda c: heard.append(c.revision))
    proc = spawn(server, name, "burst")
    assert proc.stdout.readline().strip() == "ready"
    wait_for(lambda: follower.revision > 300)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    wait_for(lambda: follower.revision == redis_revision(server, name))
    assert heard == list(range(1, follower.revision + 1))
    state = follower.snapshot()
    assert state["ns"]["b"] == -state["ns"]["a"]  # a batch is all or nothing
    rejoined = spawn(server, name, "snapshot")  # its restart rejoins the current state
    out = json.loads(rejoined.stdout.readline())
    rejoined.wait(10)
    assert out == {"state": state, "revision": follower.revision}


# ---- faults --------------------------------------------------------------------------


def test_redis_killed_and_restarted_loses_no_acknowledged_write(tmp_path, stores, name):
    srv = RedisServer(tmp_path)
    try:
        writer, follower = connect(stores, srv.url, name), connect(stores, srv.url, name)
        heard = []
        follower.subscribe(heard.append)
        acked = {}
        failures = []
        successes = []
        stop = threading.Event()

        def write():
            i = 0
            while not stop.is_set():
                i += 1
                key = f"k{i % 3}"
                try:
                    writer.set_state("ns", key, i)
                    acked[key] = i
                    successes.append(i)
                except ConnectionError as error:
                    failures.append(str(error))
                    time.sleep(0.01)

        thread = threading.Thread(target=write)
        thread.start()
        wait_for(lambda: len(acked) == 3 and writer.revision > 100)
        srv.kill()
        wait_for(lambda: failures)
        assert f"Redis at {srv.url}" in failures[0]
        before = writer.snapshot()
        srv.start()
        done = len(successes)
        wait_for(lambda: len(successes) > done + 50)  # the writer's store reconnected by itself
        stop.set()
        thread.join()
        wait_for(lambda: follower.revision == writer.revision == redis_revision(srv, name))
        in_redis = StateStore.connect(srv.url, name)
        try:
            final = in_redis.snapshot()["ns"]
        finally:
            in_redis.close()
        assert final == follower.snapshot()["ns"] == writer.snapshot()["ns"]
        for key, value in acked.items():
            assert final[key] >= value  # every acknowledged write survived the crash
        assert before["ns"]  # reads served the last known state meanwhile
        assert heard[-1].revision == follower.revision
    finally:
        srv.stop()


def test_unreachable_redis_raises_and_leaves_the_store_unchanged(tmp_path, stores, name):
    srv = RedisServer(tmp_path)
    try:
        store = connect(stores, srv.url, name)
        store.set_state("ns", "k", 1)
        srv.kill()
        with pytest.raises(ConnectionError, match=f"Redis at {srv.url}"):
            store.set_state("ns", "k", 2)
        with pytest.raises(ConnectionError), store.batch():
            store.set_state("ns", "j", 2)
        assert store.snapshot() == {"ns": {"k": 1}}
        assert store.revision == 1
        assert store.get_state("ns", "k") == 1
        srv.start()
        store.set_state("ns", "k", 3)  # reconnects by itself
        assert store.get_state("ns", "k") == 3
        assert store.revision == 2
    finally:
        srv.stop()


def test_close_is_prompt_with_redis_up_or_gone(tmp_path, name):
    """close() ends the reader's blocking read at once (it used to wait for its 0.5 s timeout)."""
    srv = RedisServer(tmp_path)
    try:
        times = []
        for _ in range(5):
            store = StateStore.connect(srv.url, name)
            store.set_state("ns", "k", 1)
            time.sleep(0.05)  # the reader is in its blocking read now
            start = time.monotonic()
            store.close()
            times.append(time.monotonic() - start)
            assert not store._reader.is_alive()
            store.close()  # idempotent
            assert store.get_state("ns", "k") == 1  # the local state stays readable
        assert max(times) < 0.2, times
        store = StateStore.connect(srv.url, name)
        srv.kill()
        start = time.monotonic()
        store.close()
        assert time.monotonic() - start < 3.0
        assert not store._reader.is_alive()
    finally:
        srv.stop()


def test_a_process_behind_the_stream_cap_resyncs_from_a_snapshot(server, stores, name):
    writer = connect(stores, server.url, name, maxlen=10)
    slow = connect(stores, server.url, name)
    heard = []
    slow.subscribe(heard.append)
    writer.set_state("ns", "gone", 1)
    wait_for(lambda: slow.revision == 1)
    with slow._lock:  # the slow process's reader is stuck while the writer writes hundreds of changes
        for i in range(350):  # one stream entry each: Redis trims whole nodes of 100 entries
            writer.set_state("ns", f"k{i % 50}", i)
        writer.remove_state("ns", "gone")
    assert server.client().xlen(f"pytonium_lab:{{{name}}}:log") < 200
    wait_for(lambda: slow.revision == writer.revision)
    assert slow.snapshot() == writer.snapshot()
    assert any(c.origin == "resync" for c in heard)
    assert heard[-1].revision == writer.revision


def test_each_process_offers_its_own_bound_functions_to_its_own_views(server, stores, name):
    """Issue 16: functions are bound per store object, in the process that binds them; two
    connections to one shared store (two processes' stores) share the state, not the functions."""
    from pytonium_lab._calls import registry_of
    from pytonium_lab._link import StoreLink

    mine, theirs = connect(stores, server.url, name), connect(stores, server.url, name)
    registry_of(mine).bind([(len, "count", "")], "test")
    heard: list[dict] = []
    link = StoreLink(theirs, heard.append)
    try:
        link.receive({"t": "call", "view": "view:b", "id": 1, "object": "", "name": "count", "args": [[1]]})
        assert heard[-1]["name"] == "ReferenceError"
        assert registry_of(theirs).functions() == []
        mine.set_state("s", "k", 1)
        wait_for(lambda: theirs.get_state("s", "k") == 1)
    finally:
        link.close()
