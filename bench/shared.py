"""A store shared through Redis: cross-process latency and write throughput, against raw redis-py, same run.

For each ``appendfsync`` setting (``always``: every acknowledged write is on
disk; ``everysec``: Redis's default with an append-only file), the script
starts its own redis-server on a free loopback port in a temp folder, then two
other processes: one follows a store with ``StateStore.connect`` and a handler,
one follows a stream with plain redis-py (``XREAD BLOCK``). Both stay attached
for the whole run, so every measurement sees the same machine.

Latency, samples interleaved one by one (1 ms apart):

- *raw round trip* (the anchor): a redis-py ``EVALSHA`` of a hand-written
  script doing a write's work (``HSET``, ``INCRBY``, ``XADD``) to the stream
  the raw follower follows, timed here: what one write costs when another
  process waits for it, as every cross-process change has one;
- the same write to a stream nobody follows, for comparison: on 2 cores it is
  much faster, since no third process wakes to compete for a core;
- *raw cross-process*: that write here -> ``XREAD`` returning in the raw
  follower (what hand-written redis-py delivers);
- *ours*: ``set_state`` here -> the handler in the other process.

Both clocks are CLOCK_MONOTONIC (``perf_counter_ns``), so delays across the
processes are comparable.

Throughput, runs interleaved, best of five: changes/s of a loop of
``set_state`` one at a time and in ``batch()`` blocks of 100, while the other
process follows; anchors: raw redis-py doing the same writes (one ``EVALSHA``
per change; one transaction of ``HSET`` of 100 fields, ``INCRBY`` and ``XADD``
per batch) while the raw follower follows.

Last, the cost ``persist()`` adds to a 100,000-write loop (``bench/persist.py``'s
measurement, run here too).

Goals (issue 9): ours p50 within 2x of the raw round trip; >= 50,000 changes/s
with batches of 100; persist under 10%.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from typing import Any

import redis
from persist import report as report_persist  # bench/persist.py, beside this script

from pytonium_lab import StateStore

RAW_WRITE = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local rev = redis.call('INCRBY', KEYS[2], 1)
return redis.call('XADD', KEYS[3], 'MAXLEN', '~', 10000, '*', 'rev', rev, 'data', ARGV[2])
"""
RAW_KEYS = ["raw:state", "raw:revision", "raw:log"]
IDLE_KEYS = ["idle:state", "idle:revision", "idle:log"]  # a stream nobody follows
BATCH = 100


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_redis(folder: str, fsync: str) -> tuple[subprocess.Popen[bytes], str]:
    server = shutil.which("redis-server")
    if server is None:
        raise SystemExit("redis-server is missing: apt-get install -y redis-server (scripts/setup.sh does)")
    port = free_port()
    args = [server, "--port", str(port), "--bind", "127.0.0.1", "--dir", folder, "--save", ""]
    args += ["--appendonly", "yes", "--appendfsync", fsync]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    for _ in range(200):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.02)
    client.close()
    return proc, f"redis://127.0.0.1:{port}/0"


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, len(ordered) * 99 // 100)]


def our_follower(url: str, ready: Any, stop: Any, results: Any) -> None:
    """The other process with a store: record set_state -> handler delays (µs) of key ``lat.t``."""
    store = StateStore.connect(url, "bench")
    delays: list[float] = []

    class Handler:
        def update_state(self, namespace: str, key: str, value: Any) -> None:
            if key == "t":
                delays.append((time.perf_counter_ns() - value) / 1000)

    store.add_state_handler(Handler(), ["lat"])
    ready.set()
    stop.wait()
    results.put(delays)
    store.close()


def raw_follower(url: str, ready: Any, stop: Any, results: Any) -> None:
    """The other process with plain redis-py: record write -> XREAD delays (µs) of entries with a time."""
    client = redis.Redis.from_url(url, decode_responses=True)
    delays: list[float] = []
    last = "$"
    ready.set()
    while not stop.is_set():
        reply = client.xread({RAW_KEYS[2]: last}, count=1000, block=100)
        now = time.perf_counter_ns()
        for _, entries in reply or ():
            for entry_id, fields in entries:
                if fields["data"].startswith("{"):
                    delays.append((now - json.loads(fields["data"])["t"]) / 1000)
                last = entry_id
    results.put(delays)


def timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1e6


def rate(changes: int, loop: Callable[[], None]) -> float:
    start = time.perf_counter()
    loop()
    return changes / (time.perf_counter() - start)


