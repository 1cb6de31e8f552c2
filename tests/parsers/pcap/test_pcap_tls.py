"""TLS dissector: records across segments, messages across records, hostile bytes, real captures."""

from __future__ import annotations

import heapq
import random
import re
import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.pcap import tls as tls_module
from parsers.pcap.certs import parse_certificate
from parsers.pcap.tls import (
    HRR_RANDOM,
    MAX_BUFFER,
    Alert,
    Certificates,
    ClientHello,
    ServerHello,
    TlsConnection,
    TlsError,
    TlsMessage,
    TlsStream,
    looks_like_tls,
    parse_certificates,
    parse_client_hello,
    parse_server_hello,
)
from parsers.pcap.tls_names import alert_name, cipher_name, is_grease, version_name
from sample_data.gen.certs import service_chain
from sample_data.gen.tls import (
    CIPHERS_MODERN,
    CIPHERS_TLS12,
    TLS10,
    TLS12,
    TLS13,
    certificate_record,
    client_hello_record,
    ext,
    handshake,
    records,
    server_hello_record,
    server_key_exchange_record,
    vec,
)

KINDS = {"client_hello", "server_hello", "certificate", "alert", "change_cipher_spec", "application_data", "encrypted_handshake", "handshake_other", "problem"}  # fmt: skip
CCS = records(20, TLS12, b"\x01")
HELLO_DONE = records(22, TLS12, handshake(14, b""))
ENCRYPTED_FINISHED = records(22, TLS12, bytes(40))


def rng() -> random.Random:
    return random.Random(7)


def alert(level: int, description: int) -> bytes:
    return records(21, TLS12, bytes([level, description]))


def app_data(size: int = 40) -> bytes:
    return records(23, TLS12, bytes(size))


def u16s(*values: int) -> bytes:
    return b"".join(v.to_bytes(2, "big") for v in values)


def bodies(data: bytes) -> bytes:
    """The payloads of consecutive records, headers dropped."""
    out, pos = b"", 0
    while pos < len(data):
        (length,) = struct.unpack_from("!H", data, pos + 3)
        out, pos = out + data[pos + 5 : pos + 5 + length], pos + 5 + length
    return out


def hello_body(suites: bytes, extensions: bytes, version: int = TLS12) -> bytes:
    return u16s(version) + bytes(32) + vec(1, bytes(32)) + vec(2, suites) + b"\x01\x00" + vec(2, extensions)  # fmt: skip


def hello(sni: str | None = None, versions: tuple[int, ...] = (TLS12,), alpn: list[str] | None = None) -> bytes:  # fmt: skip
    ciphers = CIPHERS_MODERN if TLS13 in versions else CIPHERS_TLS12
    return client_hello_record(sni, list(versions), ciphers, alpn, rng())


def server_hello(version: int = TLS12, cipher: int = 0xC02F) -> bytes:
    return server_hello_record(version, cipher, bytes(32), rng())


def server_flight(chain: list[bytes]) -> bytes:
    rest = certificate_record(TLS12, chain) + server_key_exchange_record(TLS12, rng())
    return server_hello() + rest + HELLO_DONE


def hrr_record(cipher: int = 0x1302) -> bytes:
    extensions = ext(51, u16s(0x0017)) + ext(43, u16s(TLS13))
    body = u16s(TLS12) + HRR_RANDOM + vec(1, bytes(32)) + u16s(cipher) + b"\x00" + vec(2, extensions)  # fmt: skip
    return records(22, TLS12, handshake(2, body))


def tls12_handshake(conn: TlsConnection) -> None:
    """A full TLS 1.2 handshake, frames 4 to 12."""
    conn.feed(True, hello("login.example.com"), 4)
    conn.feed(False, server_flight([b"leaf", b"ca"]), 6)
    key_exchange = records(22, TLS12, handshake(16, vec(1, bytes(65))))
    conn.feed(True, key_exchange + CCS + ENCRYPTED_FINISHED, 8)
    conn.feed(False, CCS + ENCRYPTED_FINISHED, 10)
    conn.feed(True, app_data(), 12)


def trace(messages: list[TlsMessage]) -> list[tuple[str, int, int]]:
    return [(m.kind, m.frame, m.first_frame) for m in messages]


# ---------------------------------------------------------------- reassembly


