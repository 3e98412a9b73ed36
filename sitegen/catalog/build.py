"""Build a catalog: every trial whose inputs changed since the last build, on `--jobs` processes, then the
catalog's own pages (home and listings), feed, sitemap and search index; stage what changed and move it into the
output folder only once everything is built without an error."""

from __future__ import annotations

import datetime
import functools
import json
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from jinja2 import Environment

from ..bib import check_bibliography, load_bibliography
from ..errors import ContentError, Problem
from ..fingerprint import digest, fingerprint
from ..glossary import TermFinder
from ..jsonld import json_text, trial_summary
from ..markup import plain_text
from ..pages import PHASE_LABELS, STATUS_LABELS, registry_conditions, registry_phase, registry_status
from ..project import BuildReport, Project
from ..record import MISSING, Fingerprints, Key, fresh, note, recording
from ..registry import Study, criteria_lines
from ..render import (
    Reused,
    catalog_environment,
    read_static,
    render_incremental,
    render_template,
    robots_txt,
    sitemaps,
    template_digest,
)
from ..schema import RegistryTrial, Settings, Trial
from ..site import Shared, Site, assemble_site, collect, load_shared, load_trial
from ..write import WriteError, Writer, stage_file
from . import state
from .jsonld import catalog_feed, listing_graph
from .listing import FACETS, ListingPage, TrialEntry, catalog_pages, where_label
from .parallel import map_in_processes
from .plan import (
    CatalogPlan,
    TrialSource,
    TrialTask,
    keep,
    shared_files_digest,
    templates_digest,
    trial_reads_now,
    trial_stat,
)
from .search import FOLDER as SEARCH
from .search import Doc, counts_of, make_index, update_index

STATIC_FILES = ("style.css", "favicon.svg", "search.js")  # search.js starts the catalog's search box
FACET_LINKS = [(key, plural, path) for key, _, plural, path, _ in FACETS]  # each catalog page links every facet
PARALLEL_OUTPUTS = 200  # outputs of the catalog's own (listing pages) worth starting processes for (about 0.5 ms each)


def trial_entry(slug: str, trial: Trial, summary: str) -> TrialEntry:
    """The trial as the catalog lists it, from the merged facts for a registry trial."""
    named = [loc.name for loc in trial.locations.named]
    conditions = [trial.condition]
    if isinstance(trial, RegistryTrial):
        conditions = registry_conditions(trial) or conditions
        (status_label, status_key), (phase_label, phase_key) = registry_status(trial), registry_phase(trial)
        if status_key == "unknown":  # one listing of them all: the last status known differs, and the trial says it
            status_label = "Unknown status"
        updated = trial.updated.isoformat() if isinstance(trial.updated, datetime.date) else ""
    else:
        status_label, status_key = STATUS_LABELS[trial.status], trial.status
        phase_label, phase_key = PHASE_LABELS[trial.phase], trial.phase
        updated = trial.updated.isoformat()
    return TrialEntry(slug, trial.title, summary, trial.condition, status_label, status_key, phase_label, phase_key,
                      tuple(named), where_label(named, trial.locations.others), updated, tuple(conditions))


def search_text(trial: RegistryTrial, prose: list[str]) -> list[str]:
    """Everything a registry trial's pages say in words (its `prose` too), for full-text search."""
    study = trial.registry
    return [part for part in [trial.title, trial.condition, *(p for p in prose if not p.startswith("[@")),
                              *(q.question for q in trial.faq), *_facts_text(study)] if part]


def _facts_text(study: Study) -> list[str]:
    return [study.brief_title, study.official_title, study.acronym, study.nct_id, *(i for i, _ in study.secondary_ids),
            *study.conditions, *study.keywords, *criteria_lines(study.criteria), study.sponsor, *study.collaborators,
            *(a.label for a in study.arms), *(i.name for i in study.interventions),
            *(n for i in study.interventions for n in i.other_names), *(s.facility for s in study.sites),
            *dict.fromkeys(place for s in study.sites for place in (s.city, s.state)),  # as the listings name them
            *(c.name for c in study.countries), *(o.measure for o in study.primary_outcomes + study.secondary_outcomes)]


