"""Chrome NetLog (``chrome://net-export``) → events, read as a stream.

A NetLog is a constants table, then thousands of begin/end/point events
grouped by source (a URL request, a DNS job, a socket, a certificate check).
Event and source types are numbers whose meaning changes between Chrome
versions, so every number is resolved through the file's own constants.
Times are ticks; ``timeTickOffset`` turns them into wall-clock milliseconds.

Only what explains a failed login becomes an event: each DNS resolution,
each TCP connect, each TLS handshake (with the certificate and what the
verifier said of it), and each URL request with its status or ``net_error``.
Each event's record is the 1-based position of the NetLog event that
settled it (usually an END carrying ``net_error``). A capture stopped without
its closing ``]}`` is read up to the last whole event, and that is reported.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import ijson
import polars as pl

from analyzer.ledger import SourceReport
from analyzer.redact import redact_events, redact_url
from analyzer.schema import RECORD, TIMESTAMP, rows_to_events
from parsers.errors import ParseError

Row = dict[str, Any]
PHASE_BEGIN, PHASE_END = 1, 2
# Event types whose name changed over Chrome versions, by what they mean here.
DNS_JOBS = frozenset({"HOST_RESOLVER_IMPL_JOB", "HOST_RESOLVER_MANAGER_JOB"})


@dataclass
class Constants:
    """The numbers of this file's Chrome, resolved to names."""

    event_types: dict[int, str]
    source_types: dict[int, str]
    net_errors: dict[int, str]
    cert_flags: dict[str, int]
    tick_offset_ms: int
    phases: dict[str, int] = field(default_factory=dict)

    @classmethod
    def read(cls, table: Any) -> Constants:
        """From the ``constants`` object; raise ValueError when it cannot resolve events."""
        if not isinstance(table, dict):
            raise ValueError("constants is not an object")
        events = table.get("logEventTypes")
        sources = table.get("logSourceType")
        if not isinstance(events, dict) or not isinstance(sources, dict):
            raise ValueError("constants lacks logEventTypes or logSourceType")
        errors, flags, phases = (
            _table(table, "netError"),
            _table(table, "certStatusFlag"),
            _table(table, "logEventPhase"),
        )
        try:
            offset = int(table.get("timeTickOffset", 0))
        except (TypeError, ValueError):
            offset = 0
        return cls(
            event_types={int(v): str(k) for k, v in events.items() if _is_int(v)},
            source_types={int(v): str(k) for k, v in sources.items() if _is_int(v)},
            net_errors={int(v): str(k) for k, v in errors.items() if _is_int(v)},
            cert_flags={str(k): int(v) for k, v in flags.items() if _is_int(v)},
            tick_offset_ms=offset,
            phases={str(k): int(v) for k, v in phases.items() if _is_int(v)},
        )

    def error_name(self, code: Any) -> str:
        """``net::ERR_NAME_NOT_RESOLVED`` for -105, whatever this Chrome numbers it."""
        if not _is_int(code):
            return str(code)
        name = self.net_errors.get(int(code))
        return f"net::{name}" if name else f"net error {code}"

    def cert_status(self, status: Any) -> list[str]:
        """Names of the bits set in a ``cert_status``."""
        if not _is_int(status):
            return []
        bits = int(status)
        return [name for name, flag in sorted(self.cert_flags.items()) if flag and bits & flag]

    def wall(self, ticks: Any) -> datetime | None:
        if not _is_int(ticks):
            return None
        millis = int(ticks) + self.tick_offset_ms
        try:
            return datetime.fromtimestamp(millis / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            return None


def _table(constants: dict[str, Any], name: str) -> dict[str, Any]:
    found = constants.get(name)
    return found if isinstance(found, dict) else {}


def _is_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, str) and value.lstrip("-").isdigit()


def parse_netlog(
    path: Path,
    display: str,
    stage: Callable[[str], None] | None = None,
    redact: bool = True,
) -> tuple[pl.DataFrame, SourceReport]:
    """Stream the NetLog at ``path`` into events; raise ``ParseError`` only if unreadable."""
    started = time.perf_counter()
    report = SourceReport(path=display, kind="netlog", format="netlog")
    try:
        report.bytes = path.stat().st_size
        with path.open("rb") as handle:
            constants = _constants(handle, report)
            rows: list[Row] = []
            if constants is not None:
                handle.seek(0)
                follower = _Follower(constants, rows)
                for index, event in _events(handle, report):
                    if stage and index % 50_000 == 0:
                        stage(f"event {index:,}")
                    follower.feed(index, event)
                follower.finish()
                report.records = follower.seen
                report.details["netlog_events"] = follower.seen
                report.details["unresolved_event_types"] = len(follower.unknown_types)
    except OSError as exc:
        raise ParseError(display, f"cannot read: {exc.strerror or exc}") from exc
    events = _frame(rows, display)
    if redact:
        events = redact_events(events)
    report.details["events"] = events.height
    report.seconds = time.perf_counter() - started
    return events, report


