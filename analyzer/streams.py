"""Byte streams with limits: count what a decompressor reads, refuse bombs, read zstd safely."""

from __future__ import annotations

import io
from typing import Any, Protocol

import zstandard

# Below this many output bytes a ratio says nothing (tiny files compress absurdly well).
RATIO_FLOOR = 1 << 20
# zstd input is fed in slices this small so one call cannot inflate to more than ~32 MiB.
ZSTD_FEED = 1024


class LimitHit(Exception):
    """A cap was reached; ``fatal`` when the rest of the stream cannot be trusted."""

    def __init__(self, reason: str, fatal: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.fatal = fatal


class Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


class CountingReader:
    """Counts the compressed bytes a decompressor pulls from its source."""

    def __init__(self, raw: Readable) -> None:
        self._raw = raw
        self.count = 0

    def read(self, size: int = -1, /) -> bytes:
        data = self._raw.read(size)
        self.count += len(data)
        return data

    # Decompressors only seek to rewind, which intake never asks of them.
    def seekable(self) -> bool:
        return False

    def seek(self, offset: int, /) -> int:
        raise io.UnsupportedOperation("seek")


class RatioMeter:
    """Reads decompressed data, refusing output that outgrows the compressed input."""

    def __init__(self, stream: Readable, source: CountingReader, max_ratio: float) -> None:
        self._stream = stream
        self._source = source
        self._max_ratio = max_ratio
        self.produced = 0

    def read(self, size: int = -1, /) -> bytes:
        data = self._stream.read(size)
        self.produced += len(data)
        if self.produced > RATIO_FLOOR:
            ratio = self.produced / max(self._source.count, 1)
            if ratio > self._max_ratio:
                raise LimitHit(bomb_reason(ratio, self._max_ratio), fatal=True)
        return data


class ZstdReader:
    """Decompresses concatenated zstd frames; raises EOFError on a cut-off frame.

    zstandard's stream_reader stops silently at a truncated frame, so feed a
    decompressobj small slices instead: memory stays bounded and ``eof`` tells.
    """

    def __init__(self, source: Readable) -> None:
        self._source = source
        self._obj: Any = None
        self._pending = b""
        self._buf = b""
        self._pos = 0

    def read(self, size: int = -1, /) -> bytes:
        while self._pos >= len(self._buf):
            if not self._refill():
                return b""
        end = len(self._buf) if size < 0 else self._pos + size
        data = self._buf[self._pos : end]
        self._pos += len(data)
        return data

    def _refill(self) -> bool:
        chunk = self._pending or self._source.read(ZSTD_FEED)
        self._pending = b""
        if not chunk:
            if self._obj is not None and not self._obj.eof:
                raise EOFError("zstd stream ended before the end of its frame")
            return False
        if self._obj is None or self._obj.eof:
            self._obj = zstandard.ZstdDecompressor().decompressobj()
        self._buf, self._pos = self._obj.decompress(chunk), 0
        if self._obj.eof:
            self._pending = self._obj.unused_data
        return True


def bomb_reason(ratio: float, limit: float) -> str:
    return f"zip bomb: ratio {ratio:.0f}:1 exceeds {limit:g}:1"


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KiB", "MiB"):
        if value < 1024:
            return f"{value:.4g} {unit}"
        value /= 1024
    return f"{value:.4g} GiB"
