"""Generated captures: readable by scapy and tshark, dissected as intended, byte-for-byte reproducible."""

from __future__ import annotations

import functools
import hashlib
import itertools
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

pytest.importorskip("cryptography")

from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import CookedLinux, Ether
from scapy.packet import Raw
from scapy.utils import PcapNgReader, PcapReader, checksum

from sample_data.gen import certs
from sample_data.gen.pcap import TLS10, TLS12, TLS13, Capture, _checksum

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2025, 5, 31, 2, 1, 49, tzinfo=UTC)
WECOM = "work.weixin.qq.com"
WECOM_IP = "109.244.194.141"
WECOM_IP6 = "240e:97c:2f:1::5c"
TSHARK = shutil.which("tshark")
needs_tshark = pytest.mark.skipif(TSHARK is None, reason="tshark not installed")
EXPERT_CHAT, EXPERT_ERROR = 0x200000, 0x800000  # _ws.expert.severity values


# ---------------------------------------------------------------- capture shapes


def healthy(
    link: str = "ether", ipv6: bool = False, seed: int = 1, version: int = TLS12
) -> Capture:
    """A typical bundle capture: noise, the service lookup, a TLS login flow, more noise."""
    cap = Capture(seed, START, link=link, ipv6=ipv6)  # type: ignore[arg-type]
    cap.background(5)
    ip = WECOM_IP6 if ipv6 else WECOM_IP
    cap.dns(WECOM, "AAAA" if ipv6 else "A", [f"{WECOM}.cdn.dnsv1.com", ip])
    flow = cap.tcp(ip)
    flow.handshake(WECOM, version, certs.service_chain(WECOM) if version < TLS13 else ())
    flow.app_data(900)
    flow.app_data(6000, from_client=False)
    flow.alert("warning", "close_notify", encrypted=True)
    flow.fin()
    cap.background(5)
    return cap


def tls_chain(chain: list[bytes], alert: str, link: str = "ether") -> Capture:
    cap = Capture(2, START, link=link)  # type: ignore[arg-type]
    flow = cap.tcp(WECOM_IP)
    flow.client_hello(WECOM)
    flow.server_flight(TLS12, chain)
    flow.alert("warning" if alert == "close_notify" else "fatal", alert)
    flow.fin()
    return cap


def firewall(ipv6: bool = False) -> Capture:
    cap = Capture(3, START, ipv6=ipv6)
    ip = WECOM_IP6 if ipv6 else WECOM_IP
    cap.syn_unanswered(ip)
    cap.syn_refused(ip, attempts=2)
    cap.syn_prohibited(ip, attempts=2)
    return cap


def proxy() -> Capture:
    cap = Capture(4, START, link="sll")
    denied = cap.tcp("10.20.0.8", 8080)
    denied.http_request("CONNECT", "qyapi.weixin.qq.com:443")
    denied.http_response(403, headers={"Server": "squid/5.7"}, body=b"<html>Access denied</html>")
    denied.fin(from_client=False)
    tunnel = cap.tcp("10.20.0.8", 8080)
    tunnel.http_request("CONNECT", f"{WECOM}:443")
    tunnel.http_response(200, "Connection established")
    tunnel.client_hello(WECOM)
    return cap


def portal() -> Capture:
    cap = Capture(5, START)
    cap.dns("captive.apple.com", "A", ["17.253.85.204"])
    probe = cap.tcp("17.253.85.204", 80)
    probe.http_request("GET", "/hotspot-detect.html", host="captive.apple.com")
    probe.http_response(302, headers={"Location": "http://portal.hotel-wifi.example/login"})
    probe.fin()
    return cap


def dns_failures() -> Capture:
    cap = Capture(6, START, resolver_ip="114.114.114.114")
    cap.dns_injected(WECOM, forged=["31.13.94.41"], genuine=[WECOM_IP])
    cap.dns("login.work.weixin.qq.com", rcode=3)
    cap.dns("qyapi.weixin.qq.com", rcode=2)
    cap.dns("i.work.weixin.qq.com", unanswered=True)
    return cap


