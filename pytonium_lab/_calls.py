"""Calls: a page calls a Python function and gets its result (Pytonium's binding API).

Functions are bound once per store, in the process that binds them
(:func:`registry_of`), so every view this process serves of the store (notebook
views, filtered or not, windows) offers the same functions; a process sharing a
store through Redis offers only its own functions to its own views.

A call arrives at a view's :class:`StoreLink` like a write, so it runs where
writes run (the kernel's main thread in a notebook, the thread calling
``update_message_loop()`` in a script): a sync function runs there, to its end;
an ``async def`` is started as a task on the loop running there (the kernel's),
else on a loop of our own (one daemon thread), so many are in flight at once.
The result, or the exception's class name and text, goes back to the calling
view only (docs/protocol.md, "Calls").
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import inspect
import itertools
import logging
import os
import re
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from . import _protocol as proto
from ._values import clean_value
from ._where import running_loop

if TYPE_CHECKING:
    from ._store import StateStore

__all__ = ["Bound", "CallBinding", "CallRegistry", "LinkCalls", "registry_of", "returns_value_to_javascript"]

log = logging.getLogger("pytonium_lab")

_F = TypeVar("_F", bound=Callable[..., Any])

_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
RESERVED = frozenset({"appState", "callFunction", "callOptions", "then", "toJSON", "constructor", "prototype"})
"""Names a page's ``Pytonium`` object uses itself (or that promise and JSON machinery reads)."""


def returns_value_to_javascript(return_type: Any) -> Callable[[_F], _F]:
    """Mark a function as returning a value of ``return_type`` to the page (the original Pytonium's decorator).

    Every bound function returns a Promise of its result here, marked or not; the
    mark only names the result's type in ``generate_typescript_definitions`` when
    the function has no return annotation. ``return_type`` is a Python type
    (``int``, ``list[str]``) or a TypeScript type as a string (``"number"``).
    """
    if inspect.isfunction(return_type) or inspect.ismethod(return_type):
        raise TypeError("returns_value_to_javascript needs the return type: use @returns_value_to_javascript(int)")

    def mark(func: _F) -> _F:
        try:
            func.__pytonium_return_type__ = return_type  # type: ignore[attr-defined]
        except (AttributeError, TypeError):
            raise TypeError(f"returns_value_to_javascript: cannot mark {func!r} (it takes no attributes)") from None
        return func

    return mark


@dataclass(frozen=True)
class Bound:
    """One bound function: how the page names it, the callable, and how many arguments it takes."""

    object: str
    name: str
    func: Callable[..., Any]
    signature: inspect.Signature | None
    min_args: int
    max_args: int  # -1: any number

    @property
    def path(self) -> str:
        return f"{self.object}.{self.name}" if self.object else self.name

    def wire(self) -> proto.BoundFunction:
        return {"object": self.object, "name": self.name, "min": self.min_args, "max": self.max_args}


def _arity(signature: inspect.Signature | None) -> tuple[int, int]:
    if signature is None:
        return 0, -1
    low, high = 0, 0
    for parameter in signature.parameters.values():
        if parameter.kind is parameter.VAR_POSITIONAL:
            high = -1
        elif parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            if high != -1:
                high += 1
            if parameter.default is parameter.empty:
                low += 1
    return low, high


def _make_bound(func: Any, name: Any, javascript_object: Any, what: str) -> Bound:
    if not callable(func):
        raise TypeError(f"{what}: the function must be callable, got {type(func).__name__} {func!r}")
    _check_js_name(what, "javascript_object", javascript_object, empty_ok=True)
    if type(name) is str and name == "":
        name = getattr(func, "__name__", "")
        if not name or name == "<lambda>":
            raise ValueError(f"{what}: {func!r} has no usable __name__; pass a name")
    _check_js_name(what, "name", name)
    try:
        signature: inspect.Signature | None = inspect.signature(func)
    except (TypeError, ValueError):  # some builtins have none: any number of arguments
        signature = None
    low, high = _arity(signature)
    return Bound(javascript_object, name, func, signature, low, high)


def _check_js_name(what: str, label: str, name: object, *, empty_ok: bool = False) -> str:
    if type(name) is not str:
        raise TypeError(f"{what}: {label} must be a str, got {type(name).__name__} {name!r}")
    if empty_ok and name == "":
        return name
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(
            f"{what}: {label} must be a JavaScript identifier (letters, digits, _ or $; no digit first), got {name!r}"
        )
    if name in RESERVED:
        raise ValueError(f"{what}: {label} {name!r} is taken by the page's Pytonium object itself; choose another")
    return name


Offered = frozenset[str] | None
"""The functions a transport offers its pages, as ``object.name`` / ``name`` paths (None: all bound)."""


