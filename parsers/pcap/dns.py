"""Dissect one DNS message (RFC 1035) from a UDP payload or a DNS-over-TCP stream.

Input is hostile, so every loop is bounded by the message length or a hard cap,
and a record that cannot be read ends the parse with a problem, not an error.
Messages with nothing wrong with them, nearly all, are read by a compiled twin
(``_dns.c``) where it was built; this module reads the rest and says what is wrong.
"""

from __future__ import annotations

import ipaddress
import re
import struct
from typing import NamedTuple

from parsers.pcap import native

HEADER = struct.Struct("!HHHHHH")
MAX_NAME_OCTETS = 255  # RFC 1035 §3.1, counted in wire form
MAX_POINTER_JUMPS = 64
ROOT_NAME = "<Root>"  # as Wireshark shows the empty name

RCODE_NAMES = (
    "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
    "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE",
)  # fmt: skip
TYPE_NAMES = {
    1: "A", 2: "NS", 3: "MD", 4: "MF", 5: "CNAME", 6: "SOA", 7: "MB", 8: "MG", 9: "MR",
    10: "NULL", 11: "WKS", 12: "PTR", 13: "HINFO", 14: "MINFO", 15: "MX", 16: "TXT", 17: "RP",
    18: "AFSDB", 24: "SIG", 25: "KEY", 28: "AAAA", 29: "LOC", 33: "SRV", 35: "NAPTR", 36: "KX",
    37: "CERT", 39: "DNAME", 41: "OPT", 42: "APL", 43: "DS", 44: "SSHFP", 45: "IPSECKEY",
    46: "RRSIG", 47: "NSEC", 48: "DNSKEY", 49: "DHCID", 50: "NSEC3", 51: "NSEC3PARAM",
    52: "TLSA", 53: "SMIMEA", 55: "HIP", 59: "CDS", 60: "CDNSKEY", 61: "OPENPGPKEY",
    62: "CSYNC", 63: "ZONEMD", 64: "SVCB", 65: "HTTPS", 99: "SPF", 108: "EUI48", 109: "EUI64",
    249: "TKEY", 250: "TSIG", 251: "IXFR", 252: "AXFR", 253: "MAILB", 254: "MAILA", 255: "ANY",
    256: "URI", 257: "CAA", 32768: "TA", 32769: "DLV",
}  # fmt: skip
_NAME_TYPES = frozenset({2, 5, 12, 39})  # NS, CNAME, PTR, DNAME: RDATA is one name
_SECTIONS = ("answer", "authority", "additional")
# Label bytes that print as themselves; the rest become \DDD, and "." and "\" get a backslash.
_NEEDS_ESCAPE = re.compile(rb"[^\x21-\x7e]|[.\\]")
_NEEDS_ESCAPE_BUT_DOT = re.compile(rb"[^\x21-\x7e]|\\")
_TEXT_NEEDS_ESCAPE = re.compile(rb"[^\x20-\x7e]|\\")


class DnsError(ValueError):
    """Not even the header and first question of a DNS message could be read."""


# Named tuples, not frozen dataclasses: a capture holds tens of thousands of messages, and a
# frozen dataclass's __init__ cost more than the rest of a small message's parse.
class DnsRecord(NamedTuple):
    """One resource record; ``data`` is RDATA as text (see module docs for each type)."""

    name: str
    type: str
    rclass: int
    ttl: int
    data: str


class DnsMessage(NamedTuple):
    """A DNS message read as far as possible; ``problems`` says what could not be."""

    id: int
    response: bool
    opcode: int
    rcode: int
    aa: bool
    tc: bool
    rd: bool
    ra: bool
    questions: tuple[tuple[str, str], ...]  # (name, type)
    answers: tuple[DnsRecord, ...]
    authority: tuple[DnsRecord, ...]
    additional: tuple[DnsRecord, ...]
    problems: tuple[str, ...]

    @property
    def qname(self) -> str | None:
        """The first question's name, or None."""
        return self.questions[0][0] if self.questions else None

    @property
    def qtype(self) -> str | None:
        """The first question's type name, or None."""
        return self.questions[0][1] if self.questions else None

    @property
    def rcode_name(self) -> str:
        """The response code's mnemonic, e.g. ``NXDOMAIN``, or ``RCODE<n>``."""
        return RCODE_NAMES[self.rcode] if self.rcode < len(RCODE_NAMES) else f"RCODE{self.rcode}"


class _Broken(Exception):
    """A field cannot be read, so nothing after it can be placed."""


def type_name(number: int) -> str:
    """Return the mnemonic of an RR type, e.g. ``AAAA``, or ``TYPE<n>``."""
    return TYPE_NAMES.get(number) or f"TYPE{number}"


