"""Pytonium's window API, with the original project's names, on any engine's window.

On X11 the window manager steers every engine's window alike (``_x11.py``):
frameless (Motif hints), icon (``_NET_WM_ICON``), always on top, minimize,
maximize, position and size. Positions are the outer top-left corner (the
WM's frame included); sizes are the page's (the content), as ``initialize``
takes them. Title changes come from the window's own title (every engine
writes the page's ``<title>`` there; the cefpython3 host reports it and we
write it), so they reach ``on_title_change`` for any page, even one without
the state API; they run where the page's writes run (``Session.post``).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._backends import LAUNCH_MIN, WindowProcess
from ._host_channel import served_as_app_url
from ._server import LoopbackServer, Session

if TYPE_CHECKING:
    from ._x11 import XWindow

__all__ = ["WindowControls", "WindowOptions"]

log = logging.getLogger("pytonium_lab")

MAX_SIZE = 16384
_MAXIMIZED = ("MAXIMIZED_VERT", "MAXIMIZED_HORZ")
_COORD = 1 << 15  # X coordinates are 16-bit signed


def check_size(call: str, name: str, value: object) -> int:
    if type(value) is not int:
        raise TypeError(f"{call}: {name} must be an int, got {type(value).__name__} {value!r}")
    if not 1 <= value <= MAX_SIZE:
        raise ValueError(f"{call}: {name} must be between 1 and {MAX_SIZE}, got {value}")
    return value


def check_coordinate(call: str, name: str, value: object) -> int:
    if type(value) is not int:
        raise TypeError(f"{call}: {name} must be an int, got {type(value).__name__} {value!r}")
    if not -_COORD <= value < _COORD:
        raise ValueError(f"{call}: {name} must be between {-_COORD} and {_COORD - 1}, got {value}")
    return value


def check_flag(call: str, name: str, value: object) -> bool:
    if type(value) is not bool:
        raise TypeError(f"{call}: {name} must be True or False, got {value!r}")
    return value


def read_icon(call: str, path: object) -> tuple[str, list[int]]:
    """``(absolute path, _NET_WM_ICON data)`` of an image file, or an error naming ``icon_path``."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{call}: icon_path must be a str or a path, got {type(path).__name__} {path!r}")
    resolved = str(Path(path).resolve())
    if not os.path.isfile(resolved):
        raise FileNotFoundError(f"{call}: icon_path {str(path)!r} is not a file")
    try:
        from ._x11 import icon_data

        return resolved, icon_data(resolved)
    except ImportError as exc:
        raise ImportError(f"{call}: reading an icon needs Pillow and python-xlib ({exc})") from None
    except OSError as exc:  # PIL.UnidentifiedImageError is an OSError
        raise ValueError(f"{call}: icon_path {str(path)!r} is not an image Pillow can read: {exc}") from None


@dataclass
class WindowOptions:
    """What ``initialize`` applies to the window once it is mapped."""

    width: int
    height: int
    frameless: bool
    icon: list[int] | None
    x: int | None
    y: int | None
    always_on_top: bool


def public_title(title: str, session: Session) -> str:
    """``title`` without the session's URL and token: an engine titles a page without ``<title>`` by its URL."""
    return served_as_app_url(title).replace(session.token, "...")


