"""Watch, rebuild, reload: `sitegen serve` builds the site into a folder of its own, serves it with livereload,
and on every save rebuilds what changed and reloads the open pages.

A burst of saves gives one rebuild (the watcher waits until the files have been quiet for QUIET_SECONDS). Each
rebuild is `build.build`, as `sitegen build` does it, given the session of the last one: a single trial's site
renders only the outputs whose reads changed (render.render_incremental), a catalog only the trials that changed. While the
content has errors, the last good site stays up with an error panel on every page (on a catalog's home page).
The live-reload script is added by the server to the pages it sends; the files on disk never contain it.

The server answers only to its own names (HostPolicy) and talks live reload only to its own pages, so a web page
elsewhere cannot read the drafts through DNS rebinding, nor reload the open pages.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import gc
import ipaddress
import json
import logging
import os
import re
import signal
import socket
import stat
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import watchfiles
from livereload import Server  # type: ignore[import-untyped]
from livereload.handlers import LiveReloadHandler, LiveReloadJSHandler, StaticFileHandler  # type: ignore[import-untyped]
from livereload.server import LiveScriptInjector  # type: ignore[import-untyped]
from livereload.watcher import Watcher  # type: ignore[import-untyped]
from tornado import httputil, web
from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop
from tornado.netutil import bind_sockets

from .build import Session, build
from .catalog.parallel import default_jobs
from .catalog.plan import Memory
from .errors import ContentError, Problem, printable
from .project import TEMPLATES, BuildReport, Project
from .render import make_environment
from .write import write_site

QUIET_SECONDS = 0.025  # a burst of saves is over when nothing changed for this long; then one rebuild
WATCH_TIMEOUT_MS = 100  # how often the watcher looks up from waiting: to stop, or to see a folder made or removed
LINK_SECONDS = 0.0001  # the watcher looks at the targets of N symbolic links every N times this (a stat: ~3 µs)
WATCH_START_SECONDS = 5  # how long the server waits for the watches to be in place before it builds
# how long after a reload the search index is made again: the reloaded pages are sent first, not beside a build
CATCH_UP_AFTER_SECONDS = 0.5
_BODY = re.compile(rb"<body\b[^>]*>", re.IGNORECASE)

Stamp = tuple[int, int, int]  # modification time (ns), size, inode: an editor's save changes at least one


@dataclass(frozen=True)
class Rebuild:
    """What one rebuild did: the problems it found (none when it succeeded), what it rendered, how long it took."""

    problems: tuple[str, ...]
    warnings: tuple[Problem, ...]  # sorted: the server prints them when they differ from the last rebuild's
    rendered: tuple[str, ...]
    files: int
    seconds: float
    reload: bool  # whether open pages should reload: the served files changed
    behind: bool = False  # a catalog's own outputs (listings, search index) wait for catch_up


@dataclass(frozen=True)
class CatchUp:
    """What a catch-up did, in a line; whether it failed; whether open pages should reload (a listing changed)."""

    said: str
    failed: bool
    reload: bool


_LEFT = CatchUp("listings and search index: left to the rebuild of the latest save", False, False)


class LiveSite:
    """The site as the server shows it, in `folder`: rebuilt incrementally on request; while the content has
    errors, the last good build with an error panel at the top of every page (or, before any good build, a page
    with just the panel)."""

    def __init__(self, project: Project, folder: Path, base_url: str | None, strict: bool = False) -> None:
        self.project, self.folder, self.base_url, self.strict = project, folder, base_url, strict
        # a single trial's last render (the next renders only what changed); a catalog's record, whose own outputs
        # may lag behind the edited trial's pages
        self._session = Session(pages_first=True, catalog=Memory())
        self._building = threading.Lock()  # the watcher's rebuilds and the catalog's catch-up, one at a time
        self._shown: tuple[str, ...] = ()  # the problems the served pages show now
        self._catalog = False  # whether the last good build was of a catalog
        self._home: bytes | None = None  # a catalog's home page as built, while it shows the error panel instead
        self._catalog_now = False  # the last catch-up failed: the next rebuild makes the listings and index itself
        # the files changed since the last good build, as the watcher said; None: not known, so all are looked at
        self._unbuilt: set[str] | None = None

    def rebuild(self, changed: Iterable[str] | None = None) -> Rebuild:
        """Build again, render what changed and swap it in; or show the problems over the last good build.
        `changed`: the files the watcher saw change since the last rebuild (None: look at every file)."""
        started = time.perf_counter()
        try:
            with self._building:
                if self._home is not None:  # the panel goes before the catalog is built again
                    (self.folder / "index.html").write_bytes(self._home)
                    self._home = None
                self._session.pages_first = not self._catalog_now
                # kept until a build succeeds: a save that failed to build is looked at again with the next one
                self._unbuilt = None if changed is None or self._unbuilt is None else self._unbuilt | set(changed)
                report, warnings = self._build(session=self._session, changed=self._unbuilt)
                self._unbuilt, self._catalog_now = set(), False
        except ContentError as e:
            return self._fail([str(p) for p in e.problems], started)
        except OSError as e:  # a static file or template folder removed while serving
            return self._fail([str(Problem(str(e.filename or "?"), 0, 0, f"cannot read: {e.strerror}"))], started)
        except Exception as e:  # noqa: BLE001 - a bug must not stop the server; it is shown like any problem
            _say(traceback.format_exc().rstrip(), error=True)
            return self._fail([f"sitegen: internal error while rebuilding: {type(e).__name__}: {e}"], started)
        self._catalog, self._shown = self._session.record is None, ()
        if self._session.record is not None:
            rendered = self._session.record.rendered
        else:  # a catalog's trials are rendered in other processes: what changed is what was written
            rendered = tuple(name for name in report.written if name.endswith(".html"))
        return Rebuild((), tuple(sorted(warnings)), rendered, len(report.files),
                       time.perf_counter() - started, bool(report.written), bool(report.behind))

    def _build(self, session: Session, search_only: bool = False,
               changed: set[str] | None = None) -> tuple[BuildReport, list[Problem]]:
        return build(self.project, self.folder, self.base_url, self.strict, default_jobs(), session=session,
                     search_only=search_only, changed=changed)

    def busy(self) -> bool:
        """Whether a build (a catch-up, beside the server) is running: a rebuild would wait for it."""
        return self._building.locked()

    def catch_up(self) -> CatchUp:
        """Bring a catalog's own outputs (home and listing pages, feed, sitemap, search index) up to date after a
        rebuild that left them behind (run beside the server, after the pages reloaded). It makes nothing but what
        was left behind: when a save changed anything else meanwhile, or the pages show a problem, it leaves it all
        to the next rebuild. After a failure the next rebuild makes them itself, so that its problem shows on the
        pages."""
        started = time.perf_counter()
        try:
            with self._building:
                if self._shown:  # the error panel is up: the rebuild that removes it makes everything
                    return _LEFT
                try:
                    report, _ = self._build(session=self._session, search_only=True)
                finally:
                    _collect()
        except Exception as e:  # noqa: BLE001 - nothing may stop the server: the next rebuild shows the problem
            self._catalog_now = True
            return CatchUp(f"sitegen: the listings and search index were not brought up to date: {type(e).__name__}: "
                           f"{e}", True, False)
        if report.behind:
            return _LEFT
        seconds = time.perf_counter() - started
        return CatchUp(f"listings and search index up to date ({len(report.written)} files) in {seconds * 1000:.0f} ms",
                       False, any(name.endswith(".html") for name in report.written))

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


def _collect() -> None:
    """Collect the garbage of the last rebuilds now, beside the server, and freeze what is left (a catalog's record:
    a million objects at 10,000 trials): the collector then never goes over it during a rebuild, where a full
    collection would hold up the reload by 60 ms. What is frozen is freed as usual when nothing refers to it."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


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
    """livereload's watcher on the operating system's file events (inotify on Linux, FSEvents on macOS, through
    watchfiles) instead of a look at every watched file: a catalog of 10,000 trials is 13,000 files, and looking at
    them all takes 50 ms, which a server polling every few milliseconds would spend doing nothing else. Where the
    system has no events to give (a network drive, or its limit on watches reached), watchfiles looks at the files
    itself, in a thread of its own.

    The events are taken in a thread; once a burst of changes has been quiet for `quiet` seconds, each task with
    changes runs once, on the server's loop (`schedule`, IOLoop.add_callback by default). A watched folder that is
    made or removed while serving is watched from then on, or no longer; a file that is a symbolic link is looked
    at through it (_links) whenever the thread looks up. Reloading the pages is left to the task (it knows whether
    anything changed), so tasks are watched with delay='forever'."""

    def __init__(self, quiet: float = QUIET_SECONDS,
                 schedule: Callable[[Callable[[], None]], None] | None = None) -> None:
        super().__init__()
        self.quiet, self.schedule = quiet, schedule
        self._ready, self._stop = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, path: str, func: Callable[[list[str]], None] | None = None, delay: object = 0,
              ignore: object = None) -> None:
        """Add a task (livereload's): its folder is kept as the system names it (absolute, links resolved), as the
        paths of the changes are (macOS's events name /private/tmp for /tmp)."""
        super().watch(os.path.realpath(path), func, delay, ignore)

    def prime(self) -> None:
        """Start watching (before the first build, so that no save in between is missed)."""
        if self._thread is not None:
            return
        if self.schedule is None:
            self.schedule = IOLoop.current().add_callback
        self._thread = threading.Thread(target=self._watch, name="sitegen-watcher", daemon=True)
        self._thread.start()
        self._ready.wait(WATCH_START_SECONDS)

    def start(self, callback: Callable[[], None]) -> bool:
        """Called by livereload when serving starts; True tells it not to poll on its own."""
        self.prime()
        return True

    def stop(self) -> None:
        """Stop watching, and wait for the thread to end (it looks up every WATCH_TIMEOUT_MS): no thread of ours
        may still be running Python while the interpreter shuts down, where CPython 3.11 can hang for good."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(WATCH_START_SECONDS)

    def _watch(self) -> None:
        """Watch the folders that exist, again whenever that set changes (a folder made counts as a change); hand
        each burst to `run` on the server's loop."""
        folders: frozenset[tuple[str, int, int]] | None = None
        while not self._stop.is_set():
            now = self._folders()
            if folders is not None:  # a folder made, removed or replaced: a change of everything in it
                self._hand_over({path for path, _, _ in now ^ folders})
            folders = now
            paths = [path for path, _, _ in folders]
            links, looked = _links(paths), time.monotonic()
            try:
                for changes in watchfiles.watch(
                    *paths, watch_filter=self._kept, step=round(self.quiet * 1000), rust_timeout=WATCH_TIMEOUT_MS,
                    yield_on_timeout=True, stop_event=self._stop, raise_interrupt=False,
                    ignore_permission_denied=True,
                ) if folders else ():
                    self._ready.set()
                    changed = {path for _, path in changes}
                    # the links' targets at most every 0.1 ms a link: 10,000 links are looked at every second
                    if changed or time.monotonic() - looked >= len(links) * LINK_SECONDS:
                        changed |= _moved(links, changed)
                        looked = time.monotonic()
                    self._hand_over(changed)
                    if self._folders() != folders:
                        break
                else:  # nothing to watch: look again for the folders in a while
                    self._ready.set()
                    self._stop.wait(WATCH_TIMEOUT_MS / 1000)
            except OSError:  # a folder removed while its watch was being set up: look again
                self._ready.set()
                self._stop.wait(WATCH_TIMEOUT_MS / 1000)

    def _hand_over(self, changed: set[str] | frozenset[str]) -> None:
        if changed:
            assert self.schedule is not None
            self.schedule(functools.partial(self.run, sorted(changed)))

    def _folders(self) -> frozenset[tuple[str, int, int]]:
        """The watched folders that exist, with their device and inode: a folder replaced by another (a checkout,
        a sync tool) is watched again, since the system's watch stays on the one it replaced."""
        found = set()
        for path in self._tasks:
            try:
                st = os.stat(path)
            except OSError:
                continue
            if stat.S_ISDIR(st.st_mode):
                found.add((path, st.st_dev, st.st_ino))
        return frozenset(found)

    def _kept(self, change: object, path: str) -> bool:
        """Whether a change counts: not in a hidden folder inside a watched one, nor an editor's scratch file."""
        root = next((folder for folder in self._tasks if _inside(path, folder)), None)
        parts = os.path.relpath(path, root).split(os.sep) if root is not None else [os.path.basename(path)]
        return not any(part.startswith(".") for part in parts[:-1]) and not _is_editor_scratch(parts[-1])

    def run(self, changed: list[str]) -> None:
        """Run each task with a change among `changed` once, with all of them."""
        ran: list[Callable[[list[str]], None]] = []
        for path, task in self._tasks.items():
            func = task["func"]
            if func is not None and func not in ran and any(_inside(c, path) for c in changed):
                ran.append(func)
                func(changed)


