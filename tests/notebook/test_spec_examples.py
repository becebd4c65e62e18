"""The spec's desktop examples, run as written (import changed) in a notebook cell.

In a Jupyter kernel ``Pytonium(backend="auto")`` shows the page inline as a
StateWidget. The page's edits reach the spec's handler while its loop runs;
the loops never end by themselves, so the test interrupts the kernel, as a
user would, and reads the store in a later cell.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.fixture
def spec_web(lab) -> None:
    """The examples' ./web/ folders, merged into the lab's root where the notebooks run."""
    for example in ("live_sensors", "settings_panel"):
        shutil.copytree(EXAMPLES / example / "web", lab.root / "web", dirs_exist_ok=True)


def spec_code(example: str) -> str:
    return (EXAMPLES / example / f"{example}.py").read_text()


def test_live_sensors_as_written_in_a_notebook(spec_web, notebook) -> None:
    code = spec_code("live_sensors")
    assert "from pytonium_lab import Pytonium" in code and "while p.is_running():" in code
    lab = notebook([], run=False)
    lab.start_cell(code)
    reading = re.compile(r"^\d\d(\.\d)?$")
    expect(lab.view(0).locator("#temp")).to_have_text(reading, timeout=20_000)
    expect(lab.view(0).locator("#hum")).to_have_text(re.compile(r"^\d\d(\.\d)?$"))
    lab.command("notebook:interrupt-kernel")
    out = lab.run_until("print(p.is_running(), p.get_state('sensors', 'temperature'))", "True")
    running, temperature = out.split()
    assert running == "True"
    # The view ends on the store's value (JS prints 23.0 as "23": compare numbers).
    shown = lambda: float(lab.view(0).locator("#temp").inner_text())  # noqa: E731
    deadline = time.monotonic() + 5
    while shown() != float(temperature) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert shown() == float(temperature), (shown(), temperature)


def test_settings_panel_as_written_in_a_notebook(spec_web, notebook) -> None:
    code = spec_code("settings_panel")
    assert "p.add_state_handler(handler" in code
    lab = notebook([], run=False)
    lab.start_cell(code)
    view = lab.view(0)
    expect(view.locator("body")).to_have_class("dark", timeout=20_000)  # Python's default reached the page
    expect(view.locator("#volume")).to_have_value("75")
    view.locator("#themeToggle").click()
    expect(view.locator("body")).to_have_class("light")
    view.locator("#volume").fill("42")
    # The spec's loop blocks the cell; its update_message_loop() runs the handler meanwhile,
    # and the handler's prints land in the running cell's output.
    deadline = time.monotonic() + 10
    while "Setting changed: volume = 42" not in lab.output(1) and time.monotonic() < deadline:
        time.sleep(0.05)
    out = lab.output(1)
    assert "Setting changed: theme = light" in out and "Setting changed: volume = 42" in out, out
    assert out.index("theme = light") < out.index("volume = 42")
    lab.command("notebook:interrupt-kernel")
    out = lab.run_until("print(p.get_state('settings', 'theme'), p.get_state('settings', 'volume'))", "light 42")
    assert out.strip() == "light 42"
