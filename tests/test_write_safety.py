"""What writing the output guarantees: builds into one folder take turns; a build killed right after any file
operation of the writer is undone or finished by the next one; a full disk, a mount point or an output folder that
is a project input gives a clear message; one path has one producer; --jobs is bounded.

Builds killed or run two at a time are forked from this process (real processes, started without importing
sitegen again), so that every step can be tried in a few seconds."""

from __future__ import annotations

import concurrent.futures
import errno
import gc
import itertools
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType, SimpleNamespace

import jinja2
import pytest
from test_catalog import edit, make_catalog

from sitegen import write
from sitegen.build import build
from sitegen.catalog import build as build_module
from sitegen.catalog import parallel
from sitegen.catalog import state as cache
from sitegen.project import Project
from sitegen.cli import main
from sitegen.errors import ContentError

ROOT = Path(__file__).resolve().parent.parent
WRITER_FILES = {write.__file__, cache.__file__}
# every file operation the writer (and the catalog's cache beside it) makes, each patched in turn to kill the build
OPERATIONS: list[tuple[ModuleType, str]] = [
    (write, "_write_bytes"), (os, "fsync"), (os, "mkdir"), (os, "utime"), (os, "replace"), (os, "rename"),
    (write, "_exchange"), (os, "unlink"), (os, "rmdir"), (shutil, "rmtree"),
]


class _CompiledOnce(jinja2.BytecodeCache):
    """Templates compiled once per test process, not once per build (forked builds inherit them): a build then takes
    about 50 ms, not 250, and trying every step takes seconds. The output is the same."""

    def __init__(self) -> None:
        self.codes: dict[str, tuple[str, bytes]] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        checksum, code = self.codes.get(bucket.key, ("", b""))
        if checksum == bucket.checksum:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.codes[bucket.key] = (bucket.checksum, bucket.bytecode_to_string())


COMPILED = _CompiledOnce()


@pytest.fixture(autouse=True)
def _templates_compiled_once(monkeypatch: pytest.MonkeyPatch) -> None:
    real = jinja2.Environment.__init__

    def init(self: jinja2.Environment, *args: object, **kwargs: object) -> None:
        real(self, *args, **kwargs)  # type: ignore[arg-type]
        self.bytecode_cache = self.bytecode_cache or COMPILED

    monkeypatch.setattr(jinja2.Environment, "__init__", init)


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _leftovers(out: Path) -> list[str]:
    """What a build left beside the output folder besides the catalog's cache: nothing, once it is done."""
    return sorted(p.name for p in out.parent.iterdir()
                  if p.name.startswith(f".{out.name}.sitegen-") and p.name != cache.folder(out).name)


def _single(root: Path) -> Project:
    shutil.copytree(ROOT / "content", root / "content")
    return Project.at(root / "content")


def _forked(run: Callable[[], int]) -> int:
    """Run `run` in a forked process; its wait status (exit status `run()`, or killed)."""
    pid = os.fork()
    if pid == 0:
        code = 3
        try:
            code = run()
        except BaseException:  # noqa: BLE001 - shown in the test's output, and the exit status says it failed
            traceback.print_exc()
        finally:
            os._exit(code)
    return os.waitpid(pid, 0)[1]


def _kill_after(module: ModuleType, name: str, n: int) -> None:
    """Make the `n`th call of `module.name` made by the writer kill this process (SIGKILL) right after it is done."""
    real = getattr(module, name)
    calls = 0

    def operation(*args: object, **kwargs: object) -> object:
        nonlocal calls
        result = real(*args, **kwargs)
        frame = sys._getframe(1)
        while frame is not None and frame.f_code.co_filename not in WRITER_FILES:
            frame = frame.f_back  # type: ignore[assignment]
        if frame is not None:
            calls += 1
            if calls == n:
                os.kill(os.getpid(), signal.SIGKILL)
        return result

    setattr(module, name, operation)


