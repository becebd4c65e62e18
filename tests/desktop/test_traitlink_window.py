"""store.link and a desktop window: an ipywidgets IntSlider and the window's slider on one key move together.

A page that listens with ``fromPython`` only hears the IntSlider too (its writes have the
origin ``trait:IntSlider.value``, Python's side): the last test.
"""

from __future__ import annotations

import time
from pathlib import Path

import ipywidgets
import pytest

from pytonium_lab import Pytonium, StateStore

from .helpers import DevTools, wait_for

pytestmark = pytest.mark.e2e

PAGE = (Path(__file__).resolve().parents[1] / "pages" / "level_slider.html").read_text()

SLIDER = "document.getElementById('level')"


def pump_until(p: Pytonium, check, what: str, timeout: float = 10.0):
    """The spec's loop shape: the page's writes run in update_message_loop()."""

    def step():
        p.update_message_loop()
        return check()

    return wait_for(step, timeout, what, every=0.016)


def open_linked(tmp_path, backend, closing, from_javascript: bool = True):
    """A window on a store whose demo.level is linked to an IntSlider (no notebook: the object is enough)."""
    (tmp_path / "index.html").write_text(PAGE.replace("FROM_JS", "true" if from_javascript else "false"))
    store = StateStore()
    store.set_state("demo", "level", 30)
    slider = ipywidgets.IntSlider(min=0, max=100)
    link = store.link("demo", "level", (slider, "value"))
    assert slider.value == 30  # the store's value won
    p = Pytonium(store, backend=backend, debug=True, watch=False)  # debug: DevTools for the test
    closing(p)
    p.add_custom_scheme("app", str(tmp_path))
    p.initialize("app://index.html", 400, 200)
    return store, slider, link, p, DevTools(p.devtools_port)


def test_a_linked_intslider_and_a_window_slider_follow_each_other(tmp_path, backend, closing):
    store, slider, link, p, tools = open_linked(tmp_path, backend, closing)
    try:
        tools.wait(f"{SLIDER}.value === '30'")

        # IntSlider.value changed in Python: the window's slider follows.
        for value in (64, 0, 100, 7):
            slider.value = value
            tools.wait(f"{SLIDER}.value === '{value}' && document.getElementById('shown').textContent === '{value}'")

        # The page's slider moved (value + `input`, as a drag ends): IntSlider.value follows.
        tools.eval(f"(() => {{ const s = {SLIDER}; s.value = 42; s.dispatchEvent(new Event('input')); }})()")
        pump_until(p, lambda: slider.value == 42, "IntSlider.value to follow the page's slider")
        assert store.get_state("demo", "level") == 42

        # A real click on the slider's track (CDP mouse input): wherever it lands, both agree.
        tools.click("#level")
        landed = int(tools.eval(f"{SLIDER}.value"))
        pump_until(p, lambda: slider.value == landed, f"IntSlider.value to follow the click ({landed})")

        # A store value the slider clamps: the window shows the clamped value, as IntSlider does.
        store.set_state("demo", "level", 250)
        assert slider.value == 100 and store.get_state("demo", "level") == 100
        tools.wait(f"{SLIDER}.value === '100' && document.getElementById('shown').textContent === '100'")

        # Unlinked: the window's writes no longer reach the slider.
        link()
        tools.eval(f"(() => {{ const s = {SLIDER}; s.value = 3; s.dispatchEvent(new Event('input')); }})()")
        pump_until(p, lambda: store.get_state("demo", "level") == 3, "the page's write after unlink")
        time.sleep(0.1)
        assert slider.value == 100
    finally:
        tools.close()
    p.shutdown()


def test_a_window_that_listens_to_python_only_hears_the_intslider(tmp_path, backend, closing):
    store, slider, _link, p, tools = open_linked(tmp_path, backend, closing, from_javascript=False)
    try:
        tools.wait(f"{SLIDER}.value === '30'")
        store.set_state("demo", "level", 33)  # origin "python": heard
        tools.wait(f"{SLIDER}.value === '33'")
        slider.value = 44  # origin "trait:IntSlider.value"
        tools.wait(f"{SLIDER}.value === '44'", timeout=3)
        store.restore(store.revision - 1)  # origin "restore"
        tools.wait(f"{SLIDER}.value === '33'", timeout=3)
    finally:
        tools.close()
    p.shutdown()
