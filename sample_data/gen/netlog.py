"""Chrome NetLog (chrome://net-export) JSON, as Chrome's file observer writes it.

``NetLog.request`` emits the events one URL request produces — proxy
resolution, host resolution, TCP connect, TLS handshake and certificate
verification, then the HTTP transaction — and stops at the stage an
``outcome`` such as ``CERT_AUTHORITY_INVALID`` belongs to, with ``net_error``
on that stage's END event and on every END above it.

Event and source type ids depend on the Chrome version (Chrome numbers them
by their order in its source, which changes between releases, and renamed the
resolver events around version 100), so consumers must resolve names through
``constants``, as with real files. The layout is the file observer's:
constants on one line, then one event per line, keys sorted.
"""

from __future__ import annotations

import base64
import functools
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from sample_data.gen.har import SERVICE_IPS

__all__ = ["CERT_STATUS", "CHROME_VERSION", "NET_ERRORS", "STAGES", "NetLog", "net_error"]

CHROME_VERSION = "124.0.6367.208"

NET_ERRORS: dict[str, int] = {
    "ERR_IO_PENDING": -1, "ERR_FAILED": -2, "ERR_ABORTED": -3, "ERR_INVALID_ARGUMENT": -4,
    "ERR_INVALID_HANDLE": -5, "ERR_FILE_NOT_FOUND": -6, "ERR_TIMED_OUT": -7,
    "ERR_FILE_TOO_BIG": -8, "ERR_UNEXPECTED": -9, "ERR_ACCESS_DENIED": -10,
    "ERR_NOT_IMPLEMENTED": -11, "ERR_INSUFFICIENT_RESOURCES": -12, "ERR_OUT_OF_MEMORY": -13,
    "ERR_BLOCKED_BY_CLIENT": -20, "ERR_NETWORK_CHANGED": -21, "ERR_BLOCKED_BY_ADMINISTRATOR": -22,
    "ERR_CONNECTION_CLOSED": -100, "ERR_CONNECTION_RESET": -101, "ERR_CONNECTION_REFUSED": -102,
    "ERR_CONNECTION_ABORTED": -103, "ERR_CONNECTION_FAILED": -104, "ERR_NAME_NOT_RESOLVED": -105,
    "ERR_INTERNET_DISCONNECTED": -106, "ERR_SSL_PROTOCOL_ERROR": -107, "ERR_ADDRESS_INVALID": -108,
    "ERR_ADDRESS_UNREACHABLE": -109, "ERR_SSL_CLIENT_AUTH_CERT_NEEDED": -110,
    "ERR_TUNNEL_CONNECTION_FAILED": -111, "ERR_NO_SSL_VERSIONS_ENABLED": -112,
    "ERR_SSL_VERSION_OR_CIPHER_MISMATCH": -113, "ERR_SSL_RENEGOTIATION_REQUESTED": -114,
    "ERR_PROXY_AUTH_UNSUPPORTED": -115, "ERR_BAD_SSL_CLIENT_AUTH_CERT": -117,
    "ERR_CONNECTION_TIMED_OUT": -118, "ERR_HOST_RESOLVER_QUEUE_TOO_LARGE": -119,
    "ERR_SOCKS_CONNECTION_FAILED": -120, "ERR_PROXY_CONNECTION_FAILED": -130,
    "ERR_NAME_RESOLUTION_FAILED": -137, "ERR_NETWORK_ACCESS_DENIED": -138,
    "ERR_TEMPORARILY_THROTTLED": -139, "ERR_SSL_DECOMPRESSION_FAILURE_ALERT": -141,
    "ERR_SSL_BAD_RECORD_MAC_ALERT": -142, "ERR_PROXY_AUTH_REQUESTED": -143,
    "ERR_SSL_PINNED_KEY_NOT_IN_CERT_CHAIN": -150, "ERR_SSL_BAD_PEER_PUBLIC_KEY": -149,
    "ERR_TLS13_DOWNGRADE_DETECTED": -180, "ERR_CERT_COMMON_NAME_INVALID": -200,
    "ERR_CERT_DATE_INVALID": -201, "ERR_CERT_AUTHORITY_INVALID": -202,
    "ERR_CERT_CONTAINS_ERRORS": -203, "ERR_CERT_NO_REVOCATION_MECHANISM": -204,
    "ERR_CERT_UNABLE_TO_CHECK_REVOCATION": -205, "ERR_CERT_REVOKED": -206,
    "ERR_CERT_INVALID": -207, "ERR_CERT_WEAK_SIGNATURE_ALGORITHM": -208,
    "ERR_CERT_NON_UNIQUE_NAME": -210, "ERR_CERT_WEAK_KEY": -211,
    "ERR_CERT_NAME_CONSTRAINT_VIOLATION": -212, "ERR_CERT_VALIDITY_TOO_LONG": -213,
    "ERR_CERTIFICATE_TRANSPARENCY_REQUIRED": -214, "ERR_CERT_SYMANTEC_LEGACY": -215,
    "ERR_CERT_KNOWN_INTERCEPTION_BLOCKED": -217, "ERR_CERT_END": -219,
    "ERR_INVALID_URL": -300, "ERR_DISALLOWED_URL_SCHEME": -301, "ERR_TOO_MANY_REDIRECTS": -310,
    "ERR_UNSAFE_REDIRECT": -311, "ERR_EMPTY_RESPONSE": -324, "ERR_CONTENT_DECODING_FAILED": -330,
    "ERR_HTTP2_PROTOCOL_ERROR": -337, "ERR_INVALID_HTTP_RESPONSE": -370,
    "ERR_QUIC_PROTOCOL_ERROR": -356, "ERR_DNS_MALFORMED_RESPONSE": -800,
    "ERR_DNS_SERVER_REQUIRES_TCP": -801, "ERR_DNS_SERVER_FAILED": -802, "ERR_DNS_TIMED_OUT": -803,
    "ERR_DNS_CACHE_MISS": -804, "ERR_DNS_SEARCH_EMPTY": -805, "ERR_DNS_SORT_ERROR": -806,
}  # fmt: skip

