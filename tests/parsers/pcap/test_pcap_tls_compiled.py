"""The compiled TLS stream (``_tls.c``) against ``TlsStream``, its reference.

On every input the compiled stream either gives exactly what ``TlsStream`` gives, feed after
feed, or raises ``Unusual`` (and the connection is dissected again in Python). It must never
let a problem through, and it must not give up on well-formed traffic.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.pcap import dissect, native
from parsers.pcap.tls import ClientHello, TlsConnection, TlsMessage, TlsStream
from sample_data.gen.certs import service_chain
from sample_data.gen.tls import (
    TLS12,
    TLS13,
    certificate_record,
    ext,
    handshake,
    records,
    server_hello_record,
    vec,
)
from tests.parsers.pcap import either_way
from tests.parsers.pcap.test_pcap_tls import (
    CCS,
    CONVERSATION,
    ENCRYPTED_FINISHED,
    HELLO_DONE,
    alert,
    app_data,
    bodies,
    hello,
    hello_body,
    hrr_record,
    server_flight,
    server_hello,
    u16s,
)

pytestmark = pytest.mark.skipif(native.tls is None, reason="parsers.pcap._tls was not built")

SAME, UNUSUAL = "same", "unusual"


def described(messages: list[TlsMessage]) -> list[tuple[object, ...]]:
    """Messages with their types, which tuple equality alone would not compare."""
    return [(type(m), m, type(m.detail)) for m in messages]


def agree(chunks: list[bytes]) -> str:
    """Feed one direction's ``chunks`` to both streams; SAME if the compiled one gave what
    TlsStream gave after every feed, UNUSUAL if it gave up (before any problem got past it)."""
    assert native.tls is not None
    reference, compiled = TlsStream(), native.tls.Stream()
    for frame, chunk in enumerate(chunks, start=3):
        expected = reference.feed(chunk, frame)
        try:
            got = compiled.feed(chunk, frame)
        except native.tls.Unusual:
            return UNUSUAL
        assert described(got) == described(expected)
        assert not any(m.kind == "problem" for m in expected)
        assert (compiled.done, compiled.last_app_frame, compiled.app_records) == (
            reference.done,
            reference.last_app_frame,
            reference.app_records,
        )
    return SAME


def cut(data: bytes, points: list[int]) -> list[bytes]:
    points = sorted({p % (len(data) + 1) for p in points})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


KEY_EXCHANGE = records(22, TLS12, handshake(16, vec(1, bytes(65))))
WELL_FORMED = {
    "tls12 client": hello("login.example.com")
    + KEY_EXCHANGE
    + CCS
    + ENCRYPTED_FINISHED
    + app_data(),
    "tls12 server": server_flight([b"leaf", b"ca"]) + CCS + ENCRYPTED_FINISHED + app_data(),
    "tls13 client": hello("a.example.com", (TLS12, TLS13), ["h2", "http/1.1"]) + CCS + app_data(),
    "tls13 server": server_hello(TLS13, 0x1302) + CCS + app_data(90) + app_data(),
    "hrr then hello": hrr_record() + CCS + server_hello(TLS13, 0x1302) + app_data(),
    "client retries": hello("b.example.com", (TLS13,)) + CCS + hello("b.example.com", (TLS13,)),
    "real chain": server_hello() + certificate_record(TLS12, service_chain()) + HELLO_DONE,
    "warning then fatal": server_flight([b"leaf"]) + alert(1, 112) + alert(2, 42),
    "encrypted alert": CCS + ENCRYPTED_FINISHED + alert(2, 42),
    "heartbeat": hello("c.example.com") + records(24, TLS12, b"\x01\x00\x10" + bytes(16)),
    "message across records": records(22, TLS12, bodies(server_flight([bytes(3000)]))[:700])
    + records(22, TLS12, bodies(server_flight([bytes(3000)]))[700:]),
    "sslv3 hello": records(
        22,
        0x0300,
        handshake(1, u16s(0x0300) + bytes(32) + b"\x00" + vec(2, u16s(0x000A)) + b"\x01\x00"),
    ),
    "grease everywhere": records(
        22,
        TLS12,
        handshake(
            1,
            hello_body(
                u16s(0x3A3A, 0x1301), ext(0x2A2A, b"") + ext(43, vec(1, u16s(0x5A5A, TLS13)))
            ),
        ),
    ),
    "only grease versions": records(
        22, TLS12, handshake(1, hello_body(u16s(0x1301), ext(43, vec(1, u16s(0x5A5A)))))
    ),
    "draft version": records(
        22, TLS12, handshake(1, hello_body(u16s(0x1301), ext(43, vec(1, u16s(0x7F17, TLS12)))))
    ),
    "sni not a host name": records(
        22, TLS12, handshake(1, hello_body(u16s(0x1301), ext(0, vec(2, b"\x01" + vec(2, b"x")))))
    )
    + CCS,
    "sni past ascii": records(
        22,
        TLS12,
        handshake(
            1, hello_body(u16s(0x1301), ext(0, vec(2, b"\x00" + vec(2, "é.example".encode()))))
        ),
    )
    + app_data(),
    "draft server hello": records(
        22, TLS12, handshake(2, u16s(0x7F12) + bytes(32) + u16s(0x1301) + vec(2, b""))
    ),
    "server hello without extensions": records(
        22, TLS12, handshake(2, u16s(TLS12) + bytes(32) + b"\x00" + u16s(0xC02F) + b"\x00")
    ),
    "unknown handshake kinds": records(
        22, TLS12, handshake(4, b"ticket") + handshake(200, b"") + handshake(13, b"req")
    ),
}


@pytest.mark.parametrize("name", WELL_FORMED)
def test_well_formed_directions_are_dissected_the_same_whole_and_byte_by_byte(name: str) -> None:
    data = WELL_FORMED[name]
    assert agree([data]) == SAME
    assert agree([data[i : i + 1] for i in range(len(data))]) == SAME


@settings(max_examples=300, deadline=None)
@given(
    name=st.sampled_from(sorted(WELL_FORMED)), points=st.lists(st.integers(0, 10**5), max_size=8)
)
def test_well_formed_directions_in_any_segments(name: str, points: list[int]) -> None:
    assert agree(cut(WELL_FORMED[name], points)) == SAME


@pytest.mark.parametrize(
    "data",
    [
        b"HTTP/1.1 400 Bad Request\r\n\r\n",  # not TLS
        CCS + b"\x09\x03\x03\x00\x00",  # bad record header
        b"\x16\x03\x03\x50\x00" + bytes(20),  # record longer than 2^14+2048
        records(22, TLS12, handshake(1, b"")[:3]) + app_data(),  # handshake cut by data
        records(22, TLS12, b"\x0b\x05\x00\x00"),  # a message over the reassembly cap
        records(22, TLS12, handshake(1, bytes(20))),  # a hello too short to read
        records(22, TLS12, handshake(2, bytes(20))),
        records(22, TLS12, handshake(11, b"\x00\x00\x09\x00\x00\x09")),  # chain overruns
        bytes([0x80, 0x2E, 0x01, 0x03, 0x01]) + bytes(0x2E - 3),  # SSLv2 framing
    ],
)
def test_what_tls_stream_would_report_makes_the_compiled_one_give_up(data: bytes) -> None:
    assert agree([data]) == UNUSUAL


@settings(max_examples=500, deadline=None)
@given(
    data=st.data(),
    mutations=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=6),
    noise=st.binary(max_size=600),
)
def test_mutated_conversations_agree_or_give_up(
    data: st.DataObject, mutations: list[tuple[int, int]], noise: bytes
) -> None:
    for payload in [*(payload for _, payload in CONVERSATION), *WELL_FORMED.values(), noise]:
        buffer = bytearray(payload)
        for where, value in mutations if buffer else ():
            buffer[where % len(buffer)] = value
        points = data.draw(st.lists(st.integers(0, len(buffer)), max_size=4))
        agree(cut(bytes(buffer), points))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000), st.integers(1, 200))
def test_random_bytes_agree_or_give_up(payload: bytes, size: int) -> None:
    agree([payload[i : i + size] for i in range(0, len(payload), size)])


def test_a_connection_of_compiled_streams_sums_up_the_same() -> None:
    assert native.tls is not None
    for connection in (TlsConnection(), TlsConnection(native.tls.Stream)):
        connection.feed(True, hello("login.example.com", (TLS12, TLS13)), 4)
        connection.feed(False, server_hello(TLS13, 0x1302) + CCS + app_data(), 5)
        connection.feed(True, CCS + app_data(), 7)
        summary = connection.summary()
        assert summary.established and summary.version == TLS13
        assert isinstance(summary.client_hello, ClientHello)
        assert summary.client_hello.sni == "login.example.com"


def test_the_stream_takes_no_arguments_and_gives_up_on_plain_http() -> None:
    assert native.tls is not None
    with pytest.raises(TypeError):
        native.tls.Stream(1)  # type: ignore[call-arg]
    stream = native.tls.Stream()
    assert stream.feed(b"", 3) == [] and not stream.done and stream.last_app_frame is None
    with pytest.raises(native.tls.Unusual):
        stream.feed(b"GET / HTTP/1.1\r\n", 4)


def tls_events(path: Path, compiled: bool) -> list[dict[str, object]]:
    return either_way.events(path, "pcap.tls", "tls", compiled)


def test_captures_give_the_same_tls_events_either_way(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every sample capture, dissected with and without the compiled stream; and the compiled
    stream took nearly every connection itself."""
    assert native.tls is not None
    outcomes: list[bool] = []  # per connection tried compiled: did it finish there?
    original = dissect._tls_connection

    def counting(flow, connection, segments, holes):  # type: ignore[no-untyped-def]
        if isinstance(connection.client, TlsStream):
            return original(flow, connection, segments, holes)
        try:
            rows = original(flow, connection, segments, holes)
        except native.tls.Unusual:
            outcomes.append(False)
            raise
        outcomes.append(True)
        return rows

    monkeypatch.setattr(dissect, "_tls_connection", counting)
    total = 0
    for path in either_way.sample_captures():
        expected = tls_events(path, compiled=False)
        total += len(expected)
        assert tls_events(path, compiled=True) == expected, path.name
    assert total > 0 and outcomes.count(True) >= 0.9 * len(outcomes), outcomes.count(False)


@pytest.mark.corpus
def test_corpus_captures_give_the_same_tls_events_either_way(corpus: Path) -> None:
    for path in either_way.corpus_captures(corpus):
        assert tls_events(path, compiled=True) == tls_events(path, compiled=False), path.name


def test_random_segmentations_of_a_generated_handshake_agree() -> None:
    chooser = random.Random(11)
    flight = server_hello_record(TLS12, 0xC02F, bytes(32), chooser) + certificate_record(
        TLS12, service_chain()
    )
    for _ in range(50):
        points = [chooser.randrange(len(flight) + 1) for _ in range(chooser.randrange(6))]
        assert agree(cut(flight, points)) == SAME
