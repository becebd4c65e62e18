"""Test helpers for real desktop windows: DevTools, X11 input and screenshots, sockets."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from PIL import Image, ImageGrab
from tornado.websocket import websocket_connect


def wait_for(check: Callable[[], Any], timeout: float = 10.0, what: str = "condition", every: float = 0.01) -> Any:
    """Poll ``check`` until it returns a truthy value; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


def demo_page(title: str, body: str = "") -> str:
    """A page showing ``demo.text`` in ``#v``, in the spec's pattern: the API once PytoniumReady says so."""
    return f"""<!DOCTYPE html><html><head><title>{title}</title></head><body>
<div id="v">--</div>{body}
<script>
function onReady() {{
  Pytonium.appState.registerForStateUpdates("demoChanged", ["demo"], true, true);
  window.addEventListener("demoChanged", (e) => {{
    if (e.detail.key === "text") document.getElementById("v").textContent = e.detail.value;
  }});
}}
if (window.PytoniumReady) onReady(); else window.addEventListener("PytoniumReady", onReady);
</script></body></html>"""


SHOWN = "document.getElementById('v').textContent"
"""What ``demo_page`` shows."""


class LoopThread:
    """An event loop on its own thread, for the tests' blocking websocket clients.

    Why a thread: sync Playwright (the notebook tests) leaves a loop marked running on the
    test thread, and ``run_until_complete`` refuses to start another there; a loop of our
    own thread works whatever ran before.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="test-websocket-loop", daemon=True)
        self._thread.start()

    def run(self, function: Callable, *args: Any, timeout: float = 15.0, **kwargs: Any) -> Any:
        """Await ``function(*args, **kwargs)`` on the loop (tornado binds futures to the loop running at call time)."""

        async def inside() -> Any:
            return await asyncio.wait_for(function(*args, **kwargs), timeout)

        return asyncio.run_coroutine_threadsafe(inside(), self.loop).result(timeout + 5)

    def close(self, conn: Any) -> None:
        """Close ``conn`` on the loop, then stop and close the loop."""
        self.loop.call_soon_threadsafe(conn.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


class DevTools:
    """A minimal CDP client (tornado websocket) for one page target: tests only."""

    def __init__(self, port: int, url_prefix: str = "http://127.0.0.1", timeout: float = 15.0) -> None:
        self._loop = LoopThread()
        self._id = 0
        self._seen: object = "nothing: the port did not answer"  # what /json last said, for the failure message
        try:
            target = wait_for(lambda: self._find(port, url_prefix), timeout, f"a DevTools page target on port {port}")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; /json last listed: {self._seen!r}"[:3000]) from None
        self.conn = self._run(websocket_connect, target["webSocketDebuggerUrl"], max_message_size=256 << 20)

    def _run(self, function: Callable, *args: Any, **kwargs: Any) -> Any:
        return self._loop.run(function, *args, **kwargs)

    def _find(self, port: int, prefix: str) -> dict | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json", timeout=2) as r:
                targets = json.load(r)
        except OSError as exc:
            self._seen = f"no answer ({exc})"
            return None
        self._seen = [(t.get("type"), t.get("url", "")[:120]) for t in targets]
        pages = [t for t in targets if t.get("type") == "page" and t.get("url", "").startswith(prefix)]
        return pages[0] if pages else None

    def call(self, method: str, **params: Any) -> dict:
        self._id += 1
        ident = self._id
        self._run(self.conn.write_message, json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            raw = self._run(self.conn.read_message)
            if raw is None:
                raise ConnectionError("DevTools connection closed")
            reply = json.loads(raw)
            if reply.get("id") == ident:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    def eval(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"JS error in {expression!r}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait(self, expression: str, timeout: float = 10.0) -> Any:
        """Poll a JS expression until truthy (errors count as not yet: the page may still load)."""

        def check() -> Any:
            try:
                return self.eval(expression)
            except RuntimeError as exc:
                return f"error: {exc}"[:300] and None

        return wait_for(check, timeout, expression, every=0.02)

    def click(self, selector: str) -> None:
        """A real mouse click (CDP input pipeline) at the element's centre."""
        box = self.eval(
            f"(() => {{ const r = document.querySelector({json.dumps(selector)}).getBoundingClientRect();"
            " return [r.left + r.width / 2, r.top + r.height / 2]; })()"
        )
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)

    def screen_point(self, selector: str, display: str) -> tuple[int, int]:
        """Screen coordinates of an element's centre: the page's origin on the screen (read from X,
        which knows the window manager's frame) plus the element's place in the page."""
        x, y = self.eval(
            f"(() => {{ const r = document.querySelector({json.dumps(selector)}).getBoundingClientRect();"
            " return [r.left + r.width / 2, r.top + r.height / 2]; })()"
        )
        left, top = content_origin(display)
        return left + round(x), top + round(y)

    def close(self) -> None:
        self._loop.close(self.conn)


