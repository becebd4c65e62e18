"""store.link in a real JupyterLab: an ipywidgets IntSlider and a page's slider on one key move together.

A page that listens with ``fromPython`` only hears the IntSlider too (its writes have the
origin ``trait:IntSlider.value``, Python's side): the last test.
"""

from __future__ import annotations

import json
from pathlib import Path

from playwright.sync_api import expect

PAGE = (Path(__file__).resolve().parents[1] / "pages" / "level_slider.html").read_text()


def setup(from_javascript: bool = True) -> str:
    page = PAGE.replace("FROM_JS", "true" if from_javascript else "false")
    return f"""
import ipywidgets
from pytonium_lab import StateStore, StateWidget
store = StateStore()
store.set_state("demo", "level", 30)
slider = ipywidgets.IntSlider(min=0, max=100, description="level")
link = store.link("demo", "level", (slider, "value"))
view = StateWidget(store, {json.dumps(page)}, height=60)
display(slider, view)
"""


def test_an_intslider_and_a_page_slider_follow_each_other_both_ways(notebook) -> None:
    lab = notebook([setup()])
    lab.wait_view_ready(0)
    page = lab.view(0)
    readout = lab.page.locator(".widget-slider .widget-readout").first
    expect(readout).to_have_text("30")  # the store's value won at link time
    expect(page.locator("#shown")).to_have_text("30")

    # The page's slider set (value + `input`, as a keyboard or a script does): the IntSlider follows.
    page.locator("#level").fill("64")
    expect(readout).to_have_text("64")
    assert "64 64" in lab.run_until("print(slider.value, store.get_state('demo', 'level'))", "64 64")

    # A real drag of the page's slider with the mouse: the IntSlider's model and its DOM follow.
    box = page.locator("#level").bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    lab.page.mouse.move(box["x"] + box["width"] * 0.64, y)
    lab.page.mouse.down()
    for step in range(1, 11):
        lab.page.mouse.move(box["x"] + box["width"] * (0.64 - 0.045 * step), y)
    lab.page.mouse.up()
    dragged = page.locator("#level").input_value()
    assert int(dragged) < 30, dragged
    expect(readout).to_have_text(dragged)
    out = lab.run_until("print(slider.value, store.get_state('demo', 'level'))", f"{dragged} {dragged}")
    assert f"{dragged} {dragged}" in out

    # The IntSlider's value set from Python: the page's slider follows (and the IntSlider's DOM).
    lab.run("slider.value = 17")
    expect(page.locator("#shown")).to_have_text("17")
    assert page.locator("#level").input_value() == "17"
    expect(readout).to_have_text("17")

    # The IntSlider dragged in its DOM with the mouse: the page's slider follows.
    track = lab.page.locator(".widget-slider .noUi-target").first.bounding_box()
    handle = lab.page.locator(".widget-slider .noUi-handle").first.bounding_box()
    assert track is not None and handle is not None
    lab.page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
    lab.page.mouse.down()
    for step in range(1, 11):
        lab.page.mouse.move(track["x"] + track["width"] * (0.17 + 0.06 * step), handle["y"] + handle["height"] / 2)
    lab.page.mouse.up()
    expect(readout).not_to_have_text("17")
    moved = readout.text_content()
    assert moved is not None and int(moved) > 50, moved
    expect(page.locator("#shown")).to_have_text(moved)
    assert page.locator("#level").input_value() == moved
    assert f"{moved} {moved}" in lab.run_until(
        "print(slider.value, store.get_state('demo', 'level'))", f"{moved} {moved}"
    )

    # A value the slider clamps is written back: both sides agree on the clamped value.
    lab.run("store.set_state('demo', 'level', 250)")
    expect(page.locator("#shown")).to_have_text("100")
    expect(readout).to_have_text("100")
    assert "100 100" in lab.run_until("print(slider.value, store.get_state('demo', 'level'))", "100 100")

    # Unlinked: the page's slider no longer moves the IntSlider.
    lab.run("link()")
    page.locator("#level").fill("5")
    assert "100 5" in lab.run_until("print(slider.value, store.get_state('demo', 'level'))", "100 5")
    expect(readout).to_have_text("100")


def test_a_page_that_listens_to_python_only_hears_the_intslider_and_restore(notebook) -> None:
    lab = notebook([setup(from_javascript=False)])
    lab.wait_view_ready(0)
    shown = lab.view(0).locator("#shown")
    expect(shown).to_have_text("30")
    lab.run("store.set_state('demo', 'level', 33)")  # origin "python": heard
    expect(shown).to_have_text("33")
    lab.run("slider.value = 44")  # origin "trait:IntSlider.value": a Python write too
    expect(shown).to_have_text("44", timeout=3_000)
    lab.run("store.restore(store.revision - 1)")  # origin "restore"
    expect(shown).to_have_text("33", timeout=3_000)
