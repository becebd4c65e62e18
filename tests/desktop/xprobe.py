"""Reading a real window's state the way a user's tools do (wmctrl, xwininfo, xprop), independent of the library."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass

from .helpers import wait_for


def _run(*command: str) -> str:
    return subprocess.run(command, check=True, capture_output=True, text=True, timeout=10).stdout


def window_of(pid: int, timeout: float = 10.0) -> int:
    """The id of the managed window whose ``_NET_WM_PID`` is ``pid`` (from ``wmctrl -lp``)."""

    def find() -> int | None:
        for line in _run("wmctrl", "-lp").splitlines():
            fields = line.split()
            if len(fields) > 2 and fields[2] == str(pid):
                return int(fields[0], 16)
        return None

    return wait_for(find, timeout, f"wmctrl to list a window of pid {pid}")


def windows() -> set[int]:
    return {int(line.split()[0], 16) for line in _run("wmctrl", "-l").splitlines() if line.strip()}


def prop(window: int, name: str) -> str:
    """``xprop``'s text after ``=`` (empty when the property is not set)."""
    out = _run("xprop", "-id", str(window), name)
    return out.split("=", 1)[1].strip() if "=" in out else ""


def extents(window: int) -> tuple[int, ...]:
    """``_NET_FRAME_EXTENTS``: left, right, top, bottom."""
    return tuple(int(v) for v in prop(window, "_NET_FRAME_EXTENTS").split(","))


def net_states(window: int) -> set[str]:
    text = prop(window, "_NET_WM_STATE")
    return {s.strip().removeprefix("_NET_WM_STATE_") for s in text.split(",") if s.strip()}


def wm_state(window: int) -> str:
    """``Normal``, ``Iconic`` or ``Withdrawn`` (ICCCM ``WM_STATE``)."""
    found = re.search(r"window state: (\w+)", _run("xprop", "-id", str(window), "WM_STATE"))
    return found.group(1) if found else ""


def title(window: int) -> str:
    return prop(window, "_NET_WM_NAME").strip('"')


@dataclass
class Geometry:
    x: int  # outer corner (frame included)
    y: int
    width: int  # content
    height: int

    @property
    def right(self) -> int:
        return self.x + self.width

    @property
    def bottom(self) -> int:
        return self.y + self.height


def geometry(window: int) -> Geometry:
    """The outer corner (xwininfo's content corner minus the frame) and the content size."""
    info = _run("xwininfo", "-id", str(window))

    def value(label: str) -> int:
        found = re.search(rf"{label}:\s+(-?\d+)", info)
        assert found, f"xwininfo printed no {label!r}:\n{info}"
        return int(found.group(1))

    left, _, top, _ = extents(window)
    return Geometry(
        value("Absolute upper-left X") - left, value("Absolute upper-left Y") - top, value("Width"), value("Height")
    )


def icon(window: int) -> list[int]:
    """``_NET_WM_ICON``'s numbers: width, height, ARGB pixels."""
    out = _run("xprop", "-id", str(window), "-notype", "32c", "_NET_WM_ICON")
    return [int(v) for v in re.findall(r"\d+", out.split("=", 1)[1])] if "=" in out else []


def wm_close(window: int) -> None:
    """Close the window as the user does from the window manager (``wmctrl -c``)."""
    _run("wmctrl", "-i", "-c", hex(window))