def _links(folders: Iterable[str]) -> dict[str, Stamp | None]:
    """Every symbolic link in these folders (hidden ones and editors' scratch files left out), with the stamp of
    what it points to: the system tells of a change to a link, but not of one to its target (a trial's file kept
    elsewhere in the project), so the watcher looks at those targets itself."""
    found: dict[str, Stamp | None] = {}
    pending = list(folders)
    while pending:
        try:
            with os.scandir(pending.pop()) as entries:
                for entry in entries:
                    if _is_editor_scratch(entry.name):
                        continue
                    if entry.is_symlink():
                        found[entry.path] = _stamp(entry.path)
                    elif entry.is_dir():
                        pending.append(entry.path)
        except OSError:  # removed while looking
            continue
    return found


def _moved(links: dict[str, Stamp | None], changed: set[str]) -> set[str]:
    """The links whose target changed since `links` was last updated (with the links among `changed`: made,
    changed or removed); `links` updated."""
    for path in changed:
        if os.path.islink(path):
            links.setdefault(path, None)
    moved = set()
    for path, stamp in list(links.items()):
        now = _stamp(path)
        if now is None and not os.path.lexists(path):
            del links[path]
        elif now != stamp:
            links[path] = now
            moved.add(path)
    return moved


def _stamp(path: str) -> Stamp | None:
    """The modification time, size and inode of what `path` points to; None if there is nothing there."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino


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

    async def get(self, path: str, include_body: bool = True) -> None:
        if "\x00" in path:  # no file can have this name, and the file system calls refuse it: a bad request
            raise web.HTTPError(400)
        await super().get(path, include_body)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        page = Path(self.root) / "404.html"
        if status_code == 404 and page.is_file():
            self.set_header("Content-Type", "text/html; charset=UTF-8")
            self.finish(page.read_bytes())  # livereload adds its script to it like to any page
            return
        super().write_error(status_code, **kwargs)


LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
# A Host header: a name or IPv4 address, or an IPv6 address in brackets; then maybe a port. Anything else (user
# info, a path, two headers folded into one) is a bad request.
_HOST = re.compile(r"(?:\[([0-9a-f:.]+)\]|([a-z0-9.-]+))(?::([0-9]{1,5}))?", re.ASCII)


@dataclass(frozen=True)
class HostPolicy:
    """The host names the server answers to, on its port. A browser sends the name it was given in the Host
    header, so a page whose own name an attacker has re-pointed at this computer (DNS rebinding) sends that name
    and is refused. An IP address cannot be re-pointed, so when the server listens on every address
    (0.0.0.0), any IP address is accepted, as Vite and webpack-dev-server do; other names need --allowed-host."""

    names: frozenset[str]  # lower case, IPv6 addresses without brackets
    port: int
    any_address: bool = False

    @classmethod
    def listening(cls, host: str, sockets: Iterable[socket.socket], allowed: Iterable[str] = ()) -> HostPolicy:
        """The policy of a server listening on `sockets`, started with --host `host` and --allowed-host `allowed`."""
        bound = [s.getsockname() for s in sockets]
        addresses = [ipaddress.ip_address(str(name[0]).partition("%")[0]) for name in bound]
        names = {_host_name(host), *(str(a) for a in addresses), *(_host_name(a) for a in allowed)}
        any_address = any(a.is_unspecified for a in addresses)
        if any_address or any(a.is_loopback for a in addresses):
            names |= LOOPBACK_NAMES
        return cls(frozenset(names), int(bound[0][1]), any_address)

    def refusal(self, header: str | None) -> tuple[int, str] | None:
        """None when a request with this Host header is answered; else the status and text it gets instead."""
        match = _HOST.fullmatch((header or "").lower())
        if match is None:
            return 400, "sitegen serve: a bad Host header\n"
        name, port = _host_name(match[1] or match[2]), int(match[3] or 80)
        if port == self.port and (name in self.names or (self.any_address and _is_address(name))):
            return None
        return 403, (f"sitegen serve does not answer to '{match[0]}', so that no other web site can read this one "
                     f"by pointing its own name at this computer. To allow a name, start the server with "
                     f"--allowed-host {name}\n")


def _host_name(text: str) -> str:
    name = text.lower().removeprefix("[").removesuffix("]")
    return str(ipaddress.ip_address(name)) if _is_address(name) else name


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _url(host: str, port: int) -> str:
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/"


class _Refused(web.RequestHandler):
    """The answer to a request for a host name the server does not answer to, whatever it asked for."""

    def initialize(self, status: int, text: str) -> None:
        self.status, self.text = status, text

    def prepare(self) -> None:
        self.set_status(self.status)
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(self.text)


class _Site(web.Application):
    """The server's application: every request is first checked against the host policy."""

    def __init__(self, hosts: HostPolicy, handlers: list[Any], transform: type[LiveScriptInjector]) -> None:
        super().__init__(handlers, transforms=[transform])
        self.hosts = hosts

    def find_handler(self, request: httputil.HTTPServerRequest, **kwargs: Any) -> web._HandlerDelegate:
        refusal = self.hosts.refusal(request.headers.get("Host"))
        if refusal is not None:
            return self.get_handler_delegate(request, _Refused, {"status": refusal[0], "text": refusal[1]})
        return super().find_handler(request, **kwargs)


