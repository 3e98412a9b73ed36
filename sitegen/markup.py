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

# What one text may hold for Python-Markdown to read it in time linear in its length, and within Python's stack
# (validate.py refuses more in an editor's field; pages.registry_prose shows a registry text holding more as text):
MAX_BRACKETS = 200  # "[": each opens a possible link that Markdown scans ahead for
MAX_ANGLES = 200  # "<": each may open an HTML tag, which Markdown scans ahead, over the lines after, to close
MAX_BACKTICKS = 200  # "`": each run may open a code span, which Markdown (and cite.citable) scans ahead to close
MAX_NESTING = 15  # lists or quotes in one another, on one line ('> > - x') or by indentation
MAX_RULES = 200  # lines of '-', '=', '*' or '_' only: Markdown splits the rest of a paragraph at each rule or underline
_RULE = re.compile(r"^ {0,3}[-=*_][-=*_ \t]*$", re.MULTILINE)
_DEEP = re.compile(rf"^(?:(?:[ \t]*(?:[-*+>]|\d+[.)])[ \t]+){{{MAX_NESTING + 1},}}|(?:[ \t]*>){{{MAX_NESTING + 1}}}"
                   rf"|(?: {{4}}|\t){{{MAX_NESTING + 1}}}[ \t]*(?:[-*+>]|\d+[.)])[ \t])", re.MULTILINE)
_DEEP_LENGTH = MAX_NESTING + 1  # the shortest text _DEEP finds: 16 times '>'

# Characters Markdown acts on inside a line, and what it reads at the start of a line as a block (a heading,
# quote, list item, rule, or code); a text without them, on one line, is one paragraph of plain text.
_INLINE_SYNTAX = re.compile(r"[\\`*_\[\]!<>&\n\r\t@]")  # a line break (two spaces at the end) is trailing space
_AUTOLINK = re.compile(r"https?:")
_BLOCK_START = re.compile(r"#|=|-|\+|\d+[.)]\s|\d+[.)]$|\s")


def markdown_problem(text: str) -> str:
    """What in `text` Python-Markdown could not read in time linear in its length, or without running out of
    stack ('' when nothing): the words of an editor's error."""
    if len(text) < _DEEP_LENGTH:  # (most texts: too short to break any limit)
        return ""
    for sign, most in (("[", MAX_BRACKETS), ("<", MAX_ANGLES), ("`", MAX_BACKTICKS)):
        if text.count(sign) > most:
            escape = " (write '&lt;' for more)" if sign == "<" else ""
            return f"expected at most {most} '{sign}' in one field{escape}, got {text.count(sign)}"
    if _DEEP.match(text) or ("\n" in text and _DEEP.search(text)):  # a line starts at the start, or after a break
        return f"expected Markdown nested at most {MAX_NESTING} lists or quotes deep"
    rules = len(_RULE.findall(text)) if "\n" in text else 0
    if rules > MAX_RULES:
        return (f"expected at most {MAX_RULES} lines of only '-', '=', '*' or '_' (rules and heading underlines) in one "
                f"field, got {rules}")
    return ""


def text_html(text: str) -> str:
    """Text shown as it is written, for Markdown to pass on: its paragraphs (at blank lines) of escaped lines, in
    one block of HTML, which Markdown passes on whole in time linear in its length (entities or backticks in a
    paragraph, or thousands of blocks, take it time that grows with their square). No '[' or '`' is left in it, so
    that no citation or code span is looked for."""
    paragraphs: list[list[str]] = [[]]
    for line in text.splitlines():
        if line.strip():
            paragraphs[-1].append(html.escape(line.strip(), quote=False).replace("[", "&#91;").replace("`", "&#96;"))
        elif paragraphs[-1]:
            paragraphs.append([])
    shown = "\n".join(f"<p>{'<br>'.join(lines)}</p>" for lines in paragraphs if lines)
    return f"<div>\n{shown}\n</div>"


def is_plain(text: str) -> bool:
    """Whether Markdown would turn `text` into one paragraph holding the same text."""
    return (bool(text) and not _INLINE_SYNTAX.search(text) and not ("http" in text and _AUTOLINK.search(text))
            and not _BLOCK_START.match(text) and text == text.rstrip())


@functools.cache
def _converter() -> markdown.Markdown:
    # One converter per process, reset before each use: making one costs more than converting a sentence with it.
    converter = markdown.Markdown(output_format="html")
    # A numbered list keeps the number it starts at, as CommonMark (the registry's Markdown) has it: Python-Markdown
    # would number '3. Analysis' after a paragraph as 1.
    converter.parser.blockprocessors["olist"].LAZY_OL = False  # type: ignore[attr-defined]
    return converter


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
    # 'Answer. [@chen2021]' leaves a space at the end, which makes no text ('- ' does: a list item, so Markdown reads
    # the text as it is when what comes before the space is not plain)
    words = source.rstrip()
    text = words if is_plain(words) else html.unescape(nh3.clean(markdown_html(source), tags=set()))
    return " ".join(text.split())
