"""The notebook host: StateWidget (an anywidget view of a StateStore) and what it needs in a kernel.

Where page messages are handled (the kernel's main thread, or a looping cell),
the flushes at a cell's end, marimo's hooks and the inlining of a page's assets
live here, as the desktop host lives in :mod:`pytonium_lab.desktop`.
"""

from ._widget import StateWidget, load_page

__all__ = ["StateWidget", "load_page"]
