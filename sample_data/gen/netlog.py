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

import json
import random
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sample_data.gen.netlog_connect import Attempt, ConnectStages, Source, site_of
from sample_data.gen.netlog_tables import (
    BEGIN,
    CERT_STATUS,
    CONNECT_STAGES,
    END,
    NET_ERRORS,
    NONE,
    OS_ERRORS,
    PHASES,
    RENAMED_IN,
    STAGES,
    type_tables,
)

__all__ = [
    "CERT_STATUS",
    "CHROME_VERSION",
    "NET_ERRORS",
    "PHASES",
    "STAGES",
    "NetLog",
    "net_error",
]

CHROME_VERSION = "124.0.6367.208"

# Milliseconds a failing stage takes where it is a timeout rather than an answer.
_FAIL_MS = {"ERR_CONNECTION_TIMED_OUT": 21_040, "ERR_TIMED_OUT": 30_000, "ERR_DNS_TIMED_OUT": 5_010}

# Chrome's JSON writer sorts keys and adds no spaces.
_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
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


class NetLog(ConnectStages):
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
        self.event_types, self.source_types = type_tables(major)
        self._old_names = major < RENAMED_IN
        system = os_type.lower()
        self._os_errors = OS_ERRORS[
            "windows" if "windows" in system else "mac" if "mac" in system else "linux"
        ]
        # Ticks count milliseconds since boot; timeTickOffset turns them into wall time.
        self._tick0 = self.rng.randrange(3_600_000, 900_000_000)
        self._wall0_ms = round((start + clock_skew).timestamp() * 1000)
        self._next_source = self.rng.randrange(40, 4000)
        self._events: list[tuple[int, int, str, int, Source, dict[str, Any]]] = []
        self._sessions: dict[str, Source] = {}  # origin → its HTTP/2 session
        self._dns: dict[str, list[str]] = {}
        self._clock = start
        self._next_port = self.rng.randrange(49_200, 60_000)

    # ------------------------------------------------------------- recording

    def _tick(self, moment: datetime) -> int:
        return self._tick0 + round((moment - self.start).total_seconds() * 1000)

    def network_changed(self, at: datetime, connection_type: str = "NONE") -> None:
        """Log the OS telling Chrome the network changed (``NONE``: it went offline)."""
        tick = self._tick(at)
        none = Source(0, "NONE", tick)
        self._emit(tick, "NETWORK_IP_ADDRESSES_CHANGED", NONE, none)
        self._emit(
            tick, "NETWORK_CONNECTIVITY_CHANGED", NONE, none, new_connection_type=connection_type
        )
        self._emit(tick + 1, "NETWORK_CHANGED", NONE, none, new_connection_type=connection_type)
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
        attempt = Attempt(
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
        site = f"https://{site_of(attempt.host)}"
        self._emit(t, "REQUEST_ALIVE", BEGIN, req, priority="MEDIUM", traffic_annotation=63171670)
        self._emit(
            t,
            "URL_REQUEST_START_JOB",
            BEGIN,
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
        self._emit(t, "PROXY_RESOLUTION_SERVICE", BEGIN, req)
        proxy_info = f"PROXY {self.proxy}" if self.proxy else "DIRECT"
        self._emit(
            t, "PROXY_RESOLUTION_SERVICE_RESOLVED_PROXY_LIST", NONE, req, proxy_info=proxy_info
        )
        self._emit(t, "PROXY_RESOLUTION_SERVICE", END, req)
        t += 1
        self._emit(t, "HTTP_STREAM_REQUEST", BEGIN, req)
        # A request failing while connecting made a new connection; others reuse a live one.
        connecting = attempt.fails(*CONNECT_STAGES)
        session = None if connecting else self._sessions.get(attempt.origin)
        if session is not None:
            self._emit(
                t,
                "HTTP2_SESSION_POOL_FOUND_EXISTING_SESSION",
                NONE,
                req,
                source_dependency=self._dep(session),
            )
        else:
            t = self._connect(req, t, attempt)
        if connecting:
            self._emit(t, "HTTP_STREAM_REQUEST", END, req, net_error=code)
            if fail_at == "cert":
                self._emit(t, "URL_REQUEST_DELEGATE_SSL_CERTIFICATE_ERROR", BEGIN, req)
                t += 1
                self._emit(t, "URL_REQUEST_DELEGATE_SSL_CERTIFICATE_ERROR", END, req)
        else:
            self._emit(t, "HTTP_STREAM_REQUEST", END, req)
            t = self._transaction(req, t, attempt)
        self._emit(t, "URL_REQUEST_START_JOB", END, req, **attempt.error)
        self._emit(t, "REQUEST_ALIVE", END, req, **attempt.error)
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

    def _transaction(self, req: Source, t: int, a: Attempt) -> int:
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
        self._emit(t, "HTTP_TRANSACTION_SEND_REQUEST", BEGIN, req)
        if a.scheme == "https":
            self._emit(t, "HTTP_TRANSACTION_HTTP2_SEND_REQUEST_HEADERS", NONE, req, headers=headers)
        else:
            self._emit(
                t,
                "HTTP_TRANSACTION_SEND_REQUEST_HEADERS",
                NONE,
                req,
                headers=[f"Host: {a.netloc}", *headers[4:]],
                line=f"{a.method} {a.path} HTTP/1.1\r\n",
            )
        self._emit(t, "HTTP_TRANSACTION_SEND_REQUEST", END, req)
        self._emit(t, "HTTP_TRANSACTION_READ_HEADERS", BEGIN, req)
        if a.code:
            t += a.ms["fail"]
            if a.code == NET_ERRORS["ERR_NETWORK_CHANGED"]:
                self.network_changed(self._moment(t - 1) - self.clock_skew, "WIFI")
            self._emit(t, "HTTP_TRANSACTION_READ_HEADERS", END, req, net_error=a.code)
            self._sessions.pop(a.origin, None)  # the connection died with the request
            return t
        t += a.ms["wait"]
        self._emit(t, "HTTP_TRANSACTION_READ_HEADERS", END, req)
        server_time = (self._moment(t) - self.clock_skew).astimezone(UTC)
        lines = [
            f"HTTP/1.1 {a.status}",
            f"date: {server_time:%a, %d %b %Y %H:%M:%S} GMT",
            "content-type: application/json; charset=UTF-8",
        ]
        if a.location:
            lines.append(f"location: {a.location}")
        lines += [self._header(n, v) for n, v in a.response_headers]
        self._emit(t, "HTTP_TRANSACTION_READ_RESPONSE_HEADERS", NONE, req, headers=lines)
        if a.location and 300 <= a.status < 400:
            self._emit(t, "URL_REQUEST_DELEGATE_RECEIVED_REDIRECT", BEGIN, req)
            self._emit(t, "URL_REQUEST_DELEGATE_RECEIVED_REDIRECT", END, req)
            self._emit(t, "URL_REQUEST_REDIRECTED", NONE, req, location=a.location)
        else:
            self._emit(t, "URL_REQUEST_DELEGATE_RESPONSE_STARTED", BEGIN, req)
            self._emit(t, "URL_REQUEST_DELEGATE_RESPONSE_STARTED", END, req)
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