@pytest.mark.parametrize("cuts", [(3, 100), (1, 2), (4, 5), (5, 6)])
def test_client_hello_split_across_three_segments(cuts: tuple[int, int]) -> None:
    record = hello("login.example.com", (TLS12, TLS13), ["h2", "http/1.1"])
    stream = TlsStream()
    assert stream.feed(record[: cuts[0]], 4) == stream.feed(record[cuts[0] : cuts[1]], 5) == []
    [message] = stream.feed(record[cuts[1] :], 7)
    assert trace([message]) == [("client_hello", 7, 4)]
    assert message.detail == ClientHello(
        record_version=TLS10,
        legacy_version=TLS12,
        versions=(TLS13, TLS12),
        sni="login.example.com",
        alpn=("h2", "http/1.1"),
        cipher_suites=CIPHERS_MODERN,
        size=len(record) - 5,
    )
    assert message.detail.max_version == TLS13


def test_several_handshake_messages_in_one_record() -> None:
    messages = TlsStream().feed(records(22, TLS12, bodies(server_flight([b"leaf", b"ca"]))), 6)
    assert [m.kind for m in messages] == ["server_hello", "certificate"] + ["handshake_other"] * 2
    assert {(m.frame, m.first_frame) for m in messages} == {(6, 6)}
    assert messages[1].detail == Certificates((b"leaf", b"ca"))
    assert [m.detail for m in messages[2:]] == ["server_key_exchange", "server_hello_done"]


def test_handshake_message_across_two_records() -> None:
    chain = service_chain()
    message, done = bodies(certificate_record(TLS12, chain)), handshake(14, b"")
    half = len(message) // 2
    stream = TlsStream()
    # Record 1: half the Certificate. Record 2: the rest and half of ServerHelloDone. Record 3.
    assert stream.feed(records(22, TLS12, message[:half]), 10) == []
    [certificate] = stream.feed(records(22, TLS12, message[half:] + done[:2]), 11)
    [hello_done] = stream.feed(records(22, TLS12, done[2:]), 12)
    assert trace([certificate, hello_done]) == [
        ("certificate", 11, 10),
        ("handshake_other", 12, 11),
    ]
    assert certificate.detail == Certificates(tuple(chain))


def test_record_spanning_segments_reports_first_and_last_frame() -> None:
    flight = server_hello() + certificate_record(TLS12, [bytes(3000)])
    one_record = records(22, TLS12, bodies(flight))
    stream = TlsStream()
    assert stream.feed(one_record[:1448], 5) == []
    assert trace(stream.feed(one_record[1448:], 6)) == [
        ("server_hello", 6, 5),
        ("certificate", 6, 5),
    ]


# ---------------------------------------------------------------- hellos


def test_grease_is_removed_from_suites_versions_and_extensions() -> None:
    extensions = (
        ext(0x2A2A, b"")
        + ext(0, vec(2, b"\x00" + vec(2, b"sso.example.com")))
        + ext(16, vec(2, vec(1, b"h2") + vec(1, b"http/1.1")))
        + ext(43, vec(1, u16s(0x5A5A, TLS13, TLS12)))
        + ext(0x4A4A, b"\x00")
    )
    body = hello_body(u16s(0x3A3A, 0x1301, 0xC02F), extensions)
    parsed = parse_client_hello(body, TLS10)
    assert (parsed.versions, parsed.cipher_suites) == ((TLS13, TLS12), (0x1301, 0xC02F))
    assert (parsed.sni, parsed.alpn, parsed.size) == ("sso.example.com", ("h2", "http/1.1"), len(body) + 4)  # fmt: skip


@pytest.mark.parametrize(
    ("versions", "highest"),
    [
        ((0x7F0E, TLS12, 0x0302), 0x7F0E),
        ((0x7F17, TLS13), TLS13),
        ((TLS12, TLS10), TLS12),
        ((0x0A0A,), TLS12),  # only GREASE: the legacy version
    ],
)
def test_max_version_ranks_drafts_between_12_and_13(versions: tuple[int, ...], highest: int) -> None:  # fmt: skip
    parsed = parse_client_hello(hello_body(u16s(0x1301), ext(43, vec(1, u16s(*versions)))))
    assert parsed.max_version == highest


