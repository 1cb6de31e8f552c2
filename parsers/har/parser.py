"""HAR 1.2 → one event per entry, read as a stream.

Entries are pulled one at a time from the file (ijson's C backend), so a HAR
of any size is read in bounded memory: only the current entry is held, and a
response body is looked into only when it is JSON, under ``MAX_BODY``, and
may carry a vendor's error fields. Each entry becomes an ``http-response``
event (``http-error`` when the request never got an answer: status 0 or a
``net::ERR_…``), its record the entry's 1-based position in ``log.entries``.
Redirects (3xx with a Location) are chained so an OAuth round trip or a loop
reads as one chain. What the file holds is redacted by structure before any
of it is kept: the raw entry in ``event.original`` has every cookie,
Authorization header, secret parameter and secret JSON member masked.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
import urllib.parse
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import ijson
import polars as pl

from analyzer.ledger import SourceReport
from analyzer.redact import MASK, redact_document, redact_events, redact_url
from analyzer.schema import RECORD, TIMESTAMP, rows_to_events
from parsers.errors import ParseError

# A response body larger than this is not searched for error fields; the cap is reported.
MAX_BODY = 1 * 2**20
# The raw entry kept for "open the record" is cut here (bodies are the bulk of it).
MAX_ORIGINAL = 16 * 2**10
MAX_SHOWN_BODY = 2 * 2**10
REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Rows become columns this many at a time, so memory follows the batch, not the file.
BATCH = 2000
# Redirects whose target never shows up are forgotten past this many.
MAX_WAITING = 10_000
TIMINGS = ("blocked", "dns", "connect", "ssl", "send", "wait", "receive")
_FRACTION = re.compile(r"(\.\d{6})\d+")
_CREATOR = re.compile(rb'"creator"\s*:\s*\{[^{}]*?"name"\s*:\s*"((?:[^"\\]|\\.){0,80})"')
_JSON_MIME = re.compile(r"(?i)\bjson\b|\+json|javascript|text/plain")
# WeCom error pages point at the error-code lookup: …/devtool/query?e=40029
_DEVTOOL_HINT = re.compile(r"devtool/query\?e=(-?\d+)")

Row = dict[str, Any]


class EntryError(ValueError):
    """An entry that cannot become an event, with the reason shown in the ledger."""


def parse_har(
    path: Path,
    display: str,
    stage: Callable[[str], None] | None = None,
    redact: bool = True,
) -> tuple[pl.DataFrame, SourceReport]:
    """Stream the HAR at ``path`` into events; raise ``ParseError`` only if it cannot be opened."""
    started = time.perf_counter()
    report = SourceReport(path=display, kind="har", format="har", bytes=_size(path, display))
    batch: list[Row] = []
    frames: list[pl.DataFrame] = []
    chains = _Chains()
    capped = 0
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
            creator = _CREATOR.search(head)
            report.format = f"har ({_creator_name(creator[1])})" if creator else "har"
            handle.seek(3 if head.startswith(b"\xef\xbb\xbf") else 0)
            for index, entry in _entries(handle, report):
                if stage and index % 5000 == 0:
                    stage(f"entry {index:,}")
                try:
                    row, body_capped = _entry_row(index, entry, redact)
                except EntryError as exc:
                    report.error(index, str(exc))
                    continue
                capped += body_capped
                chains.link(row)
                batch.append(row)
                if len(batch) >= BATCH:
                    frames.append(_frame(batch, display, redact))
                    batch = []
    except OSError as exc:
        raise ParseError(display, f"cannot read: {exc.strerror or exc}") from exc
    frames.append(_frame(batch, display, redact))
    events = pl.concat(frames, how="vertical")
    report.records = events.height
    report.details["entries"] = events.height + report.skipped
    report.details["failed_requests"] = events.filter(pl.col("event.action") == "http-error").height
    statuses = events.get_column("http.response.status_code").drop_nulls()
    report.details["status_histogram"] = {
        str(status): count for status, count in sorted(statuses.value_counts().iter_rows())
    }
    if capped:
        report.details["bodies_over_cap"] = capped
        report.error(
            None,
            f"{capped} response bodies over {MAX_BODY // 2**20} MiB were not searched "
            "for error fields",
            skipped=False,
        )
    report.seconds = time.perf_counter() - started
    return events, report


def _size(path: Path, display: str) -> int:
    try:
        return path.stat().st_size
    except OSError as exc:
        raise ParseError(display, f"cannot read: {exc.strerror or exc}") from exc


def _creator_name(raw: bytes) -> str:
    try:
        return str(json.loads(b'"' + raw + b'"'))
    except ValueError:
        return raw.decode("utf-8", "replace")


def _entries(handle: IO[bytes], report: SourceReport) -> Iterator[tuple[int, Any]]:
    """(1-based index, entry) for every entry the JSON holds up to its first fault."""
    index = 0
    try:
        for index, entry in enumerate(ijson.items(handle, "log.entries.item"), start=1):
            yield index, entry
    except ijson.JSONError as exc:
        where = handle.tell()
        report.error(
            index + 1,
            f"JSON broken near byte {where:,} ({_reason(exc)}); the {index:,} entries "
            "before it were read, anything after it was not",
        )
    except UnicodeDecodeError as exc:
        report.error(index + 1, f"text is not UTF-8 ({exc.reason}); the rest was not read")
    if index == 0 and not report.errors:
        report.error(None, "no log.entries array: nothing to read", skipped=False)


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:120]


# ---------------------------------------------------------------- one entry


def _entry_row(index: int, entry: Any, redact: bool) -> tuple[Row, bool]:
    """The event row of one entry and whether its body was over the cap."""
    if not isinstance(entry, dict):
        raise EntryError(f"entry is a JSON {type(entry).__name__}, not an object")
    request = _object(entry, "request")
    response = _object(entry, "response", required=False)
    url = request.get("url")
    if not isinstance(url, str) or not url:
        raise EntryError("request.url is missing")
    method = _text(request.get("method")) or "GET"
    status = _int(response.get("status"))
    error = _text(entry.get("_error")) or _text(response.get("_error"))
    failed = status in (None, 0) or bool(error)
    location = _text(response.get("redirectURL")) or _header(response, "location")
    body, capped = _body(response)
    vendor = _vendor_error(body)
    shown_url = redact_url(url) if redact else url
    shown_location = (redact_url(location) if redact else location) if location else None
    elapsed = _float(entry.get("time"))
    timings = _object(entry, "timings", required=False)

    reason = _text(response.get("statusText"))
    if failed:
        outcome = f"failed {error}" if error else "no response"
    else:
        outcome = f"{status} {reason or ''}".rstrip()
        if shown_location and status in REDIRECTS:
            outcome += f" → {shown_location}"
    text = f"HAR {method} {shown_url} → {outcome}"
    if vendor.get("error.code") is not None:
        text += f" (errcode {vendor['error.code']}"
        text += f": {vendor['error.message']})" if vendor.get("error.message") else ")"
    if elapsed is not None and elapsed >= 0:
        text += f" in {elapsed:.0f} ms"
    if entry.get("_fromCache"):
        text += f" (from {entry['_fromCache']} cache)"

    host, port, path = _url_parts(shown_url)
    content = _object(response, "content", required=False)
    initiator = entry.get("_initiator")
    row: Row = {
        TIMESTAMP: _started(entry.get("startedDateTime")),
        RECORD: index,
        "event.action": "http-error" if failed else "http-response",
        "event.outcome": "failure" if failed or (status or 0) >= 400 else "success",
        "event.duration": int(elapsed * 1e6) if elapsed is not None and elapsed >= 0 else None,
        "message": text,
        "http.request.method": method,
        "http.response.status_code": status if status else None,
        "http.response.mime_type": _text(content.get("mimeType")),
        "http.response.body.bytes": _int(content.get("size")),
        "url.full": shown_url,
        "url.domain": host,
        "url.path": path,
        "destination.domain": host,
        "destination.ip": (_text(entry.get("serverIPAddress")) or "").strip("[]") or None,
        "destination.port": port,
        "network.protocol": _text(response.get("httpVersion")) or _text(request.get("httpVersion")),
        "loginlens.http.location": shown_location,
        "loginlens.http.server": _header(response, "server"),
        "user_agent.original": _header(request, "user-agent"),
        "error.message": error or vendor.get("error.message"),
        "error.code": vendor.get("error.code"),
        "loginlens.har.connection": _text(entry.get("connection")),
        "loginlens.har.from_cache": _text(entry.get("_fromCache")),
        "loginlens.har.initiator": _text(initiator.get("type"))
        if isinstance(initiator, dict)
        else None,
        "loginlens.har.resource_type": _text(entry.get("_resourceType")),
        "event.original": _original(entry, redact),
        "_url": url,
        "_location": location,
    }
    for name in TIMINGS:
        value = _float(timings.get(name))
        row[f"loginlens.har.{name}_ms"] = value if value is not None and value >= 0 else None
    return row, capped


def _url_parts(url: str) -> tuple[str | None, int | None, str | None]:
    """Host, port and path of ``url``; None for what it does not say or says wrongly."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        return None, None, None
    return parts.hostname or None, port, parts.path or None


