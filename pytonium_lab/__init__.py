"""pytonium_lab: one namespaced state store, shown in notebooks and desktop windows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._calls import returns_value_to_javascript
from ._change import Change
from ._history import HistoryEntry
from ._store import StateStore, Subscription

__all__ = [
    "Change",
    "HistoryEntry",
    "Persistence",
    "Pytonium",
    "StateStore",
    "StateWidget",
    "Subscription",
    "TraitLink",
    "returns_value_to_javascript",
]
__version__ = "0.1.0"

if TYPE_CHECKING:
    from ._persist import Persistence
    from ._traitlink import TraitLink
    from .desktop import Pytonium
    from .notebook import StateWidget

_LAZY = {
    "Persistence": "._persist",
    "Pytonium": ".desktop",
    "StateWidget": ".notebook",
    "TraitLink": "._traitlink",
}


def __getattr__(name: str) -> Any:
    # The widget, the desktop and the traitlets link pull in anywidget, tornado and
    # traitlets: import them on first use.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module 'pytonium_lab' has no attribute {name!r}")
