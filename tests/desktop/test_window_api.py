"""Pytonium's window API on every engine, checked on the real window (wmctrl, xwininfo, xprop) under openbox.

One window per engine goes through every call (windows are the slow part);
a second test puts a frameless status bar next to a framed window of the
same process.
"""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from pytonium_lab import Pytonium
from pytonium_lab.desktop._server import get_server

from .helpers import DevTools, wait_for
from .xprobe import extents, geometry, icon, net_states, title, window_of, windows, wm_close, wm_state

pytestmark = pytest.mark.e2e

TITLED = """<!doctype html><html><head><title>First</title></head><body><p>window api</p><script>
function onReady() {
  Pytonium.appState.registerForStateUpdates("ev", ["win"], false, true);
  window.addEventListener("ev", (e) => { if (e.detail.key === "title") document.title = e.detail.value; });
}
if (window.PytoniumReady) onReady(); else window.addEventListener("PytoniumReady", onReady);
</script></body></html>"""

UNTITLED = "<!doctype html><html><body style='margin:0;background:#345'><p>status bar</p></body></html>"

MAXIMIZED = {"MAXIMIZED_VERT", "MAXIMIZED_HORZ"}


@pytest.fixture
def web(tmp_path):
    (tmp_path / "index.html").write_text(TITLED)
    (tmp_path / "bar.html").write_text(UNTITLED)
    return tmp_path


