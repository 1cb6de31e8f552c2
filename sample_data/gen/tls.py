"""TLS records packed by hand (hellos, certificates, key exchange) and TLS code tables."""

from __future__ import annotations

import random
import struct
from collections.abc import Iterable, Sequence

TLS10, TLS11, TLS12, TLS13 = 0x0301, 0x0302, 0x0303, 0x0304

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


def vec(width: int, body: bytes) -> bytes:
    """``body`` after its length in ``width`` bytes."""
    return len(body).to_bytes(width, "big") + body


def ext(kind: int, body: bytes) -> bytes:
    """One TLS extension."""
    return kind.to_bytes(2, "big") + vec(2, body)


def handshake(kind: int, body: bytes) -> bytes:
    """One handshake message of type ``kind``."""
    return bytes([kind]) + vec(3, body)


def records(content_type: int, version: int, payload: bytes) -> bytes:
    """``payload`` as TLS records of at most 16 KiB each."""
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
        exts += ext(0, vec(2, b"\x00" + vec(2, sni.encode("idna"))))
    exts += ext(23, b"") + ext(0xFF01, b"\x00")
    groups = ([0x11EC] if pq_key_share else []) + [0x001D, 0x0017, 0x0018]
    exts += ext(10, vec(2, _u16s(groups))) + ext(11, vec(1, b"\x00"))
    exts += ext(35, b"")
    if alpn:
        exts += ext(16, vec(2, b"".join(vec(1, p.encode()) for p in alpn)))
    exts += ext(5, b"\x01\x00\x00\x00\x00")
    if top >= TLS12:
        sigalgs = (0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601, 0x0201)
        exts += ext(13, vec(2, _u16s(sigalgs)))
    if top >= TLS13:
        shares = b""
        if pq_key_share:
            # ML-KEM-768 key + X25519 share (1216 bytes): the ClientHello spans two segments.
            shares += _u16s([0x11EC]) + vec(2, rng.randbytes(1216))
        shares += _u16s([0x001D]) + vec(2, rng.randbytes(32))
        exts += ext(51, vec(2, shares)) + ext(45, b"\x01\x01")
        exts += ext(43, vec(1, _u16s(sorted(versions, reverse=True))))
    body = (
        min(top, TLS12).to_bytes(2, "big")
        + rng.randbytes(32)
        + vec(1, session_id)
        + vec(2, _u16s(ciphers))
        + b"\x01\x00"
        + vec(2, exts)
    )
    return records(22, TLS10, handshake(1, body))


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
        exts = ext(51, _u16s([0x001D]) + vec(2, rng.randbytes(32))) + ext(43, _u16s([TLS13]))
    else:
        exts = ext(0xFF01, b"\x00") + ext(23, b"")
        if cipher >= 0xC000:
            exts += ext(11, vec(1, b"\x00"))
        if alpn:
            exts += ext(16, vec(2, vec(1, alpn.encode())))
    body = (
        min(version, TLS12).to_bytes(2, "big")
        + server_random
        + vec(1, session_id)
        + cipher.to_bytes(2, "big")
        + b"\x00"
        + vec(2, exts)
    )
    return records(22, min(version, TLS12), handshake(2, body))


def certificate_record(version: int, chain: Sequence[bytes]) -> bytes:
    """A TLS 1.2-style Certificate handshake record carrying the DER ``chain`` (leaf first)."""
    body = vec(3, b"".join(vec(3, der) for der in chain))
    return records(22, version, handshake(11, body))


def server_key_exchange_record(version: int, rng: random.Random) -> bytes:
    """An ECDHE (secp256r1) ServerKeyExchange record, key and signature random."""
    params = b"\x03\x00\x17" + vec(1, b"\x04" + rng.randbytes(64))
    return records(22, version, handshake(12, params + b"\x04\x01" + vec(2, rng.randbytes(256))))
