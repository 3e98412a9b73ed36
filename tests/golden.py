"""Golden output: small fixture projects built and compared with checked-in output trees in tests/expected/.

Every change to what sitegen writes shows in review as a diff of those trees. After a change that is meant to
alter the output, regenerate them and commit the diff with the change:

    python -m tests.golden

The fixtures are the default trial (content/) and a catalog of five synthetic trials (tests/data/golden-catalog/,
made by bench/catalog.py's generator, one title changed to 'Trial 10' to show the natural order of titles).
Every file is compared, the catalog's search index and the token in its marker file (a digest of every file of
the site) among them.
"""

from __future__ import annotations

import difflib
import shutil
import sys
import tempfile
from pathlib import Path

from sitegen.build import build
from sitegen.project import Project

ROOT = Path(__file__).resolve().parent.parent
EXPECTED = ROOT / "tests" / "expected"
FIXTURES = {"single": ROOT / "content", "catalog": ROOT / "tests" / "data" / "golden-catalog"}
BASE_URL = "https://trials.example.org/sarcoma/"  # a sub-path, so that paths under the base URL show in the output


def built_files(name: str) -> dict[str, bytes]:
    """Every file the fixture `name` builds, by path relative to the output folder."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "output"
        build(Project.at(FIXTURES[name]), out, base_url=BASE_URL, jobs=1)
        return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def expected_files(name: str) -> dict[str, bytes]:
    """The checked-in output tree of the fixture `name`."""
    folder = EXPECTED / name
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def differences(expected: dict[str, bytes], built: dict[str, bytes], context: int = 3, most: int = 200) -> str:
    """A readable account of how `built` differs from `expected`: files missing or extra, and a unified diff of
    each changed file (at most `most` lines in all). Empty when they are the same."""
    lines = [f"missing: {name}" for name in sorted(expected.keys() - built.keys())]
    lines += [f"extra: {name}" for name in sorted(built.keys() - expected.keys())]
    for name in sorted(expected.keys() & built.keys()):
        if expected[name] != built[name]:
            before = expected[name].decode("utf-8", "replace").splitlines(keepends=True)
            after = built[name].decode("utf-8", "replace").splitlines(keepends=True)
            lines += [line.rstrip("\n") for line in difflib.unified_diff(
                before, after, f"expected/{name}", f"built/{name}", n=context)]
    if len(lines) > most:
        rest = f"... {len(lines) - most} more lines; see all with `python -m tests.golden && git diff tests/expected/`"
        lines = [*lines[:most], rest]
    return "\n".join(lines)


def main() -> None:
    """Build every fixture and write its output tree into tests/expected/<name>/."""
    for name in FIXTURES:
        folder = EXPECTED / name
        shutil.rmtree(folder, ignore_errors=True)
        for path, data in built_files(name).items():
            (folder / path).parent.mkdir(parents=True, exist_ok=True)
            (folder / path).write_bytes(data)
        print(f"wrote {folder.relative_to(ROOT)}/", file=sys.stderr)


if __name__ == "__main__":
    main()
