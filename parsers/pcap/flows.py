"""Bidirectional TCP and UDP flows from the packet frame, as Zeek's conn.log sees them.

Every statistic is computed over all packets at once: the flow key is the
5-tuple put in canonical order, a new TCP connection on a reused 5-tuple
starts at a SYN with a new initial sequence number, and the originator is
whoever sent the first SYN (else the first packet). Each flow gets a
Community ID v1, Zeek's history letters (upper case from the originator) and
a connection state such as ``S0`` (SYN unanswered) or ``REJ`` (SYN answered
by a reset). Packets are grouped once (polars hashes the 5-tuples); every
"within the same flow" rule is then a numpy running sum, maximum or segment
reduction, with no Python per packet or per group.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import struct

import numpy as np
import polars as pl

from parsers.pcap.packets import ACK, FIN, ICMP, RST, SYN, TCP, UDP, V4_MAPPED
from parsers.pcap.walk import NO_TIME

FLOW_KEY = ("a_hi", "a_lo", "a_port", "b_hi", "b_lo", "b_port", "proto")
# History letters in the order Zeek would add them within one packet.
LETTERS = ("S", "H", "A", "D", "F", "R", "T", "W")
STATES = {
    "S0": "SYN unanswered",
    "S1": "established, not closed",
    "SF": "established and closed normally",
    "REJ": "rejected: SYN answered by a reset",
    "S2": "established; the originator closed, the responder did not",
    "S3": "established; the responder closed, the originator did not",
    "RSTO": "reset by the originator after the handshake",
    "RSTR": "reset by the responder after the handshake",
    "RSTOS0": "the originator sent SYN then reset, with no answer",
    "RSTRH": "the responder sent SYN-ACK then reset; no SYN seen",
    "SH": "the originator sent SYN then FIN, with no answer",
    "SHR": "the responder sent SYN-ACK then FIN; no SYN seen",
    "OTH": "no handshake seen (capture started mid-connection)",
}
UDP_STATES = {"S0": "no reply", "SF": "answered"}
SEQ_SPACE = 1 << 32
NEVER = np.iinfo(np.int64).max  # no frame number is this large


def assign_flows(packets: pl.DataFrame) -> pl.DataFrame:
    """TCP and UDP packets with ``flow`` (0-based id), ``from_orig`` and per-packet facts."""
    frame = packets.filter(pl.col("transport").is_in([1, 2])).select(
        "frame", "ts_ns", "src_hi", "src_lo", "dst_hi", "dst_lo", "sport", "dport", "proto",
        "flags", "seq", "window", "payload_len", "l4_at", "payload_at", "captured", "ttl",
        "ip_version",
    )  # fmt: skip
    column = {name: frame.get_column(name).to_numpy() for name in frame.columns}
    src_hi, src_lo, dst_hi, dst_lo = (column[n] for n in ("src_hi", "src_lo", "dst_hi", "dst_lo"))
    sport, dport = column["sport"], column["dport"]
    src_first = (src_hi < dst_hi) | (
        (src_hi == dst_hi) & ((src_lo < dst_lo) | ((src_lo == dst_lo) & (sport <= dport)))
    )
    ends = {
        "a_hi": np.where(src_first, src_hi, dst_hi),
        "a_lo": np.where(src_first, src_lo, dst_lo),
        "a_port": np.where(src_first, sport, dport),
        "b_hi": np.where(src_first, dst_hi, src_hi),
        "b_lo": np.where(src_first, dst_lo, src_lo),
        "b_port": np.where(src_first, dport, sport),
    }
    # IPv4 is held as IPv4-mapped IPv6: the version keeps ::ffff:a.b.c.d apart from a.b.c.d.
    family = column["proto"] | (column["ip_version"] == 6).astype(np.int16) << 8
    facts = _connections(_packed_keys(ends, family), column, src_first)
    return frame.with_columns(
        *(pl.Series(name, values) for name, values in ends.items()),
        pl.Series("from_a", src_first),
        *(pl.Series(name, values, dtype=FLOW_FACTS[name]) for name, values in facts.items()),
    )


# What ``_connections`` adds to every packet, in order.
FLOW_FACTS = {
    "key": pl.UInt32,
    "connection": pl.Int64,
    "pure_syn": pl.Boolean,
    "flow": pl.Int64,
    "orig_is_a": pl.Boolean,
    "flipped": pl.Boolean,
    "from_orig": pl.Boolean,
    "seq_end": pl.Int64,
    "retransmission": pl.Boolean,
    "zero_window": pl.Boolean,
}


def _connections(
    keys: pl.DataFrame, column: dict[str, np.ndarray], from_a: np.ndarray
) -> dict[str, np.ndarray]:
    """Per packet: its 5-tuple's ``key``, ``connection``, ``flow``, originator and TCP facts.

    Packets are put in groups of one 5-tuple, groups in the order they first appear and
    packets in frame order within each; then every rule "within the same 5-tuple, flow or
    direction" is a running sum or maximum that restarts where a group starts, and flows
    are numbered in that order. The results are put back in frame order.
    """
    count = keys.height
    if count == 0:
        return {name: np.zeros(0, dtype=dtype.to_python()) for name, dtype in FLOW_FACTS.items()}
    groups = keys.with_row_index("row").group_by(keys.columns, maintain_order=True).agg("row")
    order = groups.get_column("row").explode().to_numpy()
    sizes = groups.get_column("row").list.len().to_numpy()
    group_start = np.cumsum(sizes) - sizes
    start = np.zeros(count, dtype=bool)
    start[group_start] = True
    pos = np.arange(count)
    flags = column["flags"][order]
    proto = column["proto"][order]
    seq = column["seq"][order]
    grouped_from_a = from_a[order]
    key = np.cumsum(start) - 1
    first_of_group = group_start[key]
    # A SYN with a new initial sequence number on a used 5-tuple is a new connection.
    pure_syn = (proto == TCP) & ((flags & (SYN | ACK)) == SYN)
    last_syn = np.maximum.accumulate(np.where(pure_syn, pos, -1))
    has_syn = last_syn >= first_of_group
    syn_seq = seq[last_syn]
    repeated = np.zeros(count, dtype=bool)
    repeated[1:] = has_syn[:-1] & ~start[1:] & (syn_seq[:-1] == seq[1:])
    new_connection = pure_syn & ~repeated
    started = np.cumsum(new_connection)
    within = started - (started[first_of_group] - new_connection[first_of_group])
    # Flows: each connection of each 5-tuple, numbered by key, then connection.
    flow_start = start.copy()
    flow_start[1:] |= within[1:] != within[:-1]
    flow_starts = np.flatnonzero(flow_start)
    flow = np.cumsum(flow_start) - 1
    # The originator: the first pure SYN's sender; else the receiver of a first SYN-ACK; else
    # the first packet's sender.
    first_syn = np.minimum.reduceat(np.where(pure_syn, pos, count), flow_starts)
    has_first_syn = first_syn < count
    syn_from_a = grouped_from_a[np.minimum(first_syn, count - 1)]
    head_flags, head_from_a = flags[flow_starts], grouped_from_a[flow_starts]
    head_synack = ((head_flags & (SYN | ACK)) == (SYN | ACK)) & (proto[flow_starts] == TCP)
    orig_is_a = np.where(has_first_syn, syn_from_a, head_synack ^ head_from_a)
    flipped = ~has_first_syn & head_synack
    seq_end, retransmission = _retransmissions(
        column["payload_len"][order],
        seq,
        flags,
        proto,
        grouped_from_a == orig_is_a[flow],
        flow,
        flow_starts,
    )
    # Back in frame order: what the grouping found is put back, the rest is computed there.
    packet_flow = _scatter(flow, order)
    connection = _scatter(key * SEQ_SPACE + within, order)
    packet_flags, packet_proto = column["flags"], column["proto"]
    packet_orig_is_a = orig_is_a[packet_flow]
    return {
        "key": connection >> 32,
        "connection": connection,
        "pure_syn": (packet_proto == TCP) & ((packet_flags & (SYN | ACK)) == SYN),
        "flow": packet_flow,
        "orig_is_a": packet_orig_is_a,
        "flipped": flipped[packet_flow],
        "from_orig": from_a == packet_orig_is_a,
        "seq_end": _scatter(seq_end, order),
        "retransmission": _scatter(retransmission, order),
        "zero_window": (packet_proto == TCP)
        & (column["window"] == 0)
        & ((packet_flags & (RST | SYN)) == 0),
    }


def _scatter(values: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Values listed in ``order`` put back in the original order."""
    result = np.empty_like(values)
    result[order] = values
    return result


