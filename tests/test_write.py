"""Atomic output: a killed build leaves the old site whole; paths can never leave the output folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sitegen import write
from sitegen.build import build
from sitegen.errors import ContentError

ROOT = Path(__file__).resolve().parent.parent

SLOW_BUILD = """
import sys, time
from pathlib import Path
import sitegen.write as w
real = w.stage_file
def slow(folder, name, data):
    print("writing", name, flush=True)
    time.sleep(0.2)
    return real(folder, name, data)
w.stage_file = slow
from sitegen.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_build_killed_mid_write_leaves_the_old_site_intact(project, tmp_path: Path) -> None:
    out = tmp_path / "output"
    build(project, out)
    before = _files(out)
    trial = project.content / "trial.yaml"
    trial.write_text(trial.read_text().replace("Palo Alto", "Menlo Park"))
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_BUILD, "build", "--content", str(project.content), "--output", str(out)],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )
    assert proc.stdout is not None
    for _ in range(3):  # let it write a few files of the new tree, then kill it
        assert proc.stdout.readline().startswith("writing")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert _files(out) == before
    build(project, out)  # the next build cleans up what the killed one left
    assert "Menlo Park" in (out / "index.html").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["output", "project"] or (tmp_path / "output").exists()
    assert not [p for p in tmp_path.iterdir() if "sitegen-" in p.name]


def test_swap_interrupted_between_renames_is_recovered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "output"
    write.write_site({"index.html": b"old"}, out)
    monkeypatch.setattr(write, "_exchange", lambda a, b: False)  # a system without renameat2
    real_replace = os.replace
    calls = []

    def fails_on_second_rename(src: os.PathLike[str], dst: os.PathLike[str]) -> None:
        calls.append(src)
        if len(calls) == 2:
            raise KeyboardInterrupt  # Ctrl-C between the two renames (a kill there: test_write_safety.py)
        real_replace(src, dst)

    monkeypatch.setattr(write.os, "replace", fails_on_second_rename)
    with pytest.raises(KeyboardInterrupt):
        write.write_site({"index.html": b"new"}, out)
    monkeypatch.setattr(write.os, "replace", real_replace)
    assert (out / "index.html").read_bytes() == b"old"  # put back at once
    assert not [p for p in tmp_path.iterdir() if "sitegen-" in p.name]
    write.write_site({"index.html": b"new"}, out)
    assert (out / "index.html").read_bytes() == b"new"


@pytest.mark.parametrize("name", ["../escape.html", "/etc/passwd", "a/../../b", "..\\x", ""])
def test_paths_cannot_leave_the_output_folder(tmp_path: Path, name: str) -> None:
    with pytest.raises(ContentError):
        write.write_site({name: b"x"}, tmp_path / "out")
    assert not (tmp_path / "escape.html").exists()


def test_marker_lets_sitegen_replace_its_own_folder_only(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write.write_site({"a.html": b"1"}, out)
    assert (out / write.MARKER).exists()
    with pytest.raises(ContentError, match="two outputs on one path"):  # no output may take the marker's place
        write.write_site({write.MARKER: b"mine"}, out)
    write.check_output_dir(out, tmp_path / 'project', [])
    (out / write.MARKER).unlink()
    with pytest.raises(ContentError):
        write.check_output_dir(out, tmp_path / 'project', [])


def test_rebuild_time_is_not_spent_on_unchanged_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write.write_site({"a.html": b"1", "b.html": b"2"}, out)
    old = (out / "a.html").stat().st_mtime_ns
    marked = (out / write.MARKER).stat().st_mtime_ns
    time.sleep(0.01)
    assert write.write_site({"a.html": b"1", "b.html": b"3"}, out) == ("b.html",)
    assert (out / "a.html").stat().st_mtime_ns == old
    assert (out / write.MARKER).stat().st_mtime_ns == marked  # its bytes did not change either: rsync skips it
