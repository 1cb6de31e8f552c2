"""Walk pcap and pcapng records into arrays: where each packet's bytes are, and when.

The walk follows the length fields from record to record and keeps each
record's offset and header fields; ``packets`` then decodes what each packet
carries. The per-record loops are compiled (``_records.c``, see ``native``)
where the install could build them, and run as the Python and numpy twins
here and in ``packets`` where it could not. A damaged file is read as far as
its structure can be trusted; what is lost is reported with the
frame number Wireshark would show.
"""

from __future__ import annotations

import mmap
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from parsers.errors import ParseError
from parsers.pcap import native

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
# pcapng block offsets chained at a time: a change of byte order restarts the chain.
CHAIN_BLOCKS = 1 << 16
# Bytes of each packet the header decoder reads in one go: Ethernet with two VLAN tags, IPv6
# and a TCP header fit, as do IPv4 options of up to 18 bytes.
PREFIX = 80

_IDB, _SPB, _EPB, _OPB = 1, 3, 6, 2
# Custom blocks (copiable and not): no packet, but Wireshark numbers each as a frame.
_CUSTOM = (0x00000BAD, 0x40000BAD)
# Link type, reserved and snaplen: an interface description block shorter holds no interface.
IDB_MIN = 20


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
    interface: np.ndarray  # int32 index into ``interfaces``; -1: a frame that holds no packet
    interfaces: list[Interface]
    fmt: str  # "pcap" or "pcapng"
    problems: list[tuple[int | None, str]] = field(default_factory=list)
    skipped: int = 0  # records (or blocks) that could not be kept
    # The first PREFIX bytes at each ``offset`` (as ``gather`` reads them), when the walk
    # read them anyway; the header decoder reads them otherwise.
    prefix: np.ndarray | None = None

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
    starts, wide = _pcap_records(buffer, order, problems)
    header = wide[:, :16]
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
        prefix=wide[:, 16:] if wide.shape[1] > 16 else None,
    )
    return records


def _pcap_records(
    buffer: np.ndarray, order: str, problems: list[tuple[int | None, str]]
) -> tuple[np.ndarray, np.ndarray]:
    """Where each record starts, and its 16-byte header followed by the packet's first bytes.

    The walk stops at a cut or an impossible length and says where. The chain of lengths is
    followed without checks, keeping the one per-packet loop short; the first record that
    is cut or claims too much is then found for all at once.
    """
    end = len(buffer)
    starts = _chain(buffer, order, end)
    # Offsets only grow, so those without room for a header are the last ones.
    inside = int(np.searchsorted(starts, end - 16, side="right"))
    # The compiled header decoder reads the packets where they lie; numpy's needs their heads.
    header = gather(buffer, starts[:inside], 16 + (PREFIX if native.compiled is None else 0))
    caplen = column(header, 8, np.dtype(order + "u4")).astype(np.int64)
    wrong = np.flatnonzero((caplen > MAX_RECORD) | (starts[:inside] + 16 + caplen > end))
    first = int(wrong[0]) if len(wrong) else inside
    if first < len(starts):
        position = int(starts[first])
        if first == inside:
            if position < end:
                problems.append(
                    (
                        first + 1,
                        f"capture cut short inside a record header ({end - position} of 16 bytes)",
                    )
                )
        elif caplen[first] > MAX_RECORD:
            problems.append(
                (
                    first + 1,
                    f"record at byte {position} claims {caplen[first]} bytes (limit {MAX_RECORD}); "
                    f"the remaining {end - position} bytes are not packets and were not read",
                )
            )
        else:
            problems.append(
                (
                    first + 1,
                    f"capture cut short inside this packet ({end - position - 16} of "
                    f"{caplen[first]} bytes present)",
                )
            )
    return starts[:first], header[:first]


