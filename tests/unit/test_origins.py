"""allow_origin's checks and the injected script's guard."""

from __future__ import annotations

import pytest

from pytonium_lab import Pytonium
from pytonium_lab.desktop._origins import injection_script, normalize_origin, origin_of


@pytest.mark.parametrize(
    ("given", "origin"),
    [
        ("http://localhost:5173", "http://localhost:5173"),
        ("HTTP://LocalHost:5173/", "http://localhost:5173"),
        ("https://example.com:443", "https://example.com"),
        ("http://127.0.0.1:80", "http://127.0.0.1"),
        ("http://[::1]:8000", "http://[::1]:8000"),
    ],
)
def test_origins_are_written_as_browsers_write_them(given, origin):
    assert normalize_origin(given) == origin


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ("localhost:5173", "http:// or https://"),
        ("ftp://example.com", "http:// or https://"),
        ("file:///tmp", "http:// or https://"),
        ("http://", "no host"),
        ("http://example.com/app", "without path"),
        ("http://example.com?x=1", "without path"),
        ("http://user@example.com", "without path"),
        ("http://example.com:99999", "not an origin"),
    ],
)
def test_bad_origins_are_refused_naming_them(bad, why):
    with pytest.raises(ValueError, match=why) as refused:
        normalize_origin(bad)
    assert repr(bad) in str(refused.value)


@pytest.mark.parametrize("bad", [None, 5173, b"http://localhost", ["http://localhost"]])
def test_origins_must_be_strings(bad):
    with pytest.raises(TypeError, match="allow_origin"):
        normalize_origin(bad)


def test_allow_origin_keeps_nothing_when_refused():
    p = Pytonium(backend="chromium")
    p.allow_origin("http://localhost:5173")
    with pytest.raises(ValueError, match="without path"):
        p.allow_origin("http://localhost:5173/app")
    assert p._origins == {"http://localhost:5173"}


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("http://localhost:5173/index.html?x#y", "http://localhost:5173"),
        ("https://Example.com/a/b", "https://example.com"),
        ("app://index.html", None),
        ("about:blank", None),
    ],
)
def test_origin_of_a_url(url, origin):
    assert origin_of(url) == origin


def test_the_script_starts_the_runtime_only_in_top_documents_of_allowed_origins():
    script = injection_script({"transport": "websocket", "url": "ws://x", "token": "T"}, {"http://b:1", "http://a:1"})
    guard = script.split("window.__PYTONIUM_CONFIG__")[0]
    assert 'window.top !== window || ["http://a:1", "http://b:1"].indexOf(location.origin) < 0' in guard
    assert "return;" in guard and '"T"' not in guard
