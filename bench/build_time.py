"""Time `sitegen build` of a site as a user runs it: a cold process each time, median of N runs.

Usage: python bench/build_time.py [--runs 5] [--content content]
Prints the median, fastest and slowest wall time, the same of the CPU time (user + system; steadier than wall time on
a busy machine) and the peak memory (max RSS) of the build process; and the same times of the interpreter starting
alone (`python -c pass`, alternating with the builds), which no code of sitegen's can shorten: a machine's site
packages may import modules at every start (a `.pth` file; an editable install's finder).

sitegen runs as an installed copy does: its modules compiled to bytecode first (PYTHONDONTWRITEBYTECODE, which some
machines set, is unset for the builds), and its compiled templates kept in a user cache of this run's own
(XDG_CACHE_HOME), which the first build fills: it is the slowest.
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--content", default="content")
    args = parser.parse_args()
    times, cpu, start_times, start_cpu = [], [], [], []
    compileall.compile_dir(Path(__file__).resolve().parent.parent / "sitegen", quiet=1)  # as `pip install` does
    with tempfile.TemporaryDirectory() as tmp:
        env = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
               "XDG_CACHE_HOME": str(Path(tmp) / "user-cache")}
        for i in range(args.runs):
            out = Path(tmp) / f"out{i}"
            before = _children_cpu()
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "sitegen", "build", "--content", args.content, "--output", str(out)],
                           check=True, capture_output=True, env=env)
            times.append(time.perf_counter() - started)
            cpu.append(_children_cpu() - before)
            before = _children_cpu()
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", "pass"], check=True, capture_output=True, env=env)
            start_times.append(time.perf_counter() - started)
            start_cpu.append(_children_cpu() - before)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"sitegen build, cold process, {args.runs} runs on {os.cpu_count()} CPUs: "
          f"median {_ms(times)}; CPU median {_ms(cpu)}; peak RSS {peak_mb:.0f} MB")
    print(f"the interpreter starting alone (python -c pass), {args.runs} runs: median {_ms(start_times)}; "
          f"CPU median {_ms(start_cpu)}")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _ms(seconds: list[float]) -> str:
    return (f"{statistics.median(seconds) * 1000:.0f} ms (min {min(seconds) * 1000:.0f}, "
            f"max {max(seconds) * 1000:.0f})")


if __name__ == "__main__":
    main()
