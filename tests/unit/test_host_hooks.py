"""The host glue without a server: _host_hooks (cell-end flush, closing with the host) and _marimo.

Fakes stand in for a comm, IPython's shell and marimo's runtime; each test
gets fresh module state.
"""

from __future__ import annotations

import logging
import queue
import sys
import types
import weakref
from collections import OrderedDict
from typing import Any

import pytest

import pytonium_lab.notebook._host_hooks as cf
import pytonium_lab.notebook._marimo as mm


@pytest.fixture(autouse=True)
def fresh_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cf, "_links", weakref.WeakSet())
    monkeypatch.setattr(cf, "_hooked", False)
    monkeypatch.setattr(cf, "_made_by", {})
    monkeypatch.setattr(mm, "_hooked_kernels", weakref.WeakSet())
    monkeypatch.setattr(mm, "_widgets", weakref.WeakSet())
    monkeypatch.setattr(mm, "_taken", set())
    monkeypatch.setattr(mm, "_delivered", OrderedDict())
    monkeypatch.setattr(mm, "_skipping", False)


@pytest.fixture
def no_host(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plain Python: no IPython shell, not in marimo."""
    monkeypatch.setattr(cf, "ipython_shell", lambda: None)
    monkeypatch.setattr(mm, "running", lambda: False)


class FakeComm:
    """The parts of an ipykernel / marimo comm that close_with_host uses."""

    def __init__(self, comm_id: str = "c1") -> None:
        self.comm_id = comm_id
        self.closed = 0
        self._close_callback: Any = None

    def on_close(self, callback: Any) -> None:
        self._close_callback = callback

    def close(self, data: Any = None) -> None:
        self.closed += 1

    def handle_close(self, msg: Any) -> None:  # the front end closed it
        if self._close_callback:
            self._close_callback(msg)


class FakeWidget:
    def __init__(self, comm: Any = None) -> None:
        self.comm = comm
        self.closed = 0

    def close(self) -> None:
        self.closed += 1
        if self.comm is not None:
            self.comm.close()


class Counter:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> None:
        self.n += 1


class Link:
    def __init__(self) -> None:
        self.flushes = 0

    def flush(self) -> None:
        self.flushes += 1


# ---- closing with the comm ------------------------------------------------------------


def test_the_front_end_closing_the_comm_stops_once(no_host: None) -> None:
    comm, stop = FakeComm(), Counter()
    cf.close_with_host(FakeWidget(comm), stop)
    comm.handle_close({"content": {}})
    assert stop.n == 1


def test_python_closing_the_comm_stops_once_then_closes_it(no_host: None) -> None:
    comm, stop = FakeComm(), Counter()
    order: list[str] = []
    original = comm.close
    comm.close = lambda *a, **k: (order.append("close"), original(*a, **k))[1]  # type: ignore[method-assign]
    cf.close_with_host(FakeWidget(comm), lambda: (order.append("stop"), stop())[1])
    comm.close()
    assert stop.n == 1
    assert order == ["stop", "close"]  # the link stops before the comm goes
    assert comm.closed == 1


def test_the_comms_close_keeps_its_arguments_and_result(no_host: None) -> None:
    seen: list[Any] = []

    class Answering(FakeComm):
        def close(self, data: Any = None, metadata: Any = None) -> Any:
            seen.append((data, metadata))
            return "closed"

    comm = Answering()
    cf.close_with_host(FakeWidget(comm), Counter())
    assert comm.close({"x": 1}, metadata={"m": 2}) == "closed"
    assert seen == [({"x": 1}, {"m": 2})]


def test_both_sides_closing_stop_only_once(no_host: None) -> None:
    """The front end closes it, later the widget's close() closes it again from Python."""
    comm, stop = FakeComm(), Counter()
    widget = FakeWidget(comm)
    cf.close_with_host(widget, stop)
    comm.handle_close({"content": {}})
    widget.close()
    comm.close()
    assert stop.n == 1


def test_closing_twice_from_python_stops_once(no_host: None) -> None:
    comm, stop = FakeComm(), Counter()
    cf.close_with_host(FakeWidget(comm), stop)
    comm.close()
    comm.close()
    assert stop.n == 1


def test_a_stop_that_raises_still_closes_the_comm(no_host: None) -> None:
    comm = FakeComm()

    def stop() -> None:
        raise RuntimeError("boom")

    cf.close_with_host(FakeWidget(comm), stop)
    with pytest.raises(RuntimeError, match="boom"):
        comm.close()
    assert comm.closed == 1


def test_a_widget_without_a_comm_is_left_alone(no_host: None) -> None:
    stop = Counter()
    cf.close_with_host(FakeWidget(None), stop)
    assert stop.n == 0


def test_a_comm_whose_close_cannot_be_wrapped_still_follows_on_close(no_host: None) -> None:
    class Slotted:
        __slots__ = ("_cb",)

        def __init__(self) -> None:
            self._cb: Any = None

        def on_close(self, callback: Any) -> None:
            self._cb = callback

        def close(self) -> None:
            pass

    comm, stop = Slotted(), Counter()
    cf.close_with_host(FakeWidget(comm), stop)  # no AttributeError
    comm._cb({})
    assert stop.n == 1


# ---- closing when the cell that made it runs again (IPython) -----------------------------


class FakeKernel:
    def __init__(self) -> None:
        self.parent: Any = {}

    def get_parent(self, channel: str = "shell") -> Any:
        assert channel == "shell"
        return self.parent


class FakeShell:
    def __init__(self) -> None:
        self.kernel = FakeKernel()
        self.events = types.SimpleNamespace(registered=[], register=self._register)

    def _register(self, event: str, callback: Any) -> None:
        self.events.registered.append((event, callback))

    def run_cell(self, cell_id: str | None) -> None:
        self.kernel.parent = {
            "header": {"msg_type": "execute_request"},
            "metadata": {"cellId": cell_id} if cell_id else {},
        }

    def between_cells(self) -> None:
        self.kernel.parent = {"header": {"msg_type": "comm_msg"}, "metadata": {}}

    def start_cell(self, cell_id: str | None) -> None:
        for event, callback in self.events.registered:
            if event == "pre_run_cell":
                callback(types.SimpleNamespace(cell_id=cell_id))


@pytest.fixture
def shell(monkeypatch: pytest.MonkeyPatch) -> FakeShell:
    fake = FakeShell()
    monkeypatch.setattr(cf, "ipython_shell", lambda: fake)
    monkeypatch.setattr(mm, "running", lambda: False)
    return fake


def test_rerunning_the_cell_that_made_a_widget_closes_it(shell: FakeShell) -> None:
    cf.flush_at_cell_end(Link())  # registers the hooks
    shell.run_cell("cell-A")
    widget = FakeWidget(FakeComm())
    cf.close_with_host(widget, Counter())
    shell.start_cell("cell-B")
    assert widget.closed == 0
    shell.start_cell("cell-A")
    assert widget.closed == 1
    shell.start_cell("cell-A")  # its next run made nothing: nothing more to close
    assert widget.closed == 1


def test_a_widget_made_between_cells_or_without_a_cell_id_is_owned_by_no_cell(shell: FakeShell) -> None:
    cf.flush_at_cell_end(Link())
    shell.between_cells()  # e.g. a handler made it
    w1 = FakeWidget(FakeComm())
    cf.close_with_host(w1, Counter())
    shell.run_cell(None)  # a front end that sends no cellId
    w2 = FakeWidget(FakeComm())
    cf.close_with_host(w2, Counter())
    assert cf._made_by == {}
    shell.start_cell(None)
    shell.start_cell("")
    assert (w1.closed, w2.closed) == (0, 0)


def test_a_rerun_skips_widgets_that_are_gone_and_logs_a_failing_close(
    shell: FakeShell, caplog: pytest.LogCaptureFixture
) -> None:
    cf.flush_at_cell_end(Link())
    shell.run_cell("cell-A")
    gone = FakeWidget(FakeComm())
    cf.close_with_host(gone, Counter())

    class Failing(FakeWidget):
        def close(self) -> None:
            raise RuntimeError("cannot close")

    failing, fine = Failing(FakeComm()), FakeWidget(FakeComm())
    cf.close_with_host(failing, Counter())
    cf.close_with_host(fine, Counter())
    del gone
    with caplog.at_level(logging.ERROR, logger="pytonium_lab"):
        shell.start_cell("cell-A")
    assert fine.closed == 1  # after the one that failed
    assert "closing a StateWidget of a re-run cell failed" in caplog.text


def test_the_hooks_are_registered_once_per_process(shell: FakeShell) -> None:
    for _ in range(3):
        cf.flush_at_cell_end(Link())
    assert sorted(e for e, _ in shell.events.registered) == ["post_execute", "pre_run_cell"]


def test_odd_kernel_parents_own_no_cell(shell: FakeShell) -> None:
    for parent in (None, [], {"header": "x"}, {"header": {"msg_type": "execute_request"}, "metadata": None}):
        shell.kernel.parent = parent
        assert cf._running_cell() is None

    def broken(channel: str = "shell") -> Any:
        raise RuntimeError

    shell.kernel.get_parent = broken  # type: ignore[method-assign]
    assert cf._running_cell() is None


# ---- the cell-end flush -----------------------------------------------------------------


def test_post_execute_flushes_every_live_link(shell: FakeShell) -> None:
    a, b = Link(), Link()
    cf.flush_at_cell_end(a)
    cf.flush_at_cell_end(b)
    (hook,) = [c for e, c in shell.events.registered if e == "post_execute"]
    hook()
    assert (a.flushes, b.flushes) == (1, 1)
    del b
    hook()
    assert a.flushes == 2
    assert len(cf._links) == 1  # a link that is gone is forgotten


def test_outside_any_host_links_are_kept_and_flush_all_flushes_them(no_host: None) -> None:
    link = Link()
    cf.flush_at_cell_end(link)
    cf.flush_all()
    assert link.flushes == 1
    assert cf._hooked is False


def test_in_marimo_the_flush_goes_to_its_post_execution_hook(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cf, "ipython_shell", lambda: None)
    monkeypatch.setattr(mm, "running", lambda: True)
    hooked: list[Any] = []
    monkeypatch.setattr(mm, "on_cell_end", lambda cb: hooked.append(cb) or True)
    cf.flush_at_cell_end(Link())
    assert hooked == [cf.flush_all]


def test_pump_host_outside_marimo_is_a_no_op(monkeypatch: pytest.MonkeyPatch, no_host: None) -> None:
    monkeypatch.setattr(mm, "pump", lambda: pytest.fail("pumped outside marimo"))
    cf.pump_host()


def test_pump_host_in_marimo_pumps(monkeypatch: pytest.MonkeyPatch) -> None:
    pumped = Counter()
    monkeypatch.setattr(mm, "running", lambda: True)
    monkeypatch.setattr(mm, "pump", pumped)
    cf.pump_host()
    assert pumped.n == 1


def test_close_with_host_in_marimo_lets_pump_see_the_widget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cf, "ipython_shell", lambda: None)
    monkeypatch.setattr(mm, "running", lambda: True)
    widget = FakeWidget(FakeComm())
    cf.close_with_host(widget, Counter())
    assert list(mm._widgets) == [widget]


