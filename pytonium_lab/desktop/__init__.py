"""Desktop windows (CEF or chromium) showing a StateStore through a loopback server."""

from ._pytonium import Pytonium
from ._window import WindowHandle, open_window

__all__ = ["Pytonium", "WindowHandle", "open_window"]
