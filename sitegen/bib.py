"""Parse a BibTeX file into typed Reference records and format each one as a
numbered-list entry in a medical (Vancouver/NLM-like) style, as HTML or plain text."""

from __future__ import annotations

import codecs
import html
import re
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import latexcodec  # noqa: F401  (registers the "ulatex" codec)
import pybtex.errors  # type: ignore[import-untyped]
from pybtex.backends.plaintext import Backend as PlainTextBackend  # type: ignore[import-untyped]
from pybtex.database import BibliographyData, Entry, Person  # type: ignore[import-untyped]
from pybtex.database.input.bibtex import LowLevelParser, Parser  # type: ignore[import-untyped]
from pybtex.exceptions import PybtexError  # type: ignore[import-untyped]
from pybtex.richtext import Text  # type: ignore[import-untyped]
from pybtex.scanner import PybtexSyntaxError  # type: ignore[import-untyped]

from sitegen.errors import ContentError, Problem
from sitegen.load import read_text

MAX_AUTHORS = 6
"""Vancouver lists the first six authors, then "et al."."""

ARTICLE_TYPES = frozenset({"article", "periodical", "suppperiodical"})
PART_TYPES = frozenset(
    {"inproceedings", "conference", "incollection", "inbook", "bookinbook", "inreference"}
    | {"suppbook", "suppcollection"}
)
NOT_REFERENCES = frozenset({"set", "xdata"})
"""biblatex containers that group or feed other entries but are not works themselves."""

_ARTICLE_CONTAINER = ("journal", "journaltitle")
_PART_CONTAINER = ("booktitle", "maintitle")
_OTHER_CONTAINER = ("publisher", "institution", "school", "organization", *_ARTICLE_CONTAINER, "booktitle")


@dataclass(frozen=True)
class Reference:
    """One work from the bibliography, its fields decoded from LaTeX to plain Unicode text."""

    key: str
    entry_type: str
    title: str
    authors: tuple[str, ...]
    authors_truncated: bool
    year: str
    journal: str
    volume: str
    number: str
    pages: str
    doi: str
    url: str
    pmid: str
    line: int
    file: str = ""


# ---------------------------------------------------------------------------
# LaTeX to text


_CONTROL_WORD = re.compile(r"\\([A-Za-z]+)\*?\s*")
_CONTROL_SYMBOL = re.compile(r"\\(.)", re.DOTALL)
_DOTLESS_I = re.compile(r"\{\\([ij])\}|\\([ij])(?![A-Za-z])\s*")
# render_as("text") looks the backend up through package metadata on every call (~30 ms): keep one.
_PLAIN_TEXT = PlainTextBackend()
_KNOWN_WORDS = {"TeX": "TeX", "LaTeX": "LaTeX", "BibTeX": "BibTeX", "hyphen": "-", "slash": "/"}


def latex_to_text(latex: str) -> str:
    """Decode a BibTeX field value to plain text: accents, braces, dashes and quotes; unknown commands dropped."""
    # latexcodec turns \"\i into ï but not \"{\i}; a dotless i under an accent is just an i.
    prepared = _DOTLESS_I.sub(lambda m: m.group(1) or m.group(2), latex)
    try:
        text = str(Text.from_latex(prepared).render(_PLAIN_TEXT))
    except (PybtexError, UnicodeError):  # unbalanced braces, a trailing backslash, lone surrogates
        try:
            # ulatex decodes str to str, an overload typeshed does not know
            text = codecs.decode(prepared, "ulatex")  # type: ignore[call-overload]
        except UnicodeError:
            text = prepared
    text = _CONTROL_WORD.sub(lambda m: _KNOWN_WORDS.get(m.group(1), ""), text)
    text = _CONTROL_SYMBOL.sub(lambda m: " " if m.group(1) in "\\\n" else m.group(1), text)
    text = text.replace("\\", "").replace("{", "").replace("}", "")
    return " ".join(text.split())


