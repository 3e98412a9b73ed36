"""Time live editing of the default site: from a save of content/trial.yaml to the rebuilt FAQ page on disk, and
to Chromium showing it, with `sitegen serve` running as a user runs it (a subprocess on a copy of the project).

Usage: python bench/serve_latency.py [--runs 10]
Each run changes one FAQ answer. "On disk" is when the served folder's faq/index.html holds the new answer
(looked at every millisecond); "in the browser" is when the FAQ page, open in Chromium, has painted the reloaded
document (its first contentful paint, from the page's own performance timeline, on the same clock).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copytree(ROOT / "content", work / "content")
        for name in ("templates", "static"):
            shutil.copytree(ROOT / "sitegen" / name, work / name)
        (work / "tmp").mkdir()
        proc = subprocess.Popen(
            [sys.executable, "-m", "sitegen", "serve", "--content", str(work / "content"), "--port", "0"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            env={**os.environ, "TMPDIR": str(work / "tmp"), "PYTHONPATH": str(ROOT)},
        )
        try:
            url = _served_url(proc)
            faq = next((work / "tmp").glob("sitegen-serve-*")) / "site" / "faq" / "index.html"
            trial = work / "content" / "trial.yaml"
            text = trial.read_text(encoding="utf-8")
            to_disk, to_browser = [], []
            with sync_playwright() as p:
                browser = launch(p)
                page = browser.new_page()
                page.goto(url + "faq/", wait_until="load")
                for run in range(args.runs):
                    page.wait_for_function(CONNECTED)
                    time.sleep(0.2)  # each save a burst of its own
                    marker = f"Edit {run}: the trial does not say"
                    with page.expect_event("load", timeout=10_000):
                        trial.write_text(text.replace(ANSWER, marker, 1), encoding="utf-8")
                        saved_perf, saved_epoch = time.perf_counter(), time.time()
                        stamp = None
                        while True:
                            now = _stamp(faq)  # a stat a millisecond; the page is read only when it changed
                            if now != stamp and marker.encode() in _read(faq):
                                break
                            stamp = now
                            if time.perf_counter() - saved_perf > 10:
                                raise SystemExit("the rebuilt page did not reach the disk within 10 s")
                            time.sleep(0.001)
                        to_disk.append(time.perf_counter() - saved_perf)
                    page.wait_for_function(f"() => document.body.innerText.includes({marker!r})")
                    to_browser.append(page.evaluate(PAINTED) / 1000 - saved_epoch)
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    print(f"$ python bench/serve_latency.py --runs {args.runs}   ({os.cpu_count()} CPUs)")
    print(f"save -> rebuilt page on disk:    {_summary(to_disk)}")
    print(f"save -> browser shows it:        {_summary(to_browser)}")


def _served_url(proc: subprocess.Popen[str]) -> str:
    found: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("Serving "):
                found.append(line.split()[1])
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=60)
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