def plain_text_of(site: Site) -> str:
    """Everything a trial's pages say in words, as plain text, for full-text search."""
    trial = site.trial
    if isinstance(trial, RegistryTrial):
        return "\n".join(plain_text(part) for part in search_text(trial, [f.text for p in site.pages for f in p.prose]))
    e = trial.eligibility
    parts = [trial.title, trial.official_title or "", trial.condition, *(i.value for i in trial.identifiers),
             *(f.text for p in site.pages for f in p.prose if not f.text.startswith("[@")),
             *(q.question for q in trial.faq), *e.inclusion.shown, *e.exclusion.shown, *e.must_not_take,
             *e.disqualifiers, *(loc.name for loc in trial.locations.named), *(s.name for s in trial.sponsors),
             *(i.name for i in trial.interventions), *(b for i in trial.interventions for b in i.brand_names),
             *(a.name for a in trial.arms)]
    return "\n".join(plain_text(part) for part in parts if part)


@dataclass(frozen=True)
class TrialResult:
    """What a worker sends back: the trial's record, or the problems that stop it; and its terms for the search
    index (JSON)."""

    slug: str
    record: state.TrialRecord | None
    problems: tuple[Problem, ...]
    staged: tuple[str, ...] = ()  # the files whose bytes changed, written to the staging folder
    terms: str = ""


class TrialBuilder:
    """Builds trials of one catalog in one process, reusing one template environment, and records what building
    each one reads, with the fingerprints `now` gives (plan.trial_reads_now), so that the next build can tell it
    is unchanged without loading it."""

    def __init__(self, project: Project, shared: Shared, now: Callable[[Key], str], staging: Path,
                 strict: bool) -> None:
        self.project, self.shared, self.staging, self.strict = project, shared, staging, strict
        finder = TermFinder(shared.glossary) if shared.glossary is not None else None
        self.reused = Reused(catalog_environment(project), finder)
        self.inputs = Fingerprints(now)

    def build(self, task: TrialTask) -> TrialResult:
        source = task.source
        try:
            return self._build(task)
        except ContentError as e:
            return TrialResult(source.slug, None, tuple(e.problems))
        except WriteError:
            raise  # the output's fault (a full disk), not the trial's: it names the output file
        except OSError as e:
            return TrialResult(source.slug, None, (Problem(str(e.filename or source.yaml), 0, 0, f"cannot read: {e.strerror}"),))

    def _build(self, task: TrialTask) -> TrialResult:
        with recording(self.inputs) as reads:
            result = self._build_reading(task)
        return replace(result, record=replace(result.record, reads=reads.fingerprints)) if result.record else result

    def _build_reading(self, task: TrialTask) -> TrialResult:
        source, shared = task.source, self.shared
        problems: list[Problem] = []
        note(("files", source.slug))  # its YAML, its own .bib and its registry record, read here
        loaded = collect(problems, lambda: load_trial(Path(source.yaml)))
        bib = source.bib
        own = collect(problems, lambda: load_bibliography(Path(bib))) if bib is not None else {}
        if loaded is not None and loaded[1].slug != source.slug:
            doc = loaded[0]
            position = doc.position(("slug",))
            problems.append(Problem(doc.file, position.line, position.column,
                                    f"slug '{loaded[1].slug}' must be the file's name: expected '{source.slug}'"))
        for key, ref in (own or {}).items():
            if key in shared.bibliography:
                other = shared.bibliography[key]
                problems.append(Problem(ref.file, ref.line, 1, f"key '{key}' is also in {other.file} (line {other.line}); "
                                        "give one of them another key"))
        if problems or loaded is None or own is None:
            raise ContentError(problems)
        doc, trial = loaded
        base = f"trials/{source.slug}/"
        note(("shared",))  # the settings, glossary and templates every trial's pages are made with
        site = assemble_site(shared, doc, trial, own, base)
        for key in [*own, *(r.reference.key for r in site.citations.references)]:
            note(("reference", key))  # a shared reference it cites; or, for its own keys, that none shares the key
        if self.strict and site.warnings:
            raise ContentError.from_warnings(site.warnings)
        outputs: dict[str, str] = {}
        staged = []
        for name, output in render_incremental(site, self.project, reused=self.reused, whole_site=False,
                                             record=False).outputs.items():
            path = base + name
            outputs[path] = digest(output.data)
            if task.previous.get(path) != outputs[path]:
                stage_file(self.staging, path, output.data)
                staged.append(path)
        if _saved_since(source, task.stat):  # what was rendered may not be what the plan digested (a save undone
            note(("files", source.slug), "<saved while built>")  # later would look unchanged): built again next time
        entry = trial_entry(source.slug, trial, site.pages[0].description)  # a registry trial's from merged facts
        terms = json.dumps(counts_of(entry.title, plain_text_of(site)), ensure_ascii=False, sort_keys=True)
        record = state.TrialRecord(
            {}, task.stat, outputs, entry,
            fingerprint(entry), (entry.updated, json.dumps(trial_summary(trial, site.settings))),
            digest(terms.encode()), tuple(site.warnings),
        )
        return TrialResult(source.slug, record, (), tuple(staged), terms)