def _snapshot(out: Path, snapshot: Path) -> None:
    """Keep the output folder and the catalog's cache beside it as they are now."""
    shutil.copytree(out, snapshot / "out", symlinks=True)
    if cache.folder(out).exists():
        shutil.copytree(cache.folder(out), snapshot / "cache")


def _restore(snapshot: Path, out: Path) -> None:
    for place in [out, *out.parent.glob(f".{out.name}.sitegen-*")]:
        shutil.rmtree(place) if place.is_dir() else place.unlink()
    shutil.copytree(snapshot / "out", out, symlinks=True)
    if (snapshot / "cache").exists():
        shutil.copytree(snapshot / "cache", cache.folder(out))


def _kill_at_every_step(out: Path, snapshot: Path, rebuild: Callable[[], object], expected: dict[str, bytes],
                        operations: list[tuple[ModuleType, str]] = OPERATIONS,
                        prepare: Callable[[], None] = lambda: None) -> int:
    """For each file operation of the writer, and each N until the build completes: kill a build right after its
    Nth call of that operation (starting each time from the output `snapshot`), then build again. Every such build
    must succeed and leave the output byte for byte as a clean build, with nothing beside it. Returns the kills."""
    kills = 0
    for module, name in operations:
        for n in itertools.count(1):
            _restore(snapshot, out)

            def killed(module: ModuleType = module, name: str = name, n: int = n) -> int:
                prepare()
                _kill_after(module, name, n)
                rebuild()
                return 0

            status = _forked(killed)
            if os.WIFEXITED(status):
                assert os.WEXITSTATUS(status) == 0, f"the build failed before call {n} of {name}"
                break
            assert os.WTERMSIG(status) == signal.SIGKILL
            kills += 1
            rebuild()
            assert _files(out) == expected, f"after a kill right after call {n} of {name}"
            assert _leftovers(out) == [], f"after a kill right after call {n} of {name}"
    return kills


def test_a_single_site_build_killed_after_any_write_step_is_undone_by_the_next(tmp_path: Path) -> None:
    project = _single(tmp_path / "project")
    out = tmp_path / "output"
    build(project, out)
    _snapshot(out, tmp_path / "before")
    edit(project.content / "trial.yaml", "Palo Alto", "Menlo Park")
    build(project, tmp_path / "clean")
    expected = _files(tmp_path / "clean")
    assert _kill_at_every_step(out, tmp_path / "before", lambda: build(project, out), expected) > 40

    def without_renameat2() -> None:  # the swap by two renames, where the system cannot exchange two folders
        write._exchange = lambda a, b: False  # type: ignore[assignment]

    swap = [(os, "replace"), (shutil, "rmtree")]
    assert _kill_at_every_step(out, tmp_path / "before", lambda: build(project, out), expected, swap,
                               prepare=without_renameat2) >= 3


def test_a_catalog_build_killed_after_any_write_step_is_finished_by_the_next(tmp_path: Path) -> None:
    """Issue 15, item 1: a kill just after an emptied listing folder was removed stopped every later build."""
    project = make_catalog(tmp_path / "project", 1)
    out = tmp_path / "output"
    build(project, out, jobs=1)
    _snapshot(out, tmp_path / "before")
    edit(project.content / "trials" / "trial-0.yaml", "condition: Soft tissue sarcoma", "condition: Melanoma")
    build(project, tmp_path / "clean", jobs=1)
    assert not (tmp_path / "clean" / "conditions" / "soft-tissue-sarcoma").exists()  # a listing folder is removed
    expected = _files(tmp_path / "clean")
    assert _kill_at_every_step(out, tmp_path / "before", lambda: build(project, out, jobs=1), expected) > 50


