"""Plain words for readers: find glossary terms in a rendered page, mark each one's first use, list them all on a page.

The page's HTML is read with one regular expression, and copied unchanged except for text inside <main> that is
not in a link, heading, citation, code, table or list label, or hidden element; what is inserted is escaped. A
term is linked to its entry on the glossary page; an abbreviation is also an <abbr> whose title spells it out.
Terms match case-insensitively (plurals too), abbreviations exactly as written, longest first.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

from markupsafe import escape

from .pages import Page
from .schema import Glossary, Source, Term

_LETTER_BEFORE = r"(?<![^\W\d_])(?<!-)"  # not inside a word; a digit may come before, as in '2.8g/dL'
_WORD_AFTER = r"(?![\w-])"
_FIRST_WORD = re.compile(r"\w+")
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
KNOWN_TEXTS = 10_000  # texts whose terms a TermFinder keeps (see TermFinder.known), each one of at most
KNOWN_LENGTH = 500  # characters (what comes back is short: a label, a status, a place), in which it found at most
KNOWN_TERMS = 4  # terms
TRIE_DEPTH = 6  # characters on which the pattern of the forms' first words branches, one by one (see _trie)
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def term_id(term: Term) -> str:
    """The entry's anchor on the glossary page (without the 'term-' prefix): its id, or one made from its name."""
    return term.id or _anchor(term.abbreviation or term.term)