def _saved_since(source: TrialSource, stat: tuple[int, ...]) -> bool:
    """Whether a trial's files were saved, or removed, since the plan took their `stat`, before it read them."""
    try:
        return trial_stat(source) != stat
    except OSError:
        return True


def build_catalog(
    plan: CatalogPlan, strict: bool, jobs: int, progress: Callable[[int, int], None] | None = None,
    pages_first: bool = False,
) -> tuple[BuildReport, list[Problem]]:
    """Build a catalog: every trial whose inputs changed since the last build (all, the first time) on `jobs`
    processes, then the catalog's own pages, feed, sitemap and search index; stage what changed, and move it into
    the output folder only once everything is built without an error.

    With `pages_first` (`sitegen serve`, which shows the pages first and then brings the rest up to date), the
    catalog's own outputs may be left as they are, and the report says so (`behind`): the next build makes them.
    When the same trials made the same files with the same shared inputs (an edit of a trial's text), the trials'
    pages are all this build makes: the home and listing pages, feed, sitemap and search index stay as the last
    build made them, whole and consistent, only behind. Otherwise a search index that exists but is out of date
    is left as it is."""
    project, base_url = plan.project, plan.base_url
    output, previous, sources, warnings = plan.output, plan.previous, plan.scan.sources, list(plan.scan.warnings)
    shared: Shared | None = None
    if plan.scan.shared_files == previous.shared_files:  # the shared files are as they were: so is what was made of them
        shared_print, bib_prints = previous.shared_print, previous.bib_prints
    else:
        shared = load_shared(project, base_url)
        shared_print = fingerprint((shared.settings, shared.glossary, templates_digest(project)))
        bib_prints = {key: fingerprint(replace(ref, line=0, file="")) for key, ref in shared.bibliography.items()}
    records, tasks = plan.reusable(shared_print, bib_prints)
    shared = shared or load_shared(project, base_url)
    writer = Writer(output)
    try:
        problems: list[Problem] = []
        changed: list[str] = []
        terms: dict[str, str] = {}
        now = trial_reads_now(plan.scan.files, shared_print, bib_prints)
        make = functools.partial(_trial_builder, project, shared, now, writer.folder, strict)
        one: dict[Any, Any] = {}
        for done, result in enumerate(map_in_processes(make, tasks, jobs, "trials to build"), 1):
            problems += result.problems
            changed += result.staged
            if result.record is not None:
                records[result.slug] = replace(result.record, reads=_one_each(result.record.reads, one))
                terms[result.slug] = result.terms
            if progress is not None:
                progress(done, len(tasks))
        if problems:
            raise ContentError(problems)
        records = {source.slug: records[source.slug] for source in sources}
        only_pages = pages_first and _only_pages(plan, records, shared_print, bib_prints)
        if not only_pages:  # (else the same files as last time, claimed then)
            for source in sources:
                for name in records[source.slug].outputs:
                    writer.claim(name, source.yaml)
        shared_warnings = previous.shared_warnings if only_pages else tuple(_shared_warnings(shared, records))
        warnings += [w for r in records.values() for w in r.warnings] + list(shared_warnings)
        if strict and warnings:
            raise ContentError.from_warnings(warnings)
        if only_pages:
            record = replace(previous, trials=records, began=plan.began,
                             behind=tuple(previous.listings) + tuple(previous.site))
            writer.commit([], whole=False, token=previous.token)
            files, removed = plan.files_as_before(), list[str]()  # the same files
        else:
            record = state.BuildRecord("", records, {}, plan.began, plan.scan.shared_files, shared_print, bib_prints,
                                       shared_warnings, content=str(project.content.resolve()))
            current, removed = _catalog(plan, shared, record, pages_first, writer, changed, terms, jobs)
            files = tuple(sorted(current))
    except BaseException:
        writer.discard()
        raise
    indexed = SEARCH not in record.behind  # the index has every trial's terms as they are now
    if terms or removed or (indexed and SEARCH in previous.behind):  # first: no record names terms not kept
        state.save_terms(output, terms, keep=records, fresh=not previous.token, indexed=indexed)
    if shared_files_digest(project, base_url) != plan.scan.shared_files:  # saved while built: what was read may not
        record = _saved_while_built(record, built=terms.keys())  # be what was digested or fingerprinted
    keep(plan, record, files)
    report = BuildReport(len(records), files, tuple(sorted(changed)), len(tasks), record.behind)
    return report, sorted(warnings)


