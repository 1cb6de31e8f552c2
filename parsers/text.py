"""Decode a text file whose encoding nobody wrote down.

Client logs arrive as UTF-8 (with or without BOM), UTF-16 from Windows tools,
or GB18030/GBK from Chinese Windows builds. Undecodable bytes are replaced and
counted, never fatal.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from parsers import scan

SAMPLE_BYTES = 1 << 16

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_REPLACEMENT = "\ufffd"
# Bytes that almost never occur in text, tried in turn as the CSV reader's field separator.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SEPARATORS = (0x1F, 0x1E, 0x1D, 0x1C, 0x01, 0x02, 0x03, 0x04)
# Openings the CSV reader sniffs as gzip, zlib and zstd streams.
_COMPRESSED_MAGIC = (b"\x1f\x8b", b"x\x01", b"x^", b"x\x9c", b"x\xda", b"\x28\xb5\x2f\xfd")


@dataclass(frozen=True)
class Lines:
    """A file's lines (CR and LF removed, blank lines kept) with how they were decoded."""

    lines: pl.Series
    encoding: str
    bom: bool
    replaced: int
    nul_bytes: int = 0


def guess_encoding(sample: bytes) -> tuple[str, int]:
    """Return ``(encoding, bom_length)`` for the start of a file."""
    for bom, name in _BOMS:
        if sample.startswith(bom):
            return name, len(bom)
    utf16 = _utf16_without_bom(sample)
    if utf16:
        return utf16, 0
    head = _trim_partial(sample)
    utf8_errors = _count_errors(head, "utf-8")
    if utf8_errors == 0:
        return "utf-8", 0
    # GB18030 decodes most byte soup, so it must do clearly better than UTF-8
    # and produce CJK text before it is believed.
    gb_errors = _count_errors(head, "gb18030")
    if gb_errors < utf8_errors / 4 and _has_cjk(head.decode("gb18030", errors="replace")):
        return "gb18030", 0
    return "utf-8", 0


@dataclass(frozen=True)
class FileText:
    """A file's lines with its size and whether it holds an escape (ANSI colours). Where the
    lines were split by the compiled scan, ``blank`` says which lines are only white space
    (null where a character past ASCII leaves it open) and ``spaced`` which may end in white
    space (false only where they do not), and ``redacted_up_to`` that the lines of at most
    that many bytes have their secrets masked already, ``masked`` which of them changed."""

    decoded: Lines
    size: int
    has_escapes: bool
    blank: pl.Series | None = None
    spaced: pl.Series | None = None
    redacted_up_to: int | None = None
    masked: pl.Series | None = None


def read_file(path: Path, redact_up_to: int | None = None) -> FileText:
    """``read_lines`` of the file at ``path``. Raises ``OSError`` when it cannot be read.

    A UTF-8 file without BOM or NUL bytes, the usual log, is split by the compiled scan
    (``parsers/_scan.c``) into views over its bytes, read once: no Python bytes, no copy. The
    scan masks the secrets of the lines of at most ``redact_up_to`` bytes as it splits them,
    while they are in the cache, and the result says so.
    """
    if scan.compiled is not None:
        # Opened twice, for the sample and then whole: intake hands over regular files only
        # (a pipe's sample would be lost to the second read).
        with path.open("rb") as handle:
            sample = handle.read(SAMPLE_BYTES)
        utf8 = guess_encoding(sample) == ("utf-8", 0)
        found = scan.split_file(path, redact_up_to=redact_up_to) if utf8 else None
        if found is not None:
            split, size, has_escapes = found
            lines = Lines(split.get_column("line"), "utf-8", False, 0)
            blank, spaced = split.get_column("blank"), split.get_column("spaced")
            masked = split.get_column("masked") if redact_up_to is not None else None
            return FileText(lines, size, has_escapes, blank, spaced, redact_up_to, masked)
    data = path.read_bytes()
    return FileText(read_lines(data), len(data), b"\x1b" in data)


def read_lines(data: bytes) -> Lines:
    """Split ``data`` into lines, decoding it with its guessed encoding.

    Valid UTF-8 never passes through Python strings: polars' CSV reader splits
    and validates it in Rust. Anything else is decoded here, undecodable bytes
    replaced and counted, and re-encoded as UTF-8 first.
    """
    encoding, bom_length = guess_encoding(data[:SAMPLE_BYTES])
    body = data[bom_length:]
    replaced = 0
    if encoding != "utf-8":
        text = body.decode(encoding, errors="replace")
        replaced = text.count(_REPLACEMENT)
        body = text.encode("utf-8")
    # NUL padding (preallocated or crash-cut logs) is not content: drop it and count it. (Finding
    # a byte is several times faster than counting them, and most files have none.)
    nul_bytes = body.count(0) if 0 in body else 0
    if nul_bytes:
        body = body.replace(b"\x00", b"")
    lines = _split_utf8(body)
    if lines is None:
        text = body.decode("utf-8", errors="replace")
        # U+FFFD written on purpose in the file is not a decoding problem.
        replaced = text.count(_REPLACEMENT) - body.count(_REPLACEMENT.encode())
        lines = _split_utf8(text.encode("utf-8"))
        assert lines is not None, "re-encoded text is valid UTF-8"
    return Lines(lines, encoding, bom_length > 0, replaced, nul_bytes)


def _split_utf8(body: bytes) -> pl.Series | None:
    """Lines of UTF-8 ``body``; None if it is not valid UTF-8."""
    if not body:
        return pl.Series("line", [], dtype=pl.String)
    separator = next((chr(c) for c in _SEPARATORS if bytes([c]) not in body), None)
    if separator is None:
        # Every candidate separator byte occurs: split the slow way.
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return None
        return pl.Series("line", text.removesuffix("\n").split("\n")).str.strip_suffix("\r")
    # The reader takes data opening with gzip, zlib or zstd magic for a compressed stream; a
    # leading newline (its empty row dropped below) stops that. Copying a large body costs, so
    # only a body that opens like one gets it.
    guard = body.startswith(_COMPRESSED_MAGIC)
    if guard:
        body = b"\n" + body
    try:
        frame = pl.read_csv(
            body,
            has_header=False,
            separator=separator,
            quote_char=None,
            schema={"line": pl.String},
            encoding="utf8",
        )
    except pl.exceptions.ComputeError:
        return None
    lines = frame.get_column("line")
    return (lines.slice(1) if guard else lines).fill_null("")


def printable(text: str) -> str:
    """Escape control characters (\\x1b → ``\\x1b``) so text cannot drive a terminal."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _utf16_without_bom(sample: bytes) -> str | None:
    """Spot BOM-less UTF-16 by the NUL byte in every other position of ASCII text."""
    probe = sample[:4096]
    if len(probe) < 8:
        return None
    even_nuls = probe[0::2].count(0)
    odd_nuls = probe[1::2].count(0)
    half = len(probe) // 2
    if odd_nuls > 0.4 * half and even_nuls < 0.05 * half:
        return "utf-16-le"
    if even_nuls > 0.4 * half and odd_nuls < 0.05 * half:
        return "utf-16-be"
    return None


def _trim_partial(sample: bytes) -> bytes:
    """Drop a multi-byte character cut by the sample boundary."""
    if len(sample) < SAMPLE_BYTES:
        return sample
    return sample[: max(0, len(sample) - 4)]


def _count_errors(data: bytes, encoding: str) -> int:
    return data.decode(encoding, errors="replace").count(_REPLACEMENT) - data.count(
        _REPLACEMENT.encode()
    )


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" or "\u3000" <= ch <= "\u303f" for ch in text)
