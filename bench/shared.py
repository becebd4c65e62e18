"""A store shared through Redis: cross-process latency and write throughput, against raw redis-py, same run.

Starts its own redis-server (appendonly yes, appendfsync always unless
``--fsync``) on a free loopback port in a temp folder. Anchors: a raw redis-py
``PING`` and an ``EVALSHA`` of a one-line write script, round trips from this
process. Measured: ``set_state`` here -> the handler in another process (both
clocks are CLOCK_MONOTONIC), p50/p99; then changes/s of a writing loop with and
without ``batch()`` (batches of 100) while the other process follows.
Goals (issue 9): p50 within 2x of the anchor; >= 50,000 changes/s with batches.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import socket
import subprocess
import tempfile
import time

import redis

from pytonium_lab import StateStore


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


def round_trips(call, n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        out.append((time.perf_counter() - start) * 1e6)
    return out


def listener(url: str, n: int, ready, results) -> None:
    """The other process: record set_state -> handler delays (µs) until ``n`` arrived."""
    store = StateStore.connect(url, "bench")
    delays: list[float] = []

    class Handler:
        def update_state(self, namespace, key, value):
            if key == "t":
                delays.append((time.perf_counter_ns() - value) / 1000)

    store.add_state_handler(Handler(), ["lat"])
    ready.set()
    deadline = time.monotonic() + 120
    while len(delays) < n and time.monotonic() < deadline:
        time.sleep(0.01)
    results.put(delays)
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000, help="latency samples")
    parser.add_argument("--fsync", default="always", choices=["always", "everysec", "no"])
    opts = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="pytonium_bench_redis_")
    proc, url = start_redis(folder, opts.fsync)
    try:
        raw = redis.Redis.from_url(url)
        write = raw.register_script("return redis.call('INCR', KEYS[1])")
        round_trips(raw.ping, 200)
        ping = percentiles(round_trips(raw.ping, opts.n))
        evalsha = percentiles(round_trips(lambda: write(keys=["anchor"]), opts.n))

        ctx = multiprocessing.get_context("spawn")
        ready, results = ctx.Event(), ctx.Queue()
        other = ctx.Process(target=listener, args=(url, opts.n, ready, results))
        other.start()
        ready.wait(30)
        store = StateStore.connect(url, "bench")
        for _ in range(opts.n):
            store.set_state("lat", "t", time.perf_counter_ns())
            time.sleep(0.001)
        latency = percentiles(results.get(timeout=60))
        other.join(10)

        follower_ready, follower_results = ctx.Event(), ctx.Queue()
        follower = ctx.Process(target=listener, args=(url, 10**9, follower_ready, follower_results), daemon=True)
        follower.start()  # another process follows every write, as it would in use
        follower_ready.wait(30)
        n_plain = 3000
        start = time.perf_counter()
        for i in range(n_plain):
            store.set_state("tp", "k", i)
        plain = n_plain / (time.perf_counter() - start)
        batches = 300
        start = time.perf_counter()
        for _ in range(batches):
            with store.batch():
                for i in range(100):
                    store.set_state("tp", f"k{i}", i)
        batched = batches * 100 / (time.perf_counter() - start)
        follower.terminate()
        store.close()
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(folder, ignore_errors=True)

    print(f"redis-server {url}, appendfsync {opts.fsync}, {os.cpu_count()} cores")
    print(f"anchor PING round trip          p50 {ping[0]:7.1f} µs  p99 {ping[1]:7.1f} µs")
    print(f"anchor EVALSHA write round trip p50 {evalsha[0]:7.1f} µs  p99 {evalsha[1]:7.1f} µs")
    print(f"set_state -> handler, 2 procs   p50 {latency[0]:7.1f} µs  p99 {latency[1]:7.1f} µs")
    print(f"  ratio p50: {latency[0] / ping[0]:.2f}x PING, {latency[0] / evalsha[0]:.2f}x EVALSHA (goal <= 2x)")
    print(
        f"throughput: {plain:9,.0f} changes/s one at a time, {batched:9,.0f} changes/s in batches of 100 (goal >= 50,000)"
    )


if __name__ == "__main__":
    main()
