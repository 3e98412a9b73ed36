"""Where the time of a full catalog build goes: one build in this process (--jobs 1) under cProfile, its time
split into the pipeline's stages. Shares are what matters; cProfile itself makes everything slower.

Usage: python bench/profile_build.py [--trials N] [--seed S]     (default: 300 synthetic trials, see bench/catalog.py)
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
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
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
