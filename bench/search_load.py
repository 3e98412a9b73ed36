"""What a phone loads for one search of a catalog: the requests and bytes of the home page, then of one query,
split by kind of file (the search index's index.json, words, terms and docs files; the page and its scripts).

Usage: python bench/search_load.py [--sizes 1000 10000] [--queries melanoma olaparib] [--keep DIR] [--seed S]
                                   [--jobs N] [--latency-ms 150] [--kbps 1600] [--cache-control max-age=600]
       python bench/search_load.py --site DIR [--queries ...]

For each N, N trials are generated (bench/catalog.py `generate`) and built with `python -m sitegen build`, in a
temporary folder or in DIR/N-trials with --keep (content/ and out/, as bench/catalog.py lays them out; a build
already there is measured again without rebuilding). --site measures a site already built.

The site is served on 127.0.0.1 by a server of this script's that logs every response: when the request came,
its path and the bytes of the body it sent. HTML, CSS, JavaScript, JSON and SVG are sent gzip-compressed, as
static hosts send them (a file compressed already, as Pagefind's index files were, is sent as it is). The server
also plays a phone's network (Lighthouse's "Slow 4G": --latency-ms before each response, all responses sharing
--kbps kilobits per second). Counting at the server makes the figures exact: a request the browser answers from
its cache never reaches the server (and a web worker's fetches, as Pagefind's were, are not in the page's
resource timing). Like a static host it sends each file's ETag and Last-Modified (and answers 304 to a browser
that has the file), and Cache-Control: max-age=600 as GitHub Pages does (--cache-control).

Each query runs in a new Chromium context with a phone's profile (390x844 at 3x, touch, a mobile user agent) and
an empty cache: the home page loads (its requests until the network has been quiet for a second are the page
load), then the search box is tapped and the query typed. The query's requests are those from the tap until the
results are shown (the message "N trials found for ..." or "No trial has ...") and the network is quiet again;
"to results" is the time from the last key typed to the results shown (the search box waits 200 ms for the
typing to stop), on this machine's CPU with the phone's network. --verbose lists every request of each search.
"""

from __future__ import annotations

import argparse
import datetime
import email.utils
import gzip
import mimetypes
import os
import posixpath
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

QUERIES = ("melanoma", "olaparib")  # a condition word and a drug name of the generated trials
SEARCH_INPUT = "#search input[type=search]"
# Lighthouse's mobile network ("Slow 4G"): 150 ms round trip, 1.6 Mbit/s down.
LATENCY_MS = 150.0
KBPS = 1600.0
CACHE_CONTROL = "max-age=600"  # what GitHub Pages sends: the browser may reuse a file for 10 minutes unasked
QUIET_SECONDS = 1.0  # the network is quiet when no request has been open for this long
TIMEOUT_SECONDS = 300.0
PHONE = {  # a phone as Chromium's device emulation has it (Pixel 7 class)
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
    "user_agent": "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/120.0.0.0 Mobile Safari/537.36",
}
MESSAGE = "#search .search-status"
# The results are shown: the message names the whole query (it is written once the results are in the page).
RESULTS_SHOWN = """(query) => {
  const message = document.querySelector('#search .search-status');
  return Boolean(message) && message.textContent.includes('\u201c' + query + '\u201d');
}"""

# The kinds of file, in the order the table shows them.
KINDS = ("HTML", "site CSS/JS", "index.json", "words", "terms", "docs", "other")
_COMPRESSIBLE = ("text/", "application/json", "application/ld+json", "application/javascript", "image/svg+xml",
                 "application/xml")
_TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".json": "application/json",
          ".jsonld": "application/ld+json", ".css": "text/css", ".html": "text/html", ".svg": "image/svg+xml",
          ".xml": "application/xml", ".txt": "text/plain"}


def kind(path: str) -> str:
    """The kind of file a request path asks for (one of KINDS): the search index's by its place in search/ (the
    site may live under a sub-path), the site's own by its extension."""
    parts = _parts(path)
    name = parts[-1]
    if len(parts) >= 2 and parts[-2] == "search" and name == "index.json":
        return "index.json"
    if len(parts) >= 3 and parts[-3] == "search" and parts[-2] in ("words", "terms", "docs") and name.endswith(".json"):
        return parts[-2]
    if name == "" or name.endswith(".html"):
        return "HTML"
    if name.endswith((".js", ".css")):
        return "site CSS/JS"
    return "other"


def _parts(path: str) -> list[str]:
    return unquote(urlsplit(path).path).lstrip("/").split("/")


@dataclass(frozen=True)
class Sent:
    """One response of the server: when its request came (time.monotonic()), the path, status and body bytes."""

    at: float
    path: str
    status: int
    size: int


@dataclass(frozen=True)
class Tally:
    requests: int
    size: int


