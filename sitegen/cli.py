"""The commands (`build`, `check`, `serve`); turns our error type into messages and exit codes.

Exit codes: 0 success, 1 a problem in the content or templates, 2 wrong command-line use.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import TextIO

from . import __version__
from .errors import ContentError, Problem
from .parallel import default_jobs
from .plan import BuildReport, Project, is_catalog, locked_output, nothing_to_build, plan_build, site_url


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sitegen",
        description="Build an accessible static website for a clinical trial from content/trial.yaml and "
        "content/references.bib.",
        epilog="Run 'sitegen COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"sitegen {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    def inputs(p: argparse.ArgumentParser) -> None:
        p.add_argument("--content", type=Path, default=Path("content"), metavar="DIR",
                       help="folder holding site.yaml, trial.yaml and references.bib (default: content)")
        p.add_argument("--templates", type=Path, default=None, metavar="DIR",
                       help="Jinja2 templates (default: templates/ beside the content folder, else sitegen's own)")
        p.add_argument("--static", type=Path, default=None, metavar="DIR",
                       help="folder holding style.css and favicon.svg (default: static/ beside the content folder, else sitegen's own)")
        p.add_argument("--base-url", default=None, metavar="URL",
                       help="absolute URL the site is published at (overrides base_url in site.yaml)")
        p.add_argument("--strict", action="store_true", help="treat warnings as errors")

    b = commands.add_parser("build", help="build the site into the output folder",
                            description="Check all content, then build the site and swap it into the output folder "
                            "in one step. A failed build leaves the previous output as it was.")
    inputs(b)
    b.add_argument("--output", type=Path, default=Path("output"), metavar="DIR",
                   help="folder to write the site to (default: output)")
    b.add_argument("--jobs", type=_jobs, default=default_jobs(), metavar="N",
                   help=f"processes building the trials of a catalog at once (default: the CPUs, here {default_jobs()})")
    c = commands.add_parser("check", help="check content and templates without writing anything",
                            description="Validate content/ and render every page in memory; write nothing.")
    inputs(c)
    s = commands.add_parser("serve", help="build the site, serve it, and rebuild and reload it on every save",
                            description="Build the site into a folder of its own and serve it with live reload: "
                            "every save in the content, templates or static folder rebuilds what changed, and open "
                            "pages reload. While the content has errors, the last good site is served with the "
                            "errors shown on every page. The site is built for the server's URL unless --base-url "
                            "is given. Ctrl-C stops it.")
    inputs(s)
    s.add_argument("--host", default="127.0.0.1", metavar="H",
                   help="address to listen on (default: 127.0.0.1, this computer only; 0.0.0.0 for every network)")
    s.add_argument("--port", type=_port, default=8000, metavar="N", help="port to listen on (default: 8000; 0 for any free port)")
    return parser


def _jobs(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a number of processes, 1 or more, got '{text}'")
    return int(text)


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 0 to 65535, got '{text}'")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `sitegen` console script."""
    started = time.perf_counter()
    args = _parser().parse_args(argv)
    if args.base_url is not None:
        try:
            site_url(args.base_url)
        except ValueError as e:
            print(f"sitegen: error: --base-url '{args.base_url}': expected {e}", file=sys.stderr)
            return 2
    project = Project.at(args.content, args.templates, args.static)
    for flag, folder in (("--templates", args.templates), ("--static", args.static)):
        if folder is not None and not folder.is_dir():
            print(f"sitegen: error: {flag} folder '{folder}' not found", file=sys.stderr)
            return 2
    if not args.content.is_dir():
        print(f"sitegen: error: content folder '{args.content}' not found (use --content DIR)", file=sys.stderr)
        return 2
    if args.command == "serve":
        from .serve import serve  # tornado and livereload are loaded only to serve

        return serve(project, args.host, args.port, args.base_url, args.strict)
    try:
        if args.command == "build":
            report, warnings = _build(project, args.output, args.base_url, args.strict, args.jobs)
            _print_warnings(warnings, limit=WARNINGS_SHOWN)
            print(report.summary(args.output, time.perf_counter() - started))
        else:
            _check(project, args.base_url, args.strict)
    except ContentError as e:
        for problem in e.problems:
            print(problem, file=sys.stderr)
        count = len(e.problems)
        print(f"sitegen: {count} problem{'s' if count != 1 else ''} found; nothing was written", file=sys.stderr)
        return 1
    except OSError as e:  # a file or folder removed or made unreadable while sitegen ran, a full disk
        print(f"sitegen: {e.filename or 'a file'}: {e.strerror or e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("sitegen: interrupted; the output folder was left as it was", file=sys.stderr)
        return 130
    return 0


def _build(
    project: Project, output: Path, base_url: str | None, strict: bool, jobs: int
) -> tuple[BuildReport, list[Problem]]:
    """Build the site. A catalog in which nothing changed since its last build is done without loading the libraries
    that render pages (Jinja2, Markdown, pybtex, pydantic): loading them would be a third of such a rebuild's time."""
    with locked_output(project, output):
        plan = plan_build(project, output, base_url)
        done = nothing_to_build(plan, strict) if plan is not None else None
        if done is not None:
            return done
        from .build import build, build_catalog

        if plan is None:
            return build(project, output, base_url, strict)
        bar = ProgressBar.for_stream(sys.stderr)
        try:
            return build_catalog(plan, strict, jobs, bar.show if bar else None)
        finally:
            if bar is not None:
                bar.clear()


def _check(project: Project, base_url: str | None, strict: bool) -> None:
    """Check the content and print what was found; raise ContentError on errors."""
    from .build import build, load_site, render_site  # see _build
    from .readability import plain_language

    if is_catalog(project.content):
        with tempfile.TemporaryDirectory() as scratch:  # a catalog is checked by building it where no one looks
            report, warnings = build(project, Path(scratch) / "site", base_url, strict, default_jobs())
        _print_warnings(warnings)
        print(f"{project.content}/: {report.trials:,} trials, no errors" + (f", {len(warnings)} warning(s)" if warnings else ""))
        return
    site = load_site(project, base_url, strict)
    render_site(site, project)
    plain = plain_language(site, strict)  # readability: errors under --strict only if site.yaml says so
    print(plain.table())
    warnings = site.warnings + list(plain.warnings)
    _print_warnings(warnings)
    print(f"{project.content}/: no errors" + (f", {len(warnings)} warning(s)" if warnings else ""))


class ProgressBar:
    """A one-line progress bar on a terminal, redrawn at most every 0.1 s; nothing when not on one or in CI."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.drawn = 0.0

    @classmethod
    def for_stream(cls, stream: TextIO) -> ProgressBar | None:
        return cls(stream) if stream.isatty() and not os.environ.get("CI") else None

    def show(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self.drawn < 0.1:
            return
        self.drawn = now
        width = 30
        filled = width * done // max(total, 1)
        self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} trials")
        self.stream.flush()

    def clear(self) -> None:
        if self.drawn:
            self.stream.write("\r\033[K")
            self.stream.flush()


WARNINGS_SHOWN = 20  # a build of thousands of trials would bury its summary under their warnings


def _print_warnings(warnings: list[Problem], limit: int | None = None) -> None:
    shown = sorted(warnings)[:limit]
    for warning in shown:
        print(warning, file=sys.stderr)
    if len(shown) < len(warnings):
        print(f"... and {len(warnings) - len(shown):,} more warnings; 'sitegen check' lists them all", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