def _chain(buffer: np.ndarray, order: str, end: int) -> np.ndarray:
    """Record offsets from byte 24, each the one before plus 16 and its caplen, unchecked.

    It stops when a caplen would be read past the end; the last offsets may be garbage.
    """
    if native.compiled is None:
        return np.asarray(_chain_python(buffer.data, order, end), dtype=np.int64)
    # Every record takes at least 16 bytes; pages of the array never written cost nothing.
    offsets = np.empty(max((end - 24) // 16 + 2, 1), dtype=np.int64)
    count = native.compiled.chain(buffer, offsets, 24, end, 8, 16, len(offsets), order == ">")
    return offsets[:count].copy()


def _chain_python(data: memoryview, order: str, end: int) -> list[int]:
    """``_chain`` as a Python loop."""
    if (order == "<") != (sys.byteorder == "little"):
        caplen_at = struct.Struct(order + "I").unpack_from
        offsets = []
        position = 24
        while position + 12 <= end:
            offsets.append(position)
            position += 16 + caplen_at(data, position + 8)[0]
        offsets.append(position)
        return offsets
    # The data as native 32-bit words at each alignment: the caplen at byte p + 8 is word
    # p // 4 + 2 of view p % 4. One index is cheaper than a struct call per packet.
    words = [data[shift : shift + (end - shift) // 4 * 4].cast("I") for shift in range(4)]
    offsets = []
    keep = offsets.append
    position = 24
    try:
        while True:
            keep(position)
            position += 16 + words[position & 3][(position >> 2) + 2]
    except IndexError:
        pass
    finally:
        for view in words:
            view.release()
    return offsets


def _walk_pcapng(buffer: np.ndarray, display: str) -> Records:
    walk = _PcapngWalk(buffer)
    walk.run()
    return _pcapng_records(buffer, walk)


class _PcapngWalk:
    """The blocks of a pcapng file in order: runs of packet blocks at once, any other one alone.

    Block offsets are chained from the lengths without checks, a few thousand at a time;
    then the blocks that need more than being kept (section and interface headers, other
    blocks, damaged or cut blocks) are found at once and handled one by one, as a plain
    per-block loop would, while the packet blocks between them are kept as arrays.
    """

    def __init__(self, buffer: np.ndarray) -> None:
        self.buffer = buffer
        self.data = buffer.data
        self.end = len(buffer)
        self.problems: list[tuple[int | None, str]] = []
        self.interfaces: list[Interface] = []
        self.section: list[int] = []  # indexes into ``interfaces`` of this section's interfaces
        self.order = PCAPNG_BYTE_ORDER[bytes(buffer[8:12])]
        self.skipped = 0
        self.kept = 0
        # Frames kept, packet blocks and custom blocks: (block offsets, block types, global
        # interfaces, byte order) per run.
        self.runs: list[tuple[np.ndarray, np.ndarray, np.ndarray, str]] = []

    def frames(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """Offsets, types and global interfaces (-1: none) of every frame kept, and which of
        them are in a section of the other byte order than the last one's (None: none are)."""
        if not self.runs:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty, None
        starts, kinds, interface, orders = zip(*self.runs, strict=True)
        other = [order != self.order for order in orders]
        swapped = np.repeat(other, [len(run) for run in starts]) if any(other) else None
        return np.concatenate(starts), np.concatenate(kinds), np.concatenate(interface), swapped

    def run(self) -> None:
        position: int | None = 0
        while position is not None:
            starts = _block_chain(self.buffer, self.order, position, self.end)
            head = gather(self.buffer, starts, 12)
            u32 = np.dtype(self.order + "u4")
            kinds = column(head, 0, u32).astype(np.int64)
            lengths = column(head, 4, u32).astype(np.int64)
            plain = (
                ((kinds == _EPB) | (kinds == _SPB) | (kinds == _OPB))
                & (starts + 12 <= self.end)
                & (lengths >= 12)
                & (lengths % 4 == 0)
                & (lengths <= MAX_BLOCK)
                & (starts + lengths <= self.end)
            )
            first = 0
            # Where the next chain starts, unless a block stops the walk or restarts the chain.
            position = int(starts[-1] + lengths[-1])
            for index in np.flatnonzero(~plain).tolist():
                self._keep(starts[first:index], kinds[first:index], head[first:index])
                first = index + 1
                following, rechain = self._block(int(starts[index]))
                if following is None or rechain:
                    position = following
                    break
            else:
                self._keep(starts[first:], kinds[first:], head[first:])

    def _keep(self, starts: np.ndarray, kinds: np.ndarray, head: np.ndarray) -> None:
        """Packet blocks of sound length, each kept if its interface is described."""
        if not len(starts):
            return
        local = np.where(
            kinds == _SPB,
            0,
            np.where(
                kinds == _OPB,
                column(head, 8, np.dtype(self.order + "u2")),
                column(head, 8, np.dtype(self.order + "u4")),
            ),
        ).astype(np.int64)
        described = local < len(self.section)
        if not described.all():
            before: np.ndarray = np.cumsum(described) - described
            for index in np.flatnonzero(~described).tolist():
                self.problems.append(
                    (
                        self.kept + int(before[index]) + 1,
                        f"packet names interface {local[index]}, which is not described",
                    )
                )
                self.skipped += 1
        section = np.asarray(self.section or [0], dtype=np.int64)
        self.runs.append(
            (starts[described], kinds[described], section[local[described]], self.order)
        )
        self.kept += int(described.sum())

    def _block(self, position: int) -> tuple[int | None, bool]:
        """One block that is no plain packet block: where the next starts (None: stop), and
        whether the byte order may have changed."""
        data, end = self.data, self.end
        if position + 12 > end:
            if position < end:
                self.problems.append(
                    (self.kept + 1, f"{end - position} stray bytes after the last block")
                )
            return None, False
        kind, length = struct.unpack_from(self.order + "II", data, position)
        section_header = kind == PCAPNG_SHB
        if section_header:
            magic = bytes(self.buffer[position + 8 : position + 12])
            if magic not in PCAPNG_BYTE_ORDER:
                self.problems.append(
                    (self.kept + 1, f"section header at byte {position} is damaged")
                )
                return None, False
            self.order = PCAPNG_BYTE_ORDER[magic]
            kind, length = struct.unpack_from(self.order + "II", data, position)
            self.section = []
        if length < 12 or length % 4 or length > MAX_BLOCK:
            self.problems.append(
                (
                    self.kept + 1,
                    f"block at byte {position} has an impossible length {length}; "
                    f"the rest of the file ({end - position} bytes) was not read",
                )
            )
            return None, False
        if position + length > end:
            self.problems.append(
                (
                    self.kept + 1,
                    f"capture cut short inside a block ({end - position} of {length} bytes)",
                )
            )
            self.skipped += kind in (_EPB, _SPB, _OPB)
            return None, False
        if kind in (_EPB, _SPB, _OPB):
            block = np.asarray([position], dtype=np.int64)
            self._keep(block, np.asarray([kind]), gather(self.buffer, block, 12))
        elif kind in _CUSTOM:
            # A frame with no packet and no interface: later frames keep Wireshark's numbers.
            block = np.asarray([position], dtype=np.int64)
            self.runs.append((block, np.asarray([kind]), np.asarray([-1]), self.order))
            self.kept += 1
        elif kind == _IDB:
            if length < IDB_MIN:
                self.problems.append(
                    (
                        self.kept + 1,
                        f"interface description block at byte {position} is {length} bytes, "
                        "too short for a link type and snaplen; the rest of the file "
                        f"({end - position} bytes) was not read",
                    )
                )
                return None, False
            interface, damage = _interface(data, self.order, position, length)
            if damage:
                self.problems.append((self.kept + 1, damage))
            self.section.append(len(self.interfaces))
            self.interfaces.append(interface)
        return position + length, section_header


def _block_chain(buffer: np.ndarray, order: str, position: int, end: int) -> np.ndarray:
    """Up to CHAIN_BLOCKS block offsets from ``position``, each the one before plus its length.

    Unchecked: it stops early where a length would be read past the end, offsets after a
    damaged block are garbage, and a zero length repeats an offset (the cap bounds that).
    """
    if native.compiled is None:
        return np.asarray(_block_chain_python(buffer.data, order, position, end), dtype=np.int64)
    offsets = np.empty(CHAIN_BLOCKS, dtype=np.int64)
    count = native.compiled.chain(buffer, offsets, position, end, 4, 0, CHAIN_BLOCKS, order == ">")
    return offsets[:count]


def _block_chain_python(data: memoryview, order: str, position: int, end: int) -> list[int]:
    """``_block_chain`` as a Python loop."""
    offsets: list[int] = []
    keep = offsets.append
    if (order == "<") != (sys.byteorder == "little"):
        length_at = struct.Struct(order + "I").unpack_from
        for _ in range(CHAIN_BLOCKS):
            keep(position)
            if position + 8 > end:
                break
            position += length_at(data, position + 4)[0]
        return offsets
    # Blocks start at multiples of 4 (until a damaged one): the length is word p // 4 + 1.
    words = data[: end // 4 * 4].cast("I")
    try:
        for _ in range(CHAIN_BLOCKS // 4):
            keep(position)
            position += words[(position >> 2) + 1]
            keep(position)
            position += words[(position >> 2) + 1]
            keep(position)
            position += words[(position >> 2) + 1]
            keep(position)
            position += words[(position >> 2) + 1]
    except IndexError:
        pass
    finally:
        words.release()
    return offsets


def _interface(
    data: memoryview, order: str, position: int, length: int
) -> tuple[Interface, str | None]:
    """An Interface Description Block of at least IDB_MIN bytes, all in the file: link type,
    snaplen, if_tsresol and if_tsoffset, and what is wrong with its options, if anything."""
    linktype, _, snaplen = struct.unpack_from(order + "HHI", data, position + 8)
    interface = Interface(linktype=linktype, snaplen=snaplen)
    option = position + 16
    stop = position + length - 4
    while option + 4 <= stop:
        code, size = struct.unpack_from(order + "HH", data, option)
        if code == 0:
            break
        if option + 4 + size > stop:
            return interface, (
                f"interface description block at byte {position}: option {code} claims {size} "
                "bytes, past the end of its block; it and any after it were ignored"
            )
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
    return interface, None


def _pcapng_records(buffer: np.ndarray, walk: _PcapngWalk) -> Records:
    starts, kinds, interface, swapped = walk.frames()
    interface = interface.astype(np.int32)
    interfaces, problems = walk.interfaces, walk.problems
    wide = gather(buffer, starts, 28 + PREFIX)
    header = wide[:, :28]
    u32 = np.dtype(walk.order + "u4")

    def field(at: int) -> np.ndarray:
        """The 32-bit field at byte ``at`` of every block, each in its own section's order."""
        values = column(header, at, u32)
        if swapped is not None:
            values[swapped] = values[swapped].byteswap()
        return values

    # Enhanced and obsolete packet blocks share the timestamp and length layout.
    simple = kinds == _SPB
    high = field(12).astype(np.uint64)
    low = field(16).astype(np.uint64)
    caplen = field(20).astype(np.int64)
    origlen = field(24).astype(np.int64)
    offset = starts + 28
    # Obsolete packet blocks keep the same fields behind a 16-bit interface id and drop count.
    block_length = field(4).astype(np.int64)
    # Simple packet blocks carry only the original length; what was captured fills the block.
    spb_origlen = field(8).astype(np.int64)
    snaplens = np.asarray([i.snaplen or MAX_RECORD for i in interfaces] or [0], dtype=np.int64)
    origlen = np.where(simple, spb_origlen, origlen)
    caplen = np.where(
        simple, np.minimum(np.minimum(spb_origlen, snaplens[interface]), block_length - 16), caplen
    )
    offset = np.where(simple, starts + 12, offset)
    # Frames with no packet (custom blocks) capture nothing.
    empty = np.flatnonzero(interface < 0)
    caplen[empty], origlen[empty], offset[empty] = 0, 0, starts[empty] + 12
    room = block_length - (offset - starts) - 4
    overlong = caplen > room
    if overlong.any():
        first = int(np.flatnonzero(overlong)[0]) + 1
        problems.append(
            (first, f"{int(overlong.sum())} packets claim more bytes than their block holds; cut")
        )
        caplen = np.minimum(caplen, np.maximum(room, 0))
    ticks = (high << np.uint64(32)) | low
    untimed = simple.copy()
    untimed[empty] = True
    ts_ns = _ticks_to_ns(ticks, interface, interfaces, untimed, problems)
    prefix = wide[:, 28:]
    # Simple packet blocks' data, and custom blocks' (none), start at byte 12, not 28.
    moved = simple | (interface < 0)
    if moved.any():
        prefix = prefix.copy()
        prefix[moved] = gather(buffer, offset[moved], PREFIX)
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
        skipped=walk.skipped,
        prefix=prefix,
    )


def _ticks_to_ns(
    ticks: np.ndarray,
    interface: np.ndarray,
    interfaces: list[Interface],
    untimed: np.ndarray,
    problems: list[tuple[int | None, str]],
) -> np.ndarray:
    """Timestamps in each interface's resolution → int64 nanoseconds; NO_TIME where
    ``untimed`` holds or the interface's if_tsoffset takes the time past int64 nanoseconds."""
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
        if described.offset_s:
            nanos = _shift(nanos, described.offset_s, untimed[rows], index, rows, problems)
        result[rows] = nanos
    result[untimed] = NO_TIME
    return result


def _shift(
    nanos: np.ndarray,
    offset_s: int,
    untimed: np.ndarray,
    index: int,
    rows: np.ndarray,
    problems: list[tuple[int | None, str]],
) -> np.ndarray:
    """``nanos`` plus an interface's if_tsoffset; NO_TIME (and a problem) where the sum would
    leave int64 nanoseconds, which numpy would wrap without a word."""
    offset_ns, bounds = offset_s * 1_000_000_000, np.iinfo(np.int64)
    if bounds.min < offset_ns <= bounds.max:
        shifted = nanos + offset_ns
        lost = (shifted < nanos) if offset_ns > 0 else (shifted > nanos)
    else:
        shifted, lost = nanos, np.ones(len(nanos), dtype=bool)
    lost &= ~untimed
    if lost.any():
        first = int(np.flatnonzero(rows)[np.flatnonzero(lost)[0]]) + 1
        problems.append(
            (
                first,
                f"interface {index} has an if_tsoffset of {offset_s} s, which puts "
                f"{int(lost.sum())} packet times outside the years 1677 to 2262; "
                "they are left without a time",
            )
        )
        shifted[lost] = NO_TIME
    return shifted


def gather(buffer: np.ndarray, starts: np.ndarray, width: int) -> np.ndarray:
    """Rows of ``width`` bytes from each start; bytes past the end of the file read as zero."""
    if native.compiled is not None:
        rows = np.empty((len(starts), width), dtype=np.uint8)
        native.compiled.gather(buffer, np.ascontiguousarray(starts, dtype=np.int64), rows, width)
        return rows
    return _gather_python(buffer, starts, width)


def _gather_python(buffer: np.ndarray, starts: np.ndarray, width: int) -> np.ndarray:
    """``gather`` with numpy."""
    if len(starts) == 0:
        return np.zeros((0, width), dtype=np.uint8)
    size = len(buffer)
    if size >= width:
        view = np.lib.stride_tricks.as_strided(
            buffer, shape=(size - width + 1, width), strides=(1, 1)
        )
        clipped = np.minimum(starts, size - width)
        rows: np.ndarray = view[clipped]
    else:
        rows = np.zeros((len(starts), width), dtype=np.uint8)
    late = np.flatnonzero(starts > size - width)
    for index in late.tolist():
        start = int(starts[index])
        piece = bytes(buffer[max(start, 0) : start + width])
        rows[index] = np.frombuffer(piece.ljust(width, b"\0"), dtype=np.uint8)
    return rows


def column(rows: np.ndarray, at: int, dtype: np.dtype) -> np.ndarray:
    """The integer of ``dtype`` at byte ``at`` of every row, in native byte order."""
    width = dtype.itemsize
    # Read through a strided view and converted once: cheaper than a copy of the bytes first.
    values = rows[:, at : at + width].view(dtype).reshape(-1)
    return values.astype(dtype.newbyteorder("="))