def resets() -> Capture:
    cap = Capture(7, START)
    flow = cap.tcp(WECOM_IP)
    flow.client_hello(WECOM)
    flow.rst(ttl=109, ip_id=0x3A2F)
    flow.rst(ttl=111, ip_id=0x3A30, seq_offset=1460)
    flow.rst(ttl=113, ip_id=0x3A31, seq_offset=2920, with_ack=False)
    flow.server_flight(TLS13)  # the real server's data still arrives after the resets
    return cap


def blackhole(ipv6: bool = False) -> Capture:
    cap = Capture(8, START, ipv6=ipv6, link="sll" if ipv6 else "ether")
    flow = cap.tcp(WECOM_IP6 if ipv6 else WECOM_IP, path_mtu=1400, icmp_frag_needed=True)
    flow.client_hello(WECOM, pq_key_share=True)  # a two-segment ClientHello
    cap.wait(3)
    flow.rst(from_client=True)
    return cap


def server_blackhole() -> Capture:
    cap = Capture(9, START)
    flow = cap.tcp(WECOM_IP, path_mtu=1400)
    flow.client_hello(WECOM, (TLS12,))
    flow.server_flight(TLS12, certs.service_chain(WECOM))
    cap.wait(10)
    flow.fin()
    return cap


def old_tls() -> Capture:
    cap = Capture(10, START, client_ttl=64)
    flow = cap.tcp(WECOM_IP)
    flow.client_hello(WECOM, (TLS10,))
    flow.alert(2, 70, from_client=False)
    flow.fin(from_client=False)
    return cap


def offline() -> Capture:
    cap = Capture(11, START)
    cap.arp()
    cap.dns(WECOM, unanswered=True, attempts=2)
    cap.icmp_unreachable(0)
    cap.ntp("20.101.57.9")
    cap.mdns()
    return cap


SHAPES: dict[str, Callable[[], Capture]] = {
    "healthy": healthy,
    "healthy_sll_v6": lambda: healthy("sll", ipv6=True),
    "service_cert": lambda: tls_chain(certs.service_chain(WECOM), "close_notify", "sll"),
    "interception": lambda: tls_chain(certs.interception_chain(WECOM, "sangfor"), "unknown_ca"),
    "portal_cert": lambda: tls_chain(certs.portal_chain(WECOM, vendor=None), "bad_certificate"),
    "expired": lambda: tls_chain(certs.expired_chain(WECOM, START), "certificate_expired"),
    "firewall": firewall,
    "firewall_v6": lambda: firewall(ipv6=True),
    "proxy": proxy,
    "portal": portal,
    "dns": dns_failures,
    "resets": resets,
    "blackhole": blackhole,
    "blackhole_v6": lambda: blackhole(ipv6=True),
    "server_blackhole": server_blackhole,
    "old_tls": old_tls,
    "offline": offline,
}


@pytest.fixture(scope="module")
def captures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Capture, Path]]:
    """Every shape built once and written, pcapng for SLL ones, pcap otherwise."""
    out = tmp_path_factory.mktemp("pcaps")
    built = {}
    for name, build in SHAPES.items():
        cap = build()
        path = cap.write(out / f"{name}.{'pcapng' if cap.link == 'sll' else 'pcap'}")
        built[name] = (cap, path)
    return built


FIELDS = (
    "frame.protocols", "frame.time_relative", "frame.packet_flags_direction", "sll.pkttype",
    "_ws.malformed", "_ws.expert.severity", "_ws.expert.message",
    "ip.src", "ipv6.src", "ip.ttl", "ip.id", "ip.flags.df",
    "tcp.srcport", "tcp.dstport", "tcp.seq", "tcp.ack", "tcp.len",
    "tcp.flags.syn", "tcp.flags.ack", "tcp.flags.reset", "udp.dstport",
    "icmp.type", "icmp.code", "icmp.mtu", "icmpv6.type", "icmpv6.code", "icmpv6.mtu",
    "dns.id", "dns.qry.name", "dns.flags.response", "dns.flags.rcode", "dns.a",
    "tls.handshake.type", "tls.handshake.version", "tls.handshake.ciphersuite",
    "tls.handshake.extensions_server_name", "tls.handshake.extensions.supported_version",
    "tls.handshake.extensions_alpn_str", "tls.handshake.certificate_length",
    "x509sat.printableString", "x509sat.uTF8String", "x509ce.dNSName", "tls.alert_message.desc",
    "http.request.method", "http.request.uri", "http.host", "http.response.code", "http.server",
    "http.location", "arp.opcode", "ntp.flags.mode",
)  # fmt: skip
Row = dict[str, list[str]]


