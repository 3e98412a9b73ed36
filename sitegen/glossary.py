"""Plain words for readers: find glossary terms in a rendered page, mark each one's first use, list them all on a page.

The page's HTML is read with the standard library's HTML parser, token by token, and copied unchanged except for
text inside <main> that is not in a link, heading, citation, code, table or list label, or hidden element; what is
inserted is escaped. A term is linked to its entry on the glossary page; an abbreviation is also an <abbr> whose
title spells it out. Terms match case-insensitively (plurals too), abbreviations exactly as written, longest first.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from html.parser import HTMLParser

from markupsafe import Markup, escape

from .pages import Page
from .schema import Glossary, Source, Term

_LETTER_BEFORE = r"(?<![^\W\d_])(?<!-)"  # not inside a word; a digit may come before, as in '2.8g/dL'
_WORD_AFTER = r"(?![\w-])"
# Elements whose text is never marked: links, headings, code, labels of tables and lists, and anything not read
# as running text. Citations and the reference list are recognised by their class.
_SKIP_TAGS = {
    "a", "abbr", "dfn", "h1", "h2", "h3", "h4", "h5", "h6", "code", "pre", "kbd", "samp", "var", "th", "dt",
    "caption", "cite", "button", "label", "select", "option", "textarea", "script", "style", "template", "svg",
    "math", "title", "head", "nav", "header", "footer",
}
_SKIP_CLASSES = {"cite", "references", "backlinks", "visually-hidden", "no-glossary"}
_ROMAN = re.compile(r"[IVXLC]+$")
NUMBERED_ROMAN = re.compile(
    r"\b(?:stage|phase|grade|type|class|group|part|step|level|tier|cycle|arm)\s+[IVXLC]+\b", re.IGNORECASE
)
"""A Roman numeral that numbers something ('stage IV', 'phase II'): never an abbreviation."""
_NUMBERED = re.compile(r"\b(?:stage|phase|grade|type|class|group|part|step|level|tier|cycle|arm)\s+$", re.IGNORECASE)
_USE = re.compile(rb'<a class="glossary-term" href="[^"]*" id="use-([a-z0-9-]+)">')  # a mark, as _mark_text writes it
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def term_id(term: Term) -> str:
    """The entry's anchor on the glossary page (without the 'term-' prefix): its id, or one made from its name."""
    if term.id:
        return term.id
    return re.sub(r"[^a-z0-9]+", "-", (term.abbreviation or term.term).lower()).strip("-")


def glossary_conflicts(glossary: Glossary) -> list[tuple[tuple[str | int, ...], str]]:
    """Ids and written forms that two entries share (each form may belong to one entry only, whatever its case)."""
    found: list[tuple[tuple[str | int, ...], str]] = []
    ids: dict[str, int] = {}
    forms: dict[str, tuple[int, str]] = {}
    for i, term in enumerate(glossary.terms):
        written: list[tuple[tuple[str | int, ...], str]] = [(("terms", i, "term"), term.term)]
        written += [(("terms", i, "variants", j), v) for j, v in enumerate(term.variants)]
        if term.abbreviation:
            written.append((("terms", i, "abbreviation"), term.abbreviation))
        shared = False
        for path, form in written:
            first = forms.setdefault(form.casefold(), (i, form))
            if first[0] != i:
                shared = True
                found.append((path, f"'{form}' is already a form of terms[{first[0]}] ('{first[1]}'); give each form to one entry"))
        anchor = term_id(term)
        if not anchor:
            found.append((("terms", i, "term"), "cannot make an anchor from this term; give the entry an id"))
        elif anchor in ids and not shared:  # two entries with one form also share the id made from it: one mistake
            where = ("terms", i, "id") if term.id else ("terms", i, "term")
            found.append((where, f"its id '{anchor}' is already the id of terms[{ids[anchor]}]; give it another id"))
        ids.setdefault(anchor, i)
    return found


def term_forms(term: Term) -> list[tuple[str, bool]]:
    """Every way the text may write a term, each with whether it is matched exactly (an abbreviation)."""
    forms = [(form, False) for written in (term.term, *term.variants) for form in (written, *_plurals(written))]
    if term.abbreviation:
        forms.append((term.abbreviation, True))
    return list(dict.fromkeys(forms))


def _plurals(written: str) -> tuple[str, ...]:
    if not written[-1:].isalpha():
        return ()
    if re.search(r"[^aeiou]y$", written, re.IGNORECASE):
        return (written[:-1] + "ies",)
    if re.search(r"(s|x|z|ch|sh)$", written, re.IGNORECASE):
        return (written + "es",)
    return (written + "s",)


@dataclass(frozen=True)
class Found:
    """A term found in a text: where it stands, and whether it is written as its abbreviation."""

    start: int
    end: int
    term: Term
    abbreviation: bool


class TermFinder:
    """Finds every written form of every glossary term in a text, longest form first."""

    def __init__(self, glossary: Glossary) -> None:
        self.exact: dict[str, Term] = {}
        self.folded: dict[str, Term] = {}
        alternatives: list[tuple[str, bool]] = []
        for term in glossary.terms:
            for form, exact in term_forms(term):
                (self.exact if exact else self.folded).setdefault(form if exact else form.casefold(), term)
                alternatives.append((form, exact))
        alternatives.sort(key=lambda a: (-len(a[0]), a[0]))
        parts = [re.escape(form) if exact else f"(?i:{re.escape(form)})" for form, exact in alternatives]
        self.pattern = re.compile(f"{_LETTER_BEFORE}(?:{'|'.join(parts)}){_WORD_AFTER}") if parts else None

    def find(self, text: str) -> list[Found]:
        """Every term in `text`, in order, none overlapping."""
        if self.pattern is None:
            return []
        found = []
        for m in self.pattern.finditer(text):
            written = m.group(0)
            if _ROMAN.match(written) and _NUMBERED.search(text, 0, m.start()):
                continue  # 'stage IV' is a number, not the abbreviation IV
            if written in self.exact:
                found.append(Found(m.start(), m.end(), self.exact[written], True))
            else:
                found.append(Found(m.start(), m.end(), self.folded[written.casefold()], False))
        return found


