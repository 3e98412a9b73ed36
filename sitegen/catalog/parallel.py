"""Run one function over many tasks on every core, in worker processes started with what they need already loaded.

A catalog's trials never read each other, so its build splits by trial and scales linearly in their number.
While the tasks run, the garbage collector looks at new objects less often (see YOUNG_THRESHOLD).
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from ..write import libc

T = TypeVar("T")
R = TypeVar("R")

# A process pool hands work to functions, not objects: each worker process keeps the function its initializer made
# here (once per process, e.g. with a compiled template environment). Each process has its own; nothing is shared.
_work: Callable[[Any], Any] | None = None


JOBS_PER_CPU = 2  # the work is all CPU: more processes than this only add memory and switching
YOUNG_THRESHOLD = 10_000
"""Objects made between two collections of the youngest ones (Python's default: 700). A trial's build makes
hundreds of thousands that live no longer than it: with 700, a build of 300 generated trials spent 0.27-0.40 s of
its 8 s in 758 collections, five of them of everything; with 10,000, 0.08-0.10 s in 19, none of everything."""
_PR_SET_PDEATHSIG = 1


def _start_worker(make: Callable[[], Callable[[Any], Any]]) -> None:
    global _work
    _die_with_parent()
    # A terminal's Ctrl-C reaches the workers too: the build stops them (map_in_processes), where one interrupted
    # in a task or waiting for one printed a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.set_threshold(YOUNG_THRESHOLD, *gc.get_threshold()[1:])  # for the worker's life: it only runs the tasks
    _work = make()


@contextmanager
def _collecting_less_often() -> Iterator[None]:
    """YOUNG_THRESHOLD in this process while a task runs here, and the thresholds as they were after."""
    before = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _die_with_parent() -> None:
    """On Linux, have this worker killed when the build that forked it dies: an orphan would go on writing its
    trial's files into a staging folder no build uses any more."""
    c = libc()
    if c is not None and sys.platform.startswith("linux"):
        c.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _run_in_worker(task: Any) -> Any:
    assert _work is not None, "the pool's initializer makes the work function"
    return _work(task)


def map_in_processes(make: Callable[[], Callable[[T], R]], tasks: list[T], jobs: int, what: str) -> Iterator[R]:
    """`make()(task)` for each task, in order, by `jobs` processes (by this one when jobs is 1). `what` the tasks
    are, as capped_jobs says it.

    Workers are forked, so they start with everything this process has loaded, and `make` need not be picklable;
    tasks and results are.
    """
    jobs = capped_jobs(jobs, len(tasks), what)
    if jobs <= 1:
        work = make()
        for task in tasks:
            with _collecting_less_often():  # around each task alone: not while the caller handles its result
                result = work(task)
            yield result
        return
    import multiprocessing  # only here: every command imports this module for default_jobs
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_start_worker, initargs=(make,)) as pool:
        try:
            yield from pool.map(_run_in_worker, tasks, chunksize=max(1, min(16, len(tasks) // (jobs * 8))))
        except BaseException:  # a Ctrl-C, or the caller's error: the tasks not started are dropped
            with _deaf_to_ctrl_c():
                pool.shutdown(wait=True, cancel_futures=True)
            raise


@contextmanager
def _deaf_to_ctrl_c() -> Iterator[None]:
    """Ctrl-C ignored while the workers stop: a second one broke off the wait for them, and the interpreter then
    waited for them at exit, and they for it, for good."""
    main = threading.current_thread() is threading.main_thread()
    before = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
    try:
        yield
    finally:
        if main:
            signal.signal(signal.SIGINT, before)


def capped_jobs(jobs: int, tasks: int, what: str) -> int:
    """`jobs`, lowered to JOBS_PER_CPU times the CPUs and to the number of `tasks`; a line on stderr says so (and
    that there are so many of `what`) when the lowered number is below what was asked and the CPUs."""
    cpus = default_jobs()
    capped = max(1, min(jobs, JOBS_PER_CPU * cpus, tasks))
    if capped < jobs and jobs > cpus:
        print(f"sitegen: --jobs {jobs} lowered to {capped} ({cpus} CPUs, {tasks} {what})", file=sys.stderr)
    return capped


def default_jobs() -> int:
    """The number of CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