def test_a_journal_replayed_after_it_removed_a_folder_finishes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_catalog(tmp_path / "project", 2)
    out = tmp_path / "output"
    build(project, out, jobs=1)
    edit(project.content / "trials" / "trial-1.yaml", "condition: Breast cancer", "condition: Melanoma")
    real = os.rmdir

    def interrupted(path: object, **kwargs: object) -> None:  # stopped right after the listing folder went
        real(path, **kwargs)  # type: ignore[arg-type]
        if isinstance(path, Path) and path.is_relative_to(out):
            raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(os, "rmdir", interrupted)
        with pytest.raises(KeyboardInterrupt):
            build(project, out, jobs=1)
    assert (tmp_path / ".output.sitegen-journal").exists()
    build(project, out, jobs=1)
    build(project, tmp_path / "clean", jobs=1)
    assert _files(out) == _files(tmp_path / "clean")


def _variants(project: Project, kind: str) -> tuple[Callable[[int], None], list[dict[str, bytes]], Path]:
    """Two versions of the content (set by round number) and the clean build of each."""
    trial = project.content / ("trial.yaml" if kind == "single" else "trials/trial-1.yaml")
    texts = [trial.read_text(encoding="utf-8")]
    texts.append(texts[0].replace("answer: ", "answer: Edited. ", 1))

    def use(variant: int) -> None:
        trial.write_text(texts[variant], encoding="utf-8")

    expected = []
    for variant in (0, 1):
        use(variant)
        clean = project.content.parent.parent / f"clean-{variant}"
        build(project, clean, jobs=1)
        expected.append(_files(clean))
    return use, expected, trial


@pytest.mark.parametrize("kind", ["single", "catalog"])
def test_builds_two_at_a_time_take_turns_and_never_report_success_over_a_broken_output(kind: str, tmp_path: Path) -> None:
    project = _single(tmp_path / "project") if kind == "single" else make_catalog(tmp_path / "project", 5)
    use, expected, _ = _variants(project, kind)
    out = tmp_path / "output"
    for round_ in range(20):
        variant = round_ % 2
        use(variant)
        logs = [tmp_path / f"build-{round_}-{i}.log" for i in (0, 1)]

        def start(log: Path, jobs: str) -> int:
            pid = os.fork()
            if pid == 0:
                code = 3
                try:
                    sys.stdout = sys.stderr = open(log, "w", encoding="utf-8")  # noqa: SIM115 - flushed on exit
                    code = main(["build", "--content", str(project.content), "--output", str(out), "--jobs", jobs])
                    sys.stdout.flush()
                finally:
                    os._exit(code)
            return pid

        pids = [start(logs[0], "1"), start(logs[1], "2")]
        statuses = [os.waitpid(pid, 0)[1] for pid in pids]
        for status, log in zip(statuses, logs):
            text = log.read_text(encoding="utf-8")
            assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, text
            assert "Built " in text
        assert _files(out) == expected[variant], f"round {round_}"
        assert _leftovers(out) == []


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] not in "ZX"
    except (FileNotFoundError, IndexError):
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a worker dies with its build on Linux")
def test_worker_processes_die_with_a_killed_build(tmp_path: Path) -> None:
    """An orphaned worker would go on writing a trial's files into a staging folder of a build that is gone."""
    project = make_catalog(tmp_path / "project", 4)
    out, pids = tmp_path / "output", tmp_path / "workers"

    def slow_build() -> int:
        real = build_module.TrialBuilder.build

        def slow(self: build_module.TrialBuilder, task: object) -> object:
            with open(pids, "a", encoding="utf-8") as f:
                f.write(f"{os.getpid()}\n")
            time.sleep(60)
            return real(self, task)  # type: ignore[arg-type]

        build_module.TrialBuilder.build = slow  # type: ignore[method-assign,assignment]
        build(project, out, jobs=2)
        return 0

    pid = os.fork()
    if pid == 0:
        os._exit(slow_build())
    deadline = time.monotonic() + 30
    while (not pids.exists() or len(pids.read_text().split()) < 2) and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = [int(w) for w in pids.read_text().split()]
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    deadline = time.monotonic() + 10
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [w for w in workers if _alive(w)]
    build(project, out, jobs=2)
    build(project, tmp_path / "clean", jobs=1)
    assert _files(out) == _files(tmp_path / "clean") and _leftovers(out) == []


