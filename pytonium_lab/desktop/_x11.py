"""An engine's top-level window, steered through the X11 window manager (python-xlib).

Every engine maps one top-level window and tags it with ``_NET_WM_PID`` (its
browser process, a member of the engine's process group): that is how the
window is found, among the window manager's ``_NET_CLIENT_LIST`` (or the
root's children when no WM runs). Everything else is the WM's standard
protocol (ICCCM, EWMH, Motif hints), so it reaches any engine's window alike.

Requests to a WM are asynchronous: each call here waits (briefly) until the
window shows the change, so ``drag_window`` twice moves twice as far and a
read after a write sees the write. Two connections per window: one for calls
(under a lock, from any thread) and one for the watcher thread, which reports
title changes and puts back the properties we own (icon, decorations) when
the engine rewrites them.
"""

from __future__ import annotations

import array
import logging
import os
import select
import threading
import time
from collections.abc import Callable
from typing import Any

from Xlib import X, Xatom, error
from Xlib import display as xdisplay
from Xlib.protocol import event as xevent

from ._backends import group_pids

__all__ = ["XWindow", "icon_data"]

log = logging.getLogger("pytonium_lab")

SETTLE = 1.0
"""Seconds a call waits for the WM to show its change (a WM may refuse one: the call then returns)."""

_ROOT_MASK = X.SubstructureRedirectMask | X.SubstructureNotifyMask
_ICONIC = 3  # WM_STATE / WM_CHANGE_STATE: IconicState
_REMOVE, _ADD = 0, 1


def icon_data(path: str) -> list[int]:
    """``_NET_WM_ICON`` for the image at ``path``: width, height, then ARGB pixels (at most 256 px wide)."""
    from PIL import Image

    with Image.open(path) as opened:
        image = opened.convert("RGBA")
    image.thumbnail((256, 256))
    pixels = array.array("I", image.tobytes("raw", "BGRA"))  # little-endian BGRA bytes = 0xAARRGGBB
    if pixels.itemsize != 4:  # pragma: no cover - "I" is 32 bits on every platform python-xlib runs on
        raise RuntimeError("unsigned int is not 32 bits here")
    return [image.width, image.height, *pixels]


