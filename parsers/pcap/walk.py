"""Walk pcap and pcapng records into arrays: where each packet's bytes are, and when.

The walk is the only per-record Python loop of the packet reader: it follows
the length fields from record to record and keeps each record's offset. Every
other header field is then gathered for all records at once with numpy
(``packets``). A damaged file is read as far as its structure can be trusted;
what is lost is reported with the frame number Wireshark would show.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from parsers.errors import ParseError

# Classic pcap: magic → (byte order, ticks per second).
PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1_000_000),
    b"\xa1\xb2\xc3\xd4": (">", 1_000_000),
    b"\x4d\x3c\xb2\xa1": ("<", 1_000_000_000),
    b"\xa1\xb2\x3c\x4d": (">", 1_000_000_000),
}
PCAPNG_SHB = 0x0A0D0D0A
PCAPNG_BYTE_ORDER = {b"\x4d\x3c\x2b\x1a": "<", b"\x1a\x2b\x3c\x4d": ">"}
# A record claiming more than this is garbage, not a packet (Wireshark's limit is 256 KiB too).
MAX_RECORD = 262_144
MAX_BLOCK = 16 * 1024 * 1024

_IDB, _SPB, _EPB, _OPB = 1, 3, 6, 2


@dataclass
class Interface:
    """A capture interface: its link type and how its timestamps are counted."""

    linktype: int
    snaplen: int
    ticks_per_second: int = 1_000_000
    binary_exponent: int = 0  # if_tsresol with the top bit set: 2**-n seconds
    offset_s: int = 0


@dataclass
class Records:
    """Every readable record of a capture, as parallel arrays indexed by frame - 1."""

    buffer: np.ndarray  # the file's bytes (uint8), memory-mapped
    offset: np.ndarray  # int64: where each packet's captured bytes start
    caplen: np.ndarray  # int64: bytes captured
    origlen: np.ndarray  # int64: bytes on the wire
    ts_ns: np.ndarray  # int64 nanoseconds since the epoch; INT64_MIN when the record has none
    interface: np.ndarray  # int32 index into ``interfaces``
    interfaces: list[Interface]
    fmt: str  # "pcap" or "pcapng"
    problems: list[tuple[int | None, str]] = field(default_factory=list)
    skipped: int = 0  # records (or blocks) that could not be kept

    def __len__(self) -> int:
        return int(self.offset.shape[0])


NO_TIME = np.iinfo(np.int64).min


def open_records(path: Path, display: str) -> Records:
    """Map ``path`` and walk its records; raise ``ParseError`` when it is no capture at all."""
    try:
        with path.open("rb") as handle:
            size = path.stat().st_size
            if size == 0:
                raise ParseError(display, "empty file")
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError as exc:
        raise ParseError(display, f"cannot read: {exc.strerror or exc}") from exc
    buffer = np.frombuffer(mapped, dtype=np.uint8)
    head = bytes(buffer[:12])
    if head[:4] in PCAP_MAGICS:
        return _walk_pcap(buffer, display)
    if head[:4] == b"\x0a\x0d\x0d\x0a" and head[8:12] in PCAPNG_BYTE_ORDER:
        return _walk_pcapng(buffer, display)
    raise ParseError(display, "not a pcap or pcapng file (unknown magic number)")


def _walk_pcap(buffer: np.ndarray, display: str) -> Records:
    data = buffer.data
    order, ticks = PCAP_MAGICS[bytes(buffer[:4])]
    if len(buffer) < 24:
        raise ParseError(display, f"pcap header truncated ({len(buffer)} of 24 bytes)")
    snaplen, network = struct.unpack_from(order + "II", data, 16)
    interfaces = [Interface(linktype=network & 0xFFFF, snaplen=snaplen, ticks_per_second=ticks)]
    problems: list[tuple[int | None, str]] = []
    offsets = _pcap_offsets(data, order, len(buffer), problems)
    starts = np.asarray(offsets, dtype=np.int64)
    header = gather(buffer, starts, 16)
    dtype = np.dtype(order + "u4")
    seconds = column(header, 0, dtype).astype(np.int64)
    fraction = column(header, 4, dtype).astype(np.int64)
    scale = 1_000_000_000 // ticks
    records = Records(
        buffer=buffer,
        offset=starts + 16,
        caplen=column(header, 8, dtype).astype(np.int64),
        origlen=column(header, 12, dtype).astype(np.int64),
        ts_ns=seconds * 1_000_000_000 + fraction * scale,
        interface=np.zeros(len(starts), dtype=np.int32),
        interfaces=interfaces,
        fmt="pcap",
        problems=problems,
        skipped=sum(1 for frame, _ in problems if frame is not None),
    )
    return records


def _pcap_offsets(
    data: memoryview, order: str, end: int, problems: list[tuple[int | None, str]]
) -> list[int]:
    """Follow the record lengths; stop at a cut or an impossible length and say where."""
    caplen_at = struct.Struct(order + "I").unpack_from
    offsets: list[int] = []
    keep = offsets.append
    position = 24
    while position + 16 <= end:
        caplen = caplen_at(data, position + 8)[0]
        if caplen > MAX_RECORD:
            problems.append(
                (
                    len(offsets) + 1,
                    f"record at byte {position} claims {caplen} bytes (limit {MAX_RECORD}); "
                    f"the remaining {end - position} bytes are not packets and were not read",
                )
            )
            return offsets
        following = position + 16 + caplen
        if following > end:
            problems.append(
                (
                    len(offsets) + 1,
                    f"capture cut short inside this packet ({end - position - 16} of "
                    f"{caplen} bytes present)",
                )
            )
            return offsets
        keep(position)
        position = following
    if position < end:
        problems.append(
            (
                len(offsets) + 1,
                f"capture cut short inside a record header ({end - position} of 16 bytes)",
            )
        )
    return offsets


def _walk_pcapng(buffer: np.ndarray, display: str) -> Records:
    data = buffer.data
    end = len(buffer)
    problems: list[tuple[int | None, str]] = []
    interfaces: list[Interface] = []
    section: list[int] = []  # indexes into ``interfaces`` of the current section's interfaces
    packets: list[tuple[int, int, int]] = []  # (block offset, block type, global interface)
    keep = packets.append
    order = PCAPNG_BYTE_ORDER[bytes(buffer[8:12])]
    head = struct.Struct(order + "II").unpack_from
    position = 0
    skipped = 0
    while position + 12 <= end:
        kind, length = head(data, position)
        if kind == PCAPNG_SHB:
            magic = bytes(buffer[position + 8 : position + 12])
            if magic not in PCAPNG_BYTE_ORDER:
                problems.append((len(packets) + 1, f"section header at byte {position} is damaged"))
                break
            order = PCAPNG_BYTE_ORDER[magic]
            head = struct.Struct(order + "II").unpack_from
            kind, length = head(data, position)
            section = []
        if length < 12 or length % 4 or length > MAX_BLOCK:
            problems.append(
                (
                    len(packets) + 1,
                    f"block at byte {position} has an impossible length {length}; "
                    f"the rest of the file ({end - position} bytes) was not read",
                )
            )
            break
        if position + length > end:
            problems.append(
                (
                    len(packets) + 1,
                    f"capture cut short inside a block ({end - position} of {length} bytes)",
                )
            )
            skipped += kind in (_EPB, _SPB, _OPB)
            break
        if kind in (_EPB, _SPB, _OPB):
            local = 0 if kind == _SPB else _interface_id(data, order, kind, position)
            if local >= len(section):
                problems.append(
                    (len(packets) + 1, f"packet names interface {local}, which is not described")
                )
                skipped += 1
            else:
                keep((position, kind, section[local]))
        elif kind == _IDB:
            section.append(len(interfaces))
            interfaces.append(_interface(data, order, position, length))
        position += length
    else:
        if position < end:
            problems.append(
                (len(packets) + 1, f"{end - position} stray bytes after the last block")
            )
    return _pcapng_records(buffer, order, packets, interfaces, problems, skipped)


def _interface_id(data: memoryview, order: str, kind: int, position: int) -> int:
    if kind == _OPB:
        return int(struct.unpack_from(order + "H", data, position + 8)[0])
    return int(struct.unpack_from(order + "I", data, position + 8)[0])


def _interface(data: memoryview, order: str, position: int, length: int) -> Interface:
    """An Interface Description Block: link type, snaplen, if_tsresol and if_tsoffset."""
    linktype, _, snaplen = struct.unpack_from(order + "HHI", data, position + 8)
    interface = Interface(linktype=linktype, snaplen=snaplen)
    option = position + 16
    stop = position + length - 4
    while option + 4 <= stop:
        code, size = struct.unpack_from(order + "HH", data, option)
        if code == 0:
            break
        value = bytes(data[option + 4 : option + 4 + size])
        if code == 9 and size >= 1:
            exponent = value[0] & 0x7F
            if value[0] & 0x80:
                interface.binary_exponent = min(exponent, 62)
            else:
                interface.ticks_per_second = 10 ** min(exponent, 18)
        elif code == 14 and size == 8:
            interface.offset_s = struct.unpack(order + "q", value)[0]
        option += 4 + size + (-size % 4)
    return interface


def _pcapng_records(
    buffer: np.ndarray,
    order: str,
    packets: list[tuple[int, int, int]],
    interfaces: list[Interface],
    problems: list[tuple[int | None, str]],
    skipped: int,
) -> Records:
    table = np.asarray(packets, dtype=np.int64).reshape(-1, 3)
    starts, kinds, interface = table[:, 0], table[:, 1], table[:, 2].astype(np.int32)
    header = gather(buffer, starts, 28)
    u32 = np.dtype(order + "u4")
    # Enhanced and obsolete packet blocks share the timestamp and length layout.
    simple = kinds == _SPB
    high = column(header, 12, u32).astype(np.uint64)
    low = column(header, 16, u32).astype(np.uint64)
    caplen = column(header, 20, u32).astype(np.int64)
    origlen = column(header, 24, u32).astype(np.int64)
    offset = starts + 28
    # Obsolete packet blocks keep the same fields behind a 16-bit interface id and drop count.
    block_length = column(header, 4, u32).astype(np.int64)
    # Simple packet blocks carry only the original length; what was captured fills the block.
    spb_origlen = column(header, 8, u32).astype(np.int64)
    snaplens = np.asarray([i.snaplen or MAX_RECORD for i in interfaces] or [0], dtype=np.int64)
    origlen = np.where(simple, spb_origlen, origlen)
    caplen = np.where(
        simple, np.minimum(np.minimum(spb_origlen, snaplens[interface]), block_length - 16), caplen
    )
    offset = np.where(simple, starts + 12, offset)
    room = block_length - (offset - starts) - 4
    overlong = caplen > room
    if overlong.any():
        first = int(np.flatnonzero(overlong)[0]) + 1
        problems.append(
            (first, f"{int(overlong.sum())} packets claim more bytes than their block holds; cut")
        )
        caplen = np.minimum(caplen, np.maximum(room, 0))
    ticks = (high << np.uint64(32)) | low
    ts_ns = _ticks_to_ns(ticks, interface, interfaces)
    ts_ns[simple] = NO_TIME
    return Records(
        buffer=buffer,
        offset=offset,
        caplen=caplen,
        origlen=origlen,
        ts_ns=ts_ns,
        interface=interface,
        interfaces=interfaces,
        fmt="pcapng",
        problems=problems,
        skipped=skipped,
    )


def _ticks_to_ns(
    ticks: np.ndarray, interface: np.ndarray, interfaces: list[Interface]
) -> np.ndarray:
    """Timestamps in each interface's resolution → int64 nanoseconds."""
    result = np.zeros(len(ticks), dtype=np.int64)
    for index, described in enumerate(interfaces):
        rows = interface == index
        if not rows.any():
            continue
        value = ticks[rows]
        if described.binary_exponent:
            shift = np.uint64(described.binary_exponent)
            whole = (value >> shift).astype(np.int64)
            fraction = value & ((np.uint64(1) << shift) - np.uint64(1))
            part = (fraction.astype(np.float64) * 1e9 / 2.0**described.binary_exponent).astype(
                np.int64
            )
            nanos = whole * 1_000_000_000 + part
        else:
            per = described.ticks_per_second
            whole = (value // np.uint64(per)).astype(np.int64)
            fraction = (value % np.uint64(per)).astype(np.int64)
            if per <= 1_000_000_000:
                nanos = whole * 1_000_000_000 + fraction * (1_000_000_000 // per)
            else:
                nanos = whole * 1_000_000_000 + fraction // (per // 1_000_000_000)
        result[rows] = nanos + described.offset_s * 1_000_000_000
    return result


def gather(buffer: np.ndarray, starts: np.ndarray, width: int) -> np.ndarray:
    """Rows of ``width`` bytes from each start; bytes past the end of the file read as zero."""
    if len(starts) == 0:
        return np.zeros((0, width), dtype=np.uint8)
    size = len(buffer)
    if size >= width:
        view = np.lib.stride_tricks.as_strided(
            buffer, shape=(size - width + 1, width), strides=(1, 1)
        )
        clipped = np.minimum(starts, size - width)
        rows = view[clipped]
    else:
        rows = np.zeros((len(starts), width), dtype=np.uint8)
    late = np.flatnonzero(starts > size - width)
    for index in late.tolist():
        start = int(starts[index])
        piece = bytes(buffer[max(start, 0) : start + width])
        rows[index] = np.frombuffer(piece.ljust(width, b"\0"), dtype=np.uint8)
    return rows


def column(rows: np.ndarray, at: int, dtype: np.dtype) -> np.ndarray:
    """The integer of ``dtype`` at byte ``at`` of every row."""
    width = dtype.itemsize
    return np.ascontiguousarray(rows[:, at : at + width]).view(dtype).reshape(-1)
