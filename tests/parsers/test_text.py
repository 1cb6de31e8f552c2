"""Encoding detection and decoding."""

from __future__ import annotations

import pytest

from parsers.text import decode, guess_encoding

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


def test_decode_counts_replacements_but_not_literal_fffd() -> None:
    decoded = decode("ok \ufffd here\n".encode() + b"bad \xff\xfe\n")
    assert decoded.encoding == "utf-8"
    assert decoded.replaced == 2
    assert decoded.text.startswith("ok \ufffd here")


def test_mostly_utf8_with_a_stray_byte_stays_utf8() -> None:
    data = (
        "2015-03-12T23:16:52.071:INFO:com.root:Response :\n" * 5
    ).encode() + b"<node>\xed\xb9\xa4??</node>\n"
    assert decode(data).encoding == "utf-8"
