"""Secrets seen on the wire (plaintext HTTP) never reach any output of a capture."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

from analyzer.cli import main

SECRETS = (
    "S3CRETvalue123", "OAUTHCODE42", "STATE8x", "SESSIONCOOKIE99", "SIGNATUREabc",
    "REDIRCODE77", "ATOKEN55", "SETCOOKIE33", "dXNlcjpodW50ZXIy",
)  # fmt: skip
REQUEST = (
    b"GET /cgi-bin/gettoken?corpid=ww1&corpsecret=S3CRETvalue123&code=OAUTHCODE42&state=STATE8x"
    b" HTTP/1.1\r\nHost: qyapi.weixin.qq.com\r\nCookie: wwrtx.sid=SESSIONCOOKIE99\r\n"
    b"Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.SIGNATUREabc\r\n"
    b"Proxy-Authorization: Basic dXNlcjpodW50ZXIy\r\n\r\n"
)
RESPONSE = (
    b"HTTP/1.1 302 Found\r\nLocation: https://x.example/cb?code=REDIRCODE77&access_token=ATOKEN55"
    b"\r\nSet-Cookie: sid=SETCOOKIE33\r\nContent-Length: 0\r\n\r\n"
)


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    client, server = "10.0.0.2", "1.2.3.4"
    packets = [
        Ether() / IP(src=client, dst=server) / TCP(sport=5000, dport=80, flags="S", seq=99),
        Ether() / IP(src=server, dst=client) / TCP(sport=80, dport=5000, flags="SA", seq=499),
        Ether()
        / IP(src=client, dst=server)
        / TCP(sport=5000, dport=80, flags="PA", seq=100)
        / REQUEST,
        Ether()
        / IP(src=server, dst=client)
        / TCP(sport=80, dport=5000, flags="PA", seq=500)
        / RESPONSE,
    ]
    for number, packet in enumerate(packets):
        packet.time = 1_700_000_000 + number
    path = tmp_path_factory.mktemp("wire") / "login.pcap"
    wrpcap(str(path), packets)
    return path


def _leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_no_secret_in_event_exports(capture: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"events.{fmt}"
    result = CliRunner().invoke(main, ["events", str(capture), "--format", fmt, "-o", str(out)])
    assert result.exit_code == 0, result.output
    data = out.read_bytes().decode("latin-1")
    assert "http-response" in data  # the exchange was dissected
    assert not _leaks(data)


@pytest.mark.parametrize("fmt", ["text", "json", "md", "html"])
def test_no_secret_in_reports(capture: Path, fmt: str) -> None:
    result = CliRunner().invoke(main, ["analyze", str(capture), "--format", fmt])
    assert result.exit_code == 0
    assert not _leaks(result.stdout)


def test_no_redact_keeps_them(capture: Path) -> None:
    """The switch exists, so the test above can fail."""
    result = CliRunner().invoke(
        main, ["events", str(capture), "--format", "jsonl", "-o", "-", "--no-redact"]
    )
    assert {"OAUTHCODE42", "REDIRCODE77", "ATOKEN55"} <= set(_leaks(result.stdout))
