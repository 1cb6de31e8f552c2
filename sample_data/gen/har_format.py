"""HAR tables and pure helpers: service data, browser layouts, times, headers, cookies, JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote_plus, urlsplit

CHROME_VERSION = "124.0.6367.208"
FIREFOX_VERSION = "126.0.1"

# Short texts the WeCom API puts before ", hint: [...]" in errmsg (paraphrased, per errcode).
WECOM_ERRMSG: dict[int, str] = {
    -1: "system busy",
    0: "ok",
    40001: "invalid credential",
    40013: "invalid corpid",
    40014: "invalid access_token",
    40029: "invalid code",
    40082: "invalid suite_token",
    42001: "access_token expired",
    42022: "code has been used",
    45009: "api freq out of limit",
    48002: "api forbidden",
    50001: "redirect_url not authorised",
    50002: "user out of agent privilege",
    60011: "no privilege to access/modify contact/party/agent",
    60020: "not allow to access from your ip",
    60111: "userid not found",
    80001: "unverified domain",
    84014: "user ticket expired",
    84015: "invalid user ticket",
    301002: "not allow operate another agent with this accesstoken",
}

# Where the service's names resolve when nothing interferes (the quickstart bundle uses the
# same addresses); the first is the one a browser ends up on. The NetLog and log builders
# share this table, so one bundle's sources agree. Unknown hosts get documentation addresses.
SERVICE_IPS: dict[str, tuple[str, ...]] = {
    "login.work.weixin.qq.com": ("109.244.194.101", "109.244.194.102"),
    "open.work.weixin.qq.com": ("109.244.194.103", "109.244.194.104"),
    "work.weixin.qq.com": ("109.244.194.98", "109.244.194.99"),
    "i.work.weixin.qq.com": ("109.244.194.120", "109.244.194.121"),
    "qyapi.weixin.qq.com": ("101.91.42.232", "101.91.42.233"),
    "open.weixin.qq.com": ("109.244.217.68",),
    "wwcdn.weixin.qq.com": ("183.3.226.35", "183.3.226.36"),
    "res.wx.qq.com": ("183.3.226.40",),
    "dldir1.qq.com": ("121.51.18.74", "121.51.18.75"),
}


Header = tuple[str, str]
# A cookie is ``(name, value)`` or a mapping with name, value and optional path, domain,
# expires (datetime), httpOnly, secure, sameSite.
Cookie = tuple[str, str] | Mapping[str, Any]


CHROME_CREATOR = {"name": "WebInspector", "version": "537.36"}
CHROME_TIMINGS = ("blocked", "dns", "ssl", "connect", "send", "wait", "receive")
FIREFOX_TIMINGS = ("blocked", "dns", "connect", "ssl", "send", "wait", "receive")
FIREFOX_REQUEST_KEYS = (
    "bodySize",
    "method",
    "url",
    "httpVersion",
    "headers",
    "cookies",
    "queryString",
    "headersSize",
)
HTTP_VERSIONS = {
    (True, "https"): "http/2.0", (True, "http"): "http/1.1",
    (False, "https"): "HTTP/2", (False, "http"): "HTTP/1.1",
}  # fmt: skip
ACCEPT_HTML = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
    "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
)


def iso_utc(moment: datetime) -> str:
    """``moment`` as Chrome writes it: UTC, milliseconds, ``Z``."""
    moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def iso_local(moment: datetime) -> str:
    """``moment`` as Firefox writes it: local time, milliseconds, UTC offset."""
    offset = moment.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    minutes = abs(minutes)
    return (
        f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}"
        f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    )


def json_number(value: float) -> float | int:
    """Round to microseconds and write integral values as integers, as JSON.stringify does."""
    value = round(float(value), 3)
    return int(value) if value.is_integer() else value


def reason_phrase(status: int) -> str:
    """The standard reason phrase of ``status``, or "" for an unknown code."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def cookie_dict(cookie: Cookie) -> dict[str, Any]:
    """A cookie given as ``(name, value)`` or a mapping, as a new dict."""
    if isinstance(cookie, tuple):
        return {"name": cookie[0], "value": cookie[1]}
    return dict(cookie)


def cookie_entry(cookie: dict[str, Any], host: str, full: bool) -> dict[str, Any]:
    """A cookie as the browser lists it; Firefox lists only name and value of sent ones."""
    if not full:
        return {"name": cookie["name"], "value": cookie["value"]}
    out = {
        "name": cookie["name"],
        "value": cookie["value"],
        "path": cookie.get("path", "/"),
        "domain": cookie.get("domain", host),
    }
    expires = cookie.get("expires")
    if expires is not None:
        out["expires"] = iso_utc(expires) if isinstance(expires, datetime) else expires
    out["httpOnly"] = bool(cookie.get("httpOnly", False))
    out["secure"] = bool(cookie.get("secure", True))
    if "sameSite" in cookie:
        out["sameSite"] = cookie["sameSite"]
    return out


def query_pairs(query: str, decode: bool) -> list[dict[str, str]]:
    """``name=value`` pairs as listed; ``decode`` for Firefox, which shows decoded values."""
    pairs = []
    for item in query.split("&") if query else []:
        name, _, value = item.partition("=")
        if decode:
            name, value = unquote_plus(name), unquote_plus(value)
        pairs.append({"name": name, "value": value})
    return pairs


def encode_body(
    value: str | Mapping[str, Any] | None, mime: str | None, text_mime: str
) -> tuple[str | None, str]:
    """A body as text and its MIME type: mappings become compact JSON."""
    if value is None:
        return None, mime or ""
    if isinstance(value, Mapping):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")), mime or (
            "application/json"
        )
    return value, mime or text_mime


