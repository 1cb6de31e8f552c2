"""Content sniffing: every kind, every text encoding, and no crash on arbitrary bytes."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import random
import tarfile
import zipfile
from pathlib import Path

import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzer.sniff import KINDS, SNIFF_BYTES, Sniffed, sniff, sniff_bytes

LOG_TEXT = "[I][2025-05-31 +8.0 10:01:49.123][1, 2*][login][a.cc, f, 3][登录失败 errcode=60020\n"
GB_TEXT = "2025-05-31 10:01:49 登录失败，错误码 60020，请检查网络连接\n"


def _write(tmp_path: Path, data: bytes, name: str = "input") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("app.log", LOG_TEXT)
    return buf.getvalue()


def _tar_bytes() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        info = tarfile.TarInfo("app.log")
        data = LOG_TEXT.encode()
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _har(entries: int) -> bytes:
    entry = {"request": {"method": "GET", "url": "https://example.com/"}, "response": {}}
    doc = {"log": {"version": "1.2", "creator": {"name": "x"}, "entries": [entry] * entries}}
    return json.dumps(doc, indent=2).encode()


PCAP_HEADER_TAIL = b"\x02\x00\x04\x00" + b"\x00" * 12


@pytest.mark.parametrize(
    ("data", "kind", "detail"),
    [
        (b"\xd4\xc3\xb2\xa1" + PCAP_HEADER_TAIL, "pcap", "little-endian, microsecond"),
        (b"\xa1\xb2\xc3\xd4" + PCAP_HEADER_TAIL, "pcap", "big-endian, microsecond"),
        (b"\x4d\x3c\xb2\xa1" + PCAP_HEADER_TAIL, "pcap", "little-endian, nanosecond"),
        (b"\xa1\xb2\x3c\x4d" + PCAP_HEADER_TAIL, "pcap", "big-endian, nanosecond"),
        (b"\x0a\x0d\x0d\x0a\x1c\x00\x00\x00\x4d\x3c\x2b\x1a" + b"\x00" * 16, "pcapng", None),
        (b"\x0a\x0d\x0d\x0a\x00\x00\x00\x1c\x1a\x2b\x3c\x4d" + b"\x00" * 16, "pcapng", None),
        (gzip.compress(LOG_TEXT.encode()), "gzip", None),
        (zstandard.ZstdCompressor().compress(LOG_TEXT.encode()), "zstd", None),
        (bz2.compress(LOG_TEXT.encode()), "bzip2", None),
        (bz2.compress(b""), "bzip2", None),
        (lzma.compress(LOG_TEXT.encode()), "xz", None),
        (_zip_bytes(), "zip", None),
        (b"PK\x05\x06" + b"\x00" * 18, "zip", "empty archive"),
        (_tar_bytes(), "tar", None),
        (b"", "empty", None),
    ],
)
def test_magic_kinds(tmp_path: Path, data: bytes, kind: str, detail: str | None) -> None:
    result = sniff(_write(tmp_path, data))
    assert result.kind == kind
    if detail is not None or kind == "pcap":
        assert result.detail == detail


def test_pcapng_byte_order_is_in_detail(tmp_path: Path) -> None:
    little = b"\x0a\x0d\x0d\x0a\x1c\x00\x00\x00\x4d\x3c\x2b\x1a" + b"\x00" * 16
    assert sniff(_write(tmp_path, little)).detail == "little-endian"


def test_pcapng_magic_without_byte_order_magic_is_not_pcapng(tmp_path: Path) -> None:
    data = b"\x0a\x0d\x0d\x0a" + bytes(range(200, 256)) * 4
    assert sniff(_write(tmp_path, data)).kind == "binary"


def test_name_never_decides(tmp_path: Path) -> None:
    # A capture called .log and a log called .pcap.
    assert sniff(_write(tmp_path, b"\xd4\xc3\xb2\xa1" + PCAP_HEADER_TAIL, "x.log")).kind == "pcap"
    assert sniff(_write(tmp_path, LOG_TEXT.encode(), "x.pcap.gz")).kind == "log"


def test_text_starting_with_bzh_is_a_log(tmp_path: Path) -> None:
    assert sniff(_write(tmp_path, b"BZh is not a compressor here\n" * 3)).kind == "log"


@pytest.mark.parametrize("size", [3, 5000])
def test_har(tmp_path: Path, size: int) -> None:
    data = _har(size)
    assert (len(data) > SNIFF_BYTES) == (size > 100)
    assert sniff(_write(tmp_path, data)) == Sniffed("har", "utf-8")


def test_compact_har_with_bom(tmp_path: Path) -> None:
    data = b"\xef\xbb\xbf" + json.dumps({"log": {"version": "1.2", "entries": []}}).encode()
    assert sniff(_write(tmp_path, data)).kind == "har"


def test_netlog_constants_first(tmp_path: Path) -> None:
    data = b'{"constants": {"logEventTypes": {"REQUEST_ALIVE": 1}},\n"events": [\n'
    data += b'{"phase": 1, "source": {"id": 1, "type": 1}, "time": "1", "type": 1},\n' * 3000
    assert len(data) > SNIFF_BYTES  # a cut-off document is still recognised
    assert sniff(_write(tmp_path, data)).kind == "netlog"


def test_netlog_events_first(tmp_path: Path) -> None:
    event = {"phase": 1, "source": {"id": 1, "type": 1}, "time": "1", "type": 1}
    data = json.dumps({"events": [event] * 2000, "constants": {}}).encode()
    assert len(data) > SNIFF_BYTES
    assert sniff(_write(tmp_path, data)).kind == "netlog"


def test_json_lines_are_logs_even_with_log_fields(tmp_path: Path) -> None:
    record = {"@timestamp": "2025-05-31T10:01:49Z", "log": {"level": "error"}, "message": "x"}
    record["ecs"] = {"version": "8.0"}
    data = "\n".join(json.dumps(record) for _ in range(5)).encode()
    assert sniff(_write(tmp_path, data)) == Sniffed("log", "utf-8")


def test_bundle_meta_only_by_its_name(tmp_path: Path) -> None:
    data = json.dumps({"user": "alice", "timezone": "Asia/Shanghai"}).encode()
    assert sniff(_write(tmp_path, data, "bundle.json")) == Sniffed("bundle_meta", None)
    assert sniff(_write(tmp_path, data, "other.json")).kind == "log"


def test_broken_bundle_meta_says_why(tmp_path: Path) -> None:
    result = sniff(_write(tmp_path, b'{"user": "alice",', "bundle.json"))
    assert result.kind == "bundle_meta"
    assert result.detail is not None and result.detail.startswith("not valid JSON")


def test_bundle_json_that_is_not_an_object_is_not_metadata(tmp_path: Path) -> None:
    assert sniff(_write(tmp_path, b"[1, 2, 3]\n", "bundle.json")).kind == "log"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (LOG_TEXT.encode() * 10, "utf-8"),
        (b"\xef\xbb\xbf" + LOG_TEXT.encode() * 10, "utf-8 (BOM)"),
        (LOG_TEXT.encode("utf-16") * 1, "utf-16-le (BOM)"),  # Python writes the native (LE) BOM
        (b"\xff\xfe" + (LOG_TEXT * 10).encode("utf-16-le"), "utf-16-le (BOM)"),
        (b"\xfe\xff" + (LOG_TEXT * 10).encode("utf-16-be"), "utf-16-be (BOM)"),
        ((LOG_TEXT * 10).encode("utf-16-le"), "utf-16-le"),
        ((LOG_TEXT * 10).encode("utf-16-be"), "utf-16-be"),
        ((GB_TEXT * 20).encode("gb18030"), "gb18030"),
        ((GB_TEXT * 20).encode("gbk"), "gb18030"),
        (b"\x1b[31mERROR\x1b[0m login failed\r\n" * 10, "utf-8"),
    ],
)
def test_text_encodings(tmp_path: Path, data: bytes, encoding: str) -> None:
    result = sniff(_write(tmp_path, data))
    assert result == Sniffed("log", encoding)
    codec = (
        encoding.removesuffix(" (BOM)")
        .replace("utf-8", "utf-8-sig")
        .replace("-le", "")
        .replace("-be", "")
        if "BOM" in encoding
        else encoding
    )
    assert "60020" in data.decode(codec) or "ERROR" in data.decode(codec)


def test_utf8_cut_mid_character_at_the_sample_edge(tmp_path: Path) -> None:
    data = ("日" * (SNIFF_BYTES // 3 + 10)).encode()  # the 64 KiB sample ends inside a character
    assert sniff(_write(tmp_path, data)) == Sniffed("log", "utf-8")


def test_binary_garbage(tmp_path: Path) -> None:
    data = random.Random(20250531).randbytes(8192)
    result = sniff(_write(tmp_path, data))
    assert result.kind == "binary"
    assert result.detail is not None and result.detail.startswith("no known magic; ")


def test_mostly_nul_is_binary(tmp_path: Path) -> None:
    assert sniff(_write(tmp_path, b"\x00" * 4096)).kind == "binary"


MAGIC_PREFIXES = [b"", b"\x1f\x8b", b"PK\x03\x04", b"\xd4\xc3\xb2\xa1", b"\x0a\x0d\x0d\x0a", b"{"]
MAGIC_PREFIXES += [b'{"log": {', b'{"constants": {', b"\xff\xfe", b"\xef\xbb\xbf", b"BZh9"]


# One file in tmp_path is rewritten per example, so the function-scoped fixture is fine.
@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(prefix=st.sampled_from(MAGIC_PREFIXES), body=st.binary(max_size=3000))
def test_sniff_never_raises(tmp_path: Path, prefix: bytes, body: bytes) -> None:
    result = sniff(_write(tmp_path, prefix + body, "bundle.json" if body[:1] == b"x" else "f"))
    assert result.kind in KINDS
    assert sniff_bytes(prefix + body, complete=False).kind in KINDS


def test_a_sample_bundles_expected_verdict_is_not_evidence() -> None:
    verdict = b'{"status": "failure", "causes": ["network.dns_failure"], "notes": ""}'
    assert sniff_bytes(verdict, name="expected.json").kind == "expected_verdict"
    # Only that name and that shape: anything else is read as the JSON it is.
    assert sniff_bytes(verdict, name="verdict.json").kind == "log"
    assert sniff_bytes(b'{"status": "ok"}', name="expected.json").kind == "log"
