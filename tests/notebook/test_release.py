"""What a user does: build the wheel from a clean clone, pip install it into their own JupyterLab, use it.

One module-scoped fixture does the heavy part once: ``git clone`` of this
repository's HEAD (no built JS, no node_modules), ``pip wheel`` of the clone
(its build hook runs npm), the sdist and a wheel built from the sdist with no
npm on PATH, then a fresh venv that gets only JupyterLab and the wheel (no npm
on PATH, no PYTHONPATH). The tests check the files, then drive a notebook of
that venv's JupyterLab in headless Chromium. The wheel's size, file count and
install time are printed and written to test-artifacts/release.json.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
import venv
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cells import COUNTER, RECORDING_STORE
from labharness import JupyterLab, LabPage
from playwright.sync_api import expect

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
BUILT_JS = ("pytonium_lab/static/widget.js", "pytonium_lab/static/runtime.js")


@dataclass
class Release:
    """The built files and the user's venv (its ``bin`` is the only PATH its steps get)."""

    clone: Path
    wheel: Path
    sdist: Path
    wheel_from_sdist: Path
    venv: Path
    home: Path
    numbers: dict[str, float] = field(default_factory=dict)

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def env(self) -> dict[str, str]:
        """The user's environment: only the venv on PATH (no npm, no node), nothing of this checkout."""
        keep = {k: v for k, v in os.environ.items() if k in ("HOME", "LANG", "LC_ALL", "TMPDIR", "PIP_CERT")}
        keep.update(PIP_FIND_LINKS=os.environ.get("PIP_FIND_LINKS", ""), PIP_DISABLE_PIP_VERSION_CHECK="1")
        return dict(
            keep,
            PATH=str(self.bin),
            VIRTUAL_ENV=str(self.venv),
            JUPYTER_DATA_DIR=str(self.home / "data"),
            IPYTHONDIR=str(self.home / "ipython"),
        )

    def run(self, *argv: str | Path, timeout: float = 600) -> str:
        """Run a command of the venv (``pip``, ``python``, ``pytonium-lab``...) in the user's environment."""
        done = subprocess.run(
            [str(self.bin / str(argv[0])), *map(str, argv[1:])],
            check=False,
            capture_output=True,
            text=True,
            env=self.env(),
            cwd=self.home,
            timeout=timeout,
        )
        assert done.returncode == 0, f"{argv} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        return done.stdout


def build(*argv: str | Path, cwd: Path, env: dict[str, str] | None = None) -> None:
    """Run a build step of the developer's side (this venv's Python, npm on PATH unless ``env`` says)."""
    done = subprocess.run([*map(str, argv)], check=False, capture_output=True, text=True, cwd=cwd, env=env, timeout=600)
    assert done.returncode == 0, f"{argv} failed ({done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"


