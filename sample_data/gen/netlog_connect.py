"""How NetLog logs opening a connection: jobs, resolver, TCP, proxy tunnel, TLS, certificates."""

from __future__ import annotations

import base64
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from sample_data.gen.har_format import SERVICE_IPS
from sample_data.gen.netlog_tables import (
    BEGIN,
    CERT_STATUS,
    CERT_STATUS_OF,
    CONNECT_STAGES,
    END,
    NET_ERRORS,
    NONE,
    OLD_NAMES,
    error_name,
)


def _placeholder_pem(rng: random.Random) -> str:
    """A PEM block of random bytes: shaped like a certificate, but not DER anything will accept."""
    return _pem(rng.randbytes(rng.randrange(700, 1300)))


def _pem(der: bytes) -> str:
    body = base64.b64encode(der).decode()
    lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN CERTIFICATE-----\n{lines}\n-----END CERTIFICATE-----\n"


def site_of(host: str) -> str:
    return ".".join(host.split(".")[-2:])


class Source(NamedTuple):
    id: int
    kind: str
    start: int


@dataclass
class Attempt:
    """One request's settings, shared by the stages that log it."""

    url: str
    method: str
    code: int
    fail_at: str | None
    ms: dict[str, int]
    address: str | None
    certificates: Sequence[str | bytes] | None
    cert_status: int | None
    tls_version: str
    status: int
    location: str | None
    request_headers: Sequence[tuple[str, str]]
    response_headers: Sequence[tuple[str, str]]
    scheme: str = field(init=False)
    host: str = field(init=False)
    port: int = field(init=False)
    path: str = field(init=False)
    netloc: str = field(init=False)

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        self.scheme, self.host, self.netloc = parts.scheme, parts.hostname or "", parts.netloc
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    @property
    def origin(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def fails(self, *stages: str) -> bool:
        return self.fail_at in stages

    @property
    def error(self) -> dict[str, int]:
        """``net_error`` params for an END event, empty when the request succeeds."""
        return {"net_error": self.code} if self.code else {}


class ConnectStages:
    """Event recording and the stages that open a request's connection; ``NetLog`` builds on it."""

    # Set by NetLog.__init__.
    rng: random.Random
    proxy: str | None
    local_ip: str
    user_agent: str
    source_types: dict[str, int]
    _old_names: bool
    _os_errors: dict[str, int]
    _next_source: int
    _next_port: int
    _events: list[tuple[int, int, str, int, Source, dict[str, Any]]]
    _sessions: dict[str, Source]
    _dns: dict[str, list[str]]

    # ------------------------------------------------------------- recording

    def _source(self, kind: str, tick: int) -> Source:
        self._next_source += 1
        return Source(self._next_source, kind, tick)

    def _emit(self, tick: int, name: str, phase: int, source: Source, **params: Any) -> None:
        if self._old_names:
            name = OLD_NAMES.get(name, name)
        self._events.append((tick, len(self._events), name, phase, source, params))

    def _dep(self, source: Source) -> dict[str, int]:
        return {"id": source.id, "type": self.source_types[source.kind]}

    # ----------------------------------------------------------- connection

    def _connect(self, req: Source, t: int, a: Attempt) -> int:
        """Log the stream job, connect job, resolver, socket and TLS; return the tick after."""
        job = self._source("HTTP_STREAM_JOB", t)
        self._emit(
            t,
            "HTTP_STREAM_JOB",
            BEGIN,
            job,
            expect_spdy=False,
            priority="MEDIUM",
            original_url=f"{a.scheme}://{a.host}/",
            url=f"{a.scheme}://{a.host}/",
            source_dependency=self._dep(req),
            using_quic=False,
        )
        self._emit(
            t, "HTTP_STREAM_REQUEST_BOUND_TO_JOB", NONE, req, source_dependency=self._dep(job)
        )
        connect = self._source(
            "SSL_CONNECT_JOB" if a.scheme == "https" else "TRANSPORT_CONNECT_JOB", t
        )
        self._emit(
            t, "SOCKET_POOL_BOUND_TO_CONNECT_JOB", NONE, job, source_dependency=self._dep(connect)
        )
        self._emit(
            t,
            "CONNECT_JOB",
            BEGIN,
            connect,
            group_id=f"{a.origin} <https://{site_of(a.host)} same_site>",
        )
        self._emit(t, "TRANSPORT_CONNECT_JOB_CONNECT", BEGIN, connect)
        t, sock = self._transport(connect, t, a)
        if sock is not None and not a.fails("tcp", "proxy"):
            if self.proxy:
                t = self._tunnel(sock, t, a)
            if a.scheme == "https" and not a.fails("tunnel"):
                t = self._handshake(sock, t, a)
        if a.fails(*CONNECT_STAGES):
            if sock is not None:
                self._emit(t, "SOCKET_ALIVE", END, sock)
            self._emit(t, "CONNECT_JOB", END, connect, net_error=a.code)
            self._emit(t, "HTTP_STREAM_JOB", END, job, net_error=a.code)
            return t
        assert sock is not None
        self._emit(t, "CONNECT_JOB", END, connect)
        self._emit(t, "SOCKET_POOL_BOUND_TO_SOCKET", NONE, job, source_dependency=self._dep(sock))
        self._emit(t, "HTTP_STREAM_JOB", END, job)
        if a.scheme == "https":
            session = self._source("HTTP2_SESSION", t)
            self._emit(
                t, "HTTP2_SESSION", BEGIN, session, host=f"{a.host}:{a.port}", proxy="DIRECT"
            )
            self._emit(
                t,
                "HTTP2_SESSION_INITIALIZED",
                NONE,
                session,
                protocol="h2",
                source_dependency=self._dep(sock),
            )
            self._sessions[a.origin] = session
        return t

    def _transport(self, connect: Source, t: int, a: Attempt) -> tuple[int, Source | None]:
        """Resolve and TCP-connect (to the proxy, if any); return the tick and the socket."""
        host, port = self.proxy.rsplit(":", 1) if self.proxy else (a.host, str(a.port))
        if host.replace(".", "").isdigit() or ":" in host:
            addresses: list[str] | None = [host]
        else:
            t, addresses = self._resolve(connect, t, host, int(port), a)
        if addresses is None:
            self._emit(t, "TRANSPORT_CONNECT_JOB_CONNECT", END, connect, net_error=a.code)
            return t, None
        sock = self._source("SOCKET", t)
        remote = f"{addresses[0]}:{port}"
        self._emit(t, "SOCKET_ALIVE", BEGIN, sock, source_dependency=self._dep(connect))
        self._emit(t, "TCP_CONNECT", BEGIN, sock, address_list=[f"{ip}:{port}" for ip in addresses])
        self._emit(t, "TCP_CONNECT_ATTEMPT", BEGIN, sock, address=remote)
        if a.fails("tcp", "proxy"):
            t += a.ms["fail"]
            kind = {-118: "timeout", -109: "unreachable"}.get(a.code, "refused")
            tcp_code = a.code if a.fail_at == "tcp" else NET_ERRORS["ERR_CONNECTION_REFUSED"]
            self._emit(t, "TCP_CONNECT_ATTEMPT", END, sock, os_error=self._os_errors[kind])
            self._emit(t, "TCP_CONNECT", END, sock, net_error=tcp_code)
            self._emit(t, "TRANSPORT_CONNECT_JOB_CONNECT", END, connect, net_error=tcp_code)
            return t, sock
        t += a.ms["connect"]
        self._next_port += 1
        self._emit(t, "TCP_CONNECT_ATTEMPT", END, sock)
        self._emit(
            t,
            "TCP_CONNECT",
            END,
            sock,
            local_address=f"{self.local_ip}:{self._next_port}",
            remote_address=remote,
        )
        self._emit(t, "TRANSPORT_CONNECT_JOB_CONNECT", END, connect)
        self._emit(t, "CONNECT_JOB_SET_SOCKET", NONE, connect, source_dependency=self._dep(sock))
        return t, sock

    def _resolve(
        self, connect: Source, t: int, host: str, port: int, a: Attempt
    ) -> tuple[int, list[str] | None]:
        """Log a host resolution; return the tick and the addresses (None if it failed)."""
        nak = f"https://{site_of(host)}"
        self._emit(
            t,
            "HOST_RESOLVER_MANAGER_REQUEST",
            BEGIN,
            connect,
            allow_cached_response=True,
            dns_query_type=0,
            host=f"{host}:{port}",
            is_speculative=False,
            network_anonymization_key=nak,
            secure_dns_policy=0,
        )
        failing = a.fails("dns")
        if not failing and host in self._dns and a.address is None:
            cached = self._dns[host]
            self._emit(t, "HOST_RESOLVER_MANAGER_CACHE_HIT", NONE, connect, address_list=cached)
            self._emit(t, "HOST_RESOLVER_MANAGER_REQUEST", END, connect)
            return t, cached
        job = self._source("HOST_RESOLVER_IMPL_JOB", t)
        self._emit(t, "HOST_RESOLVER_MANAGER_CREATE_JOB", NONE, connect)
        self._emit(
            t, "HOST_RESOLVER_MANAGER_JOB_ATTACH", NONE, connect, source_dependency=self._dep(job)
        )
        self._emit(
            t,
            "HOST_RESOLVER_MANAGER_JOB",
            BEGIN,
            job,
            dns_query_type=0,
            host=host,
            network_anonymization_key=nak,
            secure_dns_mode=0,
            source_dependency=self._dep(connect),
        )
        self._emit(
            t,
            "HOST_RESOLVER_MANAGER_JOB_REQUEST_ATTACH",
            NONE,
            job,
            priority="MEDIUM",
            source_dependency=self._dep(connect),
        )
        self._emit(t, "HOST_RESOLVER_MANAGER_JOB_STARTED", NONE, job)
        self._emit(t, "HOST_RESOLVER_DNS_TASK", BEGIN, job, secure=False)
        if failing:
            # Chrome's own resolver gives up, then the system resolver fails too.
            t += a.ms["fail"]
            self._emit(t, "HOST_RESOLVER_DNS_TASK", END, job, dns_error=a.code, net_error=a.code)
            self._emit(t, "HOST_RESOLVER_SYSTEM_TASK", BEGIN, job)
            self._emit(
                t,
                "HOST_RESOLVER_SYSTEM_TASK",
                END,
                job,
                net_error=a.code,
                os_error=self._os_errors["dns"],
            )
            self._emit(t, "HOST_RESOLVER_MANAGER_JOB", END, job, net_error=a.code)
            self._emit(t, "HOST_RESOLVER_MANAGER_REQUEST", END, connect, net_error=a.code)
            return t, None
        t += a.ms["dns"]
        addresses = [
            a.address
            or SERVICE_IPS.get(host, ("",))[0]
            or f"198.51.100.{self.rng.randrange(2, 250)}"
        ]
        self._dns[host] = addresses
        self._emit(t, "HOST_RESOLVER_DNS_TASK", END, job, address_list=addresses)
        self._emit(t, "HOST_RESOLVER_MANAGER_JOB", END, job, address_list=addresses)
        self._emit(t, "HOST_RESOLVER_MANAGER_REQUEST", END, connect)
        return t, addresses

    def _tunnel(self, sock: Source, t: int, a: Attempt) -> int:
        """Log the proxy CONNECT exchange; a failing tunnel is answered 403."""
        target = f"{a.host}:{a.port}"
        self._emit(t, "HTTP_TRANSACTION_TUNNEL_SEND_REQUEST", BEGIN, sock)
        self._emit(
            t,
            "HTTP_TRANSACTION_SEND_TUNNEL_HEADERS",
            NONE,
            sock,
            headers=[
                f"Host: {target}",
                "Proxy-Connection: keep-alive",
                f"User-Agent: {self.user_agent}",
            ],
            line=f"CONNECT {target} HTTP/1.1\r\n",
        )
        self._emit(t, "HTTP_TRANSACTION_TUNNEL_SEND_REQUEST", END, sock)
        self._emit(t, "HTTP_TRANSACTION_TUNNEL_READ_HEADERS", BEGIN, sock)
        failing = a.fails("tunnel")
        t += a.ms["fail"] if failing else a.ms["dns"]
        line = "HTTP/1.1 200 Connection established"
        if failing:
            line = "HTTP/1.1 403 Forbidden" if a.code == -111 else "HTTP/1.1 502 Bad Gateway"
        self._emit(t, "HTTP_TRANSACTION_READ_TUNNEL_RESPONSE_HEADERS", NONE, sock, headers=[line])
        self._emit(
            t,
            "HTTP_TRANSACTION_TUNNEL_READ_HEADERS",
            END,
            sock,
            **({"net_error": a.code} if failing else {}),
        )
        return t

    def _handshake(self, sock: Source, t: int, a: Attempt) -> int:
        """Log the TLS handshake and certificate verification; return the tick after."""
        self._emit(t, "SSL_CONNECT", BEGIN, sock)
        if a.fails("ssl"):
            t += a.ms["fail"]
            self._emit(
                t,
                "SSL_HANDSHAKE_ERROR",
                NONE,
                sock,
                error_lib=16,
                error_reason=1040 if a.code == -113 else 1000,
                line=1042,
                net_error=a.code,
                file="../../third_party/boringssl/src/ssl/handshake_client.cc",
                ssl_error=1,
            )
            self._emit(t, "SSL_CONNECT", END, sock, net_error=a.code, ssl_error=1)
            return t
        t += a.ms["ssl"]
        given = a.certificates or [_placeholder_pem(self.rng) for _ in range(2)]
        pems = [_pem(c) if isinstance(c, bytes) else c for c in given]
        self._emit(t, "SSL_CERTIFICATES_RECEIVED", NONE, sock, certificates=pems)
        verifier = self._source("CERT_VERIFIER_JOB", t)
        self._emit(t, "CERT_VERIFIER_REQUEST", BEGIN, sock)
        self._emit(t, "CERT_VERIFIER_JOB", BEGIN, verifier, certificates=pems, host=a.host)
        self._emit(
            t,
            "CERT_VERIFIER_REQUEST_BOUND_TO_JOB",
            NONE,
            sock,
            source_dependency=self._dep(verifier),
        )
        failing = a.fails("cert")
        status = a.cert_status
        if status is None:
            status = (
                CERT_STATUS_OF.get(error_name(a.code), CERT_STATUS["INVALID"]) if failing else 0
            )
        t += a.ms["cert"]
        result = a.error if failing else {}
        self._emit(
            t,
            "CERT_VERIFIER_JOB",
            END,
            verifier,
            cert_status=status,
            has_sha1=False,
            is_issued_by_known_root=not failing,
            verified_cert={"certificates": pems},
            **result,
        )
        self._emit(t, "CERT_VERIFIER_REQUEST", END, sock, **result)
        if failing:
            self._emit(t, "SSL_CONNECT", END, sock, **result)
        else:
            self._emit(
                t,
                "SSL_CONNECT",
                END,
                sock,
                encrypted_client_hello=False,
                is_resumed=False,
                cipher_suite=4865 if a.tls_version == "TLS 1.3" else 49199,
                key_exchange_group=29,
                next_proto="h2",
                peer_signature_algorithm=2052,
                version=a.tls_version,
            )
        return t