@functools.lru_cache(maxsize=4096)  # every page of every trial shows the same few hundred terms
def _anchor(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


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


class Found(NamedTuple):
    """A term found in a text: where it stands, and whether it is written as its abbreviation. (A named tuple: a
    long text has dozens, and a frozen dataclass takes twice as long to make.)"""

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
        # The forms grouped by their first word (or first character, if it is not a word character), casefolded as
        # the pattern's case-insensitive matching folds them ('µg' and 'μg', 'ſ' and 's'), each group one
        # pattern trying its forms longest first. The text's words are looked up, and only a word that starts some
        # form is matched further. A form's first word is followed by a non-word character or ends the form, which
        # is then followed by one, so it is the whole word of the text where the form is found.
        groups: dict[str, list[str]] = {}
        for form, exact in alternatives:
            first = _FIRST_WORD.match(form)
            key = first.group(0).casefold() if first else form[0].casefold()
            groups.setdefault(key, []).append(re.escape(form) if exact else f"(?i:{re.escape(form)})")
        self.by_word = {key: f"(?:{'|'.join(parts)}){_WORD_AFTER}" for key, parts in groups.items()}  # its pattern
        self.compiled: dict[str, re.Pattern[str]] = {}  # a key's pattern, compiled when a text first has the key
        others = "".join(sorted({re.escape(key) for key in groups if not _FIRST_WORD.match(key)}))
        self.starts = re.compile(_LETTER_BEFORE + (f"(?=(\\w+|[{others}]))" if others else r"(?=(\w+))"))
        # In ASCII text (most text), where lower case is the case folding: the keys themselves, searched for in
        # the text in lower case by one pattern branching letter by letter, each a whole word (or a non-word key
        # character) that no letter or hyphen comes before, as `starts` asks.
        ascii_keys = [key for key in groups if key.isascii()]
        self.ascii_keys = re.compile(r"(?<![a-z-])" + _trie(ascii_keys) if ascii_keys else "(?!)")
        self.anchors = {term.term: term_id(term) for term in glossary.terms}  # each term's anchor, made once
        # and the end of a mark's link to it: its address's fragment, and the mark's own id
        self.link_ends = {a: f'#term-{escape(a)}" id="use-{escape(a)}">' for a in self.anchors.values()}
        # What find gave for a text: the same texts come back on every page (labels, statuses, places), on real
        # records 46,237 texts of which 27,379 differ. Emptied when full: at most KNOWN_TEXTS texts of KNOWN_LENGTH
        # characters and KNOWN_TERMS terms each: 25 MB in a process, at most.
        self.known: dict[str, tuple[Found, ...]] = {}

    def find(self, text: str) -> tuple[Found, ...]:
        """Every term in `text`, in order, none overlapping: at each place a word may start, the longest form."""
        known = self.known.get(text)
        if known is None:
            known = tuple(self._find(text))
            if len(text) <= KNOWN_LENGTH and len(known) <= KNOWN_TERMS:
                if len(self.known) >= KNOWN_TEXTS:
                    self.known.clear()
                self.known[text] = known
        return known

    def _find(self, text: str) -> list[Found]:
        found: list[Found] = []
        end = 0
        compiled = self.compiled
        for at, word in self._ascii_starts(text) if text.isascii() else self._starts(text):
            if at < end:
                continue
            pattern = compiled.get(word)
            if pattern is None:
                if word not in self.by_word:
                    continue
                pattern = compiled[word] = re.compile(self.by_word[word])
            m = pattern.match(text, at)
            if m is None:
                continue
            end, written = m.end(), m.group(0)
            if written[0] in "IVXLC" and _ROMAN.match(written) and _NUMBERED.search(text, 0, at):
                continue  # 'stage IV' is a number, not the abbreviation IV
            if written in self.exact:
                found.append(Found(at, end, self.exact[written], True))
            else:
                found.append(Found(at, end, self.folded[written.casefold()], False))
        return found

    def _starts(self, text: str) -> Iterator[tuple[int, str]]:
        """Each place a word (or a non-word key character) starts that no letter or hyphen comes before, with that
        word case-folded."""
        for start in self.starts.finditer(text):
            yield start.start(), start.group(1).casefold()

    def _ascii_starts(self, text: str) -> Iterator[tuple[int, str]]:
        """Those of `_starts` whose word is a key, in ASCII text: found by one search for the keys."""
        lowered, at = text.lower(), 0
        search = self.ascii_keys.search
        while (m := search(lowered, at)) is not None:
            at = m.start()
            yield at, m.group(0)
            at += 1


def _trie(keys: list[str], depth: int = 0) -> str:
    """A pattern matching any of `keys` (which share their first `depth` characters), branching on each of their
    first TRIE_DEPTH characters (one alternation of hundreds of words would try each at every place), and then
    on the rest of each (so that neither a long key nor many keys that start one another nest the pattern deeper
    than that). A key of word characters must end its word where it ends."""
    end = r"(?!\w)" if _FIRST_WORD.match(keys[0]) else ""  # keys that share a first character are all words or not
    if depth == TRIE_DEPTH:
        branches = [re.escape(rest) + end for rest in sorted({key[depth:] for key in keys}, key=lambda r: (-len(r), r))]
    else:
        following: dict[str, list[str]] = {}
        for key in keys:
            if len(key) > depth:
                following.setdefault(key[depth], []).append(key)
        branches = [end] if any(len(key) == depth for key in keys) else []
        branches += [re.escape(char) + _trie(group, depth + 1) for char, group in sorted(following.items())]
    return branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"


# (the attributes as runs of plain characters between quoted values: one step per run, not per character)
_ATTRIBUTES = r"""[^>"']*(?:(?:"[^"]*"|'[^']*')[^>"']*)*"""
_TAG = rf"<(?:!--.*?-->|![^>]*>|\?[^>]*>|(/?)([a-zA-Z][^\s/>]*)({_ATTRIBUTES})>)"
# A tag that cannot start or end an element whose text is left alone: not a skipped or raw-text element's, not
# </main>, with no attribute that may say 'class' or 'aria-hidden'.
_PLAIN_TAG = (r"<(?!/?" + _trie(sorted(_SKIP_TAGS | {"main"})) + r")/?[a-z][^\s/>]*"
              r"""[^>"'ac]*(?:(?:"[^"]*"|'[^']*'|a(?!ria-hidden)|c(?!lass))[^>"'ac]*)*>""")
# Elements left alone that HTML allows no element of their name inside (not even through a table or a list inside
# them, as a <th>, <caption> or <dt> may hold): each is passed over up to its end tag.
_ALONE = (r"<(?P<alone>a|h[1-6]|dfn|button|label|option)(?=[\s>])" + _ATTRIBUTES
          + r">.*?</(?i:(?P=alone))\s*>")
# One step of the walk through <main>: past every plain tag and every _ALONE element (and the blank text between
# them), to the next text or the next other tag. Only text and those tags need a look in Python. A '<' that starts
# no tag is text (our own pages have none: `a < b` is escaped), and one that looks like a tag but never ends is one
# step, so that the walk goes on.
_TEXT = r"[^<]+(?:<(?![a-zA-Z/!?])[^<]*)*|<(?![a-zA-Z/!?])[^<]*"
_STEP = re.compile(rf"(?:(?:{_PLAIN_TAG}|{_ALONE})(?:\s+(?=<))?)*(?:({_TEXT})|{_TAG}|<)", re.DOTALL)
_ATTRIBUTE = re.compile(r"""([^\s=/>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?""")
_RAW_TEXT = {"script", "style"}  # their content is not HTML: copied as it is up to their end tag


@functools.lru_cache(maxsize=1024)  # the same few attributes on every page: class="cite", class="references"
def _skips(attributes: str) -> bool:
    """Whether an element with these attributes (which say 'class' or 'aria-hidden') is left alone."""
    attrs = {m[1].lower(): html.unescape(m[2] or m[3] or m[4] or "") for m in _ATTRIBUTE.finditer(attributes)}
    return bool(set(attrs.get("class", "").split()) & _SKIP_CLASSES) or attrs.get("aria-hidden") == "true"


def _element_end(page_html: str, tag: str, at: int) -> int:
    """Where the element `tag` opened just before `at` ends: after its end tag, the elements of its name inside it
    counted; the page's end if it is not closed."""
    depth = 1
    for m in re.compile(rf"<(/?)(?i:{re.escape(tag)})(?=[\s/>])").finditer(page_html, at):
        depth += -1 if m.group(1) else 1
        if depth == 0:
            end = page_html.find(">", m.end())
            return len(page_html) if end < 0 else end + 1
    return len(page_html)


def mark_terms(page_html: str, finder: TermFinder, glossary_href: str) -> tuple[str, tuple[str, ...]]:
    """The page with the first use of each glossary term in its <main> marked, and the ids of the terms marked.

    `glossary_href` is the glossary page's address relative to this page (e.g. '../glossary/index.html').
    The page is read step by step with one regular expression (it is our own well-formed output): only the text
    inside <main> is looked at, an element whose text is left alone is passed over to its end tag, and everything
    else is copied as it is.
    """
    out: list[str] = []  # the page up to `copied`, in pieces, with the marked texts
    copied = 0
    marked: list[str] = []
    at = page_html.find("<main")
    if at < 0:
        return page_html, ()
    link = f'<a class="glossary-term" href="{escape(glossary_href)}'  # a mark's link, up to its fragment
    step = _STEP.match
    at = page_html.find(">", at) + 1 or len(page_html)
    while (m := step(page_html, at)) is not None:
        at = m.end()
        _, text, closing, name, attributes = m.groups()
        if text is not None:
            if not text.isspace():
                new = _mark_text(text, html.unescape(text) if "&" in text else text, finder, link, marked)
                if new is not text:
                    out += (page_html[copied:m.start(2)], new)
                    copied = at
            continue
        if name is None:
            continue  # a comment or declaration
        tag = name.lower()
        if closing:
            if tag == "main":
                break
        elif tag in _RAW_TEXT:
            found = page_html.find(f"</{tag}", at)
            at = len(page_html) if found < 0 else found
        elif tag not in _VOID and not attributes.rstrip().endswith("/") and (
                tag in _SKIP_TAGS or (("class" in attributes or "aria-hidden" in attributes) and _skips(attributes))):
            at = _element_end(page_html, tag, at)
    if not out:
        return page_html, tuple(marked)
    out.append(page_html[copied:])
    return "".join(out), tuple(marked)


def _mark_text(raw: str, text: str, finder: TermFinder, link: str, marked: list[str]) -> str:
    """One text node with each term not yet marked on the page wrapped in a link, which `link` starts (`raw` itself
    when none is new)."""
    pieces: list[str] = []
    at = 0
    for found in finder.find(text):
        anchor = finder.anchors[found.term.term]
        if anchor in marked:
            continue
        marked.append(anchor)
        written = escape(text[found.start:found.end])
        inner = f'<abbr title="{escape(found.term.term)}">{written}</abbr>' if found.abbreviation else written
        pieces.append(html.escape(text[at:found.start], quote=False))
        pieces.append(f"{link}{finder.link_ends[anchor]}{inner}</a>")
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
    used_on: dict[str, list[Page]] = {}
    for page in pages:
        for anchor in marked.get(page.slug, ()):
            used_on.setdefault(anchor, []).append(page)
    entries = []
    for term in glossary.terms:
        anchor = term_id(term)
        uses = tuple(Use(page.nav_title, f"../{page.path}index.html#use-{anchor}") for page in used_on.get(anchor, ()))
        entries.append(Entry(anchor, term.term, term.abbreviation, term.definition, term.source, uses))
    return tuple(sorted(entries, key=lambda e: ((e.abbreviation or e.term).casefold(), e.id)))


def used_terms(page: bytes) -> tuple[str, ...]:
    """The ids of the terms marked on a built page, in order (read back from the marks' ids)."""
    return tuple(m.group(1).decode("ascii") for m in _USE.finditer(page))
