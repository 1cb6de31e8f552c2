"""Timestamp layouts and their vectorised conversion to UTC.

A log format captures its timestamp as text; this module turns a column of
such texts into ``Datetime(us, UTC)`` in a few polars passes. Layouts are
anchored regexes whose named groups are drawn from ``COMPONENTS``. Missing
years are inferred from a reference date, naive times get a zone chosen by the
caller, and every choice is returned so the report can say what was assumed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import polars as pl

from parsers import scan
from parsers.frames import select_parallel

COMPONENTS = (
    "year", "month", "mon", "day", "yday", "hour", "minute", "second",
    "frac", "tz", "offh", "epoch",
)  # fmt: skip

_TIME = r"(?P<hour>\d{1,2}):(?P<minute>\d{2}):(?P<second>\d{2})(?:[.,](?P<frac>\d{1,9}))?"
_ZONE = r"\s*(?P<tz>Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?"
_NAIVE_ISO = r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?$"
# ISO 8601 with every field at a fixed position (the common case), handled by slicing.
_FIXED_ISO = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}"
# Month names in English and the abbreviations French and German syslog writes.
_MON = r"(?P<mon>[A-Za-z\u00e0-\u00fb]{3,5}\.?)"

LAYOUTS: dict[str, str] = {
    "iso": rf"^(?P<year>\d{{4}})-(?P<month>\d{{2}})-(?P<day>\d{{2}})(?:[T ]|\s+){_TIME}{_ZONE}",
    "xlog": rf"^(?P<year>\d{{4}})-(?P<month>\d{{2}})-(?P<day>\d{{2}}) (?:(?P<offh>[+-]\d{{1,2}}(?:\.\d+)?)|(?P<tz>[+-]\d{{4}})) {_TIME}",
    "slash": rf"^(?P<year>\d{{4}})/(?P<month>\d{{1,2}})/(?P<day>\d{{1,2}})[ T-]{_TIME}{_ZONE}",
    "ordinal": rf"^(?P<year>\d{{4}})-(?P<yday>\d{{3}})T{_TIME}{_ZONE}",
    "month_day": rf"^(?P<month>\d{{2}})-(?P<day>\d{{2}}) {_TIME}",
    "chromium": r"^(?P<month>\d{2})(?P<day>\d{2})/(?P<hour>\d{2})(?P<minute>\d{2})(?P<second>\d{2})(?:\.(?P<frac>\d{1,9}))?",
    "glog": rf"^(?P<month>\d{{2}})(?P<day>\d{{2}}) {_TIME}",
    "syslog": rf"^(?:[A-Z][a-z]{{2}},? )?{_MON} {{1,2}}(?P<day>\d{{1,2}}),? {_TIME}(?: (?P<year>\d{{4}}))?{_ZONE}",
    "day_mon": rf"^(?P<day>\d{{1,2}})[ /-]{_MON}[ /-](?P<year>\d{{4}})[ :]{_TIME}{_ZONE}",
    "epoch": r"^(?P<epoch>\d{10}|\d{13}|\d{16}|\d{19})(?:\.(?P<frac>\d{1,9}))?(?:$|[\s,;|\]])",
    "time": rf"^{_TIME}",
}  # fmt: skip

_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
    "janv": 1, "févr": 2, "fév": 2, "mars": 3, "avr": 4, "mai": 5, "juin": 6,
    "juil": 7, "août": 8, "aoû": 8, "sept": 9, "déc": 12,
    "mär": 3, "mrz": 3, "okt": 10, "dez": 12,
}  # fmt: skip

_EPOCH_UNIT_US = {10: 1e6, 13: 1e3, 16: 1.0, 19: 1e-3}
_MONTH_DAYS = {
    1: 31,
    2: 28,
    3: 31,
    4: 30,
    5: 31,
    6: 30,
    7: 31,
    8: 31,
    9: 30,
    10: 31,
    11: 30,
    12: 31,
}
_DAY_US = 86_400_000_000


@dataclass(frozen=True)
class TimeContext:
    """What to assume where a timestamp leaves something out."""

    zone: str | None  # IANA zone for naive times; None means "decide from the file, else UTC"
    zone_source: str  # how the zone was chosen, for the report: "--tz", "bundle.json timezone"
    reference: datetime  # naive local time near the end of the log, for missing years and dates
    reference_source: str  # "bundle.json collected_at", "file modification time", ...


@dataclass(frozen=True)
class TimeResult:
    """Parsed timestamps and what was assumed to get them."""

    timestamps: pl.Series
    parsed: int
    with_offset: int
    naive: int
    zone_used: str | None
    year_inferred: int
    date_inferred: int


def parse_timestamps(
    texts: pl.Series,
    context: TimeContext,
    layouts: Sequence[str] | None = None,
    read: pl.Series | None = None,
) -> TimeResult:
    """Convert timestamp texts to UTC, trying ``layouts`` (default: all) in order.

    ``read`` holds the texts already read as naive ISO stamps (null where not read), as
    ``_naive_iso`` reads them: only the others are read here.
    """
    names = list(layouts) if layouts else list(LAYOUTS)
    size = texts.len()
    naive = pl.repeat(None, size, dtype=pl.Datetime("us"), eager=True)
    if "iso" in names and read is None:
        naive = _naive_iso(texts)
    elif "iso" in names and read is not None:
        unread = (read.is_null() & texts.is_not_null()).arg_true()
        naive = read.cast(pl.Datetime("us"))
        if not unread.is_empty():
            naive = naive.clone().scatter(unread, _naive_iso(texts.gather(unread)))
    slow = (naive.is_null() & texts.is_not_null()).arg_true()
    offsets = pl.repeat(None, size, dtype=pl.Int32, eager=True)
    is_epoch = pl.repeat(False, size, dtype=pl.Boolean, eager=True)
    flags = {"year_inferred": 0, "date_inferred": 0}
    if not slow.is_empty():  # every stamp naive ISO (the usual log) needs none of this
        parts = _extract_components(texts.gather(slow), names)
        slow_naive, slow_offsets, slow_epoch, flags = _assemble(parts, context)
        naive = naive.scatter(slow, slow_naive)
        offsets = offsets.scatter(slow, slow_offsets)
        is_epoch = is_epoch.scatter(slow, slow_epoch)
    written = offsets.drop_nulls()
    with_offset = written.len()
    naive_count = int((naive.is_not_null() & offsets.is_null() & ~is_epoch).sum())
    zone = context.zone
    zone_used: str | None = None
    if naive_count and zone is not None:
        zone_used = f"{zone} ({context.zone_source})"
    elif naive_count and with_offset:
        # A file that writes an offset on some lines was written in that offset.
        common = int(written.mode().sort()[0])
        zone_used = f"offset {_format_offset(common)} written in other lines"
        offsets = offsets.fill_null(common)
    elif naive_count:
        zone_used = "UTC (no zone known)"
    # Epoch times are UTC by definition.
    offsets = pl.select(pl.when(is_epoch).then(0).otherwise(offsets)).to_series()
    utc = _to_utc(naive, offsets, zone)
    return TimeResult(
        timestamps=utc.alias("@timestamp"),
        parsed=int(utc.is_not_null().sum()),
        with_offset=with_offset,
        naive=naive_count,
        zone_used=zone_used,
        year_inferred=int(flags["year_inferred"]),
        date_inferred=int(flags["date_inferred"]),
    )


def _naive_iso(texts: pl.Series) -> pl.Series:
    """The commonest stamp, naive ``YYYY-MM-DD HH:MM:SS[.fff]``; null for the rest.

    Read by the compiled scan where the install built it (``parsers.scan``), which leaves the
    texts with characters past ASCII to the patterns; by the patterns elsewhere.
    """
    if scan.compiled is None or texts.dtype != pl.String:
        return _naive_iso_patterns(texts)
    found = scan.naive_iso(texts)
    undecided = found.get_column("undecided").arg_true()
    return _read_again(found.get_column("naive"), texts, undecided, _naive_iso_patterns)


def _read_again(
    stamps: pl.Series, texts: pl.Series, rows: pl.Series, read: Callable[[pl.Series], pl.Series]
) -> pl.Series:
    """``stamps`` with the ``rows`` a first reading left to ``read`` (``texts`` their source)."""
    if rows.is_empty():
        return stamps
    return stamps.scatter(rows, read(texts.gather(rows)))


def _naive_iso_patterns(texts: pl.Series) -> pl.Series:
    """``_naive_iso`` by polars patterns.

    polars' parser reads the whole-second part several times faster than slicing it
    into fields would; the stamps of that shape it refuses (a "T" between date and time,
    a leap second) are sliced at fixed positions instead. The calendar date is checked
    either way (2025-02-30 is null).
    """
    if texts.is_empty():  # the streaming engine drops the columns of an empty select
        return pl.Series("naive", [], dtype=pl.Datetime("us"))
    ts = pl.col(texts.name)
    fraction = ts.str.slice(20, 6)
    scale = pl.lit(10).pow(6 - fraction.str.len_chars().cast(pl.Int64))
    micros = (fraction.cast(pl.Int64, strict=False) * scale).fill_null(0)
    whole = ts.str.head(19).str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False, time_unit="us")
    shaped = ts.str.contains(_NAIVE_ISO)
    parsed = select_parallel(
        texts.to_frame(),
        naive=pl.when(shaped).then(whole + pl.duration(microseconds=micros)),
        refused=shaped & whole.is_null(),
    )
    refused = parsed.get_column("refused").arg_true()
    return _read_again(parsed.get_column("naive"), texts, refused, _sliced_iso)


def _sliced_iso(texts: pl.Series) -> pl.Series:
    """Stamps of the shape ``_NAIVE_ISO``, taken apart at fixed positions."""
    ts = pl.col(texts.name)

    def digits(start: int, length: int) -> pl.Expr:
        return ts.str.slice(start, length).cast(pl.Int64, strict=False)

    hour, minute, second = digits(11, 2), digits(14, 2), digits(17, 2)
    micros = ts.str.slice(20, 6).str.pad_end(6, "0").cast(pl.Int64, strict=False).fill_null(0)
    clock_ok = hour.is_between(0, 23) & minute.is_between(0, 59) & second.is_between(0, 60)
    day = ts.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False).cast(pl.Datetime("us"))
    clock = pl.duration(hours=hour, minutes=minute, seconds=second, microseconds=micros)
    return texts.to_frame().select(pl.when(clock_ok).then(day + clock)).to_series()


def _extract_components(texts: pl.Series, names: list[str]) -> pl.DataFrame:
    """Return one string column per component, from the first layout each text matches.

    Each layout runs only on the texts no earlier layout claimed.
    """
    pending = pl.DataFrame({"_index": pl.int_range(texts.len(), eager=True), "ts": texts})
    pending = pending.filter(pl.col("ts").is_not_null())
    parts = [pl.DataFrame(schema={"_index": pl.Int64, **dict.fromkeys(COMPONENTS, pl.String)})]
    if "iso" in names:
        # Most stamps are fixed-width ISO: slice them instead of running a capturing regex.
        fixed = pending.get_column("ts").str.contains(_FIXED_ISO)
        if fixed.any():
            parts.append(pending.filter(fixed).select("_index", *_fixed_iso_components()))
            pending = pending.filter(~fixed)
    for name in names:
        if pending.is_empty():
            break
        pattern = LAYOUTS[name]
        hit = pending.get_column("ts").str.contains(pattern)
        if hit.any():
            parts.append(
                pending.filter(hit)
                .select("_index", groups=pl.col("ts").str.extract_groups(pattern))
                .unnest("groups")
            )
            pending = pending.filter(~hit)
    claimed = pl.concat(parts, how="diagonal_relaxed")
    return (
        pl.DataFrame({"_index": pl.int_range(texts.len(), eager=True)})
        .join(claimed, on="_index", how="left", maintain_order="left")
        .select(COMPONENTS)
    )


def _fixed_iso_components() -> list[pl.Expr]:
    ts = pl.col("ts")
    tail = ts.str.slice(19)
    positions = {"year": (0, 4), "month": (5, 2), "day": (8, 2), "hour": (11, 2),
                 "minute": (14, 2), "second": (17, 2)}  # fmt: skip
    return [
        *(ts.str.slice(start, length).alias(name) for name, (start, length) in positions.items()),
        tail.str.extract(r"^[.,](\d{1,9})", 1).alias("frac"),
        tail.str.extract(rf"^(?:[.,]\d+)?{_ZONE}", 1).alias("tz"),
    ]


def _assemble(
    parts: pl.DataFrame, context: TimeContext
) -> tuple[pl.Series, pl.Series, pl.Series, dict[str, int]]:
    """Return naive datetimes, written UTC offsets in seconds, an epoch mask and guess counts."""
    ref = context.reference
    mon = pl.col("mon").str.to_lowercase()
    month_name = mon.str.strip_suffix(".").replace_strict(
        _MONTHS, default=None, return_dtype=pl.Int64
    )
    short_name = mon.str.slice(0, 3).replace_strict(_MONTHS, default=None, return_dtype=pl.Int64)
    # Components become integers once; everything below reads these columns.
    parts = parts.with_columns(
        _month=pl.col("month")
        .cast(pl.Int64, strict=False)
        .fill_null(month_name.fill_null(short_name)),
        _day=pl.col("day").cast(pl.Int64, strict=False),
        _year=pl.col("year").cast(pl.Int64, strict=False),
        _hour=pl.col("hour").cast(pl.Int64, strict=False),
        _minute=pl.col("minute").cast(pl.Int64, strict=False),
        _second=pl.col("second").cast(pl.Int64, strict=False),
        _yday=pl.col("yday").cast(pl.Int64, strict=False),
        _frac_us=pl.col("frac")
        .str.pad_end(6, "0")
        .str.slice(0, 6)
        .cast(pl.Int64, strict=False)
        .fill_null(0),
    )
    month, day, year_given = pl.col("_month"), pl.col("_day"), pl.col("_year")
    hour, minute, second, yday = (
        pl.col("_hour"),
        pl.col("_minute"),
        pl.col("_second"),
        pl.col("_yday"),
    )
    # A dated line without a year belongs to the last twelve months before the reference.
    # (a day of slack for clocks and zones; compared as day numbers so month ends work).
    ref_day = (date(ref.year, ref.month, ref.day) - date(1970, 1, 1)).days
    after_ref = _days_from_civil(pl.lit(ref.year), month, day) > ref_day + 1
    year_guess = pl.when(after_ref).then(ref.year - 1).otherwise(ref.year)
    has_date = month.is_not_null() & day.is_not_null()
    parts = parts.with_columns(_year_full=year_given.fill_null(pl.when(has_date).then(year_guess)))
    year = pl.col("_year_full")
    clock_ok = hour.is_between(0, 23) & minute.is_between(0, 59) & second.is_between(0, 60)
    clock_us = (hour * 3600 + minute * 60 + second) * 1_000_000 + pl.col("_frac_us")
    date_ok = month.is_between(1, 12) & day.is_between(1, _days_in_month(year, month))
    dated = pl.when(date_ok & clock_ok).then(
        _days_from_civil(year, month, day) * _DAY_US + clock_us
    )
    year_day_one = _days_from_civil(year_given, pl.lit(1), pl.lit(1))
    ordinal = pl.when(yday.is_between(1, 366) & clock_ok).then(
        (year_day_one + yday - 1) * _DAY_US + clock_us
    )
    epoch_digits = pl.col("epoch").str.len_chars()
    unit_us = epoch_digits.replace_strict(_EPOCH_UNIT_US, default=None, return_dtype=pl.Float64)
    fraction = pl.format("0.{}", pl.col("frac")).cast(pl.Float64, strict=False).fill_null(0.0)
    epoch_us = (pl.col("epoch").cast(pl.Int64, strict=False) + fraction) * unit_us
    frame = parts.with_columns(
        _index=pl.int_range(pl.len()),
        _dated=pl.from_epoch(dated, time_unit="us"),
        _ordinal=pl.from_epoch(ordinal, time_unit="us"),
        _epoch=pl.from_epoch(epoch_us.round(0).cast(pl.Int64, strict=False), time_unit="us"),
        _time_only=pl.col("hour").is_not_null()
        & pl.col("day").is_null()
        & pl.col("yday").is_null(),
        _year_inferred=year_given.is_null() & has_date,
        _offset=_offset_seconds(),
    )
    frame = frame.with_columns(_time=_time_only_dates(frame, ref))
    naive = frame.select(
        pl.coalesce("_epoch", "_ordinal", "_dated", "_time").alias("naive")
    ).to_series()
    offsets = frame.get_column("_offset")
    is_epoch = frame.get_column("_epoch").is_not_null()
    flags = {
        "year_inferred": int(frame["_year_inferred"].sum()),
        "date_inferred": int(frame["_time_only"].sum()),
    }
    return naive, offsets, is_epoch, flags


def _days_from_civil(year: pl.Expr, month: pl.Expr, day: pl.Expr) -> pl.Expr:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    y = year.cast(pl.Int64) - (month <= 2).cast(pl.Int64)
    era = y // 400
    year_of_era = y - era * 400
    day_of_year = (153 * ((month.cast(pl.Int64) + 9) % 12) + 2) // 5 + day.cast(pl.Int64) - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


def _days_in_month(year: pl.Expr, month: pl.Expr) -> pl.Expr:
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    days = month.replace_strict(_MONTH_DAYS, default=None, return_dtype=pl.Int32)
    return pl.when((month == 2) & leap).then(29).otherwise(days)


def _offset_seconds() -> pl.Expr:
    """UTC offset in seconds from a ``tz`` (Z, +08:00, +0800) or ``offh`` (+8.0) group."""
    tz = pl.col("tz")
    sign = pl.when(tz.str.starts_with("-")).then(-1).otherwise(1)
    digits = tz.str.replace_all(r"[^0-9]", "")
    hours = digits.str.slice(0, 2).cast(pl.Int32, strict=False)
    minutes = digits.str.slice(2, 2).cast(pl.Int32, strict=False).fill_null(0)
    from_tz = (
        pl.when(tz.is_in(["Z", "UTC", "GMT"]))
        .then(0)
        .otherwise(sign * (hours * 3600 + minutes * 60))
    )
    from_hours = (pl.col("offh").cast(pl.Float64, strict=False) * 3600).round(0).cast(pl.Int32)
    return pl.coalesce(from_tz, from_hours).cast(pl.Int32)


def _time_only_dates(frame: pl.DataFrame, ref: datetime) -> pl.Series:
    """Give time-only stamps a date: the reference day, stepping back over midnight rollovers."""
    rows = frame.filter(pl.col("_time_only"))
    if rows.is_empty():
        return pl.repeat(None, frame.height, dtype=pl.Datetime("us"), eager=True).alias("_time")
    # The integer components were made once by _assemble.
    seconds = pl.col("_hour") * 3600 + pl.col("_minute") * 60 + pl.col("_second")
    rows = rows.with_columns(_sec=seconds).with_columns(
        _roll=(pl.col("_sec") < pl.col("_sec").shift(1)).fill_null(False).cum_sum()
    )
    rollovers = int(rows.select(pl.col("_roll").max()).item() or 0)
    start = datetime(ref.year, ref.month, ref.day) - timedelta(days=rollovers)
    rows = rows.select(
        "_index",
        _time=pl.lit(start, dtype=pl.Datetime("us"))
        + pl.duration(
            days=pl.col("_roll"), seconds=pl.col("_sec"), microseconds=pl.col("_frac_us")
        ),
    )
    return (
        frame.select("_index")
        .join(rows, on="_index", how="left", maintain_order="left")
        .get_column("_time")
    )


def _to_utc(naive: pl.Series, offsets: pl.Series, zone: str | None) -> pl.Series:
    frame = pl.DataFrame({"naive": naive, "off": offsets})
    fixed = (pl.col("naive") - pl.duration(seconds=pl.col("off"))).dt.replace_time_zone("UTC")
    if zone:
        zoned = (
            pl.col("naive")
            .dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
            .dt.convert_time_zone("UTC")
        )
    else:
        zoned = pl.col("naive").dt.replace_time_zone("UTC")
    return frame.select(
        pl.when(pl.col("off").is_not_null()).then(fixed).otherwise(zoned).alias("@timestamp")
    ).to_series()


def _format_offset(seconds: int) -> str:
    sign = "-" if seconds < 0 else "+"
    seconds = abs(seconds)
    return f"{sign}{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"
