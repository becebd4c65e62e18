"""The inspector's Python side: the factory, its page, and the request handler in its private namespace."""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

import pytest

import pytonium_lab._page as page_module
import pytonium_lab.notebook._widget as widget_module
from pytonium_lab import StateStore, StateWidget
from pytonium_lab._inspector import MAX_CHANGES, MAX_TEXT, MAX_VIEWS, PAGES, PREFIX, Inspector, InspectorService

VIEW = "view:abc"


@pytest.fixture(autouse=True)
def stub_front_end(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(page_module, "runtime_source", lambda: "/*runtime*/")
    monkeypatch.setattr(widget_module, "_widget_esm", lambda: "export default {};")


@pytest.fixture
def store() -> StateStore:
    store = StateStore()
    store.set_state("settings", "volume", 75)  # r1
    store.set_state("settings", "theme", "dark")  # r2
    store.set_state("user", "name", "Alice")  # r3
    return store


def ask(store: StateStore, private: str, request: dict[str, Any], view: str = VIEW) -> Any:
    """Write a request as a page would; the handler answers before set_state returns."""
    store.set_state(private, "request", {"view": view, **request}, origin=view)
    return store.get_state(private, "answer." + view)


_ids = itertools.count()


def service(store: StateStore, namespaces: list[str] | None = None) -> InspectorService:
    return InspectorService(store, f"{PREFIX}test{next(_ids)}", namespaces)


# ---- the factory ----------------------------------------------------------------------


def test_store_inspector_is_a_state_widget_on_its_own_page(store: StateStore) -> None:
    ins = store.inspector()
    assert isinstance(ins, Inspector)
    assert isinstance(ins, StateWidget)
    assert ins.store is store
    assert ins.private.startswith(PREFIX)
    assert ins.namespaces is None  # the view sees everything
    assert store.get_state(ins.private, "namespaces") == ["settings", "user"]
    config = re.search(r'<script id="pytonium-inspector-config" type="application/json">(.*?)</script>', ins._srcdoc)
    assert config is not None
    assert json.loads(config.group(1)) == {"ns": ins.private, "namespaces": None}
    assert "registerForStateUpdates" in ins._srcdoc  # inspector.js inlined
    assert ".state" in ins._srcdoc  # inspector.css inlined
    assert "<script>/*runtime*/</script>" in ins._srcdoc


def test_namespaces_limit_the_view_to_them_and_the_private_namespace(store: StateStore) -> None:
    ins = store.inspector(["settings", "settings"], height=300)
    assert ins.namespaces == ["settings", ins.private]
    assert ins.inspected == ["settings"]
    assert ins.get_state()["height"] == "300px"
    assert store.get_state(ins.private, "namespaces") == ["settings"]


@pytest.mark.parametrize(
    ("namespaces", "error", "match"),
    [
        ("settings", TypeError, "list of str"),
        ([1], TypeError, "namespaces must be str"),
        ([""], ValueError, "empty"),
        ([], ValueError, "at least one namespace"),
        (42, TypeError, "namespaces must be None or a list of namespace names, got int"),
    ],
)
def test_bad_namespaces_raise_and_change_nothing(store: StateStore, namespaces: Any, error: type, match: str) -> None:
    before = (store.snapshot(), store.revision)
    with pytest.raises(error, match=match):
        store.inspector(namespaces)
    assert (store.snapshot(), store.revision) == before


def test_not_a_store_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="StateStore"):
        Inspector({})  # type: ignore[arg-type]


def test_config_cannot_end_its_script_element(store: StateStore) -> None:
    ins = store.inspector(["</script><script>alert(1)</script>"])
    assert "</script><script>alert(1)" not in ins._srcdoc
    assert "\\u003c/script>" in ins._srcdoc


def test_the_page_never_parses_state_as_html() -> None:
    script = (PAGES / "inspector.js").read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in script


def test_close_ends_the_handler_and_removes_the_private_keys(store: StateStore) -> None:
    ins = store.inspector()
    private = ins.private
    assert ask(store, private, {"id": 1, "op": "history"})["ok"]
    ins.close()
    assert private not in store.namespaces()
    store.set_state(private, "request", {"id": 2, "view": VIEW, "op": "history"})
    assert store.get_state(private, "answer." + VIEW) is None  # nobody answers
    store.set_state("later", "k", 1)
    assert store.get_state(private, "namespaces") is None


