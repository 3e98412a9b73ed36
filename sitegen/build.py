"""Run the stages in order (load, validate, cite, render, write); the only module that knows that order.

Everything is read, validated and rendered in memory before the first byte is written, so a build
that fails writes nothing and every page sees the same data.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, TypeVar

import nh3
import markdown
from jinja2 import TemplateError, TemplateSyntaxError, UndefinedError
from markupsafe import Markup

from . import jsonld
from .bib import Reference, check_bibliography, format_reference_html, load_bibliography
from .cite import CITATION, Citations, number_citations
from .errors import ContentError, Problem
from .load import Document, load_yaml
from .pages import Page, display_labels, not_found_page, trial_pages
from .render import inline_html, make_environment, prose_html
from .schema import Settings, Trial
from .validate import content_warnings, problem_at, validate_settings, validate_trial
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


def load_site(project: Project, base_url: str | None = None, strict: bool = False) -> Site:
    """Load and validate all content, and resolve citations; raise ContentError with every problem found.

    With `strict`, warnings are errors too.
    """
    problems: list[Problem] = []
    content = project.content
    settings_doc = _collect(problems, lambda: load_yaml(content / "site.yaml"))
    settings = _collect(problems, lambda: validate_settings(settings_doc)) if settings_doc else None
    trial_doc = _collect(problems, lambda: load_yaml(content / "trial.yaml"))
    trial = _collect(problems, lambda: validate_trial(trial_doc)) if trial_doc else None
    bib_path = content / "references.bib"
    bibliography = _collect(problems, lambda: load_bibliography(bib_path)) if bib_path.exists() else {}
    if settings is not None and base_url is not None:
        settings = settings.model_copy(update={"base_url": base_url if base_url.endswith("/") else base_url + "/"})
    if problems or settings is None or trial is None or trial_doc is None or bibliography is None:
        raise ContentError(problems)
    pages = trial_pages(trial)
    citations, unknown = number_citations([(p.slug, p.nav_title, list(p.prose)) for p in pages], bibliography)
    if unknown:
        raise ContentError([problem_at(trial_doc, path, message) for path, message in unknown])
    warnings = content_warnings(
        trial, trial_doc, citations.uncited, str(bib_path), {k: r.line for k, r in bibliography.items()}
    ) + check_bibliography(bibliography)
    if strict and warnings:
        raise ContentError([Problem(w.file, w.line, w.column, w.message) for w in warnings])
    return Site(settings, trial, trial_doc, bibliography, citations, pages, warnings)


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
    env = make_environment(project.templates)
    trial, settings, citations = site.trial, site.settings, site.citations
    plain = {_dotted(f.path): plain_text(f.text) for p in site.pages for f in p.prose}
    references = [
        {"number": r.number, "html": Markup(format_reference_html(r.reference)), "backlinks": r.backlinks}
        for r in citations.references
    ]
    shared: dict[str, Any] = {
        "site": settings, "trial": trial, "pages": site.pages, "references": references,
        "sources": {r.reference.key: short_source(r.reference) for r in citations.references},
        **display_labels(trial),
    }
    env.filters["inline"] = inline_html
    files: dict[str, bytes] = {}
    for page in site.pages:
        findings = f"{page.root}findings/index.html" if page.slug != "findings" else ""
        prose = {f.path: prose_html(env, f.text, citations.groups[(page.slug, f.path)], findings) for f in page.prose}
        context = {
            **shared, "page": page, "prose": prose,
            "canonical": jsonld.page_url(settings.base_url, page),
            "jsonld": jsonld.page_graph(trial, settings, page, site.pages, plain, citations.references),
        }
        files[page.file] = _render(env, page.template, context).encode("utf-8")
    missing = not_found_page(trial, urlparse(settings.base_url).path or "/")
    files[missing.file] = _render(env, missing.template, {
        **shared, "page": missing, "prose": {}, "canonical": jsonld.page_url(settings.base_url, missing),
        "jsonld": jsonld.page_graph(trial, settings, missing, site.pages, plain, ()),
    }).encode("utf-8")
    publishing = {**shared, "base_url": settings.base_url, "urls": [jsonld.page_url(settings.base_url, p) for p in site.pages]}
    files["sitemap.xml"] = _render(env, "sitemap.xml", publishing).encode("utf-8")
    files["robots.txt"] = _render(env, "robots.txt", publishing).encode("utf-8")
    files["feed.jsonld"] = (jsonld.json_text(jsonld.feed(trial, settings, site.pages, plain)) + "\n").encode("utf-8")
    for name in STATIC_FILES:
        files[name] = (project.static / name).read_bytes()
    return files


def _render(env: Any, template: str, context: dict[str, Any]) -> str:
    """Render one template, turning template mistakes into a Problem naming the template file and line."""
    try:
        return str(env.get_template(template).render(context))
    except TemplateSyntaxError as e:
        raise ContentError([Problem(e.filename or template, e.lineno or 0, 1, f"template syntax error: {e.message}")]) from None
    except (UndefinedError, TemplateError) as e:
        line = _template_line(e, template)
        raise ContentError([Problem(f"templates/{line[0]}", line[1], 1, f"template error: {e}")]) from None


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


def plain_text(text: str) -> str:
    """Markdown prose as plain text, without citation markers (for JSON-LD and meta descriptions)."""
    html_text = markdown.markdown(CITATION.sub("", text))
    return re.sub(r"\s+", " ", html.unescape(nh3.clean(html_text, tags=set()))).strip()


def short_source(ref: Reference) -> str:
    """A reference as the listing shows a finding's source: title, first three authors, et al., year."""
    authors = ", ".join(ref.authors[:3]) + (", et al" if len(ref.authors) > 3 or ref.authors_truncated else "")
    parts = [ref.title.rstrip(".") + ".", f"{authors}." if authors else "", ref.year]
    return " ".join(p for p in parts if p)


def build(project: Project, output: Path, base_url: str | None = None, strict: bool = False) -> tuple[WriteReport, list[Problem]]:
    """Check the output folder, build the whole site in memory, then write it atomically.

    Returns what was written and the warnings found.
    """
    check_output_dir(output, [project.content, project.templates, project.content.resolve().parent])
    site = load_site(project, base_url, strict)
    return write_site(render_site(site, project), output), site.warnings
