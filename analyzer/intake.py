"""Safe bundle intake: directories, archives and compressed files into one flat file list.

Inputs are recognised by content (``analyzer.sniff``). Archive members are
streamed one by one into a private temporary directory under generated
names, with caps on sizes, compression ratio, member count and nesting, so a
hostile bundle (path traversal, links, bombs, truncation) yields refusals,
never an exception and never a write outside that directory. Plain files are
read where they are.
"""

from __future__ import annotations

import bz2
import dataclasses
import gzip
import io
import json
import lzma
import os
import re
import stat
import struct
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any, cast

import zstandard

from analyzer import sniff as content
from analyzer.archives import (
    CHUNK,
    dos_mtime,
    file_type,
    tar_end_problem,
    tar_special,
    zip_local_header,
    zip_special,
)
from analyzer.streams import (
    RATIO_FLOOR,
    CountingReader,
    LimitHit,
    RatioMeter,
    Readable,
    ZstdReader,
    bomb_reason,
    human_size,
)
from parsers.text import printable

MAX_META_BYTES = 1 << 20
META_KEYS = (
    "device_id", "user", "os", "os_version", "client", "client_version",
    "network", "region", "timezone", "collected_at",
)  # fmt: skip
NETWORKS = ("wired", "wifi", "cellular", "vpn")

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_COMPRESSED_SUFFIX = re.compile(r"\.(?:gz|tgz|zst|zstd|bz2|xz)$", re.I)
_DRIVE = re.compile(r"^[A-Za-z]:")
# What a corrupt or truncated archive or stream can raise while being read.
_DATA_ERRORS = (
    tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, lzma.LZMAError,
    zstandard.ZstdError, NotImplementedError, struct.error, ValueError, OSError,
)  # fmt: skip


@dataclass(frozen=True)
class IntakeLimits:
    """Caps that keep a hostile bundle from exhausting disk, memory or time."""

    max_total_bytes: int = 8 * 2**30  # all extracted/decompressed bytes together
    max_file_bytes: int = 2 * 2**30  # one extracted member or decompressed file
    max_ratio: float = 200.0  # uncompressed/compressed, checked once a member passes 1 MiB
    max_members: int = 50_000
    max_nesting: int = 1  # an archive inside an archive is opened; one inside that is refused


@dataclass(frozen=True)
class BundleFile:
    """One non-archive file of the bundle, ready for a parser."""

    path: Path
    display: str
    kind: str
    detail: str | None
    size: int
    mtime: float | None


@dataclass(frozen=True)
class Refusal:
    """Something in the bundle that was not taken, and why (one line)."""

    display: str
    reason: str


class IntakeError(Exception):
    """None of the given input paths exists or can be read."""


