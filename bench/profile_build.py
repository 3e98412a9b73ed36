"""Where the time of a full catalog build goes: one build in this process (--jobs 1) under cProfile, its time
split into the pipeline's stages. Shares are what matters; cProfile itself makes everything slower, and most
what makes many calls (Jinja2's generators, the glossary's walk).

With --sampled, the build runs in a process of its own under py-spy (`pip install py-spy`), which samples its
stacks 500 times a second and adds nothing to each call; a sample counts for the stage of the innermost frame that
is one of a stage's functions (Markdown inside a template is Markdown). Its shares are of wall time, so the kernel's
work of creating the files counts too.

Usage: python bench/profile_build.py [--trials N] [--seed S] [--sampled]
       (default: 300 synthetic trials, see bench/catalog.py)
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from catalog import generate

from sitegen.build import build
from sitegen.project import Project

# Each stage: the functions whose cumulative time it is (file name, function name), and the functions called inside
# those whose time belongs to another stage.
STAGES: list[tuple[str, list[tuple[str, str]], list[tuple[str, str]]]] = [
    ("load and validate a trial (YAML, pydantic, its own BibTeX)",
     [("site.py", "load_trial"), ("bib.py", "load_bibliography")], []),
    ("number citations, decide the pages", [("site.py", "assemble_site")], []),
    ("Markdown prose to sanitized HTML", [("render.py", "prose_html")], []),
    ("JSON-LD of the pages", [("jsonld.py", "page_graph"), ("render.py", "jsonld_script")], []),
    ("mark glossary terms", [("glossary.py", "mark_terms")], []),
    ("Jinja2 templates (the rest of rendering)", [("render.py", "render_template")],
     [("render.py", "prose_html"), ("render.py", "jsonld_script"), ("build.py", "listing_html")]),
    ("write trial pages (staging)", [("write.py", "stage_file")], []),
    ("search text and terms of a trial", [("build.py", "plain_text_of"), ("search.py", "counts_of")], []),
    ("home and listing pages", [("build.py", "listing_html")], []),
    ("search index", [("build.py", "_search_index")], []),
    ("move into output/, save the cache", [("write.py", "commit"), ("state.py", "save"), ("state.py", "save_terms")], []),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sampled", action="store_true", help="sample the build's stacks with py-spy")
    args = parser.parse_args()
    if args.sampled:
        sampled(args.trials, args.seed)
        return
    with tempfile.TemporaryDirectory() as scratch:
        content = Path(scratch) / "content"
        generate(args.trials, content, args.seed)
        project = Project.at(content)
        profile = cProfile.Profile()
        profile.enable()
        build(project, Path(scratch) / "out", jobs=1)
        profile.disable()
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    total = sum(tt for (_, _, tt, _, _) in stats.values())  # (primitive calls, calls, own time, cumulative, callers)

    def cumulative(file: str, name: str) -> float:
        # the outermost calls only: recursive calls are counted once in ct by cProfile
        return sum(ct for (path, _, function), (_, _, _, ct, _) in stats.items() if path.endswith(file) and function == name)

    times: dict[str, float] = {}
    for stage, functions, inner in STAGES:
        times[stage] = sum(cumulative(f, n) for f, n in functions) - sum(cumulative(f, n) for f, n in inner)
    times["everything else (start-up, reading files, the cache, sitemap, feed)"] = total - sum(times.values())
    print(f"Full build of {args.trials} synthetic trials, one process, under cProfile ({total:.1f} s in all):\n")
    print("| stage | share |\n| --- | ---: |")
    for stage, seconds in times.items():
        print(f"| {stage} | {100 * seconds / total:.0f} % |")


def sampled(trials: int, seed: int) -> None:
    """The stages' shares of the build's samples, from py-spy's raw output (one line per stack: frames, innermost
    last, as 'function (path:line)', then the count)."""
    spy = shutil.which("py-spy")
    if spy is None:
        sys.exit("py-spy is not installed: pip install py-spy")
    stage_of = {(file, name): stage for stage, functions, _ in STAGES for file, name in functions}
    shares: Counter[str] = Counter()
    with tempfile.TemporaryDirectory() as scratch:
        content, samples = Path(scratch) / "content", Path(scratch) / "samples.txt"
        generate(trials, content, seed)
        subprocess.run([spy, "record", "--rate", "500", "--format", "raw", "--output", str(samples), "--",
                        sys.executable, "-m", "sitegen", "build", "--content", str(content), "--output",
                        str(Path(scratch) / "out"), "--jobs", "1"], check=True, capture_output=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
        for line in samples.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            shares[_stage(stack.split(";"), stage_of)] += int(count)
    total = sum(shares.values())
    print(f"Full build of {trials} synthetic trials, one process, sampled by py-spy ({total:,} samples):\n")
    print("| stage | share |\n| --- | ---: |")
    for stage in [s for s, _, _ in STAGES] + ["everything else (start-up, reading files, the cache, sitemap, feed)"]:
        print(f"| {stage} | {100 * shares[stage] / total:.0f} % |")


def _stage(frames: list[str], stage_of: dict[tuple[str, str], str]) -> str:
    for frame in reversed(frames):
        name, _, where = frame.partition(" (")
        path = where.rpartition(":")[0]
        for (file, function), stage in stage_of.items():
            if (path == file or path.endswith("/" + file)) and (name == function or name.endswith("." + function)):
                return stage
    return "everything else (start-up, reading files, the cache, sitemap, feed)"


if __name__ == "__main__":
    main()
