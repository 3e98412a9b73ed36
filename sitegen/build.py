"""Run the stages in order; the one place that tells a single trial from a catalog.

A single trial: gather (site.py: load, validate, cite) → render (render.py: pages, feed, sitemap, static files, in
memory) → write (write.py: atomically). A catalog (content/trials/) is planned first (catalog/plan.py), which tells
without loading the libraries that render pages whether anything changed, and is then built by catalog/build.py
through the same stages, trial by trial. `sitegen build`, `sitegen check` and `sitegen serve` all call `build`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ContentError, Problem
from .project import BuildReport, Project
from .write import check_output_dir, finish_interrupted, output_lock, write_site

if TYPE_CHECKING:
    from .catalog.plan import Memory
    from .render import RenderRecord
    from .site import Site


@dataclass
class Session:
    """What a process keeps from one build to the next. Of a single trial: the last render's record of what each
    output read, so that the next build renders only the outputs whose reads changed, and the site it rendered (for
    `sitegen check`). A catalog keeps its record beside its output folder, or, given `catalog` (`sitegen serve`,
    whose output folder is its own), there."""

    record: RenderRecord | None = None
    site: Site | None = None
    pages_first: bool = False  # a catalog's own outputs may wait for the next build (serve's catch-up): catalog/build.py
    catalog: Memory | None = None


def build(
    project: Project, output: Path, base_url: str | None = None, strict: bool = False, jobs: int = 1,
    progress: Callable[[int, int], None] | None = None, session: Session | None = None, search_only: bool = False,
    changed: Collection[str] | None = None,
) -> tuple[BuildReport, list[Problem]]:
    """Check the output folder, build the whole site (a single trial, or a catalog of content/trials/), then write it
    atomically. Returns what was done and the warnings found (with `strict`, warnings are errors).

    With `search_only` (serve's catch-up), a catalog's build only makes what the last one left behind: when
    anything else changed since, it does nothing and reports the outputs still behind, for the rebuild of that change.
    `changed`: the files changed since the session's last build (serve's watcher); a catalog kept in the session
    then looks again only at them."""
    session = session if session is not None else Session()
    check_output_dir(output, project.content.resolve().parent, [project.content, project.templates, project.static])
    with output_lock(output):  # one build at a time writes an output folder; a second one waits
        if is_catalog(project.content):
            from .catalog.plan import look_at, nothing_changed, nothing_to_build, plan_build  # sqlite3, pickle, ...

            look = None
            if session.catalog is None:  # (serve keeps its record, and looks again only at the files that changed)
                finish_interrupted(output)  # a build killed while putting its files in place is finished first
                look = look_at(project.content)
                done = nothing_changed(project, output, base_url, strict, look)
                if done is not None:  # (only the record's head was read)
                    return done
            plan = plan_build(project, output, base_url, session.catalog, changed, look)
            session.record = session.site = None  # a catalog keeps what it read beside its output folder
            if search_only and plan.as_before() is None:
                return BuildReport(len(plan.scan.sources), (), (), 0, plan.previous.behind), []
            done = nothing_to_build(plan, strict)  # before the rendering libraries are even loaded
            if done is not None:
                return done
            from .catalog.build import build_catalog  # loads Jinja2, Markdown, pybtex and pydantic
            from .catalog.state import CacheDamaged, forget

            pages_first = session.pages_first and not search_only
            try:
                return build_catalog(plan, strict, jobs, progress, pages_first)
            except CacheDamaged:  # it is no cache: everything is built again, and kept anew
                forget(output)
                if session.catalog is not None:
                    session.catalog.record = None
                return build_catalog(plan_build(project, output, base_url, session.catalog), strict, jobs, progress,
                                     pages_first)
        from .render import render_incremental
        from .site import load_site

        site = load_site(project, base_url, strict)
        record = render_incremental(site, project, session.record)
        written = write_site(record.files, output)
        session.record, session.site = record, site
        return BuildReport(1, tuple(record.files), written, 1), site.warnings


def is_catalog(content: Path) -> bool:
    """Whether content/ holds a catalog (content/trials/) rather than one trial (content/trial.yaml)."""
    if (content / "trials").is_dir():
        if (content / "trial.yaml").exists():
            raise ContentError([Problem(str(content / "trial.yaml"), 0, 0, f"{content}/ holds both trial.yaml and "
                                        "trials/: keep one; a catalog keeps each trial as trials/<slug>.yaml")])
        return True
    return False
