"""The compiled loops (``parsers/pcap/_records.c``) do exactly what their Python twins do.

The walk and the header decoder run the compiled loops where the install built
them and the Python ones elsewhere, so both must give the same records,
problems, notes and packet frame on any bytes: whole captures, cut, flipped
and spliced ones, and random bytes behind a capture header.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import (
    ICMPv6DestUnreach,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
)
from scapy.layers.ipsec import AH
from scapy.layers.l2 import Dot1AD, Dot1Q, Ether

from parsers.pcap import native, walk
from parsers.pcap.packets import COLUMNS, decode_packets
from tests.parsers.pcap.test_pcap_fuzz import SEEDS, mutated_captures

pytestmark = pytest.mark.timeout(120)

SAME = settings(
    max_examples=60,
    deadline=timedelta(seconds=10),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Taken before any test swaps it out.
COMPILED = native.compiled
# Not ``prefix``: the walk keeps the packets' first bytes only for numpy's decoder.
ARRAYS = ("offset", "caplen", "origlen", "ts_ns", "interface")


def test_the_install_built_the_compiled_loops() -> None:
    # Optional in pyproject.toml so that an install without a C compiler still works; CI has
    # one, so a build that silently failed shows here.
    assert COMPILED is not None


@pytest.mark.parametrize("wrong", ["columns", "sizes", "lengths"])
def test_decode_refuses_arrays_that_do_not_fit(wrong: str) -> None:
    assert COMPILED is not None
    count = 4
    arrays = [np.zeros(count, dtype) for dtype in COLUMNS.values()]
    offsets = np.zeros(count, np.int64)
    caplens = np.zeros(count if wrong != "lengths" else count - 1, np.int64)
    if wrong == "columns":
        arrays.pop()
    elif wrong == "sizes":
        arrays[5] = np.zeros(count - 1, arrays[5].dtype)
    with pytest.raises(ValueError, match="wrong size"):
        COMPILED.decode(np.zeros(64, np.uint8), offsets, caplens, offsets, tuple(arrays))


def read_both_ways(
    data: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[object, object]:
    path = tmp_path / "capture"
    path.write_bytes(data)
    outcomes = []
    for compiled in (COMPILED, None):
        monkeypatch.setattr(native, "compiled", compiled)
        try:
            records = walk.open_records(path, "capture")
        except Exception as exc:  # compared, not judged: the fuzz tests judge what is raised
            outcomes.append(("raised", type(exc).__name__, str(exc)))
            continue
        packets = decode_packets(records)
        outcomes.append(
            (
                *(getattr(records, name) for name in ARRAYS),
                records.interfaces,
                records.problems,
                records.skipped,
                packets.notes,
                packets.frame,
            )
        )
    return outcomes[0], outcomes[1]


def assert_same(data: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, slow = read_both_ways(data, tmp_path, monkeypatch)
    assert type(fast) is type(slow)
    if isinstance(fast, tuple) and isinstance(fast[0], str):  # ("raised", name, message)
        assert fast == slow
        return
    assert isinstance(fast, tuple) and isinstance(slow, tuple)
    names = (*ARRAYS, "interfaces", "problems", "skipped", "notes")
    for name, mine, theirs in zip(names, fast, slow, strict=False):
        if isinstance(mine, np.ndarray) or isinstance(theirs, np.ndarray):
            assert np.array_equal(mine, theirs), name
        else:
            assert mine == theirs, name
    assert fast[-1].equals(slow[-1])


@SAME
@given(data=mutated_captures())
def test_mutated_captures_read_alike(
    data: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_same(data, tmp_path, monkeypatch)


@SAME
@given(
    head=st.sampled_from([seed[:24] for seed in SEEDS if seed[:4] in walk.PCAP_MAGICS]),
    big_endian=st.booleans(),
    tail=st.binary(max_size=4096),
)
def test_random_records_behind_a_pcap_header_read_alike(
    head: bytes, big_endian: bool, tail: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if big_endian:  # the same header in the other byte order
        magic, major, minor, zone, sigfigs, snaplen, network = struct.unpack("<IHHiIII", head)
        head = struct.pack(">IHHiIII", magic, major, minor, zone, sigfigs, snaplen, network)
    assert_same(head + tail, tmp_path, monkeypatch)


# Headers of every kind the decoder reads: VLAN tags, IPv4 options and fragments, IPv6
# extension headers (hop-by-hop, destination options, fragment, AH), TCP options, ICMP errors.
V4, V6 = IP(src="192.0.2.1", dst="198.51.100.2"), IPv6(src="2001:db8::1", dst="2001:db8::2")
NETWORK = [
    V4 / TCP(sport=443, dport=50000, flags="SA", options=[("MSS", 1400)]),
    IP(src="192.0.2.1", dst="198.51.100.2", options=b"\x01\x01\x01\x00") / UDP() / b"hi",
    IP(src="192.0.2.1", dst="198.51.100.2", flags="MF", frag=0) / UDP() / bytes(40),
    IP(src="192.0.2.1", dst="198.51.100.2", frag=5) / bytes(30),
    V4 / ICMP(type=3, code=4) / IP(src="198.51.100.2", dst="192.0.2.1") / TCP(),
    V6
    / IPv6ExtHdrHopByHop()
    / AH(nh=17, payloadlen=4, spi=1, icv=bytes(12))
    / UDP(dport=53)
    / b"q",
    V6 / IPv6ExtHdrDestOpt() / IPv6ExtHdrFragment(offset=0, m=1) / TCP(flags="S"),
    V6 / IPv6ExtHdrFragment(offset=1) / bytes(16),
    V6 / ICMPv6DestUnreach() / IPv6() / UDP(),
]
LINKS: dict[int, Callable[[bytes, bool], bytes]] = {
    1: lambda ip, v6: bytes(Ether(type=0x86DD if v6 else 0x0800) / ip),
    101: lambda ip, v6: ip,
    113: lambda ip, v6: bytes(14) + (b"\x86\xdd" if v6 else b"\x08\x00") + ip,
    276: lambda ip, v6: (b"\x86\xdd" if v6 else b"\x08\x00") + bytes(18) + ip,
    0: lambda ip, v6: struct.pack("<I", 24 if v6 else 2) + ip,
    108: lambda ip, v6: struct.pack(">I", 24 if v6 else 2) + ip,
}


def tagged(ip: bytes, v6: bool, tags: int) -> bytes:
    frame = Ether() / Dot1AD(vlan=10) / Dot1Q(vlan=20) if tags == 2 else Ether() / Dot1Q(vlan=7)
    frame.lastlayer().type = 0x86DD if v6 else 0x0800
    return bytes(frame) + ip


@SAME
@given(
    linktype=st.sampled_from([*LINKS, 1001, 1002]),
    picks=st.lists(st.tuples(st.integers(0, len(NETWORK) - 1), st.integers(0, 2)), max_size=12),
    cuts=st.lists(st.integers(0, 120), max_size=12),
    flips=st.lists(st.tuples(st.integers(0, 4000), st.integers(0, 255)), max_size=6),
)
def test_every_header_kind_decodes_alike(
    linktype: int,
    picks: list[tuple[int, int]],
    cuts: list[int],
    flips: list[tuple[int, int]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Packets of one link type (1001, 1002: VLAN-tagged Ethernet), some cut short by caplen."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262_144, linktype % 1000)]
    for index, (pick, repeat) in enumerate(picks):
        ip = bytes(NETWORK[pick])
        v6 = ip[0] >> 4 == 6
        frame = tagged(ip, v6, linktype - 1000) if linktype > 1000 else LINKS[linktype](ip, v6)
        frame = frame * (repeat + 1) if repeat == 2 else frame
        caplen = min(len(frame), cuts[index]) if index < len(cuts) else len(frame)
        out.append(struct.pack("<IIII", 1_748_779_200, index, caplen, len(frame)) + frame[:caplen])
    data = bytearray(b"".join(out))
    for position, value in flips:
        if len(data) > 24:
            data[24 + position % (len(data) - 24)] = value
    assert_same(bytes(data), tmp_path, monkeypatch)


@SAME
@given(
    size=st.integers(0, 300),
    width=st.integers(0, 100),
    starts=st.lists(st.integers(0, 500), max_size=50),
)
def test_gather_alike(size: int, width: int, starts: list[int]) -> None:
    buffer = np.arange(size, dtype=np.uint64).astype(np.uint8)
    positions = np.asarray(starts, dtype=np.int64)
    assert np.array_equal(
        walk.gather(buffer, positions, width), walk._gather_python(buffer, positions, width)
    )


@pytest.mark.corpus
def test_corpus_captures_read_alike(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    captures = [p for p in sorted((corpus / "pcap").glob("*.pcap*")) if p.suffix != ".txt"]
    assert captures
    for path in captures:
        assert_same(path.read_bytes(), tmp_path, monkeypatch)
