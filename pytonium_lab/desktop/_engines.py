"""The window engines: their names, whether each one works here, and if not, the fix.

One home for that knowledge: ``launch`` (through :func:`resolve_engine` and
:func:`require_engine`), the error messages and ``pytonium-lab doctor`` all
ask here. The checks are cheap (no engine is started, no library loaded), so
they can run on every window.

- ``cef``: CEF 131 from the ``cef-capi-py`` wheel (Linux x86_64, Python >= 3.11),
  in a host subprocess on the library's own Python.
- ``chromium``: a system Chromium / Chrome / Edge in app mode (``--app=URL``).
- ``cefpython3``: CEF 66 (Chromium 66, 2018) in a host subprocess on a Python 3.7
  runtime made by ``pytonium-lab setup-cef``.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import platform
import shutil
import sys
from pathlib import Path

from .._extras import install_hint
from ._cef_runtime import runtime_python

__all__ = [
    "BACKEND_CHOICES",
    "BACKEND_ENV",
    "CHROMIUM_NAMES",
    "ENGINES",
    "check_backend",
    "chosen_backend",
    "chromium_executable",
    "describe",
    "engine_problem",
    "engines_here",
    "require_engine",
    "resolve_engine",
]

log = logging.getLogger("pytonium_lab")

ENGINES = ("cef", "chromium", "cefpython3")
"""Every engine, the most modern first: the order ``backend="auto"`` tries them in."""

BACKEND_CHOICES = ("auto", "notebook", *ENGINES)
"""What ``Pytonium(backend=...)`` and ``$PYTONIUM_LAB_BACKEND`` may say (``notebook``: the inline view)."""

BACKEND_ENV = "PYTONIUM_LAB_BACKEND"
"""The environment variable that chooses for ``backend="auto"`` (``pytonium-lab app`` sets it for its kernel)."""

CHROMIUM_NAMES = (
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
    "microsoft-edge",
    "microsoft-edge-stable",
)
"""Executables of the ``chromium`` engine, looked up on PATH in this order."""

_DESCRIPTIONS = {
    "cef": "CEF 131 (Chromium 131) from the cef-capi-py wheel, in a host subprocess",
    "chromium": "a system Chromium / Chrome / Edge in app mode (--app)",
    "cefpython3": "CEF 66 (Chromium 66) from cefpython3, in a host subprocess on a Python 3.7 runtime",
}

CEF_EXTRA_HINT = install_hint("cef")


def describe(name: str) -> str:
    """One line saying what engine ``name`` is."""
    _check_name(name)
    return _DESCRIPTIONS[name]


def chromium_executable() -> str | None:
    """The first of :data:`CHROMIUM_NAMES` found on PATH."""
    return next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)


def cef_runtime_dir() -> Path | None:
    """The folder holding ``libcef.so`` of the installed cef-capi-py wheel (found without loading it)."""
    try:
        spec = importlib.util.find_spec("cef_capi")
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "runtime"


def _cef_problem() -> tuple[type[Exception], str] | None:
    system: str = sys.platform  # a variable: mypy would decide these comparisons for its own platform
    version: tuple[int, int] = (sys.version_info.major, sys.version_info.minor)
    if not (system == "linux" and platform.machine() in ("x86_64", "AMD64") and version >= (3, 11)):
        here = f"Python {platform.python_version()} on {system} {platform.machine()}"
        return RuntimeError, (
            "the cef engine needs Python >= 3.11 on Linux x86_64 (where the cef-capi-py wheel exists), "
            f"this is {here}; use backend='chromium' or backend='cefpython3'"
        )
    runtime = cef_runtime_dir()
    if runtime is None:
        return ImportError, f"the cef engine needs the cef-capi-py package: {CEF_EXTRA_HINT}"
    if not (runtime / "libcef.so").exists() or not (runtime / "cefsimple").exists():
        return ImportError, (
            f"the cef-capi-py package has no CEF runtime in {runtime} (a broken install): "
            f"pip install --force-reinstall 'cef-capi-py>=131.3.5'"
        )
    return None


def _chromium_problem() -> tuple[type[Exception], str] | None:
    if chromium_executable() is None:
        return RuntimeError, (
            f"the chromium engine found no browser on PATH (looked for {', '.join(CHROMIUM_NAMES)}): "
            "apt-get install chromium"
        )
    return None


def _cefpython3_problem() -> tuple[type[Exception], str] | None:
    if runtime_python() is None:
        return RuntimeError, (
            "the cefpython3 engine's runtime is not set up: run `pytonium-lab setup-cef` "
            "(needs a Python 3.7 interpreter)"
        )
    return None


_CHECKS = {"cef": _cef_problem, "chromium": _chromium_problem, "cefpython3": _cefpython3_problem}


def _check_name(name: object) -> None:
    if name not in ENGINES:
        raise ValueError(f"unknown window engine {name!r}: expected one of {', '.join(map(repr, ENGINES))}")


def engine_problem(name: str) -> str | None:
    """``None`` when engine ``name`` can open windows here, else why not and the exact fix.

    Cheap: looks for files and executables, starts and loads nothing. A
    display (``DISPLAY``) is needed by every engine and is not checked here.
    """
    _check_name(name)
    found = _CHECKS[name]()
    return None if found is None else found[1]


def engines_here() -> list[str]:
    """The engines that can open windows here, the most modern first."""
    return [name for name in ENGINES if _CHECKS[name]() is None]


def require_engine(name: str) -> None:
    """Raise an ImportError (a missing package) or RuntimeError naming the fix when ``name`` cannot run here."""
    _check_name(name)
    found = _CHECKS[name]()
    if found is not None:
        kind, why = found
        raise kind(why)


def check_backend(backend: object, where: str = "backend") -> str:
    """``backend`` when it is one of :data:`BACKEND_CHOICES`; else the one error every bad choice gets."""
    if backend not in BACKEND_CHOICES:
        raise ValueError(f"{where} must be one of {', '.join(map(repr, BACKEND_CHOICES))}, got {backend!r}")
    return str(backend)


def chosen_backend(backend: str) -> str:
    """What ``backend`` asks for: itself, or for ``auto`` what ``$PYTONIUM_LAB_BACKEND`` says (checked), if set.

    The only place that reads the variable: the window's engine and the notebook's
    inline view follow the same choice.
    """
    if backend != "auto":
        return backend
    return check_backend(os.environ.get(BACKEND_ENV) or "auto", "$" + BACKEND_ENV)


def resolve_engine(name: str = "auto") -> str:
    """The engine to use: ``name``, or for ``auto`` (or ``$PYTONIUM_LAB_BACKEND``) the most modern one here.

    ``auto`` with no engine present raises a RuntimeError listing each
    engine's fix. A named engine is returned as is (``launch`` checks it).
    """
    if name == "auto":
        name = chosen_backend(name)
        if name == "notebook":  # the inline view's choice; a window takes the best engine
            name = "auto"
    if name != "auto":
        _check_name(name)
        return name
    problems = []
    for engine in ENGINES:
        why = engine_problem(engine)
        if why is None:
            log.info("desktop engine: %s (%s)", engine, _DESCRIPTIONS[engine])
            return engine
        problems.append(f"- {engine}: {why}")
    raise RuntimeError("no window engine is available here:\n" + "\n".join(problems))