@functools.cache
def dissect(path: Path) -> list[Row]:
    """Every frame's FIELDS as tshark sees them (checksums checked); asserts a clean run.

    One tshark run per file: its start-up (~0.3 s) dominates, so tests filter in Python.
    """
    assert TSHARK is not None
    checks = [
        arg for proto in ("ip", "tcp", "udp") for arg in ("-o", f"{proto}.check_checksum:TRUE")
    ]
    columns = [arg for name in FIELDS for arg in ("-e", name)]
    cmd = [TSHARK, "-n", "-r", str(path), *checks, "-T", "fields", "-E", "aggregator=|", *columns]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    stderr = [line for line in result.stderr.splitlines() if "Running as user" not in line]
    assert result.returncode == 0 and not stderr, (result.returncode, stderr)
    rows = []
    for line in result.stdout.splitlines():
        values = line.split("\t")
        rows.append(
            {
                name: value.split("|") if value else []
                for name, value in zip(FIELDS, values, strict=True)
            }
        )
    return rows


def first(row: Row, name: str) -> str:
    return row[name][0] if row[name] else ""


def quoting(row: Row) -> bool:
    """An ICMP error: its quoted IP/TCP fields would otherwise pass for the frame's own."""
    return "icmp" in first(row, "frame.protocols") or "icmpv6" in first(row, "frame.protocols")


# ---------------------------------------------------------------- files


@pytest.mark.parametrize("name", SHAPES)
def test_scapy_reads_back_every_shape(captures: dict[str, tuple[Capture, Path]], name: str) -> None:
    cap, path = captures[name]
    if path.suffix == ".pcapng":
        with PcapNgReader(str(path)) as reader:
            packets = list(reader)
            assert reader.interfaces[0][0] == cap.linktype
    else:
        with PcapReader(str(path)) as reader:
            packets = list(reader)
            assert reader.linktype == cap.linktype
    assert len(packets) == len(cap) > 0
    layer = CookedLinux if cap.link == "sll" else Ether
    assert all(p.haslayer(layer) for p in packets)
    times = [float(p.time) for p in packets]
    assert times == sorted(times) and times[0] >= START.timestamp()


@needs_tshark
@pytest.mark.parametrize("name", SHAPES)
def test_tshark_reads_every_shape_without_complaint(
    captures: dict[str, tuple[Capture, Path]], name: str
) -> None:
    cap, path = captures[name]
    rows = dissect(path)
    assert len(rows) == len(cap)
    for row in rows:
        assert not row["_ws.malformed"]
        for severity, message in zip(
            row["_ws.expert.severity"], row["_ws.expert.message"], strict=True
        ):
            if int(severity) >= EXPERT_ERROR:
                # The only error allowed with checksum checks on: the TCP checksum of a
                # segment quoted (truncated) inside an ICMP error cannot add up.
                assert quoting(row) and message.startswith("Bad checksum"), message


@pytest.mark.parametrize(("link", "linktype"), [("ether", 1), ("sll", 113)])
@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_headers_and_linktypes(link: str, linktype: int, fmt: str) -> None:
    data = healthy(link).to_bytes(fmt)  # type: ignore[arg-type]
    if fmt == "pcap":
        assert data[:4] == b"\xd4\xc3\xb2\xa1" and int.from_bytes(data[20:24], "little") == linktype
        assert int.from_bytes(data[16:20], "little") == 262144
    else:
        assert data[:4] == b"\x0a\x0d\x0d\x0a"
        shb_len = int.from_bytes(data[4:8], "little")
        assert int.from_bytes(data[shb_len + 8 : shb_len + 10], "little") == linktype


def _rebuilt_by_scapy(packet: bytes) -> bytes:
    """The IP packet rebuilt by scapy with lengths and checksums recomputed, payload kept raw."""
    parsed = IP(packet) if packet[0] >> 4 == 4 else IPv6(packet)
    ip_header = parsed.ihl * 4 if packet[0] >> 4 == 4 else 40
    l4 = parsed.payload
    l4_header = l4.dataofs * 4 if isinstance(l4, TCP) else 8
    l4.remove_payload()
    l4.add_payload(Raw(packet[ip_header + l4_header :]))
    for layer, names in ((IP, ("len", "chksum")), (IPv6, ("plen",)), (TCP, ("chksum",)),
                         (UDP, ("len", "chksum"))):  # fmt: skip
        if parsed.haslayer(layer):
            for name in names:
                delattr(parsed[layer], name)
    return bytes(parsed)


