"""Run the stages in order (load, validate, cite, render, write); the only module that knows that order.

Everything is read, validated and rendered in memory before the first byte is written, so a build
that fails writes nothing and every page sees the same data. While an output is rendered, everything it
reads (trial fields, settings, templates, prose, references) is noted with a fingerprint; a later build
given that record re-renders only the outputs whose reads changed (`sitegen serve`).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import urlparse

from jinja2 import (
    Environment,
    TemplateError,
    TemplateSyntaxError,
    UndefinedError,
)
from markupsafe import Markup

from . import cache, jsonld
from .bib import Reference, check_bibliography, format_reference_html, load_bibliography
from .cache import digest, fingerprint
from .catalog import FACETS, ListingPage, TrialEntry, catalog_pages, where_label
from .cite import Citations, CitedReference, number_citations
from .errors import ContentError, Problem
from .glossary import TermFinder, glossary_entries, mark_terms, used_terms
from .load import Document, PathKey, load_yaml
from .markup import plain_text
from .pages import GLOSSARY, PHASE_LABELS, STATUS_LABELS, Page, display_labels, not_found_page, trial_pages
from .parallel import map_in_processes
from .plan import (
    BuildReport,
    CatalogPlan,
    Project,
    TrialTask,
    folder_digest,
    locked_output,
    nothing_to_build,
    plan_build,
    site_url,
)
from .record import (
    MISSING,
    READS,
    Key,
    Reads,
    Recorded,
    RecordedList,
    RecordedPages,
    RecordingContext,
    RecordingLoader,
    note,
    template_digest,
)
from .render import inline_html, make_environment, prose_html
from .schema import Glossary, Settings, Trial
from .search import SearchError, SearchRecord, bundle_count, bundle_folder, bundle_of, search_index
from .validate import (
    content_warnings,
    problem_at,
    validate_glossary,
    validate_settings,
    validate_trial,
)
from .write import WriteError, Writer, stage_file, write_site

T = TypeVar("T")
STATIC_FILES = ("style.css", "favicon.svg")
CATALOG_STATIC_FILES = (*STATIC_FILES, "search.js")  # search.js starts the catalog's search box
MAX_SITEMAP_URLS = 50_000  # the sitemap protocol's limit for one file
FACET_LINKS = [(key, plural, path) for key, _, plural, path, _ in FACETS]  # each catalog page links every facet


@dataclass(frozen=True)
class Site:
    """Everything a build has read and checked: settings, the trials, their references."""

    settings: Settings
    trial: Trial
    trial_doc: Document
    bibliography: dict[str, Reference]
    citations: Citations
    pages: list[Page]
    warnings: list[Problem]
    glossary: Glossary | None = None
    glossary_doc: Document | None = None


class ParseCache:
    """Parsed content files, each kept with the bytes it was parsed from, so that a rebuild parses again only
    the files whose bytes changed (`sitegen serve`). Parse results are never changed after parsing."""

    def __init__(self) -> None:
        self._parsed: dict[tuple[str, Path], tuple[bytes, object]] = {}

    def parse(self, path: Path, parse: Callable[[Path, str | None], T]) -> T:
        """`parse(path, text)` of the file's current text, or the earlier result for the same bytes."""
        try:
            raw = path.read_bytes()
            text = raw.decode("utf-8-sig")
        except (OSError, UnicodeError):
            return parse(path, None)  # the loader reports an unreadable file in its own words
        key = (parse.__name__, path)
        earlier = self._parsed.get(key)
        if earlier is not None and earlier[0] == raw:
            return cast(T, earlier[1])
        result = parse(path, text)
        self._parsed[key] = (raw, result)
        return result


@dataclass(frozen=True)
class Shared:
    """What every trial of a site is built with: the settings, the glossary and the shared references."""

    settings: Settings
    bibliography: dict[str, Reference]  # content/references.bib, when there is one
    glossary: Glossary | None = None
    glossary_doc: Document | None = None