# ---- requests -------------------------------------------------------------------------


def test_history_lists_kept_revisions_and_the_newest_changes(store: StateStore) -> None:
    svc = service(store)
    store.set_state("settings", "volume", 80)  # r5 (r4: the namespaces list)
    store.remove_state("user", "name")  # r6
    answer = ask(store, svc.private, {"id": 7, "op": "history"})
    assert answer["id"] == 7
    assert answer["ok"] is True
    assert answer["op"] == "history"
    assert answer["current"] == 7  # the request is revision 7
    assert [r for r, _ in answer["revisions"]] == [0, 1, 2, 3, 5, 6]  # the private namespace's are left out
    assert answer["revisions"][0][1] is None
    newest = answer["changes"][0]
    assert newest == {
        "rev": 6,
        "time": newest["time"],
        "ns": "user",
        "key": "name",
        "origin": "python",
        "removed": True,
        "existed": True,
        "old": '"Alice"',
        "new": None,
    }
    assert answer["changes"][1]["old"] == "75"
    assert answer["changes"][1]["new"] == "80"
    assert answer["changes"][-1]["existed"] is False


def test_history_is_bounded_and_values_are_short_json_text() -> None:
    store = StateStore()
    for i in range(MAX_CHANGES + 20):
        store.set_state("big", "text", "x" * 1000 + str(i))
    svc = service(store)
    answer = ask(store, svc.private, {"id": 1, "op": "history"})
    assert len(answer["changes"]) == MAX_CHANGES
    assert len(answer["revisions"]) == MAX_CHANGES + 21
    assert all(len(c["new"]) == MAX_TEXT and c["new"].endswith("\u2026") for c in answer["changes"])


def test_history_starts_where_the_kept_window_starts() -> None:
    store = StateStore(history=5)
    for i in range(10):
        store.set_state("n", "i", i)
    svc = service(store)  # r11: the namespaces list
    answer = ask(store, svc.private, {"id": 1, "op": "history"})  # r12
    revisions = [r for r, _ in answer["revisions"]]
    assert revisions[0] == 7  # 12 - 5 kept
    assert revisions[1:] == [8, 9, 10]
    assert answer["current"] == 12
    # The answer is history too (r13): the window moved on, and an older request says so.
    assert store.state_at(revisions[1]) == {"n": {"i": 7}}
    late = ask(store, svc.private, {"id": 2, "op": "state_at", "revision": revisions[0]})
    assert late["ok"] is False
    assert "outside the kept history" in late["error"]


def test_state_at_shows_only_the_inspected_namespaces(store: StateStore) -> None:
    svc = service(store)
    other = service(store)  # another inspector's private namespace: hidden too
    store.set_state("settings", "volume", 80)
    answer = ask(store, svc.private, {"id": "a", "op": "state_at", "revision": 2})
    assert answer == {
        "id": "a",
        "op": "state_at",
        "ok": True,
        "revision": 2,
        "state": {"settings": {"volume": 75, "theme": "dark"}},
    }
    now = ask(store, svc.private, {"id": "b", "op": "state_at", "revision": store.revision})["state"]
    assert svc.private not in now
    assert other.private not in now
    assert now == {"settings": {"volume": 80, "theme": "dark"}, "user": {"name": "Alice"}}
    limited = service(store, ["user"])
    assert ask(store, limited.private, {"id": 1, "op": "state_at", "revision": 3})["state"] == {
        "user": {"name": "Alice"}
    }


def test_restore_writes_the_inspected_state_back_and_every_subscriber_hears_it(store: StateStore) -> None:
    svc = service(store)
    store.set_state("settings", "volume", 80)
    store.remove_state("user", "name")
    store.set_state("extra", "k", True)
    heard: list[tuple[str, str, Any, str]] = []
    store.subscribe(lambda c: heard.append((c.namespace, c.key, c.value, c.origin)))
    answer = ask(store, svc.private, {"id": 1, "op": "restore", "revision": 3})
    assert answer == {"id": 1, "op": "restore", "ok": True, "revision": 3, "changes": 3}
    assert store.snapshot(["settings", "user", "extra"]) == {
        "settings": {"volume": 75, "theme": "dark"},
        "user": {"name": "Alice"},
    }
    assert {h for h in heard if h[3] == "restore"} == {
        ("settings", "volume", 75, "restore"),
        ("user", "name", "Alice", "restore"),
        ("extra", "k", None, "restore"),
    }
    assert store.get_state(svc.private, "namespaces") == ["extra", "settings", "user"]  # never restored


