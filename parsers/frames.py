"""Run elementwise polars work on every core.

Eager expressions on one long column run on one thread; polars' streaming
engine cuts the rows into morsels and works on them in parallel, keeping
their order. Regex extraction and replacement, the bulk of log parsing, are
elementwise, so this roughly divides their time by the number of cores.
"""

from __future__ import annotations

import os
from typing import Any

import polars as pl

WORKERS_VARIABLE = "LOGINLENS_WORKERS"


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
