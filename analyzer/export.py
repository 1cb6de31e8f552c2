"""Write the normalised timeline as Parquet, JSON Lines or CSV."""

from __future__ import annotations

import errno
import sys
from pathlib import Path

import polars as pl

from analyzer.schema import TIMESTAMP

# What each kind of event's time means, for Timesketch's ``timestamp_desc``.
TIMESTAMP_DESC = {"log": "Log Time", "har": "Request Start", "pcap": "Packet Time"}


def write_events(events: pl.DataFrame, fmt: str, output: Path | None) -> None:
    """Write ``events`` in ``fmt`` (parquet, jsonl, csv) to ``output`` or stdout when None.

    Raises ``BrokenPipeError`` when the reader of stdout goes away, ``OSError`` otherwise.
    """
    try:
        _write(events, fmt, output)
    except (OSError, pl.exceptions.PolarsError) as exc:
        # polars reports a closed pipe as a generic error naming the OS error.
        if getattr(exc, "errno", None) == errno.EPIPE or "os error 32" in str(exc):
            raise BrokenPipeError(errno.EPIPE, "broken pipe") from exc
        if isinstance(exc, OSError):
            raise
        raise OSError(str(exc)) from exc


def _write(events: pl.DataFrame, fmt: str, output: Path | None) -> None:
    if fmt == "parquet":
        assert output is not None, "parquet needs a file"
        # zstd's fastest level: as small as its default on event text, a fifth quicker.
        events.write_parquet(output, compression="zstd", compression_level=1)
        return
    iso = pl.col(TIMESTAMP).dt.to_string("%Y-%m-%dT%H:%M:%S%.6f%:z")
    if fmt == "jsonl":
        frame = events.with_columns(
            iso.alias(TIMESTAMP),
            # Timesketch reads these three.
            iso.alias("datetime"),
            pl.col("loginlens.kind")
            .replace_strict(TIMESTAMP_DESC, default="Event Time", return_dtype=pl.String)
            .alias("timestamp_desc"),
            pl.col(TIMESTAMP).dt.epoch("us").alias("timestamp"),
        )
        frame.write_ndjson(output if output is not None else sys.stdout)
        return
    lists = [name for name, dtype in events.schema.items() if isinstance(dtype, pl.List)]
    frame = events.with_columns(
        iso.alias(TIMESTAMP), *(pl.col(n).cast(pl.List(pl.String)).list.join(",") for n in lists)
    )
    frame.write_csv(output if output is not None else sys.stdout)
