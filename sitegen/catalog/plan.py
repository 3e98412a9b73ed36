"""Plan a catalog's build: find its trials, finish a build that was killed, and tell which trials must be built
again: those whose recorded reads (their files, what all trials share, each reference key: trial_reads_now) have
other fingerprints now; or that nothing changed.

It loads none of the libraries that render pages (Jinja2, Markdown, pybtex, pydantic), so that a rebuild of a
catalog in which nothing changed is over in the time it takes to read the last build's record.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import ContentError, Problem
from ..fingerprint import digest
from ..inputs import links_leaving, present, read_input, unreadable
from ..project import BuildReport, Project
from ..record import MISSING, Key, fresh
from ..write import MARKER, finish_interrupted
from . import state


@dataclass(frozen=True)
class TrialSource:
    """A trial of the catalog: its slug, its YAML file and its own BibTeX file (if it has one). The paths are strings:
    a plan makes thousands of them, and a Path costs ten times as much."""

    slug: str
    yaml: str
    bib: str | None
    registry: str | None = None  # <slug>.ctgov.json, the registry's record, when the trial was imported


@dataclass(frozen=True)
class TrialTask:
    """One trial to build, with the digests of the files it made last time (to stage only what changed)."""

    source: TrialSource
    previous: dict[str, str]
    stat: tuple[int, ...]  # sizes, modification and change times of its files when its inputs were read


@dataclass(frozen=True)
class Scan:
    """What a look at the content found: its trials, the files in content/trials/ that are not trials, a digest of
    each trial's files with their stat, and a digest of everything all trials share (the --base-url given too)."""

    sources: list[TrialSource]
    warnings: list[Problem]
    files: dict[str, tuple[str, tuple[int, ...]]]  # by slug: digest of the trial's files' bytes, and their stat
    shared_files: str
    base_url: str | None


@dataclass
class Memory:
    """Where a long-running process (`sitegen serve`, whose output folder is its own) keeps the last build's record
    and the look at the content it was made from, instead of beside the output folder: the next build starts from
    them without reading the record back, looks again only at the files its watcher says changed, and writes no
    record."""

    record: state.BuildRecord | None = None
    scan: Scan | None = None
    files: tuple[str, ...] = ()  # the site's files as the build of `record` reported them


@dataclass(frozen=True)
class CatalogPlan:
    """Where a catalog build starts: its trials with a digest of each one's files, and the last build's record."""

    project: Project
    output: Path
    base_url: str | None  # as given on the command line
    code: str  # digest of sitegen's code: the record below was made by it
    previous: state.BuildRecord  # empty when there is no usable record
    began: int  # when this build began (ns since the epoch)
    scan: Scan
    memory: Memory | None = None  # where the record is kept, when not beside the output folder (keep)

    def reusable(
        self, shared_print: str, bib_prints: dict[str, str]
    ) -> tuple[dict[str, state.TrialRecord], list[TrialTask]]:
        """The trials whose files, shared inputs and cited shared references are as last built (kept as they are),
        and a task for each other trial. `shared_print` is the fingerprint of the settings, glossary and templates
        as loaded; `bib_prints` that of each shared reference."""
        previous, reused, tasks = self.previous, {}, []
        now = trial_reads_now(self.scan.files, shared_print, bib_prints)
        # every trial of the last build read that build's shared inputs: when they are the same now, a trial whose
        # files are the same has read nothing that changed (as fresh() would find, key by key, 10,000 times)
        same_shared = shared_print == previous.shared_print and bib_prints == previous.bib_prints
        for source in self.scan.sources:
            before = previous.trials.get(source.slug)
            files_print, stat = self.scan.files[source.slug]
            if before is not None and (before.files_print == files_print if same_shared else fresh(before.reads, now)):
                # a file touched but not changed (a checkout) is read this once: its record gets its new stat
                reused[source.slug] = before if before.stat == stat else replace(before, stat=stat)
            else:
                tasks.append(TrialTask(source, before.outputs if before is not None else {}, stat))
        return reused, tasks

    def files_as_before(self) -> tuple[str, ...]:
        """The site's files as the last build made them (kept in memory by serve, else listed again: in the record's
        order, which is the same for the same site, rather than sorted, which takes as long as the rest of a
        rebuild with nothing changed)."""
        if self.memory is not None and self.memory.record is self.previous and self.memory.files:
            return self.memory.files
        return tuple(self.previous.files())

    def unchanged(self) -> dict[str, state.TrialRecord] | None:
        """The last build's trials when nothing changed since that build (which finished: plan_build finishes a
        build that was killed) and it left nothing behind. None when something did."""
        return None if self.previous.behind else self.as_before()

    def as_before(self) -> dict[str, state.TrialRecord] | None:
        """The last build's trials when its shared files and its trials, each with its files, are as they were
        (whatever outputs it left behind); None when something changed."""
        previous = self.previous
        if not previous.token or self.scan.shared_files != previous.shared_files:
            return None
        records, tasks = self.reusable(previous.shared_print, previous.bib_prints)
        # the same trials, whatever their order: a small build's journal puts a trial it added last
        return records if not tasks and records.keys() == previous.trials.keys() else None