def test_sslv3_hello_without_extensions() -> None:
    body = u16s(0x0300) + bytes(32) + b"\x00" + vec(2, u16s(0x0035, 0x00FF)) + b"\x01\x00"
    parsed = parse_client_hello(body, 0x0300)
    assert (parsed.versions, parsed.sni, parsed.alpn) == ((0x0300,), None, ())
    assert parsed.cipher_suites == (0x35, 0xFF)


def test_sslv2_compatible_client_hello() -> None:
    specs = bytes.fromhex("010080 00002f 000035 0a0a0a")  # an SSLv2 kind, two suites, GREASE
    body = b"\x01" + u16s(0x0301, len(specs), 0, 16) + specs + bytes(16)
    [message] = TlsStream().feed(bytes([0x80 | len(body) >> 8, len(body) & 0xFF]) + body, 3)
    assert isinstance(message.detail, ClientHello)
    assert message.detail.record_version == 0x0002
    assert (message.detail.legacy_version, message.detail.cipher_suites) == (0x0301, (0x2F, 0x35))


def test_tls13_server_hello_reads_supported_versions() -> None:
    [message] = TlsStream().feed(server_hello(TLS13, 0x1302), 6)
    assert message.detail == ServerHello(TLS12, TLS13, 0x1302, hello_retry=False)


def test_hello_retry_request_then_real_hello_through_dummy_change_cipher_spec() -> None:
    conn = TlsConnection()
    assert trace(conn.feed(True, hello("a.example.com", (TLS12, TLS13)), 4)) == [("client_hello", 4, 4)]  # fmt: skip
    retry = conn.feed(False, hrr_record() + CCS, 6)
    assert [m.kind for m in retry] == ["server_hello", "change_cipher_spec"]
    assert retry[0].detail == ServerHello(TLS12, TLS13, 0x1302, hello_retry=True)
    # RFC 8446 D.4: the CCS before the second ClientHello is a dummy; the hello is plaintext.
    second = conn.feed(True, CCS + hello("b.example.com", (TLS12, TLS13)), 8)
    assert [m.kind for m in second] == ["change_cipher_spec", "client_hello"]
    real = conn.feed(False, server_hello(TLS13, 0x1302) + app_data(800), 9)
    assert [m.kind for m in real] == ["server_hello", "application_data"]
    assert not conn.summary().established
    conn.feed(True, app_data(53), 12)
    summary = conn.summary()
    assert summary.client_hello is not None and summary.client_hello.sni == "b.example.com"
    assert summary.server_hello == ServerHello(TLS12, TLS13, 0x1302, False)
    assert (summary.version, summary.cipher, summary.established) == (TLS13, 0x1302, True)


def test_hello_retry_alone_is_not_established_despite_both_ccs() -> None:
    conn = TlsConnection()
    conn.feed(True, hello(None, (TLS12, TLS13)), 4)
    conn.feed(False, hrr_record() + CCS, 6)
    conn.feed(True, CCS, 8)
    summary = conn.summary()
    assert (summary.server_hello, summary.version, summary.established) == (None, None, False)


# ---------------------------------------------------------------- alerts and establishment


def test_fatal_alert_from_the_server() -> None:
    conn = TlsConnection()
    conn.feed(True, hello("vpn.example.com"), 4)
    [message] = conn.feed(False, alert(2, 40), 6)
    assert (message.kind, message.frame, message.detail) == ("alert", 6, Alert(2, 40, False))
    assert conn.server.done and not conn.client.done
    summary = conn.summary()
    assert summary.alerts == ((False, Alert(2, 40, False), 6),)
    assert not summary.established and summary.version is None


def test_fatal_alert_from_the_client_after_the_certificate() -> None:
    conn = TlsConnection()
    conn.feed(True, hello("login.example.com"), 4)
    conn.feed(False, server_flight([b"x"]), 6)
    conn.feed(True, alert(2, 48), 8)
    summary = conn.summary()
    assert summary.alerts == ((True, Alert(2, 48, False), 8),)
    assert summary.certificates == (b"x",)
    assert (summary.version, summary.established) == (TLS12, False)


def test_alert_after_change_cipher_spec_is_encrypted() -> None:
    conn = TlsConnection()
    tls12_handshake(conn)
    conn.feed(True, records(21, TLS12, bytes(26)), 14)
    conn.feed(False, alert(1, 0), 15)  # two bytes, but after the server's CCS: ciphertext
    encrypted = Alert(0, None, True)
    assert conn.summary().alerts == ((True, encrypted, 14), (False, encrypted, 15))
    assert conn.summary().established