def parse_dns(data: bytes) -> DnsMessage:
    """Parse one DNS message; raise DnsError only if the header or first question is unreadable."""
    compiled = native.dns
    if compiled is not None:
        found: DnsMessage | None = compiled.parse(data)
        if found is not None:
            return found
    return _parse_dns(data)


def _parse_dns(data: bytes) -> DnsMessage:
    if len(data) < HEADER.size:
        raise DnsError(f"{len(data)} bytes is shorter than the 12-byte DNS header")
    ident, flags, qdcount, ancount, nscount, arcount = HEADER.unpack_from(data)
    problems: list[str] = []
    questions: list[tuple[str, str]] = []
    sections: list[list[DnsRecord]] = [[], [], []]
    offset = HEADER.size
    try:
        for number in range(1, qdcount + 1):
            where = f"question {number}"
            try:
                name, offset = _read_name(data, offset, problems, where)
                if offset + 4 > len(data):
                    raise _Broken("type and class run past the end of the message")
            except _Broken as error:
                if number == 1:
                    raise DnsError(f"question 1: {error}") from None
                raise _Broken(f"{where}: {error}") from None
            questions.append((name, type_name(data[offset] << 8 | data[offset + 1])))
            offset += 4
        for section, count, records in zip(
            _SECTIONS, (ancount, nscount, arcount), sections, strict=True
        ):
            for number in range(1, count + 1):
                where = f"{section} {number}"
                try:
                    record, offset = _read_record(data, offset, problems, where)
                except _Broken as error:
                    raise _Broken(f"{where}: {error}") from None
                records.append(record)
        if offset < len(data):
            problems.append(f"{len(data) - offset} bytes after the last record")
    except _Broken as error:
        problems.append(str(error))
    return DnsMessage(
        id=ident,
        response=bool(flags & 0x8000),
        opcode=flags >> 11 & 0xF,
        rcode=flags & 0xF,
        aa=bool(flags & 0x0400),
        tc=bool(flags & 0x0200),
        rd=bool(flags & 0x0100),
        ra=bool(flags & 0x0080),
        questions=tuple(questions),
        answers=tuple(sections[0]),
        authority=tuple(sections[1]),
        additional=tuple(sections[2]),
        problems=tuple(problems),
    )


def split_tcp_dns(stream: bytes) -> tuple[list[bytes], bytes]:
    """Split DNS-over-TCP bytes (RFC 1035 §4.2.2 length prefixes) into messages and a tail.

    Zero-length frames are kept as ``b""`` so the caller counts them like any bad message.
    """
    messages: list[bytes] = []
    offset = 0
    while offset + 2 <= len(stream):
        length = stream[offset] << 8 | stream[offset + 1]
        if offset + 2 + length > len(stream):
            break
        messages.append(stream[offset + 2 : offset + 2 + length])
        offset += 2 + length
    return messages, stream[offset:]


def _read_record(
    data: bytes, offset: int, problems: list[str], where: str
) -> tuple[DnsRecord, int]:
    name, offset = _read_name(data, offset, problems, where)
    if offset + 10 > len(data):
        raise _Broken("record header runs past the end of the message")
    rtype, rclass, ttl, rdlength = struct.unpack_from("!HHIH", data, offset)
    start = offset + 10
    end = start + rdlength
    if end > len(data):
        raise _Broken("rdata runs past the end of the message")
    try:
        text = _rdata_text(data, rtype, start, end, problems, where)
    except _Broken as error:
        # The length still places the next record, so only this RDATA falls back to hex.
        problems.append(f"{where}: {type_name(rtype)} rdata: {error}")
        text = data[start:end].hex()
    return DnsRecord(name, type_name(rtype), rclass, ttl, text), end


def _rdata_text(
    data: bytes, rtype: int, start: int, end: int, problems: list[str], where: str
) -> str:
    length = end - start
    if rtype == 1 and length == 4:
        return f"{data[start]}.{data[start + 1]}.{data[start + 2]}.{data[start + 3]}"
    if rtype == 28 and length == 16:
        return ipaddress.IPv6Address(data[start:end]).compressed
    if rtype in _NAME_TYPES and length:
        return _name_within(data, start, end, problems, where)
    if rtype == 15 and length > 2:
        preference = data[start] << 8 | data[start + 1]
        return f"{preference} {_name_within(data, start + 2, end, problems, where)}"
    if rtype == 33 and length > 6:
        priority, weight, port = struct.unpack_from("!HHH", data, start)
        return f"{priority} {weight} {port} {_name_within(data, start + 6, end, problems, where)}"
    if rtype == 6 and length:
        mname, offset = _read_name(data, start, problems, where)
        rname, offset = _read_name(data, offset, problems, where)
        if offset + 20 != end:
            raise _Broken(f"{end - offset} bytes after the names instead of 20")
        numbers = struct.unpack_from("!IIIII", data, offset)
        return " ".join([mname, rname, *map(str, numbers)])
    if rtype == 16 and length:
        return _txt(data[start:end])
    return data[start:end].hex()


