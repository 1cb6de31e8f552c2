"""Client log files → events in the common schema.

The whole file is decoded once and split into a polars column of lines; the
formats seen in a sample are then tried in order of how well they scored, each
as one vectorised regex pass over the lines not yet claimed. Lines no format
claims continue the record above them (stack traces, wrapped JSON), or, with
no record above, become raw events of their own. Nothing is dropped.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from concurrent.futures import wait
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from analyzer.ledger import SourceReport
from analyzer.redact import redact_series
from analyzer.schema import conform
from parsers import scan
from parsers.errors import ParseError
from parsers.frames import worker_threads
from parsers.logs import jsonl
from parsers.logs.fields import fill_fields, find_fields
from parsers.logs.formats import (
    BY_NAME,
    FORMATS,
    GENERIC,
    JSON_LINES,
    LEADING_LEVEL,
    LEVEL_WORD,
    LEVELS,
    LOGFMT,
    SYSLOG_SEVERITY,
    LogFormat,
)
from parsers.logs.timestamps import LAYOUTS, TimeContext, parse_timestamps
from parsers.text import FileText, read_file

SAMPLE_LINES = 4000
# Distinct values past which converting each once is no longer worth telling them apart first.
_FEW = 4096
_TAILS = ("(?P<message>.*)$", "(?P<rest>.*)$")
# What a record may carry from its format's groups or its JSON keys.
_RECORD_FIELDS = tuple(
    dict.fromkeys(("ts", "level", "logger", "pid", "tid", "host", "pri", "message", *jsonl.COLUMNS))
)
ANSI = r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"
UNRECOGNISED = "unrecognised"
_BLANK = r"^\s*$"
_LOGFMT_LEVEL = r'(?:^|\s)(?:level|lvl|severity)="?([A-Za-z]+)'
_LOGFMT_MSG = r'(?:^|\s)(?:msg|message)=(?:"((?:[^"\\]|\\.)*)"|(\S+))'
_NAMED_GROUP = re.compile(r"(?<!\\)\(\?P<\w+>")


@dataclass(frozen=True)
class LogLimits:
    """Caps that keep one hostile line or endless continuation from swallowing the timeline."""

    max_line_chars: int = 1 << 20
    max_record_lines: int = 500


def parse_log(
    path: Path,
    display: str,
    context: TimeContext,
    limits: LogLimits = LogLimits(),
    stage: Callable[[str], None] | None = None,
    redact: bool = True,
) -> tuple[pl.DataFrame, SourceReport]:
    """Parse one client log file; return its events and its ledger entry.

    ``stage`` is told, for progress displays, each step as it starts. With
    ``redact``, secrets are masked in every line before anything is cut from it.

    Raises ``ParseError`` only when the file cannot be read at all.
    """
    started = time.perf_counter()
    note = stage or (lambda _: None)
    note("decoding")
    try:
        # The split masks secrets as it reads; the lines too long for it are masked once cut.
        text = read_file(path, limits.max_line_chars if redact else None)
    except OSError as exc:
        raise ParseError(display, exc.strerror or str(exc)) from exc
    decoded = text.decoded
    report = SourceReport(path=display, kind="log", bytes=text.size)
    report.details["encoding"] = decoded.encoding + (" (BOM)" if decoded.bom else "")
    if decoded.replaced:
        report.details["replaced_characters"] = decoded.replaced
        report.error(
            None, f"{decoded.replaced} undecodable byte sequence(s) replaced", skipped=False
        )
    if decoded.nul_bytes:
        report.details["nul_bytes_removed"] = decoded.nul_bytes
        report.error(None, f"{decoded.nul_bytes} NUL bytes removed (padding)", skipped=False)
    if redact:
        note("redacting")
    lines = _number_lines(decoded.lines, text, report, limits, redact)
    events = _parse_lines(lines, display, context, report, limits, note)
    report.records = events.height
    report.seconds = time.perf_counter() - started
    return events, report


def _number_lines(
    raw: pl.Series, text: FileText, report: SourceReport, limits: LogLimits, redact: bool
) -> pl.DataFrame:
    """Return ``line_no``, ``raw`` (as written, secrets masked), ``line`` (no ANSI colours)
    and ``blank`` (nothing but white space); and ``spaced`` (false where the line does not end
    in white space) where the file's split says so.

    The split's ``blank`` (null: not known) and ``spaced`` hold for the lines as written:
    masking a secret never makes a line blank or not, nor makes it end in white space; taking
    out colours may, and so may cutting a line short.
    """
    has_escapes, blank, spaced = text.has_escapes, text.blank, text.spaced
    frame = pl.DataFrame({"raw": raw}).with_columns(
        line_no=pl.int_range(1, pl.len() + 1, dtype=pl.Int64)
    )
    # Bytes bound characters from above, so only suspects are measured in characters. Lines the
    # split masked were short enough as written to be masked whole: never cut, nor masked again
    # (a mask can be longer than the secret it hides).
    length = frame.get_column("raw").str.len_bytes()
    too_long = length > limits.max_line_chars
    if text.masked is not None:
        too_long &= ~text.masked
    suspects = frame.filter(too_long)
    unmasked: pl.Series | None = None
    if text.redacted_up_to is not None:
        longer = length > text.redacted_up_to
        left = frame.filter(longer if text.masked is None else longer & ~text.masked)
        unmasked = left.get_column("line_no") - 1
    long_lines = suspects.filter(pl.col("raw").str.len_chars() > limits.max_line_chars)
    for line_no, length in long_lines.select("line_no", pl.col("raw").str.len_chars()).iter_rows():
        report.error(
            line_no, f"line of {length} characters cut to {limits.max_line_chars}", skipped=False
        )
    if long_lines.height:
        frame = frame.with_columns(pl.col("raw").str.slice(0, limits.max_line_chars))
        cut = long_lines.get_column("line_no") - 1
        if blank is not None and spaced is not None:  # a cut line may now end in, or be, space
            blank, spaced = blank.clone().scatter(cut, None), spaced.clone().scatter(cut, True)
    if redact and unmasked is None:
        frame = frame.with_columns(redact_series(frame.get_column("raw")))
    elif redact and unmasked is not None and not unmasked.is_empty():
        raw = frame.get_column("raw")
        masked = redact_series(raw.gather(unmasked))
        frame = frame.with_columns(raw.clone().scatter(unmasked, masked))
    report.details["lines"] = frame.height
    if has_escapes or blank is None or spaced is None:
        clean = pl.col("raw").str.replace_all(ANSI, "") if has_escapes else pl.col("raw")
        frame = frame.with_columns(line=clean)
        # A test, not strip_chars() == "": that would copy every line to compare it.
        return frame.with_columns(blank=pl.col("line").str.contains(_BLANK))
    frame = frame.with_columns(line=pl.col("raw"), blank=blank, spaced=spaced)
    open_rows = blank.is_null().arg_true()
    if open_rows.is_empty():
        return frame
    found = frame.get_column("line").gather(open_rows).str.contains(_BLANK)
    return frame.with_columns(frame.get_column("blank").scatter(open_rows, found))


def detect_formats(lines: pl.Series) -> list[tuple[LogFormat, float]]:
    """Score every format on a sample of non-blank lines; best first, generic always last."""
    # Thin the lines before testing them for blanks: the sample is all that is scored.
    sample = lines.gather_every(max(1, lines.len() // SAMPLE_LINES))
    sample = sample.filter(sample.str.strip_chars() != "")
    if sample.is_empty():
        return [(GENERIC, 0.0)]
    scored = []
    for priority, fmt in enumerate(FORMATS):
        share = int(sample.str.contains(head_pattern(fmt)).sum()) / sample.len()
        if share > 0 or fmt is GENERIC:
            scored.append((fmt, share, priority))
    scored.sort(key=lambda item: (item[0] is GENERIC, -item[1], item[2]))
    return [(fmt, share) for fmt, share, _ in scored]


def _parse_lines(
    lines: pl.DataFrame,
    display: str,
    context: TimeContext,
    report: SourceReport,
    limits: LogLimits,
    note: Callable[[str], None],
) -> pl.DataFrame:
    note("matching formats")
    candidates = [fmt for fmt, _ in detect_formats(lines.get_column("line"))]
    primary = candidates[0]
    # Formats the sample never saw still get the lines nothing else claimed (a log appended
    # in another format far from where the sample looked).
    candidates += [fmt for fmt in FORMATS if fmt not in candidates]
    claims = _claim_lines(lines, candidates, primary, report)
    note("joining multi-line records")
    records = _assemble_records(lines.hstack(claims), report, limits)
    note("timestamps and fields")
    return _to_events(records, display, context, report, candidates)


def _claim_lines(
    lines: pl.DataFrame, candidates: list[LogFormat], primary: LogFormat, report: SourceReport
) -> pl.DataFrame:
    """One row per line: the format that claimed it (null if none did) and what it yielded.

    Formats are tried in turn, each on the lines no earlier one claimed. The first usually
    claims nearly every line: its fields, taken from all lines at once, are already in
    place, and only the few lines later formats claim are put in place by position.
    """
    claims = pl.DataFrame({"format": pl.repeat(None, lines.height, dtype=pl.String, eager=True)})
    pending = lines.select("line_no", line=pl.when(~pl.col("blank")).then(pl.col("line")))
    for tried, fmt in enumerate(candidates):
        if tried == 1:
            # The lines the first format left (mostly stack traces) are usually left by all the
            # others too: one pass over them keeps only those another format could claim.
            rest = "|".join(f"(?:{_unnamed(head_pattern(other))})" for other in candidates[1:])
            pending = pending.filter(pl.col("line").str.contains(rest))
        if pending.is_empty():
            break
        if fmt is JSON_LINES:
            hits = pending.get_column("line").str.contains(head_pattern(fmt)).fill_null(False)
            if not hits.any():
                continue
            # Outside a JSON Lines file a broken "{" line is just part of a multi-line record.
            found, rejected = _extract_json(
                pending.filter(hits), report if fmt is primary else None
            )
            pending = pl.concat([pending.filter(~hits), rejected]).sort("line_no")
            if found.is_empty():
                continue
            placed = found.get_column("line_no")
            hits = pl.repeat(True, found.height, eager=True)  # every decoded line
            found = found.drop("line_no")
        else:
            found, hits = _extract_regex(pending, fmt)
            if not hits.any():
                continue
            placed = pending.get_column("line_no")
            pending = pending.filter(~hits)
        # Only the lines it matched get the format's name (and weakness): a later format may
        # claim the others.
        found = found.with_columns(format=pl.when(hits).then(pl.lit(fmt.name)))
        if fmt is not primary:
            found = found.with_columns(weak=pl.when(hits).then(_weak(fmt)))
        claims = _place(claims, found, placed)
        # Blank lines, masked above, are never claimed; they need not be tried again.
        pending = pending.filter(pl.col("line").is_not_null())
    return claims


def _unnamed(pattern: str) -> str:
    """``pattern`` with its named groups made plain, so that patterns can share one alternation."""
    return _NAMED_GROUP.sub("(?:", pattern)


def _place(claims: pl.DataFrame, found: pl.DataFrame, line_no: pl.Series) -> pl.DataFrame:
    """``claims`` with the values of ``found`` (whose rows are lines ``line_no``) filled in."""
    if found.height != claims.height:
        position = pl.repeat(None, claims.height, dtype=pl.UInt32, eager=True).scatter(
            line_no - 1, pl.int_range(found.height, dtype=pl.UInt32, eager=True)
        )
        found = found.select(pl.all().gather(position))
    # Nothing claimed yet (the first format's lines): the values are taken as they are.
    empty = claims.get_column("format").null_count() == claims.height
    return claims.with_columns(
        pl.coalesce(claims.get_column(name), values)
        if name in claims.columns and not empty
        else values
        for name, values in found.to_dict().items()
    )


def _weak(fmt: LogFormat) -> pl.Expr:
    """Whether a line claimed by ``fmt``, not the file's primary format, might rather continue
    the record above it.

    In a file of another format, a lone JSON object, or a line that merely starts with an
    epoch number or a time of day, is usually part of a multi-line record (a response body,
    a table row), not a record of its own.
    """
    if fmt is JSON_LINES:
        return pl.lit(True)
    if fmt is GENERIC:
        return pl.col("ts").str.contains(r"^\d+(?:\.\d+)?$|^\d{1,2}:\d{2}")
    return pl.lit(False)


def head_pattern(fmt: LogFormat) -> str:
    """``fmt.pattern`` without its trailing catch-all group.

    Capturing ``(?P<message>.*)$`` drags the regex engine's slow capturing
    mode across the whole line; the message is just the rest of the line.
    """
    for tail in _TAILS:
        if fmt.pattern.endswith(tail):
            return fmt.pattern[: -len(tail)]
    return fmt.pattern


def _extract_regex(pending: pl.DataFrame, fmt: LogFormat) -> tuple[pl.DataFrame, pl.Series]:
    """The fields ``fmt`` yields from each line of ``pending``, row for row (null where it does
    not match the line), and which lines it matched."""
    head = head_pattern(fmt)
    groups = head_groups(pending.get_column("line"), head)
    if head != fmt.pattern:
        groups = groups.rename({"_tail": "rest" if "(?P<rest>" in fmt.pattern else "message"})
    groups = groups.drop("_tail", strict=False)
    if fmt is GENERIC:
        rest = pl.col("rest")
        groups = groups.with_columns(
            level=rest.str.slice(0, 48).str.extract(LEVEL_WORD, 1),
            message=rest.str.replace(LEADING_LEVEL, ""),
        )
    elif fmt is LOGFMT:
        rest = pl.col("rest")
        groups = groups.with_columns(
            level=rest.str.extract(_LOGFMT_LEVEL, 1),
            message=pl.coalesce(
                rest.str.extract(_LOGFMT_MSG, 1), rest.str.extract(_LOGFMT_MSG, 2), rest
            ),
        )
    if fmt.hex_thread_ids:
        groups = groups.with_columns(tid=pl.format("0x{}", pl.col("tid").str.strip_prefix("0x")))
    if fmt.level_codes and "level" in groups.collect_schema().names():
        groups = groups.with_columns(
            level=pl.col("level").str.to_lowercase().replace(fmt.level_codes)
        )
    found = groups.drop("rest", strict=False).collect(engine="in-memory")
    return found.drop("_hit"), found.get_column("_hit")


def head_groups(lines: pl.Series, head: str) -> pl.LazyFrame:
    """The named groups of ``head`` in each line, ``_tail`` (the line without the matched text
    in front) and ``_hit``; groups and tail are null where the line does not match. Where PCRE2
    matched, ``_naive`` holds the "ts" group read as a naive ISO stamp, if it is one.

    PCRE2 matches where the install built ``parsers._lines``, and polars the lines PCRE2 leaves
    undecided (characters past ASCII, runaway backtracking); polars all of them otherwise.
    """
    found = scan.claim(lines, head) if scan.pcre is not None else None
    if found is None:
        return _polars_head_groups(lines, head)
    undecided = found.get_column("_undecided").arg_true()
    found = found.drop("_undecided")
    if not undecided.is_empty():
        # Their stamps (``_naive``, where PCRE2 read them) are left to the timestamp patterns.
        again = _polars_head_groups(lines.gather(undecided), head).collect()
        found = found.with_columns(
            found.get_column(name).scatter(undecided, again.get_column(name))
            for name in again.columns
            if name in found.columns
        )
    return found.lazy().with_columns(_hit=pl.col("_tail").is_not_null())


def _polars_head_groups(lines: pl.Series, head: str) -> pl.LazyFrame:
    """``head_groups`` by one polars capturing pass that both tests and extracts."""
    return (
        pl.LazyFrame({"line": lines})
        .select("line", _fields=pl.col("line").str.extract_groups(f"(?P<_head>{head})"))
        .unnest("_fields")
        .with_columns(
            _tail=pl.col("line").str.strip_prefix(pl.col("_head")),
            _hit=pl.col("_head").is_not_null(),
        )
        .drop("_head", "line")
    )


def _extract_json(
    matched: pl.DataFrame, report: SourceReport | None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Decode JSON lines; lines that are not JSON objects go back to the pending pool."""
    columns, failed, reasons = jsonl.decode_records(matched.get_column("line").to_list())
    if report is not None:
        for position, reason in zip(failed, reasons, strict=True):
            line_no = int(matched["line_no"][position])
            report.error(line_no, reason + "; kept as text", skipped=False)
    keep = pl.Series(values=[True] * matched.height, dtype=pl.Boolean)
    if failed:
        keep = keep.scatter(failed, False)
    decoded = pl.DataFrame(columns, schema=dict.fromkeys(jsonl.COLUMNS, pl.String))
    good = pl.concat([matched.filter(keep).select("line_no"), decoded], how="horizontal")
    return good, matched.filter(~keep)


