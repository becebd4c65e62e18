"""Every view converges: a seeded fuzzer over the real link and the real JS runtime.

One store; several widget links (some with namespace filters, some flushed by
a real timer thread, some by a schedule the test runs); several displays of
each, each a real ``createAppState`` runtime behind the real front-end relay
and model mirror (``jsviews.JSViews``, in node). The test owns every message
in flight and picks, at random, what happens next: Python writes, removals and
batches (on the main thread and from a background thread racing the
deliveries), flushes, page writes (also outside a view's filter), deliveries in
each direction, new displays and widgets, page reloads, re-hellos, and dropped
or reordered deliveries that force a resync.

Invariant, once every message is delivered: each display shows exactly the
store's state (its filtered part), its events tell that same state, and each
model's mirror holds it too. ``PYTONIUM_FUZZ_SEQUENCES`` sets how many
sequences run (default 2000).
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pytest

from pytonium_lab import StateStore
from pytonium_lab import _protocol as proto
from pytonium_lab._link import StoreLink

from .jsviews import JSViews, build_driver

NAMESPACES = ["a", "b", "c"]
KEYS = ["x", "y", "z"]
SEQUENCES = int(os.environ.get("PYTONIUM_FUZZ_SEQUENCES", "2000"))
STEPS = 40


@dataclass
class Widget:
    """The kernel side of one widget: its link and the comm's two directions."""

    link: StoreLink
    namespaces: list[str] | None
    to_front: deque[dict[str, Any]] = field(default_factory=deque)
    to_kernel: deque[dict[str, Any]] = field(default_factory=deque)
    scheduled: list[Callable[[], None]] = field(default_factory=list)


