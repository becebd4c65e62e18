"""Calls from a page to Python (issue 16): the registry, the link's handling, the wire, the .d.ts.

The link is the real StoreLink; its ``send`` records what a view would receive.
"""

from __future__ import annotations

import asyncio
import gc
import json
import re
import threading
import time
import warnings

import pytest

from pytonium_lab import StateStore, returns_value_to_javascript
from pytonium_lab import _protocol as proto
from pytonium_lab._calls import CallBinding, offered_functions, registry_of
from pytonium_lab._link import StoreLink
from pytonium_lab._typescript import definitions

V = "view:a"


class Counter:
    def __init__(self) -> None:
        self.n = 0

    def add(self, step: int = 1) -> int:
        self.n += step
        return self.n


class Host(CallBinding):
    """What StateWidget and Pytonium add the binding API to: anything with a ``store``."""

    def __init__(self, store: StateStore) -> None:
        self.store = store


@pytest.fixture
def host():
    return Host(StateStore())


@pytest.fixture
def link(host):
    out: list[dict] = []
    made = StoreLink(host.store, out.append)
    made.out = out  # type: ignore[attr-defined]
    yield made
    made.close()


def call(link, call_id, name, *args, obj=""):
    link.receive({"t": "call", "view": V, "id": call_id, "object": obj, "name": name, "args": list(args)})


