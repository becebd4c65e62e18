"""``inspector.open_window()``: the inspector's page in a desktop window on the same store (chromium, and CEF: Chrome 66)."""

from __future__ import annotations

import pytest

from pytonium_lab import StateStore

from .helpers import DevTools, wait_for

pytestmark = pytest.mark.e2e

ROWS = "document.querySelectorAll('#live tbody tr').length"


def value_of(ns: str, key: str) -> str:
    return f'(document.querySelector(\'#live tr[data-ns="{ns}"][data-key="{key}"] input.value\') || {{}}).value'


@pytest.mark.parametrize("backend", ["chromium", "cef"], indirect=True)
def test_the_inspector_window_shows_and_edits_the_state_table(backend, closing):
    store = StateStore()
    store.set_state("settings", "volume", 75)
    store.set_state("user", "name", "Alice")
    inspector = store.inspector()
    closing(inspector)
    handle = inspector.open_window(width=900, height=600, backend=backend, debug=True)
    closing(handle)
    tools = DevTools(handle.devtools_port)
    try:
        tools.wait(f"{ROWS} === 2")
        assert tools.eval(value_of("settings", "volume")) == "75"
        assert tools.eval(value_of("user", "name")) == '"Alice"'
        assert "pytonium.inspector" not in tools.eval("document.getElementById('live').textContent")
        # The history from before the window opened: answered by Python over the private namespace.
        tools.wait("document.getElementById('changes').textContent.indexOf('(new) \u2192 75') >= 0")
        # Live: a later set_state, and a new namespace.
        store.set_state("settings", "volume", 80)
        store.set_state("later", "k", [1, 2])
        tools.wait(f"{value_of('settings', 'volume')} === '80' && {value_of('later', 'k')} === '[1,2]'")
        # An edit in the window reaches the store.
        tools.eval(
            '(() => { const r = document.querySelector(\'#live tr[data-ns="user"][data-key="name"]\');'
            " r.querySelector('input.value').value = '\"Bob\"'; r.querySelector('button.set').click(); })()"
        )
        wait_for(lambda: store.get_state("user", "name") == "Bob", 5, "the window's edit in the store")
    finally:
        tools.close()
    handle.close()
    assert not handle.is_running()