def load_shared(project: Project, base_url: str | None = None, cache: ParseCache | None = None) -> Shared:
    """Load and validate site.yaml, glossary.yaml and references.bib; raise ContentError with every problem found."""
    problems: list[Problem] = []
    content = project.content
    settings_doc = _collect(problems, lambda: _parse(cache, content / "site.yaml", load_yaml))
    settings = _collect(problems, lambda: validate_settings(settings_doc)) if settings_doc else None
    bib_path = content / "references.bib"  # optional
    bibliography = _collect(problems, lambda: _parse(cache, bib_path, load_bibliography)) if bib_path.exists() else {}
    glossary_path = content / "glossary.yaml"  # optional
    glossary_doc = _collect(problems, lambda: _parse(cache, glossary_path, load_yaml)) if glossary_path.exists() else None
    glossary = _collect(problems, lambda: validate_glossary(glossary_doc)) if glossary_doc else None
    if problems or settings is None or bibliography is None:
        raise ContentError(problems)
    if base_url is not None:
        settings = settings.model_copy(update={"base_url": site_url(base_url)})  # the command line checked it
    return Shared(settings, bibliography, glossary, glossary_doc)


def load_trial(path: Path, cache: ParseCache | None = None) -> tuple[Document, Trial]:
    """Load and validate one trial file; raise ContentError with every problem found."""
    doc = _parse(cache, path, load_yaml)
    return doc, validate_trial(doc)


def load_site(project: Project, base_url: str | None = None, strict: bool = False, cache: ParseCache | None = None) -> Site:
    """Load and validate the single trial of content/ and everything shared, and resolve citations; raise
    ContentError with every problem found.

    With `strict`, warnings are errors too. With a `cache`, files whose bytes did not change are not parsed again.
    """
    problems: list[Problem] = []
    shared = _collect(problems, lambda: load_shared(project, base_url, cache))
    trial = _collect(problems, lambda: load_trial(project.content / "trial.yaml", cache))
    if problems or shared is None or trial is None:
        raise ContentError(problems)
    site = assemble_site(shared, *trial, {})
    if strict and site.warnings:
        raise ContentError.from_warnings(site.warnings)
    return site


def assemble_site(shared: Shared, doc: Document, trial: Trial, own: dict[str, Reference], trial_base: str = "") -> Site:
    """One trial's site: its pages, with citations numbered across the shared references and its `own`.

    In a catalog (`trial_base` 'trials/<slug>/'), the trial's URLs start at its folder, and only its own references
    are warned about when uncited (a shared one may be there for other trials)."""
    settings = shared.settings
    if trial_base:
        settings = settings.model_copy(update={"base_url": settings.base_url + trial_base})
    bibliography = {**shared.bibliography, **own}
    pages = trial_pages(trial, shared.glossary is not None, trial_base)
    citations, unknown = number_citations([(p.slug, p.nav_title, list(p.prose)) for p in pages], bibliography)
    if unknown:
        raise ContentError([problem_at(doc, path, message) for path, message in unknown])
    warned = own if trial_base else bibliography
    uncited = [warned[key] for key in citations.uncited if key in warned]
    warnings = content_warnings(trial, doc, uncited) + check_bibliography(warned)
    return Site(settings, trial, doc, bibliography, citations, pages, warnings, shared.glossary, shared.glossary_doc)


def _parse(cache: ParseCache | None, path: Path, loader: Callable[[Path, str | None], T]) -> T:
    return cache.parse(path, loader) if cache is not None else loader(path, None)


def _collect(problems: list[Problem], step: Callable[[], T]) -> T | None:
    try:
        return step()
    except ContentError as e:
        problems.extend(e.problems)
        return None
    except OSError as e:
        problems.append(Problem(str(e.filename or "?"), 0, 0, f"cannot read: {e.strerror}"))
        return None


def render_site(site: Site, project: Project) -> dict[str, bytes]:
    """Every output file of the site, as bytes, keyed by its path relative to the output folder."""
    return render_incremental(site, project).files


@dataclass(frozen=True)
class Output:
    """One output file and what rendering it read: each dependency's key and fingerprint at that moment."""

    data: bytes
    reads: dict[Key, str]


@dataclass(frozen=True)
class RenderRecord:
    """A build's output files, each with what it read. Given to the next build, it lets that build reuse every
    output whose reads all still have the same fingerprint, and render only the others."""

    outputs: dict[str, Output]
    rendered: tuple[str, ...]  # the outputs this build rendered; the rest were reused
    templates: Path
    environment: Environment = field(repr=False)  # reused, with its compiled templates, by the next build

    @property
    def files(self) -> dict[str, bytes]:
        """Every output file, as bytes, keyed by its path relative to the output folder."""
        return {name: output.data for name, output in self.outputs.items()}