def trial_reads_now(
    files: dict[str, tuple[str, tuple[int, ...]]], shared_print: str, bib_prints: dict[str, str]
) -> Callable[[Key], str]:
    """The fingerprint now of each thing building a catalog's trial reads (and notes, catalog/build.py): its own
    files ('files', slug: the digest of its YAML, .bib and registry record), what every trial shares ('shared',:
    settings, glossary, templates as loaded), and each reference key it resolved ('reference', key: the shared
    reference of that key, MISSING when the shared file has none, as for the trial's own keys)."""

    def now(key: Key) -> str:
        kind = key[0]
        if kind == "files":
            return files[key[1]][0] if key[1] in files else MISSING
        if kind == "shared":
            return shared_print
        if kind == "reference":
            return bib_prints.get(key[1], MISSING)
        return MISSING  # a key of another kind: not one a catalog's trial notes; made again to be sure

    return now


def plan_build(project: Project, output: Path, base_url: str | None, memory: Memory | None = None,
               changed: Collection[str] | None = None, look: Look | None = None) -> CatalogPlan:
    """The plan of a catalog's build; the caller holds the output's lock. With `memory`, the last build's record is
    kept there rather than beside the output folder (keep), and with the files `changed` since that build (by
    serve's watcher), only they are looked at again. `look`: content/trials/ as the caller found it just before."""
    code = state.code_digest()
    finish_interrupted(output)  # before the cache is trusted: it describes the output as that build left it
    previous = recall(output, code, memory)
    if previous is None or previous.content != str(project.content.resolve()):  # none, or of a project since moved,
        previous = state.BuildRecord()  # whose warnings name its files where they were: everything is built again
    began = time.time_ns()
    known = memory.scan if memory is not None and previous.token and changed is not None else None
    scan = _rescan(project, base_url, previous, known, changed or ()) if known is not None else None
    return CatalogPlan(project, output, base_url, code, previous, began,
                       scan or _scan(project, base_url, previous, look or look_at(project.content)), memory)


def keep(plan: CatalogPlan, record: state.BuildRecord, files: tuple[str, ...]) -> None:
    """Keep the record of a build made from `plan`, for the next build: in its memory if it has one (with its look
    at the content and the site's `files`), else beside the output folder (state.save)."""
    if plan.memory is not None:
        plan.memory.record, plan.memory.scan, plan.memory.files = record, plan.scan, files
    else:
        state.save(plan.output, plan.code, record, plan.previous, files)


def recall(output: Path, code: str, memory: Memory | None) -> state.BuildRecord | None:
    """The record of the last build into `output`: from `memory` if it holds one (when the output folder still
    bears its token, and the cache its trials' terms), else as state.load reads it."""
    if memory is None or memory.record is None:
        return state.load(output, code)
    record = memory.record
    try:
        kept = (state.folder(output) / state.TERMS).is_file()
        return record if kept and record.token in (output / MARKER).read_text() else None
    except OSError:
        return None


@dataclass(frozen=True)
class Look:
    """content/trials/ at a glance: its trials (find_trials) with the warnings about its other files, and the stat of
    each trial's files (trial_stat)."""

    sources: list[TrialSource]
    warnings: list[Problem]
    stats: dict[str, tuple[int, ...]]


def look_at(content: Path) -> Look:
    """The trials of `content` and their files' stat; a ContentError as find_trials raises it, or naming each trial
    file that cannot be looked at (a link to nothing, a file removed since the folder was listed)."""
    sources, warnings = find_trials(content)
    stats, problems = {}, []
    for source in sources:
        try:
            stats[source.slug] = trial_stat(source)
        except OSError as e:
            problems.append(unreadable(e.filename or source.yaml, e))
    if problems:
        raise ContentError(problems)
    return Look(sources, warnings, stats)


def _scan(project: Project, base_url: str | None, previous: state.BuildRecord, look: Look) -> Scan:
    """A look at every trial's files and at the shared ones."""
    files = {source.slug: _files_digest(source, previous, look.stats[source.slug]) for source in look.sources}
    return Scan(look.sources, list(look.warnings), files, shared_files_digest(project, base_url), base_url)


