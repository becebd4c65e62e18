"""The inspector in a real JupyterLab: live table, filter, JSON edits, removal, time slider, restore."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect

VIEW = """<!doctype html><html><body><p id="v">--</p><script>
function onReady() {
  Pytonium.appState.registerForStateUpdates("ev", ["settings"], true, true);
  window.addEventListener("ev", (e) => { if (e.detail.key === "volume") document.getElementById("v").textContent = e.detail.value; });
}
if (window.PytoniumReady) onReady(); else window.addEventListener("PytoniumReady", onReady);
</script></body></html>"""

SETUP = """
from pytonium_lab import StateStore, StateWidget
store = StateStore()
store.set_state("settings", "volume", 75)
store.set_state("settings", "theme", "dark")
store.set_state("user", "name", "Alice")
before = store.revision
inspector = store.inspector()
inspector
"""


def row(view, ns: str, key: str):
    return view.locator(f'#live tr[data-ns="{ns}"][data-key="{key}"]')


def test_the_inspector_shows_edits_and_rewinds_the_store(notebook) -> None:
    lab = notebook([SETUP, f"view = StateWidget(store, {VIEW!r}, height=60, namespaces=['settings'])\nview"])
    lab.wait_view_ready(0)
    lab.wait_view_ready(1)
    ins = lab.view(0)

    # The live table, with values as JSON; the private namespace is not in it.
    expect(row(ins, "settings", "volume").locator("input.value")).to_have_value("75", timeout=20_000)
    expect(row(ins, "settings", "theme").locator("input.value")).to_have_value('"dark"')
    expect(row(ins, "user", "name").locator("input.value")).to_have_value('"Alice"')
    expect(ins.locator("#live tbody tr")).to_have_count(3)
    expect(ins.locator("#live")).not_to_contain_text("pytonium.inspector")
    # The history from before the page opened, asked for over the private namespace.
    expect(ins.locator("#changes")).to_contain_text("settings.volume")
    expect(ins.locator("#changes")).to_contain_text("(new) \u2192 75")

    # A later set_state reaches the table, and the recent changes (old -> new).
    lab.run('store.set_state("settings", "volume", 80)')
    expect(row(ins, "settings", "volume").locator("input.value")).to_have_value("80")
    expect(ins.locator("#changes")).to_contain_text("75 \u2192 80")
    expect(lab.view(1).locator("#v")).to_have_text("80")

    # Filter.
    ins.locator("#filter").fill("user")
    expect(row(ins, "user", "name")).to_be_visible()
    expect(row(ins, "settings", "volume")).to_be_hidden()
    ins.locator("#filter").fill("")
    expect(row(ins, "settings", "volume")).to_be_visible()

    # Edit a value as JSON: the store changes.
    theme = row(ins, "settings", "theme")
    theme.locator("input.value").fill('"light"')
    theme.locator("input.value").press("Enter")
    out = lab.run_until("print(repr(store.get_state('settings', 'theme')))", "'light'")
    assert "'light'" in out

    # Bad JSON: an error next to the field, the store unchanged.
    volume = row(ins, "settings", "volume")
    volume.locator("input.value").fill("{oops")
    volume.locator("input.value").press("Enter")
    expect(volume.locator(".error")).to_contain_text("not JSON")
    # A value the runtime refuses (Infinity): its TypeError names settings.volume.
    volume.locator("input.value").fill("1e999")
    volume.locator("button.set").click()
    expect(volume.locator(".error")).to_contain_text("settings.volume")
    assert "80" in lab.run("print(store.get_state('settings', 'volume'))")
    volume.locator("input.value").press("Escape")
    expect(volume.locator("input.value")).to_have_value("80")

    # Remove a key.
    row(ins, "user", "name").locator("button.remove").click()
    out = lab.run_until("print(('user', 'name') in store)", "False")
    assert "False" in out
    expect(row(ins, "user", "name")).to_have_count(0)

    # The slider: back to the revision right after the setup (volume 75, theme dark, Alice).
    slider = ins.locator("#slider")
    expect(slider).to_be_enabled()
    before = int(lab.run("print(before)").strip().splitlines()[-1])
    expect(slider).to_have_attribute("data-revisions", re.compile(rf"(^|,){before}(,|$)"))
    revisions = [int(r) for r in slider.get_attribute("data-revisions").split(",")]
    slider.fill(str(revisions.index(before)))
    expect(ins.locator("#at")).to_contain_text(f"revision {before}")
    past = ins.locator("#past")
    expect(past).to_be_visible()
    expect(ins.locator("#live")).to_be_hidden()
    expect(past.locator('tr[data-ns="settings"][data-key="volume"]')).to_contain_text("75")
    expect(past.locator('tr[data-ns="settings"][data-key="theme"]')).to_contain_text('"dark"')
    expect(past.locator('tr[data-ns="user"][data-key="name"]')).to_contain_text('"Alice"')
    Path("test-artifacts").mkdir(exist_ok=True)
    lab.page.screenshot(path=str(Path("test-artifacts") / "inspector.png"))

    # Restore it: the store, the other view and the inspector's live table follow.
    ins.locator("#restore").click()
    out = lab.run_until(
        "print(store.snapshot(['settings', 'user']))",
        "{'settings': {'volume': 75, 'theme': 'dark'}, 'user': {'name': 'Alice'}}",
    )
    assert "{'settings': {'volume': 75, 'theme': 'dark'}, 'user': {'name': 'Alice'}}" in out, out
    assert "restore" in lab.run("print({e.change.origin for e in store.history(['settings'])})")
    expect(lab.view(1).locator("#v")).to_have_text("75")
    assert lab.view_eval(1, "() => Pytonium.appState.getState('settings', 'theme')") == "dark"
    expect(ins.locator("#live")).to_be_visible()
    expect(row(ins, "settings", "volume").locator("input.value")).to_have_value("75")
    expect(row(ins, "user", "name").locator("input.value")).to_have_value('"Alice"')
    expect(ins.locator("#status")).to_contain_text(f"restored revision {before}")
    expect(ins.locator("#changes")).to_contain_text("restore")


KEEP_WRITING = """
import threading, time
writing = threading.Event()
def keep_writing():
    n = 0
    while not writing.is_set():
        n += 1
        store.set_state("user", "ticks", n)
        time.sleep(0.1)
