"""store.serve(page) with real headless Chromium pages: identity, rights, own namespace, reload, close."""

from __future__ import annotations

import pytest

from pytonium_lab import StateStore

pytestmark = pytest.mark.e2e

READY = "() => window.PytoniumReady === true"


def open_page(browser, room):
    """A new browser (its own cookie jar: a new student) on the class's URL, once the runtime is ready."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(room.url)
    page.wait_for_function(READY, timeout=10_000)
    return page


def get(page, ns, key):
    return page.evaluate("([ns, key]) => Pytonium.appState.getState(ns, key)", [ns, key])


def test_a_class_of_browsers_with_rights_identity_and_own_answers(browser, classroom):
    store = StateStore()
    store.set_state("slide", "n", 1)
    heard = []
    store.subscribe(lambda change: heard.append((change.namespace, change.key, change.value, change.origin)))
    room = classroom(store, writable=["chat"], own="answers")
    alice, bob = open_page(browser, room), open_page(browser, room)
    assert get(alice, "slide", "n") == 1 and get(bob, "slide", "n") == 1
    ids = [c.id for c in room.clients]
    assert len(ids) == 2 and len(set(ids)) == 2

    # Python -> every page.
    store.set_state("slide", "n", 2)
    for page in (alice, bob):
        page.wait_for_function("() => Pytonium.appState.getState('slide', 'n') === 2", timeout=5000)

    # A read-only namespace: refused with an event the page sees, its copy returns to the store's value.
    alice.evaluate("() => Pytonium.appState.setState('slide', 'n', 99)")
    alice.wait_for_function("() => window.refused.length === 1", timeout=5000)
    refused = alice.evaluate("() => window.refused[0]")
    assert refused["namespace"] == "slide" and "read-only" in refused["message"]
    alice.wait_for_function("() => Pytonium.appState.getState('slide', 'n') === 2", timeout=5000)
    assert store.get_state("slide", "n") == 2 and get(bob, "slide", "n") == 2

    # A writable namespace: everyone sees it, as JavaScript's write; Python sees who wrote it.
    alice.evaluate("() => Pytonium.appState.setState('chat', 'last', 'hi')")
    bob.wait_for_function("() => Pytonium.appState.getState('chat', 'last') === 'hi'", timeout=5000)
    bob_saw = bob.evaluate("() => window.events.filter((e) => e.namespace === 'chat')")
    assert [(e["key"], e["origin"]) for e in bob_saw] == [("last", "javascript")]
    writer = [origin for ns, _, _, origin in heard if ns == "chat"]
    assert len(writer) == 1 and writer[0].startswith("client:") and writer[0][len("client:") :] in ids
    alice_id = writer[0][len("client:") :]
    # The writer's own echo fires no second event.
    alice.wait_for_timeout(200)
    assert len(alice.evaluate("() => window.events.filter((e) => e.namespace === 'chat')")) == 1

    # Own answers: each page writes its own; Python sees all of them, a page only its own.
    alice.evaluate("() => Pytonium.appState.setState('answers', 'choice', 'A')")
    bob.evaluate("() => Pytonium.appState.setState('answers', 'choice', 'B')")
    bob_id = next(i for i in ids if i != alice_id)
    deadline_check = lambda: room.answers("choice") == {alice_id: "A", bob_id: "B"}  # noqa: E731
    for _ in range(200):
        if deadline_check():
            break
        alice.wait_for_timeout(25)
    assert room.answers("choice") == {alice_id: "A", bob_id: "B"}
    assert store.snapshot(["answers"]) == {"answers": {f"{alice_id}/choice": "A", f"{bob_id}/choice": "B"}}
    alice.wait_for_timeout(200)
    assert get(alice, "answers", "choice") == "A" and get(bob, "answers", "choice") == "B"
    assert "B" not in str(alice.evaluate("() => window.events.map((e) => e.value)"))

    # A reload keeps the identity (cookie) and resumes from a snapshot with its own answer.
    alice.reload()
    alice.wait_for_function(READY, timeout=10_000)
    assert get(alice, "answers", "choice") == "A" and get(alice, "slide", "n") == 2
    assert sorted(c.id for c in room.clients) == sorted(ids)

    # close(): every client is disconnected, the port closed.
    room.close()
    assert room.closed and room.clients == []
    alice.wait_for_function("() => true")
    assert store.get_state("slide", "n") == 2


def test_pages_reconnect_after_a_network_blip_and_resume_from_a_snapshot(browser, classroom):
    store = StateStore()
    store.set_state("slide", "n", 1)
    room = classroom(store, writable=["chat"])
    page = open_page(browser, room)
    ids = [c.id for c in room.clients]
    server = room._server

    def drop_every_socket():  # the network blips: every connection is cut from the server's side
        for client in list(server.sockets):
            client.close(1001, "blip")
            client.release()

    page.evaluate("() => { window.closes = 0; }")
    server.call(drop_every_socket)
    store.set_state("slide", "n", 2)  # while the page is away
    page.wait_for_function("() => Pytonium.appState.getState('slide', 'n') === 2", timeout=10_000)
    assert [c.id for c in room.clients] == ids  # the same client (its cookie), on a new socket
    page.evaluate("() => Pytonium.appState.setState('chat', 'back', true)")
    for _ in range(100):
        if store.get_state("chat", "back"):
            break
        page.wait_for_timeout(20)
    assert store.get_state("chat", "back") is True


CALLS_PAGE = """<!doctype html><html><head><title>calls</title></head><body><script>
  window.seen = {atLoad: [typeof Pytonium.tally, typeof Pytonium.grades]};
  function ready() {
    Pytonium.callFunction("tally", 2).then((v) => { seen.tally = v; }, (e) => { seen.tally = "error " + e.name; });
    Pytonium.callFunction("grades").then((v) => { seen.grades = v; }, (e) => { seen.grades = e.name; });
  }
  if (window.PytoniumReady) ready(); else addEventListener("PytoniumReady", ready);
</script></body></html>"""


def test_a_class_calls_only_the_functions_serve_names(browser, classroom):
    """Bound functions reach served clients only when serve(..., functions=[...]) names them."""
    from pytonium_lab._calls import CallBinding

    class Binder(CallBinding):
        def __init__(self, store):
            self.store = store

    store = StateStore()
    binder = Binder(store)
    binder.bind_function_to_javascript(lambda n: n * 10, name="tally")
    binder.bind_function_to_javascript(lambda: {"alice": "A"}, name="grades")
    room = classroom(store, CALLS_PAGE, functions=["tally"])
    page = open_page(browser, room)
    page.wait_for_function("() => 'tally' in seen && 'grades' in seen", timeout=5000)
    seen = page.evaluate("() => seen")
    assert seen == {"atLoad": ["function", "undefined"], "tally": 20, "grades": "ReferenceError"}

    # By default a class offers none of them.
    closed = classroom(store, CALLS_PAGE)
    page = open_page(browser, closed)
    page.wait_for_function("() => 'tally' in seen && 'grades' in seen", timeout=5000)
    assert page.evaluate("() => seen") == {
        "atLoad": ["undefined", "undefined"],
        "tally": "error ReferenceError",
        "grades": "ReferenceError",
    }