def render_incremental(
    site: Site, project: Project, previous: RenderRecord | None = None, environment: Environment | None = None,
    whole_site: bool = True, record: bool = True,
) -> RenderRecord:
    """Render the site, reusing from `previous` every output whose reads are unchanged; record what each read.

    The result is byte for byte what a build without `previous` gives: an output is reused only when everything
    its rendering read (trial fields, settings, templates, prose and its citations, references, static files)
    has the fingerprint it had then, and rendering reads nothing else. Without `whole_site` (a trial of a catalog),
    only the trial's pages are made; the catalog makes the rest. An `environment` from trial_environment is reused.
    Without `record`, reads are not noted (a catalog tracks what changed by trial; noting costs a quarter of the time).
    """
    env = environment or _recording_environment(project, previous)
    inputs = _Inputs(site, project, env)
    outputs = inputs.outputs  # the glossary page reads the pages made before it
    rendered: list[str] = []
    for name, produce in _producers(site, project, env, inputs, whole_site):
        before = previous.outputs.get(name) if previous is not None else None
        if before is not None and all(inputs.fingerprint(key) == print_ for key, print_ in before.reads.items()):
            outputs[name] = before
            continue
        reads = Reads(inputs)
        token = READS.set(reads if record else None)
        try:
            data = produce()
        finally:
            READS.reset(token)
        outputs[name] = Output(data, reads.fingerprints)
        rendered.append(name)
    return RenderRecord(outputs, tuple(rendered), project.templates, env)


def _producers(
    site: Site, project: Project, env: Environment, inputs: _Inputs, whole_site: bool = True
) -> list[tuple[str, Callable[[], bytes]]]:
    """Each output file with the function that makes it. They read the site through recorders (Recorded,
    RecordedList, _ProseReader, _PlainReader), so what each reads is noted while it runs."""
    trial = cast(Trial, Recorded(site.trial, ("trial",)))
    settings = cast(Settings, Recorded(site.settings, ("site",)))
    pages = cast(list[Page], RecordedPages(site.pages))
    plain = cast(dict[str, str], _PlainReader(inputs.plain_texts))
    cited = cast(tuple[CitedReference, ...], RecordedList(("cited",), site.citations.references))
    shared: dict[str, Any] = {
        "site": settings, "trial": trial, "pages": pages,
        "references": RecordedList(("value", "references"), inputs.references), **inputs.values,
        "layout": "base.html", "home_label": "the summary of the trial",  # for 404.html
    }

    def page_html(page: Page, references: tuple[CitedReference, ...]) -> bytes:
        view = cast(Page, Recorded(page, ("page", page.file)))
        glossary = site.glossary if page.slug == GLOSSARY else None
        if glossary is not None:
            note(("glossary",))
        context = {
            **shared, "page": view, "prose": _ProseReader(env, page, site.citations),
            "canonical": jsonld.page_url(settings.base_url, view),
            "jsonld": jsonld.page_graph(trial, settings, view, pages, plain, references, glossary),
            "glossary_entries": glossary_entries(glossary, glossary_uses(), site.pages) if glossary else (),
        }
        text = _render(env, view.template, context)
        if inputs.finder is not None and page.slug != GLOSSARY and not page.not_found:
            note(("glossary",))
            text = mark_terms(text, inputs.finder, f"{page.root}glossary/index.html")[0]
        return text.encode("utf-8")

    def glossary_uses() -> dict[str, tuple[str, ...]]:
        """The terms marked on each page made so far (the glossary page comes after them all)."""
        uses = {}
        for page in site.pages:
            if page.file in inputs.outputs:
                note(("uses", page.file))
                uses[page.slug] = used_terms(inputs.outputs[page.file].data)
        return uses

    def publishing(template: str) -> bytes:
        base_url = settings.base_url
        modified = trial.updated.isoformat()
        context = {**shared, "base_url": base_url, "entries": [(jsonld.page_url(base_url, p), modified) for p in pages]}
        return _render(env, template, context).encode("utf-8")

    def feed() -> bytes:
        return (jsonld.json_text(jsonld.feed(trial, settings, pages, plain)) + "\n").encode("utf-8")

    def static(name: str) -> bytes:
        data = read_static(project, name)
        note(("static", name), digest(data))
        return data

    producers: list[tuple[str, Callable[[], bytes]]] = [
        (page.file, lambda page=page: page_html(page, cited)) for page in site.pages  # type: ignore[misc]
    ]
    if not whole_site:
        return producers
    producers.append((inputs.not_found.file, lambda: page_html(inputs.not_found, ())))
    producers += [(name, lambda name=name: publishing(name)) for name in ("sitemap.xml", "robots.txt")]  # type: ignore[misc]
    producers.append(("feed.jsonld", feed))
    producers += [(name, lambda name=name: static(name)) for name in STATIC_FILES]  # type: ignore[misc]
    return producers


