"""The deep tier: pick the few payloads that can explain a failed login and dissect them.

Selection is vectorised over the per-packet flow frame: UDP and TCP port 53,
TCP flows whose first payload in either direction looks like TLS or an HTTP
request (whatever the port), the SYNs that carry an MSS option, and ICMP
errors. Only those packets' bytes become Python objects. Each dissector
returns event rows (``ts_ns`` plus schema columns) for ``capture``.

Polars does all the selecting first (``_plan``); the dissectors then run on
plain lists, in shares of the flows spread over the cores (``shares``).
"""

from __future__ import annotations

import gc
import itertools
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from parsers.pcap import dns as dns_wire
from parsers.pcap import native
from parsers.pcap.dns_events import dns_events, tcp_dns_messages
from parsers.pcap.http import HttpConnection, HttpEvent, HttpProblem, looks_like_http
from parsers.pcap.icmp_events import icmp_events
from parsers.pcap.packets import SYN, TCP, UDP
from parsers.pcap.rows import Columns, DnsPacket, FlowInfo, Row, Segment, payload
from parsers.pcap.shares import default_parts, run_shares
from parsers.pcap.tls import TlsConnection, TlsMessage
from parsers.pcap.web_events import http_events, tls_events

# Segments read per direction: a TLS handshake fits in far fewer; HTTP bodies are skipped by
# counting, but a download of millions of segments is not worth walking.
TLS_SEGMENTS = 48
HTTP_SEGMENTS = 4096


@dataclass
class Dissected:
    """Event rows per dissector, as columns, and problems with their frame numbers."""

    events: dict[str, Columns] = field(default_factory=dict)
    problems: list[tuple[int | None, str]] = field(default_factory=list)


def syn_mss(buffer: np.ndarray, flows_in: pl.DataFrame) -> dict[int, int]:
    """Frame number → MSS option of every SYN and SYN-ACK."""
    syns = flows_in.filter(
        (pl.col("proto") == TCP)
        & ((pl.col("flags") & SYN) != 0)
        & (pl.col("payload_at") > pl.col("l4_at") + 20)
    ).select("frame", "l4_at", "payload_at")
    # Nearly every SYN puts its MSS first: those are read for all at once.
    at = syns.get_column("l4_at").to_numpy() + 20
    room = (syns.get_column("payload_at").to_numpy() - at >= 4) & (at + 4 <= len(buffer))
    head = buffer[np.where(room, at, 0)[:, None] + np.arange(4)]
    first = room & (head[:, 0] == 2) & (head[:, 1] == 4)
    mss = head[:, 2].astype(np.int64) << 8 | head[:, 3]
    frames = syns.get_column("frame").to_numpy()
    found: dict[int, int] = dict(zip(frames[first].tolist(), mss[first].tolist(), strict=True))
    view = buffer.data
    for frame, start, end in syns.filter(pl.Series(~first)).iter_rows():
        options = payload(view, start + 20, min(end - start - 20, 40))
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
    buffer: np.ndarray,
    packets: pl.DataFrame,
    flows_in: pl.DataFrame,
    flows: pl.DataFrame,
    parts: int | None = None,
) -> Dissected:
    """Run every dissector over the packets that need it.

    Polars picks the payloads; the Python dissectors then run in ``parts`` shares of the
    flows (default: one per core for a large capture), all but one in forked processes.
    """
    with _without_cycle_collection():
        info = _flow_info(flows)
        view = buffer.data  # slices of a memoryview copy out faster than numpy's
        plan = _plan(view, flows_in)
        if parts is None:
            parts = default_parts(plan.size)

        def work(part: int, parts: int) -> Dissected:
            return _dissect_share(view, plan, info, part, parts)

        result = Dissected({"dns": Columns(), "tls": Columns(), "http": Columns()})
        for share in run_shares(work, parts):
            for kind, columns in share.events.items():
                result.events[kind].extend(columns)
            result.problems.extend(share.problems)
    result.events["icmp"] = Columns.of(icmp_events(buffer, packets, flows, result.problems))
    # Frame order, whatever the shares: the ledger lists problems as a reader meets them.
    result.problems.sort(key=lambda problem: -1 if problem[0] is None else problem[0])
    return result


@contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """Python's cycle collector paused: the dissectors make millions of small tuples and lists,
    none of them in cycles, and each collection would walk every one made so far (a quarter
    of their time). Whatever cycles there are wait for the next collection after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _flow_info(flows: pl.DataFrame) -> dict[int, FlowInfo]:
    columns = flows.select(
        "flow", "orig_ip", "orig_port", "resp_ip", "resp_port", "community_id", "proto"
    )
    return {row[0]: FlowInfo(*row[1:]) for row in columns.iter_rows()}


@dataclass(frozen=True)
class _Plan:
    """Every payload the dissectors will read, as plain lists (no polars past this point)."""

    dns_udp: list[tuple[int, int, int, bool, int, int, int]]  # frame … payload_at, captured
    dns_tcp: Streams
    tls: Streams
    http: Streams

    @property
    def size(self) -> int:
        """Roughly how much dissecting there is to do."""
        return len(self.dns_udp) + self.dns_tcp.rows + self.tls.rows + self.http.rows


def _plan(buffer: memoryview, flows_in: pl.DataFrame) -> _Plan:
    dns_udp = flows_in.filter(
        (pl.col("proto") == UDP)
        & ((pl.col("sport") == 53) | (pl.col("dport") == 53))
        & (pl.col("captured") > 0)
    ).select("frame", "ts_ns", "flow", "from_orig", "ttl", "payload_at", "captured")
    segments = _segments(flows_in)
    dns = (pl.col("sport") == 53) | (pl.col("dport") == 53)
    tls_flows, http_flows = _web_flows(buffer, segments.filter(pl.col("nth") == 0))
    return _Plan(
        list(dns_udp.iter_rows()),
        Streams.of(segments.filter(dns & (pl.col("nth") < HTTP_SEGMENTS))),
        Streams.of(
            segments.filter(pl.col("flow").is_in(tls_flows) & (pl.col("nth") < TLS_SEGMENTS))
        ),
        Streams.of(
            segments.filter(pl.col("flow").is_in(http_flows) & (pl.col("nth") < HTTP_SEGMENTS))
        ),
    )


def _dissect_share(
    buffer: memoryview, plan: _Plan, info: dict[int, FlowInfo], part: int, parts: int
) -> Dissected:
    """Every dissector over the flows whose number is ``part`` modulo ``parts``."""
    problems: list[tuple[int | None, str]] = []
    dns_packets = [
        _dns_packet(payload(buffer, at, length), frame, ts_ns, info[flow], from_orig, ttl, "udp")
        for frame, ts_ns, flow, from_orig, ttl, at, length in plan.dns_udp
        if flow % parts == part
    ]
    for flow, segments, holes in plan.dns_tcp.by_flow(buffer, part, parts):
        for from_orig, data, frame, ts_ns, ttl in tcp_dns_messages(segments):
            dns_packets.append(_dns_packet(data, frame, ts_ns, info[flow], from_orig, ttl, "tcp"))
        for hole in holes:
            problems.append((hole.frame, "DNS over TCP: " + hole.text(("client", "server"))))
    dns_rows = dns_events(dns_packets, problems)
    tls_rows: list[Row] = []
    http_rows: list[Row] = []
    for flow, segments, holes in plan.tls.by_flow(buffer, part, parts):
        tls_rows.extend(_tls_flow(info[flow], segments, holes))
    for flow, segments, holes in plan.http.by_flow(buffer, part, parts):
        rows, tunnelled = _http_flow(info[flow], segments, holes)
        http_rows.extend(rows)
        if tunnelled:
            tls_rows.extend(_tls_flow(info[flow], tunnelled, holes))
    found = {"dns": dns_rows, "tls": tls_rows, "http": http_rows}
    return Dissected({kind: Columns.of(rows) for kind, rows in found.items()}, problems)


def _dns_packet(
    data: bytes, frame: int, ts_ns: int, flow: FlowInfo, from_orig: bool, ttl: int, via: str
) -> DnsPacket:
    try:
        message, error = dns_wire.parse_dns(data), None
    except dns_wire.DnsError as exc:
        message, error = None, str(exc)
    return DnsPacket(frame, ts_ns, flow, from_orig, ttl, via, message, error)


def _segments(flows_in: pl.DataFrame) -> pl.DataFrame:
    """Every TCP payload segment, as each side's stream delivers them.

    Within a direction segments are put in sequence order; one whose bytes all came
    before is a retransmission and dropped, one that overlaps what came before is
    trimmed (``skip``), and one that starts past the bytes seen so far follows a
    hole (``gap``, the missing byte count). A segment is delivered with the latest
    frame among those up to it in sequence order, so an out-of-order segment waits
    for the one that fills the hole before it, as TCP delivers them. ``nth`` counts
    each side's segments from 0, so callers can take the first few of each side.

    Computed once for all flows: every dissector takes its flows' rows from it.
    """
    side = ("flow", "from_orig")
    start = ((pl.col("seq") - pl.col("seq").first().over(side) + 2**31) % 2**32) - 2**31
    end = pl.col("start") + pl.col("payload_len")
    covered = end.cum_max().shift(1).over(side).fill_null(pl.col("start").first().over(side))
    return (
        flows_in.filter((pl.col("proto") == TCP) & (pl.col("captured") > 0))
        .select(
            "flow",
            "frame",
            "ts_ns",
            "from_orig",
            "sport",
            "dport",
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


@dataclass(frozen=True)
class Streams:
    """``_segments``' rows as plain lists, cut into one run of rows per flow."""

    flows: list[int]
    runs: list[tuple[int, int]]  # each flow's first row and the row past its last
    columns: list[list[Any]]  # frame, ts_ns, from_orig, payload_at, captured, ttl, skip, gap, cut

    @classmethod
    def of(cls, segments: pl.DataFrame) -> Streams:
        names = ("frame", "ts_ns", "from_orig", "payload_at", "captured", "ttl", "skip", "gap")
        columns = [segments.get_column(name).to_list() for name in (*names, "cut")]
        flows = segments.get_column("flow").to_numpy()
        starts = (np.flatnonzero(flows[1:] != flows[:-1]) + 1).tolist()
        bounds = [0, *starts, len(flows)] if len(flows) else []
        runs = list(itertools.pairwise(bounds))
        return cls([int(flows[first]) for first, _ in runs], runs, columns)

    @property
    def rows(self) -> int:
        return len(self.columns[0])

    def by_flow(
        self, buffer: memoryview, part: int = 0, parts: int = 1
    ) -> Iterator[tuple[int, Iterator[Segment], list[Hole]]]:
        """Each flow's segments in delivery order, up to each side's first hole.

        Only flows numbered ``part`` modulo ``parts``. A flow's segments are read, and
        their bytes copied, only as its consumer asks: a TLS handshake is over within a
        few segments, and the rest of the flow is never touched. ``holes`` fills as the
        segments are read; it is complete once they all have been. Flows with no payload
        to deliver are left out.
        """
        for flow, (first, last) in zip(self.flows, self.runs, strict=True):
            if flow % parts != part:
                continue
            holes: list[Hole] = []
            flow_segments = _flow_segments(buffer, self.columns, first, last, holes)
            head = next(flow_segments, None)
            if head is not None:
                yield flow, itertools.chain((head,), flow_segments), holes