_TWO_CTRL_C = """
import os, signal, sys, time
from sitegen.catalog.parallel import map_in_processes

# Ctrl-C as in a terminal: a process started in the background by a shell (as a CI job may be) starts with SIGINT
# ignored, and Python then leaves it ignored
signal.signal(signal.SIGINT, signal.default_int_handler)

def make():
    def work(n):
        with open(sys.argv[1], "a", encoding="utf-8") as f:
            f.write(f"{os.getpid()}\\n")
        time.sleep(1)
        return n
    return work

try:
    list(map_in_processes(make, list(range(40)), 2, "tasks"))
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(130)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="signals to a process group")
def test_ctrl_c_twice_stops_a_build_on_every_core(tmp_path: Path) -> None:
    """A second Ctrl-C while the first one stopped the worker processes broke off the wait for them: the build
    printed a traceback, or waited for its workers at exit, and they for it, for good."""
    started = tmp_path / "started"
    proc = subprocess.Popen([sys.executable, "-c", _TWO_CTRL_C, str(started)], start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    try:
        deadline = time.monotonic() + 30
        while (not started.exists() or len(set(started.read_text().split())) < 2) and time.monotonic() < deadline:
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches the build and its workers
        time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130 and stdout == "interrupted\n" and "Traceback" not in stderr, stderr[-3000:]


# The console script (`from sitegen.cli import main; sys.exit(main())`), with a Ctrl-C pressed just as the module
# argv[1] starts to load: a finder that only presses it, then leaves the loading to the others.
_CTRL_C_AT_LOAD = """
import os, signal, sys

signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal: a run started in the background ignores it

class Press:
    def find_spec(self, name, path=None, target=None):
        if name == sys.argv[1]:
            os.kill(os.getpid(), signal.SIGINT)
        return None

sys.meta_path.insert(0, Press())
from sitegen.cli import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.parametrize("module", ["sitegen.errors", "sitegen.project", "sitegen.build", "sitegen.write",
                                    "sitegen.render"])
def test_ctrl_c_while_sitegen_starts_is_a_message_not_a_traceback(tmp_path: Path, module: str) -> None:
    """Found by a hostile review: a Ctrl-C in the first tenth of a second of a build, while sitegen loaded its
    modules, printed a traceback (about one Ctrl-C in ten, pressed at random in the first second)."""
    project = _single(tmp_path / "project")
    out = tmp_path / "output"
    result = subprocess.run([sys.executable, "-c", _CTRL_C_AT_LOAD, module, "build", "--content",
                             str(project.content), "--output", str(out)], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert result.returncode == 130 and "Traceback" not in result.stderr, result.stderr[-3000:]
    assert result.stderr == "sitegen: interrupted; the output folder was left as it was\n"
    assert not out.exists()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["sigterm", "sighup"])
