import threading
import time

from pytonium_lab._throttle import Soon, Throttle


def test_first_call_runs_at_once_and_bursts_fold_into_one_trailing_call():
    runs = []
    done = threading.Event()

    def action():
        runs.append(time.monotonic())
        if len(runs) == 2:
            done.set()

    throttle = Throttle(action, 0.05)
    throttle()
    assert len(runs) == 1  # leading edge: ran before the call returned, no timer
    for _ in range(100):
        throttle()
    assert len(runs) == 1
    assert done.wait(2)
    time.sleep(0.1)
    assert len(runs) == 2  # 100 calls, one trailing run
    assert runs[1] - runs[0] >= 0.045


def test_many_throttles_share_one_timer_thread():
    done = [threading.Event() for _ in range(10)]
    throttles = [Throttle(event.set, 0.01) for event in done]
    for throttle in throttles:
        throttle._last = time.monotonic()  # as if it had just run: the call is deferred
        throttle()
    assert all(event.wait(2) for event in done)
    assert [t.name for t in threading.enumerate()].count("pytonium-flush") == 1


def test_a_failing_action_does_not_kill_the_timer_thread(caplog):
    calls = []

    def bad():
        calls.append(1)
        raise RuntimeError("flush failed")

    throttle = Throttle(bad, 0.01)
    throttle._last = time.monotonic()
    throttle()
    time.sleep(0.1)
    ok = threading.Event()
    later = Throttle(ok.set, 0.01)
    later._last = time.monotonic()
    later()
    assert ok.wait(2)
    assert calls == [1]


def test_soon_runs_once_per_turn_of_the_loop():
    queued = []
    runs = []
    soon = Soon(lambda: runs.append(1), queued.append)
    for _ in range(5):
        soon()
    assert len(queued) == 1 and runs == []
    queued.pop()()  # the loop turns
    assert runs == [1]
    soon()
    assert len(queued) == 1