def test_tls12_established_needs_both_directions() -> None:
    both = TlsConnection()
    tls12_handshake(both)
    summary = both.summary()
    assert (summary.established, summary.version, summary.cipher) == (True, TLS12, 0xC02F)
    assert summary.certificates == (b"leaf", b"ca")
    client_only, server_only = TlsConnection(), TlsConnection()
    client_only.feed(True, hello() + CCS + ENCRYPTED_FINISHED + app_data(), 4)
    server_only.feed(False, server_hello() + CCS + ENCRYPTED_FINISHED + app_data(), 5)
    assert not client_only.summary().established
    assert not server_only.summary().established


def test_tls13_established_on_the_clients_finished() -> None:
    conn = TlsConnection()
    conn.feed(True, hello("login.example.com", (TLS12, TLS13)), 4)
    conn.feed(True, CCS + app_data(100), 5)  # 0-RTT early data: before the ServerHello
    conn.feed(False, server_hello(TLS13, 0x1301) + CCS + app_data(2000), 6)
    assert not conn.summary().established
    conn.feed(True, app_data(53), 8)
    summary = conn.summary()
    assert (summary.established, summary.version, summary.cipher) == (True, TLS13, 0x1301)
    assert summary.certificates == ()
    server_only = TlsConnection()
    server_only.feed(False, server_hello(TLS13, 0x1301) + CCS + app_data(), 6)
    assert server_only.summary().version == TLS13 and not server_only.summary().established


def test_application_data_is_emitted_once_then_counted() -> None:
    stream = TlsStream()
    messages = stream.feed(app_data(10) * 1000, 20) + stream.feed(app_data(10), 21)
    assert [(m.kind, m.frame) for m in messages] == [("application_data", 20)]
    assert (stream.app_records, stream.last_app_frame, stream.done) == (1001, 21, True)


# ---------------------------------------------------------------- hostile and foreign bytes


def test_plaintext_http_reply_is_a_problem_not_an_exception() -> None:
    conn = TlsConnection()
    conn.feed(True, hello("intranet.example.com"), 4)
    [message] = conn.feed(False, b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", 6)
    assert message == TlsMessage("problem", 6, 6, "not TLS: data starts 'HTTP/1.1 400 Bad'")
    assert conn.server.done and conn.feed(False, alert(2, 40), 7) == []
    assert not conn.summary().established


INTERRUPTED = records(22, TLS12, b"\x02\x00\x00\x30" + bytes(10)) + CCS


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"no", "not TLS: data starts 'no'"),  # judged at once, however short
        (struct.pack("!BHH", 23, TLS12, 20000), "record length 20000 exceeds 2^14+2048"),
        (app_data() + b"GET /", "bad record header 47 45 54 20 2f"),
        (INTERRUPTED, "handshake message interrupted by a change_cipher_spec record"),
        (records(22, TLS12, handshake(1, b"\x03\x03" + bytes(20))), "client_hello truncated"),
        (records(22, TLS12, handshake(11, vec(3, b"\x00\x00\x09ab"))), "certificate truncated"),
    ],
)
def test_malformed_records_stop_the_direction(data: bytes, reason: str) -> None:
    stream = TlsStream()
    assert stream.feed(data, 9)[-1] == TlsMessage("problem", 9, 9, reason)
    assert stream.done and stream.feed(app_data(), 10) == []


def test_heartbeat_inside_a_handshake_message_is_a_problem() -> None:
    """A heartbeat record cutting into a handshake message is reported like any other."""
    started = records(22, TLS12, handshake(11, bytes(100))[:50])
    [message] = TlsStream().feed(started + records(24, TLS12, b"\x01\x00\x00"), 5)
    assert (message.kind, message.detail) == (
        "problem",
        "handshake message interrupted by a heartbeat record",
    )


def test_buffer_cap() -> None:
    # A Certificate message announcing 300000 bytes is refused as soon as its header is in.
    announced = b"\x0b" + (300000).to_bytes(3, "big") + bytes(100)
    [message] = TlsStream().feed(records(22, TLS12, announced), 5)
    assert message.detail == f"handshake message of 300000 bytes exceeds {MAX_BUFFER}"
    # Below the cap a large chain still reassembles across many records.
    chain = [bytes(60000), bytes(60000)]
    [certificate] = TlsStream().feed(certificate_record(TLS12, chain), 6)
    assert certificate.detail == Certificates(tuple(chain))


