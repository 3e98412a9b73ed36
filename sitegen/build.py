"""Run the stages in order (load, validate, cite, render, write); the only module that knows that order.

Everything is read, validated and rendered in memory before the first byte is written, so a build
that fails writes nothing and every page sees the same data. While an output is rendered, everything it
reads (trial fields, settings, templates, prose, references) is noted with a fingerprint; a later build
given that record re-renders only the outputs whose reads changed (`sitegen serve`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
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

from . import jsonld
from .bib import Reference, check_bibliography, format_reference_html, load_bibliography
from .cite import Citations, CitedReference, number_citations
from .errors import ContentError, Problem
from .glossary import TermFinder, glossary_entries, mark_terms, used_terms
from .load import Document, PathKey, load_yaml
from .pages import GLOSSARY, Page, display_labels, not_found_page, plain_text, trial_pages
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
    digest,
    fingerprint,
    note,
    template_digest,
)
from .render import inline_html, make_environment, prose_html
from .schema import Glossary, Settings, Trial, site_url
from .validate import (
    content_warnings,
    problem_at,
    validate_glossary,
    validate_settings,
    validate_trial,
)
from .write import WriteReport, check_output_dir, write_site

T = TypeVar("T")
STATIC_FILES = ("style.css", "favicon.svg")


@dataclass(frozen=True)
class Project:
    """Where a site's inputs are: content/, templates/ and static/."""

    content: Path
    templates: Path
    static: Path

    @classmethod
    def at(cls, content: Path, templates: Path | None = None, static: Path | None = None) -> Project:
        """A project whose templates and static files are beside content/, or else sitegen's own."""
        bundled = Path(__file__).resolve().parent.parent
        root = content.resolve().parent

        def pick(given: Path | None, name: str) -> Path:
            if given is not None:
                return given
            return root / name if (root / name).is_dir() else bundled / name

        return cls(content, pick(templates, "templates"), pick(static, "static"))


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
        raise ContentError([Problem(w.file, w.line, w.column, w.message) for w in site.warnings])
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


def render_incremental(site: Site, project: Project, previous: RenderRecord | None = None) -> RenderRecord:
    """Render the site, reusing from `previous` every output whose reads are unchanged; record what each read.

    The result is byte for byte what a build without `previous` gives: an output is reused only when everything
    its rendering read (trial fields, settings, templates, prose and its citations, references, static files)
    has the fingerprint it had then, and rendering reads nothing else.
    """
    env = _recording_environment(project, previous)
    inputs = _Inputs(site, project, env)
    outputs = inputs.outputs  # the glossary page reads the pages made before it
    rendered: list[str] = []
    for name, produce in _producers(site, project, env, inputs):
        before = previous.outputs.get(name) if previous is not None else None
        if before is not None and all(inputs.fingerprint(key) == print_ for key, print_ in before.reads.items()):
            outputs[name] = before
            continue
        reads = Reads(inputs)
        token = READS.set(reads)
        try:
            data = produce()
        finally:
            READS.reset(token)
        outputs[name] = Output(data, reads.fingerprints)
        rendered.append(name)
    return RenderRecord(outputs, tuple(rendered), project.templates, env)


def _producers(site: Site, project: Project, env: Environment, inputs: _Inputs) -> list[tuple[str, Callable[[], bytes]]]:
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
        context = {**shared, "base_url": base_url, "urls": [jsonld.page_url(base_url, p) for p in pages]}
        return _render(env, template, context).encode("utf-8")

    def feed() -> bytes:
        return (jsonld.json_text(jsonld.feed(trial, settings, pages, plain)) + "\n").encode("utf-8")

    def static(name: str) -> bytes:
        try:
            data = (project.static / name).read_bytes()
        except OSError as e:
            raise ContentError([Problem(str(project.static / name), 0, 0, f"cannot read: {e.strerror}")]) from None
        note(("static", name), digest(data))
        return data

    producers: list[tuple[str, Callable[[], bytes]]] = [
        (page.file, lambda page=page: page_html(page, cited)) for page in site.pages  # type: ignore[misc]
    ]
    producers.append((inputs.not_found.file, lambda: page_html(inputs.not_found, ())))
    producers += [(name, lambda name=name: publishing(name)) for name in ("sitemap.xml", "robots.txt")]  # type: ignore[misc]
    producers.append(("feed.jsonld", feed))
    producers += [(name, lambda name=name: static(name)) for name in STATIC_FILES]  # type: ignore[misc]
    return producers


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


def build(project: Project, output: Path, base_url: str | None = None, strict: bool = False) -> tuple[WriteReport, list[Problem]]:
    """Check the output folder, build the whole site in memory, then write it atomically.

    Returns what was written and the warnings found.
    """
    check_output_dir(output, project.content.resolve().parent, [project.content, project.templates])
    site = load_site(project, base_url, strict)
    return write_site(render_site(site, project), output), site.warnings
