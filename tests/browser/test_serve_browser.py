"""`sitegen serve` in Chromium: a save shows up in the page already open, without anyone reloading it; a mistake
shows the error panel with the line `sitegen check` names; fixing it takes the panel away.

The server is started as a user starts it (`sitegen serve`, a subprocess) on a copy of the default project.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .tools import ROOT

CONNECTED = "() => Boolean(window.LiveReload && window.LiveReload.connector && window.LiveReload.connector.protocol)"
RELOADS = "() => performance.getEntriesByType('navigation')[0].type"


class Serve:
    """`sitegen serve --port 0` on a project, its output read line by line."""

    def __init__(self, content: Path, tmp: Path) -> None:
        tmp.mkdir()
        self.tmp = tmp
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sitegen", "serve", "--content", str(content), "--port", "0"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "TMPDIR": str(tmp), "PYTHONPATH": str(ROOT), "PYTHONFAULTHANDLER": "1"},
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.05)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            self.seen.append(line)
            if found := re.search(pattern, line):
                return found
        raise AssertionError(f"sitegen serve printed no line matching {pattern!r}:\n" + "\n".join(self.seen))

    def stop(self) -> int:
        """Ctrl-C, as a user stops it. A server that does not end is aborted, and the failure shows where each of
        its threads was (faulthandler prints them on SIGABRT)."""
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGABRT)
            self.proc.wait(timeout=10)
            time.sleep(0.5)  # the reader takes the last lines
            while not self.lines.empty():
                self.seen.append(self.lines.get())
            raise AssertionError("sitegen serve did not stop on Ctrl-C:\n" + "\n".join(self.seen)) from None


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the default project; returns its content folder."""
    shutil.copytree(ROOT / "content", tmp_path / "content")
    for name in ("templates", "static"):  # full copies of sitegen's own, for tests that edit them
        shutil.copytree(ROOT / "sitegen" / name, tmp_path / name)
    return tmp_path / "content"


@pytest.fixture
def server(project: Path, tmp_path: Path) -> Iterator[Serve]:
    serve = Serve(project, tmp_path / "tmp")
    yield serve
    if serve.proc.poll() is None:
        serve.proc.kill()
        serve.proc.wait()


def test_a_save_reloads_the_open_page_and_a_mistake_shows_where_it_is(open_page, server: Serve, project: Path) -> None:
    url = server.wait_for(r"^Serving (http://127\.0\.0\.1:\d+/)").group(1)
    page = open_page(url + "faq/")
    page.wait_for_function(CONNECTED)
    assert page.evaluate(RELOADS) == "navigate"
    trial = project / "trial.yaml"
    good = trial.read_text(encoding="utf-8")

    # A new answer appears in the open page: livereload reloaded it, nobody else did.
    new_answer = "The trial does not say whether you must stop taking your current medications"
    trial.write_text(good.replace("The trial does not specify if you must stop taking your current medications",
                                  new_answer, 1), encoding="utf-8")
    expect(page.locator("main")).to_contain_text(new_answer, timeout=10_000)
    assert page.evaluate(RELOADS) == "reload"
    page.wait_for_function(CONNECTED)
    edited = trial.read_text(encoding="utf-8")

    # Broken YAML: the page stays (the last good build) and shows the panel with the file, line and column.
    lines = edited.splitlines(keepends=True)
    line = next(i for i, text in enumerate(lines) if text.strip().startswith("- question:")) + 1
    lines[line - 1] = lines[line - 1].replace("question: ", "question: oops: ", 1)
    trial.write_text("".join(lines), encoding="utf-8")
    expected = f"{trial}:{line}:19: not valid YAML: mapping values are not allowed here"
    check = subprocess.run([sys.executable, "-m", "sitegen", "check", "--content", str(project)], cwd=ROOT, check=False,
                           capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert check.returncode == 1 and check.stderr.splitlines()[0] == expected  # what `sitegen check` says
    panel = page.get_by_role("alert")
    expect(panel).to_contain_text(expected, timeout=10_000)
    expect(panel.locator("code")).to_have_text([expected])
    expect(page.locator("main")).to_contain_text(new_answer)  # still the last good site under the panel
    page.wait_for_function(CONNECTED)

    # Fixed: the panel goes on the next rebuild.
    trial.write_text(edited, encoding="utf-8")
    expect(page.get_by_role("alert")).to_have_count(0, timeout=10_000)
    expect(page.locator("main")).to_contain_text(new_answer)

    assert server.stop() == 0
    server.wait_for(r"^Stopped\.")
    assert not any("Traceback" in text for text in server.seen), "\n".join(server.seen)
