"""Time live editing: from a save of one trial's file to the rebuilt FAQ page on disk, and to Chromium showing it,
with `sitegen serve` running as a user runs it (a subprocess on a copy of the project). By default the project is
the default site (content/trial.yaml); with --trials N, a catalog of N generated trials (bench/catalog.py), in
which one trial's file is edited.

Usage: python bench/serve_latency.py [--runs 10] [--trials N] [--seed S]
Each run changes one FAQ answer. "On disk" is when the served folder's FAQ page (faq/index.html, or
trials/SLUG/faq/index.html in a catalog) holds the new answer (looked at every millisecond); "in the browser" is
when the FAQ page, open in Chromium, has painted the reloaded document (its first contentful paint, from the
page's own performance timeline, on the same clock). In a catalog, "search index" is when the served search
index has a new search/index.json, which the search box reads first on every page view: the index then holds the
new answer (index.json's version is a digest of every other file of the index).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Debian's Chromium with the flags the browser tests use.
from tests.browser.tools import launch

ANSWER = "The trial does not specify if you must stop taking your current medications"
CONNECTED = "() => Boolean(window.LiveReload && window.LiveReload.connector && window.LiveReload.connector.protocol)"
PAINTED = """() => {
  const paint = performance.getEntriesByName('first-contentful-paint')[0];
  const nav = performance.getEntriesByType('navigation')[0];
  return performance.timeOrigin + (paint ? paint.startTime : nav.domContentLoadedEventEnd);
}"""
INDEX_WAIT_SECONDS = 60  # how long a run waits after the page for the search index to change


@dataclass(frozen=True)
class Project:
    """What a run edits and where it looks: the file saved, its text with a marker instead of an answer, and
    the FAQ page's path in the served folder and its URL path."""

    file: Path
    edited: Callable[[str], str]  # the file's text with one FAQ answer starting with this marker
    page: str  # e.g. 'faq/index.html'

    @property
    def url_path(self) -> str:
        return self.page.removesuffix("index.html")


def default_site(work: Path) -> Project:
    """A copy of the default project in `work`: content/ and sitegen's templates and static files."""
    shutil.copytree(ROOT / "content", work / "content")
    for name in ("templates", "static"):
        shutil.copytree(ROOT / "sitegen" / name, work / name)
    trial = work / "content" / "trial.yaml"
    text = trial.read_text(encoding="utf-8")
    return Project(trial, lambda marker: text.replace(ANSWER, marker, 1), "faq/index.html")


