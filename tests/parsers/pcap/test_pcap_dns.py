"""DNS dissection: hand-built messages, hostile names, real captures checked against tshark."""

from __future__ import annotations

import struct
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.pcap.dns import DnsError, DnsMessage, parse_dns, split_tcp_dns

FUZZ = settings(max_examples=300, deadline=None)


def header(ident: int, flags: int, qd: int = 1, an: int = 0, ns: int = 0, ar: int = 0) -> bytes:
    return struct.pack("!HHHHHH", ident, flags, qd, an, ns, ar)


def name(text: str) -> bytes:
    return b"".join(bytes([len(label)]) + label.encode() for label in text.split(".")) + b"\0"


def question(owner: bytes, qtype: int = 1) -> bytes:
    return owner + struct.pack("!HH", qtype, 1)


def rr(owner: bytes, rtype: int, rdata: bytes, ttl: int = 300) -> bytes:
    return owner + struct.pack("!HHIH", rtype, 1, ttl, len(rdata)) + rdata


def pointer(offset: int) -> bytes:
    return struct.pack("!H", 0xC000 | offset)


def cname_chain() -> bytes:
    message = header(7, 0x8180, an=4) + question(name("www.example.com"))
    alias_at = len(message) + 2 + 10  # after the owner pointer and the fixed fields
    message += rr(POINTER_12, 5, name("alias.example.net"), ttl=60)
    edge_at = len(message) + 2 + 10
    message += rr(pointer(alias_at), 5, b"\x04edge" + pointer(alias_at + 6))  # edge.example.net
    message += rr(pointer(edge_at), 1, bytes([192, 0, 2, 1]), ttl=20)
    return message + rr(pointer(edge_at), 1, bytes([192, 0, 2, 2]), ttl=20)


POINTER_12 = b"\xc0\x0c"  # the question name in every message below
SOA = name("a.root-servers.net") + name("nstld.verisign-grs.com")
SOA += struct.pack("!IIIII", 2024010101, 1800, 900, 604800, 86400)
NXDOMAIN = header(9, 0x8183, ns=1) + question(name("no.such.host")) + rr(b"\0", 6, SOA, ttl=900)
MIXED = (
    header(3, 0x8400, an=6)
    + question(name("x.example"), 16)
    + rr(POINTER_12, 16, b"\x0bv=spf1 -all" + b"\x05a\\b\x01c")
    + rr(POINTER_12, 15, b"\x00\x0a" + name("mail.example.org"))
    + rr(POINTER_12, 33, struct.pack("!HHH", 1, 5, 443) + POINTER_12)
    + rr(POINTER_12, 12, name("host.example"))
    + rr(POINTER_12, 4321, b"\xde\xad")
    + rr(POINTER_12, 1, b"\x01\x02")  # A with a wrong length falls back to hex
)
QUERY = header(0x1234, 0x0100) + question(name("www.example.com"))
RESPONSE = (
    header(0x1234, 0x8180, an=1)
    + question(name("www.example.com"))
    + rr(POINTER_12, 1, bytes([93, 184, 216, 34]))
)


def test_query() -> None:
    message = parse_dns(QUERY)
    assert (message.id, message.response, message.opcode, message.rd, message.ra) == (
        0x1234, False, 0, True, False,
    )  # fmt: skip
    assert (message.qname, message.qtype, message.rcode_name) == ("www.example.com", "A", "NOERROR")
    assert message.answers == message.authority == message.additional == ()
    assert message.problems == ()


def test_response_with_compressed_answer() -> None:
    message = parse_dns(RESPONSE)
    assert message.response and message.ra and not message.aa and not message.tc
    (answer,) = message.answers
    assert (answer.name, answer.type, answer.rclass, answer.ttl, answer.data) == (
        "www.example.com", "A", 1, 300, "93.184.216.34",
    )  # fmt: skip
    assert message.problems == ()


def test_cname_chain_with_a_records() -> None:
    parsed = parse_dns(cname_chain())
    assert [(r.name, r.type, r.ttl, r.data) for r in parsed.answers] == [
        ("www.example.com", "CNAME", 60, "alias.example.net"),
        ("alias.example.net", "CNAME", 300, "edge.example.net"),
        ("edge.example.net", "A", 20, "192.0.2.1"),
        ("edge.example.net", "A", 20, "192.0.2.2"),
    ]
    assert parsed.problems == ()