def _identifier(latex: str) -> str:
    r"""A DOI or URL as written, without LaTeX escapes (\_, {\%}, \url{...}); the first word only."""
    text = re.sub(r"\\url\s*", "", latex)
    text = re.sub(r"\\([_%&#$~])", r"\1", text)
    text = text.replace("\\", "").replace("{", "").replace("}", "")
    words = text.split()
    return words[0] if words else ""


_DOI_PREFIX = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", re.IGNORECASE)


def bare_doi(value: str) -> str:
    """10.1186/... from any of https://doi.org/10.1186/..., doi:10.1186/... or the DOI itself."""
    return _DOI_PREFIX.sub("", _identifier(value))


def en_dash_pages(pages: str) -> str:
    """Page ranges with an en dash: 12-23 and 12--23 both become 12–23."""
    return re.sub(r"\s*[-‐‑‒–—]+\s*", "–", pages)


def vancouver_name(person: Person) -> str:
    """Vancouver form, e.g. "Van Tine BA": last name with particles, initials without periods, then Jr."""
    last = " ".join(latex_to_text(part) for part in [*person.prelast_names, *person.last_names])
    given = [*person.first_names, *person.middle_names]
    initials = "".join(_initials(latex_to_text(part)) for part in given)
    lineage = " ".join(latex_to_text(part) for part in person.lineage_names)
    return " ".join(part for part in (last, initials, lineage) if part)


def _initials(name: str) -> str:
    """Initials without periods: "Jean-Pierre" gives "JP", "B.A." gives "BA"."""
    pieces = re.split(r"[\s.\-‐]+", name)
    return "".join(next((c.upper() for c in piece if c.isalpha()), "") for piece in pieces)


def _is_others(person: Person) -> bool:
    parts = [*person.first_names, *person.middle_names, *person.prelast_names, *person.last_names]
    return [part.lower() for part in parts] == ["others"]


# ---------------------------------------------------------------------------
# Parsing, with the line of every entry and every problem


_NEWLINE = re.compile(r"\r\n|\r|\n")  # the same line breaks pybtex's scanner counts


def line_starts(text: str) -> list[int]:
    """Offsets at which each line of text begins."""
    return [0, *(match.end() for match in _NEWLINE.finditer(text))]


def line_column(starts: Sequence[int], offset: int) -> tuple[int, int]:
    """1-based line and column of an offset, given line_starts of the text."""
    index = bisect_right(starts, offset) - 1
    return index + 1, offset - starts[index] + 1