class Derive:
    """A spec handler that writes too (re-entrant delivery): c.z follows a.x."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def update_state(self, namespace: str, key: str, value: Any) -> None:
        if key == "x":
            self.store.set_state("c", "z", value)


class World:
    def __init__(self, seed: int, js: JSViews) -> None:
        self.rng = random.Random(seed)
        self.js = js
        self.seed = seed
        self.store = StateStore()
        self.widgets: dict[str, Widget] = {}
        self.pages: dict[str, deque[dict[str, Any]]] = {}  # display -> messages on their way to its page
        self.display_model: dict[str, str] = {}
        self.trace: list[str] = []
        self._ids = iter(range(10**9))
        if self.rng.random() < 0.5:
            self.store.add_state_handler(Derive(self.store), namespaces=["a"])
        for _ in range(self.rng.randint(1, 3)):
            self.new_widget()

    # ---- plumbing ------------------------------------------------------------------

    def _id(self, prefix: str) -> str:
        return f"s{self.seed}-{prefix}{next(self._ids)}"

    def route(self, out: list[dict[str, Any]]) -> None:
        for item in out:
            if item["to"] == "kernel":
                widget = self.widgets.get(item["m"])
                if widget is not None:
                    widget.to_kernel.append(item["msg"])
            elif item["v"] in self.pages:
                self.pages[item["v"]].append(item["msg"])

    def call(self, op: str, **fields: Any) -> Any:
        result, out = self.js.call(op, **fields)
        self.route(out)
        return result

    def value(self) -> Any:
        n = self.rng.randint(0, 99)
        return self.rng.choice([n, f"s{n}", [n, n + 1], {"v": n}, n / 4, True])

    def where(self) -> tuple[str, str]:
        return self.rng.choice(NAMESPACES), self.rng.choice(KEYS)

    # ---- the kernel side -----------------------------------------------------------

    def new_widget(self) -> None:
        m = self._id("m")
        names = None if self.rng.random() < 0.6 else self.rng.sample(NAMESPACES, self.rng.randint(1, 2))
        holder: list[Widget] = []

        def send(message: dict[str, Any]) -> None:  # the comm: JSON on the wire, in order
            holder[0].to_front.append(json.loads(proto.encode(message)))

        if self.rng.random() < 0.5:  # flushed by the real timer thread, as in a notebook
            link = StoreLink(self.store, send, namespaces=names, interval=self.rng.choice([0.0005, 0.002]))
            widget = Widget(link, names)
        else:  # flushed when the test says (a transport loop's next turn)
            scheduled: list[Callable[[], None]] = []
            link = StoreLink(self.store, send, namespaces=names, schedule=scheduled.append)
            widget = Widget(link, names, scheduled=scheduled)
        holder.append(widget)
        self.widgets[m] = widget
        self.call("model", m=m, uid=self._id("uid"), boot=json.loads(proto.encode(link.initial_snapshot())))
        for _ in range(self.rng.randint(1, 2)):
            self.display(m)

    def py_write(self) -> None:
        ns, key = self.where()
        if self.rng.random() < 0.75:
            self.store.set_state(ns, key, self.value())
        else:
            self.store.remove_state(ns, key)

    def py_batch(self) -> None:
        with self.store.batch():
            for _ in range(self.rng.randint(2, 5)):
                self.py_write()

    def py_thread(self) -> None:
        """Writes from a background thread while the main thread keeps delivering."""
        count = self.rng.randint(5, 60)
        values = [(self.where(), self.value()) for _ in range(count)]

        def burst() -> None:
            for (ns, key), value in values:
                self.store.set_state(ns, key, value)

        thread = threading.Thread(target=burst)
        thread.start()
        for _ in range(self.rng.randint(1, 6)):
            self.deliver_one()
        thread.join()

    def flush(self) -> None:
        widget = self.rng.choice(list(self.widgets.values()))
        if widget.scheduled and self.rng.random() < 0.7:
            widget.scheduled.pop(0)()
        else:
            widget.link.flush()  # a cell ended

    def deliver_kernel(self, widget: Widget) -> bool:
        if not widget.to_kernel:
            return False
        widget.link.receive(widget.to_kernel.popleft())
        return True

    # ---- the front end -------------------------------------------------------------

    def display(self, m: str | None = None) -> None:
        m = m or self.rng.choice(list(self.widgets))
        v = self._id("d")
        self.pages[v] = deque()
        self.display_model[v] = m
        self.call("display", m=m, v=v)

    def some_display(self) -> str | None:
        return self.rng.choice(list(self.pages)) if self.pages else None

    def deliver_front(self, m: str) -> bool:
        widget = self.widgets[m]
        if not widget.to_front:
            return False
        self.call("to_front", m=m, msg=widget.to_front.popleft())
        return True

    def deliver_page(self, v: str) -> bool:
        if not self.pages.get(v):
            return False
        self.call("to_page", v=v, msg=self.pages[v].popleft())
        return True

    def page_write(self) -> None:
        v = self.some_display()
        if v is None:
            return
        ns, key = self.where()
        if self.rng.random() < 0.8:
            self.call("set", v=v, ns=ns, key=key, value=self.value())
        else:
            self.call("remove", v=v, ns=ns, key=key)

    def lifecycle(self) -> None:
        v = self.some_display()
        roll = self.rng.random()
        if v is None or roll < 0.3:
            self.display()
        elif roll < 0.4 and len(self.widgets) < 4:
            self.new_widget()
        elif roll < 0.6 and len(self.pages) > 1:
            del self.pages[v]
            self.call("undisplay", v=v)
        elif roll < 0.85:
            if self.rng.random() < 0.5:
                self.pages[v].clear()  # what was on its way to the old page is gone with it
            self.call("reload", v=v)
        else:
            self.call("rehello", v=v)

    def fault(self) -> None:
        """Drop or reorder a delivery: views must notice and resynchronise."""
        if self.rng.random() < 0.3:
            queue = self.rng.choice(list(self.widgets.values())).to_front
        else:
            v = self.some_display()
            if v is None:
                return
            queue = self.pages[v]
        batches = [i for i, msg in enumerate(queue) if msg["t"] == "batch"]
        if not batches:
            return
        i = self.rng.choice(batches)
        if self.rng.random() < 0.5 or i + 1 >= len(queue):
            del queue[i]
        else:
            queue[i], queue[i + 1] = queue[i + 1], queue[i]

    def deliver_one(self) -> None:
        roll = self.rng.random()
        if roll < 0.35:
            self.deliver_kernel(self.rng.choice(list(self.widgets.values())))
        elif roll < 0.7:
            self.deliver_front(self.rng.choice(list(self.widgets)))
        else:
            v = self.some_display()
            if v is not None:
                self.deliver_page(v)

    # ---- the run -------------------------------------------------------------------

    STEPS: ClassVar[list[tuple[str, float]]] = [
        ("py_write", 5),
        ("py_batch", 1),
        ("py_thread", 0.7),
        ("flush", 2),
        ("deliver_one", 12),
        ("page_write", 4),
        ("lifecycle", 1.2),
        ("fault", 0.6),
    ]

    def step(self) -> None:
        names, weights = zip(*self.STEPS, strict=True)
        name = self.rng.choices(names, weights)[0]
        self.trace.append(name)
        getattr(self, name)()

    def settle(self) -> None:
        """Deliver everything; then one more write per namespace, so that every link
        sends a batch after the last fault (a view notices a lost batch at the next one),
        and deliver everything again."""
        self.deliver_all()
        for ns in NAMESPACES:
            self.store.set_state(ns, "y", "last")
        self.deliver_all()

    def deliver_all(self) -> None:
        """Deliver everything, in order, until nothing moves (timer flushes included)."""
        idle_rounds = 0
        for _ in range(2000):
            moved = False
            for m, widget in list(self.widgets.items()):
                while widget.scheduled:
                    widget.scheduled.pop(0)()
                    moved = True
                while self.deliver_kernel(widget):
                    moved = True
                while self.deliver_front(m):
                    moved = True
            for v in list(self.pages):
                while self.deliver_page(v):
                    moved = True
            if moved:
                idle_rounds = 0
                continue
            # A timer-thread flush may still be due (late on a loaded machine): wait for it.
            if any(w.link._pending or w.link._acks for w in self.widgets.values()):
                idle_rounds = 0
            else:
                idle_rounds += 1
                if idle_rounds == 2:
                    return
            time.sleep(0.003)
        raise AssertionError(f"seed {self.seed}: the views never settled (a hello storm?)")

    def check(self) -> None:
        state = self.store.snapshot()
        for v, m in self.display_model.items():
            if v not in self.pages:
                continue
            seen = self.call("state", v=v)
            want = flat(state, self.widgets[m].namespaces)
            context = f"seed {self.seed}, display {v} ({seen['view']}) of {m}, steps {self.trace}"
            assert seen["shown"] == want, f"{context}: shows {seen['shown']}, store has {want}"
            assert seen["events"] == seen["shown"], f"{context}: its events tell {seen['events']}"
        for m, widget in self.widgets.items():
            mirror = self.call("mirror", m=m)
            want = {ns: keys for ns, keys in state.items() if widget.namespaces is None or ns in widget.namespaces}
            assert mirror == json.loads(json.dumps(want)), (
                f"seed {self.seed}: the mirror of {m} holds {mirror}, store has {want}"
            )

    def close(self) -> None:
        for widget in self.widgets.values():
            widget.link.close()


def flat(state: dict[str, dict[str, Any]], namespaces: list[str] | None) -> dict[str, Any]:
    wanted = state if namespaces is None else {ns: state[ns] for ns in namespaces if ns in state}
    return json.loads(json.dumps({f"{ns}.{k}": v for ns, keys in wanted.items() for k, v in keys.items()}))


@pytest.fixture(scope="module")
def js(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JSViews]:
    bundle = build_driver(Path(tmp_path_factory.mktemp("fuzz")))
    views = JSViews(bundle)
    views.call("init", namespaces=NAMESPACES, keys=KEYS)
    yield views
    views.close()


def run_sequence(seed: int, js: JSViews) -> None:
    world = World(seed, js)
    try:
        for _ in range(STEPS):
            world.step()
        world.settle()
        world.check()
    finally:
        world.close()
        js.call("reset")


def test_every_view_converges(js: JSViews) -> None:
    failures = []
    for seed in range(SEQUENCES):
        try:
            run_sequence(seed, js)
        except AssertionError as exc:
            failures.append(str(exc))
    assert not failures, f"{len(failures)} of {SEQUENCES} sequences diverged; first: {failures[0]}"