def _object(entry: dict[str, Any], key: str, *, required: bool = True) -> dict[str, Any]:
    value = entry.get(key)
    if isinstance(value, dict):
        return value
    if required:
        raise EntryError(f"{key} is {'missing' if value is None else 'not an object'}")
    return {}


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value)
    return text or None


def _int(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if -(2**31) < number < 2**31 else None


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _header(message: dict[str, Any], name: str) -> str | None:
    headers = message.get("headers")
    if not isinstance(headers, list):
        return None
    for header in headers:
        if isinstance(header, dict) and str(header.get("name", "")).lower() == name:
            return _text(header.get("value"))
    return None


def _started(value: Any) -> datetime | None:
    """``startedDateTime`` in UTC; a time without an offset is taken as UTC."""
    if not isinstance(value, str):
        return None
    text = _FRACTION.sub(r"\1", value.strip())
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _body(response: dict[str, Any]) -> tuple[str | None, bool]:
    """The response text when it may carry error fields; and whether it was over the cap."""
    content = response.get("content")
    if not isinstance(content, dict):
        return None, False
    text = content.get("text")
    mime = str(content.get("mimeType") or "")
    if not isinstance(text, str) or not text or not _JSON_MIME.search(mime or "json"):
        return None, False
    if len(text) > MAX_BODY * (4 / 3 if content.get("encoding") == "base64" else 1):
        return None, True
    if content.get("encoding") == "base64":
        try:
            text = base64.b64decode(text, validate=False).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            return None, False
    return text, False


def _vendor_error(body: str | None) -> dict[str, Any]:
    """``errcode``/``errmsg`` (or ``code``/``msg``) of a JSON body, and a devtool hint."""
    if not body or body.lstrip()[:1] != "{":
        return {}
    try:
        document = json.loads(body)
    except ValueError:
        return {}
    if not isinstance(document, dict):
        return {}
    found: dict[str, Any] = {}
    for code_key, message_key in (("errcode", "errmsg"), ("code", "msg"), ("code", "message")):
        code = document.get(code_key)
        if (
            isinstance(code, int | str)
            and not isinstance(code, bool)
            and str(code).lstrip("-").isdigit()
        ):
            found["error.code"] = str(code)
            message = document.get(message_key)
            if isinstance(message, str) and message:
                found["error.message"] = message[:500]
            break
    message = str(found.get("error.message") or document.get("errmsg") or "")
    hint = _DEVTOOL_HINT.search(message)
    if hint and "error.code" not in found:
        found["error.code"] = hint[1]
    if found.get("error.code") == "0":
        return {}  # errcode 0 is WeCom's "ok"
    return found


def _original(entry: dict[str, Any], redact: bool) -> str:
    """The entry as JSON for "open the record", redacted by structure, bodies shortened."""
    shown = redact_document(entry, MAX_SHOWN_BODY) if redact else _shorten(entry)
    text = json.dumps(shown, ensure_ascii=False, default=str)
    return text if len(text) <= MAX_ORIGINAL else text[:MAX_ORIGINAL] + "…"


def _shorten(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _shorten(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shorten(v) for v in value]
    if isinstance(value, str) and len(value) > MAX_SHOWN_BODY and value != MASK:
        return value[:MAX_SHOWN_BODY] + f"… ({len(value):,} characters)"
    return value


# ---------------------------------------------------------------- redirects


class _Chains:
    """Links each redirect to the later entry that followed it, as entries stream past,
    and marks a chain that comes back to a URL it already visited. URLs that differ only in
    secret values (a fresh OAuth ``code`` or ``state`` on each lap) count as the same place.
    """

    def __init__(self) -> None:
        # target URL → (chain, step, places visited) of redirects not yet followed
        self.waiting: dict[str, list[tuple[int, int, dict[str, int]]]] = {}

    def link(self, row: Row) -> None:
        url, location = row.pop("_url"), row.pop("_location")
        place = redact_url(url)
        chain: tuple[int, int, dict[str, int]] | None = None
        if self.waiting.get(url):
            first, step, seen = self.waiting[url].pop(0)
            if not self.waiting[url]:
                del self.waiting[url]
            chain = (first, step + 1, seen)
            if place in seen:
                row["loginlens.http.redirect_loop"] = True
                row["message"] += f" (redirect loop: back at the URL of entry {seen[place]})"
                row["event.outcome"] = "failure"
        status = row.get("http.response.status_code")
        redirect = status in REDIRECTS and bool(location)
        if chain is None and redirect:
            chain = (row[RECORD], 1, {})
        if chain is None:
            return
        first, step, seen = chain
        row["loginlens.http.chain"], row["loginlens.http.chain_step"] = first, step
        if redirect and len(self.waiting) < MAX_WAITING:
            target = urllib.parse.urljoin(url, location)
            self.waiting.setdefault(target, []).append((first, step, {**seen, place: row[RECORD]}))


def _frame(rows: list[Row], display: str, redact: bool) -> pl.DataFrame:
    """One batch of rows as conformed (and redacted) events."""
    frame = rows_to_events(rows, display, "har", network__transport="tcp")
    return redact_events(frame) if redact and frame.height else frame
