"""How hard the prose is to read, for editors: a Flesch-Kincaid grade per prose section, and plain-language warnings.

Words, sentences and syllables are counted by textstat 0.7.3, whose syllables come from pyphen's bundled
dictionaries, so it works offline (newer textstat releases download a dictionary when first used). The grade is
the Flesch-Kincaid formula on those counts, rounded only when shown. `sitegen check` prints the table and warns
about sections above the target grade and about abbreviations that are neither in the glossary nor known to be
plain; `--strict` fails on these only when site.yaml asks for it (`readability: {strict: true}`).
"""

from __future__ import annotations

import re
import warnings
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from .cite import CITATION, ProseField
from .errors import ContentError, Problem
from .glossary import NUMBERED_ROMAN, TermFinder
from .load import Document, PathKey, Position, read_text
from .markup import plain_text
from .pages import Page
from .schema import Glossary
from .site import Site
from .validate import problem_at

# Periods that do not end a sentence (in 12.2, vs., e.g.) are replaced by this look-alike before counting, so that
# textstat's sentence splitter, which splits at every '.', does not see them; it is removed with the punctuation.
_NOT_AN_END = "\u2024"
_DECIMAL = re.compile(r"(?<=\d)\.(?=\d)")
_SHORT_FORMS = re.compile(r"\b(vs|e\.g|i\.e|etc|cf|approx|Dr|Mr|Mrs|Ms|Prof|St|al|No)\.", re.IGNORECASE)
_SENTENCE = re.compile(r"\b[^.!?]+[.!?]*")  # textstat 0.7.3's own sentence pattern
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
# An abbreviation: letters and digits (hyphens between), at least two capitals, no run of three lowercase letters.
_TOKEN = re.compile(r"(?<![\w-])[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*(?![\w-])")

PLAIN_ABBREVIATIONS = frozenset({
    "OK", "US", "USA", "UK", "EU", "UN", "AM", "PM", "TV", "ID", "PIN", "FAQ", "PDF", "URL", "DNA",
    "II", "III", "VI", "VII", "VIII", "XI", "XII",
})
"""Abbreviations readers know; Roman numerals that name a phase or a group ('phase II', 'Group II') are here too."""

PLAIN_WORDS = frozenset({
    "additionally", "another", "anyone", "anything", "area", "average", "beginning", "benefit", "breastfeed",
    "company", "combination", "completion", "continue", "currently", "daily", "different", "difficult",
    "effective", "effectiveness", "especially", "everyday", "everyone", "everything", "example", "experience",
    "extend", "family", "finally", "following", "generally", "however", "important", "include", "information",
    "interested", "medical", "medicine", "medication", "monitor", "participant", "participate", "period",
    "positive", "possible", "potential", "probably", "question", "really", "receive", "remain", "research",
    "respond", "result", "several", "similar", "specific", "study", "suggest", "therapy", "total", "traditional",
    "unusual", "usually", "various",
})
"""Long words (three syllables or more) that are plain although the Dale-Chall list of easy words lacks them."""