class _LineRecordingParser(Parser):  # type: ignore[misc]
    """pybtex's BibTeX parser, also noting where each entry starts and turning every error into a Problem.

    pybtex's Entry keeps no position, so parse_string repeats Parser.parse_string while holding on to
    the scanner, whose command_start is the offset of the entry's "@". Duplicate keys are caught here,
    before pybtex would drop the second entry with only a key in its message.
    """

    def __init__(self, file: str, text: str) -> None:
        super().__init__()
        self.file = file
        self.starts = line_starts(text)
        self.positions: dict[str, tuple[int, int]] = {}  # lowercased key -> (line, column) of its "@"
        self.damaged: set[str] = set()  # keys of entries whose text had a syntax error
        self.problems: list[Problem] = []
        self.stray: list[PybtexError] = []  # errors pybtex reports through pybtex.errors.report_error
        self.here = (0, 0)

    def parse_string(self, text: str) -> BibliographyData:
        self.unnamed_entry_counter = 1
        scanner = LowLevelParser(
            text,
            keyless_entries=self.keyless_entries,
            handle_error=self.handle_error,
            want_entry=self.data.want_entry,
            filename=self.filename,
            macros=self.macros,
        )
        seen = 0
        for command, body in scanner:
            self.here = line_column(self.starts, scanner.command_start)
            damaged = any(p.line >= self.here[0] for p in self.problems[seen:])
            kind = command.lower()
            if kind == "preamble":
                self.process_preamble(*body)
            elif kind != "string":
                self.process_command(command, body[0], body[1], damaged)
            self.problems.extend(self._problem(error, self.here) for error in self.stray)
            self.stray.clear()
            seen = len(self.problems)
        return self.data

    def process_command(self, entry_type: str, key: str | None, fields: object, damaged: bool) -> None:
        if key is None:  # the syntax error that stopped it is already reported
            return
        first = self.positions.get(key.lower())
        if first is not None:
            line, column = self.here
            message = f"duplicate entry key {key!r}: it is already defined on line {first[0]}"
            self.problems.append(Problem(self.file, line, column, message))
            return
        self.positions[key.lower()] = self.here
        if damaged:
            self.damaged.add(key.lower())
        self.process_entry(entry_type, key, fields)

    def handle_error(self, error: PybtexError) -> None:
        self.problems.append(self._problem(error, self.here))

    def _problem(self, error: PybtexError, here: tuple[int, int]) -> Problem:
        if isinstance(error, PybtexSyntaxError):
            info = getattr(error, "error_context_info", None)
            offset = info[-1] if isinstance(info, tuple) and info and isinstance(info[-1], int) else None
            line, column = (
                line_column(self.starts, offset) if offset is not None else (int(error.lineno or 0), 0)
            )
            message = f"{error.error_type}: {error.args[0]}"
            start = getattr(getattr(error, "parser", None), "command_start", None)
            if isinstance(start, int) and line_column(self.starts, start)[0] != line:
                message += f" (in the entry that starts on line {line_column(self.starts, start)[0]})"
            return Problem(self.file, line, column, message)
        return Problem(self.file, here[0], here[1], str(error))


def _parse(file: str, text: str) -> tuple[BibliographyData, _LineRecordingParser]:
    parser = _LineRecordingParser(file, text)
    # Person and BibliographyData call the module-level report_error, which raises at the first
    # error unless captured; capture() is process-global, so two parses must not run in parallel threads.
    with pybtex.errors.capture() as stray:
        parser.stray = stray
        data = parser.parse_string(text)
        parser.problems.extend(parser._problem(error, (0, 0)) for error in stray)
    return data, parser


# ---------------------------------------------------------------------------
# From pybtex entries to references


def crossref_chain(entries: Mapping[str, Entry], key: str) -> tuple[list[Entry], str]:
    """The entry followed by the entries it inherits from through crossref, and a message if the chain is broken."""
    chain = [entries[key]]
    path = [key]
    while True:
        target = str(chain[-1].fields.get("crossref", "")).strip()
        if not target:
            return chain, ""
        if target.lower() in {step.lower() for step in path}:
            return chain, "crossref cycle: " + " -> ".join([*path, target])
        if target not in entries:
            return chain, f"crossref to {target!r}, which is not in the bibliography"
        chain.append(entries[target])
        path.append(target)


def _field(chain: Sequence[Entry], *names: str) -> str:
    """The first non-empty field of those names, looked up through the crossref chain as BibTeX does."""
    for name in names:
        for entry in chain:
            value = str(entry.fields.get(name, ""))
            if value.strip():
                return value
    return ""


def _persons(chain: Sequence[Entry], role: str) -> list[Person]:
    for entry in chain:
        persons = entry.persons.get(role)
        if persons:
            return list(persons)
    return []


def _title(chain: Sequence[Entry]) -> str:
    title = latex_to_text(_field(chain, "title"))
    subtitle = latex_to_text(_field(chain, "subtitle"))
    if title and subtitle:
        return f"{title} {subtitle}" if title.endswith((":", "?", "!", ".")) else f"{title}: {subtitle}"
    return title


def _container(entry_type: str, chain: Sequence[Entry]) -> str:
    if entry_type in ARTICLE_TYPES:
        return latex_to_text(_field(chain, *_ARTICLE_CONTAINER))
    if entry_type in PART_TYPES:
        # biblatex inheritance: a chapter's book title is its parent's title.
        return latex_to_text(_field(chain, *_PART_CONTAINER) or _field(chain[1:], "title"))
    return latex_to_text(_field(chain, *_OTHER_CONTAINER))