def test_raw_headers_match_scapy() -> None:
    """Our struct-built IP/TCP/UDP/ICMP headers equal scapy's, lengths and checksums included."""
    checked = 0
    for cap in (healthy(), healthy("sll", ipv6=True), firewall(), blackhole(), offline()):
        for _, frame in cap.frames():
            packet = frame[14:] if cap.link == "ether" else frame[16:]
            ethertype = frame[12:14] if cap.link == "ether" else frame[14:16]
            if ethertype not in (b"\x08\x00", b"\x86\xdd"):
                continue
            version = packet[0] >> 4
            length = (
                int.from_bytes(packet[2:4]) if version == 4 else 40 + int.from_bytes(packet[4:6])
            )
            packet = packet[:length]  # drop Ethernet padding
            proto = packet[9 if version == 4 else 6]
            if proto in (1, 58):
                # scapy reads >128 quoted bytes as RFC 4884 extensions: check the sum alone.
                header = 20 if version == 4 else 40
                pseudo = (
                    packet[8:40] + (length - 40).to_bytes(4) + b"\0\0\0\x3a"
                    if version == 6
                    else b""
                )
                assert _checksum(pseudo + packet[header:]) == 0
                checked += 1
            elif proto in (6, 17):
                assert _rebuilt_by_scapy(packet) == packet
                checked += 1
    assert checked > 300


def test_checksum_agrees_with_scapy() -> None:
    rng = random.Random(0)
    for size in [0, 1, 2, 3, 20, 21, 1500, *(rng.randrange(2000) for _ in range(300))]:
        data = rng.randbytes(size)
        assert _checksum(data) == checksum(data)
    for data in (b"\x00\x00", b"\xff\xff", b"\xff\xff\xff\xff", b"\x12"):
        assert _checksum(data) == checksum(data)


# ---------------------------------------------------------------- dissection


@needs_tshark
def test_tls_fields(captures: dict[str, tuple[Capture, Path]]) -> None:
    rows = dissect(captures["healthy"][1])
    hello = [r for r in rows if r["tls.handshake.extensions_server_name"] == [WECOM]]
    assert len(hello) == 1
    assert hello[0]["tls.handshake.extensions.supported_version"] == ["0x0304", "0x0303"]
    assert hello[0]["tls.handshake.extensions_alpn_str"] == ["h2", "http/1.1"]
    server = [r for r in rows if "2" in r["tls.handshake.type"] and r["ip.src"] == [WECOM_IP]]
    assert len(server) == 1
    assert (
        first(server[0], "tls.handshake.version"),
        first(server[0], "tls.handshake.ciphersuite"),
    ) == ("0x0303", "0xc02f")


@needs_tshark
@pytest.mark.parametrize(
    ("name", "subjects", "alert"),
    [
        (
            "service_cert",
            [
                "work.weixin.qq.com",
                "DigiCert Secure Site OV G2 TLS CN RSA4096 SHA256 2022 CA1",
                "DigiCert Global Root G2",
            ],
            "0",
        ),
        ("interception", ["work.weixin.qq.com", "Sangfor Internet Gateway CA"], "48"),
        ("portal_cert", ["work.weixin.qq.com", "Guest WiFi Portal"], "42"),
        ("expired", ["work.weixin.qq.com"], "45"),
    ],
)
def test_certificate_fields(
    captures: dict[str, tuple[Capture, Path]], name: str, subjects: list[str], alert: str
) -> None:
    rows = dissect(captures[name][1])
    (cert,) = [r for r in rows if "11" in r["tls.handshake.type"]]
    assert set(subjects) <= set(cert["x509sat.printableString"] + cert["x509sat.uTF8String"])
    assert WECOM in cert["x509ce.dNSName"]
    chain = {"service_cert": certs.service_chain(WECOM), "interception": certs.interception_chain(WECOM, "sangfor"),
             "portal_cert": certs.portal_chain(WECOM, vendor=None), "expired": certs.expired_chain(WECOM, START)}[name]  # fmt: skip
    assert [int(n) for n in cert["tls.handshake.certificate_length"]] == [len(der) for der in chain]
    alerts = [
        (first(r, "tls.alert_message.desc"), first(r, "ip.src"))
        for r in rows
        if r["tls.alert_message.desc"]
    ]
    assert alerts == [(alert, "192.168.1.23")]
    # The server flight goes out as full-size segments, as from a real server.
    sizes = [
        int(first(r, "tcp.len"))
        for r in rows
        if r["tcp.srcport"] == ["443"] and first(r, "tcp.len") != "0"
    ]
    assert set(sizes[:-1]) <= {1460} and sizes[-1] <= 1460 and sum(sizes) > 1000