# cert_status bits Chrome reports with each certificate error.
CERT_STATUS: dict[str, int] = {
    "COMMON_NAME_INVALID": 1 << 0, "DATE_INVALID": 1 << 1, "AUTHORITY_INVALID": 1 << 2,
    "NO_REVOCATION_MECHANISM": 1 << 4, "UNABLE_TO_CHECK_REVOCATION": 1 << 5, "REVOKED": 1 << 6,
    "INVALID": 1 << 7, "WEAK_SIGNATURE_ALGORITHM": 1 << 8, "NON_UNIQUE_NAME": 1 << 10,
    "WEAK_KEY": 1 << 11, "PINNED_KEY_MISSING": 1 << 13, "NAME_CONSTRAINT_VIOLATION": 1 << 14,
    "VALIDITY_TOO_LONG": 1 << 15, "IS_EV": 1 << 16, "REV_CHECKING_ENABLED": 1 << 17,
    "SHA1_SIGNATURE_PRESENT": 1 << 19, "CT_COMPLIANCE_FAILED": 1 << 20,
    "KNOWN_INTERCEPTION_DETECTED": 1 << 21, "CERTIFICATE_TRANSPARENCY_REQUIRED": 1 << 24,
    "SYMANTEC_LEGACY": 1 << 25, "KNOWN_INTERCEPTION_BLOCKED": 1 << 26,
}  # fmt: skip

