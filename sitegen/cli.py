"""The commands (`new`, `build`, `check`, `serve`, `import`); turns our error type into messages and exit codes.

Exit codes: 0 success, 1 a problem in the content or templates, 2 wrong command-line use, 130 stopped by Ctrl-C.
This module loads the rest of sitegen only once `main` runs, where a Ctrl-C is caught, so that one pressed while
the program starts is a message too, not a traceback.
"""

from __future__ import annotations

import argparse
import datetime
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from . import __version__

if TYPE_CHECKING:
    from .errors import Problem
    from .project import BuildReport, Project


def _parser() -> argparse.ArgumentParser:
    from .catalog.parallel import default_jobs

    parser = argparse.ArgumentParser(
        prog="sitegen",
        description="Build an accessible static website for a clinical trial (content/trial.yaml) or a catalog of "
        "trials (content/trials/<slug>.yaml), with their references (content/references.bib).",
        epilog="Run 'sitegen COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"sitegen {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    n = commands.add_parser("new", help="make a new project folder to start from",
                            description="Make a project in DIR: content/ with site.yaml, the default trial, its "
                            "references and glossary, the JSON Schemas an editor uses to check them (schema/), "
                            "docs/schema.md describing every field, a .gitignore for the built site and its cache, "
                            "and a README. DIR must not exist or be empty.")
    n.add_argument("folder", type=Path, metavar="DIR", help="the folder to make")

    def inputs(p: argparse.ArgumentParser) -> None:
        p.add_argument("--content", type=Path, default=Path("content"), metavar="DIR",
                       help="folder holding site.yaml and either trial.yaml (one trial) or trials/<slug>.yaml "
                       "(a catalog), with optional references.bib and glossary.yaml (default: content)")
        p.add_argument("--templates", type=Path, default=None, metavar="DIR",
                       help="your own Jinja2 templates, each overriding sitegen's of the same name "
                       "(default: templates/ beside the content folder, if there is one)")
        p.add_argument("--static", type=Path, default=None, metavar="DIR",
                       help="your own static files (style.css, favicon.svg, ...), each overriding sitegen's of the "
                       "same name (default: static/ beside the content folder, if there is one)")
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
    c.add_argument("--today", type=_date, default=None, metavar="YYYY-MM-DD",
                   help="the date stale content is judged at (default: today): a date given as future that has passed, "
                   "a registry record older than registry_max_age_days")
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
    s.add_argument("--allowed-host", action="append", default=[], metavar="NAME",
                   help="a further host name to answer to, e.g. this computer's name on the network (repeatable)")
    i = commands.add_parser("import", help="import trials from ClinicalTrials.gov (files, NCT IDs or a search) into a "
                            "catalog folder", description="Write each study's registry record (trials/<nct id>.ctgov"
                            ".json, replaced when it changed) and, once, its editor's file (trials/<nct id>.yaml); "
                            "report what changed since the last import. See 'From the registry' in the README.")
    i.add_argument("sources", nargs="*", metavar="SOURCE", help="a record file (API v2 JSON: one study, a page, or "
                   "the website's export; or a classic XML record) or an NCT ID to fetch from the registry")
    i.add_argument("--query", metavar="TEXT", help="import the studies a registry search for TEXT finds")
    i.add_argument("--refresh", action="store_true", help="fetch again from the registry every trial the catalog "
                   "has imported (each trials/nct*.ctgov.json), to bring them all up to date")
    i.add_argument("--status", nargs="+", default=[], metavar="STATUS",
                   help="with --query: only studies with one of these statuses (e.g. RECRUITING NOT_YET_RECRUITING)")
    i.add_argument("--limit", type=int, default=None, metavar="N", help="with --query: at most N studies (default and "
                   "largest: 10,000)")
    i.add_argument("--content", type=Path, default=Path("content"), metavar="DIR",
                   help="catalog folder to write into (default: content); made when missing")
    i.add_argument("--api-url", default=None, metavar="URL", help="the registry's API (default: "
                   "https://clinicaltrials.gov/api/v2)")
    i.add_argument("--json", action="store_true", help="print the report as JSON")
    return parser


def _jobs(text: str) -> int:
    if not text.isdecimal() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a number of processes, 1 or more, got '{text}'")
    return int(text)


def _date(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got '{text}'") from None


def _port(text: str) -> int:
    if not text.isdecimal() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 0 to 65535, got '{text}'")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `sitegen` console script: the command's exit code; a Ctrl-C at any moment is 130."""
    try:
        return _command(argv)
    except KeyboardInterrupt:  # while sitegen starts, or a command stops on one (each says what it left)
        print("sitegen: interrupted; the output folder was left as it was", file=sys.stderr)
        return 130


def _command(argv: list[str] | None) -> int:
    from .errors import ContentError
    from .project import Project, site_url

    started = time.perf_counter()
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    if args.command == "new":
        return _new(args.folder)
    if args.command == "import":
        from .importer import run  # loaded only to import: the other commands start without it

        return run(args)
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

        return serve(project, args.host, args.port, args.base_url, args.strict, args.allowed_host)
    try:
        if args.command == "build":
            report, warnings = _build(project, args.output, args.base_url, args.strict, args.jobs)
            _print_warnings(warnings, limit=WARNINGS_SHOWN)
            print(report.summary(args.output, time.perf_counter() - started))
        else:
            _check(project, args.base_url, args.strict, args.today or datetime.date.today())  # only check reads the clock
    except ContentError as e:
        for problem in e.problems:
            print(problem, file=sys.stderr)
        count = len(e.problems)
        print(f"sitegen: {count} problem{'s' if count != 1 else ''} found; nothing was written", file=sys.stderr)
        return 1
    except OSError as e:  # a file or folder removed or made unreadable while sitegen ran, a full disk
        print(f"sitegen: {e.filename or 'a file'}: {e.strerror or e}", file=sys.stderr)
        return 1
    return 0


def _build(
    project: Project, output: Path, base_url: str | None, strict: bool, jobs: int
) -> tuple[BuildReport, list[Problem]]:
    """Build the site, with a progress bar on a terminal."""
    from .build import build

    bar = ProgressBar.for_stream(sys.stderr)
    try:
        return build(project, output, base_url, strict, jobs, bar.show if bar else None)
    finally:
        if bar is not None:
            bar.clear()


def _check(project: Project, base_url: str | None, strict: bool, today: datetime.date) -> None:
    """Check the content and print what was found, stale dates too (warnings even under --strict: the clock must not
    fail a check); raise ContentError on errors. The site is built where no one looks, exactly as `sitegen build`
    would build it."""
    from .build import Session, build
    from .catalog.parallel import default_jobs
    from .freshness import stale_content

    session = Session()
    with _scratch_folder() as scratch:
        report, warnings = build(project, scratch / "site", base_url, strict, default_jobs(), session=session)
    warnings = warnings + stale_content(project.content, today)
    if session.site is None:  # a catalog: readability is reported trial by trial only in a single-trial site
        _print_warnings(warnings)
        trials = f"{report.trials:,} trial{'' if report.trials == 1 else 's'}"
        print(f"{project.content}/: {trials}, no errors" + (f", {len(warnings)} warning(s)" if warnings else ""))
        return
    from .readability import plain_language

    plain = plain_language(session.site, strict)  # readability: errors under --strict only if site.yaml says so
    print(plain.table())
    warnings = warnings + list(plain.warnings)
    _print_warnings(warnings)
    print(f"{project.content}/: no errors" + (f", {len(warnings)} warning(s)" if warnings else ""))


_STOPPING = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextmanager
def _scratch_folder() -> Iterator[Path]:
    """A temporary folder, removed however the command ends. Meanwhile SIGTERM (a CI job's time limit, `timeout`) and
    SIGHUP (a terminal closed) are a Ctrl-C, once: their default ends the process where it stands, and the folder
    would stay in the temporary folder for good; a SIGHUP already ignored (nohup) stays ignored. A signal that comes
    while the folder is removed is acted on once it is gone. (serve.py treats its server's signals alike.)"""

    def interrupt(signum: int, frame: object) -> None:
        signal.signal(signum, signal.SIG_IGN)  # a second one must not break off the stopping itself
        raise KeyboardInterrupt

    main = threading.current_thread() is threading.main_thread()  # (only its handlers can be set)
    before = {signum: signal.signal(signum, interrupt) for signum in _STOPPING[1:]
              if main and signal.getsignal(signum) != signal.SIG_IGN}
    folder = Path(tempfile.mkdtemp(prefix="sitegen-check-"))
    try:
        yield folder
    finally:
        held = signal.pthread_sigmask(signal.SIG_BLOCK, _STOPPING)
        try:
            shutil.rmtree(folder, ignore_errors=True)
        finally:
            try:
                signal.pthread_sigmask(signal.SIG_SETMASK, held)  # one that came meanwhile is raised here
            finally:
                for signum, handler in before.items():
                    signal.signal(signum, handler)


def _new(folder: Path) -> int:
    """Make a project in `folder` from the starter: the default trial's content, its JSON Schemas, a .gitignore
    and a README."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        print(f"sitegen: error: '{folder}' already exists and is not an empty folder; choose a new one", file=sys.stderr)
        return 2
    from .project import PACKAGE
    from .schemadoc import markdown_reference, schema_files

    starter = PACKAGE / "starter"  # the default trial's content, a .gitignore

    try:
        shutil.copytree(starter / "content", folder / "content", dirs_exist_ok=True)
        shutil.copyfile(starter / "gitignore", folder / ".gitignore")
        (folder / "schema").mkdir()
        for name, text in schema_files().items():
            (folder / "schema" / name).write_text(text, encoding="utf-8")
        (folder / "docs").mkdir()  # the content files' comments point to it, as in sitegen's repository
        (folder / "docs" / "schema.md").write_text(markdown_reference(), encoding="utf-8")
        (folder / "README.md").write_text(_readme(folder.resolve().name), encoding="utf-8")
    except OSError as e:
        print(f"sitegen: error: cannot make '{folder}': {e.strerror or e}", file=sys.stderr)
        return 1
    where = "" if folder.resolve() == Path.cwd().resolve() else f"cd {folder} && "
    print(f"Made a sitegen project in {folder}/. Next: {where}sitegen build (or sitegen serve to edit with live reload)")
    return 0


def _readme(name: str) -> str:
    return (f"# {name}\n\nA clinical trial site made with sitegen.\n\n"
            "- `content/site.yaml`: the site's title, language and address.\n"
            "- `content/trial.yaml`: the trial (every field is described in `docs/schema.md`, and in the JSON Schemas\n"
            "  in `schema/` an editor can check it with). For many\n"
            "  trials, keep one file per trial as `content/trials/<slug>.yaml` instead.\n"
            "- `content/references.bib`, `content/glossary.yaml`: its literature and plain-language glossary.\n"
            "- `templates/<name>` and `static/<name>`, if you add them, replace sitegen's file of that name.\n\n"
            "Build with `sitegen build` (the site is written to `output/`), check with `sitegen check`, and edit\n"
            "with live reload with `sitegen serve`.\n")


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
