"""The fast path for plain prose gives exactly what Python-Markdown gives, and is taken only where it may be."""

from __future__ import annotations

import html

import markdown
import nh3
from hypothesis import given, settings
from hypothesis import strategies as st

from sitegen.cite import CITATION
from sitegen.markup import is_plain, markdown_html, plain_text

# Letters, digits, spaces and every ASCII punctuation mark, so that the generator reaches what Markdown acts on.
ALPHABET = st.sampled_from(list("abcXYZ019 .,;:-+=#()'\"/?%$^{}|~*_`[]!<>&@\\\n\t") + ["é", "≥", "µ"])


@settings(max_examples=3000, deadline=None)
@given(st.text(ALPHABET, max_size=40))
def test_fast_path_matches_python_markdown(text: str) -> None:
    expected = markdown.markdown(text, output_format="html")
    assert markdown_html(text) == expected
    folded = " ".join(html.unescape(nh3.clean(markdown.markdown(CITATION.sub("", text)), tags=set())).split())
    assert plain_text(text) == folded


def test_fast_path_is_taken_for_plain_sentences_only() -> None:
    assert is_plain("Participants are screened for eligibility (2-4 weeks), then treated.")
    for text in ("A *word*", "1. first", "- item", "# Heading", "a & b", "x < y", "two lines\nhere", "ends in two  ",
                 "    code", "[link](http://x)", "trailing \\"):
        assert not is_plain(text), text