def _assemble_records(frame: pl.DataFrame, report: SourceReport, limits: LogLimits) -> pl.DataFrame:
    """Join continuation lines onto the record above them; return one row per record.

    ``frame`` holds every line with what its format claimed (``format`` null where none did).
    """
    if "weak" in frame.columns:
        frame = _demote_lone_weak_lines(frame)
    is_start = pl.col("format").is_not_null()
    frame = frame.with_columns(after_start=is_start.cum_max())
    # A line with no record above it stands alone; so does one past the continuation cap.
    opens = is_start | (~pl.col("after_start") & ~pl.col("blank"))
    # Position within the record: this line's index less the index of the record's first line.
    index = pl.int_range(pl.len())
    first = pl.when(opens).then(index).forward_fill()
    frame = frame.with_columns(_overflow=(index - first) >= limits.max_record_lines)
    overflow = int(frame["_overflow"].sum())
    if overflow:
        opens |= pl.col("_overflow") & ~pl.col("blank")
        report.error(
            None,
            f"{overflow} line(s) past the {limits.max_record_lines}-line record "
            "cap kept as separate raw events",
            skipped=False,
        )
    frame = frame.with_columns(_record=opens.cum_sum())
    unrecognised = frame.filter(
        pl.col("format").is_null()
        & ~pl.col("blank")
        & (~pl.col("after_start") | pl.col("_overflow"))
    )
    report.details["unrecognised_lines"] = unrecognised.height
    if unrecognised.height:
        report.details["unrecognised_first"] = unrecognised["line_no"].head(10).to_list()
    report.details["blank_lines"] = int(frame["blank"].sum())
    # Blank lines before any content belong to no record (record 0).
    record = pl.col("_record")
    first_line = (record > 0) & (record != record.shift(1).fill_null(0))
    parts = frame.select(head=first_line, tail=(record > 0) & ~first_line)
    heads = frame.filter(parts.get_column("head")).drop("blank", "after_start", "_overflow")
    # The continuation lines are few: only they are joined, from a frame of what they need, as
    # lists (str.join per group is several times slower).
    tails = (
        frame.select("_record", "line", "raw")
        .filter(parts.get_column("tail"))
        .group_by("_record", maintain_order=True)
        .agg(continuation="line", raw_rest="raw")
        .with_columns(pl.col("continuation", "raw_rest").list.join("\n"))
    )
    if tails.height:
        report.details["multiline_records"] = tails.height
    # Records are numbered 1, 2, ... in file order, so record n is row n - 1 of the heads.
    position = pl.repeat(None, heads.height, dtype=pl.UInt32, eager=True).scatter(
        tails.get_column("_record") - 1, pl.int_range(tails.height, dtype=pl.UInt32, eager=True)
    )
    return heads.drop("_record").with_columns(
        tails.select(pl.col("continuation", "raw_rest").gather(position))
    )


