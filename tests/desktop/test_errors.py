"""Errors say what was wrong: no display, a missing engine, bad names; setup-cef is idempotent."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from pytonium_lab import Pytonium, StateStore
from pytonium_lab._paths import OutsideFolder
from pytonium_lab.desktop import open_window
from pytonium_lab.desktop._backends import resolve_backend


def test_no_display_fails_at_once(tmp_path, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    (tmp_path / "index.html").write_text("<p>x</p>")
    p = Pytonium(backend="chromium")
    p.add_custom_scheme("app", str(tmp_path))
    start = time.monotonic()
    with pytest.raises(RuntimeError, match="DISPLAY is not set"):
        p.initialize("app://index.html", 400, 300)
    assert time.monotonic() - start < 2
    assert not p.is_running()
    assert p._session is None  # a window that did not open keeps no session, so no server port
    with pytest.raises(RuntimeError, match="DISPLAY"):
        open_window(StateStore(), "<p>x</p>", backend="chromium")


def hide_cef_capi(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "cef_capi" else real(name, *a))


@pytest.mark.parametrize(
    ("engine", "error", "fix"),
    [
        ("cef", ImportError, r"pip install 'pytonium_lab\[cef\]'"),
        ("chromium", RuntimeError, "apt-get install chromium"),
        ("cefpython3", RuntimeError, "run `pytonium-lab setup-cef`"),
    ],
)
def test_a_missing_engine_names_its_fix(tmp_path, monkeypatch, engine, error, fix):
    monkeypatch.setenv("PYTONIUM_LAB_CACHE", str(tmp_path / "empty-cache"))  # no cefpython3 runtime
    monkeypatch.setenv("PATH", str(tmp_path))  # no chromium
    hide_cef_capi(monkeypatch)
    monkeypatch.setenv("DISPLAY", ":0")
    (tmp_path / "index.html").write_text("<p>x</p>")
    p = Pytonium(backend=engine)
    p.add_custom_scheme("app", str(tmp_path))
    with pytest.raises(error, match=fix):
        p.initialize("app://index.html", 400, 300)
    assert p._session is None and not p.is_running()
    with pytest.raises(error, match=fix):
        open_window(StateStore(), "<p>x</p>", backend=engine)


def test_auto_takes_the_next_engine_when_one_is_missing(tmp_path, monkeypatch):
    monkeypatch.delenv("PYTONIUM_LAB_BACKEND", raising=False)
    assert resolve_backend("auto") == "cef"
    hide_cef_capi(monkeypatch)
    assert resolve_backend("auto") == "chromium"
    monkeypatch.setenv("PATH", str(tmp_path))
    assert resolve_backend("auto") == "cefpython3"


def test_bad_arguments_are_named(tmp_path):
    p = Pytonium()
    with pytest.raises(ValueError, match="unknown window engine 'qt'"):
        resolve_backend("qt")
    with pytest.raises(FileNotFoundError, match="no-such-folder"):
        p.add_custom_scheme("app", str(tmp_path / "no-such-folder"))
    with pytest.raises(ValueError, match="scheme"):
        p.add_custom_scheme("../x", str(tmp_path))
    with pytest.raises(ValueError, match="reserved"):
        p.add_custom_scheme("http", str(tmp_path))
    with pytest.raises(ValueError, match=r"no custom scheme for 'site://index\.html'"):
        p.initialize("site://index.html", 400, 300)
    with pytest.raises(TypeError, match="StateStore"):
        Pytonium(store={})
    with pytest.raises(FileNotFoundError, match=r"missing\.html"):
        open_window(StateStore(), str(tmp_path / "missing.html"))


def test_setup_cef_is_idempotent_and_fast():
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pytonium_lab", "setup-cef"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "already set up" in done.stdout
    assert time.monotonic() - start < 5


@pytest.mark.e2e
def test_window_that_cannot_start_fails_with_its_stderr(tmp_path, backend, monkeypatch):
    """A window engine that dies at start (here: no X server at :999) -> RuntimeError, no hang."""
    monkeypatch.setenv("DISPLAY", ":999")
    (tmp_path / "index.html").write_text("<p>x</p>")
    p = Pytonium(backend=backend)
    p.add_custom_scheme("app", str(tmp_path))
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=f"the {backend} window exited before its page connected"):
        p.initialize("app://index.html", 400, 300)
    assert time.monotonic() - start < 10
    assert not p.is_running() and p._session is None
    p.shutdown()


def test_query_and_fragment_survive_the_url_mapping():
    from pytonium_lab.desktop._server import Session, get_server

    server, session = get_server(), Session(StateStore())
    url = server.page_url(session, "app", "a b.html", "?x=1&y=2#top")
    assert url == f"{server.origin}/_s/{session.id}/app/a%20b.html?token={session.token}&x=1&y=2#top"


@pytest.mark.e2e
def test_an_engine_that_dies_at_start_is_started_once_more(tmp_path, backend, monkeypatch, caplog, closing):
    from pytonium_lab.desktop import _window

    real_launch, launches = _window.launch, []

    def dies_the_first_time(*args, **kwargs):
        launches.append(args)
        with monkeypatch.context() as patch:
            if len(launches) == 1:
                patch.setenv("DISPLAY", ":999")  # no X server there: the engine exits at once
            return real_launch(*args, **kwargs)

    monkeypatch.setattr(_window, "launch", dies_the_first_time)
    (tmp_path / "index.html").write_text("<p>x</p>")
    p = Pytonium(backend=backend)
    closing(p)
    p.add_custom_scheme("app", str(tmp_path))
    p.initialize("app://index.html", 400, 300)
    assert p.is_running() and len(launches) == 2
    assert "starting it once more" in caplog.text


def test_notebook_backend_refuses_pages_it_cannot_show(tmp_path):
    (tmp_path / "web").mkdir()
    (tmp_path / "secret.html").write_text("<p>secret</p>")
    p = Pytonium(backend="notebook")
    p.add_custom_scheme("app", str(tmp_path / "web"))
    with pytest.raises(ValueError, match="custom-scheme pages only"):
        p.initialize("https://example.org/", 400, 300)
    with pytest.raises(OutsideFolder):
        p.initialize("app://../secret.html", 400, 300)
    with pytest.raises(FileNotFoundError):
        p.initialize("app://missing.html", 400, 300)
    assert not p.is_running()


@pytest.mark.parametrize("backend", ["qt", "", None, "CEF"])
def test_unknown_backend_is_refused_at_once(backend):
    with pytest.raises(ValueError, match="backend must be one of 'auto', 'notebook', 'cef', 'chromium', 'cefpython3'"):
        Pytonium(backend=backend)


@pytest.mark.parametrize(
    ("url", "error", "words"),
    [
        ("app://missing.html", FileNotFoundError, r"initialize\('app://missing.html'\): no file 'missing.html' in /"),
        ("app://sub/missing.html?x=1#top", FileNotFoundError, r"no file 'sub/missing.html'"),
        ("app://../secret.html", OutsideFolder, r"initialize\('app://../secret.html'\): path '../secret.html' leaves"),
        ("app://up/secret.html", OutsideFolder, r"'up/secret.html' resolves outside the served folder"),
        ("app://sub.html", IsADirectoryError, r"initialize\('app://sub.html'\): 'sub.html' in /.* is a directory"),
    ],
    ids=["missing", "missing-in-subfolder", "dotdot", "symlink-out", "directory"],
)
def test_a_page_that_cannot_be_served_fails_at_once_before_any_window(
    tmp_path, backend, monkeypatch, url, error, words
):
    """Not a 15 s wait for a 404 page that never connects (and is_running() true on it)."""
    from pytonium_lab.desktop import _window

    web = tmp_path / "web"
    web.mkdir()
    (web / "index.html").write_text("<p>x</p>")
    (tmp_path / "secret.html").write_text("<p>secret</p>")
    (web / "up").symlink_to(tmp_path)
    (web / "sub.html").mkdir()
    launches, real_launch = [], _window.launch
    monkeypatch.setattr(
        _window, "launch", lambda *args, **kwargs: launches.append(args) or real_launch(*args, **kwargs)
    )
    p = Pytonium(backend=backend)
    p.add_custom_scheme("app", str(web))
    start = time.monotonic()
    with pytest.raises(error, match=words):
        p.initialize(url, 400, 300)
    took = time.monotonic() - start
    print(f"{backend}: {url} refused after {took * 1000:.2f} ms")
    assert took < 0.5 and launches == [] and not p.is_running()
    p.shutdown()


def test_a_scheme_whose_folder_is_gone_fails_at_once(tmp_path, backend):
    web = tmp_path / "web"
    web.mkdir()
    (web / "index.html").write_text("<p>x</p>")
    p = Pytonium(backend=backend)
    p.add_custom_scheme("app", str(web))
    shutil.rmtree(web)
    start = time.monotonic()
    with pytest.raises(FileNotFoundError, match=re.escape(f"the served folder {web} does not exist")):
        p.initialize("app://index.html", 400, 300)
    assert time.monotonic() - start < 0.5 and not p.is_running()
    p.shutdown()


MISSING_JS = """
import sys, time
from pytonium_lab import Pytonium, StateWidget, StateStore
p = Pytonium(backend=sys.argv[1])
p.add_custom_scheme("app", sys.argv[2])
start = time.monotonic()
try:
    p.initialize("app://index.html", 400, 300)