class _LiveReloadSocket(LiveReloadHandler):  # type: ignore[misc]
    """livereload's WebSocket, open only to the server's own pages (livereload's accepts any origin), and deaf
    to messages that are not the livereload protocol's JSON objects (livereload's fails on them)."""

    def check_origin(self, origin: str) -> bool:
        return urlsplit(origin).netloc.lower() == (self.request.headers.get("Host") or "").lower()

    def on_message(self, message: str | bytes) -> None:
        try:
            parsed = json.loads(message)
        except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested too deep to parse
            return
        if isinstance(parsed, dict) and isinstance(parsed.get("command"), str):
            super().on_message(message)


class _LiveScript(LiveScriptInjector):  # type: ignore[misc]
    """Adds the live-reload script to every HTML page sent (livereload's script: same host, same port)."""

    script = (b'<script type="text/javascript">(function(){var s=document.createElement("script");'
              b'var port=(window.location.port || (window.location.protocol == \'https:\' ? 443: 80));'
              b's.src="//"+window.location.hostname+":"+port+ "/livereload.js?port=" + port;'
              b'document.head.appendChild(s);})();</script>')


class _OneLine(logging.Formatter):
    """A log record of the server as one line, an exception as its type and message, control characters escaped:
    what a client sends never reaches the terminal raw, and no request prints a traceback."""

    def format(self, record: logging.LogRecord) -> str:
        text = (record.getMessage().splitlines() or [""])[0]
        if record.exc_info and record.exc_info[1] is not None:
            text += f": {type(record.exc_info[1]).__name__}: {record.exc_info[1]}"
        return printable(f"sitegen serve: {text}")