def header_bytes(first_line: str, headers: Sequence[Header]) -> int:
    """The size of a head: its first line and ``headers``, CRLFs included."""
    return len(first_line) + 2 + sum(len(n) + len(v) + 4 for n, v in headers) + 2


def with_charset(mime: str) -> str:
    """``mime`` with ``charset=UTF-8`` added to JSON and text types that lack one."""
    if mime.startswith(("application/json", "text/")) and "charset" not in mime:
        return mime + "; charset=UTF-8"
    return mime


def set_cookie_header(cookie: Mapping[str, Any]) -> str:
    """The ``Set-Cookie`` value that sets ``cookie``."""
    text = f"{cookie['name']}={cookie['value']}"
    if "domain" in cookie:
        text += f"; Domain={cookie['domain']}"
    text += f"; Path={cookie.get('path', '/')}"
    expires = cookie.get("expires")
    if isinstance(expires, datetime):
        text += "; Expires=" + format_datetime(expires.astimezone(UTC), usegmt=True)
    if cookie.get("secure", True):
        text += "; Secure"
    if cookie.get("httpOnly"):
        text += "; HttpOnly"
    if "sameSite" in cookie:
        text += f"; SameSite={cookie['sameSite']}"
    return text


def estimate_transfer(headers: Sequence[Header], body_bytes: int) -> int:
    """Bytes on the wire for a response with these headers and body size."""
    # HPACK shrinks headers to roughly a third; bodies travel as they are.
    return sum(len(n) + len(v) + 4 for n, v in headers) // 3 + body_bytes + 9


_quote = json.encoder.encode_basestring  # C-accelerated, non-ASCII kept as is


def indented(value: Any, pad: str, out: list[str]) -> None:
    """Append ``value`` as JSON indented by two spaces per level to ``out``."""
    if isinstance(value, str):
        out.append(_quote(value))
    elif value is None or isinstance(value, bool):
        out.append("null" if value is None else "true" if value else "false")
    elif isinstance(value, int | float):
        out.append(repr(value))
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner = pad + "  "
        if all(type(item) is str for item in value.values()):  # headers, cookies: the bulk
            pairs = ",\n".join(f"{inner}{_quote(k)}: {_quote(v)}" for k, v in value.items())
            out.append(f"{{\n{pairs}\n{pad}}}")
            return
        separator = "{\n"
        for key, item in value.items():
            out.append(f"{separator}{inner}{_quote(key)}: ")
            indented(item, inner, out)
            separator = ",\n"
        out.append(f"\n{pad}}}")
    else:
        if not value:
            out.append("[]")
            return
        inner = pad + "  "
        separator = "[\n"
        for item in value:
            out.append(separator + inner)
            indented(item, inner, out)
            separator = ",\n"
        out.append(f"\n{pad}]")


@dataclass
class Exchange:
    """One entry's request and response as the caller described them."""

    method: str
    url: str
    started: datetime
    status: int
    status_text: str | None
    version: str
    request_headers: Sequence[Header]
    response_headers: Sequence[Header]
    cookies: list[dict[str, Any]]
    set_cookies: list[dict[str, Any]]
    post: str | None
    post_mime: str
    body: str
    mime: str
    redirect_url: str
    error: str | None

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        self.scheme, self.host, self.netloc, self.query = (
            parts.scheme,
            parts.hostname or "",
            parts.netloc,
            parts.query,
        )
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    @property
    def failed(self) -> bool:
        return self.status == 0

    @property
    def http1(self) -> bool:
        return self.version.upper().startswith("HTTP/1")

    @property
    def origin(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


def chrome_entry(
    started: str,
    request: dict[str, Any],
    response: dict[str, Any],
    times: Mapping[str, float],
    total: float,
    ip: str,
    connection: str | None,
    pageref: str | None,
    kind: str,
    initiator: Mapping[str, Any] | None,
    priority: str | None,
    from_cache: str | None,
) -> dict[str, Any]:
    """An entry in Chrome's layout, with DevTools' ``_`` extras."""
    entry: dict[str, Any] = {"_fromCache": from_cache} if from_cache else {}
    entry["_initiator"] = dict(initiator) if initiator else {"type": "other"}
    entry["_priority"] = priority or ("VeryHigh" if kind == "document" else "High")
    entry["_resourceType"] = kind
    entry["cache"] = {}
    if connection is not None:
        entry["connection"] = connection
    if pageref:
        entry["pageref"] = pageref
    timings: dict[str, float | int] = {k: json_number(times[k]) for k in CHROME_TIMINGS}
    timings["_blocked_queueing"] = json_number(times["blocked"] * 0.8)
    entry.update(
        request=request,
        response=response,
        serverIPAddress=ip,
        startedDateTime=started,
        time=json_number(total),
        timings=timings,
    )
    return entry


def firefox_entry(
    x: Exchange,
    started: str,
    request: dict[str, Any],
    response: dict[str, Any],
    times: Mapping[str, float],
    total: float,
    ip: str,
    connection: str | None,
    pageref: str | None,
) -> dict[str, Any]:
    """An entry in Firefox's layout and key order."""
    entry: dict[str, Any] = {"pageref": pageref} if pageref else {}
    entry.update(
        startedDateTime=started,
        request=request,
        response=response,
        cache={},
        timings={k: int(times[k]) for k in FIREFOX_TIMINGS},
        time=round(total),
    )
    if x.error is None:
        entry["_securityState"] = "secure" if x.scheme == "https" else "insecure"
        entry["serverIPAddress"] = ip
        if connection is not None:
            entry["connection"] = connection
    else:
        broken = "CERT" in x.error or "SSL" in x.error
        entry["_securityState"] = "broken" if broken else "insecure"
    return entry
