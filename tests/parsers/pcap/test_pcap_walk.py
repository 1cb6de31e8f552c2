"""The packet walk and header decode: captures built byte by byte, checked field by field.

Every file here is written with ``struct`` (link headers by hand, IP and
transport headers by scapy) so each test states exactly which bytes it feeds
in: both pcap byte orders and resolutions, pcapng with several interfaces,
resolutions and offsets, every block kind and every link type. Where tshark is
installed it is asked the same questions as a second opinion.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import (
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    IPv6ExtHdrRouting,
)
from scapy.packet import Raw

from parsers.errors import ParseError
from parsers.pcap import walk
from parsers.pcap.capture import parse_capture
from parsers.pcap.flows import address_text
from parsers.pcap.packets import read_packets
from parsers.pcap.walk import NO_TIME, open_records

Writer = Callable[[str, bytes | str], Path]
TSHARK = shutil.which("tshark")
needs_tshark = pytest.mark.skipif(TSHARK is None, reason="tshark is not installed")

T0 = 1_748_779_200  # 2025-06-01 12:00:00 UTC, in seconds
CLIENT, SERVER = "192.0.2.10", "198.51.100.7"
CLIENT6, SERVER6 = "2001:db8::10", "2001:db8:1::7"
MAC_A, MAC_B = bytes.fromhex("3c7c3f1e924b"), bytes.fromhex("f42a7d100c01")
ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_ARP = 0x0800, 0x86DD, 0x0806

# --- packets -------------------------------------------------------------------------------


def syn4(sport: int = 50000, dport: int = 443) -> bytes:
    return bytes(IP(src=CLIENT, dst=SERVER) / TCP(sport=sport, dport=dport, flags="S"))


def udp6(sport: int = 53000, dport: int = 53) -> bytes:
    return bytes(IPv6(src=CLIENT6, dst=SERVER6) / UDP(sport=sport, dport=dport) / b"query")


def ether(payload: bytes, ethertype: int = ETHERTYPE_IPV4) -> bytes:
    return MAC_B + MAC_A + struct.pack("!H", ethertype) + payload


ARP = ether(bytes(28), ETHERTYPE_ARP)

# --- writing classic pcap ------------------------------------------------------------------

Frame = tuple[int, bytes]  # (nanoseconds since the epoch, captured bytes)


def pcap(
    frames: Sequence[Frame], linktype: int = 1, *, order: str = "<", nanos: bool = False
) -> bytes:
    """A classic pcap file; microsecond stamps are the nanoseconds floored."""
    magic = 0xA1B23C4D if nanos else 0xA1B2C3D4
    out = [struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, 262_144, linktype)]
    for ts_ns, data in frames:
        seconds, fraction = divmod(ts_ns, 1_000_000_000)
        fraction = fraction if nanos else fraction // 1000
        out.append(struct.pack(order + "IIII", seconds, fraction, len(data), len(data)) + data)
    return b"".join(out)


# --- writing pcapng ------------------------------------------------------------------------


def option(code: int, value: bytes, order: str = "<") -> bytes:
    return struct.pack(order + "HH", code, len(value)) + value + bytes(-len(value) % 4)


def block(kind: int, body: bytes, order: str = "<") -> bytes:
    length = 12 + len(body)
    return struct.pack(order + "II", kind, length) + body + struct.pack(order + "I", length)


def shb(order: str = "<") -> bytes:
    body = struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1) + option(4, b"tests", order)
    return block(0x0A0D0D0A, body + option(0, b"", order), order)


def idb(
    linktype: int,
    *,
    tsresol: int | None = None,
    tsoffset: int | None = None,
    snaplen: int = 0,
    order: str = "<",
) -> bytes:
    body = struct.pack(order + "HHI", linktype, 0, snaplen) + option(2, b"eth0", order)
    if tsresol is not None:
        body += option(9, bytes([tsresol]), order)
    if tsoffset is not None:
        body += option(14, struct.pack(order + "q", tsoffset), order)
    return block(1, body + option(0, b"", order), order)


def padded(data: bytes) -> bytes:
    return data + bytes(-len(data) % 4)


def epb(interface: int, ticks: int, data: bytes, order: str = "<") -> bytes:
    head = struct.pack(
        order + "IIIII", interface, ticks >> 32, ticks & 0xFFFFFFFF, len(data), len(data)
    )
    return block(
        6, head + padded(data) + option(1, b"comment", order) + option(0, b"", order), order
    )


def spb(data: bytes, origlen: int | None = None, order: str = "<") -> bytes:
    return block(
        3, struct.pack(order + "I", len(data) if origlen is None else origlen) + padded(data), order
    )


def opb(interface: int, ticks: int, data: bytes, order: str = "<") -> bytes:
    head = struct.pack(
        order + "HHIIII", interface, 0, ticks >> 32, ticks & 0xFFFFFFFF, len(data), len(data)
    )
    return block(2, head + padded(data), order)


# --- reading back --------------------------------------------------------------------------

Tuple5 = tuple[str, int, str, int, int]


def decoded(path: Path) -> pl.DataFrame:
    """The per-packet frame with addresses as text."""
    frame = read_packets(path)

    def text(side: str) -> pl.Series:
        halves = zip(frame[f"{side}_hi"], frame[f"{side}_lo"], strict=True)
        return pl.Series(side, [address_text(hi, lo) for hi, lo in halves], dtype=pl.String)

    return frame.with_columns(text("src"), text("dst"))


def five_tuples(path: Path) -> list[Tuple5]:
    return decoded(path).select("src", "sport", "dst", "dport", "proto").rows()


def stamps(path: Path) -> list[int]:
    return read_packets(path)["ts_ns"].to_list()


def tshark(path: Path, *fields: str, where: str = "", prefs: Sequence[str] = ()) -> list[list[str]]:
    """One row per frame (matching the display filter ``where``), first occurrence of each field."""
    command = [TSHARK or "tshark", "-r", str(path), "-n", "-T", "fields", "-E", "occurrence=f"]
    if where:
        command += ["-Y", where]
    for pref in prefs:
        command += ["-o", pref]
    for name in fields:
        command += ["-e", name]
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=60)
    return [line.split("\t") for line in done.stdout.splitlines()]


def tshark_packets(path: Path, where: str = "") -> list[tuple[int, Tuple5]]:
    """Each frame's time in nanoseconds (NO_TIME where tshark shows none) and 5-tuple."""
    rows = tshark(
        path, "frame.time_epoch", "ip.src", "ipv6.src", "tcp.srcport", "udp.srcport",
        "ip.dst", "ipv6.dst", "tcp.dstport", "udp.dstport", "ip.proto", "ipv6.nxt", where=where,
    )  # fmt: skip
    packets = []
    for epoch, src4, src6, tsport, usport, dst4, dst6, tdport, udport, proto4, next6 in rows:
        proto = 6 if tsport else 17 if usport else int(proto4 or next6 or -1)
        address = (
            src4 or src6,
            int(tsport or usport or 0),
            dst4 or dst6,
            int(tdport or udport or 0),
        )
        packets.append((int(Decimal(epoch) * 10**9) if epoch else NO_TIME, (*address, proto)))
    return packets