def test_parse_functions_raise_only_tls_error() -> None:
    for parse, body in [
        (parse_client_hello, b"\x03\x03"),
        (parse_server_hello, b"\x03\x03" + bytes(31)),
        (parse_certificates, b"\x00\x00\x05\x00\x00\x09"),
        (parse_client_hello, hello_body(b"\x00", b"")),
    ]:
        with pytest.raises(TlsError):
            parse(body)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\x16\x03\x01\x02\x00", True),
        (b"\x15\x03\x03", True),
        (b"\x17\x03\x04\x00\x10", True),
        (b"\x80\x2e\x01\x03\x01", True),
        (b"\x16\x03\x05", False),
        (b"HTTP/1.1 200 OK", False),
        (b"\x16\x03", False),
        (b"", False),
    ],
)
def test_looks_like_tls(data: bytes, expected: bool) -> None:
    assert looks_like_tls(data) is expected


CONVERSATION = [
    (True, hello("a.example.com", (TLS12, TLS13), ["h2"])),
    (False, hrr_record() + CCS),
    (False, server_flight([b"leaf"]) + alert(1, 112)),
    (True, CCS + ENCRYPTED_FINISHED + alert(2, 42)),
    (False, CCS + app_data()),
]


@settings(max_examples=300, deadline=None)
@given(
    data=st.data(),
    mutations=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=6),
    noise=st.binary(max_size=600),
)
def test_mutated_and_random_bytes_never_raise(data: st.DataObject, mutations: list[tuple[int, int]], noise: bytes) -> None:  # fmt: skip
    conn, frame = TlsConnection(), 1
    for from_client, payload in [*CONVERSATION, (True, noise), (False, noise)]:
        buffer = bytearray(payload)
        for where, value in mutations if buffer else ():
            buffer[where % len(buffer)] = value
        cuts = sorted(data.draw(st.lists(st.integers(0, len(buffer)), max_size=4)))
        for start, end in zip([0, *cuts], [*cuts, len(buffer)], strict=True):
            frame += 1
            for message in conn.feed(from_client, bytes(buffer[start:end]), frame):
                assert message.kind in KINDS
                assert message.first_frame <= message.frame == frame
    assert isinstance(conn.summary().established, bool)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000), st.integers(1, 64))
def test_random_bytes_in_fixed_segments_never_raise(payload: bytes, size: int) -> None:
    stream = TlsStream()
    for frame, start in enumerate(range(0, len(payload), size), start=1):
        assert {m.kind for m in stream.feed(payload[start : start + size], frame)} <= KINDS


# ---------------------------------------------------------------- names


def test_names() -> None:
    versions = [version_name(v) for v in (0x0300, TLS12, TLS13, 0x7F0E, 0x0A0A)]
    assert versions == ["SSL 3.0", "TLS 1.2", "TLS 1.3", "TLS 1.3 draft 14", "0x0a0a"]
    assert cipher_name(0xC02F) == "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
    assert cipher_name(0x1301) == "TLS_AES_128_GCM_SHA256"
    assert cipher_name(0xC0AA) == "TLS_PSK_DHE_WITH_AES_128_CCM_8"  # IANA's spelling, not scapy's
    assert cipher_name(0xFEFE) == "0xfefe"
    alerts = [alert_name(c) for c in (0, 40, 48, 70, 112, 200)]
    assert alerts == ["close_notify", "handshake_failure", "unknown_ca", "protocol_version", "unrecognized_name", "alert_200"]  # fmt: skip
    assert [v for v in range(0x10000) if is_grease(v)] == [0x0A0A + 0x1010 * i for i in range(16)]


# ---------------------------------------------------------------- real captures


