"""Run elementwise polars work on every core.

Eager expressions on one long column run on one thread; polars' streaming
engine cuts the rows into morsels and works on them in parallel, keeping
their order. Regex extraction and replacement, the bulk of log parsing, are
elementwise, so this roughly divides their time by the number of cores.
"""

from __future__ import annotations

from typing import Any

import polars as pl


def select_parallel(frame: pl.DataFrame, *exprs: Any, **named: Any) -> pl.DataFrame:
    """``frame.select(...)``, evaluated morsel by morsel on every core."""
    return frame.lazy().select(*exprs, **named).collect(engine="streaming")


def map_parallel(series: pl.Series, expr: pl.Expr) -> pl.Series:
    """``expr`` (written over ``pl.col(series.name)``) applied to ``series`` on every core."""
    return select_parallel(series.to_frame(), expr).to_series().alias(series.name)