class _Server(Server):  # type: ignore[misc]
    """livereload's server on sockets already bound, with the site's file handler, the host policy, a
    same-origin WebSocket and no /forcereload (which any web site could request), and without livereload's own
    log lines."""

    def __init__(self, watcher: SiteWatcher, sockets: list[socket.socket], hosts: HostPolicy) -> None:
        super().__init__(watcher=watcher)
        self.sockets, self.hosts = sockets, hosts

    def application(self, port: int, host: str, liveport: int | None = None, debug: bool | None = None,
                    live_css: bool = True) -> None:
        LiveReloadHandler.watcher = self.watcher
        LiveReloadHandler.live_css = live_css
        handlers = [
            (r"/livereload", _LiveReloadSocket),
            (r"/livereload.js", LiveReloadJSHandler),
            (r"/(.*)", _SiteFileHandler, {"path": self.root, "default_filename": self.default_filename}),
        ]
        HTTPServer(_Site(self.hosts, handlers, _LiveScript)).add_sockets(self.sockets)

    def _setup_logging(self) -> None:
        # livereload logs every connection and reload at INFO, tornado every request that is not a 200 at WARNING:
        # `sitegen serve` prints its own one line a rebuild, and only errors of the server itself, one line each.
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_OneLine())
        for name, level in (("livereload", logging.WARNING), ("tornado", logging.ERROR)):
            logger = logging.getLogger(name)
            logger.setLevel(level)
            logger.handlers[:] = [handler]
            logger.propagate = False