def _constants(handle: IO[bytes], report: SourceReport) -> Constants | None:
    try:
        for table in ijson.items(handle, "constants"):
            return Constants.read(table)
    except ijson.JSONError as exc:
        report.error(None, f"constants table unreadable ({str(exc)[:100]}); nothing was read")
        return None
    except ValueError as exc:
        report.error(None, f"{exc}; event types cannot be named, nothing was read")
        return None
    report.error(None, "no constants table: event types cannot be named, nothing was read")
    return None


def _events(handle: IO[bytes], report: SourceReport) -> Iterator[tuple[int, Any]]:
    index = 0
    try:
        for index, event in enumerate(ijson.items(handle, "events.item"), start=1):
            yield index, event
    except ijson.IncompleteJSONError:
        report.details["truncated"] = True
        report.error(
            index + 1,
            f"the log ends inside event {index + 1:,} (Chrome was stopped before it closed "
            f"the file); the {index:,} events before it were read",
        )
    except ijson.JSONError as exc:
        report.error(index + 1, f"JSON broken after event {index:,} ({str(exc)[:100]})")


# ---------------------------------------------------------------- following sources


@dataclass
class _Source:
    """What is known so far of one NetLog source."""

    kind: str
    begin: datetime | None = None
    facts: dict[str, Any] = field(default_factory=dict)