def _demote_lone_weak_lines(frame: pl.DataFrame) -> pl.DataFrame:
    """Turn weak claims with no neighbour of the same format, below a record, into continuations."""
    content = frame.filter(~pl.col("blank")).select(
        "line_no",
        lone=pl.col("weak").fill_null(False)
        & pl.col("format").is_not_null().cum_max().shift(1).fill_null(False)
        & pl.col("format").shift(1).ne_missing(pl.col("format"))
        & pl.col("format").shift(-1).ne_missing(pl.col("format")),
    )
    frame = frame.join(content, on="line_no", how="left", maintain_order="left")
    return frame.with_columns(
        format=pl.when(pl.col("lone").fill_null(False)).then(None).otherwise(pl.col("format"))
    ).drop("lone", "weak")


def _to_events(
    records: pl.DataFrame,
    display: str,
    context: TimeContext,
    report: SourceReport,
    candidates: list[LogFormat],
) -> pl.DataFrame:
    """The records' events, and in ``report`` the formats that kept records, by how many."""
    missing = [name for name in _RECORD_FIELDS if name not in records.columns]
    records = records.with_columns(pl.lit(None, dtype=pl.String).alias(name) for name in missing)
    text = pl.col("message").fill_null(pl.col("line"))
    message = _with_continuation(records, text, "continuation", strip_end=True)
    # The fields are looked for in the messages while the rest of the record is read (the
    # field scan is the longer: it goes first).
    found = worker_threads().submit(find_fields, message)
    counts = dict(records.group_by("format").len().drop_nulls("format").iter_rows())
    counts = {fmt.name: counts[fmt.name] for fmt in candidates if fmt.name in counts}
    report.format = max(counts, key=lambda name: counts[name]) if counts else UNRECOGNISED
    report.details["formats"] = counts
    try:
        events = _record_events(records, message, display, context, report, counts)
    except BaseException:
        wait([found])  # no scan left running past this call
        raise
    return conform(fill_fields(events, found.result()))


