"""Gather a site: load and validate its settings, glossary, references and trial, and number the citations, so
that every later stage works from one checked, consistent `Site`; every problem found is raised at once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from . import imported
from .bib import Bibliography, EntrySet, Reference, check_bibliography, load_bibliography
from .cite import Citations, cited_key, number_citations
from .errors import ContentError, Problem
from .inputs import links_leaving, present
from .load import Document, load_yaml
from .pages import Page, trial_pages
from .project import Project, site_url
from .schema import Glossary, Settings, Trial
from .validate import citation_problem, content_warnings, validate_glossary, validate_settings

T = TypeVar("T")


@dataclass(frozen=True)
class Site:
    """Everything a build has read and checked for one trial: settings, the trial, its references, citations and
    pages, glossary, and the warnings found."""

    settings: Settings
    trial: Trial
    trial_doc: Document
    bibliography: dict[str, Reference]
    citations: Citations
    pages: list[Page]
    warnings: list[Problem]
    glossary: Glossary | None = None
    glossary_doc: Document | None = None


@dataclass(frozen=True)
class Shared:
    """What every trial of a site is built with: the settings, the glossary and the shared references."""

    settings: Settings
    bibliography: dict[str, Reference]  # content/references.bib, when there is one
    glossary: Glossary | None = None
    glossary_doc: Document | None = None


def load_shared(project: Project, base_url: str | None = None) -> Shared:
    """Load and validate site.yaml, glossary.yaml and references.bib; raise ContentError with every problem found."""
    content = project.content
    problems = links_leaving(content, content.resolve().parent)
    if problems:  # nothing is read through such a link: an error would quote the file it leads to
        raise ContentError(problems)
    settings_doc = collect(problems, lambda: load_yaml(content / "site.yaml"))
    settings = collect(problems, lambda: validate_settings(settings_doc)) if settings_doc else None
    bib_path = content / "references.bib"  # optional
    bibliography = collect(problems, lambda: load_bibliography(bib_path)) if present(bib_path) else {}
    glossary_path = content / "glossary.yaml"  # optional
    glossary_doc = collect(problems, lambda: load_yaml(glossary_path)) if present(glossary_path) else None
    glossary = collect(problems, lambda: validate_glossary(glossary_doc)) if glossary_doc else None
    if problems or settings is None or bibliography is None:
        raise ContentError(problems)
    if base_url is not None:
        settings = settings.model_copy(update={"base_url": site_url(base_url)})  # the command line checked it
    return Shared(settings, bibliography, glossary, glossary_doc)


def load_trial(path: Path) -> tuple[Document, Trial]:
    """Load and validate one trial file; raise ContentError with every problem found."""
    doc = load_yaml(path)
    return doc, imported.validate(doc, path)  # with the registry's file beside it, merged over it


def load_site(project: Project, base_url: str | None = None, strict: bool = False) -> Site:
    """Load and validate the single trial of content/ and everything shared, and resolve citations; raise
    ContentError with every problem found.

    With `strict`, warnings are errors too.
    """
    problems = links_leaving(project.content, project.content.resolve().parent)  # (before trial.yaml is read)
    if problems:
        raise ContentError(problems)
    shared = collect(problems, lambda: load_shared(project, base_url))
    trial = collect(problems, lambda: load_trial(project.content / "trial.yaml"))
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
    sets = {**_sets_of(shared.bibliography), **_sets_of(own)}
    aliases = {**_aliases_of(shared.bibliography), **_aliases_of(own)}
    trial = _sources_by_key(trial, bibliography, aliases)
    pages = trial_pages(trial, shared.glossary is not None, trial_base)
    searched = f"references.bib or {Path(doc.file).with_suffix('.bib').name}" if trial_base else "references.bib"
    citations, unknown = number_citations([(p.slug, p.nav_title, list(p.prose)) for p in pages], bibliography, sets,
                                          searched, aliases)
    if unknown:
        raise ContentError([citation_problem(doc, key) for key in unknown])
    warned = own if trial_base else shared.bibliography
    uncited = [warned[key] for key in citations.uncited if key in warned]
    cited = {r.reference.key for r in citations.references}
    warnings = content_warnings(trial, doc, uncited) + check_bibliography(warned, cited)
    return Site(settings, trial, doc, bibliography, citations, pages, warnings, shared.glossary, shared.glossary_doc)


def _sets_of(bibliography: dict[str, Reference]) -> dict[str, EntrySet]:
    """The @set entries of a bibliography read from a file (none when there is no file)."""
    return bibliography.sets if isinstance(bibliography, Bibliography) else {}


def _aliases_of(bibliography: dict[str, Reference]) -> dict[str, str]:
    """The other keys (biblatex's ids) the entries of a bibliography read from a file may be cited by."""
    return bibliography.aliases if isinstance(bibliography, Bibliography) else {}


def _sources_by_key(trial: Trial, bibliography: dict[str, Reference], aliases: dict[str, str]) -> Trial:
    """The trial with each finding's source that is an alias (biblatex's ids) named by its entry's key, as the
    findings page looks its source up (by an alias, it stopped the build with a template error)."""
    if all(cited_key(f.source, bibliography, aliases) == f.source for f in trial.findings):
        return trial
    findings = [f.model_copy(update={"source": cited_key(f.source, bibliography, aliases)}) for f in trial.findings]
    return trial.model_copy(update={"findings": findings})


def collect(problems: list[Problem], step: Callable[[], T]) -> T | None:
    try:
        return step()
    except ContentError as e:
        problems.extend(e.problems)
        return None
    except OSError as e:
        problems.append(Problem(str(e.filename or "?"), 0, 0, f"cannot read: {e.strerror}"))
        return None
