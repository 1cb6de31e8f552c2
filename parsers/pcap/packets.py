"""Decode link, IP and transport headers of every packet at once, into one polars frame.

One compiled pass (``native``) reads every packet's headers into columns;
where it was not built, its numpy twin does the same with a fixed-width row
gather (``walk.gather``) and column arithmetic per header layer. Either way a
million packets make no Python object each. Addresses are kept as two 64-bit halves
(IPv4 as IPv4-mapped IPv6) so both families group and compare alike, with
``ip_version`` telling an IPv4 address from the same one mapped in an IPv6
header; they become text only for flows and events, where there are few of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from parsers.pcap import native
from parsers.pcap.walk import PREFIX, Records, column, gather, open_records

LINK_NAMES = {
    0: "BSD loopback",
    1: "Ethernet",
    12: "raw IP",
    14: "raw IP",
    101: "raw IP",
    108: "OpenBSD loopback",
    113: "Linux cooked (SLL)",
    228: "raw IPv4",
    229: "raw IPv6",
    276: "Linux cooked (SLL2)",
}
ETHERTYPE_IPV4, ETHERTYPE_IPV6 = 0x0800, 0x86DD
VLAN_TAGS = (0x8100, 0x88A8, 0x9100)
TCP, UDP, ICMP, ICMPV6 = 6, 17, 1, 58
IPV6_EXTENSIONS = {0, 43, 44, 51, 60, 135, 139, 140}
V4_MAPPED = np.uint64(0x0000FFFF00000000)
# TCP flag bits.
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10

_BE16, _BE32, _BE64 = np.dtype(">u2"), np.dtype(">u4"), np.dtype(">u8")
# What the compiled decoder (native.compiled.decode) fills per packet, in its order; the frame
# puts frame, ts_ns, caplen, origlen and link before them.
COLUMNS = {
    "vlan": np.int32, "ip_version": np.int8, "src_hi": np.uint64, "src_lo": np.uint64,
    "dst_hi": np.uint64, "dst_lo": np.uint64, "proto": np.int16, "ttl": np.uint8,
    "ip_id": np.int32, "df": np.bool_, "fragment": np.bool_, "sport": np.int32,
    "dport": np.int32, "flags": np.uint8, "seq": np.int64, "ack": np.int64, "window": np.int32,
    "icmp_type": np.int16, "icmp_code": np.int16, "l4_at": np.int64, "payload_at": np.int64,
    "payload_len": np.int64, "captured": np.int64, "transport": np.int8,
}  # fmt: skip
# More header offsets than this among the packets and gathering them is quicker than slicing.
MAX_PLACES = 8


@dataclass
class Packets:
    """Every packet's header facts (``frame``) and what could not be decoded."""

    frame: pl.DataFrame
    records: Records
    notes: list[tuple[int | None, str]] = field(default_factory=list)


def read_packets(path: Path) -> pl.DataFrame:
    """Walk and decode the capture at ``path``; one row per packet."""
    return decode_packets(open_records(path, str(path))).frame


def decode_packets(records: Records) -> Packets:
    """Decode the headers of every record; undecodable packets keep their row, flagged."""
    if native.compiled is None:
        return _decode_numpy(records)
    count = len(records)
    link = _links(records)
    notes = _unknown_links(link, records)
    columns: dict[str, np.ndarray] = {
        name: np.empty(count, dtype) for name, dtype in COLUMNS.items()
    }
    cut, first_cut = native.compiled.decode(
        records.buffer,
        np.ascontiguousarray(records.offset, dtype=np.int64),
        np.ascontiguousarray(records.caplen, dtype=np.int64),
        link,
        tuple(columns.values()),
    )
    if cut:
        notes.append(_cut_note(cut, first_cut))
    frame = pl.DataFrame(
        {
            "frame": np.arange(1, count + 1, dtype=np.int64),
            "ts_ns": records.ts_ns,
            "caplen": records.caplen,
            "origlen": records.origlen,
            "link": link.astype(np.int32),
            **columns,
        }
    )
    return Packets(frame=frame, records=records, notes=notes)


def _links(records: Records) -> np.ndarray:
    """Every packet's link type; -1 for a frame that holds no packet (interface -1)."""
    linktypes = np.asarray([i.linktype for i in records.interfaces] + [-1], dtype=np.int64)
    link: np.ndarray = linktypes[records.interface]
    return link


