"""The commands (`build`, `check`, `serve`); turns our error type into messages and exit codes.

Exit codes: 0 success, 1 a problem in the content or templates, 2 wrong command-line use.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import __version__
from .build import Project, build, load_site, render_site
from .errors import ContentError, Problem
from .readability import plain_language
from .schema import site_url


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


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 0 to 65535, got '{text}'")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `sitegen` console script."""
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
            started = time.perf_counter()
            report, warnings = build(project, args.output, args.base_url, args.strict)
            took = time.perf_counter() - started
            _print_warnings(warnings)
            print(f"Built {report.written} files into {args.output}/ ({report.changed} changed) in {took:.2f} s")
        else:
            site = load_site(project, args.base_url, args.strict)
            render_site(site, project)
            plain = plain_language(site, args.strict)  # readability: errors under --strict only if site.yaml says so
            print(plain.table())
            warnings = site.warnings + list(plain.warnings)
            _print_warnings(warnings)
            print(f"{args.content}/: no errors" + (f", {len(warnings)} warning(s)" if warnings else ""))
    except ContentError as e:
        for problem in e.problems:
            print(problem, file=sys.stderr)
        count = len(e.problems)
        print(f"sitegen: {count} problem{'s' if count != 1 else ''} found; nothing was written", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("sitegen: interrupted; the output folder was left as it was", file=sys.stderr)
        return 130
    return 0


def _print_warnings(warnings: list[Problem]) -> None:
    for warning in sorted(warnings):
        print(warning, file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
