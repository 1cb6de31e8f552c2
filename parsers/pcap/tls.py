"""A small TLS dissector for the few TCP payloads of a capture that carry handshakes.

The capture parser feeds each direction's bytes in sequence order with the frame that
carried them; this module answers with one message per record or handshake message
(hellos, certificates, alerts, the start of encrypted traffic) and a per-connection
summary. Hostile bytes never raise: they become a "problem" message.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from parsers.pcap import native
from parsers.pcap.tls_names import handshake_name, is_grease

# RFC 5246 6.2.3: a TLSCiphertext fragment is at most 2^14 + 2048 bytes.
MAX_RECORD = 2**14 + 2048
# The largest handshake message reassembled; real ones are a few KiB. With records capped
# too, a direction never buffers more than MAX_BUFFER + MAX_RECORD bytes.
MAX_BUFFER = 256 * 1024
# RFC 8446 4.1.3: a ServerHello with this random, SHA-256("HelloRetryRequest"), is an HRR.
HRR_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")

CHANGE_CIPHER_SPEC, ALERT, HANDSHAKE, APPLICATION_DATA = 20, 21, 22, 23
_RECORD_KINDS = {
    20: "change_cipher_spec",
    21: "alert",
    22: "handshake",
    23: "application_data",
    24: "heartbeat",
}
_SSLV2_HELLO = -1  # not a wire value: stands for an SSLv2-compatible ClientHello
_MESSAGE_KINDS = {1: "client_hello", 2: "server_hello", 11: "certificate", -1: "client_hello"}


class TlsError(ValueError):
    """A handshake message that cannot be dissected (raised by the ``parse_*`` functions)."""


def looks_like_tls(data: bytes) -> bool:
    """True when ``data`` starts like a TLS record or an SSLv2-compatible ClientHello."""
    if len(data) >= 3 and 20 <= data[0] <= 24 and data[1] == 3 and data[2] <= 4:
        return True
    return len(data) >= 4 and data[0] >= 0x80 and data[2] == 1 and data[3] == 3


def _version_rank(version: int) -> tuple[int, int]:
    # A TLS 1.3 draft (0x7fNN) ranks above TLS 1.2 and below the final TLS 1.3.
    return (0x0303, 1 + (version & 0xFF)) if version >> 8 == 0x7F else (version, 0)


def is_tls13(version: int) -> bool:
    """True for TLS 1.3 or one of its drafts."""
    return version >> 8 == 0x7F or 0x0304 <= version <= 0x03FF


# The messages are named tuples, not frozen dataclasses: a capture holds tens of thousands
# of handshakes, and a frozen dataclass's __init__ costs several times a tuple's.
class ClientHello(NamedTuple):
    """What a client offered; GREASE values are removed."""

    record_version: int
    legacy_version: int
    versions: tuple[int, ...]  # supported_versions, else (legacy_version,)
    sni: str | None
    alpn: tuple[str, ...]
    cipher_suites: tuple[int, ...]
    size: int  # handshake message length including its 4-byte header

    @property
    def max_version(self) -> int:
        """The highest version offered."""
        return max(self.versions, key=_version_rank, default=self.legacy_version)


class ServerHello(NamedTuple):
    """What the server chose; ``version`` is supported_versions' choice when present."""

    legacy_version: int
    version: int
    cipher: int
    hello_retry: bool


class Alert(NamedTuple):
    """An alert record; an encrypted one has level 0 and no description."""

    level: int
    description: int | None
    encrypted: bool


class Certificates(NamedTuple):
    """A TLS ≤ 1.2 Certificate message: DER certificates, leaf first."""

    chain: tuple[bytes, ...]


Detail = ClientHello | ServerHello | Alert | Certificates | str | None


