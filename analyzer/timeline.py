"""Bundle → one timeline: run the parser for each file and keep its ledger entry."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from analyzer import sniff as content
from analyzer.intake import Bundle, BundleFile, IntakeLimits, open_bundle
from analyzer.ledger import SourceReport
from analyzer.schema import TIMESTAMP, conform, empty_events
from parsers.errors import ParseError
from parsers.logs.timestamps import TimeContext

# Kinds recognised by content whose parsers are not part of this release yet.
CAPTURE_KINDS = (content.PCAP, content.PCAPNG)

# Called with the position of the file being read, the whole list (for byte-weighted bars)
# and, within a large file, the stage reached.
Progress = Callable[[int, list[BundleFile], str | None], None]


class UsageError(ValueError):
    """A caller-supplied option is invalid (for example an unknown time zone)."""


@dataclass
class Timeline:
    """Every event of a bundle, in time order, with the account of every input."""

    inputs: list[str]
    metadata: dict[str, Any]
    events: pl.DataFrame
    sources: list[SourceReport]
    notes: list[str] = field(default_factory=list)


def load_timeline(
    paths: Sequence[str | Path],
    tz: str | None = None,
    limits: IntakeLimits | None = None,
    progress: Progress | None = None,
    redact: bool = True,
) -> Timeline:
    """Open the bundle at ``paths``, parse every input and merge the events.

    Raises ``IntakeError`` when no path exists and ``UsageError`` for a bad ``tz``.
    """
    if tz is not None:
        _zone(tz, "--tz")
    with open_bundle(paths, limits or IntakeLimits()) as bundle:
        return _parse_bundle(bundle, tz, progress, redact)


def _parse_bundle(
    bundle: Bundle, tz: str | None, progress: Progress | None, redact: bool
) -> Timeline:
    notes = list(bundle.metadata_errors)
    zone, zone_source = _choose_zone(tz, bundle.metadata, notes)
    collected = _collected_at(bundle.metadata, zone, notes)
    frames: list[pl.DataFrame] = []
    sources: list[SourceReport] = []
    damaged = {item.display: item.reason for item in bundle.damaged}
    for index, file in enumerate(bundle.files):
        stage = None
        if progress:
            progress(index, bundle.files, None)
            stage = functools.partial(progress, index, bundle.files)
        frame, report = _parse_file(file, zone, zone_source, collected, stage, redact)
        if file.display in damaged:
            report.error(None, damaged[file.display], skipped=False)
        sources.append(report)
        if frame is not None and frame.height:
            frames.append(frame)
    sources.extend(
        SourceReport(
            path=refusal.display,
            kind="refused",
            errors=[{"record": None, "reason": refusal.reason}],
            errors_total=1,
            skipped=1,
        )
        for refusal in bundle.refused
    )
    if progress and bundle.files:
        progress(len(bundle.files) - 1, bundle.files, "merging")
    events = pl.concat(frames, how="vertical") if frames else empty_events()
    if not _in_order(frames):
        events = events.sort(TIMESTAMP, "loginlens.source", "loginlens.record", nulls_last=True)
    return Timeline(
        inputs=list(bundle.inputs),
        metadata=dict(bundle.metadata),
        events=conform(events),
        sources=sources,
        notes=notes,
    )


def _in_order(frames: list[pl.DataFrame]) -> bool:
    """True when the one frame is already in timeline order (a single log written in order)."""
    if len(frames) != 1:
        return not frames
    times, records = frames[0].get_column(TIMESTAMP), frames[0].get_column("loginlens.record")
    return times.null_count() == 0 and times.is_sorted() and records.is_sorted()


def _parse_file(
    file: BundleFile,
    zone: str | None,
    zone_source: str,
    collected: datetime | None,
    stage: Callable[[str], None] | None = None,
    redact: bool = True,
) -> tuple[pl.DataFrame | None, SourceReport]:
    """Parse one input; parsers mask secrets in what they read, unless ``redact`` is off."""
    started = time.perf_counter()
    if file.kind == content.LOG:
        from parsers.logs.parser import parse_log

        context = TimeContext(
            zone=zone,
            zone_source=zone_source,
            reference=collected or _local(file.mtime, zone),
            reference_source="bundle.json collected_at" if collected else "file modification time",
        )
        try:
            return parse_log(file.path, file.display, context, stage=stage, redact=redact)
        except ParseError as exc:
            report = SourceReport(path=file.display, kind=content.LOG, bytes=file.size)
            report.error(None, exc.reason)
            return None, report
    if file.kind in (*CAPTURE_KINDS, content.HAR, content.NETLOG):
        from parsers.har.parser import parse_har
        from parsers.netlog.parser import parse_netlog
        from parsers.pcap.capture import parse_capture

        parse = {content.HAR: parse_har, content.NETLOG: parse_netlog}.get(file.kind, parse_capture)
        try:
            return parse(file.path, file.display, stage=stage, redact=redact)
        except ParseError as exc:
            report = SourceReport(path=file.display, kind=file.kind, bytes=file.size)
            report.error(None, exc.reason)
            return None, report
    report = SourceReport(path=file.display, kind=file.kind, bytes=file.size)
    if file.detail:
        report.details["detail"] = file.detail
    if file.kind == content.BINARY:
        report.error(None, f"not a recognised input ({file.detail or 'binary data'})")
    elif file.kind == content.EMPTY:
        report.details["note"] = "empty file"
    elif file.kind == content.EXPECTED:
        report.details["note"] = "expected verdict of a sample bundle; not evidence, not read"
    report.seconds = time.perf_counter() - started
    return None, report


def _zone(name: str, where: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UsageError(
            f"{where}: unknown time zone {name!r} (use an IANA name such as Asia/Shanghai)"
        ) from exc


def _choose_zone(
    tz: str | None, metadata: dict[str, Any], notes: list[str]
) -> tuple[str | None, str]:
    """Pick the zone for naive timestamps: --tz, then bundle.json, else the file decides."""
    if tz:
        return tz, "--tz"
    meta_zone = metadata.get("timezone")
    if isinstance(meta_zone, str) and meta_zone:
        try:
            _zone(meta_zone, "bundle.json timezone")
            return meta_zone, "bundle.json timezone"
        except UsageError as exc:
            notes.append(f"{exc}; ignored")
    return None, "offset written in the log, else UTC"


def _collected_at(metadata: dict[str, Any], zone: str | None, notes: list[str]) -> datetime | None:
    """``collected_at`` as naive local time in ``zone`` (the frame logs without a year live in)."""
    value = metadata.get("collected_at")
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        notes.append(f"bundle.json collected_at {value!r} is not ISO 8601; ignored")
        return None
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(ZoneInfo(zone) if zone else UTC).replace(tzinfo=None)


def _local(epoch: float | None, zone: str | None) -> datetime:
    moment = datetime.fromtimestamp(epoch, UTC) if epoch is not None else datetime.now(UTC)
    return moment.astimezone(ZoneInfo(zone) if zone else UTC).replace(tzinfo=None)