def test_aaaa_in_compressed_form() -> None:
    address = bytes.fromhex("20010db8000000000000000000000001")
    message = parse_dns(
        header(1, 0x8180, an=1) + question(name("v6.example"), 28) + rr(POINTER_12, 28, address)
    )
    assert (message.qtype, message.answers[0].type, message.answers[0].data) == (
        "AAAA", "AAAA", "2001:db8::1",
    )  # fmt: skip


def test_nxdomain_with_soa_in_authority() -> None:
    message = parse_dns(NXDOMAIN)
    assert message.rcode_name == "NXDOMAIN" and message.answers == ()
    (record,) = message.authority
    assert (record.name, record.type, record.ttl) == ("<Root>", "SOA", 900)
    assert record.data == (
        "a.root-servers.net nstld.verisign-grs.com 2024010101 1800 900 604800 86400"
    )


def test_txt_mx_srv_ptr_and_unknown_types() -> None:
    message = parse_dns(MIXED)
    assert message.aa
    assert [(r.type, r.data) for r in message.answers] == [
        ("TXT", "v=spf1 -all a\\\\b\\001c"),
        ("MX", "10 mail.example.org"),
        ("SRV", "1 5 443 x.example"),
        ("PTR", "host.example"),
        ("TYPE4321", "dead"),
        ("A", "0102"),
    ]
    assert message.problems == ()


def test_rcode_and_opt_record() -> None:
    opt = b"\0" + struct.pack("!HHIH", 41, 1232, 0, 0)
    message = parse_dns(header(5, 0x800B, ar=1) + question(name("a.b")) + opt)
    assert message.rcode_name == "RCODE11"
    (record,) = message.additional
    assert (record.name, record.type, record.rclass, record.data) == ("<Root>", "OPT", 1232, "")


def test_pointer_loop_terminates_with_a_problem() -> None:
    # Opaque RDATA at X holds "z" + pointer to X+4, and at X+4 a pointer back to X.
    message = header(1, 0x8180, qd=0, an=2)
    loop_at = len(message) + 1 + 10
    message += rr(b"\0", 65280, b"\x01z" + pointer(loop_at + 4) + pointer(loop_at))
    message += rr(pointer(loop_at + 4), 1, bytes(4))
    parsed = parse_dns(message)
    assert [r.name for r in parsed.answers] == ["<Root>", "z"]
    assert parsed.problems == (
        f"answer 2: compression pointer at offset {loop_at + 2} does not point backwards",
    )


def test_pointer_chain_is_capped() -> None:
    # A root label then 70 pointers, each to the one before, then a CNAME to the last.
    message = header(1, 0x8180, qd=0, an=2)
    root_at = len(message) + 1 + 10
    chain = b"\0" + pointer(root_at)
    chain += b"".join(pointer(root_at + 1 + 2 * i) for i in range(69))
    message += rr(b"\0", 65280, chain)
    message += rr(b"\0", 5, pointer(root_at + 1 + 2 * 69))
    parsed = parse_dns(message)
    assert [(r.type, r.data) for r in parsed.answers] == [
        ("TYPE65280", chain.hex()),
        ("CNAME", "<Root>"),
    ]
    assert parsed.problems == ("answer 2: more than 64 compression pointers",)


def test_forward_pointer_keeps_the_labels_read() -> None:
    message = parse_dns(header(1, 0x0100) + b"\x03www\xc0\x40" + struct.pack("!HH", 1, 1))
    assert message.qname == "www"
    assert message.problems == (
        "question 1: compression pointer at offset 16 does not point backwards",
    )


def test_truncated_messages() -> None:
    with pytest.raises(DnsError):
        parse_dns(b"\x12\x34\x01\x00")
    with pytest.raises(DnsError):
        parse_dns(header(1, 0x0100))  # counts one question, carries none
    with pytest.raises(DnsError):
        parse_dns(QUERY[:-2])  # question type without class
    assert parse_dns(header(1, 0x0100, qd=0)).questions == ()
    message = parse_dns(RESPONSE + rr(POINTER_12, 1, bytes(4))[:-2])
    assert len(message.answers) == 1  # the header counts one answer; the rest is trailing
    assert message.problems == ("14 bytes after the last record",)
    cut = parse_dns(header(1, 0x8180, an=3) + RESPONSE[12:] + rr(POINTER_12, 1, bytes(4))[:-1])
    assert len(cut.answers) == 1
    assert cut.problems == ("answer 2: rdata runs past the end of the message",)