class TlsMessage(NamedTuple):
    """One record or handshake message of one direction.

    ``kind`` is one of client_hello, server_hello, certificate, alert,
    change_cipher_spec, application_data, encrypted_handshake, handshake_other
    (``detail`` names the message) or problem (``detail`` is the reason). ``frame``
    completed the record, as Wireshark attributes it; ``first_frame`` started it.
    """

    kind: str
    frame: int
    first_frame: int
    detail: Detail


@dataclass(frozen=True, slots=True)
class TlsSummary:
    """The outcome of one connection's handshake."""

    client_hello: ClientHello | None
    server_hello: ServerHello | None  # the real one, never a HelloRetryRequest
    certificates: tuple[bytes, ...]  # the server's chain, DER, leaf first
    alerts: tuple[tuple[bool, Alert, int], ...]  # (from_client, alert, frame)
    established: bool
    version: int | None
    cipher: int | None


# ---------------------------------------------------------------- handshake messages


class _Reader:
    """Bounds-checked big-endian reads over one message; overrunning raises TlsError.

    Each read is written out in full, not built on the others: a capture holds thousands
    of hellos, and nested method calls per field were most of their dissection time.
    """

    __slots__ = ("data", "end", "pos", "what")

    def __init__(self, data: bytes, what: str) -> None:
        self.data, self.end, self.pos, self.what = data, len(data), 0, what

    @property
    def left(self) -> int:
        return self.end - self.pos

    def take(self, size: int) -> bytes:
        start = self.pos
        stop = start + size
        if stop > self.end:
            raise TlsError(f"{self.what} truncated")
        self.pos = stop
        return self.data[start:stop]

    def uint(self, width: int) -> int:
        start = self.pos
        stop = start + width
        if stop > self.end:
            raise TlsError(f"{self.what} truncated")
        self.pos = stop
        return int.from_bytes(self.data[start:stop], "big")

    def vector(self, width: int) -> bytes:
        start = self.pos + width
        if start > self.end:
            raise TlsError(f"{self.what} truncated")
        stop = start + int.from_bytes(self.data[self.pos : start], "big")
        if stop > self.end:
            raise TlsError(f"{self.what} truncated")
        self.pos = stop
        return self.data[start:stop]

    def u16s(self, width: int) -> tuple[int, ...]:
        raw = self.vector(width)
        if len(raw) % 2:
            raise TlsError(f"{self.what}: odd-length list")
        return struct.unpack(f"!{len(raw) // 2}H", raw)


def _extensions(reader: _Reader) -> list[tuple[int, bytes]]:
    if not reader.left:  # SSL 3.0 era hellos end before the extensions block
        return []
    block = reader.vector(2)
    found, pos, end = [], 0, len(block)
    while pos < end:
        if pos + 4 > end:
            raise TlsError(f"{reader.what} extensions truncated")
        kind, size = struct.unpack_from("!HH", block, pos)
        pos += 4 + size
        if pos > end:
            raise TlsError(f"{reader.what} extensions truncated")
        found.append((kind, block[pos - size : pos]))
    return found


def _text(raw: bytes) -> str:
    return raw.decode("ascii", "backslashreplace")


def _server_name(data: bytes) -> str | None:
    names = _Reader(_Reader(data, "server_name").vector(2), "server_name")
    while names.left:
        kind, name = names.uint(1), names.vector(2)
        if kind == 0:  # host_name
            return _text(name)
    return None


def _alpn(data: bytes) -> tuple[str, ...]:
    protocols = _Reader(_Reader(data, "alpn").vector(2), "alpn")
    return tuple(_text(protocols.vector(1)) for _ in iter(lambda: protocols.left, 0))


class _Unsound(Exception):
    """The fast path met something odd; the careful reader says exactly what."""


_GREASE = frozenset(0x0A0A + 0x1010 * n for n in range(16))
_HELLO_HEAD = struct.Struct("!HH")


def parse_client_hello(body: bytes, record_version: int = 0) -> ClientHello:
    """Dissect a ClientHello body (after the handshake header). Raises TlsError."""
    try:
        return _client_hello_fast(body, record_version)
    except (_Unsound, IndexError, struct.error, TlsError):
        return _client_hello_careful(body, record_version)


