"""`sitegen import`: read registry records (files, NCT IDs, a search), write each trial's two files into a catalog
folder, and report in words what changed since the last import.

Per trial, `content/trials/<nct id>.yaml` is the editor's file, created once and never rewritten, and
`content/trials/<nct id>.ctgov.json` is the registry's, one API v2 study written as sorted, indented JSON and
replaced (atomically) only when its bytes change, so importing an unchanged record changes nothing.
"""

from __future__ import annotations

import argparse
import codecs
import datetime
import json
import os
import re
import sys
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ContentError, Problem
from .inputs import INVISIBLE, MB, limit_of, load_json, read_input

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

    from .registry_fetch import Registry

Study = dict[str, Any]
MAX_FILE_BYTES = 256 * 1024 * 1024  # larger source files are refused; 10,000 studies of ~20 KB (the shared real records' mean) are ~200 MB
MAX_STUDIES = 10_000  # studies in one run, from all sources together; also the largest --limit
MAX_JSON_CONTAINERS = 5_000_000  # objects and arrays in one JSON file: 10,000 real studies hold about 3,000,000
EXPECTED = ("identificationModule", "statusModule", "sponsorCollaboratorsModule", "descriptionModule",
            "conditionsModule", "designModule", "eligibilityModule")  # every real record has these; warn when one is missing
# What a classic XML record holds where the v2 study has a field or module: problems with it name what its file has.
XML_NAMES = {
    "nctId": "<id_info><nct_id>", "title": "<brief_title> or <official_title>", "identificationModule": "<id_info>",
    "statusModule": "<overall_status> or its dates", "sponsorCollaboratorsModule": "<sponsors>",
    "descriptionModule": "<brief_summary> or <detailed_description>", "conditionsModule": "<condition> or <keyword>",
    "designModule": "<study_type>, <phase> or <study_design_info>", "eligibilityModule": "<eligibility>",
}

SITE_YAML = """\
# Site settings, written by `sitegen import` because this folder had none. Edit freely: no import rewrites it.
# Every field is documented in sitegen's docs/schema.md ("Settings"); `sitegen new` puts a copy in a project.
title: Clinical trials
language: en
# Where the site will be published, ending in "/" (`sitegen build --base-url URL` overrides it). Used only for
# canonical links, JSON-LD ids and the sitemap; links between pages are relative.
base_url: https://example.org/
"""

EDITOR_YAML = """\
# {nct_id}, imported from ClinicalTrials.gov. This file is yours: `sitegen import` created it and never rewrites it.
# The registry's record is {slug}.ctgov.json beside it, replaced by every re-import (do not edit that one).
# A field you set here wins over the registry's; where you set nothing, the registry's facts show.
# For example (remove the '# ' to use a line; every field is described in sitegen's docs/schema.md):
#
# title: A title in plain words
# purpose: |
#   What the trial is for, in plain words (Markdown).
# faq:
#   - question: Who can join?
#     answer: |
#       Adults who ... (Markdown; cite a reference as [@key]).
slug: {slug}
"""


@dataclass(frozen=True)
class Record:
    """One study as read from a source; `origin` names the source (and the study's place in it) for messages."""

    study: Study
    origin: str
    index: str = ""
    classic: bool = False  # converted from a classic XML record: problems name its elements, not the v2 fields

    def field(self, name: str, v2: str) -> str:
        """How a problem names a field: `v2` (its path in an API v2 study), or what a classic XML record holds."""
        return XML_NAMES[name] if self.classic else v2

    @property
    def where(self) -> str:
        return f"{self.index}: " if self.index else ""


@dataclass
class Imported:
    """What one import did to one trial: 'new', 'changed' or 'unchanged', with what changed."""

    nct_id: str
    state: str
    changes: list[dict[str, Any]] = field(default_factory=list)
    editor_file_created: bool = False
    kept: str = ""  # why the record the catalog holds was kept instead of the one given (a warning)

    def words(self) -> str:
        said = "; ".join(c["text"] for c in self.changes) if self.state == "changed" else self.state
        if self.editor_file_created and self.state != "new":  # deleted, or an import was killed before making it
            said += f"; its editor's file {self.nct_id.lower()}.yaml was missing: created"
        return f"{self.nct_id}: {said}"


# --- reading sources -------------------------------------------------------------------------------------------


def read_file(path: Path) -> tuple[list[Record], list[Problem]]:
    """The studies in a file: API v2 JSON (one study, a `{"studies": [...]}` page, an array of studies) or a classic
    XML record. Problems name the file (and the study's place in it)."""
    name = str(path)
    if not path.is_file():
        return [], [Problem(name, 0, 0, "not a regular file")]
    try:
        with path.open("rb") as source:  # read to the limit, whatever the size the file claims
            data = source.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        return [], [Problem(name, 0, 0, f"cannot read it: {e.strerror or e}")]
    if len(data) > MAX_FILE_BYTES:
        return [], [Problem(name, 0, 0, f"the file is larger than the {MAX_FILE_BYTES:,} bytes an import reads")]
    # UTF-8, UTF-16 or UTF-32, told by a byte-order mark or by the zero bytes the first characters (ASCII in JSON and
    # XML alike) have in UTF-16 and UTF-32: JSON's rule (RFC 4627), which is XML's too (its Appendix F)
    encoding = json.detect_encoding(data)
    start = _first_character(data, encoding)
    if start == "<":
        return _read_xml(name, data, encoding)
    if start in ("{", "["):
        return _read_json(name, data)
    return [], [Problem(name, 0, 0, "not a registry record: expected ClinicalTrials.gov API v2 JSON or a classic "
                        "XML record (<clinical_study>)")]


