"""The engine host's end of the window protocol, shared by both CEF hosts.

A host (``_cef_host.py`` on this Python, ``_cefpython3_host.py`` on the
cefpython3 runtime's Python 3.7) imports this file as a sibling module, so it
keeps to Python 3.7 syntax and the standard library (python-xlib is used for
the window title when the host's Python has it).

The protocol: JSON lines to the parent on a dup of the original stdout
(``ready``, ``closed``, and ``beat`` every :data:`BEAT_EVERY` seconds from the
engine's UI thread: the parent takes a silence for a hang); ``close`` and
``load`` lines from the parent on stdin, and stdin EOF (the parent is gone) closes too. fd 1
is moved to stderr first, so the engine's own output cannot corrupt the stream.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
from typing import Any, Callable

BEAT_EVERY = 0.5
"""Seconds between heartbeats; the parent allows ``_backends.HANG_AFTER`` of silence."""

DEFAULT_TITLE = "Pytonium"


class Channel:
    """The parent's channel: :meth:`tell` events, :meth:`beat_from` a UI thread, :meth:`on_close` commands."""

    def __init__(self) -> None:
        self._out = os.fdopen(os.dup(1), "w", buffering=1)
        os.dup2(2, 1)
        self._lock = threading.Lock()

    def tell(self, event: str, **fields: Any) -> None:
        fields["event"] = event
        try:
            with self._lock:
                self._out.write(json.dumps(fields) + "\n")
                self._out.flush()
        except (OSError, ValueError):
            pass  # the parent is gone: stdin EOF closes the window

    def beat_from(self, post: Callable[[Callable[[], None]], object]) -> None:
        """Beat every :data:`BEAT_EVERY` s through ``post`` (runs a function on the engine's UI thread).

        The beat is written by the UI thread itself, so a hung UI thread (or a
        stopped process) falls silent, while a busy page does not.
        """

        def beat() -> None:
            self.tell("beat")

        def run() -> None:
            while True:
                post(beat)
                time.sleep(BEAT_EVERY)

        threading.Thread(target=run, name="beats", daemon=True).start()

    def on_commands(self, close: Callable[[], None], load: Callable[[str, str | None], None]) -> None:
        """Run the parent's commands on a reader thread: ``close`` at a ``close`` line or stdin EOF,
        ``load(url, inject)`` at a ``{"load": URL, "inject": JS or null}`` line (``load_url``)."""

        def read() -> None:
            for line in sys.stdin:
                if line.strip() == "close":
                    break
                if line.startswith("{"):
                    command = json.loads(line)
                    load(str(command["load"]), command.get("inject"))
            close()

        threading.Thread(target=read, name="commands", daemon=True).start()


_SERVED = re.compile(r"(?:https?://)?127\.0\.0\.1:\d+/_s/[^/\s]+/([a-z][a-z0-9+.-]*)/([^?#\s]*)\S*")
"""A URL of the loopback server: ``/_s/<session>/<scheme>/<path>?token=...``."""


def served_as_app_url(title: str) -> str:
    """``title`` with every loopback-server URL in it written as the page's own URL (``app://path``).

    Engines title a page without ``<title>`` by its URL, which carries the session token.
    """
    return _SERVED.sub(r"\1://\2", title)


def shown_title(title: str | None, url: str | None, default: str) -> str:
    """The window title for a page's ``title``: its own URL (``app://page.html``) where an engine
    would show the loopback URL, ``default`` where nothing else is safe to show."""
    title = (title or "").strip()
    if not title or (url and title in url):
        title = url or ""
    title = served_as_app_url(title)
    if not title or "token=" in title or title == "about:blank":
        return default
    return title


class WindowTitle:
    """Sets an X11 window's title (WM_NAME and the UTF-8 _NET_WM_NAME) through python-xlib."""

    def __init__(self) -> None:
        self._display: Any = None
        self._failed = False

    def set(self, window_id: int, title: str) -> None:
        if self._failed or not window_id:
            return
        try:
            if self._display is None:
                from Xlib import display as xdisplay

                self._display = xdisplay.Display()
            d = self._display
            window = d.create_resource_object("window", window_id)
            window.change_property(d.intern_atom("_NET_WM_NAME"), d.intern_atom("UTF8_STRING"), 8, title.encode())
            window.change_property(
                d.intern_atom("WM_NAME"), d.intern_atom("STRING"), 8, title.encode("latin-1", "replace")
            )
            d.flush()
        except Exception as exc:  # no python-xlib, no display: the window keeps its first title
            self._failed = True
            sys.stderr.write(f"pytonium host: cannot set the window title ({exc!r})\n")
