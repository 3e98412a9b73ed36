"""Fixtures for the browser tests: the built site served over http, the planted-fault pages, Chromium, and the
reports of the slow checkers (vnu, Lighthouse), each made once a session.

A missing browser or checker makes these fixtures raise: the tests error, they never skip (CI or not).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .tools import (
    A11Y,
    build_site,
    launch,
    page_url,
    run_lighthouse,
    run_vnu,
    serve,
    site_pages,
)

LIGHTHOUSE_PARALLEL = int(os.environ.get("LIGHTHOUSE_PARALLEL", "2"))
# The planted-fault page that Lighthouse must fail (tests/data/a11y/README.md).
LIGHTHOUSE_FIXTURES = ["no-title.html"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test that takes `name` runs on every page of the site (tools.site_pages)."""
    if "name" in metafunc.fixturenames and metafunc.definition.path.parent == Path(__file__).parent:
        metafunc.parametrize("name", site_pages())


@pytest.fixture(scope="session")
def served_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """The default site, built into a temporary folder and served on 127.0.0.1: (folder, base URL).

    It is built with the server's URL as its base_url, as a published site is, so canonical links point to it."""
    out = tmp_path_factory.mktemp("browser-site") / "output"
    out.mkdir()
    with serve(out) as url:
        build_site(out, base_url=url)
        yield out, url


@pytest.fixture(scope="session")
def site_dir(served_site: tuple[Path, str]) -> Path:
    return served_site[0]


@pytest.fixture(scope="session")
def site_url(served_site: tuple[Path, str]) -> str:
    return served_site[1]


@pytest.fixture(scope="session")
def fixtures_url() -> Iterator[str]:
    """tests/data/a11y/ served on 127.0.0.1."""
    with serve(A11Y) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


OpenPage = Callable[..., object]


@pytest.fixture
def open_page(browser) -> Iterator[OpenPage]:  # type: ignore[no-untyped-def]
    """open_page(url, width=1280, scheme='light', js=True): a loaded page in a fresh browser context."""
    contexts = []

    def _open(url: str, width: int = 1280, scheme: str = "light", js: bool = True):  # type: ignore[no-untyped-def]
        context = browser.new_context(viewport={"width": width, "height": 640 if width < 600 else 800},
                                      java_script_enabled=js)
        contexts.append(context)
        page = context.new_page()
        page.emulate_media(color_scheme=scheme)
        response = page.goto(url, wait_until="load")
        assert response is not None and response.ok, f"{url} did not load: {response and response.status}"
        return page

    yield _open
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def vnu_messages(site_dir: Path) -> list[dict]:
    """One Nu HTML Checker run over the whole site (HTML, CSS, SVG) and the planted-fault pages."""
    site_files = sorted(f for f in site_dir.rglob("*") if f.suffix in (".html", ".css", ".svg"))
    return run_vnu([*site_files, *sorted(A11Y.glob("*.html"))])


@pytest.fixture(scope="session")
def lighthouse_reports(site_url: str, fixtures_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """Lighthouse's JSON report for every page and for the planted-fault page, keyed by URL; run once, a few at a
    time."""
    out = tmp_path_factory.mktemp("lighthouse")
    urls = [page_url(site_url, p) for p in site_pages()] + [fixtures_url + f for f in LIGHTHOUSE_FIXTURES]

    def one(i_url: tuple[int, str]) -> tuple[str, dict]:
        i, url = i_url
        return url, run_lighthouse(url, out / f"report-{i}.json")

    with ThreadPoolExecutor(max_workers=LIGHTHOUSE_PARALLEL) as pool:
        return dict(pool.map(one, enumerate(urls)))
