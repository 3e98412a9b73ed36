"""What the last catalog build made, and from what, kept beside the output folder (`.output.sitegen-cache/`), so
that the next build renders again only the trials and listing pages whose inputs changed.

The record is kept in two files: a whole one (BASE), and a journal of the trials built since it was written
(JOURNAL), with the rest of the record. A build that changed a few trials writes the journal only: at 10,000
trials the whole record is 30 MB, and writing it took a fifth of a one-trial edit's rebuild. Beside them, its head
(HEAD) holds what a build that finds nothing changed reads of the record, so that it reads no more: reading the
whole record took half of such a build at 10,000 trials.

The cache is trusted only for the output folder it was written with (a token in both); anything unreadable,
from another version of sitegen, or for another folder is ignored, and the build is then a full one.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import os
import pickle
import shutil
import sqlite3
import unicodedata
from collections.abc import Collection, Iterable
from contextlib import closing
from dataclasses import dataclass, field, fields, replace
from importlib import util
from pathlib import Path
from typing import Any

from ..errors import Problem
from ..record import MISSING, Key
from ..write import MARKER
from .listing import TrialEntry
from .search import FOLDER as SEARCH_FOLDER

FORMAT = 5
BASE, JOURNAL, HEAD = "build.pickle", "build.journal.pickle", "build.head.pickle"
JOURNAL_LIMIT = 100  # trials changed since the whole record was written (or an eighth of all) before it is again
TERMS = "search.sqlite"  # the trials' terms, by slug: as their pages say now, and as the search index has them


class CacheDamaged(Exception):
    """The cache lacks what its record says it holds (a damaged or edited file): it is no cache, and the build is
    made again as a full one."""


@dataclass(frozen=True)
class TrialRecord:
    """One trial as last built: what building it read (record.py), the files made and their digests, its list entry."""

    reads: dict[Key, str]  # its files, what all trials share, each reference it resolved: see plan.trial_reads_now
    stat: tuple[int, ...]  # size, modification and change time of its files when they were read
    outputs: dict[str, str]  # path relative to the output folder -> digest of its bytes
    entry: TrialEntry
    entry_print: str
    feed_item: tuple[str, str]  # (dateModified, its node in the feed as JSON: a string loads 30 times faster)
    search_print: str  # digest of its terms for the search index (the terms themselves are kept in TERMS)
    warnings: tuple[Problem, ...]

    @property
    def files_print(self) -> str:
        """The digest of its files' bytes as it read them."""
        return self.reads.get(("files", self.entry.slug), MISSING)

    @property
    def cited_shared(self) -> list[str]:
        """The keys of the shared references it read (cited): the others it read were its own, missing there."""
        return [key[1] for key, p in self.reads.items() if key[0] == "reference" and p != MISSING]


@dataclass(frozen=True)
class Made:
    """Files of the catalog itself (a listing page, the feed, the search index) and what making them read."""

    reads: dict[Key, str]
    files: dict[str, str]  # path -> digest of its bytes


@dataclass(frozen=True)
class Stored:
    """The whole record a build was loaded from: its id, and its trials' records (the objects loaded from it)."""

    id: str
    trials: dict[str, TrialRecord]


@dataclass
class BuildRecord:
    """A catalog build: each trial's record, and each of the catalog's own outputs."""

    token: str = ""
    trials: dict[str, TrialRecord] = field(default_factory=dict)
    site: dict[str, Made] = field(default_factory=dict)
    began: int = 0  # when the build began (ns since the epoch): files changed since may look unchanged by their stat
    shared_files: str = ""  # digest of the shared files' bytes
    # every trial above was built with the settings, glossary, templates and shared references these fingerprint
    shared_print: str = ""  # fingerprint of the settings, glossary and templates as loaded
    bib_prints: dict[str, str] = field(default_factory=dict)  # fingerprint of each shared reference
    shared_warnings: tuple[Problem, ...] = ()
    listings: dict[str, Made] = field(default_factory=dict)  # the home and listing pages, by file
    listed: dict[Key, str] = field(default_factory=dict)  # what deciding the listing pages read: every trial's entry
    # outputs left as they were although what they read may have changed (under `sitegen serve`, which reloads
    # the edited trial's pages first: the catalog's own outputs, or its out-of-date search bundles); the next
    # build makes them
    behind: tuple[str, ...] = ()
    content: str = ""  # the content folder built (its warnings name its files): a project moved is built again
    stored: Stored | None = field(default=None, compare=False, repr=False)  # set by load: what save need not write

    def files(self) -> dict[str, str]:
        """Every file of the site this build made, with the digest of its bytes."""
        made = {name: d for t in self.trials.values() for name, d in t.outputs.items()}
        return made | {name: d for m in (*self.listings.values(), *self.site.values()) for name, d in m.files.items()}