class WindowControls:
    """The window half of :class:`~pytonium_lab.Pytonium` (a mixin: it uses the window Pytonium opened)."""

    backend: str
    _window: WindowProcess | None
    _session: Session | None
    _server: LoopbackServer | None
    _widget: Any

    def _init_window_controls(self) -> None:
        self._frameless = False
        self._icon: tuple[str, list[int]] | None = None
        self._title_callbacks: list[Callable[[str], Any]] = []
        self._xwin: XWindow | None = None
        self._x11_problem = "the window has not been found yet"
        self._normal: tuple[tuple[int, int], tuple[int, int]] | None = None  # position, size before maximize

    # ---- before initialize -----------------------------------------------------------------

    def set_frameless_window(self, frameless: bool) -> None:
        """Open windows without the window manager's frame (title bar, borders); applies at once if open."""
        self._frameless = check_flag("set_frameless_window", "frameless", frameless)
        if self._xwin is not None:
            self._apply_frameless(self._xwin, self._frameless)

    def set_custom_icon_path(self, icon_path: str | os.PathLike[str]) -> None:
        """Use the image at ``icon_path`` (PNG, ICO, ... anything Pillow reads) as the window's icon."""
        self._icon = read_icon("set_custom_icon_path", icon_path)
        if self._xwin is not None:
            self._xwin.own("_NET_WM_ICON", "CARDINAL", 32, self._icon[1])

    def on_title_change(self, callback: Callable[[str], Any]) -> None:
        """Call ``callback(title)`` when the window's title changes (the page's ``<title>``).

        It runs where the page's writes run: the thread calling
        ``update_message_loop()``, or the kernel's event loop in a notebook.
        """
        if not callable(callback):
            raise TypeError(f"on_title_change: callback must be callable, got {type(callback).__name__}")
        self._title_callbacks.append(callback)

    def _window_options(
        self,
        width: object,
        height: object,
        frameless: object,
        icon_path: object,
        x: object,
        y: object,
        always_on_top: object,
    ) -> WindowOptions:
        """Check ``initialize``'s window arguments before anything opens."""
        call = "initialize"
        return WindowOptions(
            width=check_size(call, "width", width),
            height=check_size(call, "height", height),
            frameless=self._frameless if frameless is None else check_flag(call, "frameless", frameless),
            icon=(self._icon[1] if self._icon else None) if icon_path is None else read_icon(call, icon_path)[1],
            x=None if x is None else check_coordinate(call, "x", x),
            y=None if y is None else check_coordinate(call, "y", y),
            always_on_top=check_flag(call, "always_on_top", always_on_top),
        )

    # ---- attaching to the engine's window ----------------------------------------------------

    def _attach_window(self, options: WindowOptions) -> None:
        """Find the window ``initialize`` opened and apply ``options`` (it may raise: then close the window)."""
        window = self._window
        assert window is not None
        self._x11_problem = _x11_missing(window.backend) or ""
        if self._x11_problem:
            if _asks_for_window_manager(options):
                raise NotImplementedError(f"initialize: {self._x11_problem}")
            log.info("window options unavailable: %s", self._x11_problem)
            return
        from ._x11 import XWindow

        server, session = self._server, self._session
        assert server is not None
        assert session is not None
        try:
            xwin = XWindow.find(
                window.pid,
                self._title_changed,
                alive=window.is_alive,
                public=lambda title: public_title(title, session),
            )
        except (RuntimeError, TimeoutError) as exc:
            self._x11_problem = f"the {window.backend} window was not found on DISPLAY {os.environ['DISPLAY']}: {exc}"
            raise RuntimeError(f"initialize: {self._x11_problem}") from None
        self._xwin = xwin

        def write_title(title: str) -> None:  # an engine that reports titles instead of writing them
            xwin.set_title(public_title(title, session))  # filtered before it reaches the window

        window.on_title = write_title
        if window.title is not None:
            write_title(window.title)
        if options.frameless:
            self._apply_frameless(xwin, True)
        if options.icon is not None:
            xwin.own("_NET_WM_ICON", "CARDINAL", 32, options.icon)
        if options.always_on_top:
            self._needs_wm(xwin, "initialize(always_on_top=True)")
            xwin.change_states(True, "ABOVE")
        if options.x is not None or options.y is not None or (options.width, options.height) != xwin.size():
            xwin.move_resize(options.x, options.y, options.width, options.height)

    def _detach_window(self) -> None:
        if self._xwin is not None:
            self._xwin.close()
            self._xwin = None
        self._normal = None
        self._x11_problem = "the window is closed"

    def _title_changed(self, title: str) -> None:
        """From the X watcher thread: run the callbacks where the page's writes run."""
        session = self._session
        if session is None or not self._title_callbacks:
            return
        callbacks = list(self._title_callbacks)

        def run() -> None:
            for callback in callbacks:
                try:
                    callback(title)
                except Exception:
                    log.exception("on_title_change callback %r failed", callback)

        session.post(run)

    def _apply_frameless(self, xwin: XWindow, frameless: bool) -> None:
        # _MOTIF_WM_HINTS: flags=2 (decorations given), decorations=0 (none) or 1 (all).
        xwin.own("_MOTIF_WM_HINTS", "_MOTIF_WM_HINTS", 32, [2, 0, 0 if frameless else 1, 0, 0])
        xwin.settle_frame(frameless)

    # ---- the calls ---------------------------------------------------------------------------

    def _steer(self, call: str) -> XWindow:
        """The window to act on, or the error saying why there is none."""
        if self._widget is not None:
            raise NotImplementedError(f"{call}: the notebook engine shows the page inline; it has no window to steer")
        window = self._window
        if window is None:
            raise RuntimeError(f"{call}: no window; call initialize() first")
        if not window.is_alive():
            raise RuntimeError(f"{call}: the window is closed; call initialize() to open it again")
        if self._xwin is None:
            if _x11_missing(window.backend):
                raise NotImplementedError(f"{call}: {_x11_missing(window.backend)}")
            raise RuntimeError(f"{call}: {self._x11_problem}")
        return self._xwin

    @staticmethod
    def _needs_wm(xwin: XWindow, call: str) -> None:
        if not xwin.has_wm():
            raise RuntimeError(
                f"{call}: no window manager runs on DISPLAY {os.environ.get('DISPLAY')}; "
                "minimize, maximize and always-on-top are the window manager's to do"
            )

    def minimize_window(self) -> None:
        """Minimize (iconify) the window; ``restore_window`` brings it back."""
        xwin = self._steer("minimize_window")
        self._needs_wm(xwin, "minimize_window")
        if self._normal is None and not xwin.iconic() and not set(_MAXIMIZED) & xwin.states():
            self._normal = (xwin.position(), xwin.size())  # openbox may bring it back elsewhere
        xwin.minimize()

    def maximize_window(self) -> None:
        xwin = self._steer("maximize_window")
        self._needs_wm(xwin, "maximize_window")
        if not self.is_maximized():
            self._normal = (xwin.position(), xwin.size())
        xwin.change_states(True, *_MAXIMIZED)

    def restore_window(self) -> None:
        """Undo minimize and maximize: the window comes back where and as large as it was."""
        xwin = self._steer("restore_window")
        self._needs_wm(xwin, "restore_window")
        if xwin.iconic():
            xwin.show()
            xwin.wait_still()
        if set(_MAXIMIZED) & xwin.states():
            xwin.change_states(False, *_MAXIMIZED)
            xwin.wait_still()  # the WM puts the window back in steps; move it only after them
        if self._normal is not None:  # some engines keep the maximized size (cefpython3 does)
            (x, y), (width, height) = self._normal
            self._normal = None
            for _ in range(3):
                if (xwin.position(), xwin.size()) == ((x, y), (width, height)):
                    break
                # openbox puts a window it unmaximizes a frame's width off while believing it is
                # where it was, and ignores a move to that spot: one step beside it first.
                xwin.move_resize(x + 1, y + 1, width, height)
                xwin.move_resize(x, y, width, height)
                xwin.wait_still()

    def is_maximized(self) -> bool:
        return set(_MAXIMIZED) <= self._steer("is_maximized").states()

    def close_window(self) -> None:
        """Close the window (as ``shutdown`` does, the store and its handlers stay)."""
        self._steer("close_window")
        assert self._window is not None
        self._detach_window()
        self._window.close()

    def get_window_position(self) -> tuple[int, int]:
        """The outer top-left corner ``(x, y)`` on the screen, frame included."""
        return self._steer("get_window_position").position()

    def set_window_position(self, x: int, y: int) -> None:
        call = "set_window_position"
        xwin = self._steer(call)
        xwin.move_resize(check_coordinate(call, "x", x), check_coordinate(call, "y", y))

    def drag_window(self, dx: int, dy: int) -> None:
        """Move the window by ``dx, dy`` from where it is now (a custom title bar's drag)."""
        xwin = self._steer("drag_window")
        dx, dy = check_coordinate("drag_window", "dx", dx), check_coordinate("drag_window", "dy", dy)
        x, y = xwin.position()
        xwin.move_resize(x + dx, y + dy)

    def get_window_size(self) -> tuple[int, int]:
        """The page's ``(width, height)`` (the window without the WM's frame)."""
        return self._steer("get_window_size").size()

    def set_window_size(self, width: int, height: int) -> None:
        self._resize("set_window_size", width, height, 0)

    def resize_window(self, width: int, height: int, anchor: int = 0) -> None:
        """Resize the page to ``width, height`` keeping one corner fixed.

        ``anchor``: 0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right (as the original).
        """
        self._resize("resize_window", width, height, anchor)

    def _resize(self, call: str, width: int, height: int, anchor: int) -> None:
        xwin = self._steer(call)
        width, height = check_size(call, "width", width), check_size(call, "height", height)
        if type(anchor) is not int:
            raise TypeError(f"{call}: anchor must be an int 0-3, got {type(anchor).__name__} {anchor!r}")
        if anchor not in (0, 1, 2, 3):
            raise ValueError(f"{call}: anchor must be 0 (top-left), 1 (top-right), 2 (bottom-left) or 3, got {anchor}")
        (x, y), (old_w, old_h) = xwin.position(), xwin.size()
        if anchor in (1, 3):
            x += old_w - width
        if anchor in (2, 3):
            y += old_h - height
        xwin.move_resize(x, y, width, height)


def _x11_missing(backend: str) -> str | None:
    """Why the window cannot be steered here, or None."""
    if not sys.platform.startswith("linux"):
        return f"the {backend} engine's window controls are implemented for X11 (Linux) only, not {sys.platform}"
    if not os.environ.get("DISPLAY"):
        return f"the {backend} engine's window is not on X11 (DISPLAY is not set: Wayland without XWayland)"
    try:
        import Xlib  # noqa: F401
    except ImportError:
        return "python-xlib is missing: pip install python-xlib"
    return None


def _asks_for_window_manager(options: WindowOptions) -> bool:
    """Whether ``initialize`` was asked for more than an engine does by itself."""
    return (
        options.frameless
        or options.always_on_top
        or options.icon is not None
        or options.x is not None
        or options.y is not None
        or options.height < LAUNCH_MIN
        or options.width < LAUNCH_MIN
    )