RESCAN_LIMIT = 100  # more files changed at once (a checkout): every trial is looked at again, as by `sitegen build`


def _rescan(project: Project, base_url: str | None, previous: state.BuildRecord, known: Scan,
            changed: Collection[str]) -> Scan | None:
    """The last look at the content `known`, with the trials among the `changed` files looked at again, and the
    shared files if any other changed; None when a trial was added or removed (or too many files changed): every
    trial must be looked at again."""
    if known.base_url != base_url or len(changed) > RESCAN_LIMIT:
        return None
    trials = os.path.realpath(os.path.join(project.content, "trials"))  # as the watcher names files: serve.py
    by_slug = {source.slug: source for source in known.sources}
    touched: dict[str, TrialSource] = {}
    others = False  # a changed file outside trials/: the shared files are looked at again
    for path in changed:
        if trials == path or trials.startswith(os.path.join(path, "")) or os.path.isdir(path):
            return None  # a folder made, removed or swapped (trials/ itself, say): look at all
        if os.path.realpath(os.path.dirname(path)) != trials:  # the watcher names files through a linked trials/ too
            others = True
            continue
        source = by_slug.get(os.path.basename(path).partition(".")[0])
        if source is None or not os.path.isfile(path) or os.path.basename(path) not in {
                os.path.basename(p) for p in (source.yaml, source.bib, source.registry) if p is not None}:
            return None  # a trial added or removed, or a file that is not a trial's
        touched[source.slug] = source
    files = dict(known.files)
    for source in touched.values():
        files[source.slug] = _files_digest(source, previous, trial_stat(source))
    shared = shared_files_digest(project, base_url) if others else known.shared_files
    return Scan(known.sources, known.warnings, files, shared, base_url)


def nothing_changed(project: Project, output: Path, base_url: str | None, strict: bool,
                    look: Look) -> tuple[BuildReport, list[Problem]] | None:
    """nothing_to_build's report and warnings, when the record's head alone tells that nothing changed since the last
    build: the same trials (`look`, found just before), each one's files with the stat it recorded (as _files_digest
    trusts them), the same shared files, and nothing left behind. None when it cannot tell: plan_build then reads
    the whole record. The caller holds the output's lock, and has finished a build that was killed (build.py)."""
    head = state.load_head(output, state.code_digest())
    if head is None or head.behind or head.content != str(project.content.resolve()) or look.stats != head.stats:
        return None  # (dicts equal in their items, the order aside: the head's and the look's are both by slug)
    if not all(_settled(stat, head.began) for stat in look.stats.values()):
        return None
    if shared_files_digest(project, base_url) != head.shared_files:
        return None
    warnings = look.warnings + list(head.warnings)
    if strict and warnings:
        raise ContentError.from_warnings(warnings)
    return BuildReport(len(head.stats), tuple(head.files.split("\0")[:-1]), (), 0), sorted(warnings)


def nothing_to_build(plan: CatalogPlan, strict: bool) -> tuple[BuildReport, list[Problem]] | None:
    """The report and warnings of a catalog build when nothing changed since the last one (None when something
    did): the site is as that build left it, and so are its warnings (errors under --strict)."""
    records = plan.unchanged()
    if records is None:
        return None
    files = plan.files_as_before()
    if any(record is not plan.previous.trials[slug] for slug, record in records.items()):
        keep(plan, replace(plan.previous, trials=records, began=plan.began), files)  # new stats
    elif plan.memory is None:  # the head was missing, of another build, or of one that began within two seconds of a
        # file's change (whose stat it cannot trust): kept again as of this build, so that the next one reads it alone
        try:
            keep(plan, replace(plan.previous, began=plan.began), files)
        except OSError:  # (a full disk) nothing was to be built: the next build reads the record as it is
            pass
    warnings = plan.scan.warnings + [w for r in records.values() for w in r.warnings] + list(plan.previous.shared_warnings)
    if strict and warnings:
        raise ContentError.from_warnings(warnings)
    return BuildReport(len(records), files, (), 0), sorted(warnings)