@dataclass(frozen=True)
class Head:
    """What a build that finds nothing changed needs of the record (plan.nothing_changed): the trials in the record's
    order with the stat of their files, and what such a build reports."""

    token: str
    content: str
    began: int
    shared_files: str
    behind: tuple[str, ...]
    stats: dict[str, tuple[int, ...]]  # by slug, in the record's order
    warnings: tuple[Problem, ...]  # the trials' in that order, then the shared ones
    files: str  # the site's files as the build reported them, each ended by a NUL (no file name holds one)
    expected: str  # the files load checks are still there (_expected), the same way

    @staticmethod
    def of(record: BuildRecord, files: tuple[str, ...]) -> Head:
        return Head(record.token, record.content, record.began, record.shared_files, record.behind,
                    {slug: trial.stat for slug, trial in record.trials.items()},
                    (*(w for trial in record.trials.values() for w in trial.warnings), *record.shared_warnings),
                    "\0".join((*files, "")), "\0".join((*_expected(record), "")))


def folder(output: Path) -> Path:
    output = output.resolve()
    return output.parent / f".{output.name}.sitegen-cache"


def _made(output: Path) -> Path:
    """The cache folder, made if it is not there; whatever else is in its place (sitegen's name) is removed."""
    place = folder(output)
    if place.is_symlink() or (place.exists() and not place.is_dir()):
        place.unlink()
    place.mkdir(exist_ok=True)
    for name in (BASE, JOURNAL, HEAD, TERMS, BASE + ".tmp", JOURNAL + ".tmp", HEAD + ".tmp"):
        if (place / name).is_dir() and not (place / name).is_symlink():
            shutil.rmtree(place / name)  # a folder where a file of the cache goes: it would stop every build
    return place


def load(output: Path, code: str) -> BuildRecord | None:
    """The record of the last build into `output`, if it is there, readable, of this code and for this folder."""
    collecting = gc.isenabled()
    gc.disable()  # the collector would run again and again over the million objects unpickled, none of them garbage
    try:
        with open(folder(output) / BASE, "rb") as f:
            stored = pickle.load(f)
        marker = (output / MARKER).read_text()
        if not isinstance(stored, tuple) or stored[:2] != (FORMAT, code) or not isinstance(stored[3], BuildRecord):
            return None
        _, _, base, record, packed = stored
        trials = {slug: _unpack(trial) for slug, trial in packed.items()}
        record.stored = Stored(base, dict(trials))
        try:
            with open(folder(output) / JOURNAL, "rb") as f:
                journal = pickle.load(f)
        except FileNotFoundError:
            journal = None
        if journal is not None and journal[:3] == (FORMAT, code, base):  # else one older than the whole record
            _, _, _, header, changed, removed = journal
            trials.update((slug, _unpack(trial)) for slug, trial in changed.items())
            for slug in removed:
                del trials[slug]
            record = replace(header, stored=record.stored)
        record.trials = trials
        gc.freeze()  # it lives as long as the build: no later collection looks at it again (serve's catch-up unfreezes)
    except Exception:  # noqa: BLE001 - a cache that cannot be read, whatever the reason, is no cache
        return None
    finally:
        if collecting:
            gc.enable()
    return record if _output_as_made(output, marker, record.token, record.trials, _expected(record)) else None


def load_head(output: Path, code: str) -> Head | None:
    """The head of the record of the last build into `output`, on the same terms as `load` gives the record."""
    try:
        with open(folder(output) / HEAD, "rb") as f:
            stored = pickle.load(f)
        marker = (output / MARKER).read_text()
        if not isinstance(stored, tuple) or stored[:2] != (FORMAT, code) or not isinstance(stored[2], Head):
            return None
        if not (folder(output) / BASE).is_file():  # the record deleted (to build everything again): no head either
            return None
        head: Head = stored[2]
    except Exception:  # noqa: BLE001 - as load: a head that cannot be read is none
        return None
    expected = head.expected.split("\0")[:-1]
    return head if _output_as_made(output, marker, head.token, head.stats, expected) else None


def _output_as_made(output: Path, marker: str, token: str, trials: Collection[str], expected: list[str]) -> bool:
    """Whether the output folder holds what the build of `token` made: its marker names it, the cache holds the
    terms of its `trials`, and the files `expected` and each trial's folder are there (its pages may have been
    deleted by hand)."""
    if not (token and token in marker and _terms_kept(output) == len(trials)):
        return False
    try:
        folders = set(os.listdir(os.path.join(output, "trials"))) if trials else set()
    except OSError:
        return False
    if not all(slug in folders for slug in trials):
        return False
    return all(os.path.isfile(os.path.join(output, name)) for name in expected)