writer = threading.Thread(target=keep_writing)
writer.start()
"""


def test_a_slider_position_picked_before_the_history_catches_up_shows_that_revision(notebook) -> None:
    """The list the slider was drawn from ends at what was "now" when it came; after live changes
    that revision is a past one: picking it shows it, not the live table (the old flaky failure).

    A thread writes every 100 ms, so the inspector's history refresh (after 400 ms of quiet) never
    comes while the slider is moved: the slider only has the list from before the writes.
    """
    lab = notebook([SETUP])
    lab.wait_view_ready(0)
    ins = lab.view(0)
    expect(row(ins, "settings", "volume").locator("input.value")).to_have_value("75", timeout=20_000)
    slider = ins.locator("#slider")
    expect(slider).to_have_attribute("data-revisions", re.compile(r"(^|,)3$"))  # the answer: up to "now", 3
    lab.run(KEEP_WRITING)
    try:
        expect(row(ins, "user", "ticks")).to_be_visible()  # live changes came after that answer
        revisions = [int(r) for r in slider.get_attribute("data-revisions").split(",")]
        assert revisions[-1] == 3, revisions  # still the list from before the writes
        slider.fill(str(revisions.index(3)))
        expect(ins.locator("#at")).to_contain_text("revision 3")
        past = ins.locator("#past")
        expect(past).to_be_visible()
        expect(past.locator('tr[data-ns="user"][data-key="name"]')).to_contain_text('"Alice"')
        expect(past.locator('tr[data-ns="user"][data-key="ticks"]')).to_have_count(0)
    finally:
        lab.run("writing.set()\nwriter.join()")