def _first_character(data: bytes, encoding: str) -> str:
    """The first character of the text that is not white space ('' when there is none); a byte-order mark is none."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")  # it drops the mark of utf-8-sig, utf-16, utf-32
    for at in range(0, len(data), 4096):
        text = decoder.decode(data[at:at + 4096]).lstrip(" \t\r\n")
        if text:
            return text[0]
    return ""


# What an answer of the API v1 (retired in 2024) holds: a full study, a page of them, or chosen fields of them
_V1_ROOTS = {"FullStudy", "FullStudiesResponse", "StudyFieldsResponse"}


def _read_json(name: str, data: bytes) -> tuple[list[Record], list[Problem]]:
    # Counted before reading: each object read takes 64 bytes and more, and each study refused a line of report, so a
    # file of 3,000,000 '{}' (9 MB) took 1.7 GB and 43 s; one of the 256 MB an import reads would have taken 40 GB.
    # (A '{' or '[' in a text is counted too: a real record has few.)
    containers = data.count(b"{") + data.count(b"[")
    if containers > MAX_JSON_CONTAINERS:
        return [], [Problem(name, 0, 0, f"{containers:,} JSON objects and arrays, more than the {MAX_JSON_CONTAINERS:,} "
                            f"an import reads: expected at most {MAX_STUDIES:,} studies (a real one holds a few hundred); "
                            "import them in parts")]
    try:
        document = load_json(name, data)
    except ContentError as e:
        return [], e.problems
    if isinstance(document, dict) and isinstance(document.get("studies"), list):
        studies: list[Any] = document["studies"]  # a page of the API's search
    elif isinstance(document, list):
        studies = document  # the website's JSON export
    elif isinstance(document, dict) and "protocolSection" in document:
        return [Record(document, name)], []
    elif isinstance(document, dict) and (retired := _V1_ROOTS & document.keys()):
        return [], [Problem(name, 0, 0, f"this is the registry's retired API v1 format ({min(retired)}), "
                            "not a v2 study: import the trial by its NCT ID, or download it again from "
                            "ClinicalTrials.gov (JSON), and import that")]
    else:
        return [], [Problem(name, 0, 0, "not a registry record: expected an API v2 study (with protocolSection), a "
                            "page of them ({\"studies\": [...]}) or an array of them")]
    if len(studies) > MAX_STUDIES:
        return [], [Problem(name, 0, 0, f"{len(studies):,} studies in one file, more than the {MAX_STUDIES:,} an import "
                            "takes: import them in parts")]
    records: list[Record] = []
    problems: list[Problem] = []
    following = document.get("nextPageToken") if isinstance(document, dict) else None
    if isinstance(following, str) and following:  # one page saved from a search of more: say the rest is not here
        problems.append(Problem(name, 0, 0, f"a page of a registry search that names a next page (nextPageToken): "
                                f"its {len(studies):,} stud{'y' if len(studies) == 1 else 'ies'} imported, none of the pages "
                                "after it; to import every page, import the search with --query", "warning"))
    for number, study in enumerate(studies, 1):
        index = f"study {number} of {len(studies)}"
        if isinstance(study, dict):
            records.append(Record(study, name, index))
        else:
            problems.append(Problem(name, 0, 0, f"{index}: not a study object; refused"))
    return records, problems


# The encoding an XML declaration names; the declaration is the first thing in a file, on its first line.
_DECLARED_ENCODING = re.compile(r"<\?xml[^>\n]*?\sencoding\s*=\s*[\"']([^\"'\n]{0,80})")


def _declared_encoding(text: str) -> tuple[str, int] | None:
    """The encoding the XML declaration at the start of `text` names (shown in ASCII), and its column on line 1."""
    declared = _DECLARED_ENCODING.match(text)
    if declared is None:
        return None
    return declared.group(1).encode("ascii", "backslashreplace").decode("ascii"), declared.start(1) + 1


def _encoding_name(encoding: str) -> str:
    """'UTF-16' for 'utf-16-le', 'UTF-8' for 'utf-8-sig': the encoding a file is in, as a declaration names it."""
    return encoding.upper().removesuffix("-SIG").removesuffix("-LE").removesuffix("-BE")


class _EntityDeclared(Exception):
    """Raised from expat at an entity declaration, with its line and column."""

    def __init__(self, line: int, column: int) -> None:
        super().__init__(line, column)
        self.line, self.column = line, column


class _TooManyElements(Exception):
    """Raised from expat at the element past MAX_XML_ELEMENTS, with its line and column."""

    def __init__(self, line: int, column: int) -> None:
        super().__init__(line, column)
        self.line, self.column = line, column


MAX_XML_ELEMENTS = 2_000_000
"""Elements an XML file may hold: a real record of 10,000 sites and posted results has a few hundred thousand, and
each takes about 100 bytes of memory once read (a 256 MB file of '<x/>' would take 6 GB and minutes)."""


def _parse_xml(data: bytes | str) -> Element:
    """The root element of an XML text. Expat itself refuses every entity declaration (_EntityDeclared), whatever the
    file's encoding: entities are how XML grows without bound (a 2 MB UTF-16 file expanded to a 48 MB record), and no
    registry record declares any. ElementTree's own parser offers no hook for that, so expat feeds its TreeBuilder.
    A text given as str is read as it is, whatever encoding its declaration names."""
    from xml.etree.ElementTree import TreeBuilder
    from xml.parsers import expat

    builder = TreeBuilder()
    parser = expat.ParserCreate()

    def refuse(*declaration: object) -> None:
        raise _EntityDeclared(parser.CurrentLineNumber, parser.CurrentColumnNumber + 1)

    count = 0

    def start(tag: str, attributes: dict[str, str]) -> None:
        nonlocal count
        count += 1
        if count > MAX_XML_ELEMENTS:
            raise _TooManyElements(parser.CurrentLineNumber, parser.CurrentColumnNumber + 1)
        builder.start(tag, attributes)

    parser.EntityDeclHandler = refuse
    parser.StartElementHandler = start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    parser.buffer_text = True  # a text in one piece, not one call per line
    parser.Parse(data, True)
    return builder.close()


def _read_xml(name: str, data: bytes, encoding: str) -> tuple[list[Record], list[Problem]]:
    """The record of an XML file in `encoding` (UTF-8, UTF-16 or UTF-32, as read_file found it)."""
    from xml.parsers import expat

    from .registry_xml import study_from_xml

    found = _encoding_name(encoding)
    declared = _declared_encoding(data[:512].decode(encoding, errors="replace"))  # the first line, decoded
    said, column = declared or ("", 0)
    told = "" if found == "UTF-8" else " (its byte-order mark or its zero bytes say so)"
    other = [Problem(name, 1, column, f"the XML declares the encoding '{said}', but the file is {found}{told}: "
                     f"expected encoding=\"{found}\" or none")] if declared else []
    source: bytes | str = data
    if encoding.startswith("utf-32"):  # expat reads UTF-8 and UTF-16 only: it is given the text, decoded here
        try:
            source = data.decode(encoding)
        except UnicodeDecodeError as e:
            return [], [Problem(name, 0, 0, f"the file is not valid {found} (byte {e.start:,}); save it as UTF-8")]
        if other and not _names_utf32(said):  # as expat refuses a UTF-16 file that declares another encoding
            return [], other
    try:
        root = _parse_xml(source)
    except _EntityDeclared as e:
        return [], [Problem(name, e.line, e.column, "XML that declares entities is refused (a registry record has none)")]
    except _TooManyElements as e:
        return [], [Problem(name, e.line, e.column, f"more than {MAX_XML_ELEMENTS:,} XML elements: expected one registry "
                            "record (one of 10,000 sites and posted results has a few hundred thousand); refused")]
    except expat.ExpatError as e:
        if e.code == expat.errors.codes[expat.errors.XML_ERROR_INCORRECT_ENCODING] and other:
            return [], other
        return [], [Problem(name, e.lineno, e.offset + 1, f"not well-formed XML: {expat.ErrorString(e.code)}")]
    except (LookupError, ValueError):  # an encoding Python does not know, or expat cannot use (multi-byte, not text)
        if other and found != "UTF-8":
            return [], other
        if not declared:
            return [], [Problem(name, 0, 0, "the XML's encoding cannot be read: expected UTF-8, the encoding of registry "
                                "records")]
        return [], [Problem(name, 1, column, f"the XML declares the encoding '{said}', which cannot be read: expected "
                            "UTF-8, the encoding of registry records")]
    if root.tag == "rss":
        listed = [(g.text or "").strip() for g in root.iter("guid")]
        named = f" It lists {len(listed)} studies ({', '.join(listed[:3])}{', ...' if len(listed) > 3 else ''})." if listed else ""
        return [], [Problem(name, 0, 0, "this is a registry search feed (RSS), not a study record: it holds no trial's "
                            f"facts.{named} Import the studies by NCT ID (sitegen import NCT...) or with --query")]
    if root.tag != "clinical_study":
        return [], [Problem(name, 0, 0, f"not a registry record: expected <clinical_study>, found <{root.tag}>")]
    return [Record(study_from_xml(root), name, classic=True)], []


def _names_utf32(encoding: str) -> bool:
    """Whether a declared encoding is UTF-32 ('UTF-32', 'utf-32le', 'UTF32', as Python's codecs know the names)."""
    try:
        return codecs.lookup(encoding).name.startswith("utf-32")
    except LookupError:
        return False


def check_record(record: Record) -> tuple[str | None, list[Problem]]:
    """The record's NCT ID, or None when it is refused (no valid NCT ID or no title); and a warning naming the
    modules a partial record lacks."""
    from .registry_fetch import NCT_ID

    protocol = record.study.get("protocolSection")
    protocol = protocol if isinstance(protocol, dict) else {}
    ident = protocol.get("identificationModule")
    ident = ident if isinstance(ident, dict) else {}
    nct_id = ident.get("nctId")
    if not isinstance(nct_id, str) or not nct_id.strip():
        return None, [Problem(record.origin, 0, 0, f"{record.where}no NCT ID ("
                              f"{record.field('nctId', 'protocolSection.identificationModule.nctId')}); a record "
                              "without one cannot be imported")]
    if not NCT_ID.fullmatch(nct_id):  # checked before it names a file
        return None, [Problem(record.origin, 0, 0, f"{record.where}'{_escape_surrogates(nct_id[:40])}' is not an NCT ID (NCT and 8 digits, 0-9); refused")]
    if not any(isinstance(ident.get(k), str) and INVISIBLE.sub("", ident[k]).strip() for k in ("briefTitle", "officialTitle")):
        return None, [Problem(record.origin, 0, 0, f"{record.where}{nct_id} has no title "
                              f"({record.field('title', 'briefTitle or officialTitle')}); refused")]
    surrogate = _lone_surrogate(record.study)
    if surrogate is not None:  # JSON's \u escape can write one; UTF-8, the registry file's encoding, cannot
        where, code = surrogate
        return None, [Problem(record.origin, 0, 0, f"{record.where}{nct_id}: {where} holds \\u{code:04x}, half of a "
                              "UTF-16 surrogate pair without its other half, which is no character; refused")]
    missing = [record.field(m, m) for m in EXPECTED if not protocol.get(m)]
    if missing:
        return nct_id, [Problem(record.origin, 0, 0, f"{record.where}{nct_id} is a partial record: no "
                                f"{', '.join(missing)}; imported what it holds", "warning")]
    return nct_id, []


_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape_surrogates(text: str) -> str:
    """`text` with each lone surrogate written as its escape (\\ud800), which UTF-8 output can hold; in a JSON string,
    the escape JSON itself gives it."""
    return _SURROGATE.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def _lone_surrogate(study: Study) -> tuple[str, int] | None:
    """The first text in the study, in the record's order (a key or a value), that holds a lone surrogate: where it
    is ('protocolSection.conditionsModule.conditions[2]', escaped) and the surrogate's code; None when none does."""
    pending: list[tuple[Any, str]] = [(study, "")]
    while pending:
        value, where = pending.pop()
        if isinstance(value, str):
            found = _SURROGATE.search(value)
            if found:
                return where, ord(found.group())
        elif isinstance(value, dict):
            inside = [(item, f"{where}.{key}" if where else str(key)) for key, item in value.items()]
            for item, path in inside:
                found = _SURROGATE.search(path)
                if found:
                    return _escape_surrogates(path), ord(found.group())
            pending += reversed(inside)
        elif isinstance(value, list):
            pending += reversed([(item, f"{where}[{number}]") for number, item in enumerate(value)])
    return None


# --- writing ---------------------------------------------------------------------------------------------------


def record_bytes(study: Study) -> bytes:
    """The registry file's bytes: the same study always gives the same bytes."""
    return (json.dumps(study, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def write_atomic(path: Path, data: bytes, replace: bool = True) -> bool:
    """Write `data` to `path` through a temporary file in the same folder and one rename: never half a file, even
    after a power cut (the file is on the disk before its rename; the caller syncs the folder, _sync_folder, once
    its renames are done). With `replace` False, a file that is at `path` (an editor's, saved since the caller
    looked) is kept: False."""
    import tempfile  # only an import writes; the other commands need not load it

    temporary = ""
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())  # else a crash after the rename may leave the name on an empty file
        os.chmod(temporary, 0o644)
        if replace:
            os.replace(temporary, path)
        else:
            try:
                os.link(temporary, path)  # refused when a file is there, unlike a rename
            except FileExistsError:
                return False
            except OSError:  # a file system without hard links: the window between looking and renaming stays
                if os.path.lexists(path):
                    return False
                os.replace(temporary, path)
        return True
    except OSError as e:  # named by the file it was to be: a full disk's names none, a read-only folder's the temporary
        raise OSError(e.errno, e.strerror or f"{e}", str(path)) from None
    finally:
        if temporary:
            Path(temporary).unlink(missing_ok=True)


def _sync_folder(folder: Path) -> None:
    """Put a folder's entries (the renames into it) on the disk, where the system allows opening a folder."""
    try:
        handle = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # Windows opens no folder: its renames are on the disk when they return
        return
    try:
        os.fsync(handle)
    except OSError:  # a file system that syncs no folder (EINVAL): the file itself is whole either way
        pass
    finally:
        os.close(handle)


def prepare_folder(content: Path) -> tuple[bool, list[Problem]]:
    """Make `content/trials/` (and a `site.yaml` when there is none); True when site.yaml was written. A folder
    holding a single trial (trial.yaml) is refused: a folder holds one layout."""
    if (content / "trial.yaml").exists():
        return False, [Problem(str(content / "trial.yaml"), 0, 0, f"{content}/ holds a single trial (trial.yaml); an "
                               "import writes a catalog (trials/<nct id>.yaml) and a folder holds one layout: "
                               "import into another folder with --content DIR")]
    if content.exists() and not content.is_dir():
        return False, [Problem(str(content), 0, 0, "is not a folder")]
    (content / "trials").mkdir(parents=True, exist_ok=True)
    _remove_leftovers(content / "trials")
    if (content / "site.yaml").exists():
        return False, []
    return write_atomic(content / "site.yaml", SITE_YAML.encode(), replace=False), []


LEFTOVER_AGE = 3600  # seconds: write_atomic renames its file as soon as it is written; older ones were left by a kill


def _remove_leftovers(trials: Path) -> None:
    """Delete the temporary files of writes an import killed (`kill -9`) never finished, a trial's in `trials` and
    site.yaml's beside it: a build ignores them, but they would stay for good. Only those older than LEFTOVER_AGE,
    so that another import's write is left alone."""
    import time

    # (write_atomic names them .NAME.RANDOM.tmp)
    for leftover in [*trials.glob(".nct*.tmp"), *trials.parent.glob(".site.yaml.*.tmp")]:
        try:
            if leftover.is_file() and not leftover.is_symlink() and \
                    time.time() - leftover.stat().st_mtime > LEFTOVER_AGE:
                leftover.unlink()
        except OSError:
            pass  # gone already, or not ours to delete: harmless either way


def record_name(nct_id: str) -> str:
    """The registry file's name in `trials/`."""
    return f"{nct_id.lower()}.ctgov.json"


def too_big(record: Record, nct_id: str, data: bytes) -> Problem | None:
    """A problem when the registry file's bytes are more than a build reads (`inputs.limit_of`: a record of 50,000
    sites is 20 MB), which would make every later build of the catalog fail; None when they are not."""
    limit = limit_of(record_name(nct_id))
    if len(data) <= limit:
        return None
    return Problem(record.origin, 0, 0, f"{record.where}{nct_id}: its registry file would be {len(data) / MB:,.1f} MB, "
                   f"and a build reads one of at most {limit // MB} MB; refused")


def write_trial(content: Path, nct_id: str, study: Study, data: bytes | None = None) -> Imported:
    """Write one trial's files; the registry's (`data`, when already made) only when its bytes changed, the
    editor's only when missing."""
    slug = nct_id.lower()
    record_path = content / "trials" / record_name(nct_id)
    editor_path = content / "trials" / f"{slug}.yaml"
    data = record_bytes(study) if data is None else data
    old: Study | None = None
    if record_path.exists():
        try:  # read as a build reads it: a FIFO there would block the import, a link to /dev/zero fill the memory
            before: bytes | None = read_input(record_path)
        except ContentError:  # no record a build reads: replaced, as a broken one is
            before = None
        if before == data:
            imported = Imported(nct_id, "unchanged")
        else:
            try:  # the file a user may have edited, read as the build reads it: not too deep for Python's reader
                old = load_json(str(record_path), before) if before is not None else {}
            except ContentError:
                old = {}
            old = old if isinstance(old, dict) else {}
            # another study's record under this one's name (copied by hand; a build refuses it) is replaced, however new
            foreign = bool(old) and _get(old, _P + "identificationModule.nctId") != nct_id
            held, given = _last_update(old), _last_update(study)
            if foreign:
                imported = Imported(nct_id, "changed", [{"field": "record", "text": "the file held another study's "
                                                         f"record, replaced by {nct_id}'s"}])
            elif given and held and _earlier(given, held):  # a stale copy (a cache, an old export) would undo later news
                kept = (f"{nct_id}: this record was last updated on {given[0]}, before the one this catalog holds "
                        f"({held[0]}); the newer is kept (to go back to an older record, delete {record_path.name} "
                        "first)")
                imported = Imported(nct_id, "unchanged", kept=kept)  # and so not written
            else:
                imported = Imported(nct_id, "changed", changes(old, study))
            if imported.state == "changed" and not imported.changes:
                imported.changes = [{"field": "record", "text": "the record's text changed, none of its facts"}]
    else:
        imported = Imported(nct_id, "new")
    if imported.state != "unchanged":
        write_atomic(record_path, data)
    if not editor_path.exists():
        imported.editor_file_created = write_atomic(editor_path, EDITOR_YAML.format(nct_id=nct_id, slug=slug).encode(),
                                                    replace=False)
    return imported


# --- the change report -----------------------------------------------------------------------------------------


_STATUS_WORDS = {"ACTIVE_NOT_RECRUITING": "Active, not recruiting", "NA": "Not applicable", "ECT": "Educational/counseling/training"}


def in_words(value: Any) -> str:
    """An enum value in words ('NOT_YET_RECRUITING' -> 'Not yet recruiting', 'PHASE2' -> 'Phase 2'); other
    values as they are; 'none' for a missing one."""
    if value is None or value == "" or value == []:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "/".join(in_words(v) for v in value)
    text = str(value)
    if text in _STATUS_WORDS:
        return _STATUS_WORDS[text]
    if re.fullmatch(r"[A-Z0-9_]+", text) and not text.isdigit():
        text = re.sub(r"PHASE(\d)", r"PHASE \1", text).replace("_", " ").capitalize()
    return text


def _get(study: Study, path: str) -> Any:
    value: Any = study
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _items(study: Study, path: str) -> list[Any]:
    value = _get(study, path)
    return value if isinstance(value, list) else []


def _last_update(study: Study) -> tuple[str, tuple[int, ...]] | None:
    """The day, month or year the record was last updated on the registry, as it writes it and as numbers
    ('2025-06', (2025, 6)); None when it gives no date that is one."""
    value = _get(study, _P + "statusModule.lastUpdatePostDateStruct.date")
    given = re.fullmatch(r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?", value) if isinstance(value, str) else None
    if given is None:
        return None
    numbers = tuple(int(part) for part in given.groups() if part is not None)
    try:
        datetime.date(*numbers, *(1,) * (3 - len(numbers)))
    except ValueError:
        return None
    return given[0], numbers


def _earlier(given: tuple[str, tuple[int, ...]], held: tuple[str, tuple[int, ...]]) -> bool:
    """Whether `given` is a date before `held`, compared as far as both go: a month is not before a day in it."""
    shared = min(len(given[1]), len(held[1]))
    return given[1][:shared] < held[1][:shared]


def _dated(struct: Any) -> str | None:
    """'2024-06 (anticipated)' from a date struct."""
    if not isinstance(struct, dict) or not struct.get("date"):
        return None
    kind = {"ACTUAL": " (actual)", "ESTIMATED": " (anticipated)", "ANTICIPATED": " (anticipated)"}.get(str(struct.get("type")), "")
    return f"{struct['date']}{kind}"


def _enrollment(info: Any) -> str | None:
    if not isinstance(info, dict) or info.get("count") is None:
        return None
    kind = {"ACTUAL": " (actual)", "ESTIMATED": " (anticipated)"}.get(str(info.get("type")), "")
    return f"{info['count']}{kind}"


def _site(site: Any) -> str:
    site = site if isinstance(site, dict) else {}
    return ", ".join(str(site.get(k)) for k in ("facility", "city", "country") if site.get(k)) or "unnamed site"


def _text(value: Any) -> str:
    return str(value.get("name") or value.get("label") or value.get("measure") or value) if isinstance(value, dict) else str(value)


@dataclass(frozen=True)
class Fact:
    """One fact the change report names: a value at `path` shown by `show` (None: a long text, only "changed"),
    or, with `key`, a list whose items are matched by key and counted as added, removed and changed."""

    name: str
    path: str
    show: Callable[[Any], Any] | None = None
    key: Callable[[Any], Hashable] | None = None
    singular: str = ""

    def change(self, old: Study, new: Study) -> dict[str, Any] | None:
        if self.key is not None:
            return self._items_change(old, new, self.key)
        before, after = _get(old, self.path), _get(new, self.path)
        if before == after:
            return None
        if self.show is None:
            return {"field": self.name, "before": before, "after": after, "text": f"{self.name} changed"}
        shown = self.show(before), self.show(after)
        if shown[0] == shown[1]:  # the same in words (a field left out and one empty: 'results none → none')
            return None
        return {"field": self.name, "before": shown[0], "after": shown[1], "text": f"{self.name} {shown[0]} → {shown[1]}"}

    def _items_change(self, old: Study, new: Study, key: Callable[[Any], Hashable]) -> dict[str, Any] | None:
        change = _compare_items(_items(old, self.path), _items(new, self.path), key)
        if change is None:
            return None
        counts = [(len(change[k]), k) for k in ("added", "removed", "changed") if change[k]]
        (first, verb), rest = counts[0], counts[1:]
        words = [f"{first} {self.singular if first == 1 else self.name} {verb}", *(f"{n} {v}" for n, v in rest)]
        return {"field": self.name, **change, "text": ", ".join(words)}


def _items_of(name: str, singular: str, path: str, key: Callable[[Any], Hashable] = lambda i: _text(i)) -> Fact:
    return Fact(name, path, key=key, singular=singular)


def _term(mesh: Any) -> str:
    return str(mesh.get("term")) if isinstance(mesh, dict) else str(mesh)


_P = "protocolSection."
# In the order the report names them: what a patient or a referring doctor acts on first.
FACTS: tuple[Fact, ...] = (
    Fact("status", _P + "statusModule.overallStatus", in_words),
    Fact("why stopped", _P + "statusModule.whyStopped", lambda v: f"'{v}'" if v else "none"),
    Fact("start", _P + "statusModule.startDateStruct", _dated),
    Fact("primary completion", _P + "statusModule.primaryCompletionDateStruct", _dated),
    Fact("completion", _P + "statusModule.completionDateStruct", _dated),
    Fact("phase", _P + "designModule.phases", in_words),
    Fact("study type", _P + "designModule.studyType", in_words),
    Fact("enrollment", _P + "designModule.enrollmentInfo", _enrollment),
    _items_of("sites", "site", _P + "contactsLocationsModule.locations", _site),
    Fact("eligibility criteria", _P + "eligibilityModule.eligibilityCriteria"),
    Fact("sex", _P + "eligibilityModule.sex", in_words),
    Fact("minimum age", _P + "eligibilityModule.minimumAge", in_words),
    Fact("maximum age", _P + "eligibilityModule.maximumAge", in_words),
    Fact("healthy volunteers", _P + "eligibilityModule.healthyVolunteers", in_words),
    _items_of("arms", "arm", _P + "armsInterventionsModule.armGroups"),
    _items_of("interventions", "intervention", _P + "armsInterventionsModule.interventions",
              lambda i: f"{i.get('type', '')}: {i.get('name', '')}" if isinstance(i, dict) else str(i)),
    _items_of("primary outcomes", "primary outcome", _P + "outcomesModule.primaryOutcomes"),
    _items_of("secondary outcomes", "secondary outcome", _P + "outcomesModule.secondaryOutcomes"),
    _items_of("other outcomes", "other outcome", _P + "outcomesModule.otherOutcomes"),
    _items_of("central contacts", "central contact", _P + "contactsLocationsModule.centralContacts"),
    _items_of("study officials", "study official", _P + "contactsLocationsModule.overallOfficials"),
    Fact("brief title", _P + "identificationModule.briefTitle"),
    Fact("official title", _P + "identificationModule.officialTitle"),
    Fact("acronym", _P + "identificationModule.acronym", in_words),
    _items_of("conditions", "condition", _P + "conditionsModule.conditions", str),
    _items_of("keywords", "keyword", _P + "conditionsModule.keywords", str),
    Fact("lead sponsor", _P + "sponsorCollaboratorsModule.leadSponsor.name", in_words),
    _items_of("collaborators", "collaborator", _P + "sponsorCollaboratorsModule.collaborators"),
    Fact("brief summary", _P + "descriptionModule.briefSummary"),
    Fact("detailed description", _P + "descriptionModule.detailedDescription"),
    _items_of("references", "reference", _P + "referencesModule.references",
              lambda r: str(r.get("pmid") or r.get("citation")) if isinstance(r, dict) else str(r)),
    _items_of("condition MeSH terms", "condition MeSH term", "derivedSection.conditionBrowseModule.meshes", _term),
    _items_of("intervention MeSH terms", "intervention MeSH term", "derivedSection.interventionBrowseModule.meshes", _term),
    Fact("last update", _P + "statusModule.lastUpdatePostDateStruct", _dated),
    Fact("results", "hasResults", lambda v: "posted" if v else "none"),
)


def changes(old: Study, new: Study) -> list[dict[str, Any]]:
    """What changed from `old` to `new`, each as a dict with `field`, `text` (in words) and the values or the
    items added, removed and changed; facts the report does not name are summed up by module at the end."""
    found = [change for fact in FACTS if (change := fact.change(old, new)) is not None]
    others = _other_modules(old, new)
    if others:
        found.append({"field": "other", "modules": others, "text": f"also changed: {', '.join(others)}"})
    return found


def _compare_items(old: list[Any], new: list[Any], key: Callable[[Any], Hashable]) -> dict[str, list[str]] | None:
    """Items added, removed and changed, matched by key (items with the same key in their order)."""
    before: dict[Hashable, list[Any]] = defaultdict(list)
    after: dict[Hashable, list[Any]] = defaultdict(list)
    for item in old:
        before[key(item)].append(item)
    for item in new:
        after[key(item)].append(item)
    added, removed, changed = [], [], []
    for k, items in after.items():
        added += [str(k)] * max(0, len(items) - len(before.get(k, [])))
        changed += [str(k) for x, y in zip(before.get(k, []), items) if x != y]
    for k, items in before.items():
        removed += [str(k)] * max(0, len(items) - len(after.get(k, [])))
    if not (added or removed or changed):
        return None
    return {"added": added, "removed": removed, "changed": changed}


def _other_modules(old: Study, new: Study) -> list[str]:
    """The modules (in words) that differ once the facts the report names are taken out."""
    named = [fact.path for fact in FACTS]

    def rest(study: Study) -> dict[str, Any]:
        copy: dict[str, Any] = json.loads(json.dumps(study))
        for path in named:
            *parents, last = path.split(".")
            holder: Any = copy
            for key in parents:
                holder = holder.get(key) if isinstance(holder, dict) else None
            if isinstance(holder, dict):
                holder.pop(last, None)
        return copy

    a, b = rest(old), rest(new)
    names = []
    for section in sorted(set(a) | set(b)):
        x, y = a.get(section), b.get(section)
        if x == y:
            continue
        if isinstance(x, dict) and isinstance(y, dict):
            names += [_module_words(m) for m in sorted(set(x) | set(y)) if x.get(m) != y.get(m)]
        else:
            names.append(_module_words(section))
    return names


def _module_words(name: str) -> str:
    """'ipdSharingStatementModule' -> 'ipd sharing statement'."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", name.removesuffix("Module")).lower()


# --- the command -----------------------------------------------------------------------------------------------


def run(args: argparse.Namespace, sleep: Callable[[float], None] | None = None) -> int:
    """Run `sitegen import`; the exit code: 0 done, 1 a record or source refused (the others are written),
    2 wrong use."""
    from .registry_fetch import DEFAULT_API_URL, STATUSES, Registry

    api_url = args.api_url or DEFAULT_API_URL
    statuses = [re.sub(r"[^A-Z]+", "_", s.upper()).strip("_") for s in args.status]
    wrong = [s for s, given in zip(statuses, args.status) if s not in STATUSES]
    usage = None
    sources = list(dict.fromkeys([*args.sources, *(imported_ids(args.content) if args.refresh else [])]))
    if not sources and not args.query:
        usage = (f"--refresh: {args.content / 'trials'}/ holds no imported trial (nct*.ctgov.json)" if args.refresh
                 else "name a SOURCE (a file or an NCT ID), --query TEXT or --refresh")
    elif args.limit is not None and not 1 <= args.limit <= MAX_STUDIES:
        usage = f"--limit {args.limit}: expected a number of studies from 1 to {MAX_STUDIES:,}"
    elif (args.status or args.limit) and not args.query:
        usage = "--status and --limit go with --query"
    elif not re.match(r"https?://[^/\s]+", api_url) or not _readable_url(api_url):
        usage = f"--api-url '{api_url}': expected an http(s) URL"
    elif wrong:
        usage = f"--status {wrong[0]}: expected one of {', '.join(STATUSES)}"
    if usage:
        print(f"sitegen import: error: {usage}", file=sys.stderr)
        return 2
    registry = Registry(api_url) if sleep is None else Registry(api_url, sleep=sleep)
    try:
        records, problems = gather(sources, args.query, statuses, args.limit or MAX_STUDIES, registry)
        report = import_records(args.content, records, problems)
    except OSError as e:  # a folder that cannot be written, a full disk
        print(f"sitegen: {e.filename or args.content}: {e.strerror or e}; the import stopped there: each file is whole, "
              "old or new (run the import again to finish)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("sitegen: interrupted; each file is whole, old or new (run the import again to finish)", file=sys.stderr)
        return 130
    report.show(args.content, args.json)
    return 1 if any(p.severity == "error" for p in report.problems) else 0


def imported_ids(content: Path) -> list[str]:
    """The NCT IDs of the trials a catalog has imported, read from the names of their registry files, in order."""
    folder = content / "trials"
    names = sorted(path.name for path in folder.glob("nct*.ctgov.json")) if folder.is_dir() else []
    return [found.group(1).upper() for name in names if (found := re.fullmatch(r"(nct[0-9]{8})\.ctgov\.json", name))]


def gather(sources: Iterable[str], query: str | None, statuses: list[str], limit: int,
           registry: Registry) -> tuple[list[Record], list[Problem]]:
    """Every record the sources and the search give, and the problems met reading or fetching them."""
    from .registry_fetch import NCT_ID, FetchError

    records: list[Record] = []
    problems: list[Problem] = []
    for source in sources:
        path = Path(source)
        if NCT_ID.fullmatch(source.upper()) and not path.exists():
            try:
                record = Record(registry.study(source.upper()), f"{registry.api_url.rstrip('/')}/studies/{source.upper()}")
                records.append(record)
                answered = check_record(record)[0]
                if answered not in (None, source.upper()):  # the registry sends an old ID on to the study's new one
                    problems.append(Problem(source.upper(), 0, 0, f"the registry answers with {answered}, the study's ID "
                                            f"now: it is imported as {answered}; if this catalog has "
                                            f"trials/{source.lower()}.*, remove them", "warning"))
            except FetchError as e:
                problems.append(Problem(source.upper(), 0, 0, str(e).removeprefix(f"{source.upper()}: ")))
        elif path.is_dir():
            problems.append(Problem(source, 0, 0, "is a folder: name its record files (e.g. folder/*.json)"))
        elif not path.exists():
            problems.append(Problem(source, 0, 0, "no such file, and not an NCT ID (NCT and 8 digits, 0-9)"))
        else:
            found, trouble = read_file(path)
            records += found
            problems += trouble
    if query:
        try:
            for number, study in enumerate(registry.search(query, statuses, limit), 1):
                if isinstance(study, dict):
                    records.append(Record(study, f"search '{query}'", f"study {number}"))
                else:
                    problems.append(Problem(f"search '{query}'", 0, 0, f"study {number}: not a study object; refused"))
        except FetchError as e:  # the studies of the pages fetched before the failure are still imported
            problems.append(Problem(f"search '{query}'", 0, 0, str(e).removeprefix(f"search '{query}': ")))
    return records, problems


@dataclass
class Report:
    """What an import did: each trial, in the order first met, and every problem."""

    trials: list[Imported] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    site_yaml_created: bool = False

    def show(self, content: Path, as_json: bool) -> None:
        if as_json:
            print(_escape_surrogates(json.dumps({
                "content": str(content),
                "siteYamlCreated": self.site_yaml_created,
                "trials": [{"nctId": t.nct_id, "state": t.state, "changes": t.changes,
                            "editorFileCreated": t.editor_file_created} for t in self.trials],
                "problems": [{"file": p.file, "line": p.line, "column": p.column, "message": p.message,
                              "severity": p.severity} for p in self.problems],
            }, indent=2, ensure_ascii=False)))  # a refused record's text or a file's name may hold a lone surrogate
        else:
            for problem in self.problems:
                print(problem, file=sys.stderr)
            for trial in self.trials:
                print(trial.words())
            counts = {state: sum(t.state == state for t in self.trials) for state in ("new", "changed", "unchanged")}
            made = "; wrote site.yaml" if self.site_yaml_created else ""
            print(f"sitegen: {len(self.trials):,} trial{'s' if len(self.trials) != 1 else ''} imported into {content}/: "
                  f"{counts['new']} new, {counts['changed']} changed, {counts['unchanged']} unchanged{made}")
        errors = sum(p.severity == "error" for p in self.problems)
        if errors and not as_json:
            print(f"sitegen: {errors} record{'s' if errors != 1 else ''} or source{'s' if errors != 1 else ''} "
                  "refused; nothing was written for them", file=sys.stderr)


def _readable_url(url: str) -> bool:
    """Whether urllib can read the URL's host and port ('http://[::1' and 'http://host:abc' it cannot)."""
    import urllib.parse

    try:
        urllib.parse.urlsplit(url).port  # noqa: B018 - read for the ValueError it raises
    except ValueError:
        return False
    return True


def import_records(content: Path, records: list[Record], problems: list[Problem]) -> Report:
    """Check every record (and that a build can read its registry file), then write the accepted ones into `content`."""
    report = Report(problems=list(problems))
    accepted: dict[str, Record] = {}
    for record in records:
        nct_id, trouble = check_record(record)
        report.problems += trouble
        if nct_id is None:
            continue
        if nct_id in accepted:
            met = accepted[nct_id]
            before, now = _last_update(met.study), _last_update(record.study)
            if before and now and _earlier(now, before):  # the rule of write_trial: a stale copy undoes no news
                report.problems.append(Problem(record.origin, 0, 0, f"{record.where}{nct_id} was met before (in "
                                               f"{met.origin}), last updated on {before[0]}, after this record "
                                               f"({now[0]}): that one is imported", "warning"))
                continue
            report.problems.append(Problem(record.origin, 0, 0, f"{record.where}{nct_id} was met before (in "
                                           f"{met.origin}); this later record is imported", "warning"))
            del accepted[nct_id]
        accepted[nct_id] = record
    if len(accepted) > MAX_STUDIES:
        report.problems.append(Problem(str(content), 0, 0, f"{len(accepted):,} studies in one import, more than "
                                       f"{MAX_STUDIES:,}: import them in parts; nothing was written"))
        return report
    written: dict[str, tuple[Record, bytes]] = {}
    for nct_id, record in accepted.items():
        data = record_bytes(record.study)
        refused = too_big(record, nct_id, data)
        if refused:
            report.problems.append(refused)
        else:
            written[nct_id] = (record, data)
    if not written:
        return report
    try:
        report.site_yaml_created, trouble = prepare_folder(content)
        if trouble:
            report.problems += trouble
            return report
        for nct_id, (record, data) in written.items():
            report.trials.append(write_trial(content, nct_id, record.study, data))
            if report.trials[-1].kept:
                report.problems.append(Problem(record.origin, 0, 0, f"{record.where}{report.trials[-1].kept}",
                                               "warning"))
    finally:  # the renames on the disk, each folder synced once (a sync per file took 2 ms on ext4)
        for folder in (content / "trials", content):
            _sync_folder(folder)
    return report
