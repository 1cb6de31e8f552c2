"""Raw link, IP, TCP, UDP and ICMP headers and checksums, packed with struct for speed."""

from __future__ import annotations

import functools
import ipaddress
import struct

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10  # TCP flags
BROADCAST = "ff:ff:ff:ff:ff:ff"


@functools.cache
def addr(text: str) -> bytes:
    """The packed bytes of an IPv4 or IPv6 address."""
    return ipaddress.ip_address(text).packed


@functools.cache
def mac(text: str) -> bytes:
    """The six bytes of a colon-separated MAC address."""
    return bytes.fromhex(text.replace(":", ""))


def checksum(data: bytes) -> int:
    """The Internet checksum of ``data``."""
    # The ones'-complement sum of 16-bit words is the number mod 0xFFFF (2**16 == 1 mod 0xFFFF).
    if len(data) & 1:
        data += b"\x00"
    value = int.from_bytes(data, "big")
    folded = value % 0xFFFF or (0xFFFF if value else 0)
    return ~folded & 0xFFFF


def pseudo(src: bytes, dst: bytes, proto: int, length: int) -> bytes:
    """The TCP/UDP/ICMPv6 pseudo-header that checksums cover."""
    if len(src) == 4:
        return src + dst + struct.pack("!BBH", 0, proto, length)
    return src + dst + struct.pack("!IxxxB", length, proto)


def ip(
    src: bytes,
    dst: bytes,
    proto: int,
    payload: bytes,
    ttl: int,
    ident: int = 0,
    df: bool = True,
    flow_label: int = 0,
) -> bytes:
    """An IPv4 packet (header checksum filled in) or IPv6 packet around ``payload``."""
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
    return head[:10] + checksum(head).to_bytes(2, "big") + head[12:] + payload


def tcp(
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
    """A TCP segment with its checksum."""
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
    csum = checksum(pseudo(src, dst, 6, len(seg)) + seg)
    return seg[:16] + csum.to_bytes(2, "big") + seg[18:]


def udp(src: bytes, dst: bytes, sport: int, dport: int, payload: bytes) -> bytes:
    """A UDP datagram with its checksum (never 0, which means none)."""
    dgram = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    csum = checksum(pseudo(src, dst, 17, len(dgram)) + dgram) or 0xFFFF
    return dgram[:6] + csum.to_bytes(2, "big") + dgram[8:]


def icmp(src: bytes, dst: bytes, kind: int, code: int, rest: bytes, body: bytes) -> bytes:
    """An ICMP message, or an ICMPv6 one (pseudo-header checksum) between IPv6 addresses."""
    msg = struct.pack("!BBH", kind, code, 0) + rest + body
    prefix = pseudo(src, dst, 58, len(msg)) if len(src) == 16 else b""
    return msg[:2] + checksum(prefix + msg).to_bytes(2, "big") + msg[4:]


def quote(ip_packet: bytes) -> bytes:
    """The part of ``ip_packet`` an ICMP error quotes."""
    # RFC 1812 / RFC 4443: quote as much as fits in a 576-byte (IPv4) or 1280-byte (IPv6) error.
    return ip_packet[: 548 if ip_packet[0] >> 4 == 4 else 1232]
