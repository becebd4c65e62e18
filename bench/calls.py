"""Calls benchmark: a page -> Python -> page call's round trip, against anchors in the same run.

    .venv/bin/python bench/calls.py [--n 1000] [--concurrent 1000] [--only window|jupyterlab]

Window (every engine here, event-driven delivery as in bench/desktop.py: Pytonium inside
a running asyncio loop): the page awaits ``Pytonium.bench.ping(i)`` ``--n`` times in a
row and times each with ``performance.now()``; then it starts ``--concurrent``
``async def`` calls at once and times until all resolved. Anchor: the raw
cefpython3 binding round trip (bench/_cef_binding_anchor.py); and, per engine, the
same engine binary bare, echoing over a plain WebSocket (bench/_bare.py), the floor
under any WebSocket round trip.

JupyterLab (one kernel, one notebook page): the same from a StateWidget's page,
and, as the anchor, anywidget's own experimental ``invoke`` of a ``@command`` of
another widget in the same kernel, timed the same way in its front end.
Starts its own Xvfb when DISPLAY is not set.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "notebook"))

import desktop as desktop_bench

from pytonium_lab import Pytonium
from pytonium_lab.desktop._engines import ENGINES, engine_problem

pct, line = desktop_bench.pct, desktop_bench.line

TIMING = """
async function timeCalls(call, n, concurrent, many) {
  for (let i = 0; i < 50; i++) await call(i);  // warm up
  const rt = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await call(i);
    rt.push(performance.now() - t0);
  }
  let burst = null;
  if (many) {
    const t0 = performance.now();
    const all = [];
    for (let i = 0; i < concurrent; i++) all.push(many(i));
    await Promise.all(all);
    burst = performance.now() - t0;
  }
  return { rt, burst };
}
"""

PAGE = (
    "<!doctype html><html><head><title>calls bench</title></head><body><p>calls bench</p><script>"
    + TIMING
    + """
window.runBench = (n, concurrent) => timeCalls((i) => Pytonium.bench.ping(i), n, concurrent,
                                               (i) => Pytonium.bench.nap(i));
</script></body></html>"""
)


def ping(i: int) -> int:
    return i


async def nap(i: int) -> int:
    await asyncio.sleep(0.01)
    return i


async def window_run(web: str, backend: str, n: int, concurrent: int) -> dict[str, Any]:
    p = Pytonium(backend=backend)
    p.bind_functions_to_javascript([ping, nap], javascript_object="bench")
    p.add_custom_scheme("app", web)
    p.initialize("app://index.html", 400, 300)  # inside this loop: calls run on it (event-driven)
    result: dict[str, Any] = {}
    done = asyncio.Event()

    def report(value: dict[str, Any]) -> None:
        result.update(value)
        done.set()

    p.bind_function_to_javascript(report, name="report")
    await asyncio.sleep(0.2)  # the page learns `report`
    p.set_state("bench", "go", [n, concurrent])  # the page starts on this write
    await asyncio.wait_for(done.wait(), 600)
    await asyncio.sleep(0.1)  # the answer to report() is still being written
    p.shutdown()
    return result


WINDOW_PAGE = PAGE.replace(
    "</script></body></html>",
    """
function onReady() {
  Pytonium.appState.registerForStateUpdates("go", ["bench"], false, true);
  window.addEventListener("go", (e) => {
    if (e.detail.key !== "go") return;
    runBench(e.detail.value[0], e.detail.value[1]).then((r) => Pytonium.report(r));
  });
}
if (window.PytoniumReady) onReady(); else window.addEventListener("PytoniumReady", onReady);
</script></body></html>""",
)


def windows(args: argparse.Namespace) -> None:
    xvfb = desktop_bench.start_xvfb()
    web = tempfile.mkdtemp(prefix="pytonium-calls-bench-")
    Path(web, "index.html").write_text(WINDOW_PAGE)
    try:
        raw = desktop_bench.anchor(args.n)
        print(f"window, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
        if raw is not None:
            print(line("anchor: raw cefpython3 binding round trip", raw))
        for backend in ENGINES:
            problem = engine_problem(backend)
            if problem:
                print(f"engine {backend}: not here ({problem})")
                continue
            r = asyncio.run(window_run(web, backend, args.n, args.concurrent))
            _, echo = desktop_bench.bare_anchor(backend, 1, args.n)
            print(f"engine {backend}:")
            print(line("call round trip page->Py->page", r["rt"]))
            print(line("anchor: bare WebSocket echo", echo))
            print(f"  ratio p50 vs the bare echo: {pct(r['rt'], 0.5) / pct(echo, 0.5):.2f}x")
            print(f"  {args.concurrent} concurrent async def calls: {r['burst']:.0f} ms")
            if raw is not None:
                print(f"  ratio p50 vs the cefpython3 anchor: {pct(r['rt'], 0.5) / pct(raw, 0.5):.2f}x (goal <= 1.5x)")
                # The page's clock is coarsened to 0.1 ms, so p50 moves in steps; the mean does not.
                print(f"  ratio of means: {sum(r['rt']) / len(r['rt']) / (sum(raw) / len(raw)):.2f}x")
    finally:
        shutil.rmtree(web, ignore_errors=True)
        if xvfb is not None:
            xvfb.terminate()


ANCHOR_WIDGET = (
    """
