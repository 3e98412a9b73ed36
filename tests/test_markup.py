"""The fast path for plain prose gives exactly what Python-Markdown gives, and is taken only where it may be."""

from __future__ import annotations

import html

import markdown
import nh3
from hypothesis import example, given, settings
from hypothesis import strategies as st
from jinja2 import Environment

from sitegen.cite import CITATION
from sitegen.markup import is_plain, markdown_html, plain_text
from sitegen.render import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, URL_SCHEMES, prose_html


def python_markdown(text: str) -> str:
    """Python-Markdown's HTML of `text`, with numbered lists keeping the number they start at (as markup sets it)."""
    converter = markdown.Markdown(output_format="html")
    converter.parser.blockprocessors["olist"].LAZY_OL = False
    return converter.convert(text)


# Letters, digits, spaces and every ASCII punctuation mark, so that the generator reaches what Markdown acts on.
ALPHABET = st.sampled_from(list("abcXYZ019 .,;:-+=#()'\"/?%$^{}|~*_`[]!<>&@\\\n\t") + ["é", "≥", "µ"])


@settings(max_examples=3000, deadline=None)
@given(st.text(ALPHABET, max_size=40))
@example("0. ")  # a numbered list starting at 0 keeps its number
def test_fast_path_matches_python_markdown(text: str) -> None:
    expected = python_markdown(text)
    assert markdown_html(text) == expected
    folded = " ".join(html.unescape(nh3.clean(markdown.markdown(CITATION.sub("", text)), tags=set())).split())
    assert plain_text(text) == folded


def test_fast_path_is_taken_for_plain_sentences_only() -> None:
    assert is_plain("Participants are screened for eligibility (2-4 weeks), then treated.")
    for text in ("A *word*", "1. first", "- item", "# Heading", "a & b", "x < y", "two lines\nhere", "ends in two  ",
                 "    code", "[link](http://x)", "trailing \\"):
        assert not is_plain(text), text


@settings(max_examples=3000, deadline=None)
@given(st.text(st.sampled_from(list("abX09 .,-'\"()%/é≥µ") + ["\xa0", "\x00", "\x0c", "\u2028", "\ufffe", "\U0001f600"]),
               max_size=30))
def test_prose_that_skips_the_sanitizer_is_what_the_sanitizer_would_give(text: str) -> None:
    """One paragraph of printable plain text is not sanitized (nh3 would give it back as it is); everything else
    is, as before. A no-break space, a NUL or a line separator is not printable, so it still goes through nh3."""
    expected = nh3.clean(python_markdown(text), tags=ALLOWED_TAGS,
                         attributes=ALLOWED_ATTRIBUTES, url_schemes=URL_SCHEMES, link_rel="noopener")
    assert prose_html(Environment(), text, (), "") == expected


def test_a_text_converted_again_is_the_same_html_made_once(monkeypatch) -> None:
    """A trial's prose is converted for its page, its search text and its JSON-LD; the converter runs once for it,
    and a reset converter's state never carries over (a footnote-like reference defined in one text)."""
    first, other = "Dose *once* a day [see][r].\n\n[r]: https://example.org/a\n", "Then [see][r] *twice*."
    expected = [markdown.markdown(first), markdown.markdown(other)]
    converted: list[str] = []
    real = markdown.Markdown.convert
    monkeypatch.setattr(markdown.Markdown, "convert", lambda self, text: converted.append(text) or real(self, text))
    assert markdown_html(first) == markdown_html(first) == expected[0]
    assert markdown_html(other) == expected[1] and "<a" not in expected[1]  # [r] undefined here: left as text
    assert converted == [first, other]


def test_a_plain_sentence_ending_in_a_citation_is_not_converted(monkeypatch) -> None:
    """Removing the citation of 'Answer. [@chen2021]' left a space at the end, and the text went through Markdown
    for its JSON-LD and search text: 3.7 s of CPU for 30,000 cited FAQ answers, against 0.1 s."""
    converted: list[str] = []
    monkeypatch.setattr(markdown.Markdown, "convert", lambda self, text: converted.append(text) or "")
    assert plain_text("Answer 1 is plain. [@chen2021]") == "Answer 1 is plain."
    assert plain_text("Answer 1 is plain [ @monga2020; @zhou2021 ]\n") == "Answer 1 is plain"
    assert converted == []


def test_a_list_keeps_its_first_number_only_as_ascii_digits() -> None:
    """A numbered list starts at its first number (as CommonMark, the registry's Markdown, has it); an editor's raw
    HTML may write any `start`, and Python-Markdown reads any Unicode digit ('٣.'): only ASCII digits are kept, so
    every page stays valid HTML."""
    assert '<ol start="3">' in prose_html(Environment(), "Steps:\n\n3. third\n4. fourth", (), "")
    for text in ('Steps:\n\n<ol start="javascript:alert(1)"><li>a</li></ol>', "Steps:\n\n\u0663. third",
                 '<ol start="1e9"><li>a</li></ol>', f'<ol start="{"9" * 10}"><li>a</li></ol>'):
        shown = prose_html(Environment(), text, (), "")
        assert "<ol>" in shown and "start" not in shown, (text, shown)
