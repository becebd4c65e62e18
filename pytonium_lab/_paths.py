"""Safe mapping of page paths to files inside a folder.

A page must never reach a file outside its folder: not through a URL of a
folder given to ``add_custom_scheme`` (desktop), nor through an asset the
notebook view inlines. ``..`` segments (also percent-encoded, which tornado
decodes before we see them), absolute paths, and symlinks that point out are
all refused. The check is done on the resolved real path, so it holds whatever
the spelling.
"""

from __future__ import annotations

import os
import re

__all__ = ["OutsideFolder", "check_scheme", "resolve_inside", "served_folder"]

_SCHEME = re.compile(r"[a-z][a-z0-9+.-]{0,31}")
_RESERVED = {"http", "https", "file", "about", "data", "javascript", "blob", "ws", "wss", "_pytonium"}


class OutsideFolder(PermissionError):
    """A requested path would leave the served folder."""


def check_scheme(scheme: object) -> str:
    """Validate a custom scheme name (it becomes the first URL path segment)."""
    if type(scheme) is not str or not _SCHEME.fullmatch(scheme):
        raise ValueError(
            f"scheme must be lower-case letters, digits, '+', '.', '-' and start with a letter, got {scheme!r}"
        )
    if scheme in _RESERVED:
        raise ValueError(f"scheme {scheme!r} is reserved; pick another name such as 'app'")
    return scheme


def served_folder(scheme: str, folder: str) -> str:
    """The real path of a folder to serve (resolved now, relative to the working directory)."""
    real = os.path.realpath(folder)
    if not os.path.isdir(real):
        raise FileNotFoundError(f"add_custom_scheme({scheme!r}, {folder!r}): no such folder ({real})")
    return real


def resolve_inside(folder: str, relative: str) -> str:
    """The real path of ``relative`` inside ``folder`` (already a realpath).

    Raises :class:`OutsideFolder` for any path that escapes,
    ``IsADirectoryError`` for a folder and ``FileNotFoundError`` when the file does not exist.
    """
    if "\x00" in relative:
        raise OutsideFolder(f"path {relative!r} contains a NUL byte")
    parts = relative.replace("\\", "/").split("/")
    if relative.startswith("/") or os.path.isabs(relative) or ".." in parts:
        raise OutsideFolder(f"path {relative!r} leaves the served folder")
    target = os.path.realpath(os.path.join(folder, *[p for p in parts if p not in ("", ".")]))
    if os.path.commonpath([folder, target]) != folder:
        raise OutsideFolder(f"path {relative!r} resolves outside the served folder (symlink?)")
    if not os.path.isfile(target):
        if os.path.isdir(target):
            raise IsADirectoryError(f"{relative!r} in {folder} is a directory, not a file")
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"the served folder {folder} does not exist (any more)")
        raise FileNotFoundError(f"no file {relative!r} in {folder}")
    return target