@lru_cache(maxsize=1)
def _textstat() -> Any:
    """textstat's counters in an instance of our own; imported only when a check needs it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # textstat 0.7.3 imports pkg_resources, which warns on newer setuptools
        from textstat.textstat import textstatistics  # type: ignore[import-untyped]
    return textstatistics()


def flesch_kincaid_grade(words: int, sentences: int, syllables: int) -> float:
    """The Flesch-Kincaid grade level: 0.39 × words per sentence + 11.8 × syllables per word − 15.59."""
    if not words or not sentences:
        return 0.0
    return 0.39 * words / sentences + 11.8 * syllables / words - 15.59


@dataclass(frozen=True)
class Counts:
    """What the grade is computed from."""

    words: int
    sentences: int
    syllables: int

    @property
    def grade(self) -> float:
        """The Flesch-Kincaid grade, unrounded."""
        return flesch_kincaid_grade(self.words, self.sentences, self.syllables)


def prepare(text: str) -> str:
    """Text with the periods that do not end a sentence (decimals, 'vs.', 'e.g.') hidden from the sentence splitter."""
    text = _DECIMAL.sub(_NOT_AN_END, text)
    return _SHORT_FORMS.sub(lambda m: m.group(0)[:-1].replace(".", _NOT_AN_END) + _NOT_AN_END, text)


def count(text: str) -> Counts:
    """Words, sentences and syllables of plain text, as textstat 0.7.3 counts them."""
    ts = _textstat()
    prepared = prepare(text)
    return Counts(ts.lexicon_count(prepared), ts.sentence_count(prepared), ts.syllable_count(prepared))


def sentences(text: str) -> list[str]:
    """The sentences of plain text, split as textstat splits them (short fragments included)."""
    return [s.strip().replace(_NOT_AN_END, ".") for s in _SENTENCE.findall(prepare(text))]


def paragraph_text(markdown_text: str) -> str:
    """A prose field as plain text for counting: no citations or markup, and ending a sentence."""
    text = plain_text(markdown_text)
    return text if not text or text[-1] in ".!?:" else text + "."


@dataclass(frozen=True)
class Section:
    """The prose of one page: its fields, their plain text, and the counts of that text."""

    name: str
    fields: tuple[ProseField, ...]
    texts: tuple[str, ...]
    counts: Counts


def prose_sections(pages: list[Page]) -> list[Section]:
    """One section per page that has prose, in navigation order (fields that are only a citation left out)."""
    found = []
    for page in pages:
        fields = tuple(f for f in page.prose if paragraph_text(f.text))
        if fields:
            texts = tuple(paragraph_text(f.text) for f in fields)
            found.append(Section(page.nav_title, fields, texts, count(" ".join(texts))))
    return found


def hard_words(text: str, finder: TermFinder | None, limit: int = 8) -> list[tuple[str, int]]:
    """Words of three syllables or more that are in neither the glossary nor a list of plain words, most used first."""
    ts = _textstat()
    if finder is not None:
        for found in reversed(finder.find(text)):
            text = text[:found.start] + " " + text[found.end:]
    counted: Counter[str] = Counter()
    for word in _WORD.findall(text):
        lower = word.lower()
        if _is_plain(lower) or ts.syllable_count(lower) < 3 or any(c.isupper() for c in word[1:]):
            continue
        counted[lower] += 1
    return counted.most_common(limit)


def _is_plain(word: str) -> bool:
    """In our list of plain words or in the Dale-Chall list of easy words that textstat ships, maybe inflected."""
    ts = _textstat()
    stems = [word] + [word[: -len(end)] + add for end, add in (
        ("ies", "y"), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e"), ("ing", ""), ("ing", "e"), ("ly", ""),
        ("ness", ""), ("ment", ""),
    ) if word.endswith(end) and len(word) > len(end) + 2]
    # with a threshold of 0 syllables, a word is 'difficult' exactly when the easy-word list lacks it
    return any(stem in PLAIN_WORDS or not ts.is_difficult_word(stem, 0) for stem in stems)


def abbreviations(text: str) -> list[str]:
    """Tokens that look like abbreviations: two capitals or more, and no run of three lowercase letters."""
    return [
        t for t in _TOKEN.findall(text)
        if sum(c.isupper() for c in t) >= 2 and not re.search("[a-z]{3}", t)
    ]


class _Places:
    """Finds where a word stands in a content file, searching forward from the start of the field it is in."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        try:
            self.lines = read_text(Path(doc.file)).splitlines()
        except (OSError, ValueError):
            self.lines = []

    def find(self, path: PathKey, word: str) -> Position:
        start = self.doc.position(path)
        pattern = re.compile(rf"(?<![\w-]){re.escape(word)}(?![\w-])")
        for i in range(start.line - 1, len(self.lines)):
            m = pattern.search(self.lines[i], start.column - 1 if i == start.line - 1 else 0)
            if m:
                return Position(i + 1, m.start() + 1)
        return start


