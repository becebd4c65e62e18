"""Desktop window benchmark on every engine in one run, each against its raw anchors measured in the same run.

    .venv/bin/python bench/desktop.py [--engines cef,chromium,cefpython3] [--n 500] [--starts 5]

Per engine (cef = CEF 131, chromium = system chromium --app, cefpython3 = CEF 66):
Python ``set_state`` -> JS event -> JS ``setState`` -> Python handler round
trips (one-way halves from the shared wall clock), event-driven (an asyncio
loop receives the page's writes, as in a Jupyter kernel) and in the spec's
16 ms ``update_message_loop`` pump loop; burst throughput both ways; window
cold start, ``initialize()`` to ``PytoniumReady`` heard by Python. Anchors,
same run, same engine binary with nothing of pytonium_lab (``_bare.py``): a bare
page's start to its WebSocket open, and a bare WebSocket echo's round trip;
plus the raw cefpython3 JS-binding round trip (``_cef_binding_anchor.py``).
Prints the ratios. Starts its own Xvfb when DISPLAY is not set.
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

from _bare import measure as bare_anchor  # bench/_bare.py

from pytonium_lab import Pytonium
from pytonium_lab.desktop._cef_runtime import runtime_python
from pytonium_lab.desktop._engines import ENGINES, engine_problem

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


def add_engines_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated (default: all three)")


def chosen_engines(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[str]:
    """The ``--engines`` asked for; a name that is not an engine, or one that cannot run here, stops the bench."""
    engines = args.engines.split(",")
    for engine in engines:
        if engine not in ENGINES:
            parser.error(f"unknown engine {engine!r}: expected some of {', '.join(ENGINES)}")
        if problem := engine_problem(engine):
            parser.error(f"the {engine} engine cannot run here: {problem}")
    return engines


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


def one_engine(web: str, engine: str, args: argparse.Namespace) -> dict:
    """Every measurement of ``engine``, its bare anchors right after (same load)."""
    ev = asyncio.run(event_driven(web, engine, args.n))
    pump = pump_loop(web, engine, args.pump_n)
    starts = cold_starts(web, engine, args.starts)
    bare_starts, bare_rt = bare_anchor(engine, args.starts, args.n)
    print(f"{engine}:")
    print(line("round trip Py->JS->Py (asyncio)", ev["rt"]))
    print(line("one way Python set_state -> JS event", ev["there"]))
    print(line("one way JS setState -> Py handler", ev["back"]))
    print(line("round trip in the 16 ms pump loop", pump))
    print(line("anchor: bare WebSocket echo", bare_rt))
    print(f"  burst Python->JS: {ev['py_js'][0]:9.0f} changes/s ({ev['py_js'][1]} JS events after coalescing)")
    print(f"  burst JS->Python: {ev['js_py'][0]:9.0f} changes/s ({ev['js_py'][1]} handler calls)")
    print(f"  cold start initialize() -> PytoniumReady: {spread(starts)}")
    print(f"  anchor: bare page start -> WebSocket open: {spread(bare_starts)}")
    return {
        "rt": ev["rt"],
        "start": statistics.median(starts),
        "bare_start": statistics.median(bare_starts),
        "bare_rt": bare_rt,
    }


def spread(times: list[float]) -> str:
    return f"median {statistics.median(times):.0f} ms (min {min(times):.0f}, max {max(times):.0f}, n={len(times)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_engines_option(parser)
    parser.add_argument("--n", type=int, default=500, help="round trips per measurement")
    parser.add_argument("--pump-n", type=int, default=50)
    parser.add_argument("--starts", type=int, default=5)
    args = parser.parse_args()
    engines = chosen_engines(parser, args)
    xvfb = start_xvfb()
    web = tempfile.mkdtemp(prefix="pytonium-bench-")
    Path(web, "index.html").write_text(PAGE)
    try:
        print(f"desktop bench, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, n={args.n}, starts={args.starts}")
        results = {engine: one_engine(web, engine, args) for engine in engines}
        raw = anchor(args.n)
        if raw is not None:
            print(line("anchor: raw cefpython3 JS binding round trip", raw))
        print("\nsummary (medians; ratio = pytonium_lab / bare engine, same run):")
        print(
            f"  {'engine':<11} {'start':>8} {'bare':>8} {'ratio':>6}   {'rt p50':>8} {'p99':>7} {'bare ws':>8} {'ratio':>6}",
            end="",
        )
        print(f" {'vs binding':>10}" if raw is not None else "")
        for engine, r in results.items():
            rt, bare = pct(r["rt"], 0.5), pct(r["bare_rt"], 0.5)
            print(
                f"  {engine:<11} {r['start']:6.0f}ms {r['bare_start']:6.0f}ms {r['start'] / r['bare_start']:5.2f}x"
                f"   {rt:6.3f}ms {pct(r['rt'], 0.99):5.2f}ms {bare:6.3f}ms {rt / bare:5.2f}x",
                end="",
            )
            print(f" {rt / pct(raw, 0.5):9.2f}x" if raw is not None else "")
    finally:
        shutil.rmtree(web, ignore_errors=True)
        if xvfb is not None:
            xvfb.terminate()


if __name__ == "__main__":
    main()