def _record_events(
    records: pl.DataFrame,
    message: pl.Series,
    display: str,
    context: TimeContext,
    report: SourceReport,
    counts: dict[str, int],
) -> pl.DataFrame:
    """Every column of the records' events but the fields found in their messages."""
    layouts = _layouts_for(counts)
    read = records.get_column("_naive") if "_naive" in records.columns else None
    times = parse_timestamps(records.get_column("ts"), context, layouts, read)
    unparsed = records.filter(pl.col("ts").is_not_null() & times.timestamps.is_null())
    for line_no, ts in unparsed.select("line_no", "ts").head(20).iter_rows():
        report.error(line_no, f"timestamp {ts[:40]!r} not understood", skipped=False)
    if unparsed.height > 20:
        report.errors_total += unparsed.height - 20
    report.details["timestamps"] = {
        "parsed": times.parsed,
        "missing": records.height - times.parsed,
        "with_offset": times.with_offset,
        "naive": times.naive,
        "zone_used": times.zone_used,
        "year_inferred": times.year_inferred,
        "date_inferred": times.date_inferred,
        "reference": (
            f"{context.reference:%Y-%m-%d} ({context.reference_source})"
            if times.year_inferred or times.date_inferred
            else None
        ),
    }
    severity = pl.col("pri").cast(pl.Int64, strict=False) % 8
    records = records.with_columns(
        times.timestamps,
        _original=_with_continuation(records, pl.col("raw"), "raw_rest"),
        _message=message,
        _level=_by_value(
            records.get_column("level"), lambda v: v.str.to_lowercase().replace(LEVELS)
        ),
        _logger=_by_value(
            records.get_column("logger"), lambda v: v.str.strip_chars().replace("", None)
        ),
    )
    events = records.lazy().select(
        "@timestamp",
        pl.lit("event").alias("event.kind"),
        pl.lit("log").alias("event.dataset"),
        pl.col("_original").alias("event.original"),
        pl.col("_message").alias("message"),
        pl.coalesce(
            "_level",
            severity.replace_strict(SYSLOG_SEVERITY, default=None, return_dtype=pl.String),
        ).alias("log.level"),
        pl.col("_logger").alias("log.logger"),
        pl.col("host").alias("host.hostname"),
        _integer(pl.col("pid")).alias("process.pid"),
        _integer(pl.col("tid")).alias("process.thread.id"),
        pl.col("errcode").alias("error.code"),
        pl.col("errmsg").alias("error.message"),
        pl.col("domain").str.to_lowercase().alias("destination.domain"),
        pl.col("ip").alias("related.ip"),
        pl.col("url").alias("url.full"),
        pl.col("request_id").alias("http.request.id"),
        pl.lit(display).alias("loginlens.source"),
        pl.col("line_no").alias("loginlens.record"),
        pl.lit("log").alias("loginlens.kind"),
        pl.col("format").fill_null(UNRECOGNISED).alias("loginlens.format"),
    )
    return events.collect(engine="in-memory")