def _year(chain: Sequence[Entry]) -> str:
    year = latex_to_text(_field(chain, "year"))
    if year:
        return year
    date = re.match(r"\s*(\d{4})", _field(chain, "date"))  # biblatex: date = {2013-03-26}
    return date.group(1) if date else ""


def _pmid(chain: Sequence[Entry]) -> str:
    field = _field(chain, "pmid")
    if field:
        digits = re.search(r"\d+", field)
        return digits.group() if digits else ""
    # Zotero writes it in the note: note = {{PMID:} 23439512}
    in_note = re.search(r"PMID:?\W*(\d+)", _field(chain, "note") + " " + _field(chain, "annote"))
    return in_note.group(1) if in_note else ""


def _reference(key: str, entry_type: str, chain: Sequence[Entry], line: int, file: str) -> Reference:
    people = _persons(chain, "author")
    truncated = bool(people) and _is_others(people[-1])
    names = tuple(name for name in (vancouver_name(p) for p in people if not _is_others(p)) if name)
    return Reference(
        key=key,
        entry_type=entry_type,
        title=_title(chain),
        authors=names,
        authors_truncated=truncated,
        year=_year(chain),
        journal=_container(entry_type, chain),
        volume=latex_to_text(_field(chain, "volume")),
        number=latex_to_text(_field(chain, "number", "issue")),
        pages=en_dash_pages(latex_to_text(_field(chain, "pages"))),
        doi=bare_doi(_field(chain, "doi")),
        url=_identifier(_field(chain, "url")),
        pmid=_pmid(chain),
        line=line,
        file=file,
    )


def _references(
    data: BibliographyData, parser: _LineRecordingParser
) -> tuple[dict[str, Reference], list[Problem]]:
    references: dict[str, Reference] = {}
    problems: list[Problem] = []
    for key, entry in data.entries.items():
        entry_type = str(entry.type).lower()
        if entry_type in NOT_REFERENCES:
            continue
        line, column = parser.positions.get(key.lower(), (0, 0))
        chain, broken = crossref_chain(data.entries, key)
        if broken:
            problems.append(Problem(parser.file, line, column, f"entry {key!r}: {broken}"))
            continue
        reference = _reference(key, entry_type, chain, line, parser.file)
        if not reference.title and key.lower() not in parser.damaged:
            problems.append(Problem(parser.file, line, column, f"entry {key!r} has no title"))
        references[key] = reference
    return references, problems


def load_bibliography(path: Path, text: str | None = None) -> dict[str, Reference]:
    """Every entry of a BibTeX file by key, in file order; raises ContentError with all problems found.

    text, when given, is used instead of reading path (which then only names the file in problems).
    @string macros and crossref inheritance are resolved; biblatex @set and @xdata entries are skipped.
    """
    file = str(path)
    if text is None:
        text = read_text(path)
    try:
        data, parser = _parse(file, text)
        references, problems = _references(data, parser)
        problems = parser.problems + problems
    except PybtexError as error:  # pybtex reports through handle_error and capture; this is a safety net
        raise ContentError([Problem(file, 0, 0, f"cannot parse the bibliography: {error}")]) from error
    except Exception as error:  # any other failure inside pybtex is still a problem of the file
        message = f"cannot parse the bibliography ({type(error).__name__}: {error})"
        raise ContentError([Problem(file, 0, 0, message)]) from error
    errors = [problem for problem in problems if problem.severity == "error"]
    if errors:
        raise ContentError(errors)
    return references


