"""Registry trials shown as their records say, checked against real ClinicalTrials.gov records (tests/data/ctgov/,
SOURCES.tsv) where an audit of 436 real records found a page saying something else."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import pytest
from test_registry import make_registry_catalog, record

from sitegen.build import build


def built_page(tmp_path: Path, nct: str, study: dict[str, Any], page: str = "") -> str:
    build(make_registry_catalog(tmp_path, {nct: study}), tmp_path / "out", jobs=1)
    return (tmp_path / "out" / "trials" / nct.lower() / page / "index.html").read_text(encoding="utf-8")


def test_a_numbered_list_in_a_description_keeps_the_number_it_starts_at(tmp_path: Path) -> None:
    """NCT06568081's description numbers its stages 1, 2a, 2b and '3. Analysis, resource development and
    dissemination', the last after paragraphs: CommonMark, which the registry writes and shows, starts that list at
    3; Python-Markdown numbered it 1."""
    study = record("NCT06568081")
    assert "\n3. Analysis, resource development" in study["protocolSection"]["descriptionModule"]["detailedDescription"]
    page = built_page(tmp_path, "NCT06568081", study)
    assert re.search(r'<ol start="3">\s*<li>Analysis, resource development and dissemination', page), page


def test_a_link_s_label_shows_the_characters_the_record_escapes(tmp_path: Path) -> None:
    """NCT06648538 names a link 'Mildeca \\[En ligne\\]. Les français " addicts "...': the registry's texts are
    CommonMark, and its link labels escape as its other texts do; the page showed the backslashes."""
    study = record("NCT06648538")
    labels = [link["label"] for link in study["protocolSection"]["referencesModule"]["seeAlsoLinks"]]
    assert any(label.startswith("Mildeca \\[En ligne\\]") for label in labels)
    page = built_page(tmp_path, "NCT06648538", study, "references")
    assert ">Mildeca [En ligne]. Les français" in page and "\\[" not in page


def test_lists_nested_as_commonmark_nests_them_keep_their_items_and_numbers(tmp_path: Path) -> None:
    """NCT06648538's description numbers ten steps ('1. Patient Recruitment:'), each with bullets indented three
    spaces, to the step's text, as CommonMark (the registry's Markdown) nests them; the next step follows the last
    bullet without a blank line. Python-Markdown, which nests by four spaces and starts a list only after a blank
    line, showed steps 2 to 10 as bullets and as '5. Reporting for Adverse Events:' inside a paragraph."""
    study = record("NCT06648538")
    text = study["protocolSection"]["descriptionModule"]["detailedDescription"]
    assert "1. Patient Recruitment:\n\n   * Patient recruitment" in text and "CTMS).\n2. Data Collection:" in text
    page = built_page(tmp_path, "NCT06648538", study)
    section = page[page.index('id="detailed-description"'):]
    steps = ["Patient Recruitment:", "Data Collection:", "Data Management:", "Data Analysis:",
             "Reporting for Adverse Events:", "Change Management:", "Quality Assurance:", "Training and Compliance:",
             "Record Keeping:", "Documentation and Archiving:"]
    assert [step for step in steps if f"<li>\n<p>{step}</p>" not in section] == []
    assert section.count("<ol>") == 1 and "5. Reporting" not in section  # one list of ten steps, none as text
    assert "<li>Patient recruitment procedures will be conducted" in section  # a step's bullets stay bullets


def test_commonmark_list_indents_are_written_as_python_markdown_reads_them() -> None:
    from sitegen.pages import commonmark_indents

    assert commonmark_indents("1. Step\n\n   * detail\n   * more\n2. Next") == (
        "1. Step\n\n    * detail\n    * more\n\n2. Next")
    assert commonmark_indents("* a\n  * b\n* c") == "* a\n    * b\n* c"  # siblings stay a tight list
    assert commonmark_indents("Objectives:\n1. first\n2. second") == "Objectives:\n\n1. first\n2. second"
    assert commonmark_indents("In 2020 we saw\n3. this") == "In 2020 we saw\n3. this"  # a list after text starts at 1
    assert commonmark_indents("Text\n\n    code") == "Text\n\n    code"  # outside a list, lines are left alone


@pytest.mark.parametrize("text", [
    "Results:\n    - a\n    - b",  # an item indented four spaces more than what holds it is text
    "Visits are in week 2 and week\n3. Each visit lasts an hour.\n\n   Participants are paid.",  # no list after text
    "1) First step\n\n   Details of the first step.\n\n2) Second step",  # Python-Markdown reads no '1)' list
    "Intro.\n\n* * *\n\n  Next paragraph, indented two spaces.",  # a thematic break is no item
])
def test_text_that_is_no_list_never_becomes_a_code_block(text: str) -> None:
    """Found by a review of commonmark_indents: lines CommonMark reads as no list item were taken for one, and the
    lines after them indented four spaces, which Python-Markdown shows as code. Each text is shown as paragraphs
    (and a rule), every word kept, as it was before the lists were re-indented."""
    from sitegen.markup import markdown_html
    from sitegen.pages import registry_prose

    shown = markdown_html(registry_prose(text))
    assert "<pre>" not in shown and "<code>" not in shown, shown
    assert re.sub(r"<[^>]+>|\s+", "", shown) == re.sub(r"[\s*]+", "", text), shown  # (the rule's '*' aside)


def test_an_empty_item_right_after_text_leaves_its_heading() -> None:
    """'Eligible:' over a line holding only '-' is a heading (a setext one) in CommonMark and Python-Markdown alike:
    an empty item cannot interrupt a paragraph, and no blank line is put before it."""
    from sitegen.pages import commonmark_indents

    assert commonmark_indents("Eligible:\n-\n  adults") == "Eligible:\n-\n  adults"


@pytest.mark.parametrize(("text", "shown"), [
    ("Intro.\n\n#1 priority is safety.", "<p>Intro.</p>\n<p>#1 priority is safety.</p>"),
    ("Cohort\n#2: 20 patients", "<p>Cohort\n#2: 20 patients</p>"),
    ("##Objectives", "<p>##Objectives</p>"),
    ("####### seven", "<p>####### seven</p>"),
    ("## Objectives\nText", "<h2>Objectives</h2>\n<p>Text</p>"),  # a heading, as CommonMark reads it
])
def test_a_hash_that_starts_no_commonmark_heading_is_text(text: str, shown: str) -> None:
    """CommonMark (the registry's Markdown) reads a line as a heading only when its '#'s (one to six) are followed by
    a space: '#1 priority' is text. Python-Markdown needs no space, and showed it as a first-level heading reading
    '1 priority', the '#' lost."""
    from sitegen.markup import markdown_html
    from sitegen.pages import registry_prose

    assert markdown_html(registry_prose(text)) == shown


def test_an_at_sign_in_a_record_s_text_is_shown_as_written_and_cites_nothing(tmp_path: Path) -> None:
    """A record cites nothing: '[see @team]', '[@handle, p. 5]', '[ @x]' or an e-mail in its texts are text. Since
    b22a736 refused pandoc's citation forms in an editor's prose, such a record stopped the whole catalog's build;
    before, '[@x]' showed as '[\\@x]', the backslash that kept it from citing on the page and in the JSON-LD."""
    study = record("NCT06568081")
    said = "Ask us [see @team], [@handle, p. 5], [ @x] or [@y], or write to trial@example.org."
    study["protocolSection"]["descriptionModule"]["briefSummary"] = said
    page = built_page(tmp_path, "NCT06568081", study)
    assert html.unescape(re.sub(r"<[^>]+>", "", page)).count(said) == 2, page  # the page's text, the JSON-LD's
    assert "\\@" not in html.unescape(page)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Write to `trial@example.org`.", "<p>Write to <code>trial@example.org</code>.</p>"),
        ("Write to:\n\n    trial@example.org", "<p>Write to:</p>\n<pre><code>trial@example.org\n</code></pre>"),
    ],
)
def test_an_e_mail_address_in_a_record_s_code_is_shown_as_written(text: str, shown: str) -> None:
    """c318765 wrote every '@' of a record's Markdown as '&#64;' so that no bracket cites: in a code span or an
    indented block, which show what is written, the page then showed 'trial&#64;example.org'. Only an '@' that
    starts a word, as a citation's does, is written so."""
    from sitegen.markup import markdown_html
    from sitegen.pages import registry_prose

    assert markdown_html(registry_prose(text)) == shown
