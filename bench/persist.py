"""The cost ``store.persist(path)`` adds to a 100,000-write loop, against the same loop without it.

Both loops run in the same process, interleaved, best of ``--repeats``. Two
loops: one key written 100,000 times (a sensor), and 1,000 keys written 100
times each (a larger state, so each file write copies and encodes more). The
persisted loop includes the file writes made while it runs, not the final
flush (timed apart: one write and its fsyncs). Goal (issue 9): under 10%.
"""

from __future__ import annotations

import argparse
import gc
import os
import tempfile
import time

from pytonium_lab import StateStore


def run(n: int, keys: int, folder: str | None) -> tuple[float, float]:
    """Seconds for the loop, and for the final flush (0 without persistence)."""
    store = StateStore()
    handle = None if folder is None else store.persist(os.path.join(folder, "state.json"))
    set_state = store.set_state
    names = [f"k{i}" for i in range(keys)]
    gc.collect()
    start = time.perf_counter()
    for i in range(n):
        set_state("bench", names[i % keys], i)
    loop = time.perf_counter() - start
    if handle is None:
        return loop, 0.0
    start = time.perf_counter()
    handle.close()
    flush = time.perf_counter() - start
    os.unlink(handle.path)
    return loop, flush


def compare(n: int, keys: int, repeats: int, folder: str) -> tuple[float, float, float]:
    """Best seconds without and with persist, interleaved, and the best final flush."""
    bare, persisted, flush = float("inf"), float("inf"), float("inf")
    for _ in range(repeats):
        bare = min(bare, run(n, keys, None)[0])
        loop, last = run(n, keys, folder)
        persisted, flush = min(persisted, loop), min(flush, last)
    return bare, persisted, flush


def report(n: int, repeats: int) -> None:
    """Print both loops' rows (bench/shared.py prints them too: issue 9 asks for one run)."""
    with tempfile.TemporaryDirectory() as folder:
        for keys in (1, 1_000):
            bare, persisted, flush = compare(n, keys, repeats, folder)
            label = f"{n:,} writes over {keys:,} key{'s' if keys > 1 else ''}"
            print(f"{label:32s} without persist {bare * 1e3:7.1f} ms   with persist {persisted * 1e3:7.1f} ms")
            print(f"{'':32s} persist cost = {persisted / bare:.3f}x  (goal < 1.10x); final flush {flush * 1e3:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    report(args.n, args.repeats)


if __name__ == "__main__":
    main()