def _client_hello_fast(body: bytes, record_version: int) -> ClientHello:
    """The common, well-formed ClientHello, read with plain offsets.

    Captures hold thousands of hellos; walking them field by field through ``_Reader``
    was most of their cost. Anything short or inconsistent raises for the careful path.
    """
    end = len(body)
    pos = 35 + body[34]  # version, random, session_id
    count = body[pos] << 8 | body[pos + 1]
    if count % 2 or pos + 2 + count > end:
        raise _Unsound
    suites = struct.unpack_from(f"!{count // 2}H", body, pos + 2)
    pos += 3 + count + body[pos + 2 + count]  # compression_methods
    sni: str | None = None
    alpn: tuple[str, ...] = ()
    versions: tuple[int, ...] = ()
    if pos < end:
        stop = pos + 2 + (body[pos] << 8 | body[pos + 1])
        pos += 2
        if stop > end:
            raise _Unsound
        while pos < stop:
            kind, size = _HELLO_HEAD.unpack_from(body, pos)
            pos += 4 + size
            if pos > stop:
                raise _Unsound
            if kind == 0 and size:
                sni = _server_name(body[pos - size : pos])
            elif kind == 16:
                alpn = _alpn(body[pos - size : pos])
            elif kind == 43:
                versions = _Reader(body[pos - size : pos], "supported_versions").u16s(1)
    elif pos > end:
        raise _Unsound
    legacy = body[0] << 8 | body[1]
    return ClientHello(
        record_version=record_version,
        legacy_version=legacy,
        versions=tuple([v for v in versions if v not in _GREASE]) or (legacy,),
        sni=sni,
        alpn=alpn,
        cipher_suites=tuple([s for s in suites if s not in _GREASE]),
        size=end + 4,
    )


def _client_hello_careful(body: bytes, record_version: int) -> ClientHello:
    reader = _Reader(body, "client_hello")
    legacy = reader.uint(2)
    reader.take(32)  # random
    reader.vector(1)  # session_id
    suites = reader.u16s(2)
    reader.vector(1)  # compression_methods
    sni: str | None = None
    alpn: tuple[str, ...] = ()
    versions: tuple[int, ...] = ()
    for kind, data in _extensions(reader):
        if kind == 0 and data:
            sni = _server_name(data)
        elif kind == 16:
            alpn = _alpn(data)
        elif kind == 43:
            versions = _Reader(data, "supported_versions").u16s(1)
    return ClientHello(
        record_version=record_version,
        legacy_version=legacy,
        versions=tuple(v for v in versions if not is_grease(v)) or (legacy,),
        sni=sni,
        alpn=alpn,
        cipher_suites=tuple(s for s in suites if not is_grease(s)),
        size=len(body) + 4,
    )


def parse_sslv2_client_hello(body: bytes) -> ClientHello:
    """Dissect an SSLv2-compatible ClientHello (after its 2-byte length). Raises TlsError."""
    reader = _Reader(body, "SSLv2 client_hello")
    if reader.uint(1) != 1:
        raise TlsError("SSLv2 record is not a client_hello")
    version = reader.uint(2)
    spec_length, session_length, challenge_length = reader.uint(2), reader.uint(2), reader.uint(2)
    specs = reader.take(spec_length)
    reader.take(session_length + challenge_length)
    # Three-byte cipher kinds; those starting with 0 are TLS suites.
    kinds = [specs[i : i + 3] for i in range(0, len(specs) - 2, 3)]
    suites = [int.from_bytes(kind[1:], "big") for kind in kinds if kind[0] == 0]
    return ClientHello(
        record_version=0x0002,
        legacy_version=version,
        versions=(version,),
        sni=None,
        alpn=(),
        cipher_suites=tuple(s for s in suites if not is_grease(s)),
        size=len(body) + 2,
    )


