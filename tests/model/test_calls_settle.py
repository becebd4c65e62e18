"""Every call's Promise settles exactly once, whatever interleaving of calls, answers, aborts,
timeouts and disconnects happens (issue 16): a hypothesis state machine over the real
``createCalls`` (in node, ``js/test/fuzz/calls.ts``) and the real ``StoreLink``/``LinkCalls``.

The test owns every message in flight, the page's clock and the Python loop: it delivers
page -> Python and Python -> page messages in order (the transports are ordered), runs
the Python loop a step, releases ``async def`` calls, fires timers, aborts calls, and drops
the connection (a WebSocket closing: the link closes, what was in flight is lost, a new
link takes over) or disconnects the view for good (a notebook's kernel restart).

Invariant after every step: no Promise settled twice, and a resolved one holds its
function's result. After the run (every gate released, every message delivered, every
timer fired): every Promise settled, and nothing waits on either side.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

from pytonium_lab import StateStore
from pytonium_lab._calls import registry_of
from pytonium_lab._link import StoreLink

from .jsviews import JSViews, build_driver

KINDS = ["echo", "fail", "slow", "unknown", "wrong_count"]


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    page = JSViews(build_driver(tmp_path_factory.mktemp("calls-driver"), "calls.ts"))
    yield page
    page.close()


class Page:
    """The node driver, with its answers split into what it sent and what settled."""

    def __init__(self, views: JSViews) -> None:
        self.views = views

    def __call__(self, op: str, **fields: Any) -> tuple[Any, list, list]:
        proc = self.views._proc
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps({"op": op, **fields}) + "\n")
        answer = json.loads(proc.stdout.readline())
        if answer["error"]:
            raise RuntimeError(f"JS {op} failed: {answer['error']}")
        return answer.get("result"), answer["out"], answer["settled"]


def make_machine(views: JSViews) -> type[RuleBasedStateMachine]:
    page = Page(views)

    class Calls(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.loop = asyncio.new_event_loop()
            self.store = StateStore()
            self.gates: dict[int, asyncio.Future[int]] = {}

            def echo(value: Any) -> Any:
                return value

            def fail() -> None:
                raise KeyError("broken")

            async def slow(k: int) -> int:
                gate = self.gates.setdefault(k, self.loop.create_future())
                await gate
                return k

            registry = registry_of(self.store)
            registry.bind([(echo, "", "api"), (fail, "", "api"), (slow, "", "api")], "test")
            page("reset", functions=registry.functions())
            self.to_py: deque[dict] = deque()
            self.to_js: deque[dict] = deque()
            self.link = self._new_link()
            self.expected: dict[int, Any] = {}  # k -> the value it may resolve with
            self.settled: dict[int, tuple[str, Any]] = {}
            self.gone = False
            self.made = 0

        def _new_link(self) -> StoreLink:
            return StoreLink(self.store, self.to_js.append)

        def _py(self, fn) -> None:
            """Run ``fn`` inside the Python loop (as the kernel's main thread runs link messages)."""

            async def inside() -> None:
                fn()

            self.loop.run_until_complete(inside())

        def _page(self, op: str, **fields: Any) -> Any:
            result, out, settled = page(op, **fields)
            self.to_py.extend(out)
            for k, how, value in settled:
                assert k not in self.settled, f"call {k} settled twice: {self.settled[k]} then {(how, value)}"
                self.settled[k] = (how, value)
                if how == "ok":
                    assert k in self.expected and value == self.expected[k], (k, value)
            return result

        @rule(kind=st.sampled_from(KINDS), abort=st.booleans(), timeout=st.sampled_from([None, 10, 50]))
        def call(self, kind: str, abort: bool, timeout: int | None) -> None:
            k = self.made  # the driver numbers the calls of a run 0, 1, 2, ...
            name = {"unknown": "nope", "wrong_count": "echo"}.get(kind, kind)
            args = {"echo": [[kind, k]], "slow": [k], "fail": [], "unknown": [], "wrong_count": []}[kind]
            assert self._page("call", object="api", name=name, args=args, abort=abort, timeout=timeout) == k
            self.made += 1
            if kind in ("echo", "slow"):
                self.expected[k] = args[0]

        @precondition(lambda self: self.made)
        @rule(data=st.data())
        def abort(self, data: st.DataObject) -> None:
            self._page("abort", k=data.draw(st.integers(0, self.made - 1)))

        @rule(ms=st.sampled_from([5, 20, 60]))
        def tick(self, ms: int) -> None:
            self._page("tick", ms=ms)

        @precondition(lambda self: self.to_py)
        @rule()
        def deliver_to_python(self) -> None:
            message = self.to_py.popleft()
            self._py(lambda: self.link.receive(message))

        @precondition(lambda self: self.to_js)
        @rule()
        def deliver_to_page(self) -> None:
            self._page("receive", msg=self.to_js.popleft())

        @rule()
        def step_python(self) -> None:
            self.loop.run_until_complete(asyncio.sleep(0))

        @precondition(lambda self: any(not g.done() for g in self.gates.values()))
        @rule()
        def release(self) -> None:
            for gate in self.gates.values():
                if not gate.done():
                    gate.set_result(None)
                    return

        @rule()
        def connection_drops(self) -> None:
            self.to_py.clear()
            self.to_js.clear()
            self.link.close()
            self._page("closed")
            self.link = self._new_link()

        @precondition(lambda self: not self.gone)
        @rule()
        def view_disconnected(self) -> None:
            self.gone = True
            self._page("disconnected")

        def teardown(self) -> None:
            try:
                for _ in range(50):
                    for gate in self.gates.values():
                        if not gate.done():
                            gate.set_result(None)
                    self.loop.run_until_complete(asyncio.sleep(0))
                    while self.to_py:
                        message = self.to_py.popleft()
                        self._py(lambda message=message: self.link.receive(message))
                    self.loop.run_until_complete(asyncio.sleep(0))
                    while self.to_js:
                        self._page("receive", msg=self.to_js.popleft())
                    self._page("tick", ms=1000)
                    quiet = not self.to_py and not self.to_js and not self.link.calls._running
                    if quiet and self._page("pending") == 0:
                        break
                calls = set(range(self.made))
                assert set(self.settled) == calls, f"never settled: {sorted(calls - set(self.settled))}"
                assert self._page("pending") == 0
                assert not self.link.calls._running, "Python still runs calls nobody waits for"
            finally:
                self.link.close()
                self.loop.close()

    return Calls


def test_every_call_settles_exactly_once(driver):
    machine = make_machine(driver)
    machine.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
    machine.TestCase().runTest()