def tally(log: Iterable[Sent]) -> dict[str, Tally]:
    """Requests and body bytes by kind of file (every kind of KINDS, zero when none), and 'total'."""
    counts = {name: [0, 0] for name in (*KINDS, "total")}
    for sent in log:
        for name in (kind(sent.path), "total"):
            counts[name][0] += 1
            counts[name][1] += sent.size
    return {name: Tally(requests, size) for name, (requests, size) in counts.items()}


def between(log: Iterable[Sent], start: float, end: float | None = None) -> list[Sent]:
    """The responses to requests that came at or after `start` and before `end` (None: any time after)."""
    return [sent for sent in log if sent.at >= start and (end is None or sent.at < end)]


# --- The server --------------------------------------------------------------------------------------------------


class Throttle:
    """A network link all responses share: `kbps` kilobits per second, and `latency` seconds before each response
    starts. kbps 0 means no limit."""

    def __init__(self, latency: float, kbps: float) -> None:
        self.latency, self.rate = latency, kbps * 1000 / 8  # bytes per second
        self._lock = threading.Lock()
        self._free_at = 0.0

    def wait(self, size: int) -> None:
        """Wait until `size` more bytes have passed through the link, after what was queued before them."""
        if self.rate <= 0:
            return
        with self._lock:
            start = max(time.monotonic(), self._free_at)
            self._free_at = start + size / self.rate
            until = self._free_at
        time.sleep(max(0.0, until - time.monotonic()))


@dataclass
class Site:
    """The files of a built site, answered as a static host does: a folder's index.html, 404.html for a missing
    file, text gzip-compressed when the client accepts it (once per file)."""

    folder: Path
    _gzipped: dict[Path, bytes] = field(default_factory=dict)

    def response(self, path: str, gzip_ok: bool) -> tuple[int, dict[str, str], bytes]:
        url_path = posixpath.normpath(unquote(urlsplit(path).path))
        if url_path.startswith("..") or "\0" in url_path:
            return 400, {"Content-Type": "text/plain"}, b"bad path\n"
        file = self.folder / url_path.lstrip("/")
        if file.is_dir():
            if not path.split("?")[0].endswith("/"):
                return 301, {"Location": path.split("?")[0] + "/"}, b""
            file = file / "index.html"
        status = 200
        if not file.is_file():
            status, file = 404, self.folder / "404.html"
            if not file.is_file():
                return 404, {"Content-Type": "text/plain"}, b"not found\n"
        content_type = _TYPES.get(file.suffix) or mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        stat = file.stat()
        headers = {"Content-Type": content_type, "ETag": f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"',
                   "Last-Modified": email.utils.formatdate(stat.st_mtime, usegmt=True)}
        if gzip_ok and content_type.startswith(_COMPRESSIBLE):
            if file not in self._gzipped:
                self._gzipped[file] = gzip.compress(file.read_bytes(), compresslevel=6, mtime=0)
            headers["Content-Encoding"] = "gzip"
            return status, headers, self._gzipped[file]
        return status, headers, file.read_bytes()