# --- classic pcap --------------------------------------------------------------------------

NS_STAMPS = [T0 * 10**9 + 123_456_789, T0 * 10**9 + 999_999_999, (T0 + 1) * 10**9 + 1]


@pytest.mark.parametrize("order", ["<", ">"], ids=["little-endian", "big-endian"])
@pytest.mark.parametrize("nanos", [False, True], ids=["usec", "nsec"])
def test_pcap_byte_orders_and_resolutions(order: str, nanos: bool, write_file: Writer) -> None:
    frames = [(ts, ether(syn4(sport=50000 + i))) for i, ts in enumerate(NS_STAMPS)]
    path = write_file("c.pcap", pcap(frames, order=order, nanos=nanos))
    expected = NS_STAMPS if nanos else [ts // 1000 * 1000 for ts in NS_STAMPS]
    assert stamps(path) == expected
    assert five_tuples(path) == [(CLIENT, 50000 + i, SERVER, 443, 6) for i in range(3)]
    records = open_records(path, "c.pcap")
    assert (records.fmt, records.problems, records.skipped) == ("pcap", [], 0)
    if TSHARK:
        assert tshark_packets(path) == list(zip(expected, five_tuples(path), strict=True))


HEADER_PACKETS = [
    IP(src=CLIENT, dst=SERVER, ttl=64, id=0x1234, flags="DF") / TCP(sport=50000, dport=443, flags="S", seq=1000, window=64240),
    IP(src=SERVER, dst=CLIENT, ttl=117, id=0, flags="DF") / TCP(sport=443, dport=50000, flags="SA", seq=7000, ack=1001, window=65535),
    IP(src=CLIENT, dst=SERVER, ttl=64, id=0x1235) / TCP(sport=50000, dport=443, flags="PA", seq=1001, ack=7001, window=502) / (b"x" * 517),
    IP(src=SERVER, dst=CLIENT, ttl=117, id=0xFFFF) / TCP(sport=443, dport=50000, flags="FA", seq=7001, ack=1518, window=0),
    IP(src=CLIENT, dst="192.0.2.1", ttl=1) / UDP(sport=5353, dport=5353) / b"mdns",
    IP(src="192.0.2.1", dst=CLIENT, ttl=255) / ICMP(type=3, code=4, nexthopmtu=1400) / bytes(28),
]  # fmt: skip


def header_capture(write_file: Writer) -> Path:
    frames = [(T0 * 10**9 + i * 1000, ether(bytes(p))) for i, p in enumerate(HEADER_PACKETS)]
    return write_file("fields.pcap", pcap(frames))


def test_ip_and_transport_header_fields(write_file: Writer) -> None:
    """TTL, IP ID, DF, TCP flags, seq, ack, window and payload length, checked against tshark."""
    path = header_capture(write_file)
    frame = decoded(path)
    got = frame.select(
        "frame", "ttl", "ip_id", "df", "flags", "seq", "ack", "payload_len", "icmp_type",
        "icmp_code",
    )  # fmt: skip
    assert got.rows() == [
        (1, 64, 0x1234, True, 0x02, 1000, 0, 0, -1, -1),
        (2, 117, 0, True, 0x12, 7000, 1001, 0, -1, -1),
        (3, 64, 0x1235, False, 0x18, 1001, 7001, 517, -1, -1),
        (4, 117, 0xFFFF, False, 0x11, 7001, 1518, 0, -1, -1),
        (5, 1, 1, False, 0, 0, 0, 4, -1, -1),
        (6, 255, 1, False, 0, 0, 0, 28, 3, 4),
    ]
    assert frame["window"].to_list()[:4] == [64240, 65535, 502, 0]
    if not TSHARK:
        return
    rows = tshark(
        path, "ip.ttl", "ip.id", "ip.flags.df", "tcp.flags", "tcp.seq_raw", "tcp.ack_raw",
        "tcp.len", "udp.length", "icmp.type", "icmp.code",
    )  # fmt: skip
    for ours, theirs in zip(got.rows(), rows, strict=True):
        _, ttl, ip_id, df, flags, seq, ack, length, icmp_type, icmp_code = ours
        t_ttl, t_id, t_df, t_flags, t_seq, t_ack, t_len, u_len, t_type, t_code = theirs
        assert (ttl, ip_id, df) == (int(t_ttl), int(t_id, 16), t_df == "1")
        if t_flags:
            assert (flags, seq, ack, length) == (
                int(t_flags, 16),
                int(t_seq),
                int(t_ack),
                int(t_len),
            )
        if u_len:
            assert length == int(u_len) - 8
        if t_type:
            assert (icmp_type, icmp_code) == (int(t_type), int(t_code))


def test_packets_without_tcp_have_no_window(write_file: Writer) -> None:
    assert decoded(header_capture(write_file))["window"].to_list()[4:] == [-1, -1]


# --- pcapng --------------------------------------------------------------------------------


def sll(payload: bytes, ethertype: int = ETHERTYPE_IPV4) -> bytes:
    """Linux cooked v1: packet type, ARPHRD, address length, address, protocol."""
    return struct.pack("!HHH8sH", 0, 1, 6, MAC_A, ethertype) + payload


def sll2(payload: bytes, ethertype: int = ETHERTYPE_IPV4) -> bytes:
    """Linux cooked v2: protocol, reserved, ifindex, ARPHRD, packet type, address len, address."""
    return struct.pack("!HHIHBB8s", ethertype, 0, 3, 1, 4, 6, MAC_A) + payload


UNKNOWN_BLOCKS = [
    block(4, option(1, b"\x0a\x00\x00\x01host\x00") + option(0, b"")),  # name resolution
    block(5, struct.pack("<III", 0, 0, 0) + option(0, b"")),  # interface statistics
    block(0x0000000A, struct.pack("<I", 0x544C534B) + bytes(8)),  # decryption secrets
    block(0x0BADF00D, b""),  # a type nobody defined
]
# Custom blocks (copiable, and not): Wireshark lists each one as a frame of its own.
CUSTOM_BLOCKS = [
    block(0x00000BAD, struct.pack("<I", 32473) + b"custom!!"),
    block(0x40000BAD, struct.pack("<I", 32473) + b"private!"),
]


def mixed_pcapng() -> tuple[bytes, list[int], list[Tuple5]]:
    """Three interfaces (Ethernet µs, raw IPv4 ns + offset, SLL 2^-20 + offset), every packet
    block kind, and unknown blocks between them: (file, nanoseconds, 5-tuples)."""
    blocks = [
        shb(),
        UNKNOWN_BLOCKS[0],
        idb(1),
        idb(228, tsresol=9, tsoffset=3600),
        idb(113, tsresol=0x80 | 20, tsoffset=T0),
        epb(0, T0 * 10**6 + 123_456, ether(syn4(sport=1001))),
        UNKNOWN_BLOCKS[1],
        epb(1, (T0 - 3600) * 10**9 + 987_654_321, syn4(sport=1002)),
        UNKNOWN_BLOCKS[2],
        epb(2, (5 << 20) + 3 * 2048, sll(syn4(sport=1003))),
        opb(1, (T0 - 3600) * 10**9 + 7, syn4(sport=1004)),
        spb(ether(syn4(sport=1005))),
        UNKNOWN_BLOCKS[3],
        opb(0, (T0 + 9) * 10**6 + 1, ether(syn4(sport=1006))),
    ]
    nanos = [
        T0 * 10**9 + 123_456_000,
        T0 * 10**9 + 987_654_321,
        (T0 + 5) * 10**9 + 5_859_375,  # 6144 / 2**20 s exactly
        T0 * 10**9 + 7,
        NO_TIME,
        (T0 + 9) * 10**9 + 1000,
    ]
    tuples = [(CLIENT, port, SERVER, 443, 6) for port in range(1001, 1007)]
    return b"".join(blocks), nanos, tuples


def test_pcapng_interfaces_resolutions_offsets_and_block_kinds(write_file: Writer) -> None:
    data, nanos, tuples = mixed_pcapng()
    path = write_file("mixed.pcapng", data)
    frame = read_packets(path)
    assert frame["frame"].to_list() == [1, 2, 3, 4, 5, 6]
    assert frame["ts_ns"].to_list() == nanos
    assert frame["link"].to_list() == [1, 228, 113, 228, 1, 1]
    assert five_tuples(path) == tuples
    records = open_records(path, "mixed.pcapng")
    assert (records.fmt, records.problems, records.skipped) == ("pcapng", [], 0)
    _, report = parse_capture(path, "mixed.pcapng")
    assert (report.records, report.skipped, report.errors) == (6, 0, [])
    assert report.details["untimed_packets"] == 1
    assert report.details["link_types"] == ["Ethernet", "Linux cooked (SLL)", "raw IPv4"]


@needs_tshark
def test_pcapng_stamps_and_tuples_agree_with_tshark(write_file: Writer) -> None:
    data, nanos, tuples = mixed_pcapng()
    path = write_file("mixed.pcapng", data)
    assert tshark_packets(path) == list(zip(nanos, tuples, strict=True))


@pytest.mark.parametrize("order", ["<", ">"], ids=["little-endian", "big-endian"])
def test_pcapng_in_either_byte_order(order: str, write_file: Writer) -> None:
    data = shb(order) + idb(1, order=order)
    data += epb(0, T0 * 10**6 + 5, ether(syn4()), order)
    data += opb(0, T0 * 10**6 + 6, ether(syn4(sport=2)), order)
    data += spb(ether(udp6(), ETHERTYPE_IPV6), order=order)
    path = write_file("c.pcapng", data)
    assert stamps(path) == [T0 * 10**9 + 5000, T0 * 10**9 + 6000, NO_TIME]
    assert five_tuples(path) == [
        (CLIENT, 50000, SERVER, 443, 6),
        (CLIENT, 2, SERVER, 443, 6),
        (CLIENT6, 53000, SERVER6, 53, 17),
    ]


@pytest.mark.parametrize(
    ("tsresol", "ticks", "nanos"),
    [
        (None, 1_000_001, 1_000_001_000),  # default: microseconds
        (6, 1_000_001, 1_000_001_000),
        (3, 1_001, 1_001_000_000),
        (9, 1_000_000_001, 1_000_000_001),
        (12, 1_000_000_001_999, 1_000_000_001),  # picoseconds floor to nanoseconds
        (0, 7, 7_000_000_000),
        (0x80 | 10, (3 << 10) + 512, 3_500_000_000),
        (0x80 | 20, (1 << 20) - 1, 999_999_046),  # floor(1048575 / 2**20 s)
        (0x80 | 30, (9 << 30) + 1, 9_000_000_000),
    ],
)
def test_pcapng_if_tsresol(tsresol: int | None, ticks: int, nanos: int, write_file: Writer) -> None:
    path = write_file("r.pcapng", shb() + idb(101, tsresol=tsresol) + epb(0, ticks, syn4()))
    assert stamps(path) == [nanos]


@pytest.mark.parametrize("offset", [0, 1, -1, T0, -(10**9)])
def test_pcapng_if_tsoffset_adds_whole_seconds(offset: int, write_file: Writer) -> None:
    data = shb() + idb(101, tsresol=9, tsoffset=offset) + epb(0, 2 * 10**9 + 3, syn4())
    assert stamps(write_file("o.pcapng", data)) == [(offset + 2) * 10**9 + 3]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(exponent=st.integers(1, 40), ticks=st.integers(0, 2**63 - 1))
def test_binary_resolution_is_exact_to_the_nanosecond(
    exponent: int, ticks: int, tmp_path: Path
) -> None:
    """2**-n ticks become the floor of their value in nanoseconds, as exact integers would."""
    ticks %= 1 << (exponent + 31)  # keep the seconds inside int64 nanoseconds
    path = tmp_path / "b.pcapng"
    path.write_bytes(shb() + idb(101, tsresol=0x80 | exponent) + epb(0, ticks, syn4()))
    assert stamps(path) == [(ticks * 10**9) >> exponent]


def test_simple_packet_block_is_cut_to_the_snaplen_and_untimed(write_file: Writer) -> None:
    packet = ether(syn4())
    data = shb() + idb(1, snaplen=40) + spb(packet[:40], origlen=len(packet))
    path = write_file("s.pcapng", data)
    frame = read_packets(path)
    assert frame.select("caplen", "origlen", "ts_ns").rows() == [(40, len(packet), NO_TIME)]
    events, report = parse_capture(path, "s.pcapng")
    # 40 bytes hold Ethernet and IPv4 but not the whole TCP header: counted, noted, no flow.
    assert (report.records, events.height, report.details["untimed_packets"]) == (1, 0, 1)
    assert [e["record"] for e in report.errors] == [1]


def test_untimed_packet_leaves_its_flow_time_and_duration_alone(write_file: Writer) -> None:
    synack = bytes(IP(src=SERVER, dst=CLIENT) / TCP(sport=443, dport=50000, flags="SA"))
    data = shb() + idb(101) + epb(0, T0 * 10**6, syn4()) + spb(synack)
    events, _ = parse_capture(write_file("t.pcapng", data), "t.pcapng")
    ((stamp, duration),) = events.select("@timestamp", "event.duration").rows()
    assert stamp == datetime.fromtimestamp(T0, UTC)
    assert duration is None or duration >= 0


def test_untimed_packets_make_no_flow_times_or_rtt(write_file: Writer) -> None:
    """A flow of untimed packets has no time at all; an untimed SYN gives no RTT."""
    synack = bytes(IP(src=SERVER, dst=CLIENT) / TCP(sport=443, dport=50000, flags="SA"))
    data = shb() + idb(101) + spb(syn4(sport=50000)) + epb(0, T0 * 10**6, synack)
    data += spb(syn4(sport=50001))
    events, _ = parse_capture(write_file("t.pcapng", data), "t.pcapng")
    got = events.sort("source.port").select(
        "source.port", "@timestamp", "event.duration", "loginlens.flow.rtt_ms"
    )
    assert got.rows() == [
        (50000, datetime.fromtimestamp(T0, UTC), 0, None),
        (50001, None, None, None),
    ]


def test_unknown_blocks_between_packets_are_skipped_silently(write_file: Writer) -> None:
    data = shb() + b"".join(UNKNOWN_BLOCKS) + idb(101) + b"".join(UNKNOWN_BLOCKS)
    data += epb(0, 1, syn4()) + b"".join(UNKNOWN_BLOCKS) + epb(0, 2, syn4(sport=2))
    path = write_file("u.pcapng", data)
    assert read_packets(path)["frame"].to_list() == [1, 2]
    _, report = parse_capture(path, "u.pcapng")
    assert (report.records, report.skipped, report.errors) == (2, 0, [])


@pytest.mark.parametrize("order", ["<", ">"], ids=["little-endian", "big-endian"])
def test_blocks_across_many_chains_are_each_read_once(
    order: str, write_file: Writer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Block offsets are chained 8 at a time here: runs of packets longer than a chain, with
    blocks that are no packets among them, and a section of each byte order."""
    monkeypatch.setattr(walk, "CHAIN_BLOCKS", 8)
    other = ">" if order == "<" else "<"
    data = shb(order) + idb(101, order=order)
    for sport in range(1, 31):
        data += epb(0, sport, syn4(sport=sport), order)
        if sport % 7 == 0:
            data += block(5, struct.pack(order + "III", 0, 0, 0), order)  # statistics
    data += shb(other) + idb(101, order=other)
    data += b"".join(epb(0, sport, syn4(sport=sport), other) for sport in range(31, 50))
    path = write_file("chains.pcapng", data)
    frame = read_packets(path)
    assert frame["sport"].to_list() == list(range(1, 50))
    assert frame["ts_ns"].to_list() == [sport * 1000 for sport in range(1, 50)]


@needs_tshark
def test_frame_numbers_after_custom_blocks_match_wireshark(write_file: Writer) -> None:
    data = shb() + CUSTOM_BLOCKS[1] + idb(1) + epb(0, 1, ether(syn4(sport=1))) + CUSTOM_BLOCKS[0]
    data += epb(0, 2, ether(syn4(sport=2))) + CUSTOM_BLOCKS[1] + epb(0, 3, ether(syn4(sport=3)))
    path = write_file("cb.pcapng", data)
    theirs = [int(row[0]) for row in tshark(path, "frame.number", where="ip")]
    assert theirs == [2, 4, 6]
    frame = read_packets(path)
    assert frame.filter(pl.col("ip_version") > 0)["frame"].to_list() == theirs
    assert frame.height == len(tshark(path, "frame.number"))
    # A custom block holds no packet: no time, no link layer, nothing decoded.
    nothing = frame.filter(pl.col("ip_version") == 0)
    assert nothing.select("ts_ns", "caplen", "link", "vlan").unique().rows() == [
        (NO_TIME, 0, -1, -1)
    ]
    events, report = parse_capture(path, "cb.pcapng")
    assert sorted(events["loginlens.record"]) == theirs
    assert (report.records, report.skipped, report.errors) == (6, 0, [])
    assert report.details["link_types"] == ["Ethernet"]
    assert report.details["untimed_packets"] == 0  # the custom blocks hold no packet


@needs_tshark
def test_custom_blocks_in_a_section_without_interfaces_are_frames(write_file: Writer) -> None:
    path = write_file("cb.pcapng", shb(">") + shb() + CUSTOM_BLOCKS[0] + CUSTOM_BLOCKS[1])
    assert read_packets(path)["frame"].to_list() == [1, 2]
    assert len(tshark(path, "frame.number")) == 2
    events, report = parse_capture(path, "cb.pcapng")
    assert (events.height, report.records, report.errors) == (0, 2, [])


def test_interface_block_too_short_stops_the_walk_where_it_is(write_file: Writer) -> None:
    short = block(1, struct.pack("<HH", 1, 0))  # 16 bytes: no room for the snaplen
    data = shb() + idb(101) + epb(0, 1, syn4(sport=1)) + short + epb(0, 2, syn4(sport=2))
    path = write_file("short.pcapng", data)
    assert read_packets(path)["sport"].to_list() == [1]
    _, report = parse_capture(path, "short.pcapng")
    assert (report.records, [e["record"] for e in report.errors]) == (1, [2])
    assert "is 16 bytes, too short" in report.errors[0]["reason"]


@pytest.mark.parametrize("offset", [-(10**10), 9 * 10**9])
def test_if_tsoffset_past_int64_nanoseconds_leaves_packets_untimed(
    offset: int, write_file: Writer
) -> None:
    """Beyond int64 nanoseconds, whether the offset alone or the offset plus the stamp."""
    data = shb() + idb(101, tsresol=9, tsoffset=offset) + epb(0, T0 * 10**9, syn4())
    data += idb(101) + epb(1, T0 * 10**6, syn4(sport=2))
    path = write_file("far.pcapng", data)
    assert stamps(path) == [NO_TIME, T0 * 10**9]
    _, report = parse_capture(path, "far.pcapng")
    assert [e["record"] for e in report.errors] == [1]
    assert f"interface 0 has an if_tsoffset of {offset} s" in report.errors[0]["reason"]


def two_sections(second_order: str) -> bytes:
    """Section 1 (little-endian): Ethernet. Section 2: raw IP in ns, interface ids from 0 again."""
    first = shb() + idb(1) + epb(0, T0 * 10**6 + 1, ether(syn4(sport=1)))
    o = second_order
    second = shb(o) + idb(101, tsresol=9, order=o) + epb(0, T0 * 10**9 + 2, syn4(sport=2), o)
    return first + second + opb(0, T0 * 10**9 + 3, syn4(sport=3), o)


def test_second_section_in_the_same_byte_order(write_file: Writer) -> None:
    path = write_file("s2.pcapng", two_sections("<"))
    frame = read_packets(path)
    assert frame.select("link", "ts_ns", "sport").rows() == [
        (1, T0 * 10**9 + 1000, 1), (101, T0 * 10**9 + 2, 2), (101, T0 * 10**9 + 3, 3),
    ]  # fmt: skip


def test_second_section_in_the_other_byte_order(write_file: Writer) -> None:
    path = write_file("s2.pcapng", two_sections(">"))
    frame = read_packets(path)
    assert frame.select("link", "ts_ns", "caplen", "sport").rows() == [
        (1, T0 * 10**9 + 1000, 54, 1), (101, T0 * 10**9 + 2, 40, 2), (101, T0 * 10**9 + 3, 40, 3),
    ]  # fmt: skip
    if TSHARK:
        assert [ns for ns, _ in tshark_packets(path)] == frame["ts_ns"].to_list()


def test_packet_naming_an_interface_of_another_section_is_skipped(write_file: Writer) -> None:
    data = shb() + idb(1) + idb(101) + epb(1, 1, syn4(sport=1))
    data += shb() + idb(101) + epb(1, 2, syn4(sport=2)) + epb(0, 3, syn4(sport=3))
    path = write_file("x.pcapng", data)
    assert read_packets(path)["sport"].to_list() == [1, 3]
    _, report = parse_capture(path, "x.pcapng")
    assert (report.records, report.skipped) == (2, 1)
    assert [e["record"] for e in report.errors] == [2]
    assert "interface 1" in report.errors[0]["reason"]


# --- link types ----------------------------------------------------------------------------

V4: Tuple5 = (CLIENT, 50000, SERVER, 443, 6)
V6: Tuple5 = (CLIENT6, 53000, SERVER6, 53, 17)
NOT_IP = None


def tagged(payload: bytes, *tags: tuple[int, int], ethertype: int = ETHERTYPE_IPV4) -> bytes:
    """Ethernet with VLAN tags given as (TPID, VLAN id), outermost first."""
    head = MAC_B + MAC_A + b"".join(struct.pack("!HH", tpid, 0x2000 | vid) for tpid, vid in tags)
    return head + struct.pack("!H", ethertype) + payload


# (link type, frame, expected 5-tuple or NOT_IP, expected VLAN id)
LINKS: dict[str, tuple[int, bytes, Tuple5 | None, int]] = {
    "ethernet": (1, ether(syn4()), V4, -1),
    "ethernet-ipv6": (1, ether(udp6(), ETHERTYPE_IPV6), V6, -1),
    "ethernet-arp": (1, ARP, NOT_IP, -1),
    "802.1q": (1, tagged(syn4(), (0x8100, 42)), V4, 42),
    "802.1q-ipv6": (1, tagged(udp6(), (0x8100, 7), ethertype=ETHERTYPE_IPV6), V6, 7),
    "qinq-88a8": (1, tagged(syn4(), (0x88A8, 100), (0x8100, 42)), V4, 100),
    "qinq-9100": (
        1,
        tagged(udp6(), (0x9100, 4094), (0x8100, 1), ethertype=ETHERTYPE_IPV6),
        V6,
        4094,
    ),
    "sll": (113, sll(syn4()), V4, -1),
    "sll-ipv6": (113, sll(udp6(), ETHERTYPE_IPV6), V6, -1),
    "sll2": (276, sll2(syn4()), V4, -1),
    "sll2-ipv6": (276, sll2(udp6(), ETHERTYPE_IPV6), V6, -1),
    "raw-101-ipv4": (101, syn4(), V4, -1),
    "raw-101-ipv6": (101, udp6(), V6, -1),
    "raw-228": (228, syn4(), V4, -1),
    "raw-229": (229, udp6(), V6, -1),
    "null-little-ipv4": (0, struct.pack("<I", 2) + syn4(), V4, -1),
    "null-big-ipv4": (0, struct.pack(">I", 2) + syn4(), V4, -1),
    "null-little-ipv6-bsd": (0, struct.pack("<I", 24) + udp6(), V6, -1),
    "null-little-ipv6-freebsd": (0, struct.pack("<I", 28) + udp6(), V6, -1),
    "null-little-ipv6-darwin": (0, struct.pack("<I", 30) + udp6(), V6, -1),
    "null-big-ipv6-darwin": (0, struct.pack(">I", 30) + udp6(), V6, -1),
    "loop-ipv4": (108, struct.pack(">I", 2) + syn4(), V4, -1),
    "loop-ipv6": (108, struct.pack(">I", 24) + udp6(), V6, -1),
    # LINKTYPE_LOOP is network order by definition; Wireshark does not decode the other order.
    "loop-little-endian": (108, struct.pack("<I", 2) + syn4(), NOT_IP, -1),
}


@pytest.mark.parametrize("order", ["<", ">"], ids=["le-file", "be-file"])
@pytest.mark.parametrize("name", LINKS)
def test_link_type_yields_the_five_tuple(name: str, order: str, write_file: Writer) -> None:
    linktype, data, expected, vlan = LINKS[name]
    path = write_file(f"{name}.pcap", pcap([(T0 * 10**9, data)], linktype, order=order))
    frame = decoded(path)
    assert frame["vlan"].to_list() == [vlan]
    if expected is NOT_IP:
        assert frame.select("ip_version", "proto", "transport").row(0) == (0, -1, 0)
    else:
        assert five_tuples(path) == [expected]


def test_every_link_type_in_one_pcapng(write_file: Writer) -> None:
    """One interface per case, packets interleaved in reverse: each keeps its own link type."""
    names = list(LINKS)
    interfaces = b"".join(idb(LINKS[name][0]) for name in names)
    packets = [epb(i, T0 * 10**6 + i, LINKS[name][1]) for i, name in enumerate(names)]
    path = write_file("links.pcapng", shb() + interfaces + b"".join(reversed(packets)))
    frame = decoded(path)
    order = list(reversed(names))
    assert frame["link"].to_list() == [LINKS[name][0] for name in order]
    assert frame["vlan"].to_list() == [LINKS[name][3] for name in order]
    assert frame["ts_ns"].to_list() == [T0 * 10**9 + i * 1000 for i in reversed(range(len(names)))]
    ours = frame.select("src", "sport", "dst", "dport", "proto").rows()
    expected = [LINKS[name][2] for name in order]
    assert [got if want else None for got, want in zip(ours, expected, strict=True)] == expected
    assert frame.filter(pl.col("ip_version") == 0).height == expected.count(NOT_IP)
    if TSHARK:
        theirs = [address for _, address in tshark_packets(path)]
        assert [
            got if want else None for got, want in zip(theirs, expected, strict=True)
        ] == expected


def test_unknown_link_type_is_counted_and_noted(write_file: Writer) -> None:
    path = write_file("u.pcap", pcap([(0, syn4()), (1, syn4())], linktype=147))
    events, report = parse_capture(path, "u.pcap")
    assert (report.records, report.skipped, events.height) == (2, 0, 0)
    assert [e["record"] for e in report.errors] == [1]
    assert "link type 147" in report.errors[0]["reason"]


# --- IPv6 extension headers and fragments --------------------------------------------------


def ipv6_chain(offset: int, more: bool, *, upper: bytes) -> bytes:
    """IPv6 → hop-by-hop → routing (type 0, one address) → destination options → fragment."""
    packet = (
        IPv6(src=CLIENT6, dst=SERVER6)
        / IPv6ExtHdrHopByHop()
        / IPv6ExtHdrRouting(addresses=["2001:db8:2::1"])
        / IPv6ExtHdrDestOpt()
        / IPv6ExtHdrFragment(offset=offset, m=int(more), id=0xBEEF, nh=6)
        / Raw(upper)
    )
    return bytes(packet)


IPV6_SEGMENT = bytes(TCP(sport=50001, dport=443, flags="S", seq=9, window=1024))
IPV6_FRAGMENTS = [
    ipv6_chain(0, True, upper=IPV6_SEGMENT + b"A" * 16),  # first fragment: ports readable
    ipv6_chain(5, False, upper=b"B" * 8),  # offset 40 bytes: data only, no ports
    ipv6_chain(0, False, upper=IPV6_SEGMENT),  # an atomic fragment: the whole datagram
]


def test_ipv6_extension_headers_and_fragments(write_file: Writer) -> None:
    frames = [(0, ether(p, ETHERTYPE_IPV6)) for p in IPV6_FRAGMENTS]
    path = write_file("v6.pcap", pcap(frames))
    frame = decoded(path)
    assert frame.select("proto", "sport", "dport", "transport", "flags").rows() == [
        (6, 50001, 443, 1, 0x02),
        (6, 0, 0, 0, 0),
        (6, 50001, 443, 1, 0x02),
    ]
    assert frame["payload_len"].to_list()[0] == 16
    assert frame["fragment"].to_list()[1:] == [True, False]
    if TSHARK:
        theirs = tshark(
            path, "ipv6.src", "tcp.srcport", "tcp.dstport", "ipv6.fraghdr.offset",
            prefs=["ipv6.defragment:FALSE"],
        )  # fmt: skip
        assert theirs == [
            [CLIENT6, "50001", "443", "0"], [CLIENT6, "", "", "5"], [CLIENT6, "50001", "443", "0"],
        ]  # fmt: skip


def test_ipv6_first_fragment_is_flagged_like_ipv4(write_file: Writer) -> None:
    path = write_file("v6.pcap", pcap([(0, IPV6_FRAGMENTS[0])], linktype=229))
    assert decoded(path)["fragment"].to_list() == [True]


def test_ipv6_authentication_header_is_followed(write_file: Writer) -> None:
    # AH: next header, payload length in 4-octet units minus 2, reserved, SPI, sequence, ICV.
    ah = struct.pack("!BBHII", 17, 4, 0, 0x100, 1) + bytes(12)
    packet = (
        bytes(IPv6(src=CLIENT6, dst=SERVER6, nh=51)) + ah + bytes(UDP(sport=53000, dport=53) / b"q")
    )
    packet = packet[:4] + struct.pack("!H", len(packet) - 40) + packet[6:]
    path = write_file("ah.pcap", pcap([(0, packet)], linktype=229))
    assert five_tuples(path) == [V6]


def test_ipv4_fragments(write_file: Writer) -> None:
    whole = IP(src=CLIENT, dst=SERVER, id=77) / UDP(sport=5000, dport=53) / (b"x" * 64)
    first = bytes(whole)[: 20 + 32]
    first = first[:6] + struct.pack("!H", 0x2000) + first[8:]  # MF, offset 0
    first = first[:2] + struct.pack("!H", len(first)) + first[4:]
    later = bytes(IP(src=CLIENT, dst=SERVER, id=77, proto=17, frag=4) / (b"y" * 40))
    path = write_file("frag.pcap", pcap([(0, first), (1, later)], linktype=228))
    frame = decoded(path)
    assert frame.select("sport", "dport", "fragment", "transport").rows() == [
        (5000, 53, True, 2),
        (0, 0, True, 0),
    ]


# --- frame numbers and event times ---------------------------------------------------------


def test_frame_numbers_become_the_record_of_each_event(write_file: Writer) -> None:
    """ARP and a packet cut short by the snaplen keep their numbers; events point at frames."""
    syn = syn4(sport=40000)
    synack = bytes(IP(src=SERVER, dst=CLIENT) / TCP(sport=443, dport=40000, flags="SA"))
    frames = [
        (T0 * 10**9 + 1_234_567, ARP),
        (T0 * 10**9 + 2_000_999, ether(syn)),
        (T0 * 10**9 + 3_000_000, ARP),
        (T0 * 10**9 + 4_000_000, ether(syn4(sport=40001))[:30]),  # cut inside the IP header
        (T0 * 10**9 + 5_000_000, ether(synack)),
        (T0 * 10**9 + 6_000_000, ether(udp6(), ETHERTYPE_IPV6)),
    ]
    path = write_file("n.pcap", pcap(frames, nanos=True))
    events, report = parse_capture(path, "n.pcap")
    connections = events.filter(pl.col("event.action") == "connection").sort("loginlens.record")
    assert connections["loginlens.record"].to_list() == [2, 6]
    assert connections["source.port"].to_list() == [40000, 53000]
    # Event times are microseconds, floored from the capture's nanoseconds.
    assert connections["@timestamp"].to_list() == [
        datetime.fromtimestamp(T0, UTC).replace(microsecond=2000),
        datetime.fromtimestamp(T0, UTC).replace(microsecond=6000),
    ]
    assert report.records == 6
    if TSHARK:
        numbers = tshark(
            path, "frame.number", where="tcp.flags.syn == 1 && tcp.flags.ack == 0 || udp"
        )
        assert [int(row[0]) for row in numbers] == [2, 6]


def test_a_file_that_is_no_capture_raises_parse_error(write_file: Writer) -> None:
    for name, data in [
        ("empty", b""),
        ("text", b"GET / HTTP/1.1\r\n"),
        ("short", b"\xd4\xc3\xb2\xa1\x02\x00"),
    ]:
        with pytest.raises(ParseError) as caught:
            parse_capture(write_file(name, data), name)
        assert caught.value.path == name
