"""Readability in `sitegen check`: Flesch-Kincaid grades that match a hand computation, warnings above the target
grade, and undefined abbreviations reported at their file and line; offline, and strict only when asked."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from sitegen.cli import main
from sitegen.project import Project
from sitegen.readability import count, flesch_kincaid_grade, plain_language, sentences
from sitegen.site import load_site

ROOT = Path(__file__).resolve().parent.parent
FIXED = "The cat sat on the mat. It was a sunny day, and the children played outside."


def test_the_grade_of_a_fixed_text_matches_a_computation_by_hand() -> None:
    # Counted by hand: "The cat sat on the mat." has 6 words of one syllable each; "It was a sunny day, and the
    # children played outside." has 10 words: it, was, a, sun-ny, day, and, the, chil-dren, played, out-side,
    # so 7 + 3 × 2 = 13 syllables. 16 words, 2 sentences, 19 syllables.
    words, sentences_, syllables = 16, 2, 6 + 13
    by_hand = 0.39 * (words / sentences_) + 11.8 * (syllables / words) - 15.59
    assert by_hand == pytest.approx(1.5425)
    counted = count(FIXED)
    assert (counted.words, counted.sentences, counted.syllables) == (words, sentences_, syllables)
    assert counted.grade == pytest.approx(by_hand)
    assert flesch_kincaid_grade(words, sentences_, syllables) == pytest.approx(by_hand)


def test_the_grade_is_textstats_own_formula_unrounded() -> None:
    from textstat.textstat import textstatistics

    ts = textstatistics()
    ts.set_rounding(False)
    text = (ROOT / "tests" / "data" / "trial-listing.txt").read_text(encoding="utf-8")[:3000]
    text = re.sub(r"\d\.\d", "", text)  # no decimals: there the two split sentences differently, on purpose
    assert count(text).grade == pytest.approx(ts.flesch_kincaid_grade(text))


def test_decimals_and_vs_do_not_end_a_sentence() -> None:
    text = "Survival was 4.1 months vs. 2.2 months. Then it ended."
    assert count(text).sentences == 2
    assert sentences(text) == ["Survival was 4.1 months vs. 2.2 months.", "Then it ended."]


def test_textstat_counts_without_a_network() -> None:
    code = (
        "import socket\n"
        "def refuse(*a, **k): raise OSError('no network in this test')\n"
        "socket.socket.connect = refuse\nsocket.create_connection = refuse\nsocket.getaddrinfo = refuse\n"
        "from sitegen.readability import count\n"
        f"print(count({FIXED!r}).syllables)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "19"


def test_check_prints_a_grade_per_section_and_warns_above_the_target(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--content", str(project.content)]) == 0
    out, err = capsys.readouterr()
    table = out[out.index("Readability"):]
    for section in ("Summary", "FAQ", "Eligibility", "Timeline", "Treatment arms", "Findings"):
        row = re.search(rf"^  {re.escape(section)} +(\d+\.\d) +(\d+) +(\d+)", table, re.MULTILINE)
        assert row, (section, table)
    trial = project.content / "trial.yaml"
    # The purpose's field starts at line 59 of the default trial.yaml; its longest sentence is the first one.
    warning = re.search(rf"^{re.escape(str(trial))}:(\d+):\d+: warning: Summary: reads at grade (\d+\.\d), above "
                        r"the target of 8; longest sentences:\n    line (\d+), (\d+) words: \"This phase II trial", err, re.MULTILINE)
    assert warning, err
    lines = trial.read_text(encoding="utf-8").splitlines()
    assert lines[int(warning.group(1)) - 1].startswith("purpose:")
    assert lines[int(warning.group(3)) - 1].strip().startswith("This phase II trial compares")
    assert "words not in the glossary: interfere, ability, abnormal" in err
    edit = project.content / "site.yaml"
    edit.write_text(edit.read_text(encoding="utf-8").replace("target_grade: 8", "target_grade: 20"), encoding="utf-8")
    assert main(["check", "--content", str(project.content)]) == 0
    out, err = capsys.readouterr()
    assert "warning: Summary: reads at grade" not in err and "target grade 20" in out
    assert "warning: Findings: reads at grade" in err  # long sentences of study results: above 20


def _answer_line(trial: Path, token: str) -> tuple[int, int]:
    for number, line in enumerate(trial.read_text(encoding="utf-8").splitlines(), 1):
        if token in line:
            return number, line.index(token) + 1
    raise AssertionError(token)


def test_an_undefined_abbreviation_in_a_faq_answer_is_reported_at_its_file_and_line(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    trial = project.content / "trial.yaml"
    text = trial.read_text(encoding="utf-8")
    text = text.replace("responded to other treatments, offering",
                        "responded to other treatments or to TKIs, offering", 1)  # faq[3].answer
    text = text.replace("fatigue and cough.", "fatigue and cough, as in the US on the performance scale (ECOG).", 1)
    trial.write_text(text, encoding="utf-8")
    assert main(["check", "--content", str(project.content)]) == 0
    err = capsys.readouterr().err
    line, column = _answer_line(trial, "TKIs")
    assert (f"{trial}:{line}:{column}: warning: faq[3].answer: 'TKIs' looks like an abbreviation that is neither in "
            "the glossary nor known to be plain") in err
    flagged = re.findall(r"'([A-Za-z0-9-]+)' looks like an abbreviation", err)
    assert flagged == ["TKIs"]  # ECOG is spelled out in place, US is plain, the glossary defines the rest


def test_strict_fails_on_readability_only_when_the_settings_ask(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    trial = project.content / "trial.yaml"
    trial.write_text(trial.read_text(encoding="utf-8").replace(
        "before starting the trial.\n  - question", "before starting the trial.[@chen2021]\n  - question", 1).replace(
        "updated: 2026-11-24", "updated: 2026-05-24"), encoding="utf-8")  # and checked before the places' month ended
    assert load_site(Project.at(project.content, project.templates, project.static)).warnings == []
    assert main(["check", "--strict", "--content", str(project.content)]) == 0
    assert "warning: FAQ: reads at grade" in capsys.readouterr().err
    settings = project.content / "site.yaml"
    settings.write_text(settings.read_text(encoding="utf-8").replace("strict: false", "strict: true"), encoding="utf-8")
    assert main(["check", "--content", str(project.content)]) == 0  # without --strict, still warnings
    capsys.readouterr()
    assert main(["check", "--strict", "--content", str(project.content)]) == 1
    err = capsys.readouterr().err
    assert re.search(r"trial\.yaml:\d+:\d+: FAQ: reads at grade", err) and "warning: FAQ" not in err


def test_readability_settings_are_validated_at_their_line(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    settings = project.content / "site.yaml"
    text = settings.read_text(encoding="utf-8").replace("target_grade: 8", "target_grade: eight")
    settings.write_text(text, encoding="utf-8")
    assert main(["check", "--content", str(project.content)]) == 1
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "eight" in row)
    assert f"site.yaml:{line}:17: readability.target_grade: expected a number, got 'eight'" in capsys.readouterr().err


def test_a_long_glossary_definition_is_a_warning(project: Project) -> None:
    glossary = project.content / "glossary.yaml"
    text = glossary.read_text(encoding="utf-8").replace(
        'definition: Swallowed, such as a pill or a liquid. PO comes from the Latin "per os".',
        'definition: Swallowed, such as a pill or a liquid. PO comes from the Latin "per os". It is old. It is very old.', 1)
    glossary.write_text(text, encoding="utf-8")
    site = load_site(Project.at(project.content, project.templates, project.static))
    warnings = [w for w in plain_language(site).warnings if "glossary.yaml" in w.file]
    assert [(w.line, w.message) for w in warnings] == [
        (12, "terms[0].definition: 4 sentences; keep a definition to one or two")]


def test_roman_numeral_after_stage_is_not_an_abbreviation_warning(project, capsys) -> None:
    from sitegen.cli import main

    trial = project.content / "trial.yaml"
    trial.write_text(trial.read_text().replace(
        "before starting the trial.\n  - question", "before starting the trial. Stage IV disease is allowed.\n  - question", 1))
    main(["check", "--content", str(project.content)])
    assert "'IV' looks like an abbreviation" not in capsys.readouterr().err