def read_static(project: Project, name: str) -> bytes:
    """A file of the static folder, or a ContentError naming it."""
    try:
        return (project.static / name).read_bytes()
    except OSError as e:
        raise ContentError([Problem(str(project.static / name), 0, 0, f"cannot read: {e.strerror}")]) from None


class _Inputs:
    """What one build renders from, and the fingerprint of each piece of it an output can read (by key)."""

    def __init__(self, site: Site, project: Project, env: Environment) -> None:
        self.site, self.project, self.env = site, project, env
        trial, citations = site.trial, site.citations
        self.references = [
            {"number": r.number, "html": Markup(format_reference_html(r.reference)), "backlinks": r.backlinks}
            for r in citations.references
        ]
        # Values templates read by name; each is noted whole when a template looks its name up.
        self.values: dict[str, object] = {
            "sources": {r.reference.key: short_source(r.reference) for r in citations.references},
            **display_labels(trial, _units(site.glossary)),
        }
        self.not_found = not_found_page(trial, urlparse(site.settings.base_url).path or "/")
        self.pages = {p.file: p for p in [*site.pages, self.not_found]}
        self.by_slug = {p.slug: p for p in site.pages}
        self.plain_texts = {_dotted(f.path): f.text for p in site.pages for f in p.prose}
        self.finder = TermFinder(site.glossary) if site.glossary is not None else None
        self.outputs: dict[str, Output] = {}  # filled as the build goes
        self._known: dict[Key, str] = {}

    def fingerprint(self, key: Key) -> str:
        """The fingerprint, in this build, of what `key` names (the same value gives the same fingerprint)."""
        if key not in self._known:
            self._known[key] = self._compute(key)
        return self._known[key]

    def _compute(self, key: Key) -> str:
        kind, *rest = key
        site = self.site
        if kind == "template":
            return template_digest(self.env, rest[0])
        if kind == "static":
            path = self.project.static / rest[0]
            return digest(path.read_bytes()) if path.is_file() else MISSING
        if kind == "trial":
            return fingerprint(getattr(site.trial, rest[0], MISSING))
        if kind == "site":
            return fingerprint(getattr(site.settings, rest[0], MISSING))
        if kind == "page":
            page = self.pages.get(rest[0])
            return fingerprint(getattr(page, rest[1], MISSING) if page is not None else MISSING)
        if kind == "pages":
            if rest == ["len"]:
                return fingerprint(len(site.pages))
            index, attribute = rest
            return fingerprint(getattr(site.pages[index], attribute, MISSING) if index < len(site.pages) else MISSING)
        if kind == "value":
            value = self.references if rest[0] == "references" else self.values.get(rest[0], MISSING)
            return fingerprint(bool(value) if rest[1:] == ["bool"] else value)
        if kind == "cited":
            return fingerprint(bool(site.citations.references) if rest == ["bool"] else site.citations.references)
        if kind == "prose":
            page = self.by_slug.get(rest[0])
            if page is None:
                return MISSING
            fields = [f for f in page.prose if len(rest) == 1 or f.path == rest[1]]
            return fingerprint([_prose_inputs(page, f.path, f.text, site.citations) for f in fields])
        if kind == "plain":
            return fingerprint(self.plain_texts.get(rest[0], MISSING))
        if kind == "glossary":
            return fingerprint(site.glossary)
        if kind == "uses":
            output = self.outputs.get(rest[0])
            return fingerprint(used_terms(output.data) if output is not None else MISSING)
        raise ValueError(f"unknown kind of dependency: {key!r}")


def _findings_href(page: Page) -> str:
    return f"{page.root}findings/index.html" if page.slug != "findings" else ""


def _prose_inputs(page: Page, path: PathKey, text: str, citations: Citations) -> tuple[object, ...]:
    """Everything a prose field's HTML is made from, besides _citation.html (noted when it is loaded)."""
    return (path, text, citations.groups.get((page.slug, path)), _findings_href(page))


class _ProseReader(Mapping[PathKey, Markup]):
    """A page's prose fields as HTML, rendered when a template reads one, and noted as read."""

    def __init__(self, env: Environment, page: Page, citations: Citations) -> None:
        self._env, self._page, self._citations = env, page, citations
        self._texts = {f.path: f.text for f in page.prose}

    def __getitem__(self, path: PathKey) -> Markup:
        note(("prose", self._page.slug, path))
        text = self._texts[path]
        return prose_html(self._env, text, self._citations.groups[(self._page.slug, path)], _findings_href(self._page))

    def __iter__(self) -> Iterator[PathKey]:
        note(("prose", self._page.slug))
        return iter(self._texts)

    def __len__(self) -> int:
        note(("prose", self._page.slug))
        return len(self._texts)


