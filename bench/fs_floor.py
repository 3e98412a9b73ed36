"""What the file system alone costs a build: a fresh process creates the folders and files of a built site (the same
tree, each file as many bytes long, zeros) and does nothing else. Its CPU time is what any generator writing that
site pays on this machine, Hugo as much as sitegen; bench/catalog.py reports it beside each one's CPU per page.

On the 2-CPU machine of the README's measurements, creating a folder and a file costs about 0.04 ms of CPU per page,
and up to 40 times more within minutes of deleting thousands of files (see bench/catalog.py's `set_aside`): run it
several times (--runs), and with nothing else deleting files.

Usage: python bench/fs_floor.py SITE COPY
       python bench/fs_floor.py --runs N SITE [SITE...]
The first prints one line of JSON: the folders and files created, and the user + system CPU seconds of creating
them (the listing of SITE, done first, is not counted). COPY must not exist; it is left for the caller to remove.
The second does that N times for each SITE, alternating, each in a fresh process with its copy beside SITE, moved
aside after into SITE.fs-floor-trash (deleted at the end, so that no run pays for the one before), and prints each run and the median (min–max) in ms of CPU per page (its *.html files, Hugo's
`page/1/` redirects left out, as bench/catalog.py counts them).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
from pathlib import Path


def listing(site: str) -> tuple[list[str], list[tuple[str, int]]]:
    """The folders (parents first) and files (with their sizes) of `site`, relative to it."""
    folders: list[str] = []
    files: list[tuple[str, int]] = []
    for top, names, filenames in os.walk(site):
        relative = os.path.relpath(top, site)
        names.sort()
        for name in names:
            folders.append(os.path.normpath(os.path.join(relative, name)))
        for name in sorted(filenames):
            files.append((os.path.normpath(os.path.join(relative, name)), os.lstat(os.path.join(top, name)).st_size))
    return folders, files


def create(copy: str, folders: list[str], files: list[tuple[str, int]]) -> None:
    """The tree under `copy`, made with one mkdir per folder and one open, write and close per file."""
    os.mkdir(copy)
    for name in folders:
        os.mkdir(os.path.join(copy, name))
    for name, size in files:
        fd = os.open(os.path.join(copy, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, bytes(size))
        finally:
            os.close(fd)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--runs":
        rounds(int(sys.argv[2]), sys.argv[3:])
        return
    if len(sys.argv) != 3:
        sys.exit(__doc__.split("Usage: ")[1].split("\n\n")[0])
    site, copy = sys.argv[1:]
    if os.path.exists(copy):
        sys.exit(f"fs_floor: {copy} exists")
    folders, files = listing(site)
    started = _cpu()
    create(copy, folders, files)
    print(json.dumps({"folders": len(folders), "files": len(files), "cpu": _cpu() - started}))


def rounds(runs: int, sites: list[str]) -> None:
    """Each site's tree created `runs` times, alternating, each in a fresh process; per page, each run and the
    median (min-max)."""
    from catalog import count_pages, set_aside  # (bench/ is on the path of a script run from it)

    pages = {site: count_pages(Path(site)) for site in sites}
    per_page: dict[str, list[float]] = {site: [] for site in sites}
    trashes = {site: Path(site.rstrip(os.sep) + ".fs-floor-trash") for site in sites}
    try:
        for i in range(runs):
            for site in sites:
                copy = Path(site.rstrip(os.sep) + ".fs-floor")
                set_aside(copy, trashes[site])
                try:
                    done = subprocess.run([sys.executable, __file__, site, str(copy)], capture_output=True, text=True,
                                          check=True)
                finally:
                    set_aside(copy, trashes[site])
                made = json.loads(done.stdout)
                per_page[site].append(made["cpu"] * 1000 / pages[site])
                print(f"{site}: run {i + 1}/{runs}: {made['folders']:,} folders, {made['files']:,} files, "
                      f"{made['cpu']:.2f} s of CPU, {per_page[site][-1]:.2f} ms per page ({pages[site]:,} pages)",
                      flush=True)
    finally:
        for trash in trashes.values():
            shutil.rmtree(trash, ignore_errors=True)
    for site, values in per_page.items():
        print(f"{site}: {statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f}) ms of CPU per page")


if __name__ == "__main__":
    main()
