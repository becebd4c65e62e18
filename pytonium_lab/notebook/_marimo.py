"""What a StateWidget needs from marimo (``mo.ui.anywidget(StateWidget(...))``).

marimo runs cells without IPython, so the IPython hooks of ``_host_hooks`` do
not exist there. This module gives the same three things through marimo's
runtime:

- a callback after every cell (the cell-end flush): a post-execution hook on
  the kernel's cell hooks (``Kernel._hooks``, the list marimo copies for each
  run, so it applies from the next run on; the first run still flushes
  within one throttle interval through the link's timer);
- :func:`pump`, for ``update_message_loop()`` in a cell that loops: marimo's
  kernel reads page messages only between cells, from a control queue, and
  mirrors each widget message on a second queue (``set_ui_element_queue``)
  that it drains to merge bursts. :func:`pump` takes *our* widgets' custom
  messages from that mirror and hands them to their comms now, on the cell's
  thread, and marks their tokens so the control queue's copy is skipped
  when the kernel reaches it (marimo's own de-duplication works the same
  way); other messages are put back in order, untouched. The two queues
  are separate pipes, so a mirror copy can arrive after the kernel handled
  the control copy between cells (marimo drops such a late copy at its next
  drain): the tokens marimo's own loop delivered to a comm are remembered
  from the first widget on, and :func:`pump` drops a late copy of one instead
  of handing the message over a second time;
- nothing for re-runs: marimo closes a re-run cell's widget comms itself
  (``comm.close()``, without the widget's ``close()``); ``_host_hooks``
  closes the link when the comm closes, on every host.

These are marimo internals (``marimo._runtime``, ``marimo._plugins``), so
each is looked up and checked first: where one is missing, the cell-end flush
waits for the throttle's timer and ``update_message_loop()`` only flushes.
"""

from __future__ import annotations

import inspect
import logging
import queue as _queue
import sys
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

__all__ = ["on_cell_end", "pump", "running", "watch"]

log = logging.getLogger("pytonium_lab")

_lock = threading.Lock()
_hooked_kernels: weakref.WeakSet[Any] = weakref.WeakSet()
_widgets: weakref.WeakSet[Any] = weakref.WeakSet()  # live StateWidgets with a marimo comm
_taken: set[str] = set()  # tokens of messages pump() handed over; their control-queue copy is skipped
_delivered: OrderedDict[str, None] = OrderedDict()  # tokens marimo's loop delivered; a late mirror copy is dropped
_skipping = False  # the comm manager's receive is wrapped

MAX_DELIVERED = 1024
"""Delivered tokens remembered: marimo drains the mirror (late copies included) at every widget
message it handles, so a late copy is never more than a few messages old."""


def running() -> bool:
    """True inside a marimo kernel (a cell, or a handler on the kernel's thread)."""
    marimo = sys.modules.get("marimo")
    if marimo is None:
        return False
    try:
        return bool(marimo.running_in_notebook())  # public API
    except Exception:
        return False


def _context() -> Any:
    try:
        from marimo._runtime.context import safe_get_context
    except ImportError:
        return None
    return safe_get_context()


def on_cell_end(callback: Callable[[], None]) -> bool:
    """Call ``callback()`` after every later cell of this marimo kernel; False where impossible."""
    kernel = getattr(_context(), "_kernel", None)
    hooks = getattr(kernel, "_hooks", None)
    add = getattr(hooks, "add_post_execution", None)
    if add is None:
        return False
    with _lock:
        if kernel in _hooked_kernels:
            return True

        def after_cell(_cell: Any, _ctx: Any, _result: Any) -> None:
            try:
                callback()
            except Exception:  # a flush must never break marimo's cell bookkeeping
                log.exception("flushing views after a marimo cell failed")

        try:
            add(after_cell)
        except Exception:
            log.debug("marimo refused a post-execution hook", exc_info=True)
            return False
        _hooked_kernels.add(kernel)
    return True


def watch(widget: Any) -> None:
    """Let :func:`pump` hand ``widget``'s page messages over while a cell loops."""
    with _lock:
        _widgets.add(widget)
    manager = _comm_manager()
    if manager is not None:
        _skip_taken(manager)  # from now on: what marimo delivers is remembered, for pump()


def _comm_manager() -> Any:
    try:
        from marimo._plugins.ui._impl.anywidget.init import WIDGET_COMM_MANAGER
    except ImportError:
        return None
    return WIDGET_COMM_MANAGER


def _skip_taken(manager: Any) -> bool:
    """Wrap the comm manager's receive so a message is handled once, by pump() or by marimo's loop.

    A message pump() handed over is skipped here; a message delivered here is
    remembered, so pump() skips its mirror copy if that comes late.
    """
    global _skipping
    with _lock:
        if _skipping:
            return True
        receive = getattr(manager, "receive_comm_message", None)
        if receive is None:
            return False

        def receive_once(command: Any) -> Any:
            token = getattr(command, "token", None)
            if token is not None:
                with _lock:
                    if token in _taken:
                        _taken.discard(token)
                        return (None, None)
                    _delivered[token] = None
                    if len(_delivered) > MAX_DELIVERED:
                        _delivered.popitem(last=False)
            return receive(command)

        manager.receive_comm_message = receive_once
        _skipping = True
        return True


def _mirror_queue(kernel: Any) -> Any:
    """The kernel's set_ui_element_queue (held by its control-request enqueuer)."""
    enqueue = getattr(kernel, "enqueue_control_request", None)
    if enqueue is None:
        return None
    try:
        found = inspect.getclosurevars(enqueue).nonlocals.get("set_ui_element_queue")
    except (TypeError, ValueError):
        return None
    if found is None or not all(hasattr(found, m) for m in ("get_nowait", "put_nowait")):
        return None
    return found


def pump() -> int:
    """Hand our widgets' queued page messages to them now (in a running cell); returns how many."""
    ctx = _context()
    if ctx is None or getattr(ctx, "execution_context", None) is None:
        return 0  # between cells marimo's own loop delivers them
    kernel = getattr(ctx, "_kernel", None)
    mirror = _mirror_queue(kernel)
    manager = _comm_manager()
    if mirror is None or manager is None or not _skip_taken(manager):
        return 0
    with _lock:
        ours = {w.comm.comm_id for w in list(_widgets) if getattr(w, "comm", None) is not None}
    if not ours:
        return 0
    taken: list[Any] = []
    others: list[Any] = []
    while True:
        try:
            command = mirror.get_nowait()
        except _queue.Empty:
            break
        except Exception:
            log.debug("reading marimo's widget queue failed", exc_info=True)
            break
        message = getattr(command, "message", None)
        custom = type(message).__name__ == "ModelCustomMessage"
        token = getattr(command, "token", None)
        if custom and getattr(command, "model_id", None) in ours and token:
            with _lock:
                late = _delivered.pop(token, False) is None  # handled between cells already
            if not late:
                taken.append(command)
        else:
            others.append(command)
    for command in others:  # back in their order, for marimo's own merging
        mirror.put_nowait(command)
    for command in taken:
        with _lock:
            _taken.add(command.token)
        comm = manager.comms.get(command.model_id)
        if comm is None:
            continue
        try:
            comm.handle_msg(command.into_comm_payload())
        except Exception:
            log.exception("a page message failed in update_message_loop()")
    return len(taken)
