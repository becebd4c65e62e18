"""Hearing the page while a cell blocks: a widget's comm routed to a kernel subshell.

A kernel reads comm messages on its main thread, between cells (or while a
cell awaits), so the spec's ``while p.is_running(): p.update_message_loop()``
loop in a notebook never heard the page. ipykernel 7 runs *subshells* on
their own threads and asks each comm where its incoming messages go
(``Comm._reply_subshell_for``). While a cell runs, a widget's comm is routed
to one subshell of ours, so its messages arrive while the main thread is
busy; the widget queues the page's writes and applies them on the main
thread (``update_message_loop`` in the cell, or the kernel's loop once it is
free), so handlers run where the spec says. Between cells the main shell
handles them as before, so a handler's output still lands where ipywidgets
expects it (e.g. in an ``Output.capture``).

These are ipykernel internals, so everything is checked first: without them
(an older kernel, another frontend's kernel, plain Python) nothing changes
and messages arrive between cells, as before.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from typing import Any

__all__ = ["route_to_subshell", "keep_cell_busy"]

log = logging.getLogger("pytonium_lab")

_lock = threading.Lock()
_subshell: str | None = None
_cell_running = threading.Event()
_cell_parent: dict[str, Any] | None = None  # the running cell's request, for its busy status
_status_lock = threading.Lock()  # a busy we restore never follows the cell's own idle


def _cell_started(*_: Any) -> None:
    global _cell_parent
    kernel = _kernel()
    _cell_parent = kernel.get_parent("shell") if kernel is not None else None
    _cell_running.set()


def _cell_ended(*_: Any) -> None:
    with _status_lock:
        _cell_running.clear()


def keep_cell_busy() -> None:
    """Call on the subshell thread while handling a message: say "busy" again once it is done.

    A subshell reports busy/idle around each message, under that message's
    parent; JupyterLab then shows the kernel idle while the cell still runs.
    """
    kernel = _kernel()
    publish = getattr(kernel, "_publish_status", None)
    parent = _cell_parent
    if publish is None or parent is None:
        return

    def busy_again() -> None:
        with _status_lock:
            if _cell_running.is_set():
                publish("busy", "shell", parent=parent)

    try:
        asyncio.get_running_loop().call_soon(busy_again)  # after the subshell's idle
    except RuntimeError:
        pass


def _kernel() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    return getattr(shell, "kernel", None) if shell is not None else None


def _our_subshell(kernel: Any) -> str | None:
    """The id of this process's subshell for widget messages, made on first use."""
    global _subshell
    with _lock:
        if _subshell is None:
            channel = kernel.shell_channel_thread
            manager = channel.manager
            made: concurrent.futures.Future = concurrent.futures.Future()

            def create() -> None:  # subshells are made on the shell-channel thread only
                try:
                    made.set_result(manager._create_subshell())
                except BaseException as exc:  # handed to the waiting thread
                    made.set_exception(exc)

            channel.io_loop.add_callback(create)
            _subshell = made.result(5)
            kernel.shell.events.register("pre_run_cell", _cell_started)
            kernel.shell.events.register("post_run_cell", _cell_ended)
            _cell_started()  # we are inside a cell now
        return _subshell


def route_to_subshell(comm: Any) -> asyncio.AbstractEventLoop | None:
    """Send ``comm``'s incoming messages to our subshell; return the main loop to hand work back to.

    Returns None (and changes nothing) where the kernel cannot do it.
    """
    try:
        from ipykernel.comm.comm import BaseComm
    except ImportError:
        return None
    kernel = _kernel()
    if (kernel is None or comm is None or not getattr(kernel, "_supports_kernel_subshells", False)
            or not hasattr(kernel, "shell_channel_thread") or not hasattr(BaseComm, "_reply_subshell_for")
            or threading.current_thread() is not threading.main_thread()):
        return None
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    try:
        subshell = _our_subshell(kernel)
    except Exception as exc:  # an ipykernel that changed inside: keep the old behaviour
        log.debug("widget messages stay on the main shell: %r", exc)
        return None
    comm._reply_subshell_for = lambda _data, default: subshell if _cell_running.is_set() else default
    return loop