def test_label_with_dot_backslash_and_control_byte() -> None:
    owner = b"\x05a.b\x07\\" + b"\x03com\0"
    message = parse_dns(header(1, 0x0100) + question(owner))
    assert message.qname == "a\\.b\\007\\\\.com"


def test_name_longer_than_255_octets_keeps_its_prefix() -> None:
    label = b"\x3f" + b"x" * 63
    owner = label * 5 + b"\0"  # 321 octets
    message = parse_dns(header(1, 0x0100, qd=2) + question(owner) + question(name("ok.example")))
    assert message.questions[0][0] == ".".join(["x" * 63] * 3)
    assert message.questions[1] == ("ok.example", "A")  # the long name's end was still found
    assert message.problems == ("question 1: name exceeds 255 octets at offset 204",)


def test_extended_label_types() -> None:
    with pytest.raises(DnsError):
        parse_dns(header(1, 0x0100) + b"\x41abc\0" + struct.pack("!HH", 1, 1))
    parsed = parse_dns(header(1, 0x8180, an=2) + RESPONSE[12:] + b"\x80xyz")
    assert len(parsed.answers) == 1
    assert parsed.problems == (f"answer 2: extended label type 0x80 at offset {len(RESPONSE)}",)


def test_trailing_bytes_are_reported() -> None:
    assert parse_dns(QUERY + b"\x00\x01").problems == ("2 bytes after the last record",)


def test_split_tcp_dns() -> None:
    stream = struct.pack("!H", len(QUERY)) + QUERY + struct.pack("!H", len(RESPONSE)) + RESPONSE
    messages, tail = split_tcp_dns(stream + b"\x00\x40\x12")
    assert messages == [QUERY, RESPONSE]
    assert tail == b"\x00\x40\x12"
    assert split_tcp_dns(b"\x00") == ([], b"\x00")
    assert split_tcp_dns(b"\x00\x00\x00\x01") == ([b""], b"\x00\x01")
    assert [parse_dns(m).qname for m in messages] == ["www.example.com", "www.example.com"]


# Hypothesis: nothing but DnsError, however the bytes are damaged.

SEEDS = [QUERY, RESPONSE, cname_chain(), NXDOMAIN, MIXED]


def check(data: bytes) -> None:
    try:
        message = parse_dns(data)
    except DnsError:
        return
    assert isinstance(message, DnsMessage)
    assert message.rcode_name and (message.qname is None) == (message.questions == ())
    for record in message.answers + message.authority + message.additional:
        assert isinstance(record.data, str) and record.name and record.type


@FUZZ
@given(st.binary(max_size=600))
def test_random_bytes(data: bytes) -> None:
    check(data)
    messages, tail = split_tcp_dns(data)
    assert sum(2 + len(m) for m in messages) + len(tail) == len(data)