def _packed_keys(ends: dict[str, np.ndarray], proto: np.ndarray) -> pl.DataFrame:
    """The flow key as few columns as hold it exactly: grouping hashes every column.

    ``proto`` is the protocol, plus 256 for IPv6.
    """
    ports = (
        (ends["a_port"].astype(np.uint64) << np.uint64(32))
        | (ends["b_port"].astype(np.uint64) << np.uint64(16))
        | (proto.astype(np.int64) & 0xFFFF).astype(np.uint64)
    )
    a_lo, b_lo = ends["a_lo"], ends["b_lo"]
    if ends["a_hi"].any() or ends["b_hi"].any():
        return pl.DataFrame({**ends, "proto": proto})
    mapped = V4_MAPPED >> np.uint64(32)
    if ((a_lo >> np.uint64(32)) == mapped).all() and ((b_lo >> np.uint64(32)) == mapped).all():
        ipv4 = (a_lo << np.uint64(32)) | (b_lo & np.uint64(0xFFFFFFFF))
        return pl.DataFrame({"ipv4": ipv4, "ports": ports})
    return pl.DataFrame({"a_lo": a_lo, "b_lo": b_lo, "ports": ports})


def _retransmissions(
    payload: np.ndarray,
    seq: np.ndarray,
    flags: np.ndarray,
    proto: np.ndarray,
    from_orig: np.ndarray,
    flow: np.ndarray,
    flow_starts: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Where each segment ends (relative to its side's first) and whether it was sent before.

    Packets are grouped by flow in frame order; each side is handled by masking the other.
    """
    count = len(seq)
    pos = np.arange(count)
    sides = (from_orig, ~from_orig)
    base = np.empty(count, dtype=np.int64)
    for mine in sides:
        first = np.minimum.reduceat(np.where(mine, pos, count - 1), flow_starts)
        np.copyto(base, seq[first][flow], where=mine)
    relative = np.mod(seq - base, SEQ_SPACE)
    seq_end = relative + payload + ((flags & SYN) != 0) + ((flags & FIN) != 0)
    # A flow's values are lifted above every earlier flow's so that one running maximum serves.
    lift = flow.astype(np.int64) << 34
    reached = np.empty(count, dtype=np.int64)
    for mine in sides:
        running = np.maximum.accumulate(np.where(mine, seq_end, -1) + lift)
        earlier = np.full(count, -1, dtype=np.int64)
        earlier[1:] = running[:-1] - lift[1:]
        np.copyto(reached, earlier, where=mine)
    retransmission = (proto == TCP) & (payload > 0) & (reached >= 0) & (seq_end <= reached)
    return seq_end, retransmission


def summarise_flows(frame: pl.DataFrame, mss: dict[int, int]) -> pl.DataFrame:
    """One row per flow: endpoints, counts, RTT, history, state and Community ID.

    ``mss`` maps a frame number to the MSS option of that SYN or SYN-ACK.
    """
    each = _PerFlow(frame)
    flags = each.column("flags")
    proto, payload = each.column("proto"), each.column("payload_len")
    retransmission, ts = each.column("retransmission"), each.column("ts_ns")
    timed = ts != NO_TIME  # untimed packets (simple packet blocks) count in no time or RTT
    orig = each.column("from_orig")
    resp = ~orig
    tcp = proto == TCP
    syn, synack = each.column("pure_syn"), (flags & (SYN | ACK)) == (SYN | ACK)
    rst, fin = (flags & RST) != 0, (flags & FIN) != 0
    frames = each.column("frame")
    mss_keys = np.fromiter(mss, dtype=np.int64, count=len(mss))
    mss_values = np.fromiter(mss.values(), dtype=np.int64, count=len(mss))
    has_mss = np.zeros(each.size, dtype=bool)
    with_syn = np.flatnonzero(flags & SYN)  # only SYNs carry the option: look up only those
    has_mss[with_syn] = np.isin(frames[with_syn], mss_keys)
    synack_ns = each.min(ts, synack & resp & timed)
    synack_limit = np.where(np.ma.getmaskarray(synack_ns), np.iinfo(np.int64).min, synack_ns.data)
    # Zeek's history letters: which packets make each, on TCP only except D, T and W.
    ack_only = ((flags & (ACK | SYN | FIN | RST)) == ACK) & (payload == 0)
    letters = {
        "S": syn,
        "H": synack & tcp,
        "A": ack_only & tcp,
        "D": payload > 0,
        "F": fin & tcp,
        "R": rst & tcp,
        "T": retransmission,
        "W": each.column("zero_window"),
    }
    columns: dict[str, tuple[np.ndarray, pl.DataType]] = {
        "flow": (np.arange(each.count), pl.Int64()),
        "proto": (each.first(proto), pl.Int16()),
        "ipv6": (each.head("ip_version") == 6, pl.Boolean()),
        "flipped": (each.head("flipped"), pl.Boolean()),
        "orig_is_a": (each.head("orig_is_a"), pl.Boolean()),
        **{name: (each.head(name), frame.schema[name]) for name in FLOW_KEY[:-1]},
        "first_frame": (each.first(frames), pl.Int64()),
        "last_frame": (each.last(frames), pl.Int64()),
        "first_ns": (each.min(ts, timed, ceiling=np.iinfo(np.int64).max), pl.Int64()),
        "last_ns": (each.max(ts, timed, floor=NO_TIME), pl.Int64()),
        "orig_packets": (each.sum(orig), pl.UInt32()),
        "resp_packets": (each.sum(resp), pl.UInt32()),
        "orig_bytes": (each.sum(np.where(orig, payload, 0)), pl.Int64()),
        "resp_bytes": (each.sum(np.where(resp, payload, 0)), pl.Int64()),
        "orig_max_segment": (each.max(payload, orig, floor=-1), pl.Int64()),
        "orig_retx_max": (each.max(payload, orig & retransmission, floor=-1), pl.Int64()),
        "orig_retransmissions": (each.sum(retransmission & orig), pl.UInt32()),
        "resp_retransmissions": (each.sum(retransmission & resp), pl.UInt32()),
        "zero_windows": (each.sum(each.column("zero_window")), pl.UInt32()),
        "syns": (each.sum(syn & orig), pl.UInt32()),
        "synacks": (each.sum(synack & resp), pl.UInt32()),
        "orig_resets": (each.sum(rst & orig), pl.UInt32()),
        "resp_resets": (each.sum(rst & resp), pl.UInt32()),
        "orig_fins": (each.sum(fin & orig), pl.UInt32()),
        "resp_fins": (each.sum(fin & resp), pl.UInt32()),
        "resp_ttl": (each.first(each.column("ttl"), resp), pl.UInt8()),
        "orig_mss": (_mss(each.first(frames, orig & has_mss), mss_keys, mss_values), pl.Int32()),
        "resp_mss": (_mss(each.first(frames, resp & has_mss), mss_keys, mss_values), pl.Int32()),
        "synack_ns": (synack_ns, pl.Int64()),
        "syn_ns": (
            each.max(ts, syn & orig & timed & (ts <= each.spread(synack_limit))),
            pl.Int64(),
        ),
        "first_reset_frame": (each.min(frames, rst, ceiling=NEVER), pl.Int64()),
    }
    for letter, made in letters.items():
        columns[f"o_{letter}"] = (each.min(frames, made & orig, ceiling=NEVER), pl.Int64())
        columns[f"r_{letter}"] = (each.min(frames, made & resp, ceiling=NEVER), pl.Int64())
    flows = pl.DataFrame(
        [pl.Series(name, values, dtype=dtype) for name, (values, dtype) in columns.items()]
    )
    flows = flows.with_columns(
        ((pl.col("synack_ns") - pl.col("syn_ns")) / 1e6).alias("rtt_ms"),
        _history(columns).alias("history"),
    )
    flows = flows.with_columns(_state().alias("state"))
    return _endpoints(flows)


class _PerFlow:
    """Reductions over each flow's packets: the packets sorted by flow, frame order kept."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.frame = frame
        flow = frame.get_column("flow").to_numpy()
        self.order = stable_order(flow)
        self.size = len(flow)
        start = np.ones(self.size, dtype=bool)
        start[1:] = flow[self.order][1:] != flow[self.order][:-1]
        self.starts = np.flatnonzero(start)
        self.count = len(self.starts)
        self.flow_of_row = np.cumsum(start) - 1
        self.rows = np.arange(self.size)

    def column(self, name: str) -> np.ndarray:
        """A column of the packet frame, in flow order."""
        return np.take(self.frame.get_column(name).to_numpy(), self.order)

    def head(self, name: str) -> np.ndarray:
        """A column's value in each flow's first packet."""
        return np.take(self.frame.get_column(name).to_numpy(), self.order[self.starts])

    def spread(self, per_flow: np.ndarray) -> np.ndarray:
        """A value per flow, repeated for each of its packets."""
        return np.take(per_flow, self.flow_of_row)

    def first(self, values: np.ndarray, where: np.ndarray | None = None) -> np.ndarray:
        """Each flow's first value (of the packets ``where`` holds, masked if none)."""
        if where is None:
            return np.take(values, self.starts)
        at = self._reduce(np.minimum, np.where(where, self.rows, self.size))
        return np.ma.masked_array(values[np.minimum(at, self.size - 1)], mask=at == self.size)

    def last(self, values: np.ndarray) -> np.ndarray:
        return np.take(values, np.append(self.starts[1:], self.size)[: self.count] - 1)

    def sum(self, values: np.ndarray) -> np.ndarray:
        return self._reduce(np.add, values.astype(np.int64))

    def min(
        self, values: np.ndarray, where: np.ndarray | None = None, ceiling: int | None = None
    ) -> np.ndarray:
        """Each flow's smallest value (of the packets ``where`` holds, masked if none).

        A ``ceiling`` above every value saves counting the packets ``where`` holds.
        """
        top = np.iinfo(values.dtype).max if ceiling is None else ceiling
        return self._extreme(np.minimum, values, where, top, ceiling is not None)

    def max(
        self, values: np.ndarray, where: np.ndarray | None = None, floor: int | None = None
    ) -> np.ndarray:
        """Each flow's largest value (of the packets ``where`` holds, masked if none).

        A ``floor`` below every value saves counting the packets ``where`` holds.
        """
        bottom = np.iinfo(values.dtype).min if floor is None else floor
        return self._extreme(np.maximum, values, where, bottom, floor is not None)

    def _extreme(
        self,
        ufunc: np.ufunc,
        values: np.ndarray,
        where: np.ndarray | None,
        bound: int,
        sentinel: bool,
    ) -> np.ndarray:
        """``ufunc`` over each flow's values where ``where`` holds; ``bound`` fills the rest
        and, when it is a ``sentinel`` no value can equal, marks flows with none."""
        if where is None:
            return self._reduce(ufunc, values)
        found = self._reduce(ufunc, np.where(where, values, bound))
        if sentinel:
            return np.ma.masked_array(found, mask=found == bound)
        return np.ma.masked_array(found, mask=self._reduce(np.add, where.astype(np.int64)) == 0)

    def _reduce(self, ufunc: np.ufunc, values: np.ndarray) -> np.ndarray:
        if self.size == 0:
            return values[:0]
        reduced: np.ndarray = ufunc.reduceat(values, self.starts)
        return reduced


def stable_order(values: np.ndarray) -> np.ndarray:
    """``np.argsort(values, kind="stable")`` for non-negative integers, by 16-bit radix passes.

    numpy sorts 16-bit integers by radix, in linear time, and wider ones by comparison.
    """
    if not len(values) or values.min() < 0 or values.max() >= 1 << 32:
        return np.argsort(values, kind="stable")
    order = np.argsort((values & 0xFFFF).astype(np.uint16), kind="stable")
    if values.max() >> 16:
        order = order[np.argsort((values[order] >> 16).astype(np.uint16), kind="stable")]
    return order


def _mss(frames: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The MSS option of each flow's chosen SYN frame (masked where there is none)."""
    order = np.argsort(keys)
    at = np.searchsorted(keys[order], np.ma.getdata(frames))
    found = values[order][np.minimum(at, len(keys) - 1)] if len(keys) else np.zeros(len(frames))
    return np.ma.masked_array(found, mask=np.ma.getmaskarray(frames))


def _history(columns: dict[str, tuple[np.ndarray, pl.DataType]]) -> pl.Expr:
    """Zeek's history: each letter once per direction, in order of first appearance."""
    names = [f"{side}_{letter}" for letter in LETTERS for side in ("o", "r")]
    codes = np.frombuffer(
        "".join(n[2] if n[0] == "o" else n[2].lower() for n in names).encode(), np.uint8
    )
    never = np.iinfo(np.int64).max
    first = np.stack(
        [np.ma.filled(np.ma.asarray(columns[name][0]).astype(np.int64), never) for name in names],
        axis=1,
    ).reshape(-1, len(names))
    # By frame, then the order of LETTERS (a packet can make several letters).
    order = np.argsort(first, axis=1, kind="stable")
    letters = np.where(np.take_along_axis(first, order, axis=1) == never, 0, codes[order])
    text = pl.Series(np.ascontiguousarray(letters, dtype=np.uint8).view(f"S{len(names)}").ravel())
    ordered = pl.lit(text.cast(pl.String))
    return pl.when(pl.col("flipped")).then(pl.lit("^") + ordered).otherwise(ordered)


def _state() -> pl.Expr:
    """Zeek's conn_state from what each side sent."""
    s, h = pl.col("o_S").is_not_null(), pl.col("r_H").is_not_null()
    o_rst, r_rst = pl.col("o_R").is_not_null(), pl.col("r_R").is_not_null()
    o_fin, r_fin = pl.col("o_F").is_not_null(), pl.col("r_F").is_not_null()
    tcp = (
        pl.when(s & h & o_rst)
        .then(pl.lit("RSTO"))
        .when(s & h & r_rst)
        .then(pl.lit("RSTR"))
        .when(s & h & o_fin & r_fin)
        .then(pl.lit("SF"))
        .when(s & h & o_fin)
        .then(pl.lit("S2"))
        .when(s & h & r_fin)
        .then(pl.lit("S3"))
        .when(s & h)
        .then(pl.lit("S1"))
        .when(s & r_rst)
        .then(pl.lit("REJ"))
        .when(s & o_rst)
        .then(pl.lit("RSTOS0"))
        .when(s & o_fin)
        .then(pl.lit("SH"))
        .when(s & (pl.col("resp_packets") == 0))
        .then(pl.lit("S0"))
        .when(h & r_rst)
        .then(pl.lit("RSTRH"))
        .when(h & r_fin)
        .then(pl.lit("SHR"))
        .otherwise(pl.lit("OTH"))
    )
    udp = pl.when(pl.col("resp_packets") == 0).then(pl.lit("S0")).otherwise(pl.lit("SF"))
    return pl.when(pl.col("proto") == TCP).then(tcp).otherwise(udp)


def _endpoints(flows: pl.DataFrame) -> pl.DataFrame:
    """Originator and responder addresses as text, and the Community ID of each flow."""
    column = {name: flows.get_column(name).to_numpy() for name in FLOW_KEY}
    ipv6 = flows.get_column("ipv6").to_numpy()
    texts = _address_texts(
        np.concatenate([column["a_hi"], column["b_hi"]]),
        np.concatenate([column["a_lo"], column["b_lo"]]),
        np.concatenate([ipv6, ipv6]),
    )
    a, b = texts.head(flows.height), texts.tail(flows.height)
    orig_is_a = pl.col("orig_is_a")
    return flows.with_columns(
        pl.when(orig_is_a).then(pl.lit(a)).otherwise(pl.lit(b)).alias("orig_ip"),
        pl.when(orig_is_a).then("a_port").otherwise("b_port").alias("orig_port"),
        pl.when(orig_is_a).then(pl.lit(b)).otherwise(pl.lit(a)).alias("resp_ip"),
        pl.when(orig_is_a).then("b_port").otherwise("a_port").alias("resp_port"),
        _community_ids(column, ipv6).alias("community_id"),
    )


def _address_texts(high: np.ndarray, low: np.ndarray, ipv6: np.ndarray) -> pl.Series:
    """``address_text`` of each address, each distinct address formatted once."""
    if not len(high):
        return pl.Series(values=[], dtype=pl.String)
    if ipv6.any():
        both = np.stack([high, low, ipv6.astype(np.uint64)], axis=1)
        distinct, index = np.unique(both, axis=0, return_inverse=True)
        texts = [address_text(h, lo, ipv6=bool(v6)) for h, lo, v6 in distinct.tolist()]
    else:  # IPv4 alone: the low halves tell addresses apart, faster
        lows, index = np.unique(low, return_inverse=True)
        texts = [address_text(0, lo) for lo in lows.tolist()]
    return pl.Series(texts, dtype=pl.String).gather(index.reshape(-1))


def _community_ids(column: dict[str, np.ndarray], ipv6: np.ndarray) -> pl.Series:
    """``community_id`` of each flow's canonical ends (a before b, as the spec orders them).

    An IPv6 flow hashes all 16 bytes of each address, IPv4-mapped ones too; an IPv4 flow the
    4 of the IPv4 address.
    """
    count = len(ipv6)
    digests = np.zeros((count, 21), dtype=np.uint8)
    for rows, family in ((~ipv6, 4), (ipv6, 6)):
        picked = np.flatnonzero(rows)
        if not len(picked):
            continue
        address = ">u4" if family == 4 else ">u8"
        halves = ("a_lo", "b_lo") if family == 4 else ("a_hi", "a_lo", "b_hi", "b_lo")
        message = np.zeros(
            len(picked),
            dtype=[("seed", ">u2")] + [(h, address) for h in halves]
            + [("proto", "u1"), ("pad", "u1"), ("a_port", ">u2"), ("b_port", ">u2")],
        )  # fmt: skip
        for name in (*halves, "proto", "a_port", "b_port"):
            values = column[name][picked]
            message[name] = (
                values & np.uint64(0xFFFFFFFF) if family == 4 and name in halves else values
            )
        data, width = message.tobytes(), message.dtype.itemsize
        sha1 = hashlib.sha1
        hashed = b"".join(
            [sha1(data[at : at + width]).digest() for at in range(0, len(data), width)]
        )
        digests[picked, :20] = np.frombuffer(hashed, dtype=np.uint8).reshape(-1, 20)
    # Base64 of all digests at once: each padded to 21 bytes encodes to 28 characters, the
    # last one "A" where the digest alone ends in "=".
    text = np.frombuffer(base64.b64encode(digests.tobytes()), dtype=np.uint8).reshape(-1, 28)
    ids = np.empty((count, 30), dtype=np.uint8)
    ids[:, :2] = np.frombuffer(b"1:", dtype=np.uint8)
    ids[:, 2:29] = text[:, :27]
    ids[:, 29] = ord("=")
    return pl.Series(ids.view("S30").reshape(-1)).cast(pl.String)


def address_text(
    high: int,
    low: int,
    cache: dict[tuple[int, int], str] | None = None,
    *,
    ipv6: bool = False,
) -> str:
    """The text form of an address held as two 64-bit halves (IPv4 as IPv4-mapped).

    ``ipv6``: the address is from an IPv6 header, so an IPv4-mapped one is written as IPv6
    (``::ffff:192.0.2.10``, as Wireshark writes it).
    """
    if cache is not None and (high, low) in cache:
        return cache[(high, low)]
    if high == 0 and (low >> 32) == int(V4_MAPPED) >> 32:
        text = str(ipaddress.IPv4Address(low & 0xFFFFFFFF))
        if ipv6:
            text = "::ffff:" + text
    else:
        text = ipaddress.IPv6Address((high << 64) | low).compressed
    if cache is not None:
        cache[(high, low)] = text
    return text


# ICMP types whose request and reply count as one flow (RFC-less but per the Community ID spec).
_ICMP4_PAIRS = {8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 17: 18, 18: 17, 9: 10, 10: 9}
_ICMP6_PAIRS = {128: 129, 129: 128, 133: 134, 134: 133, 135: 136, 136: 135, 130: 131, 131: 130}


def community_id(src: str, sport: int, dst: str, dport: int, proto: int, seed: int = 0) -> str:
    """Community ID v1 (``1:`` + base64 SHA-1) of a flow; for ICMP the ports are type and code."""
    src_bytes = ipaddress.ip_address(src).packed
    dst_bytes = ipaddress.ip_address(dst).packed
    one_way = False
    if proto in (ICMP, 58):
        pairs = _ICMP4_PAIRS if proto == ICMP else _ICMP6_PAIRS
        if sport in pairs:
            dport = pairs[sport]
        else:
            one_way = True
    if not one_way and (src_bytes, sport) > (dst_bytes, dport):
        src_bytes, dst_bytes, sport, dport = dst_bytes, src_bytes, dport, sport
    digest = hashlib.sha1(
        struct.pack("!H", seed) + src_bytes + dst_bytes + struct.pack("!BxHH", proto, sport, dport)
    ).digest()
    return "1:" + base64.b64encode(digest).decode("ascii")


def state_text(proto: int, state: str) -> str:
    """A sentence for a connection state."""
    table = STATES if proto == TCP else UDP_STATES if proto == UDP else {}
    return table.get(state, state)
