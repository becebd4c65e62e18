"""``pytonium_lab.widget``: the import path of StateWidget users already know.

The notebook host lives in :mod:`pytonium_lab.notebook`; this name stays.
"""

from .notebook import StateWidget, load_page

__all__ = ["StateWidget", "load_page"]