# ---- _marimo ------------------------------------------------------------------------------


def test_running_is_false_without_marimo_or_outside_its_notebook(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "marimo", raising=False)
    assert mm.running() is False
    fake = types.ModuleType("marimo")
    fake.running_in_notebook = lambda: False  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "marimo", fake)
    assert mm.running() is False
    fake.running_in_notebook = lambda: True  # type: ignore[attr-defined]
    assert mm.running() is True

    def broken() -> bool:
        raise RuntimeError

    fake.running_in_notebook = broken  # type: ignore[attr-defined]
    assert mm.running() is False


def test_the_real_marimo_outside_a_notebook_is_not_running() -> None:
    pytest.importorskip("marimo")
    assert mm.running() is False
    assert mm.pump() == 0  # no context: marimo's own loop delivers


class FakeHooks:
    def __init__(self) -> None:
        self.post: list[Any] = []

    def add_post_execution(self, hook: Any) -> None:
        self.post.append(hook)


class FakeMarimoKernel:
    def __init__(self, mirror: Any = None) -> None:
        self._hooks = FakeHooks()
        set_ui_element_queue = mirror

        def enqueue_control_request(request: Any) -> None:  # marimo's shape: a closure over the mirror
            set_ui_element_queue.put_nowait(request)

        self.enqueue_control_request = enqueue_control_request