def x_click(display: str, x: int, y: int) -> None:
    """A real X11 pointer click (the XTEST extension, as xdotool sends it), as a user's mouse makes it.

    Not ``xdotool mousemove --sync``: it waits for the pointer to move, forever when the
    pointer already is there (a second click on the same spot, e.g. the next engine's run).
    """
    from Xlib import X
    from Xlib import display as xdisplay
    from Xlib.ext import xtest

    d = xdisplay.Display(display)
    try:
        xtest.fake_input(d, X.MotionNotify, x=x, y=y)
        d.sync()
        xtest.fake_input(d, X.ButtonPress, 1)
        xtest.fake_input(d, X.ButtonRelease, 1)
        d.sync()
    finally:
        d.close()


def top_windows(display: str, pid: int | None = None) -> list:
    """Mapped top-level X windows that accept WM_DELETE_WINDOW (of process ``pid``, if given)."""
    from Xlib import X
    from Xlib import display as xdisplay

    d = xdisplay.Display(display)
    try:
        delete, wm_pid = d.intern_atom("WM_DELETE_WINDOW"), d.intern_atom("_NET_WM_PID")
        found = []
        root = d.screen().root
        # Under a window manager the windows are its clients (reparented into frames), else the root's children.
        listed = root.get_full_property(d.intern_atom("_NET_CLIENT_LIST"), X.AnyPropertyType)
        children = (
            [d.create_resource_object("window", w) for w in listed.value] if listed else root.query_tree().children
        )
        for w in children:
            if w.get_attributes().map_state != X.IsViewable:
                continue
            if delete not in (w.get_wm_protocols() or []):
                continue
            if pid is not None:
                prop = w.get_full_property(wm_pid, X.AnyPropertyType)
                if prop is None or prop.value[0] != pid:
                    continue
            found.append(w.id)
        return found
    finally:
        d.close()


def content_origin(display: str) -> tuple[int, int]:
    """Where the page of the display's only window starts on the screen."""
    from Xlib import display as xdisplay

    windows = wait_for(lambda: top_windows(display), 10, "a top-level window")
    assert len(windows) == 1, f"expected one window, found {len(windows)}"
    d = xdisplay.Display(display)
    try:
        origin = d.screen().root.translate_coords(d.create_resource_object("window", windows[0]), 0, 0)
        return origin.x, origin.y
    finally:
        d.close()


def wm_close(display: str, pid: int | None = None) -> int:
    """Close a window as a window manager does when the user clicks its close button."""
    from Xlib import X
    from Xlib import display as xdisplay
    from Xlib.protocol import event

    windows = wait_for(lambda: top_windows(display, pid), 10, f"a top-level window of pid {pid}")
    d = xdisplay.Display(display)
    try:
        w = d.create_resource_object("window", windows[0])
        message = event.ClientMessage(
            window=w,
            client_type=d.intern_atom("WM_PROTOCOLS"),
            data=(32, [d.intern_atom("WM_DELETE_WINDOW"), X.CurrentTime, 0, 0, 0]),
        )
        w.send_event(message, event_mask=X.NoEventMask)
        # A round trip, not flush(): python-xlib's flush() then close() lost the event in
        # 1 to 10 of 16 tries, which looked like windows ignoring the user's close.
        d.sync()
        return windows[0]
    finally:
        d.close()


def screenshot(display: str) -> Image.Image:
    return ImageGrab.grab(xdisplay=display)


def group_pids(pgid: int) -> list[int]:
    """Live processes of a process group."""
    pids = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[2]) == pgid and fields[0] != "Z":
                    pids.append(int(name))
            except (OSError, IndexError, ValueError):
                pass
    return pids


def port_open(port: int) -> bool:
    """Whether something accepts connections on loopback ``port``."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return False
    return True


def listening_ports(pids: list[int]) -> set[int]:
    """TCP ports in LISTEN state owned by ``pids`` (from /proc, no extra tools)."""
    inodes = set()
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    link = os.readlink(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    continue
                if link.startswith("socket:["):
                    inodes.add(link[8:-1])
        except OSError:
            pass
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                cols = line.split()
                if cols[3] == "0A" and cols[9] in inodes:  # 0A = LISTEN
                    ports.add(int(cols[1].rsplit(":", 1)[1], 16))
    return ports


class ViewClient:
    """A fake page speaking the view protocol over the loopback WebSocket (no browser)."""

    def __init__(self, server: Any, token: str, origin: str | None) -> None:
        from tornado.httpclient import HTTPRequest

        self._loop = LoopThread()
        headers = {} if origin is None else {"Origin": origin}
        request = HTTPRequest(f"ws://127.0.0.1:{server.port}/_pytonium/ws?token={token}", headers=headers)
        self.conn = self._loop.run(websocket_connect, request, timeout=5)

    def send(self, message: dict) -> None:
        self._loop.run(self.conn.write_message, json.dumps(message), timeout=5)

    def receive(self) -> dict:
        text = self._loop.run(self.conn.read_message, timeout=5)
        if text is None:
            raise ConnectionError("the server closed the WebSocket")
        return json.loads(text)

    def close(self) -> None:
        self._loop.close(self.conn)
