"""Recognise an input file by its content, never by its name.

Only the first 64 KiB are read. Magic numbers decide captures, archives and
compressed streams; JSON documents are told apart by their top-level keys;
everything else is text (a log) or binary, decided by how much of the sample
decodes to printable characters. The single name-based rule is the
contract's ``bundle.json``.
"""

from __future__ import annotations

import codecs
import json
import re
from dataclasses import dataclass
from pathlib import Path

from parsers.text import guess_encoding

__all__ = [
    "ARCHIVE_KINDS", "BINARY", "BUNDLE_META", "BUNDLE_META_NAME", "BZIP2", "COMPRESSED_KINDS",
    "CONTAINER_KINDS", "EMPTY", "EXPECTED", "EXPECTED_NAME", "GZIP", "HAR", "KINDS", "LOG",
    "NETLOG", "PCAP", "PCAPNG", "SNIFF_BYTES", "TAR", "XZ", "ZIP", "ZSTD", "Sniffed", "sniff",
    "sniff_bytes",
]  # fmt: skip

SNIFF_BYTES = 64 * 1024

PCAP = "pcap"
PCAPNG = "pcapng"
GZIP = "gzip"
ZSTD = "zstd"
BZIP2 = "bzip2"
XZ = "xz"
ZIP = "zip"
TAR = "tar"
HAR = "har"
NETLOG = "netlog"
BUNDLE_META = "bundle_meta"
EXPECTED = "expected_verdict"
LOG = "log"
EMPTY = "empty"
BINARY = "binary"

KINDS = frozenset(
    {PCAP, PCAPNG, GZIP, ZSTD, BZIP2, XZ, ZIP, TAR, HAR, NETLOG, BUNDLE_META, EXPECTED, LOG}
    | {EMPTY, BINARY}
)
COMPRESSED_KINDS = frozenset({GZIP, ZSTD, BZIP2, XZ})
ARCHIVE_KINDS = frozenset({ZIP, TAR})
# Kinds intake opens instead of handing to a parser.
CONTAINER_KINDS = COMPRESSED_KINDS | ARCHIVE_KINDS

BUNDLE_META_NAME = "bundle.json"
# A sample bundle's answer key (sample_data/): the verdict a test expects, never evidence.
EXPECTED_NAME = "expected.json"

# Share of printable characters below which a sample is binary.
TEXT_THRESHOLD = 0.90

_PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": "little-endian, microsecond",
    b"\xa1\xb2\xc3\xd4": "big-endian, microsecond",
    b"\x4d\x3c\xb2\xa1": "little-endian, nanosecond",
    b"\xa1\xb2\x3c\x4d": "big-endian, nanosecond",
}
_PCAPNG_BYTE_ORDER = {b"\x4d\x3c\x2b\x1a": "little-endian", b"\x1a\x2b\x3c\x4d": "big-endian"}
# (magic, kind, detail) checked at offset 0, longest first.
_MAGICS = (
    (b"\xfd7zXZ\x00", XZ, None),
    (b"\x28\xb5\x2f\xfd", ZSTD, None),
    (b"PK\x03\x04", ZIP, None),
    (b"PK\x05\x06", ZIP, "empty archive"),
    (b"\x1f\x8b", GZIP, None),
)
# A bzip2 stream is "BZh" + block size digit + a block or end-of-stream magic;
# checking all of it keeps a text file that starts with "BZh" a text file.
_BZIP2 = re.compile(rb"BZh[1-9](?:1AY&SY|\x17rE8P\x90)")

# Characters that count as text besides str.isprintable(): whitespace and ESC (ANSI colours).
_TEXT_CONTROLS = dict.fromkeys(map(ord, "\t\n\r\x1b"))
_FIRST_KEY = re.compile(r'\A\ufeff?\s*\{\s*"((?:[^"\\]|\\.)*)"\s*:')
_HAR_LOG = re.compile(r'"log"\s*:\s*\{')
_HAR_HINT = re.compile(r'"(?:entries|version|creator)"\s*:')
_HAR_ENTRIES = re.compile(r'"entries"\s*:\s*\[')
_NETLOG_CONSTANTS = re.compile(r'"constants"\s*:\s*\{')
_NETLOG_EVENT = re.compile(r'"phase"\s*:.*"source"\s*:|"source"\s*:.*"phase"\s*:', re.S)


@dataclass(frozen=True)
class Sniffed:
    """What a file is (one of ``KINDS``) and a human-readable detail.

    For ``log`` the detail is a Python codec name that decodes the file.
    """

    kind: str
    detail: str | None = None


def sniff(path: Path) -> Sniffed:
    """Return the kind of the file at ``path`` from its first 64 KiB.

    Raises ``OSError`` only when the file cannot be read.
    """
    with open(path, "rb") as f:
        sample = f.read(SNIFF_BYTES + 1)
    complete = len(sample) <= SNIFF_BYTES
    return sniff_bytes(sample[:SNIFF_BYTES], name=Path(path).name, complete=complete)