def offered_functions(what: str, names: Iterable[str] | None) -> Offered:
    """Checked ``Pytonium.<object>.<name>`` paths (``"name"`` or ``"object.name"``) a transport offers."""
    if names is None:
        return None
    if isinstance(names, str):
        raise TypeError(
            f"{what}: functions must be a list of names such as ['tally', 'quiz.check'], not the str {names!r}"
        )
    paths = []
    for path in names:
        if type(path) is not str:
            raise TypeError(f"{what}: functions must hold str names, got {type(path).__name__} {path!r}")
        parts = path.split(".")
        if len(parts) > 2:
            raise ValueError(f"{what}: {path!r} is not 'name' or 'object.name'")
        for part in parts:
            _check_js_name(what, f"function {path!r}", part)
        paths.append(path)
    return frozenset(paths)


class CallRegistry:
    """The functions one store offers to this process's views; links follow its changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._bound: dict[tuple[str, str], Bound] = {}
        self._listeners: list[Callable[[], None]] = []
        self.version = 0  # counts changes: 0 means nothing was ever bound

    def bind(self, items: list[tuple[Callable[..., Any], str, str]], what: str) -> list[Bound]:
        """Offer each ``(func, name, javascript_object)`` as ``Pytonium.<javascript_object>.<name>``
        (or ``Pytonium.<name>``); all or, on bad input, none. A name bound again is replaced."""
        made = [_make_bound(func, name, javascript_object, what) for func, name, javascript_object in items]
        with self._lock:
            after = dict(self._bound)
            for bound in made:
                after[(bound.object, bound.name)] = bound
            objects = {o for o, _ in after if o}
            clash = sorted(objects & {n for o, n in after if not o})
            if clash:
                raise ValueError(f"{what}: {clash[0]!r} would be both a function and a javascript_object")
            self._bound = after
        self._changed()
        return made

    def unbind(self, name: str, javascript_object: str = "") -> bool:
        """Stop offering ``Pytonium.<javascript_object>.<name>``; ``name=""`` unbinds the whole object.

        Returns whether anything was bound. Calls in flight finish.
        """
        if type(name) is not str or type(javascript_object) is not str:
            raise TypeError(f"unbind: name and javascript_object must be str, got {name!r}, {javascript_object!r}")
        with self._lock:
            if name:
                gone = [(javascript_object, name)] if (javascript_object, name) in self._bound else []
            else:
                if not javascript_object:
                    raise ValueError("unbind: give a name, a javascript_object, or both")
                gone = [k for k in self._bound if k[0] == javascript_object]
            for key in gone:
                del self._bound[key]
        if gone:
            self._changed()
        return bool(gone)

    def lookup(self, javascript_object: str, name: str, offered: Offered = None) -> Bound | None:
        bound = self._bound.get((javascript_object, name))
        return None if bound is None or (offered is not None and bound.path not in offered) else bound

    def functions(self, offered: Offered = None) -> list[proto.BoundFunction]:
        """What a page may call: every bound function, or those of them named in ``offered``."""
        return [b.wire() for b in self.bound(offered)]

    def bound(self, offered: Offered = None) -> list[Bound]:
        with self._lock:
            return [b for _, b in sorted(self._bound.items()) if offered is None or b.path in offered]

    def follow(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener()`` after every change; returns a function that stops it."""
        with self._lock:
            self._listeners.append(listener)

        def stop() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return stop

    def _changed(self) -> None:
        with self._lock:
            self.version += 1
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener()
            except Exception:
                log.exception("telling a view about the bound functions failed")


_registries: weakref.WeakKeyDictionary[Any, CallRegistry] = weakref.WeakKeyDictionary()
_registries_lock = threading.Lock()


def registry_of(store: Any) -> CallRegistry:
    """The functions ``store`` offers to this process's views (made on first use)."""
    with _registries_lock:
        registry = _registries.get(store)
        if registry is None:
            registry = _registries[store] = CallRegistry()
        return registry


# ---- running calls ---------------------------------------------------------------------

_own_loop: asyncio.AbstractEventLoop | None = None
_own_lock = threading.Lock()


def _library_loop() -> asyncio.AbstractEventLoop:
    """Our own asyncio loop on a daemon thread: ``async def`` functions when no loop runs where calls run."""
    global _own_loop
    with _own_lock:
        if _own_loop is None:
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="pytonium-calls", daemon=True).start()
            _own_loop = loop
        return _own_loop


_Pending = asyncio.Future[Any] | concurrent.futures.Future[Any]
_ALONE = 64 * 1024
"""Answers whose JSON text is longer than this many characters leave alone (chunked above 4 MiB)."""