class CountingServer(ThreadingHTTPServer):
    """An HTTP/1.1 server of `site` on 127.0.0.1 that logs every response (`log`) and knows how many are open."""

    daemon_threads = True

    def __init__(self, site: Site, throttle: Throttle, cache_control: str = CACHE_CONTROL) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.site, self.throttle, self.cache_control = site, throttle, cache_control
        self.log: list[Sent] = []
        self._open = 0
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def begin(self) -> float:
        with self._lock:
            self._open += 1
            self._last = time.monotonic()
            return self._last

    def end(self, sent: Sent) -> None:
        with self._lock:
            self._open -= 1
            self._last = time.monotonic()
            self.log.append(sent)

    def wait_quiet(self, quiet: float = QUIET_SECONDS, timeout: float = TIMEOUT_SECONDS) -> None:
        """Return once no response has been open for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                idle = self._open == 0 and time.monotonic() - self._last >= quiet
            if idle:
                return
            time.sleep(0.05)
        raise SystemExit(f"bench: the network was still busy after {timeout:.0f} s")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive connections, as browsers use them
    server: CountingServer
    CHUNK = 16 * 1024

    def do_GET(self) -> None:
        self._respond(body=True)

    def do_HEAD(self) -> None:
        self._respond(body=False)

    def _respond(self, body: bool) -> None:
        started = self.server.begin()
        status, size = 500, 0
        try:
            status, headers, data = self.server.site.response(
                self.path, "gzip" in self.headers.get("Accept-Encoding", ""))
            if status == 200 and headers.get("ETag") and self.headers.get("If-None-Match") == headers["ETag"]:
                status, data = 304, b""  # the browser's copy is still the file: it revalidated a stale one
            if self.server.throttle.latency:
                time.sleep(self.server.throttle.latency)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if status != 304:
                self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", self.server.cache_control)
            self.end_headers()
            if body:
                for at in range(0, len(data), self.CHUNK):
                    chunk = data[at:at + self.CHUNK]
                    self.server.throttle.wait(len(chunk))
                    self.wfile.write(chunk)
                    size += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            self.server.end(Sent(started, self.path, status, size))

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serving(folder: Path, throttle: Throttle, cache_control: str = CACHE_CONTROL) -> Iterator[tuple[str, CountingServer]]:
    """Serve `folder` from a background thread; yield its base URL and the server (for its log)."""
    server = CountingServer(Site(folder), throttle, cache_control)
    thread = threading.Thread(target=server.serve_forever, name="search-load http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --- One query in Chromium -------------------------------------------------------------------------------------


@dataclass
class Query:
    """One query from a cold cache: the page load's responses, the search's, its time to results and message."""

    text: str
    load: list[Sent]
    search: list[Sent]
    seconds: float
    message: str


def measure_query(browser, url: str, server: CountingServer, text: str) -> Query:  # type: ignore[no-untyped-def]
    context = browser.new_context(**PHONE)
    try:
        page = context.new_page()
        loading = time.monotonic()
        page.goto(url, wait_until="load", timeout=TIMEOUT_SECONDS * 1000)
        page.wait_for_selector(SEARCH_INPUT, timeout=TIMEOUT_SECONDS * 1000)
        server.wait_quiet()
        tapped = time.monotonic()
        page.tap(SEARCH_INPUT)
        page.keyboard.type(text, delay=80)  # a quick typist; the box waits for a pause before it searches
        typed = time.monotonic()
        page.wait_for_function(RESULTS_SHOWN, arg=text, timeout=TIMEOUT_SECONDS * 1000, polling=20)
        shown = time.monotonic()
        message = page.inner_text(MESSAGE).strip()
        server.wait_quiet()
    finally:
        context.close()
    return Query(text, between(server.log, loading, tapped), between(server.log, tapped), shown - typed, message)


def measure_site(site: Path, queries: Iterable[str], throttle: Throttle,
                 cache_control: str = CACHE_CONTROL) -> list[Query]:
    from playwright.sync_api import sync_playwright

    from tests.browser.tools import launch

    with serving(site, throttle, cache_control) as (url, server), sync_playwright() as p:
        browser = launch(p)  # type: ignore[no-untyped-call]
        try:
            return [measure_query(browser, url, server, text) for text in queries]
        finally:
            browser.close()


# --- Reporting ---------------------------------------------------------------------------------------------------


def _kb(size: int) -> str:
    return f"{size / 1000:,.1f}"


def table(queries: list[Query]) -> str:
    """A Markdown table: a row per kind of file (those any column has) and the total; the page load's requests
    and kB (of the first query's load), then each query's."""
    load = tally(queries[0].load)
    searches = [tally(q.search) for q in queries]
    head = ["file", "page load: requests", "kB"] + [c for q in queries for c in (f"“{q.text}”: requests", "kB")]
    lines = ["| " + " | ".join(head) + " |", "| --- |" + " ---: |" * (len(head) - 1)]
    for name in (*KINDS, "total"):
        cells = [load[name], *(s[name] for s in searches)]
        if name != "total" and not any(c.requests for c in cells):
            continue
        label = f"**{name}**" if name == "total" else name
        values = [v for c in cells for v in (f"{c.requests:,}", _kb(c.size))]
        if name == "total":
            values = [f"**{v}**" for v in values]
        lines.append("| " + " | ".join([label, *values]) + " |")
    lines.append("| time to results (s) | | |" + "".join(f" {q.seconds:.2f} | |" for q in queries))
    return "\n".join(lines)


def requests_list(query: Query) -> str:
    """Every request of a query's search, one a line: seconds after the first, kind, bytes, path."""
    start = min((s.at for s in query.search), default=0.0)
    return "\n".join(f"  {s.at - start:7.3f} s  {kind(s.path):15} {s.size:>9,} B  {s.status} {s.path}"
                     for s in sorted(query.search, key=lambda s: s.at))


def report(label: str, site: Path, queries: list[Query]) -> str:
    files = [p for p in (site / "search").rglob("*") if p.is_file()]
    terms = sum(1 for p in files if p.parent.name == "terms")
    lines = [f"### {label}", ""]
    lines.append(f"- search index: {len(files):,} files ({terms:,} terms files), "
                 f"{sum(p.stat().st_size for p in files) / 1e6:,.1f} MB on disk")
    for q in queries:
        errors = [s for s in q.load + q.search if s.status >= 400]
        lines.append(f"- “{q.text}”: {q.message}" + (f"; {len(errors)} failed requests: "
                     + ", ".join(f"{s.status} {s.path}" for s in errors[:5]) if errors else ""))
    return "\n".join([*lines, "", table(queries), ""])


# --- Catalogs ----------------------------------------------------------------------------------------------------


def built_catalog(n: int, keep: Path | None, seed: int, jobs: int) -> tuple[Path, object]:
    """The output folder of a built N-trial catalog (reused from DIR/N-trials with --keep when there), and what
    to clean up after."""
    from bench import catalog

    if keep is not None:
        work = keep.resolve() / f"{n}-trials"
        out = work / "out"
        trials = work / "content" / "trials"
        if (work / catalog.MARKER).exists() and (out / "index.html").is_file() and \
                sum(1 for _ in trials.glob("*.yaml")) == n:
            print(f"[N={n}] measuring the build already in {out}", file=sys.stderr, flush=True)
            return out, None
    work, tmp = catalog._workdir(keep, f"{n}-trials")
    content, out = work / "content", work / "out"
    print(f"[N={n}] generating {n} trials into {content}", file=sys.stderr, flush=True)
    catalog.generate(n, content, seed)
    print(f"[N={n}] building into {out}", file=sys.stderr, flush=True)
    run = catalog.build(content, out, jobs)
    print(f"[N={n}] built in {run.seconds:.1f} s", file=sys.stderr, flush=True)
    return out, tmp


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000], metavar="N",
                        help="catalog sizes to build and measure, in generated trials (default: 1000)")
    parser.add_argument("--site", type=Path, metavar="DIR", help="measure this built site instead of --sizes")
    parser.add_argument("--queries", nargs="+", default=list(QUERIES), metavar="WORD",
                        help=f"what to type, one cold search each (default: {' '.join(QUERIES)})")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="build in DIR/N-trials and keep it; a build already there is measured as it is")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated trials (default: 0)")
    parser.add_argument("--jobs", type=int, default=None, help="sitegen build --jobs (default: the usable CPUs)")
    parser.add_argument("--cache-control", default=CACHE_CONTROL, metavar="VALUE",
                        help=f"the Cache-Control header of every response (default: {CACHE_CONTROL!r}, as GitHub "
                             "Pages; 'no-cache' makes the browser ask again for every file it has)")
    parser.add_argument("--verbose", action="store_true", help="list every request of each search on stderr")
    parser.add_argument("--latency-ms", type=float, default=LATENCY_MS,
                        help=f"wait before each response (default: {LATENCY_MS:g}; 0: none)")
    parser.add_argument("--kbps", type=float, default=KBPS,
                        help=f"kilobits per second all responses share (default: {KBPS:g}; 0: no limit)")
    args = parser.parse_args(argv)
    if min(args.sizes) < 1:
        parser.error("--sizes must be at least 1")
    if args.latency_ms < 0 or args.kbps < 0:
        parser.error("--latency-ms and --kbps cannot be negative")
    if args.site is not None and not (args.site / "index.html").is_file():
        parser.error(f"--site: no index.html in {args.site}")
    if any(not q.strip() for q in args.queries):
        parser.error("--queries: a query cannot be empty")
    return args