def parse_server_hello(body: bytes) -> ServerHello:
    """Dissect a ServerHello body (after the handshake header). Raises TlsError."""
    reader = _Reader(body, "server_hello")
    legacy = reader.uint(2)
    random = reader.take(32)
    draft = legacy >> 8 == 0x7F  # drafts before 22 had no session_id nor compression
    if not draft:
        reader.vector(1)
    cipher = reader.uint(2)
    if not draft:
        reader.uint(1)
    version = legacy
    for kind, data in _extensions(reader):
        if kind == 43:
            version = _Reader(data, "supported_versions").uint(2)
    return ServerHello(legacy, version, cipher, random == HRR_RANDOM)


def parse_certificates(body: bytes) -> Certificates:
    """Dissect a TLS ≤ 1.2 Certificate body into DER certificates. Raises TlsError."""
    chain = _Reader(_Reader(body, "certificate").vector(3), "certificate")
    return Certificates(tuple(chain.vector(3) for _ in iter(lambda: chain.left, 0)))


# ---------------------------------------------------------------- one direction


class TlsStream:
    """One direction of a connection: records across segments, messages across records."""

    def __init__(self) -> None:
        self.app_records = 0  # application_data records seen; only the first is a message
        self.last_app_frame: int | None = None
        self._buf = b""  # bytes of a record not yet complete
        self._base = 0  # stream offset of _buf[0]
        self._spans: list[tuple[int, int]] = []  # (stream offset a segment ends at, frame)
        self._handshake = bytearray()  # a handshake message spanning records
        self._handshake_start = (0, 0)  # its first frame and record version
        self._records = 0
        self._ccs = self._fatal = self._stopped = False
        self._tls13 = False  # this side's hello offered or chose TLS 1.3
        self._out: list[TlsMessage] = []
        self._frame = 0

    @property
    def done(self) -> bool:
        """True once nothing useful can follow: encrypted traffic, a fatal alert, a problem."""
        return self._stopped or self._fatal or self.app_records > 0

    def feed(self, data: bytes, frame: int) -> list[TlsMessage]:
        """Messages for the records ``data`` completes; never raises."""
        if self._stopped or not data:
            return []
        self._out, self._frame = [], frame
        # Most segments hold whole records: then nothing is buffered, nor copied.
        self._buf = self._buf + data if self._buf else data
        self._spans.append((self._base + len(self._buf), frame))
        pos = 0
        while not self._stopped and (used := self._next_record(pos)):
            pos += used
        self._buf = self._buf[pos:] if pos < len(self._buf) else b""
        self._base += pos
        if len(self._spans) > 1:
            self._spans = [span for span in self._spans if span[0] > self._base]
        return self._out

    def _emit(self, kind: str, first: int, detail: Detail = None) -> None:
        self._out.append(TlsMessage(kind, self._frame, first, detail))

    def _problem(self, reason: str, first: int) -> None:
        self._emit("problem", first, reason)
        self._stopped = True
        self._buf = b""
        self._handshake.clear()

    def _next_record(self, pos: int) -> int:
        """Dissect the record at ``pos``; return its size, or 0 if incomplete or bad."""
        buf, avail = self._buf, len(self._buf) - pos
        # The first record must look like TLS; judge it as soon as enough bytes are in.
        judge = not self._records and avail > 0 and (avail >= 4 or _alien(buf[pos]))
        if avail < 5 and not judge:
            return 0
        first = self._first_frame(pos)
        if judge:
            head = bytes(buf[pos : pos + 5])
            if not looks_like_tls(head):
                preview = _preview(head + buf[pos + 5 : pos + 16])
                self._problem(f"not TLS: data starts {preview}", first)
                return 0
            if head[0] >= 0x80:  # an SSLv2-compatible ClientHello
                size = 2 + ((head[0] & 0x7F) << 8 | head[1])
                if avail < size:
                    return 0
                self._records += 1
                self._message(_SSLV2_HELLO, bytes(buf[pos + 2 : pos + size]), 0x0002, first)
                return size
        if avail < 5:
            return 0
        kind, version, length = (
            buf[pos],
            buf[pos + 1] << 8 | buf[pos + 2],
            buf[pos + 3] << 8 | buf[pos + 4],
        )
        if not (20 <= kind <= 24 and version >> 8 == 3 and version & 0xFF <= 4):
            self._problem(f"bad record header {bytes(buf[pos : pos + 5]).hex(' ')}", first)
        elif length > MAX_RECORD:
            self._problem(f"record length {length} exceeds 2^14+2048", first)
        elif avail >= 5 + length:
            self._records += 1
            self._record(kind, version, buf, pos + 5, length, first)
            return 5 + length
        return 0

    def _first_frame(self, pos: int) -> int:
        """The frame that carried the byte at ``pos`` of the buffer."""
        offset = self._base + pos
        for end, frame in self._spans:
            if end > offset:
                return frame
        return self._frame

    def _record(
        self, kind: int, version: int, buf: bytes, at: int, length: int, first: int
    ) -> None:
        """Act on the record whose body is ``buf[at:at+length]``; only bodies read are copied
        (application data, most of the bytes, never is)."""
        if self._handshake and kind != HANDSHAKE:
            self._problem(f"handshake message interrupted by a {_RECORD_KINDS[kind]} record", first)
        elif kind == HANDSHAKE:
            body = bytes(buf[at : at + length])
            if self._ccs and not self._plain_after_ccs(body):
                self._emit("encrypted_handshake", first)
            else:
                self._handshake_record(version, body, first)
        elif kind == CHANGE_CIPHER_SPEC:
            self._ccs = True
            self._emit("change_cipher_spec", first)
        elif kind == ALERT:
            # Any other length, or ChangeCipherSpec before TLS 1.2 and older, means ciphertext.
            alert = Alert(0, None, True)
            if length == 2 and not (self._ccs and not self._tls13):
                alert = Alert(buf[at], buf[at + 1], False)
                self._fatal = self._fatal or alert.level == 2
            self._emit("alert", first, alert)
        elif kind == APPLICATION_DATA:
            self.app_records += 1
            self.last_app_frame = self._frame
            if self.app_records == 1:
                self._emit("application_data", first)
        # Heartbeat (24) records carry nothing a login diagnosis needs.

    def _plain_after_ccs(self, body: bytes) -> bool:
        # TLS 1.3's ChangeCipherSpec is a dummy (RFC 8446 D.4): after a HelloRetryRequest
        # the second ClientHello, and the real ServerHello, follow it in the clear.
        size = 4 + int.from_bytes(body[1:4], "big")
        return self._tls13 and body[:1] in (b"\x01", b"\x02") and size <= len(body)

    def _handshake_record(self, version: int, body: bytes, first: int) -> None:
        if not self._handshake:
            self._handshake_start = (first, version)
        self._handshake += body
        while len(self._handshake) >= 4 and not self._stopped:
            length = int.from_bytes(self._handshake[1:4], "big")
            if length + 4 > MAX_BUFFER:
                self._problem(f"handshake message of {length} bytes exceeds {MAX_BUFFER}", first)
            if self._stopped or len(self._handshake) < length + 4:
                return
            kind, message = self._handshake[0], bytes(self._handshake[4 : length + 4])
            del self._handshake[: length + 4]
            start, record_version = self._handshake_start
            self._handshake_start = (first, version)  # whatever follows began in this record
            self._message(kind, message, record_version, start)

    def _message(self, kind: int, body: bytes, record_version: int, first: int) -> None:
        detail: Detail
        try:
            if kind == 1:
                detail = parse_client_hello(body, record_version)
            elif kind == 2:
                detail = parse_server_hello(body)
            elif kind == 11:
                detail = parse_certificates(body)
            elif kind == _SSLV2_HELLO:
                detail = parse_sslv2_client_hello(body)
            else:
                detail = handshake_name(kind)
        except TlsError as exc:
            self._problem(str(exc), first)
            return
        if isinstance(detail, ClientHello):
            self._tls13 = self._tls13 or is_tls13(detail.max_version)
        elif isinstance(detail, ServerHello):
            self._tls13 = self._tls13 or detail.hello_retry or is_tls13(detail.version)
        self._emit(_MESSAGE_KINDS.get(kind, "handshake_other"), first, detail)