def fake_context(kernel: Any, in_cell: bool = True) -> Any:
    return types.SimpleNamespace(_kernel=kernel, execution_context=object() if in_cell else None)


def test_on_cell_end_adds_one_post_execution_hook_per_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    kernel = FakeMarimoKernel()
    monkeypatch.setattr(mm, "_context", lambda: fake_context(kernel))
    calls = Counter()
    assert mm.on_cell_end(calls) is True
    assert mm.on_cell_end(calls) is True
    assert len(kernel._hooks.post) == 1
    kernel._hooks.post[0](object(), object(), object())  # marimo's (cell, runner, result)
    assert calls.n == 1
    other = FakeMarimoKernel()
    monkeypatch.setattr(mm, "_context", lambda: fake_context(other))
    assert mm.on_cell_end(calls) is True
    assert len(other._hooks.post) == 1


def test_a_failing_flush_never_breaks_marimos_hook(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    kernel = FakeMarimoKernel()
    monkeypatch.setattr(mm, "_context", lambda: fake_context(kernel))

    def boom() -> None:
        raise RuntimeError("boom")

    mm.on_cell_end(boom)
    with caplog.at_level(logging.ERROR, logger="pytonium_lab"):
        kernel._hooks.post[0](None, None, None)
    assert "flushing views after a marimo cell failed" in caplog.text


def test_on_cell_end_without_marimos_hooks_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mm, "_context", lambda: None)
    assert mm.on_cell_end(Counter()) is False
    monkeypatch.setattr(mm, "_context", lambda: types.SimpleNamespace(_kernel=object()))
    assert mm.on_cell_end(Counter()) is False

    class Refusing(FakeHooks):
        def add_post_execution(self, hook: Any) -> None:
            raise TypeError("no")

    kernel = FakeMarimoKernel()
    kernel._hooks = Refusing()
    monkeypatch.setattr(mm, "_context", lambda: fake_context(kernel))
    assert mm.on_cell_end(Counter()) is False
    assert kernel not in mm._hooked_kernels