def connections(path: Path) -> dict[int, tuple[TlsConnection, list[tuple[bool, TlsMessage]]]]:
    """Each TCP connection of ``path`` fed through TlsConnection, keyed by client port.

    Payloads are taken per direction in sequence order (retransmissions dropped) and
    the two directions interleaved by frame number, as the capture parser does.
    """
    from scapy.all import IP, TCP, IPv6, rdpcap  # slow import: only for corpus tests

    Endpoint = tuple[str, int]
    flows: dict[frozenset[Endpoint], dict[Endpoint, list[tuple[int, int, bytes]]]] = {}
    clients: dict[frozenset[Endpoint], Endpoint] = {}
    for frame, packet in enumerate(rdpcap(str(path)), start=1):
        if TCP not in packet:
            continue
        ip, tcp = (packet[IP] if IP in packet else packet[IPv6]), packet[TCP]
        src, dst = (ip.src, tcp.sport), (ip.dst, tcp.dport)
        sides = flows.setdefault(frozenset((src, dst)), {src: [], dst: []})
        if tcp.flags.S and not tcp.flags.A:
            clients[frozenset((src, dst))] = src
        # Ethernet pads short frames: trust the IP length, not the captured bytes.
        size = (ip.len - ip.ihl * 4 if IP in packet else ip.plen) - tcp.dataofs * 4
        if size > 0:
            sides[src].append((tcp.seq, frame, bytes(tcp.payload)[:size]))
    out = {}
    for key, sides in flows.items():
        client = clients.get(key) or max(key, key=lambda end: end[1])
        directions = []
        for side, segments in sides.items():
            ordered, next_seq = [], None
            for seq, frame, payload in sorted(segments):
                if next_seq is not None and seq < next_seq:
                    payload = payload[next_seq - seq :]
                if payload:
                    ordered.append((frame, side == client, payload))
                    next_seq = max(seq, next_seq or seq) + len(payload)
            directions.append(ordered)
        conn, messages = TlsConnection(), []
        for frame, from_client, payload in heapq.merge(*directions):
            messages += [(from_client, m) for m in conn.feed(from_client, payload, frame)]
        out[client[1]] = (conn, messages)
    return out


E = 0  # the level of an encrypted alert
# Verified with tshark 4.0: file, client port, SNI, negotiated version, cipher,
# alerts (from_client, level, description, frame), leaf subject CN, established.
# fmt: off
CORPUS_FACTS = [
    ("zeek-tls-1.2-handshake-failure.pcap", 53525, None, None, None, ((False, 2, 40, 6),), None, False),
    ("ndpi-tls_alert.pcapng", 63158, "www.google-analytics.com", None, None, ((False, 2, 70, 6),), None, False),
    ("ndpi-tls_alert.pcapng", 37780, None, None, None, ((True, E, None, 12),), None, False),  # mid-stream
    ("zeek-tls-early-alert.pcap", 50020, "jeffbryner.com", TLS12, 0xC02F, ((False, 1, 112, 6),), "www.jeffbryner.com", True),
    ("zeek-tls-expired-cert.pcap", 60539, None, TLS10, 0x0039, ((False, E, None, 19), (True, E, None, 24)), "www.spidh.org", True),
    ("zeek-tls-expired-cert.pcap", 60540, None, TLS10, 0x0035, ((True, E, None, 47),), "www.tobu-estate.com", True),
    ("arkime-ssl-selfsign.pcap", 60101, None, 0x0300, 0x0035, ((True, E, None, 19),), "molochftw", True),
    ("ndpi-ssl-cert-name-mismatch.pcap", 54772, "wrong.host.badssl.com", TLS12, 0xC02F, ((True, E, None, 17),), "*.badssl.com", True),
    ("zeek-hrr.pcap", 63564, None, TLS13, 0x1302, (), None, True),
    ("zeek-tls13_wolfssl.pcap", 43056, None, TLS13, 0x1302, (), None, True),
    ("zeek-tls1_1.pcap", 62987, None, 0x0302, 0xC013, ((True, E, None, 16),), "*.google.com", True),
    ("zeek-https-to-http.pcap", 50382, None, None, None, (), None, False),
    ("zeek-certificate-request-failed.pcap", 52464, None, TLS12, 0xC030, ((False, 2, 40, 9),), "testing.zeek.org", False),
    ("zeek-missing-intermediate.pcap", 58529, None, TLS10, 0x0004, ((True, E, None, 11),), "www.cviis.org", True),
    ("zeek-missing-intermediate.pcap", 58530, None, TLS12, 0xC030, ((True, E, None, 31), (False, E, None, 33)), "valid.sfig2.catest.starfieldtech.com", True),
    ("zeek-missing-intermediate.pcap", 58532, None, TLS10, 0x0004, ((True, E, None, 46),), "www.cviis.org", True),
    ("zeek-tls13draft16-chrome55.0.2879.0-canary-aborted.pcap", 53226, "tls13.crypto.mozilla.org", None, None, ((False, 2, 70, 6),), None, False),
    ("zeek-tls13draft16-chrome55.0.2879.0-canary-aborted.pcap", 53227, "tls13.crypto.mozilla.org", None, None, ((False, 2, 70, 18),), None, False),
]
# fmt: on
CORPUS_FILES = sorted({row[0] for row in CORPUS_FACTS})


