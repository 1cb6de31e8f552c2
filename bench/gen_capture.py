"""Deterministic generator of a large, realistic packet capture for benchmarks.

Writes an Ethernet capture (classic pcap with microsecond stamps, or pcapng) as
a client-side tap of an office LAN would record it: hundreds of clients making
DNS lookups over UDP (A answers, NXDOMAIN, AAAA without data, retried and
unanswered queries), HTTPS connections on port 443 (handshake, a ClientHello
with SNI, a ServerHello choosing TLS 1.2 or 1.3, for TLS 1.2 the certificate
chain in clear, encrypted application data, FIN or RST), plain HTTP/1.1 on
port 80, refused and unanswered connections, ICMP errors and ARP. Some data
segments are retransmitted. Checksums are correct.

Packets are packed with ``struct`` and sessions are interleaved in time with a
streaming merge, so a million packets take seconds and little memory. Next to
``OUT`` it writes ``OUT.json`` with what was written (flows, DNS responses,
TLS hellos, HTTP responses, ...) so a benchmark can check a parser exactly.

Usage: ``python -m bench.gen_capture OUT [--packets 1000000] [--seed N] [--pcapng]``
"""

from __future__ import annotations

import argparse
import bisect
import json
import random
import struct
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import cache
from itertools import chain
from pathlib import Path
from typing import BinaryIO

import numpy as np

from sample_data.gen.certs import service_chain
from sample_data.gen.packets import ACK, FIN, PSH, RST, SYN
from sample_data.gen.tls import (
    ALERTS,
    CIPHERS_MODERN,
    CIPHERS_TLS12,
    TLS10,
    TLS11,
    TLS12,
    TLS13,
    certificate_record,
    client_hello_record,
    handshake,
    records,
    server_hello_record,
)

VERSION = 2
DEFAULT_SEED = 20250531
DEFAULT_PACKETS = 1_000_000
START_US = 1_748_678_400 * 1_000_000  # 2025-05-31 08:00:00 UTC
MEAN_SESSION_GAP_US = 2_000
MSS = 1460
SNAPLEN = 262_144
FLUSH_PACKETS = 100_000
MASK32 = 0xFFFFFFFF
CLIENTS = 400
FIRST_PORT = 49_152
RETRANSMIT_RATE = 0.004  # of data segments
# (weight, session kind); a lookup per connection or so, as a client with a warm cache makes.
SESSIONS = (
    (40, "dns"),
    (36, "https"),
    (12, "http"),
    (2, "refused"),
    (1, "unanswered"),
    (4, "arp"),
)
# name → addresses; whether it serves HTTPS with TLS 1.3 and whether it serves plain HTTP.
SERVICES = (
    ("work.weixin.qq.com", ("109.244.194.120", "109.244.194.121"), True, False),
    ("open.work.weixin.qq.com", ("183.3.224.143",), True, False),
    ("qyapi.weixin.qq.com", ("101.91.37.23", "101.91.37.24", "101.91.37.25"), True, False),
    ("long.open.weixin.qq.com", ("183.3.224.150",), False, False),
    ("wwcdn.weixin.qq.com", ("203.205.137.236",), True, True),
    ("login.corp.example.com", ("203.0.113.7",), False, False),
    ("sso.corp.example.com", ("203.0.113.8",), True, False),
    ("api.corp.example.com", ("198.51.100.24", "198.51.100.25"), True, False),
    ("ocsp.digicert.cn", ("192.0.2.80",), False, True),
    ("update.example.net", ("192.0.2.81", "192.0.2.82"), True, True),
)
MISSING_NAMES = ("wpad.corp.local", "login.corp.exmaple.com", "isatap.corp.local", "proxy.local")
HTTP_PATHS = (
    "/", "/index.html", "/cgi-bin/check", "/update/manifest.json", "/ocsp", "/static/app.js",
    "/favicon.ico", "/connecttest.txt", "/wwcdn/img/logo.png", "/api/v1/status",
)  # fmt: skip
HTTP_STATUS = (
    (70, 200, "OK"),
    (5, 304, "Not Modified"),
    (8, 302, "Found"),
    (5, 401, "Unauthorized"),
    (7, 404, "Not Found"),
    (3, 500, "Internal Server Error"),
    (2, 503, "Service Unavailable"),
)
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "wxwork/4.1.22 Chrome/110.0.5481.208 Safari/537.36",
    "Microsoft-CryptoAPI/10.0",
    "WeWork/4.1.22 (Windows 10)",
)
GATEWAY_MAC = bytes.fromhex("f42a7d100c01")
RESOLVER_MAC = bytes.fromhex("f42a7d100c35")
BROADCAST = b"\xff" * 6
SYN_OPTIONS = bytes.fromhex("020405b4010303080101 0402".replace(" ", ""))  # MSS, WS 8, SACK ok
SYNACK_OPTIONS = bytes.fromhex("020405b4010303070101 0402".replace(" ", ""))
_OPTION_SUMS = {
    b"": 0,
    **{o: int.from_bytes(o, "big") % 0xFFFF for o in (SYN_OPTIONS, SYNACK_OPTIONS)},
}
CCS = records(20, TLS12, b"\x01")
HELLO_DONE = records(22, TLS12, handshake(14, b""))

