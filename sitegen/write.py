"""Write the built site safely: one build at a time, atomically, and finished by the next build if killed.

One writer (Writer) serves a single site and a catalog alike. A build stages its new and changed files in a folder
of its own beside output/, each output path once (a second producer of a path is an error naming both). Then either
the staged tree is swapped in whole (a full build), or a journal names the files to move in and those to delete, and
they are moved in one rename each; a build killed at any point is undone (before its journal) or finished (after) by
the next one. Files whose bytes did not change keep their modification time, so rsync and static hosts upload only
what changed. An output folder that cannot itself be renamed (a mount point) has its contents replaced instead.

A lock file beside output/ (holding its holder's PID) makes a second build into the same folder wait for the first.
Nothing outside output/ and its `.output.sitegen-*` neighbours is touched.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import functools
import json
import os
import secrets
import shutil
import stat
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from .errors import ContentError, Problem

MARKER = ".sitegen-output"
INCOMING = ".sitegen-incoming"  # a file copied into an output folder on another file system, before its rename
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
_held: dict[Path, int] = {}  # the output folders whose lock this process holds, with how many times it took each


class WriteError(OSError):
    """A file of the output could not be written: names the file in the output folder and the cause."""


def check_output_dir(output: Path, project_root: Path, inputs: list[Path]) -> None:
    """Refuse an output folder that is `/`, home or the project root, or holds one of them; that is, holds or lies
    in an input folder (the given ones, and content/, templates/ and static/ of the project, whether they exist
    or not); or that is a non-empty folder sitegen did not make."""
    target = output.resolve()
    root = project_root.resolve()
    sources = [p.resolve() for p in [*inputs, *(root / name for name in ("content", "templates", "static"))]]
    for place in [Path("/"), Path.home().resolve(), root, *sources]:
        if place.is_relative_to(target) or (place in sources and target.is_relative_to(place)):
            raise ContentError(
                [Problem(str(output), 0, 0, f"refusing to build into {output}: it is, holds or lies in {place}; "
                         "choose a folder of its own, e.g. output/")]
            )
    if target.is_dir() and any(target.iterdir()) and not (target / MARKER).exists():
        raise ContentError(
            [Problem(str(output), 0, 0, f"refusing to replace {output}: it is not empty and was not made by sitegen (no {MARKER} in it)")]
        )
    if target.exists() and not target.is_dir():
        raise ContentError([Problem(str(output), 0, 0, f"{output} exists and is not a folder")])


def safe_relative(name: str) -> PurePosixPath:
    """A relative path that stays inside the output folder, or a ContentError."""
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts or name.startswith(("/", "\\")) or "\\" in name:
        raise ContentError([Problem(name, 0, 0, "an output path must stay inside the output folder")])
    return path


@contextmanager
def output_lock(output: Path) -> Iterator[None]:
    """Hold the lock of the output folder: a second build into it (another process) waits, saying for whom, until
    this one is done. The kernel drops the lock of a process that dies, so a killed build never blocks the next.
    Taken again by the same process (a build inside a build), it is simply held."""
    output = output.resolve()
    if output in _held:
        _held[output] += 1
        try:
            yield
        finally:
            _held[output] -= 1
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    path = _beside(output, "lock")
    told = False
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            try:  # a POSIX record lock: unlike flock, not inherited by the worker processes a build forks
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                if not told:
                    holder = os.pread(fd, 20, 0).decode("ascii", "replace").strip() or "?"
                    print(f"sitegen: waiting for the build with PID {holder} to finish…", file=sys.stderr, flush=True)
                    told = True
                fcntl.lockf(fd, fcntl.LOCK_EX)
            if _same_file(fd, path):  # else its holder removed the file on leaving: lock the one there now
                break
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
    try:
        _held[output] = 1  # first: a signal (Ctrl-C, a stopped check's SIGTERM) may come while the PID is written
        with _writing(path, output):  # (a full disk)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        del _held[output]
        try:
            os.unlink(path)  # removed while still held: a build waiting on it then locks a new one
        finally:
            os.close(fd)


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False


def write_site(files: dict[str, bytes], output: Path, producer: str = "the site") -> tuple[str, ...]:
    """Write `files` (relative path -> bytes) as the whole content of `output`, atomically; return the names of
    those whose bytes changed."""
    with output_lock(output):
        writer = Writer(output)
        try:
            changed = [name for name in sorted(files) if writer.add(name, files[name], producer, keep_time=True)]
            writer.commit((), whole=True)
        except BaseException:
            writer.discard()
            raise
    return tuple(changed)


class Writer:
    """The one writer of an output folder, for one build: stages files, refuses a second producer of a path, then
    makes them the output (commit) or forgets them (discard). Made while the build holds output_lock; it first
    settles what a killed build left. Worker processes stage into `folder` with `stage_file`, and the build
    `claim`s their files."""

    def __init__(self, output: Path) -> None:
        self.output = output.resolve()
        if self.output not in _held:
            raise RuntimeError(f"a build writes {self.output} only while it holds output_lock")
        settle(self.output)
        self.folder = _new_folder(self.output.parent, f".{self.output.name}.sitegen-new-")
        self.journal = _beside(self.output, "journal")
        self.producers: dict[str, str] = {}

    def claim(self, name: str, producer: str) -> None:
        """Note that `producer` makes the file `name`; a ContentError if another one does too."""
        if name in self.producers:  # (a path is checked when it is staged; claims are many and need to be quick)
            raise ContentError([Problem(name, 0, 0, f"two outputs on one path: made by {self.producers[name]} and by "
                                        f"{producer}; give one of them another name")])
        self.producers[name] = producer

    def add(self, name: str, data: bytes, producer: str, keep_time: bool = False) -> bool:
        """Stage one file (`name` relative to the output folder) made by `producer`. With `keep_time`, a file whose
        bytes are those already in the output keeps its time; returns whether its bytes changed."""
        self.claim(name, producer)
        stage_file(self.folder, name, data)
        if not keep_time:
            return True
        parts = safe_relative(name).parts
        old = self.output.joinpath(*parts)
        try:
            stat = old.stat()
            if stat.st_size != len(data) or old.read_bytes() != data:
                return True
        except OSError:
            return True
        os.utime(self.folder.joinpath(*parts), ns=(stat.st_atime_ns, stat.st_mtime_ns))
        return False

    def commit(self, removed: Iterable[str], whole: bool, token: str = "") -> None:
        """Make output/ the new site: swap in the staged tree when it is `whole`, else move the staged files in and
        delete the `removed` ones, through a journal so that a kill while moving is finished by the next build.
        The marker file records `token`, which ties a catalog's cache to this folder."""
        self.add(MARKER, _marker(token), "sitegen's mark on its output folder", keep_time=True)
        if whole and self._swap():
            return
        if whole:  # the folder cannot be swapped: replace its contents, deleting what the new site lacks
            removed = set(_files_in(self.output)) - set(_files_in(self.folder))
        plan = {"staged": self.folder.name, "changed": sorted(_files_in(self.folder)), "removed": sorted(removed)}
        temporary = self.journal.with_name(self.journal.name + ".tmp")
        with _writing(self.journal, self.output):
            _write_bytes(temporary, json.dumps(plan).encode(), sync=True)  # trusted by a later build: on disk first
            os.replace(temporary, self.journal)
        _finish(self.journal, self.output)

    def discard(self) -> None:
        """Forget everything staged: the output folder stays as it was. Once the journal is written (the build was
        interrupted while moving files in), the staged files are kept for the next build to finish moving."""
        if not self.journal.exists():
            shutil.rmtree(self.folder, ignore_errors=True)
            self.journal.with_name(self.journal.name + ".tmp").unlink(missing_ok=True)

    def _swap(self) -> bool:
        """Put the staged tree in place of the output folder, so that it is at every moment either the old or the new
        tree; False when the output folder cannot be renamed (a mount point: EBUSY; EXDEV, EPERM alike)."""
        fresh, output = self.folder, self.output
        if output.is_dir():  # the output keeps the mode it has (a user may have opened it to a web server)
            os.chmod(fresh, stat.S_IMODE(output.stat().st_mode))
        if not output.exists():
            os.replace(fresh, output)
            return True
        if _exchange(fresh, output):
            shutil.rmtree(fresh)  # now holds the old tree
            return True
        old = _beside(output, "old")
        try:
            os.replace(output, old)  # a kill between these two renames is undone by settle
        except OSError as e:
            if e.errno in (errno.EBUSY, errno.EXDEV, errno.EPERM, errno.EACCES):
                return False
            raise
        try:
            os.replace(fresh, output)
        except BaseException:
            os.replace(old, output)  # the old site back at once, not only at the next build
            raise
        shutil.rmtree(old)
        return True


