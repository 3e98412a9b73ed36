"""Markdown prose to HTML and to plain text, with a fast path for the plain sentences most prose is.

Python-Markdown is slow to set up and to run for one sentence, and a catalog has hundreds of thousands of them:
a text with nothing Markdown would act on is turned into its one paragraph directly (tests check that this gives
what Python-Markdown gives), and the rest goes through one reused converter.
"""

from __future__ import annotations

import functools
import html
import re

import markdown
import nh3

from .cite import CITATION

# What one text may hold for Python-Markdown to read it in time linear in its length (validate.py refuses more in
# an editor's field; pages.registry_prose makes more of them text in the registry's):
MAX_BRACKETS = 200  # "[": each opens a possible link that Markdown scans ahead for
MAX_ANGLES = 200  # "<": each may open an HTML tag, which Markdown scans ahead, over the lines after, to close

# Characters Markdown acts on inside a line, and what it reads at the start of a line as a block (a heading,
# quote, list item, rule, or code); a text without them, on one line, is one paragraph of plain text.
_INLINE_SYNTAX = re.compile(r"[\\`*_\[\]!<>&\n\r\t@]")  # a line break (two spaces at the end) is trailing space
_AUTOLINK = re.compile(r"https?:")
_BLOCK_START = re.compile(r"#|=|-|\+|\d+[.)]\s|\d+[.)]$|\s")


def is_plain(text: str) -> bool:
    """Whether Markdown would turn `text` into one paragraph holding the same text."""
    return (bool(text) and not _INLINE_SYNTAX.search(text) and not ("http" in text and _AUTOLINK.search(text))
            and not _BLOCK_START.match(text) and text == text.rstrip())


@functools.cache
def _converter() -> markdown.Markdown:
    # One converter per process, reset before each use: making one costs more than converting a sentence with it.
    return markdown.Markdown(output_format="html")


def markdown_html(text: str) -> str:
    """The HTML Python-Markdown makes of `text` (not yet sanitized)."""
    if is_plain(text):
        return f"<p>{html.escape(text, quote=False)}</p>"
    return _converted(text)


@functools.lru_cache(maxsize=256)
def _converted(text: str) -> str:
    # A trial's prose is converted for its page, its search text and its JSON-LD: on real records, 1,448 conversions
    # of 892 texts. The last few hundred are kept (a text is at most MAX_TEXT characters).
    return _converter().reset().convert(text)


def plain_text(text: str) -> str:
    """Markdown prose as plain text, without citation markers (for JSON-LD, descriptions and search)."""
    source = CITATION.sub("", text)
    text = source if is_plain(source) else html.unescape(nh3.clean(markdown_html(source), tags=set()))
    return " ".join(text.split())