class _Follower:
    """Feeds NetLog events one at a time and emits a row when a source settles."""

    def __init__(self, constants: Constants, rows: list[Row]) -> None:
        self.c = constants
        self.rows = rows
        self.sources: dict[int, _Source] = {}
        self.seen = 0
        self.unknown_types: set[int] = set()
        self.group: dict[int, str] = {}  # connect job id → "https://host:443"
        self.socket_job: dict[int, int] = {}  # socket id → connect job id
        self.verifier: dict[int, Row] = {}  # cert verifier job id → its verdict

    def feed(self, index: int, event: Any) -> None:
        self.seen = index
        if not isinstance(event, dict) or not isinstance(event.get("source"), dict):
            return
        kind = event.get("type")
        if not _is_int(kind):
            return
        name = self.c.event_types.get(int(str(kind)))
        if name is None:
            self.unknown_types.add(int(str(kind)))
            return
        source = event["source"]
        source_id = int(source["id"]) if _is_int(source.get("id")) else -1
        phase = int(event["phase"]) if _is_int(event.get("phase")) else 0
        params = event.get("params") if isinstance(event.get("params"), dict) else {}
        when = self.c.wall(event.get("time"))
        handler = getattr(self, "_" + name.lower(), None)
        if handler is not None:
            handler(index, source_id, phase, params, when)

    # -- URL requests

    def _url_request_start_job(self, index: int, sid: int, phase: int, p: Row, when: Any) -> None:
        if phase != PHASE_BEGIN:
            return
        request = self.sources.setdefault(sid, _Source("url_request", when))
        if "url" in request.facts and p.get("url") != request.facts["url"]:
            request.facts.setdefault("redirects", []).append(request.facts["url"])
        request.facts["url"] = str(p.get("url", ""))
        request.facts["method"] = str(p.get("method", "GET"))

    def _http_transaction_read_response_headers(
        self, index: int, sid: int, phase: int, p: Row, when: Any
    ) -> None:
        headers = p.get("headers")
        request = self.sources.get(sid)
        if request and isinstance(headers, list) and headers and isinstance(headers[0], str):
            status = headers[0].split(" ", 2)
            if len(status) >= 2 and status[1].isdigit():
                request.facts["status"] = int(status[1])
                request.facts["reason"] = status[2] if len(status) > 2 else ""

    def _request_alive(self, index: int, sid: int, phase: int, p: Row, when: Any) -> None:
        if phase == PHASE_BEGIN:
            self.sources[sid] = _Source("url_request", when)
        elif phase == PHASE_END and sid in self.sources:
            self._emit_request(index, self.sources.pop(sid), p.get("net_error"))

    def _emit_request(self, index: int, request: _Source, error: Any, note: str = "") -> None:
        url = request.facts.get("url")
        if not url:
            return
        method = request.facts.get("method", "GET")
        status = request.facts.get("status")
        failed = error is not None and error != 0
        shown = redact_url(url)
        if failed:
            outcome = f"failed {self.c.error_name(error)}"
        elif status is not None:
            outcome = f"{status} {request.facts.get('reason', '')}".rstrip()
        else:
            outcome = note or "no response"
        self.rows.append(
            {
                TIMESTAMP: request.begin,
                RECORD: index,
                "event.action": "http-error" if failed or status is None else "http-response",
                "event.outcome": "failure" if failed or (status or 0) >= 400 else "success",
                "message": f"NetLog {method} {shown} → {outcome}",
                "http.request.method": method,
                "http.response.status_code": status,
                "url.full": shown,
                "url.domain": _host(url),
                "netlog.net_error": self.c.error_name(error) if failed else None,
                "error.message": self.c.error_name(error) if failed else None,
            }
        )

    # -- DNS

    def _host_resolver_impl_job(self, index: int, sid: int, phase: int, p: Row, when: Any) -> None:
        self._dns(index, sid, phase, p, when)

    def _host_resolver_manager_job(
        self, index: int, sid: int, phase: int, p: Row, when: Any
    ) -> None:
        self._dns(index, sid, phase, p, when)

    def _dns(self, index: int, sid: int, phase: int, p: Row, when: Any) -> None:
        if phase == PHASE_BEGIN:
            job = self.sources.setdefault(sid, _Source("dns", when))
            job.facts["host"] = _host(str(p.get("host", ""))) or ""
            return
        settled = self.sources.pop(sid, None) if phase == PHASE_END else None
        if settled is None or settled.kind != "dns":
            return
        job = settled
        host = job.facts.get("host", "")
        error = p.get("net_error")
        addresses = _addresses(p)
        failed = error not in (None, 0) or not addresses
        took = _millis(job.begin, when)
        if failed:
            text = f"NetLog DNS {host} → failed {self.c.error_name(error)}"
        else:
            text = f"NetLog DNS {host} → {', '.join(addresses[:8])}"
        if took is not None:
            text += f" in {took:.0f} ms"
        self.rows.append(
            {
                TIMESTAMP: job.begin,
                RECORD: index,
                "event.action": "dns-answer",
                "event.outcome": "failure" if failed else "success",
                "event.duration": int(took * 1e6) if took is not None else None,
                "message": text,
                "dns.question.name": host,
                "dns.resolved_ip": addresses or None,
                "netlog.net_error": self.c.error_name(error) if error not in (None, 0) else None,
                "error.message": self.c.error_name(error) if error not in (None, 0) else None,
            }
        )

    # -- sockets and TLS

    def _connect_job(self, index: int, sid: int, phase: int, p: Row, when: Any) -> None:
        if phase == PHASE_BEGIN and isinstance(p.get("group_id"), str):
            self.group[sid] = p["group_id"].split(" ", 1)[0]

    def _socket_alive(self, index: int, sid: int, phase: int, p: Row, when: Any) -> None:
        if phase == PHASE_BEGIN:
            self.sources[sid] = _Source("socket", when)
            dependency = p.get("source_dependency")
            if isinstance(dependency, dict) and _is_int(dependency.get("id")):
                self.socket_job[sid] = int(dependency["id"])
        elif phase == PHASE_END:
            self.sources.pop(sid, None)
            self.socket_job.pop(sid, None)

    def _tcp_connect(self, index: int, sid: int, phase: int, p: Row, when: Any) -> None:
        socket = self.sources.setdefault(sid, _Source("socket", when))
        if phase == PHASE_BEGIN:
            socket.facts["connect_begin"] = when
            socket.facts["targets"] = [str(a) for a in p.get("address_list") or []]
            return
        if phase != PHASE_END:
            return
        error = p.get("net_error")
        remote = str(p.get("remote_address") or "") or next(iter(socket.facts["targets"]), "")
        socket.facts["remote"] = remote
        failed = error not in (None, 0)
        begin = socket.facts.get("connect_begin")
        took = _millis(begin, when)
        ip, port = _split_address(remote)
        local_ip, local_port = _split_address(str(p.get("local_address") or ""))
        host = self._host_of(sid)
        text = f"NetLog TCP connect to {remote}" + (f" ({host})" if host else "")
        text += f" → failed {self.c.error_name(error)}" if failed else " → connected"
        if took is not None:
            text += f" in {took:.0f} ms"
        self.rows.append(
            {
                TIMESTAMP: begin,
                RECORD: index,
                "event.action": "connection",
                "event.outcome": "failure" if failed else "success",
                "event.duration": int(took * 1e6) if took is not None else None,
                "message": text,
                "destination.ip": ip,
                "destination.port": port,
                "destination.domain": host,
                "source.ip": local_ip,
                "source.port": local_port,
                "network.transport": "tcp",
                "netlog.net_error": self.c.error_name(error) if failed else None,
                "error.message": self.c.error_name(error) if failed else None,
            }
        )

    def _ssl_connect(self, index: int, sid: int, phase: int, p: Row, when: Any) -> None:
        socket = self.sources.setdefault(sid, _Source("socket", when))
        if phase == PHASE_BEGIN:
            socket.facts["tls_begin"] = when
            return
        if phase != PHASE_END:
            return
        error = p.get("net_error")
        failed = error not in (None, 0)
        host = self._host_of(sid)
        verdict = self.verifier.get(socket.facts.get("verifier", -1), {})
        text = f"NetLog TLS to {host or socket.facts.get('remote', '?')}"
        text += f" → failed {self.c.error_name(error)}" if failed else " → established"
        if verdict.get("subject"):
            text += f"; certificate {verdict['subject']} issued by {verdict.get('issuer')}"
        if verdict.get("status"):
            text += f" ({', '.join(verdict['status'])})"
        ip, port = _split_address(str(socket.facts.get("remote", "")))
        begin = socket.facts.get("tls_begin")
        took = _millis(begin, when)
        self.rows.append(
            {
                TIMESTAMP: begin,
                RECORD: index,
                "event.action": "tls-handshake",
                "event.outcome": "failure" if failed else "success",
                "event.duration": int(took * 1e6) if took is not None else None,
                "message": text,
                "tls.client.server_name": host,
                "tls.established": not failed,
                "tls.server.subject": verdict.get("subject"),
                "tls.server.issuer": verdict.get("issuer"),
                "destination.ip": ip,
                "destination.port": port,
                "destination.domain": host,
                "network.protocol": "tls",
                "netlog.net_error": self.c.error_name(error) if failed else None,
                "error.message": self.c.error_name(error) if failed else None,
                "error.code": ",".join(verdict.get("status", [])) or None,
            }
        )

    def _cert_verifier_request_bound_to_job(
        self, index: int, sid: int, phase: int, p: Row, when: Any
    ) -> None:
        dependency = p.get("source_dependency")
        if isinstance(dependency, dict) and _is_int(dependency.get("id")):
            self.sources.setdefault(sid, _Source("socket", when)).facts["verifier"] = int(
                dependency["id"]
            )

    def _cert_verifier_job(self, index: int, sid: int, phase: int, p: Row, when: Any) -> None:
        if phase == PHASE_BEGIN:
            self.verifier[sid] = _leaf_names(p.get("certificates"))
        elif phase == PHASE_END:
            verdict = self.verifier.setdefault(sid, {})
            verdict["status"] = self.c.cert_status(p.get("cert_status"))
            if p.get("net_error") not in (None, 0) and not verdict["status"]:
                verdict["status"] = [self.c.error_name(p.get("net_error"))]

    def _host_of(self, socket_id: int) -> str | None:
        group = self.group.get(self.socket_job.get(socket_id, -1))
        return _host(group) if group else None

    def finish(self) -> None:
        """Requests still open when the log ended are events too, with that said."""
        for sid, source in list(self.sources.items()):
            if source.kind == "url_request":
                self._emit_request(self.seen, source, None, "still open when the log ended")
            del self.sources[sid]