def check_bibliography(refs: Mapping[str, Reference]) -> list[Problem]:
    """Warnings about references that load but are incomplete: no year, a DOI that does not look like one."""
    problems: list[Problem] = []
    for ref in refs.values():
        if not ref.year:
            problems.append(Problem(ref.file, ref.line, 1, f"entry {ref.key!r} has no year", "warning"))
        if ref.doi and not ref.doi.startswith("10."):
            message = f"entry {ref.key!r} has a DOI that does not start with 10.: {ref.doi!r}"
            problems.append(Problem(ref.file, ref.line, 1, message, "warning"))
    return sorted(problems)


# ---------------------------------------------------------------------------
# Formatting


@dataclass(frozen=True)
class _Run:
    """A piece of text in one style: plain, italic, or a link."""

    text: str
    italic: bool = False
    href: str = ""


_Sentence = tuple[_Run, ...]


def _full_stop(text: str) -> str:
    """The text ending in a period, unless it already ends in . ? or !."""
    return text if text.endswith((".", "?", "!")) else text + "."


def _author_list(ref: Reference) -> str:
    names = list(ref.authors[:MAX_AUTHORS])
    if names and (ref.authors_truncated or len(ref.authors) > MAX_AUTHORS):
        names.append("et al")
    return ", ".join(names)


def issue_details(year: str, volume: str, number: str, pages: str) -> str:
    """The Vancouver 2013;127(12):1342–1350, leaving out what is missing with its punctuation."""
    details = year
    if volume or number:
        details += (";" if details else "") + volume + (f"({number})" if number else "")
    if pages:
        details += (":" if details else "") + pages
    return details


def _source(ref: Reference) -> list[_Sentence]:
    details = issue_details(ref.year, ref.volume, ref.number, ref.pages)
    if ref.entry_type in ARTICLE_TYPES or ref.entry_type in PART_TYPES:
        sentences: list[_Sentence] = []
        if ref.journal:
            prefix = (_Run("In: "),) if ref.entry_type in PART_TYPES else ()
            stop = () if _full_stop(ref.journal) == ref.journal else (_Run("."),)
            sentences.append((*prefix, _Run(ref.journal, italic=True), *stop))
        if details:
            sentences.append((_Run(_full_stop(details)),))
        return sentences
    publication = "; ".join(part for part in (ref.journal, details) if part)
    return [(_Run(_full_stop(publication)),)] if publication else []


def _is_web(url: str) -> bool:
    return re.match(r"https?://\S", url, re.IGNORECASE) is not None


def _reference_sentences(ref: Reference) -> list[_Sentence]:
    """The entry as Vancouver sentences: authors, title, source, DOI or URL, PMID."""
    sentences: list[_Sentence] = []
    authors = _author_list(ref)
    if authors:
        sentences.append((_Run(_full_stop(authors)),))
    if ref.title:
        sentences.append((_Run(_full_stop(ref.title)),))
    sentences.extend(_source(ref))
    if ref.doi:
        link = "https://doi.org/" + quote(ref.doi, safe="/")
        sentences.append((_Run("doi:"), _Run(ref.doi, href=link), _Run(".")))
    elif ref.url:
        link = ref.url if _is_web(ref.url) else ""
        sentences.append((_Run("Available from: "), _Run(ref.url, href=link)))
    if ref.pmid:
        pubmed = f"https://pubmed.ncbi.nlm.nih.gov/{ref.pmid}/"
        sentences.append((_Run("PMID: "), _Run(ref.pmid, href=pubmed), _Run(".")))
    return sentences


def _run_html(run: _Run) -> str:
    text = html.escape(run.text)
    if run.italic:
        text = f"<i>{text}</i>"
    if run.href:
        text = f'<a href="{html.escape(run.href)}">{text}</a>'
    return text


def format_reference_html(ref: Reference) -> str:
    """One bibliography entry as safe HTML, every piece of text escaped, DOI and web URL as links."""
    return " ".join("".join(_run_html(run) for run in sentence) for sentence in _reference_sentences(ref))


def format_reference_text(ref: Reference) -> str:
    """One bibliography entry as plain text, the same words as format_reference_html."""
    return " ".join("".join(run.text for run in sentence) for sentence in _reference_sentences(ref))