class Bundle:
    """The files found in the inputs; a context manager owning the extracted data."""

    def __init__(self, inputs: list[str], limits: IntakeLimits) -> None:
        self.inputs = inputs
        self.files: list[BundleFile] = []
        self.refused: list[Refusal] = []
        # Files kept although their stream broke off (truncated .gz, cut tar member): the
        # part read before the break is analysed, and the reason reported with it.
        self.damaged: list[Refusal] = []
        self.metadata: dict[str, Any] = {}
        self.metadata_source: str | None = None
        self.metadata_errors: list[str] = []
        self._limits = limits
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._written = 0  # bytes currently extracted to the temp dir
        self._members = 0
        self._names = 0
        self._seen: set[tuple[int, int]] = set()  # (device, inode) of files already taken
        self._meta: list[tuple[int, int, str, BundleFile]] = []  # (depth, input, display, file)
        self._input = 0

    @property
    def temp_dir(self) -> Path | None:
        """Return the directory holding extracted members, None if nothing was extracted."""
        return Path(self._tmp.name) if self._tmp is not None else None

    def close(self) -> None:
        """Remove the extracted members; the BundleFile paths inside become invalid."""
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Bundle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- host filesystem ---------------------------------------------------

    def _take_input(self, given: str) -> None:
        if os.path.isdir(given):
            self._walk(given)
        else:
            self._host_file(Path(given), given, 0)

    def _walk(self, root: str) -> None:
        """Walk a directory; links are followed after real files so real paths win duplicates."""
        root_real = os.path.realpath(root)
        visited: set[str] = set()
        trees: list[tuple[str, str, int]] = [(root, root, 0)]
        links: list[tuple[str, str, int]] = []
        while trees or links:
            if trees:
                self._walk_tree(*trees.pop(0), visited, links)
                continue
            link, shown, depth = links.pop(0)
            target = os.path.realpath(link)
            if not os.path.exists(target):
                self._refuse(shown, "broken symlink")
            elif os.path.commonpath([root_real, target]) != root_real:
                self._refuse(shown, f"symlink leaves the bundle (-> {target})")
            elif os.path.isdir(target):
                if target not in visited:
                    trees.append((link, shown, depth))
            else:
                self._host_file(Path(link), shown, depth)

    def _walk_tree(
        self, top: str, shown: str, depth: int, visited: set[str], links: list[tuple[str, str, int]]
    ) -> None:
        def on_error(exc: OSError) -> None:
            where = str(exc.filename or top)
            self._refuse(shown + where[len(top) :] if where.startswith(top) else where, _why(exc))

        for dirpath, dirnames, filenames in os.walk(top, onerror=on_error, followlinks=False):
            real = os.path.realpath(dirpath)
            if real in visited:
                dirnames.clear()
                continue
            visited.add(real)
            rel = os.path.relpath(dirpath, top)
            prefix = shown if rel == "." else os.path.join(shown, rel)
            level = depth + (0 if rel == "." else len(Path(rel).parts)) + 1
            dirnames.sort()
            for name in sorted({*dirnames, *filenames}):
                full = os.path.join(dirpath, name)
                if os.path.islink(full):
                    links.append((full, os.path.join(prefix, name), level))
                elif name in filenames:
                    self._host_file(Path(full), os.path.join(prefix, name), level)

    def _host_file(self, path: Path, display: str, depth: int) -> None:
        try:
            st = os.stat(path)
            if not stat.S_ISREG(st.st_mode):
                self._refuse(display, f"not a regular file ({file_type(st.st_mode)})")
                return
            if (st.st_dev, st.st_ino) in self._seen:
                return
            self._seen.add((st.st_dev, st.st_ino))
            sniffed = content.sniff(path)
        except OSError as exc:
            self._refuse(display, _why(exc))
            return
        if sniffed.kind in content.CONTAINER_KINDS:
            self._open_container(path, sniffed.kind, display, 0, st.st_mtime, depth)
        else:
            found = BundleFile(path, display, sniffed.kind, sniffed.detail, st.st_size, st.st_mtime)
            self._add(found, path.name, depth)

    # -- containers ----------------------------------------------------------

    def _open_container(
        self, path: Path, kind: str, display: str, level: int, mtime: float | None, depth: int
    ) -> None:
        """Open an archive or compressed file found at nesting ``level`` (0 = given directly)."""
        if kind == content.ZIP:
            self._read_zip(path, display, level, depth)
            return
        try:
            with open(path, "rb") as raw:
                if kind == content.TAR:
                    plain = CountingReader(raw)
                    self._read_tar(RatioMeter(plain, plain, float("inf")), display, level, depth)
                    return
                meter = self._decompress(raw, kind)
                head, broken = _read_head(meter)
                inner = content.sniff_bytes(head, complete=len(head) < content.SNIFF_BYTES)
                if inner.kind == content.TAR:  # a compressed tar is one archive, not two levels
                    raw.seek(0)
                    self._read_tar(self._decompress(raw, kind), display, level, depth)
                    return
                name = _COMPRESSED_SUFFIX.sub("", re.split(r"[!/\\]", display.rstrip("!"))[-1])
                shown = f"{display}!"
                self._take(meter, name, shown, level, mtime, depth, head=head, broken=broken)
        except LimitHit as hit:
            self._refuse(f"{display}!", hit.reason)
        except _DATA_ERRORS as exc:
            self._refuse(display, _broken(exc, None))

    def _decompress(self, raw: IO[bytes], kind: str) -> RatioMeter:
        source = CountingReader(raw)
        stream: Readable
        if kind == content.GZIP:
            stream = gzip.GzipFile(fileobj=source, mode="rb")
        elif kind == content.BZIP2:
            stream = bz2.BZ2File(source)
        elif kind == content.XZ:
            # Closed with the raw file it wraps.
            stream = lzma.LZMAFile(cast(IO[bytes], source))  # noqa: SIM115
        else:
            assert kind == content.ZSTD, kind
            stream = ZstdReader(source)
        return RatioMeter(stream, source, self._limits.max_ratio)

    def _read_zip(self, path: Path, display: str, level: int, depth: int) -> None:
        try:
            archive = zipfile.ZipFile(path)
        except _DATA_ERRORS as exc:
            self._scan_zip(path, display, level, depth, exc)
            return
        with archive:
            for info in archive.infolist():
                name = self._member_name(info.filename, display)
                if name is None or info.is_dir():
                    continue
                if not self._count_member(display):
                    break
                shown = f"{display}!{name}"
                mode = info.external_attr >> 16  # Unix mode bits, 0 from other systems
                if stat.S_IFMT(mode) not in (0, stat.S_IFREG):
                    self._refuse(shown, zip_special(mode))
                    continue
                try:
                    with archive.open(info) as src:
                        mtime = dos_mtime(info.date_time)
                        self._take(src, name, shown, level, mtime, depth, info.compress_size)
                except LimitHit as hit:
                    self._refuse(shown, hit.reason)
                except (*_DATA_ERRORS, RuntimeError) as exc:  # RuntimeError: encrypted
                    self._refuse(shown, f"cannot read member: {exc}")

    def _scan_zip(self, path: Path, display: str, level: int, depth: int, why: Exception) -> None:
        """Recover members of a zip whose central directory is unusable, from its local headers."""
        taken, stop = 0, ""
        try:
            with open(path, "rb") as f:
                while (info := zip_local_header(f)) is not None:
                    start = info.header_offset
                    if info.flag_bits & 0x09 or info.compress_size == 0xFFFFFFFF:
                        # Encrypted, sizes in a trailing data descriptor, or ZIP64: no safe way on.
                        stop = f"; cannot recover past {info.filename!r}"
                        break
                    name = self._member_name(info.filename, display)
                    if name is not None and not info.is_dir():
                        if not self._count_member(display):
                            return
                        shown, mtime = f"{display}!{name}", dos_mtime(info.date_time)
                        try:
                            src = zipfile.ZipExtFile(f, "r", info)
                            self._take(src, name, shown, level, mtime, depth, info.compress_size)
                            taken += 1
                        except LimitHit as hit:
                            self._refuse(shown, hit.reason)
                        except EOFError:
                            raise
                        except (*_DATA_ERRORS, RuntimeError) as exc:
                            self._refuse(shown, f"cannot read member: {exc}")
                    f.seek(start + info.compress_size)
        except EOFError:
            self._refuse(
                display, f"truncated archive: unexpected end of data after {taken} members"
            )
            return
        except OSError as exc:
            self._refuse(display, _why(exc))
            return
        self._refuse(display, f"corrupt archive ({why}); recovered {taken} members{stop}")

    def _read_tar(self, meter: RatioMeter, display: str, level: int, depth: int) -> None:
        taken = 0
        try:
            # Stream mode ("r|") reads members in order and never seeks.
            with tarfile.open(fileobj=cast(IO[bytes], meter), mode="r|") as archive:
                for member in archive:
                    name = self._member_name(member.name, display)
                    if name is None or member.isdir():
                        continue
                    if not self._count_member(display):
                        return
                    shown = f"{display}!{name}"
                    if member.issym() or member.islnk() or not member.isreg():
                        self._refuse(shown, tar_special(member))
                        continue
                    src = archive.extractfile(member)
                    if src is None:
                        continue
                    try:
                        self._take(src, name, shown, level, float(member.mtime), depth)
                        taken += 1
                    except LimitHit as hit:
                        if hit.fatal:
                            raise
                        self._refuse(shown, hit.reason)
                problem = tar_end_problem(archive)
                if problem:
                    self._refuse(display, f"{problem} after {taken} members")
        except LimitHit as hit:
            self._refuse(display, f"{hit.reason}; rest of the archive skipped")
        except _DATA_ERRORS as exc:
            self._refuse(display, _broken(exc, taken))

    # -- members ---------------------------------------------------------------

    def _take(
        self,
        src: Readable,
        name: str,
        display: str,
        level: int,
        mtime: float | None,
        depth: int,
        packed: int | None = None,
        head: bytes | None = None,
        broken: str | None = None,
    ) -> None:
        """Extract one member of a level-``level`` container and route it by its content.

        ``broken`` says the stream already broke off after ``head``: nothing more is read.
        """
        if head is None:
            head, broken = _read_head(src)
        base = PurePosixPath(name).name
        sniffed = content.sniff_bytes(head, name=base, complete=len(head) < content.SNIFF_BYTES)
        nested = sniffed.kind in content.CONTAINER_KINDS
        limit = self._limits.max_nesting
        if nested and level + 1 > limit:
            raise LimitHit(f"nested archive deeper than {limit} level{'s' * (limit != 1)}")
        path, problem = self._copy_out(src if broken is None else io.BytesIO(), head, base, packed)
        problem = broken or problem
        if problem:
            size = human_size(path.stat().st_size)
            reason = f"{problem}; the {size} read before it are kept"
            self.damaged.append(Refusal(printable(display), reason))
        member_depth = depth + len(PurePosixPath(name).parts)
        if nested:
            try:
                self._open_container(path, sniffed.kind, display, level + 1, mtime, member_depth)
            finally:
                self._discard(path)
            return
        found = BundleFile(path, display, sniffed.kind, sniffed.detail, path.stat().st_size, mtime)
        self._add(found, base, member_depth)

    def _copy_out(
        self, src: Readable, head: bytes, base: str, packed: int | None
    ) -> tuple[Path, str | None]:
        """Copy a stream into the temp dir, enforcing the caps on the bytes actually read.

        Returns the copy and, when the stream broke off after some data, why.
        """
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="loginlens-")
        self._names += 1
        dest = Path(self._tmp.name) / f"{self._names:06d}-{_SAFE_NAME.sub('_', base)[-80:]}"
        written = 0
        limits = self._limits
        try:
            with open(dest, "xb") as out:
                chunk = head
                while chunk:
                    written += len(chunk)
                    if written > limits.max_file_bytes:
                        raise LimitHit(
                            f"file exceeds the {human_size(limits.max_file_bytes)} limit"
                        )
                    if self._written + written > limits.max_total_bytes:
                        total = human_size(limits.max_total_bytes)
                        raise LimitHit(f"bundle exceeds the {total} limit for extracted data")
                    if packed is not None and written > RATIO_FLOOR:
                        ratio = written / max(packed, 1)
                        if ratio > limits.max_ratio:
                            raise LimitHit(bomb_reason(ratio, limits.max_ratio))
                    out.write(chunk)
                    try:
                        chunk = src.read(CHUNK)
                    except _DATA_ERRORS as exc:  # caps raise LimitHit, which is not caught here
                        problem = _broken(exc, None)
                        break
                else:
                    problem = None
        except BaseException:
            dest.unlink(missing_ok=True)
            raise
        self._written += written
        return dest, problem

    def _discard(self, path: Path) -> None:
        self._written -= path.stat().st_size
        path.unlink()

    def _member_name(self, raw: str, archive: str) -> str | None:
        """Return the member's normalised relative name, or None after refusing it."""
        norm = raw.replace("\\", "/")
        parts = [p for p in norm.split("/") if p not in ("", ".")]
        if norm.startswith("/") or _DRIVE.match(norm):
            self._refuse(f"{archive}!{raw}", f"absolute path in archive ({raw})")
        elif ".." in parts:
            self._refuse(f"{archive}!{raw}", f"path escapes the bundle ({raw})")
        elif parts:
            return "/".join(parts)
        return None

    def _count_member(self, archive: str) -> bool:
        self._members += 1
        if self._members <= self._limits.max_members:
            return True
        limit = self._limits.max_members
        self._refuse(archive, f"more than {limit} archive members in the bundle; rest skipped")
        return False

    # -- results ---------------------------------------------------------------

    def _add(self, found: BundleFile, name: str, depth: int) -> None:
        found = dataclasses.replace(found, display=printable(found.display))
        self.files.append(found)
        if name == content.BUNDLE_META_NAME:
            self._meta.append((depth, self._input, found.display, found))

    def _refuse(self, display: str, reason: str) -> None:
        self.refused.append(Refusal(printable(display), printable(reason)))

    def _finish(self) -> None:
        self.files.sort(key=lambda f: f.display)
        self.refused.sort(key=lambda r: r.display)
        for *_, found in sorted(self._meta, key=lambda m: m[:3]):
            doc = _load_meta(found)
            if isinstance(doc, str):
                self.metadata_errors.append(f"{found.display}: {doc}")
            elif self.metadata_source is None:
                self.metadata, self.metadata_source = doc, found.display
                self.metadata_errors.extend(f"{found.display}: {e}" for e in _check_meta(doc))
            else:
                self.metadata_errors.append(
                    f"{found.display}: another bundle.json, ignored (using {self.metadata_source})"
                )