def test_restore_of_a_limited_inspector_touches_only_its_namespaces(store: StateStore) -> None:
    svc = service(store, ["settings"])
    store.set_state("settings", "volume", 80)
    store.set_state("user", "name", "Bob")
    assert ask(store, svc.private, {"id": 1, "op": "restore", "revision": 3})["changes"] == 1
    assert store.get_state("settings", "volume") == 75
    assert store.get_state("user", "name") == "Bob"


@pytest.mark.parametrize(
    ("request_", "error"),
    [
        ({"id": 1, "op": "nope"}, "unknown op 'nope'"),
        ({"id": 1, "op": "state_at"}, "revision must be an int, got NoneType"),
        ({"id": 1, "op": "state_at", "revision": "3"}, "revision must be an int, got str"),
        ({"id": 1, "op": "restore", "revision": True}, "revision must be an int, got bool"),
        ({"id": 1, "op": "state_at", "revision": 99}, "in the future"),
        ({"id": 1, "op": "restore", "revision": -5}, "outside the kept history"),
    ],
)
def test_bad_requests_get_an_error_answer_and_change_nothing(
    store: StateStore, request_: dict[str, Any], error: str
) -> None:
    svc = service(store)
    before = store.snapshot(["settings", "user"])
    answer = ask(store, svc.private, request_)
    assert answer["ok"] is False
    assert answer["id"] == 1
    assert error in answer["error"]
    assert store.snapshot(["settings", "user"]) == before


def test_requests_without_a_view_are_ignored_and_other_keys_are_not_requests(store: StateStore) -> None:
    svc = service(store)
    keys = set(store.keys(svc.private))
    store.set_state(svc.private, "request", {"id": 1, "op": "history"})
    store.set_state(svc.private, "request", "history")
    store.set_state(svc.private, "other", {"id": 1, "view": VIEW, "op": "history"})
    assert set(store.keys(svc.private)) == keys | {"request", "other"}
    assert svc.answer("history") == {"id": None, "ok": False, "error": "a request must be an object, got str"}


def test_each_view_has_its_own_answer_key_and_few_are_kept(store: StateStore) -> None:
    svc = service(store)
    for n in range(MAX_VIEWS + 3):
        assert ask(store, svc.private, {"id": n, "op": "history"}, view=f"view:v{n}")["id"] == n
    answers = [k for k in store.keys(svc.private) if k.startswith("answer.")]
    assert len(answers) == MAX_VIEWS
    assert "answer.view:v0" not in answers
    assert f"answer.view:v{MAX_VIEWS + 2}" in answers


def test_the_namespace_list_grows_with_new_namespaces_only(store: StateStore) -> None:
    svc = service(store)
    assert store.get_state(svc.private, "namespaces") == ["settings", "user"]
    revision = store.revision
    store.set_state("settings", "volume", 1)
    assert store.revision == revision + 1  # a known namespace: no list write
    store.set_state("zeta", "k", 1)
    assert store.get_state(svc.private, "namespaces") == ["settings", "user", "zeta"]
    service(store)  # another inspector: its private namespace is not listed
    with store.batch():
        store.set_state("alpha", "k", 1)
        store.set_state("beta", "k", 1)
    assert store.get_state(svc.private, "namespaces") == ["alpha", "beta", "settings", "user", "zeta"]
    limited = service(store, ["user", "nothing.yet"])
    store.set_state("gamma", "k", 1)
    assert store.get_state(limited.private, "namespaces") == ["nothing.yet", "user"]


def test_a_page_write_through_the_widget_link_is_answered(store: StateStore) -> None:
    """The whole path a notebook page takes: a protocol set message into the widget's link."""
    ins = store.inspector()
    sent: list[dict[str, Any]] = []
    ins.send = sent.append  # type: ignore[method-assign]
    request = {"id": 1, "view": VIEW, "op": "state_at", "revision": 1}
    ins._link.receive({"t": "set", "view": VIEW, "ns": ins.private, "key": "request", "value": request, "id": 1})
    ins.flush()
    changes = [c for m in sent if m["t"] == "batch" for c in m["changes"]]
    answer = next(c for c in changes if c["key"] == "answer." + VIEW)
    assert answer["value"]["state"] == {"settings": {"volume": 75}}
    assert answer["origin"] == "python"