def _addresses(params: Row) -> list[str]:
    found = params.get("address_list")
    if isinstance(found, list):
        return [_split_address(str(a))[0] or str(a) for a in found]
    results = params.get("results")  # newer Chrome: {"results": {"ip_endpoints": [...]}}
    if isinstance(results, dict) and isinstance(results.get("ip_endpoints"), list):
        return [str(e.get("address")) for e in results["ip_endpoints"] if isinstance(e, dict)]
    return []


def _split_address(address: str) -> tuple[str | None, int | None]:
    """``1.2.3.4:443`` or ``[2001:db8::1]:443`` → (address, port)."""
    if not address:
        return None, None
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or (":" in host and not host.startswith("[")):
        return address.strip("[]"), None
    return host.strip("[]"), int(port)


def _host(url: str) -> str | None:
    rest = url.split("://", 1)[-1]
    host = rest.split("/", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1]
    if host.startswith("["):
        return host[1:].split("]", 1)[0] or None
    return host.split(":", 1)[0] or None


def _millis(begin: datetime | None, end: datetime | None) -> float | None:
    if begin is None or end is None:
        return None
    return (end - begin).total_seconds() * 1000


def _leaf_names(certificates: Any) -> Row:
    """Subject and issuer of the first PEM certificate, when it can be read."""
    if not isinstance(certificates, list) or not certificates:
        return {}
    try:
        from cryptography import x509

        leaf = x509.load_pem_x509_certificate(str(certificates[0]).encode())
        return {"subject": leaf.subject.rfc4514_string(), "issuer": leaf.issuer.rfc4514_string()}
    except ValueError:
        return {}


def _frame(rows: list[Row], display: str) -> pl.DataFrame:
    return rows_to_events(rows, display, "netlog").sort(TIMESTAMP, RECORD, nulls_last=True)
