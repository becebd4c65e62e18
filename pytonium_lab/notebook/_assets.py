"""Inlining a page's relative assets, so the page needs no file server.

A notebook view runs the page in a ``srcdoc`` iframe: it has no URL to resolve
``style.css`` against, and the browser may not even be on the kernel's
machine. So everything the page refers to by a relative path travels inside
the HTML itself: stylesheets become ``<style>``, scripts become inline
``<script>``, images and fonts become ``data:`` URIs (CSS ``url()`` included).
Absolute URLs (``https:``, ``data:``, ``//host``, ``#frag``) are left alone.
"""

from __future__ import annotations

import base64
import html as html_lib
import mimetypes
import os
import re
import warnings
from pathlib import Path
from urllib.parse import unquote

from .._paths import OutsideFolder, resolve_inside

__all__ = ["inline_assets", "inline_css"]

_ATTRS = r"""(?P<attrs>(?:[^>"']|"[^"]*"|'[^']*')*)"""
_TOKEN = re.compile(
    r"(?P<comment><!--.*?-->)"
    rf"|(?P<script><script\b{_ATTRS.replace('attrs', 'sattrs')}>(?P<sbody>.*?)</script\s*>)"
    rf"|(?P<style><style\b{_ATTRS.replace('attrs', 'cattrs')}>(?P<cbody>.*?)</style\s*>)"
    rf"|<(?P<name>[a-zA-Z][\w:-]*)\b{_ATTRS}>",
    re.IGNORECASE | re.DOTALL,
)
_ATTR = re.compile(r"""([^\s"'=<>/]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"'>]+))?""")
_CSS_URL = re.compile(r"""url\(\s*("[^"]*"|'[^']*'|[^)"']*?)\s*\)""", re.IGNORECASE)
_CSS_IMPORT = re.compile(r"""@import\s+("[^"]*"|'[^']*')""", re.IGNORECASE)
_ABSOLUTE = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|//|#|$)")

# Attributes that load a resource, per tag (``href`` on <a> navigates: not an asset).
_SRC_ATTRS = {
    "img": ("src", "srcset"),
    "source": ("src", "srcset"),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "input": ("src",),
    "embed": ("src",),
    "link": ("href",),
}
_MAX_DEPTH = 8  # stylesheets importing stylesheets: stop runaway cycles


def inline_assets(html: str, base: Path, *, page: str | None = None) -> str:
    """Return ``html`` with the relative assets under ``base`` inlined.

    ``page`` names the page in warnings. A missing asset is left as it was,
    with a ``UserWarning`` (a browser would just show it missing).
    """
    return _Inliner(base, page or str(base)).html(html)


def inline_css(css: str, base: Path) -> str:
    """Return ``css`` with its relative ``url()`` and ``@import`` targets as data URIs."""
    return _Inliner(base, str(base)).css(css, base, 0)


