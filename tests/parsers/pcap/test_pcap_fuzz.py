"""Random and mutated bytes never break the capture parser: schema-shaped output or ParseError.

Seeds are the sample bundles' captures and two small hand-built ones (a
little-endian pcap, a big-endian pcapng with two interfaces and every block
kind). They are cut at every offset, cut at random, flipped, spliced, given
repeated blocks and trailing garbage. Whatever happens: no exception but
``ParseError`` (and that only when the head of the file is no capture
header), no hang, a frame in the event schema, every ``loginlens.record`` a
real frame, and when the walk loses records the report says so, with the
frame number where the loss begins.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import ICMPv6PacketTooBig, IPv6

from analyzer.ledger import SourceReport
from analyzer.schema import EVENT_SCHEMA, RECORD, conform
from parsers.errors import ParseError
from parsers.pcap.capture import parse_capture
from parsers.pcap.packets import decode_packets
from parsers.pcap.walk import MAX_BLOCK, MAX_RECORD, PCAP_MAGICS, PCAPNG_BYTE_ORDER, open_records

pytestmark = pytest.mark.timeout(60)

ROOT = Path(__file__).resolve().parents[3]
SAMPLES = sorted((ROOT / "sample_data" / "bundles").glob("*/capture.pcap*"))
FUZZ = settings(
    max_examples=40,
    deadline=timedelta(seconds=10),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SHB, IDB, SPB, OPB, EPB = 0x0A0D0D0A, 1, 3, 2, 6
PACKET_BLOCKS = (EPB, SPB, OPB)
T0_US = 1_748_779_200 * 10**6

# --- hand-built seeds ----------------------------------------------------------------------

CLIENT, SERVER, RESOLVER = "192.0.2.10", "198.51.100.7", "192.0.2.53"
ETHER_HEAD = bytes.fromhex("f42a7d100c01 3c7c3f1e924b")


def ether(packet: IP | IPv6) -> bytes:
    ethertype = 0x86DD if isinstance(packet, IPv6) else 0x0800
    return ETHER_HEAD + struct.pack("!H", ethertype) + bytes(packet)


def conversation() -> list[bytes]:
    """Handshake, an HTTP request and its answer, a DNS query and answer, an ARP."""
    out = IP(src=CLIENT, dst=SERVER), IP(src=SERVER, dst=CLIENT)
    dns = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01"
    answer = (
        dns[:2]
        + b"\x81\x80\x00\x01\x00\x01"
        + dns[8:]
        + b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x5d\xb8\xd8\x22"
    )
    return [
        ether(out[0] / TCP(sport=50000, dport=80, flags="S", seq=100)),
        ether(out[1] / TCP(sport=80, dport=50000, flags="SA", seq=900, ack=101)),
        ether(out[0] / TCP(sport=50000, dport=80, flags="A", seq=101, ack=901)),
        ether(out[0] / TCP(sport=50000, dport=80, flags="PA", seq=101, ack=901) / b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"),
        ether(out[1] / TCP(sport=80, dport=50000, flags="PA", seq=901, ack=138) / b"HTTP/1.1 302 Found\r\nLocation: /login\r\nContent-Length: 0\r\n\r\n"),
        ether(IP(src=CLIENT, dst=RESOLVER) / UDP(sport=53000, dport=53) / dns),
        ether(IP(src=RESOLVER, dst=CLIENT) / UDP(sport=53, dport=53000) / answer),
        ETHER_HEAD + b"\x08\x06" + bytes(28),
    ]  # fmt: skip


def pcap_file(frames: list[bytes]) -> bytes:
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262_144, 1)]
    for index, data in enumerate(frames):
        out.append(struct.pack("<IIII", T0_US // 10**6, index, len(data), len(data)) + data)
    return b"".join(out)


def block(kind: int, body: bytes) -> bytes:
    body += bytes(-len(body) % 4)
    return struct.pack(">II", kind, len(body) + 12) + body + struct.pack(">I", len(body) + 12)


def option(code: int, value: bytes) -> bytes:
    return struct.pack(">HH", code, len(value)) + value + bytes(-len(value) % 4)


def pcapng_file(frames: list[bytes]) -> bytes:
    """Big-endian: Ethernet in µs, raw IP in ns 60 s late, EPB/OPB/SPB and blocks to skip."""
    raw = [f[14:] for f in frames]
    end = option(0, b"")
    nanoseconds_late = option(9, b"\x09") + option(14, struct.pack(">q", -60))
    out = [
        block(SHB, struct.pack(">IHHq", 0x1A2B3C4D, 1, 0, -1) + end),
        block(IDB, struct.pack(">HHI", 1, 0, 0) + option(2, b"eth0") + end),
        block(IDB, struct.pack(">HHI", 101, 0, 0) + nanoseconds_late + end),
        block(4, option(0, b"")),  # name resolution
    ]
    for index, data in enumerate(frames):
        ticks = T0_US + index if index % 2 == 0 else (T0_US // 10**6 + 60) * 10**9 + index
        if index == 7:  # untimed: the ARP, so no flow mixes timed and untimed packets
            out.append(block(SPB, struct.pack(">I", len(data)) + data))
        elif index == 2:
            head = struct.pack(
                ">HHIIII", 0, 0, T0_US >> 32, T0_US & 0xFFFFFFFF, len(data), len(data)
            )
            out.append(block(OPB, head + data))
        else:
            interface, payload = (0, data) if index % 2 == 0 else (1, raw[index])
            head = struct.pack(
                ">IIIII", interface, ticks >> 32, ticks & 0xFFFFFFFF, len(payload), len(payload)
            )
            out.append(block(EPB, head + payload + option(1, b"note") + end))
        if index == 3:
            out.append(block(5, struct.pack(">III", 0, 0, 0) + end))  # interface statistics
    return b"".join(out)


HAND_PCAP = pcap_file(conversation())
HAND_PCAPNG = pcapng_file(conversation())
SEEDS = [HAND_PCAP, HAND_PCAPNG, *(p.read_bytes() for p in SAMPLES)]
SMALL_SAMPLE = min((p.read_bytes() for p in SAMPLES), key=len)


# --- the structure of a valid capture ------------------------------------------------------


def blocks(data: bytes) -> Iterator[tuple[int, int, int]]:
    """(start, end, kind) of each record or block, for as long as the structure holds."""
    if data[:4] in PCAP_MAGICS:
        order = PCAP_MAGICS[data[:4]][0]
        position = 24
        while position + 16 <= len(data):
            caplen = struct.unpack_from(order + "I", data, position + 8)[0]
            end = position + 16 + caplen
            if caplen > MAX_RECORD or end > len(data):
                return
            yield position, end, EPB
            position = end
        return
    order = PCAPNG_BYTE_ORDER.get(data[8:12], "<")
    position = 0
    while position + 12 <= len(data):
        if data[position : position + 4] == b"\x0a\x0d\x0d\x0a":
            if data[position + 8 : position + 12] not in PCAPNG_BYTE_ORDER:
                return
            order = PCAPNG_BYTE_ORDER[data[position + 8 : position + 12]]
        kind, length = struct.unpack_from(order + "II", data, position)
        if length < 12 or length % 4 or length > MAX_BLOCK or position + length > len(data):
            return
        yield position, position + length, kind
        position += length


def whole(data: bytes) -> bool:
    """Whether the records or blocks run exactly to the end of the file."""
    ends = [end for _, end, _ in blocks(data)]
    return (ends[-1] if ends else 24 if data[:4] in PCAP_MAGICS else 0) == len(data)


def is_capture_header(data: bytes) -> bool:
    if data[:4] in PCAP_MAGICS:
        return len(data) >= 24
    return data[:4] == b"\x0a\x0d\x0d\x0a" and data[8:12] in PCAPNG_BYTE_ORDER


# --- the properties ------------------------------------------------------------------------


def check(data: bytes, tmp_path: Path) -> tuple[pl.DataFrame, SourceReport] | None:
    """Parse ``data``; assert everything that must hold whatever the bytes. None: ParseError."""
    path = tmp_path / "fuzz.cap"
    path.write_bytes(data)
    try:
        events, report = parse_capture(path, "fuzz.cap")
    except ParseError as exc:
        assert exc.path == "fuzz.cap"
        assert not is_capture_header(data), f"ParseError for a file with a capture header: {exc}"
        return None
    assert events.schema == pl.Schema(EVENT_SCHEMA)
    assert conform(events).equals(events)
    frames = events[RECORD]
    assert frames.null_count() == 0
    if events.height:
        assert 1 <= frames.min() <= frames.max() <= report.records  # type: ignore[operator]
    assert report.records >= 0 and report.skipped >= 0
    assert report.errors_total >= len(report.errors)
    for error in report.errors:
        record = error["record"]
        assert record is None or 1 <= record <= report.records + report.skipped + 1, error
        assert isinstance(error["reason"], str) and error["reason"]
    json.dumps(report.to_json())
    return events, report


def error_frames(report: SourceReport) -> list[int | None]:
    return [error["record"] for error in report.errors]


@FUZZ
@given(data=st.binary(max_size=2048))
def test_random_bytes(data: bytes, tmp_path: Path) -> None:
    check(data, tmp_path)


PCAP_HEADERS = [
    magic + struct.pack(order + "HHiIII", 2, 4, 0, 0, 65535, link)
    for magic, (order, _) in PCAP_MAGICS.items()
    for link in (0, 1, 101, 113, 276)
]
PCAPNG_HEADERS = [HAND_PCAPNG[:end] for _, end, kind in blocks(HAND_PCAPNG) if kind == IDB]


@FUZZ
@given(
    head=st.sampled_from([*PCAP_HEADERS, *PCAPNG_HEADERS]),
    tail=st.binary(min_size=1, max_size=1024),
)
def test_garbage_after_a_valid_header(head: bytes, tail: bytes, tmp_path: Path) -> None:
    data = head + tail
    result = check(data, tmp_path)
    assert result is not None
    _, report = result
    if not whole(data):
        # The walk stopped before the end: the report says where.
        assert report.records + 1 in error_frames(report)


@st.composite
def mutated_captures(draw: st.DrawFn) -> bytes:
    """A seed cut anywhere, another spliced on at any offset, then bytes flipped."""
    seed, other = draw(st.sampled_from(SEEDS)), draw(st.sampled_from(SEEDS))
    cut, splice = draw(st.integers(0, 200_000)), draw(st.integers(0, 200_000))
    flips = draw(st.lists(st.tuples(st.integers(0, 200_000), st.integers(0, 255)), max_size=12))
    data = bytearray(seed[:cut] + other[splice:])
    for position, value in flips:
        if data:
            data[position % len(data)] = value
    return bytes(data)


@FUZZ
@given(data=mutated_captures())
def test_mutated_captures(data: bytes, tmp_path: Path) -> None:
    check(data, tmp_path)


def packet_count_before(data: bytes, cut: int) -> tuple[int, bool, bool]:
    """For ``data`` cut at ``cut``: whole packets kept, whether the cut is between blocks, and
    whether it falls inside a packet block past its first 12 bytes (where the walk can tell)."""
    layout = list(blocks(data))
    kept = sum(1 for _, end, kind in layout if end <= cut and kind in PACKET_BLOCKS)
    between = cut in {end for _, end, _ in layout} | {24 if data[:4] in PCAP_MAGICS else 0}
    inside = any(
        kind in PACKET_BLOCKS and start + (1 if data[:4] in PCAP_MAGICS else 12) <= cut < end
        for start, end, kind in layout
    )
    return kept, between, inside


def assert_truncation_reported(
    data: bytes, cut: int, records: int, frames: list[int | None], skipped: int
) -> None:
    kept, between, inside = packet_count_before(data, cut)
    assert records == kept
    if between:
        assert (frames, skipped) == ([], 0)
    else:
        assert kept + 1 in frames
        assert skipped == (1 if inside else 0)


@pytest.mark.parametrize("name", ["hand.pcap", "hand.pcapng", "sample"])
def test_walk_cut_at_every_offset(name: str, tmp_path: Path) -> None:
    """The walk and header decode of every prefix: the same packets as the whole file, and the
    loss reported at the first missing frame."""
    data = {"hand.pcap": HAND_PCAP, "hand.pcapng": HAND_PCAPNG, "sample": SMALL_SAMPLE}[name]
    path = tmp_path / name
    path.write_bytes(data)
    full = decode_packets(open_records(path, name)).frame
    decoded = set()
    for cut in range(len(data) + 1):
        path.write_bytes(data[:cut])
        try:
            records = open_records(path, name)
        except ParseError:
            assert not is_capture_header(data[:cut])
            continue
        frames = [frame for frame, _ in records.problems]
        assert_truncation_reported(data, cut, len(records), frames, records.skipped)
        if len(records) not in decoded:  # the same whole records decode the same way
            decoded.add(len(records))
            assert decode_packets(records).frame.equals(full.head(len(records))), cut


@FUZZ
@given(seed=st.sampled_from(SEEDS), fraction=st.floats(0, 1))
def test_parse_cut_at_a_random_offset(seed: bytes, fraction: float, tmp_path: Path) -> None:
    cut = round(len(seed) * fraction)
    result = check(seed[:cut], tmp_path)
    if result is None:
        return
    walked = open_records(tmp_path / "fuzz.cap", "fuzz.cap")
    lost_at = [frame for frame, _ in walked.problems]
    assert_truncation_reported(seed, cut, len(walked), lost_at, walked.skipped)
    # The report carries what the walk found (dissectors may add problems of their own).
    _, report = result
    assert (report.records, report.skipped) == (len(walked), walked.skipped)
    assert set(lost_at) <= set(error_frames(report))


@FUZZ
@given(seed=st.sampled_from(SEEDS), pick=st.integers(0, 10_000), times=st.integers(1, 3))
def test_repeated_block(seed: bytes, pick: int, times: int, tmp_path: Path) -> None:
    """A record or block (other than a section header) repeated: more packets, nothing lost."""
    layout = [(start, end, kind) for start, end, kind in blocks(seed) if kind != SHB]
    start, end, kind = layout[pick % len(layout)]
    data = seed[:end] + seed[start:end] * times + seed[end:]
    result = check(data, tmp_path)
    assert result is not None
    packets = sum(1 for *_, k in layout if k in PACKET_BLOCKS)
    assert result[1].records == packets + (times if kind in PACKET_BLOCKS else 0)
    walked = open_records(tmp_path / "fuzz.cap", "fuzz.cap")
    assert (walked.problems, walked.skipped) == ([], 0)


def test_two_pcapng_files_back_to_back_are_two_sections(tmp_path: Path) -> None:
    first, second = check(HAND_PCAPNG, tmp_path), check(HAND_PCAPNG + HAND_PCAPNG, tmp_path)
    assert first is not None and second is not None
    assert second[1].records == 2 * first[1].records
    assert (second[1].skipped, second[1].errors) == (0, [])


def test_a_record_claiming_a_gigabyte_stops_the_walk_with_its_frame(tmp_path: Path) -> None:
    data = bytearray(HAND_PCAP)
    third = list(blocks(HAND_PCAP))[2][0]
    data[third + 8 : third + 12] = struct.pack("<I", 2**30)
    result = check(bytes(data), tmp_path)
    assert result is not None
    assert (result[1].records, error_frames(result[1])) == (2, [3])


# --- known crashes: minimal reproductions --------------------------------------------------


def test_dns_query_without_a_timestamp(tmp_path: Path) -> None:
    """A query in a Simple Packet Block has no time: the answer has no response time."""
    query, answer = (frame[14:] for frame in conversation()[5:7])
    data = pcapng_with_idb(struct.pack(">HHI", 101, 0, 0))
    data += block(SPB, struct.pack(">I", len(query)) + query)
    data += block(
        EPB,
        struct.pack(">IIIII", 0, T0_US >> 32, T0_US & 0xFFFFFFFF, len(answer), len(answer))
        + answer,
    )
    checked = check(data, tmp_path)
    assert checked is not None
    answer_event = checked[0].filter(pl.col("event.action") == "dns-answer").row(0, named=True)
    assert answer_event["event.duration"] is None
    assert " ms" not in answer_event["message"]


def pcapng_with_idb(idb_body: bytes) -> bytes:
    """A section header, then one interface description block of exactly ``idb_body``."""
    shb = HAND_PCAPNG[: next(end for _, end, kind in blocks(HAND_PCAPNG) if kind == SHB)]
    return (
        shb
        + struct.pack(">II", IDB, 12 + len(idb_body))
        + idb_body
        + struct.pack(">I", 12 + len(idb_body))
    )


def test_interface_block_too_short_for_its_fields(tmp_path: Path) -> None:
    data = pcapng_with_idb(b"")
    checked = check(data, tmp_path)
    assert checked is not None
    ((record, reason),) = [(e["record"], e["reason"]) for e in checked[1].errors]
    assert record == 1
    assert reason.startswith(f"interface description block at byte {len(data) - 12} is 12 bytes")


def test_interface_option_running_past_the_end_of_the_file(tmp_path: Path) -> None:
    data = pcapng_with_idb(struct.pack(">HHI", 101, 0, 0) + struct.pack(">HH", 14, 8))
    checked = check(data, tmp_path)
    assert checked is not None
    (reason,) = [e["reason"] for e in checked[1].errors]
    assert "option 14 claims 8 bytes, past the end of its block" in reason


def test_interface_option_past_its_block_leaves_the_next_block_alone(tmp_path: Path) -> None:
    """Inside the file, an overlong option would read the next block's bytes as its value."""
    idb = struct.pack(">HHI", 101, 0, 0) + struct.pack(">HH", 14, 8)
    packet = bytes(IP(src=CLIENT, dst=SERVER) / TCP())
    epb = block(EPB, struct.pack(">IIIII", 0, 0, 1_000_000, len(packet), len(packet)) + packet)
    checked = check(pcapng_with_idb(idb) + epb, tmp_path)
    assert checked is not None
    events, report = checked
    assert (report.records, report.skipped, len(report.errors)) == (1, 0, 1)
    assert events["@timestamp"].dt.epoch("s").to_list() == [1]  # no if_tsoffset taken from it