def _saved_while_built(record: state.BuildRecord, built: Collection[str]) -> state.BuildRecord:
    """The record of a build during which a shared file was saved: the shared files are loaded again next time,
    and every output this build made, whose reads noted a fingerprint of what it may not have read, made again."""
    saved = "<saved while built>"

    def stale(reads: dict[Key, str]) -> dict[Key, str]:
        return {key: saved if key[0] in ("shared", "reference") else value for key, value in reads.items()}

    trials = {slug: replace(r, reads=stale(r.reads)) if slug in built else r for slug, r in record.trials.items()}
    return replace(record, shared_files=saved, shared_print=saved, trials=trials,
                   listings={name: replace(m, reads=stale(m.reads)) for name, m in record.listings.items()},
                   site={name: replace(m, reads=stale(m.reads)) for name, m in record.site.items()})


def _only_pages(plan: CatalogPlan, records: dict[str, state.TrialRecord], shared_print: str,
                bib_prints: dict[str, str]) -> bool:
    """Whether a build of these trials may make their pages only, and leave the catalog's own outputs behind: the
    last build was whole, the shared files (static files among them) are byte for byte the same, and the same trials,
    in the same order, made the same files and cite the same shared references (which the warnings about uncited
    ones follow)."""
    previous = plan.previous
    if not previous.token or plan.scan.shared_files != previous.shared_files or shared_print != previous.shared_print \
            or bib_prints != previous.bib_prints or list(records) != list(previous.trials):
        return False
    return all(record is before or (record.outputs.keys() == before.outputs.keys()
                                    and record.cited_shared == before.cited_shared)
               for record, before in zip(records.values(), previous.trials.values()))


def _catalog(
    plan: CatalogPlan, shared: Shared, record: state.BuildRecord, pages_first: bool, writer: Writer,
    changed: list[str], terms: dict[str, str], jobs: int,
) -> tuple[dict[str, str], list[str]]:
    """The catalog's own outputs made where what they read changed, staged with the trials' pages and committed;
    `record` completed with them. Every file of the site with its digest, and the files removed."""
    project, output, previous, records = plan.project, plan.output, plan.previous, record.trials
    env, settings = catalog_environment(project), shared.settings
    pages = _Pages(records, settings.title)
    now = _catalog_reads_now(project, env, settings, records, record.shared_print, record, pages)
    record.listed = {key: now(key) for key in [("shared",), ("entries",)]}  # what the listing pages are decided from
    listings: list[tuple[str, str, Callable[[], dict[str, bytes]]]] = []
    if previous.listed and fresh(previous.listed, now):  # no entry changed, so no listing page did: not computed
        record.listings = previous.listings
        for key, made in record.listings.items():
            for name in made.files:
                writer.claim(name, f"the listing page {key}")
    else:
        listings = list(_listing_outputs(env, settings, pages))
        record.listings = {key: state.Made({}, {}) for key, _, _ in listings}  # their places (the sitemap's list)
    before, made_before = previous.site.get(SEARCH), previous.site
    stale = before is not None and not fresh(before.reads, now)
    record.behind = (SEARCH,) if pages_first and stale else ()  # serve: the index made before is whole, only behind
    on_disk = _made_files(output, before) if stale and not record.behind else None
    if stale and not record.behind and on_disk is None:  # not the index recorded: all of it is written over
        made_before = {key: m for key, m in previous.site.items() if key != SEARCH}
    index = functools.partial(_search_index, output, on_disk, records, terms)
    outputs = list(_catalog_outputs(project, env, settings, records, list(record.listings), index))
    made_now = _make(listings + outputs, {**previous.listings, **made_before} if listings else made_before, now,
                     writer, changed, keep=record.behind, jobs=jobs)
    record.listings = {key: made_now[key] for key in record.listings} if listings else record.listings
    record.site = {key: made_now[key] for key, _, _ in outputs}
    current = record.files()
    record.token = digest("\0".join(f"{name}\0{d}" for name, d in sorted(current.items())).encode())
    removed = sorted(set(previous.files()) - set(current))
    writer.commit(removed, whole=not previous.token, token=record.token)
    return current, removed