def _unknown_links(link: np.ndarray, records: Records) -> list[tuple[int | None, str]]:
    """A note for each link type among the packets that loginlens cannot decode."""
    # Counted from interface -1: frames that hold no packet, and so no link layer.
    used = np.flatnonzero(np.bincount(records.interface + 1)[1:])
    present = {records.interfaces[i].linktype for i in used.tolist()}
    notes: list[tuple[int | None, str]] = []
    for linktype in sorted(present - set(LINK_NAMES) - {-1}):
        rows = np.flatnonzero(link == linktype)
        notes.append(
            (
                int(rows[0]) + 1,
                f"{len(rows)} packets have link type {linktype}, which loginlens cannot decode; "
                "they were counted but not dissected",
            )
        )
    return notes


def _cut_note(count: int, first: int) -> tuple[int | None, str]:
    return (
        first + 1,
        f"{count} packets were cut by the snapshot length before their transport header; "
        "they count in no flow",
    )


def _decode_numpy(records: Records) -> Packets:
    """``decode_packets`` with numpy, a few dozen operations over all packets: the twin of the
    compiled decoder, used where the install could not build it."""
    count = len(records)
    buffer, offset, caplen = records.buffer, records.offset, records.caplen
    link = _links(records)
    notes = _unknown_links(link, records)
    # Every header is cut from the packet's first bytes, read once (by the walk for pcap).
    prefix = records.prefix if records.prefix is not None else gather(buffer, offset, PREFIX)
    ethertype, l3, vlan = _link_layer(prefix[:, :24], link, records)

    ip = _window(buffer, offset, prefix, l3, 40)
    version = ip[:, 0] >> 4
    v4 = (ethertype == ETHERTYPE_IPV4) & (version == 4) & (caplen >= l3 + 20)
    v6 = (ethertype == ETHERTYPE_IPV6) & (version == 6) & (caplen >= l3 + 40)
    ihl = (ip[:, 0] & 0x0F).astype(np.int64) * 4
    fragment_field = column(ip, 6, _BE16)
    proto = np.where(v4, ip[:, 9], np.where(v6, ip[:, 6], 0)).astype(np.int64)
    l4 = np.where(v4, l3 + ihl, l3 + 40)
    ip_end = np.where(v4, l3 + column(ip, 2, _BE16), l3 + 40 + column(ip, 4, _BE16))
    later_fragment = v4 & ((fragment_field & 0x1FFF) != 0)
    more_fragments = v4 & ((fragment_field & 0x2000) != 0)
    src_hi, src_lo = _address(ip, v6, 8, 12)
    dst_hi, dst_lo = _address(ip, v6, 24, 16)
    extended = np.flatnonzero(v6 & np.isin(proto, list(IPV6_EXTENSIONS)))
    for index in extended.tolist():
        proto[index], l4[index], late, more = _ipv6_extensions(
            buffer, records, index, int(proto[index]), int(l4[index])
        )
        later_fragment[index], more_fragments[index] = late, more

    is_ip = v4 | v6
    tcp = is_ip & (proto == TCP) & ~later_fragment & (caplen >= l4 + 20)
    udp = is_ip & (proto == UDP) & ~later_fragment & (caplen >= l4 + 8)
    icmp = is_ip & ((proto == ICMP) | (proto == ICMPV6)) & ~later_fragment & (caplen >= l4 + 4)
    # Transport bytes are read only where there is a transport header: elsewhere any place
    # will do, so every packet reads at one place when the carried headers all start there.
    carried = np.flatnonzero(tcp | udp | icmp)
    anywhere = int(l4[carried[0]]) if len(carried) else 0
    at = np.full(count, anywhere, dtype=np.int64)
    at[carried] = l4[carried]
    transport = _window(buffer, offset, prefix, at, 20)
    header = np.where(tcp, (transport[:, 12] >> 4).astype(np.int64) * 4, 8)
    payload_at = l4 + header
    wire_end = np.where(is_ip, ip_end, caplen)
    payload_len = np.where(tcp | udp | icmp, np.maximum(wire_end - payload_at, 0), 0)
    captured = np.where(
        tcp | udp | icmp, np.clip(np.minimum(wire_end, caplen) - payload_at, 0, None), 0
    )
    ports = tcp | udp
    flags = np.where(tcp, transport[:, 13], 0).astype(np.uint8)

    cut = is_ip & ~later_fragment & ~(tcp | udp | icmp) & np.isin(proto, [TCP, UDP, ICMP, ICMPV6])
    if cut.any():
        notes.append(_cut_note(int(cut.sum()), int(np.flatnonzero(cut)[0])))
    frame = pl.DataFrame(
        {
            "frame": np.arange(1, count + 1, dtype=np.int64),
            "ts_ns": records.ts_ns,
            "caplen": caplen,
            "origlen": records.origlen,
            "link": link.astype(np.int32),
            "vlan": vlan,
            "ip_version": np.where(v4, 4, np.where(v6, 6, 0)).astype(np.int8),
            "src_hi": src_hi,
            "src_lo": src_lo,
            "dst_hi": dst_hi,
            "dst_lo": dst_lo,
            "proto": np.where(is_ip, proto, -1).astype(np.int16),
            "ttl": np.where(v4, ip[:, 8], np.where(v6, ip[:, 7], 0)).astype(np.uint8),
            "ip_id": np.where(v4, column(ip, 4, _BE16), 0).astype(np.int32),
            "df": v4 & ((fragment_field & 0x4000) != 0),
            "fragment": later_fragment | more_fragments,
            "sport": np.where(ports, column(transport, 0, _BE16), 0).astype(np.int32),
            "dport": np.where(ports, column(transport, 2, _BE16), 0).astype(np.int32),
            "flags": flags,
            "seq": np.where(tcp, column(transport, 4, _BE32), 0).astype(np.int64),
            "ack": np.where(tcp, column(transport, 8, _BE32), 0).astype(np.int64),
            # Widened first: np.where keeps uint16 and would make -1 (no window) 65535.
            "window": np.where(tcp, column(transport, 14, _BE16).astype(np.int32), -1),
            "icmp_type": np.where(icmp, transport[:, 0].astype(np.int16), -1),
            "icmp_code": np.where(icmp, transport[:, 1].astype(np.int16), -1),
            "l4_at": offset + l4,
            "payload_at": offset + payload_at,
            "payload_len": payload_len.astype(np.int64),
            "captured": captured.astype(np.int64),
            "transport": np.where(tcp, 1, np.where(udp, 2, np.where(icmp, 3, 0))).astype(np.int8),
        }
    )
    return Packets(frame=frame, records=records, notes=notes)