_ETH_IP = struct.Struct("!6s6sHBBHHHBBH4s4s")  # Ethernet + IPv4 header
_UDP = struct.Struct("!HHHH")


@dataclass
class CaptureStats:
    """What the generator wrote: exactly what a correct dissector finds in the file."""

    version: int = VERSION
    path: str = ""
    seed: int = DEFAULT_SEED
    format: str = "pcap"
    target_packets: int = 0
    packets: int = 0
    bytes: int = 0
    tcp_flows: int = 0
    udp_flows: int = 0
    tcp_states: dict[str, int] = field(default_factory=dict)  # Zeek conn_state → flows
    udp_states: dict[str, int] = field(default_factory=dict)
    dns_queries: int = 0  # query packets
    dns_responses: int = 0  # response packets
    dns_a_records: int = 0
    dns_nxdomain: int = 0
    dns_unanswered: int = 0  # lookups that got no response
    tls_flows: int = 0
    tls_client_hellos: int = 0
    tls_server_hellos: int = 0
    tls_versions: dict[str, int] = field(default_factory=dict)  # chosen version → flows
    tls_alerts: int = 0  # plaintext alerts
    http_requests: int = 0
    http_responses: int = 0
    http_status: dict[str, int] = field(default_factory=dict)
    icmp_errors: int = 0
    retransmissions: int = 0  # data segments sent again
    syn_retransmissions: int = 0  # SYNs sent again
    arp: int = 0
    seconds: float = 0.0


def sidecar_path(path: Path) -> Path:
    """Where the generator's ``CaptureStats`` for ``path`` are written."""
    return path.with_name(path.name + ".json")