def _new_folder(parent: Path, prefix: str) -> Path:
    """A new empty folder in `parent`, with the mode any folder made there gets (0o777 less the umask): it becomes
    the output, which a web server or another user reads. (tempfile.mkdtemp's is the owner's alone, 0o700.)"""
    while True:
        folder = parent / f"{prefix}{secrets.token_hex(4)}"
        try:
            folder.mkdir(0o777)
            return folder
        except FileExistsError:
            continue


def settle(output: Path) -> None:
    """Undo or finish what a build into `output` that was killed left: put back the old tree of an interrupted swap,
    carry out a written journal, and remove staging folders no journal names. Safe to run again at any point."""
    output = output.resolve()
    old = _beside(output, "old")
    if old.exists():
        if output.exists():
            shutil.rmtree(old)
        else:
            os.replace(old, output)
    journal = _beside(output, "journal")
    _finish(journal, output)
    (output / INCOMING).unlink(missing_ok=True)
    for leftover in output.parent.glob(f".{_glob_escape(output.name)}.sitegen-new*"):
        shutil.rmtree(leftover, ignore_errors=True)
    journal.with_name(journal.name + ".tmp").unlink(missing_ok=True)


def finish_interrupted(output: Path) -> None:
    """Finish what a build into `output` that was killed while putting its files in place left undone (the caller
    holds output_lock)."""
    output = output.resolve()
    if output not in _held:
        raise RuntimeError(f"a build settles {output} only while it holds output_lock")
    settle(output)


