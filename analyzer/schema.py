"""The one event schema every parser's output is conformed to.

Names follow the Elastic Common Schema where ECS has a field; loginlens' own
facts live under ``loginlens.*`` and vendor or tool specifics under their own
namespace. Provenance (``loginlens.source``, ``loginlens.record``) lets every
event be opened in the tool that produced the original.
"""

from __future__ import annotations

from typing import Any

import polars as pl

TIMESTAMP = "@timestamp"
SOURCE = "loginlens.source"
RECORD = "loginlens.record"

UTC_MICROS = pl.Datetime("us", "UTC")

EVENT_SCHEMA: dict[str, pl.DataType] = {
    TIMESTAMP: UTC_MICROS,
    "event.kind": pl.String(),
    "event.dataset": pl.String(),
    "event.action": pl.String(),
    "event.outcome": pl.String(),
    "event.duration": pl.Int64(),
    "event.original": pl.String(),
    "message": pl.String(),
    "log.level": pl.String(),
    "log.logger": pl.String(),
    "host.hostname": pl.String(),
    "process.pid": pl.Int64(),
    "process.thread.id": pl.Int64(),
    "source.ip": pl.String(),
    "source.port": pl.Int32(),
    "destination.ip": pl.String(),
    "destination.port": pl.Int32(),
    "destination.domain": pl.String(),
    "network.transport": pl.String(),
    "network.protocol": pl.String(),
    "network.community_id": pl.String(),
    "network.bytes": pl.Int64(),
    "network.packets": pl.Int64(),
    "source.bytes": pl.Int64(),
    "source.packets": pl.Int64(),
    "destination.bytes": pl.Int64(),
    "destination.packets": pl.Int64(),
    "dns.id": pl.Int32(),
    "dns.question.name": pl.String(),
    "dns.question.type": pl.String(),
    "dns.response_code": pl.String(),
    "dns.resolved_ip": pl.List(pl.String()),
    "dns.type": pl.String(),
    "dns.answers.type": pl.List(pl.String()),
    "dns.answers.data": pl.List(pl.String()),
    "dns.answers.ttl": pl.List(pl.Int64()),
    "tls.version": pl.String(),
    "tls.version_protocol": pl.String(),
    "tls.cipher": pl.String(),
    "tls.established": pl.Boolean(),
    "tls.client.server_name": pl.String(),
    "tls.server.subject": pl.String(),
    "tls.server.issuer": pl.String(),
    "tls.server.x509.alternative_names": pl.List(pl.String()),
    "tls.server.not_before": UTC_MICROS,
    "tls.server.not_after": UTC_MICROS,
    "tls.server.hash.sha256": pl.String(),
    "loginlens.tls.alert": pl.String(),
    "loginlens.tls.alert_from": pl.String(),
    "loginlens.tls.alert_level": pl.String(),
    "loginlens.tls.offered_versions": pl.List(pl.String()),
    "loginlens.tls.alpn": pl.List(pl.String()),
    "loginlens.tls.cipher_count": pl.Int32(),
    "loginlens.tls.hello_size": pl.Int32(),
    "loginlens.tls.self_signed": pl.Boolean(),
    "loginlens.tls.chain": pl.List(pl.String()),
    "http.request.method": pl.String(),
    "http.request.id": pl.String(),
    "http.response.status_code": pl.Int32(),
    "loginlens.http.location": pl.String(),
    "http.response.mime_type": pl.String(),
    "http.response.body.bytes": pl.Int64(),
    "loginlens.http.chain": pl.Int64(),
    "loginlens.http.chain_step": pl.Int32(),
    "loginlens.http.redirect_loop": pl.Boolean(),
    "loginlens.har.connection": pl.String(),
    "loginlens.har.from_cache": pl.String(),
    "loginlens.har.initiator": pl.String(),
    "loginlens.har.resource_type": pl.String(),
    "loginlens.har.blocked_ms": pl.Float64(),
    "loginlens.har.dns_ms": pl.Float64(),
    "loginlens.har.connect_ms": pl.Float64(),
    "loginlens.har.ssl_ms": pl.Float64(),
    "loginlens.har.send_ms": pl.Float64(),
    "loginlens.har.wait_ms": pl.Float64(),
    "loginlens.har.receive_ms": pl.Float64(),
    "loginlens.http.server": pl.String(),
    "user_agent.original": pl.String(),
    "url.full": pl.String(),
    "url.domain": pl.String(),
    "url.path": pl.String(),
    "error.code": pl.String(),
    "error.message": pl.String(),
    "related.ip": pl.String(),
    "netlog.net_error": pl.String(),
    "loginlens.flow.history": pl.String(),
    "loginlens.flow.state": pl.String(),
    "loginlens.flow.rtt_ms": pl.Float64(),
    "loginlens.flow.retransmissions": pl.Int64(),
    "loginlens.flow.zero_windows": pl.Int64(),
    "loginlens.flow.max_segment": pl.Int64(),
    "loginlens.flow.retransmitted_max": pl.Int64(),
    "loginlens.tcp.mss": pl.Int32(),
    "loginlens.tcp.server_mss": pl.Int32(),
    "loginlens.ip.ttl": pl.Int32(),
    "loginlens.dns.response_index": pl.Int32(),
    "loginlens.dns.responses": pl.Int32(),
    "loginlens.icmp.type": pl.Int32(),
    "loginlens.icmp.code": pl.Int32(),
    "loginlens.icmp.mtu": pl.Int32(),
    SOURCE: pl.String(),
    RECORD: pl.Int64(),
    "loginlens.kind": pl.String(),
    "loginlens.format": pl.String(),
}

# Columns a parser must always fill; the rest default to null.
REQUIRED = (SOURCE, RECORD, "loginlens.kind", "event.kind")


class SchemaError(ValueError):
    """A parser produced columns outside the declared schema (a programming error)."""


def empty_events() -> pl.DataFrame:
    """Return a frame with no rows and every schema column."""
    return pl.DataFrame(schema=EVENT_SCHEMA)


def conform(frame: pl.DataFrame) -> pl.DataFrame:
    """Return ``frame`` with exactly the schema's columns, order and types.

    Missing columns become nulls; known columns are cast (strictly, so a
    parser bug surfaces here rather than as silent nulls downstream).
    """
    unknown = [name for name in frame.columns if name not in EVENT_SCHEMA]
    if unknown:
        raise SchemaError(f"columns outside the event schema: {', '.join(sorted(unknown))}")
    missing = [name for name in REQUIRED if name not in frame.columns]
    if missing and frame.height:
        raise SchemaError(f"required columns missing: {', '.join(missing)}")
    return frame.select(
        (
            pl.col(name).cast(dtype, strict=True)
            if name in frame.columns
            else pl.lit(None, dtype=dtype).alias(name)
        )
        for name, dtype in EVENT_SCHEMA.items()
    )


def rows_to_events(
    rows: list[dict[str, Any]], source: str, kind: str, **constants: str
) -> pl.DataFrame:
    """Event rows of a document parser (HAR, NetLog) as conformed events: provenance and
    ``kind`` filled in, plus ``constants`` (column name with dots as ``__``) on every row."""
    if not rows:
        return empty_events()
    frame = pl.from_dicts(rows, infer_schema_length=None).with_columns(
        pl.lit(source).alias(SOURCE),
        pl.lit(kind).alias("loginlens.kind"),
        pl.lit(kind).alias("loginlens.format"),
        pl.lit("event").alias("event.kind"),
        pl.lit(kind).alias("event.dataset"),
        *(pl.lit(value).alias(name.replace("__", ".")) for name, value in constants.items()),
    )
    return conform(frame)
