"""Find `[@key]` citations in prose and number them in order of first citation across the site.

Numbers follow the pages in navigation order, so a reference has the same number on every page.
Each citation group gets an anchor on its page, so that every reference entry can link back to it.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from .bib import EntrySet, Reference
from .load import PathKey

# A code span is shown as it is written (so `<script>` in one is text, kept); outside one, comments and script and
# style blocks are never shown. A span opens at the start of a run of backticks (taken whole, never tried again
# shorter: a run of 10,000 backticks would be tried 50 million ways; the run is read in a lookahead, which is never
# tried again, as Python 3.10 has no possessive `++`), and closes at the next run as long.
_NOT_SHOWN = re.compile(r"(?P<code>(?<!`)(?=(`+))\2.*?(?<!`)\2(?!`))|<!--.*?(?:-->|$)|<(script|style)\b.*?(?:</\3\s*>|$)",
                        re.DOTALL | re.IGNORECASE)
# (not a link's text: '[@NCIsarcoma](https://twitter.com/NCIsarcoma)' is a link, as in pandoc)
CITATION = re.compile(r"\[\s*(@[^\s;\[\]]+(?:\s*;\s*@[^\s;\[\]]+)*)\s*\](?!\()")


@dataclass(frozen=True)
class Citation:
    """One citation group as it stands in prose: its keys, their numbers, and its anchor on the page."""

    keys: tuple[str, ...]
    numbers: tuple[int, ...]
    anchor: str

    @property
    def runs(self) -> tuple[tuple[int, int], ...]:
        """The numbers sorted and folded into runs: (1, 5) for 1-5, (7, 7) for 7; a run of two stays two."""
        runs: list[tuple[int, int]] = []
        for n in sorted(set(self.numbers)):
            if runs and n == runs[-1][1] + 1:
                runs[-1] = (runs[-1][0], n)
            else:
                runs.append((n, n))
        split: list[tuple[int, int]] = []
        for first, last in runs:
            split.extend([(first, first), (last, last)] if last == first + 1 else [(first, last)])
        return tuple(split)


@dataclass(frozen=True)
class BackLink:
    """Where a reference is cited: the page, the citation's anchor, and a short label."""

    page: str
    anchor: str
    label: str


@dataclass(frozen=True)
class CitedReference:
    """A reference that is cited somewhere, with its number and every place citing it."""

    number: int
    reference: Reference
    backlinks: tuple[BackLink, ...]


@dataclass(frozen=True)
class Citations:
    """Every citation of the site: groups by (page, field), and the numbered reference list."""

    groups: dict[tuple[str, PathKey], tuple[Citation, ...]]
    references: tuple[CitedReference, ...]
    uncited: tuple[str, ...]


@dataclass(frozen=True)
class UnknownKey:
    """A cited key that is no reference: the field citing it, the key, which of the field's citations of that key
    this one is (0 for the first), and what is wrong. With `written`, a bracket that cites in a form sitegen does not
    read (pandoc's '[@key, p. 5]', '[see @key]'), as written; `occurrence` counts such brackets in the field."""

    path: PathKey
    key: str
    occurrence: int
    message: str
    written: str = ""


@dataclass(frozen=True)
class ProseField:
    """A Markdown field shown on a page: where it is in the trial file and its text."""

    path: PathKey
    text: str


def citable(text: str) -> str:
    """Prose without what a page never shows (HTML comments, script and style blocks), where citations count."""
    if "`" not in text and "<" not in text:  # what is never shown starts with one (most prose has neither): the
        return text  # pattern, case-insensitive, is tried at every character of a text that has no such start
    return _NOT_SHOWN.sub(lambda m: m.group() if m.group("code") else "", text)


def cite_keys(text: str) -> list[tuple[str, ...]]:
    """The keys of each citation group in `text` that a reader will see, in order."""
    return [tuple(k.strip().lstrip("@") for k in m.group(1).split(";")) for m in CITATION.finditer(citable(text))]


_KEY = re.compile(r"@[^\s;\[\]]+")
# A bracket that is no link's text and holds an @ starting a word ('[@chen2021, p. 5]', '[see @chen2021]',
# '[-@chen2021]'): meant as a citation, it is one only in the forms CITATION reads (an e-mail's @ starts no word)
_BRACKET = re.compile(r"\[([^\[\]\n]*)\](?!\()")
CITING_AT = re.compile(r"(?<![^\s\[;,(-])@")
"""An '@' that may start a citation's key: first, or after a space, '[', ';', ',', '(' or '-' (not an e-mail's)."""
_CITING = re.compile(CITING_AT.pattern + r"[^\s;,\[\]]")