@FUZZ
@given(
    seed=st.sampled_from(SEEDS),
    flips=st.lists(st.tuples(st.integers(0, 300), st.integers(0, 255)), max_size=8),
    cut=st.integers(0, 300),
)
def test_mutated_messages(seed: bytes, flips: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(seed[: max(cut, 12)])
    for position, value in flips:
        data[position % len(data)] = value
    check(bytes(data))


# Real captures: facts read off tshark 4.0.17 (`-T fields -e dns.*`), hard-coded below.


def udp_messages(path: Path) -> list[DnsMessage]:
    from scapy.all import UDP, rdpcap  # type: ignore[attr-defined]

    return [parse_dns(bytes(packet[UDP].payload)) for packet in rdpcap(str(path)) if UDP in packet]


def records(message: DnsMessage) -> list[tuple[str, str, int, str]]:
    every = message.answers + message.authority + message.additional
    return [(r.name, r.type, r.ttl, r.data) for r in every]


@pytest.mark.corpus
def test_corpus_nxdomain_and_refused(corpus: Path) -> None:
    query, answer = udp_messages(corpus / "pcap" / "arkime-dns-error.pcap")
    assert (query.id, query.response, answer.id, answer.qname, answer.rcode_name) == (
        0xA9BA, False, 0xA9BA, "no.such.host", "NXDOMAIN",
    )  # fmt: skip
    assert answer.answers == () and answer.problems == ()
    assert records(answer) == [
        ("<Root>", "SOA", 300,
         "a.root-servers.net nstld.verisign-grs.com 2014031101 1800 900 604800 86400"),
    ]  # fmt: skip
    query, answer = udp_messages(corpus / "pcap" / "arkime-dns-flags0000.pcap")
    assert (answer.id, answer.qname, answer.qtype, answer.rcode_name) == (
        0xB2B5, "flashservice.adobe.com", "A", "REFUSED",
    )  # fmt: skip
    assert records(answer) == [] and answer.problems == ()


@pytest.mark.corpus
def test_corpus_same_id_two_resolvers(corpus: Path) -> None:
    messages = udp_messages(corpus / "pcap" / "arkime-dns-udp.pcap")
    assert [(m.id, m.response, m.qname, m.qtype) for m in messages] == [
        (0xE039, False, "www.github.com", "A"),
        (0xE039, True, "www.github.com", "A"),
        (0xE039, False, "www.github.com", "A"),
        (0xE039, True, "www.github.com", "A"),
        (0xCAA6, False, "10.100.10.10.in-addr.arpa", "ANY"),
    ]
    first, second = messages[1], messages[3]
    assert (len(first.answers), len(first.authority), len(first.additional)) == (2, 4, 4)
    # tshark: dns.a and dns.resp.ttl, in record order.
    assert [r.data for r in first.answers + first.additional if r.type == "A"] == [
        "192.30.252.128", *["10.2.95.12"] * 4,
    ]  # fmt: skip
    assert [r.data for r in second.answers + second.additional if r.type == "A"] == [
        "192.30.252.130", *["10.2.95.12"] * 4,
    ]  # fmt: skip
    assert [r.ttl for r in first.answers + first.authority + first.additional] == [
        1980, 4, 328, 328, 328, 328, 3600, 3600, 3600, 3600,
    ]  # fmt: skip
    assert [r.ttl for r in second.answers + second.authority + second.additional] == [
        3600, 30, 327, 327, 327, 327, 3600, 3600, 3600, 3600,
    ]  # fmt: skip
    assert (first.answers[0].type, first.answers[0].data) == ("CNAME", "github.com")
    assert [r.data for r in first.authority] == [
        "ns3.p16.dynect.net", "ns2.p16.dynect.net", "ns4.p16.dynect.net", "ns1.p16.dynect.net",
    ]  # fmt: skip
    assert records(messages[4]) == [("<Root>", "OPT", 32768, "")]
    assert all(m.problems == () for m in messages)


@pytest.mark.corpus
def test_corpus_dynamic_update(corpus: Path) -> None:
    update, answer = udp_messages(corpus / "pcap" / "arkime-dns-update.pcap")
    assert (update.opcode, update.qname, update.qtype, answer.opcode, answer.rcode_name) == (
        5, "xxxxxxxxx.com", "SOA", 5, "NOTIMP",
    )  # fmt: skip
    owner = "xxxxxxxxxxxxxx.xxxxxxx.xxxx.xxxxxxxxx.com"
    assert records(update) == [
        (owner, "CNAME", 0, ""), (owner, "AAAA", 0, ""), (owner, "A", 0, ""),
        (owner, "A", 1200, "10.0.0.1"),
    ]  # fmt: skip
    assert len(records(answer)) == 3
    # tshark: "Extraneous Data (16 bytes)": a record the header does not count.
    assert answer.problems == ("16 bytes after the last record",)


@pytest.mark.corpus
def test_corpus_two_responses(corpus: Path) -> None:
    query, first, second = udp_messages(corpus / "pcap" / "zeek-dns-two-responses.pcap")
    assert (query.id, first.id, second.id) == (0x5294, 0x5294, 0x5294)
    assert records(first) == records(second)
    every = records(first)
    assert [data for _, kind, _, data in every if kind == "A"] == [
        "128.2.10.163", "128.2.1.8", "128.237.148.168",
    ]  # fmt: skip
    assert [data for _, kind, _, data in every if kind == "AAAA"] == ["2607:fb28::4"]
    assert [data for _, kind, _, data in every if kind == "CNAME"] == [
        "WWW-CMU.ANDREW.cmu.edu", "WWW-CMU-2.ANDREW.cmu.edu",
    ]  # fmt: skip
    assert [ttl for _, kind, ttl, _ in every if kind != "OPT"] == [
        86400, 86400, 5, 21600, 86400, 86400, 86400, 86400, 86400,
    ]  # fmt: skip


@pytest.mark.corpus
def test_corpus_malformed_names(corpus: Path) -> None:
    messages = udp_messages(corpus / "pcap" / "ndpi-malformed_dns.pcap")
    assert len(messages) == 6
    for message in messages[1:3] + messages[4:6]:
        # tshark shows question 2 and the CNAME target as "<Name too long>"; we keep the
        # labels that fit in 255 octets and say so in problems.
        assert [q[1] for q in message.questions] == ["A", "A"]
        assert message.qname == "www.xt.com"
        assert message.questions[1][0].startswith("A" * 34 + ".\\000\\000\\000\\000???")
        assert [(r.type, r.ttl) for r in message.answers] == [("A", 0), ("CNAME", 0)]
        assert message.answers[0].data == "66.66.66.66"
        assert message.problems == (
            "question 2: name exceeds 255 octets at offset 255",
            "answer 2: name exceeds 255 octets at offset 383",
        )


@pytest.mark.corpus
def test_corpus_tunnelling_rcodes(corpus: Path) -> None:
    messages = udp_messages(corpus / "pcap" / "ndpi-bad-dns-traffic.pcap")
    assert len(messages) == 382
    # tshark: 220 queries, 159 NOERROR and 3 SERVFAIL responses; dns.qry.type 5, 15, 16.
    assert Counter((m.response, m.rcode_name) for m in messages) == {
        (False, "NOERROR"): 220, (True, "NOERROR"): 159, (True, "SERVFAIL"): 3,
    }  # fmt: skip
    assert Counter(m.qtype for m in messages) == {"CNAME": 135, "MX": 118, "TXT": 129}
    assert all(m.problems == () and m.qname.endswith(".skullseclabs.org") for m in messages)  # type: ignore[union-attr]
    assert messages[0].qname == (
        "05e100a621c3620001636f6e736f6c65202873697276696d65732900.skullseclabs.org"
    )
    assert messages[2].answers[0].data == "10 634f00a621010a0000.skullseclabs.org"


@pytest.mark.corpus
def test_corpus_app_traffic_dns(corpus: Path) -> None:
    from scapy.all import UDP, rdpcap  # type: ignore[attr-defined]

    packets = rdpcap(str(corpus / "pcap" / "ndpi-1kxun.pcap"))
    found = {
        number: parse_dns(bytes(packet[UDP].payload))
        for number, packet in enumerate(packets, start=1)
        if UDP in packet and 53 in (packet[UDP].sport, packet[UDP].dport)
    }
    answers = {
        number: (m.qname, [r.data for r in m.answers if r.type == "A"],
                 [r.data for r in m.answers if r.type == "CNAME"])
        for number, m in found.items() if m.response
    }  # fmt: skip
    assert len(found) == 17
    assert answers == {
        21: ("jp.kankan.1kxun.mobi", ["106.185.35.110", "106.185.35.112"], []),
        56: ("kankan.1kxun.com", ["222.73.254.167", "222.73.254.113"], []),
        59: ("kankan.1kxun.com", ["222.73.254.113", "222.73.254.167"], []),
        71: ("pic.1kxun.com",
             ["106.187.35.246", "128.199.186.232", "128.199.111.169", "106.186.19.58"], []),
        474: ("vv.video.qq.com", ["203.205.151.234"], ["proxy-set1.video.qq.com"]),
        859: ("dl-obs.official.line.naver.jp", ["203.69.81.73", "203.69.81.66", "61.220.62.218"],
              ["dl-obs.official.line.naver.jp.edgesuite.net",
               "cac-dl-obs.official.line.naver.jp.line-zero.akadns.net", "a1867.g2.akamai.net"]),
    }  # fmt: skip
    assert all(m.problems == () and m.rcode_name == "NOERROR" for m in found.values())
