"""Make the catalog's full-text search index: small JSON files that the page's script (static/search.js) reads.

Every trial is a document, numbered in the order of the trials' URLs. Its words are those of all its pages (its
title's counted TITLE_WEIGHT times more), taken as the script takes a query's (`words`). Under search/:

- index.json: the format, the number of documents, of terms files and of documents a docs file holds, the
  words files there are, and a version (a digest of every other file): the script asks for the others with it,
  so that the browser's cache does not mix two builds' files, and starts again when it changes;
- words/<the term's first two characters, UTF-8, in hex>.json: {term: how many documents have it}, every term
  that starts so: what a query's last word, maybe still being typed, can be the start of;
- terms/<FNV-1a of the term's UTF-8, modulo the number of terms files>.json: {term: [each document that has it,
  as its number less the one before's (the first's less -1), times 16, plus how often it has it, up to 15]};
- docs/<document number // DOCS_PER_FILE>.json: [[url, title, condition, status, phase], ...].

A phone searching 10,000 trials for a word loads index.json, one words file, a few terms files and the docs files
of the results it shows: tens of kilobytes. A Pagefind index that an edit could update a part of had to be split
into bundles, and a phone loaded every bundle's metadata, filters and index chunks: a megabyte in 120 requests.

When the documents are the same as when the index was last made, the index is changed where it must be: the terms
and words files holding a term whose count in an edited trial changed are read back and changed (`update_index`).
Otherwise it is made whole (`make_index`). Either way the files are the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

FOLDER = "search/"
FORMAT = 1
TITLE_WEIGHT = 5  # a word of the title counts as five in the text: a trial named for it ranks first
MAX_TERM = 40  # characters of a word that are kept: longer ones are cut (the script cuts a query's the same way)
MAX_COUNT = 15  # how often a document has a term, as stored (4 bits)
DOCS_PER_FILE = 100
TERMS_PER_FILE = 16  # about this many documents to a terms file: a power of two, from 1 to MAX_TERM_FILES
MAX_TERM_FILES = 4096

# Combining marks (accents, once NFKD has split them off; kana's voicing marks, which would split a Japanese word),
# the same ranges as search.js drops.
_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\u3099-\u309a\ufe20-\ufe2f]")
_WORD = re.compile(r"[^\W_]+")  # letters and digits: as search.js's [\p{L}\p{N}]+

Counts = dict[str, int]  # a document's terms, and how often it has each


@dataclass(frozen=True)
class Doc:
    """What a result shows of a trial."""

    url: str  # relative to the site root, e.g. 'trials/nct05836571/'
    title: str
    condition: str
    status: str
    phase: str


def words(text: str) -> list[str]:
    """The terms of a text, in order: NFKD, lower case, accents dropped, runs of letters and digits, each cut to
    MAX_TERM characters."""
    folded = _MARKS.sub("", unicodedata.normalize("NFKD", text).lower())
    found: list[str] = _WORD.findall(folded)
    if max(map(len, found), default=0) <= MAX_TERM:  # (most texts: none to cut, and no loop in Python)
        return found
    return [word[:MAX_TERM] for word in found]


def counts_of(title: str, text: str) -> Counts:
    """A document's terms and how often it has each, its title's words counted TITLE_WEIGHT times more."""
    counts = Counter(words(text))
    for word in words(title):
        counts[word] += TITLE_WEIGHT
    return dict(counts)


def term_files(documents: int) -> int:
    """How many terms files an index of `documents` has: a power of two, about one per TERMS_PER_FILE documents."""
    count = 1
    while count * 2 * TERMS_PER_FILE <= documents and count < MAX_TERM_FILES:
        count *= 2
    return count


def term_file(term: str, files: int) -> str:
    """The terms file holding `term`: FNV-1a (32 bits) of its UTF-8, modulo the number of files."""
    h = 0x811C9DC5
    for byte in term.encode("utf-8"):
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return f"{FOLDER}terms/{h % files}.json"


def words_file(term: str) -> str:
    """The words file listing `term`: named by its first two characters' UTF-8, in hex."""
    return f"{FOLDER}words/{term[:2].encode('utf-8').hex()}.json"


