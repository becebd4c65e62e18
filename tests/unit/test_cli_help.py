"""``pytonium-lab --help`` reads as plain text: no reStructuredText markup from docstrings."""

from __future__ import annotations

import pytest

from pytonium_lab.__main__ import main


@pytest.mark.parametrize("argv", [["--help"], ["setup-cef", "--help"]], ids=["top", "setup-cef"])
def test_help_has_no_raw_markup(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 0
    text = capsys.readouterr().out
    assert "pytonium-lab" in text
    assert "``" not in text, text
