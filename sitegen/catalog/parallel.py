"""Run one function over many tasks on every core, in worker processes started with what they need already loaded.

A catalog's trials never read each other, so its build splits by trial and scales linearly in their number.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# A process pool hands work to functions, not objects: each worker process keeps the function its initializer made
# here (once per process, e.g. with a compiled template environment). Each process has its own; nothing is shared.
_work: Callable[[Any], Any] | None = None


def _start_worker(make: Callable[[], Callable[[Any], Any]]) -> None:
    global _work
    _work = make()


def _run_in_worker(task: Any) -> Any:
    assert _work is not None, "the pool's initializer makes the work function"
    return _work(task)


def map_in_processes(make: Callable[[], Callable[[T], R]], tasks: list[T], jobs: int) -> Iterator[R]:
    """`make()(task)` for each task, in order, by `jobs` processes (by this one when jobs is 1).

    Workers are forked, so they start with everything this process has loaded, and `make` need not be picklable;
    tasks and results are.
    """
    if jobs <= 1 or len(tasks) <= 1:
        yield from map(make(), tasks)
        return
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_start_worker, initargs=(make,)) as pool:
        yield from pool.map(_run_in_worker, tasks, chunksize=max(1, min(16, len(tasks) // (jobs * 8))))


def default_jobs() -> int:
    """The number of CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
