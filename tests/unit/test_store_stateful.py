"""Random sequences of store operations checked against a plain-dict model."""

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from pytonium_lab import StateStore

NAMESPACES = st.sampled_from(["a", "b", "c"])
KEYS = st.sampled_from(["x", "y", "z"])
VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=6,
)


class StoreMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.store = StateStore()
        self.model: dict[tuple[str, str], object] = {}
        self.expected: list[tuple] = []  # changes in the order subscribers must hear them
        self.subscribers: dict[int, tuple] = {}  # id -> (namespaces, heard list, unsubscribe)
        self.next_id = 0
        self.echo_key: tuple | None = None  # a handler that writes a follow-up change

    # ---- operations -----------------------------------------------------------

    def _record(self, ns, key, value, removed):
        """Apply one change to the model; returns the write the echo handler makes in reply."""
        if removed:
            if (ns, key) not in self.model:
                return []
            del self.model[(ns, key)]
        else:
            self.model[(ns, key)] = value
        self.expected.append((ns, key, None if removed else value, removed))
        if self.echo_key and not removed and (ns, key) == self.echo_key:
            return [(ns, "mirror", value, False)]
        return []

    def _apply(self, *changes):
        """Changes written by handlers are delivered after the ones that caused them."""
        queue = list(changes)
        while queue:
            queue.extend(self._record(*queue.pop(0)))

    @rule(ns=NAMESPACES, key=KEYS, value=VALUES)
    def set(self, ns, key, value):
        self.store.set_state(ns, key, value)
        self._apply((ns, key, value, False))

    @rule(ns=NAMESPACES, key=KEYS)
    def remove(self, ns, key):
        existed = (ns, key) in self.model
        assert self.store.remove_state(ns, key) is existed
        self._apply((ns, key, None, True))

    @rule(ops=st.lists(st.tuples(NAMESPACES, KEYS, VALUES, st.booleans()), max_size=6))
    def batch(self, ops):
        heard_before = {i: len(s[1]) for i, s in self.subscribers.items()}
        with self.store.batch():
            for ns, key, value, removed in ops:
                if removed:
                    self.store.remove_state(ns, key)
                else:
                    self.store.set_state(ns, key, value)
            # nobody hears anything inside the block
            assert {i: len(s[1]) for i, s in self.subscribers.items()} == heard_before
        self._apply(*ops)

    @rule(namespaces=st.none() | st.lists(NAMESPACES, min_size=1, max_size=2, unique=True))
    def subscribe(self, namespaces):
        heard: list = []
        unsubscribe = self.store.subscribe(lambda c: heard.append((c.namespace, c.key, c.value, c.removed)), namespaces)
        self.subscribers[self.next_id] = (namespaces, heard, unsubscribe, len(self.expected))
        self.next_id += 1

    @precondition(lambda self: self.subscribers)
    @rule(data=st.data())
    def unsubscribe(self, data):
        sid = data.draw(st.sampled_from(sorted(self.subscribers)))
        namespaces, heard, unsubscribe, start = self.subscribers.pop(sid)
        unsubscribe()
        self._check_heard(namespaces, heard, start)

    @precondition(lambda self: self.echo_key is None)
    @rule(ns=NAMESPACES, key=KEYS)
    def add_writing_handler(self, ns, key):
        store = self.store

        class Echo:
            def update_state(self, namespace, changed_key, value):
                if changed_key == key:
                    store.set_state(namespace, "mirror", value)

        store.add_state_handler(Echo(), [ns])
        self.echo_key = (ns, key)

    # ---- checks ---------------------------------------------------------------

    def _check_heard(self, namespaces, heard, start):
        wanted = [c for c in self.expected[start:] if namespaces is None or c[0] in namespaces]
        assert heard == wanted

    @invariant()
    def state_matches_model(self):
        snapshot = self.store.snapshot()
        flat = {(ns, k): v for ns, keys in snapshot.items() for k, v in keys.items()}
        assert flat == self.model

    @invariant()
    def subscribers_heard_every_change_in_order(self):
        for namespaces, heard, _, start in self.subscribers.values():
            self._check_heard(namespaces, heard, start)


StoreMachine.TestCase.settings = settings(max_examples=1500, stateful_step_count=30, deadline=None)
TestStore = StoreMachine.TestCase
