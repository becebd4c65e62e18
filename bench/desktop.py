"""Desktop window benchmark: latency, bursts and cold start, against a raw CEF anchor.

    .venv/bin/python bench/desktop.py [--backend cef|chromium] [--n 1000]

Times Python ``set_state`` -> JS event -> JS ``setState`` -> Python handler
round trips (one-way halves from the shared wall clock), event-driven (an
asyncio loop receives the page's writes, as in a Jupyter kernel) and in the
spec's 16 ms ``update_message_loop`` pump loop; burst throughput both ways;
window cold start to ``PytoniumReady``. In the same run, the anchor: a raw
cefpython3 JS-binding round trip on the CEF runtime, and the ratios.
Starts its own Xvfb when DISPLAY is not set.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from pytonium_lab import Pytonium
from pytonium_lab.desktop._cef_runtime import runtime_python

PAGE = """<!DOCTYPE html><html><head><title>bench</title></head><body><script>
function now() { return performance.timeOrigin + performance.now(); }
function onReady() {
  const s = Pytonium.appState;
  s.setState("bench", "ready", now());
  s.registerForStateUpdates("ping", ["ping"], false, true);
  window.addEventListener("ping", (e) => {
    const v = e.detail.value;
    if (e.detail.key === "p") s.setState("pong", "p", {i: v.i, t: now()});
    else if (e.detail.key === "end") s.setState("pong", "burst", {count: window.__events, n: v});
    else window.__events = (window.__events || 0) + 1;
  });
  s.registerForStateUpdates("cmd", ["cmd"], false, true);
  window.addEventListener("cmd", (e) => {
    if (e.detail.key !== "jsburst") return;
    for (let i = 0; i < e.detail.value; i++) s.setState("jsw", "k" + (i % 100), i);
    s.setState("jsw", "done", e.detail.value);
  });
}
if (window.PytoniumReady) onReady(); else window.addEventListener("PytoniumReady", onReady);
</script></body></html>"""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def line(name: str, values: list[float]) -> str:
    return f"  {name:<34} p50 {pct(values, 0.5):7.3f} ms   p99 {pct(values, 0.99):7.3f} ms   (n={len(values)})"


class Recorder:
    """A spec handler that remembers the latest pong and the JS burst count."""

    def __init__(self) -> None:
        self.pong = None
        self.burst = None
        self.ready = None
        self.jsw = 0
        self.jsw_done = None
        self.wake: asyncio.Event | None = None  # event-driven mode: no busy-wait holding the GIL

    def update_state(self, namespace, key, value):
        t = time.time()
        if self.wake is not None and not (namespace == "jsw" and key != "done"):
            self.wake.set()
        if namespace == "pong" and key == "p":
            self.pong = (value, t)
        elif namespace == "pong":
            self.burst = (value, t)
        elif namespace == "bench":
            self.ready = t
        elif key == "done":
            self.jsw_done = (value, t)
        else:
            self.jsw += 1


def open_bench(web: str, backend: str) -> tuple[Pytonium, Recorder]:
    p = Pytonium(backend=backend)
    rec = Recorder()
    p.add_state_handler(rec, ["pong", "bench", "jsw"])
    p.add_custom_scheme("app", web)
    p.initialize("app://index.html", 400, 300)
    return p, rec


async def event_driven(web: str, backend: str, n: int) -> dict:
    """Pytonium inside a running asyncio loop: the page's writes arrive as loop callbacks."""
    p, rec = open_bench(web, backend)
    rec.wake = wake = asyncio.Event()
    while rec.ready is None:
        await asyncio.sleep(0.001)
    rt, there, back = [], [], []
    for i in range(n + 100):
        rec.pong = None
        t0 = time.time()
        wake.clear()
        p.set_state("ping", "p", {"i": i})
        while rec.pong is None:
            await wake.wait()
        (value, t1) = rec.pong
        if i >= 100:
            rt.append((t1 - t0) * 1000)
            there.append(value["t"] - t0 * 1000)
            back.append(t1 * 1000 - value["t"])
    # Burst Python -> JS: 20k writes over 100 keys, then a marker the page answers.
    count = 20000
    rec.burst = None
    t0 = time.time()
    for i in range(count):
        p.set_state("ping", f"k{i % 100}", i)
    wake.clear()
    p.set_state("ping", "end", count)
    while rec.burst is None:
        await wake.wait()
    py_js = (count / (rec.burst[1] - t0), rec.burst[0]["count"])
    # Burst JS -> Python: the page makes 20k setState calls in one task.
    rec.jsw, rec.jsw_done = 0, None
    t0 = time.time()
    wake.clear()
    p.set_state("cmd", "jsburst", count)
    while rec.jsw_done is None:
        await wake.wait()
    js_py = (count / (rec.jsw_done[1] - t0), rec.jsw)
    p.shutdown()
    return {"rt": rt, "there": there, "back": back, "py_js": py_js, "js_py": js_py}