def facts(name: str, port: int, conn: TlsConnection) -> tuple[object, ...]:
    summary = conn.summary()
    leaf = parse_certificate(summary.certificates[0]).subject_cn if summary.certificates else None
    return (
        name,
        port,
        summary.client_hello.sni if summary.client_hello else None,
        summary.version,
        summary.cipher,
        tuple((c, a.level, a.description, f) for c, a, f in summary.alerts),
        leaf,
        summary.established,
    )


@pytest.mark.corpus
@pytest.mark.parametrize("name", CORPUS_FILES)
def test_corpus_matches_tshark(corpus: Path, name: str) -> None:
    found = connections(corpus / "pcap" / name)
    assert sorted(facts(name, port, conn) for port, (conn, _) in found.items()) == sorted(
        row for row in CORPUS_FACTS if row[0] == name
    )


ZEEK_VERSIONS = {"SSLv3": 0x0300, "TLSv10": TLS10, "TLSv11": 0x0302, "TLSv12": TLS12, "TLSv13": TLS13}  # fmt: skip


def zeek_ssl_rows(text: str) -> list[dict[str, str]]:
    """The rows of every ssl.log in a Zeek baseline file."""
    rows, fields = [], None
    for line in text.splitlines():
        if line.startswith("#fields"):
            fields = line.split("\t")[1:]
        elif line.startswith("==="):
            fields = None
        elif fields and "established" in fields and not line.startswith("#") and line.strip():
            rows.append(dict(zip(fields, line.split("\t"), strict=False)))
    return rows


@pytest.mark.corpus
@pytest.mark.parametrize("name", [n for n in CORPUS_FILES if n.startswith("zeek-")])
def test_corpus_agrees_with_zeek_ssl_log(corpus: Path, name: str) -> None:
    rows = zeek_ssl_rows((corpus / "pcap" / f"{name}.expected.txt").read_text())
    found = connections(corpus / "pcap" / name)
    for row in rows:
        summary = found[int(row["id.orig_p"])][0].summary()
        plain = [alert_name(a.description) for _, a, _ in summary.alerts if a.description is not None]  # fmt: skip
        sni = summary.client_hello.sni if summary.client_hello else None
        fingerprints = [parse_certificate(der).sha256 for der in summary.certificates]
        assert summary.version == ZEEK_VERSIONS.get(row["version"]), row
        assert (cipher_name(summary.cipher) if summary.cipher else "-") == row["cipher"]
        assert summary.established == (row["established"] == "T")
        assert (plain[-1] if plain else "-") == row["last_alert"]
        assert (sni or "-") == row["server_name"]
        assert (",".join(fingerprints) or "-") == row["cert_chain_fps"]
    # Only two baselines hold no ssl.log.
    assert bool(rows) != (name in ("zeek-tls-early-alert.pcap", "zeek-https-to-http.pcap"))


@pytest.mark.corpus
def test_corpus_agrees_with_ndpi(corpus: Path) -> None:
    for name in ("ndpi-tls_alert.pcapng", "ndpi-ssl-cert-name-mismatch.pcap"):
        text = (corpus / "pcap" / f"{name}.expected.txt").read_text()
        for port, (conn, _) in connections(corpus / "pcap" / name).items():
            [line] = [line for line in text.splitlines() if re.search(rf":{port} <?->", line)]
            sni = re.search(r"\[Hostname/SNI: ([^\]]+)\]", line)
            summary = conn.summary()
            assert (summary.client_hello.sni if summary.client_hello else None) == (sni and sni[1])
            fatal = any(a.level == 2 for _, a, _ in summary.alerts)
            assert fatal == ("TLS Fatal Alert" in line)