def open_bundle(
    paths: Sequence[str | os.PathLike[str]], limits: IntakeLimits = IntakeLimits()
) -> Bundle:
    """Take in every path (directory, file, archive, compressed file) and return the Bundle.

    Bad input becomes ``Bundle.refused`` entries; raises IntakeError only when
    none of ``paths`` exists or can be read. Close the bundle (or use it as a
    context manager) to remove extracted data.
    """
    given = [os.fspath(p) for p in paths]
    readable = [p for p in given if os.path.exists(p) and os.access(p, os.R_OK)]
    if not readable:
        raise IntakeError(f"no readable input: {', '.join(given) or '(no paths given)'}")
    bundle = Bundle(given, limits)
    try:
        for index, path in enumerate(given):
            bundle._input = index
            if path in readable:
                bundle._take_input(path)
            else:
                missing = not os.path.exists(path)
                bundle._refuse(
                    path, "does not exist" if missing else "unreadable: permission denied"
                )
        bundle._finish()
    except BaseException:
        bundle.close()
        raise
    return bundle


def _load_meta(found: BundleFile) -> dict[str, Any] | str:
    """Return the parsed bundle.json, or why it cannot be used."""
    if found.kind != content.BUNDLE_META:
        return "not a JSON object"
    if found.size > MAX_META_BYTES:
        return f"larger than {human_size(MAX_META_BYTES)}, ignored"
    try:
        doc = json.loads(found.path.read_bytes().decode("utf-8-sig"))
    except (OSError, ValueError) as exc:
        return f"not valid JSON ({exc})"
    return doc if isinstance(doc, dict) else "not a JSON object"