def load_stats(path: Path) -> CaptureStats | None:
    """The sidecar stats of a previously generated ``path``, or None if missing or stale."""
    try:
        stats = CaptureStats(**json.loads(sidecar_path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None
    if stats.version != VERSION or not path.is_file() or path.stat().st_size != stats.bytes:
        return None
    return stats


@dataclass(frozen=True)
class Host:
    """An IPv4 host as its packets need it: address, the sum of its 16-bit words, MAC, TTL."""

    ip: bytes
    words: int
    mac: bytes
    ttl: int


def _host(text: str, mac: bytes, ttl: int) -> Host:
    ip = bytes(int(part) for part in text.split("."))
    return Host(ip, (ip[0] << 8 | ip[1]) + (ip[2] << 8 | ip[3]), mac, ttl)


def _fold(total: int) -> int:
    """The Internet checksum of a ones'-complement sum (mod 0xFFFF, as 2**16 ≡ 1)."""
    folded = total % 0xFFFF or (0xFFFF if total else 0)
    return ~folded & 0xFFFF


def _payload_sum(data: bytes) -> int:
    if len(data) & 1:
        data += b"\x00"
    return int.from_bytes(data, "big") % 0xFFFF


# A packet of a session: (time, TCP side or None, IP id, seq, ack, flags, window, TCP options,
# TCP payload); a packet other than TCP has no side and its whole frame in the last field.
Packet = tuple[int, "_Side | None", int, int, int, int, int, bytes, bytes]
# A packet waiting to be written: its time, its order of creation, then the rest of a Packet.
Pending = tuple[int, int, "_Side | None", int, int, int, int, int, bytes, bytes]


class Session:
    """The packets of one conversation, with its contribution to the stats (kept or dropped)."""

    def __init__(self, gen: Generator, start: int) -> None:
        self.gen = gen
        self.rng = gen.rng
        self.t = start
        self.packets: list[Packet] = []
        self.facts: Counter[str] = Counter()

    def ip_frame(self, src: Host, dst: Host, proto: int, segment: bytes) -> bytes:
        """Ethernet + IPv4 around a transport ``segment``, recorded at ``self.t``; the frame."""
        ident = self.gen.next_ip_id(src)
        length = 20 + len(segment)
        total = 0x4500 + length + ident + 0x4000 + (src.ttl << 8 | proto) + src.words + dst.words
        header = _ETH_IP.pack(
            dst.mac, src.mac, 0x0800, 0x45, 0, length, ident, 0x4000, src.ttl, proto,
            _fold(total), src.ip, dst.ip,
        )  # fmt: skip
        frame = header + segment
        self.packets.append((self.t, None, 0, 0, 0, 0, 0, b"", frame))
        return frame

    def udp(self, src: Host, dst: Host, ports: tuple[int, int], data: bytes) -> bytes:
        length = 8 + len(data)
        total = src.words + dst.words + 17 + length * 2 + ports[0] + ports[1] + _payload_sum(data)
        checksum = _fold(total) or 0xFFFF
        return self.ip_frame(src, dst, 17, _UDP.pack(*ports, length, checksum) + data)

    def icmp_error(self, src: Host, dst: Host, kind: int, code: int, quoted: bytes) -> None:
        """An ICMP error quoting the IP header and first 8 bytes of ``quoted`` (an IP packet)."""
        body = struct.pack("!BBHI", kind, code, 0, 0) + quoted[:28]
        checksum = _fold(_payload_sum(body))
        body = body[:2] + checksum.to_bytes(2, "big") + body[4:]
        self.ip_frame(src, dst, 1, body)
        self.facts["icmp_errors"] += 1

    def arp(self, client: Host, target: bytes) -> None:
        """An ARP who-has from ``client``."""
        body = struct.pack(
            "!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, client.mac, client.ip, bytes(6), target
        )
        frame = BROADCAST + client.mac + b"\x08\x06" + body
        self.packets.append((self.t, None, 0, 0, 0, 0, 0, b"", frame))
        self.facts["arp"] += 1

    def wait(self, us: int) -> None:
        self.t += max(1, us)


class _Side:
    """One direction of a TCP connection: what all its segments repeat, and its counters."""

    __slots__ = ("ident", "ip_sum", "l4_sum", "prefix", "seq", "window")

    def __init__(self, src: Host, dst: Host, ports: tuple[int, int], rng: random.Random) -> None:
        # Ethernet, the IPv4 header with length, id and checksum left zero, and the ports.
        self.prefix = (
            dst.mac + src.mac + b"\x08\x00\x45\x00\x00\x00\x00\x00\x40\x00"
            + bytes([src.ttl, 6, 0, 0]) + src.ip + dst.ip + struct.pack("!HH", *ports)
        )  # fmt: skip
        self.ip_sum = 0x4500 + 0x4000 + (src.ttl << 8 | 6) + src.words + dst.words
        self.l4_sum = src.words + dst.words + 6 + ports[0] + ports[1]
        self.ident = rng.getrandbits(16)
        self.seq = rng.getrandbits(32)
        self.window = 0

    def quote(self, ident: int, length: int, seq: int) -> bytes:
        """The IPv4 header and first 8 TCP bytes of a segment, as an ICMP error quotes them."""
        checksum = _fold(self.ip_sum + length + ident)
        header = self.prefix[14:16] + struct.pack("!HH", length, ident) + self.prefix[20:24]
        return header + checksum.to_bytes(2, "big") + self.prefix[26:38] + seq.to_bytes(4, "big")


class Tcp:
    """One TCP connection seen from the client: both sides' sequence numbers and the clock.

    Segments are recorded as their fields; ``_write_batch`` packs them, many at a time.
    """

    def __init__(
        self, session: Session, client: Host, server: Host, ports: tuple[int, int], rtt: int
    ) -> None:
        self.s = session
        self.rand = session.rng.random
        self.client = _Side(client, server, ports, session.rng)
        self.server = _Side(server, client, ports[::-1], session.rng)
        self.client.window, self.server.window = 1026, 501
        self.rtt = rtt

    def send(
        self,
        from_client: bool,
        flags: int,
        data: bytes = b"",
        options: bytes = b"",
        window: int = -1,
        seq: int = -1,
    ) -> int:
        """One segment; its IP id. The sequence number moves on unless ``seq`` is given."""
        side, other = (self.client, self.server) if from_client else (self.server, self.client)
        own = side.seq if seq < 0 else seq
        ident = side.ident
        side.ident = (ident + 1) & 0xFFFF
        self.s.packets.append(
            (
                self.s.t,
                side,
                ident,
                own,
                other.seq if flags & ACK else 0,
                flags,
                side.window if window < 0 else window,
                options,
                data,
            )
        )
        if seq < 0:
            side.seq = (own + len(data) + (flags & SYN) // SYN + (flags & FIN)) & MASK32
        return ident

    def open(self) -> None:
        self.send(True, SYN, options=SYN_OPTIONS, window=64240)
        self.s.t += self.rtt
        self.send(False, SYN | ACK, options=SYNACK_OPTIONS, window=65535)
        self.s.t += 40 + int(self.rand() * 160)
        self.send(True, ACK)
        self.s.facts["tcp_flows"] += 1

    def transfer(self, from_client: bool, data: bytes, *, retransmit: bool = True) -> None:
        """``data`` in MSS-sized segments; the client acknowledges every second one it gets."""
        rand, session, send = self.rand, self.s, self.send
        side = self.client if from_client else self.server
        last = len(data) - 1
        for at in range(0, len(data), MSS):
            flags = ACK | PSH if at + MSS > last else ACK
            chunk = data[at : at + MSS]
            seq = side.seq
            send(from_client, flags, chunk)
            if retransmit and rand() < RETRANSMIT_RATE:
                session.t += 200_000 + self.rtt
                send(from_client, flags, chunk, seq=seq)
                session.facts["retransmissions"] += 1
            session.t += 20 + int(rand() * 100)
            if not from_client and (at // MSS % 2 or flags & PSH):
                send(True, ACK)
                session.t += 5 + int(rand() * 35)
        if from_client and len(data) > MSS:
            session.t += self.rtt
            send(False, ACK)

    def close(self, state: str) -> None:
        """End the connection so Zeek would call it ``state``: SF, RSTO or RSTR."""
        if state == "SF":
            self.send(True, FIN | ACK)
            self.s.t += self.rtt
            self.send(False, FIN | ACK)
            self.s.t += 20 + int(self.rand() * 80)
            self.send(True, ACK)
        else:
            self.send(state == "RSTO", RST | ACK, window=0)
        self.s.facts[f"tcp:{state}"] += 1


class Generator:
    """Builds sessions one after another and merges their packets in time order."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        rng = self.rng
        self.clients = [
            _host(f"10.20.{1 + i // 200}.{10 + i % 200}", bytes.fromhex("3c7c3f") + bytes(
                [i >> 8, i & 0xFF, rng.randrange(256)]), rng.choice((64, 128)))
            for i in range(CLIENTS)
        ]  # fmt: skip
        self.resolver = _host("10.20.0.53", RESOLVER_MAC, 64)
        self.dead_resolver = _host("10.20.0.54", RESOLVER_MAC[:5] + b"\x36", 64)
        self.gateway = _host("10.20.0.1", GATEWAY_MAC, 255)
        self.servers = {
            ip: (_host(ip, GATEWAY_MAC, rng.randrange(44, 58)), rng.randrange(4_000, 90_000))
            for _, ips, _, _ in SERVICES
            for ip in ips
        }
        self.ports = [FIRST_PORT + rng.randrange(2000) for _ in self.clients]
        self.ip_ids: dict[bytes, int] = {}
        pool_rng = random.Random(seed ^ 0x5EED)
        self.noise = pool_rng.randbytes(1 << 20)
        words = [
            "login", "token", "user", "session", "corp", "weixin", "ok", "status", "data",
            "value", "items", "next", "page", "id", "name", "true", "false", "null", "time",
        ]  # fmt: skip
        text = " ".join(pool_rng.choice(words) for _ in range(60_000))
        self.text = text.encode("ascii")
        self.kinds = [kind for _, kind in SESSIONS]
        self.weights = [weight for weight, _ in SESSIONS]

    def next_ip_id(self, host: Host) -> int:
        value = self.ip_ids.get(host.ip)
        if value is None:
            value = self.rng.randrange(0x10000)
        self.ip_ids[host.ip] = (value + 1) & 0xFFFF
        return value

    def port(self, client: int) -> int:
        """A fresh ephemeral port of ``client``, so no 5-tuple is ever reused."""
        port = self.ports[client]
        self.ports[client] = port + 1 if port < 65535 else FIRST_PORT
        return port

    def random_bytes(self, size: int) -> bytes:
        at = self.rng.randrange(len(self.noise) - size)
        return self.noise[at : at + size]

    def body_text(self, size: int) -> bytes:
        at = self.rng.randrange(len(self.text) - size)
        return self.text[at : at + size]

    def session(self, start: int) -> Session:
        """One conversation of a randomly chosen kind, starting at ``start``."""
        session = Session(self, start)
        kind = self.rng.choices(self.kinds, self.weights)[0]
        getattr(self, f"_{kind}")(session)
        return session

    # ------------------------------------------------------------------ session kinds

    def _client(self) -> tuple[int, Host]:
        index = self.rng.randrange(CLIENTS)
        return index, self.clients[index]

    def _dns(self, s: Session) -> None:
        index, client = self._client()
        rng = self.rng
        ports = (self.port(index), 53)
        txid = rng.getrandbits(16)
        roll = rng.random()
        if roll < 0.10:
            name, qtype, answers, rcode = rng.choice(MISSING_NAMES), 1, (), 3
        else:
            name, ips, _, _ = rng.choice(SERVICES)
            qtype = 28 if roll < 0.25 else 1
            answers = ips if qtype == 1 else ()
            rcode = 0
        query = _dns_query(txid, name, qtype)
        resolver = self.resolver
        outcome = rng.random()
        s.facts["udp_flows"] += 1
        if outcome < 0.01:  # the secondary resolver is down: port unreachable
            frame = s.udp(client, self.dead_resolver, ports, query)
            s.wait(rng.randrange(200, 900))
            s.icmp_error(self.dead_resolver, client, 3, 3, frame[14:])
            s.facts.update(dns_queries=1, dns_unanswered=1, **{"udp:S0": 1})
            return
        attempts = 2 if outcome < 0.04 else 1
        for attempt in range(attempts):
            s.udp(client, resolver, ports, query)
            s.facts["dns_queries"] += 1
            if attempt + 1 < attempts:
                s.wait(1_000_000)
        if outcome < 0.02:  # never answered
            s.facts.update(dns_unanswered=1, **{"udp:S0": 1})
            return
        s.wait(rng.randrange(300, 30_000))
        s.udp(resolver, client, ports[::-1], _dns_response(query, answers, rcode, rng))
        s.facts.update(
            dns_responses=1,
            dns_a_records=len(answers),
            dns_nxdomain=int(rcode == 3),
            **{"udp:SF": 1},
        )

    def _server(self, want: int) -> tuple[str, Host, int, bool]:
        """A service (HTTPS when ``want`` is 2, HTTP when 3): name, server, RTT, TLS 1.3."""
        while True:
            name, ips, tls13, http = self.rng.choice(SERVICES)
            if want == 2 or http:
                server, rtt = self.servers[self.rng.choice(ips)]
                return name, server, rtt, tls13

    def _https(self, s: Session) -> None:
        rng = self.rng
        index, client = self._client()
        name, server, rtt, server13 = self._server(2)
        conn = Tcp(s, client, server, (self.port(index), 443), rtt)
        conn.open()
        modern = rng.random() < 0.85
        hello = _with_random(_client_hello(name, modern), self.random_bytes(64))
        s.wait(rng.randrange(150, 900))
        conn.transfer(True, hello, retransmit=False)
        s.wait(rtt + rng.randrange(200, 3_000))
        tls13 = modern and server13
        cipher = 0x1301 if tls13 else 0xC02F if modern else 0xC013
        flight = _with_random(_server_hello(cipher), self.random_bytes(64))
        if tls13:
            flight += CCS + self._app_data(rng.randrange(2_400, 4_600))
        else:
            key = b"\x03\x00\x17\x41\x04" + self.random_bytes(64)
            signature = b"\x04\x01\x01\x00" + self.random_bytes(256)
            flight += _certificates(name) + records(22, TLS12, handshake(12, key + signature))
            flight += HELLO_DONE
        conn.transfer(False, flight, retransmit=False)
        s.facts.update(
            tls_flows=1,
            tls_client_hellos=1,
            tls_server_hellos=1,
            **{f"tls:{'1.3' if tls13 else '1.2'}": 1},
        )
        s.wait(rng.randrange(500, 4_000))
        if not tls13 and rng.random() < 0.06:  # the client distrusts the chain
            alert = rng.choice(("unknown_ca", "bad_certificate", "certificate_expired"))
            conn.transfer(True, records(21, TLS12, bytes([2, ALERTS[alert]])), retransmit=False)
            s.facts["tls_alerts"] += 1
            s.wait(rng.randrange(100, 500))
            conn.close("RSTO")
            return
        if tls13:
            finished = CCS + self._app_data(53)
        else:
            key = records(22, TLS12, handshake(16, b"\x41\x04" + self.random_bytes(64)))
            finished = key + CCS + records(22, TLS12, self.random_bytes(40))
        conn.transfer(True, finished, retransmit=False)
        s.wait(rtt)
        if tls13:
            conn.transfer(False, self._app_data(rng.randrange(180, 260)), retransmit=False)
        else:
            conn.transfer(False, CCS + records(22, TLS12, self.random_bytes(40)), retransmit=False)
        for _ in range(rng.choice((1, 1, 2, 2, 3, 4, 6))):
            s.wait(rng.randrange(300, 40_000))
            conn.transfer(True, self._app_data(rng.randrange(300, 1_600)))
            s.wait(rtt + rng.randrange(500, 60_000))
            conn.transfer(False, self._app_data(_response_size(rng)))
        s.wait(rng.randrange(1_000, 2_000_000))
        roll = rng.random()
        conn.close("SF" if roll < 0.88 else "RSTO" if roll < 0.95 else "RSTR")

    def _app_data(self, size: int) -> bytes:
        return records(23, TLS12, self.random_bytes(size))

    def _http(self, s: Session) -> None:
        rng = self.rng
        index, client = self._client()
        name, server, rtt, _ = self._server(3)
        conn = Tcp(s, client, server, (self.port(index), 80), rtt)
        conn.open()
        agent = rng.choice(USER_AGENTS)
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            s.wait(rng.randrange(200, 20_000))
            path = rng.choice(HTTP_PATHS)
            request = (
                f"GET {path} HTTP/1.1\r\nHost: {name}\r\nUser-Agent: {agent}\r\n"
                "Accept: */*\r\nConnection: keep-alive\r\n\r\n"
            )
            conn.transfer(True, request.encode("ascii"))
            s.facts["http_requests"] += 1
            s.wait(rtt + rng.randrange(300, 30_000))
            conn.transfer(False, self._http_response(s, name, path))
            s.facts["http_responses"] += 1
        s.wait(rng.randrange(1_000, 500_000))
        conn.close("SF")

    def _http_response(self, s: Session, name: str, path: str) -> bytes:
        rng = self.rng
        _, status, reason = rng.choices(HTTP_STATUS, [w for w, _, _ in HTTP_STATUS])[0]
        headers = [f"HTTP/1.1 {status} {reason}", "Server: nginx", f"Date: {_http_date(s.t)}"]
        body = b""
        if status == 302:
            headers.append(f"Location: https://{name}{path}")
        if status == 401:
            headers.append('WWW-Authenticate: Basic realm="corp"')
        if status != 304:
            size = rng.randrange(200, 12_000) if status == 200 else rng.randrange(60, 600)
            body = self.body_text(size)
            headers += ["Content-Type: text/html", f"Content-Length: {len(body)}"]
        headers.append("Connection: keep-alive")
        s.facts[f"http:{status}"] += 1
        return ("\r\n".join(headers) + "\r\n\r\n").encode("ascii") + body

    def _refused(self, s: Session) -> None:
        """SYN answered by a reset (nothing listens): Zeek's REJ."""
        index, client = self._client()
        _, server, rtt, _ = self._server(2)
        conn = Tcp(s, client, server, (self.port(index), self.rng.choice((443, 8443, 80))), rtt)
        conn.send(True, SYN, options=SYN_OPTIONS, window=64240)
        s.wait(rtt)
        conn.send(False, RST | ACK, window=0, seq=0)
        s.facts.update(tcp_flows=1, **{"tcp:REJ": 1})

    def _unanswered(self, s: Session) -> None:
        """SYN retried into silence (S0); the gateway sometimes says the host is unreachable."""
        rng = self.rng
        index, client = self._client()
        server = _host(f"10.99.{rng.randrange(256)}.{rng.randrange(1, 255)}", GATEWAY_MAC, 64)
        conn = Tcp(s, client, server, (self.port(index), 443), 0)
        seq = conn.client.seq
        unreachable = rng.random() < 0.5
        for attempt in range(3):
            ident = conn.send(True, SYN, options=SYN_OPTIONS, window=64240, seq=seq)
            if attempt == 0 and unreachable:
                s.wait(rng.randrange(500, 3_000))
                quoted = conn.client.quote(ident, 40 + len(SYN_OPTIONS), seq)
                s.icmp_error(self.gateway, client, 3, 1, quoted)
            s.wait(1_000_000 << attempt)
        s.facts.update(tcp_flows=1, syn_retransmissions=2, **{"tcp:S0": 1})

    def _arp(self, s: Session) -> None:
        _, client = self._client()
        s.arp(client, self.gateway.ip)


def _response_size(rng: random.Random) -> int:
    """Mostly small API answers, sometimes a page or a download."""
    roll = rng.random()
    if roll < 0.75:
        return rng.randrange(120, 2_500)
    if roll < 0.97:
        return rng.randrange(2_500, 16_000)
    return rng.randrange(16_000, 64_000)


@cache
def _certificates(name: str) -> bytes:
    """The Certificate record of ``name``'s server (leaf, intermediate); built once."""
    return certificate_record(TLS12, service_chain(name))


@cache
def _client_hello(name: str, modern: bool) -> bytes:
    """A ClientHello record to ``name``: TLS 1.2 and 1.3 from a modern client, else 1.0-1.2."""
    versions = (TLS12, TLS13) if modern else (TLS10, TLS11, TLS12)
    ciphers = CIPHERS_MODERN if modern else CIPHERS_TLS12
    return client_hello_record(name, versions, ciphers, ("h2", "http/1.1"), random.Random(name))


@cache
def _server_hello(cipher: int) -> bytes:
    """A ServerHello record choosing ``cipher`` (a TLS 1.3 suite means TLS 1.3)."""
    version = TLS13 if cipher >> 8 == 0x13 else TLS12
    return server_hello_record(version, cipher, bytes(32), random.Random(cipher))


def _with_random(hello: bytes, fresh: bytes) -> bytes:
    """A hello record with a new random and a new 32-byte session id (``fresh``, 64 bytes)."""
    # Record header (5), handshake header (4), version (2): the random, then the id's length.
    return hello[:11] + fresh[:32] + hello[43:44] + fresh[32:] + hello[76:]


def _dns_name(name: str) -> bytes:
    return (
        b"".join(bytes([len(label)]) + label.encode("ascii") for label in name.split(".")) + b"\0"
    )


def _dns_query(txid: int, name: str, qtype: int) -> bytes:
    return (
        struct.pack("!HHHHHH", txid, 0x0100, 1, 0, 0, 0)
        + _dns_name(name)
        + struct.pack("!HH", qtype, 1)
    )


def _dns_response(query: bytes, answers: tuple[str, ...], rcode: int, rng: random.Random) -> bytes:
    """The resolver's answer to ``query``: A records, or an SOA when there is nothing to give."""
    txid = query[:2]
    question = query[12:]
    ttl = rng.randrange(30, 600)
    body = b""
    for ip in answers:
        body += struct.pack("!HHHIH", 0xC00C, 1, 1, ttl, 4) + bytes(int(p) for p in ip.split("."))
    authority = 0
    if not answers:
        name = question[:-4]
        labels = []
        at = 0
        while name[at]:
            labels.append(at)
            at += name[at] + 1
        zone = 12 + labels[-2] if len(labels) >= 2 else 12
        pointer = struct.pack("!H", 0xC000 | zone)
        soa = b"\x03ns1" + pointer + b"\x0ahostmaster" + pointer
        soa += struct.pack("!IIIII", 1_718_236_800, 300, 600, 86_400, 300)
        body = struct.pack("!HHHIH", 0xC000 | zone, 6, 1, 600, len(soa)) + soa
        authority = 1
    header = struct.pack("!HHHHH", 0x8180 | rcode, 1, len(answers), authority, 0)
    return txid + header + question + body


def _write_header(out: BinaryIO, fmt: str) -> int:
    write = out.write
    if fmt == "pcap":
        return int(write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, SNAPLEN, 1)))
    end = b"\0\0\0\0"
    shb_body = struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + end
    idb_body = struct.pack("<HHI", 1, 0, SNAPLEN)
    idb_body += struct.pack("<HH", 2, 4) + b"eth0" + struct.pack("<HH", 9, 1) + b"\x06\0\0\0" + end
    size = 0
    for kind, body in ((0x0A0D0D0A, shb_body), (1, idb_body)):
        length = 12 + len(body)
        size += write(struct.pack("<II", kind, length) + body + struct.pack("<I", length))
    return size


def _write_batch(out: BinaryIO, packets: list[Pending], fmt: str) -> int:
    """Write packets (time, order, then a session's ``Packet``) as pcap records or pcapng blocks.

    Record headers and TCP headers with their checksums are packed here with numpy, a batch
    at a time: packed one by one in Python they would cost more than everything else.
    """
    count = len(packets)
    if not count:
        return 0
    ts, _, sides, ident, seq, ack, flags, window, options, bodies = zip(*packets, strict=True)
    head = 16 if fmt == "pcap" else 28
    tcp_rows = np.flatnonzero(np.fromiter((side is not None for side in sides), bool, count))
    option_bytes = np.fromiter(map(len, options), np.int64, count)
    header_end = np.full(count, head, dtype=np.int64)
    header_end[tcp_rows] += 54 + option_bytes[tcp_rows]
    frame_lengths = header_end - head + np.fromiter(map(len, bodies), np.int64, count)
    rows = np.zeros((count, head + 66), dtype=np.uint8)
    if len(tcp_rows):
        pick = tcp_rows.tolist()
        fields = (
            np.array(column, dtype=np.int64)[tcp_rows]
            for column in (ident, seq, ack, flags, window)
        )
        rows[tcp_rows, head:] = _tcp_headers(
            [sides[i] for i in pick], *fields, [options[i] for i in pick], [bodies[i] for i in pick]
        )
    stamps = np.array(ts, dtype=np.int64)
    pad = np.zeros(count, dtype=np.int64)
    if fmt == "pcap":
        _put(rows, 0, stamps // 1_000_000, "<u4")
        _put(rows, 4, stamps % 1_000_000, "<u4")
        _put(rows, 8, frame_lengths, "<u4")
        _put(rows, 12, frame_lengths, "<u4")
    else:
        pad = -frame_lengths % 4
        block = 32 + frame_lengths + pad
        _put(rows, 0, np.full(count, 6), "<u4")
        _put(rows, 4, block, "<u4")
        _put(rows, 12, stamps >> 32, "<u4")
        _put(rows, 16, stamps & MASK32, "<u4")
        _put(rows, 20, frame_lengths, "<u4")
        _put(rows, 24, frame_lengths, "<u4")
    width = rows.shape[1]
    view = memoryview(rows.tobytes())
    starts = range(0, count * width, width)
    heads = [
        view[start : start + end] for start, end in zip(starts, header_end.tolist(), strict=True)
    ]
    if fmt == "pcap":
        return out.write(b"".join(chain.from_iterable(zip(heads, bodies, strict=True))))
    # Padding, then the block length again: the last 4 + pad bytes of a 7-byte row.
    trailers = np.zeros((count, 7), dtype=np.uint8)
    _put(trailers, 3, 32 + frame_lengths + pad, "<u4")
    tail = memoryview(trailers.tobytes())
    ends = [tail[7 * row + 3 - gap : 7 * row + 7] for row, gap in enumerate(pad.tolist())]
    return out.write(b"".join(chain.from_iterable(zip(heads, bodies, ends, strict=True))))


def _tcp_headers(
    sides: list[_Side | None],
    ident: np.ndarray,
    seq: np.ndarray,
    ack: np.ndarray,
    flags: np.ndarray,
    window: np.ndarray,
    options: list[bytes],
    payloads: list[bytes],
) -> np.ndarray:
    """Ethernet, IPv4, TCP headers and options (66 bytes, options zero when absent) per segment."""
    count = len(sides)
    known = [side for side in sides if side is not None]
    option_bytes = np.fromiter(map(len, options), np.int64, count)
    tcp_length = 20 + option_bytes + np.fromiter(map(len, payloads), np.int64, count)
    ip_length = 20 + tcp_length
    rows = np.zeros((count, 66), dtype=np.uint8)
    prefix = b"".join(side.prefix for side in known)
    rows[:, :38] = np.frombuffer(prefix, dtype=np.uint8).reshape(count, 38)
    ip_sum = np.array([side.ip_sum for side in known], dtype=np.int64)
    _put(rows, 16, ip_length, ">u2")
    _put(rows, 18, ident, ">u2")
    _put(rows, 24, _fold_all(ip_sum + ip_length + ident), ">u2")
    offset_flags = ((5 + option_bytes // 4) << 12) | flags
    _put(rows, 38, seq, ">u4")
    _put(rows, 42, ack, ">u4")
    _put(rows, 46, offset_flags, ">u2")
    _put(rows, 48, window, ">u2")
    with_options = np.flatnonzero(option_bytes)
    if len(with_options):
        joined = b"".join(options[row] for row in with_options.tolist())
        rows[with_options, 54:66] = np.frombuffer(joined, np.uint8).reshape(-1, 12)
    partial = np.array([side.l4_sum for side in known], dtype=np.int64) + tcp_length
    partial += (seq >> 16) + (seq & 0xFFFF) + (ack >> 16) + (ack & 0xFFFF) + offset_flags + window
    partial += np.fromiter((_OPTION_SUMS[o] for o in options), np.int64, count)
    _put(rows, 50, _fold_all(partial + _payload_sums(payloads)), ">u2")
    return rows


def _put(rows: np.ndarray, at: int, values: np.ndarray, dtype: str) -> None:
    """Store ``values`` as ``dtype`` (">u2", "<u4", ...) at byte ``at`` of every row."""
    width = np.dtype(dtype).itemsize
    rows[:, at : at + width] = values.astype(dtype).view(np.uint8).reshape(-1, width)


def _fold_all(total: np.ndarray) -> np.ndarray:
    """Internet checksums of ones'-complement sums that are never zero (IPv4 and TCP headers)."""
    folded = total % 0xFFFF
    folded[folded == 0] = 0xFFFF
    return ~folded & 0xFFFF


def _payload_sums(payloads: list[bytes]) -> np.ndarray:
    """Each payload's 16-bit big-endian words summed, mod 0xFFFF (a lone last byte pads)."""
    sizes = (np.fromiter(map(len, payloads), np.int64, len(payloads)) + 1) // 2
    joined = b"".join(data + b"\0" if len(data) & 1 else data for data in payloads)
    # Summed as little-endian words, which is cheaper: mod 0xFFFF that sum times 256 is the
    # big-endian one (RFC 1071's byte-order independence).
    words = np.frombuffer(joined, dtype="<u2")
    sums = np.zeros(len(payloads), dtype=np.int64)
    filled = np.flatnonzero(sizes)
    if len(filled):
        starts = (np.cumsum(sizes) - sizes)[filled]
        sums[filled] = np.add.reduceat(words, starts, dtype=np.uint32)
    return sums % 0xFFFF * 256


def generate(
    path: Path, packets: int = DEFAULT_PACKETS, seed: int = DEFAULT_SEED, fmt: str = "pcap"
) -> CaptureStats:
    """Write exactly ``packets`` packets to ``path`` (and its sidecar JSON); return the stats."""
    started = time.perf_counter()
    gen = Generator(seed)
    facts: Counter[str] = Counter()
    pending: list[Pending] = []
    count = size = 0
    start = START_US
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        size += _write_header(out, fmt)
        while count < packets:
            start += int(gen.rng.expovariate(1 / MEAN_SESSION_GAP_US))
            if len(pending) >= FLUSH_PACKETS:
                # Every session is built whole and each starts later than the last, so
                # whatever is earlier than this start is final.
                pending.sort()
                cut = bisect.bisect_left(pending, (start,))
                size += _write_batch(out, pending[:cut], fmt)
                del pending[:cut]
            session = gen.session(start)
            if count + len(session.packets) > packets:
                # Too long for what is left: ARP requests make up the exact count instead.
                session = Session(gen, start)
                while count + len(session.packets) < packets:
                    session.arp(gen.clients[gen.rng.randrange(CLIENTS)], gen.gateway.ip)
                    session.wait(gen.rng.randrange(1_000, 50_000))
            pending.extend(
                (packet[0], count + index, *packet[1:])
                for index, packet in enumerate(session.packets)
            )
            count += len(session.packets)
            facts.update(session.facts)
        pending.sort()
        size += _write_batch(out, pending, fmt)
    stats = _stats(facts)
    stats.path, stats.seed, stats.format = str(path), seed, fmt
    stats.target_packets, stats.packets, stats.bytes = packets, count, size
    stats.seconds = round(time.perf_counter() - started, 3)
    sidecar_path(path).write_text(json.dumps(asdict(stats), indent=2) + "\n", encoding="utf-8")
    return stats


def _stats(facts: Counter[str]) -> CaptureStats:
    """Session facts as stats: ``kind:value`` keys become tallies of that kind."""
    stats = CaptureStats()
    tallies = {
        "tcp": stats.tcp_states,
        "udp": stats.udp_states,
        "tls": stats.tls_versions,
        "http": stats.http_status,
    }
    for key, value in sorted(facts.items()):
        kind, _, name = key.partition(":")
        if name:
            tallies[kind][name] = value
        else:
            setattr(stats, key, value)
    return stats


def _http_date(us: int) -> str:
    return format_datetime(datetime.fromtimestamp(us // 1_000_000, UTC), usegmt=True)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.gen_capture",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("out", type=Path, help="capture file to write")
    parser.add_argument("--packets", type=int, default=DEFAULT_PACKETS, help="packets to write")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    parser.add_argument("--pcapng", action="store_true", help="write pcapng, not classic pcap")
    args = parser.parse_args(argv)
    stats = generate(args.out, args.packets, args.seed, "pcapng" if args.pcapng else "pcap")
    print(
        f"wrote {stats.packets:,} packets ({stats.bytes / 2**20:.1f} MiB, {stats.format}) to "
        f"{args.out} in {stats.seconds:.1f}s: {stats.tcp_flows:,} TCP and {stats.udp_flows:,} "
        f"UDP flows, {stats.dns_responses:,} DNS responses, {stats.tls_client_hellos:,} TLS "
        f"hellos, {stats.http_responses:,} HTTP responses",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
