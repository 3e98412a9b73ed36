"""The fixture projects build exactly the checked-in output trees (tests/expected/); see tests/golden.py."""

from __future__ import annotations

import pytest
from golden import FIXTURES, built_files, differences, expected_files


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_the_fixture_builds_its_golden_output(name: str) -> None:
    found = differences(expected_files(name), built_files(name))
    assert not found, f"the output of the {name} fixture changed; if that is meant, run `python -m tests.golden` " \
                      f"and commit the diff of tests/expected/:\n{found}"


def test_a_difference_is_shown_as_a_readable_diff() -> None:
    expected = {"index.html": b"<p>Recruiting</p>\n", "faq/index.html": b"same\n"}
    built = {"index.html": b"<p>Completed</p>\n", "new.html": b"x\n"}
    shown = differences(expected, built)
    assert shown.splitlines() == [
        "missing: faq/index.html", "extra: new.html", "--- expected/index.html", "+++ built/index.html",
        "@@ -1 +1 @@", "-<p>Recruiting</p>", "+<p>Completed</p>",
    ]
    assert differences(expected, dict(expected)) == ""
