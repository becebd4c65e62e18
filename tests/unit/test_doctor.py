"""``pytonium-lab doctor`` here (everything installed); the fresh wheel venv's run is in tests/notebook/test_release.py."""

from __future__ import annotations

from importlib import metadata

import pytest

from pytonium_lab.__main__ import main
from pytonium_lab.desktop._engines import ENGINES

from .redis_server import RedisServer, free_port


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["doctor", *argv])
    return code, capsys.readouterr().out


def test_doctor_reports_versions_hosts_js_and_every_engine(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys)
    assert code == 0, out
    import pytonium_lab

    assert out.startswith(f"pytonium_lab {pytonium_lab.__version__}\nPython 3.")
    for name in ("anywidget", "ipykernel"):
        assert f"\n  {name} {metadata.version(name)}\n" in out
    for name in ("jupyterlab", "notebook", "marimo", "voila"):  # the main venv has all; .venv-3.x only marimo
        try:
            assert f"\n  {name} {metadata.version(name)}\n" in out
        except metadata.PackageNotFoundError:
            assert f"\n  {name}: not installed\n" in out
    assert "built JS: ok" in out
    assert "shared extra (StateStore.connect): ok" in out
    for engine in ENGINES:
        assert f"\n  {engine}: " in out


def test_doctor_says_whether_a_redis_answers(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    server = RedisServer(tmp_path)
    try:
        code, out = run(capsys, "--redis", server.url)
        assert code == 0
        assert f"redis {server.url}: answers" in out
    finally:
        server.stop()
    dead = f"redis://127.0.0.1:{free_port()}/0"
    code, out = run(capsys, "--redis", dead)
    assert code == 1
    assert f"redis {dead}: does NOT answer (ConnectionError" in out


def test_help_is_plain_text(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in ([], ["doctor"]):
        with pytest.raises(SystemExit):
            main([*argv, "--help"])
        assert "``" not in capsys.readouterr().out
