"""Where the ``cefpython3`` window engine lives, and how ``pytonium-lab setup-cef`` makes it.

cefpython3's only Linux wheel that imports is 66.0, on Python <= 3.7, while the
library runs on 3.10+. So its windows run in a host subprocess on a Python 3.7
venv kept in a cache directory, made once by ``pytonium-lab setup-cef``, with
python-xlib beside cefpython3 (the host sets the window's title with it).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

__all__ = ["CEF_VERSION", "cache_dir", "find_python37", "runtime_python", "setup"]

CEF_VERSION = "66.0"
RUNTIME_EXTRAS = ("python-xlib==0.33",)
"""Installed beside cefpython3 (the last python-xlib that supports Python 3.7 is fine)."""


def cache_dir() -> Path:
    """The runtime venv: ``$PYTONIUM_LAB_CACHE`` or ``~/.cache/pytonium_lab/cef-py37``."""
    root = os.environ.get("PYTONIUM_LAB_CACHE")
    if root:
        return Path(root).expanduser() / "cef-py37"
    return Path.home() / ".cache" / "pytonium_lab" / "cef-py37"


def _marker() -> Path:
    return cache_dir() / f".cefpython3-{CEF_VERSION}-ok"


def runtime_python() -> Path | None:
    """The runtime's interpreter if ``setup-cef`` completed, else ``None``."""
    python = cache_dir() / "bin" / "python"
    return python if _marker().exists() and python.exists() else None


def find_python37() -> str:
    """``$PYTONIUM_CEF_PYTHON``, else pyenv's 3.7, else ``python3.7`` on PATH."""
    explicit = os.environ.get("PYTONIUM_CEF_PYTHON")
    if explicit:
        if not os.access(explicit, os.X_OK):
            raise RuntimeError(f"PYTONIUM_CEF_PYTHON={explicit!r} is not an executable file")
        return explicit
    roots = []
    pyenv = shutil.which("pyenv")
    if pyenv:
        try:
            roots.append(
                subprocess.run([pyenv, "root"], capture_output=True, text=True, timeout=10, check=False).stdout.strip()
            )
        except (OSError, subprocess.SubprocessError):
            pass
    roots.append(os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv")))
    for root in roots:
        found = sorted(glob.glob(os.path.join(root, "versions", "3.7*", "bin", "python")))
        if found:
            return found[-1]
    on_path = shutil.which("python3.7")
    if on_path:
        return on_path
    raise RuntimeError(
        "no Python 3.7 found for the CEF runtime (cefpython3 66 needs Python <= 3.7): "
        "set PYTONIUM_CEF_PYTHON, install 3.7 with pyenv, or put python3.7 on PATH"
    )


def setup(log: Callable[[str], object] = print) -> Path:
    """Create the runtime venv with cefpython3 (idempotent: fast when already done)."""
    ready = runtime_python()
    if ready is not None:
        _install_extras(ready, log)
        log(f"CEF runtime already set up: {ready}")
        return ready
    python = find_python37()
    target = cache_dir()
    target.parent.mkdir(parents=True, exist_ok=True)
    log(f"creating the CEF runtime venv in {target} with {python}")
    _run([python, "-m", "venv", "--clear", str(target)], "creating the venv")
    venv_python = target / "bin" / "python"
    log(f"installing cefpython3=={CEF_VERSION} (about 70 MB download)")
    _run(
        [str(venv_python), "-m", "pip", "install", "--disable-pip-version-check", "-q", f"cefpython3=={CEF_VERSION}"],
        f"pip install cefpython3=={CEF_VERSION}",
    )
    _run([str(venv_python), "-c", "from cefpython3 import cefpython"], "importing cefpython3")
    _install_extras(venv_python, log)
    _marker().write_text(f"cefpython3=={CEF_VERSION}\n")
    log(f"CEF runtime ready: {venv_python}")
    return venv_python


def _install_extras(python: Path, log: Callable[[str], object]) -> None:
    """Install :data:`RUNTIME_EXTRAS` into the runtime when missing (also into a runtime made before them)."""
    probe = subprocess.run([str(python), "-c", "import Xlib"], capture_output=True, check=False)
    if probe.returncode == 0:
        return
    log(f"installing {' '.join(RUNTIME_EXTRAS)} into the CEF runtime")
    _run(
        [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", *RUNTIME_EXTRAS],
        f"pip install {' '.join(RUNTIME_EXTRAS)}",
    )


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, stdout=sys.stderr, stderr=sys.stderr, check=False)
    if done.returncode:
        raise RuntimeError(f"{what} failed (exit {done.returncode}): {' '.join(command)}")