def make_index(docs: Sequence[Doc], counts: Iterable[Counts]) -> dict[str, bytes]:
    """The whole index of these documents (in order) with these terms (one Counts a document, in the same order,
    taken one at a time), by path under the site root."""
    files = term_files(len(docs))
    postings: dict[str, list[int]] = {}  # each term's documents, encoded as they are met (in order)
    last: dict[str, int] = {}
    for number, terms in enumerate(counts):
        for term, count in terms.items():
            found = postings.get(term)
            if found is None:
                postings[term] = found = []
            found.append((number - last.get(term, -1)) * 16 + min(count, MAX_COUNT))
            last[term] = number
    by_file: dict[str, dict[str, list[int]]] = {}
    frequency: dict[str, dict[str, int]] = {}
    for term, found in postings.items():
        by_file.setdefault(term_file(term, files), {})[term] = found
        frequency.setdefault(words_file(term), {})[term] = len(found)
    return _finish(docs, files, {name: _json(terms) for name, terms in by_file.items()},
                   {name: _json(terms) for name, terms in frequency.items()})


def update_index(docs: Sequence[Doc], changes: Mapping[int, tuple[Counts, Counts]], made: Mapping[str, bytes],
                 ) -> dict[str, bytes] | None:
    """The index of these documents, made from the index `made` of the same documents, each of `changes` (document
    number: its terms then, its terms now) changed; None when `made` is not such an index (the caller makes it
    whole). `made` must be whole, as the last build wrote it: a terms or words file it lacks is taken as empty."""
    try:
        head = json.loads(made[FOLDER + "index.json"])
        if head.get("format") != FORMAT or head.get("documents") != len(docs):
            return None
        files = term_files(len(docs))
        changed_terms: dict[str, dict[str, None]] = {}  # terms file: terms whose documents changed
        for old, new in changes.values():
            for term in old.keys() | new.keys():
                if old.get(term) != new.get(term):
                    changed_terms.setdefault(term_file(term, files), {})[term] = None
        terms_files = {name: data for name, data in made.items() if name.startswith(FOLDER + "terms/")}
        words_files = {name: data for name, data in made.items() if name.startswith(FOLDER + "words/")}
        frequency: dict[str, dict[str, int]] = {}
        for name, changed in changed_terms.items():
            held: dict[str, list[int]] = json.loads(terms_files[name]) if name in terms_files else {}
            for term in changed:
                found = [(n, c) for n, c in _decode(held.get(term, [])) if n not in changes]
                found += [(n, new[term]) for n, (_, new) in changes.items() if term in new]
                if found:
                    held[term] = _encode(sorted(found))
                else:
                    held.pop(term, None)
                frequency.setdefault(words_file(term), {})[term] = len(found)
            if held:
                terms_files[name] = _json(held)
            else:
                terms_files.pop(name, None)
        for name, counted in frequency.items():
            listed: dict[str, int] = json.loads(words_files[name]) if name in words_files else {}
            for term, documents in counted.items():
                if documents:
                    listed[term] = documents
                else:
                    listed.pop(term, None)
            if listed:
                words_files[name] = _json(listed)
            else:
                words_files.pop(name, None)
    except (KeyError, ValueError, TypeError, AttributeError):  # not an index this module made
        return None
    return _finish(docs, files, terms_files, words_files)


def _finish(docs: Sequence[Doc], files: int, terms: dict[str, bytes], frequency: dict[str, bytes]) -> dict[str, bytes]:
    """The index: its terms and words files, the docs files and index.json."""
    out = {**terms, **frequency}
    for start in range(0, len(docs), DOCS_PER_FILE):
        part = [[d.url, d.title, d.condition, d.status, d.phase] for d in docs[start:start + DOCS_PER_FILE]]
        out[f"{FOLDER}docs/{start // DOCS_PER_FILE}.json"] = _json(part)
    version = hashlib.blake2b(digest_size=8)
    for name in sorted(out):
        version.update(name.encode() + b"\0" + hashlib.blake2b(out[name], digest_size=16).digest())
    listed = sorted(name.removeprefix(FOLDER + "words/").removesuffix(".json") for name in frequency)
    head = {"format": FORMAT, "documents": len(docs), "termFiles": files, "docsPerFile": DOCS_PER_FILE,
            "words": listed, "version": version.hexdigest()}
    out[FOLDER + "index.json"] = _json(head)
    return dict(sorted(out.items()))


def _encode(found: list[tuple[int, int]]) -> list[int]:
    """Documents with a term, in order, as index.json's description says."""
    out, before = [], -1
    for number, count in found:
        out.append((number - before) * 16 + min(count, MAX_COUNT))
        before = number
    return out


def _decode(encoded: list[int]) -> list[tuple[int, int]]:
    out, number = [], -1
    for value in encoded:
        number += value >> 4
        out.append((number, value & 15))
    return out


def _json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8") + b"\n"