@needs_tshark
def test_dns_fields(captures: dict[str, tuple[Capture, Path]]) -> None:
    rows = dissect(captures["dns"][1])
    answers = [r for r in rows if r["dns.flags.response"] == ["1"]]
    forged, genuine = answers[:2]
    assert (
        forged["dns.qry.name"] == genuine["dns.qry.name"] == [WECOM]
        and forged["dns.id"] == genuine["dns.id"]
    )
    assert (forged["dns.a"], genuine["dns.a"]) == (["31.13.94.41"], [WECOM_IP])
    assert forged["ip.ttl"] != genuine["ip.ttl"]  # the injector's IP TTL is not the resolver's
    assert (
        float(first(forged, "frame.time_relative"))
        < 0.01
        < float(first(genuine, "frame.time_relative"))
    )
    rcodes = [(first(r, "dns.qry.name"), first(r, "dns.flags.rcode")) for r in answers[2:]]
    assert rcodes == [("login.work.weixin.qq.com", "3"), ("qyapi.weixin.qq.com", "2")]
    unanswered = [r for r in rows if r["dns.qry.name"] == ["i.work.weixin.qq.com"]]
    assert [first(r, "dns.flags.response") for r in unanswered] == ["0", "0", "0"]
    times = [float(first(r, "frame.time_relative")) for r in unanswered]
    assert [round(b - a) for a, b in itertools.pairwise(times)] == [1, 2]


@needs_tshark
def test_firewall_fields(captures: dict[str, tuple[Capture, Path]]) -> None:
    rows = [r for r in dissect(captures["firewall"][1])]
    syns = [
        r
        for r in rows
        if r["tcp.flags.syn"] == ["1"] and r["tcp.flags.ack"] == ["0"] and not quoting(r)
    ]
    port = syns[0]["tcp.srcport"]
    times = [float(first(r, "frame.time_relative")) for r in syns if r["tcp.srcport"] == port]
    assert [round(b - a) for a, b in itertools.pairwise(times)] == [1, 2, 4, 8]
    resets = [
        (first(r, "tcp.ack"), first(r, "ip.src")) for r in rows if r["tcp.flags.reset"] == ["1"]
    ]
    assert resets == [("1", WECOM_IP)] * 2
    icmp = [
        (first(r, "icmp.type"), first(r, "icmp.code"), first(r, "tcp.dstport"))
        for r in rows
        if r["icmp.type"]
    ]
    assert icmp == [("3", "13", "443")] * 2
    v6 = dissect(captures["firewall_v6"][1])
    icmp6 = [
        (first(r, "icmpv6.type"), first(r, "icmpv6.code"), first(r, "tcp.dstport"))
        for r in v6
        if r["icmpv6.type"]
    ]
    assert icmp6 == [("1", "1", "443")] * 2


@needs_tshark
def test_http_fields(captures: dict[str, tuple[Capture, Path]]) -> None:
    def http(name: str, *columns: str) -> list[tuple[str, ...]]:
        rows = dissect(captures[name][1])
        return [
            tuple(first(r, c) for c in columns)
            for r in rows
            if r["http.request.method"] or r["http.response.code"]
        ]

    assert http(
        "proxy", "http.request.method", "http.request.uri", "http.response.code", "http.server"
    ) == [
        ("CONNECT", "qyapi.weixin.qq.com:443", "", ""),
        ("", "", "403", "squid/5.7"),
        ("CONNECT", "work.weixin.qq.com:443", "", ""),
        ("", "", "200", ""),
    ]
    assert http(
        "portal", "http.host", "http.request.uri", "http.response.code", "http.location"
    ) == [
        ("captive.apple.com", "/hotspot-detect.html", "", ""),
        ("", "", "302", "http://portal.hotel-wifi.example/login"),
    ]