def _verbose(on: bool, queries: list[Query]) -> None:
    for query in queries if on else ():
        print(f"requests of the search for “{query.text}”:\n{requests_list(query)}", file=sys.stderr, flush=True)


def main() -> None:
    args = parse_args()
    from sitegen.catalog.parallel import default_jobs

    throttle = Throttle(args.latency_ms / 1000, args.kbps)
    sections = []
    if args.site is not None:
        trials = sum(1 for p in (args.site / "trials").glob("*/index.html")) if (args.site / "trials").is_dir() else 0
        queries = measure_site(args.site, args.queries, throttle, args.cache_control)
        _verbose(args.verbose, queries)
        sections.append(report(f"{args.site} ({trials:,} trials)", args.site, queries))
    else:
        for n in args.sizes:
            out, tmp = built_catalog(n, args.keep, args.seed, args.jobs or default_jobs())
            try:
                queries = measure_site(out, args.queries, throttle, args.cache_control)
                _verbose(args.verbose, queries)
                sections.append(report(f"{n:,} trials", out, queries))
            finally:
                if tmp is not None:
                    tmp.cleanup()  # type: ignore[attr-defined]
    network = "no network limit" if not (args.kbps or args.latency_ms) else \
        f"{args.latency_ms:g} ms before each response, {args.kbps:g} kbit/s shared"
    network += f"; Cache-Control: {args.cache_control}"
    print(f"What a phone loads for one search: python bench/search_load.py {' '.join(sys.argv[1:])}")
    print(f"- date: {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; Chromium as a 390x844 phone; "
          f"{network}; {os.cpu_count()} CPUs")
    print("- bytes are the response bodies the server sent (HTML, CSS, JS, JSON gzip-compressed), "
          "kB = 1,000 bytes; each query from an empty cache\n")
    print("\n".join(sections))


if __name__ == "__main__":
    main()