class _Inliner:
    def __init__(self, base: Path, page: str) -> None:
        self.base = base
        self.root = os.path.realpath(base)  # nothing outside the page's folder is read
        self.page = page

    # ---- HTML --------------------------------------------------------------------

    def html(self, html: str) -> str:
        return _TOKEN.sub(self._token, html)

    def _token(self, m: re.Match[str]) -> str:
        if m.group("comment"):
            return m.group(0)
        if m.group("script"):
            return self._script(m)
        if m.group("style"):
            body = self.css(m.group("cbody"), self.base, 0)
            return f"<style{m.group('cattrs')}>{_escape_end(body, 'style')}</style>"
        return self._tag(m.group("name").lower(), m.group(0), m.group("attrs"))

    def _script(self, m: re.Match[str]) -> str:
        attrs = _parse_attrs(m.group("sattrs"))
        src = attrs.get("src")
        if src is None or _is_absolute(src):
            return m.group(0)
        path = self._find(src, self.base)
        if path is None:
            return m.group(0)
        del attrs["src"]
        return f"<script{_render_attrs(attrs)}>{_escape_end(_read_text(path), 'script')}</script>"

    def _tag(self, name: str, whole: str, raw_attrs: str) -> str:
        wanted = _SRC_ATTRS.get(name, ())
        if not wanted and "style" not in raw_attrs.lower():
            return whole
        attrs = _parse_attrs(raw_attrs)
        if name == "link" and "stylesheet" in (attrs.get("rel") or "").lower().split():
            href = attrs.get("href")
            path = None if href is None or _is_absolute(href) else self._find(href, self.base)
            if path is None:
                return whole
            media = attrs.get("media")
            open_tag = "<style>" if media is None else f'<style media="{_quote(media)}">'
            return open_tag + _escape_end(self.css(_read_text(path), path.parent, 1), "style") + "</style>"
        changed = False
        for attr in wanted:
            value = attrs.get(attr)
            if value is None:
                continue
            new = self._srcset(value) if attr == "srcset" else self._data_uri(value, self.base)
            if new != value:
                attrs[attr] = new
                changed = True
        style = attrs.get("style")
        if style:
            new_style = self.css(style, self.base, 0)
            if new_style != style:
                attrs["style"] = new_style
                changed = True
        if not changed:
            return whole
        closing = "/>" if whole.rstrip(">").endswith("/") else ">"
        return f"<{name}{_render_attrs(attrs)}{closing}"

    def _srcset(self, value: str) -> str:
        parts = []
        for candidate in value.split(","):
            bits = candidate.strip().split(None, 1)
            if bits:
                bits[0] = self._data_uri(bits[0], self.base)
            parts.append(" ".join(bits))
        return ", ".join(parts)

    # ---- CSS ---------------------------------------------------------------------

    def css(self, css: str, base: Path, depth: int) -> str:
        def url(m: re.Match[str]) -> str:
            ref = m.group(1).strip("\"'")
            return f'url("{self._data_uri(ref, base, depth)}")'

        def imported(m: re.Match[str]) -> str:
            return f'@import url("{self._data_uri(m.group(1)[1:-1], base, depth)}")'

        return _CSS_URL.sub(url, _CSS_IMPORT.sub(imported, css))

    # ---- files -------------------------------------------------------------------

    def _data_uri(self, ref: str, base: Path, depth: int = 0) -> str:
        if _is_absolute(ref):
            return ref
        path = self._find(ref, base)
        if path is None:
            return ref
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if mime == "text/css" and depth < _MAX_DEPTH:
            data = self.css(_read_text(path), path.parent, depth + 1).encode("utf-8")
        else:
            data = path.read_bytes()
        return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"

    def _find(self, ref: str, base: Path) -> Path | None:
        relative = unquote(re.split(r"[?#]", ref, maxsplit=1)[0])
        from_root = os.path.relpath(os.path.join(os.path.realpath(base), relative), self.root)
        try:
            return Path(resolve_inside(self.root, from_root))
        except OutsideFolder:
            why = f"leaves the page's folder {self.root}: not read"
        except IsADirectoryError:
            why = f"is a directory ({base / relative})"
        except OSError:
            why = f"not found (looked for {base / relative})"
        warnings.warn(f"{self.page}: asset {ref!r} {why}; it is left as it was", UserWarning, stacklevel=5)
        return None


def _is_absolute(ref: str) -> bool:
    return bool(_ABSOLUTE.match(ref.strip()))


def _parse_attrs(raw: str) -> dict[str, str | None]:
    """Attributes in source order; ``None`` for a bare attribute such as ``defer``."""
    attrs: dict[str, str | None] = {}
    for m in _ATTR.finditer(raw):
        value = m.group(2)
        if value is not None:
            value = html_lib.unescape(value[1:-1] if value[:1] in "'\"" else value)
        attrs[m.group(1).lower()] = value
    return attrs


def _quote(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;")


def _render_attrs(attrs: dict[str, str | None]) -> str:
    return "".join(f" {k}" if v is None else f' {k}="{_quote(v)}"' for k, v in attrs.items())


def _escape_end(text: str, tag: str) -> str:
    # "</script" inside inlined text would end the element early.
    return re.sub(rf"</({tag})", r"<\\/\1", text, flags=re.IGNORECASE)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path} is not UTF-8 text: {exc}") from None