def serve(project: Project, host: str = "127.0.0.1", port: int = 8000, base_url: str | None = None,
          strict: bool = False, allowed_hosts: Iterable[str] = ()) -> int:
    """Build, serve on host:port and rebuild on every save until Ctrl-C. Returns the exit code.

    Port 0 picks a free port. The site is built for the server's URL unless `base_url` is given. The server
    answers to the names of HostPolicy.listening, and to `allowed_hosts`.
    """
    for name in allowed_hosts:
        found = _HOST.fullmatch(name.lower())
        if found is None or found[3] is not None:
            _say(f"sitegen: error: --allowed-host '{name}': expected a host name such as mylaptop.local, without a port",
                 error=True)
            return 2
    try:
        sockets = bind_sockets(port, host)
    except (OSError, UnicodeError) as e:  # a busy port, a name that does not resolve or cannot be a host name
        _say(_listen_error(e, host, port), error=True)
        return 2
    # Until the loop runs (the first build: long for a large catalog), SIGTERM and SIGHUP (the terminal closed) are a
    # Ctrl-C: their default ends the process where it stands, and the build folder would be left in the temporary
    # folder.
    main = threading.current_thread() is threading.main_thread()
    before = {signum: signal.signal(signum, _interrupt) for signum in _stopping()} if main else {}
    try:
        hosts = HostPolicy.listening(host, sockets, allowed_hosts)
        url = _url(host, hosts.port)
        with tempfile.TemporaryDirectory(prefix="sitegen-serve-") as folder:
            return _serve(project, _Server(SiteWatcher(), sockets, hosts), url,
                          LiveSite(project, Path(folder) / "site", base_url or url, strict))
    except KeyboardInterrupt:
        _say("Stopped.")
        return 0
    finally:
        for s in sockets:
            s.close()
        for signum, handler in before.items():
            signal.signal(signum, handler)


