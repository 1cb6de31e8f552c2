"""Deterministic packet captures for sample bundles, written as pcap or pcapng.

A ``Capture`` is a seeded clock plus a packet list, seen from the client's
interface. Its methods add whole exchanges (a DNS lookup, a TCP handshake, a
TLS flight, an injected reset) with consistent addresses, ports, sequence
numbers, IP ids and TTLs. Nothing reads wall time or the environment, so the
same calls give the same bytes in any process.

Link, IP, TCP, UDP and ICMP headers are packed here with ``struct`` (scapy
takes ~0.7 ms per TCP packet, far too slow for a 1,000-bundle fleet); scapy
builds the DNS messages, cached per content with the transaction id patched in.
TLS records are packed by hand so every byte (SNI, versions, ALPN) is under the
scenario's control.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import random
import struct
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http import HTTPStatus
from pathlib import Path
from typing import Literal

from scapy.layers.dns import DNS, DNSQR, DNSRR, DNSRRSOA, dns_compress

Seed = int | str
Link = Literal["ether", "sll"]
Format = Literal["pcap", "pcapng"]

TLS10, TLS11, TLS12, TLS13 = 0x0301, 0x0302, 0x0303, 0x0304
LINKTYPE_ETHERNET = 1
LINKTYPE_LINUX_SLL = 113
SNAPLEN = 262144

ALERTS = {
    "close_notify": 0,
    "unexpected_message": 10,
    "handshake_failure": 40,
    "bad_certificate": 42,
    "certificate_expired": 45,
    "certificate_unknown": 46,
    "unknown_ca": 48,
    "decrypt_error": 51,
    "protocol_version": 70,
    "insufficient_security": 71,
    "internal_error": 80,
    "unrecognized_name": 112,
}


def _suites(hexes: str) -> tuple[int, ...]:
    raw = bytes.fromhex(hexes)
    return struct.unpack(f"!{len(raw) // 2}H", raw)


# Cipher suites as a Chrome-era client, a TLS 1.2-only client and an old TLS 1.0 stack offer them.
CIPHERS_MODERN = _suites(
    "1301 1302 1303 c02b c02f c02c c030 cca9 cca8 c013 c014 009c 009d 002f 0035"
)
CIPHERS_TLS12 = _suites("c02b c02f c02c c030 c013 c014 009c 009d 002f 0035 000a")
CIPHERS_LEGACY = _suites("c014 c013 0035 002f 000a 0005 0004")

CLIENT_MAC = "3c:7c:3f:1e:92:4b"
GATEWAY_MAC = "f4:2a:7d:10:0c:01"
NEIGHBOUR_MAC = "a4:83:e7:5b:21:9c"
DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/112.0.5615.50 Safari/537.36"
)

_FIN, _SYN, _RST, _PSH, _ACK = 0x01, 0x02, 0x04, 0x08, 0x10
_CWND = 10  # segments in flight before the sender waits for an ACK
_CLIENT_WINDOW, _CLIENT_WSCALE = 1026, 8
_SERVER_WINDOW, _SERVER_WSCALE = 510, 7
_BROADCAST = "ff:ff:ff:ff:ff:ff"


def _rng(seed: Seed, *labels: str) -> random.Random:
    # A digest, not hash(), so the stream is the same under any PYTHONHASHSEED.
    text = "\x1f".join([repr(seed), *labels]).encode()
    return random.Random(int.from_bytes(hashlib.sha256(text).digest(), "big"))


def _us(seconds: float) -> int:
    return round(seconds * 1_000_000)


# ---------------------------------------------------------------- raw headers


@functools.cache
def _addr(text: str) -> bytes:
    return ipaddress.ip_address(text).packed


@functools.cache
def _mac(text: str) -> bytes:
    return bytes.fromhex(text.replace(":", ""))


def _checksum(data: bytes) -> int:
    # The ones'-complement sum of 16-bit words is the number mod 0xFFFF (2**16 == 1 mod 0xFFFF).
    if len(data) & 1:
        data += b"\x00"
    value = int.from_bytes(data, "big")
    folded = value % 0xFFFF or (0xFFFF if value else 0)
    return ~folded & 0xFFFF


def _pseudo(src: bytes, dst: bytes, proto: int, length: int) -> bytes:
    if len(src) == 4:
        return src + dst + struct.pack("!BBH", 0, proto, length)
    return src + dst + struct.pack("!IxxxB", length, proto)


def _ip(
    src: bytes,
    dst: bytes,
    proto: int,
    payload: bytes,
    ttl: int,
    ident: int = 0,
    df: bool = True,
    flow_label: int = 0,
) -> bytes:
    if len(src) == 16:
        head = struct.pack("!IHBB", 0x60000000 | flow_label, len(payload), proto, ttl)
        return head + src + dst + payload
    head = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0,
        20 + len(payload),
        ident & 0xFFFF,
        0x4000 if df else 0,
        ttl,
        proto,
        0,
        src,
        dst,
    )
    return head[:10] + _checksum(head).to_bytes(2, "big") + head[12:] + payload


def _tcp(
    src: bytes,
    dst: bytes,
    sport: int,
    dport: int,
    seq: int,
    ack: int,
    flags: int,
    window: int,
    payload: bytes = b"",
    options: bytes = b"",
) -> bytes:
    head = (
        struct.pack(
            "!HHIIBBHHH",
            sport,
            dport,
            seq & 0xFFFFFFFF,
            ack & 0xFFFFFFFF,
            (5 + len(options) // 4) << 4,
            flags,
            window,
            0,
            0,
        )
        + options
    )
    seg = head + payload
    csum = _checksum(_pseudo(src, dst, 6, len(seg)) + seg)
    return seg[:16] + csum.to_bytes(2, "big") + seg[18:]


def _udp(src: bytes, dst: bytes, sport: int, dport: int, payload: bytes) -> bytes:
    dgram = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    csum = _checksum(_pseudo(src, dst, 17, len(dgram)) + dgram) or 0xFFFF
    return dgram[:6] + csum.to_bytes(2, "big") + dgram[8:]


def _icmp(src: bytes, dst: bytes, kind: int, code: int, rest: bytes, body: bytes) -> bytes:
    msg = struct.pack("!BBH", kind, code, 0) + rest + body
    prefix = _pseudo(src, dst, 58, len(msg)) if len(src) == 16 else b""
    return msg[:2] + _checksum(prefix + msg).to_bytes(2, "big") + msg[4:]


def _quote(ip_packet: bytes) -> bytes:
    # RFC 1812 / RFC 4443: quote as much as fits in a 576-byte (IPv4) or 1280-byte (IPv6) error.
    return ip_packet[: 548 if ip_packet[0] >> 4 == 4 else 1232]


# ---------------------------------------------------------------- TLS records


def _vec(width: int, body: bytes) -> bytes:
    return len(body).to_bytes(width, "big") + body


def _ext(kind: int, body: bytes) -> bytes:
    return kind.to_bytes(2, "big") + _vec(2, body)


def _handshake(kind: int, body: bytes) -> bytes:
    return bytes([kind]) + _vec(3, body)


def _records(content_type: int, version: int, payload: bytes) -> bytes:
    out = b""
    for i in range(0, max(len(payload), 1), 16384):
        out += struct.pack("!BHH", content_type, version, len(payload[i : i + 16384]))
        out += payload[i : i + 16384]
    return out


def _u16s(values: Iterable[int]) -> bytes:
    return b"".join(v.to_bytes(2, "big") for v in values)


def client_hello_record(
    sni: str | None,
    versions: Sequence[int],
    ciphers: Sequence[int],
    alpn: Sequence[str] | None,
    rng: random.Random,
    pq_key_share: bool = False,
) -> bytes:
    """A ClientHello record offering ``versions`` (TLS 1.3 via supported_versions)."""
    top = max(versions)
    session_id = rng.randbytes(32) if top >= TLS12 else b""
    exts = b""
    if sni:
        exts += _ext(0, _vec(2, b"\x00" + _vec(2, sni.encode("idna"))))
    exts += _ext(23, b"") + _ext(0xFF01, b"\x00")
    groups = ([0x11EC] if pq_key_share else []) + [0x001D, 0x0017, 0x0018]
    exts += _ext(10, _vec(2, _u16s(groups))) + _ext(11, _vec(1, b"\x00"))
    exts += _ext(35, b"")
    if alpn:
        exts += _ext(16, _vec(2, b"".join(_vec(1, p.encode()) for p in alpn)))
    exts += _ext(5, b"\x01\x00\x00\x00\x00")
    if top >= TLS12:
        sigalgs = (0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601, 0x0201)
        exts += _ext(13, _vec(2, _u16s(sigalgs)))
    if top >= TLS13:
        shares = b""
        if pq_key_share:
            # ML-KEM-768 key + X25519 share (1216 bytes): the ClientHello spans two segments.
            shares += _u16s([0x11EC]) + _vec(2, rng.randbytes(1216))
        shares += _u16s([0x001D]) + _vec(2, rng.randbytes(32))
        exts += _ext(51, _vec(2, shares)) + _ext(45, b"\x01\x01")
        exts += _ext(43, _vec(1, _u16s(sorted(versions, reverse=True))))
    body = (
        min(top, TLS12).to_bytes(2, "big")
        + rng.randbytes(32)
        + _vec(1, session_id)
        + _vec(2, _u16s(ciphers))
        + b"\x01\x00"
        + _vec(2, exts)
    )
    return _records(22, TLS10, _handshake(1, body))


def server_hello_record(
    version: int,
    cipher: int,
    session_id: bytes,
    rng: random.Random,
    alpn: str | None = None,
    downgrade: bool = False,
) -> bytes:
    """A ServerHello record choosing ``version`` and ``cipher``."""
    server_random = rng.randbytes(32)
    if downgrade:  # RFC 8446 4.1.3 sentinel: a 1.3-capable server answering with 1.2
        server_random = server_random[:24] + b"DOWNGRD\x01"
    if version >= TLS13:
        exts = _ext(51, _u16s([0x001D]) + _vec(2, rng.randbytes(32))) + _ext(43, _u16s([TLS13]))
    else:
        exts = _ext(0xFF01, b"\x00") + _ext(23, b"")
        if cipher >= 0xC000:
            exts += _ext(11, _vec(1, b"\x00"))
        if alpn:
            exts += _ext(16, _vec(2, _vec(1, alpn.encode())))
    body = (
        min(version, TLS12).to_bytes(2, "big")
        + server_random
        + _vec(1, session_id)
        + cipher.to_bytes(2, "big")
        + b"\x00"
        + _vec(2, exts)
    )
    return _records(22, min(version, TLS12), _handshake(2, body))


def certificate_record(version: int, chain: Sequence[bytes]) -> bytes:
    """A TLS 1.2-style Certificate handshake record carrying the DER ``chain`` (leaf first)."""
    body = _vec(3, b"".join(_vec(3, der) for der in chain))
    return _records(22, version, _handshake(11, body))


def _server_key_exchange(version: int, rng: random.Random) -> bytes:
    params = b"\x03\x00\x17" + _vec(1, b"\x04" + rng.randbytes(64))
    return _records(22, version, _handshake(12, params + b"\x04\x01" + _vec(2, rng.randbytes(256))))


# ---------------------------------------------------------------- file formats


def _pcap(frames: Sequence[tuple[int, bytes, int]], linktype: int) -> bytes:
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, SNAPLEN, linktype)]
    for ts, data, _ in frames:
        sec, usec = divmod(ts, 1_000_000)
        out.append(struct.pack("<IIII", sec, usec, len(data), len(data)))
        out.append(data)
    return b"".join(out)


def _option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + value + b"\x00" * (-len(value) % 4)


def _block(kind: int, body: bytes) -> bytes:
    length = 12 + len(body)
    return struct.pack("<II", kind, length) + body + struct.pack("<I", length)


def _pcapng(frames: Sequence[tuple[int, bytes, int]], linktype: int, ifname: str) -> bytes:
    # Written by hand: scapy's writer truncates float timestamps and has no direction flags.
    end = _option(0, b"")
    shb = struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)
    shb += _option(4, b"loginlens sample_data generator") + end
    idb = struct.pack("<HHI", linktype, 0, SNAPLEN)
    idb += _option(2, ifname.encode()) + _option(9, b"\x06") + end
    out = [_block(0x0A0D0D0A, shb), _block(1, idb)]
    for ts, data, direction in frames:
        epb = struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(data), len(data))
        epb += data + b"\x00" * (-len(data) % 4)
        epb += _option(2, struct.pack("<I", direction)) + end
        out.append(_block(6, epb))
    return b"".join(out)


# ---------------------------------------------------------------- DNS messages


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _zone(name: str) -> str:
    return ".".join(name.rstrip(".").split(".")[-2:])


@functools.cache
def _dns_query(name: str, qtype: str) -> bytes:
    return bytes(DNS(id=0, rd=1, qd=DNSQR(qname=name, qtype=qtype)))


@functools.cache
def _dns_response(name: str, qtype: str, answers: tuple[str, ...], rcode: int, ttl: int) -> bytes:
    records = []
    owner = name
    for answer in answers:
        if _is_ip(answer):
            kind = "AAAA" if ":" in answer else "A"
            records.append(DNSRR(rrname=owner, type=kind, ttl=ttl, rdata=answer))
        else:  # a name in the answer list is a CNAME hop; later addresses belong to it
            records.append(DNSRR(rrname=owner, type="CNAME", ttl=ttl, rdata=answer))
            owner = answer
    authority = []
    if rcode == 3 or (rcode == 0 and not answers):
        zone = _zone(name)
        authority.append(
            DNSRRSOA(
                rrname=zone,
                ttl=600,
                mname=f"ns1.{zone}",
                rname=f"hostmaster.{zone}",
                serial=1718236800,
                refresh=300,
                retry=600,
                expire=86400,
                minimum=300,
            )
        )
    message = DNS(
        id=0,
        qr=1,
        rd=1,
        ra=1,
        rcode=rcode,
        qd=DNSQR(qname=name, qtype=qtype),
        an=records,
        ns=authority,
    )
    return bytes(dns_compress(message))  # type: ignore[no-untyped-call]


@functools.cache
def _mdns_query(service: str) -> bytes:
    return bytes(DNS(id=0, rd=0, qd=DNSQR(qname=service, qtype="PTR")))


def _with_id(message: bytes, txid: int) -> bytes:
    return txid.to_bytes(2, "big") + message[2:]


# ---------------------------------------------------------------- the capture


class Capture:
    """A seeded packet capture on the client's interface; add exchanges, then ``write``."""

    def __init__(
        self,
        seed: Seed,
        start: datetime,
        client_ip: str | None = None,
        client_mac: str = CLIENT_MAC,
        gateway_mac: str = GATEWAY_MAC,
        resolver_ip: str | None = None,
        *,
        link: Link = "ether",
        ipv6: bool = False,
        gateway_ip: str | None = None,
        client_ttl: int = 128,
        resolver_ttl: int | None = None,
        server_clock_offset: float = 0.0,
    ) -> None:
        if link not in ("ether", "sll"):
            raise ValueError(f"link must be 'ether' or 'sll', not {link!r}")
        self.rng = _rng(seed, "capture")
        self.link = link
        self.ipv6 = ipv6
        self.client_ip = client_ip or (
            "240e:390:5a1:c0b0:8d2:4f1e:3b7a:91c4" if ipv6 else "192.168.1.23"
        )
        self.gateway_ip = gateway_ip or _gateway_for(self.client_ip)
        self.resolver_ip = resolver_ip or self.gateway_ip
        self.client_mac = client_mac
        self.gateway_mac = gateway_mac
        self.client_ttl = client_ttl
        private = ipaddress.ip_address(self.resolver_ip).is_private
        self.resolver_ttl = resolver_ttl or (64 if private else self.rng.randint(46, 57))
        self.server_clock_offset = server_clock_offset
        start = start.replace(tzinfo=UTC) if start.tzinfo is None else start
        self._epoch_us = _us((start - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds())
        self._clock = 0
        self._frames: list[tuple[int, bytes, int]] = []
        # Windows hands out ephemeral ports from 49152, Linux/macOS-like stacks from 32768.
        self._ports = (49152, 65535) if client_ttl > 64 else (32768, 60999)
        self._next_port = self.rng.randint(*self._ports)
        self._client_ipid = self.rng.randrange(65536)
        self._resolver_ipid = self.rng.randrange(65536)
        self._last_sent: bytes | None = None
        self._mdns_sent = 0

    # -- clock

    @property
    def elapsed(self) -> float:
        """Seconds since the capture start."""
        return self._clock / 1_000_000

    @property
    def now(self) -> datetime:
        """The capture clock as an aware UTC datetime."""
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(
            microseconds=self._epoch_us + self._clock
        )

    def wait(self, seconds: float) -> None:
        """Advance the clock."""
        self._clock += _us(seconds)

    def set_time(self, seconds: float) -> None:
        """Move the clock to ``seconds`` after start, also backwards to overlap exchanges.

        Packets are written in time order, so overlapping exchanges interleave.
        """
        self._clock = _us(seconds)

    def _gap(self, low: float, high: float) -> int:
        return self.rng.randint(_us(low), _us(high))

    # -- framing

    @property
    def linktype(self) -> int:
        return LINKTYPE_LINUX_SLL if self.link == "sll" else LINKTYPE_ETHERNET

    def _emit(
        self,
        t: int,
        packet: bytes,
        outgoing: bool,
        *,
        src_mac: str | None = None,
        dst_mac: str | None = None,
        ethertype: int | None = None,
    ) -> None:
        if ethertype is None:
            ethertype = 0x86DD if packet[0] >> 4 == 6 else 0x0800
        src = src_mac or (self.client_mac if outgoing else self.gateway_mac)
        dst = dst_mac or (self.gateway_mac if outgoing else self.client_mac)
        if self.link == "ether":
            frame = _mac(dst) + _mac(src) + ethertype.to_bytes(2, "big") + packet
            if not outgoing and len(frame) < 60:  # the NIC hands up padded frames
                frame += b"\x00" * (60 - len(frame))
        else:
            if outgoing:
                kind = 4
            elif dst == _BROADCAST:
                kind = 1
            elif _mac(dst)[0] & 1:
                kind = 2
            else:
                kind = 0
            frame = struct.pack("!HHH8sH", kind, 1, 6, _mac(src), ethertype) + packet
        self._frames.append((t, frame, 2 if outgoing else 1))
        self._clock = max(self._clock, t)

    def _next_ipid(self) -> int:
        # One counter for all the client's packets, as Windows does.
        self._client_ipid = (self._client_ipid + 1) & 0xFFFF
        return self._client_ipid

    def _client_ip_packet(self, dst: str, proto: int, payload: bytes, df: bool = True) -> bytes:
        return _ip(
            _addr(self.client_ip),
            _addr(dst),
            proto,
            payload,
            self.client_ttl,
            self._next_ipid(),
            df,
        )

    def _send_ip(self, t: int, packet: bytes) -> None:
        self._last_sent = packet
        self._emit(t, packet, True)

    def _port(self) -> int:
        low, high = self._ports
        self._next_port += self.rng.randint(1, 3)
        if self._next_port > high:
            self._next_port = low + (self._next_port - high)
        return self._next_port

    # -- UDP and DNS

    def udp(
        self,
        dst_ip: str,
        dport: int,
        payload: bytes,
        *,
        reply: bytes | None = None,
        sport: int | None = None,
        rtt: float = 0.03,
        server_ttl: int = 52,
    ) -> int:
        """A datagram from the client (and ``reply`` after ``rtt``); returns the source port."""
        sport = sport or self._port()
        t = self._clock + self._gap(0.0002, 0.002)
        src, dst = _addr(self.client_ip), _addr(dst_ip)
        self._send_ip(
            t, self._client_ip_packet(dst_ip, 17, _udp(src, dst, sport, dport, payload), df=False)
        )
        if reply is not None:
            back = _ip(
                dst,
                src,
                17,
                _udp(dst, src, dport, sport, reply),
                server_ttl,
                self.rng.randrange(65536),
                False,
            )
            self._emit(t + self._gap(rtt * 0.9, rtt * 1.1), back, False)
        return sport

    def _resolver_packet(
        self,
        sport: int,
        payload: bytes,
        ip_ttl: int,
        ident: int | None = None,
    ) -> bytes:
        src, dst = _addr(self.resolver_ip), _addr(self.client_ip)
        if ident is None:
            self._resolver_ipid += 1
            ident = self._resolver_ipid
        return _ip(src, dst, 17, _udp(src, dst, 53, sport, payload), ip_ttl, ident, False)

    def dns(
        self,
        name: str,
        qtype: str = "A",
        answers: Sequence[str] = (),
        *,
        rcode: int = 0,
        ttl: int = 600,
        rtt: float = 0.02,
        unanswered: bool = False,
        attempts: int = 3,
        ip_ttl: int | None = None,
    ) -> None:
        """A lookup of ``name``; ``answers`` holds addresses and CNAME hops in order.

        ``unanswered`` sends ``attempts`` identical queries 1, 2, 4 ... s apart and no
        reply; rcode 3 (NXDOMAIN) and empty answers carry the zone's SOA.
        """
        sport, txid = self._port(), self.rng.randrange(1, 65536)
        query = _with_id(_dns_query(name, qtype), txid)
        src, dst = _addr(self.client_ip), _addr(self.resolver_ip)
        t = self._clock + self._gap(0.0002, 0.002)
        sends = attempts if unanswered else 1
        for attempt in range(sends):
            at = t + _us(2**attempt - 1)
            self._send_ip(
                at,
                self._client_ip_packet(
                    self.resolver_ip, 17, _udp(src, dst, sport, 53, query), df=False
                ),
            )
        if unanswered:
            return
        response = _with_id(_dns_response(name, qtype, tuple(answers), rcode, ttl), txid)
        back = self._resolver_packet(sport, response, ip_ttl or self.resolver_ttl)
        self._emit(t + self._gap(rtt * 0.9, rtt * 1.15), back, False)

    def dns_injected(
        self,
        name: str,
        forged: Sequence[str],
        genuine: Sequence[str] = (),
        *,
        qtype: str = "A",
        ttl: int = 600,
        forged_ttl: int = 60,
        forged_delay: float = 0.003,
        rtt: float = 0.06,
        forged_ip_ttl: int | None = None,
        copies: int = 1,
    ) -> None:
        """One query answered twice: a fast forged reply (other IP TTL) first, then the genuine one.

        An empty ``genuine`` leaves only the forged reply(s).
        """
        sport, txid = self._port(), self.rng.randrange(1, 65536)
        query = _with_id(_dns_query(name, qtype), txid)
        src, dst = _addr(self.client_ip), _addr(self.resolver_ip)
        t = self._clock + self._gap(0.0002, 0.002)
        self._send_ip(
            t,
            self._client_ip_packet(
                self.resolver_ip, 17, _udp(src, dst, sport, 53, query), df=False
            ),
        )
        if forged_ip_ttl is None:
            # An on-path injector sits a different number of hops away, with its own initial TTL.
            forged_ip_ttl = self.resolver_ttl + self.rng.choice([-1, 1]) * self.rng.randint(9, 30)
            forged_ip_ttl = min(max(forged_ip_ttl, 20), 250)
        fake = _with_id(_dns_response(name, qtype, tuple(forged), 0, forged_ttl), txid)
        at = t + self._gap(forged_delay * 0.8, forged_delay * 1.2)
        for _ in range(copies):
            packet = self._resolver_packet(sport, fake, forged_ip_ttl, self.rng.randrange(65536))
            self._emit(at, packet, False)
            at += self._gap(0.00003, 0.0003)
        if genuine:
            real = _with_id(_dns_response(name, qtype, tuple(genuine), 0, ttl), txid)
            back = self._resolver_packet(sport, real, self.resolver_ttl)
            self._emit(max(at, t + self._gap(rtt * 0.9, rtt * 1.15)), back, False)

    # -- TCP

    def _flow(
        self,
        server_ip: str,
        port: int,
        mss: int,
        server_mss: int | None,
        rtt: float,
        server_ttl: int | None,
    ) -> Flow:
        if ipaddress.ip_address(server_ip).version != ipaddress.ip_address(self.client_ip).version:
            raise ValueError(f"server {server_ip} and client {self.client_ip} differ in IP version")
        ttl = server_ttl or 64 - self.rng.randint(8, 16)
        return Flow(self, server_ip, port, mss, server_mss or mss, _us(rtt), ttl)

    def tcp(
        self,
        server_ip: str,
        port: int = 443,
        *,
        mss: int = 1460,
        server_mss: int | None = None,
        rtt: float = 0.03,
        server_ttl: int | None = None,
        path_mtu: int | None = None,
        icmp_frag_needed: bool = False,
        router_ip: str | None = None,
    ) -> Flow:
        """A connection with a completed three-way handshake.

        ``path_mtu`` makes the path a black hole for larger packets (see ``Flow.send``);
        ``icmp_frag_needed`` adds the router's ICMP frag-needed / Packet Too Big.
        """
        flow = self._flow(server_ip, port, mss, server_mss, rtt, server_ttl)
        flow.path_mtu, flow.icmp_frag_needed = path_mtu, icmp_frag_needed
        flow.router_ip = router_ip or self.gateway_ip
        t = self._clock + self._gap(0.0002, 0.002)
        flow._syn(t)
        t += flow._rtt()
        flow._syn_ack(t)
        flow._segment(t + self._gap(0.00003, 0.0002), True, _ACK)
        flow.established = True
        return flow

    def syn_unanswered(
        self, server_ip: str, port: int = 443, *, retries: int = 4, mss: int = 1460
    ) -> Flow:
        """A SYN retransmitted ``retries`` times at 1, 2, 4, 8 ... s backoff, never answered."""
        flow = self._flow(server_ip, port, mss, None, 0.03, None)
        t = self._clock + self._gap(0.0002, 0.002)
        for attempt in range(retries + 1):
            flow._syn(t + _us(2**attempt - 1))
        return flow

    def syn_refused(
        self,
        server_ip: str,
        port: int = 443,
        *,
        attempts: int = 1,
        rtt: float = 0.03,
        server_ttl: int | None = None,
    ) -> Flow:
        """A SYN answered by RST/ACK (closed port or firewall), ``attempts`` times 0.5 s apart."""
        flow = self._flow(server_ip, port, 1460, None, rtt, server_ttl)
        t = self._clock + self._gap(0.0002, 0.002)
        for attempt in range(attempts):
            at = t + _us(0.5 * attempt)
            flow._syn(at)
            flow._segment(
                at + flow._rtt(), False, _RST | _ACK, seq=0, ack=flow.client_next, window=0
            )
        return flow

    def syn_prohibited(
        self,
        server_ip: str,
        port: int = 443,
        *,
        code: int | None = None,
        from_ip: str | None = None,
        attempts: int = 3,
        rtt: float = 0.004,
    ) -> Flow:
        """SYNs answered by ICMP administratively prohibited (IPv4 3/13, IPv6 1/1)."""
        flow = self._flow(server_ip, port, 1460, None, rtt, None)
        if code is None:
            code = 1 if flow.v6 else 13
        t = self._clock + self._gap(0.0002, 0.002)
        for attempt in range(attempts):
            at = t + _us(2**attempt - 1)
            quoted = flow._syn(at)
            self._icmp_error(
                at + self._gap(rtt * 0.9, rtt * 1.1),
                1 if flow.v6 else 3,
                code,
                quoted,
                from_ip or self.gateway_ip,
            )
        return flow

    # -- ICMP, ARP and neighbours

    def _icmp_error(
        self,
        t: int,
        kind: int,
        code: int,
        quoted: bytes,
        from_ip: str,
        rest: bytes = b"\x00\x00\x00\x00",
    ) -> None:
        src, dst = _addr(from_ip), _addr(self.client_ip)
        message = _icmp(src, dst, kind, code, rest, _quote(quoted))
        ttl = 64 if ipaddress.ip_address(from_ip).is_private else 50
        self._emit(
            t,
            _ip(
                src,
                dst,
                58 if len(src) == 16 else 1,
                message,
                ttl,
                self.rng.randrange(65536),
                False,
            ),
            False,
        )

    def icmp_unreachable(
        self,
        code: int,
        *,
        quoting: bytes | None = None,
        from_ip: str | None = None,
        delay: float = 0.002,
    ) -> None:
        """Destination unreachable from the gateway about the client's last packet (or ``quoting``).

        ``code`` is an ICMPv4 type-3 code (0 net, 1 host, 3 port, 13 prohibited) or, for IPv6,
        an ICMPv6 type-1 code (0 no route, 1 prohibited, 3 address, 4 port).
        """
        quoted = quoting or self._last_sent
        if quoted is None:
            raise ValueError("nothing to quote: the client has sent no IP packet yet")
        kind = 1 if quoted[0] >> 4 == 6 else 3
        self._icmp_error(
            self._clock + self._gap(delay * 0.8, delay * 1.2),
            kind,
            code,
            quoted,
            from_ip or self.gateway_ip,
        )

    def arp(self, target_ip: str | None = None) -> None:
        """ARP who-has for the gateway (or ``target_ip``) and its reply (IPv4 captures)."""
        target = target_ip or self.gateway_ip
        t = self._clock + self._gap(0.0002, 0.002)
        me, them = _addr(self.client_ip), _addr(target)
        ask = struct.pack(
            "!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, _mac(self.client_mac), me, b"\0" * 6, them
        )
        self._emit(t, ask, True, dst_mac=_BROADCAST, ethertype=0x0806)
        tell = struct.pack(
            "!HHBBH6s4s6s4s",
            1,
            0x0800,
            6,
            4,
            2,
            _mac(self.gateway_mac),
            them,
            _mac(self.client_mac),
            me,
        )
        self._emit(t + self._gap(0.0005, 0.004), tell, False, ethertype=0x0806)

    def neighbour_solicitation(self) -> None:
        """IPv6 neighbour solicitation for the gateway and its advertisement."""
        t = self._clock + self._gap(0.0002, 0.002)
        me, gw = _addr(self.client_ip), _addr(self.gateway_ip)
        group = _addr("ff02::1:ff00:0")[:13] + gw[13:]
        solicit = _icmp(me, group, 135, 0, b"\0\0\0\0", gw + b"\x01\x01" + _mac(self.client_mac))
        group_mac = "33:33:" + ":".join(f"{b:02x}" for b in group[12:])
        self._emit(t, _ip(me, group, 58, solicit, 255), True, dst_mac=group_mac)
        advert = _icmp(gw, me, 136, 0, b"\xe0\0\0\0", gw + b"\x02\x01" + _mac(self.gateway_mac))
        self._emit(t + self._gap(0.0005, 0.004), _ip(gw, me, 58, advert, 255), False)

    def mdns(self, service: str = "_googlecast._tcp.local", *, neighbour: int = 0) -> None:
        """An mDNS PTR query multicast by LAN neighbour number ``neighbour``.

        Wireshark takes two id-0 queries in one conversation for a retransmission, so
        ask each service from its own neighbour.
        """
        t = self._clock + self._gap(0.0002, 0.002)
        from_mac = NEIGHBOUR_MAC[:-2] + f"{0x9C + neighbour:02x}"[-2:]
        if self.ipv6:
            src, dst, mac = (
                _addr(f"fe80::a683:e7ff:fe5b:{0x219C + neighbour:x}"),
                _addr("ff02::fb"),
                "33:33:00:00:00:fb",
            )
        else:
            src, dst, mac = (
                _addr(_neighbour_for(self.client_ip, neighbour)),
                _addr("224.0.0.251"),
                "01:00:5e:00:00:fb",
            )
        packet = _ip(
            src,
            dst,
            17,
            _udp(src, dst, 5353, 5353, _mdns_query(service)),
            255,
            self.rng.randrange(65536),
            False,
        )
        self._emit(t, packet, False, src_mac=from_mac, dst_mac=mac)

    def ntp(self, server_ip: str, *, rtt: float = 0.04) -> None:
        """An NTPv4 client request and the server's reply."""
        now = (self._epoch_us + self._clock) / 1_000_000 + 2208988800
        stamp = struct.pack("!II", int(now), int((now % 1) * 2**32))
        request = b"\x23" + b"\x00" * 39 + stamp
        reply = (
            b"\x24\x02\x00\xe9"
            + b"\x00" * 8
            + b"\x0a\x10\x20\x01"
            + stamp
            + request[40:]
            + stamp * 2
        )
        self.udp(
            server_ip,
            123,
            request,
            reply=reply,
            sport=123 if self.client_ttl > 64 else None,
            rtt=rtt,
        )

    # -- noise

    def background(self, n: int, rng: random.Random | None = None) -> None:
        """``n`` unrelated exchanges (DNS, TLS, HTTP, NTP, mDNS, ARP), each after a short pause."""
        rng = rng or self.rng
        kinds = ["dns", "dns", "tls", "tls", "http", "ntp", "mdns", "arp"]
        for _ in range(n):
            self.wait(rng.uniform(0.05, 1.5))
            kind, site = rng.choice(kinds), rng.choice(_SITES)
            name, cnames, v4, v6 = site
            qtype, address = ("AAAA", v6) if self.ipv6 else ("A", v4)
            if kind in ("dns", "tls", "http"):
                self.dns(
                    name,
                    qtype,
                    [*cnames, address],
                    ttl=rng.choice([60, 120, 300, 600]),
                    rtt=rng.uniform(0.008, 0.05),
                )
            if kind == "tls":
                flow = self.tcp(address, 443, rtt=rng.uniform(0.01, 0.06))
                flow.handshake(name, TLS13)
                flow.app_data(rng.randint(300, 900))
                flow.app_data(rng.randint(1200, 9000), from_client=False)
                flow.fin()
            elif kind == "http":
                flow = self.tcp(address, 80, rtt=rng.uniform(0.01, 0.06))
                flow.http_request(
                    "GET",
                    "/msdownload/update/v3/static/trustedr/en/disallowedcertstl.cab",
                    host=name,
                    headers={"If-Modified-Since": "Tue, 13 May 2025 18:02:11 GMT"},
                )
                flow.http_response(304, headers={"Server": "ECAcc (hkb/0B55)"})
                flow.fin()
            elif kind == "ntp":
                self.ntp(_NTP_V6 if self.ipv6 else _NTP_V4)
            elif kind == "mdns" and self._mdns_sent < len(_MDNS_SERVICES):
                # Each service once, from its own neighbour (see ``mdns``).
                self.mdns(_MDNS_SERVICES[self._mdns_sent], neighbour=self._mdns_sent)
                self._mdns_sent += 1
            elif kind in ("arp", "mdns"):
                if self.ipv6:
                    self.neighbour_solicitation()
                else:
                    self.arp()

    # -- output

    def frames(self) -> list[tuple[int, bytes]]:
        """The frames in time order as (microseconds since the Unix epoch, link-layer bytes)."""
        return [(self._epoch_us + t, data) for t, data, _ in self._sorted()]

    def _sorted(self) -> list[tuple[int, bytes, int]]:
        return sorted(self._frames, key=lambda frame: frame[0])  # stable: ties keep call order

    def to_bytes(self, fmt: Format = "pcap") -> bytes:
        """The capture as a classic pcap (microsecond) or pcapng file."""
        frames = [(self._epoch_us + t, data, d) for t, data, d in self._sorted()]
        if fmt == "pcap":
            return _pcap(frames, self.linktype)
        if fmt == "pcapng":
            return _pcapng(frames, self.linktype, "any" if self.link == "sll" else "eth0")
        raise ValueError(f"fmt must be 'pcap' or 'pcapng', not {fmt!r}")

    def write(self, path: str | Path, fmt: Format | None = None) -> Path:
        """Write the capture (``fmt``, else by suffix: .pcapng or pcap) and return the path."""
        path = Path(path)
        fmt = fmt or ("pcapng" if path.suffix == ".pcapng" else "pcap")
        path.write_bytes(self.to_bytes(fmt))
        return path

    def __len__(self) -> int:
        return len(self._frames)


# ---------------------------------------------------------------- a TCP connection


class Flow:
    """One TCP connection between the client and a server, with its sequence state."""

    def __init__(
        self,
        cap: Capture,
        server_ip: str,
        port: int,
        mss: int,
        server_mss: int,
        rtt_us: int,
        server_ttl: int,
    ) -> None:
        rng = cap.rng
        self.cap = cap
        self.server_ip = server_ip
        self.port = port
        self.sport = cap._port()
        self.v6 = ":" in server_ip
        self.mss = mss
        self.server_mss = server_mss
        self.rtt_us = rtt_us
        self.server_ttl = server_ttl
        self.path_mtu: int | None = None
        self.icmp_frag_needed = False
        self.router_ip = cap.gateway_ip
        self.established = False
        self.version = TLS12  # record-layer version until a ServerHello says otherwise
        self.session_id = b""
        self.tls13 = False
        self._last_method = ""
        self._client_isn = rng.getrandbits(32)
        self._server_isn = rng.getrandbits(32)
        self.client_next = self._client_isn  # next sequence number each side will send
        self.server_next = self._server_isn
        self.client_received = 0  # what each side has received in order (its ACK number)
        self.server_received = 0
        self._server_ipid = rng.randrange(65536)
        self._label = rng.getrandbits(20) if self.v6 else 0
        self._last = 0
        self._side_last = [0, 0]

    @property
    def segment_size(self) -> int:
        """The negotiated MSS: the smaller of the two SYN options."""
        return min(self.mss, self.server_mss)

    def _rtt(self) -> int:
        return self.cap.rng.randint(self.rtt_us * 9 // 10, self.rtt_us * 23 // 20)

    def _start(self, low: float = 0.00005, high: float = 0.001) -> int:
        return max(self.cap._clock, self._last) + self.cap._gap(low, high)

    def _segment(
        self,
        t: int,
        from_client: bool,
        flags: int,
        payload: bytes = b"",
        *,
        seq: int | None = None,
        ack: int | None = None,
        options: bytes = b"",
        window: int | None = None,
        ttl: int | None = None,
        ip_id: int | None = None,
    ) -> bytes:
        cap = self.cap
        client, server = _addr(cap.client_ip), _addr(self.server_ip)
        if from_client:
            src, dst, sport, dport = client, server, self.sport, self.port
            seq = self.client_next if seq is None else seq
            ack = self.client_received if ack is None else ack
            window = _CLIENT_WINDOW if window is None else window
            ttl = ttl or cap.client_ttl
            if ip_id is None:
                ip_id = cap._next_ipid()
        else:
            src, dst, sport, dport = server, client, self.port, self.sport
            seq = self.server_next if seq is None else seq
            ack = self.server_received if ack is None else ack
            window = _SERVER_WINDOW if window is None else window
            ttl = ttl or self.server_ttl
            if ip_id is None:
                self._server_ipid += 1
                ip_id = self._server_ipid
        if not flags & _ACK:
            ack = 0
        # Each side's packets leave in the order they are made, whatever their computed times.
        side = 0 if from_client else 1
        t = max(t, self._side_last[side] + 1)
        self._side_last[side] = t
        segment = _tcp(src, dst, sport, dport, seq, ack, flags, window, payload, options)
        packet = _ip(src, dst, 6, segment, ttl, ip_id, True, self._label)
        if from_client:
            cap._send_ip(t, packet)
        else:
            cap._emit(t, packet, False)
        self._last = max(self._last, t)
        return packet

    def _syn(self, t: int) -> bytes:
        # MSS, NOP, window scale, NOP, NOP, SACK permitted: a Windows SYN's options.
        options = struct.pack("!BBH", 2, 4, self.mss) + b"\x01\x03\x03" + bytes([_CLIENT_WSCALE])
        options += b"\x01\x01\x04\x02"
        packet = self._segment(t, True, _SYN, seq=self._client_isn, options=options, window=64240)
        self.client_next = self._client_isn + 1
        return packet

    def _syn_ack(self, t: int) -> None:
        options = struct.pack("!BBH", 2, 4, self.server_mss) + b"\x01\x01\x04\x02\x01\x03\x03"
        options += bytes([_SERVER_WSCALE])
        self.server_received = self._client_isn + 1
        # The same window as the scaled data segments, so a later dup ACK is not a "window update".
        syn_window = _SERVER_WINDOW << _SERVER_WSCALE
        self._segment(
            t, False, _SYN | _ACK, seq=self._server_isn, options=options, window=syn_window
        )
        self.server_next = self._server_isn + 1
        self.client_received = self.server_next

    # -- data

    def send(self, data: bytes, from_client: bool = True, *, retries: int = 5) -> None:
        """Send ``data`` in MSS-sized segments; the peer ACKs every second segment.

        With ``path_mtu`` set on the flow, larger segments vanish: the client's are
        retransmitted ``retries`` times with doubling timeouts and never ACKed (optionally
        answered by ICMP frag-needed); the server's never appear, and the client dup-ACKs
        any smaller segment that gets through.
        """
        if not data:
            return
        cap, size = self.cap, self.segment_size
        chunks = [data[i : i + size] for i in range(0, len(data), size)]
        overhead = (40 if self.v6 else 20) + 20
        too_big = [self.path_mtu is not None and overhead + len(c) > self.path_mtu for c in chunks]
        t = self._start(0.00005, 0.0008) if from_client else self._start(0.0002, 0.002)
        first_seq = self.client_next if from_client else self.server_next
        ack_point = self.server_received if from_client else self.client_received
        in_order = ack_point == first_seq  # nothing is missing ahead of this data
        acked_at: list[int] = []  # per delivered chunk: when its ACK is seen at the client
        pending = 0  # delivered chunks not yet ACKed
        stalled: tuple[int, bytes] | None = None  # the first black-holed client transmission
        for i, chunk in enumerate(chunks):
            if i >= _CWND:
                if i - _CWND >= len(acked_at):
                    break  # window full, and the ACK that would open it never comes
                opener = acked_at[i - _CWND]
                t = max(t, opener if from_client else opener + self._rtt())
            seq = first_seq + i * size
            if too_big[i] and in_order and pending:  # delayed ACK for what got through
                self._ack(t, from_client, ack_point)
                acked_at.extend([self._last] * pending)
                pending = 0
            if from_client or not too_big[i]:  # a lost server segment never reaches the client
                flags = _ACK | (_PSH if i == len(chunks) - 1 else 0)
                packet = self._segment(t, from_client, flags, chunk, seq=seq)
                if too_big[i] and stalled is None:
                    stalled = (t, packet)
            if from_client:
                self.client_next = seq + len(chunk)
            else:
                self.server_next = seq + len(chunk)
            if too_big[i]:
                in_order = False
            elif in_order:
                ack_point = seq + len(chunk)
                pending += 1
                if pending == 2 or i == len(chunks) - 1:
                    self._ack(t, from_client, ack_point)
                    acked_at.extend([self._last] * pending)
                    pending = 0
            else:  # arrived behind a hole: the receiver repeats its last ACK
                self._ack(t, from_client, ack_point)
            t += cap._gap(0.00001, 0.00005) if from_client else cap._gap(0.00002, 0.00015)
        if stalled is not None:
            self._retransmit(*stalled, retries)

    def _ack(self, t: int, data_from_client: bool, upto: int) -> None:
        if data_from_client:  # the server's ACK is seen one round trip later
            self.server_received = upto
            self._segment(t + self._rtt(), False, _ACK)
        else:
            self.client_received = upto
            self._segment(t + self.cap._gap(0.00003, 0.0002), True, _ACK)

    def _retransmit(self, sent_at: int, packet: bytes, retries: int) -> None:
        cap = self.cap
        segment = packet[40 if self.v6 else 20 :]
        client, server = _addr(cap.client_ip), _addr(self.server_ip)
        rto = max(300_000, 3 * self.rtt_us)
        if self.icmp_frag_needed:
            self._frag_needed(sent_at, packet)
        for _ in range(retries):
            sent_at += rto
            rto *= 2
            # The same segment in a new IP packet: a retransmission gets a fresh IP id.
            again = _ip(
                client, server, 6, segment, cap.client_ttl, cap._next_ipid(), True, self._label
            )
            cap._send_ip(sent_at, again)
            self._last = max(self._last, sent_at)
            if self.icmp_frag_needed:
                self._frag_needed(sent_at, again)

    def _frag_needed(self, t: int, packet: bytes) -> None:
        mtu = self.path_mtu or 1280
        at = t + self.cap._gap(0.002, 0.01)
        if self.v6:
            self.cap._icmp_error(at, 2, 0, packet, self.router_ip, struct.pack("!I", mtu))
        else:
            self.cap._icmp_error(at, 3, 4, packet, self.router_ip, struct.pack("!HH", 0, mtu))
        self._last = max(self._last, at)

    # -- TLS

    def client_hello(
        self,
        sni: str | None,
        versions: Sequence[int] = (TLS13, TLS12),
        *,
        ciphers: Sequence[int] | None = None,
        alpn: Sequence[str] | None = ("h2", "http/1.1"),
        pq_key_share: bool = False,
    ) -> None:
        """Send a ClientHello; ciphers default to what a client of the top version offers."""
        top = max(versions)
        if ciphers is None:
            ciphers = (
                CIPHERS_MODERN
                if top >= TLS13
                else CIPHERS_TLS12
                if top == TLS12
                else CIPHERS_LEGACY
            )
        record = client_hello_record(sni, versions, ciphers, alpn, self.cap.rng, pq_key_share)
        self.session_id = record[44 : 44 + record[43]]
        self.version = min(top, TLS12)
        self.send(record, True)

    def _hello(self, version: int, cipher: int | None, alpn: str | None, downgrade: bool) -> bytes:
        if cipher is None:
            cipher = 0x1301 if version >= TLS13 else 0xC02F if version == TLS12 else 0xC013
        self.version, self.tls13 = min(version, TLS12), version >= TLS13
        # TLS 1.3 echoes the client's session id; an older server starts a session of its own.
        session_id = self.session_id if self.tls13 else self.cap.rng.randbytes(32)
        return server_hello_record(version, cipher, session_id, self.cap.rng, alpn, downgrade)

    def server_hello(
        self,
        version: int = TLS12,
        *,
        cipher: int | None = None,
        alpn: str | None = None,
        downgrade: bool = False,
    ) -> None:
        """Send a ServerHello alone (``downgrade`` sets the RFC 8446 DOWNGRD sentinel)."""
        self.send(self._hello(version, cipher, alpn, downgrade), False)

    def certificate(self, chain: Sequence[bytes]) -> None:
        """Send a Certificate message carrying ``chain`` (DER, leaf first) in clear."""
        self.send(certificate_record(self.version, chain), False)

    def server_key_exchange(self) -> None:
        """Send an ECDHE (secp256r1) ServerKeyExchange."""
        self.send(_server_key_exchange(self.version, self.cap.rng), False)

    def server_hello_done(self) -> None:
        """Send ServerHelloDone."""
        self.send(_records(22, self.version, _handshake(14, b"")), False)

    def server_flight(
        self,
        version: int = TLS13,
        chain: Sequence[bytes] = (),
        *,
        cipher: int | None = None,
        alpn: str | None = None,
        downgrade: bool = False,
    ) -> None:
        """The server's whole first flight as one burst of full-size segments.

        TLS <= 1.2: ServerHello, Certificate (``chain`` in clear), ServerKeyExchange,
        ServerHelloDone. TLS 1.3: ServerHello, ChangeCipherSpec and the encrypted rest,
        sized as if it carried ``chain``.
        """
        data = self._hello(version, cipher, alpn, downgrade)
        if version >= TLS13:
            # EncryptedExtensions, Certificate, CertificateVerify, Finished: opaque, chain-sized.
            size = 350 + (sum(len(der) + 5 for der in chain) if chain else 2900)
            data += _records(20, TLS12, b"\x01")
            data += _records(23, TLS12, self.cap.rng.randbytes(size))
        else:
            if chain:
                data += certificate_record(self.version, chain)
            data += _server_key_exchange(self.version, self.cap.rng)
            data += _records(22, self.version, _handshake(14, b""))
        self.send(data, False)

    def client_finished(self) -> None:
        """The client's second flight: (ClientKeyExchange,) ChangeCipherSpec, encrypted Finished."""
        rng = self.cap.rng
        if self.tls13:
            data = _records(20, TLS12, b"\x01") + _records(23, TLS12, rng.randbytes(53))
        else:
            cke = _handshake(16, _vec(1, b"\x04" + rng.randbytes(64)))
            data = _records(22, self.version, cke) + _records(20, self.version, b"\x01")
            data += _records(22, self.version, rng.randbytes(40))
        self.send(data, True)

    def server_finished(self) -> None:
        """TLS <= 1.2: the server's ChangeCipherSpec and encrypted Finished."""
        data = _records(20, self.version, b"\x01")
        data += _records(22, self.version, self.cap.rng.randbytes(40))
        self.send(data, False)

    def handshake(
        self,
        sni: str | None,
        version: int = TLS13,
        chain: Sequence[bytes] = (),
        *,
        offered: Sequence[int] = (TLS13, TLS12),
        alpn: Sequence[str] | None = ("h2", "http/1.1"),
    ) -> None:
        """A successful handshake: the client offers ``offered``, the server picks ``version``."""
        self.client_hello(sni, offered, alpn=alpn)
        self.server_flight(version, chain, alpn=alpn[0] if alpn and version < TLS13 else None)
        self.client_finished()
        if version < TLS13:
            self.server_finished()

    def alert(
        self,
        level: int | str,
        description: int | str,
        *,
        from_client: bool = True,
        encrypted: bool = False,
    ) -> None:
        """Send a TLS alert; ``level`` 1/2 or "warning"/"fatal", ``description`` a number or name.

        Names are the keys of ``ALERTS``. ``encrypted`` sends it opaque, as after the handshake.
        """
        level = {"warning": 1, "fatal": 2}[level] if isinstance(level, str) else level
        code = ALERTS[description] if isinstance(description, str) else description
        if not encrypted:
            record = _records(21, self.version, bytes([level, code]))
        elif self.tls13:
            record = _records(23, TLS12, self.cap.rng.randbytes(19))
        else:
            record = _records(21, self.version, self.cap.rng.randbytes(26))
        self.send(record, from_client)

    def app_data(self, nbytes: int, *, from_client: bool = True) -> None:
        """Send ``nbytes`` of opaque application-data records (16 KiB each at most)."""
        rng, data = self.cap.rng, b""
        while nbytes > 0:
            part = min(nbytes, 16384)
            data += _records(23, TLS12, rng.randbytes(part))
            nbytes -= part
        self.send(data, from_client)

    # -- plaintext HTTP

    def http_request(
        self,
        method: str = "GET",
        target: str = "/",
        *,
        host: str | None = None,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
    ) -> None:
        """Send an HTTP/1.1 request; ``CONNECT host:port`` for a proxy tunnel."""
        fields = {"Host": host or (target if method == "CONNECT" else self.server_ip)}
        fields["User-Agent"] = DEFAULT_USER_AGENT
        if method == "CONNECT":
            fields["Proxy-Connection"] = "keep-alive"
        else:
            fields |= {"Accept": "*/*", "Connection": "keep-alive"}
        if body:
            fields["Content-Length"] = str(len(body))
        fields |= headers or {}
        self._last_method = method
        self.send(_http_head(f"{method} {target} HTTP/1.1", fields) + body, True)

    def http_response(
        self,
        status: int = 200,
        reason: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
    ) -> None:
        """Send an HTTP/1.1 response dated by the capture clock (plus ``server_clock_offset``)."""
        reason = reason or HTTPStatus(status).phrase
        date = self.cap.now + timedelta(seconds=self.cap.server_clock_offset)
        fields = {"Date": format_datetime(date, usegmt=True)}
        if body:
            fields["Content-Type"] = "text/html; charset=utf-8"
        tunnel = self._last_method == "CONNECT" and 200 <= status < 300
        if status >= 200 and status not in (204, 304) and not tunnel:
            fields["Content-Length"] = str(len(body))
        fields |= headers or {}
        self.send(_http_head(f"HTTP/1.1 {status} {reason}", fields) + body, False)

    # -- teardown

    def rst(
        self,
        from_client: bool = False,
        *,
        ttl: int | None = None,
        ip_id: int | None = None,
        seq_offset: int = 0,
        with_ack: bool = True,
        delay: float | None = None,
    ) -> None:
        """Send a reset; a server-side one with a foreign ``ttl`` / ``ip_id`` looks injected.

        ``seq_offset`` moves its sequence number from the sender's next; the flow stays usable,
        so data may follow the reset as with on-path injection.
        """
        t = (
            self._start(0.00005, 0.001)
            if delay is None
            else max(self.cap._clock, self._last) + _us(delay)
        )
        seq = (self.client_next if from_client else self.server_next) + seq_offset
        flags = _RST | (_ACK if with_ack else 0)
        self._segment(t, from_client, flags, seq=seq, ttl=ttl, ip_id=ip_id, window=0)

    def fin(self, from_client: bool = True) -> None:
        """Close: FIN from one side, FIN/ACK back, final ACK (never ACKing past a hole)."""
        gap = self.cap._gap
        t = self._start(0.0001, 0.003)
        self._segment(t, from_client, _FIN | _ACK)
        self._fin_sent(from_client)
        t += self._rtt() if from_client else gap(0.00005, 0.0005)
        self._segment(t, not from_client, _FIN | _ACK)
        self._fin_sent(not from_client)
        t += gap(0.00003, 0.0002) if from_client else self._rtt()
        self._segment(t, from_client, _ACK)

    def _fin_sent(self, from_client: bool) -> None:
        # A FIN takes one sequence number; the peer ACKs it only if nothing is missing before it.
        if from_client:
            delivered = self.server_received == self.client_next
            self.client_next += 1
            if delivered:
                self.server_received = self.client_next
        else:
            delivered = self.client_received == self.server_next
            self.server_next += 1
            if delivered:
                self.client_received = self.server_next


def _http_head(start_line: str, fields: dict[str, str]) -> bytes:
    lines = [start_line, *(f"{k}: {v}" for k, v in fields.items()), "", ""]
    return "\r\n".join(lines).encode("latin-1")


def _gateway_for(client_ip: str) -> str:
    address = ipaddress.ip_address(client_ip)
    if address.version == 6:
        return str(ipaddress.ip_network(f"{client_ip}/64", strict=False).network_address + 1)
    return str(ipaddress.ip_network(f"{client_ip}/24", strict=False).network_address + 1)


def _neighbour_for(client_ip: str, index: int) -> str:
    return str(
        ipaddress.ip_network(f"{client_ip}/24", strict=False).network_address + 37 + 11 * index
    )


# Everyday names for background traffic: (name, CNAME hops, IPv4, IPv6).
_SITES = (
    ("www.baidu.com", ("www.a.shifen.com",), "110.242.68.66", "240e:ff:e020:966:0:ff:b042:f296"),
    (
        "mtalk.google.com",
        ("mobile-gtalk.l.google.com",),
        "142.250.157.188",
        "2404:6800:4008:c13::bc",
    ),
    ("time.windows.com", ("twc.trafficmanager.net",), "20.101.57.9", "2603:1020:1004:1::5"),
    (
        "www.qq.com",
        ("ins-r23tsuuf.ias.tencent-cloud.net",),
        "121.14.77.221",
        "240e:97c:2f:3003::77",
    ),
    ("api.weibo.cn", (), "180.149.153.216", "2400:89c0:1053:3::25"),
    (
        "ctldl.windowsupdate.com",
        ("ctldl.windowsupdate.com.edgesuite.net",),
        "117.18.232.200",
        "2606:2800:233:fa02:67b:9ff6:37d:1a5c",
    ),
    (
        "settings-win.data.microsoft.com",
        ("atm-settingsfe-prod-geo2.trafficmanager.net",),
        "20.42.65.92",
        "2603:1030:7::10",
    ),
)
_MDNS_SERVICES = (
    "_googlecast._tcp.local",
    "_airplay._tcp.local",
    "_spotify-connect._tcp.local",
    "_companion-link._tcp.local",
    "_raop._tcp.local",
    "_ipp._tcp.local",
)
_NTP_V4, _NTP_V6 = "20.101.57.9", "2603:1020:1004:1::5"
