"""Origins the user allows: a dev-server page gets the state API; every other origin nothing."""

from __future__ import annotations

import functools
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from tornado.httpclient import HTTPClientError

from pytonium_lab import Pytonium, StateStore
from pytonium_lab.desktop._server import Session, get_server

from .helpers import SHOWN, DevTools, demo_page, group_pids, listening_ports, wait_for
from .test_security import ws_connect

PAGE = demo_page(
    "dev server", """<button id="b" onclick="Pytonium.appState.setState('demo', 'clicked', true)">b</button>"""
)


@pytest.fixture
def sites(tmp_path):
    """Two local sites standing in for a dev server (allowed) and some other origin."""
    servers = []
    for name in ("dev", "other"):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "index.html").write_text(PAGE)
        site = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(SimpleHTTPRequestHandler, directory=str(folder)))
        threading.Thread(target=site.serve_forever, daemon=True).start()
        servers.append(site)
    yield [f"http://127.0.0.1:{s.server_port}" for s in servers]
    for site in servers:
        site.shutdown()
        site.server_close()


def open_allowed(origin: str, backend: str, closing, *, debug: bool = True, state: str | None = None) -> Pytonium:
    """A window on ``origin``'s index page, that origin allowed (``state``: demo.text set first)."""
    p = Pytonium(backend=backend, debug=debug)
    closing(p)
    if state is not None:
        p.set_state("demo", "text", state)
    p.allow_origin(origin)
    p.initialize(origin.rstrip("/") + "/index.html", 400, 300)
    return p


@pytest.mark.e2e
def test_a_page_of_an_allowed_origin_gets_the_state_api(sites, backend, closing):
    dev, _ = sites
    p = open_allowed(dev + "/", backend, closing, state="from python")  # a trailing slash is still the origin
    tools = DevTools(p.devtools_port, url_prefix=dev)
    try:
        tools.wait(f"{SHOWN} === 'from python'")
        p.set_state("demo", "text", "live")
        tools.wait(f"{SHOWN} === 'live'")
        tools.eval("document.getElementById('b').click()")
        wait_for(
            lambda: (p.update_message_loop(), p.get_state("demo", "clicked"))[1] is True,
            5,
            "the page's click to reach the store",
        )
        # The runtime is in place once, and the token only lives in its config.
        assert tools.eval("typeof Pytonium.appState.setState") == "function"
    finally:
        tools.close()


@pytest.mark.e2e
def test_other_origins_get_nothing_even_in_an_allowed_window(sites, backend, closing):
    dev, other = sites
    p = open_allowed(dev, backend, closing)
    tools = DevTools(p.devtools_port, url_prefix=dev)
    try:
        tools.wait("window.PytoniumReady === true")
        tools.eval(f"location.href = {other + '/index.html'!r}")
    finally:
        tools.close()
    tools = DevTools(p.devtools_port, url_prefix=other)
    try:
        tools.wait("document.readyState === 'complete'")
        assert tools.eval("typeof window.Pytonium + '/' + typeof window.__PYTONIUM_CONFIG__") == "undefined/undefined"
    finally:
        tools.close()


@pytest.fixture
def session():
    store = StateStore()
    store.set_state("demo", "text", "hello")
    session = Session(store, loop="server")
    session.origins.add("http://localhost:5173")
    server = get_server()
    server.add(session)
    yield server, session
    server.remove(session)


def test_the_channel_accepts_an_allowed_origin(session):
    server, s = session
    reply = ws_connect(server, s.token, "http://localhost:5173")
    assert reply["t"] == "snapshot" and reply["state"] == {"demo": {"text": "hello"}}


@pytest.mark.parametrize("origin", ["http://localhost:5174", "https://localhost:5173", "http://evil.example"])
def test_the_channel_refuses_origins_not_allowed(session, origin):
    server, s = session
    with pytest.raises(HTTPClientError) as refused:
        ws_connect(server, s.token, origin)
    assert refused.value.code == 403


def test_an_allowed_origin_opens_only_its_own_session(session):
    """Allowing an origin for one window does not let it into another window's store."""
    server, _ = session
    other = Session(StateStore(), loop="server")
    server.add(other)
    try:
        with pytest.raises(HTTPClientError) as refused:
            ws_connect(server, other.token, "http://localhost:5173")
        assert refused.value.code == 403
    finally:
        server.remove(other)


@pytest.mark.e2e
def test_an_allowed_origin_opens_no_devtools_port(sites, backend, closing):
    """The chromium backend reaches the page over a private pipe, never a port."""
    dev, _ = sites
    p = open_allowed(dev, backend, closing, debug=False, state="x")
    assert p._session.connected.is_set(), "the allowed page did not connect to the store"
    assert p.devtools_port is None
    time.sleep(0.3)  # a DevTools server would be listening by now
    assert listening_ports(group_pids(p._window.pid)) == set()