@needs_tshark
def test_reset_injection_fields(captures: dict[str, tuple[Capture, Path]]) -> None:
    rows = [r for r in dissect(captures["resets"][1]) if r["ip.src"] == [WECOM_IP]]
    resets = [r for r in rows if r["tcp.flags.reset"] == ["1"]]
    assert [(first(r, "ip.ttl"), first(r, "ip.id")) for r in resets] == [
        ("109", "0x3a2f"),
        ("111", "0x3a30"),
        ("113", "0x3a31"),
    ]
    assert len({first(r, "tcp.seq") for r in resets}) == 3
    genuine_ttls = {first(r, "ip.ttl") for r in rows if r["tcp.flags.reset"] == ["0"]}
    assert len(genuine_ttls) == 1 and genuine_ttls.isdisjoint({"109", "111", "113"})
    after = rows[rows.index(resets[-1]) + 1 :]
    assert any(int(first(r, "tcp.len")) > 0 for r in after)  # data still arrives after the resets


@needs_tshark
@pytest.mark.parametrize(
    ("name", "kind", "code"),
    [("blackhole", "icmp", ("3", "4")), ("blackhole_v6", "icmpv6", ("2", "0"))],
)
def test_mtu_blackhole_fields(
    captures: dict[str, tuple[Capture, Path]], name: str, kind: str, code: tuple[str, str]
) -> None:
    rows = dissect(captures[name][1])
    port = next(r["tcp.srcport"] for r in rows if r["tcp.flags.syn"] == ["1"])
    full = [r for r in rows if r["tcp.len"] == ["1460"] and not quoting(r)]
    assert (
        len({first(r, "tcp.seq") for r in full}) == 1 and len(full) == 6
    )  # sent, then 5 retransmissions
    if kind == "icmp":
        assert {first(r, "ip.flags.df") for r in full} == {"1"}
    times = [float(first(r, "frame.time_relative")) for r in full]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(b > a * 1.9 for a, b in itertools.pairwise(gaps))
    server_acks = {first(r, "tcp.ack") for r in rows if r["tcp.srcport"] == ["443"]}
    assert server_acks == {"1"}  # the server never ACKs any of it
    icmp = [r for r in rows if r[f"{kind}.type"]]
    assert len(icmp) == 6
    assert {
        (first(r, f"{kind}.type"), first(r, f"{kind}.code"), first(r, f"{kind}.mtu")) for r in icmp
    } == {(*code, "1400")}
    assert all(r["tcp.srcport"] == port for r in icmp)  # the quote names the stalled flow


@needs_tshark
def test_server_blackhole_shows_a_hole(captures: dict[str, tuple[Capture, Path]]) -> None:
    rows = dissect(captures["server_blackhole"][1])
    assert not [r for r in rows if r["tcp.srcport"] == ["443"] and r["tcp.len"] == ["1460"]]
    messages = [m for r in rows for m in r["_ws.expert.message"]]
    assert sum(m.startswith("Previous segment(s) not captured") for m in messages) == 1
    assert any(m.startswith("Duplicate ACK") for m in messages)


@needs_tshark
def test_old_tls_and_offline_fields(captures: dict[str, tuple[Capture, Path]]) -> None:
    old = dissect(captures["old_tls"][1])
    (hello,) = [r for r in old if r["tls.handshake.type"] == ["1"]]
    assert (
        hello["tls.handshake.version"] == ["0x0301"]
        and not hello["tls.handshake.extensions.supported_version"]
    )
    assert [
        (first(r, "tls.alert_message.desc"), first(r, "ip.src"))
        for r in old
        if r["tls.alert_message.desc"]
    ] == [("70", WECOM_IP)]
    assert {first(r, "ip.ttl") for r in old if first(r, "ip.src") != WECOM_IP} == {"64"}
    off = dissect(captures["offline"][1])
    assert [
        (first(r, "icmp.type"), first(r, "icmp.code"), first(r, "udp.dstport"))
        for r in off
        if r["icmp.type"]
    ] == [("3", "0", "53")]
    assert [first(r, "arp.opcode") for r in off if r["arp.opcode"]] == ["1", "2"]
    assert [first(r, "ntp.flags.mode") for r in off if r["ntp.flags.mode"]] == ["3", "4"]
    assert [r["dns.qry.name"] for r in off if "mdns" in first(r, "frame.protocols")] == [
        ["_googlecast._tcp.local"]
    ]


