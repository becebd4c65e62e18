"""The loopback server refuses what a page of another site, or a path trick, could try."""

from __future__ import annotations

import http.client
import os

import pytest
from tornado.httpclient import HTTPClientError

from pytonium_lab import StateStore
from pytonium_lab.desktop._server import COOKIE, Session, get_server

from .helpers import ViewClient

SECRET = "TOPSECRET-outside-the-folder"


@pytest.fixture
def served(tmp_path):
    """A session serving tmp/web, with a secret file beside it and a symlink pointing out."""
    web = tmp_path / "web"
    (web / "sub").mkdir(parents=True)
    (web / "index.html").write_text("<html><head><title>x</title></head><body>hi</body></html>")
    (web / "app.js").write_text("var x = 1;")
    (tmp_path / "secret.txt").write_text(SECRET)
    os.symlink(tmp_path / "secret.txt", web / "link.txt")
    os.symlink(tmp_path, web / "sub" / "up")
    store = StateStore()
    store.set_state("demo", "text", "hello")
    session = Session(store, loop="server")
    session.add_folder("app", str(web))
    server = get_server()
    server.add(session)
    yield server, session
    server.remove(session)


def get(server, path: str, headers: dict | None = None, session=None) -> tuple[int, str, http.client.HTTPResponse]:
    """A raw GET of ``path`` under the session's prefix; http.client sends it exactly as
    written (no ``..`` folding)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request("GET", f"/_s/{session.id}{path}" if session else path, headers=headers or {})
    response = conn.getresponse()
    body = response.read().decode(errors="replace")
    conn.close()
    return response.status, body, response


def test_token_then_cookie(served):
    server, session = served
    status, body, response = get(server, f"/app/index.html?lang=de&token={session.token}&x=", session=session)
    # The token moves into the cookie and leaves the address at once: no title or history shows it.
    assert status == 303 and "__PYTONIUM_CONFIG__" not in body
    assert response.getheader("Location") == f"/_s/{session.id}/app/index.html?lang=de&x="
    cookie = response.getheader("Set-Cookie")
    assert f"{COOKIE}={session.token}" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert f"Path=/_s/{session.id}/" in cookie
    status, body, _ = get(
        server, "/app/index.html?lang=de&x=", {"Cookie": f"{COOKIE}={session.token}"}, session=session
    )
    assert status == 200
    assert "__PYTONIUM_CONFIG__" in body and body.index("__PYTONIUM_CONFIG__") < body.index("<title>")
    status, body, _ = get(server, "/app/app.js", {"Cookie": f"{COOKIE}={session.token}"}, session=session)
    assert (status, body) == (200, "var x = 1;")


def test_a_token_opens_only_its_own_session(served, tmp_path):
    server, session = served
    other = Session(StateStore(), loop="server")
    other.add_folder("app", str(tmp_path))  # holds secret.txt
    server.add(other)
    try:
        status, body, _ = get(server, f"/app/secret.txt?token={session.token}", session=other)
        assert status == 403 and SECRET not in body
        status, body, _ = get(server, f"/app/secret.txt?token={other.token}", session=other)
        assert status == 303 and SECRET not in body
        status, body, _ = get(server, "/app/secret.txt", {"Cookie": f"{COOKIE}={other.token}"}, session=other)
        assert status == 200 and SECRET in body
        status, body, _ = get(server, "/app/secret.txt", {"Cookie": f"{COOKIE}={session.token}"}, session=other)
        assert status == 403 and SECRET not in body
    finally:
        server.remove(other)


@pytest.mark.parametrize("token", [None, "", "wrong-token"])
def test_static_needs_the_token(served, token):
    server, session = served
    path = "/app/index.html" if token is None else f"/app/index.html?token={token}"
    status, body, _ = get(server, path, {"Cookie": f"{COOKIE}=also-wrong"} if token else {}, session=session)
    assert status == 403 and "token" in body


@pytest.mark.parametrize(
    "path",
    [
        "/app/../secret.txt",
        "/app/%2e%2e/secret.txt",
        "/app/%2E%2E%2Fsecret.txt",
        "/app/..%2fsecret.txt",
        "/app/sub/../../secret.txt",
        "/app/%5c..%5csecret.txt",
        "/app//etc/passwd",
        "/app/%2Fetc%2Fpasswd",
        "/app/link.txt",
        "/app/sub/up/secret.txt",
        "/app/index.html%00.js",
    ],
)
def test_paths_leaving_the_folder_are_refused(served, path):
    server, session = served
    sep = "&" if "?" in path else "?"
    status, body, _ = get(server, f"{path}{sep}token={session.token}", session=session)
    assert status in (403, 404), f"{path} -> {status}"
    assert SECRET not in body and "root:" not in body


def ws_connect(server, token: str, origin: str | None) -> dict:
    """Connect as a page would, say hello, return the first reply."""
    view = ViewClient(server, token, origin)
    try:
        view.send({"t": "hello", "view": "view:test1"})
        return view.receive()
    finally:
        view.close()


def test_websocket_with_token_and_own_origin_gets_a_snapshot(served):
    server, session = served
    reply = ws_connect(server, session.token, server.origin)
    assert reply["t"] == "snapshot" and reply["state"] == {"demo": {"text": "hello"}}


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:1", None])
def test_websocket_from_another_origin_is_refused(served, origin):
    server, session = served
    with pytest.raises(HTTPClientError) as refused:
        ws_connect(server, session.token, origin)
    assert refused.value.code == 403


@pytest.mark.parametrize("token", ["", "wrong-token"])
def test_websocket_with_wrong_token_is_refused(served, token):
    server, _ = served
    with pytest.raises(HTTPClientError) as refused:
        ws_connect(server, token, server.origin)
    assert refused.value.code == 403


def test_server_listens_on_loopback_only(served):
    server, _ = served
    with open("/proc/net/tcp") as f:
        rows = [line.split() for line in f.readlines()[1:]]
    mine = [r for r in rows if r[3] == "0A" and int(r[1].rsplit(":", 1)[1], 16) == server.port]
    assert mine and all(r[1].startswith("0100007F:") for r in mine)  # 127.0.0.1


@pytest.mark.e2e
def test_plain_http_page_gets_no_state_api(tmp_path, backend, closing):
    """Only our own pages get the runtime: a remote (here: another local) site sees nothing."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    from pytonium_lab import Pytonium

    from .helpers import DevTools

    (tmp_path / "page.html").write_text("<html><body><p id='x'>plain</p></body></html>")
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    site = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    try:
        p = Pytonium(backend=backend, debug=True)
        closing(p)
        p.initialize(f"http://127.0.0.1:{site.server_port}/page.html", 400, 300)
        tools = DevTools(p.devtools_port, url_prefix=f"http://127.0.0.1:{site.server_port}")
        try:
            tools.wait("document.getElementById('x') !== null")
            assert (
                tools.eval("typeof window.Pytonium + '/' + typeof window.__PYTONIUM_CONFIG__") == "undefined/undefined"
            )
        finally:
            tools.close()
    finally:
        site.shutdown()


def test_websocket_route_without_an_upgrade_is_refused(served):
    """The token is right but the request is no WebSocket upgrade: 400, and nothing is accepted."""
    server, session = served
    status, body, _ = get(server, f"/_pytonium/ws?token={session.token}", {"Origin": server.origin})
    assert status == 400 and "upgrade" in body.lower()
    assert not session.sockets
