"""Benchmark: Python -> view latency of StateWidget in marimo beside JupyterLab, same run.

Run: ``.venv/bin/python bench/hosts.py [--samples 100] [--every 0.02]``. It starts
JupyterLab and a marimo edit server on loopback (the servers of the host
matrix, ``tests/notebook/hostharness.py``) and one headless Chromium, opens one
document per host holding a ``StateWidget``, and then runs, in a cell of each, a
loop of ``--samples`` writes ``store.set_state('b', 't', time.time())``, one
every ``--every`` seconds (each one the leading edge of its batch). The page
records, per write, its event time minus the write's time. Both clocks are the
machine's wall clock (kernel ``time.time()``, page ``performance.timeOrigin +
performance.now()``). It prints p50/p99 per host and the ratio marimo/JupyterLab.

marimo's cell is a scratchpad cell (its code-mode endpoint), JupyterLab's a
new notebook cell: in both, the writes leave while the cell runs.
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "notebook"))

from hostharness import JupyterHost, Marimo, MarimoPage
from labharness import CHROMIUM, CHROMIUM_ARGS, JupyterLab, Server

PAGE = """<!doctype html><html><head><meta charset="utf-8"></head><body>
<p>t = <span id="t">--</span></p>
<script>
  const now = () => performance.timeOrigin + performance.now();
  window.bench = { lat: [] };
  function onReady() {
    Pytonium.appState.registerForStateUpdates("bench", ["b"], false, true);
    window.addEventListener("bench", (e) => {
      if (e.detail.key === "t") bench.lat.push(now() - e.detail.value * 1000);
    });
  }
  if (window.PytoniumReady) onReady(); else window.addEventListener("PytoniumReady", onReady);
</script></body></html>"""

SETUP = f"""
import time
from pytonium_lab import StateStore, StateWidget
store = StateStore()
widget = StateWidget(store, {PAGE!r}, height=60)
"""


def cells(kind: str) -> list[str]:
    if kind == "marimo":
        return ["import marimo as mo\n" + SETUP, "mo.ui.anywidget(widget)"]
    return [SETUP + "widget"]


def stats(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return statistics.median(samples), cuts[98]


def measure(kind: str, server: Server, browser: Any, n: int, every: float) -> list[float]:
    name = f"bench-{kind}" + (".py" if kind == "marimo" else ".ipynb")
    server.write_notebook(name, cells(kind))  # type: ignore[attr-defined]
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    try:
        raw = context.new_page()
        page: Any = MarimoPage(server, raw) if kind == "marimo" else JupyterHost(server, raw)  # type: ignore[arg-type]
        page.open(name)
        if kind != "marimo":
            page.run_all()
        page.wait_view_ready(0)
        page.run("store.set_state('b', 'warm', 1)")  # one round trip before timing
        page.run(f"for i in range({n}):\n    store.set_state('b', 't', time.time())\n    time.sleep({every})")
        deadline = time.monotonic() + 10
        while len(lat := page.view_eval(0, "() => bench.lat")) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        if len(lat) < n:
            raise RuntimeError(f"{kind}: the page heard {len(lat)} of {n} writes")
        if page.errors:
            print(f"[{kind}] page errors: {page.errors}", file=sys.stderr)
        return [float(x) for x in lat]
    finally:
        context.close()


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so `finally` stops the servers
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=100, help="writes per host")
    parser.add_argument("--every", type=float, default=0.02, help="seconds between writes")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        servers: dict[str, Server] = {}
        for kind, cls in (("jupyterlab", JupyterLab), ("marimo", Marimo)):
            root, home = Path(tmp) / kind / "root", Path(tmp) / kind / "home"
            root.mkdir(parents=True)
            home.mkdir(parents=True)
            servers[kind] = cls(root, home)
        browser = None
        try:
            for server in servers.values():
                server.start()
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            results = {}
            for kind, server in servers.items():
                results[kind] = stats(measure(kind, server, browser, args.samples, args.every))
                print(f"[bench] {kind} done", file=sys.stderr, flush=True)
            report(results, args.samples, args.every)
            print("\nraw:", json.dumps(results))
        finally:
            if browser is not None:
                browser.close()
            for server in servers.values():
                server.stop()


def report(results: dict[str, tuple[float, float]], n: int, every: float) -> None:
    lab, mo = results["jupyterlab"], results["marimo"]
    print(f"\nPython -> view latency, StateWidget ({n} writes, one every {every * 1000:.0f} ms; same run)")
    print(f"{'measure':24} {'JupyterLab':>12} {'marimo':>12} {'marimo/JupyterLab':>18}")
    for i, q in enumerate(("p50", "p99")):
        print(f"{q + ' (ms)':24} {lab[i]:12.2f} {mo[i]:12.2f} {mo[i] / lab[i]:17.2f}x")


if __name__ == "__main__":
    main()