_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def find_trials(content: Path) -> tuple[list[TrialSource], list[Problem]]:
    """The trials of content/trials/ (sorted by slug), with each one's own .bib; and warnings about other files."""
    folder = os.path.join(content, "trials")
    with os.scandir(folder) as entries:  # one listing, no stat per file: a catalog may hold 10,000 trials
        listed = [(e.name, e.is_dir()) for e in entries if not e.name.startswith(".")]
    files = {name for name, is_folder in listed if not is_folder}  # a FIFO is refused, not skipped
    sources, warnings = [], [Problem(os.path.join(folder, name), 0, 0, "ignored: a folder; content/trials/ holds "
                                     "<slug>.yaml, <slug>.bib and <slug>.ctgov.json files only", "warning")
                             for name, is_folder in sorted(listed) if is_folder]
    # links in content/ (trials/ itself among them) and in trials/: a rebuild that reads no file must refuse them too
    project = content.resolve().parent
    problems = links_leaving(content, project) + links_leaving(folder, project)
    prefix = os.path.join(folder, "")  # joined by hand below: os.path.join costs 40 ms over 13,000 names
    for name in sorted(files):
        path = prefix + name
        slug, _, extension = name.partition(".")
        if extension == "yaml":
            if not _SLUG.fullmatch(slug) or len(slug) > 80:
                problems.append(Problem(path, 0, 0, "a trial's file name is its slug, used in its URLs: expected "
                                        "lowercase letters, digits and single hyphens, e.g. nct05836571.yaml"))
                continue
            sources.append(TrialSource(slug, path, f"{prefix}{slug}.bib" if f"{slug}.bib" in files else None,
                                       f"{prefix}{slug}.ctgov.json" if f"{slug}.ctgov.json" in files else None))
        elif extension in ("bib", "ctgov.json"):
            if f"{slug}.yaml" not in files:
                problems.append(Problem(path, 0, 0, f"no trial {slug}.yaml for these references" if extension == "bib" else
                                        f"no editor's file {slug}.yaml beside this registry record: create it holding "
                                        f"'slug: {slug}' (sitegen import {slug.upper()} does), or delete the record"))
        else:
            warnings.append(Problem(path, 0, 0, "ignored: content/trials/ holds <slug>.yaml, <slug>.bib and "
                                    "<slug>.ctgov.json files only", "warning"))
    if not sources and not problems:
        problems.append(Problem(folder, 0, 0, "no trials: add one as trials/<slug>.yaml"))
    if problems:
        raise ContentError(problems)
    return sources, warnings


def _files_digest(source: TrialSource, previous: state.BuildRecord, stat: tuple[int, ...]) -> tuple[str, tuple[int, ...]]:
    """A digest of a trial's file, its own .bib and its registry record, with their stat. A trial whose files' size and modification
    and change times are as the `previous` build recorded them, and were not modified in the two seconds before that
    build began, is taken as unchanged without reading them (as make and git do; within two seconds a file
    system's clock may not tell two saves apart)."""
    before = previous.trials.get(source.slug)
    if before is not None and before.stat == stat and _settled(stat, previous.began):
        return before.files_print, stat
    return digest(b"\0".join([_read(source.yaml), *(_read(p) if p else b"" for p in (source.bib, source.registry))])), stat


def _settled(stat: tuple[int, ...], began: int) -> bool:
    """Whether files with this stat (trial_stat) were last modified and changed over two seconds before a build that
    `began` (ns), so that the stat that build recorded tells their bytes too."""
    return max(max(stat[1::3]), max(stat[2::3])) < began - 2_000_000_000


def _read(path: str) -> bytes:
    return read_input(path)


def trial_stat(source: TrialSource) -> tuple[int, ...]:
    """Size, modification and change times (ns) of a trial's file, of its own .bib and of its registry record,
    those it has. The change time cannot be set back by a program, as the modification time can."""
    s = os.stat(source.yaml)
    stat: tuple[int, ...] = (s.st_size, s.st_mtime_ns, s.st_ctime_ns)
    for path in (source.bib, source.registry):
        if path is not None:
            s = os.stat(path)
            stat += (s.st_size, s.st_mtime_ns, s.st_ctime_ns)
    return stat


def shared_files_digest(project: Project, base_url: str | None) -> str:
    """A digest of the bytes of everything all trials share: settings, glossary, shared references, templates,
    static files, and the --base-url given."""
    content = project.content
    parts = [read_input(content / name) if present(content / name) else b"\0missing"
             for name in ("site.yaml", "glossary.yaml", "references.bib")]
    parts += [templates_digest(project).encode(), static_digest(project).encode(), str(base_url).encode()]
    return digest(b"\0".join(parts))


def templates_digest(project: Project) -> str:
    """A digest of every template the project's pages may use: its own and sitegen's."""
    return digest(b"".join(folder_digest(folder).encode() for folder in project.template_folders))


def static_digest(project: Project) -> str:
    """A digest of every static file of the project: its own and sitegen's."""
    return digest(b"".join(name.encode() + b"\0" + read_input(project.static_file(name))
                           for name in project.static_names()))


def folder_digest(folder: Path) -> str:
    """A digest of every file in a folder (names and bytes)."""
    return digest(b"\0".join(p.relative_to(folder).as_posix().encode() + b"\0" + read_input(p)
                                   for p in sorted(folder.rglob("*")) if p.is_file()))