# The stage whose END event first carries each error; certificate errors fail at "cert".
STAGES: dict[str, str] = {
    "ERR_NAME_NOT_RESOLVED": "dns", "ERR_NAME_RESOLUTION_FAILED": "dns",
    "ERR_INTERNET_DISCONNECTED": "dns", "ERR_DNS_TIMED_OUT": "dns", "ERR_DNS_SERVER_FAILED": "dns",
    "ERR_CONNECTION_REFUSED": "tcp", "ERR_CONNECTION_TIMED_OUT": "tcp",
    "ERR_ADDRESS_UNREACHABLE": "tcp", "ERR_CONNECTION_FAILED": "tcp",
    "ERR_TIMED_OUT": "ssl", "ERR_CONNECTION_RESET": "ssl", "ERR_SSL_PROTOCOL_ERROR": "ssl",
    "ERR_SSL_VERSION_OR_CIPHER_MISMATCH": "ssl", "ERR_TLS13_DOWNGRADE_DETECTED": "ssl",
    "ERR_CONNECTION_CLOSED": "read", "ERR_EMPTY_RESPONSE": "read", "ERR_NETWORK_CHANGED": "read",
    "ERR_HTTP2_PROTOCOL_ERROR": "read", "ERR_TUNNEL_CONNECTION_FAILED": "tunnel",
    "ERR_PROXY_CONNECTION_FAILED": "proxy",
}  # fmt: skip
_CERT_STATUS_OF = {
    "ERR_CERT_COMMON_NAME_INVALID": CERT_STATUS["COMMON_NAME_INVALID"],
    "ERR_CERT_DATE_INVALID": CERT_STATUS["DATE_INVALID"],
    "ERR_CERT_AUTHORITY_INVALID": CERT_STATUS["AUTHORITY_INVALID"],
    "ERR_CERT_REVOKED": CERT_STATUS["REVOKED"],
    "ERR_CERT_INVALID": CERT_STATUS["INVALID"],
    "ERR_CERT_KNOWN_INTERCEPTION_BLOCKED": CERT_STATUS["KNOWN_INTERCEPTION_BLOCKED"]
    | CERT_STATUS["AUTHORITY_INVALID"],
}
# Milliseconds a failing stage takes where it is a timeout rather than an answer.
_FAIL_MS = {"ERR_CONNECTION_TIMED_OUT": 21_040, "ERR_TIMED_OUT": 30_000, "ERR_DNS_TIMED_OUT": 5_010}


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Event types in the order Chrome's source lists them: the ones a login touches and their
# neighbours, so the numbering looks like a real file's.
_EVENT_TYPES = _names("""
    CANCELLED FAILED REQUEST_ALIVE HOST_RESOLVER_MANAGER_REQUEST
    HOST_RESOLVER_MANAGER_IPV6_REACHABILITY_CHECK HOST_RESOLVER_MANAGER_CACHE_HIT
    HOST_RESOLVER_MANAGER_HOSTS_HIT HOST_RESOLVER_MANAGER_CREATE_JOB HOST_RESOLVER_MANAGER_JOB
    HOST_RESOLVER_MANAGER_JOB_EVICTED HOST_RESOLVER_MANAGER_JOB_STARTED
    HOST_RESOLVER_SYSTEM_TASK HOST_RESOLVER_MANAGER_ATTEMPT_STARTED
    HOST_RESOLVER_MANAGER_ATTEMPT_FINISHED HOST_RESOLVER_MANAGER_JOB_ATTACH
    HOST_RESOLVER_MANAGER_JOB_REQUEST_ATTACH HOST_RESOLVER_MANAGER_JOB_REQUEST_DETACH
    HOST_RESOLVER_DNS_TASK HOST_RESOLVER_DNS_TASK_EXTRACTION_FAILURE
    HOST_RESOLVER_DNS_TASK_TIMEOUT PAC_FILE_DECIDER PAC_FILE_DECIDER_WAIT
    PAC_FILE_DECIDER_FETCH_PAC_SCRIPT PAC_FILE_DECIDER_HAS_NO_FETCHER
    PAC_FILE_DECIDER_FALLING_BACK_TO_NEXT_PAC_SOURCE PROXY_RESOLUTION_SERVICE
    PROXY_RESOLUTION_SERVICE_WAITING_FOR_INIT_PAC PROXY_RESOLUTION_SERVICE_RESOLVED_PROXY_LIST
    PROXY_RESOLUTION_SERVICE_DEPRIORITIZED_BAD_PROXIES PROXY_CONFIG_CHANGED
    BAD_PROXY_LIST_REPORTED PROXY_LIST_FALLBACK PAC_JAVASCRIPT_ERROR PAC_JAVASCRIPT_ALERT
    WAITING_FOR_PROXY_RESOLVER_THREAD SUBMITTED_TO_RESOLVER_THREAD SOCKET_ALIVE TCP_CONNECT
    TCP_CONNECT_ATTEMPT TCP_ACCEPT SOCKET_IN_USE SOCKS_CONNECT SOCKS5_CONNECT
    SOCKS_HOSTNAME_TOO_BIG SOCKS_UNEXPECTEDLY_CLOSED_DURING_GREETING
    SOCKS_UNEXPECTEDLY_CLOSED_DURING_HANDSHAKE SOCKS_UNEXPECTED_VERSION SOCKS_SERVER_ERROR
    SOCKS_UNEXPECTED_AUTH SOCKS_UNKNOWN_ADDRESS_TYPE SSL_CONNECT SSL_SERVER_HANDSHAKE
    SSL_CLIENT_CERT_REQUESTED SSL_HANDSHAKE_ERROR SSL_READ_ERROR SSL_WRITE_ERROR
    SSL_CLIENT_CERT_PROVIDED SSL_ENCRYPTED_CLIENT_HELLO SSL_ALERT_RECEIVED SSL_ALERT_SENT
    SSL_CONFIRM_HANDSHAKE SOCKET_READ_ERROR SOCKET_WRITE_ERROR SOCKET_CLOSED SOCKET_BYTES_SENT
    SOCKET_BYTES_RECEIVED SSL_SOCKET_BYTES_SENT SSL_SOCKET_BYTES_RECEIVED
    SSL_CERTIFICATES_RECEIVED SSL_KEYLOG_FILE_ENABLED UDP_CONNECT UDP_LOCAL_ADDRESS
    UDP_BYTES_RECEIVED UDP_BYTES_SENT UDP_RECEIVE_ERROR UDP_SEND_ERROR CONNECT_JOB
    CONNECT_JOB_SET_SOCKET CONNECT_JOB_TIMED_OUT TRANSPORT_CONNECT_JOB_CONNECT_ATTEMPT
    TRANSPORT_CONNECT_JOB_IPV6_FALLBACK TRANSPORT_CONNECT_JOB_CONNECT SSL_CONNECT_JOB_CONNECT
    SSL_CONNECT_JOB_RESTART_WITH_ECH_CONFIG_LIST SOCKS_CONNECT_JOB_CONNECT
    HTTP_PROXY_CONNECT_JOB_CONNECT WEB_SOCKET_TRANSPORT_CONNECT_JOB_CONNECT
    SOCKET_POOL_STALLED_MAX_SOCKETS SOCKET_POOL_STALLED_MAX_SOCKETS_PER_GROUP
    SOCKET_POOL_REUSED_AN_EXISTING_SOCKET TCP_CLIENT_SOCKET_POOL_REQUESTED_SOCKET
    TCP_CLIENT_SOCKET_POOL_REQUESTED_SOCKETS SOCKET_BACKUP_CREATED
    SOCKET_POOL_BOUND_TO_CONNECT_JOB SOCKET_POOL_BOUND_TO_SOCKET
    SOCKET_POOL_CONNECTING_N_SOCKETS SOCKET_POOL_CLOSING_SOCKET URL_REQUEST_START_JOB
    URL_REQUEST_REDIRECTED URL_REQUEST_DELEGATE_BEFORE_START_TRANSACTION
    URL_REQUEST_DELEGATE_CERTIFICATE_REQUESTED URL_REQUEST_DELEGATE_RECEIVED_REDIRECT
    URL_REQUEST_DELEGATE_RESPONSE_STARTED URL_REQUEST_DELEGATE_SSL_CERTIFICATE_ERROR
    URL_REQUEST_JOB_BYTES_READ URL_REQUEST_JOB_FILTERED_BYTES_READ URL_REQUEST_SET_PRIORITY
    URL_REQUEST_REDIRECT_JOB URL_REQUEST_FAKE_RESPONSE_HEADERS_CREATED URL_REQUEST_FILTERS_SET
    HTTP_CACHE_GET_BACKEND HTTP_CACHE_OPEN_OR_CREATE_ENTRY HTTP_CACHE_OPEN_ENTRY
    HTTP_CACHE_CREATE_ENTRY HTTP_CACHE_ADD_TO_ENTRY HTTP_CACHE_DOOM_ENTRY HTTP_CACHE_READ_INFO
    HTTP_CACHE_WRITE_INFO HTTP_CACHE_READ_DATA HTTP_CACHE_WRITE_DATA
    HTTP_CACHE_CALLER_REQUEST_HEADERS HTTP_STREAM_REQUEST HTTP_STREAM_JOB_WAITING
    HTTP_STREAM_REQUEST_BOUND_TO_JOB HTTP_STREAM_REQUEST_PROTO HTTP_STREAM_JOB_INIT_CONNECTION
    HTTP_STREAM_JOB HTTP_STREAM_JOB_CONTROLLER HTTP_STREAM_JOB_CONTROLLER_BOUND
    HTTP_STREAM_JOB_CONTROLLER_PROXY_SERVER_RESOLVED HTTP_STREAM_JOB_BOUND_TO_REQUEST
    HTTP_STREAM_JOB_ORPHANED HTTP_STREAM_JOB_RESUMED HTTP_STREAM_JOB_DELAYED
    HTTP_TRANSACTION_SEND_REQUEST HTTP_TRANSACTION_SEND_REQUEST_HEADERS
    HTTP_TRANSACTION_SEND_REQUEST_BODY HTTP_TRANSACTION_HTTP2_SEND_REQUEST_HEADERS
    HTTP_TRANSACTION_QUIC_SEND_REQUEST_HEADERS HTTP_TRANSACTION_READ_HEADERS
    HTTP_TRANSACTION_READ_RESPONSE_HEADERS HTTP_TRANSACTION_READ_BODY
    HTTP_TRANSACTION_DRAIN_BODY_FOR_AUTH_RESTART HTTP_TRANSACTION_RESTART_AFTER_ERROR
    HTTP_TRANSACTION_RESTART_MISDIRECTED_REQUEST HTTP_TRANSACTION_TUNNEL_SEND_REQUEST
    HTTP_TRANSACTION_SEND_TUNNEL_HEADERS HTTP_TRANSACTION_TUNNEL_READ_HEADERS
    HTTP_TRANSACTION_READ_TUNNEL_RESPONSE_HEADERS HTTP2_SESSION HTTP2_SESSION_INITIALIZED
    HTTP2_SESSION_SEND_SETTINGS HTTP2_SESSION_RECV_SETTINGS HTTP2_SESSION_SEND_HEADERS
    HTTP2_SESSION_RECV_HEADERS HTTP2_SESSION_RECV_DATA HTTP2_SESSION_CLOSE
    HTTP2_SESSION_POOL_FOUND_EXISTING_SESSION HTTP2_SESSION_POOL_CREATED_NEW_SESSION
    HTTP2_STREAM QUIC_SESSION QUIC_SESSION_CLOSED CERT_VERIFIER_JOB CERT_VERIFIER_REQUEST
    CERT_VERIFIER_REQUEST_BOUND_TO_JOB CERT_VERIFY_PROC CERT_VERIFY_PROC_PATH_BUILD_ATTEMPT
    CERT_VERIFY_PROC_PATH_BUILT NETWORK_IP_ADDRESSES_CHANGED NETWORK_CONNECTIVITY_CHANGED
    NETWORK_CHANGED DNS_CONFIG_CHANGED DNS_TRANSACTION DNS_TRANSACTION_QUERY
    DNS_TRANSACTION_ATTEMPT DNS_TRANSACTION_TCP_ATTEMPT DNS_TRANSACTION_RESPONSE
""")
# Types that came and went between releases; each version inserts some of them.
_EXTRA_EVENT_TYPES = _names("""
    HTTP3_SESSION_CREATED QUIC_SESSION_PACKET_RECEIVED QUIC_SESSION_PACKET_SENT
    TRUST_TOKEN_OPERATION_REQUESTED COOKIE_STORE_ALIVE COOKIE_INCLUSION_STATUS
    CERT_CT_COMPLIANCE_CHECKED HTTP_AUTH_CONTROLLER AUTH_HANDLE_CHALLENGE
    HTTP_SERVER_PROPERTIES_INITIALIZATION SPDY_SESSION_GOAWAY_SENT PRIVATE_NETWORK_ACCESS_CHECK
    STORAGE_ACCESS_STATUS ORIGIN_TRIAL_ENABLED HTTP_STREAM_POOL_GROUP_REQUEST_STARTED
    TCP_STREAM_ATTEMPT_ALIVE TLS_STREAM_ATTEMPT_ALIVE DNS_OVER_HTTPS_PROBE
    NETWORK_QUALITY_CHANGED
""")
_SOURCE_TYPES = _names("""
    NONE URL_REQUEST PAC_FILE_DECIDER HTTP_PROXY_CONNECT_JOB SOCKS_CONNECT_JOB SSL_CONNECT_JOB
    TRANSPORT_CONNECT_JOB WEB_SOCKET_TRANSPORT_CONNECT_JOB SOCKET HTTP2_SESSION QUIC_SESSION
    QUIC_CONNECTION_MIGRATION QUIC_PORT_MIGRATION HOST_RESOLVER_IMPL_JOB DISK_CACHE_ENTRY
    MEMORY_CACHE_ENTRY HTTP_STREAM_JOB EXPONENTIAL_BACKOFF_THROTTLING UDP_SOCKET
    CERT_VERIFIER_JOB CERT_VERIFIER_TASK PROXY_CLIENT_SOCKET BIDIRECTIONAL_STREAM
    NETWORK_QUALITY_ESTIMATOR HTTP_STREAM_JOB_CONTROLLER CT_TREE_STATE_TRACKER
    SERVER_PUSH_LOOKUP_TRANSACTION QUIC_STREAM_FACTORY_JOB HTTP_SERVER_PROPERTIES
    HOST_CACHE_PERSISTENCE_MANAGER TRIAL_CERT_VERIFIER_JOB COOKIE_STORE HTTP_AUTH_CONTROLLER
    HTTP3_SESSION QUIC_TRANSPORT_CLIENT
""")
_EXTRA_SOURCE_TYPES = _names("""
    DNS_TRANSACTION DNS_OVER_HTTPS WEB_TRANSPORT_CLIENT HTTP_STREAM_POOL_GROUP
    TCP_STREAM_ATTEMPT TLS_STREAM_ATTEMPT NETWORK_CHANGE_NOTIFIER
""")
# Before version 100 the resolver was HostResolverImpl and its events were named after it.
_RENAMED_IN = 100
_OLD_NAMES = {
    **{n: n.replace("_MANAGER_", "_IMPL_") for n in _EVENT_TYPES if "_MANAGER_" in n},
    "HOST_RESOLVER_SYSTEM_TASK": "HOST_RESOLVER_IMPL_PROC_TASK",
    "HOST_RESOLVER_DNS_TASK": "HOST_RESOLVER_IMPL_DNS_TASK",
}

