"""Where this code runs: in IPython, in a Jupyter kernel, on a thread with a running asyncio loop.

One home for these questions: the notebook host asks them to route page
messages and hook cells, the desktop host to choose an inline view and where a
window's page writes run, the shared store where its handlers run. IPython is
imported only when it is installed (a plain script never needs it).
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["ipython_shell", "jupyter_kernel", "running_loop"]


def ipython_shell() -> Any:
    """The running IPython shell (a Jupyter kernel's, or a terminal IPython's), or None."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def jupyter_kernel() -> Any:
    """The ipykernel this code runs in (``shell.kernel``), or None (plain Python, terminal IPython, marimo)."""
    shell = ipython_shell()
    return getattr(shell, "kernel", None) if shell is not None else None


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The asyncio loop running on this thread (a Jupyter kernel's on its main thread), or None."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