# ---- _marimo.pump ---------------------------------------------------------------------------


class ModelCustomMessage:  # matched by class name, as marimo's
    pass


class OtherMessage:
    pass


class Command:
    def __init__(self, model_id: str, token: str | None, custom: bool = True) -> None:
        self.model_id = model_id
        self.token = token
        self.message = ModelCustomMessage() if custom else OtherMessage()

    def into_comm_payload(self) -> dict[str, Any]:
        return {"content": {"data": {"from": self.model_id, "token": self.token}}}


class MarimoComm:
    def __init__(self) -> None:
        self.handled: list[Any] = []

    def handle_msg(self, payload: Any) -> None:
        self.handled.append(payload)


class Manager:
    def __init__(self, comms: dict[str, Any]) -> None:
        self.comms = comms
        self.received: list[Any] = []

    def receive_comm_message(self, command: Any) -> Any:
        self.received.append(command)
        return ("handled", command.token)


@pytest.fixture
def marimo_cell(monkeypatch: pytest.MonkeyPatch) -> Any:
    """A marimo kernel running a cell, its mirror queue, comm manager and one of our widgets (comm "ours")."""
    mirror: queue.Queue[Any] = queue.Queue()
    kernel = FakeMarimoKernel(mirror)
    comm = MarimoComm()
    manager = Manager({"ours": comm, "theirs": MarimoComm()})
    ctx = fake_context(kernel)
    monkeypatch.setattr(mm, "_context", lambda: ctx)
    monkeypatch.setattr(mm, "_comm_manager", lambda: manager)
    widget = FakeWidget(types.SimpleNamespace(comm_id="ours"))
    mm.watch(widget)
    return types.SimpleNamespace(mirror=mirror, manager=manager, comm=comm, ctx=ctx, widget=widget)


def drain(q: queue.Queue[Any]) -> list[Any]:
    out = []
    while not q.empty():
        out.append(q.get_nowait())
    return out


def test_pump_hands_our_messages_over_and_puts_the_rest_back_in_order(marimo_cell: Any) -> None:
    mine1, theirs, other_kind, no_token, mine2 = (
        Command("ours", "t1"),
        Command("theirs", "t2"),
        Command("ours", "t3", custom=False),
        Command("ours", None),
        Command("ours", "t5"),
    )
    for c in (mine1, theirs, other_kind, no_token, mine2):
        marimo_cell.mirror.put_nowait(c)
    assert mm.pump() == 2
    assert marimo_cell.comm.handled == [mine1.into_comm_payload(), mine2.into_comm_payload()]
    assert drain(marimo_cell.mirror) == [theirs, other_kind, no_token]


