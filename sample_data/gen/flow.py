"""One TCP connection in a capture: sequence state, segments and loss, TLS, HTTP, teardown."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from datetime import timedelta
from email.utils import format_datetime
from http import HTTPStatus

from sample_data.gen import packets, tls
from sample_data.gen.capfile import CaptureFile, us
from sample_data.gen.packets import ACK, FIN, PSH, RST, SYN
from sample_data.gen.tls import ALERTS, CIPHERS_LEGACY, CIPHERS_MODERN, CIPHERS_TLS12, TLS12, TLS13

DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/112.0.5615.50 Safari/537.36"
)
_CWND = 10  # segments in flight before the sender waits for an ACK
_CLIENT_WINDOW, _CLIENT_WSCALE = 1026, 8
_SERVER_WINDOW, _SERVER_WSCALE = 510, 7


class Flow:
    """One TCP connection between the client and a server, with its sequence state."""

    def __init__(
        self,
        cap: CaptureFile,
        server_ip: str,
        port: int,
        mss: int,
        server_mss: int,
        rtt_us: int,
        server_ttl: int,
    ) -> None:
        rng = cap.rng
        self.cap = cap
        self.server_ip = server_ip
        self.port = port
        self.sport = cap._port()
        self.v6 = ":" in server_ip
        self.mss = mss
        self.server_mss = server_mss
        self.rtt_us = rtt_us
        self.server_ttl = server_ttl
        self.path_mtu: int | None = None
        self.icmp_frag_needed = False
        self.router_ip = cap.gateway_ip
        self.established = False
        self.version = TLS12  # record-layer version until a ServerHello says otherwise
        self.session_id = b""
        self.tls13 = False
        self._last_method = ""
        self._client_isn = rng.getrandbits(32)
        self._server_isn = rng.getrandbits(32)
        self.client_next = self._client_isn  # next sequence number each side will send
        self.server_next = self._server_isn
        self.client_received = 0  # what each side has received in order (its ACK number)
        self.server_received = 0
        self._server_ipid = rng.randrange(65536)
        self._label = rng.getrandbits(20) if self.v6 else 0
        self._last = 0
        self._side_last = [0, 0]

    @property
    def segment_size(self) -> int:
        """The negotiated MSS: the smaller of the two SYN options."""
        return min(self.mss, self.server_mss)

    def _rtt(self) -> int:
        return self.cap.rng.randint(self.rtt_us * 9 // 10, self.rtt_us * 23 // 20)

    def _start(self, low: float = 0.00005, high: float = 0.001) -> int:
        return max(self.cap._clock, self._last) + self.cap._gap(low, high)

    def _segment(
        self,
        t: int,
        from_client: bool,
        flags: int,
        payload: bytes = b"",
        *,
        seq: int | None = None,
        ack: int | None = None,
        options: bytes = b"",
        window: int | None = None,
        ttl: int | None = None,
        ip_id: int | None = None,
    ) -> bytes:
        cap = self.cap
        client, server = packets.addr(cap.client_ip), packets.addr(self.server_ip)
        if from_client:
            src, dst, sport, dport = client, server, self.sport, self.port
            seq = self.client_next if seq is None else seq
            ack = self.client_received if ack is None else ack
            window = _CLIENT_WINDOW if window is None else window
            ttl = ttl or cap.client_ttl
            if ip_id is None:
                ip_id = cap._next_ipid()
        else:
            src, dst, sport, dport = server, client, self.port, self.sport
            seq = self.server_next if seq is None else seq
            ack = self.server_received if ack is None else ack
            window = _SERVER_WINDOW if window is None else window
            ttl = ttl or self.server_ttl
            if ip_id is None:
                self._server_ipid += 1
                ip_id = self._server_ipid
        if not flags & ACK:
            ack = 0
        # Each side's packets leave in the order they are made, whatever their computed times.
        side = 0 if from_client else 1
        t = max(t, self._side_last[side] + 1)
        self._side_last[side] = t
        segment = packets.tcp(src, dst, sport, dport, seq, ack, flags, window, payload, options)
        packet = packets.ip(src, dst, 6, segment, ttl, ip_id, True, self._label)
        if from_client:
            cap._send_ip(t, packet)
        else:
            cap._emit(t, packet, False)
        self._last = max(self._last, t)
        return packet

    def _syn(self, t: int) -> bytes:
        # MSS, NOP, window scale, NOP, NOP, SACK permitted: a Windows SYN's options.
        options = struct.pack("!BBH", 2, 4, self.mss) + b"\x01\x03\x03" + bytes([_CLIENT_WSCALE])
        options += b"\x01\x01\x04\x02"
        packet = self._segment(t, True, SYN, seq=self._client_isn, options=options, window=64240)
        self.client_next = self._client_isn + 1
        return packet

    def _syn_ack(self, t: int) -> None:
        options = struct.pack("!BBH", 2, 4, self.server_mss) + b"\x01\x01\x04\x02\x01\x03\x03"
        options += bytes([_SERVER_WSCALE])
        self.server_received = self._client_isn + 1
        # The same window as the scaled data segments, so a later dup ACK is not a "window update".
        syn_window = _SERVER_WINDOW << _SERVER_WSCALE
        self._segment(t, False, SYN | ACK, seq=self._server_isn, options=options, window=syn_window)
        self.server_next = self._server_isn + 1
        self.client_received = self.server_next

    # -- data

    def send(self, data: bytes, from_client: bool = True, *, retries: int = 5) -> None:
        """Send ``data`` in MSS-sized segments; the peer ACKs every second segment.

        With ``path_mtu`` set on the flow, larger segments vanish: the client's are
        retransmitted ``retries`` times with doubling timeouts and never ACKed (optionally
        answered by ICMP frag-needed); the server's never appear, and the client dup-ACKs
        any smaller segment that gets through.
        """
        if not data:
            return
        cap, size = self.cap, self.segment_size
        chunks = [data[i : i + size] for i in range(0, len(data), size)]
        overhead = (40 if self.v6 else 20) + 20
        too_big = [self.path_mtu is not None and overhead + len(c) > self.path_mtu for c in chunks]
        t = self._start(0.00005, 0.0008) if from_client else self._start(0.0002, 0.002)
        first_seq = self.client_next if from_client else self.server_next
        ack_point = self.server_received if from_client else self.client_received
        in_order = ack_point == first_seq  # nothing is missing ahead of this data
        acked_at: list[int] = []  # per delivered chunk: when its ACK is seen at the client
        pending = 0  # delivered chunks not yet ACKed
        stalled: tuple[int, bytes] | None = None  # the first black-holed client transmission
        for i, chunk in enumerate(chunks):
            if i >= _CWND:
                if i - _CWND >= len(acked_at):
                    break  # window full, and the ACK that would open it never comes
                opener = acked_at[i - _CWND]
                t = max(t, opener if from_client else opener + self._rtt())
            seq = first_seq + i * size
            if too_big[i] and in_order and pending:  # delayed ACK for what got through
                self._ack(t, from_client, ack_point)
                acked_at.extend([self._last] * pending)
                pending = 0
            if from_client or not too_big[i]:  # a lost server segment never reaches the client
                flags = ACK | (PSH if i == len(chunks) - 1 else 0)
                packet = self._segment(t, from_client, flags, chunk, seq=seq)
                if too_big[i] and stalled is None:
                    stalled = (t, packet)
            if from_client:
                self.client_next = seq + len(chunk)
            else:
                self.server_next = seq + len(chunk)
            if too_big[i]:
                in_order = False
            elif in_order:
                ack_point = seq + len(chunk)
                pending += 1
                if pending == 2 or i == len(chunks) - 1:
                    self._ack(t, from_client, ack_point)
                    acked_at.extend([self._last] * pending)
                    pending = 0
            else:  # arrived behind a hole: the receiver repeats its last ACK
                self._ack(t, from_client, ack_point)
            t += cap._gap(0.00001, 0.00005) if from_client else cap._gap(0.00002, 0.00015)
        if stalled is not None:
            self._retransmit(*stalled, retries)

    def _ack(self, t: int, data_from_client: bool, upto: int) -> None:
        if data_from_client:  # the server's ACK is seen one round trip later
            self.server_received = upto
            self._segment(t + self._rtt(), False, ACK)
        else:
            self.client_received = upto
            self._segment(t + self.cap._gap(0.00003, 0.0002), True, ACK)

    def _retransmit(self, sent_at: int, packet: bytes, retries: int) -> None:
        cap = self.cap
        segment = packet[40 if self.v6 else 20 :]
        client, server = packets.addr(cap.client_ip), packets.addr(self.server_ip)
        rto = max(300_000, 3 * self.rtt_us)
        if self.icmp_frag_needed:
            self._frag_needed(sent_at, packet)
        for _ in range(retries):
            sent_at += rto
            rto *= 2
            # The same segment in a new IP packet: a retransmission gets a fresh IP id.
            again = packets.ip(
                client, server, 6, segment, cap.client_ttl, cap._next_ipid(), True, self._label
            )
            cap._send_ip(sent_at, again)
            self._last = max(self._last, sent_at)
            if self.icmp_frag_needed:
                self._frag_needed(sent_at, again)

    def _frag_needed(self, t: int, packet: bytes) -> None:
        mtu = self.path_mtu or 1280
        at = t + self.cap._gap(0.002, 0.01)
        if self.v6:
            self.cap._icmp_error(at, 2, 0, packet, self.router_ip, struct.pack("!I", mtu))
        else:
            self.cap._icmp_error(at, 3, 4, packet, self.router_ip, struct.pack("!HH", 0, mtu))
        self._last = max(self._last, at)

    # -- TLS

    def client_hello(
        self,
        sni: str | None,
        versions: Sequence[int] = (TLS13, TLS12),
        *,
        ciphers: Sequence[int] | None = None,
        alpn: Sequence[str] | None = ("h2", "http/1.1"),
        pq_key_share: bool = False,
    ) -> None:
        """Send a ClientHello; ciphers default to what a client of the top version offers."""
        top = max(versions)
        if ciphers is None:
            ciphers = (
                CIPHERS_MODERN
                if top >= TLS13
                else CIPHERS_TLS12
                if top == TLS12
                else CIPHERS_LEGACY
            )
        record = tls.client_hello_record(sni, versions, ciphers, alpn, self.cap.rng, pq_key_share)
        self.session_id = record[44 : 44 + record[43]]
        self.version = min(top, TLS12)
        self.send(record, True)

    def _hello(self, version: int, cipher: int | None, alpn: str | None, downgrade: bool) -> bytes:
        if cipher is None:
            cipher = 0x1301 if version >= TLS13 else 0xC02F if version == TLS12 else 0xC013
        self.version, self.tls13 = min(version, TLS12), version >= TLS13
        # TLS 1.3 echoes the client's session id; an older server starts a session of its own.
        session_id = self.session_id if self.tls13 else self.cap.rng.randbytes(32)
        return tls.server_hello_record(version, cipher, session_id, self.cap.rng, alpn, downgrade)

    def server_hello(
        self,
        version: int = TLS12,
        *,
        cipher: int | None = None,
        alpn: str | None = None,
        downgrade: bool = False,
    ) -> None:
        """Send a ServerHello alone (``downgrade`` sets the RFC 8446 DOWNGRD sentinel)."""
        self.send(self._hello(version, cipher, alpn, downgrade), False)

    def certificate(self, chain: Sequence[bytes]) -> None:
        """Send a Certificate message carrying ``chain`` (DER, leaf first) in clear."""
        self.send(tls.certificate_record(self.version, chain), False)

    def server_key_exchange(self) -> None:
        """Send an ECDHE (secp256r1) ServerKeyExchange."""
        self.send(tls.server_key_exchange_record(self.version, self.cap.rng), False)

    def server_hello_done(self) -> None:
        """Send ServerHelloDone."""
        self.send(tls.records(22, self.version, tls.handshake(14, b"")), False)

    def server_flight(
        self,
        version: int = TLS13,
        chain: Sequence[bytes] = (),
        *,
        cipher: int | None = None,
        alpn: str | None = None,
        downgrade: bool = False,
    ) -> None:
        """The server's whole first flight as one burst of full-size segments.

        TLS <= 1.2: ServerHello, Certificate (``chain`` in clear), ServerKeyExchange,
        ServerHelloDone. TLS 1.3: ServerHello, ChangeCipherSpec and the encrypted rest,
        sized as if it carried ``chain``.
        """
        data = self._hello(version, cipher, alpn, downgrade)
        if version >= TLS13:
            # EncryptedExtensions, Certificate, CertificateVerify, Finished: opaque, chain-sized.
            size = 350 + (sum(len(der) + 5 for der in chain) if chain else 2900)
            data += tls.records(20, TLS12, b"\x01")
            data += tls.records(23, TLS12, self.cap.rng.randbytes(size))
        else:
            if chain:
                data += tls.certificate_record(self.version, chain)
            data += tls.server_key_exchange_record(self.version, self.cap.rng)
            data += tls.records(22, self.version, tls.handshake(14, b""))
        self.send(data, False)

    def client_finished(self) -> None:
        """The client's second flight: (ClientKeyExchange,) ChangeCipherSpec, encrypted Finished."""
        rng = self.cap.rng
        if self.tls13:
            data = tls.records(20, TLS12, b"\x01") + tls.records(23, TLS12, rng.randbytes(53))
        else:
            cke = tls.handshake(16, tls.vec(1, b"\x04" + rng.randbytes(64)))
            data = tls.records(22, self.version, cke) + tls.records(20, self.version, b"\x01")
            data += tls.records(22, self.version, rng.randbytes(40))
        self.send(data, True)

    def server_finished(self) -> None:
        """TLS <= 1.2: the server's ChangeCipherSpec and encrypted Finished."""
        data = tls.records(20, self.version, b"\x01")
        data += tls.records(22, self.version, self.cap.rng.randbytes(40))
        self.send(data, False)

    def handshake(
        self,
        sni: str | None,
        version: int = TLS13,
        chain: Sequence[bytes] = (),
        *,
        offered: Sequence[int] = (TLS13, TLS12),
        alpn: Sequence[str] | None = ("h2", "http/1.1"),
    ) -> None:
        """A successful handshake: the client offers ``offered``, the server picks ``version``."""
        self.client_hello(sni, offered, alpn=alpn)
        self.server_flight(version, chain, alpn=alpn[0] if alpn and version < TLS13 else None)
        self.client_finished()
        if version < TLS13:
            self.server_finished()

    def alert(
        self,
        level: int | str,
        description: int | str,
        *,
        from_client: bool = True,
        encrypted: bool = False,
    ) -> None:
        """Send a TLS alert; ``level`` 1/2 or "warning"/"fatal", ``description`` a number or name.

        Names are the keys of ``ALERTS``. ``encrypted`` sends it opaque, as after the handshake.
        """
        level = {"warning": 1, "fatal": 2}[level] if isinstance(level, str) else level
        code = ALERTS[description] if isinstance(description, str) else description
        if not encrypted:
            record = tls.records(21, self.version, bytes([level, code]))
        elif self.tls13:
            record = tls.records(23, TLS12, self.cap.rng.randbytes(19))
        else:
            record = tls.records(21, self.version, self.cap.rng.randbytes(26))
        self.send(record, from_client)

    def app_data(self, nbytes: int, *, from_client: bool = True) -> None:
        """Send ``nbytes`` of opaque application-data records (16 KiB each at most)."""
        rng, data = self.cap.rng, b""
        while nbytes > 0:
            part = min(nbytes, 16384)
            data += tls.records(23, TLS12, rng.randbytes(part))
            nbytes -= part
        self.send(data, from_client)

    # -- plaintext HTTP

    def http_request(
        self,
        method: str = "GET",
        target: str = "/",
        *,
        host: str | None = None,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
    ) -> None:
        """Send an HTTP/1.1 request; ``CONNECT host:port`` for a proxy tunnel."""
        fields = {"Host": host or (target if method == "CONNECT" else self.server_ip)}
        fields["User-Agent"] = DEFAULT_USER_AGENT
        if method == "CONNECT":
            fields["Proxy-Connection"] = "keep-alive"
        else:
            fields |= {"Accept": "*/*", "Connection": "keep-alive"}
        if body:
            fields["Content-Length"] = str(len(body))
        fields |= headers or {}
        self._last_method = method
        self.send(_http_head(f"{method} {target} HTTP/1.1", fields) + body, True)

    def http_response(
        self,
        status: int = 200,
        reason: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
    ) -> None:
        """Send an HTTP/1.1 response dated by the capture clock (plus ``server_clock_offset``)."""
        reason = reason or HTTPStatus(status).phrase
        date = self.cap.now + timedelta(seconds=self.cap.server_clock_offset)
        fields = {"Date": format_datetime(date, usegmt=True)}
        if body:
            fields["Content-Type"] = "text/html; charset=utf-8"
        tunnel = self._last_method == "CONNECT" and 200 <= status < 300
        if status >= 200 and status not in (204, 304) and not tunnel:
            fields["Content-Length"] = str(len(body))
        fields |= headers or {}
        self.send(_http_head(f"HTTP/1.1 {status} {reason}", fields) + body, False)

    # -- teardown

    def rst(
        self,
        from_client: bool = False,
        *,
        ttl: int | None = None,
        ip_id: int | None = None,
        seq_offset: int = 0,
        with_ack: bool = True,
        delay: float | None = None,
    ) -> None:
        """Send a reset; a server-side one with a foreign ``ttl`` / ``ip_id`` looks injected.

        ``seq_offset`` moves its sequence number from the sender's next; the flow stays usable,
        so data may follow the reset as with on-path injection.
        """
        t = (
            self._start(0.00005, 0.001)
            if delay is None
            else max(self.cap._clock, self._last) + us(delay)
        )
        seq = (self.client_next if from_client else self.server_next) + seq_offset
        flags = RST | (ACK if with_ack else 0)
        self._segment(t, from_client, flags, seq=seq, ttl=ttl, ip_id=ip_id, window=0)

    def fin(self, from_client: bool = True) -> None:
        """Close: FIN from one side, FIN/ACK back, final ACK (never ACKing past a hole)."""
        gap = self.cap._gap
        t = self._start(0.0001, 0.003)
        self._segment(t, from_client, FIN | ACK)
        self._fin_sent(from_client)
        t += self._rtt() if from_client else gap(0.00005, 0.0005)
        self._segment(t, not from_client, FIN | ACK)
        self._fin_sent(not from_client)
        t += gap(0.00003, 0.0002) if from_client else self._rtt()
        self._segment(t, from_client, ACK)

    def _fin_sent(self, from_client: bool) -> None:
        # A FIN takes one sequence number; the peer ACKs it only if nothing is missing before it.
        if from_client:
            delivered = self.server_received == self.client_next
            self.client_next += 1
            if delivered:
                self.server_received = self.client_next
        else:
            delivered = self.client_received == self.server_next
            self.server_next += 1
            if delivered:
                self.client_received = self.server_next


def _http_head(start_line: str, fields: dict[str, str]) -> bytes:
    lines = [start_line, *(f"{k}: {v}" for k, v in fields.items()), "", ""]
    return "\r\n".join(lines).encode("latin-1")