def _trial_builder(project: Project, shared: Shared, now: Callable[[Key], str], staging: Path,
                   strict: bool) -> Callable[[TrialTask], TrialResult]:
    return TrialBuilder(project, shared, now, staging, strict).build


def _shared_warnings(shared: Shared, records: dict[str, state.TrialRecord]) -> list[Problem]:
    """Shared references no trial cites, and incomplete ones."""
    cited = {key for r in records.values() for key in r.cited_shared}
    uncited = [Problem(r.file, r.line, 1, f"reference '{key}' is not cited by any trial", "warning")
               for key, r in shared.bibliography.items() if key not in cited]
    return uncited + check_bibliography(shared.bibliography, cited)


def _search_index(output: Path, made: dict[str, bytes] | None, records: dict[str, state.TrialRecord],
                  new: dict[str, str]) -> dict[str, bytes]:
    """The search index of these trials, whose terms are `new` for those built now and the cache's for the others:
    the last build's index (`made`, read back from the output) changed where their terms did, if it has the same
    trials in the same order; else made whole."""
    ordered = sorted(records.items(), key=lambda item: item[1].entry.path)
    docs = [Doc(r.entry.path, r.entry.title, r.entry.condition, r.entry.status, r.entry.phase) for _, r in ordered]
    number = {slug: n for n, (slug, _) in enumerate(ordered)}
    if made is not None and _same_docs(made, docs):
        edited = sorted(set(new) | set(state.not_indexed(output)))
        indexed = state.load_terms(output, edited, "indexed")
        latest = {**state.load_terms(output, [slug for slug in edited if slug not in new]), **new}
        if all(slug in indexed and slug in latest and slug in number for slug in edited):
            changes = {number[slug]: (json.loads(indexed[slug]), json.loads(latest[slug])) for slug in edited
                       if indexed[slug] != latest[slug]}
            files = update_index(docs, changes, made)
            if files is not None:
                return files
    kept = state.load_terms(output, [slug for slug, _ in ordered if slug not in new])
    missing = [slug for slug, _ in ordered if slug not in new and slug not in kept]
    if missing:
        raise state.CacheDamaged(f"the cache lacks the search terms of {missing[0]}")
    return make_index(docs, (json.loads(new[slug] if slug in new else kept[slug]) for slug, _ in ordered))


def _made_files(output: Path, before: state.Made | None) -> dict[str, bytes] | None:
    """The files of the search index the last build made, read back from the output folder; None if there was
    none, or one of them is missing or not the bytes that build wrote."""
    if before is None:
        return None
    files = {}
    for name, expected in before.files.items():
        try:
            data = (output / name).read_bytes()
        except OSError:
            return None
        if digest(data) != expected:
            return None
        files[name] = data
    return files


def _same_docs(made: dict[str, bytes], docs: list[Doc]) -> bool:
    """Whether an index's docs files list these documents' URLs, in this order."""
    urls: list[str] = []
    try:
        for n in range(len(made)):
            part = made.get(f"{SEARCH}docs/{n}.json")
            if part is None:
                break
            urls += [row[0] for row in json.loads(part)]
    except (ValueError, TypeError, IndexError, KeyError):
        return False
    return urls == [doc.url for doc in docs]