def test_a_check_stopped_by_sigterm_or_sighup_removes_the_site_it_was_building(tmp_path: Path, signum: int) -> None:
    """Found by a hostile review: `sitegen check` builds the site in a temporary folder, and SIGTERM (`timeout`, a
    CI job's time limit) or SIGHUP (its terminal closed) ended it where it stood, leaving that folder, a whole
    catalog's site and cache, in the temporary folder for good."""
    project = make_catalog(tmp_path / "project", count=30)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "sitegen", "check", "--content", str(project.content)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_DFL),  # as in a terminal
                            env={**os.environ, "TMPDIR": str(tmp), "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 30
        while not list(tmp.glob("*/.site.sitegen-lock")) and time.monotonic() < deadline:  # building there
            time.sleep(0.002)
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130 and "sitegen: interrupted" in stderr and "Traceback" not in stderr, stderr[-3000:]
    assert list(tmp.iterdir()) == []


def test_a_second_build_waits_for_the_first_and_says_for_whom(tmp_path: Path) -> None:
    project = _single(tmp_path / "project")
    out = tmp_path / "output"
    with write.output_lock(out):
        proc = subprocess.Popen(
            [sys.executable, "-m", "sitegen", "build", "--content", str(project.content), "--output", str(out)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8", cwd=tmp_path,
        )
        assert proc.stderr is not None
        assert proc.stderr.readline() == f"sitegen: waiting for the build with PID {os.getpid()} to finish…\n"
        time.sleep(0.3)
        assert proc.poll() is None and not out.exists()
    stdout, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0 and stdout.startswith("Built 1 trial")
    assert _leftovers(out) == []


def test_a_signal_while_the_lock_is_taken_interrupts_cleanly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by CI: a check stopped by SIGTERM just as it wrote its PID into the lock raised KeyError from the lock's
    cleanup instead of the KeyboardInterrupt that ends it quietly (exit 130)."""
    out = tmp_path / "output"
    pwrite = os.pwrite

    def interrupted(fd: int, data: bytes, offset: int) -> int:
        raise KeyboardInterrupt  # as cli's SIGTERM handler raises it

    monkeypatch.setattr(os, "pwrite", interrupted)
    with pytest.raises(KeyboardInterrupt), write.output_lock(out):
        pass
    monkeypatch.setattr(os, "pwrite", pwrite)
    assert not (tmp_path / ".output.sitegen-lock").exists()
    with write.output_lock(out):  # taken again, not held over
        assert (tmp_path / ".output.sitegen-lock").read_text() == f"{os.getpid()}\n"


def test_a_full_disk_when_the_lock_is_taken_names_the_lock_file(tmp_path: Path, capsys,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Found on a full 5 MB tmpfs: writing the PID into the lock failed as 'sitegen: a file: No space left on
    device', naming no file."""
    project = _single(tmp_path / "project")
    with monkeypatch.context() as m:
        m.setattr(os, "pwrite", lambda fd, data, offset: _no_space(tmp_path, data))
        assert main(["build", "--content", str(project.content), "--output", str(tmp_path / "output")]) == 1
    err = capsys.readouterr().err
    assert err == f"sitegen: {tmp_path.resolve()}/.output.sitegen-lock: cannot write: No space left on device\n"
    assert not (tmp_path / "output").exists() and _leftovers(tmp_path / "output") == []
    build(project, tmp_path / "output")  # the lock is not held over


def test_the_lock_of_a_killed_build_does_not_hold_up_the_next(tmp_path: Path) -> None:
    project = _single(tmp_path / "project")
    out = tmp_path / "output"

    def dies_holding_the_lock() -> int:
        with write.output_lock(out):
            os.kill(os.getpid(), signal.SIGKILL)
        return 0

    assert os.WIFSIGNALED(_forked(dies_holding_the_lock))
    assert (tmp_path / ".output.sitegen-lock").exists()  # left by the killed build, with its PID
    started = time.monotonic()
    build(project, out)
    assert time.monotonic() - started < 10 and _leftovers(out) == []


def test_a_second_output_on_one_path_is_an_error_naming_both_producers(tmp_path: Path) -> None:
    out = tmp_path / "output"
    with write.output_lock(out):
        writer = write.Writer(out)
        writer.add("conditions/other/index.html", b"1", "the listing of Sarcoma")
        writer.claim("index.html", "the home page")
        with pytest.raises(ContentError) as raised:
            writer.add("conditions/other/index.html", b"2", "the listing of Melanoma")
        assert str(raised.value) == ("conditions/other/index.html: two outputs on one path: made by the listing of "
                                     "Sarcoma and by the listing of Melanoma; give one of them another name")
        with pytest.raises(ContentError, match="^index.html: two outputs on one path: made by the home page and by "
                                               "the 404 page"):
            writer.claim("index.html", "the 404 page")
        writer.discard()
    assert not out.exists() and _leftovers(out) == []


def _no_space(path: Path, data: bytes, sync: bool = False) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("kind", ["single", "catalog"])
def test_a_full_disk_names_the_output_file_and_leaves_the_old_site(kind: str, tmp_path: Path, capsys,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    project = _single(tmp_path / "project") if kind == "single" else make_catalog(tmp_path / "project", 3)
    use, _, trial = _variants(project, kind)
    out = tmp_path / "output"
    use(0)
    build(project, out, jobs=1)
    before = _files(out)
    use(1)
    monkeypatch.setattr(write, "_write_bytes", _no_space)
    assert main(["build", "--content", str(project.content), "--output", str(out), "--jobs", "2"]) == 1
    err = capsys.readouterr().err
    assert f"sitegen: {out.resolve()}/" in err and ": cannot write: No space left on device" in err, err
    assert str(trial) not in err and "cannot read" not in err
    assert _files(out) == before and _leftovers(out) == []
    shutil.rmtree(cache.folder(out), ignore_errors=True)  # a first build of a catalog, on its worker processes
    shutil.rmtree(out)
    assert main(["build", "--content", str(project.content), "--output", str(out), "--jobs", "2"]) == 1
    err = capsys.readouterr().err
    assert f"sitegen: {out.resolve()}/" in err and "cannot read" not in err, err
    assert not out.exists() and _leftovers(out) == []


def test_a_full_disk_while_keeping_the_catalog_record_names_it(tmp_path: Path, capsys,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_catalog(tmp_path / "project", 2)
    out = tmp_path / "output"

    def no_space(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(cache, "pickle", SimpleNamespace(dump=no_space, load=cache.pickle.load, HIGHEST_PROTOCOL=5))
        assert main(["build", "--content", str(project.content), "--output", str(out), "--jobs", "1"]) == 1
    err = capsys.readouterr().err
    assert f"sitegen: {cache.folder(out)}/build.pickle.tmp: cannot keep the build record: No space left on device" in err
    build(project, tmp_path / "clean", jobs=1)
    assert _files(out) == _files(tmp_path / "clean")
    assert main(["build", "--content", str(project.content), "--output", str(out), "--jobs", "1"]) == 0
    assert _files(out) == _files(tmp_path / "clean") and _leftovers(out) == []
    assert sorted(p.name for p in cache.folder(out).iterdir()) == sorted([cache.BASE, cache.HEAD, cache.TERMS])
    assert not list((Path(os.environ["XDG_CACHE_HOME"]) / "sitegen").rglob("*.tmp"))  # nor in the compiled templates


def test_an_output_folder_that_cannot_be_renamed_has_its_contents_replaced(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """--output at a mount point (a Docker volume): the folder cannot be renamed (EBUSY), and a file cannot be
    renamed into it from beside it (EXDEV, another file system)."""
    project = _single(tmp_path / "project")
    out = tmp_path / "output"
    build(project, out)
    (out / "gone.html").write_bytes(b"a page of the last build that this one does not make")
    folder, style = out.stat().st_ino, (out / "style.css").stat().st_mtime_ns
    edit(project.content / "trial.yaml", "Palo Alto", "Menlo Park")
    real = os.replace

    def mount_point(src: str, dst: str, **kwargs: object) -> None:
        if Path(src) == out or Path(dst) == out:
            raise OSError(errno.EBUSY, "Device or resource busy", src)
        if Path(dst).is_relative_to(out) and not Path(src).is_relative_to(out):
            raise OSError(errno.EXDEV, "Invalid cross-device link", src)
        real(src, dst, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(write, "_exchange", lambda a, b: False)
    monkeypatch.setattr(os, "replace", mount_point)
    build(project, out)
    monkeypatch.undo()
    build(project, tmp_path / "clean")
    assert _files(out) == _files(tmp_path / "clean")
    assert out.stat().st_ino == folder and (out / "style.css").stat().st_mtime_ns == style
    assert _leftovers(out) == []


@pytest.mark.parametrize("name", ["templates", "static", "static/site", "content", "templates/a/b", "."])
def test_an_output_folder_that_is_a_project_input_is_refused_whether_it_exists_or_not(tmp_path: Path, name: str,
                                                                                       capsys) -> None:
    root = tmp_path / "project"
    shutil.copytree(ROOT / "content", root / "content")  # no templates/ or static/ of its own: sitegen's are used
    output = root / name
    assert main(["build", "--content", str(root / "content"), "--output", str(output)]) == 1
    assert "refusing to build into" in capsys.readouterr().err
    assert sorted(p.name for p in root.iterdir()) == ["content"]


def test_tasks_run_with_new_objects_collected_less_often_and_the_build_s_process_gets_its_thresholds_back(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "default_jobs", lambda: 2)
    before = gc.get_threshold()
    young = parallel.YOUNG_THRESHOLD
    assert before[0] != young
    for jobs in (2, 1):
        seen = list(parallel.map_in_processes(lambda: lambda task: (task, gc.get_threshold()), [1, 2, 3], jobs, "tasks"))
        assert seen == [(task, (young, *before[1:])) for task in (1, 2, 3)], jobs
        assert gc.get_threshold() == before
    unfinished = parallel.map_in_processes(lambda: lambda task: task, [1, 2, 3], 1, "tasks")
    assert next(unfinished) == 1 and gc.get_threshold() == before  # between tasks, the caller's own thresholds
    unfinished.close()


def test_jobs_is_capped_at_twice_the_cpus_and_the_trials_and_a_line_says_so(tmp_path: Path, capsys,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "default_jobs", lambda: 2)
    assert parallel.capped_jobs(99999, 500, "trials to build") == 4
    assert capsys.readouterr().err == "sitegen: --jobs 99999 lowered to 4 (2 CPUs, 500 trials to build)\n"
    assert parallel.capped_jobs(2, 1, "trials to build") == 1 and parallel.capped_jobs(1, 5, "trials to build") == 1
    assert capsys.readouterr().err == ""  # not more than the CPUs was asked for: nothing to say
    started = []
    real = concurrent.futures.ProcessPoolExecutor  # parallel.py imports it only when it starts workers

    def pool(workers: int, **kwargs: object) -> object:
        started.append(workers)
        return real(workers, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", pool)
    monkeypatch.setattr(build_module, "PARALLEL_OUTPUTS", 1)  # the listing pages are made by processes too
    project = make_catalog(tmp_path / "project", 3)
    assert main(["build", "--content", str(project.content), "--output", str(tmp_path / "out"), "--jobs", "99999"]) == 0
    assert started == [3, 4]
    err = capsys.readouterr().err
    assert "sitegen: --jobs 99999 lowered to 3 (2 CPUs, 3 trials to build)\n" in err
    assert re.search(r"sitegen: --jobs 99999 lowered to 4 \(2 CPUs, \d+ pages to make\)\n", err)


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_the_output_folder_has_the_umask_s_mode_and_keeps_one_a_user_gave_it(project: Project, tmp_path: Path,
                                                                            umask: int) -> None:
    """A web server or another user reads output/: it is made as any folder is (not the owner's alone, as a
    temporary folder is), and a mode the user set on it is kept by the builds after."""
    out = tmp_path / "out"
    old = os.umask(umask)
    try:
        build(project, out)
        assert out.stat().st_mode & 0o777 == 0o777 & ~umask
        out.chmod(0o751)
        edit(project.content / "trial.yaml", "answer: >-", "answer: >-\n      Changed.")  # a new tree swapped in
        build(project, out)
        assert out.stat().st_mode & 0o777 == 0o751
    finally:
        os.umask(old)
