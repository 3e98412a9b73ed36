"""Hostile content (issue 15): what an attacker or an accident can put in the content is refused with its position or
shown as text, never run, never merged with other content, never printed raw to a terminal, and never allowed to
eat the machine."""

from __future__ import annotations

from pathlib import Path

from sitegen.build import Project, build
from sitegen.cli import main


def _answer(project: Project, prose: str) -> None:
    """Put a first FAQ entry answered by `prose` (one line of YAML) in the default trial."""
    trial = project.content / "trial.yaml"
    text = trial.read_text(encoding="utf-8")
    trial.write_text(text.replace("\nfaq:\n", f"\nfaq:\n  - question: What if?\n    answer: {prose}\n", 1), encoding="utf-8")


def test_control_characters_quoted_from_content_are_escaped_in_errors(project: Project, capsys) -> None:
    trial = project.content / "trial.yaml"
    hostile = "\\e]0;owned\\a\\e[2J\\u202e"  # YAML's escapes for ESC, BEL and a right-to-left override
    trial.write_text(trial.read_text(encoding="utf-8").replace("\nstatus:", f'\n"{hostile}": 1\nstatus:', 1),
                     encoding="utf-8")
    assert main(["check", "--content", str(project.content)]) == 1
    err = capsys.readouterr().err
    assert "unknown field" in err
    assert "\x1b" not in err and "\x07" not in err and "\u202e" not in err
    assert "\\x1b]0;owned\\x07\\x1b[2J\\u202e" in err


def test_placeholder_text_in_prose_cannot_move_a_citation_into_an_attribute(project: Project, tmp_path: Path) -> None:
    _answer(project, '"See [the registry](https://example.org/ \\"sitegencitation0x sitegencitation1x [@chen2021]\\") '
                     'and this [@chen2021]."')
    build(project, tmp_path / "out")
    faq = (tmp_path / "out" / "faq" / "index.html").read_text(encoding="utf-8")
    title = faq.split('<a href="https://example.org/" title="', 1)[1].split('"', 1)[0]
    assert "<" not in title and "cite" not in title
    assert title.startswith("sitegencitation0x sitegencitation1x [")
    assert 'and this <sup class="cite"' in faq


def test_a_script_tag_in_a_code_span_is_shown_as_text(project: Project, tmp_path: Path) -> None:
    _answer(project, '"Type `<script>x</script>` and `<!-- y -->`; <script>alert(1)</script>gone."')
    build(project, tmp_path / "out")
    faq = (tmp_path / "out" / "faq" / "index.html").read_text(encoding="utf-8")
    assert "Type <code>&lt;script&gt;x&lt;/script&gt;</code> and <code>&lt;!-- y --&gt;</code>; gone." in faq
    assert "alert(1)" not in faq