class LinkCalls:
    """The calls of the views behind one link: runs them, answers each to its view, cancels on request."""

    def __init__(
        self, registry: CallRegistry, send: Callable[[proto.StoreMessage], None], offered: Offered = None
    ) -> None:
        self.registry = registry
        self.offered = offered
        self._send = send
        self._lock = threading.Lock()
        self._running: dict[tuple[str, int], _Pending] = {}
        self._cids = itertools.count(1)
        self._closed = False
        self._outbox: list[proto.ResultMsg | proto.CallErrorMsg] = []  # small answers ready together: one message
        self._held = 0  # inside a ``calls`` batch: its answers wait for its end

    def functions_message(self) -> proto.FunctionsMsg:
        return proto.functions_message(self.registry.functions(self.offered))

    def call(self, message: dict[str, Any]) -> None:
        """Run one ``call`` message (checked by ``parse_view_message``) on this thread."""
        view: str = message["view"]
        call_id: int = message["id"]
        bound = self.registry.lookup(message["object"], message["name"], self.offered)
        shown = f"{message['object']}.{message['name']}" if message["object"] else message["name"]
        if bound is None:
            known = ", ".join(b.path for b in self.registry.bound(self.offered)) or "none"
            self._error(view, call_id, "ReferenceError", f"Pytonium.{shown} is not bound (bound: {known})")
            return
        try:
            args = [clean_value(bound.path, f"arguments[{i}]", a) for i, a in enumerate(message["args"])]
            if bound.signature is not None:
                bound.signature.bind(*args)
        except (TypeError, ValueError) as exc:
            self._error(view, call_id, type(exc).__name__, f"{bound.path}(): {exc}")
            return
        try:
            result = bound.func(*args)
        except Exception as exc:
            self._error(view, call_id, type(exc).__name__, str(exc))
            return
        if inspect.isawaitable(result):
            self._start(view, call_id, bound, result)
        else:
            self._answer(view, call_id, bound, result)

    def _start(self, view: str, call_id: int, bound: Bound, awaitable: Any) -> None:
        async def run() -> Any:
            return await awaitable

        # A coroutine is the task itself: cancelled before its first step, it is thrown the
        # CancelledError (a wrapper would leave it "never awaited", a warning in the user's log).
        coroutine = awaitable if inspect.iscoroutine(awaitable) else run()
        loop = running_loop()
        pending: _Pending
        if loop is not None:
            pending = loop.create_task(coroutine)
        else:
            pending = asyncio.run_coroutine_threadsafe(coroutine, _library_loop())
        with self._lock:
            self._running[(view, call_id)] = pending

        def done(future: _Pending) -> None:
            with self._lock:
                self._running.pop((view, call_id), None)
            if future.cancelled():
                self._error(view, call_id, "AbortError", f"{bound.path}() was cancelled")
            elif (exc := future.exception()) is not None:
                self._error(view, call_id, type(exc).__name__, str(exc))
            else:
                self._answer(view, call_id, bound, future.result())

        pending.add_done_callback(done)

    def cancel(self, message: dict[str, Any]) -> None:
        """The page gave up on a call: an ``async def`` gets CancelledError; a sync one has finished already."""
        with self._lock:
            pending = self._running.pop((message["view"], message["id"]), None)
        if pending is not None:
            _cancel(pending)

    def _answer(self, view: str, call_id: int, bound: Bound, result: Any) -> None:
        try:
            value = clean_value(bound.path, "result", result)
        except (TypeError, ValueError) as exc:
            self._error(view, call_id, type(exc).__name__, f"the result of {bound.path}(): {exc}")
            return
        self._deliver(proto.result_message(view, call_id, value), view)

    def _error(self, view: str, call_id: int, name: str, text: str) -> None:
        self._deliver(proto.call_error_message(view, call_id, name, text), view)

    @contextlib.contextmanager
    def holding(self) -> Iterator[None]:
        """Answers made inside leave together at its end (the calls of one ``calls`` message)."""
        self._held += 1
        try:
            yield
        finally:
            self._held -= 1
            if not self._held:
                self.flush()

    def _deliver(self, message: proto.ResultMsg | proto.CallErrorMsg, view: str) -> None:
        """Send an answer: alone and chunked if large, else with the others ready in this loop turn.

        In a notebook every comm message costs the kernel and the front end a
        round of work: 1,000 calls answered one message each took seconds.
        """
        if self._closed:
            return
        if len(proto.encode(message)) > _ALONE:
            self.flush()  # keep the order
            self._send_frames(proto.store_frames(message, view, f"py:{next(self._cids)}"))
            return
        with self._lock:
            self._outbox.append(message)
            first = len(self._outbox) == 1
        if self._held:
            return
        loop = running_loop()
        if loop is None:
            self.flush()
        elif first:
            loop.call_soon(self.flush)

    def flush(self) -> None:
        """Send the answers waiting in the outbox now (one message)."""
        with self._lock:
            ready, self._outbox = self._outbox, []
        if not ready or self._closed:
            return
        self._send_frames([proto.answers_message(ready)])

    def _send_frames(self, frames: list[proto.StoreMessage]) -> None:
        for frame in frames:
            try:
                self._send(frame)
            except Exception:
                log.exception("sending a call's answer to a view failed")
                return

    def close(self) -> None:
        """The views are gone: cancel their ``async def`` calls in flight (nobody waits for them)."""
        self._closed = True
        with self._lock:
            running, self._running = list(self._running.values()), {}
        for pending in running:
            _cancel(pending)


