"""Fixtures for the browser tests: the built sites served over http, the planted-fault pages, Chromium, and the
reports of the slow checkers (vnu, Lighthouse), each made once a session for each site.

There are two sites: 'single', the default trial, and 'catalog', a small catalog of trials (catalog_site.py). A test
picks one through `site_kind` (see pytest_generate_tests); each site is built, served and checked by vnu and
Lighthouse at most once a session, when a test first needs it.

A missing browser or checker makes these fixtures raise: the tests error, they never skip (CI or not).
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import pytest

from .catalog_site import CATALOG_LIGHTHOUSE_PAGES, CATALOG_PAGES, build_catalog_site
from .tools import (
    A11Y,
    build_site,
    launch,
    page_url,
    run_lighthouse,
    run_vnu,
    serve,
    settled_lighthouse,
    site_pages,
)

LIGHTHOUSE_PARALLEL = int(os.environ.get("LIGHTHOUSE_PARALLEL", "2"))
# The planted-fault page that Lighthouse must fail (tests/data/a11y/README.md).
LIGHTHOUSE_FIXTURES = ["no-title.html"]
SITES = ["single", "catalog"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test that takes `name` runs on every page of the single site (tools.site_pages) and on one page of each
    kind of the catalog site (catalog_site.CATALOG_PAGES; for Lighthouse, CATALOG_LIGHTHOUSE_PAGES). A test that
    takes site_dir or site_url itself, but not `name`, runs once on each site. Ids: the single site's pages by name
    alone, as before the catalog came; the catalog's prefixed 'catalog:'."""
    if metafunc.definition.path.parent != Path(__file__).parent:
        return
    if "name" in metafunc.fixturenames:
        catalog = CATALOG_LIGHTHOUSE_PAGES if metafunc.function.__name__ == "test_lighthouse" else CATALOG_PAGES
        pairs = [("single", p) for p in site_pages()] + [("catalog", p) for p in catalog]
        metafunc.parametrize(("site_kind", "name"), pairs, indirect=["site_kind"],
                             ids=[p if kind == "single" else f"catalog:{p}" for kind, p in pairs])
    elif {"site_dir", "site_url"} & set(inspect.signature(metafunc.function).parameters):
        metafunc.parametrize("site_kind", SITES, indirect=True)


@pytest.fixture
def site_kind(request: pytest.FixtureRequest) -> str:
    """The site a test runs on: 'single' unless the test is parametrized with 'catalog'."""
    return str(getattr(request, "param", "single"))


class _Once:
    """A value for each key, made by `make` the first time it is asked for."""

    def __init__(self, make: Callable[[str], object]) -> None:
        self.make = make
        self.made: dict[str, object] = {}

    def __getitem__(self, key: str):  # type: ignore[no-untyped-def]
        if key not in self.made:
            self.made[key] = self.make(key)
        return self.made[key]


@pytest.fixture(scope="session")
def _served_sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Once]:
    """Each site, built into a temporary folder and served on 127.0.0.1: (folder, base URL).

    It is built with the server's URL as its base_url, as a published site is, so canonical links point to it."""
    with ExitStack() as stack:
        def make(kind: str) -> tuple[Path, str]:
            out = tmp_path_factory.mktemp(f"browser-{kind}") / "output"
            out.mkdir()
            url = stack.enter_context(serve(out))
            if kind == "catalog":
                build_catalog_site(out, base_url=url)
            else:
                build_site(out, base_url=url)
            return out, url

        yield _Once(make)


@pytest.fixture
def served_site(site_kind: str, _served_sites: _Once) -> tuple[Path, str]:
    """The site the test runs on, served: (folder, base URL)."""
    return _served_sites[site_kind]  # type: ignore[no-any-return]


@pytest.fixture
def catalog_url(_served_sites: _Once) -> str:
    """The base URL of the catalog site, served (for the catalog's own tests, which run on it alone)."""
    return _served_sites["catalog"][1]  # type: ignore[no-any-return]


@pytest.fixture
def site_dir(served_site: tuple[Path, str]) -> Path:
    return served_site[0]


@pytest.fixture
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
def _vnu_runs(_served_sites: _Once) -> _Once:
    """One Nu HTML Checker run over each whole site (HTML, CSS, SVG); the single site's with the planted-fault
    pages."""
    def make(kind: str) -> list[dict]:
        site_dir = _served_sites[kind][0]
        site_files = sorted(f for f in site_dir.rglob("*") if f.suffix in (".html", ".css", ".svg"))
        return run_vnu([*site_files, *(sorted(A11Y.glob("*.html")) if kind == "single" else [])])

    return _Once(make)


@pytest.fixture
def vnu_messages(site_kind: str, _vnu_runs: _Once) -> list[dict]:
    return _vnu_runs[site_kind]  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def _lighthouse_runs(_served_sites: _Once, fixtures_url: str, tmp_path_factory: pytest.TempPathFactory) -> _Once:
    """Lighthouse's JSON reports, keyed by URL, for each site: every page of the single site and the planted-fault
    page; the catalog's CATALOG_LIGHTHOUSE_PAGES. Run once a site, a few at a time."""
    def make(kind: str) -> dict[str, dict]:
        site_url = _served_sites[kind][1]
        out = tmp_path_factory.mktemp(f"lighthouse-{kind}")
        if kind == "catalog":
            urls = [page_url(site_url, p) for p in CATALOG_LIGHTHOUSE_PAGES]
        else:
            urls = [page_url(site_url, p) for p in site_pages()] + [fixtures_url + f for f in LIGHTHOUSE_FIXTURES]

        def one(i_url: tuple[int, str]) -> tuple[str, dict]:
            i, url = i_url
            return url, run_lighthouse(url, out / f"report-{i}.json")

        with ThreadPoolExecutor(max_workers=LIGHTHOUSE_PARALLEL) as pool:
            reports = dict(pool.map(one, enumerate(urls)))
        return {url: settled_lighthouse(url, out / f"report-{i}.json", reports[url]) for i, url in enumerate(urls)}

    return _Once(make)


@pytest.fixture
def lighthouse_reports(site_kind: str, _lighthouse_runs: _Once) -> dict[str, dict]:
    return _lighthouse_runs[site_kind]  # type: ignore[no-any-return]