def sniff_bytes(sample: bytes, name: str = "", complete: bool = True) -> Sniffed:
    """Return the kind of a file whose first bytes are ``sample``; never raises.

    ``complete`` says whether ``sample`` is the whole file, so that a cut
    multi-byte character or JSON document at its end is not held against it.
    """
    if not sample:
        return Sniffed(EMPTY, None)
    magic = _sniff_magic(sample)
    if magic is not None:
        return magic
    encoding, bom_length = guess_encoding(sample)
    text = _decode(sample[bom_length:], encoding, complete)
    if bom_length:
        encoding += " (BOM)"
    non_text = _non_text_share(text)
    if non_text > 1 - TEXT_THRESHOLD:
        return Sniffed(BINARY, f"no known magic; {non_text:.0%} of the sample is not text")
    if text.lstrip("\ufeff \t\r\n").startswith("{"):
        if name == BUNDLE_META_NAME:
            return _bundle_meta(text, complete)
        if name == EXPECTED_NAME and complete and _is_expected_verdict(text):
            return Sniffed(EXPECTED, None)
        kind = _sniff_json(text, complete)
        if kind is not None:
            return Sniffed(kind, encoding)
    return Sniffed(LOG, encoding)


def _sniff_magic(sample: bytes) -> Sniffed | None:
    head = sample[:4]
    if head in _PCAP_MAGICS:
        return Sniffed(PCAP, _PCAP_MAGICS[head])
    if head == b"\x0a\x0d\x0d\x0a" and sample[8:12] in _PCAPNG_BYTE_ORDER:
        return Sniffed(PCAPNG, _PCAPNG_BYTE_ORDER[sample[8:12]])
    for magic, kind, detail in _MAGICS:
        if sample.startswith(magic):
            return Sniffed(kind, detail)
    if _BZIP2.match(sample):
        return Sniffed(BZIP2, None)
    if sample[257:262] == b"ustar":
        return Sniffed(TAR, "POSIX" if sample[262:263] == b"\x00" else "GNU")
    return None


def _decode(sample: bytes, encoding: str, complete: bool) -> str:
    decoder = codecs.getincrementaldecoder(encoding)("replace")
    return decoder.decode(sample, final=complete)


def _non_text_share(text: str) -> float:
    """Return the share of characters that are neither printable nor allowed controls."""
    if not text:
        return 0.0
    # NUL runs pad logs that were preallocated or cut by a crash; they are not content.
    text = text.replace("\x00", "")
    if not text:
        return 1.0
    stripped = text.translate(_TEXT_CONTROLS)
    if stripped.isprintable() and "\ufffd" not in stripped:
        return 0.0  # the common case, decided in C
    bad = sum(1 for c in stripped if c == "\ufffd" or not c.isprintable())
    return bad / len(text)


def _sniff_json(text: str, complete: bool) -> str | None:
    """Return HAR or NETLOG for a JSON document, None for anything else (JSON Lines included)."""
    lines = text.lstrip("\ufeff \t\r\n").splitlines()
    if len([line for line in lines[:3] if line.strip()]) >= 2 and _is_object(lines[0]):
        return None  # JSON Lines: a log, even when its records carry "log" keys
    if complete:
        try:
            doc = json.loads(text.lstrip("\ufeff"))
        except ValueError:
            doc = None
        if isinstance(doc, dict):
            return _kind_of_document(doc)
    first = _FIRST_KEY.match(text)
    first_key = first.group(1) if first else None
    # Browsers write "log" first; elsewhere demand an entries array so that a
    # record with an ECS-style "log": {...} field is not taken for a HAR.
    if first_key == "log" and _HAR_HINT.search(text):
        return HAR
    if first_key != "constants" and _HAR_LOG.search(text) and _HAR_ENTRIES.search(text):
        return HAR
    if first_key == "constants" or _NETLOG_CONSTANTS.search(text):
        return NETLOG
    if first_key == "events" and _NETLOG_EVENT.search(text):
        return NETLOG
    return None


def _kind_of_document(doc: dict[str, object]) -> str | None:
    log = doc.get("log")
    if isinstance(log, dict) and ("entries" in log or "version" in log or "creator" in log):
        return HAR
    if isinstance(doc.get("constants"), dict) or isinstance(doc.get("events"), list):
        return NETLOG
    return None


def _is_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def _is_expected_verdict(text: str) -> bool:
    try:
        value = json.loads(text.lstrip("\ufeff"))
    except ValueError:
        return False
    return isinstance(value, dict) and {"status", "causes"} <= value.keys()


def _bundle_meta(text: str, complete: bool) -> Sniffed:
    if not complete:
        return Sniffed(BUNDLE_META, "larger than 64 KiB")
    try:
        json.loads(text.lstrip("\ufeff"))
    except ValueError as exc:
        return Sniffed(BUNDLE_META, f"not valid JSON: {exc}")
    return Sniffed(BUNDLE_META, None)  # starts with "{" and parses: an object