# Chrome's JSON writer sorts keys and adds no spaces.
_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_CONNECT_STAGES = ("dns", "tcp", "ssl", "cert", "tunnel", "proxy")

PHASES = {"PHASE_BEGIN": 1, "PHASE_END": 2, "PHASE_NONE": 0}
_BEGIN, _END, _NONE = 1, 2, 0
# What connect() and getaddrinfo() report, by platform.
_OS_ERRORS = {
    "windows": {"refused": 10061, "timeout": 10060, "unreachable": 10065, "dns": 11001},
    "mac": {"refused": 61, "timeout": 60, "unreachable": 65, "dns": 8},
    "linux": {"refused": 111, "timeout": 110, "unreachable": 113, "dns": -2},
}
# Headers Chrome's default capture mode replaces with "[N bytes were stripped]".
_STRIPPED = ("cookie", "set-cookie", "authorization", "proxy-authorization")


def net_error(outcome: str) -> int:
    """Return the code of ``outcome`` (``NAME_NOT_RESOLVED``, ``ERR_…`` or ``net::ERR_…``).

    ``OK`` is 0; an unknown name raises ``ValueError``.
    """
    name = _normalise(outcome)
    return 0 if name == "OK" else NET_ERRORS[name]


def _normalise(outcome: str) -> str:
    name = outcome.removeprefix("net::").upper()
    if name in ("OK", ""):
        return "OK"
    name = name if name.startswith("ERR_") else "ERR_" + name
    if name not in NET_ERRORS:
        raise ValueError(f"unknown net error {outcome!r}")
    return name


@functools.lru_cache(maxsize=32)
def _type_tables(major: int) -> tuple[dict[str, int], dict[str, int]]:
    """Event and source type ids for one Chrome major version."""
    shuffle = random.Random(major * 7919)
    events = [_OLD_NAMES.get(n, n) if major < _RENAMED_IN else n for n in _EVENT_TYPES]
    for name in shuffle.sample(_EXTRA_EVENT_TYPES, 3 + major % 13):
        events.insert(shuffle.randrange(len(events) + 1), name)
    sources = list(_SOURCE_TYPES)
    for name in shuffle.sample(_EXTRA_SOURCE_TYPES, 1 + major % 5):
        sources.insert(shuffle.randrange(2, len(sources) + 1), name)
    return {n: i for i, n in enumerate(events)}, {n: i for i, n in enumerate(sources)}


def _placeholder_pem(rng: random.Random) -> str:
    """A PEM block of random bytes: shaped like a certificate, but not DER anything will accept."""
    return _pem(rng.randbytes(rng.randrange(700, 1300)))


def _pem(der: bytes) -> str:
    body = base64.b64encode(der).decode()
    lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN CERTIFICATE-----\n{lines}\n-----END CERTIFICATE-----\n"


def _site(host: str) -> str:
    return ".".join(host.split(".")[-2:])


class _Source(NamedTuple):
    id: int
    kind: str
    start: int


@dataclass
class _Attempt:
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