def _expected(record: BuildRecord) -> list[str]:
    """The files of a build that the next one checks are still there. Checking every file would cost more than the
    rebuild it saves: each listing page, the catalog's other files but for the search index's only its index.json
    (the files are read back, and checked, when it changes), and each trial's folder do (one listing of trials/)."""
    expected = [name for made in record.listings.values() for name in made.files]
    return expected + [name for made in record.site.values() for name in made.files
                       if not name.startswith(SEARCH_FOLDER) or name == SEARCH_FOLDER + "index.json"]


def _terms_kept(output: Path) -> int | None:
    """How many trials' terms the cache holds; None if it cannot be read (a damaged file is no cache)."""
    try:
        with closing(sqlite3.connect((folder(output) / TERMS).as_uri() + "?mode=ro", uri=True)) as db:
            return int(db.execute("SELECT count(*) FROM terms").fetchone()[0])
    except sqlite3.Error:
        return None


def forget(output: Path) -> None:
    """Delete the record of the last build into `output`, and the terms kept with it: the next build is a full one."""
    for name in (HEAD, BASE, JOURNAL, TERMS):
        (folder(output) / name).unlink(missing_ok=True)


def save(output: Path, code: str, record: BuildRecord, previous: BuildRecord, files: tuple[str, ...]) -> None:
    """Keep `record` for the next build, atomically (a kill leaves the old record, or none): as a journal of the
    trials changed since the whole record `previous` was loaded from, or, when there is none or it has many, whole;
    and its head, with the site's `files` (as the build reported them)."""
    place = _made(output)
    header = replace(record, trials={}, stored=None)
    stored, changed, removed = previous.stored, record.trials, list[str]()
    if stored is not None:
        changed = {slug: trial for slug, trial in record.trials.items() if stored.trials.get(slug) is not trial}
        removed = [slug for slug in stored.trials if slug not in record.trials]
    whole = stored is None or len(changed) + len(removed) > max(JOURNAL_LIMIT, len(record.trials) // 8)
    (place / HEAD).unlink(missing_ok=True)  # killed before the new one is written, the next build reads the record
    if whole:
        _write(place / BASE, (FORMAT, code, os.urandom(8).hex(), header, _packed(record.trials)))
        (place / JOURNAL).unlink(missing_ok=True)  # it names the whole record it follows: another one now
    else:
        assert stored is not None
        _write(place / JOURNAL, (FORMAT, code, stored.id, header, _packed(changed), removed))
    try:
        _write(place / HEAD, (FORMAT, code, Head.of(record, files)))
    except OSError:  # (a full disk) a head that cannot be written is none: the next build reads the record
        pass


def _write(path: Path, value: object) -> None:
    temporary = path.with_name(path.name + ".tmp")
    try:
        with open(temporary, "wb") as f:
            pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
    except OSError as e:  # a full disk: say where (a failed write names no file), and that the site is whole
        temporary.unlink(missing_ok=True)
        raise OSError(e.errno, f"cannot keep the build record: {e.strerror}; the site was written, and the next "
                      "build builds everything", str(temporary)) from None
    os.replace(temporary, path)


def _packed(trials: dict[str, TrialRecord]) -> dict[str, tuple[object, ...]]:
    return {slug: _pack(trial) for slug, trial in trials.items()}


_ENTRY = [f.name for f in fields(TrialEntry)]


def _pack(trial: TrialRecord) -> tuple[object, ...]:
    """A trial's record as plain values: pickle loads tuples of them in half the time of the objects."""
    return (trial.reads, trial.stat, trial.outputs, tuple(getattr(trial.entry, name) for name in _ENTRY),
            trial.entry_print, trial.feed_item, trial.search_print, trial.warnings)


def _unpack(packed: tuple[Any, ...]) -> TrialRecord:
    """The record `_pack` made plain values of."""
    reads, stat, outputs, entry, *rest = packed
    return TrialRecord(reads, stat, outputs, TrialEntry(*entry), *rest)


def load_terms(output: Path, slugs: list[str], column: str = "latest") -> dict[str, str]:
    """The terms of each of these trials (JSON), by slug: as their pages say now ('latest'), or as the search index
    was last made with them ('indexed'); those the cache, or the index, lacks are left out."""
    assert column in ("latest", "indexed")
    # `indexed` is NULL when the index has the latest terms, and '' when it does not have the trial at all
    wanted = "latest" if column == "latest" else "COALESCE(indexed, latest)"
    found: dict[str, str] = {}
    try:
        with closing(sqlite3.connect((folder(output) / TERMS).as_uri() + "?mode=ro", uri=True)) as db:
            for start in range(0, len(slugs), 500):  # SQLite takes a limited number of parameters
                part = slugs[start:start + 500]
                found.update(db.execute(f"SELECT slug, {wanted} FROM terms WHERE slug IN ({','.join('?' * len(part))})"
                                        f"{' AND indexed IS NOT ?' if column == 'indexed' else ''}",
                                        [*part, ""] if column == "indexed" else part))
    except sqlite3.Error:  # unreadable: the trials missing from it are reported by the caller
        return {}
    return found


def not_indexed(output: Path) -> list[str]:
    """The trials whose terms changed since the search index was made (serve left it behind)."""
    try:
        with closing(sqlite3.connect((folder(output) / TERMS).as_uri() + "?mode=ro", uri=True)) as db:
            return [slug for (slug,) in db.execute("SELECT slug FROM terms WHERE indexed IS NOT NULL ORDER BY slug")]
    except sqlite3.Error:
        return []


def save_terms(output: Path, terms: dict[str, str], keep: Iterable[str], fresh: bool, indexed: bool) -> None:
    """Keep the terms of the trials built now, and forget those of trials no longer in `keep`; if the search index
    was made from them (`indexed`), say so of every trial, else keep what it was made from. In one transaction (a
    kill leaves them as they were). `fresh`: a full build, which starts a new table."""
    place = _made(output)
    if fresh:
        (place / TERMS).unlink(missing_ok=True)  # whatever was there, even a damaged file, is replaced
    try:
        with closing(sqlite3.connect(place / TERMS)) as db, db:
            db.execute("CREATE TABLE IF NOT EXISTS terms (slug TEXT PRIMARY KEY, latest TEXT NOT NULL, indexed TEXT)")
            if indexed:
                db.executemany("INSERT INTO terms VALUES (?, ?, NULL) ON CONFLICT(slug) DO UPDATE SET "
                               "latest = excluded.latest, indexed = NULL", terms.items())
                db.execute("UPDATE terms SET indexed = NULL WHERE indexed IS NOT NULL")
            else:  # the index keeps what it was made from: a trial's terms then, or '' (not in it)
                db.executemany("INSERT INTO terms VALUES (?, ?, '') ON CONFLICT(slug) DO UPDATE SET "
                               "indexed = COALESCE(indexed, latest), latest = excluded.latest", terms.items())
            gone = {slug for (slug,) in db.execute("SELECT slug FROM terms")} - set(keep)
            db.executemany("DELETE FROM terms WHERE slug = ?", ((slug,) for slug in sorted(gone)))
    except sqlite3.Error as e:
        raise OSError(0, f"cannot keep the search terms ({e}); delete this folder to build everything again",
                      str(place)) from None


LIBRARIES = ("jinja2", "markdown", "nh3", "pybtex", "pydantic", "pydantic_core", "yaml", "markupsafe")
DISTRIBUTIONS = {"yaml": "pyyaml"}  # a library's distribution, where its name is not the module's


@functools.cache  # the running code does not change under a long-running server
def code_digest() -> str:
    """A digest of sitegen's own code, of the installed version of each library its output depends on, and of
    Python's Unicode data: a cache made by other code is not trusted."""
    h = hashlib.blake2b(digest_size=16)
    package = Path(__file__).parent.parent
    for path in sorted(package.rglob("*.py")):
        h.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    listings: dict[Path, list[str]] = {}  # the libraries share a folder (site-packages): listed once
    for name in LIBRARIES:
        h.update(f"{name}={_installed(name, listings)}".encode())
    h.update(f"unicode={unicodedata.unidata_version}".encode())  # what the search index takes for a letter
    return h.hexdigest()


def _installed(module: str, listings: dict[Path, list[str]]) -> str:
    """Which version of a library is installed, without importing it: the name of the folder of metadata its
    installer put beside it ('Jinja2-3.1.4.dist-info'); else the file it is imported from, with that file's stat,
    which installing another version replaces. (importlib.metadata tells the version too, but loading it and asking
    took 40 ms, a tenth of a rebuild of 10,000 trials with nothing changed.)"""
    spec = util.find_spec(module)
    if spec is None or not spec.origin:
        return "none"
    origin = Path(spec.origin)
    folder = origin.parent.parent if spec.submodule_search_locations is not None else origin.parent
    wanted = DISTRIBUTIONS.get(module, module)
    if folder not in listings:
        try:
            listings[folder] = os.listdir(folder)
        except OSError:
            listings[folder] = []
    found = sorted(name for name in listings[folder] if name.endswith((".dist-info", ".egg-info"))
                   and name.split("-")[0].lower().replace(".", "_") == wanted)
    if found:
        return ",".join(found)
    try:
        stat = origin.stat()
    except OSError:
        return f"{origin}: unreadable"
    return f"{origin}:{stat.st_ino}:{stat.st_size}:{stat.st_mtime_ns}"
