"""X.509 certificates seen in TLS handshakes: names, SANs, validity, self-signature.

``cryptography`` does the parsing. Two leniencies keep real-world certificates
readable: names whose strings it rejects (invalid UTF-8, PrintableString with "*"
or "_") are decoded here, lossily, and its warning about negative serials is silenced.
"""

from __future__ import annotations

import functools
import hashlib
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import NameOID


class CertError(ValueError):
    """A certificate that cannot be parsed at all."""


@dataclass(frozen=True, slots=True)
class CertInfo:
    """What a diagnosis needs from one certificate."""

    subject: str  # RFC 4514
    subject_cn: str | None
    issuer: str
    issuer_cn: str | None
    sans: tuple[str, ...]  # DNS names and IP addresses
    not_before: datetime  # aware, UTC
    not_after: datetime
    self_signed: bool
    sha256: str  # lowercase hex of the DER
    serial: str  # hex, "-" first if negative


@functools.lru_cache(maxsize=1024)
def parse_certificate(der: bytes) -> CertInfo:
    """Parse one DER certificate. Raises CertError if it cannot be read.

    Cached: a capture shows the same few server chains in thousands of handshakes."""
    with warnings.catch_warnings():
        # Negative serials (RFC 5280 forbids them, old CAs issued them) only warn.
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        try:
            return _parse(der)
        except Exception as exc:
            # cryptography raises ValueError for bad DER, but fuzzing also found KeyError
            # (unknown string tags); at this edge any failure means "unreadable".
            raise CertError(f"unreadable certificate: {exc!r}") from exc


def _parse(der: bytes) -> CertInfo:
    try:
        cert, relaxed = x509.load_der_x509_certificate(der), False
    except ValueError:
        # Retry with the names' PrintableStrings as T61String, which cryptography reads leniently.
        cert, relaxed = x509.load_der_x509_certificate(_retag_printable(der)), True
    subject, subject_cn = _name(cert, der, issuer=False)
    issuer, issuer_cn = _name(cert, der, issuer=True)
    serial = cert.serial_number
    return CertInfo(
        subject=subject,
        subject_cn=subject_cn,
        issuer=issuer,
        issuer_cn=issuer_cn,
        sans=_sans(cert),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        # A retagged certificate's signature no longer covers its bytes: trust the names.
        self_signed=subject == issuer and (relaxed or _verifies_itself(cert)),
        sha256=hashlib.sha256(der).hexdigest(),
        serial=("-" if serial < 0 else "") + format(abs(serial), "x"),
    )


def validity_at(info: CertInfo, moment: datetime) -> str:
    """Whether ``info`` is "valid", "expired" or "not_yet_valid" at ``moment`` (naive: UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment < info.not_before:
        return "not_yet_valid"
    return "expired" if moment > info.not_after else "valid"


def _name(cert: x509.Certificate, der: bytes, issuer: bool) -> tuple[str, str | None]:
    """A name as RFC 4514 text, and its common name."""
    try:
        name = cert.issuer if issuer else cert.subject
        cns = [a.value for a in name.get_attributes_for_oid(NameOID.COMMON_NAME)]
        return name.rfc4514_string(), _text(cns[0]) if cns else None
    except (ValueError, KeyError):
        # Strings cryptography will not decode (bad UTF-8, odd tags): read the name ourselves.
        attributes = _name_attributes(der, _tbs_names(der)[0 if issuer else 1])
        text = ",".join(f"{key}={_escape(value)}" for key, value in reversed(attributes))
        return text, next((value for key, value in attributes if key == "CN"), None)


def _text(value: str | bytes) -> str:
    return value if isinstance(value, str) else value.decode("latin-1")


def _sans(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except Exception:
        # Absent, duplicated or malformed (cryptography's errors share no base class):
        # the certificate still shows its names and dates.
        return ()
    dns = names.get_values_for_type(x509.DNSName)
    return (*dns, *(str(address) for address in names.get_values_for_type(x509.IPAddress)))


def _verifies_itself(cert: x509.Certificate) -> bool:
    """Whether the signature checks with the certificate's own key; True if uncheckable."""
    try:
        cert.verify_directly_issued_by(cert)
    except InvalidSignature:
        return False
    except (ValueError, KeyError, TypeError, UnsupportedAlgorithm):
        return True  # e.g. MD5 or DSA signatures: fall back to subject == issuer
    return True


