"""The deep tier: pick the few payloads that can explain a failed login and dissect them.

Selection is vectorised over the per-packet flow frame: UDP and TCP port 53,
TCP flows whose first payload in either direction looks like TLS or an HTTP
request (whatever the port), the SYNs that carry an MSS option, and ICMP
errors. Only those packets' bytes become Python objects. Each dissector
returns event rows (``ts_ns`` plus schema columns) for ``capture``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from parsers.pcap import dns as dns_wire
from parsers.pcap.dns_events import dns_events, tcp_dns_messages
from parsers.pcap.http import HttpConnection, HttpEvent, HttpProblem, looks_like_http
from parsers.pcap.icmp_events import icmp_events
from parsers.pcap.packets import SYN, TCP, UDP
from parsers.pcap.rows import DnsPacket, FlowInfo, Row, Segment, payload
from parsers.pcap.tls import TlsConnection, TlsMessage
from parsers.pcap.web_events import http_events, tls_events

# Segments read per direction: a TLS handshake fits in far fewer; HTTP bodies are skipped by
# counting, but a download of millions of segments is not worth walking.
TLS_SEGMENTS = 48
HTTP_SEGMENTS = 4096


@dataclass
class Dissected:
    """Event rows per dissector, and problems with their frame numbers."""

    events: dict[str, list[Row]] = field(default_factory=dict)
    problems: list[tuple[int | None, str]] = field(default_factory=list)


def syn_mss(buffer: np.ndarray, flows_in: pl.DataFrame) -> dict[int, int]:
    """Frame number → MSS option of every SYN and SYN-ACK."""
    syns = flows_in.filter(
        (pl.col("proto") == TCP)
        & ((pl.col("flags") & SYN) != 0)
        & (pl.col("payload_at") > pl.col("l4_at") + 20)
    ).select("frame", "l4_at", "payload_at")
    found: dict[int, int] = {}
    for frame, start, end in syns.iter_rows():
        options = payload(buffer, start + 20, min(end - start - 20, 40))
        index = 0
        while index < len(options):
            kind = options[index]
            if kind == 0:
                break
            if kind == 1:
                index += 1
                continue
            if index + 1 >= len(options) or options[index + 1] < 2:
                break
            if kind == 2 and options[index + 1] == 4 and index + 4 <= len(options):
                found[frame] = int.from_bytes(options[index + 2 : index + 4], "big")
                break
            index += options[index + 1]
    return found


def dissect(
    buffer: np.ndarray, packets: pl.DataFrame, flows_in: pl.DataFrame, flows: pl.DataFrame
) -> Dissected:
    """Run every dissector over the packets that need it."""
    result = Dissected()
    info = _flow_info(flows)
    dns_packets = _dns_payloads(buffer, flows_in, info)
    dns_packets.extend(_tcp_dns_payloads(buffer, flows_in, info, result.problems))
    result.events["dns"] = dns_events(dns_packets, result.problems)
    tls_rows, http_rows = _web(buffer, flows_in, info, result.problems)
    result.events["tls"] = tls_rows
    result.events["http"] = http_rows
    result.events["icmp"] = icmp_events(buffer, packets, flows, result.problems)
    return result


def _flow_info(flows: pl.DataFrame) -> dict[int, FlowInfo]:
    columns = flows.select(
        "flow", "orig_ip", "orig_port", "resp_ip", "resp_port", "community_id", "proto"
    )
    return {row[0]: FlowInfo(*row[1:]) for row in columns.iter_rows()}


def _dns_payloads(
    buffer: np.ndarray, flows_in: pl.DataFrame, info: dict[int, FlowInfo]
) -> list[DnsPacket]:
    rows = flows_in.filter(
        (pl.col("proto") == UDP)
        & ((pl.col("sport") == 53) | (pl.col("dport") == 53))
        & (pl.col("captured") > 0)
    ).select("frame", "ts_ns", "flow", "from_orig", "ttl", "payload_at", "captured")
    found = []
    for frame, ts_ns, flow, from_orig, ttl, at, length in rows.iter_rows():
        data = payload(buffer, at, length)
        try:
            message, error = dns_wire.parse_dns(data), None
        except dns_wire.DnsError as exc:
            message, error = None, str(exc)
        found.append(DnsPacket(frame, ts_ns, info[flow], from_orig, ttl, "udp", message, error))
    return found


def _tcp_dns_payloads(
    buffer: np.ndarray,
    flows_in: pl.DataFrame,
    info: dict[int, FlowInfo],
    problems: list[tuple[int | None, str]],
) -> list[DnsPacket]:
    selected = _segments(flows_in, (pl.col("sport") == 53) | (pl.col("dport") == 53), HTTP_SEGMENTS)
    found = []
    for flow, segments, holes in _by_flow(buffer, selected):
        for hole in holes:
            problems.append((hole.frame, "DNS over TCP: " + hole.text(("client", "server"))))
        for from_orig, data, frame, ts_ns, ttl in tcp_dns_messages(segments):
            try:
                message, error = dns_wire.parse_dns(data), None
            except dns_wire.DnsError as exc:
                message, error = None, str(exc)
            found.append(DnsPacket(frame, ts_ns, info[flow], from_orig, ttl, "tcp", message, error))
    return found


def _segments(flows_in: pl.DataFrame, where: pl.Expr, limit: int) -> pl.DataFrame:
    """TCP payload segments matching ``where``, as each side's stream delivers them.

    Within a direction segments are put in sequence order; one whose bytes all came
    before is a retransmission and dropped, one that overlaps what came before is
    trimmed (``skip``), and one that starts past the bytes seen so far follows a
    hole (``gap``, the missing byte count). A segment is delivered with the latest
    frame among those up to it in sequence order, so an out-of-order segment waits
    for the one that fills the hole before it, as TCP delivers them. At most
    ``limit`` segments per side.
    """
    side = ("flow", "from_orig")
    start = ((pl.col("seq") - pl.col("seq").first().over(side) + 2**31) % 2**32) - 2**31
    end = pl.col("start") + pl.col("payload_len")
    covered = end.cum_max().shift(1).over(side).fill_null(pl.col("start").first().over(side))
    return (
        flows_in.filter((pl.col("proto") == TCP) & (pl.col("captured") > 0) & where)
        .select(
            "flow",
            "frame",
            "ts_ns",
            "from_orig",
            "seq",
            "payload_at",
            "captured",
            "payload_len",
            "ttl",
        )
        .with_columns(start.alias("start"))
        .sort("flow", "from_orig", "start", "frame")
        .with_columns(
            (covered - pl.col("start")).alias("ahead"),
            pl.col("frame").cum_max().over(side).alias("delivered"),
        )
        .filter(pl.col("ahead") < pl.col("payload_len"))
        .with_columns(
            pl.col("ahead").clip(lower_bound=0).alias("skip"),
            (-pl.col("ahead")).clip(lower_bound=0).alias("gap"),
            # bytes cut by the snap length leave a hole before whatever follows
            (pl.col("payload_len") > pl.col("captured")).alias("cut"),
        )
        .with_columns(pl.int_range(pl.len()).over(side).alias("nth"))
        .filter(pl.col("nth") < limit)
        .sort("flow", "delivered", "start")
    )


@dataclass
class Hole:
    """Bytes of one side's stream that the capture lacks, first noticed at ``frame``."""

    from_orig: bool
    frame: int
    ts_ns: int
    missing: int | None  # None: the snap length cut a segment short

    def text(self, who: tuple[str, str]) -> str:
        """Why the rest of this side was not dissected, naming the side as ``who`` does."""
        side = who[0] if self.from_orig else who[1]
        lost = f"{self.missing} bytes" if self.missing else "bytes cut by the snap length"
        return f"{lost} of the {side}'s stream missing from the capture before frame {self.frame}"


