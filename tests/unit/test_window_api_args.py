"""The window API's bad arguments and calls out of turn: clear errors naming the argument, before any window."""

from __future__ import annotations

import pytest

from pytonium_lab import Pytonium, StateStore
from pytonium_lab.desktop._server import Session, get_server
from pytonium_lab.desktop._window_control import public_title

CALLS = [
    ("minimize_window", ()),
    ("maximize_window", ()),
    ("restore_window", ()),
    ("close_window", ()),
    ("is_maximized", ()),
    ("drag_window", (1, 1)),
    ("get_window_position", ()),
    ("set_window_position", (1, 1)),
    ("get_window_size", ()),
    ("set_window_size", (100, 100)),
    ("resize_window", (100, 100, 0)),
    ("load_url", ("app://index.html",)),
]


@pytest.mark.parametrize(("call", "args"), CALLS)
def test_window_calls_before_initialize_raise_runtime_error(call, args):
    with pytest.raises(RuntimeError, match=f"{call}: no window"):
        getattr(Pytonium(backend="chromium"), call)(*args)


@pytest.mark.parametrize(
    ("kwargs", "error", "names"),
    [
        ({"frameless": "yes"}, TypeError, "frameless"),
        ({"always_on_top": 1}, TypeError, "always_on_top"),
        ({"x": 1.5}, TypeError, "x must be an int"),
        ({"y": 1 << 20}, ValueError, "y must be between"),
        ({"icon_path": 3}, TypeError, "icon_path"),
        ({"icon_path": "/no/such/icon.png"}, FileNotFoundError, "icon_path"),
    ],
)
def test_initialize_checks_window_options_before_opening(kwargs, error, names, tmp_path):
    p = Pytonium(backend="chromium")
    p.add_custom_scheme("app", str(tmp_path))
    with pytest.raises(error, match=names):
        p.initialize("app://index.html", 400, 300, **kwargs)
    assert p._window is None and p._session is None


@pytest.mark.parametrize(
    ("width", "height", "names"), [(0, 300, "width"), (400, 20000, "height"), (400, True, "height")]
)
def test_initialize_checks_the_size(width, height, names):
    with pytest.raises((TypeError, ValueError), match=f"initialize: {names}"):
        Pytonium(backend="chromium").initialize("https://example.com/", width, height)


def test_setters_check_their_argument(tmp_path):
    p = Pytonium(backend="chromium")
    with pytest.raises(TypeError, match="frameless must be True or False"):
        p.set_frameless_window("no")
    not_an_image = tmp_path / "icon.png"
    not_an_image.write_text("not a png")
    with pytest.raises(ValueError, match=r"icon_path .* is not an image"):
        p.set_custom_icon_path(not_an_image)
    with pytest.raises(TypeError, match="callback must be callable"):
        p.on_title_change("print")
    assert p._frameless is False and p._icon is None and p._title_callbacks == []


def test_a_title_never_shows_the_session_token():
    session = Session(StateStore())
    server = get_server()
    try:
        url = server.page_url(session, "app", "index.html")
        assert public_title(url, session) == "app://index.html"
        assert public_title(url.removeprefix("http://") + " - Chromium", session) == "app://index.html - Chromium"
        assert public_title(f"a {session.token} b", session) == "a ... b"
        assert public_title("My app", session) == "My app"
    finally:
        server.add(session)
        server.remove(session)


def test_a_cef_host_titles_a_page_without_title_by_its_app_url_never_the_token():
    from pytonium_lab.desktop._host_channel import shown_title

    served = "http://127.0.0.1:41234/_s/abc123/app/bar.html?token=SECRET"
    assert shown_title(None, served, "Pytonium") == "app://bar.html"
    assert shown_title(served, served, "Pytonium") == "app://bar.html"
    assert shown_title("127.0.0.1:41234/_s/abc123/app/bar.html", served, "Pytonium") == "app://bar.html"
    assert shown_title("Réglages ✓", served, "Pytonium") == "Réglages ✓"
    assert shown_title("", "about:blank", "Pytonium") == "Pytonium"
    assert shown_title("see ?token=SECRET", "https://example.org/", "Pytonium") == "Pytonium"