def _make(outputs: Iterable[tuple[str, str, Callable[[], dict[str, bytes]]]], previous: dict[str, state.Made],
          now: Callable[[Key], str], writer: Writer, changed: list[str], keep: Collection[str] = (),
          jobs: int = 1) -> dict[str, state.Made]:
    """Make each output (key, what makes it, function making its files) whose reads changed since `previous` (the
    others, and those whose key is in `keep`, are kept as they were), recording what making it reads; stage the
    files whose bytes changed and add them to `changed`, and claim every file for what makes it; what was made, by
    key, in the order of `outputs`. From PARALLEL_OUTPUTS outputs to make on, `jobs` processes make them, the last
    output started first."""
    made: dict[str, state.Made] = {}
    todo: list[tuple[str, str, Callable[[], dict[str, bytes]], state.Made | None]] = []
    for key, label, produce in outputs:
        before = previous.get(key)
        if before is not None and (key in keep or fresh(before.reads, now)):
            made[key] = before
            for name in before.files:
                writer.claim(name, label)
        else:
            made[key] = state.Made({}, {})  # its place, filled below
            todo.append((key, label, produce, before))

    def maker() -> Callable[[int], tuple[state.Made, list[str]]]:
        inputs = Fingerprints(now)

        def make_one(index: int) -> tuple[state.Made, list[str]]:
            _, _, produce, before = todo[index]
            with recording(inputs) as reads:
                files = {name: (data, digest(data)) for name, data in produce().items()}
            staged = []
            for name, (data, file_digest) in files.items():
                if before is None or before.files.get(name) != file_digest:
                    stage_file(writer.folder, name, data)
                    staged.append(name)
            return state.Made(reads.fingerprints, {name: d for name, (_, d) in files.items()}), staged

        return make_one

    processes = jobs if len(todo) >= PARALLEL_OUTPUTS else 1
    one: dict[Any, Any] = {}
    # Started last first: the catalog's own outputs come after the listing pages, and the search index, which takes
    # longest, last of all, so one process makes it while the others make the listing pages.
    last_first = list(map_in_processes(maker, list(range(len(todo)))[::-1], processes, "pages to make"))
    for (key, label, _, _), (made_now, staged) in zip(todo, last_first[::-1]):
        for name in made_now.files:
            writer.claim(name, label)
        changed += staged
        made[key] = state.Made(_one_each(made_now.reads, one), made_now.files)
    return made


def _one_each(reads: dict[Key, str], one: dict[Any, Any]) -> dict[Key, str]:
    """`reads` with each key and fingerprint that came back from the processes before (what every trial or page
    shares, a trial's entry from every page listing it) replaced by the object that came first: the record, which
    pickles each object once, stays small."""
    return {one.setdefault(read, read): one.setdefault(value, value) for read, value in reads.items()}


def _catalog_reads_now(
    project: Project, env: Environment, settings: Settings, records: dict[str, state.TrialRecord],
    shared_print: str, record: state.BuildRecord, pages: _Pages,
) -> Callable[[Key], str]:
    """The fingerprint now of each thing the catalog's own outputs read (and note while they are made): what every
    page shares ('shared',), the settings, a trial's list entry, every trial's entry, feed item, pages, or terms
    and entry (the search index), a listing page's layout and trials, a static file, a template (which the
    template loader notes)."""

    @functools.cache  # the trials do not change while the catalog's own outputs are made
    def every_trial(kind: str) -> str:
        """A digest of every trial's list entry, feed item, or pages and their date, in the catalog's order: strings
        joined (NUL between a trial's parts, SOH between trials), 20 times quicker than a fingerprint of 10,000
        tuples."""
        parts: Iterator[tuple[str, ...]]
        if kind == "entries":
            parts = ((slug, r.entry_print) for slug, r in records.items())
        elif kind == "search":
            parts = ((slug, r.search_print, r.entry_print) for slug, r in records.items())
        elif kind == "feed items":
            parts = (r.feed_item for r in records.values())
        else:
            parts = ((r.entry.updated, *r.outputs) for r in records.values())
        return digest("\1".join("\0".join(part) for part in parts).encode())

    def now(key: Key) -> str:
        kind, *rest = key
        if kind == "entry":
            trial = records.get(rest[0])
            return trial.entry_print if trial is not None else MISSING
        if kind == "shared":
            return shared_print
        if kind == "settings":
            return fingerprint(settings)
        if kind == "language":
            return settings.language
        if kind in ("entries", "feed items", "trial pages", "search"):
            return every_trial(kind)
        if kind == "listings":
            return fingerprint(list(record.listings))
        if kind == "page":
            page = pages.by_file.get(rest[0])
            return fingerprint((replace(page, trials=()), [t.slug for t in page.trials])) if page else MISSING
        if kind == "static":
            return digest(read_static(project, rest[0])) if rest[0] in project.static_names(STATIC_FILES) else MISSING
        if kind == "template":
            return template_digest(env, rest[0])
        return MISSING  # not a thing the catalog's outputs read: made again to be sure

    return now


