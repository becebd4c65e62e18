"""``pytonium-lab app`` launch to the first painted window, against anchors measured in the same run.

    .venv/bin/python bench/app_launch.py [--engines cef,chromium,cefpython3] [--runs 3]

Runs ``pytonium-lab app notebooks/settings_panel.ipynb`` as a user would and
times, from the command's start: its window mapped (python-xlib), the page's
first paint (the page's dark body colour on the screen) and, after a WM close,
the app's exit, on each engine in turn. Anchors, same run, same engine: the same page opened by a plain
Python script (``open_window``, no kernel), and a bare kernel (jupyter_client
start to the reply of an empty cell). Starts its own Xvfb when DISPLAY is not set.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "desktop"))

from desktop import add_engines_option, chosen_engines, start_xvfb  # bench/desktop.py  # noqa: E402
from helpers import screenshot, top_windows, wm_close  # tests/desktop/helpers.py  # noqa: E402

NOTEBOOK = ROOT / "notebooks" / "settings_panel.ipynb"
DARK = (0x1E, 0x1E, 0x24)  # settings.css: body.dark, the page's first look
LIGHT = (0xFA, 0xFA, 0xFA)  # body.light, set by a cell after the display
COMMAND = Path(sys.executable).with_name("pytonium-lab")

SCRIPT = """
import sys, time
from pytonium_lab.desktop import open_window
from pytonium_lab import StateStore
handle = open_window(StateStore(), sys.argv[1], width=800, height=190, backend=sys.argv[2])
while handle.is_running():
    time.sleep(0.05)
"""


def window_origin(display: str, window: int) -> tuple[int, int]:
    from Xlib import display as xdisplay

    d = xdisplay.Display(display)
    try:
        w = d.create_resource_object("window", window)
        at = w.translate_coords(d.screen().root, 0, 0)
        return -at.x, -at.y
    finally:
        d.close()


def launch(command: list[str], display: str) -> dict[str, float]:
    """Start ``command``; times to its window mapped, painted, and its exit after a WM close."""
    started = time.monotonic()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=NOTEBOOK.parent)
    try:
        while not (windows := top_windows(display)):
            if proc.poll() is not None or time.monotonic() - started > 60:
                raise RuntimeError(f"no window: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
            time.sleep(0.01)
        mapped = time.monotonic() - started
        x, y = window_origin(display, windows[0])
        while screenshot(display).getpixel((x + 400, y + 150))[:3] not in (DARK, LIGHT):
            if time.monotonic() - started > 60:
                raise RuntimeError("the page never painted")
            time.sleep(0.01)
        painted = time.monotonic() - started
        time.sleep(0.5)
        closed = time.monotonic()
        wm_close(display)
        proc.wait(20)
        return {"mapped": mapped, "painted": painted, "exit": time.monotonic() - closed}
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def bare_kernel() -> float:
    from jupyter_client.manager import start_new_kernel

    started = time.monotonic()
    manager, client = start_new_kernel(kernel_name="python3")
    client.execute_interactive("pass", timeout=30)
    took = time.monotonic() - started
    client.stop_channels()
    manager.shutdown_kernel(now=True)
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_engines_option(parser)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    engines = chosen_engines(parser, args)
    xvfb = start_xvfb()
    display = os.environ["DISPLAY"]
    try:
        print(f"pytonium-lab app launch, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, median of {args.runs}")
        kernels = [bare_kernel() for _ in range(args.runs)]
        kernel = statistics.median(kernels)
        print(f"  anchor: bare kernel start to an empty cell's reply {kernel:.2f} s")
        for engine in engines:
            app_cmd = [str(COMMAND), "app", str(NOTEBOOK), "--backend", engine]
            script_cmd = [sys.executable, "-c", SCRIPT, "web/settings.html", engine]
            apps = [launch(app_cmd, display) for _ in range(args.runs)]
            scripts = [launch(script_cmd, display) for _ in range(args.runs)]

            def med(runs: list[dict[str, float]], key: str) -> float:
                return statistics.median(run[key] for run in runs)

            print(
                f"  {engine:<10} app: mapped {med(apps, 'mapped'):.2f} s, painted {med(apps, 'painted'):.2f} s, "
                f"exit after WM close {med(apps, 'exit'):.2f} s; plain script open_window: "
                f"mapped {med(scripts, 'mapped'):.2f} s, painted {med(scripts, 'painted'):.2f} s; "
                f"ratio app / script (painted) {med(apps, 'painted') / med(scripts, 'painted'):.2f}, "
                f"app - script - kernel {med(apps, 'painted') - med(scripts, 'painted') - kernel:+.2f} s"
            )
    finally:
        if xvfb is not None:
            xvfb.terminate()


if __name__ == "__main__":
    main()
