"""Notebook cells that several test files run: one definition, so the hosts' and JupyterLab's tests test the same thing."""

from pathlib import Path

COUNTER = str(Path(__file__).parent / "pages" / "counter.html")
"""A page showing demo.count, with a button that writes it."""

RECORDING_STORE = """
from pytonium_lab import StateStore, StateWidget
store = StateStore()
edits = []
class Recorder:
    def update_state(self, namespace, key, value):
        edits.append((namespace, key, value))
store.add_state_handler(Recorder(), ["demo"])
store.set_state("demo", "count", 1)
"""
"""A store at demo.count = 1 whose handler records every demo change in ``edits``."""