def _cancel(pending: _Pending) -> None:
    if isinstance(pending, asyncio.Future):
        loop = pending.get_loop()
        if loop is running_loop():
            pending.cancel()
        else:
            try:
                loop.call_soon_threadsafe(pending.cancel)
            except RuntimeError:  # that loop is closed: nothing runs any more
                pass
    else:
        pending.cancel()  # concurrent.futures: cancels the task on our loop's thread


def _names(what: str, names: Any, count: int | None) -> list[str] | None:
    if names is None:
        return None
    if isinstance(names, str) or not isinstance(names, Iterable):
        raise TypeError(f"{what}: names must be None or a list of str, got {type(names).__name__} {names!r}")
    listed = list(names)
    if count is not None and len(listed) != count:
        raise ValueError(f"{what}: {count} functions but {len(listed)} names")
    return listed


class CallBinding:
    """Pytonium's binding API, for classes with a ``store`` (``Pytonium``, ``StateWidget``).

    Functions are bound to the store, for every view this process serves of it.
    """

    if TYPE_CHECKING:
        store: StateStore

    def bind_function_to_javascript(
        self, func: Callable[..., Any], name: str = "", javascript_object: str = ""
    ) -> None:
        """Let pages call ``func`` as ``Pytonium.<javascript_object>.<name>(...)`` (a Promise of its result).

        ``name`` defaults to the function's ``__name__``; without ``javascript_object``
        it is ``Pytonium.<name>(...)`` and ``Pytonium.callFunction("<name>", ...)``.
        Arguments and results are state values. A sync function runs where
        handlers run; an ``async def`` is awaited on the loop running there.
        """
        registry_of(self.store).bind([(func, name, javascript_object)], "bind_function_to_javascript")

    def bind_functions_to_javascript(
        self, funcs: Iterable[Callable[..., Any]], names: Iterable[str] | None = None, javascript_object: str = ""
    ) -> None:
        """Bind several functions at once (``names``: one per function, default their ``__name__``)."""
        what = "bind_functions_to_javascript"
        if not isinstance(funcs, Iterable) or isinstance(funcs, str | bytes):  # type: ignore[unreachable]
            raise TypeError(f"{what}: funcs must be a list of functions, got {type(funcs).__name__}")
        listed = list(funcs)
        given = _names(what, names, len(listed)) or [""] * len(listed)
        registry_of(self.store).bind([(f, n, javascript_object) for f, n in zip(listed, given, strict=True)], what)

    def bind_object_methods_to_javascript(
        self, obj: Any, names: Iterable[str] | None = None, javascript_object: str = ""
    ) -> None:
        """Bind methods of ``obj`` (``names``, default: every public method) under ``javascript_object``."""
        what = "bind_object_methods_to_javascript"
        given = _names(what, names, None)
        if given is None:
            given = [n for n in dir(obj) if not n.startswith("_") and callable(getattr(obj, n, None))]
        items = []
        for name in given:
            method = getattr(obj, name, None) if type(name) is str else None
            if not callable(method):
                raise ValueError(f"{what}: {type(obj).__name__} has no method {name!r}")
            items.append((method, name, javascript_object))
        registry_of(self.store).bind(items, what)

    def unbind_from_javascript(self, name: str = "", javascript_object: str = "") -> bool:
        """Stop offering ``Pytonium.<javascript_object>.<name>`` (``name=""``: the whole object).

        Returns whether anything was bound; calls in flight still finish.
        """
        return registry_of(self.store).unbind(name, javascript_object)

    def generate_typescript_definitions(self, path: str | os.PathLike[str]) -> None:
        """Write a ``.d.ts`` of the bound functions (from their annotations) for pages written in TypeScript."""
        from ._typescript import write_definitions

        write_definitions(registry_of(self.store).bound(), path)
