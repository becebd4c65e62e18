"""Benchmark: StateWidget in a real JupyterLab, against a plain anywidget Dict traitlet.

Run: ``.venv/bin/python bench/widget.py [--samples 200]``. It starts JupyterLab on
loopback and headless Chromium, runs one notebook, and prints, for the
StateWidget and for the anchor (the same loops on an anywidget with a synced
``Dict`` traitlet, measured in the same run):

* Python -> view latency p50/p99 (a ``set_state`` in a cell to the event in the page),
* view -> Python latency p50/p99 (a write in the page to the handler in the idle kernel),
* the same while a cell blocks in the spec's loop shape (``update_message_loop()`` and a
  16 ms sleep), and how many of those writes each side heard before the cell ended
  (StateWidget: in ``update_message_loop`` on the cell's thread; the anchor: wherever
  JupyterLab's comms-over-subshells delivers it, if it does),
* a cell of 100,000 writes: wall time, messages sent, time from the loop's end
  to the final value in the view (or "never"), and whether IOPub dropped output.

Both clocks are the machine's wall clock (kernel ``time.time()``, page
``performance.timeOrigin + performance.now()``).
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

sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "notebook"))

from labharness import CHROMIUM, CHROMIUM_ARGS, JupyterLab, LabPage

N_WRITES = 100_000

BENCH_PAGE = """<!doctype html><html><head><meta charset="utf-8"></head><body>
<p>n = <span id="n">--</span></p>
<script>
  const now = () => performance.timeOrigin + performance.now();
  window.bench = { lat: [], finalAt: null };
  function onReady() {
    Pytonium.appState.registerForStateUpdates("bench", ["b"], false, true);
    window.addEventListener("bench", (e) => {
      const { key, value } = e.detail;
      if (key === "t") bench.lat.push(now() - value * 1000);
      if (key === "n") {
        document.getElementById("n").textContent = value;
        if (value === LAST_N && bench.finalAt === null) bench.finalAt = now();
      }
    });
  }
  if (window.PytoniumReady) onReady(); else window.addEventListener("PytoniumReady", onReady);
</script></body></html>""".replace("LAST_N", str(N_WRITES - 1))

ANCHOR_ESM = """
const now = () => performance.timeOrigin + performance.now();
export default {
  render({ model, el }) {
    const bench = (window.anchorBench = { lat: [], finalAt: null });
    el.className = "anchor-view";
    model.on("change:value", () => {
      const v = model.get("value");
      if ("t" in v) bench.lat.push(now() - v.t * 1000);
      if (v.n === LAST_N && bench.finalAt === null) bench.finalAt = now();
      el.textContent = JSON.stringify(v);
    });
    window.anchorPing = () => { model.set("value", { ping: now() / 1000 }); model.save_changes(); };
  },
};
""".replace("LAST_N", str(N_WRITES - 1))

SETUP = f"""
import json, statistics, time
import anywidget, traitlets
from pytonium_lab import StateStore, StateWidget

store = StateStore()
view_to_python = []
class Pings:
    def update_state(self, namespace, key, value):
        if key == "ping":
            view_to_python.append(time.time() - value)
store.add_state_handler(Pings(), ["b"])
widget = StateWidget(store, {BENCH_PAGE!r}, height=60)

class Anchor(anywidget.AnyWidget):
    _esm = {ANCHOR_ESM!r}
    value = traitlets.Dict().tag(sync=True)
anchor = Anchor()
anchor_view_to_python = []
anchor.observe(lambda ch: "ping" in ch["new"] and anchor_view_to_python.append(time.time() - ch["new"]["ping"]), "value")

def counting(w):
    count = [0]
    send = w._send
    def counted(*a, **kw):
        count[0] += 1
        return send(*a, **kw)
    w._send = counted
    return count