@needs_tshark
def test_healthy_capture_has_no_tcp_anomalies(captures: dict[str, tuple[Capture, Path]]) -> None:
    closing = {
        "This frame initiates the connection closing",
        "This frame undergoes the connection closing",
    }
    for name in ("healthy", "healthy_sll_v6", "service_cert"):
        for row in dissect(captures[name][1]):
            for severity, message in zip(
                row["_ws.expert.severity"], row["_ws.expert.message"], strict=True
            ):
                assert int(severity) <= EXPERT_CHAT or message in closing, (name, message)


@needs_tshark
def test_sll_and_pcapng_direction(captures: dict[str, tuple[Capture, Path]]) -> None:
    for row in dissect(captures["service_cert"][1]):
        outgoing = row["ip.src"] == ["192.168.1.23"]
        expected = ("4", 2) if outgoing else ("0", 1)
        assert (
            first(row, "sll.pkttype"),
            int(first(row, "frame.packet_flags_direction"), 16),
        ) == expected


# ---------------------------------------------------------------- determinism and speed


def test_same_seed_same_bytes() -> None:
    for fmt in ("pcap", "pcapng"):
        assert healthy().to_bytes(fmt) == healthy().to_bytes(fmt)  # type: ignore[arg-type]
    assert healthy(seed=1).to_bytes() != healthy(seed=2).to_bytes()


def test_same_bytes_in_a_fresh_process() -> None:
    # TLS 1.3 needs no certificate, so the child skips key generation (test_gen_certs checks that).
    code = (
        "import hashlib, sys\n"
        "sys.path.insert(0, 'tests/sample_data')\n"
        "from test_gen_pcap import healthy\n"
        "a = healthy(version=0x0304).to_bytes('pcapng')\n"
        "b = healthy('sll', True, version=0x0304).to_bytes('pcap')\n"
        "print(hashlib.sha256(a + b).hexdigest())\n"
    )
    a = healthy(version=TLS13).to_bytes("pcapng")
    b = healthy("sll", True, version=TLS13).to_bytes("pcap")
    env = {**os.environ, "PYTHONHASHSEED": "4242"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == hashlib.sha256(a + b).hexdigest()


def test_frames_and_clock() -> None:
    cap = Capture(0, START)
    assert cap.now == START
    cap.dns(WECOM, answers=[WECOM_IP], rtt=0.5)
    cap.wait(2)
    assert 2.4 < cap.elapsed < 2.6  # the answer comes ~0.5 s after the query
    cap.set_time(0.1)  # overlap: a packet made now lands between the query and its answer
    cap.arp()
    stamps = [ts for ts, _ in cap.frames()]
    assert stamps == sorted(stamps) and len(stamps) == 4
    assert stamps[0] >= int(START.timestamp() * 1e6)


def test_build_and_write_time(tmp_path: Path) -> None:
    """Prints the build+write time of a typical (~200 packet) capture; never asserts it."""

    def typical(seed: int) -> Capture:
        cap = Capture(seed, START)
        cap.background(10)
        cap.dns(WECOM, answers=[WECOM_IP])
        flow = cap.tcp(WECOM_IP)
        flow.handshake(WECOM, TLS12, certs.service_chain(WECOM))
        flow.app_data(1200)
        flow.app_data(30000, from_client=False)
        flow.fin()
        cap.background(10)
        return cap

    typical(0)  # warm the certificate and DNS caches, as a fleet worker is after its first bundle
    runs, sizes = [], []
    for seed in range(40):
        start = time.perf_counter()
        cap = typical(seed)
        cap.write(tmp_path / f"{seed}.pcapng")
        runs.append(time.perf_counter() - start)
        sizes.append(len(cap))
    print(
        f"\ntypical capture (median {sorted(sizes)[20]} packets): median {sorted(runs)[20] * 1000:.1f} ms build+write"
    )