def _with_continuation(
    records: pl.DataFrame, first: pl.Expr, rest: str, strip_end: bool = False
) -> pl.Series:
    """``first`` of each record, its continuation lines (column ``rest``) after a newline where
    it has any, with trailing white space stripped if ``strip_end``.

    Most records are one line ending in no white space: only the others are joined or
    stripped, and put in place (the rest is not copied).
    """
    whole = records.select(first).to_series()
    touched = records.get_column(rest).is_not_null()
    if strip_end:
        touched |= _may_end_in_space(records, whole)
    rows = touched.arg_true()
    if rows.is_empty():
        return whole
    joined = pl.format("{}\n{}", first, pl.col(rest))
    text = pl.when(pl.col(rest).is_not_null()).then(joined).otherwise(first)
    changed = records[rows].select(text.str.strip_chars_end() if strip_end else text)
    return whole.clone().scatter(rows, changed.to_series())


def _may_end_in_space(records: pl.DataFrame, texts: pl.Series) -> pl.Series:
    """Whether each of ``texts`` (a record's message, or its line) may end in white space:
    true where it does, and maybe elsewhere.

    A message that is the end of its line ends as the line does, which the split of the file
    said (``spaced``); the others are tested.
    """
    if "spaced" not in records.columns:
        return texts.str.contains(r"\s$")
    spaced = records.get_column("spaced")
    others = [fmt.name for fmt in FORMATS if not _message_is_tail(fmt)]
    fmt = records.get_column("format")
    # A record no format kept (a lone JSON line demoted) may still carry a decoded message.
    untold = (
        fmt.is_in(others).fill_null(False)
        | (fmt.is_null() & records.get_column("message").is_not_null())
    ).arg_true()
    if untold.is_empty():
        return spaced
    return spaced.clone().scatter(untold, texts.gather(untold).str.contains(r"\s$"))


