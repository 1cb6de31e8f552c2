"""Encoding detection and decoding."""

from __future__ import annotations

import pytest

from parsers.text import guess_encoding, read_lines

CHINESE = "登录失败，错误码 60020：当前网络不在可信IP范围内\n" * 40


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (b"plain ascii\n", "utf-8"),
        (b"\xef\xbb\xbfbom\n", "utf-8"),
        ("utf16\n".encode("utf-16-le"), "utf-16-le"),
        (b"\xff\xfe" + "utf16\n".encode("utf-16-le"), "utf-16-le"),
        (b"\xfe\xff" + "utf16\n".encode("utf-16-be"), "utf-16-be"),
        ("no bom big endian\n".encode("utf-16-be"), "utf-16-be"),
        (CHINESE.encode("gb18030"), "gb18030"),
        (CHINESE.encode("gbk"), "gb18030"),
        (CHINESE.encode("utf-8"), "utf-8"),
    ],
)
def test_guess_encoding(data: bytes, encoding: str) -> None:
    assert guess_encoding(data)[0] == encoding


def test_replacements_are_counted_but_not_literal_fffd() -> None:
    decoded = read_lines("ok \ufffd here\n".encode() + b"bad \xff\xfe\n")
    assert decoded.encoding == "utf-8"
    assert decoded.replaced == 2
    assert decoded.lines.to_list() == ["ok \ufffd here", "bad \ufffd\ufffd"]


def test_mostly_utf8_with_a_stray_byte_stays_utf8() -> None:
    data = (
        "2015-03-12T23:16:52.071:INFO:com.root:Response :\n" * 5
    ).encode() + b"<node>\xed\xb9\xa4??</node>\n"
    assert read_lines(data).encoding == "utf-8"


@pytest.mark.parametrize("noise", [b"", bytes(c for c in range(1, 32) if c not in (10, 13))])
def test_lines_keep_blanks_and_drop_line_endings(noise: bytes) -> None:
    # ``noise`` holds every candidate separator byte, forcing the slow path.
    data = b'a\r\n\r\n\nb "q\nc,d' + noise + b"\n  \n" + "中".encode() + b"\r\nlast"
    lines = read_lines(data).lines.to_list()
    assert lines == ["a", "", "", 'b "q', "c,d" + noise.decode(), "  ", "中", "last"]


def test_utf16_lines() -> None:
    lines = read_lines(b"\xff\xfe" + "一\r\n二\n".encode("utf-16-le")).lines.to_list()
    assert lines == ["一", "二"]


@pytest.mark.parametrize(
    "magic", [b"(\xb5/\xfd", b"\x1f\x8b\x08\x00", b"x\x01", b"x\x9c", b"x^", b"x\xda"]
)
def test_compression_magic_at_the_start_is_just_text(magic: bytes) -> None:
    decoded = read_lines(magic + b"rest\nsecond\n")
    assert decoded.lines.len() == 2
    assert decoded.lines[1] == "second"


def test_leading_blank_lines_are_kept() -> None:
    assert read_lines(b"\n\nfirst\n").lines.to_list() == ["", "", "first"]
