"""A separate process that feeds a shared store: run by notebooks/shared_store.ipynb.

    python feeder.py REDIS_URL NAME [SECONDS]

Connects to the store shared through Redis, writes ``feed.count`` and ``feed.sine`` a few
times a second, and follows the keys the notebook steers it with: ``control.speed``
(writes per second are 5 x speed) and ``control.stop`` (True ends it). It stops by itself
after SECONDS (default 60), so it never outlives a notebook that forgot it.
"""

from __future__ import annotations

import math
import sys
import time

from pytonium_lab import StateStore


def main() -> None:
    url, name = sys.argv[1], sys.argv[2]
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 60.0
    store = StateStore.connect(url, name)
    store.set_state("feed", "status", "running")
    start = time.monotonic()
    count = 0
    reason = "time is up"
    while time.monotonic() - start < seconds:
        if store.get_state("control", "stop"):
            reason = "asked to stop"
            break
        speed = store.get_state("control", "speed", 1.0)
        speed = min(max(float(speed), 0.1), 20.0) if isinstance(speed, (int, float)) else 1.0
        count += 1
        with store.batch():  # one atomic change: every view sees count and sine together
            store.set_state("feed", "count", count)
            store.set_state("feed", "sine", round(math.sin(count / 5), 3))
            store.set_state("feed", "speed", speed)
        time.sleep(0.2 / speed)
    store.set_state("feed", "status", f"stopped ({reason}) after {count} writes")
    store.close()
    print(f"feeder: {reason} after {count} writes", flush=True)  # noqa: T201 (a script's report)


if __name__ == "__main__":
    main()
