"""Fixtures: one real JupyterLab per session, one headless Chromium, a fresh notebook per test.

Missing tools fail loudly: a notebook test that silently skips proves nothing.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from hostharness import JupyterHost, Marimo, MarimoPage, Voila, VoilaPage
from labharness import JupyterLab, LabPage, Notebook7, Server, headless_chromium

_names = itertools.count()


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLab]:
    root = tmp_path_factory.mktemp("lab-root")
    home = tmp_path_factory.mktemp("lab-home")
    server = JupyterLab(root, home)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One headless Chromium per test module, never per session.

    Why: sync Playwright marks its event loop running on the test thread until it
    stops, so a session-long browser made every later test that starts a loop, or
    asks whether one runs (a ``Pytonium`` picks event-driven delivery when one
    does), see a loop that never turns: tests/desktop after tests/notebook failed.
    """
    with headless_chromium() as chromium:
        yield chromium


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


def _open_document(kind: str, server: Server, browser: object, cells: list[str]) -> tuple[Any, Any]:
    """A new document of ``cells`` on ``server``, opened in a fresh browser context and run."""
    suffix = ".py" if kind == "marimo" else ".ipynb"
    name = f"{kind}{next(_names)}{suffix}"
    server.write_notebook(name, cells)  # type: ignore[attr-defined]
    context = browser.new_context(viewport={"width": 1200, "height": 900})  # type: ignore[attr-defined]
    page = _PAGES[kind](server, context.new_page())
    try:
        page.open(name)
        if kind in ("jupyterlab", "notebook7"):
            page.run_all()
    except BaseException:
        context.close()
        raise
    return context, page


@pytest.fixture
def host(request: pytest.FixtureRequest, browser: object) -> Iterator[Callable[..., object]]:
    """``host(cells) -> page``: one document of ``cells`` on the host named by the test's
    ``host`` parameter (a server per host per session), opened in a fresh browser context
    and run. The page has ``run``, ``rerun_widget_cell``, the views, and ``errors``."""
    kind = request.param
    server = request.getfixturevalue("lab" if kind == "jupyterlab" else kind)
    contexts, pages = [], []

    def open_document(cells: list[str]) -> object:
        context, page = _open_document(kind, server, browser, cells)
        contexts.append(context)
        pages.append(page)
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


class SharedDocuments:
    """One open document per host, reused by the tests that leave it usable; one host open at a time.

    Opening a document (a browser context, a kernel, its cells run) is most of a
    host test's time. Tests that only write state, click and compare share the
    document of their host; a test that fails discards it, so the next one opens
    a fresh one. Items are ordered by host (``pytest_collection_modifyitems``),
    so each host's document opens once.
    """

    def __init__(self, request: pytest.FixtureRequest, browser: object) -> None:
        self.request = request
        self.browser = browser
        self.kind: str | None = None
        self.page: Any = None
        self.context: Any = None

    def get(self, kind: str, cells: list[str]) -> Any:
        if self.page is not None and self.kind == kind:
            return self.page
        self.discard()
        server = self.request.getfixturevalue("lab" if kind == "jupyterlab" else kind)
        self.context, self.page = _open_document(kind, server, self.browser, cells)
        self.kind = kind
        return self.page

    def discard(self) -> None:
        if self.page is None:
            return
        close = getattr(self.page, "close", None)
        if close is not None:
            close()
        self.context.close()
        if self.kind in ("jupyterlab", "notebook7"):
            self.page.lab.shutdown_kernels()
        self.page = self.context = self.kind = None


@pytest.fixture(scope="module")
def shared_documents(request: pytest.FixtureRequest, browser: object) -> Iterator[SharedDocuments]:
    documents = SharedDocuments(request, browser)
    yield documents
    documents.discard()


@pytest.fixture
def shared_host(request: pytest.FixtureRequest, shared_documents: SharedDocuments) -> Iterator[Callable[..., Any]]:
    """``shared_host(cells) -> page``: like ``host``, but the host's open document if there is one
    (opened from ``cells`` otherwise). Discarded when the test fails."""
    kind = request.param
    yield lambda cells: shared_documents.get(kind, cells)
    report = getattr(request.node, "rep_call", None)
    if report is None or not report.passed:
        shared_documents.discard()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def _host_of(item: pytest.Item) -> str | None:
    params = getattr(getattr(item, "callspec", None), "params", {})
    kind = params.get("shared_host", params.get("host"))
    return kind if isinstance(kind, str) else None


_HOST_ORDER = {kind: n for n, kind in enumerate(_PAGES)}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.e2e)
    # The host matrix runs host by host (each shared document opens once); other tests keep their places.
    slots = [
        n for n, item in enumerate(items) if _host_of(item) is not None and Path(item.fspath).name == "test_hosts.py"
    ]
    ordered = sorted((items[n] for n in slots), key=lambda item: _HOST_ORDER.get(_host_of(item) or "", 99))
    for n, item in zip(slots, ordered, strict=True):
        items[n] = item