def _message_is_tail(fmt: LogFormat) -> bool:
    """Whether the message ``fmt`` yields is the end of its line (its head taken off)."""
    return fmt not in (JSON_LINES, LOGFMT) and head_pattern(fmt) != fmt.pattern


def _by_value(column: pl.Series, convert: Callable[[pl.Series], pl.Series]) -> pl.Series:
    """``convert(column)``, converting each distinct value once (a few levels over many rows).

    The compiled scan tells the values apart in one pass, where they are few; polars hashes
    them twice, to find them and to replace them.
    """
    found = scan.codes(column, _FEW) if scan.compiled is not None else None
    if found is None:
        distinct = column.unique()
        return column.replace_strict(distinct, convert(distinct), default=None)
    code, firsts = found
    return convert(column.gather(firsts)).gather(code)


def _layouts_for(counts: dict[str, int]) -> list[str] | None:
    """The timestamp layouts the formats in use need; None (all) if any format may use any."""
    layouts: list[str] = []
    for name in counts:
        fmt = BY_NAME[name]
        if fmt.layouts is None:
            return None
        layouts.extend(layout for layout in fmt.layouts if layout not in layouts)
    return [name for name in LAYOUTS if name in layouts] or None


def _integer(text: pl.Expr) -> pl.Expr:
    """Decimal or 0x-hex process/thread ids; anything else is null."""
    hex_digits = text.str.strip_prefix("0x")
    return (
        pl.when(text.str.starts_with("0x"))
        .then(hex_digits.str.to_integer(base=16, strict=False))
        .otherwise(text.str.to_integer(base=10, strict=False))
    )