def pump_loop(web: str, backend: str, n: int) -> list[float]:
    """The spec's loop: update_message_loop() then sleep(0.016)."""
    p, rec = open_bench(web, backend)
    while rec.ready is None:
        p.update_message_loop()
        time.sleep(0.016)
    rt = []
    for i in range(n):
        rec.pong = None
        t0 = time.time()
        p.set_state("ping", "p", {"i": i})
        while rec.pong is None:
            p.update_message_loop()
            time.sleep(0.016)
        rt.append((rec.pong[1] - t0) * 1000)
    p.shutdown()
    return rt


def cold_starts(web: str, backend: str, runs: int) -> list[float]:
    """initialize() to the page's first setState after PytoniumReady, as Python hears it."""
    times = []
    for _ in range(runs):
        t0 = time.time()
        p, rec = open_bench(web, backend)
        while rec.ready is None:
            p.update_message_loop()
            time.sleep(0.0005)
        times.append((rec.ready - t0) * 1000)
        p.shutdown()
    return times


def anchor(n: int) -> list[float] | None:
    python = runtime_python()
    if python is None:
        return None
    script = Path(__file__).with_name("_cef_binding_anchor.py")
    with tempfile.TemporaryDirectory(prefix="pytonium-anchor-") as workdir:  # CEF writes caches into its cwd
        done = subprocess.run(
            [str(python), str(script), str(n)], capture_output=True, text=True, timeout=120, cwd=workdir, check=False
        )
    for out_line in done.stdout.splitlines():
        if out_line.startswith("{"):
            return json.loads(out_line)["round_trip_ms"]
    raise RuntimeError(f"the CEF anchor failed: {done.stderr[-1000:]}")


def start_xvfb() -> subprocess.Popen | None:
    if os.environ.get("DISPLAY"):
        return None
    number = next(n for n in range(90, 200) if not os.path.exists(f"/tmp/.X11-unix/X{n}"))
    proc = subprocess.Popen(
        ["Xvfb", f":{number}", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while not os.path.exists(f"/tmp/.X11-unix/X{number}"):
        time.sleep(0.02)
    os.environ["DISPLAY"] = f":{number}"
    return proc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", default="cef", choices=["cef", "chromium"])
    parser.add_argument("--n", type=int, default=1000, help="round trips per measurement")
    parser.add_argument("--pump-n", type=int, default=100)
    parser.add_argument("--starts", type=int, default=5)
    args = parser.parse_args()
    xvfb = start_xvfb()
    web = tempfile.mkdtemp(prefix="pytonium-bench-")
    Path(web, "index.html").write_text(PAGE)
    try:
        print(f"desktop bench, backend={args.backend}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
        ev = asyncio.run(event_driven(web, args.backend, args.n))
        print("event-driven (asyncio loop):")
        print(line("round trip Py->JS->Py", ev["rt"]))
        print(line("one way Python set_state -> JS event", ev["there"]))
        print(line("one way JS setState -> Py handler", ev["back"]))
        print(f"  burst Python->JS: {ev['py_js'][0]:9.0f} changes/s ({ev['py_js'][1]} JS events after coalescing)")
        print(f"  burst JS->Python: {ev['js_py'][0]:9.0f} changes/s ({ev['js_py'][1]} handler calls)")
        pump = pump_loop(web, args.backend, args.pump_n)
        print("16 ms pump loop (update_message_loop + sleep(0.016)):")
        print(line("round trip Py->JS->Py", pump))
        starts = cold_starts(web, args.backend, args.starts)
        print(
            f"cold start, initialize() -> PytoniumReady seen by Python: median {statistics.median(starts):.0f} ms"
            f" (min {min(starts):.0f}, max {max(starts):.0f}, n={len(starts)})"
        )
        raw = anchor(args.n)
        if raw is None:
            print("anchor: no CEF runtime (run `pytonium-lab setup-cef`)")
            return
        print("anchor, raw cefpython3 JS binding (Python ExecuteFunction -> JS -> bound Python function):")
        print(line("round trip", raw))
        print(
            f"ratios vs anchor: p50 {pct(ev['rt'], 0.5) / pct(raw, 0.5):.2f}x (goal <= 2x), "
            f"p99 {pct(ev['rt'], 0.99) / pct(raw, 0.99):.2f}x; pump-loop p50 {pct(pump, 0.5) / pct(raw, 0.5):.1f}x"
        )
    finally:
        shutil.rmtree(web, ignore_errors=True)
        if xvfb is not None:
            xvfb.terminate()


if __name__ == "__main__":
    main()