class XWindow:
    """One engine window: geometry, WM states, owned properties, title reports."""

    def __init__(
        self,
        display_name: str,
        window_id: int,
        on_title: Callable[[str], None],
        public: Callable[[str], str] = lambda title: title,
    ) -> None:
        self._display = xdisplay.Display(display_name)
        self._lock = threading.RLock()
        self._window = self._display.create_resource_object("window", window_id)
        self._root = self._display.screen().root
        self.id = window_id
        self._on_title = on_title
        self._owned: dict[str, tuple[str, int, list[int] | bytes]] = {}
        self._title_filter = public  # set before the watcher starts: its first title passes through it too
        self._stop = threading.Event()
        self._watcher = threading.Thread(
            target=self._watch, args=(display_name,), name=f"pytonium-x11-{window_id:#x}", daemon=True
        )
        self._watcher.start()

    # ---- finding ---------------------------------------------------------------------------

    @classmethod
    def find(
        cls,
        pgid: int,
        on_title: Callable[[str], None],
        *,
        alive: Callable[[], bool],
        public: Callable[[str], str] = lambda title: title,
        timeout: float = 10.0,
        display_name: str | None = None,
    ) -> XWindow:
        """The mapped top-level window of the engine in process group ``pgid`` (waits for it to map).

        ``public`` rewrites every title the engine writes (e.g. to hide a URL's token).
        """
        name = display_name or os.environ.get("DISPLAY") or ""
        display = xdisplay.Display(name)
        try:
            deadline = time.monotonic() + timeout
            while True:
                found = _engine_window(display, group_pids(pgid))
                if found is not None:
                    return cls(name, found, on_title, public)
                if not alive():
                    raise RuntimeError("the window's engine exited before its window appeared")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no mapped window of process group {pgid} on {name} within {timeout:.0f} s")
                time.sleep(0.01)
        finally:
            display.close()

    # ---- low level -------------------------------------------------------------------------

    def _atom(self, name: str) -> int:
        atom: int = self._display.intern_atom(name)
        return atom

    def _read(self, name: str, kind: int = X.AnyPropertyType) -> Any:
        with self._lock:
            prop = self._window.get_full_property(self._atom(name), kind)
        return None if prop is None else prop.value

    def _tell_wm(self, name: str, data: list[int]) -> None:
        """An EWMH/ICCCM client message about this window, to the root (where the WM listens)."""
        with self._lock:
            message = xevent.ClientMessage(
                window=self._window, client_type=self._atom(name), data=(32, (data + [0] * 5)[:5])
            )
            self._root.send_event(message, event_mask=_ROOT_MASK)
            self._display.flush()

    def _settle(self, done: Callable[[], bool], timeout: float = SETTLE) -> bool:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.002)
        return True

    def wait_still(self, quiet: float = 0.05, timeout: float = SETTLE) -> None:
        """Wait until the geometry has not changed for ``quiet`` seconds (a WM's moves come in steps)."""
        deadline = time.monotonic() + timeout
        last, since = (self.position(), self.size()), time.monotonic()
        while time.monotonic() - since < quiet and time.monotonic() < deadline:
            time.sleep(0.005)
            now = (self.position(), self.size())
            if now != last:
                last, since = now, time.monotonic()

    def has_wm(self) -> bool:
        """Whether an EWMH window manager runs on this display."""
        with self._lock:
            prop = self._root.get_full_property(self._atom("_NET_SUPPORTING_WM_CHECK"), Xatom.WINDOW)
        return prop is not None and len(prop.value) > 0

    # ---- geometry --------------------------------------------------------------------------

    def frame_extents(self) -> tuple[int, int, int, int]:
        """The WM's frame around the window: left, right, top, bottom (0s without a frame)."""
        value = self._read("_NET_FRAME_EXTENTS", Xatom.CARDINAL)
        if value is None or len(value) != 4:
            return (0, 0, 0, 0)
        left, right, top, bottom = (int(v) for v in value)
        return left, right, top, bottom

    def size(self) -> tuple[int, int]:
        """The content's width and height (the size ``initialize`` asked for)."""
        with self._lock:
            geometry = self._window.get_geometry()
        return int(geometry.width), int(geometry.height)

    def position(self) -> tuple[int, int]:
        """The outer top-left corner on the screen (the WM's frame included)."""
        with self._lock:
            origin = self._window.translate_coords(self._root, 0, 0)
        left, _, top, _ = self.frame_extents()
        # translate_coords(root, 0, 0) gives the root's origin in the window: negate it.
        return -int(origin.x) - left, -int(origin.y) - top

    def move_resize(
        self, x: int | None = None, y: int | None = None, width: int | None = None, height: int | None = None
    ) -> None:
        """Move the outer corner to ``x, y`` and/or size the content to ``width, height``, then wait for it."""
        if self.has_wm():
            flags = 1  # NorthWestGravity: x, y name the frame's outer corner
            for bit, value in ((8, x), (9, y), (10, width), (11, height)):
                if value is not None:
                    flags |= 1 << bit
            flags |= 2 << 12  # source: a pager, i.e. the user's own request (WMs obey it)
            self._tell_wm("_NET_MOVERESIZE_WINDOW", [flags, x or 0, y or 0, width or 0, height or 0])
        else:
            changes: dict[str, Any] = {
                k: v for k, v in (("x", x), ("y", y), ("width", width), ("height", height)) if v is not None
            }
            with self._lock:
                self._window.configure(**changes)
                self._display.flush()
        old_x, old_y = self.position()
        old_w, old_h = self.size()
        target = (old_x if x is None else x, old_y if y is None else y)
        target_size = (old_w if width is None else width, old_h if height is None else height)
        if not self._settle(lambda: self.position() == target and self.size() == target_size):
            log.debug("window %#x: the WM left it at %s %s, not %s %s", self.id, self.position(), self.size(),
                      target, target_size)  # fmt: skip

    def settle_frame(self, frameless: bool) -> None:
        """Wait until the WM has taken the frame off (or put it back)."""
        if self.has_wm():
            self._settle(lambda: (self.frame_extents() == (0, 0, 0, 0)) == frameless)

    # ---- WM states -------------------------------------------------------------------------

    def states(self) -> set[str]:
        """The window's ``_NET_WM_STATE`` names, without the prefix (``MAXIMIZED_VERT``, ``HIDDEN``...)."""
        value = self._read("_NET_WM_STATE", Xatom.ATOM) or []
        with self._lock:
            names = [self._display.get_atom_name(int(atom)) for atom in value]
        return {name.removeprefix("_NET_WM_STATE_") for name in names}

    def iconic(self) -> bool:
        value = self._read("WM_STATE")
        return value is not None and len(value) > 0 and int(value[0]) == _ICONIC

    def change_states(self, add: bool, *names: str) -> None:
        atoms = [self._atom(f"_NET_WM_STATE_{name}") for name in names]
        self._tell_wm("_NET_WM_STATE", [_ADD if add else _REMOVE, *atoms[:2], 2])
        self._settle(lambda: set(names) <= self.states() if add else not set(names) & self.states())

    def minimize(self) -> None:
        self._tell_wm("WM_CHANGE_STATE", [_ICONIC])
        self._settle(self.iconic)

    def show(self) -> None:
        """Bring a minimized window back (as a taskbar click does)."""
        if self.iconic():
            self._tell_wm("_NET_ACTIVE_WINDOW", [2, X.CurrentTime, 0])
            self._settle(lambda: not self.iconic())

    # ---- properties we own -----------------------------------------------------------------

    def own(self, name: str, kind: str, fmt: int, data: list[int] | bytes) -> None:
        """Set a property and keep it: the watcher puts it back if the engine rewrites it."""
        with self._lock:
            self._owned[name] = (kind, fmt, data)
            self._put(self._display, self._window, name, kind, fmt, data)
            self._display.flush()

    @staticmethod
    def _put(display: Any, window: Any, name: str, kind: str, fmt: int, data: list[int] | bytes) -> None:
        window.change_property(display.intern_atom(name), display.intern_atom(kind), fmt, data)

    def set_title(self, title: str) -> None:
        """Write the window's title (``_NET_WM_NAME`` and ``WM_NAME``); the watcher reports it."""
        encoded = title.encode("utf-8")
        with self._lock:
            self._put(self._display, self._window, "_NET_WM_NAME", "UTF8_STRING", 8, encoded)
            self._put(self._display, self._window, "WM_NAME", "UTF8_STRING", 8, encoded)
            self._display.flush()

    # ---- the watcher -----------------------------------------------------------------------

    def _watch(self, display_name: str) -> None:
        try:
            display = xdisplay.Display(display_name)
        except (error.DisplayError, OSError) as exc:
            log.warning("cannot watch window %#x: %s", self.id, exc)
            return
        window = display.create_resource_object("window", self.id)
        names = {display.intern_atom(n): n for n in ("_NET_WM_NAME", "WM_NAME", "_NET_WM_ICON", "_MOTIF_WM_HINTS")}
        try:
            window.change_attributes(event_mask=X.PropertyChangeMask | X.StructureNotifyMask)
            self._report_title(display, window)
            while not self._stop.is_set():
                if not display.pending_events() and not select.select([display.fileno()], [], [], 0.2)[0]:
                    continue
                while display.pending_events():
                    ev = display.next_event()
                    if ev.type == X.DestroyNotify:
                        return
                    if ev.type != X.PropertyNotify or ev.atom not in names:
                        continue
                    name = names[ev.atom]
                    if name in ("_NET_WM_NAME", "WM_NAME"):
                        self._report_title(display, window)
                    else:
                        self._keep(display, window, name)
        except (error.XError, error.ConnectionClosedError, OSError) as exc:
            if not self._stop.is_set():
                log.debug("stopped watching window %#x: %s", self.id, exc)
        finally:
            display.close()

    def _keep(self, display: Any, window: Any, name: str) -> None:
        """Put back an owned property the engine changed."""
        owned = self._owned.get(name)
        if owned is None:
            return
        kind, fmt, data = owned
        prop = window.get_full_property(display.intern_atom(name), X.AnyPropertyType)
        now = None if prop is None else prop.value
        wanted = data if isinstance(data, bytes) else list(data)
        if now is None or (bytes(now) if isinstance(data, bytes) else [int(v) for v in now]) != wanted:
            self._put(display, window, name, kind, fmt, data)
            display.flush()

    _last_title: str | None = None

    def _report_title(self, display: Any, window: Any) -> None:
        prop = window.get_full_property(display.intern_atom("_NET_WM_NAME"), X.AnyPropertyType)
        if prop is None:
            prop = window.get_full_property(display.intern_atom("WM_NAME"), X.AnyPropertyType)
        if prop is None:
            return
        raw = prop.value
        title = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        public = self._title_filter(title)
        if public != title:  # e.g. a URL with the session token: the window must never show it
            encoded = public.encode("utf-8")
            self._put(display, window, "_NET_WM_NAME", "UTF8_STRING", 8, encoded)
            self._put(display, window, "WM_NAME", "UTF8_STRING", 8, encoded)
            display.flush()
        if public != self._last_title:
            self._last_title = public
            self._on_title(public)

    def title(self) -> str | None:
        """The last title seen (already filtered)."""
        return self._last_title

    def close(self) -> None:
        """Stop watching and drop both connections (the window itself is the engine's)."""
        self._stop.set()
        if threading.current_thread() is not self._watcher:
            self._watcher.join(2)
        with self._lock:
            try:
                self._display.close()
            except (error.ConnectionClosedError, OSError):
                pass


def _engine_window(display: Any, pids: set[int]) -> int | None:
    """A mapped top-level window whose ``_NET_WM_PID`` is one of ``pids`` (taking WM_DELETE_WINDOW)."""
    if not pids:
        return None
    root = display.screen().root
    wm_pid, delete = display.intern_atom("_NET_WM_PID"), display.intern_atom("WM_DELETE_WINDOW")
    listed = root.get_full_property(display.intern_atom("_NET_CLIENT_LIST"), Xatom.WINDOW)
    if listed is not None:
        candidates = [display.create_resource_object("window", int(w)) for w in listed.value]
    else:
        candidates = root.query_tree().children
    for window in candidates:
        try:
            if window.get_attributes().map_state != X.IsViewable:
                continue
            pid = window.get_full_property(wm_pid, Xatom.CARDINAL)
            if pid is None or int(pid.value[0]) not in pids:
                continue
            if delete not in (window.get_wm_protocols() or []):
                continue
        except error.BadWindow:  # gone meanwhile
            continue
        return int(window.id)
    return None
