"""The compiled text scans of ``_scan.c`` and ``_lines.c`` as polars operations.

``compiled`` and ``pcre`` are the extension modules, or None where the install could not build
them; callers then run the polars patterns the scans are twins of (``parsers.logs.fields``,
``analyzer.redact`` and the log formats' ``extract_groups`` pass). Callers read them when they
run, so a test can swap either for None.

The scans let go of the GIL, so a long column is cut into one slice per core and the slices
are scanned in threads at once.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import polars as pl

from parsers.frames import usable_cores

# The interfaces of the modules this code calls: a module left from an older build (an
# editable install whose rebuild failed) is not used, and the polars twins run instead.
SCAN_INTERFACE = 3
LINES_INTERFACE = 2

try:
    from parsers import _scan as compiled
except ImportError:  # installed without a C compiler
    compiled = None  # type: ignore[assignment]
try:
    from parsers import _lines as pcre
except ImportError:  # installed without a C compiler or without libpcre2-dev
    pcre = None  # type: ignore[assignment]
if getattr(compiled, "INTERFACE", None) != SCAN_INTERFACE:
    compiled = None  # type: ignore[assignment]
if getattr(pcre, "INTERFACE", None) != LINES_INTERFACE:
    pcre = None  # type: ignore[assignment]

__all__ = ["claim", "codes", "compiled", "fields", "naive_iso", "pcre", "secrets", "split_file"]

# Below this many texts, or bytes of a file, a thread costs more than it saves.
MIN_TEXTS_PER_THREAD = 20_000
MIN_BYTES_PER_THREAD = 1 << 21


class _Exported:
    """An Arrow array handed over as the PyCapsule pair polars takes it in."""

    def __init__(self, capsules: tuple[object, object]) -> None:
        self._capsules = capsules

    def __arrow_c_array__(self, requested_schema: object = None) -> tuple[object, object]:
        return self._capsules


def _threads(texts: pl.Series) -> int:
    """How many threads a compiled scan of ``texts`` is worth."""
    return min(usable_cores(), max(1, texts.len() // MIN_TEXTS_PER_THREAD))


def _in_slices(
    texts: pl.Series, scan: Callable[[object], tuple[object, object]]
) -> list[tuple[int, pl.DataFrame]]:
    """``scan`` run on slices of ``texts`` in threads: each slice's first row and its result
    (a struct array) unnested."""
    size = max(1, -(-texts.len() // _threads(texts)))
    starts = range(0, max(1, texts.len()), size)

    def run(start: int) -> tuple[int, pl.DataFrame]:
        exported = scan(texts.slice(start, size).__arrow_c_stream__())
        return start, pl.Series(_Exported(exported)).struct.unnest()

    if len(starts) == 1:
        return [run(0)]
    with ThreadPoolExecutor(len(starts)) as pool:
        return list(pool.map(run, starts))


def fields(messages: pl.Series) -> pl.DataFrame:
    """What the field patterns find in each message: columns url, domain (lower case), path,
    code, message, host (lower case), ip and request, one row per message (see
    ``parsers.logs.fields``)."""
    assert compiled is not None
    exported = compiled.fields(messages.__arrow_c_stream__(), _threads(messages))
    found = pl.Series(_Exported(exported)).struct.unnest()
    # Hosts and domains come as written: the few not in lower case already are lower-cased here.
    folded = []
    for name in ("host", "domain"):
        rows = found.get_column(f"fold_{name}").arg_true()
        if not rows.is_empty():
            column = found.get_column(name)
            folded.append(column.scatter(rows, column.gather(rows).str.to_lowercase()))
    return found.drop("fold_host", "fold_domain").with_columns(folded)


def naive_iso(texts: pl.Series) -> pl.DataFrame:
    """Naive ISO 8601 stamps read (column ``naive``, Datetime in microseconds) and the texts
    left ``undecided`` for the patterns of ``parsers.logs.timestamps`` (characters past ASCII)."""
    assert compiled is not None
    exported = compiled.naive_iso(texts.__arrow_c_stream__(), _threads(texts))
    return pl.Series(_Exported(exported)).struct.unnest()


def split_file(
    path: Path, threads: int | None = None, redact_up_to: int | None = None
) -> tuple[pl.DataFrame, int, bool] | None:
    """The lines of the UTF-8 file at ``path`` (column ``line``, views over its bytes read once;
    ``blank``, whether a line is only white space, null where a character past ASCII leaves
    that to the patterns; ``spaced``, false where it does not end in white space; ``masked``,
    whether its secrets were masked), the bytes read, and whether they hold an escape; None
    where the file is empty, over 2 GiB, holds a NUL byte or is not valid UTF-8. Raises
    ``OSError`` when it cannot be read.

    Lines of at most ``redact_up_to`` bytes come with their secrets masked, as ``secrets``
    masks them. The bytes are read and split in ``threads`` threads, by default as many as the
    file's size is worth."""
    assert compiled is not None
    if threads is None:
        threads = min(usable_cores(), 1 + path.stat().st_size // MIN_BYTES_PER_THREAD)
    found = compiled.split_file(path, threads, -1 if redact_up_to is None else redact_up_to)
    if found is None:
        return None
    exported, size, has_escapes = found
    return pl.Series(_Exported(exported)).struct.unnest(), size, has_escapes


def codes(texts: pl.Series, most: int) -> tuple[pl.Series, pl.Series] | None:
    """Each text's code (UInt32, null for null) and, by code, the row where that text first
    occurs: ``texts`` is ``texts.gather(firsts).gather(code)``. None where more than ``most``
    texts are distinct."""
    assert compiled is not None
    found = compiled.codes(texts.__arrow_c_stream__(), most)
    if found is None:
        return None
    exported, firsts = found
    code = pl.Series(_Exported(exported)).struct.field("code")
    return code, pl.Series(firsts, dtype=pl.UInt32)


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


def claim(lines: pl.Series, pattern: str) -> pl.DataFrame | None:
    """The named groups of ``pattern`` in each line, as ``str.extract_groups`` gives them, and
    ``_tail``, the line without the matched text in front; null where a line does not match.
    ``_undecided`` marks the lines PCRE2 leaves to polars (characters past ASCII, or a head past
    256 bytes, that the match needed to see; backtracking past PCRE2's limit).

    None where PCRE2 refuses the pattern: the caller matches every line with polars.
    """
    assert pcre is not None
    try:
        exported = pcre.claim(lines.__arrow_c_stream__(), pattern, _threads(lines))
    except ValueError:
        return None
    # One chunk, as polars' own passes give it, so the columns line up with the lines'.
    return pl.Series(_Exported(exported)).struct.unnest()