def _name_within(data: bytes, start: int, end: int, problems: list[str], where: str) -> str:
    name, after = _read_name(data, start, problems, where)
    if after != end:
        raise _Broken(f"name ends at offset {after}, rdata at {end}")
    return name


def _txt(rdata: bytes) -> str:
    strings = []
    offset = 0
    while offset < len(rdata):
        length = rdata[offset]
        if offset + 1 + length > len(rdata):
            raise _Broken("character-string runs past the rdata")
        strings.append(_escape(rdata[offset + 1 : offset + 1 + length], _TEXT_NEEDS_ESCAPE))
        offset += 1 + length
    return " ".join(strings)


def _read_name(data: bytes, start: int, problems: list[str], where: str) -> tuple[str, int]:
    """Return a name's text and the offset after it where it starts.

    Recoverable damage (pointer loops, forward pointers, over-long names) keeps the labels
    read so far and adds a problem; damage that hides where the name ends raises _Broken.
    """
    labels: list[bytes] = []
    position = start
    size = len(data)
    after = -1  # offset after the name at ``start``; known at its first pointer
    segment = start  # a pointer must land before the run of labels it ends
    jumps = 0
    octets = 1  # the root label
    problem = ""
    while True:
        if position >= size:
            raise _Broken("name runs past the end of the message")
        length = data[position]
        if 0 < length < 0x40:  # a label, by far the commonest
            stop = position + 1 + length
            if stop > size:
                raise _Broken("name runs past the end of the message")
            if octets + 1 + length > MAX_NAME_OCTETS:
                # Wireshark shows the whole name as "<Name too long>"; the labels that fit
                # are better evidence (a tunnelling domain, say), and the problem flags it.
                problem = f"name exceeds {MAX_NAME_OCTETS} octets at offset {position}"
                if after < 0:
                    after = _skip_labels(data, position)
                break
            octets += 1 + length
            labels.append(data[position + 1 : stop])
            position = stop
        elif length == 0:
            if after < 0:
                after = position + 1
            break
        elif length >= 0xC0:
            if position + 1 >= size:
                raise _Broken("name runs past the end of the message")
            target = (length & 0x3F) << 8 | data[position + 1]
            if after < 0:
                after = position + 2
            if target >= segment:
                problem = f"compression pointer at offset {position} does not point backwards"
                break
            jumps += 1
            if jumps > MAX_POINTER_JUMPS:
                problem = f"more than {MAX_POINTER_JUMPS} compression pointers"
                break
            position = segment = target
        else:
            if after < 0:
                raise _Broken(f"extended label type 0x{length & 0xC0:02x} at offset {position}")
            problem = f"extended label type 0x{length & 0xC0:02x} at offset {position}"
            break
    if problem:
        problems.append(f"{where}: {problem}")
    return _name_text(labels), after


def _name_text(labels: list[bytes]) -> str:
    """Labels as dig writes them; a name of plain characters is decoded in one piece."""
    if not labels:
        return ROOT_NAME
    name = b".".join(labels)
    # As many dots as separators: no label holds one, so only the other escapes can apply.
    if name.count(b".") == len(labels) - 1 and not _NEEDS_ESCAPE_BUT_DOT.search(name):
        return name.decode("ascii")
    return ".".join(_escape(label, _NEEDS_ESCAPE) for label in labels)


def _skip_labels(data: bytes, position: int) -> int:
    """Return the offset after the uncompressed labels (and final pointer) at ``position``."""
    while position < len(data):
        length = data[position]
        if length == 0:
            return position + 1
        if length >= 0xC0:
            if position + 1 >= len(data):
                break
            return position + 2
        if length >= 0x40:
            raise _Broken(f"extended label type 0x{length & 0xC0:02x} at offset {position}")
        position += 1 + length
    raise _Broken("name runs past the end of the message")


def _escape(raw: bytes, needs_escape: re.Pattern[bytes]) -> str:
    """Decode label or string bytes, escaping like dig: ``\\DDD`` for unprintable bytes."""
    if not needs_escape.search(raw):
        return raw.decode("ascii")
    return needs_escape.sub(_escape_byte, raw).decode("ascii")


def _escape_byte(match: re.Match[bytes]) -> bytes:
    byte = match.group()
    if byte in (b".", b"\\"):
        return b"\\" + byte
    return b"\\%03d" % byte[0]


if native.dns is not None:
    native.dns.bind(DnsMessage, DnsRecord, type_name)