@dataclass(frozen=True)
class _Token:
    kind: str  # 'start', 'end', 'empty', 'data' or 'other'
    offset: int
    tag: str = ""
    attrs: tuple[tuple[str, str | None], ...] = ()
    text: str = ""


class _Tokens(HTMLParser):
    """The tokens of an HTML document, each with its offset in the source, so that untouched parts copy byte for byte."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tokens: list[_Token] = []
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", source)]
        self.feed(source)
        self.close()

    def _offset(self) -> int:
        line, column = self.getpos()
        return self._line_starts[line - 1] + column

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tokens.append(_Token("start", self._offset(), tag, tuple(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tokens.append(_Token("empty", self._offset(), tag, tuple(attrs)))

    def handle_endtag(self, tag: str) -> None:
        self.tokens.append(_Token("end", self._offset(), tag))

    def handle_data(self, data: str) -> None:
        self.tokens.append(_Token("data", self._offset(), text=data))

    def handle_comment(self, data: str) -> None:
        self.tokens.append(_Token("other", self._offset()))

    def handle_decl(self, decl: str) -> None:
        self.tokens.append(_Token("other", self._offset()))

    def handle_pi(self, data: str) -> None:
        self.tokens.append(_Token("other", self._offset()))

    def unknown_decl(self, data: str) -> None:
        self.tokens.append(_Token("other", self._offset()))


def _skips(token: _Token) -> bool:
    attrs = dict(token.attrs)
    classes = set((attrs.get("class") or "").split())
    return token.tag in _SKIP_TAGS or bool(classes & _SKIP_CLASSES) or attrs.get("aria-hidden") == "true"


def mark_terms(page_html: str, finder: TermFinder, glossary_href: str) -> tuple[str, tuple[str, ...]]:
    """The page with the first use of each glossary term in its <main> marked, and the ids of the terms marked.

    `glossary_href` is the glossary page's address relative to this page (e.g. '../glossary/index.html').
    """
    tokens = _Tokens(page_html).tokens
    out: list[str] = []
    marked: list[str] = []
    open_tags: list[tuple[str, bool]] = []  # each open element and whether its text is left alone
    in_main = False
    for i, token in enumerate(tokens):
        end = tokens[i + 1].offset if i + 1 < len(tokens) else len(page_html)
        raw = page_html[token.offset:end]
        if token.kind == "start" and token.tag not in _VOID:
            in_main = in_main or token.tag == "main"
            open_tags.append((token.tag, _skips(token)))
        elif token.kind == "end":
            if token.tag == "main":
                in_main = False
            names = [name for name, _ in open_tags]
            if token.tag in names:
                del open_tags[len(names) - 1 - names[::-1].index(token.tag):]
        elif token.kind == "data" and in_main and not any(skip for _, skip in open_tags):
            raw = _mark_text(raw, token.text, finder, glossary_href, marked)
        out.append(raw)
    return "".join(out), tuple(marked)


def _mark_text(raw: str, text: str, finder: TermFinder, glossary_href: str, marked: list[str]) -> str:
    """One text node with each term not yet marked on the page wrapped in a link (the raw text when none is new)."""
    pieces: list[str] = []
    at = 0
    for found in finder.find(text):
        anchor = term_id(found.term)
        if anchor in marked:
            continue
        marked.append(anchor)
        written = text[found.start:found.end]
        inner = (
            Markup('<abbr title="{}">{}</abbr>').format(found.term.term, written) if found.abbreviation else escape(written)
        )
        pieces.append(html.escape(text[at:found.start], quote=False))
        pieces.append(
            Markup('<a class="glossary-term" href="{}#term-{}" id="use-{}">{}</a>').format(glossary_href, anchor, anchor, inner)
        )
        at = found.end
    if not pieces:
        return raw
    return "".join(pieces) + html.escape(text[at:], quote=False)


@dataclass(frozen=True)
class Use:
    """A page that uses a term, with the address of the marked use relative to the glossary page."""

    title: str
    href: str


@dataclass(frozen=True)
class Entry:
    """One entry as the glossary page shows it."""

    id: str
    term: str
    abbreviation: str | None
    definition: str
    source: Source | None
    uses: tuple[Use, ...]


def glossary_entries(glossary: Glossary, marked: dict[str, tuple[str, ...]], pages: list[Page]) -> tuple[Entry, ...]:
    """The glossary's entries in alphabetical order (of the abbreviation, when there is one), each with the pages
    that use it, in navigation order. `marked` holds, per page slug, the ids of the terms marked on that page."""
    entries = []
    for term in glossary.terms:
        anchor = term_id(term)
        uses = tuple(
            Use(page.nav_title, f"../{page.path}index.html#use-{anchor}")
            for page in pages if anchor in marked.get(page.slug, ())
        )
        entries.append(Entry(anchor, term.term, term.abbreviation, term.definition, term.source, uses))
    return tuple(sorted(entries, key=lambda e: ((e.abbreviation or e.term).casefold(), e.id)))


def used_terms(page: bytes) -> tuple[str, ...]:
    """The ids of the terms marked on a built page, in order (read back from the marks' ids)."""
    return tuple(m.group(1).decode("ascii") for m in _USE.finditer(page))