def _window(
    buffer: np.ndarray, offset: np.ndarray, prefix: np.ndarray, at: np.ndarray, width: int
) -> np.ndarray:
    """Rows of ``width`` bytes at ``offset + at``, as ``gather`` reads them.

    They are cut from ``prefix`` where it holds them: one slice when every packet has the
    header at the same place, else one copy per place (few: link types, IP options).
    """
    count = len(at)
    room = prefix.shape[1] - width
    if count == 0:
        return np.zeros((0, width), dtype=np.uint8)
    low, high = int(at.min()), int(at.max())
    if low == high and 0 <= low <= room:
        return prefix[:, low : low + width]
    rows = np.empty((count, width), dtype=np.uint8)
    inside = (at >= 0) & (at <= room)
    places = np.flatnonzero(np.bincount(at[inside], minlength=1))
    if len(places) > MAX_PLACES:
        inside[:] = False
        places = places[:0]
    for place in places.tolist():
        picked = inside & (at == place)
        rows[picked] = prefix[picked, place : place + width]
    outside = np.flatnonzero(~inside)
    if len(outside):
        rows[outside] = gather(buffer, offset[outside] + at[outside], width)
    return rows


def _address(ip: np.ndarray, v6: np.ndarray, at6: int, at4: int) -> tuple[np.ndarray, np.ndarray]:
    """Both halves of the address at byte ``at6`` of IPv6 headers or ``at4`` of the others."""
    low4 = V4_MAPPED | column(ip, at4, _BE32)
    if not v6.any():
        return np.zeros(len(ip), dtype=np.uint64), low4
    high = np.where(v6, column(ip, at6, _BE64), np.uint64(0))
    return high, np.where(v6, column(ip, at6 + 8, _BE64), low4)