class _PlainReader(Mapping[str, str]):
    """Prose as plain text (for JSON-LD), by dotted path, made when read and noted as read."""

    def __init__(self, texts: dict[str, str]) -> None:
        self._texts = texts

    def __getitem__(self, dotted: str) -> str:
        note(("plain", dotted))
        return plain_text(self._texts[dotted])

    def __iter__(self) -> Iterator[str]:
        raise TypeError("read plain texts one by one, so that each read is noted")

    def __len__(self) -> int:
        return len(self._texts)


def trial_environment(project: Project) -> Environment:
    """A template environment for rendering trials, to reuse from one trial to the next."""
    return _recording_environment(project, None)


def _recording_environment(project: Project, previous: RenderRecord | None) -> Environment:
    """The previous build's environment when it used the same templates (its compiled templates are checked
    against the files on each use), else a new one that records what it loads."""
    if previous is not None and previous.templates == project.templates:
        return previous.environment
    env = make_environment(project.templates)
    env.loader = RecordingLoader(str(project.templates))
    env.context_class = RecordingContext
    env.filters["inline"] = inline_html
    return env


def _units(glossary: Glossary | None) -> dict[str, str]:
    """What each abbreviation of the glossary stands for, to spell units out where criteria use them."""
    return {t.abbreviation: t.term for t in glossary.terms if t.abbreviation} if glossary is not None else {}


def _render(env: Any, template: str, context: dict[str, Any]) -> str:
    """Render one template, turning template mistakes into a Problem naming the template file and line."""
    try:
        return str(env.get_template(template).render(context))
    except TemplateSyntaxError as e:
        raise ContentError([Problem(e.filename or template, e.lineno or 0, 1, f"template syntax error: {e.message}")]) from None
    except (UndefinedError, TemplateError, ArithmeticError, LookupError, TypeError, ValueError, RecursionError) as e:
        name, line = _template_line(e, template)
        folder = Path(env.loader.searchpath[0]) if getattr(env.loader, "searchpath", None) else Path("templates")
        message = str(e) if isinstance(e, TemplateError) else f"{type(e).__name__}: {e}"
        raise ContentError([Problem(str(folder / name), line, 1, f"template error: {message}")]) from None


def _template_line(error: BaseException, template: str) -> tuple[str, int]:
    """The template file and line a render error happened at, from the traceback Jinja2 rewrites."""
    tb = error.__traceback__
    found = (template, 0)
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name.endswith(".html"):
            found = (Path(name).name, tb.tb_lineno)
        tb = tb.tb_next
    return found


def _dotted(path: tuple[str | int, ...]) -> str:
    return ".".join(str(p) for p in path)


def short_source(ref: Reference) -> str:
    """A reference as the listing shows a finding's source: title, first three authors, et al., year."""
    authors = ", ".join(ref.authors[:3]) + (", et al" if len(ref.authors) > 3 or ref.authors_truncated else "")
    parts = [ref.title.rstrip(".") + ".", f"{authors}." if authors else "", ref.year]
    return " ".join(p for p in parts if p)


def plain_text_of(site: Site) -> str:
    """Everything a trial's pages say in words, as plain text, for full-text search."""
    trial = site.trial
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
    """What a worker sends back: the trial's record, or the problems that stop it; and its searchable text."""

    slug: str
    record: cache.TrialRecord | None
    problems: tuple[Problem, ...]
    staged: tuple[str, ...] = ()  # the files whose bytes changed, written to the staging folder
    text: str = ""