def _by_flow(
    buffer: np.ndarray, segments: pl.DataFrame
) -> Iterator[tuple[int, list[Segment], list[Hole]]]:
    """Each flow's segments in delivery order with their bytes, up to each side's first hole."""
    current: int | None = None
    batch: list[Segment] = []
    holes: list[Hole] = []
    stopped: set[bool] = set()
    cut_before: dict[bool, int] = {}
    columns = ("flow", "frame", "ts_ns", "from_orig", "payload_at", "captured", "ttl")
    for flow, frame, ts_ns, from_orig, at, length, ttl, skip, gap, cut in segments.select(
        *columns, "skip", "gap", "cut"
    ).iter_rows():
        if flow != current:
            if batch and current is not None:
                yield current, batch, holes
            current, batch, holes, stopped, cut_before = flow, [], [], set(), {}
        if from_orig in stopped:
            continue
        if gap or from_orig in cut_before:
            stopped.add(from_orig)
            holes.append(Hole(from_orig, frame, ts_ns, gap or None))
            continue
        if cut:
            cut_before[from_orig] = frame
        data = payload(buffer, at + skip, length - skip) if skip < length else b""
        if data:
            batch.append((from_orig, data, frame, ts_ns, ttl))
    if batch and current is not None:
        yield current, batch, holes