def catalog_site(work: Path, trials: int, seed: int) -> Project:
    """A catalog of `trials` generated trials in work/content; the trial edited is the first with an FAQ from the
    middle of the sorted list, its first answer changed."""
    from bench.catalog import generate

    paths = sorted(generate(trials, work / "content", seed))
    for path in paths[len(paths) // 2:] + paths[: len(paths) // 2]:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if data.get("faq"):
            break
    else:
        raise SystemExit("no generated trial has an FAQ")
    return Project(path, lambda marker: edit_answer(data, marker), f"trials/{data['slug']}/faq/index.html")


def edit_answer(data: dict, marker: str) -> str:  # type: ignore[type-arg]
    """A trial's YAML text with its first FAQ answer starting with `marker` (`data` unchanged)."""
    from bench.catalog import dump

    faq = [dict(item) for item in data["faq"]]
    faq[0]["answer"] = f"{marker}. {faq[0]['answer']}"
    return dump({**data, "faq": faq})


def main() -> None:
    args = parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.trials:
            print(f"generating {args.trials} trials", file=sys.stderr, flush=True)
            project = catalog_site(work, args.trials, args.seed)
        else:
            project = default_site(work)
        (work / "tmp").mkdir()
        proc = subprocess.Popen(
            [sys.executable, "-m", "sitegen", "serve", "--content", str(work / "content"), "--port", "0"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "TMPDIR": str(work / "tmp"), "PYTHONPATH": str(ROOT)},
        )
        said: list[str] = []  # what the server printed, shown if a run fails
        try:
            started = time.perf_counter()
            url = _served_url(proc, said, timeout=60 + (args.trials or 0) * 0.1)
            if args.trials:
                print(f"sitegen serve built the catalog in {time.perf_counter() - started:.0f} s", file=sys.stderr,
                      flush=True)
            site = next((work / "tmp").glob("sitegen-serve-*")) / "site"
            faq = site / project.page
            to_disk, to_browser, to_index, bundles = [], [], [], set()
            wait = 10 if not args.trials else 600
            with sync_playwright() as p:
                browser = launch(p)
                page = browser.new_page()
                if args.trials:  # a catalog's server can be slow to answer while it rebuilds on a busy machine
                    page.set_default_timeout(wait * 1000)
                page.goto(url + project.url_path, wait_until="load")
                for run in range(args.runs):
                    page.wait_for_function(CONNECTED, timeout=wait * 1000)
                    time.sleep(0.2)  # each save a burst of its own
                    marker = f"Edit {run}: the trial does not say"
                    text = project.edited(marker)
                    entries = entry_files(site) if args.trials else {}
                    with page.expect_event("load", timeout=wait * 1000):
                        project.file.write_text(text, encoding="utf-8")
                        saved_perf, saved_epoch = time.perf_counter(), time.time()
                        index = _watch_index(site, entries, saved_perf) if args.trials else None
                        stamp = None
                        while True:
                            now = _stamp(faq)  # a stat a millisecond; the page is read only when it changed
                            if now != stamp and marker.encode() in _read(faq):
                                break
                            stamp = now
                            if time.perf_counter() - saved_perf > wait:
                                raise SystemExit(f"the rebuilt page did not reach the disk within {wait} s")
                            time.sleep(0.001)
                        to_disk.append(time.perf_counter() - saved_perf)
                    page.wait_for_function(f"() => document.body.innerText.includes({marker!r})")
                    to_browser.append(page.evaluate(PAINTED) / 1000 - saved_epoch)
                    if index is not None:
                        index[0].join(INDEX_WAIT_SECONDS + 1)
                        if index[1]:
                            to_index.append(index[1][0][0])
                            bundles.update(index[1][0][1])
                browser.close()
        except BaseException:
            print("sitegen serve said:\n" + "".join(said[-20:]), file=sys.stderr)
            raise
        finally:
            _stop(proc)
    options = f"--runs {args.runs}" + (f" --trials {args.trials}" if args.trials else "")
    print(f"$ python bench/serve_latency.py {options}   ({os.cpu_count()} CPUs)")
    if args.trials:
        print(f"a catalog of {args.trials:,} generated trials{'' if entries else ', no search index'}; "
              f"edited: {project.file.name}")
    print(f"save -> rebuilt page on disk:    {_summary(to_disk)}")
    print(f"save -> browser shows it:        {_summary(to_browser)}")
    rebuilds = rebuild_seconds(said)
    if args.trials and rebuilds:
        print(f"the server's own rebuild time:   {_summary(rebuilds)}")
    if args.trials:
        missed = args.runs - len(to_index)
        print(f"save -> search index changed:    {_summary(to_index) if to_index else 'never'}"
              f"{f' ({missed} saves not within {INDEX_WAIT_SECONDS} s)' if missed else ''}"
              f"{'; in ' + ', '.join(name + '/' for name in sorted(bundles)) if bundles else ''}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--trials", type=int, metavar="N",
                        help="serve a catalog of N generated trials instead of the default site")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated trials (default: 0)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.trials is not None and args.trials < 1:
        parser.error("--trials must be at least 1")
    return args


_REBUILT = re.compile(r" changed: (?:re-rendered .* in (\d+) ms|nothing to re-render \((\d+) ms\))$")


def rebuild_seconds(said: list[str]) -> list[float]:
    """The rebuild times `sitegen serve` printed after each save ('x.yaml changed: re-rendered ... in 812 ms')."""
    return [int(found[1] or found[2]) / 1000 for line in said if (found := _REBUILT.search(line.rstrip()))]


def entry_files(site: Path) -> dict[str, bytes]:
    """The search index's index.json in the served folder, by its folder's name (none before the first build)."""
    return {path.parent.name: _read(path) for path in sorted(site.glob("search/index.json"))}


def changed_bundles(before: dict[str, bytes], after: dict[str, bytes]) -> list[str]:
    """The index folders whose index.json is new or changed (one that is gone is not a change of the index)."""
    return sorted(name for name, data in after.items() if data and before.get(name) != data)


def wait_for_new_entry(site: Path, before: dict[str, bytes], saved: float,
                       timeout: float) -> tuple[float, list[str]] | None:
    """Seconds from `saved` (a time.perf_counter()) until an index.json differs from `before`, and which folders
    changed; None if none did within `timeout` seconds of `saved`."""
    while time.perf_counter() - saved < timeout:
        changed = changed_bundles(before, entry_files(site))
        if changed:
            return time.perf_counter() - saved, changed
        time.sleep(0.005)
    return None


def _watch_index(site: Path, before: dict[str, bytes],
                 saved: float) -> tuple[threading.Thread, list[tuple[float, list[str]]]]:
    """A thread, started, that looks for a changed index.json while the page is rebuilt and shown; and the list
    it puts the time and the changed folders in (empty if none changed within INDEX_WAIT_SECONDS)."""
    found: list[tuple[float, list[str]]] = []

    def look() -> None:
        changed = wait_for_new_entry(site, before, saved, INDEX_WAIT_SECONDS)
        if changed is not None:
            found.append(changed)

    thread = threading.Thread(target=look, daemon=True)
    thread.start()
    return thread, found


def _stop(proc: subprocess.Popen[str]) -> None:
    """Stop the server: Ctrl-C's signal, then, if it is still busy a minute later, kill it."""
    proc.terminate()
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=60)


def _served_url(proc: subprocess.Popen[str], said: list[str], timeout: float = 60) -> str:
    """The address the server prints when it is ready; its output goes on into `said` (read to the end, so
    that the server never blocks on a full pipe)."""
    found: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            said.append(line)
            if line.startswith("Serving ") and not found:
                found.append(line.split()[1])

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.perf_counter() + timeout
    while not found and reader.is_alive() and time.perf_counter() < deadline:
        time.sleep(0.05)
    if not found:
        raise SystemExit("sitegen serve did not start")
    return found[0]


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:  # between the two renames of a swap on a system without renameat2
        return b""


def _summary(seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return f"median {statistics.median(ms):.0f} ms (min {min(ms):.0f}, max {max(ms):.0f}, {len(ms)} saves)"


if __name__ == "__main__":
    main()