def _check_meta(doc: dict[str, Any]) -> list[str]:
    """Return problems with the known keys; values are kept as they are.

    Time zone and collected_at are judged where they are used (the timeline).
    """
    problems = [f"{k} is not a string" for k in META_KEYS if not isinstance(doc.get(k, ""), str)]
    network = doc.get("network")
    if isinstance(network, str) and network not in NETWORKS:
        problems.append(f"network {network!r} is not one of {', '.join(NETWORKS)}")
    return problems


def _why(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "unreadable: permission denied"
    if isinstance(exc, FileNotFoundError):
        return "does not exist"
    return f"unreadable: {exc.strerror or exc}"


def _read_head(src: Readable) -> tuple[bytes, str | None]:
    """The first bytes of a stream for sniffing, and why it broke off if it did so early."""
    parts: list[bytes] = []
    size = 0
    try:
        while size < content.SNIFF_BYTES and (data := src.read(content.SNIFF_BYTES - size)):
            parts.append(data)
            size += len(data)
    except _DATA_ERRORS as exc:
        if not parts:
            raise
        return b"".join(parts), _broken(exc, None)
    return b"".join(parts), None


def _broken(exc: BaseException, taken: int | None) -> str:
    after = "" if taken is None else f" after {taken} members"
    if isinstance(exc, EOFError) or "unexpected end of data" in str(exc):
        return f"truncated archive: unexpected end of data{after}"
    return f"corrupt archive: {exc or type(exc).__name__}{after}"
