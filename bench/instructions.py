"""Instructions, not seconds: how many a catalog build runs, counted by valgrind's cachegrind. The count is the
same on every run, so a change of a few percent shows on a machine whose timings vary by more than that (on a
shared 2-CPU machine one build of 300 trials took 6.6 to 10.0 s of CPU, the same code each time).

Usage: python bench/instructions.py [--trials N] [--seed S] [--content DIR] [--corpus] [REPO ...]

Each REPO is a checkout of sitegen (by default this one): pass two, say a worktree of the commit before a change
and this one, to see what the change saves. The catalog is N generated trials (bench/catalog.py's `generate`,
default 40), or the one in --content DIR, or with --corpus the real registry records (as bench/catalog.py imports
them). For each REPO, two processes run under `valgrind --tool=cachegrind --cache-sim=no`: one imports sitegen
and builds the catalog into a new folder with --jobs 1, the other does the same but the build. The difference is
the build's instructions. Only user space is counted: the kernel's work of creating files is not, nor is the
time a cache miss costs. Before that, each REPO builds the catalog once outside valgrind, so its templates are
compiled and kept (as for a user's second build), and its modules are compiled to bytecode, as installed.

Prints, for each REPO, the build's instructions and, after the first, the change from the first. Needs valgrind
(Debian's package); without it, says how to install it and exits with 2.
"""

from __future__ import annotations

import argparse
import compileall
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from catalog import corpus_files, default_corpus, generate, import_corpus

# What each process runs: import sitegen from REPO, then build CONTENT into OUT (unless told not to).
CHILD = """
import sys
from pathlib import Path
repo, content, out, build_it = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4] == "build"
sys.path.insert(0, repo)
import sitegen
found = sitegen.__file__  # None for a folder without __init__.py
if found is None or Path(found).resolve().parent.parent != Path(repo).resolve():  # not REPO's: an installed one?
    sys.exit(f"bench: {repo} has no sitegen package; imported {found or 'an empty folder'} instead")
from sitegen.build import build
from sitegen.project import Project
project = Project.at(content)
if build_it:
    build(project, out, jobs=1)
"""
_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def instructions(repo: Path, content: Path, out: Path, build_it: bool, env: dict[str, str]) -> int:
    """The instructions one process runs under cachegrind (see CHILD)."""
    with tempfile.TemporaryDirectory() as scratch:
        stderr = _run(["valgrind", "--tool=cachegrind", "--cache-sim=no", f"--cachegrind-out-file={scratch}/out",
                       sys.executable, "-c", CHILD, str(repo), str(content), str(out), "build" if build_it else "import"],
                      env)
    found = _REFS.search(stderr)
    if found is None:
        raise SystemExit(f"bench: valgrind gave no instruction count:\n{stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def _run(command: list[str], env: dict[str, str]) -> str:
    """Run `command`; its stderr. A failure ends the script with the end of what it wrote."""
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"bench: {' '.join(command[:2])}... failed:\n{done.stderr[-2000:]}")
    return done.stderr


def build_instructions(repo: Path, content: Path, work: Path) -> int:
    """The instructions of one build of `content` by `repo`: a build's process less one that only imports."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")}
    env["XDG_CACHE_HOME"] = str(work / "user-cache")
    compileall.compile_dir(repo / "sitegen", quiet=1)
    _run([sys.executable, "-c", CHILD, str(repo), str(content), str(work / "first"), "build"], env)  # compiles and
    # keeps the templates
    built = instructions(repo, content, work / "out", True, env)
    imported = instructions(repo, content, work / "none", False, env)
    return built - imported


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repos", nargs="*", type=Path, default=[ROOT], metavar="REPO")
    parser.add_argument("--seed", type=int, default=0)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--trials", type=int, default=40, help="generated trials (default 40)")
    source.add_argument("--content", type=Path)
    source.add_argument("--corpus", action="store_true", help="the real registry records (see bench/catalog.py)")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        print("bench: valgrind is not installed; install Debian's package, then run this again:\n\n"
              "    sudo apt-get install -y valgrind", file=sys.stderr)
        raise SystemExit(2)
    with tempfile.TemporaryDirectory() as scratch:
        content = args.content
        if content is None:
            content = Path(scratch) / "content"
            if args.corpus:
                import_corpus(corpus_files(default_corpus()), content)
                what = f"the real corpus ({len(list((content / 'trials').glob('*.yaml')))} records)"
            else:
                generate(args.trials, content, args.seed)
                what = f"{args.trials} generated trials (seed {args.seed})"
        else:
            what = str(content)
        print(f"Instructions of one catalog build (--jobs 1) of {what}, cachegrind:")
        first = None
        for i, repo in enumerate(args.repos):
            count = build_instructions(repo.resolve(), content.resolve(), Path(scratch) / f"repo-{i}")
            change = "" if first is None else f" ({(count - first) / first:+.1%} from the first)"
            first = count if first is None else first
            print(f"- {repo}: {count:,}{change}")


if __name__ == "__main__":
    main()
