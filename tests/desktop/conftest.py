"""Fixtures for desktop e2e tests: our own Xvfb with a window manager, every window engine, tidy windows.

A missing Xvfb or engine (cef-capi-py, chromium, the cefpython3 runtime) fails
the tests loudly, naming the fix: a window suite that silently skips proves nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time

import pytest

from pytonium_lab.desktop._engines import ENGINES, engine_problem

BACKENDS = list(ENGINES)


def _free_display() -> int:
    for number in range(90, 200):
        if not os.path.exists(f"/tmp/.X11-unix/X{number}") and not os.path.exists(f"/tmp/.X{number}-lock"):
            return number
    raise RuntimeError("no free X display number between :90 and :199")


@pytest.fixture(scope="session")
def xvfb():
    """Start ``Xvfb :N -screen 0 1280x800x24`` with openbox in it, and point DISPLAY at it."""
    if shutil.which("Xvfb") is None:
        pytest.fail("Xvfb is not installed (apt-get install xvfb): desktop tests need a real X server")
    number = _free_display()
    proc = subprocess.Popen(
        ["Xvfb", f":{number}", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 10
    while not os.path.exists(f"/tmp/.X11-unix/X{number}"):
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"Xvfb :{number} did not start: {proc.stderr.read().decode(errors='replace')[-500:]}")
        time.sleep(0.02)
    old = os.environ.get("DISPLAY")
    os.environ["DISPLAY"] = f":{number}"
    wm = _start_window_manager(f":{number}")
    yield f":{number}"
    if old is None:
        os.environ.pop("DISPLAY", None)
    else:
        os.environ["DISPLAY"] = old
    wm.terminate()
    wm.wait(5)
    proc.terminate()
    proc.wait(5)


def _start_window_manager(display: str) -> subprocess.Popen:
    """Debian's openbox in the test display: windows get frames, minimize, maximize, stay on top, as on a desktop.

    Every window test runs with it (a desktop without a window manager is no user's desktop).
    """
    if shutil.which("openbox") is None:
        pytest.fail("openbox is not installed (apt-get install openbox): window tests need a window manager")
    from Xlib import X
    from Xlib import display as xdisplay

    errors = tempfile.TemporaryFile()  # a pipe nobody reads could fill up and block openbox
    wm = subprocess.Popen(
        ["openbox", "--sm-disable"], env=dict(os.environ, DISPLAY=display), stdout=subprocess.DEVNULL, stderr=errors
    )
    d = xdisplay.Display(display)
    try:
        check = d.intern_atom("_NET_SUPPORTING_WM_CHECK")
        deadline = time.monotonic() + 10
        while d.screen().root.get_full_property(check, X.AnyPropertyType) is None:
            if wm.poll() is not None or time.monotonic() > deadline:
                errors.seek(0)
                pytest.fail(f"openbox did not start on {display}: {errors.read().decode(errors='replace')[-500:]}")
            time.sleep(0.02)
    finally:
        d.close()
    return wm


@pytest.fixture(params=BACKENDS)
def backend(request, xvfb):
    """Each window test runs on every engine: cef (CEF 131), chromium and cefpython3 (CEF 66)."""
    name = request.param
    problem = engine_problem(name)
    if problem is not None:
        pytest.fail(f"the {name} window engine cannot run here: {problem}")
    return name


@pytest.fixture
def closing():
    """Collects Pytonium objects / window handles and shuts them all down after the test."""
    things = []
    yield things.append
    for thing in things:
        (getattr(thing, "shutdown", None) or thing.close)()
