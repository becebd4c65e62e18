"""Putting the JS runtime into a user's page, the same way for every host.

The runtime must exist before any page script runs (pages test
``window.PytoniumReady`` at once), so it goes first inside ``<head>``.
"""

from __future__ import annotations

import json
import os
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["inject_runtime", "locate_page", "runtime_source", "static_text"]

_HEAD = re.compile(r"<head(\s[^>]*)?>", re.IGNORECASE)
_HTML = re.compile(r"<html(\s[^>]*)?>", re.IGNORECASE)
_DOCTYPE = re.compile(r"\s*<!doctype[^>]*>", re.IGNORECASE)


@lru_cache(maxsize=4)
def static_text(name: str) -> str:
    """A built JS file of ``static/`` (made from ``js/``); a clear error if it was not built."""
    try:
        return (resources.files("pytonium_lab") / "static" / name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RuntimeError(
            f"pytonium_lab/static/{name} is missing: build the JS with "
            "`npm --prefix js ci && npm --prefix js run build` (scripts/setup.sh does this)"
        ) from None


RUNTIME_URL = "pytonium-runtime.js"
"""The name of the runtime's frames in stacks: ``RUNTIME_URL`` of ``js/src/pagelog.ts``."""


def runtime_source() -> str:
    """The page runtime (``static/runtime.js``, ES2017), on one line, named.

    It is built whitespace-minified and injected without a newline, so the
    page's own scripts keep their line numbers in errors and stacks. Its
    ``//# sourceURL`` names its frames ``pytonium-runtime.js`` instead of the
    page's URL and line: the page log then reports the page's own call site.
    """
    return static_text("runtime.js").strip() + "//# sourceURL=" + RUNTIME_URL


def _script(text: str) -> str:
    # "</script" inside a string would end the element early; "<\/" means the same in JS.
    return "<script>" + re.sub(r"</(script)", r"<\\/\1", text, flags=re.IGNORECASE) + "</script>"


def inject_runtime(html: str, config: dict[str, Any]) -> str:
    """Return ``html`` with the runtime config and the runtime as the first scripts."""
    tags = _script("window.__PYTONIUM_CONFIG__=" + json.dumps(config) + ";") + _script(runtime_source())
    for pattern in (_HEAD, _HTML, _DOCTYPE):
        found = pattern.search(html)
        if found:
            at = found.end()
            inner = tags if pattern is _HEAD else f"<head>{tags}</head>"
            return html[:at] + inner + html[at:]
    return tags + html


def locate_page(page: str | os.PathLike[str]) -> tuple[str | None, Path | None]:
    """Tell a page given as HTML text from one given as a file: ``(text, None)`` or ``(None, path)``.

    One rule for the widget and the desktop window: a ``str`` containing ``<``
    is HTML text; any other ``str`` or path-like is the path of an ``.html`` file.
    """
    if isinstance(page, str) and "<" in page:
        return page, None
    if not isinstance(page, (str, os.PathLike)):
        raise TypeError(f"page must be HTML text or the path of an .html file, got {type(page).__name__}")
    path = Path(page).expanduser()
    if path.is_dir():
        raise IsADirectoryError(f"page {os.fspath(page)!r} is a directory, not an .html file ({path.resolve()})")
    if path.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"page must be HTML text or the path of an .html file; {os.fspath(page)!r} is neither")
    path = path.resolve()
    if not path.is_file():
        raise FileNotFoundError(f"page file not found: {path}")
    return None, path
