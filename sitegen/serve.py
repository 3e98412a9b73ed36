"""Watch, rebuild, reload: `sitegen serve` builds the site into a folder of its own, serves it with livereload,
and on every save rebuilds what changed and reloads the open pages.

A burst of saves gives one rebuild (the watcher waits until the files have been quiet for QUIET_SECONDS). Each
rebuild renders only the outputs whose reads changed (build.render_incremental) and is swapped in whole
(write.write_site). A catalog is rebuilt as `sitegen build` rebuilds it: only the trials that changed. While the
content has errors, the last good site stays up with an error panel on every page (on a catalog's home page).
The live-reload script is added by the server to the pages it sends; the files on disk never contain it.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import signal
import socket
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from livereload import Server  # type: ignore[import-untyped]
from livereload.handlers import LiveReloadHandler, StaticFileHandler  # type: ignore[import-untyped]
from livereload.watcher import Watcher  # type: ignore[import-untyped]
from tornado.ioloop import IOLoop, PeriodicCallback

from .build import Session, build
from .catalog.parallel import default_jobs
from .errors import ContentError, Problem
from .project import TEMPLATES, Project
from .render import make_environment
from .write import write_site

POLL_SECONDS = 0.005  # how often the watched folders are looked at (a look is a few stat calls: ~0.1 ms)
QUIET_SECONDS = 0.025  # a burst of saves is over when nothing changed for this long; then one rebuild
_BODY = re.compile(rb"<body\b[^>]*>", re.IGNORECASE)

Stamp = tuple[int, int, int]  # modification time (ns), size, inode: an editor's save changes at least one


@dataclass(frozen=True)
class Rebuild:
    """What one rebuild did: the problems it found (none when it succeeded), what it rendered, how long it took."""

    problems: tuple[str, ...]
    warnings: tuple[str, ...]
    rendered: tuple[str, ...]
    files: int
    seconds: float
    reload: bool  # whether open pages should reload: the served files changed


class LiveSite:
    """The site as the server shows it, in `folder`: rebuilt incrementally on request; while the content has
    errors, the last good build with an error panel at the top of every page (or, before any good build, a page
    with just the panel)."""

    def __init__(self, project: Project, folder: Path, base_url: str | None, strict: bool = False) -> None:
        self.project, self.folder, self.base_url, self.strict = project, folder, base_url, strict
        self._session = Session()  # a single trial's last render: the next renders only what changed
        self._shown: tuple[str, ...] = ()  # the problems the served pages show now
        self._catalog = False  # whether the last good build was of a catalog
        self._home: bytes | None = None  # a catalog's home page as built, while it shows the error panel instead

    def rebuild(self) -> Rebuild:
        """Build again, render what changed and swap it in; or show the problems over the last good build."""
        started = time.perf_counter()
        if self._home is not None:
            (self.folder / "index.html").write_bytes(self._home)  # the panel goes before the catalog is built again
            self._home = None
        try:
            report, warnings = build(self.project, self.folder, self.base_url, self.strict, default_jobs(),
                                     session=self._session)
        except ContentError as e:
            return self._fail([str(p) for p in e.problems], started)
        except OSError as e:  # a static file or template folder removed while serving
            return self._fail([str(Problem(str(e.filename or "?"), 0, 0, f"cannot read: {e.strerror}"))], started)
        except Exception as e:  # noqa: BLE001 - a bug must not stop the server; it is shown like any problem
            traceback.print_exc()
            return self._fail([f"sitegen: internal error while rebuilding: {type(e).__name__}: {e}"], started)
        self._catalog, self._shown = self._session.record is None, ()
        if self._session.record is not None:
            rendered = self._session.record.rendered
        else:  # a catalog's trials are rendered in other processes: what changed is what was written
            rendered = tuple(name for name in report.written if name.endswith(".html"))
        return Rebuild((), tuple(str(w) for w in sorted(warnings)), rendered, len(report.files),
                       time.perf_counter() - started, bool(report.written))

    def _fail(self, problems: list[str], started: float) -> Rebuild:
        shown = tuple(problems)
        home = self.folder / "index.html"
        if self._catalog and home.is_file():  # too many pages to mark them all: the home page shows the panel
            self._home = home.read_bytes()
            home.write_bytes(_with_panel("index.html", self._home, _panel(shown, standalone=False)))
            reload, self._shown = shown != self._shown, shown
            return Rebuild(shown, (), (), 0, time.perf_counter() - started, reload)
        if shown != self._shown:
            record = self._session.record
            if record is None:
                page = _panel(shown, standalone=True)
                files = {"index.html": page, "404.html": page}
            else:
                panel = _panel(shown, standalone=False)
                files = {name: _with_panel(name, data, panel) for name, data in record.files.items()}
            write_site(files, self.folder)
        reload = shown != self._shown
        self._shown = shown
        return Rebuild(shown, (), (), 0, time.perf_counter() - started, reload)


def _panel(problems: tuple[str, ...], standalone: bool) -> bytes:
    env = make_environment([TEMPLATES])  # sitegen's own panel, whatever the project's templates say
    return env.get_template("_error_panel.html").render(problems=problems, standalone=standalone).encode("utf-8")


def _with_panel(name: str, data: bytes, panel: bytes) -> bytes:
    """An HTML page with the panel first in its body; any other file as it is."""
    match = _BODY.search(data) if name.endswith(".html") else None
    if match is None:
        return data
    return data[: match.end()] + b"\n" + panel + data[match.end() :]


class SiteWatcher(Watcher):  # type: ignore[misc]
    """livereload's watcher, made quick and patient: it looks at the watched folders every POLL_SECONDS, and runs
    their tasks once a burst of changes has been quiet for QUIET_SECONDS, each task once per burst. Reloading the
    pages is left to the task (it knows whether anything changed), so tasks are watched with delay='forever'."""

    def __init__(self, poll: float = POLL_SECONDS, quiet: float = QUIET_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.poll, self.quiet, self.clock = poll, quiet, clock
        self._seen: dict[str, Stamp] | None = None
        self._pending: set[str] = set()
        self._changed_at = 0.0

    def prime(self) -> None:
        """Take the state to compare against (before the first build, so no save in between is missed)."""
        self._seen = self.snapshot()

    def start(self, callback: Callable[[], None]) -> bool:
        """Called by livereload when serving starts; True tells it not to poll on its own."""
        if self._seen is None:
            self.prime()
        PeriodicCallback(self.check, self.poll * 1000).start()
        return True

    def snapshot(self) -> dict[str, Stamp]:
        """Every watched file (editors' swap and backup files left out) with its stamp."""
        found: dict[str, Stamp] = {}
        for path in self._tasks:
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in files:
                    if _is_editor_scratch(name):
                        continue
                    full = os.path.join(root, name)
                    try:
                        st = os.stat(full)
                    except OSError:  # removed while looking
                        continue
                    found[full] = (st.st_mtime_ns, st.st_size, st.st_ino)
        return found

    def check(self) -> None:
        """One look: note changes; when a burst is over, run each task with changes once."""
        now, current = self.clock(), self.snapshot()
        seen = self._seen if self._seen is not None else current
        if current != seen:
            self._pending |= {p for p in current.keys() | seen.keys() if current.get(p) != seen.get(p)}
            self._seen, self._changed_at = current, now
            return
        if self._pending and now - self._changed_at >= self.quiet:
            changed, self._pending = sorted(self._pending), set()
            ran: list[Callable[[list[str]], None]] = []
            for path, task in self._tasks.items():
                func = task["func"]
                if func is not None and func not in ran and any(_inside(c, path) for c in changed):
                    ran.append(func)
                    func(changed)


def _is_editor_scratch(name: str) -> bool:
    """Hidden files (vim's .swp, emacs' .#locks), backups (name~), emacs autosaves (#name#), vim's 4913 probe."""
    return name.startswith((".", "#")) or name.endswith("~") or name == "4913"


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


class _SiteFileHandler(StaticFileHandler):  # type: ignore[misc]
    """Serves the built folder as a configured static host does: 404.html for a missing page; nothing cached, so
    a reloaded page never shows a stale style.css."""

    def set_default_headers(self) -> None:
        self.set_header("Cache-Control", "no-store")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        page = Path(self.root) / "404.html"
        if status_code == 404 and page.is_file():
            self.set_header("Content-Type", "text/html; charset=UTF-8")
            self.finish(page.read_bytes())  # livereload adds its script to it like to any page
            return
        super().write_error(status_code, **kwargs)


class _Server(Server):  # type: ignore[misc]
    """livereload's server with the site's file handler and without livereload's own log lines."""

    def __init__(self, watcher: SiteWatcher) -> None:
        super().__init__(watcher=watcher)
        self.SFH = _SiteFileHandler

    def _setup_logging(self) -> None:
        # livereload logs every connection and reload at INFO; `sitegen serve` prints its own one line a rebuild.
        logging.getLogger("livereload").setLevel(logging.WARNING)
        logging.getLogger("tornado.access").setLevel(logging.ERROR)  # a 404 is an answer, not a warning


def serve(project: Project, host: str = "127.0.0.1", port: int = 8000, base_url: str | None = None,
          strict: bool = False) -> int:
    """Build, serve on host:port and rebuild on every save until Ctrl-C. Returns the exit code.

    Port 0 picks a free port. The site is built for the server's URL unless `base_url` is given.
    """
    if port == 0:
        port = _free_port(host)
    url = f"http://{f'[{host}]' if ':' in host else host}:{port}/"
    try:
        with tempfile.TemporaryDirectory(prefix="sitegen-serve-") as folder:
            return _serve(project, host, port, url, LiveSite(project, Path(folder) / "site", base_url or url, strict))
    except KeyboardInterrupt:
        print("Stopped.", flush=True)
        return 0


def _serve(project: Project, host: str, port: int, url: str, live: LiveSite) -> int:
    watcher = SiteWatcher()
    server = _Server(watcher)
    watched = [project.content, project.templates, project.static]

    warned: tuple[str, ...] = ()

    def report(outcome: Rebuild, changed: list[str]) -> None:
        nonlocal warned
        _print_rebuild(outcome, changed, outcome.warnings if outcome.warnings != warned else ())
        warned = outcome.warnings if not outcome.problems else warned

    def rebuild(changed: list[str]) -> None:
        outcome = live.rebuild()
        report(outcome, changed)
        if outcome.reload:
            only_css = outcome.rendered and all(n.endswith(".css") for n in outcome.rendered)
            LiveReloadHandler.reload_waiters(outcome.rendered[0] if only_css else "*")

    for folder in watched:
        server.watch(str(folder), rebuild, delay="forever")
    watcher.prime()
    report(live.rebuild(), [])
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)
    folders = ", ".join(f"{f}/" for f in watched)
    IOLoop.current().add_callback(
        lambda: print(f"Serving {url}  (watching {folders}; Ctrl-C to stop)", flush=True)
    )
    try:
        server.serve(port=port, host=host, root=str(live.folder), default_filename="index.html")
    except OSError as e:
        print(_listen_error(e, host, port), file=sys.stderr, flush=True)
        return 2
    print("Stopped.", flush=True)
    return 0


