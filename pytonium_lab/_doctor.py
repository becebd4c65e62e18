"""``pytonium-lab doctor``: what this install can do here, and the fix for what it cannot.

Prints the versions, the notebook hosts found, whether the built JS is in the
package, the ``shared`` extra, every desktop engine (usable, or why not and the
fix, from ``desktop._engines``) and, given ``--redis URL``, whether that Redis
answers. Nothing is started but one Redis PING.
"""

from __future__ import annotations

import importlib.util
import platform
import sys
from collections.abc import Callable
from importlib import metadata, resources

from . import __version__
from ._extras import install_hint
from .desktop._engines import ENGINES, describe, engine_problem

__all__ = ["doctor"]

CORE = ("anywidget", "ipykernel", "traitlets", "tornado")
HOSTS = ("jupyterlab", "notebook", "marimo", "voila")
BUILT_JS = ("widget.js", "runtime.js")
REDIS_TIMEOUT = 2.0  # seconds: a Redis that has not answered by then is reported as not answering


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _missing_js() -> list[str]:
    static = resources.files("pytonium_lab") / "static"
    return [name for name in BUILT_JS if not (static / name).is_file()]


def _redis_answer(url: str) -> str | None:
    """``None`` when the Redis at ``url`` answers PING, else why not."""
    try:
        import redis
    except ModuleNotFoundError:
        return f"redis is not installed: {install_hint('shared')}"
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT)
        try:
            client.ping()
        finally:
            client.close()
    except (redis.RedisError, ValueError, OSError) as error:
        return f"{type(error).__name__}: {error}"
    return None


def doctor(redis_url: str | None = None, out: Callable[[str], None] = print) -> int:
    """Print the report through ``out``; 1 when something the install needs is broken, else 0.

    Broken: the built JS is missing, or the Redis named by ``redis_url`` does
    not answer. An engine that cannot run here is reported with its fix but is
    not an error (one engine is enough, and a notebook needs none).
    """
    failed = False
    out(f"pytonium_lab {__version__}")
    out(f"Python {platform.python_version()} ({sys.executable})")
    for name in CORE:
        out(f"  {name} {_version(name) or 'MISSING: reinstall pytonium_lab'}")

    out("notebook hosts:")
    found = [(name, _version(name)) for name in HOSTS]
    for name, version in found:
        out(f"  {name} {version}" if version else f"  {name}: not installed")
    if not any(version for _, version in found):
        out("  (none: pip install jupyterlab, or notebook, marimo, voila)")

    missing = _missing_js()
    if missing:
        failed = True
        out(f"built JS: MISSING {', '.join(missing)}: install a wheel, or build it with `npm --prefix js run build`")
    else:
        out("built JS: ok")

    shared = [name for name in ("redis", "orjson") if importlib.util.find_spec(name) is None]
    if shared:
        out(f"shared extra (StateStore.connect): missing {', '.join(shared)}: {install_hint('shared')}")
    else:
        out("shared extra (StateStore.connect): ok")

    out("desktop engines:")
    for engine in ENGINES:
        why = engine_problem(engine)
        out(f"  {engine}: {'ok' if why is None else 'no'} - {describe(engine)}")
        if why is not None:
            out(f"    {why}")

    if redis_url is not None:
        why = _redis_answer(redis_url)
        if why is None:
            out(f"redis {redis_url}: answers")
        else:
            failed = True
            out(f"redis {redis_url}: does NOT answer ({why})")
    return 1 if failed else 0
