"""Find `[@key]` citations in prose and number them in order of first citation across the site.

Numbers follow the pages in navigation order, so a reference has the same number on every page.
Each citation group gets an anchor on its page, so that every reference entry can link back to it.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from .bib import Reference
from .load import PathKey

# A code span is shown as it is written (so `<script>` in one is text, kept); outside one, comments and script and
# style blocks are never shown.
_NOT_SHOWN = re.compile(r"(?P<code>(`+)(?!`).*?(?<!`)\2(?!`))|<!--.*?(?:-->|$)|<(script|style)\b.*?(?:</\3\s*>|$)",
                        re.DOTALL | re.IGNORECASE)
CITATION = re.compile(r"\[\s*(@[^\s;\[\]]+(?:\s*;\s*@[^\s;\[\]]+)*)\s*\]")


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


def number_citations(
    pages: list[tuple[str, str, list[ProseField]]], bibliography: dict[str, Reference]
) -> tuple[Citations, list[tuple[PathKey, str]]]:
    """Number citations across `pages` (slug, title, fields, in navigation order) and find unknown keys.

    Returns the citations and a list of (field path, message) problems, one per unknown key.
    """
    numbers: dict[str, int] = {}
    groups: dict[tuple[str, PathKey], tuple[Citation, ...]] = {}
    places: dict[str, list[BackLink]] = {}
    problems: list[tuple[PathKey, str]] = []
    for slug, title, fields in pages:
        count = 0
        for f in fields:
            found: list[Citation] = []
            for keys in cite_keys(f.text):
                known = [k for k in keys if k in bibliography]
                for k in keys:
                    if k not in bibliography:
                        problems.append((f.path, _unknown_key(k, bibliography)))
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


def _unknown_key(key: str, bibliography: dict[str, Reference]) -> str:
    hint = difflib.get_close_matches(key, list(bibliography), n=1)
    suggestion = f"; did you mean '@{hint[0]}'?" if hint else ""
    return f"cites '@{key}', which is not in references.bib{suggestion}"
