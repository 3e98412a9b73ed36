"""Property: whatever an editor does to trial.yaml or references.bib, the result is a build or a clean error.

Never a traceback, never a half-written output: the previous site stays byte-for-byte as it was.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sitegen.build import build
from sitegen.errors import ContentError
from sitegen.project import Project

ROOT = Path(__file__).resolve().parent.parent
TRIAL = (ROOT / "content" / "trial.yaml").read_text(encoding="utf-8")
BIB = (ROOT / "content" / "references.bib").read_text(encoding="utf-8")

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

values = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 10**12), st.floats(allow_nan=True), st.text(max_size=30),
    st.lists(st.text(max_size=10), max_size=3), st.dictionaries(st.text(max_size=8), st.integers(), max_size=2),
    st.dates(), st.sampled_from(["<script>alert(1)</script>", "javascript:alert(1)", "[@nobody]", "../../etc", "\t"]),
)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(data, dict):
        for k, v in data.items():
            found += _paths(v, prefix + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            found += _paths(v, prefix + (i,))
    return found


@st.composite
def structural_mutation(draw: st.DrawFn) -> str:
    """The default trial with one value replaced, or one field deleted, then written back as YAML."""
    data = yaml.safe_load(TRIAL)
    paths = _paths(data)
    path = draw(st.sampled_from(paths))
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    if draw(st.booleans()):
        parent[path[-1]] = draw(values)
    elif isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent.pop(path[-1])
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


@st.composite
def text_mutation(draw: st.DrawFn, source: str) -> str:
    """The text with a few random edits: characters inserted, deleted or replaced, lines duplicated or cut."""
    text = source
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["insert", "delete", "line", "truncate"]))
        if kind == "insert":
            text = text[:at] + draw(st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=5)) + text[at:]
        elif kind == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 20)):]
        elif kind == "line":
            lines = text.splitlines(keepends=True)
            if lines:
                i = draw(st.integers(0, len(lines) - 1))
                lines.insert(i, lines[i])
                text = "".join(lines)
        else:
            text = text[:at]
    return text


def _check_clean(project: Project, output: Path, before: dict[str, bytes]) -> None:
    try:
        build(project, output)
    except ContentError as e:
        assert e.problems, "an error must say what is wrong"
        for p in e.problems:
            assert p.file and p.message and "Traceback" not in p.message
        after = {f.relative_to(output).as_posix(): f.read_bytes() for f in output.rglob("*") if f.is_file()}
        assert after == before, "a failed build changed the output"
        return
    assert (output / "index.html").is_file()


_BUILT: dict[str, Path] = {}


def _fresh(tmp_path: Path) -> tuple[Project, Path, dict[str, bytes]]:
    """A copy of the default project and of its built site (built once per session, copied after)."""
    shutil.copytree(ROOT / "content", tmp_path / "content")
    for name in ("templates", "static"):  # full copies of sitegen's own, for tests that edit them
        shutil.copytree(ROOT / "sitegen" / name, tmp_path / name)
    project = Project(tmp_path / "content", tmp_path / "templates", tmp_path / "static")
    output = tmp_path / "output"
    if "site" not in _BUILT:
        build(project, output)
        _BUILT["site"] = output
    else:
        shutil.copytree(_BUILT["site"], output)
    before = {f.relative_to(output).as_posix(): f.read_bytes() for f in output.rglob("*") if f.is_file()}
    return project, output, before


@SETTINGS
@given(text=st.one_of(structural_mutation(), text_mutation(TRIAL)))
def test_mutated_trial_yaml_builds_or_fails_cleanly(tmp_path_factory: Any, text: str) -> None:
    project, output, before = _fresh(tmp_path_factory.mktemp("fuzz"))
    (project.content / "trial.yaml").write_text(text, encoding="utf-8")
    _check_clean(project, output, before)


@SETTINGS
@given(text=st.one_of(text_mutation(BIB), st.text(max_size=300)))
def test_random_bibtex_builds_or_fails_cleanly(tmp_path_factory: Any, text: str) -> None:
    project, output, before = _fresh(tmp_path_factory.mktemp("fuzz"))
    (project.content / "references.bib").write_text(text, encoding="utf-8")
    _check_clean(project, output, before)