@pytest.mark.corpus
def test_corpus_hrr_frames_and_out_of_order_segments(corpus: Path) -> None:
    # The server's second flight arrived out of order (frame 11, seq 100, after frame 9,
    # seq 1468): tshark 4.0 never dissects that ServerHello; in sequence order it is frame 11.
    _, messages = connections(corpus / "pcap" / "zeek-hrr.pcap")[63564]
    assert [(c, m.kind, m.frame, m.first_frame) for c, m in messages] == [
        (True, "client_hello", 4, 4),
        (False, "server_hello", 6, 6),
        (False, "change_cipher_spec", 6, 6),
        (True, "change_cipher_spec", 8, 8),
        (True, "client_hello", 8, 8),
        (False, "server_hello", 11, 11),
        (False, "application_data", 9, 11),
        (True, "application_data", 13, 13),
    ]
    assert isinstance(messages[1][1].detail, ServerHello) and messages[1][1].detail.hello_retry


@pytest.mark.corpus
def test_corpus_https_to_plain_http_server(corpus: Path) -> None:
    # The server (Python's http.server) answers the ClientHello with an HTTP/0.9-style
    # error page: no status line, the HTML starts at once.
    conn, messages = connections(corpus / "pcap" / "zeek-https-to-http.pcap")[50382]
    assert [(c, m.kind, m.frame) for c, m in messages] == [(True, "client_hello", 4), (False, "problem", 6)]  # fmt: skip
    assert messages[1][1].detail == "not TLS: data starts '<!DOCTYPE HTML>'"
    first = conn.summary().client_hello
    assert first is not None and first.versions == (TLS13, TLS12) and first.alpn == ("h2", "http/1.1")  # fmt: skip


@pytest.mark.corpus
def test_corpus_record_across_segments_and_certificate_request(corpus: Path) -> None:
    found = connections(corpus / "pcap" / "zeek-missing-intermediate.pcap")
    [server_hello] = [m for c, m in found[58529][1] if m.kind == "server_hello"]
    assert (server_hello.frame, server_hello.first_frame) == (6, 5)  # a 1447-byte record
    assert len(found[58529][0].summary().certificates) == 1  # the intermediate is missing
    _, messages = connections(corpus / "pcap" / "zeek-certificate-request-failed.pcap")[52464]
    assert (False, "certificate_request") in [(c, m.detail) for c, m in messages]
    assert (True, Certificates(())) in [(c, m.detail) for c, m in messages]  # the client had none


@pytest.mark.corpus
def test_corpus_tls13_draft_offer(corpus: Path) -> None:
    # Named "draft16", but Chrome 55 offered 0x7f0e, draft 14 (tshark agrees), plus GREASE.
    found = connections(corpus / "pcap" / "zeek-tls13draft16-chrome55.0.2879.0-canary-aborted.pcap")
    offer = found[53226][0].summary().client_hello
    assert offer is not None and offer.versions == (0x7F0E, TLS12, 0x0302, TLS10)
    assert version_name(offer.max_version) == "TLS 1.3 draft 14"
    assert 0xCC13 in offer.cipher_suites and not any(is_grease(s) for s in offer.cipher_suites)


def _hello_outcome(parse: Callable[[bytes, int], ClientHello], body: bytes) -> object:
    try:
        return parse(body, TLS12)
    except TlsError as exc:
        return f"TlsError: {exc}"


@settings(max_examples=400, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    cut=st.integers(0, 600),
    flips=st.lists(st.tuples(st.integers(0, 599), st.integers(0, 255)), max_size=4),
)
def test_fast_client_hello_agrees_with_the_careful_reader(
    seed: int, cut: int, flips: list[tuple[int, int]]
) -> None:
    # The fast path must give the careful reader's answer, or its exact error, on any bytes.
    rng = random.Random(seed)
    record = client_hello_record(
        rng.choice(["a.example", "login.work.weixin.qq.com", None]),
        rng.choice([[TLS12], [TLS12, TLS13], [TLS10]]),
        rng.choice([CIPHERS_MODERN, CIPHERS_TLS12]),
        rng.choice([["h2", "http/1.1"], None]),
        rng,
    )
    body = bytearray(record[9:])  # after the record and handshake headers
    for position, value in flips:
        if position < len(body):
            body[position] = value
    data = bytes(body[: cut or len(body)])
    assert _hello_outcome(parse_client_hello, data) == _hello_outcome(
        tls_module._client_hello_careful, data
    )
