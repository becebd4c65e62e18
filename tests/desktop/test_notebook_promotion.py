"""Promotion: a notebook running in a real kernel opens its widget's store in a desktop window."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.e2e

PAGE = """<!DOCTYPE html><html><head><title>promoted</title></head><body><div id="v">--</div><script>
function onReady() {
  const text = Pytonium.appState.getState("demo", "text");
  document.getElementById("v").textContent = text;
  Pytonium.appState.setState("demo", "reply", text + " / seen by the window");
  Pytonium.appState.registerForStateUpdates("textChanged", ["demo"], false, true);
  window.addEventListener("textChanged", (e) => {
    if (e.detail.key !== "text") return;
    document.getElementById("v").textContent = e.detail.value;
    Pytonium.appState.setState("demo", "seen", e.detail.value);  // tell Python what the window shows
  });
}
if (window.PytoniumReady) onReady(); else window.addEventListener("PytoniumReady", onReady);
</script></body></html>"""

CELLS = [
    f"""
from pytonium_lab import StateStore, StateWidget
store = StateStore()
store.set_state("demo", "text", "from the kernel")
widget = StateWidget(store, {PAGE!r}, namespaces=["demo"])
handle = widget.open_window(width=400, height=300, backend=BACKEND)
assert handle.is_running()
""",
    # JS writes run on the kernel's event loop: a cell that awaits lets them in.
    """
import asyncio
for _ in range(1000):
    if store.get_state("demo", "reply"):
        break
    await asyncio.sleep(0.01)
assert store.get_state("demo", "reply") == "from the kernel / seen by the window", store.snapshot()
""",
    """
# A later cell's set_state reaches the open window, whose answer reaches Python again.
store.set_state("demo", "text", "from a later cell")
for _ in range(1000):
    if store.get_state("demo", "seen") == "from a later cell":
        break
    await asyncio.sleep(0.01)
assert store.get_state("demo", "seen") == "from a later cell", store.snapshot()
""",
    """
handle.close()
assert not handle.is_running()
print("promoted ok")
""",
]


def test_widget_store_opens_in_a_window(backend, xvfb):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(f"BACKEND = {backend!r}")] + [nbformat.v4.new_code_cell(c) for c in CELLS]
    NotebookClient(nb, timeout=60, kernel_name="python3").execute()
    assert "promoted ok" in nb.cells[-1].outputs[0]["text"]
