"""TCP streams are dissected in sequence order: out-of-order segments wait for the hole
before them, retransmissions are dropped, overlaps trimmed, and bytes the capture lacks
stop that side's dissection with a reason and a frame number."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from scapy.packet import Packet
from scapy.utils import wrpcap

from parsers.pcap.capture import parse_capture

CLIENT, SERVER = "10.0.0.2", "93.184.216.34"
REQUEST = b"GET /login HTTP/1.1\r\nHost: example.com\r\n\r\n"
BODY = b"x" * 60
RESPONSE = (
    b"HTTP/1.1 403 Forbidden\r\nServer: nginx\r\nContent-Length: 60\r\n\r\n" + BODY
    + b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
)  # fmt: skip


def _packet(from_client: bool, seq: int, data: bytes = b"", flags: str = "PA") -> Packet:
    src, dst, sport, dport = (
        (CLIENT, SERVER, 50000, 80) if from_client else (SERVER, CLIENT, 80, 50000)
    )
    return (
        Ether() / IP(src=src, dst=dst) / TCP(sport=sport, dport=dport, flags=flags, seq=seq) / data
    )


def _capture(tmp_path: Path, server_pieces: list[tuple[int, bytes]]) -> pl.DataFrame:
    """A handshake, one request (answered twice over keep-alive), then the server's
    segments as (offset into RESPONSE, bytes) in the order given."""
    packets = [
        _packet(True, 999, flags="S"),
        _packet(False, 4999, flags="SA"),
        _packet(True, 1000, flags="A"),
        _packet(True, 1000, REQUEST),
        _packet(True, 1000 + len(REQUEST), REQUEST),
    ]
    packets += [_packet(False, 5000 + offset, data) for offset, data in server_pieces]
    for number, packet in enumerate(packets):
        packet.time = 1_700_000_000 + number / 100
    path = tmp_path / "flow.pcap"
    wrpcap(str(path), packets)
    events, _ = parse_capture(path, path.name)
    return events.filter(pl.col("event.action").str.starts_with("http"))


def _rows(events: pl.DataFrame) -> list[tuple[str, int | None, int]]:
    """(action, status, frame), in frame order."""
    columns = events.select("event.action", "http.response.status_code", "loginlens.record")
    return sorted(columns.iter_rows(), key=lambda row: row[2])


def test_in_order_stream_gives_both_responses(tmp_path: Path) -> None:
    events = _capture(tmp_path, [(0, RESPONSE[:70]), (70, RESPONSE[70:])])
    assert _rows(events) == [("http-response", 403, 6), ("http-response", 200, 7)]


def test_out_of_order_segment_waits_for_the_hole_before_it(tmp_path: Path) -> None:
    """The second half, with the 200's status line, arrives first (frame 6); the first half
    fills the hole (frame 7). Read in frame order the stream would start mid-body."""
    events = _capture(tmp_path, [(70, RESPONSE[70:]), (0, RESPONSE[:70])])
    assert _rows(events) == [("http-response", 200, 6), ("http-response", 403, 7)]


def test_retransmission_and_overlap_are_not_read_twice(tmp_path: Path) -> None:
    """A full retransmission of the first segment and a segment overlapping it by 30 bytes."""
    events = _capture(
        tmp_path,
        [(0, RESPONSE[:70]), (0, RESPONSE[:70]), (40, RESPONSE[40:]), (70, RESPONSE[70:])],
    )
    assert _rows(events) == [("http-response", 403, 6), ("http-response", 200, 8)]
    assert events.filter(pl.col("event.action") == "http-error").height == 0


def test_bytes_missing_from_the_capture_are_reported_not_misread(tmp_path: Path) -> None:
    """Bytes 70-99 were never captured: the second response cannot be found, and the event
    says why instead of reading body bytes as a status line."""
    events = _capture(tmp_path, [(0, RESPONSE[:70]), (100, RESPONSE[100:])])
    assert _rows(events) == [
        ("http-request", None, 5),  # the second request, left without a response
        ("http-response", 403, 6),
        ("http-error", None, 7),
    ]
    problem = events.filter(pl.col("event.action") == "http-error").row(0, named=True)
    assert problem["loginlens.record"] == 7
    assert (
        "30 bytes of the server's stream missing from the capture before frame 7"
        in (problem["message"])
    )
