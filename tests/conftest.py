"""Shared fixtures: a copy of the default project in a temporary folder, and a built default site."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sitegen.build import Project, build

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """A copy of the default content, templates and static files that a test may change."""
    for name in ("content", "templates", "static"):
        shutil.copytree(ROOT / name, tmp_path / name)
    return Project(tmp_path / "content", tmp_path / "templates", tmp_path / "static")


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default site, built once for the read-only tests."""
    out = tmp_path_factory.mktemp("site") / "output"
    build(Project(ROOT / "content", ROOT / "templates", ROOT / "static"), out)
    return out
