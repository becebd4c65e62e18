# The functions tests/pages/calls.html and calls_contract.js call: run as a notebook cell, or
# exec'd by the window test, with `store` and `view` (a StateWidget or Pytonium) defined.
# ruff: noqa: F821  (store and view come from the cell or the exec around this text)
import asyncio
import threading

calls_seen = {"off_main": 0, "cancelled": 0}


def testfunc(word: str) -> str:
    if threading.current_thread() is not threading.main_thread():
        calls_seen["off_main"] += 1
    store.set_state("demo", "count", (store.get_state("demo", "count") or 0) + 1)
    return f"Python says {word}"


def boom() -> None:
    raise ValueError("no good input")


async def twice(i: int) -> int:
    await asyncio.sleep(0.01)
    return 2 * i


async def hang() -> None:
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        calls_seen["cancelled"] += 1
        raise


def big(text: str) -> str:
    return text + "!" * 10


view.bind_function_to_javascript(testfunc, javascript_object="test_function_binding")
view.bind_functions_to_javascript([boom, twice, hang, big], javascript_object="api")