def uncited_brackets(text: str) -> list[tuple[str, int]]:
    """Each bracket of `text` that looks like a citation but is not one a page reads, with its offset: a page would
    show it as written ('[@chen2021, p. 5]'). What a page never shows, and code, which shows what is written, are
    left alone."""
    if "@" not in text:
        return []
    if "`" in text or "<" in text:
        text = _NOT_SHOWN.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), text)
    return [(m.group(), m.start()) for m in _BRACKET.finditer(text)
            if _CITING.search(m.group(1)) and not CITATION.fullmatch(m.group())]


def cited_at(text: str) -> list[tuple[str, int]]:
    """Each key cited in `text`, in the order cite_keys finds them, with the offset of its '@': what a page never
    shows is blanked, not removed, so that the offsets are the text's."""
    if "`" in text or "<" in text:
        text = _NOT_SHOWN.sub(lambda m: m.group() if m.group("code") else re.sub(r"[^\n]", " ", m.group()), text)
    return [(key.group().lstrip("@"), group.start(1) + key.start())
            for group in CITATION.finditer(text) for key in _KEY.finditer(group.group(1))]


def cited_key(key: str, bibliography: Mapping[str, Reference], aliases: Mapping[str, str]) -> str:
    """The key a citation of `key` names: its entry's own key when it is one of the entry's aliases (biblatex's ids),
    and not a key of its own."""
    return aliases[key] if key not in bibliography and key in aliases else key


def number_citations(
    pages: list[tuple[str, str, list[ProseField]]], bibliography: dict[str, Reference],
    sets: Mapping[str, EntrySet] | None = None, searched: str = "references.bib", aliases: Mapping[str, str] | None = None,
) -> tuple[Citations, list[UnknownKey]]:
    """Number citations across `pages` (slug, title, fields, in navigation order) and find unknown keys (`searched`:
    the files the bibliography was read from, as a message names them).

    Returns the citations and a problem for each citation of a key that is no reference: one of the `sets` of the
    bibliography (biblatex @set entries, whose members are to be cited) or a key it does not have. A key among
    `aliases` (biblatex's ids) cites the entry whose alias it is.
    """
    numbers: dict[str, int] = {}
    groups: dict[tuple[str, PathKey], tuple[Citation, ...]] = {}
    places: dict[str, list[BackLink]] = {}
    problems: list[UnknownKey] = []
    seen: dict[tuple[PathKey, str], int] = {}
    for slug, title, fields in pages:
        count = 0
        for f in fields:
            for occurrence, (written, _) in enumerate(uncited_brackets(f.text)):
                key = (_KEY.findall(written) or ["@"])[0].lstrip("@")
                problems.append(UnknownKey(f.path, key, occurrence, f"{written[:60]!r} is no citation sitegen reads, and "
                                           "a page would show it as written: expected [@key] or [@key1; @key2], with "
                                           "nothing else in the brackets (no page, no 'see'); an @ meant as text there, a "
                                           "handle's, is written &#64;", written))
            found: list[Citation] = []
            for group in cite_keys(f.text):
                keys = tuple(cited_key(k, bibliography, aliases or {}) for k in group)
                known = [k for k in keys if k in bibliography]
                for k in keys:
                    if k not in bibliography:
                        place = (f.path, k)  # the citations of each unknown key in this field so far
                        problems.append(UnknownKey(f.path, k, seen.get(place, 0),
                                                   _unknown_key(k, bibliography, sets or {}, searched)))
                        seen[place] = seen.get(place, 0) + 1
                for k in known:
                    numbers.setdefault(k, len(numbers) + 1)
                count += 1
                citation = Citation(tuple(known), tuple(numbers[k] for k in known), f"cite-{count}")
                found.append(citation)
                for k in dict.fromkeys(known):
                    places.setdefault(k, []).append(BackLink(slug, citation.anchor, f"{title}, citation {count}"))
            groups[(slug, f.path)] = tuple(found)
    references = tuple(
        CitedReference(n, bibliography[k], tuple(places[k])) for k, n in sorted(numbers.items(), key=lambda kv: kv[1])
    )
    uncited = tuple(sorted(k for k in bibliography if k not in numbers))
    return Citations(groups, references, uncited), problems


def _unknown_key(key: str, bibliography: dict[str, Reference], sets: Mapping[str, EntrySet], searched: str) -> str:
    if key in sets:
        entry_set = sets[key]  # biblatex cites the group as one; here each work has its own number
        instead = (f"cite its members instead: [{'; '.join('@' + m for m in entry_set.members)}]" if entry_set.members
                   else "cite the works themselves (its entryset names none)")
        return (f"cites '@{key}', which is a @set entry in {os.path.basename(entry_set.file)} (line {entry_set.line}), "
                f"not a work; {instead}")
    hint = difflib.get_close_matches(key, list(bibliography), n=1)
    suggestion = f"; did you mean '@{hint[0]}'?" if hint else ""
    return f"cites '@{key}', which is not in {searched}{suggestion}"
