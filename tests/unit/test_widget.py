"""StateWidget outside a kernel: configuration, page loading, and the protocol over its comm."""

from __future__ import annotations

from collections.abc import Iterator

import ipywidgets
import pytest
import traitlets

import pytonium_lab._page as page_module
import pytonium_lab.notebook._widget as widget_module
from pytonium_lab import StateStore, StateWidget
from pytonium_lab._watch import FolderWatch
from pytonium_lab.notebook._host_hooks import flush_all

PAGE = "<!doctype html><html><head><title>t</title></head><body>hi</body></html>"


@pytest.fixture(autouse=True)
def stub_front_end(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests do not need the built JS: stand-ins keep them independent of `npm run build`."""
    monkeypatch.setattr(page_module, "runtime_source", lambda: "/*runtime*/")
    monkeypatch.setattr(widget_module, "_widget_esm", lambda: "export default {};")


@pytest.fixture(autouse=True)
def end_watchers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A test's widgets watch their page folders: those watchers end with the test."""
    made: list[FolderWatch] = []

    def watch(*args: object, **kwargs: object) -> FolderWatch:
        made.append(FolderWatch(*args, **kwargs))  # type: ignore[arg-type]
        return made[-1]

    monkeypatch.setattr(widget_module, "FolderWatch", watch)
    yield
    for watcher in made:
        watcher.close()


@pytest.fixture
def store() -> StateStore:
    return StateStore()


def make(store: StateStore, page: object = PAGE, **kwargs: object) -> tuple[StateWidget, list[dict]]:
    widget = StateWidget(store, page, **kwargs)
    sent: list[dict] = []
    widget.send = sent.append  # type: ignore[method-assign]
    return widget, sent


def test_is_an_anywidget_with_synced_config(store: StateStore) -> None:
    widget, _ = make(store, height=250, namespaces=["settings"])
    state = widget.get_state()
    assert state["height"] == "250px"
    assert state["namespaces"] == ["settings"]
    assert state["_esm"] == "export default {};"
    assert widget.store is store


def test_width_is_the_full_output_unless_given(store: StateStore) -> None:
    assert make(store)[0].get_state()["width"] == "100%"
    assert make(store, width=320)[0].get_state()["width"] == "320px"
    widget, _ = make(store, width="50%")
    assert widget.get_state()["width"] == "50%"
    widget.width = 200
    assert widget.get_state()["width"] == "200px"


def test_srcdoc_has_config_then_runtime_first_in_head(store: StateStore) -> None:
    widget, _ = make(store)
    head = widget._srcdoc.split("<title>")[0]
    assert head.endswith(
        '<head><script>window.__PYTONIUM_CONFIG__={"transport": "postMessage"};</script><script>/*runtime*/</script>'
    )


def test_page_file_with_relative_assets_is_inlined(store: StateStore, tmp_path) -> None:
    (tmp_path / "app.js").write_text("window.appLoaded = 1;", encoding="utf-8")
    (tmp_path / "index.html").write_text('<html><head><script src="app.js"></script></head></html>', encoding="utf-8")
    for page in (tmp_path / "index.html", str(tmp_path / "index.html")):
        widget, _ = make(store, page)
        assert "<script>window.appLoaded = 1;</script>" in widget._srcdoc


@pytest.mark.parametrize(
    ("page", "error", "match"),
    [
        (42, TypeError, "page must be HTML text or the path of an .html file, got int"),
        (b"<html>", TypeError, "got bytes"),
        ("notes.txt", ValueError, "'notes.txt' is neither"),
        ("missing.html", FileNotFoundError, "page file not found: .*missing.html"),
    ],
)
def test_bad_page_is_a_clear_error(store: StateStore, page: object, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        StateWidget(store, page)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["site", "site.html"])
def test_a_page_path_that_is_a_directory_says_so(store: StateStore, tmp_path, name: str) -> None:
    (tmp_path / name).mkdir()
    with pytest.raises(IsADirectoryError, match=f"page '.*{name}' is a directory, not an .html file"):
        StateWidget(store, tmp_path / name)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"height": 0}, traitlets.TraitError, "positive int"),
        ({"height": True}, traitlets.TraitError, "positive int"),
        ({"height": " "}, traitlets.TraitError, "must not be empty"),
        ({"width": 0}, traitlets.TraitError, "width must be a CSS length or a positive int"),
        ({"width": False}, traitlets.TraitError, "width must be a CSS length or a positive int"),
        ({"width": ""}, traitlets.TraitError, "width must not be empty"),
        ({"namespaces": "settings"}, TypeError, "not the str 'settings'"),
        ({"namespaces": ["ok", ""]}, ValueError, "namespaces must not be empty"),
    ],
)
def test_bad_options_are_clear_errors(store: StateStore, kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        StateWidget(store, PAGE, **kwargs)


def test_store_must_be_a_state_store() -> None:
    with pytest.raises(TypeError, match="store must be a StateStore, got dict"):
        StateWidget({}, PAGE)  # type: ignore[arg-type]


def test_namespaces_are_fixed_once_made(store: StateStore) -> None:
    widget, _ = make(store, namespaces=["a"])
    with pytest.raises(traitlets.TraitError):
        widget.namespaces = ["b"]


def test_no_set_state_override() -> None:
    # ipywidgets applies front-end updates through Widget.set_state(sync_data).
    assert StateWidget.set_state is ipywidgets.Widget.set_state


def test_hello_gets_a_snapshot_of_the_visible_namespaces(store: StateStore) -> None:
    store.set_state("settings", "volume", 75)
    store.set_state("secret", "token", "x")
    widget, sent = make(store, namespaces=["settings"])
    widget._on_view_message(widget, {"t": "hello", "view": "view:a1"}, [])
    [snapshot] = sent
    expected = {
        "t": "snapshot",
        "to": "view:a1",
        "rev": 2,
        "namespaces": ["settings"],
        "state": {"settings": {"volume": 75}},
    }
    assert snapshot.items() >= expected.items()


def test_view_write_reaches_python_handlers_and_other_widgets(store: StateStore) -> None:
    seen = []

    class Handler:
        def update_state(self, namespace, key, value):
            seen.append((namespace, key, value))

    store.add_state_handler(Handler(), ["settings"])
    one, _ = make(store)
    _two, to_two = make(store)
    one._on_view_message(
        one, {"t": "set", "view": "view:a1", "ns": "settings", "key": "theme", "value": "light", "id": 1}, []
    )
    assert seen == [("settings", "theme", "light")]
    [batch] = to_two
    assert batch["t"] == "batch" and batch["changes"][0]["origin"] == "view:a1"


def test_refused_write_names_the_key(store: StateStore) -> None:
    widget, sent = make(store, namespaces=["settings"])
    widget._on_view_message(widget, {"t": "set", "view": "view:a1", "ns": "other", "key": "k", "value": 1, "id": 7}, [])
    [error] = [m for m in sent if m["t"] == "error"]
    assert error["to"] == "view:a1" and error["id"] == 7 and "other.k" in error["message"]
    assert ("other", "k") not in store


def test_many_writes_coalesce_and_the_cell_end_flush_sends_the_last(store: StateStore) -> None:
    _widget, sent = make(store)  # held: the widget must stay alive
    for i in range(10_000):
        store.set_state("n", "v", i)
    flush_all()  # what the post_execute hook does at the end of a cell
    assert len(sent) < 30  # at most ~60 a second while the loop runs, plus the final flush
    [last] = sent[-1]["changes"]
    assert last.items() >= {"ns": "n", "key": "v", "value": 9999, "origin": "python", "rev": 10_000}.items()
    assert [m["seq"] for m in sent] == list(range(1, len(sent) + 1))


def test_close_stops_following_the_store(store: StateStore) -> None:
    widget, sent = make(store)
    widget.close()
    store.set_state("n", "v", 1)
    flush_all()
    assert sent == []


def test_open_window_passes_the_page_source(store: StateStore, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    from pytonium_lab import desktop

    calls = []
    monkeypatch.setattr(desktop, "open_window", lambda *a, **kw: calls.append((a, kw)) or "handle", raising=False)
    page = tmp_path / "p.html"
    page.write_text(PAGE, encoding="utf-8")
    widget, _ = make(store, page, namespaces=["a"])
    assert widget.open_window(width=300, title="x") == "handle"
    assert calls == [((store, page), {"namespaces": ["a"], "width": 300, "title": "x"})]


def test_missing_front_end_build_is_a_clear_error(store: StateStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()
    page_module.static_text.cache_clear()
    monkeypatch.setattr(page_module.resources, "files", lambda _pkg: widget_module.Path("/nonexistent"))
    monkeypatch.setattr(page_module, "runtime_source", lambda: "")
    with pytest.raises(RuntimeError, match=r"static/widget\.js is missing"):
        StateWidget(store, PAGE)
    page_module.static_text.cache_clear()
