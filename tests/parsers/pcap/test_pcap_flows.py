"""Flows: Community ID against the spec's vectors, Zeek-style history and states, RTT, counters.

Conversations are scripted packet by packet (scapy builds the headers, the
sequence numbers follow from what each side sent) and parsed through
``parse_capture``; each test reads back the one ``connection`` event of the
flow it built.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6

from parsers.pcap.capture import parse_capture
from parsers.pcap.flows import (
    STATES,
    UDP_STATES,
    assign_flows,
    community_id,
    state_text,
    summarise_flows,
)
from parsers.pcap.packets import read_packets

Writer = Callable[[str, bytes | str], Path]
TSHARK = shutil.which("tshark")

T0_NS = 1_748_779_200 * 10**9  # 2025-06-01 12:00:00 UTC
CLIENT, SERVER = "192.0.2.10", "198.51.100.7"
SEQ_SPACE = 2**32

# --- Community ID v1 -----------------------------------------------------------------------

# corelight/community-id-spec, baseline/README.md: (proto, src, dst, sport, dport, seed 0, seed 1).
SPEC_TABLE = [
    (6, "1.2.3.4", "5.6.7.8", 1122, 3344, "1:wCb3OG7yAFWelaUydu0D+125CLM=", "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk="),
    (6, "5.6.7.8", "1.2.3.4", 3344, 1122, "1:wCb3OG7yAFWelaUydu0D+125CLM=", "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk="),
    (17, "1.2.3.4", "5.6.7.8", 1122, 3344, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=", "1:OShq+iKDAMVouh/4bMxB9Sz4amw="),
    (17, "5.6.7.8", "1.2.3.4", 3344, 1122, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=", "1:OShq+iKDAMVouh/4bMxB9Sz4amw="),
    (132, "1.2.3.4", "5.6.7.8", 1122, 3344, "1:EKt4MsxuyaE6mL+hmrEkQ9csDD8=", "1:uitchpn5MMGAQKBJh7bIr/bAr7s="),
    (132, "5.6.7.8", "1.2.3.4", 3344, 1122, "1:EKt4MsxuyaE6mL+hmrEkQ9csDD8=", "1:uitchpn5MMGAQKBJh7bIr/bAr7s="),
    (1, "1.2.3.4", "5.6.7.8", 8, 0, "1:crodRHL2FEsHjbv3UkRrfbs4bZ0=", "1:9pr4ZGTICiuZoIh90RRYE2RyXpU="),
    (1, "5.6.7.8", "1.2.3.4", 0, 0, "1:crodRHL2FEsHjbv3UkRrfbs4bZ0=", "1:9pr4ZGTICiuZoIh90RRYE2RyXpU="),
    (1, "1.2.3.4", "5.6.7.8", 11, 0, "1:f/YiSyWqczrTgfUCZlBUnvHRcPk=", "1:1DD7cWGC/Yg91YGsQeni8du3pIA="),
    (58, "fe80:1:203:405:607:809:a0b:c0d", "fe80:1011:1213:1415:1617:1819:1a1b:1c1d", 128, 0, "1:0bf7hyMJUwt3fMED7z8LIfRpBeo=", "1:IO27GQzPuCtNnwFvjWALMHu5tJE="),
    (58, "fe80:1011:1213:1415:1617:1819:1a1b:1c1d", "fe80:1:203:405:607:809:a0b:c0d", 129, 0, "1:0bf7hyMJUwt3fMED7z8LIfRpBeo=", "1:IO27GQzPuCtNnwFvjWALMHu5tJE="),
    (58, "fe80:1:203:405:607:809:a0b:c0d", "fe80:1011:1213:1415:1617:1819:1a1b:1c1d", 146, 0, "1:fYC8+pz24E+EhANP1EZhpX0Dw10=", "1:Cv4IKJe56BNkF0MBW2YxQ3Nwc3s="),
]  # fmt: skip

# corelight/community-id-spec, baseline/baseline_deflt.json (flows of pcaps/combined.pcap.gz).
SPEC_BASELINE = [
    (58, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 135, 136, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY="),
    (58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 136, 135, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY="),
    (58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 135, 136, "1:zavyT/cezQr1fmImYCwYnMXbgck="),
    (58, "3ffe:501:1800:2345::2", "3ffe:507:0:1:200:86ff:fe05:80da", 3, 0, "1:2ObVBgIn28oZvibYZhZMBgh7WdQ="),
    (58, "3ffe:501:410:0:2c0:dfff:fe47:33e", "3ffe:507:0:1:200:86ff:fe05:80da", 1, 4, "1:hLZd0XGWojozrvxqE0dWB1iM6R0="),
    (58, "3ffe:507:0:1:200:86ff:fe05:80da", "3ffe:501:0:1001::2", 128, 129, "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg="),
    (58, "3ffe:501:0:1001::2", "3ffe:507:0:1:200:86ff:fe05:80da", 129, 128, "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg="),
    (58, "fe80::200:86ff:fe05:80da", "ff02::2", 133, 134, "1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0="),
    (58, "fe80::260:97ff:fe07:69ea", "ff02::1", 134, 133, "1:pkvHqCL88/tg1k4cPigmZXUtL00="),
    (1, "192.168.0.89", "192.168.0.1", 8, 0, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="),
    (1, "192.168.0.1", "192.168.0.89", 0, 8, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="),
    (1, "10.0.0.1", "10.0.0.2", 11, 0, "1:YHxtAirCG//0OzkcVAukqKQN9xM="),
    (6, "2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 63943, 25, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4="),
    (6, "2607:f8b0:400c:c03::1a", "2001:470:e5bf:dead:4957:2174:e82c:4887", 25, 63943, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4="),
    (132, "192.168.170.8", "192.168.170.56", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs="),
    (6, "128.232.110.120", "66.35.250.204", 34855, 80, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="),
    (6, "66.35.250.204", "128.232.110.120", 80, 34855, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="),
    (17, "192.168.1.52", "8.8.8.8", 54585, 53, "1:d/FP5EW3wiY1vCndhwleRRKHowQ="),
    (17, "8.8.8.8", "192.168.1.52", 53, 54585, "1:d/FP5EW3wiY1vCndhwleRRKHowQ="),
]  # fmt: skip


@pytest.mark.parametrize(("proto", "src", "dst", "sport", "dport", "seed0", "seed1"), SPEC_TABLE)
def test_community_id_matches_the_spec_table(
    proto: int, src: str, dst: str, sport: int, dport: int, seed0: str, seed1: str
) -> None:
    assert community_id(src, sport, dst, dport, proto) == seed0
    assert community_id(src, sport, dst, dport, proto, seed=1) == seed1


@pytest.mark.parametrize(("proto", "src", "dst", "sport", "dport", "expected"), SPEC_BASELINE)
def test_community_id_matches_the_spec_baseline(
    proto: int, src: str, dst: str, sport: int, dport: int, expected: str
) -> None:
    assert community_id(src, sport, dst, dport, proto) == expected


# --- scripted conversations ----------------------------------------------------------------


class Conversation:
    """Packets between a client and a server; sequence and ack numbers follow what was sent."""

    def __init__(
        self, client: str = CLIENT, server: str = SERVER, sport: int = 50000, dport: int = 443
    ) -> None:
        self.ends = {True: (client, sport), False: (server, dport)}
        self.next_seq = {True: 1_000_000, False: 7_000_000}
        self.packets: list[tuple[int, bytes]] = []

    def send(
        self,
        from_client: bool,
        flags: str,
        data: bytes = b"",
        *,
        ms: float,
        window: int = 64240,
        seq: int | None = None,
    ) -> Conversation:
        (src, sport), (dst, dport) = self.ends[from_client], self.ends[not from_client]
        start = (self.next_seq[from_client] if seq is None else seq) % SEQ_SPACE
        ack = self.next_seq[not from_client] % SEQ_SPACE if "A" in flags else 0
        ip = IPv6(src=src, dst=dst) if ":" in src else IP(src=src, dst=dst, flags="DF")
        segment = TCP(sport=sport, dport=dport, flags=flags, seq=start, ack=ack, window=window)
        self.packets.append((T0_NS + round(ms * 1_000_000), bytes(ip / segment / data)))
        sent = self.next_seq[from_client] if seq is None else seq
        end = sent + len(data) + ("S" in flags) + ("F" in flags)
        self.next_seq[from_client] = max(self.next_seq[from_client], end)
        return self

    def client(self, flags: str, data: bytes = b"", **how: Any) -> Conversation:
        return self.send(True, flags, data, **how)

    def server(self, flags: str, data: bytes = b"", **how: Any) -> Conversation:
        return self.send(False, flags, data, **how)

    def handshake(self, rtt_ms: float = 10.0) -> Conversation:
        return self.client("S", ms=0).server("SA", ms=rtt_ms).client("A", ms=rtt_ms + 0.1)


def pcap(packets: list[tuple[int, bytes]]) -> bytes:
    """Raw-IP (link type 101) pcap with nanosecond stamps, in time order."""
    out = [struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 262_144, 101)]
    for ts_ns, data in sorted(packets, key=lambda p: p[0]):
        seconds, nanos = divmod(ts_ns, 1_000_000_000)
        out.append(struct.pack("<IIII", seconds, nanos, len(data), len(data)) + data)
    return b"".join(out)


def connections(packets: list[tuple[int, bytes]], write_file: Writer) -> pl.DataFrame:
    events, _ = parse_capture(write_file("flows.pcap", pcap(packets)), "flows.pcap")
    return events.filter(pl.col("event.action") == "connection").sort("loginlens.record")


FIELDS = {
    "history": "loginlens.flow.history",
    "state": "loginlens.flow.state",
    "outcome": "event.outcome",
    "orig": "source.ip",
    "retransmissions": "loginlens.flow.retransmissions",
    "zero_windows": "loginlens.flow.zero_windows",
    "rtt_ms": "loginlens.flow.rtt_ms",
    "orig_packets": "source.packets",
    "resp_packets": "destination.packets",
    "orig_bytes": "source.bytes",
    "resp_bytes": "destination.bytes",
}


def flow(conversation: Conversation, write_file: Writer) -> dict[str, Any]:
    """The one connection event of ``conversation``, by short field names."""
    (row,) = (
        connections(conversation.packets, write_file)
        .select(pl.col(column).alias(name) for name, column in FIELDS.items())
        .to_dicts()
    )
    return row


HELLO, PAGE = b"\x16\x03\x01" + bytes(200), b"HTTP/1.1 200 OK\r\n\r\n" + bytes(1000)


def test_syn_unanswered_is_s0(write_file: Writer) -> None:
    talk = Conversation().client("S", ms=0).client("S", ms=1000, seq=1_000_000)
    talk.client("S", ms=3000, seq=1_000_000)
    got = flow(talk, write_file)
    assert (got["history"], got["state"], got["outcome"]) == ("S", "S0", "failure")
    assert (got["orig_packets"], got["resp_packets"], got["rtt_ms"]) == (3, 0, None)


def test_syn_answered_by_reset_is_rej(write_file: Writer) -> None:
    got = flow(Conversation().client("S", ms=0).server("RA", ms=0.4), write_file)
    assert (got["history"], got["state"], got["outcome"]) == ("Sr", "REJ", "failure")
    assert (got["orig_packets"], got["resp_packets"]) == (1, 1)


def test_client_reset_after_handshake_is_rsto(write_file: Writer) -> None:
    talk = Conversation().handshake().client("R", ms=50)
    got = flow(talk, write_file)
    assert (got["history"], got["state"], got["outcome"]) == ("ShAR", "RSTO", "failure")


def test_server_reset_after_handshake_is_rstr(write_file: Writer) -> None:
    talk = Conversation().handshake().client("PA", HELLO, ms=11).server("RA", ms=30)
    got = flow(talk, write_file)
    assert (got["history"], got["state"], got["outcome"]) == ("ShADr", "RSTR", "failure")
    assert (got["orig_bytes"], got["resp_bytes"]) == (len(HELLO), 0)


def closed_normally() -> Conversation:
    talk = Conversation().handshake(rtt_ms=12.5)
    talk.client("PA", HELLO, ms=13).server("A", ms=25).server("PA", PAGE, ms=40)
    talk.client("A", ms=41).client("FA", ms=60).server("FA", ms=72).client("A", ms=73)
    return talk


def test_normal_close_is_sf_with_rtt_bytes_and_packets(write_file: Writer) -> None:
    got = flow(closed_normally(), write_file)
    assert (got["history"], got["state"], got["outcome"]) == ("ShADadFf", "SF", "success")
    assert got["orig"] == CLIENT
    assert got["rtt_ms"] == pytest.approx(12.5)
    assert (got["orig_packets"], got["resp_packets"]) == (6, 4)
    assert (got["orig_bytes"], got["resp_bytes"]) == (len(HELLO), len(PAGE))
    assert (got["retransmissions"], got["zero_windows"]) == (0, 0)


def test_one_side_closing_is_s2_or_s3(write_file: Writer) -> None:
    client_closed = Conversation().handshake().client("FA", ms=20)
    server_closed = Conversation(sport=50001).handshake().server("FA", ms=20)
    states = connections(client_closed.packets + server_closed.packets, write_file)
    assert states.select("loginlens.flow.history", "loginlens.flow.state").rows() == [
        ("ShAF", "S2"), ("ShAf", "S3"),
    ]  # fmt: skip


def test_handshake_without_close_is_s1(write_file: Writer) -> None:
    got = flow(Conversation().handshake(rtt_ms=3).client("PA", HELLO, ms=4), write_file)
    assert (got["history"], got["state"], got["rtt_ms"]) == ("ShAD", "S1", pytest.approx(3.0))


def test_retransmissions_are_counted_per_side(write_file: Writer) -> None:
    talk = Conversation().handshake()
    talk.client("PA", HELLO, ms=11).client("PA", HELLO, ms=211, seq=1_000_001)
    talk.client("PA", HELLO, ms=611, seq=1_000_001).server("A", ms=620)
    talk.server("PA", PAGE, ms=630).server("PA", PAGE, ms=830, seq=7_000_001)
    got = flow(talk, write_file)
    assert got["history"] == "ShADTadt"
    assert got["retransmissions"] == 3
    path = write_file("retransmissions.pcap", pcap(talk.packets))
    sides = summarise_flows(assign_flows(read_packets(path)), {})
    assert sides.select("orig_retransmissions", "resp_retransmissions").row(0) == (2, 1)
    # Payload bytes as they crossed the wire: each retransmission counts again.
    assert (got["orig_bytes"], got["resp_bytes"]) == (3 * len(HELLO), 2 * len(PAGE))


def test_partial_retransmission_and_new_data_are_told_apart(write_file: Writer) -> None:
    talk = Conversation().handshake()
    talk.client("PA", b"a" * 100, ms=11).client("PA", b"b" * 100, ms=12)
    talk.client("PA", b"b" * 100, ms=13, seq=1_000_101)  # the second segment again
    talk.client("PA", b"c" * 100, ms=14)  # then new data
    events = connections(talk.packets, write_file)
    assert events["loginlens.flow.retransmissions"].to_list() == [1]
    assert events["loginlens.flow.retransmitted_max"].to_list() == [100]


def test_sequence_numbers_wrapping_are_not_retransmissions(write_file: Writer) -> None:
    talk = Conversation()
    talk.next_seq = {True: SEQ_SPACE - 150, False: SEQ_SPACE - 1}
    talk.handshake().client("PA", b"a" * 100, ms=11).client("PA", b"b" * 100, ms=12)
    talk.server("PA", b"c" * 100, ms=13).client("PA", b"b" * 100, ms=300, seq=SEQ_SPACE - 49)
    got = flow(talk, write_file)
    assert (got["history"], got["retransmissions"]) == ("ShADdT", 1)


def test_ipv6_flow(write_file: Writer) -> None:
    talk = Conversation("2001:db8::10", "2001:db8:1::7").client("S", ms=0).server("RA", ms=2)
    got = flow(talk, write_file)
    assert (got["history"], got["state"], got["orig"]) == ("Sr", "REJ", "2001:db8::10")


def test_ipv6_packet_with_a_v4_mapped_address_stays_ipv6(write_file: Writer) -> None:
    got = connections(
        Conversation("::ffff:192.0.2.10", "2001:db8::1").handshake().packets, write_file
    )
    assert got.select("source.ip", "network.community_id").rows() == [
        ("::ffff:192.0.2.10", "1:kEczSziwl2uO9kyUrJySq8nBcY4="),
    ]


def test_ipv4_and_ipv6_v4_mapped_flows_of_one_five_tuple_stay_apart(write_file: Writer) -> None:
    """Both ends IPv4-mapped: the same 5-tuple as the IPv4 flow once the addresses are IPv4."""
    mapped = Conversation("::ffff:192.0.2.10", "::ffff:198.51.100.7").handshake()
    plain = Conversation().handshake()
    got = connections(mapped.packets + plain.packets, write_file)
    assert got.select("source.ip", "destination.ip", "network.community_id").rows() == [
        ("::ffff:192.0.2.10", "::ffff:198.51.100.7", "1:hkos6lKoSIQgms38wDDl88pikKs="),
        (CLIENT, SERVER, "1:npjDl7c5LAS/Iw8RsFZ9DfqDvjc="),
    ]  # both as tshark's communityid has them


def test_zero_windows_are_counted(write_file: Writer) -> None:
    talk = Conversation().handshake().client("PA", HELLO, ms=11)
    talk.server("A", ms=12, window=0).server("A", ms=200, window=0).server("A", ms=400, window=512)
    got = flow(talk, write_file)
    assert got["history"] == "ShADaw"
    assert got["zero_windows"] == 2


def test_rtt_is_measured_from_the_last_syn_before_the_syn_ack(write_file: Writer) -> None:
    talk = Conversation().client("S", ms=0).client("S", ms=1000, seq=1_000_000)
    talk.server("SA", ms=1020.25).client("A", ms=1020.5)
    got = flow(talk, write_file)
    assert (got["history"], got["state"]) == ("ShA", "S1")
    assert got["rtt_ms"] == pytest.approx(20.25)


def test_capture_starting_at_the_syn_ack_is_flipped(write_file: Writer) -> None:
    talk = Conversation().server("SA", ms=0).client("A", ms=0.1).client("PA", HELLO, ms=1)
    got = flow(talk, write_file)
    assert (got["history"], got["state"], got["orig"]) == ("^hAD", "OTH", CLIENT)
    assert (got["orig_bytes"], got["orig_packets"], got["resp_packets"]) == (len(HELLO), 2, 1)


def test_reused_five_tuple_with_a_new_isn_is_a_new_flow(write_file: Writer) -> None:
    first = Conversation().client("S", ms=0).server("RA", ms=1)
    second = Conversation()
    second.next_seq[True] = 5_000_000  # a new initial sequence number, same ports
    second.client("S", ms=100).server("SA", ms=101).client("A", ms=102)
    events = connections(first.packets + second.packets, write_file)
    got = events.select("loginlens.record", "loginlens.flow.history", "loginlens.flow.state")
    assert got.rows() == [(1, "Sr", "REJ"), (3, "ShA", "S1")]


def test_udp_answered_and_unanswered(write_file: Writer) -> None:
    query = IP(src=CLIENT, dst="192.0.2.53") / UDP(sport=53000, dport=53) / b"\x00\x01query"
    answer = IP(src="192.0.2.53", dst=CLIENT) / UDP(sport=53, dport=53000) / b"\x00\x01answer!"
    lost = IP(src=CLIENT, dst="192.0.2.54") / UDP(sport=53001, dport=53) / b"\x00\x02query"
    packets = [(T0_NS, bytes(query)), (T0_NS + 1, bytes(answer)), (T0_NS + 2, bytes(lost))]
    events = connections(packets, write_file)
    assert events.select(
        "network.transport", "loginlens.flow.history", "loginlens.flow.state", "source.bytes", "destination.bytes"
    ).rows() == [("udp", "Dd", "SF", 7, 9), ("udp", "D", "S0", 7, 0)]  # fmt: skip
    assert events["loginlens.flow.rtt_ms"].to_list() == [None, None]


def test_states_have_sentences() -> None:
    assert state_text(6, "REJ") == STATES["REJ"]
    assert state_text(17, "S0") == UDP_STATES["S0"] == "no reply"
    assert state_text(1, "S0") == "S0"


# --- Community IDs of parsed flows ---------------------------------------------------------

BASELINE_FLOWS = [
    ("128.232.110.120", 34855, "66.35.250.204", 80, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="),
    ("2001:470:e5bf:dead:4957:2174:e82c:4887", 63943, "2607:f8b0:400c:c03::1a", 25, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4="),
]  # fmt: skip


def spec_flows() -> list[tuple[int, bytes]]:
    packets: list[tuple[int, bytes]] = []
    for index, (client, sport, server, dport, _) in enumerate(BASELINE_FLOWS):
        talk = Conversation(client, server, sport, dport).handshake()
        packets += [(ts + index * 10**9, data) for ts, data in talk.packets]
    dns = IP(src="8.8.8.8", dst="192.168.1.52") / UDP(sport=53, dport=54585) / bytes(12)
    return [*packets, (T0_NS + 5 * 10**9, bytes(dns))]  # the answer alone: responder first


def test_parsed_flows_carry_the_spec_community_ids(write_file: Writer) -> None:
    events = connections(spec_flows(), write_file)
    assert events["network.community_id"].to_list() == [
        *(vector for *_, vector in BASELINE_FLOWS),
        "1:d/FP5EW3wiY1vCndhwleRRKHowQ=",
    ]


@pytest.mark.skipif(TSHARK is None, reason="tshark is not installed")
def test_parsed_flows_agree_with_tshark_community_ids(write_file: Writer) -> None:
    talk = closed_normally()
    path = write_file("cid.pcap", pcap(spec_flows() + talk.packets))
    command = [TSHARK or "tshark", "-r", str(path), "-n", "--enable-protocol", "communityid"]
    command += ["-T", "fields", "-e", "communityid"]
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=60)
    theirs = {line for line in done.stdout.splitlines() if line}
    events, _ = parse_capture(path, "cid.pcap")
    ours = set(events.filter(pl.col("event.action") == "connection")["network.community_id"])
    assert ours == theirs
