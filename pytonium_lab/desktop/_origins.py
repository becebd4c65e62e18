"""Origins the user allows: remote or dev-server pages that get the state API.

A page from an allowed origin (say a Vite dev server on ``http://localhost:5173``)
gets the same runtime as the app's own pages, put in by the window engine
before or as the document starts, and may open the session's WebSocket.
Every other origin gets nothing: the script checks ``location.origin``
first, and the server checks the WebSocket's ``Origin``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from .._page import runtime_source

__all__ = ["injection_script", "normalize_origin", "origin_of"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_origin(origin: Any) -> str:
    """``scheme://host[:port]`` as browsers write ``location.origin``; ValueError names what is wrong."""
    if type(origin) is not str:
        raise TypeError(
            f"allow_origin: an origin must be a str like 'http://localhost:5173', got {type(origin).__name__}"
        )
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"allow_origin: {origin!r} is not an origin: {exc}") from None
    if parts.scheme.lower() not in _DEFAULT_PORTS:
        raise ValueError(f"allow_origin: {origin!r} must start with http:// or https://")
    if not parts.hostname:
        raise ValueError(f"allow_origin: {origin!r} has no host")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(
            f"allow_origin: {origin!r} must be scheme://host[:port] only, without path, query, fragment or user"
        )
    scheme = parts.scheme.lower()
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    return f"{scheme}://{host}" + (f":{port}" if port is not None and port != _DEFAULT_PORTS[scheme] else "")


def origin_of(url: str) -> str | None:
    """The origin of an http(s) URL, or None for any other URL."""
    try:
        return normalize_origin(urlsplit(url)._replace(path="", query="", fragment="").geturl())
    except (TypeError, ValueError):
        return None


def injection_script(config: dict[str, Any], origins: Iterable[str]) -> str:
    """The runtime wrapped so that it starts only in a top-level document of ``origins``."""
    return (
        "(function () {\n"
        '  "use strict";\n'
        f"  if (window.top !== window || {json.dumps(sorted(origins))}.indexOf(location.origin) < 0"
        " || window.Pytonium) return;\n"
        f"  window.__PYTONIUM_CONFIG__ = {json.dumps(config)};\n"
        f"{runtime_source()}\n"
        "})();\n"
    )