def _web(
    buffer: np.ndarray,
    flows_in: pl.DataFrame,
    info: dict[int, FlowInfo],
    problems: list[tuple[int | None, str]],
) -> tuple[list[Row], list[Row]]:
    """TLS and HTTP over TCP, chosen by what each side's first payload looks like.

    A flow is HTTP when the client's first bytes are a request or the server's a
    status line (servers answer requests too broken to recognise), and TLS when
    either side starts with a TLS record.
    """
    first = _segments(flows_in, pl.lit(True), 1)
    tls_flows: set[int] = set()
    http_flows: set[int] = set()
    for flow, from_orig, at, length in first.select(
        "flow", "from_orig", "payload_at", "captured"
    ).iter_rows():
        head = payload(buffer, at, min(length, 24))
        if _looks_like_tls(head):
            tls_flows.add(flow)
        elif looks_like_http(head) if from_orig else head.startswith(b"HTTP/1."):
            http_flows.add(flow)
    tls_flows -= http_flows
    tls_rows: list[Row] = []
    http_rows: list[Row] = []
    wanted = pl.col("flow").is_in(list(tls_flows))
    for flow, segments, holes in _by_flow(buffer, _segments(flows_in, wanted, TLS_SEGMENTS)):
        tls_rows.extend(_tls_flow(info[flow], segments, holes))
    wanted = pl.col("flow").is_in(list(http_flows))
    for flow, segments, holes in _by_flow(buffer, _segments(flows_in, wanted, HTTP_SEGMENTS)):
        rows, tunnelled = _http_flow(info[flow], segments, holes)
        http_rows.extend(rows)
        if tunnelled:
            tls_rows.extend(_tls_flow(info[flow], tunnelled, holes))
    return tls_rows, http_rows


def _looks_like_tls(head: bytes) -> bool:
    if len(head) >= 3 and 20 <= head[0] <= 24 and head[1] == 3 and head[2] <= 4:
        return True
    # An SSLv2-framed ClientHello, still sent by old clients.
    return len(head) >= 3 and head[0] & 0x80 != 0 and head[2] == 1


def _tls_flow(flow: FlowInfo, segments: list[Segment], holes: list[Hole]) -> list[Row]:
    connection = TlsConnection()
    times: dict[int, int] = {}
    messages = []
    for from_orig, data, frame, ts_ns, _ in segments:
        times[frame] = ts_ns
        messages.extend(connection.feed(from_orig, data, frame))
        if connection.done:
            break
    else:
        # The handshake was still going when a side's stream ran into bytes never captured.
        for hole in holes:
            if not (connection.client if hole.from_orig else connection.server).done:
                times[hole.frame] = hole.ts_ns
                reason = hole.text(("client", "server"))
                messages.append(TlsMessage("problem", hole.frame, hole.frame, reason))
    return tls_events(flow, connection.summary(), messages, times)


def _http_flow(
    flow: FlowInfo, segments: list[Segment], holes: list[Hole]
) -> tuple[list[Row], list[Segment]]:
    """HTTP events, and the segments after an established CONNECT tunnel (TLS inside)."""
    connection = HttpConnection()
    times: dict[int, int] = {}
    messages: list[HttpEvent] = []
    tunnelled: list[Segment] = []
    for segment in segments:
        from_orig, data, frame, ts_ns, _ = segment
        if connection.tunnel_established:
            tunnelled.append(segment)
            continue
        times[frame] = ts_ns
        messages.extend(connection.feed(from_orig, data, frame))
    if not connection.tunnel_established:
        for hole in holes:
            times[hole.frame] = hole.ts_ns
            messages.append(HttpProblem(hole.frame, hole.text(("client", "server"))))
    return http_events(flow, messages, times), tunnelled
