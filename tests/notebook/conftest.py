"""Fixtures: one real JupyterLab per session, one headless Chromium, a fresh notebook per test.

Missing tools fail loudly: a notebook test that silently skips proves nothing.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from hostharness import JupyterHost, Marimo, MarimoPage, Voila, VoilaPage
from labharness import CHROMIUM, CHROMIUM_ARGS, JupyterLab, LabPage, Notebook7, Server

_names = itertools.count()


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLab]:
    root = tmp_path_factory.mktemp("lab-root")
    home = tmp_path_factory.mktemp("lab-home")
    server = JupyterLab(root, home)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (never `playwright install`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def notebook_page(lab: JupyterLab, browser: object) -> Iterator[Callable[..., LabPage]]:
    """``notebook_page(path) -> LabPage``: opens a notebook of the lab's root and runs all its cells."""
    contexts = []

    def open_page(name: str, *, run: bool = True) -> LabPage:
        context = browser.new_context(viewport={"width": 1200, "height": 900})  # type: ignore[attr-defined]
        contexts.append(context)
        page = LabPage(lab, context.new_page())
        page.open(name)
        if run:
            page.run_all()
        return page

    yield open_page
    for context in contexts:
        context.close()
    lab.shutdown_kernels()


@pytest.fixture
def notebook(lab: JupyterLab, notebook_page: Callable[..., LabPage]) -> Callable[..., LabPage]:
    """``notebook(cells) -> LabPage``: writes a fresh notebook of ``cells``, opens it, runs it."""

    def open_notebook(cells: list[str], *, run: bool = True) -> LabPage:
        name = f"nb{next(_names)}.ipynb"
        lab.write_notebook(name, cells)
        return notebook_page(name, run=run)

    return open_notebook


def _server(kind: type[Server], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = kind(tmp_path_factory.mktemp(f"{kind.name}-root"), tmp_path_factory.mktemp(f"{kind.name}-home"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def notebook7(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _server(Notebook7, tmp_path_factory)


@pytest.fixture(scope="session")
def voila(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _server(Voila, tmp_path_factory)


@pytest.fixture(scope="session")
def marimo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _server(Marimo, tmp_path_factory)


_PAGES = {"jupyterlab": JupyterHost, "notebook7": JupyterHost, "marimo": MarimoPage, "voila": VoilaPage}


@pytest.fixture
def host(request: pytest.FixtureRequest, browser: object) -> Iterator[Callable[..., object]]:
    """``host(cells) -> page``: one document of ``cells`` on the host named by the test's
    ``host`` parameter (a server per host per session), opened in a fresh browser context
    and run. The page has ``run``, ``rerun_widget_cell``, the views, and ``errors``."""
    kind = request.param
    server = request.getfixturevalue("lab" if kind == "jupyterlab" else kind)
    contexts, pages = [], []

    def open_document(cells: list[str]) -> object:
        suffix = ".py" if kind == "marimo" else ".ipynb"
        name = f"{kind}{next(_names)}{suffix}"
        server.write_notebook(name, cells)  # type: ignore[attr-defined]
        context = browser.new_context(viewport={"width": 1200, "height": 900})  # type: ignore[attr-defined]
        contexts.append(context)
        page = _PAGES[kind](server, context.new_page())
        pages.append(page)
        page.open(name)
        if kind in ("jupyterlab", "notebook7"):
            page.run_all()
        return page

    yield open_document
    for page in pages:
        close = getattr(page, "close", None)
        if close is not None:
            close()
    for context in contexts:
        context.close()
    if kind in ("jupyterlab", "notebook7"):
        server.shutdown_kernels()  # type: ignore[attr-defined]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.e2e)
