"""The compiled text scans of ``_scan.c`` as polars operations.

``compiled`` is the extension module, or None where the install could not build it; callers
then run the polars patterns the scans are twins of (``parsers.logs.fields`` and
``analyzer.redact``). Callers read ``scan.compiled`` when they run, so a test can swap it
for None.

The scans let go of the GIL, so a long column is cut into one slice per core and the slices
are scanned in threads at once.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import polars as pl

from parsers.frames import usable_cores

try:
    from parsers import _scan as compiled
except ImportError:  # installed without a C compiler
    compiled = None  # type: ignore[assignment]

__all__ = ["compiled", "fields", "secrets"]

# Below this many texts a thread costs more than it saves.
MIN_TEXTS_PER_THREAD = 20_000


class _Exported:
    """An Arrow array handed over as the PyCapsule pair polars takes it in."""

    def __init__(self, capsules: tuple[object, object]) -> None:
        self._capsules = capsules

    def __arrow_c_array__(self, requested_schema: object = None) -> tuple[object, object]:
        return self._capsules


def _in_slices(
    texts: pl.Series, scan: Callable[[object], tuple[object, object]]
) -> list[tuple[int, pl.DataFrame]]:
    """``scan`` run on slices of ``texts`` in threads: each slice's first row and its result
    (a struct array) unnested."""
    parts = min(usable_cores(), max(1, texts.len() // MIN_TEXTS_PER_THREAD))
    size = max(1, -(-texts.len() // parts))
    starts = range(0, max(1, texts.len()), size)

    def run(start: int) -> tuple[int, pl.DataFrame]:
        exported = scan(texts.slice(start, size).__arrow_c_stream__())
        return start, pl.Series(_Exported(exported)).struct.unnest()

    if len(starts) == 1:
        return [run(0)]
    with ThreadPoolExecutor(len(starts)) as pool:
        return list(pool.map(run, starts))


def fields(messages: pl.Series) -> pl.DataFrame:
    """What the field patterns find in each message: columns url, domain, path, code, message,
    host, ip and request, one row per message (see ``parsers.logs.fields``)."""
    assert compiled is not None
    return pl.concat([found for _, found in _in_slices(messages, compiled.fields)], rechunk=False)


def secrets(texts: pl.Series) -> pl.Series:
    """``texts`` with every secret value masked by the rules of ``analyzer.redact``."""
    assert compiled is not None
    masked = pl.concat(
        [
            found.with_columns(pl.col("row") + start)
            for start, found in _in_slices(texts, compiled.redact)
        ]
    )
    if masked.is_empty():
        return texts
    return texts.clone().scatter(masked.get_column("row"), masked.get_column("text"))
