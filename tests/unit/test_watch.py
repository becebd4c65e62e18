import threading
import time

from pytonium_lab._watch import FolderWatch


def test_a_save_calls_back_within_a_second_and_close_ends_the_thread(tmp_path):
    page = tmp_path / "page.html"
    page.write_text("<p>1</p>")
    seen: list[tuple[float, set]] = []
    changed = threading.Event()

    def on_change(paths):
        seen.append((time.monotonic(), paths))
        changed.set()

    watch = FolderWatch(tmp_path, on_change)
    assert watch.wait_ready()
    saved = time.monotonic()
    page.write_text("<p>2</p>")
    assert changed.wait(1.0), "no callback within 1 s of the save"
    assert page in seen[0][1]
    assert seen[0][0] - saved < 1.0
    watch.close()
    assert not watch.alive
    assert not any(t.name.startswith("pytonium-watch") for t in threading.enumerate())
    (tmp_path / "style.css").write_text("p{}")
    time.sleep(0.3)
    assert len(seen) == 1  # nothing after close
    assert "stopped" in repr(watch)


def test_a_callback_that_raises_is_logged_and_the_watch_goes_on(tmp_path, caplog):
    calls = []

    def on_change(paths):
        calls.append(paths)
        raise RuntimeError("bad page")

    watch = FolderWatch(tmp_path, on_change)
    assert watch.wait_ready()
    (tmp_path / "a.html").write_text("1")
    deadline = time.monotonic() + 2
    while not calls and time.monotonic() < deadline:
        time.sleep(0.02)
    (tmp_path / "b.html").write_text("2")
    while len(calls) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    watch.close()
    assert len(calls) >= 2
    assert "reloading after a change" in caplog.text