except RuntimeError as exc:
    print("took", time.monotonic() - start)
    print("window", str(exc))
else:
    print("no error after", time.monotonic() - start, "s; running:", p.is_running())
p.shutdown()
try:
    StateWidget(StateStore(), "<p>x</p>")
except RuntimeError as exc:
    print("widget", str(exc))
"""


def test_a_missing_js_build_fails_at_once_before_any_window(tmp_path, backend):
    """Not a window showing "500: Internal Server Error" and a 15 s wait: the error that says how to build the JS."""
    import pytonium_lab

    shutil.copytree(
        pytonium_lab.__path__[0], tmp_path / "pytonium_lab", ignore=shutil.ignore_patterns("*.js", "__pycache__")
    )
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "index.html").write_text("<p>x</p>")
    out = subprocess.run(
        [sys.executable, "-c", MISSING_JS, backend, str(tmp_path / "web")],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        cwd=tmp_path,  # python -c puts the working directory first on the path
        check=False,
    )
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines() if " " in line)
    assert "window" in lines, out.stdout + out.stderr
    assert float(lines["took"]) < 0.5
    assert (
        "runtime.js is missing: build the JS with `npm --prefix js ci && npm --prefix js run build`" in lines["window"]
    )
    # The same words as StateWidget's, which misses its own file first.
    assert lines["window"].replace("runtime.js", "widget.js") == lines["widget"]