@pytest.fixture
def plain_site(tmp_path):
    """A site of no allowed origin: its page must load without the state API."""
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "plain.html").write_text("<!doctype html><title>Plain page</title><p>plain</p>")
    site = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(SimpleHTTPRequestHandler, directory=str(folder)))
    threading.Thread(target=site.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{site.server_port}"
    site.shutdown()
    site.server_close()


def corners(g) -> dict[int, tuple[int, int]]:
    """The outer window's corners by the original's anchor numbers (the frame is the same before and after)."""
    return {0: (g.x, g.y), 1: (g.right, g.y), 2: (g.x, g.bottom), 3: (g.right, g.bottom)}


def test_every_window_call_on_one_window(backend, closing, web, plain_site, tmp_path):
    picture = tmp_path / "icon.png"
    image = Image.new("RGBA", (16, 8), (255, 0, 0, 255))
    image.paste((0, 0, 255, 128), (8, 0, 16, 8))  # right half: half-transparent blue
    image.save(picture)
    p = Pytonium(backend=backend, debug=True)
    closing(p)
    titles: list[tuple[str, int]] = []
    p.on_title_change(lambda t: titles.append((t, threading.get_ident())))
    p.add_custom_scheme("app", str(web))
    p.set_custom_icon_path(picture)
    p.initialize("app://index.html", 320, 240, x=100, y=80, always_on_top=True)
    w = window_of(p._window.pid)

    # initialize's options, read off the window
    g = geometry(w)
    assert (g.x, g.y, g.width, g.height) == (100, 80, 320, 240)
    assert extents(w)[2] > 0, "a framed window has the WM's title bar"
    assert "ABOVE" in net_states(w)
    # chromium sets its own icon (the favicon) as the page loads; ours is put back within milliseconds
    wait_for(lambda: icon(w)[:2] == [16, 8], 2, "our 16x8 icon on the window")
    pixels = icon(w)
    assert pixels[2] == 0xFFFF0000 and pixels[2 + 15] == 0x800000FF  # ARGB: opaque red, then half-transparent blue
    assert p.get_window_position() == (100, 80)
    assert p.get_window_size() == (320, 240)

    # position: set, then drag twice by a relative step
    p.set_window_position(200, 150)
    assert (geometry(w).x, geometry(w).y) == (200, 150)
    p.drag_window(15, -20)
    p.drag_window(15, -20)
    g = geometry(w)
    assert (g.x, g.y) == (230, 110) == p.get_window_position()

    # size, and resize keeping each corner in turn
    p.set_window_size(300, 200)
    g = geometry(w)
    assert (g.x, g.y, g.width, g.height) == (230, 110, 300, 200)
    for anchor, size in ((0, (260, 180)), (1, (300, 200)), (2, (240, 170)), (3, (300, 200))):
        before = corners(geometry(w))
        p.resize_window(*size, anchor)
        after = geometry(w)
        assert (after.width, after.height) == size
        assert corners(after)[anchor] == before[anchor], f"anchor {anchor} moved"
    assert p.get_window_size() == (300, 200)

    # maximize, restore; minimize, restore
    before = geometry(w)
    assert not p.is_maximized()
    p.maximize_window()
    assert net_states(w) >= MAXIMIZED
    assert p.is_maximized()
    assert geometry(w).width > before.width
    p.restore_window()
    assert not MAXIMIZED & net_states(w)
    assert not p.is_maximized()
    assert geometry(w) == before
    p.minimize_window()
    assert wm_state(w) == "Iconic"
    assert "HIDDEN" in net_states(w)
    p.restore_window()
    assert wm_state(w) == "Normal"
    assert "HIDDEN" not in net_states(w)
    assert geometry(w) == before

    # the title follows the page's <title>; callbacks run on the thread that pumps
    def heard(text: str) -> bool:
        p.update_message_loop()
        return any(t == text for t, _ in titles)

    wait_for(lambda: heard("First"), 10, "on_title_change('First')")
    p.set_state("win", "title", "Second")
    wait_for(lambda: heard("Second"), 10, "on_title_change('Second')")
    assert title(w) == "Second"
    assert {thread for _, thread in titles} == {threading.get_ident()}

    # load_url: a page of no allowed origin loads without the state API; the app's page gets it again
    p.load_url(plain_site + "/plain.html")
    wait_for(lambda: title(w) == "Plain page", 10, "the plain page's title on the window")
    tools = DevTools(p.devtools_port, url_prefix=plain_site)
    try:
        tools.wait("document.readyState === 'complete'")
        assert tools.eval("typeof window.Pytonium") == "undefined"
    finally:
        tools.close()
    p.load_url("app://index.html")
    tools = DevTools(p.devtools_port, url_prefix=f"http://127.0.0.1:{get_server().port}/_s/")
    try:
        tools.wait("window.Pytonium && Pytonium.appState.getState('win', 'title') === 'Second'")
    finally:
        tools.close()
    wait_for(lambda: title(w) == "Second", 10, "the app page's title again")

    # bad arguments on a live window change nothing
    with pytest.raises(ValueError, match="anchor"):
        p.resize_window(100, 100, 4)
    with pytest.raises(TypeError, match="dx"):
        p.drag_window(1.5, 0)
    with pytest.raises(ValueError, match="height"):
        p.set_window_size(100, 0)
    assert geometry(w) == before

    p.close_window()
    assert not p.is_running()
    wait_for(lambda: w not in windows(), 5, "the window to be gone")
    with pytest.raises(RuntimeError, match="closed"):
        p.get_window_position()


def test_a_frameless_status_bar_next_to_a_framed_window(backend, closing, web):
    bar = Pytonium(backend=backend)
    closing(bar)
    bar.add_custom_scheme("app", str(web))
    bar.set_frameless_window(True)
    bar.initialize("app://bar.html", 400, 36, x=0, y=0)
    main = Pytonium(backend=backend)
    closing(main)
    main.add_custom_scheme("app", str(web))
    main.initialize("app://bar.html", 300, 200, x=500, y=300)
    wb, wm = window_of(bar._window.pid), window_of(main._window.pid)
    assert wb != wm

    assert extents(wb) == (0, 0, 0, 0)
    g = geometry(wb)
    assert (g.x, g.y, g.width, g.height) == (0, 0, 400, 36)
    assert extents(wm)[2] > 0
    g = geometry(wm)
    assert (g.x, g.y, g.width, g.height) == (500, 300, 300, 200)

    # A page without <title>: engines title the window by its URL, which holds the session's token;
    # the window shows the app's URL instead (the engine's own title is rewritten within milliseconds).
    for p, w in ((bar, wb), (main, wm)):
        wait_for(lambda w=w: title(w) == "app://bar.html", 10, "the window titled app://bar.html")
        assert p._session.token not in title(w)

    bar.minimize_window()  # one window's calls reach only that window
    assert wm_state(wb) == "Iconic"
    assert wm_state(wm) == "Normal"
    bar.restore_window()
    bar.set_frameless_window(False)  # a live window takes the frame back
    assert extents(wb)[2] > 0

    wm_close(wm)  # the user closes the framed window from the WM
    wait_for(lambda: not main.is_running(), 5, "is_running() false after the WM closed the window")
    assert bar.is_running()
    with pytest.raises(RuntimeError, match="closed"):
        main.minimize_window()


def test_no_address_a_window_shows_holds_the_token(backend, closing, web):
    """The token arrives in the window's first URL and leaves it at once (a redirect to the same
    address, the token now in an HttpOnly cookie): no title, address or history entry holds it,
    not even while the page loads."""
    p = Pytonium(backend=backend, debug=True)
    closing(p)
    p.add_custom_scheme("app", str(web))
    p.initialize("app://bar.html?lang=de", 300, 120)
    tools = DevTools(p.devtools_port)
    try:
        href = wait_for(lambda: tools.eval("location.href"), 10, "the page's address")
        assert href.endswith(f"/_s/{p._session.id}/app/bar.html?lang=de"), href
        assert p._session.token not in href and "token=" not in href
        assert p._session.token not in tools.eval("document.cookie")  # HttpOnly: not even the page reads it
    finally:
        tools.close()
    wait_for(lambda: title(window_of(p._window.pid)) == "app://bar.html", 10, "the window titled app://bar.html")