def _stopping() -> tuple[signal.Signals, ...]:
    """The signals that stop the server as Ctrl-C does: SIGTERM, and SIGHUP unless it is ignored (`nohup sitegen
    serve`, which asks the server to outlive its terminal)."""
    hangup = () if signal.getsignal(signal.SIGHUP) == signal.SIG_IGN else (signal.SIGHUP,)
    return (signal.SIGTERM, *hangup)


def _interrupt(signum: int, frame: object) -> None:
    """The signal as a Ctrl-C, once: a second one (`timeout` signals the process, then its group) would break off the
    stopping itself, leaving a catalog's worker processes and the interpreter waiting on each other for good."""
    signal.signal(signum, signal.SIG_IGN)
    raise KeyboardInterrupt


def _serve(project: Project, server: _Server, url: str, live: LiveSite) -> int:
    watched = [project.content, project.templates, project.static]

    warned: tuple[Problem, ...] = ()

    def report(outcome: Rebuild, changed: list[str]) -> None:
        nonlocal warned
        _print_rebuild(outcome, changed, outcome.warnings if outcome.warnings != warned else ())
        warned = outcome.warnings if not outcome.problems else warned

    loop = IOLoop.current()
    catching_up = False  # a catch-up is waiting to start: one is enough for any number of rebuilds before it

    def rebuild(changed: list[str]) -> None:
        nonlocal catching_up
        if live.busy():  # a catch-up is running: keep answering, and rebuild once it is done
            loop.call_later(0.05, rebuild, changed)
            return
        outcome = live.rebuild(changed)
        report(outcome, changed)
        if outcome.reload:
            only_css = outcome.rendered and all(n.endswith(".css") for n in outcome.rendered)
            LiveReloadHandler.reload_waiters(outcome.rendered[0] if only_css else "*")
        if outcome.behind and not catching_up:  # the trial's pages first; the catalog's beside the server, later
            catching_up = True
            loop.call_later(CATCH_UP_AFTER_SECONDS, start_catch_up)

    catch_ups: list[threading.Thread] = []  # the one running, if any: waited for on stopping

    def start_catch_up() -> None:
        nonlocal catching_up
        catching_up = False
        catch_ups[:] = [threading.Thread(target=lambda: loop.add_callback(caught_up, live.catch_up()),
                                         name="sitegen-catch-up", daemon=True)]
        catch_ups[0].start()

    def caught_up(outcome: CatchUp) -> None:
        _say(outcome.said, error=outcome.failed)
        if outcome.reload:  # the list shows the edit now
            LiveReloadHandler.reload_waiters("*")

    for folder in watched:
        server.watch(str(folder), rebuild, delay="forever")
    server.watcher.prime()
    report(live.rebuild(), [])
    # Ctrl-C, SIGTERM and SIGHUP stop the loop, between two callbacks. Python's KeyboardInterrupt would be raised
    # wherever the loop happens to be, and tornado turns one raised while it handles a request into a logged error:
    # the server ran on. (Until the loop runs, a Ctrl-C is a KeyboardInterrupt, which serve() catches.)
    signals = (signal.SIGINT, *_stopping()) if threading.current_thread() is threading.main_thread() else ()
    events = asyncio.get_event_loop()
    for signum in signals:
        events.add_signal_handler(signum, loop.stop)
    folders = ", ".join(_shown(f) for f in watched if f.is_dir()) or "nothing"
    IOLoop.current().add_callback(lambda: _say(f"Serving {url}  (watching {folders}; Ctrl-C to stop)"))
    try:
        server.serve(root=str(live.folder), default_filename="index.html")
    finally:  # before the build folder goes, and before the interpreter shuts down
        for signum in signals:
            events.remove_signal_handler(signum)  # a second Ctrl-C, from here on, is a KeyboardInterrupt
        server.watcher.stop()
        for thread in catch_ups:
            thread.join()
    _say("Stopped.")
    return 0