import anywidget, traitlets
from anywidget.experimental import command

class InvokeAnchor(anywidget.AnyWidget):
    _esm = '''"""
    + TIMING.replace("\\", "\\\\")
    + """
export default {
  render({ model, el, experimental }) {
    el.textContent = "invoke anchor";
    window.runAnchor = (n) => timeCalls(async (i) => (await experimental.invoke("_ping", i))[0], n, 0, null);
  },
};
'''

    @command
    def _ping(self, msg, buffers):
        return msg, []

anchor = InvokeAnchor()
"""
)


def jupyterlab(args: argparse.Namespace) -> None:
    from hostharness import JupyterHost
    from labharness import CHROMIUM, CHROMIUM_ARGS, JupyterLab
    from playwright.sync_api import sync_playwright

    setup = (
        "import asyncio\nfrom pytonium_lab import StateStore, StateWidget\nstore = StateStore()\n"
        "def ping(i): return i\n"
        "async def nap(i):\n    await asyncio.sleep(0.01)\n    return i\n"
        f"widget = StateWidget(store, {PAGE!r}, height=60)\n"
        "widget.bind_functions_to_javascript([ping, nap], javascript_object='bench')\n"
    )
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        root, home = Path(tmp) / "root", Path(tmp) / "home"
        root.mkdir()
        home.mkdir()
        lab = JupyterLab(root, home)
        lab.start()
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            lab.write_notebook("bench.ipynb", [setup + "widget", ANCHOR_WIDGET + "anchor"])
            context = browser.new_context(viewport={"width": 1200, "height": 900})
            page = JupyterHost(lab, context.new_page())
            page.open("bench.ipynb")
            page.run_all()
            page.wait_view_ready(0)
            page.page.wait_for_function("() => typeof window.runAnchor === 'function'", timeout=60_000)
            ours = page.view_eval(0, "(a) => runBench(a[0], a[1])", [args.n, args.concurrent])
            anchor = page.page.evaluate("(n) => window.runAnchor(n)", args.n)
            ours2 = page.view_eval(0, "(a) => runBench(a[0], 0)", [args.n, 0])  # again, after the anchor
            rt = ours["rt"] + ours2["rt"]
            print(f"JupyterLab, one kernel and page, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
            print(line("anchor: anywidget experimental invoke", anchor["rt"]))
            print(line("call round trip page->Py->page", rt))
            print(f"  {args.concurrent} concurrent async def calls: {ours['burst']:.0f} ms")
            print(f"  ratio p50 vs anywidget invoke: {pct(rt, 0.5) / pct(anchor['rt'], 0.5):.2f}x (goal <= 1.1x)")
            print("raw:", json.dumps({"ours_p50": pct(rt, 0.5), "anchor_p50": pct(anchor["rt"], 0.5)}))
            context.close()
        finally:
            browser.close()
            lab.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="sequential calls per measurement")
    parser.add_argument("--concurrent", type=int, default=1000, help="async def calls started at once")
    parser.add_argument("--only", choices=["window", "jupyterlab"])
    args = parser.parse_args()
    if args.only != "jupyterlab":
        windows(args)
    if args.only != "window":
        jupyterlab(args)


if __name__ == "__main__":
    main()
