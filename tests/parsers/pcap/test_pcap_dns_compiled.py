"""The compiled DNS reader (``_dns.c``) against ``parse_dns``'s Python reader, its reference.

On every input the compiled reader either gives exactly the message Python gives, or None
(and Python reads it). It must never hide a problem, and it must read well-formed messages.
"""

from __future__ import annotations

import ipaddress
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.pcap import dns, native
from tests.parsers.pcap import either_way
from tests.parsers.pcap.test_pcap_dns import (
    MIXED,
    NXDOMAIN,
    POINTER_12,
    QUERY,
    RESPONSE,
    SOA,
    cname_chain,
    header,
    name,
    question,
    rr,
)

pytestmark = pytest.mark.skipif(native.dns is None, reason="parsers.pcap._dns was not built")


def shape(message: dns.DnsMessage) -> object:
    """The message with the types of its parts, which tuple equality alone would not compare."""
    records = [
        (type(r), r) for s in (message.answers, message.authority, message.additional) for r in s
    ]
    return type(message), message, records, [type(q) for q in message.questions]


def agree(data: bytes) -> bool:
    """True if the compiled reader read ``data`` itself (and exactly as Python does); False if
    it left the message to Python (which then found something to say, or text to escape)."""
    assert native.dns is not None
    got = native.dns.parse(data)
    try:
        expected = dns._parse_dns(data)
    except dns.DnsError:
        assert got is None
        return False
    if got is None:
        return False
    assert not expected.problems
    assert shape(got) == shape(expected)
    return True


AAAA = (
    header(4, 0x8180, an=4)
    + question(name("v6.example"), 28)
    + rr(POINTER_12, 28, ipaddress.IPv6Address("2001:db8::1").packed)
    + rr(POINTER_12, 28, bytes(16))
    + rr(POINTER_12, 28, ipaddress.IPv6Address("fe80:0:0:1::").packed)
    + rr(POINTER_12, 28, ipaddress.IPv6Address("1:0:2:0:0:3:0:0").packed)
)
EMPTY_TXT = (
    header(6, 0x8180, an=1)
    + question(name("t.example"), 16)
    + rr(POINTER_12, 16, b"\x00\x00\x02ab")
)
ROOT_NAMES = (
    header(8, 0x8180, an=2)
    + question(b"\x00", 2)
    + rr(b"\x00", 2, b"\x00")
    + rr(b"\x00", 15, b"\x00\x05\x00")
)
WELL_FORMED = {
    "query": QUERY,
    "response": RESPONSE,
    "cname chain": cname_chain(),
    "nxdomain with soa": NXDOMAIN,
    "aaaa": AAAA,
    "empty txt strings": EMPTY_TXT,
    "root names": ROOT_NAMES,
    "soa answer": header(2, 0x8180, an=1) + question(name("z.example"), 6) + rr(POINTER_12, 6, SOA),
    "opt record": header(5, 0x8180, ar=1)
    + question(name("a.b"))
    + b"\x00"
    + struct.pack("!HHIH", 41, 4096, 0, 0),
}


@pytest.mark.parametrize("key", WELL_FORMED)
def test_well_formed_messages_are_read_compiled(key: str) -> None:
    assert agree(WELL_FORMED[key])


@pytest.mark.parametrize(
    "data",
    [
        MIXED,  # a TXT string with a backslash: escaped by Python
        header(1, 0x0100) + question(b"\x03a.b\x00"),  # a dot inside a label
        header(1, 0x0100) + question(b"\x03www\xc0\x40"),  # a forward pointer
        header(1, 0x0100) + question(b"\x03www\x40"),  # an extended label type
        QUERY + b"\x00",  # bytes after the last record
        QUERY[:-2],  # truncated question
        header(1, 0x0100, qd=2) + question(name("a.b")),  # a missing question
        header(1, 0x8180, an=1)
        + question(name("a.b"))
        + rr(POINTER_12, 28, b"\x00" * 10 + b"\xff\xff\x01\x02\x03\x04"),
        header(1, 0x8180, an=1) + question(name("a.b")) + rr(POINTER_12, 5, name("c.d") + b"\x00"),
        header(1, 0x0100) + question(b"\x3f" + b"a" * 63) * 5,  # over 255 octets
        b"\x12\x34\x01\x00",  # shorter than a header
    ],
)
def test_what_python_would_report_or_escape_is_left_to_it(data: bytes) -> None:
    assert not agree(data)


@settings(max_examples=400, deadline=None)
@given(
    seed=st.sampled_from([*WELL_FORMED.values(), MIXED]),
    flips=st.lists(st.tuples(st.integers(0, 10**4), st.integers(0, 255)), max_size=4),
    cut=st.integers(0, 600),
)
def test_mutated_messages_agree_or_are_left_to_python(
    seed: bytes, flips: list[tuple[int, int]], cut: int
) -> None:
    buffer = bytearray(seed)
    for where, value in flips:
        buffer[where % len(buffer)] = value
    agree(bytes(buffer[: len(buffer) - cut % 8]))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_agree_or_are_left_to_python(data: bytes) -> None:
    agree(data)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from([0, 0, 0, 1, 0xFFFF, 0xDB8, 0xABCD]), min_size=8, max_size=8))
def test_ipv6_text_is_what_ipaddress_writes(hextets: list[int]) -> None:
    address = struct.pack("!8H", *hextets)
    message = header(1, 0x8180, an=1) + question(name("a.b"), 28) + rr(POINTER_12, 28, address)
    read = agree(message)
    assert read or hextets[:6] == [0, 0, 0, 0, 0, 0xFFFF]  # IPv4-mapped: left to Python


def dns_events(path: Path, compiled: bool) -> list[dict[str, object]]:
    return either_way.events(path, "pcap.dns", "dns", compiled)


def test_sample_captures_give_the_same_dns_events_either_way() -> None:
    total = 0
    for path in either_way.sample_captures():
        expected = dns_events(path, compiled=False)
        total += len(expected)
        assert dns_events(path, compiled=True) == expected, path.name
    assert total > 0


@pytest.mark.corpus
def test_corpus_captures_give_the_same_dns_events_either_way(corpus: Path) -> None:
    read = left = 0
    for path in either_way.corpus_captures(corpus):
        assert dns_events(path, compiled=True) == dns_events(path, compiled=False), path.name
    # And the compiled reader reads real traffic itself, not only hand-made messages.
    for path in (corpus / "pcap").glob("*dns*.pcap"):
        for payload in _udp_payloads(path):
            if agree(payload):
                read += 1
            else:
                left += 1
    assert read > left, (read, left)


def _udp_payloads(path: Path) -> list[bytes]:
    from scapy.all import DNS, UDP, rdpcap

    return [bytes(p[UDP].payload) for p in rdpcap(str(path)) if DNS in p and UDP in p]
