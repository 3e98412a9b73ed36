"""Write the built site atomically: a complete new tree beside output/, swapped in only when it is whole.

A failed or killed build leaves the previous output/ as it was. Files whose bytes did not change keep
their modification time, so rsync and static hosts upload only what changed. Pages that no longer
exist disappear with the old tree. Nothing outside output/ is touched.

A catalog rebuild stages only its new and changed files beside output/ (Staging). Once all are staged, a journal
names them, and they are moved in one rename each; a build killed while moving is finished by the next one.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import shutil
from pathlib import Path, PurePosixPath

from .errors import ContentError, Problem

MARKER = ".sitegen-output"
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def check_output_dir(output: Path, project_root: Path, inputs: list[Path]) -> None:
    """Refuse an output folder that is `/`, home or the project root, or holds one of them; that is or lies in an
    input folder (content/, templates/); or that is a non-empty folder sitegen did not make."""
    target = output.resolve()
    sources = [p.resolve() for p in inputs]
    for place in [Path("/"), Path.home().resolve(), project_root.resolve(), *sources]:
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


def write_site(files: dict[str, bytes], output: Path) -> tuple[str, ...]:
    """Write `files` (relative path -> bytes) as the whole content of `output`, atomically; return the names of
    those whose bytes changed."""
    paths = {name: safe_relative(name) for name in files}
    output = output.resolve()  # a symlinked output folder: replace the folder it points to, not the link
    parent = output.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    _recover(output)
    fresh = _beside(output, "new")
    if fresh.exists():
        shutil.rmtree(fresh)  # left by a build that was killed: never swapped in
    fresh.mkdir()
    changed = []
    for name in sorted(files):
        data = files[name]
        stage_file(fresh, name, data)
        target = fresh.joinpath(*paths[name].parts)
        old = output.joinpath(*paths[name].parts)
        if old.is_file() and old.stat().st_size == len(data) and old.read_bytes() == data:
            stat = old.stat()
            os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        else:
            changed.append(name)
    (fresh / MARKER).write_text("This folder is made by `sitegen build`; it replaces it whole on every build.\n")
    _swap(fresh, output)
    return tuple(changed)


def _swap(fresh: Path, output: Path) -> None:
    """Put `fresh` in place of `output` so that `output` is at every moment either the old or the new tree."""
    old = _beside(output, "old")
    if output.exists() and _exchange(fresh, output):
        shutil.rmtree(fresh)  # now holds the old tree
        return
    if output.exists():
        os.replace(output, old)  # a kill between these two renames is undone by _recover
    os.replace(fresh, output)
    if old.exists():
        shutil.rmtree(old)


def _recover(output: Path) -> None:
    """Undo a swap interrupted between its two renames: put the old tree back."""
    old = _beside(output, "old")
    if old.exists():
        if output.exists():
            shutil.rmtree(old)
        else:
            os.replace(old, output)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two directories (Linux renameat2); False where the system cannot."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    libc = ctypes.CDLL(name, use_errno=True)
    if not hasattr(libc, "renameat2"):
        return False
    result = libc.renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return bool(result == 0)


class Staging:
    """The files a catalog build adds or changes, written in a folder beside output/ before any is moved in. Made
    after finish_interrupted(), which puts in place what a killed build left staged."""

    def __init__(self, output: Path) -> None:
        self.output = output.resolve()
        self.output.parent.mkdir(parents=True, exist_ok=True)
        self.folder = _beside(self.output, "new")
        self.journal = _beside(self.output, "journal")
        if self.folder.exists():
            shutil.rmtree(self.folder)  # left by a build that was killed before its journal: never moved in
        self.folder.mkdir()

    def add(self, name: str, data: bytes) -> None:
        """Stage one file (`name` relative to the output folder); worker processes call `stage_file` directly."""
        stage_file(self.folder, name, data)

    def discard(self) -> None:
        """Forget everything staged: the output folder stays as it was. Once the journal is written (the build was
        interrupted while moving files in), the staged files are kept for the next build to finish moving."""
        if not self.journal.exists():
            shutil.rmtree(self.folder, ignore_errors=True)

    def commit(self, changed: list[str], removed: list[str], whole: bool, token: str) -> None:
        """Make output/ the new site: swap in the staged tree when it is `whole`, else move the `changed` files in
        and delete the `removed` ones, through a journal so that a kill while moving is finished by the next build.
        The marker file records `token`, which ties the build's cache to this folder."""
        marker = f"This folder is made by `sitegen build`; it replaces what it made on every build.\nbuild {token}\n"
        stage_file(self.folder, MARKER, marker.encode())
        if whole:
            _swap(self.folder, self.output)
            return
        plan = {"changed": sorted({*changed, MARKER}), "removed": sorted(removed)}
        temporary = self.journal.with_name(self.journal.name + ".tmp")
        temporary.write_text(json.dumps(plan))
        os.replace(temporary, self.journal)
        _finish(self.journal, self.folder, self.output)


def finish_interrupted(output: Path) -> None:
    """Finish what a build into `output` that was killed while putting its files in place left undone."""
    output = output.resolve()
    _recover(output)
    _finish(_beside(output, "journal"), _beside(output, "new"), output)


def _beside(output: Path, kind: str) -> Path:
    """A build's own folder or file beside the output folder: 'new' (staged files), 'journal', 'old' (a swap's)."""
    output = output.resolve()
    return output.parent / f".{output.name}.sitegen-{kind}"


def stage_file(folder: Path, name: str, data: bytes) -> None:
    """Write one file of the new site into the staging `folder`."""
    target = folder.joinpath(*safe_relative(name).parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


def _finish(journal: Path, staged: Path, output: Path) -> None:
    """Carry out a journal: move each changed file in, delete each removed one (and folders left empty); then drop
    the journal and the staging folder. Safe to run again after a kill at any point."""
    if not journal.exists():
        return
    plan = json.loads(journal.read_text())
    for name in plan["changed"]:
        source, target = staged.joinpath(*safe_relative(name).parts), output.joinpath(*safe_relative(name).parts)
        if source.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)
    for name in plan["removed"]:
        target = output.joinpath(*safe_relative(name).parts)
        target.unlink(missing_ok=True)
        for folder in target.parents:
            if folder == output or not folder.is_relative_to(output) or any(folder.iterdir()):
                break
            folder.rmdir()
    journal.unlink()
    shutil.rmtree(staged, ignore_errors=True)
