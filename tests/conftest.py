"""Shared fixtures: a copy of the default project in a temporary folder, and a built default site."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from sitegen.build import build
from sitegen.project import Project

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test of tests/browser/ `browser`, so that `-m "not browser"` runs the fast tier."""
    browser = ROOT / "tests" / "browser"
    for item in items:
        if item.path.is_relative_to(browser):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session", autouse=True)
def user_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """This run's own per-user cache (compiled templates), for it and the processes it starts: the tests neither
    read what another run left in ~/.cache nor leave their many projects' templates there."""
    folder = tmp_path_factory.mktemp("user-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(folder))
        yield folder


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """A copy of the default content, templates and static files that a test may change."""
    shutil.copytree(ROOT / "content", tmp_path / "content")
    for name in ("templates", "static"):  # full copies of sitegen's own, for tests that edit them
        shutil.copytree(ROOT / "sitegen" / name, tmp_path / name)
    return Project(tmp_path / "content", tmp_path / "templates", tmp_path / "static")


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default site, built once for the read-only tests."""
    out = tmp_path_factory.mktemp("site") / "output"
    build(Project.at(ROOT / "content"), out)
    return out
