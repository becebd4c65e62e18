"""StateStore.set_state throughput against two anchors measured in the same run.

Anchors: the same loop written as a bare dict assignment plus a function call
(the floor any store pays), and traitlets (a HasTraits attribute set with one
observer, what a widget would use without us). Prints ops/s and the ratios.
Goals (issue 2): at most 4x the bare loop, at least 3x faster than traitlets.
"""

from __future__ import annotations

import argparse
import gc
import time

import traitlets

from pytonium_lab import StateStore


def best_rate(loop, n: int, repeats: int) -> float:
    """Operations per second of the fastest of ``repeats`` runs (least disturbed)."""
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        loop(n)
        best = min(best, time.perf_counter() - start)
    return n / best


def bare_loop(n: int) -> None:
    data: dict = {}

    def handler(namespace, key, value):
        pass

    for i in range(n):
        data["k"] = i
        handler("ns", "k", i)


def store_loop(n: int, history: int = 1000) -> None:
    store = StateStore(history=history)

    class Handler:
        def update_state(self, namespace, key, value):
            pass

    store.add_state_handler(Handler(), ["ns"])
    set_state = store.set_state
    for i in range(n):
        set_state("ns", "k", i)


def traitlets_loop(n: int) -> None:
    class Model(traitlets.HasTraits):
        k = traitlets.Int()

    model = Model()
    model.observe(lambda change: None, names="k")
    for i in range(1, n + 1):
        model.k = i


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rates = {
        "bare dict + call": best_rate(bare_loop, args.n, args.repeats),
        "StateStore.set_state, 1 handler": best_rate(store_loop, args.n, args.repeats),
        "  the same, history=0": best_rate(lambda n: store_loop(n, history=0), args.n, args.repeats),
        "traitlets set, 1 observer": best_rate(traitlets_loop, args.n, args.repeats),
    }
    for name, rate in rates.items():
        print(f"{name:34s} {rate:12,.0f} ops/s  {1e9 / rate:8.0f} ns/op")
    store = rates["StateStore.set_state, 1 handler"]
    print(f"store cost / bare loop   = {rates['bare dict + call'] / store:.2f}x  (goal <= 4x)")
    print(f"store speed / traitlets  = {store / rates['traitlets set, 1 observer']:.2f}x  (goal >= 3x)")
    bare = rates["  the same, history=0"]
    print(
        f"  with history=0: {rates['bare dict + call'] / bare:.2f}x the bare loop, "
        f"{bare / rates['traitlets set, 1 observer']:.2f}x traitlets; history costs {1e9 / store - 1e9 / bare:.0f} ns/op"
    )


if __name__ == "__main__":
    main()