def test_a_pumped_message_is_skipped_when_the_kernel_reaches_its_copy(marimo_cell: Any) -> None:
    mine, theirs = Command("ours", "t1"), Command("theirs", "t2")
    marimo_cell.mirror.put_nowait(mine)
    assert mm.pump() == 1
    receive = marimo_cell.manager.receive_comm_message
    assert receive(mine) == (None, None)  # the control queue's copy: skipped
    assert receive(mine) == ("handled", "t1")  # once only
    assert receive(theirs) == ("handled", "t2")
    assert marimo_cell.manager.received == [mine, theirs]


def test_a_late_mirror_copy_of_a_message_marimo_delivered_is_dropped(marimo_cell: Any) -> None:
    """marimo's two queues are separate pipes: the control copy can be handled between cells
    before the mirror copy arrives. pump() must not hand that message over a second time."""
    mine, fresh = Command("ours", "t1"), Command("ours", "t2")
    assert marimo_cell.manager.receive_comm_message(mine) == ("handled", "t1")  # between cells, by marimo
    marimo_cell.mirror.put_nowait(mine)  # its mirror copy, late
    marimo_cell.mirror.put_nowait(fresh)
    assert mm.pump() == 1
    assert marimo_cell.comm.handled == [fresh.into_comm_payload()]
    assert drain(marimo_cell.mirror) == []
    assert mm._delivered == OrderedDict()  # forgotten once its late copy is seen


def test_delivered_tokens_are_bounded(marimo_cell: Any) -> None:
    receive = marimo_cell.manager.receive_comm_message
    for i in range(mm.MAX_DELIVERED + 10):
        receive(Command("ours", f"t{i}"))
    assert len(mm._delivered) == mm.MAX_DELIVERED
    assert next(iter(mm._delivered)) == "t10"


def test_the_comm_managers_receive_is_wrapped_once(marimo_cell: Any) -> None:
    mm.pump()
    wrapped = marimo_cell.manager.receive_comm_message
    mm.pump()
    assert marimo_cell.manager.receive_comm_message is wrapped


def test_pump_between_cells_or_without_our_widgets_does_nothing(
    marimo_cell: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    marimo_cell.mirror.put_nowait(Command("ours", "t1"))
    monkeypatch.setattr(marimo_cell.ctx, "execution_context", None)
    assert mm.pump() == 0
    monkeypatch.setattr(marimo_cell.ctx, "execution_context", object())
    del marimo_cell.widget
    monkeypatch.setattr(mm, "_widgets", weakref.WeakSet())
    assert mm.pump() == 0
    assert len(drain(marimo_cell.mirror)) == 1  # left for marimo
    assert marimo_cell.comm.handled == []


def test_pump_without_marimos_internals_does_nothing(marimo_cell: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    marimo_cell.mirror.put_nowait(Command("ours", "t1"))
    monkeypatch.setattr(mm, "_comm_manager", lambda: None)
    assert mm.pump() == 0
    monkeypatch.setattr(mm, "_comm_manager", lambda: marimo_cell.manager)
    monkeypatch.setattr(marimo_cell.ctx, "_kernel", types.SimpleNamespace())  # no enqueue_control_request
    assert mm.pump() == 0
    assert marimo_cell.comm.handled == []


def test_a_message_whose_comm_is_gone_or_fails_is_not_fatal(marimo_cell: Any, caplog: pytest.LogCaptureFixture) -> None:
    class Failing(MarimoComm):
        def handle_msg(self, payload: Any) -> None:
            raise RuntimeError("bad")

    kept = [FakeWidget(types.SimpleNamespace(comm_id=c)) for c in ("closed", "failing")]
    for widget in kept:
        mm.watch(widget)
    marimo_cell.manager.comms["failing"] = Failing()
    for c in (Command("closed", "a"), Command("failing", "b"), Command("ours", "c")):
        marimo_cell.mirror.put_nowait(c)
    with caplog.at_level(logging.ERROR, logger="pytonium_lab"):
        assert mm.pump() == 3
    assert len(marimo_cell.comm.handled) == 1
    assert "a page message failed in update_message_loop()" in caplog.text