display(widget, anchor)
"""


def start_pings(page: LabPage, n: int) -> None:
    """Both pages write ``n`` timestamps, one every 60 ms."""
    page.view_eval(
        0,
        f"""() => {{ let i = 0; const id = setInterval(() => {{
            Pytonium.appState.setState('b', 'ping', (performance.timeOrigin + performance.now()) / 1000);
            if (++i === {n}) clearInterval(id); }}, 60); }}""",
    )
    page.page.evaluate(
        f"() => {{ let i = 0; const id = setInterval(() => {{ anchorPing(); if (++i === {n}) clearInterval(id); }}, 60); }}"
    )


def stats(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return statistics.median(samples), cuts[98]


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so `finally` stops JupyterLab
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200, help="latency samples per direction")
    args = parser.parse_args()
    n = args.samples

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        lab = JupyterLab(Path(tmp) / "root", Path(tmp) / "home")
        lab.root.mkdir()
        lab.home.mkdir()
        lab.start()
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            lab.write_notebook("bench.ipynb", [SETUP])
            page = LabPage(lab, browser.new_page(viewport={"width": 1200, "height": 900}))
            page.open("bench.ipynb")
            page.run_all()
            page.wait_view_ready(0)
            page.page.wait_for_function("() => !!window.anchorBench")
            results = {"state": {}, "anchor": {}}

            # Python -> view: one write every 20 ms (each one is the leading edge of its batch).
            page.run(f"for i in range({n}):\n    store.set_state('b', 't', time.time())\n    time.sleep(0.02)")
            page.run(f"for i in range({n}):\n    anchor.value = {{'t': time.time()}}\n    time.sleep(0.02)")
            time.sleep(1)
            results["state"]["py_to_view"] = stats(page.view_eval(0, "() => bench.lat"))
            results["anchor"]["py_to_view"] = stats(page.page.evaluate("() => anchorBench.lat"))

            print("[bench] Python -> view done", file=sys.stderr, flush=True)
            # View -> Python, kernel idle: one write every 60 ms from the page.
            start_pings(page, n)
            time.sleep(n * 0.06 + 2)
            out = page.run("print(json.dumps([view_to_python, anchor_view_to_python]))")
            state_pings, anchor_pings = json.loads(out)
            results["state"]["view_to_py"] = stats([s * 1000 for s in state_pings])
            results["anchor"]["view_to_py"] = stats([s * 1000 for s in anchor_pings])
            results["state"]["pings"], results["anchor"]["pings"] = len(state_pings), len(anchor_pings)

            print("[bench] view -> Python done", file=sys.stderr, flush=True)
            # View -> Python while a cell blocks in the spec's loop shape.
            page.run("view_to_python.clear(); anchor_view_to_python.clear()")
            run = page.start_cell(
                f"start = time.time()\nwhile time.time() - start < {n * 0.06 + 3}:\n"
                "    widget.update_message_loop()\n    time.sleep(0.016)\n"
                "during = [list(view_to_python), list(anchor_view_to_python)]"
            )
            time.sleep(1.0)  # the cell is in its loop
            start_pings(page, n)
            page.wait(run, n * 0.06 + 60)
            during, anchor_during = json.loads(page.run("print(json.dumps(during))"))
            for name, heard in (("state", during), ("anchor", anchor_during)):
                results[name]["heard_looping"] = len(heard)
                results[name]["looping_to_py"] = stats([s * 1000 for s in heard]) if len(heard) > 1 else None
            print("[bench] view -> Python while a cell loops done", file=sys.stderr, flush=True)
            # 100,000 writes in one cell.
            for name, target, setter in (
                ("state", "widget", "store.set_state('b', 'n', i)"),
                ("anchor", "anchor", "anchor.value = {'n': i}"),
            ):
                # The loop cell prints nothing (IOPub may be dropping output right after a
                # flood), and is not awaited: after a flood its "idle" status can be lost
                # with the rest, and the front end then shows the cell running forever.
                done = lab.root / f"loop-{name}.json"
                run = page.start_cell(
                    f"count = counting({target})\nstart = time.time()\nfor i in range({N_WRITES}):\n    {setter}\n"
                    f"end = time.time()\nopen({done.name!r}, 'w').write(json.dumps([end - start, end]))"
                )
                probe = "() => bench.finalAt" if name == "state" else "() => anchorBench.finalAt"
                while not done.exists():  # the kernel's word, not the UI's
                    time.sleep(0.05)
                time.sleep(0.05)
                wall, end = json.loads(done.read_text())
                final_at = None
                while final_at is None and time.time() < end + 10:  # give the final value 10 s
                    final_at = page.view_eval(0, probe) if name == "state" else page.page.evaluate(probe)
                    time.sleep(0.01)
                time.sleep(0.5)
                sent = int(page.run_until("print(count[0])", "\n").strip().splitlines()[-1])
                print(f"[{name}] 100k loop done", file=sys.stderr, flush=True)
                cell_finished = page.settled(run)
                results[name]["loop"] = {
                    "wall_s": wall,
                    "messages": sent,
                    "final_ms": None if final_at is None else final_at - end * 1000,
                    "cell_finished_in_ui": cell_finished,
                    "iopub_warning": "IOPub message rate exceeded" in page.page.locator(".jp-Notebook").inner_text(),
                }
            report(results, n)
            print("\nraw:", json.dumps(results))
        finally:
            browser.close()
            lab.stop()


def report(results: dict, n: int) -> None:
    s, a = results["state"], results["anchor"]

    def ratio(x: float | None, y: float | None) -> str:
        return "n/a" if x is None or y in (None, 0) else f"{x / y:.2f}x"

    print(f"\nStateWidget vs plain anywidget Dict traitlet (same JupyterLab, same run; {n} samples)")
    print(f"{'measure':34} {'StateWidget':>14} {'anchor':>14} {'ratio':>8}")
    for label, key in (("Python -> view", "py_to_view"), ("view -> Python (kernel idle)", "view_to_py")):
        for i, q in enumerate(("p50", "p99")):
            print(
                f"{label + ' ' + q + ' (ms)':34} {s[key][i]:14.2f} {a[key][i]:14.2f} {ratio(s[key][i], a[key][i]):>8}"
            )
    print(f"{'pings received':34} {s['pings']:14d} {a['pings']:14d}")

    def looping(side: dict, i: int) -> str:
        return "never" if side["looping_to_py"] is None else f"{side['looping_to_py'][i]:.2f}"

    for i, q in enumerate(("p50", "p99")):
        print(f"{'view -> Python, cell loops ' + q + ' (ms)':34} {looping(s, i):>14} {looping(a, i):>14}")
    print(f"{'pings heard while the cell loops':34} {s['heard_looping']:14d} {a['heard_looping']:14d}")
    sl, al = s["loop"], a["loop"]
    print(
        f"{'100k-write cell: wall (s)':34} {sl['wall_s']:14.3f} {al['wall_s']:14.3f} {ratio(sl['wall_s'], al['wall_s']):>8}"
    )
    print(
        f"{'100k-write cell: messages sent':34} {sl['messages']:14d} {al['messages']:14d} {ratio(sl['messages'], al['messages']):>8}"
    )

    def ms(v: float | None) -> str:
        return "never (10 s)" if v is None else f"{v:.1f}"

    print(f"{'100k-write cell: final value (ms)':34} {ms(sl['final_ms']):>14} {ms(al['final_ms']):>14}")
    print(f"{'IOPub rate warning':34} {sl['iopub_warning']!s:>14} {al['iopub_warning']!s:>14}")
    print(
        f"{'cell shown finished in JupyterLab':34} {sl['cell_finished_in_ui']!s:>14} {al['cell_finished_in_ui']!s:>14}"
    )


if __name__ == "__main__":
    main()
