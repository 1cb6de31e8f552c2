"""Run elementwise polars work on every core.

Eager expressions on one long column run on one thread; polars' streaming
engine cuts the rows into morsels and works on them in parallel, keeping
their order. Regex extraction and replacement, the bulk of log parsing, are
elementwise, so this roughly divides their time by the number of cores.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import polars as pl

WORKERS_VARIABLE = "LOGINLENS_WORKERS"

# This process's worker threads, and the process they belong to (a forked child has none).
_pool: tuple[int, ThreadPoolExecutor] | None = None


def usable_cores() -> int:
    """The cores this process may run on, capped by ``LOGINLENS_WORKERS`` (a fleet job already
    running one bundle per core sets it to 1)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    cap = os.environ.get(WORKERS_VARIABLE, "")
    if cap.isdigit() and int(cap) > 0:
        cores = min(cores, int(cap))
    return max(1, cores)


def select_parallel(frame: pl.DataFrame, *exprs: Any, **named: Any) -> pl.DataFrame:
    """``frame.select(...)``, evaluated morsel by morsel on every core."""
    return frame.lazy().select(*exprs, **named).collect(engine="streaming")


def map_parallel(series: pl.Series, expr: pl.Expr) -> pl.Series:
    """``expr`` (written over ``pl.col(series.name)``) applied to ``series`` on every core."""
    return select_parallel(series.to_frame(), expr).to_series().alias(series.name)


def worker_threads() -> ThreadPoolExecutor:
    """Threads kept for this process's life, for work run beside the caller's.

    A thread started per call would take its memory from a new glibc arena each time, and
    glibc hands an arena's heaps back to the kernel once they are free: the next call's tens of
    megabytes of columns would be faulted in and zeroed again, page by page. Idle threads are
    reused, so one caller at a time keeps one thread and its arena. A forked child starts its
    own pool (it has none of the parent's threads)."""
    global _pool
    if _pool is None or _pool[0] != os.getpid():
        _pool = os.getpid(), ThreadPoolExecutor(thread_name_prefix="loginlens")
    return _pool[1]