@dataclass(frozen=True)
class Report:
    """What `sitegen check` says about plain language: the table of sections, and the warnings."""

    sections: tuple[Section, ...]
    target: float
    warnings: tuple[Problem, ...]

    def table(self) -> str:
        """The readability table, as plain text with aligned columns."""
        rows = [("section", "grade", "words", "sentences", "")]
        for s in self.sections:
            flag = "above target" if s.counts.grade > self.target else ""
            rows.append((s.name, f"{s.counts.grade:.1f}", str(s.counts.words), str(s.counts.sentences), flag))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = [f"Readability (Flesch-Kincaid grade level, textstat counts; target grade {self.target:g}):"]
        for r in rows:
            cells = [r[0].ljust(widths[0])] + [r[i].rjust(widths[i]) for i in (1, 2, 3)]
            lines.append("  " + "  ".join(cells) + (f"  {r[4]}" if r[4] else ""))
        return "\n".join(lines)


def plain_language(site: Site, strict: bool = False) -> Report:
    """The plain-language report of a loaded site. With `strict`, and `readability.strict` in site.yaml, its
    warnings are raised as errors."""
    report = check_plain_language(
        site.pages, site.trial_doc, site.glossary, site.glossary_doc, site.settings.readability.target_grade
    )
    if strict and site.settings.readability.strict and report.warnings:
        raise ContentError.from_warnings(report.warnings)
    return report


def check_plain_language(
    pages: list[Page], trial_doc: Document, glossary: Glossary | None, glossary_doc: Document | None, target: float
) -> Report:
    """The readability of each prose section and every plain-language warning, with file and line."""
    finder = TermFinder(glossary) if glossary is not None else None
    places = _Places(trial_doc)
    sections = prose_sections(pages)
    found = [w for s in sections if s.counts.grade > target for w in [_readability_warning(s, target, finder, places)]]
    for page in pages:
        found += _abbreviation_warnings(page, finder, places)
    if glossary is not None and glossary_doc is not None:
        for i, term in enumerate(glossary.terms):
            n = len([s for s in sentences(term.definition) if len(s.split()) > 2])
            if n > 2:
                p = glossary_doc.position(("terms", i, "definition"))
                found.append(Problem(glossary_doc.file, p.line, p.column,
                                     f"terms[{i}].definition: {n} sentences; keep a definition to one or two", "warning"))
    return Report(tuple(sections), target, tuple(found))


def _readability_warning(section: Section, target: float, finder: TermFinder | None, places: _Places) -> Problem:
    listed = []
    for field, text in zip(section.fields, section.texts):
        for sentence in sentences(text):
            words = len(sentence.split())
            if words > 2:
                listed.append((words, field.path, sentence))
    longest = sorted(listed, key=lambda s: -s[0])[:3]
    lines = [f"{section.name}: reads at grade {section.counts.grade:.1f}, above the target of {target:g}; longest sentences:"]
    for words, path, sentence in longest:
        first = _WORD.search(sentence)
        where = places.find(path, first.group(0) if first else sentence.split()[0])
        shown = sentence if len(sentence) <= 90 else sentence[:87].rsplit(" ", 1)[0] + " …"
        lines.append(f"    line {where.line}, {words} words: \"{shown}\"")
    hard = hard_words(" ".join(section.texts), finder)
    if hard:
        lines.append("    words not in the glossary: " + ", ".join(f"{w} ({n})" if n > 1 else w for w, n in hard))
    start = places.doc.position(section.fields[0].path)
    return Problem(places.doc.file, start.line, start.column, "\n".join(lines), "warning")


def _abbreviation_warnings(page: Page, finder: TermFinder | None, places: _Places) -> list[Problem]:
    texts = [NUMBERED_ROMAN.sub(" ", CITATION.sub("", f.text)) for f in page.prose]
    spelled_out = {m.group(1) for text in texts for m in re.finditer(r"\(\s*([A-Za-z0-9-]+)\s*\)", text)}
    found = []
    for field, text in zip(page.prose, texts):
        if finder is not None:
            for match in reversed(finder.find(text)):
                text = text[:match.start] + " " * (match.end - match.start) + text[match.end:]
        for token in dict.fromkeys(abbreviations(text)):
            if token in PLAIN_ABBREVIATIONS or token in spelled_out:
                continue
            message = problem_at(places.doc, field.path, (
                f"'{token}' looks like an abbreviation that is neither in the glossary nor known to be plain; "
                f"add it to content/glossary.yaml, or spell it out on first use: 'the words ({token})'"
            )).message
            where = places.find(field.path, token)
            found.append(Problem(places.doc.file, where.line, where.column, message, "warning"))
    return found