# ---------------------------------------------------------------- lenient DER names

_SHORT_NAMES = {
    "2.5.4.3": "CN",
    "2.5.4.6": "C",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "2.5.4.9": "STREET",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "0.9.2342.19200300.100.1.1": "UID",
    "0.9.2342.19200300.100.1.25": "DC",
}
_PRINTABLE_STRING, _T61_STRING = 0x13, 0x14
_CODECS = {0x0C: "utf-8", 0x1C: "utf-32-be", 0x1E: "utf-16-be"}  # UTF8, Universal, BMP


def _tlv(der: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the DER element at ``pos``."""
    if pos + 2 > len(der):
        raise ValueError("DER truncated")
    tag, length, pos = der[pos], der[pos + 1], pos + 2
    if length & 0x80:
        width = length & 0x7F
        length, pos = int.from_bytes(der[pos : pos + width], "big"), pos + width
    if pos + length > len(der):
        raise ValueError("DER truncated")
    return tag, pos, pos + length


def _children(der: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    out: list[tuple[int, int, int]] = []
    while start < end:
        out.append(_tlv(der, start))
        start = out[-1][2]
    return out


def _tbs_names(der: bytes) -> tuple[tuple[int, int], tuple[int, int]]:
    """Content spans of the issuer and subject Names."""
    _, start, end = _tlv(der, 0)
    _, start, end = _tlv(der, start)  # tbsCertificate
    fields = _children(der, start, end)
    if fields and fields[0][0] == 0xA0:  # [0] version
        fields = fields[1:]
    if len(fields) < 5:
        raise ValueError("tbsCertificate too short")
    # serialNumber, signature, issuer, validity, subject
    return (fields[2][1], fields[2][2]), (fields[4][1], fields[4][2])


def _attribute_values(der: bytes, span: tuple[int, int]) -> list[tuple[str, int]]:
    """(dotted OID, offset of the value) of each attribute of a Name."""
    out = []
    for _, set_start, set_end in _children(der, *span):
        for _, start, _ in _children(der, set_start, set_end):
            _, oid_start, oid_end = _tlv(der, start)
            out.append((_dotted(der[oid_start:oid_end]), oid_end))
    return out


def _name_attributes(der: bytes, span: tuple[int, int]) -> list[tuple[str, str]]:
    out = []
    for oid, offset in _attribute_values(der, span):
        tag, start, end = _tlv(der, offset)
        raw = der[start:end]
        try:
            value = raw.decode(_CODECS.get(tag, "latin-1"))
        except UnicodeDecodeError:
            value = raw.decode("latin-1")  # legacy encoders put Latin-1 in UTF8String
        out.append((_SHORT_NAMES.get(oid, oid), value))
    return out


def _retag_printable(der: bytes) -> bytes:
    """``der`` with its names' PrintableStrings retagged as T61Strings."""
    out = bytearray(der)
    for span in _tbs_names(der):
        for _, offset in _attribute_values(der, span):
            if out[offset] == _PRINTABLE_STRING:
                out[offset] = _T61_STRING
    return bytes(out)


def _dotted(raw: bytes) -> str:
    arcs, value = [], 0
    for byte in raw:
        value = value << 7 | byte & 0x7F
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    if not arcs:
        return ""
    top = min(arcs[0] // 40, 2)
    return ".".join(str(arc) for arc in (top, arcs[0] - 40 * top, *arcs[1:]))


def _escape(value: str) -> str:
    """RFC 4514 escaping of an attribute value."""
    escaped = "".join("\\" + c if c in ',+"\\<>;' else c for c in value)
    if escaped.startswith(("#", " ")):
        escaped = "\\" + escaped
    return escaped[:-1] + "\\ " if escaped.endswith(" ") else escaped
