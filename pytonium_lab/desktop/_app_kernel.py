"""The kernel's half of ``pytonium-lab app`` (the command's half is ``_app``).

The command runs :func:`install` in a real ipykernel before the notebook's
first cell. From then on, in that kernel only:

- displaying a :class:`~pytonium_lab.StateWidget` (``display(w)``, or ``w`` as
  a cell's last line) opens it in a desktop window at once, with its page, its
  namespaces and its store, instead of an inline view no one would see; an
  inspector is a StateWidget, so ``store.inspector()`` opens too; StateWidgets
  inside an ipywidgets box open, the box's other children are reported;
- any other ipywidget displayed is reported as not shown;
- every desktop window the process opens (these, ``open_window``,
  ``Pytonium.initialize``) is reported when it opens and when it closes.

Reports are ``display_data`` messages of type :data:`MIME` on the kernel's
IOPub channel, the channel the command reads output from anyway; front ends
ignore a type they do not know. Display hooks are IPython's own
(``for_type`` on the display formatter): nothing of IPython is patched.
"""

from __future__ import annotations

import atexit
import logging
import re
import threading
import time
from typing import Any

from .._where import ipython_shell, jupyter_kernel
from ._backends import WindowProcess
from ._window import observe_windows

__all__ = ["MIME", "install"]

log = logging.getLogger("pytonium_lab")

MIME = "application/vnd.pytonium-lab.app+json"
"""The MIME type of the kernel's reports to ``pytonium-lab app``."""

DEFAULT_WIDTH = 800
DEFAULT_HEIGHT = 600
"""A window's size when neither the command line nor the widget's height (in px) says."""

POLL = 0.05
"""Seconds between looks at the open windows: how late a close is reported at most."""

_PIXELS = re.compile(r"\s*(\d+)\s*(px)?\s*")


def _report(event: dict[str, Any]) -> None:
    from IPython.display import publish_display_data

    publish_display_data({MIME: event})


class _Windows:
    """The open windows: each reported when it opens and, by one polling thread, when it closes."""

    def __init__(self) -> None:
        self._open: dict[int, WindowProcess] = {}
        self._lock = threading.Lock()
        self._count = 0
        self._thread: threading.Thread | None = None

    def opened(self, window: WindowProcess) -> None:
        with self._lock:
            self._count += 1
            number = self._count
            self._open[number] = window
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="pytonium-app-windows", daemon=True)
                self._thread.start()
        _report({"event": "opened", "window": number, "engine": window.backend, "pid": window.pid})

    def _watch(self) -> None:
        while True:
            time.sleep(POLL)
            with self._lock:
                gone = [number for number, window in self._open.items() if not window.is_alive()]
                for number in gone:
                    del self._open[number]
            for number in gone:
                _report({"event": "closed", "window": number})

    def close_all(self) -> None:
        """Close every window still open (at the kernel's exit: no engine or temporary folder outlives it)."""
        with self._lock:
            windows = list(self._open.values())
        for window in windows:
            window.close()


class _Displays:
    """IPython display hooks: StateWidgets open as windows, other widgets are reported."""

    def __init__(self, width: int | None, height: int | None, backend: str) -> None:
        self.width = width
        self.height = height
        self.backend = backend
        self.handles: list[Any] = []  # keeps every window's session alive as long as the kernel

    def state_widget(self, widget: Any) -> None:
        handle = widget.open_window(
            width=self.width or DEFAULT_WIDTH, height=self.height or _pixels(widget.height), backend=self.backend
        )
        self.handles.append(handle)

    def other_widget(self, widget: Any) -> None:
        from ..notebook import StateWidget

        children = getattr(widget, "children", None)
        if isinstance(children, (list, tuple)) and children:  # a box: show what can be shown
            for child in children:
                (self.state_widget if isinstance(child, StateWidget) else self.other_widget)(child)
            return
        kind = type(widget)  # named as users import it: ipywidgets.HTML, not ipywidgets.widgets.widget_string.HTML
        _report({"event": "not shown", "widget": f"{kind.__module__.split('.')[0]}.{kind.__qualname__}"})


def _pixels(height: Any) -> int:
    """A widget's CSS height as a window height: ``"190px"`` -> 190; other units -> the default."""
    found = _PIXELS.fullmatch(str(height))
    return int(found.group(1)) if found else DEFAULT_HEIGHT


_installed: _Displays | None = None


def install(width: int | None = None, height: int | None = None, backend: str = "auto") -> None:
    """Turn this kernel into the app's: displayed StateWidgets open as windows (run once, by the command)."""
    global _installed
    if _installed is not None:
        raise RuntimeError("pytonium-lab app: the kernel is set up already")
    from ..notebook import StateWidget

    shell = ipython_shell()
    if jupyter_kernel() is None:
        raise RuntimeError("pytonium-lab app: install() runs in the app's ipykernel only")
    displays = _Displays(width, height, backend)
    formatter = shell.display_formatter.ipython_display_formatter
    formatter.for_type(StateWidget, displays.state_widget)  # the most specific type wins
    formatter.for_type_by_name("ipywidgets.widgets.widget", "Widget", displays.other_widget)
    windows = _Windows()
    observe_windows(windows.opened)
    atexit.register(windows.close_all)
    _installed = displays
