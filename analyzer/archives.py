"""Low-level archive helpers: zip local headers, DOS times, tar endings, link and device types."""

from __future__ import annotations

import os
import stat
import struct
import tarfile
import time
import zipfile
from typing import IO

CHUNK = 1 << 20


def tar_end_problem(archive: tarfile.TarFile) -> str | None:
    """Say why a tar stream stopped early, or None if it ended with its zero blocks.

    tarfile ends iteration silently at a cut-off or garbled header after the
    first one, so look at where the stream stopped and what follows.
    """
    stream = archive.fileobj
    if stream.tell() < archive.offset + tarfile.BLOCKSIZE:
        return "truncated archive: unexpected end of data"
    while chunk := stream.read(CHUNK):
        if chunk.strip(b"\0"):
            return "corrupt archive: invalid header"
    return None


def zip_local_header(f: IO[bytes]) -> zipfile.ZipInfo | None:
    """Read one zip local file header; None at anything else. EOFError when cut short."""
    header = f.read(30)
    if len(header) < 30:
        raise EOFError("end of data inside a local header")
    if header[:4] != b"PK\x03\x04":
        return None  # the central directory (unreadable, or we would not be here) or garbage
    flags, method, tm, date, crc, packed, size, n_name, n_extra = struct.unpack(
        "<4x2x4H3L2H", header
    )
    name = f.read(n_name).decode("utf-8" if flags & 0x800 else "cp437", "replace")
    f.seek(n_extra, os.SEEK_CUR)
    info = zipfile.ZipInfo(name, dos_date_time(date, tm))
    info.compress_type, info.compress_size, info.file_size = method, packed, size
    info.CRC, info.flag_bits, info.header_offset = crc, flags, f.tell()  # offset of the data
    return info


def dos_date_time(date: int, tm: int) -> tuple[int, int, int, int, int, int]:
    return (date >> 9) + 1980, (date >> 5) & 15, date & 31, tm >> 11, (tm >> 5) & 63, (tm & 31) * 2


def dos_mtime(date_time: tuple[int, int, int, int, int, int]) -> float | None:
    # Zip stores local time without a zone; good enough for inferring a log's year.
    try:
        return time.mktime((*date_time, 0, 0, -1))
    except (OverflowError, ValueError):
        return None


def zip_special(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "symlink in archive"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device file in archive"
    return "special file in archive"


def tar_special(member: tarfile.TarInfo) -> str:
    if member.issym():
        return f"symlink in archive (-> {member.linkname})"
    if member.islnk():
        return f"hard link in archive (-> {member.linkname})"
    if member.ischr() or member.isblk():
        return "device file in archive"
    return "special file in archive"


def file_type(mode: int) -> str:
    kinds = {"p": "FIFO", "s": "socket", "c": "character device", "b": "block device"}
    return kinds.get(stat.filemode(mode)[0], "special file")
