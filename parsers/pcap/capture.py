"""A pcap or pcapng file → events: flows, DNS, TLS, HTTP and ICMP, never one per packet.

The bulk tier (``walk``, ``packets``, ``flows``) reads every packet as columns;
the deep tier (``dissect``) looks only at the payloads that can explain a
failed login. Each event's ``loginlens.record`` is the frame number Wireshark
shows, so evidence can be opened there.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from analyzer.ledger import SourceReport
from analyzer.redact import redact_events
from analyzer.schema import RECORD, SOURCE, TIMESTAMP, UTC_MICROS, conform
from parsers.pcap import dissect
from parsers.pcap.flows import STATES, UDP_STATES, assign_flows, summarise_flows
from parsers.pcap.packets import LINK_NAMES, TCP, UDP, decode_packets
from parsers.pcap.rows import Columns
from parsers.pcap.walk import NO_TIME, open_records

TRANSPORTS = {TCP: "tcp", UDP: "udp"}
MAX_PROBLEMS_PER_KIND = 20


def parse_capture(
    path: Path,
    display: str,
    stage: Callable[[str], None] | None = None,
    redact: bool = True,
) -> tuple[pl.DataFrame, SourceReport]:
    """Parse the capture at ``path``; raise ``ParseError`` only when it is no capture at all."""
    started = time.perf_counter()
    records = open_records(path, display)
    report = SourceReport(
        path=display, kind=records.fmt, format=records.fmt, bytes=path.stat().st_size
    )
    if stage:
        stage(f"decoding {len(records):,} packets")
    packets = decode_packets(records)
    frame = packets.frame
    flows_in = assign_flows(frame)
    mss = dissect.syn_mss(records.buffer, flows_in)
    flows = summarise_flows(flows_in, mss)
    if stage:
        stage(f"dissecting {len(flows):,} flows")
    found = dissect.dissect(records.buffer, frame, flows_in, flows)
    events = pl.concat(
        [_flow_events(flows), *(_columns_frame(c) for c in found.events.values() if c.count)],
        how="diagonal_relaxed",
    )
    events = events.with_columns(
        pl.lit(display).alias(SOURCE),
        pl.lit("pcap").alias("loginlens.kind"),
        pl.lit(records.fmt).alias("loginlens.format"),
        pl.lit("event").alias("event.kind"),
    )
    if redact:
        events = redact_events(events)
    # Stable, so events of one frame keep the order their dissector gave them.
    events = conform(events).sort(TIMESTAMP, RECORD, nulls_last=True, maintain_order=True)

    for frame_number, reason in records.problems + packets.notes + found.problems:
        report.error(frame_number, reason, skipped=False)
    report.skipped = records.skipped
    report.records = len(records)
    report.details.update(
        {
            "packets": len(records),
            "flows": flows.height,
            "link_types": sorted(
                {LINK_NAMES.get(i.linktype, str(i.linktype)) for i in records.interfaces}
            ),
            # Frames that hold no packet (custom blocks) have no time either; they do not count.
            "untimed_packets": int(((records.ts_ns == NO_TIME) & (records.interface >= 0)).sum()),
            "dissected": {kind: columns.count for kind, columns in found.events.items()},
        }
    )
    report.seconds = time.perf_counter() - started
    return events, report


def _columns_frame(found: Columns) -> pl.DataFrame:
    """Dissector rows (``ts_ns`` plus schema columns) as a frame, as ``pl.from_dicts`` makes it.

    Polars turns a column of Python lists into a list column one small Series per row, so
    list columns are built from their flattened values instead.
    """
    columns = []
    for name, values in found.values.items():
        if set(map(type, values)) - {type(None)} == {list}:
            columns.append(_list_column(name, values))
        else:
            columns.append(pl.Series(name, values, strict=False))
    frame = pl.DataFrame(columns)
    return frame.with_columns(_timestamp(pl.col("ts_ns"))).drop("ts_ns")


def _list_column(name: str, values: list[Any]) -> pl.Series:
    """A list column from Python lists (or None), element types inferred as for one column."""
    count = len(values)
    lengths = np.fromiter((0 if value is None else len(value) for value in values), np.int64, count)
    flat = pl.Series(name, [item for value in values if value for item in value], strict=False)
    rows = np.arange(count)
    items = pl.DataFrame({"row": np.repeat(rows, lengths), name: flat})
    lists = items.group_by("row", maintain_order=True).agg(name)
    column = (
        pl.DataFrame({"row": rows})
        .join(lists, on="row", how="left", maintain_order="left")
        .get_column(name)
    )
    empty = np.fromiter((value == [] for value in values), bool, count)
    if empty.any():  # the join left them null; an empty list is not a missing one
        column = pl.select(
            pl.when(pl.lit(pl.Series(empty))).then(pl.lit([], dtype=column.dtype)).otherwise(column)
        ).to_series()
    return column.alias(name)


def _timestamp(ns: pl.Expr) -> pl.Expr:
    return (
        pl.when(ns == NO_TIME)
        .then(None)
        .otherwise(ns // 1000)
        .cast(pl.Datetime("us"))
        .dt.replace_time_zone("UTC")
        .cast(UTC_MICROS)
        .alias(TIMESTAMP)
    )


def _flow_events(flows: pl.DataFrame) -> pl.DataFrame:
    """One ``connection`` event per TCP or UDP flow, like a row of Zeek's conn.log."""
    transport = pl.col("proto").replace_strict(TRANSPORTS, default="other", return_dtype=pl.String)
    # ``state_text`` as an expression: a Python call per flow would cost more than the rest.
    state = (
        pl.when(pl.col("proto") == TCP)
        .then(pl.col("state").replace(STATES))
        .when(pl.col("proto") == UDP)
        .then(pl.col("state").replace(UDP_STATES))
        .otherwise(pl.col("state"))
    )
    failed = pl.col("state").is_in(["S0", "REJ", "RSTOS0", "RSTO", "RSTR", "SH", "RSTRH"])
    # Nobody answers mDNS, LLMNR or SSDP to a group address: silence there is no failure.
    octet = pl.col("resp_ip").str.extract(r"^(\d+)\.", 1).cast(pl.Int32, strict=False)
    group = (
        pl.col("resp_ip").str.starts_with("ff")
        | octet.is_between(224, 239)
        | (pl.col("resp_ip") == "255.255.255.255")
    ).fill_null(False)
    failed = failed & ~((pl.col("proto") == UDP) & group)
    return flows.select(
        _timestamp(pl.col("first_ns")),
        pl.col("first_frame").alias(RECORD),
        pl.lit("connection").alias("event.action"),
        pl.lit("pcap.flow").alias("event.dataset"),
        pl.when(failed).then(pl.lit("failure")).otherwise(pl.lit("success")).alias("event.outcome"),
        (pl.col("last_ns") - pl.col("first_ns")).alias("event.duration"),
        pl.format(
            "{} {}:{} → {}:{} {} ({}), history {}, {}/{} packets",
            transport.str.to_uppercase(),
            pl.col("orig_ip"),
            pl.col("orig_port"),
            pl.col("resp_ip"),
            pl.col("resp_port"),
            pl.col("state"),
            state,
            pl.col("history"),
            pl.col("orig_packets"),
            pl.col("resp_packets"),
        ).alias("message"),
        pl.col("orig_ip").alias("source.ip"),
        pl.col("orig_port").alias("source.port"),
        pl.col("resp_ip").alias("destination.ip"),
        pl.col("resp_port").alias("destination.port"),
        transport.alias("network.transport"),
        pl.col("community_id").alias("network.community_id"),
        (pl.col("orig_bytes") + pl.col("resp_bytes")).alias("network.bytes"),
        (pl.col("orig_packets") + pl.col("resp_packets")).cast(pl.Int64).alias("network.packets"),
        pl.col("orig_bytes").alias("source.bytes"),
        pl.col("orig_packets").cast(pl.Int64).alias("source.packets"),
        pl.col("resp_bytes").alias("destination.bytes"),
        pl.col("resp_packets").cast(pl.Int64).alias("destination.packets"),
        pl.col("history").alias("loginlens.flow.history"),
        pl.col("state").alias("loginlens.flow.state"),
        pl.col("rtt_ms").alias("loginlens.flow.rtt_ms"),
        (pl.col("orig_retransmissions") + pl.col("resp_retransmissions"))
        .cast(pl.Int64)
        .alias("loginlens.flow.retransmissions"),
        pl.col("zero_windows").cast(pl.Int64).alias("loginlens.flow.zero_windows"),
        pl.col("orig_max_segment").alias("loginlens.flow.max_segment"),
        pl.col("orig_retx_max").alias("loginlens.flow.retransmitted_max"),
        pl.col("orig_mss").alias("loginlens.tcp.mss"),
        pl.col("resp_mss").alias("loginlens.tcp.server_mss"),
        pl.col("resp_ttl").cast(pl.Int32).alias("loginlens.ip.ttl"),
    )


def packet_count(path: Path) -> int:
    """How many packets the capture holds (the walk alone)."""
    return len(open_records(path, str(path)))
