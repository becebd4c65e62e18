"""pytonium_lab: one namespaced state store, shown in notebooks and desktop windows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._store import Change, StateStore, Subscription

__all__ = ["Change", "Pytonium", "StateStore", "StateWidget", "Subscription"]
__version__ = "0.1.0"

if TYPE_CHECKING:
    from .desktop import Pytonium
    from .widget import StateWidget


def __getattr__(name: str) -> Any:
    # The widget and the desktop pull in anywidget and tornado: import them lazily.
    if name == "StateWidget":
        from .widget import StateWidget

        return StateWidget
    if name == "Pytonium":
        from .desktop import Pytonium

        return Pytonium
    raise AttributeError(f"module 'pytonium_lab' has no attribute {name!r}")