class TrialBuilder:
    """Builds trials of one catalog in one process, reusing one template environment."""

    def __init__(self, project: Project, shared: Shared, staging: Path, strict: bool) -> None:
        self.project, self.shared, self.staging, self.strict = project, shared, staging, strict
        self.env = trial_environment(project)

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
        source, shared = task.source, self.shared
        problems: list[Problem] = []
        loaded = _collect(problems, lambda: load_trial(Path(source.yaml)))
        bib = source.bib
        own = _collect(problems, lambda: load_bibliography(Path(bib))) if bib is not None else {}
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
        site = assemble_site(shared, doc, trial, own, base)
        if self.strict and site.warnings:
            raise ContentError.from_warnings(site.warnings)
        outputs: dict[str, str] = {}
        staged = []
        for name, output in render_incremental(site, self.project, environment=self.env, whole_site=False, record=False).outputs.items():
            path = base + name
            outputs[path] = digest(output.data)
            if task.previous.get(path) != outputs[path]:
                stage_file(self.staging, path, output.data)
                staged.append(path)
        entry = TrialEntry(
            source.slug, trial.title, site.pages[0].description, trial.condition, STATUS_LABELS[trial.status],
            trial.status, PHASE_LABELS[trial.phase], trial.phase, tuple(loc.name for loc in trial.locations.named),
            where_label([loc.name for loc in trial.locations.named], trial.locations.others), trial.updated.isoformat(),
        )
        text = plain_text_of(site)
        cited = sorted(r.reference.key for r in site.citations.references if r.reference.key not in own)
        record = cache.TrialRecord(
            task.inputs, task.stat, tuple(cited), tuple(own), outputs, entry,
            fingerprint(entry), (trial.updated.isoformat(), json.dumps(jsonld.trial_summary(trial, site.settings))),
            fingerprint(text), tuple(site.warnings),
        )
        return TrialResult(source.slug, record, (), tuple(staged), text)


