"""Hearing the page while a cell blocks: a widget's comm routed to a kernel subshell.

A kernel reads comm messages on its main thread, between cells (or while a
cell awaits), so the spec's ``while p.is_running(): p.update_message_loop()``
loop in a notebook never heard the page. ipykernel 7 runs *subshells* on
their own threads and asks each comm where its incoming messages go
(``Comm._reply_subshell_for``). Once a cell calls ``update_message_loop``
(the spec's loop shape), the widgets' comms are routed to one subshell of
ours until the cell ends, so page messages arrive while the main thread is
busy; the widget queues the page's writes and applies them on the main thread
in that call, so handlers run where the spec says and print into the running
cell. Other cells are left alone: a message that arrives while they run waits
for the main shell, which handles it in its own context after the cell, where
ipywidgets expects a handler's output (e.g. in an ``Output.capture``).

The subshell is made at the first such call, so notebooks that never loop
keep the kernel as it was. JupyterLab may itself send comm messages to
subshells of its own (``commsOverSubshells: perCommTarget``, the default of
JupyterLab 4.6 and Notebook 7): those would run handlers on that subshell's
thread while a cell runs, so every other message is routed to the main shell,
where handlers run between cells or while a cell awaits.

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

from .._where import jupyter_kernel, running_loop

__all__ = ["cell_pumps", "keep_cell_busy", "on_our_subshell", "route_to_subshell"]

log = logging.getLogger("pytonium_lab")

_lock = threading.Lock()
_capable = False  # route_to_subshell found what it needs in this kernel
_subshell: str | None = None
_cell_running = threading.Event()
_pumping = threading.Event()  # the running cell calls update_message_loop: route to the subshell
_cell_parent: dict[str, Any] | None = None  # the running cell's request, for its busy status
_status_lock = threading.Lock()  # a busy we restore never follows the cell's own idle


def _cell_started(*_: Any) -> None:
    global _cell_parent
    kernel = jupyter_kernel()
    _cell_parent = kernel.get_parent("shell") if kernel is not None else None
    _cell_running.set()


def _cell_ended(*_: Any) -> None:
    with _status_lock:
        _pumping.clear()
        _cell_running.clear()


def _make_subshell(kernel: Any) -> str:
    """A new subshell (made on the shell-channel thread, as ipykernel requires)."""
    channel = kernel.shell_channel_thread
    manager = channel.manager
    made: concurrent.futures.Future[str] = concurrent.futures.Future()

    def create() -> None:
        try:
            made.set_result(str(manager._create_subshell()))
        except BaseException as exc:  # handed to the waiting thread
            made.set_exception(exc)

    channel.io_loop.add_callback(create)
    return made.result(5)


def cell_pumps() -> None:
    """Called by ``update_message_loop``: until this cell ends, page messages come through the subshell."""
    global _capable, _subshell
    if not _capable or not _cell_running.is_set() or threading.current_thread() is not threading.main_thread():
        return
    with _lock:
        if _subshell is None:
            try:
                _subshell = _make_subshell(jupyter_kernel())
            except Exception as exc:  # an ipykernel that changed inside: keep the old behaviour
                log.debug("widget messages stay on the main shell: %r", exc)
                _capable = False
                return
    _pumping.set()


def on_our_subshell() -> bool:
    """Whether this thread is our subshell (JupyterLab may send comm messages to subshells of its own)."""
    subshell = _subshell
    if subshell is None:
        return False
    try:
        manager = jupyter_kernel().shell_channel_thread.manager
        return bool(manager.subshell_id_from_thread_id(threading.get_ident()) == subshell)
    except Exception:  # not a shell thread at all
        return False


def keep_cell_busy() -> None:
    """Call on the subshell thread while handling a message: say "busy" again once it is done.

    A subshell reports busy/idle around each message, under that message's
    parent; JupyterLab then shows the kernel idle while the cell still runs.
    """
    kernel = jupyter_kernel()
    publish = getattr(kernel, "_publish_status", None)
    parent = _cell_parent
    if publish is None or parent is None:
        return

    def busy_again() -> None:
        with _status_lock:
            if _pumping.is_set():
                publish("busy", "shell", parent=parent)

    loop = running_loop()
    if loop is not None:
        loop.call_soon(busy_again)  # after the subshell's idle


def _route(_data: Any, _default: str | None) -> str | None:
    """Where a widget comm's incoming message goes: our subshell while a cell loops, else the main shell.

    Never the frontend's choice (``_default``): JupyterLab 4.6 and Notebook 7 send
    widget comm messages to a subshell per comm target, whose thread would run the
    user's handlers at the same time as the running cell. On the main shell they
    wait for the cell to end, or run while it awaits.
    """
    subshell = _subshell
    return subshell if subshell is not None and _pumping.is_set() else None


def route_to_subshell(comm: Any) -> asyncio.AbstractEventLoop | None:
    """Let ``comm``'s messages go to our subshell while a cell loops; return the main loop.

    Returns None (and changes nothing) where the kernel cannot do it.
    """
    global _capable
    try:
        from ipykernel.comm.comm import BaseComm
    except ImportError:
        return None
    kernel = jupyter_kernel()
    if (
        kernel is None
        or comm is None
        or not getattr(kernel, "_supports_kernel_subshells", False)
        or not hasattr(kernel, "shell_channel_thread")
        or not hasattr(BaseComm, "_reply_subshell_for")
        or threading.current_thread() is not threading.main_thread()
    ):
        return None
    loop = running_loop()
    if loop is None:
        return None
    with _lock:
        if not _capable:
            kernel.shell.events.register("pre_run_cell", _cell_started)
            kernel.shell.events.register("post_run_cell", _cell_ended)
            _cell_started()  # we are inside a cell now
            _capable = True
    comm._reply_subshell_for = _route
    return loop
