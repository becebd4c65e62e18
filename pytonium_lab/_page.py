"""Putting the JS runtime into a user's page, the same way for every host.

The runtime must exist before any page script runs (pages test
``window.PytoniumReady`` at once), so it goes first inside ``<head>``.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any

__all__ = ["inject_runtime", "runtime_source"]

_HEAD = re.compile(r"<head(\s[^>]*)?>", re.IGNORECASE)
_HTML = re.compile(r"<html(\s[^>]*)?>", re.IGNORECASE)
_DOCTYPE = re.compile(r"\s*<!doctype[^>]*>", re.IGNORECASE)


@lru_cache(maxsize=1)
def runtime_source() -> str:
    """The built runtime (``js/`` -> ``static/runtime.js``); a clear error if it was not built."""
    path = resources.files("pytonium_lab") / "static" / "runtime.js"
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RuntimeError(
            "pytonium_lab/static/runtime.js is missing: build the JS runtime with "
            "`npm --prefix js ci && npm --prefix js run build` (scripts/setup.sh does this)"
        ) from None


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