def test_if_tsoffset_beyond_int64_nanoseconds(tmp_path: Path) -> None:
    idb = struct.pack(">HHI", 101, 0, 0) + option(14, struct.pack(">q", 10**10)) + option(0, b"")
    packet = bytes(IP(src=CLIENT, dst=SERVER) / TCP())
    epb = block(EPB, struct.pack(">IIIII", 0, 0, 1, len(packet), len(packet)) + packet)
    data = pcapng_with_idb(idb) + epb
    checked = check(data, tmp_path)
    assert checked is not None
    events, report = checked
    assert events["@timestamp"].to_list() == [None]
    assert report.details["untimed_packets"] == 1
    ((record, reason),) = [(e["record"], e["reason"]) for e in report.errors]
    assert record == 1
    assert f"if_tsoffset of {10**10} s" in reason


def test_icmpv6_packet_too_big_with_an_mtu_past_int32(tmp_path: Path) -> None:
    """An MTU no field can hold is kept in the message, not the MTU column."""
    quoted = IPv6(src="2001:db8::10", dst="2001:db8:1::7") / TCP(sport=50000, dport=443)
    packet = IPv6(src="2001:db8::1", dst="2001:db8::10") / ICMPv6PacketTooBig(mtu=2**31) / quoted
    data = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 229)
    data += struct.pack("<IIII", 0, 0, len(bytes(packet)), len(bytes(packet))) + bytes(packet)
    checked = check(data, tmp_path)
    assert checked is not None
    icmp = checked[0].filter(pl.col("event.action") == "icmp-error").row(0, named=True)
    assert icmp["loginlens.icmp.mtu"] is None
    assert f"claimed MTU {2**31}" in icmp["message"]


def test_icmpv6_error_from_a_v4_mapped_address_stays_ipv6(tmp_path: Path) -> None:
    """An IPv6 header's ::ffff:a.b.c.d is written as IPv6, as Wireshark writes it."""
    quoted = IPv6(src="2001:db8::10", dst="2001:db8:1::7") / TCP(sport=50000, dport=443)
    sender = "::ffff:192.0.2.1"
    packet = IPv6(src=sender, dst="2001:db8::10") / ICMPv6PacketTooBig(mtu=1280) / quoted
    data = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 229)
    data += struct.pack("<IIII", 0, 0, len(bytes(packet)), len(bytes(packet))) + bytes(packet)
    checked = check(data, tmp_path)
    assert checked is not None
    icmp = checked[0].filter(pl.col("event.action") == "icmp-error").row(0, named=True)
    assert icmp["related.ip"] == sender
    assert f"from {sender}" in icmp["message"]