def measure(fsync: str, n: int) -> dict[str, Any]:
    folder = tempfile.mkdtemp(prefix="pytonium_bench_redis_")
    proc, url = start_redis(folder, fsync)
    ctx = multiprocessing.get_context("spawn")
    stop = ctx.Event()
    followers = []
    try:
        for target in (our_follower, raw_follower):
            ready, results = ctx.Event(), ctx.Queue()
            process = ctx.Process(target=target, args=(url, ready, stop, results), daemon=True)
            process.start()
            followers.append((process, ready, results))
        for _, ready, _ in followers:
            ready.wait(30)
        raw = redis.Redis.from_url(url, decode_responses=True)
        raw_write = raw.register_script(RAW_WRITE)
        store = StateStore.connect(url, "bench")
        time.sleep(0.3)

        def raw_sample() -> None:
            data = json.dumps({"t": time.perf_counter_ns()})
            raw_write(keys=RAW_KEYS, args=['["lat","t"]', data])

        def idle_sample() -> None:
            raw_write(keys=IDLE_KEYS, args=['["lat","t"]', "0"])

        ping, idle, round_trip = [], [], []
        for i in range(n):  # interleaved, and each kind goes first half of the time
            kinds = (0, 1, 2, 3) if i % 2 else (3, 2, 1, 0)
            for kind in kinds:
                if kind == 0:
                    ping.append(timed(raw.ping))
                elif kind == 1:
                    idle.append(timed(idle_sample))
                elif kind == 2:
                    round_trip.append(timed(raw_sample))
                else:
                    store.set_state("lat", "t", time.perf_counter_ns())
                time.sleep(0.001)

        def ours_one() -> None:
            for i in range(3 * BATCH):
                store.set_state("tp", "k", i)

        def raw_one() -> None:
            for i in range(3 * BATCH):
                raw_write(keys=RAW_KEYS, args=['["tp","k"]', str(i)])

        def ours_batched() -> None:
            for _ in range(100):
                with store.batch():
                    for i in range(BATCH):
                        store.set_state("tp", f"k{i}", i)

        def raw_batched() -> None:
            for _ in range(100):
                pipe = raw.pipeline(transaction=True)
                fields = {json.dumps(["tp", f"k{i}"]): str(i) for i in range(BATCH)}
                pipe.hset(RAW_KEYS[0], mapping=fields)
                pipe.incrby(RAW_KEYS[1], BATCH)
                pipe.xadd(RAW_KEYS[2], {"n": BATCH, "data": "\n".join(f"{k}\n{v}" for k, v in fields.items())})
                pipe.execute()

        best = {"ours one": 0.0, "raw one": 0.0, "ours batched": 0.0, "raw batched": 0.0}
        for _ in range(5):
            best["raw one"] = max(best["raw one"], rate(3 * BATCH, raw_one))
            best["ours one"] = max(best["ours one"], rate(3 * BATCH, ours_one))
            best["raw batched"] = max(best["raw batched"], rate(100 * BATCH, raw_batched))
            best["ours batched"] = max(best["ours batched"], rate(100 * BATCH, ours_batched))
        stop.set()
        ours, raw_cross = (results.get(timeout=60) for _, _, results in followers)
        store.close()
        raw.close()
    finally:
        stop.set()
        for process, _, _ in followers:
            process.join(10)
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "ping": percentiles(ping),
        "idle": percentiles(idle),
        "round trip": percentiles(round_trip),
        "raw cross": percentiles(raw_cross),
        "ours": percentiles(ours),
        "samples": (len(ours), len(raw_cross)),
        **best,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1500, help="latency samples of each kind")
    parser.add_argument("--fsync", nargs="*", default=["always", "everysec"], choices=["always", "everysec", "no"])
    opts = parser.parse_args()
    print(f"{os.cpu_count()} cores; {opts.n} latency samples of each kind, interleaved")
    for fsync in opts.fsync:
        r = measure(fsync, opts.n)
        trip = r["round trip"]
        print(f"\nappendfsync {fsync} (heard: ours {r['samples'][0]}, raw {r['samples'][1]} of {opts.n})")
        print(f"  raw PING round trip                   p50 {r['ping'][0]:7.1f} µs  p99 {r['ping'][1]:7.1f} µs")
        print(f"  raw write round trip, nobody follows  p50 {r['idle'][0]:7.1f} µs  p99 {r['idle'][1]:7.1f} µs")
        print(f"  raw write round trip (anchor)         p50 {trip[0]:7.1f} µs  p99 {trip[1]:7.1f} µs")
        for label, key in (
            ("raw write -> XREAD, other process", "raw cross"),
            ("set_state -> handler, other process", "ours"),
        ):
            p50, p99 = r[key]
            print(
                f"  {label:37s} p50 {p50:7.1f} µs  p99 {p99:7.1f} µs   = {p50 / trip[0]:.2f}x / {p99 / trip[1]:.2f}x anchor"
            )
        ours, raw_cross, idle = r["ours"][0], r["raw cross"][0], r["idle"][0]
        print(f"  ours p50 = {ours / raw_cross:.2f}x raw cross-process, {ours / idle:.2f}x a write nobody follows")
        print("  (goal: ours p50 <= 2x anchor)")
        for kind in ("one", "batched"):
            ours, raw = r[f"ours {kind}"], r[f"raw {kind}"]
            label = "one at a time" if kind == "one" else f"batches of {BATCH}"
            print(f"  throughput {label:16s} ours {ours:9,.0f}/s   raw redis-py {raw:9,.0f}/s   = {ours / raw:.2f}x")
        print("  (goal: >= 50,000 changes/s in batches of 100)")
    print("\npersist() on a plain store, same run:")
    report_persist(100_000, 7)


if __name__ == "__main__":
    main()
