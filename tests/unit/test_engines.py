"""The engine registry: each engine's problem names its fix; ``auto`` takes the most modern one present."""

from __future__ import annotations

import importlib.util
import sys
import types

import pytest

from pytonium_lab.desktop import _engines
from pytonium_lab.desktop._engines import ENGINES, engine_problem, engines_here, require_engine, resolve_engine

# The cef-capi-py wheel needs Python >= 3.11: on 3.10 (CI runs the unit tests there too) cef says so.
CEF_HERE = sys.version_info >= (3, 11)
HERE = [name for name in ENGINES if name != "cef" or CEF_HERE]


def test_this_machine_has_every_engine():
    # scripts/setup.sh installs all three (cef where its wheel exists); a missing one names its fix here.
    assert {name: engine_problem(name) for name in HERE} == dict.fromkeys(HERE)
    assert engines_here() == HERE
    if not CEF_HERE:
        assert "needs Python >= 3.11" in (engine_problem("cef") or "")


def test_missing_chromium_names_the_package(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    problem = engine_problem("chromium")
    assert problem is not None and "apt-get install chromium" in problem
    with pytest.raises(RuntimeError, match="apt-get install chromium"):
        require_engine("chromium")


def test_missing_cef_package_names_the_extra(monkeypatch):
    # A supported Python and platform, so that the package check is the one that speaks.
    version = types.SimpleNamespace(major=3, minor=12)
    monkeypatch.setattr(_engines, "sys", types.SimpleNamespace(platform="linux", version_info=version))
    monkeypatch.setattr(_engines.platform, "machine", lambda: "x86_64")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "cef_capi" else real(name, *a))
    problem = engine_problem("cef")
    assert problem is not None and "pip install 'pytonium_lab[cef]'" in problem
    with pytest.raises(ImportError, match=r"pytonium_lab\[cef\]"):
        require_engine("cef")


def test_cef_on_an_unsupported_platform_says_where_it_runs(monkeypatch):
    monkeypatch.setattr(_engines.platform, "machine", lambda: "aarch64")
    problem = engine_problem("cef")
    assert problem is not None and "Python >= 3.11 on Linux x86_64" in problem and "aarch64" in problem


def test_missing_cefpython3_runtime_names_setup_cef(monkeypatch, tmp_path):
    monkeypatch.setenv("PYTONIUM_LAB_CACHE", str(tmp_path))
    problem = engine_problem("cefpython3")
    assert problem is not None and "pytonium-lab setup-cef" in problem


def test_auto_takes_the_most_modern_engine_present(monkeypatch, tmp_path):
    monkeypatch.delenv("PYTONIUM_LAB_BACKEND", raising=False)
    assert resolve_engine("auto") == HERE[0]
    monkeypatch.setitem(_engines._CHECKS, "cef", lambda: (ImportError, "no cef"))
    assert resolve_engine("auto") == "chromium"
    monkeypatch.setenv("PATH", "/nonexistent")
    assert resolve_engine("auto") == "cefpython3"
    monkeypatch.setenv("PYTONIUM_LAB_CACHE", str(tmp_path))
    with pytest.raises(RuntimeError, match="no window engine") as caught:
        resolve_engine("auto")
    for fix in ("no cef", "apt-get install chromium", "pytonium-lab setup-cef"):
        assert fix in str(caught.value)


def test_environment_variable_and_bad_names(monkeypatch):
    monkeypatch.setenv("PYTONIUM_LAB_BACKEND", "cefpython3")
    assert resolve_engine("auto") == "cefpython3"
    assert resolve_engine("chromium") == "chromium"  # an explicit name wins
    monkeypatch.setenv("PYTONIUM_LAB_BACKEND", "notebook")
    assert resolve_engine("auto") == HERE[0]
    monkeypatch.setenv("PYTONIUM_LAB_BACKEND", "firefox")
    with pytest.raises(ValueError, match=r"PYTONIUM_LAB_BACKEND.*'firefox'"):
        resolve_engine("auto")
    for bad in ("webkit", "", None):
        with pytest.raises(ValueError, match="unknown window engine"):
            engine_problem(bad)  # type: ignore[arg-type]


def test_hang_limit_knob(monkeypatch):
    from pytonium_lab.desktop._backends import HANG_AFTER, START_GRACE, hang_limits, launch

    monkeypatch.delenv("PYTONIUM_LAB_HANG_AFTER", raising=False)
    assert hang_limits() == (HANG_AFTER, START_GRACE) == (5.0, 10.0)
    monkeypatch.setenv("PYTONIUM_LAB_HANG_AFTER", "1.5")
    assert hang_limits() == (1.5, 3.0)  # the start grace is twice it
    monkeypatch.setenv("DISPLAY", ":0")  # launch checks the knob before it starts anything
    for bad in ("soon", "0.2", "nan", "-3", "1e9"):
        monkeypatch.setenv("PYTONIUM_LAB_HANG_AFTER", bad)
        with pytest.raises(ValueError, match=r"\$PYTONIUM_LAB_HANG_AFTER must be a number of seconds between 1"):
            launch("chromium", "about:blank", 400, 300)
