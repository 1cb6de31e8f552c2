"""TLS handshakes and plaintext HTTP exchanges → events.

A TLS flow gives one handshake event (what the client offered, what the
server chose, the server's certificate, whether it completed), one event per
alert with its direction, and one per stream that turned out not to be TLS.
An HTTP flow gives one event per response, paired with its request, and one
per request left unanswered.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime

from parsers.pcap.certs import CertError, CertInfo, parse_certificate, validity_at
from parsers.pcap.http import HttpProblem, HttpRequest, HttpResponse
from parsers.pcap.rows import FlowInfo, Row, elapsed
from parsers.pcap.tls import TlsMessage, TlsSummary
from parsers.pcap.tls_names import ALERT_LEVELS, alert_name, cipher_name, version_name
from parsers.pcap.walk import NO_TIME


def ecs_version(code: int) -> tuple[str, str]:
    """ECS ``tls.version`` and ``tls.version_protocol``: ("1.2", "tls"), ("3.0", "ssl")."""
    name = version_name(code)
    protocol, _, number = name.partition(" ")
    return (number or name), protocol.lower()


def tls_events(
    flow: FlowInfo, summary: TlsSummary, messages: Sequence[TlsMessage], times: dict[int, int]
) -> list[Row]:
    """The handshake, its alerts and any non-TLS data, as event rows."""
    base = {"event.dataset": "pcap.tls", **flow.endpoints(), "network.protocol": "tls"}
    rows: list[Row] = []
    hello = summary.client_hello
    if messages and (hello is not None or summary.server_hello is not None):
        first = next((m for m in messages if m.kind == "client_hello"), messages[0])
        at = times[first.frame]
        handshake = _handshake(flow, summary, at)
        rows.append({**base, **handshake, "ts_ns": at, "loginlens.record": first.frame})
    sni = hello.sni if hello is not None else None
    for from_client, alert, frame in summary.alerts:
        side = "client" if from_client else "server"
        level = ALERT_LEVELS.get(alert.level, str(alert.level))
        if alert.encrypted or alert.description is None:
            name, text = "encrypted", f"TLS encrypted alert from the {side}"
        else:
            name = alert_name(alert.description)
            text = f"TLS {level} alert {name} ({alert.description}) from the {side}"
        rows.append(
            {
                **base,
                "ts_ns": times[frame],
                "loginlens.record": frame,
                "event.action": "tls-alert",
                "event.outcome": "failure" if alert.level == 2 else "unknown",
                "message": text + (f" (SNI {sni})" if sni else ""),
                "tls.client.server_name": sni,
                "loginlens.tls.alert": name,
                "loginlens.tls.alert_level": level,
                "loginlens.tls.alert_from": side,
                "error.code": str(alert.description) if alert.description is not None else None,
            }
        )
    for message in messages:
        if message.kind == "problem":
            rows.append(
                {
                    **base,
                    "ts_ns": times[message.frame],
                    "loginlens.record": message.frame,
                    "event.action": "tls-error",
                    "event.outcome": "failure",
                    "message": f"TLS stream unreadable: {message.detail}",
                    "error.message": str(message.detail),
                    "tls.client.server_name": sni,
                }
            )
    return rows


def _handshake(flow: FlowInfo, summary: TlsSummary, ts_ns: int) -> Row:
    hello, server = summary.client_hello, summary.server_hello
    row: Row = {"event.action": "tls-handshake", "tls.established": summary.established}
    row["event.outcome"] = "success" if summary.established else "failure"
    parts = []
    if hello is not None:
        row.update(
            {
                "tls.client.server_name": hello.sni,
                "destination.domain": hello.sni,
                "loginlens.tls.offered_versions": [version_name(v) for v in hello.versions],
                "loginlens.tls.alpn": list(hello.alpn),
                "loginlens.tls.cipher_count": len(hello.cipher_suites),
                "loginlens.tls.hello_size": hello.size,
            }
        )
        parts.append(
            f"TLS to {hello.sni or flow.resp_ip} offering up to {version_name(hello.max_version)}"
        )
    if summary.version is not None:
        version, protocol = ecs_version(summary.version)
        row["tls.version"], row["tls.version_protocol"] = version, protocol
        parts.append(f"server chose {version_name(summary.version)}")
    if summary.cipher is not None:
        row["tls.cipher"] = cipher_name(summary.cipher)
        parts[-1] += f" {row['tls.cipher']}"
    if server is None:
        parts.append("no ServerHello")
    chain = _chain(summary.certificates)
    if chain:
        leaf = chain[0]
        row.update(
            {
                "tls.server.subject": leaf.subject,
                "tls.server.issuer": leaf.issuer,
                "tls.server.x509.alternative_names": list(leaf.sans),
                "tls.server.not_before": _naive(leaf.not_before),
                "tls.server.not_after": _naive(leaf.not_after),
                "tls.server.hash.sha256": leaf.sha256,
                "loginlens.tls.self_signed": leaf.self_signed,
                "loginlens.tls.chain": [c.subject for c in chain],
            }
        )
        subject, issuer = leaf.subject_cn or leaf.subject, leaf.issuer_cn or leaf.issuer
        parts.append(f"certificate {subject} issued by {issuer}{_validity(leaf, ts_ns)}")
    parts.append("established" if summary.established else "not established")
    row["message"] = "; ".join(parts)
    return row


def _validity(leaf: CertInfo, ts_ns: int) -> str:
    """A note when the certificate was not valid at the time of the handshake."""
    if ts_ns == NO_TIME:
        return ""
    seen = datetime.fromtimestamp(ts_ns / 1e9, UTC)
    state = validity_at(leaf, seen)
    if state == "expired":
        return f", expired {leaf.not_after:%Y-%m-%d}"
    if state == "not_yet_valid":
        return f", not valid before {leaf.not_before:%Y-%m-%d}"
    return ""


def _chain(certificates: Sequence[bytes]) -> list[CertInfo]:
    chain = []
    for der in certificates:
        try:
            chain.append(parse_certificate(der))
        except CertError:
            break
    return chain


def _naive(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None)


def http_events(
    flow: FlowInfo,
    messages: Sequence[HttpRequest | HttpResponse | HttpProblem],
    times: dict[int, int],
) -> list[Row]:
    """Responses paired with their requests; requests never answered; streams that are not HTTP."""
    base = {"event.dataset": "pcap.http", **flow.endpoints(), "network.protocol": "http"}
    waiting: deque[HttpRequest] = deque()
    rows: list[Row] = []
    for message in messages:
        if isinstance(message, HttpRequest):
            waiting.append(message)
        elif isinstance(message, HttpResponse):
            request = waiting.popleft() if waiting else None
            rows.append({**base, **_exchange(flow, request, message, times)})
        else:
            rows.append(
                {
                    **base,
                    "ts_ns": times[message.frame],
                    "loginlens.record": message.frame,
                    "event.action": "http-error",
                    "event.outcome": "failure",
                    "message": f"HTTP stream unreadable: {message.reason}",
                    "error.message": message.reason,
                }
            )
    rows.extend({**base, **_exchange(flow, request, None, times)} for request in waiting)
    return rows


def _exchange(
    flow: FlowInfo,
    request: HttpRequest | None,
    response: HttpResponse | None,
    times: dict[int, int],
) -> Row:
    row: Row = {}
    text = ""
    if request is not None:
        host = request.host or flow.resp_ip
        full = request.target if "://" in request.target else f"http://{host}{request.target}"
        if request.method == "CONNECT":
            full = request.target
        row.update(
            {
                "http.request.method": request.method,
                "url.domain": host.rsplit(":", 1)[0] if host.count(":") == 1 else host,
                "url.path": request.path.split("?", 1)[0],
                "url.full": full,
                "user_agent.original": request.user_agent,
                "destination.domain": host,
            }
        )
        text = f"HTTP {request.method} {full}"
    if response is None:
        assert request is not None
        row.update(
            {
                "ts_ns": times[request.frame],
                "loginlens.record": request.frame,
                "event.action": "http-request",
                "event.outcome": "failure",
                "message": text + " → no response seen",
            }
        )
        return row
    took = elapsed(times[response.frame], times[request.frame] if request is not None else None)
    text = (text or "HTTP response") + f" → {response.status} {response.reason}".rstrip()
    if response.location:
        text += f" → {response.location}"
    row.update(
        {
            "ts_ns": times[response.frame],
            "loginlens.record": response.frame,
            "event.action": "http-response",
            "event.outcome": "failure" if response.status >= 400 else "success",
            "event.duration": took,
            "message": text,
            "http.response.status_code": response.status,
            "loginlens.http.location": response.location,
            "loginlens.http.server": response.server,
        }
    )
    return row