class _Pages:
    """The home and listing pages of a catalog, worked out once, and only when asked for: that reads every entry."""

    def __init__(self, records: dict[str, state.TrialRecord], title: str) -> None:
        self.records, self.title = records, title

    @functools.cached_property
    def all(self) -> list[ListingPage]:
        return catalog_pages([r.entry for r in self.records.values()], self.title)

    @functools.cached_property
    def by_file(self) -> dict[str, ListingPage]:
        return {page.file: page for page in self.all}


def _listing_outputs(
    env: Environment, settings: Settings, pages: _Pages,
) -> Iterator[tuple[str, str, Callable[[], dict[str, bytes]]]]:
    """The home and listing pages: (file, what makes it, function making it, noting what it reads)."""

    def listing_html(page: ListingPage) -> dict[str, bytes]:
        note(("shared",))
        note(("page", page.file))  # its place among the pages, its counts and links, which trials it lists
        for trial in page.trials:
            note(("entry", trial.slug))
        context = {"site": settings, "page": page, "canonical": settings.base_url + page.path,
                   "jsonld": listing_graph(settings, page), "facet_links": FACET_LINKS}
        return {page.file: render_template(env, page.template, context).encode("utf-8")}

    for page in pages.all:
        yield page.file, f"the listing page {page.file}", functools.partial(listing_html, page)


def _catalog_outputs(
    project: Project, env: Environment, settings: Settings, records: dict[str, state.TrialRecord],
    listings: list[str], index: Callable[[], dict[str, bytes]],
) -> Iterator[tuple[str, str, Callable[[], dict[str, bytes]]]]:
    """The catalog's other outputs (404 page, feed, sitemap, robots.txt, static files, search index), given the
    files of the listing pages and what makes the search index: (key, what makes it, function making its files,
    noting what it reads)."""
    base_path = urlparse(settings.base_url).path or "/"
    not_found = ListingPage("", "Page not found", "This page does not exist. Start again from the list of trials.",
                            "404.html", (), not_found=base_path)

    def not_found_html() -> dict[str, bytes]:
        note(("shared",))  # the settings (its base path among them) and the templates
        context = {"site": settings, "page": not_found, "canonical": "", "facet_links": FACET_LINKS,
                   "jsonld": listing_graph(settings, not_found), "layout": "_catalog_layout.html",
                   "home_label": "the list of all trials"}
        return {"404.html": render_template(env, "404.html", context).encode("utf-8")}

    def feed() -> dict[str, bytes]:
        note(("settings",))
        note(("feed items",))  # every trial's, as one read: a catalog's record would otherwise hold one per trial
        items = [(modified, json.loads(item)) for modified, item in (r.feed_item for r in records.values())]
        return {"feed.jsonld": (json_text(catalog_feed(settings, items)) + "\n").encode()}

    def sitemap() -> dict[str, bytes]:
        note(("shared",))
        note(("listings",))
        note(("trial pages",))  # every trial's pages and their date, as one read
        urls: list[tuple[str, str | None]] = [(name.removesuffix("index.html"), None) for name in listings] + [
            (name.removesuffix("index.html"), r.entry.updated) for r in records.values() for name in r.outputs
        ]
        return sitemaps(env, settings, urls)

    def robots() -> dict[str, bytes]:
        note(("shared",))
        return {"robots.txt": robots_txt(env, settings)}

    def static(name: str) -> dict[str, bytes]:
        data = read_static(project, name)
        note(("static", name), digest(data))
        return {name: data}

    def search() -> dict[str, bytes]:
        note(("search",))  # every trial's terms, and what its result shows
        return index()

    yield "404.html", "the 404 page", not_found_html
    yield "feed.jsonld", "the feed", feed
    yield "sitemap.xml", "the sitemap", sitemap
    yield "robots.txt", "robots.txt", robots
    for name in project.static_names(STATIC_FILES):
        yield name, f"the static file {project.static_file(name)}", functools.partial(static, name)
    yield SEARCH, "the search index", search