def answers(link, wait_for=0, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        flat = [a for m in link.out for a in (m["answers"] if m["t"] == "answers" else [m])]
        got = [m for m in flat if m["t"] in ("result", "callerror")]
        if len(got) >= wait_for or time.monotonic() > deadline:
            return got
        time.sleep(0.005)


def test_a_call_returns_its_result_to_the_calling_view(host, link):
    def add(a: int, b: int = 1) -> int:
        return a + b

    host.bind_function_to_javascript(add)
    call(link, 1, "add", 2)
    call(link, 2, "add", 2, 40)
    assert answers(link) == [
        {"t": "result", "to": V, "id": 1, "value": 3},
        {"t": "result", "to": V, "id": 2, "value": 42},
    ]


def test_failures_are_named_errors_at_once(host, link):
    def load(path: str) -> str:
        raise FileNotFoundError(f"no such file: {path}")

    host.bind_functions_to_javascript([load], javascript_object="files")
    call(link, 1, "load", "a.csv", obj="files")
    call(link, 2, "nope", obj="files")
    call(link, 3, "load", obj="files")
    call(link, 4, "load", float("nan"), obj="files")
    got = {m["id"]: (m["name"], m["message"]) for m in answers(link)}
    assert got[1] == ("FileNotFoundError", "no such file: a.csv")
    assert got[2] == ("ReferenceError", "Pytonium.files.nope is not bound (bound: files.load)")
    assert got[3] == ("TypeError", "files.load(): missing a required argument: 'path'")
    assert got[4][0] == "ValueError" and "files.load.arguments[0]" in got[4][1]


def test_a_result_that_is_no_state_value_is_a_named_error(host, link):
    host.bind_function_to_javascript(lambda: {1, 2}, name="bad")
    call(link, 1, "bad")
    [m] = answers(link)
    assert m["name"] == "TypeError" and "the result of bad(): bad.result: set is not a state value" in m["message"]


def test_the_calls_of_one_page_task_are_answered_in_one_message(host, link):
    host.bind_function_to_javascript(lambda x: x, name="echo")
    calls = [{"t": "call", "view": V, "id": i, "object": "", "name": "echo", "args": [i]} for i in (1, 2, 3)]
    link.out.clear()  # the functions message of the binding
    link.receive({"t": "calls", "view": V, "calls": calls})
    assert link.out == [{"t": "answers", "answers": [{"t": "result", "to": V, "id": i, "value": i} for i in (1, 2, 3)]}]
    link.receive({"t": "calls", "view": V, "calls": [{**calls[0], "view": "view:other"}]})  # another view's call
    assert len(link.out) == 1  # refused (logged), nothing ran


def test_sync_functions_run_on_the_thread_that_handles_the_views_messages(host, link):
    seen = []
    host.bind_function_to_javascript(lambda: seen.append(threading.current_thread()), name="where")
    call(link, 1, "where")
    assert seen == [threading.current_thread()]


def test_async_functions_run_on_our_own_loop_when_none_runs_and_many_at_once(host, link):
    async def slow(i: int) -> int:
        await asyncio.sleep(0.2)
        return i

    host.bind_function_to_javascript(slow)
    start = time.monotonic()
    for i in range(200):
        call(link, i + 1, "slow", i)
    got = answers(link, 200)
    assert sorted(m["value"] for m in got) == list(range(200))
    assert time.monotonic() - start < 2  # concurrently, not 200 x 0.2 s


def test_async_functions_run_on_the_running_loop_and_cancel_raises_cancelled_error(host, link):
    cancelled = []

    async def wait_forever() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.append(threading.current_thread())
            raise

    host.bind_function_to_javascript(wait_forever)

    async def main():
        call(link, 1, "wait_forever")
        await asyncio.sleep(0.05)
        link.receive({"t": "cancel", "view": V, "id": 1})
        await asyncio.sleep(0.05)

    asyncio.run(main())
    assert cancelled == [threading.current_thread()]
    assert [m["name"] for m in answers(link)] == ["AbortError"]


def test_closing_the_link_cancels_its_async_calls(host, link):
    started, cancelled = threading.Event(), threading.Event()

    async def hang() -> None:
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    host.bind_function_to_javascript(hang)
    call(link, 1, "hang")
    assert started.wait(5)
    link.close()
    assert cancelled.wait(5)
    assert answers(link) == []  # nobody listens any more


def test_a_call_cancelled_before_it_starts_leaves_no_never_awaited_warning(host, link):
    """The page gave up (or left) in the same loop turn as it called: nothing of it shows in the user's log."""

    async def later() -> int:
        return 1

    host.bind_function_to_javascript(later)

    async def main():
        call(link, 1, "later")
        link.receive({"t": "cancel", "view": V, "id": 1})  # before the task's first step
        await asyncio.sleep(0.01)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        asyncio.run(main())
        gc.collect()
    assert not [w for w in caught if "never awaited" in str(w.message)], [str(w.message) for w in caught]
    assert [m["name"] for m in answers(link)] == ["AbortError"]


def test_every_link_of_the_store_hears_the_bound_functions(host, link):
    other: list[dict] = []
    filtered = StoreLink(host.store, other.append, namespaces=["x"])
    try:
        link.receive({"t": "hello", "view": V})
        assert link.out[0]["t"] == "snapshot"  # nothing bound yet: hello is answered as before
        host.bind_function_to_javascript(len, name="count")
        wire = [{"object": "", "name": "count", "min": 1, "max": 1}]
        assert link.out[-1] == {"t": "functions", "functions": wire}
        assert other[-1] == {"t": "functions", "functions": wire}
        filtered.receive({"t": "hello", "view": "view:b"})
        assert [m["t"] for m in other[-2:]] == ["functions", "snapshot"]  # known before the page is ready
        assert host.unbind_from_javascript("count") is True
        assert other[-1] == {"t": "functions", "functions": []}
        assert host.unbind_from_javascript("count") is False
    finally:
        filtered.close()


def test_another_store_does_not_offer_them(host):
    host.bind_function_to_javascript(len, name="count")
    assert registry_of(StateStore()).functions() == []


@pytest.mark.parametrize(
    ("args", "error", "text"),
    [
        ((42,), TypeError, "the function must be callable, got int"),
        ((len, "not ok"), ValueError, "name must be a JavaScript identifier"),
        ((len, "appState"), ValueError, "'appState' is taken by the page's Pytonium object"),
        ((len, "n", "1x"), ValueError, "javascript_object must be a JavaScript identifier"),
        ((lambda: 1,), ValueError, "has no usable __name__; pass a name"),
    ],
)
def test_bad_bindings_are_refused_and_change_nothing(host, args, error, text):
    with pytest.raises(error, match=text):
        host.bind_function_to_javascript(*args)
    assert registry_of(host.store).functions() == []


def test_a_batch_binds_all_or_nothing_and_names_clash(host):
    with pytest.raises(ValueError, match="2 functions but 1 names"):
        host.bind_functions_to_javascript([len, abs], names=["a"])
    with pytest.raises(TypeError, match="names must be None or a list of str"):
        host.bind_functions_to_javascript([len], names="a")
    with pytest.raises(ValueError, match="name must be a JavaScript"):
        host.bind_functions_to_javascript([len, abs], names=["ok", "not ok"])
    assert registry_of(host.store).functions() == []
    host.bind_function_to_javascript(len, name="api")
    with pytest.raises(ValueError, match="'api' would be both a function and a javascript_object"):
        host.bind_function_to_javascript(abs, name="x", javascript_object="api")


def test_object_methods_bind_under_their_object(host, link):
    class Shell:
        def run(self, command: str) -> str:
            return f"ran {command}"

        def _private(self) -> None: ...

    host.bind_object_methods_to_javascript(Shell(), javascript_object="shell")
    assert registry_of(host.store).functions() == [{"object": "shell", "name": "run", "min": 1, "max": 1}]
    call(link, 1, "run", "ls", obj="shell")
    assert answers(link)[0]["value"] == "ran ls"
    with pytest.raises(ValueError, match="Shell has no method 'nope'"):
        host.bind_object_methods_to_javascript(Shell(), names=["nope"])


def test_twenty_megabytes_arrive_whole_both_ways(host, link):
    big = "é" * (10 * 1024 * 1024)  # 20 MB of UTF-8
    host.bind_function_to_javascript(lambda text: text + "!", name="echo")
    text = proto.encode({"t": "call", "view": V, "id": 1, "object": "", "name": "echo", "args": [big]})
    pieces = [text[i : i + proto.CHUNK_UNITS] for i in range(0, len(text), proto.CHUNK_UNITS)]
    for i, piece in enumerate(pieces):  # as js/src/protocol.ts frames() sends it
        link.receive({"t": "chunk", "cid": "view:a:1", "i": i, "n": len(pieces), "data": piece})
    frames = [m for m in link.out if m["t"] == "chunk"]
    assert len(frames) > 4 and all(m["to"] == V and len(proto.encode(m).encode()) < 4.5 * 2**20 for m in frames)
    whole = json.loads("".join(m["data"] for m in sorted(frames, key=lambda m: m["i"])))
    assert whole["t"] == "result" and whole["value"] == big + "!"


def test_typescript_definitions_follow_the_annotations(host, tmp_path):
    def load(path: str, limit: int | None = None) -> list[dict[str, float]]:
        return []

    @returns_value_to_javascript("string")
    def version():
        return "1"

    host.bind_functions_to_javascript([load, version], javascript_object="api")
    host.bind_function_to_javascript(len, name="count")
    text = definitions(registry_of(host.store).bound())
    assert (
        "load(path: string, limit?: number | null, options?: PytoniumCallOption): Promise<{ [key: string]: number }[]>;"
        in text
    )
    assert "version(options?: PytoniumCallOption): Promise<string>;" in text
    assert 'callFunction(name: "count", obj: PytoniumStateValue, options?: PytoniumCallOption)' in text
    host.generate_typescript_definitions(tmp_path / "pytonium.d.ts")
    assert (tmp_path / "pytonium.d.ts").read_text() == text
    with pytest.raises(ValueError, match=r"must end in \.d\.ts"):
        host.generate_typescript_definitions(tmp_path / "x.txt")
    with pytest.raises(TypeError, match="needs the return type"):
        returns_value_to_javascript(version)


def test_a_slow_sync_function_does_not_stop_state_from_flowing_to_the_views(host, link):
    seen_during: list[str] = []

    def slow() -> str:
        writer = threading.Thread(target=host.store.set_state, args=("demo", "tick", 1))
        writer.start()
        deadline = time.monotonic() + 5
        while not any(m["t"] == "batch" for m in link.out) and time.monotonic() < deadline:
            time.sleep(0.01)  # still inside the call: the batch must leave without us
        seen_during.extend(m["t"] for m in link.out)
        return "done"

    host.bind_function_to_javascript(slow)
    call(link, 1, "slow")
    assert "batch" in seen_during
    assert answers(link)[0]["value"] == "done"


def test_a_link_offers_only_the_functions_named_for_it(host):
    """A served class's links (serve(..., functions=[...])) offer and run only what they name."""
    host.bind_function_to_javascript(lambda n: n + 1, name="tally")
    host.bind_function_to_javascript(lambda: "secret", name="grades")
    host.bind_object_methods_to_javascript(Counter(), javascript_object="quiz")
    out: list = []
    link = StoreLink(host.store, out.append, functions=offered_functions("serve", ["tally", "quiz.add"]))
    try:
        assert [(f["object"], f["name"]) for f in link.calls.functions_message()["functions"]] == [
            ("", "tally"),
            ("quiz", "add"),
        ]
        link.receive({"t": "call", "view": "view:a", "id": 1, "object": "", "name": "grades", "args": []})
        link.receive({"t": "call", "view": "view:a", "id": 2, "object": "", "name": "tally", "args": [1]})
        answers = [m for m in out if m["t"] in ("result", "callerror", "answers")]
        flat = [a for m in answers for a in (m["answers"] if m["t"] == "answers" else [m])]
        refused = next(a for a in flat if a["id"] == 1)
        assert refused["t"] == "callerror" and refused["name"] == "ReferenceError"
        assert "grades is not bound (bound: tally, quiz.add)" in refused["message"]  # nothing else is even named
        assert next(a for a in flat if a["id"] == 2) == {"t": "result", "to": "view:a", "id": 2, "value": 2}
    finally:
        link.close()


@pytest.mark.parametrize(
    ("names", "error", "text"),
    [
        ("tally", TypeError, "functions must be a list of names"),
        ([3], TypeError, "functions must hold str names, got int 3"),
        (["a.b.c"], ValueError, "'a.b.c' is not 'name' or 'object.name'"),
        (["quiz.2x"], ValueError, "must be a JavaScript identifier"),
    ],
)
def test_offered_functions_are_checked(names, error, text):
    with pytest.raises(error, match=re.escape(text)):
        offered_functions("serve", names)