def readme_cell() -> str:
    """The first Python block of the README's install section."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Install into your own Jupyter\n", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def only(folder: Path, pattern: str) -> Path:
    found = sorted(folder.glob(pattern))
    assert len(found) == 1, f"expected one {pattern} in {folder}, found {found}"
    return found[0]


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Release]:
    for tool in ("git", "npm"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is needed to build the wheel from a clone: run scripts/setup.sh")
    root = tmp_path_factory.mktemp("release")
    clone, dist, home = root / "clone", root / "dist", root / "home"
    home.mkdir()
    build("git", "clone", "--quiet", "--no-hardlinks", REPO, clone, cwd=root)
    assert not (clone / BUILT_JS[0]).exists() and not (clone / "js" / "node_modules").exists()

    started = time.monotonic()
    build(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", dist, clone, cwd=root)
    wheel_seconds = time.monotonic() - started
    wheel = only(dist, "*.whl")
    build(sys.executable, "-m", "build", "--sdist", "--outdir", dist, clone, cwd=root)
    sdist = only(dist, "*.tar.gz")
    # The wheel from the sdist: no npm, no node on PATH (only this Python's folder).
    from_sdist = root / "from-sdist"
    no_node = dict(os.environ, PATH=str(Path(sys.executable).parent))
    build(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", from_sdist, sdist, cwd=root, env=no_node)

    env_dir = root / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    release = Release(clone, wheel, sdist, only(from_sdist, "*.whl"), env_dir, home)
    release.numbers["wheel build from a clean clone (s)"] = round(wheel_seconds, 1)
    started = time.monotonic()
    release.run("pip", "install", "--quiet", "jupyterlab")
    release.numbers["jupyterlab install into the fresh venv (s)"] = round(time.monotonic() - started, 1)
    started = time.monotonic()
    release.run("pip", "install", "--quiet", wheel)
    release.numbers["wheel install into it (s)"] = round(time.monotonic() - started, 1)
    with zipfile.ZipFile(wheel) as z:
        release.numbers["wheel files"] = len(z.namelist())
    release.numbers["wheel size (KiB)"] = round(wheel.stat().st_size / 1024, 1)
    yield release
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "release.json").write_text(json.dumps(release.numbers, indent=2) + "\n")
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print("\nrelease: " + ", ".join(f"{k} {v}" for k, v in release.numbers.items()))


def test_the_wheel_holds_the_package_built_js_types_and_pages_only(release: Release) -> None:
    with zipfile.ZipFile(release.wheel) as z:
        names = z.namelist()
        sizes = {info.filename: info.file_size for info in z.infolist()}
    for built in BUILT_JS:
        assert sizes.get(built, 0) > 1000, f"{built} is missing or empty in {release.wheel.name}: {names}"
    assert "pytonium_lab/py.typed" in names
    assert {"pytonium_lab/pages/inspector.html", "pytonium_lab/pages/inspector.js"} <= set(names)
    outside = [n for n in names if not n.startswith(("pytonium_lab/", "pytonium_lab-"))]
    assert outside == [], f"files outside the package: {outside}"
    assert not [n for n in names if "node_modules" in n or "/tests/" in n or n.endswith((".map", ".ts"))]


def test_the_sdist_carries_js_sources_and_built_js_and_builds_a_wheel_without_node(release: Release) -> None:
    with tarfile.open(release.sdist) as tar:
        names = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    assert {"js/package.json", "js/package-lock.json", "js/src/widget.ts", "js/src/page.ts", *BUILT_JS} <= names
    assert not [n for n in names if "node_modules" in n]
    with zipfile.ZipFile(release.wheel) as a, zipfile.ZipFile(release.wheel_from_sdist) as b:
        assert sorted(a.namelist()) == sorted(b.namelist())
        assert a.read(BUILT_JS[0]) == b.read(BUILT_JS[0])


def test_one_version_everywhere(release: Release) -> None:
    out = release.run(
        "python",
        "-c",
        "import pytonium_lab, importlib.metadata as m; print(pytonium_lab.__version__, m.version('pytonium_lab'))",
    )
    here = out.split()
    assert here[0] == here[1]
    assert release.wheel.name.startswith(f"pytonium_lab-{here[0]}-")


def test_in_the_users_jupyterlab_a_widget_shows_state_and_sends_a_click_back(release: Release, browser) -> None:
    lab = UserLab(release)
    lab.start()
    try:
        lab.write_notebook(
            "user.ipynb",
            [
                "import sys, pytonium_lab\nprint(sys.prefix, pytonium_lab.__file__)",
                RECORDING_STORE + f"widget = StateWidget(store, {COUNTER!r}, height=120)\nwidget\n",
            ],
        )
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        try:
            page = LabPage(lab, context.new_page())
            page.open("user.ipynb")
            page.run_all()
            prefix, module = page.output(0).split()
            assert Path(prefix) == release.venv and Path(module).is_relative_to(release.venv), page.output(0)
            expect(page.view(0).locator("#count")).to_have_text("1", timeout=20_000)
            page.wait_view_ready(0)
            page.view(0).locator("#inc").click()
            expect(page.view(0).locator("#count")).to_have_text("2")
            out = page.run_until("print(edits[-1], store.get_state('demo', 'count'))", "('demo', 'count', 2) 2")
            assert "('demo', 'count', 2) 2" in out

            page.run(readme_cell())  # the README's first notebook cell, as a user pastes it
            expect(page.view(1).locator("#n")).to_have_text("1", timeout=20_000)
            page.view(1).locator("#b").click()
            expect(page.view(1).locator("#n")).to_have_text("2")
            assert page.run_until("print(store.get_state('demo', 'count'))", "2").strip() == "2"
        finally:
            context.close()
    finally:
        lab.stop()


class UserLab(JupyterLab):
    """JupyterLab of the user's venv, in the user's environment (no npm, nothing of this checkout)."""

    name = "user-jupyterlab"

    def __init__(self, release: Release) -> None:
        root = release.home / "notebooks"
        root.mkdir(exist_ok=True)
        super().__init__(root, release.home)
        self.release = release

    def environment(self) -> dict[str, str]:
        inherited = super().environment()
        jupyter = {k: v for k, v in inherited.items() if k.startswith("JUPYTER")}
        return dict(self.release.env(), **jupyter)

    def command(self) -> list[str]:
        argv = super().command()
        return [str(self.release.bin / "jupyter"), *argv[1:]]


def test_in_the_users_venv_missing_parts_name_their_fix(release: Release) -> None:
    """That venv has no cef-capi-py, no redis/orjson and no browser on PATH: doctor and connect say what to install."""
    out = release.run("pytonium-lab", "doctor")
    assert "built JS: ok" in out
    assert "  jupyterlab " in out and "  marimo: not installed" in out
    assert "shared extra (StateStore.connect): missing redis, orjson: pip install 'pytonium_lab[shared]'" in out
    cef = out.split("\n  cef: ", 1)[1].split("\n  chromium: ", 1)[0]
    assert cef.startswith("no - ") and "needs the cef-capi-py package: pip install 'pytonium_lab[cef]'" in cef
    chromium = out.split("\n  chromium: ", 1)[1].split("\n  cefpython3: ", 1)[0]
    assert chromium.startswith("no - ") and "apt-get install chromium" in chromium
    connect = release.run(
        "python",
        "-c",
        "import pytonium_lab\n"
        "try:\n    pytonium_lab.StateStore.connect('redis://127.0.0.1:1/0', 'x')\n"
        "except ImportError as e:\n    print(type(e).__name__, e)",
    )
    assert connect.startswith("ImportError StateStore.connect") and "pip install 'pytonium_lab[shared]'" in connect
