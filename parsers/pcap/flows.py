"""Bidirectional TCP and UDP flows from the packet frame, as Zeek's conn.log sees them.

Every statistic is a polars expression over all packets at once: the flow key
is the 5-tuple put in canonical order, a new TCP connection on a reused
5-tuple starts at a SYN with a new initial sequence number, and the
originator is whoever sent the first SYN (else the first packet). Each flow
gets a Community ID v1, Zeek's history letters (upper case from the
originator) and a connection state such as ``S0`` (SYN unanswered) or
``REJ`` (SYN answered by a reset).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import struct

import polars as pl

from parsers.pcap.packets import ACK, FIN, ICMP, RST, SYN, TCP, UDP, V4_MAPPED

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


def _flag(bit: int) -> pl.Expr:
    return (pl.col("flags") & bit) != 0


def assign_flows(packets: pl.DataFrame) -> pl.DataFrame:
    """TCP and UDP packets with ``flow`` (0-based id), ``from_orig`` and per-packet facts."""
    frame = packets.filter(pl.col("transport").is_in([1, 2])).select(
        "frame", "ts_ns", "src_hi", "src_lo", "dst_hi", "dst_lo", "sport", "dport", "proto",
        "flags", "seq", "window", "payload_len", "l4_at", "payload_at", "captured", "ttl",
    )  # fmt: skip
    src_first = (pl.col("src_hi") < pl.col("dst_hi")) | (
        (pl.col("src_hi") == pl.col("dst_hi"))
        & (
            (pl.col("src_lo") < pl.col("dst_lo"))
            | ((pl.col("src_lo") == pl.col("dst_lo")) & (pl.col("sport") <= pl.col("dport")))
        )
    )
    frame = frame.with_columns(
        pl.when(src_first).then(pl.col("src_hi")).otherwise(pl.col("dst_hi")).alias("a_hi"),
        pl.when(src_first).then(pl.col("src_lo")).otherwise(pl.col("dst_lo")).alias("a_lo"),
        pl.when(src_first).then(pl.col("sport")).otherwise(pl.col("dport")).alias("a_port"),
        pl.when(src_first).then(pl.col("dst_hi")).otherwise(pl.col("src_hi")).alias("b_hi"),
        pl.when(src_first).then(pl.col("dst_lo")).otherwise(pl.col("src_lo")).alias("b_lo"),
        pl.when(src_first).then(pl.col("dport")).otherwise(pl.col("sport")).alias("b_port"),
        src_first.alias("from_a"),
    )
    keys = frame.select(FLOW_KEY).unique(maintain_order=True).with_row_index("key")
    frame = frame.join(keys, on=list(FLOW_KEY), how="left", maintain_order="left")
    pure_syn = (pl.col("proto") == TCP) & ((pl.col("flags") & (SYN | ACK)) == SYN)
    # A SYN with a new initial sequence number on a used 5-tuple is a new connection.
    syn_seq = pl.when(pure_syn).then(pl.col("seq")).forward_fill().over("key")
    new_connection = pure_syn & (syn_seq.shift(1).over("key") != pl.col("seq")).fill_null(True)
    frame = frame.with_columns(
        (pl.col("key").cast(pl.Int64) * SEQ_SPACE + new_connection.cum_sum().over("key")).alias(
            "connection"
        ),
        pure_syn.alias("pure_syn"),
    )
    frame = frame.with_columns(
        pl.col("connection").rank("dense").cast(pl.Int64).sub(1).alias("flow")
    )
    # The originator: the first pure SYN's sender; else the receiver of a first SYN-ACK; else
    # the first packet's sender.
    first_syn_from_a = pl.col("from_a").filter(pl.col("pure_syn")).first()
    first_is_synack = ((pl.col("flags").first() & (SYN | ACK)) == (SYN | ACK)) & (
        pl.col("proto").first() == TCP
    )
    origin = frame.group_by("flow").agg(
        pl.coalesce(
            first_syn_from_a,
            pl.when(first_is_synack)
            .then(~pl.col("from_a").first())
            .otherwise(pl.col("from_a").first()),
        ).alias("orig_is_a"),
        (first_syn_from_a.is_null() & first_is_synack).alias("flipped"),
    )
    frame = frame.join(origin, on="flow", how="left", maintain_order="left")
    frame = frame.with_columns((pl.col("from_a") == pl.col("orig_is_a")).alias("from_orig"))
    return _packet_facts(frame)


def _packet_facts(frame: pl.DataFrame) -> pl.DataFrame:
    """Retransmission and zero-window marks, per packet."""
    base = pl.col("seq").first().over("flow", "from_orig")
    relative = (pl.col("seq") - base) % SEQ_SPACE
    end = relative + pl.col("payload_len") + _flag(SYN).cast(pl.Int64) + _flag(FIN).cast(pl.Int64)
    frame = frame.with_columns(end.alias("seq_end"))
    reached = pl.col("seq_end").cum_max().shift(1).over("flow", "from_orig")
    tcp = pl.col("proto") == TCP
    return frame.with_columns(
        (tcp & (pl.col("payload_len") > 0) & (pl.col("seq_end") <= reached).fill_null(False)).alias(
            "retransmission"
        ),
        (tcp & (pl.col("window") == 0) & ~_flag(RST) & ~_flag(SYN)).alias("zero_window"),
    )


def summarise_flows(frame: pl.DataFrame, mss: dict[int, int]) -> pl.DataFrame:
    """One row per flow: endpoints, counts, RTT, history, state and Community ID.

    ``mss`` maps a frame number to the MSS option of that SYN or SYN-ACK.
    """
    orig, resp = pl.col("from_orig"), ~pl.col("from_orig")
    syn, synack = pl.col("pure_syn"), _flag(SYN) & _flag(ACK)
    letters = {
        "S": syn,
        "H": synack,
        "A": _flag(ACK) & ~_flag(SYN) & ~_flag(FIN) & ~_flag(RST) & (pl.col("payload_len") == 0),
        "D": pl.col("payload_len") > 0,
        "F": _flag(FIN),
        "R": _flag(RST),
        "T": pl.col("retransmission"),
        "W": pl.col("zero_window"),
    }
    tcp_only = pl.col("proto") == TCP
    frame = frame.with_columns(
        pl.col("frame").replace_strict(mss, default=None, return_dtype=pl.Int32).alias("mss")
    )
    synack_ts = pl.col("ts_ns").filter(synack & resp).min()
    aggregations = [
        pl.col("proto").first(),
        pl.col("flipped").first(),
        pl.col("orig_is_a").first(),
        *(pl.col(name).first() for name in FLOW_KEY if name != "proto"),
        pl.col("frame").first().alias("first_frame"),
        pl.col("frame").last().alias("last_frame"),
        pl.col("ts_ns").min().alias("first_ns"),
        pl.col("ts_ns").max().alias("last_ns"),
        orig.sum().alias("orig_packets"),
        resp.sum().alias("resp_packets"),
        pl.col("payload_len").filter(orig).sum().alias("orig_bytes"),
        pl.col("payload_len").filter(resp).sum().alias("resp_bytes"),
        pl.col("payload_len").filter(orig).max().alias("orig_max_segment"),
        pl.col("payload_len").filter(orig & pl.col("retransmission")).max().alias("orig_retx_max"),
        pl.col("retransmission").filter(orig).sum().alias("orig_retransmissions"),
        pl.col("retransmission").filter(resp).sum().alias("resp_retransmissions"),
        pl.col("zero_window").sum().alias("zero_windows"),
        (syn & orig).sum().alias("syns"),
        (synack & resp).sum().alias("synacks"),
        (_flag(RST) & orig).sum().alias("orig_resets"),
        (_flag(RST) & resp).sum().alias("resp_resets"),
        (_flag(FIN) & orig).sum().alias("orig_fins"),
        (_flag(FIN) & resp).sum().alias("resp_fins"),
        pl.col("ttl").filter(resp).first().alias("resp_ttl"),
        pl.col("mss").filter(orig).drop_nulls().first().alias("orig_mss"),
        pl.col("mss").filter(resp).drop_nulls().first().alias("resp_mss"),
        synack_ts.alias("synack_ns"),
        pl.col("ts_ns").filter(syn & orig & (pl.col("ts_ns") <= synack_ts)).max().alias("syn_ns"),
        pl.col("frame").filter(_flag(RST)).first().alias("first_reset_frame"),
    ]
    for letter, condition in letters.items():
        rule = condition if letter in "DTW" else condition & tcp_only
        aggregations.append(pl.col("frame").filter(rule & orig).min().alias(f"o_{letter}"))
        aggregations.append(pl.col("frame").filter(rule & resp).min().alias(f"r_{letter}"))
    flows = frame.group_by("flow").agg(aggregations).sort("flow")
    flows = flows.with_columns(
        ((pl.col("synack_ns") - pl.col("syn_ns")) / 1e6).alias("rtt_ms"),
        _history().alias("history"),
    )
    flows = flows.with_columns(_state().alias("state"))
    return _endpoints(flows)


def _history() -> pl.Expr:
    """Zeek's history: each letter once per direction, in order of first appearance."""
    entries = [
        pl.struct(
            pl.col(f"{side}_{letter}").alias("frame"),
            pl.lit(rank, pl.Int32).alias("rank"),
            pl.lit(letter if side == "o" else letter.lower()).alias("letter"),
        )
        for rank, letter in enumerate(LETTERS)
        for side in ("o", "r")
    ]
    ordered = (
        pl.concat_list(entries)
        .list.eval(pl.element().filter(pl.element().struct.field("frame").is_not_null()))
        .list.eval(
            pl.element().sort_by(
                pl.element().struct.field("frame"), pl.element().struct.field("rank")
            )
        )
        .list.eval(pl.element().struct.field("letter"))
        .list.join("")
    )
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
    rows = flows.select("a_hi", "a_lo", "a_port", "b_hi", "b_lo", "b_port", "proto", "orig_is_a")
    texts: dict[tuple[int, int], str] = {}
    orig_ip, orig_port, resp_ip, resp_port, community = [], [], [], [], []
    for a_hi, a_lo, a_port, b_hi, b_lo, b_port, proto, orig_is_a in rows.iter_rows():
        a, b = address_text(a_hi, a_lo, texts), address_text(b_hi, b_lo, texts)
        community.append(community_id(a, a_port, b, b_port, proto))
        if orig_is_a:
            orig_ip.append(a), orig_port.append(a_port), resp_ip.append(b), resp_port.append(b_port)
        else:
            orig_ip.append(b), orig_port.append(b_port), resp_ip.append(a), resp_port.append(a_port)
    return flows.with_columns(
        pl.Series("orig_ip", orig_ip, dtype=pl.String),
        pl.Series("orig_port", orig_port, dtype=pl.Int32),
        pl.Series("resp_ip", resp_ip, dtype=pl.String),
        pl.Series("resp_port", resp_port, dtype=pl.Int32),
        pl.Series("community_id", community, dtype=pl.String),
    )


def address_text(high: int, low: int, cache: dict[tuple[int, int], str] | None = None) -> str:
    """The text form of an address held as two 64-bit halves (IPv4 as IPv4-mapped)."""
    if cache is not None and (high, low) in cache:
        return cache[(high, low)]
    if high == 0 and (low >> 32) == int(V4_MAPPED) >> 32:
        text = str(ipaddress.IPv4Address(low & 0xFFFFFFFF))
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
