"""sitegen as a package a user installs: `sitegen new`, a project's own templates and static files overriding
sitegen's one file at a time, and a wheel that works outside the checkout."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from sitegen.build import build
from sitegen.cli import main
from sitegen.errors import ContentError
from sitegen.project import STATIC, TEMPLATES, Project

ROOT = Path(__file__).resolve().parent.parent


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_new_makes_a_project_that_builds_the_default_site(tmp_path: Path, site: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "mysite"
    assert main(["new", str(folder)]) == 0
    assert "sitegen build" in capsys.readouterr().out
    assert sorted(_files(folder)) == [
        ".gitignore", "README.md", "content/glossary.yaml", "content/references.bib", "content/site.yaml",
        "content/trial.yaml", "docs/schema.md", "schema/glossary.schema.json", "schema/site.schema.json",
        "schema/trial.schema.json",
    ]
    assert (folder / "docs" / "schema.md").read_bytes() == (ROOT / "docs" / "schema.md").read_bytes()
    assert _files(folder / "content") == _files(ROOT / "content")  # the default trial, as in the repository
    assert _files(folder / "schema") == _files(ROOT / "schema")  # what trial.yaml's first line points an editor to
    for path in (folder / "content").iterdir():  # the documentation and schemas the files' comments name are here
        for named in re.findall(r"\bdocs/[\w.-]+\.md|(?<=\$schema=\.\./)schema/[\w.-]+", path.read_text()):
            assert (folder / named).is_file(), (path, named)
    assert "$schema=../schema/site.schema.json" in (folder / "content" / "site.yaml").read_text()
    assert "output/" in (folder / ".gitignore").read_text() and ".*.sitegen-*" in (folder / ".gitignore").read_text()
    assert main(["build", "--content", str(folder / "content"), "--output", str(folder / "output")]) == 0
    assert _files(folder / "output") == _files(site)


@pytest.mark.parametrize("existing", ["file", "folder with a file"])
def test_new_refuses_a_place_that_is_taken(tmp_path: Path, existing: str, capsys: pytest.CaptureFixture[str]) -> None:
    taken = tmp_path / "mysite"
    if existing == "file":
        taken.write_text("mine")
    else:
        taken.mkdir()
        (taken / "notes.txt").write_text("mine")
    assert main(["new", str(taken)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert (taken.read_text() if existing == "file" else (taken / "notes.txt").read_text()) == "mine"


def test_a_project_s_own_template_and_static_file_override_sitegen_s_of_that_name_only(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "content", tmp_path / "content")
    (tmp_path / "templates").mkdir()
    base = (TEMPLATES / "base.html").read_text(encoding="utf-8")
    assert '<footer class="site-footer">' in base
    (tmp_path / "templates" / "base.html").write_text(base.replace('<footer class="site-footer">', '<footer class="site-footer" data-mine>', 1), encoding="utf-8")
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "style.css").write_text(":root { --accent: #5a2d82; }\n", encoding="utf-8")
    (tmp_path / "static" / "logo.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>\n", encoding="utf-8")
    out = tmp_path / "output"
    build(Project.at(tmp_path / "content"), out)
    pages = sorted(out.rglob("*.html"))
    assert len(pages) > 5 and all(b"data-mine>" in p.read_bytes() for p in pages)
    assert b"<main" in (out / "faq" / "index.html").read_bytes()  # faq.html is still sitegen's own
    assert (out / "style.css").read_bytes() == b":root { --accent: #5a2d82; }\n"
    assert (out / "favicon.svg").read_bytes() == (STATIC / "favicon.svg").read_bytes()
    assert (out / "logo.svg").is_file() and not (out / "search.js").exists()  # the project's own; a catalog's


def test_a_wheel_installed_in_a_fresh_environment_works_from_any_folder(tmp_path: Path) -> None:
    """`pip wheel .`, installed into a new virtual environment (its libraries taken from this one's, offline), runs
    `sitegen new mysite && cd mysite && sitegen build` far from the checkout, and a templates/base.html of the
    project changes every page."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    source = tmp_path / "source"  # pip builds in the folder it is given: a copy, so the checkout gets no build/
    shutil.copytree(ROOT, source, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", "node_modules", "build", "*.egg-info", "__pycache__", ".*_cache", "output", "tests", "bench"))
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(wheels), str(source)], check=True, env=env, cwd=tmp_path,
                   capture_output=True)
    wheel = next(wheels.glob("sitegen-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        shipped = {name for name in archive.namelist() if name.startswith("sitegen/")}
    package = ROOT / "sitegen"
    assert shipped == {f"sitegen/{p.relative_to(package).as_posix()}" for p in package.rglob("*")
                       if p.is_file() and "__pycache__" not in p.parts} | {
        f"sitegen/starter/content/{p.name}" for p in (ROOT / "content").iterdir()}
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(tmp_path / "venv")
    python = tmp_path / "venv" / "bin" / "python"
    # pip of this environment installs into the new one (--python), with no index: nothing is downloaded
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
                    "--no-index", str(wheel)], check=True, env=env, capture_output=True)
    where = subprocess.run([str(python), "-c", "import sitegen; print(sitegen.__file__)"], cwd=tmp_path, env=env,
                           check=True, capture_output=True, text=True).stdout
    assert where.startswith(str(tmp_path / "venv")), where  # the wheel's sitegen, not the checkout's
    sitegen = tmp_path / "venv" / "bin" / "sitegen"
    subprocess.run([str(sitegen), "new", "mysite"], cwd=tmp_path, env=env, check=True, capture_output=True)
    project = tmp_path / "mysite"
    subprocess.run([str(sitegen), "build"], cwd=project, env=env, check=True, capture_output=True)
    assert (project / "output" / "index.html").is_file() and (project / "output" / "style.css").is_file()
    (project / "templates").mkdir()
    base = (TEMPLATES / "base.html").read_text(encoding="utf-8")
    (project / "templates" / "base.html").write_text(base.replace('<footer class="site-footer">', '<footer class="site-footer" data-mine>', 1), encoding="utf-8")
    subprocess.run([str(sitegen), "build"], cwd=project, env=env, check=True, capture_output=True)
    pages = sorted((project / "output").rglob("*.html"))
    assert len(pages) > 5 and all(b"data-mine>" in p.read_bytes() for p in pages)


def test_a_static_file_named_like_a_page_is_an_error_naming_both(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "content", tmp_path / "content")
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "feed.jsonld").write_text("{}", encoding="utf-8")
    with pytest.raises(ContentError) as refused:
        build(Project.at(tmp_path / "content"), tmp_path / "output")
    message = str(refused.value.problems[0])
    assert "two outputs on one path: made by the feed and by the static file" in message
    assert str(tmp_path / "static" / "feed.jsonld") in message
    assert not (tmp_path / "output").exists()