def build(
    project: Project, output: Path, base_url: str | None = None, strict: bool = False, jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[BuildReport, list[Problem]]:
    """Check the output folder, build the whole site (a single trial, or a catalog of content/trials/), then write it
    atomically. Returns what was done and the warnings found."""
    with locked_output(project, output):
        plan = plan_build(project, output, base_url)
        if plan is not None:
            return nothing_to_build(plan, strict) or build_catalog(plan, strict, jobs, progress)
        site = load_site(project, base_url, strict)
        files = render_site(site, project)
        written = write_site(files, output)
        return BuildReport(1, tuple(files), written, 1), site.warnings


def build_catalog(
    plan: CatalogPlan, strict: bool, jobs: int, progress: Callable[[int, int], None] | None = None
) -> tuple[BuildReport, list[Problem]]:
    """Build a catalog: every trial whose inputs changed since the last build (all, the first time) on `jobs`
    processes, then the catalog's own pages, feed, sitemap and search index; stage what changed, and move it into
    the output folder only once everything is built without an error."""
    project, base_url = plan.project, plan.base_url
    output, previous, sources, warnings = plan.output, plan.previous, plan.sources, list(plan.warnings)
    shared: Shared | None = None
    if plan.shared_files == previous.shared_files:  # the shared files are as they were: so is what was made of them
        shared_print, bib_prints = previous.shared_print, previous.bib_prints
    else:
        shared = load_shared(project, base_url)
        shared_print = fingerprint((shared.settings, shared.glossary, folder_digest(project.templates)))
        bib_prints = {key: fingerprint(replace(ref, line=0, file="")) for key, ref in shared.bibliography.items()}
    records, tasks = plan.reusable(shared_print, bib_prints)
    shared = shared or load_shared(project, base_url)
    staging = Writer(output)
    try:
        problems: list[Problem] = []
        changed: list[str] = []
        texts: dict[str, str] = {}
        make = functools.partial(_trial_builder, project, shared, staging.folder, strict)
        for done, result in enumerate(map_in_processes(make, tasks, jobs), 1):
            problems += result.problems
            changed += result.staged
            if result.record is not None:
                records[result.slug], texts[result.slug] = result.record, result.text
            if progress is not None:
                progress(done, len(tasks))
        if problems:
            raise ContentError(problems)
        records = {source.slug: records[source.slug] for source in sources}
        for source in sources:
            for name in records[source.slug].outputs:
                staging.claim(name, source.yaml)
        shared_warnings = tuple(_shared_warnings(shared, records))
        warnings += [w for r in records.values() for w in r.warnings] + list(shared_warnings)
        if strict and warnings:
            raise ContentError.from_warnings(warnings)
        record = cache.BuildRecord("", records, {}, plan.began, plan.shared_files, shared_print, bib_prints,
                                   shared_warnings)
        env, settings, bundles = make_environment(project.templates), shared.settings, search_bundles(records)
        record.listed = fingerprint((shared_print, [(slug, r.entry_print) for slug, r in records.items()]))
        if record.listed == previous.listed:  # no trial's entry changed, so no listing page did: not even computed
            record.listings = previous.listings
        else:
            record.listings = _make(_listing_outputs(env, settings, records, list(bundles), shared_print),
                                    previous.listings, staging, changed)
        texts_of = functools.partial(_search_texts, output, texts)
        outputs = _catalog_outputs(project, env, settings, records, bundles, list(record.listings), shared_print,
                                   texts_of)
        record.site = _make(outputs, previous.site, staging, changed)
        current = record.files()
        record.token = fingerprint(sorted(current.items()))
        removed = sorted(set(previous.files()) - set(current))
        staging.commit(removed, whole=not previous.token, token=record.token)
    except BaseException:
        staging.discard()
        raise
    if texts or removed:  # the texts first: a record never says a text is kept that is not
        cache.save_texts(output, texts, keep=records, fresh=not previous.token)
    cache.save(output, plan.code, record)
    report = BuildReport(len(records), tuple(sorted(current)), tuple(sorted(changed)), len(tasks))
    return report, sorted(warnings)


def _trial_builder(project: Project, shared: Shared, staging: Path, strict: bool) -> Callable[[TrialTask], TrialResult]:
    return TrialBuilder(project, shared, staging, strict).build


def _shared_warnings(shared: Shared, records: dict[str, cache.TrialRecord]) -> list[Problem]:
    """Shared references no trial cites, and incomplete ones."""
    cited = {key for r in records.values() for key in r.cited_shared}
    uncited = [Problem(r.file, r.line, 1, f"reference '{key}' is not cited by any trial", "warning")
               for key, r in shared.bibliography.items() if key not in cited]
    return uncited + check_bibliography(shared.bibliography)


def _search_texts(output: Path, new: dict[str, str], slugs: list[str]) -> dict[str, str]:
    """The searchable text of these trials: of those built now, and of the others as the last build kept them."""
    kept = cache.load_texts(output, [slug for slug in slugs if slug not in new])
    missing = [slug for slug in slugs if slug not in new and slug not in kept]
    if missing:
        raise ContentError([Problem(str(cache.folder(output)), 0, 0, f"the cache lacks the search text of {missing[0]}"
                                    f"{' and others' if len(missing) > 1 else ''}; delete it to build everything again")])
    return {slug: new[slug] if slug in new else kept[slug] for slug in slugs}


def _make(outputs: Iterator[tuple[str, str, Callable[[], dict[str, bytes]]]], previous: dict[str, cache.Made],
          staging: Writer, changed: list[str]) -> dict[str, cache.Made]:
    """Make each output whose inputs changed since `previous` (its other outputs are kept as they were), stage the
    files whose bytes changed and add them to `changed`; what was made, by key."""
    made: dict[str, cache.Made] = {}
    for key, made_from, produce in outputs:
        before = previous.get(key)
        if before is not None and before.made_from == made_from:
            made[key] = before
            for name in before.files:
                staging.claim(name, f"the catalog's {key}")
            continue
        files = {name: (data, digest(data)) for name, data in produce().items()}
        for name, (data, file_digest) in files.items():
            if before is None or before.files.get(name) != file_digest:
                staging.add(name, data, f"the catalog's {key}")
                changed.append(name)
            else:
                staging.claim(name, f"the catalog's {key}")
        made[key] = cache.Made(made_from, {name: file_digest for name, (_, file_digest) in files.items()})
    return made


def _listing_outputs(
    env: Environment, settings: Settings, records: dict[str, cache.TrialRecord], bundles: list[str], shared_print: str
) -> Iterator[tuple[str, str, Callable[[], dict[str, bytes]]]]:
    """The home and listing pages: (file, fingerprint of what it is made from, function making it). Their search box
    merges all the search `bundles`."""
    prints = {r.entry.slug: r.entry_print for r in records.values()}

    def listing_html(page: ListingPage) -> dict[str, bytes]:
        context = {"site": settings, "page": page, "canonical": settings.base_url + page.path,
                   "jsonld": jsonld.listing_graph(settings, page), "facet_links": FACET_LINKS, "bundles": bundles}
        return {page.file: _render(env, page.template, context).encode("utf-8")}

    for page in catalog_pages([r.entry for r in records.values()], settings.title):
        made_from = fingerprint((shared_print, bundles, replace(page, trials=()), [prints[t.slug] for t in page.trials]))
        yield page.file, made_from, functools.partial(listing_html, page)


def _catalog_outputs(
    project: Project, env: Environment, settings: Settings, records: dict[str, cache.TrialRecord],
    bundles: dict[str, dict[str, cache.TrialRecord]], listings: list[str], shared_print: str,
    texts: Callable[[list[str]], dict[str, str]],
) -> Iterator[tuple[str, str, Callable[[], dict[str, bytes]]]]:
    """The catalog's other outputs (404 page, feed, sitemap, robots.txt, static files, search index), given the
    trials of each search bundle and the files of the listing pages: (key, fingerprint of what it is made from,
    function making its files)."""
    base_path = urlparse(settings.base_url).path or "/"
    not_found = ListingPage("", "Page not found", "This page does not exist. Start again from the list of trials.",
                            "404.html", (), not_found=base_path)

    def not_found_html() -> dict[str, bytes]:
        context = {"site": settings, "page": not_found, "canonical": "", "facet_links": FACET_LINKS,
                   "jsonld": jsonld.listing_graph(settings, not_found), "layout": "_catalog_layout.html",
                   "home_label": "the list of all trials"}
        return {"404.html": _render(env, "404.html", context).encode("utf-8")}

    yield "404.html", fingerprint((shared_print, base_path)), not_found_html
    feed_from = fingerprint((settings, [r.feed_item for r in records.values()]))
    yield "feed.jsonld", feed_from, lambda: {
        "feed.jsonld": (jsonld.json_text(jsonld.catalog_feed(settings, [
            (modified, json.loads(item)) for modified, item in (r.feed_item for r in records.values())])) + "\n").encode()
    }
    urls: list[tuple[str, str | None]] = [(name.removesuffix("index.html"), None) for name in listings] + [
        (name.removesuffix("index.html"), r.entry.updated) for r in records.values() for name in r.outputs
    ]
    yield "sitemap.xml", fingerprint((shared_print, urls)), lambda: _sitemaps(env, settings, urls)
    yield "robots.txt", shared_print, lambda: {
        "robots.txt": _render(env, "robots.txt", {"base_url": settings.base_url}).encode("utf-8")
    }
    for name in CATALOG_STATIC_FILES:
        data = read_static(project, name)
        yield name, digest(data), lambda name=name, data=data: {name: data}  # type: ignore[misc]
    for folder, members in bundles.items():
        # a bundle holds its trials' text, and their titles and filters from their entries
        made_from = fingerprint((settings.language, [(slug, r.search_print, r.entry_print) for slug, r in members.items()]))
        yield folder, made_from, functools.partial(_search_index, settings, folder, members, texts)


def search_bundles(records: dict[str, cache.TrialRecord]) -> dict[str, dict[str, cache.TrialRecord]]:
    """The trials in each bundle of the search index (more than one past SHARD_RECORDS trials, so that an edit
    indexes one bundle again, not the whole catalog), by the bundle's folder."""
    count = bundle_count(len(records))
    bundles: dict[str, dict[str, cache.TrialRecord]] = {bundle_folder(n): {} for n in range(count)}
    for slug, record in records.items():
        bundles[bundle_folder(bundle_of(record.entry.path, count))][slug] = record
    return {folder: members for folder, members in bundles.items() if members}


def _sitemaps(env: Environment, settings: Settings, urls: list[tuple[str, str | None]]) -> dict[str, bytes]:
    """sitemap.xml; past MAX_SITEMAP_URLS, a sitemap index of sitemap-1.xml, sitemap-2.xml, ..."""
    base = settings.base_url
    entries = [(base + path, modified) for path, modified in urls]
    if len(entries) <= MAX_SITEMAP_URLS:
        return {"sitemap.xml": _render(env, "sitemap.xml", {"entries": entries}).encode("utf-8")}
    parts = [entries[i:i + MAX_SITEMAP_URLS] for i in range(0, len(entries), MAX_SITEMAP_URLS)]
    files = {f"sitemap-{n}.xml": _render(env, "sitemap.xml", {"entries": part}).encode("utf-8")
             for n, part in enumerate(parts, 1)}
    files["sitemap.xml"] = _render(env, "sitemap-index.xml", {"sitemaps": [base + name for name in files]}).encode("utf-8")
    return files


def _search_index(settings: Settings, folder: str, records: dict[str, cache.TrialRecord],
                  texts: Callable[[list[str]], dict[str, str]]) -> dict[str, bytes]:
    """One bundle of the search index, in `folder`."""
    text = texts(list(records))
    try:
        files = search_index(
            [SearchRecord(r.entry.path, r.entry.title, text[slug],
                          {"condition": (r.entry.condition,), "status": (r.entry.status,), "phase": (r.entry.phase,)})
             for slug, r in records.items()],
            settings.language,
        )
        return {folder + name.removeprefix(bundle_folder(0)): data for name, data in files.items()}
    except SearchError as e:
        raise ContentError([Problem("pagefind", 0, 0, f"the search index could not be built: {e}")]) from None
