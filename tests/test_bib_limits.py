"""Bounds on BibTeX input: explosive files are refused (or read) within 5 CPU seconds and 500 MB, measured in
a child process with resource limits; and the rules that go with them (field length, entries nothing cites)."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from sitegen.bib import (
    MAX_BYTES,
    MAX_ENTRIES,
    check_bibliography,
    format_reference_html,
    load_bibliography,
)
from sitegen.errors import ContentError
from sitegen.load import MAX_TEXT

ROOT = Path(__file__).resolve().parent.parent
CPU_SECONDS = 5
MEMORY = 500 * 2**20

LATEX_TITLE = "{\\\"U}ber die {DNA} caf\\'e--bar in {\\v C}esk\\'y $\\alpha$ " * 170  # 9,520 characters of LaTeX


def doubling(levels: int) -> str:
    """@string{a1 = a0 # a0} ... : each macro twice the one before, and an entry using the last."""
    lines = ["@string{a0 = {x}}"] + [f"@string{{a{n} = a{n - 1} # a{n - 1}}}" for n in range(1, levels + 1)]
    return "\n".join(lines) + f"\n@article{{k, title = a{levels}, year = 2020}}\n"


def uncited_latex(entries: int) -> str:
    return "".join(f"@article{{k{n}, title = {{{LATEX_TITLE}}}, year = 2020}}\n" for n in range(entries))


def long_title(size: int) -> str:
    return "@article{k,\n  year = 2020,\n  title = {" + "caf\\'e " * (size // 7) + "}\n}\n"


EXPLOSIVE: dict[str, tuple[Callable[[], str], bool]] = {
    # name: (the file's text, whether a page cites entry "k")
    "macro doubling, 22 levels": (lambda: doubling(22), True),
    "macro doubling, 29 levels": (lambda: doubling(29), True),
    "LaTeX in 500 entries nothing cites": (lambda: uncited_latex(500), False),
    "a 1 MB title, cited": (lambda: long_title(1_000_000), True),
    "a 1 MB title, not cited": (lambda: long_title(1_000_000), False),
    "a million braces in quotes": (lambda: '@article{k, title = "' + "{}" * 1_000_000 + '", year = 2020}\n', True),
    "half a million undefined macros": (lambda: "@article{k, title = a" + " # a" * 500_000 + "}\n", True),
    "too many entries": (lambda: "".join(f"@misc{{k{n}, title = {{T}}}}\n" for n in range(MAX_ENTRIES + 1)), False),
    "one key 200,000 times": (lambda: "@misc{k, title = {T}}\n" * 200_000, True),
    "macros amplified": (
        lambda: "@string{b = {" + "x" * 9_000 + "}}\n" + "".join(f"@string{{a{n} = b # {{y}}}}\n" for n in range(100_000)),
        False,
    ),
    "fields amplified": (
        lambda: "@string{b = {" + "x" * 9_000 + "}}\n@misc{k, " + ", ".join(f"f{n} = b" for n in range(200_000)) + "}\n",
        False,
    ),
    "a crossref chain through 10,000 entries": (
        lambda: "".join(f"@misc{{k{n}, title = {{T}}, crossref = {{k{n + 1}}}}}\n" for n in range(MAX_ENTRIES)),
        True,
    ),
    "a file over the size limit": (lambda: "%" * (MAX_BYTES + 1), False),
    "a file full of @": (lambda: "@" * MAX_BYTES, False),
    "a file full of broken entries": (lambda: "@a{," * (MAX_BYTES // 4), False),
    "5 MB of short concatenations": (
        lambda: "@string{b = {x}}\n" + "".join(f"@misc{{k{n}, title = b" + " # b" * 2000 + "}\n" for n in range(600)),
        True,
    ),
    "5 MB of braces": (lambda: "".join(f"@misc{{k{n}, title = {{" + "{}" * 4000 + "}}\n" for n in range(600)), False),
    "an author list of 190,000 characters of braces, cited": (
        lambda: "@article{k, title = {T}, year = 2020, author = {" + "{a} " * 47_500 + "}}\n", True),
    "an author list of 190,000 characters of accents, cited": (
        lambda: "@article{k, title = {T}, year = 2020, author = {" + "\\\"a and " * 23_700 + "}}\n", True),
    "a million comment lines in an entry, cited": (lambda: "@article{k, title = {T},\n" + "%\n" * 1_000_000 + "}\n", True),
    "an edition of 10,000 dots and spaces, cited": (
        lambda: "@book{k, title = {T}, publisher = {P}, year = 2020, edition = {" + ". " * 4_999 + "x}}\n", True),
    "an edition of 5,000 digits, cited": (  # a traceback: int() refuses more than 4,300 digits
        lambda: "@book{k, title = {T}, publisher = {P}, year = 2020, edition = " + "1" * 5_000 + "}\n", True),
    "10,000 entries naming an @xdata that names another 4,000 times": (
        lambda: "@xdata{x, xdata = {" + "y," * 4_000 + "}}\n@xdata{y, year = 2020}\n"
        + "".join(f"@misc{{k{n}, title = {{T}}, xdata = {{x}}}}\n" for n in range(9_990)), True),
    "a symlink to /dev/zero": (lambda: "", False),
    "a FIFO": (lambda: "", False),
}


def _explode(name: str, folder: str) -> None:
    """In the child: write the input, then read it as a build does under the limits, and print the outcome."""
    make, cited = EXPLOSIVE[name]
    path = Path(folder) / "references.bib"
    if name == "a symlink to /dev/zero":
        path.symlink_to("/dev/zero")
    elif name == "a FIFO":
        os.mkfifo(path)
    else:
        path.write_text(make(), encoding="utf-8")
    used = resource.getrusage(resource.RUSAGE_SELF)
    spent = int(used.ru_utime + used.ru_stime)  # rounded down: the child gets at most CPU_SECONDS from here
    resource.setrlimit(resource.RLIMIT_CPU, (spent + CPU_SECONDS, spent + CPU_SECONDS + 1))
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
    try:
        refs = load_bibliography(path)
        warnings = check_bibliography(refs, {"k"} if cited else set())
        for key in ["k"] if cited and "k" in refs else []:
            format_reference_html(refs[key])
        outcome = {"refused": False, "problems": [str(p) for p in warnings[:3]]}
    except ContentError as error:
        outcome = {"refused": True, "problems": [str(p) for p in error.problems[:3]]}
    after = resource.getrusage(resource.RUSAGE_SELF)
    outcome["cpu"] = after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime
    outcome["max_rss_mb"] = after.ru_maxrss / 1024
    print(json.dumps(outcome))


def explode(name: str, tmp_path: Path) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.run(
        [sys.executable, __file__, name, str(tmp_path)], capture_output=True, text=True, env=env, timeout=120, check=False,
    )
    assert child.returncode == 0, f"killed at the limits or failed ({child.returncode}): {child.stderr[-2000:]}"
    outcome: dict[str, object] = json.loads(child.stdout)
    return outcome


@pytest.mark.parametrize("name", list(EXPLOSIVE))
def test_explosive_bibtex_is_refused_or_read_within_5_cpu_seconds_and_500_mb(name: str, tmp_path: Path) -> None:
    outcome = explode(name, tmp_path)
    problems = outcome["problems"]
    assert isinstance(problems, list)
    assert all(str(tmp_path / "references.bib") in p for p in problems), problems
    if name.startswith("macro doubling"):  # refused where the value first passes the limit: a14 is 16,384 characters
        assert outcome["refused"] and problems[0].endswith(f"a14: expected a value of at most {MAX_TEXT:,} characters, got 16,384"), problems
        assert ":15:" in problems[0]
    refused = {
        "a 1 MB title, cited": "title: expected a value of at most 10,000 characters, got 999,999",
        "too many entries": "more than 10,000 entries",
        "one key 200,000 times": "more than 10,000 entries",
        "macros amplified": "the values of the file come to more than",
        "fields amplified": "the values of the file come to more than",
        "a file over the size limit": "may be at most 5 MB",
        "a file full of broken entries": "more than 50,000 @ commands",
        "a symlink to /dev/zero": "an input must be a regular file",
        "a FIFO": "an input must be a regular file",
    }
    if name in refused:
        assert outcome["refused"] and any(refused[name] in p for p in problems), outcome
    if name == "an edition of 10,000 dots and spaces, cited":  # linear: 2.3 s when a regex backtracked at each dot
        assert isinstance(outcome["cpu"], float) and outcome["cpu"] < 0.5, outcome
    if name in ("LaTeX in 500 entries nothing cites", "10,000 entries naming an @xdata that names another 4,000 times", "an edition of 5,000 digits, cited", "a million comment lines in an entry, cited", "an author list of 190,000 characters of braces, cited",
                "an author list of 190,000 characters of accents, cited", "a 1 MB title, not cited", "a crossref chain through 10,000 entries",
                "a file full of @", "5 MB of short concatenations", "5 MB of braces"):
        assert not outcome["refused"], outcome


if __name__ == "__main__":
    _explode(sys.argv[1], sys.argv[2])