class NetLog:
    """A NetLog capture being built: ``request()`` adds events, ``to_bytes()`` writes the file."""

    def __init__(
        self,
        seed: random.Random | int,
        start: datetime,
        chrome_version: str = CHROME_VERSION,
        *,
        clock_skew: timedelta = timedelta(0),
        product: str = "Google Chrome",
        os_type: str = "Windows NT: 10.0.19045 (x86_64)",
        local_ip: str = "192.168.1.23",
        proxy: str | None = None,
        include_credentials: bool = False,
        user_agent: str | None = None,
    ) -> None:
        """Start a capture at ``start`` (true time; the device clock reads ``start + clock_skew``).

        ``proxy`` (``host:port``) sends every request through an HTTP proxy tunnel;
        ``include_credentials`` keeps cookie and authorization values, which Chrome's
        default capture mode strips.
        """
        self.rng = seed if isinstance(seed, random.Random) else random.Random(seed)
        self.start = start
        self.chrome_version = chrome_version
        self.clock_skew = clock_skew
        self.product = product
        self.os_type = os_type
        self.local_ip = local_ip
        self.proxy = proxy
        self.include_credentials = include_credentials
        major = int(chrome_version.split(".")[0])
        self.user_agent = user_agent or (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            f"Chrome/{major}.0.0.0 Safari/537.36"
        )
        self.event_types, self.source_types = _type_tables(major)
        self._old_names = major < _RENAMED_IN
        system = os_type.lower()
        self._os_errors = _OS_ERRORS[
            "windows" if "windows" in system else "mac" if "mac" in system else "linux"
        ]
        # Ticks count milliseconds since boot; timeTickOffset turns them into wall time.
        self._tick0 = self.rng.randrange(3_600_000, 900_000_000)
        self._wall0_ms = round((start + clock_skew).timestamp() * 1000)
        self._next_source = self.rng.randrange(40, 4000)
        self._events: list[tuple[int, int, str, int, _Source, dict[str, Any]]] = []
        self._sessions: dict[str, _Source] = {}  # origin → its HTTP/2 session
        self._dns: dict[str, list[str]] = {}
        self._clock = start
        self._next_port = self.rng.randrange(49_200, 60_000)

    # ------------------------------------------------------------- recording

    def _tick(self, moment: datetime) -> int:
        return self._tick0 + round((moment - self.start).total_seconds() * 1000)

    def _source(self, kind: str, tick: int) -> _Source:
        self._next_source += 1
        return _Source(self._next_source, kind, tick)

    def _emit(self, tick: int, name: str, phase: int, source: _Source, **params: Any) -> None:
        if self._old_names:
            name = _OLD_NAMES.get(name, name)
        self._events.append((tick, len(self._events), name, phase, source, params))

    def _dep(self, source: _Source) -> dict[str, int]:
        return {"id": source.id, "type": self.source_types[source.kind]}

    def network_changed(self, at: datetime, connection_type: str = "NONE") -> None:
        """Log the OS telling Chrome the network changed (``NONE``: it went offline)."""
        tick = self._tick(at)
        none = _Source(0, "NONE", tick)
        self._emit(tick, "NETWORK_IP_ADDRESSES_CHANGED", _NONE, none)
        self._emit(
            tick, "NETWORK_CONNECTIVITY_CHANGED", _NONE, none, new_connection_type=connection_type
        )
        self._emit(tick + 1, "NETWORK_CHANGED", _NONE, none, new_connection_type=connection_type)
        self._clock = max(self._clock, at)

    # --------------------------------------------------------------- request

    def request(
        self,
        url: str,
        *,
        at: datetime | None = None,
        method: str = "GET",
        outcome: str = "OK",
        stage: str | None = None,
        address: str | None = None,
        status: int = 200,
        request_headers: Sequence[tuple[str, str]] = (),
        response_headers: Sequence[tuple[str, str]] = (),
        location: str | None = None,
        certificates: Sequence[str | bytes] | None = None,
        cert_status: int | None = None,
        tls_version: str = "TLS 1.3",
        timing: Mapping[str, float] | None = None,
    ) -> int:
        """Log one URL request from start to its end or failure; return its source id.

        ``outcome`` is ``OK`` or a net error (``CERT_AUTHORITY_INVALID``,
        ``ERR_NAME_NOT_RESOLVED``, ``net::ERR_…``), which fails at its natural stage
        (``dns``, ``tcp``, ``ssl``, ``cert``, ``read``, ``tunnel``, ``proxy``) unless
        ``stage`` says otherwise. ``address`` is what the name resolves to (or, with a
        hosts-file or HTTPDNS override, what is connected to). ``timing`` overrides the
        milliseconds of ``dns``, ``connect``, ``ssl``, ``cert``, ``wait`` and ``fail`` (how long
        the failing stage takes). ``certificates`` are PEM strings or DER bytes (leaf first, e.g.
        from ``certs.service_chain``); placeholders if omitted.
        """
        name = _normalise(outcome)
        code = 0 if name == "OK" else NET_ERRORS[name]
        fail_at = None
        if code:
            fail_at = (
                stage or STAGES.get(name) or ("cert" if name.startswith("ERR_CERT") else "read")
            )
        attempt = _Attempt(
            url,
            method,
            code,
            fail_at,
            self._durations(name, timing or {}),
            address,
            certificates,
            cert_status,
            tls_version,
            status,
            location,
            request_headers,
            response_headers,
        )
        when = at or self._clock + timedelta(milliseconds=self.rng.uniform(5, 400))
        t = self._tick(when)
        req = self._source("URL_REQUEST", t)
        site = f"https://{_site(attempt.host)}"
        self._emit(t, "REQUEST_ALIVE", _BEGIN, req, priority="MEDIUM", traffic_annotation=63171670)
        self._emit(
            t,
            "URL_REQUEST_START_JOB",
            _BEGIN,
            req,
            initiator="not an origin",
            load_flags=0,
            method=method,
            network_isolation_key=f"{site} {site}",
            privacy_mode="disabled",
            traffic_annotation=101845102,
            url=url,
            site_for_cookies=f"SiteForCookies: {{site={site}; schemefully_same=true}}",
        )
        self._emit(t, "PROXY_RESOLUTION_SERVICE", _BEGIN, req)
        proxy_info = f"PROXY {self.proxy}" if self.proxy else "DIRECT"
        self._emit(
            t, "PROXY_RESOLUTION_SERVICE_RESOLVED_PROXY_LIST", _NONE, req, proxy_info=proxy_info
        )
        self._emit(t, "PROXY_RESOLUTION_SERVICE", _END, req)
        t += 1
        self._emit(t, "HTTP_STREAM_REQUEST", _BEGIN, req)
        # A request failing while connecting made a new connection; others reuse a live one.
        connecting = attempt.fails(*_CONNECT_STAGES)
        session = None if connecting else self._sessions.get(attempt.origin)
        if session is not None:
            self._emit(
                t,
                "HTTP2_SESSION_POOL_FOUND_EXISTING_SESSION",
                _NONE,
                req,
                source_dependency=self._dep(session),
            )
        else:
            t = self._connect(req, t, attempt)
        if connecting:
            self._emit(t, "HTTP_STREAM_REQUEST", _END, req, net_error=code)
            if fail_at == "cert":
                self._emit(t, "URL_REQUEST_DELEGATE_SSL_CERTIFICATE_ERROR", _BEGIN, req)
                t += 1
                self._emit(t, "URL_REQUEST_DELEGATE_SSL_CERTIFICATE_ERROR", _END, req)
        else:
            self._emit(t, "HTTP_STREAM_REQUEST", _END, req)
            t = self._transaction(req, t, attempt)
        self._emit(t, "URL_REQUEST_START_JOB", _END, req, **attempt.error)
        self._emit(t, "REQUEST_ALIVE", _END, req, **attempt.error)
        self._clock = when + timedelta(milliseconds=t - self._tick(when))
        return req.id

    def _durations(self, name: str, given: Mapping[str, float]) -> dict[str, int]:
        rng = self.rng
        ms = {
            "dns": rng.uniform(2, 60),
            "connect": rng.uniform(15, 70),
            "ssl": rng.uniform(30, 140),
            "cert": rng.uniform(2, 25),
            "wait": rng.uniform(30, 320),
            "fail": _FAIL_MS.get(name) or rng.uniform(5, 90),
        }
        ms.update(given)
        return {k: max(1, round(v)) for k, v in ms.items()}

    def _connect(self, req: _Source, t: int, a: _Attempt) -> int:
        """Log the stream job, connect job, resolver, socket and TLS; return the tick after."""
        job = self._source("HTTP_STREAM_JOB", t)
        self._emit(
            t,
            "HTTP_STREAM_JOB",
            _BEGIN,
            job,
            expect_spdy=False,
            priority="MEDIUM",
            original_url=f"{a.scheme}://{a.host}/",
            url=f"{a.scheme}://{a.host}/",
            source_dependency=self._dep(req),
            using_quic=False,
        )
        self._emit(
            t, "HTTP_STREAM_REQUEST_BOUND_TO_JOB", _NONE, req, source_dependency=self._dep(job)
        )
        connect = self._source(
            "SSL_CONNECT_JOB" if a.scheme == "https" else "TRANSPORT_CONNECT_JOB", t
        )
        self._emit(
            t, "SOCKET_POOL_BOUND_TO_CONNECT_JOB", _NONE, job, source_dependency=self._dep(connect)
        )
        self._emit(
            t,
            "CONNECT_JOB",
            _BEGIN,
            connect,
            group_id=f"{a.origin} <https://{_site(a.host)} same_site>",
        )
        self._emit(t, "TRANSPORT_CONNECT_JOB_CONNECT", _BEGIN, connect)
        t, sock = self._transport(connect, t, a)
        if sock is not None and not a.fails("tcp", "proxy"):
            if self.proxy:
                t = self._tunnel(sock, t, a)
            if a.scheme == "https" and not a.fails("tunnel"):
                t = self._handshake(sock, t, a)
        if a.fails(*_CONNECT_STAGES):
            if sock is not None:
                self._emit(t, "SOCKET_ALIVE", _END, sock)
            self._emit(t, "CONNECT_JOB", _END, connect, net_error=a.code)
            self._emit(t, "HTTP_STREAM_JOB", _END, job, net_error=a.code)
            return t
        assert sock is not None
        self._emit(t, "CONNECT_JOB", _END, connect)
        self._emit(t, "SOCKET_POOL_BOUND_TO_SOCKET", _NONE, job, source_dependency=self._dep(sock))
        self._emit(t, "HTTP_STREAM_JOB", _END, job)
        if a.scheme == "https":
            session = self._source("HTTP2_SESSION", t)
            self._emit(
                t, "HTTP2_SESSION", _BEGIN, session, host=f"{a.host}:{a.port}", proxy="DIRECT"
            )
            self._emit(
                t,
                "HTTP2_SESSION_INITIALIZED",
                _NONE,
                session,
                protocol="h2",
                source_dependency=self._dep(sock),
            )
            self._sessions[a.origin] = session
        return t

    def _transport(self, connect: _Source, t: int, a: _Attempt) -> tuple[int, _Source | None]:
        """Resolve and TCP-connect (to the proxy, if any); return the tick and the socket."""
        host, port = self.proxy.rsplit(":", 1) if self.proxy else (a.host, str(a.port))
        if host.replace(".", "").isdigit() or ":" in host:
            addresses: list[str] | None = [host]
        else:
            t, addresses = self._resolve(connect, t, host, int(port), a)
        if addresses is None:
            self._emit(t, "TRANSPORT_CONNECT_JOB_CONNECT", _END, connect, net_error=a.code)
            return t, None
        sock = self._source("SOCKET", t)
        remote = f"{addresses[0]}:{port}"
        self._emit(t, "SOCKET_ALIVE", _BEGIN, sock, source_dependency=self._dep(connect))
        self._emit(
            t, "TCP_CONNECT", _BEGIN, sock, address_list=[f"{ip}:{port}" for ip in addresses]
        )
        self._emit(t, "TCP_CONNECT_ATTEMPT", _BEGIN, sock, address=remote)
        if a.fails("tcp", "proxy"):
            t += a.ms["fail"]
            kind = {-118: "timeout", -109: "unreachable"}.get(a.code, "refused")
            tcp_code = a.code if a.fail_at == "tcp" else NET_ERRORS["ERR_CONNECTION_REFUSED"]
            self._emit(t, "TCP_CONNECT_ATTEMPT", _END, sock, os_error=self._os_errors[kind])
            self._emit(t, "TCP_CONNECT", _END, sock, net_error=tcp_code)
            self._emit(t, "TRANSPORT_CONNECT_JOB_CONNECT", _END, connect, net_error=tcp_code)
            return t, sock
        t += a.ms["connect"]
        self._next_port += 1
        self._emit(t, "TCP_CONNECT_ATTEMPT", _END, sock)
        self._emit(
            t,
            "TCP_CONNECT",
            _END,
            sock,
            local_address=f"{self.local_ip}:{self._next_port}",
            remote_address=remote,
        )
        self._emit(t, "TRANSPORT_CONNECT_JOB_CONNECT", _END, connect)
        self._emit(t, "CONNECT_JOB_SET_SOCKET", _NONE, connect, source_dependency=self._dep(sock))
        return t, sock

    def _resolve(
        self, connect: _Source, t: int, host: str, port: int, a: _Attempt
    ) -> tuple[int, list[str] | None]:
        """Log a host resolution; return the tick and the addresses (None if it failed)."""
        nak = f"https://{_site(host)}"
        self._emit(
            t,
            "HOST_RESOLVER_MANAGER_REQUEST",
            _BEGIN,
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
            self._emit(t, "HOST_RESOLVER_MANAGER_CACHE_HIT", _NONE, connect, address_list=cached)
            self._emit(t, "HOST_RESOLVER_MANAGER_REQUEST", _END, connect)
            return t, cached
        job = self._source("HOST_RESOLVER_IMPL_JOB", t)
        self._emit(t, "HOST_RESOLVER_MANAGER_CREATE_JOB", _NONE, connect)
        self._emit(
            t, "HOST_RESOLVER_MANAGER_JOB_ATTACH", _NONE, connect, source_dependency=self._dep(job)
        )
        self._emit(
            t,
            "HOST_RESOLVER_MANAGER_JOB",
            _BEGIN,
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
            _NONE,
            job,
            priority="MEDIUM",
            source_dependency=self._dep(connect),
        )
        self._emit(t, "HOST_RESOLVER_MANAGER_JOB_STARTED", _NONE, job)
        self._emit(t, "HOST_RESOLVER_DNS_TASK", _BEGIN, job, secure=False)
        if failing:
            # Chrome's own resolver gives up, then the system resolver fails too.
            t += a.ms["fail"]
            self._emit(t, "HOST_RESOLVER_DNS_TASK", _END, job, dns_error=a.code, net_error=a.code)
            self._emit(t, "HOST_RESOLVER_SYSTEM_TASK", _BEGIN, job)
            self._emit(
                t,
                "HOST_RESOLVER_SYSTEM_TASK",
                _END,
                job,
                net_error=a.code,
                os_error=self._os_errors["dns"],
            )
            self._emit(t, "HOST_RESOLVER_MANAGER_JOB", _END, job, net_error=a.code)
            self._emit(t, "HOST_RESOLVER_MANAGER_REQUEST", _END, connect, net_error=a.code)
            return t, None
        t += a.ms["dns"]
        addresses = [
            a.address
            or SERVICE_IPS.get(host, ("",))[0]
            or f"198.51.100.{self.rng.randrange(2, 250)}"
        ]
        self._dns[host] = addresses
        self._emit(t, "HOST_RESOLVER_DNS_TASK", _END, job, address_list=addresses)
        self._emit(t, "HOST_RESOLVER_MANAGER_JOB", _END, job, address_list=addresses)
        self._emit(t, "HOST_RESOLVER_MANAGER_REQUEST", _END, connect)
        return t, addresses

    def _tunnel(self, sock: _Source, t: int, a: _Attempt) -> int:
        """Log the proxy CONNECT exchange; a failing tunnel is answered 403."""
        target = f"{a.host}:{a.port}"
        self._emit(t, "HTTP_TRANSACTION_TUNNEL_SEND_REQUEST", _BEGIN, sock)
        self._emit(
            t,
            "HTTP_TRANSACTION_SEND_TUNNEL_HEADERS",
            _NONE,
            sock,
            headers=[
                f"Host: {target}",
                "Proxy-Connection: keep-alive",
                f"User-Agent: {self.user_agent}",
            ],
            line=f"CONNECT {target} HTTP/1.1\r\n",
        )
        self._emit(t, "HTTP_TRANSACTION_TUNNEL_SEND_REQUEST", _END, sock)
        self._emit(t, "HTTP_TRANSACTION_TUNNEL_READ_HEADERS", _BEGIN, sock)
        failing = a.fails("tunnel")
        t += a.ms["fail"] if failing else a.ms["dns"]
        line = "HTTP/1.1 200 Connection established"
        if failing:
            line = "HTTP/1.1 403 Forbidden" if a.code == -111 else "HTTP/1.1 502 Bad Gateway"
        self._emit(t, "HTTP_TRANSACTION_READ_TUNNEL_RESPONSE_HEADERS", _NONE, sock, headers=[line])
        self._emit(
            t,
            "HTTP_TRANSACTION_TUNNEL_READ_HEADERS",
            _END,
            sock,
            **({"net_error": a.code} if failing else {}),
        )
        return t

    def _handshake(self, sock: _Source, t: int, a: _Attempt) -> int:
        """Log the TLS handshake and certificate verification; return the tick after."""
        self._emit(t, "SSL_CONNECT", _BEGIN, sock)
        if a.fails("ssl"):
            t += a.ms["fail"]
            self._emit(
                t,
                "SSL_HANDSHAKE_ERROR",
                _NONE,
                sock,
                error_lib=16,
                error_reason=1040 if a.code == -113 else 1000,
                line=1042,
                net_error=a.code,
                file="../../third_party/boringssl/src/ssl/handshake_client.cc",
                ssl_error=1,
            )
            self._emit(t, "SSL_CONNECT", _END, sock, net_error=a.code, ssl_error=1)
            return t
        t += a.ms["ssl"]
        given = a.certificates or [_placeholder_pem(self.rng) for _ in range(2)]
        pems = [_pem(c) if isinstance(c, bytes) else c for c in given]
        self._emit(t, "SSL_CERTIFICATES_RECEIVED", _NONE, sock, certificates=pems)
        verifier = self._source("CERT_VERIFIER_JOB", t)
        self._emit(t, "CERT_VERIFIER_REQUEST", _BEGIN, sock)
        self._emit(t, "CERT_VERIFIER_JOB", _BEGIN, verifier, certificates=pems, host=a.host)
        self._emit(
            t,
            "CERT_VERIFIER_REQUEST_BOUND_TO_JOB",
            _NONE,
            sock,
            source_dependency=self._dep(verifier),
        )
        failing = a.fails("cert")
        status = a.cert_status
        if status is None:
            status = _CERT_STATUS_OF.get(_name_of(a.code), CERT_STATUS["INVALID"]) if failing else 0
        t += a.ms["cert"]
        result = a.error if failing else {}
        self._emit(
            t,
            "CERT_VERIFIER_JOB",
            _END,
            verifier,
            cert_status=status,
            has_sha1=False,
            is_issued_by_known_root=not failing,
            verified_cert={"certificates": pems},
            **result,
        )
        self._emit(t, "CERT_VERIFIER_REQUEST", _END, sock, **result)
        if failing:
            self._emit(t, "SSL_CONNECT", _END, sock, **result)
        else:
            self._emit(
                t,
                "SSL_CONNECT",
                _END,
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

    def _transaction(self, req: _Source, t: int, a: _Attempt) -> int:
        """Log sending the request and reading the response headers; return the tick after."""
        headers = [
            f":method: {a.method}",
            f":authority: {a.netloc}",
            f":scheme: {a.scheme}",
            f":path: {a.path}",
            "accept: */*",
            "accept-encoding: gzip, deflate, br, zstd",
            "accept-language: zh-CN,zh;q=0.9",
            f"user-agent: {self.user_agent}",
            *(self._header(n, v) for n, v in a.request_headers),
        ]
        self._emit(t, "HTTP_TRANSACTION_SEND_REQUEST", _BEGIN, req)
        if a.scheme == "https":
            self._emit(
                t, "HTTP_TRANSACTION_HTTP2_SEND_REQUEST_HEADERS", _NONE, req, headers=headers
            )
        else:
            self._emit(
                t,
                "HTTP_TRANSACTION_SEND_REQUEST_HEADERS",
                _NONE,
                req,
                headers=[f"Host: {a.netloc}", *headers[4:]],
                line=f"{a.method} {a.path} HTTP/1.1\r\n",
            )
        self._emit(t, "HTTP_TRANSACTION_SEND_REQUEST", _END, req)
        self._emit(t, "HTTP_TRANSACTION_READ_HEADERS", _BEGIN, req)
        if a.code:
            t += a.ms["fail"]
            if a.code == NET_ERRORS["ERR_NETWORK_CHANGED"]:
                self.network_changed(self._moment(t - 1) - self.clock_skew, "WIFI")
            self._emit(t, "HTTP_TRANSACTION_READ_HEADERS", _END, req, net_error=a.code)
            self._sessions.pop(a.origin, None)  # the connection died with the request
            return t
        t += a.ms["wait"]
        self._emit(t, "HTTP_TRANSACTION_READ_HEADERS", _END, req)
        server_time = (self._moment(t) - self.clock_skew).astimezone(UTC)
        lines = [
            f"HTTP/1.1 {a.status}",
            f"date: {server_time:%a, %d %b %Y %H:%M:%S} GMT",
            "content-type: application/json; charset=UTF-8",
        ]
        if a.location:
            lines.append(f"location: {a.location}")
        lines += [self._header(n, v) for n, v in a.response_headers]
        self._emit(t, "HTTP_TRANSACTION_READ_RESPONSE_HEADERS", _NONE, req, headers=lines)
        if a.location and 300 <= a.status < 400:
            self._emit(t, "URL_REQUEST_DELEGATE_RECEIVED_REDIRECT", _BEGIN, req)
            self._emit(t, "URL_REQUEST_DELEGATE_RECEIVED_REDIRECT", _END, req)
            self._emit(t, "URL_REQUEST_REDIRECTED", _NONE, req, location=a.location)
        else:
            self._emit(t, "URL_REQUEST_DELEGATE_RESPONSE_STARTED", _BEGIN, req)
            self._emit(t, "URL_REQUEST_DELEGATE_RESPONSE_STARTED", _END, req)
        return t + self.rng.randrange(0, 4)

    def _header(self, name: str, value: str) -> str:
        name = name.lower()
        if name in _STRIPPED and not self.include_credentials:
            return f"{name}: [{len(value.encode())} bytes were stripped]"
        return f"{name}: {value}"

    def _moment(self, tick: int) -> datetime:
        """The device-clock time of a tick."""
        return self.start + self.clock_skew + timedelta(milliseconds=tick - self._tick0)

    # ---------------------------------------------------------------- output

    def constants(self) -> dict[str, Any]:
        """Return the ``constants`` block: type tables, error codes, clock offset, client."""
        build, patch = [*self.chrome_version.split("."), "0", "0"][2:4]
        return {
            "addressFamily": {
                "ADDRESS_FAMILY_IPV4": 1,
                "ADDRESS_FAMILY_IPV6": 2,
                "ADDRESS_FAMILY_UNSPECIFIED": 0,
            },
            "certStatusFlag": CERT_STATUS,
            "clientInfo": {
                "cl": f"refs/branch-heads/{build}@{{#{patch}}}",
                "command_line": '"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe" '
                "--flag-switches-begin --flag-switches-end",
                "name": self.product,
                "official": "official",
                "os_type": self.os_type,
                "version": self.chrome_version,
                "version_mod": "",
            },
            "dnsQueryType": {
                "A": 1,
                "AAAA": 2,
                "HTTPS": 5,
                "PTR": 4,
                "SRV": 6,
                "TXT": 3,
                "UNSPECIFIED": 0,
            },
            "logEventPhase": PHASES,
            "logEventTypes": self.event_types,
            "logFormatVersion": 1,
            "logSourceType": self.source_types,
            "netError": NET_ERRORS,
            "secureDnsMode": {"Automatic": 1, "Off": 0, "Secure": 2},
            "timeTickOffset": str(self._wall0_ms - self._tick0),
        }

    def events(self) -> list[dict[str, Any]]:
        """Return the events in time order as JSON-ready dicts."""
        out = []
        for tick, _, name, phase, source, params in sorted(self._events, key=lambda e: e[:2]):
            event: dict[str, Any] = {"params": params} if params else {}
            event["phase"] = phase
            event["source"] = {
                "id": source.id,
                "start_time": str(source.start),
                "type": self.source_types[source.kind],
            }
            event["time"] = str(tick)
            event["type"] = self.event_types[name]
            out.append(event)
        return out

    def polled_data(self) -> dict[str, Any]:
        """Return the ``polledData`` block Chrome adds when a capture is stopped cleanly."""
        proxy = {"single_proxy": self.proxy} if self.proxy else {}
        return {"proxySettings": {"effective": proxy, "original": proxy}}

    def to_dict(self) -> dict[str, Any]:
        """Return the complete capture as one dict."""
        return {
            "constants": self.constants(),
            "events": self.events(),
            "polledData": self.polled_data(),
        }

    def to_bytes(self, truncate: bool = False, cut_last_event: bool = False) -> bytes:
        """Return the file as Chrome writes it, one event per line.

        ``truncate`` leaves it as an interrupted capture does: every event line ends
        with ``,`` and the closing ``]``, ``polledData`` and ``}`` never come;
        ``cut_last_event`` also cuts the last event part way through.
        """
        dump = _JSON.encode
        head = '{"constants":' + dump(self.constants()) + ',\n"events": [\n'
        lines = [dump(event) for event in self.events()]
        if not truncate and not cut_last_event:
            tail = '],\n"polledData": ' + dump(self.polled_data()) + "\n}\n"
            return (head + ",\n".join(lines) + tail).encode("utf-8")
        text = head + "".join(line + ",\n" for line in lines)
        if cut_last_event and lines:
            text = text[: len(text) - 2 - len(lines[-1]) // 3]
        return text.encode("utf-8")

    def write(self, path: str | Path, truncate: bool = False, cut_last_event: bool = False) -> Path:
        """Write ``to_bytes(...)`` to ``path`` and return it."""
        target = Path(path)
        target.write_bytes(self.to_bytes(truncate, cut_last_event))
        return target


def _name_of(code: int) -> str:
    return next((name for name, value in NET_ERRORS.items() if value == code), "")
