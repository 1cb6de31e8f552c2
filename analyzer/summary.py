"""A short account of a timeline: span, sources, levels, the commonest errors and the
failures that captures and other network evidence show."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl

from analyzer.schema import RECORD, SOURCE, TIMESTAMP

LEVEL_ORDER = ("fatal", "error", "warn", "info", "debug", "trace")
PROBLEM_LEVELS = ("fatal", "error", "warn")

# Variable parts of a message, replaced so that messages differing only in them group together.
_TEMPLATE_RULES = (
    (r"https?://\S+", "<url>"),
    (r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b", "<uuid>"),
    (r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b", "<ip>"),
    (r"\b0x[0-9a-fA-F]+\b", "<hex>"),
    (r"\b[0-9a-fA-F]*\d[0-9a-fA-F]*(?:[-_][0-9a-fA-F]+)+\b", "<id>"),
    (r"\b[0-9a-fA-F]{16,}\b", "<hex>"),
    # Error codes tell one failure from another: mark them (\x01) so numbers after them stay.
    (r"(?i)(\b(?:err_?code|code|net_error|status)[\"']?\s*[:= ]\s*)(-?\d+)", "${1}\x01${2}"),
    (r"(^|[^\x01\w.])-?\d+(?:\.\d+)?\b", "${1}<n>"),
    (r"\x01", ""),
)


def message_template(expr: pl.Expr) -> pl.Expr:
    """The first line of a message with numbers, addresses and ids replaced by placeholders."""
    first_line = expr.str.split("\n").list.first().str.slice(0, 300)
    for pattern, placeholder in _TEMPLATE_RULES:
        first_line = first_line.str.replace_all(pattern, placeholder)
    return first_line.str.strip_chars().str.slice(0, 160)


def _with_templates(events: pl.DataFrame) -> pl.DataFrame:
    """``events`` with the ``template`` of each message, in order; the streaming engine cuts the
    rows into pieces for every core, where an eager pass runs each pattern on one."""
    templated = events.lazy().with_columns(template=message_template(pl.col("message")))
    return templated.collect(engine="streaming")


def summarize(events: pl.DataFrame, top: int = 10) -> dict[str, Any]:
    """Return span, per-source and per-level counts, and the ``top`` error templates."""
    stamped = events.get_column(TIMESTAMP).drop_nulls()
    first: datetime | None = stamped.min() if stamped.len() else None  # type: ignore[assignment]
    last: datetime | None = stamped.max() if stamped.len() else None  # type: ignore[assignment]
    levels = dict(events.group_by("log.level").len().sort("len", descending=True).iter_rows())
    ordered_levels = {name: levels.pop(name) for name in LEVEL_ORDER if name in levels}
    ordered_levels.update({(name or "none"): count for name, count in levels.items()})
    problems = events.filter(pl.col("log.level").is_in(PROBLEM_LEVELS))
    templates = (
        _with_templates(problems)
        .group_by("template")
        .agg(
            count=pl.len(),
            level=pl.col("log.level").mode().first(),
            source=pl.col(SOURCE).first(),
            record=pl.col(RECORD).first(),
            example=pl.col("message").first().str.split("\n").list.first().str.slice(0, 200),
        )
        .sort(["count", "template"], descending=[True, False])
        .head(top)
    )
    # Evidence that is no log line (captures, HAR, NetLog) says it failed through its outcome.
    failures = events.filter(
        pl.col("log.level").is_null() & (pl.col("event.outcome") == "failure")
    ).sort(TIMESTAMP, SOURCE, RECORD, nulls_last=True)
    network = (
        _with_templates(failures)
        .group_by("event.action", "template", maintain_order=True)
        .agg(
            count=pl.len(),
            kind=pl.col("loginlens.kind").first(),
            source=pl.col(SOURCE).first(),
            record=pl.col(RECORD).first(),
            example=pl.col("message").first().str.split("\n").list.first().str.slice(0, 200),
        )
        .rename({"event.action": "action"})
        .sort("count", descending=True, maintain_order=True)
        .head(top)
    )
    return {
        "events": events.height,
        "with_timestamp": stamped.len(),
        "first": first.isoformat() if first else None,
        "last": last.isoformat() if last else None,
        "span_s": (last - first).total_seconds() if first and last else None,
        "by_source": dict(events.group_by(SOURCE).len().sort(SOURCE).iter_rows()),
        "levels": ordered_levels,
        "top_errors": templates.to_dicts(),
        "network_problems": network.to_dicts(),
    }