def _alien(byte: int) -> bool:
    # A first byte that no TLS record nor SSLv2 ClientHello starts with.
    return not 20 <= byte <= 24 and byte < 0x80


def _preview(head: bytes) -> str:
    return repr(head.split(b"\r", 1)[0].split(b"\n", 1)[0].decode("latin-1"))


# ---------------------------------------------------------------- both directions


class Stream(Protocol):
    """What a connection needs of one direction: ``TlsStream``, or its compiled twin
    (``native.tls.Stream``), which raises ``native.tls.Unusual`` on anything but well-formed
    traffic."""

    @property
    def done(self) -> bool: ...
    @property
    def last_app_frame(self) -> int | None: ...
    def feed(self, data: bytes, frame: int, /) -> list[TlsMessage]: ...


class TlsConnection:
    """Both directions of one TCP connection and what their handshake amounted to.

    TLS 1.3 counts as established on the client's first encrypted record after the
    ServerHello; a client sending 0-RTT data must be fed past its first record for that.
    Each direction is a ``stream()``.
    """

    def __init__(self, stream: Callable[[], Stream] = TlsStream) -> None:
        self.client = stream()
        self.server = stream()
        self._client_hello: ClientHello | None = None
        self._server_hello: ServerHello | None = None
        self._server_hello_frame = 0
        self._hello_retry = False
        self._certificates: tuple[bytes, ...] = ()
        self._alerts: list[tuple[bool, Alert, int]] = []
        self._ccs = {True: False, False: False}  # by from_client

    @property
    def done(self) -> bool:
        """True once neither direction can tell anything more."""
        return self.client.done and self.server.done

    def feed(self, from_client: bool, data: bytes, frame: int) -> list[TlsMessage]:
        """Feed one direction's next bytes; return their messages. Never raises."""
        messages = (self.client if from_client else self.server).feed(data, frame)
        for message in messages:
            detail = message.detail
            if isinstance(detail, ClientHello) and from_client:
                self._client_hello = detail
            elif isinstance(detail, ServerHello) and not from_client:
                if detail.hello_retry:
                    self._hello_retry = True
                else:
                    self._server_hello, self._server_hello_frame = detail, message.frame
            elif isinstance(detail, Certificates) and not from_client:
                self._certificates = detail.chain
            elif isinstance(detail, Alert):
                self._alerts.append((from_client, detail, message.frame))
            elif message.kind == "change_cipher_spec":
                self._ccs[from_client] = True
        return messages

    def summary(self) -> TlsSummary:
        """What the handshake amounted to so far."""
        hello = self._server_hello
        fatal = any(alert.level == 2 and not alert.encrypted for _, alert, _ in self._alerts)
        if is_tls13(hello.version) if hello else self._hello_retry:
            # The client's Finished is its first encrypted record after the ServerHello.
            last = self.client.last_app_frame
            established = hello is not None and last is not None and last > self._server_hello_frame
        else:
            established = self._ccs[True] and self._ccs[False]
        return TlsSummary(
            client_hello=self._client_hello,
            server_hello=hello,
            certificates=self._certificates,
            alerts=tuple(self._alerts),
            established=established and not fatal,
            version=hello.version if hello else None,
            cipher=hello.cipher if hello else None,
        )


if native.tls is not None:
    native.tls.bind(TlsMessage, ClientHello, ServerHello, Alert, Certificates, handshake_name)