def _print_rebuild(outcome: Rebuild, changed: list[str], warnings: tuple[str, ...]) -> None:
    """One line a rebuild (and the problems, or the warnings when they are new), as `sitegen check` words them."""
    took = f"{outcome.seconds * 1000:.0f} ms"
    cause = f"{_names(changed)} changed: " if changed else ""
    if outcome.problems:
        for line in outcome.problems:
            print(line, file=sys.stderr, flush=True)
        count = len(outcome.problems)
        print(f"sitegen: {count} problem{'s' if count != 1 else ''} found; "
              f"{'still serving the last good site, ' if cause else ''}with the problem shown on every page",
              file=sys.stderr, flush=True)
        return
    for line in warnings:
        print(line, file=sys.stderr, flush=True)
    if not changed:
        print(f"Built {outcome.files} files in {took}", flush=True)
    elif outcome.rendered:
        print(f"{cause}re-rendered {_names(list(outcome.rendered), 4)} in {took}", flush=True)
    else:
        print(f"{cause}nothing to re-render ({took})", flush=True)


def _names(paths: list[str], shown: int = 3) -> str:
    here = os.getcwd() + os.sep
    names = [p.removeprefix(here) for p in paths]
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def _listen_error(error: OSError, host: str, port: int) -> str:
    where = f"{host}:{port}"
    if error.errno == errno.EADDRINUSE:
        free = next((p for p in range(port + 1, port + 20) if _can_listen(host, p)), None)
        hint = f"; stop the other server, or choose another port, e.g. --port {free}" if free else \
            "; stop the other server, or choose another port with --port N"
        return f"sitegen: error: cannot serve on {where}: the port is already in use{hint}"
    if error.errno == errno.EACCES:
        return f"sitegen: error: cannot serve on {where}: permission denied (ports below 1024 need root); try --port 8000"
    return f"sitegen: error: cannot serve on {where}: {error.strerror or error}; check --host and --port"


def _can_listen(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as tornado does
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the server as Ctrl-C does: cleanly, the temporary folder removed