def _beside(output: Path, kind: str) -> Path:
    """A build's own file or folder beside the output folder: 'lock', 'journal', 'old' (a swap's)."""
    output = output.resolve()
    return output.parent / f".{output.name}.sitegen-{kind}"


def _marker(token: str) -> bytes:
    """The marker file: a single site's says it is replaced whole; a catalog's ties the folder to its cache."""
    if not token:
        return b"This folder is made by `sitegen build`; it replaces it whole on every build.\n"
    return f"This folder is made by `sitegen build`; it replaces what it made on every build.\nbuild {token}\n".encode()


def _glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def stage_file(folder: Path, name: str, data: bytes) -> None:
    """Write one file of the new site into the staging `folder` (a Writer's); a WriteError names it in the output."""
    relative = safe_relative(name).parts
    target = folder.joinpath(*relative)
    output = folder.parent / folder.name.removeprefix(".").rpartition(".sitegen-new")[0]
    with _writing(output.joinpath(*relative), output):
        target.parent.mkdir(parents=True, exist_ok=True)
        _write_bytes(target, data)


def _write_bytes(path: Path, data: bytes, sync: bool = False) -> None:
    """Write one file (every file the writer writes is written here); with `sync`, to the disk before returning."""
    with open(path, "wb") as f:
        f.write(data)
        if sync:
            f.flush()
            os.fsync(f.fileno())


@contextmanager
def _writing(path: Path, output: Path) -> Iterator[None]:
    """Turn a failed write (a full disk, a read-only folder) into a WriteError naming `path` and the cause."""
    try:
        yield
    except WriteError:
        raise
    except OSError as e:
        raise WriteError(e.errno or 0, f"cannot write: {e.strerror or e}", str(path)) from None


def _files_in(folder: Path) -> Iterator[str]:
    """The files under `folder`, as paths relative to it."""
    for directory, _, names in os.walk(folder):
        for name in names:
            yield Path(directory, name).relative_to(folder).as_posix()


def _finish(journal: Path, output: Path) -> None:
    """Carry out a journal: delete each removed file (and folders left empty), move each changed file in; then drop
    the journal and its staging folder. Every step is idempotent, so a kill at any point, even halfway through
    one, is finished by running this again."""
    try:
        plan = json.loads(journal.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return
    staged = output.parent / plan.get("staged", f".{output.name}.sitegen-new")  # a journal from before per-build staging
    for name in plan["removed"]:
        _remove(output, output.joinpath(*safe_relative(name).parts))
    for name in plan["changed"]:
        parts = safe_relative(name).parts
        _move(staged.joinpath(*parts), output.joinpath(*parts), output)
    os.unlink(journal)
    shutil.rmtree(staged, ignore_errors=True)


def _remove(output: Path, target: Path) -> None:
    """Delete one file of the output, and the folders it leaves empty; nothing when it is gone already."""
    target.unlink(missing_ok=True)
    for folder in target.parents:
        if folder == output or not folder.is_relative_to(output):
            return
        try:
            os.rmdir(folder)
        except FileNotFoundError:
            continue  # removed already, by this journal before a kill
        except OSError:
            return  # not empty: other files remain in it


def _move(source: Path, target: Path, output: Path) -> None:
    """Move one staged file into the output folder (when it is still staged: a kill may have moved it already). Into
    an output folder on another file system (a mount point) it is copied in beside, then renamed into place."""
    if not source.exists():
        return
    with _writing(target, output):
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(source, target)
            return
        except OSError as e:
            if e.errno != errno.EXDEV:
                raise
        incoming = output / INCOMING
        shutil.copy2(source, incoming)
        os.replace(incoming, target)
        os.unlink(source)


@functools.cache
def libc() -> ctypes.CDLL | None:
    """The C library, for the system calls the standard library lacks (renameat2 here, prctl for a catalog's
    workers): the symbols Python itself is linked with, which the C library's are. (ctypes.util.find_library
    would start ldconfig, a process, for each build and each of its workers.)"""
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:  # a system whose loader cannot open the program's own symbols
        return None


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two directories (Linux renameat2); False where the system cannot."""
    c = libc()
    if c is None or not hasattr(c, "renameat2"):
        return False
    result = c.renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return bool(result == 0)
