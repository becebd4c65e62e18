"""notebooks/classroom.ipynb in a real JupyterLab, with a real browser as a student.

After Run All (30 simulated students answered, the class was closed), the
teacher opens the class again; a student's Chromium page answers, and the
teacher's chart and the live client count follow.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from playwright.sync_api import expect

REPO = Path(__file__).parents[2]


def test_classroom_in_jupyterlab_with_a_browser_student(lab, notebook_page, browser) -> None:
    target = lab.root / "notebooks"
    if not target.exists():
        shutil.copytree(REPO / "notebooks", target, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "proto"))
    teacher = notebook_page("notebooks/classroom.ipynb")
    chart = teacher.view(1)
    expect(chart.locator("#total")).to_have_text("30", timeout=30_000)
    out = teacher.run('room = store.serve("web/poll.html", namespaces=["poll"], own="answers")\nprint(room.url)')
    url = out.strip().splitlines()[-1]
    assert url.startswith("http://127.0.0.1:"), out
    teacher.run("room")  # the live view of the new class: URL, QR code, client count
    teacher.wait_view_ready(2)
    expect(teacher.view(2).locator("#count")).to_have_text("0")
    expect(teacher.view(2).locator("svg")).to_have_count(1)  # the QR code

    student = browser.new_context().new_page()
    try:
        student.goto(url)
        student.wait_for_function("() => window.PytoniumReady === true", timeout=20_000)
        expect(student.locator("#question")).to_have_text("Which sort is O(n log n) in the worst case?")
        expect(teacher.view(2).locator("#count")).to_have_text("1", timeout=10_000)
        student.get_by_role("button", name="Merge sort").click()
        expect(student.locator("#status")).to_have_text("Your answer: Merge sort")
        expect(chart.locator("#total")).to_have_text("31", timeout=10_000)
        # The poll is read-only for students: a write there is refused and undone on the page.
        student.evaluate("() => Pytonium.appState.setState('poll', 'question', 'hacked')")
        expect(student.locator("#question")).to_have_text("Which sort is O(n log n) in the worst case?")
    finally:
        student.context.close()
    assert "Which sort" in teacher.run("print(store.get_state('poll', 'question'))")
    expect(teacher.view(2).locator("#count")).to_have_text("0", timeout=10_000)
    teacher.run("room.close()")