def _shown(folder: Path) -> str:
    """A folder as the banner names it: relative to the current folder when inside it, else absolute; with a '/'."""
    path = folder.resolve()
    try:
        return f"{path.relative_to(Path.cwd().resolve())}/"
    except ValueError:
        return f"{path}/"


def _say(text: str, error: bool = False) -> None:
    """Print a line of the server's, with what content or a client may have put in it (file names, problems,
    an exception's text) made printable: no control character reaches the terminal."""
    print(printable(text), file=sys.stderr if error else sys.stdout, flush=True)


def _print_rebuild(outcome: Rebuild, changed: list[str], warnings: tuple[Problem, ...]) -> None:
    """One line a rebuild (and the problems, or the warnings when they are new), as `sitegen check` words them."""
    took = f"{outcome.seconds * 1000:.0f} ms"
    named = [path for path in changed if _an_input(path)]
    cause = f"{_names(named)} changed: " if named else ""
    if outcome.problems:
        for line in outcome.problems:
            _say(line, error=True)
        count = len(outcome.problems)
        _say(f"sitegen: {count} problem{'s' if count != 1 else ''} found; "
             f"{'still serving the last good site, ' if cause else ''}with the problem shown on every page", error=True)
        return
    for warning in warnings:
        _say(str(warning), error=True)
    if not changed:
        _say(f"Built {outcome.files} files in {took}")
    elif outcome.rendered:
        _say(f"{cause}re-rendered {_names(list(outcome.rendered), 4)} in {took}")
    else:
        _say(f"{cause}nothing to re-render ({took})")


def _an_input(path: str) -> bool:
    """Whether a changed path is worth naming: not an editor's temporary file (sed's 'sedX3kq1', vim's '4913' and
    '.trial.yaml.swp', emacs's '#trial.yaml#', 'trial.yaml~'), gone by the time it is named or hidden."""
    name = os.path.basename(path)
    return not name.startswith((".", "#")) and not name.endswith("~") and (os.path.exists(path) or "." in name)


def _names(paths: list[str], shown: int = 3) -> str:
    here = os.getcwd() + os.sep
    names = [p.removeprefix(here) for p in paths]
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def _listen_error(error: OSError | UnicodeError, host: str, port: int) -> str:
    where = f"{host}:{port}"
    if isinstance(error, socket.gaierror | UnicodeError):
        return (f"sitegen: error: cannot serve on {where}: no such host name; check --host (an address such as "
                "127.0.0.1, or a name of this computer)")
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