def _flow_segments(
    buffer: memoryview, columns: list[list[Any]], first: int, last: int, holes: list[Hole]
) -> Iterator[Segment]:
    frames, times, sides, offsets, captured, ttls, skips, gaps, cuts = columns
    stopped: set[bool] = set()
    cut_before: set[bool] = set()
    for row in range(first, last):
        from_orig = sides[row]
        if from_orig in stopped:
            continue
        gap = gaps[row]
        if gap or from_orig in cut_before:
            stopped.add(from_orig)
            holes.append(Hole(from_orig, frames[row], times[row], gap or None))
            continue
        if cuts[row]:
            cut_before.add(from_orig)
        skip, length = skips[row], captured[row]
        if skip < length:
            data = payload(buffer, offsets[row] + skip, length - skip)
            yield from_orig, data, frames[row], times[row], ttls[row]


def _web_flows(buffer: memoryview, first: pl.DataFrame) -> tuple[list[int], list[int]]:
    """TLS and HTTP flows, told apart by what each side's first payload (``first``) looks like.

    A flow is HTTP when the client's first bytes are a request or the server's a
    status line (servers answer requests too broken to recognise), and TLS when
    either side starts with a TLS record.
    """
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
    return sorted(tls_flows - http_flows), sorted(http_flows)


def _looks_like_tls(head: bytes) -> bool:
    if len(head) >= 3 and 20 <= head[0] <= 24 and head[1] == 3 and head[2] <= 4:
        return True
    # An SSLv2-framed ClientHello, still sent by old clients.
    return len(head) >= 3 and head[0] & 0x80 != 0 and head[2] == 1


def _tls_flow(flow: FlowInfo, segments: Iterable[Segment], holes: list[Hole]) -> list[Row]:
    """The connection's TLS events: dissected by the compiled streams where they can, else
    (or from where they found something unusual, the segments read so far replayed) by
    ``TlsStream``, which reports exactly what is wrong."""
    segments = iter(segments)
    compiled = native.tls
    if compiled is not None:
        seen: list[Segment] = []
        try:
            return _tls_connection(
                flow, TlsConnection(compiled.Stream), _kept(segments, seen), holes
            )
        except compiled.Unusual:
            segments = itertools.chain(seen, segments)
    return _tls_connection(flow, TlsConnection(), segments, holes)


def _kept(segments: Iterator[Segment], seen: list[Segment]) -> Iterator[Segment]:
    for segment in segments:
        seen.append(segment)
        yield segment


def _tls_connection(
    flow: FlowInfo, connection: TlsConnection, segments: Iterable[Segment], holes: list[Hole]
) -> list[Row]:
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
    flow: FlowInfo, segments: Iterable[Segment], holes: list[Hole]
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