def _link_layer(
    head: np.ndarray, link: np.ndarray, records: Records
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per packet: the ethertype of what the link carries, where it starts, and its VLAN id."""
    count = len(head)
    ethertype = np.zeros(count, dtype=np.int64)
    l3 = np.zeros(count, dtype=np.int64)
    vlan = np.full(count, -1, dtype=np.int32)
    # Counted from interface -1: frames that hold no packet, and so no link layer.
    counts = np.bincount(records.interface + 1, minlength=len(records.interfaces) + 1)
    used = np.flatnonzero(counts[1:])
    present = sorted({records.interfaces[i].linktype for i in used.tolist()})
    every = len(present) == 1 and not counts[0]
    kind: np.ndarray
    start: np.ndarray | int
    tag: np.ndarray | None
    for linktype in present:
        rows = np.ones(count, dtype=bool) if every else link == linktype
        if linktype == 1:
            kind, start, tag = _ethernet(head)
        elif linktype == 113:
            kind, start, tag = column(head, 14, _BE16).astype(np.int64), 16, None
        elif linktype == 276:
            kind, start, tag = column(head, 0, _BE16).astype(np.int64), 20, None
        elif linktype in (0, 108):
            kind, start, tag = _loopback(head, big_endian=linktype == 108), 4, None
        elif linktype in (12, 14, 101, 228, 229):
            nibble = head[:, 0] >> 4
            kind = np.where(nibble == 4, ETHERTYPE_IPV4, np.where(nibble == 6, ETHERTYPE_IPV6, 0))
            start, tag = 0, None
        else:  # noted by _unknown_links
            continue
        ethertype[rows] = np.asarray(kind)[rows] if np.ndim(kind) else kind
        l3[rows] = np.asarray(start)[rows] if np.ndim(start) else start
        if tag is not None:
            vlan[rows] = tag[rows]
    return ethertype, l3, vlan


def _ethernet(head: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ethernet II with up to two 802.1Q/802.1ad tags."""
    kind = column(head, 12, _BE16).astype(np.int64)
    start = np.full(len(head), 14, dtype=np.int64)
    tag = np.full(len(head), -1, dtype=np.int32)
    for depth in (0, 1):
        tagged = np.isin(kind, VLAN_TAGS)
        if not tagged.any():
            break
        at = 14 + 4 * depth
        if depth == 0:
            tag = np.where(tagged, column(head, at, _BE16) & 0x0FFF, tag).astype(np.int32)
        kind = np.where(tagged, column(head, at + 2, _BE16), kind).astype(np.int64)
        start = np.where(tagged, start + 4, start)
    return kind, start, tag


def _loopback(head: np.ndarray, *, big_endian: bool) -> np.ndarray:
    """BSD null/loopback: a 4-byte address family in the capturing host's byte order."""
    family = column(head, 0, _BE32).astype(np.int64)
    if not big_endian:
        swapped = column(head, 0, np.dtype("<u4")).astype(np.int64)
        # The host's order is unknown; a family is a small number in the right one.
        family = np.where(swapped < 0x10000, swapped, family)
    ipv6 = np.isin(family, [10, 23, 24, 26, 28, 30])
    return np.where(family == 2, ETHERTYPE_IPV4, np.where(ipv6, ETHERTYPE_IPV6, 0))


def _ipv6_extensions(
    buffer: np.ndarray, records: Records, index: int, following: int, at: int
) -> tuple[int, int, bool, bool]:
    """Follow IPv6 extension headers of one packet: (upper protocol, its offset, later fragment,
    more fragments follow)."""
    start = int(records.offset[index])
    data = bytes(buffer[start : start + int(records.caplen[index])])
    later = more = False
    for _ in range(8):
        if following not in IPV6_EXTENSIONS or at + 8 > len(data):
            break
        if following == 44:
            # Fragment offset (13 bits), 2 reserved, M: an offset of 0 with M is a first fragment.
            field = int.from_bytes(data[at + 2 : at + 4], "big")
            later, more = (field >> 3) != 0, (field & 1) != 0
            following, at = data[at], at + 8
        elif following == 51:
            following, at = data[at], at + (data[at + 1] + 2) * 4
        else:
            following, at = data[at], at + (data[at + 1] + 1) * 8
    return following, at, later, more
