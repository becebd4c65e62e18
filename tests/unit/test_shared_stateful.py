"""Random writes to stores shared through a real redis-server, checked against a plain-dict model.

Two stores of one name (each with its own connection and reader thread, as two
processes would have) take turns writing: single sets and removals, and
``batch()`` blocks that mix sets and removals of the same keys. Values are any
state value: unicode, newlines and quotes in strings and in namespace and key
names, floats, nesting. After every step: the writer's state is the model at once
(``set_state`` returns once applied), the other store reaches it, and a store that
connects now starts from it (Redis's own copy, as a late joiner reads it). Both
stores' subscribers heard the same changes with the same revisions.
"""

import time
import uuid

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from pytonium_lab import StateStore

from .redis_server import RedisServer

NAMES = st.sampled_from(["a", "ns two", 'q"\\', "é\n☃"])  # JSON escapes inside field names too
KEYS = st.sampled_from(["x", "y", "line\nbreak", "ключ"])
TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=6)  # lone surrogates: refused, tested apart
VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)
OPS = st.lists(st.tuples(NAMES, KEYS, st.none() | VALUES, st.booleans()), min_size=1, max_size=8)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = RedisServer(tmp_path_factory.mktemp("redis"))
    yield srv
    srv.stop()


def wait_for(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.002)
    return True


def test_shared_stores_match_a_plain_dict_model(server):
    class SharedMachine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.name = f"prop-{uuid.uuid4().hex[:12]}"
            self.stores = [StateStore.connect(server.url, self.name) for _ in range(2)]
            self.heard = [[], []]
            for store, heard in zip(self.stores, self.heard, strict=True):
                store.subscribe(
                    lambda c, heard=heard: heard.append((c.revision, c.namespace, c.key, c.value, c.removed))
                )
            self.model: dict[tuple[str, str], object] = {}
            self.revision = 0

        def _apply_to_model(self, ns, key, value, remove):
            if remove:
                if (ns, key) in self.model:
                    del self.model[(ns, key)]
                    self.revision += 1
            else:
                self.model[(ns, key)] = value
                self.revision += 1

        @rule(which=st.integers(0, 1), ns=NAMES, key=KEYS, value=VALUES)
        def set(self, which, ns, key, value):
            self.stores[which].set_state(ns, key, value)
            self._apply_to_model(ns, key, value, False)

        @rule(which=st.integers(0, 1), ns=NAMES, key=KEYS)
        def remove(self, which, ns, key):
            existed = (ns, key) in self.model
            assert self.stores[which].remove_state(ns, key) is existed
            self._apply_to_model(ns, key, None, True)

        @rule(which=st.integers(0, 1), ops=OPS)
        def batch(self, which, ops):
            store = self.stores[which]
            with store.batch():
                for ns, key, value, remove in ops:
                    if remove:
                        store.remove_state(ns, key)
                    else:
                        store.set_state(ns, key, value)
            for ns, key, value, remove in ops:
                self._apply_to_model(ns, key, value, remove)

        @rule(which=st.integers(0, 1), ns=NAMES, key=KEYS)
        def refused(self, which, ns, key):
            before = self.stores[which].snapshot()
            with pytest.raises(ValueError, match="surrogate"):
                self.stores[which].set_state(ns, key, ["ok", "\ud800"])
            assert self.stores[which].snapshot() == before

        def _state(self):
            state: dict[str, dict[str, object]] = {}
            for (ns, key), value in self.model.items():
                state.setdefault(ns, {})[key] = value
            return state

        @invariant()
        def every_store_shows_the_model(self):
            expected = self._state()
            for store in self.stores:
                assert wait_for(lambda store=store: store.revision == self.revision), (store.revision, self.revision)
                assert store.snapshot() == expected
            late = StateStore.connect(server.url, self.name)
            try:
                assert late.revision == self.revision
                assert late.snapshot() == expected
            finally:
                late.close()
            assert self.heard[0] == self.heard[1]
            assert [c[0] for c in self.heard[0]] == list(range(1, self.revision + 1))

        def teardown(self):
            for store in self.stores:
                store.close()

    run_state_machine_as_test(
        SharedMachine,
        settings=settings(
            max_examples=40,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
