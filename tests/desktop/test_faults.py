"""A hung or crashed engine never hangs the caller, on every engine.

The engine process (the CEF host, whose UI thread beats; chromium's browser
process, which answers DevTools pings) is stopped (SIGSTOP: a hang) or killed
(SIGKILL: a crash) during ``initialize`` and while the window runs. The tests
set ``$PYTONIUM_LAB_HANG_AFTER`` (the documented knob) to 1.5 s, so a stop
shows within ~1.5 s of running or ~3 s of starting instead of 5 / 10 s.
"""

from __future__ import annotations

import logging
import os
import signal
import time

import pytest

from pytonium_lab import Pytonium
from pytonium_lab.desktop import _backends, _window
from pytonium_lab.desktop._server import get_server

from .helpers import demo_page, group_pids, port_open, wait_for

pytestmark = pytest.mark.e2e

HANG = 1.5
"""``$PYTONIUM_LAB_HANG_AFTER`` in these tests (seconds)."""

SIGNALS = pytest.mark.parametrize("sig", [signal.SIGSTOP, signal.SIGKILL], ids=["stop", "kill"])


@pytest.fixture
def app(tmp_path, monkeypatch, closing, backend):
    """A Pytonium on ``backend`` with ``app://index.html``, and the short hang limit."""
    monkeypatch.setenv("PYTONIUM_LAB_HANG_AFTER", str(HANG))
    (tmp_path / "index.html").write_text(demo_page("faults"))
    p = Pytonium(backend=backend)
    closing(p)
    p.add_custom_scheme("app", str(tmp_path))
    return p


def assert_nothing_left(pids: list[int], port: int) -> None:
    for pid in pids:
        assert group_pids(pid) == [], f"processes of the engine's group {pid} are left"
    assert not port_open(port), f"the server's port {port} is still open"


@SIGNALS
def test_engine_fault_during_initialize(app, backend, monkeypatch, sig):
    """initialize raises within 20 s, naming the engine and what happened; nothing is left."""
    spawned: list[int] = []
    ports: list[int] = []
    launch = _window.launch

    def faulty_launch(*args, **kwargs):
        window = launch(*args, **kwargs)
        spawned.append(window.pid)
        ports.append(get_server().port)
        os.kill(window.pid, sig)  # before the engine said a word: the start grace applies
        return window

    monkeypatch.setattr(_window, "launch", faulty_launch)
    start = time.monotonic()
    with pytest.raises(RuntimeError) as raised:
        app.initialize("app://index.html", 400, 300)
    took = time.monotonic() - start
    message = str(raised.value)
    print(f"{backend} {sig.name}: initialize raised after {took:.2f} s: {message.splitlines()[0]}")
    assert took < 20, f"initialize took {took:.1f} s to fail"
    assert f"the {backend} " in message, message
    if sig == signal.SIGSTOP:
        assert "hung or stopped, so it was killed" in message and "since it started" in message, message
        assert len(spawned) == 1  # a hang is not started again
    else:
        assert "exited before its page connected" in message and "exit code -9" in message, message
        assert len(spawned) == 2  # a start that dies is tried once more (CEF 66 fails its own start now and then)
    assert not app.is_running()
    assert_nothing_left(spawned, ports[0])


@SIGNALS
def test_engine_fault_while_running(app, backend, sig, caplog):
    """is_running() turns false, a call that waits on the window (load_url) fails instead of hanging."""
    caplog.set_level(logging.WARNING, logger="pytonium_lab")
    app.initialize("app://index.html", 400, 300)
    pid, port = app._window.pid, get_server().port
    os.kill(pid, sig)
    start = time.monotonic()
    with pytest.raises(RuntimeError) as raised:
        app.load_url("app://index.html")  # waits for the page to connect: must notice the engine is gone
    failed = time.monotonic() - start
    wait_for(lambda: not app.is_running(), HANG + 3, "is_running() to turn false", every=0.005)
    gone = time.monotonic() - start
    print(f"{backend} {sig.name}: load_url raised after {failed:.2f} s, is_running() false after {gone:.2f} s")
    assert failed < HANG + 3 and gone < HANG + 3
    if sig == signal.SIGSTOP:
        assert f"the {backend} " in str(raised.value) and "hung or stopped" in str(raised.value), raised.value
        warned = [r.getMessage() for r in caplog.records if "hung or stopped" in r.getMessage()]
        assert warned and f"the {backend} engine (pid {pid})" in warned[0] and "after it ran" in warned[0], warned
    start = time.monotonic()
    app.shutdown()
    assert time.monotonic() - start < 3, "shutdown() of a dead window took long"
    assert_nothing_left([pid], port)


def test_chromium_stopped_while_it_opens_an_allowed_origin(tmp_path, xvfb, closing, monkeypatch):
    """An allowed origin's page makes chromium wait on its DevTools pipe inside the launch: a stop there
    is reported as a hang too, within the start grace."""
    monkeypatch.setenv("PYTONIUM_LAB_HANG_AFTER", str(HANG))
    spawned: list[int] = []
    popen = _backends._spawner.popen

    def stopped_popen(*args, **kwargs):
        process = popen(*args, **kwargs)
        spawned.append(process.pid)
        os.kill(process.pid, signal.SIGSTOP)
        return process

    monkeypatch.setattr(_backends._spawner, "popen", stopped_popen)
    p = Pytonium(backend="chromium")
    closing(p)
    p.allow_origin("http://127.0.0.1:9")  # never reached: the engine is stopped before it loads anything
    start = time.monotonic()
    with pytest.raises(RuntimeError) as raised:
        p.initialize("http://127.0.0.1:9/", 400, 300)
    took = time.monotonic() - start
    assert took < 20
    assert "chromium" in str(raised.value) and "hung or stopped" in str(raised.value), raised.value
    assert not p.is_running()
    assert [group_pids(pid) for pid in spawned] == [[]]
