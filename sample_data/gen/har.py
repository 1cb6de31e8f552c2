"""HAR 1.2 files shaped the way Chrome DevTools and Firefox export them.

``Har`` collects pages and entries and writes them with each browser's
quirks: Chrome's ``_initiator``/``_priority``/``_resourceType``/
``_transferSize``/``_error`` extras, UTC ``startedDateTime`` and provisional
request headers on failed requests; Firefox's ``browser`` block, local-time
``startedDateTime`` with an offset, integer timings and no ``_error``.
Everything comes from the seeded ``random.Random`` and the datetimes passed
in, so the same calls give the same bytes.

Datetimes passed in are true (server) times; ``clock_skew`` shifts what the
device writes (``startedDateTime``) but not the server's ``Date`` header.
"""

from __future__ import annotations

import random
import string
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sample_data.gen.har_format import (
    ACCEPT_HTML,
    CHROME_CREATOR,
    CHROME_VERSION,
    FIREFOX_REQUEST_KEYS,
    FIREFOX_VERSION,
    HTTP_VERSIONS,
    SERVICE_IPS,
    WECOM_ERRMSG,
    Cookie,
    Exchange,
    Header,
    chrome_entry,
    cookie_dict,
    cookie_entry,
    encode_body,
    estimate_transfer,
    firefox_entry,
    header_bytes,
    indented,
    iso_local,
    iso_utc,
    json_number,
    query_pairs,
    reason_phrase,
    set_cookie_header,
    with_charset,
)

__all__ = [
    "CHROME_VERSION",
    "FIREFOX_VERSION",
    "SERVICE_IPS",
    "WECOM_ERRMSG",
    "Cookie",
    "Har",
    "Header",
    "bearer",
    "secret",
    "wecom_cookies",
    "wecom_error",
]

_TOKEN_CHARS = string.ascii_letters + string.digits + "-_"
_HEX = "0123456789abcdef"


def secret(rng: random.Random, length: int = 32, alphabet: str = _TOKEN_CHARS) -> str:
    """Return a token-looking random string (access tokens, codes, session ids)."""
    return "".join(rng.choices(alphabet, k=length))


def bearer(rng: random.Random) -> str:
    """Return an ``Authorization`` value: ``Bearer`` and a random token."""
    return "Bearer " + secret(rng, 43)


def wecom_cookies(rng: random.Random, corp_id: str = "ww1a2b3c4d5e6f7a8b") -> list[Cookie]:
    """Return the session cookies a WeCom web login sets on ``.work.weixin.qq.com``."""
    domain = ".work.weixin.qq.com"
    return [
        {"name": "wwrtx.sid", "value": secret(rng, 64), "domain": domain, "httpOnly": True},
        {"name": "wwrtx.vst", "value": secret(rng, 88), "domain": domain, "httpOnly": True},
        {"name": "wwrtx.d2st", "value": "a" + secret(rng, 7, string.digits), "domain": domain},
        {"name": "wwrtx.ltype", "value": "1", "domain": domain},
        {"name": "wxpay.corpid", "value": corp_id, "domain": domain},
    ]


def wecom_error(
    errcode: int,
    rng: random.Random,
    *,
    from_ip: str | None = "203.0.113.77",
    at: datetime | None = None,
    errmsg: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Return a WeCom API error body ``{"errcode", "errmsg", ...}`` with its hint and help link.

    ``at`` (server time) goes into the hint the way the service stamps it.
    """
    text = errmsg if errmsg is not None else WECOM_ERRMSG.get(errcode, "unknown error")
    if errcode != 0:
        stamp = (
            int(at.timestamp()) if at is not None else rng.randrange(1_700_000_000, 1_760_000_000)
        )
        text += f", hint: [{stamp}_{rng.randrange(1, 99)}_{secret(rng, 32, _HEX)}]"
        if from_ip:
            text += f", from ip: {from_ip}"
        text += f", more info at https://open.work.weixin.qq.com/devtool/query?e={errcode}"
    return {"errcode": errcode, "errmsg": text, **extra}


def _rng(seed: random.Random | int) -> random.Random:
    return seed if isinstance(seed, random.Random) else random.Random(seed)


class Har:
    """A HAR log being built: ``page()`` and ``entry()`` add to it, ``to_bytes()`` writes it."""

    def __init__(
        self,
        browser: str = "chrome",
        *,
        rng: random.Random | int = 0,
        start: datetime | None = None,
        version: str | None = None,
        clock_skew: timedelta = timedelta(0),
        tz: tzinfo | None = None,
        user_agent: str | None = None,
        ips: Mapping[str, str] | None = None,
        firefox_ssl_outside_connect: bool = False,
    ) -> None:
        """Start an empty log.

        ``start`` is when the first entry begins if ``entry`` is given no ``started``;
        ``tz`` is the zone Firefox writes local times in (default: each datetime's own);
        ``ips`` maps host names to the address ``serverIPAddress`` shows;
        ``firefox_ssl_outside_connect`` reproduces Firefox's habit of reporting ``ssl``
        outside ``connect`` (and counting it in ``time``) instead of the spec's inclusion.
        """
        if browser not in ("chrome", "firefox"):
            raise ValueError(f"browser must be 'chrome' or 'firefox', not {browser!r}")
        self.browser = browser
        self.chrome = browser == "chrome"
        self.rng = _rng(rng)
        self.version = version or (CHROME_VERSION if self.chrome else FIREFOX_VERSION)
        self.clock_skew = clock_skew
        self.tz = tz
        major = self.version.split(".")[0]
        self.user_agent = user_agent or (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
            f"(KHTML, like Gecko) Chrome/{major}.0.0.0 Safari/537.36"
            if self.chrome
            else f"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{major}.0) "
            f"Gecko/20100101 Firefox/{major}.0"
        )
        self._client_hints = [
            ("sec-ch-ua", f'"Chromium";v="{major}", "Not-A.Brand";v="24"'),
            ("sec-ch-ua-mobile", "?0"),
            ("sec-ch-ua-platform", '"Windows"'),
        ]
        self.ips = {host: found[0] for host, found in SERVICE_IPS.items()} | dict(ips or {})
        self.firefox_ssl_outside_connect = firefox_ssl_outside_connect
        self.pages: list[dict[str, Any]] = []
        self.entries: list[dict[str, Any]] = []
        self._clock = start
        self._connections: dict[str, str] = {}  # origin → Chrome's connection id
        self._next_connection = self.rng.randrange(20_000, 900_000)
        self._jar: dict[tuple[str, str], dict[str, Any]] = {}  # (domain, name) → cookie
        self._origins_seen: set[str] = set()

    def _device_time(self, moment: datetime) -> str:
        local = moment + self.clock_skew
        if self.chrome:
            return iso_utc(local)
        return iso_local(local.astimezone(self.tz) if self.tz else local)

    def page(
        self,
        title: str,
        started: datetime,
        *,
        on_content_load: float | None = None,
        on_load: float | None = None,
    ) -> str:
        """Add a page (a top-level navigation); return its id for ``pageref``."""
        page_id = f"page_{len(self.pages) + 1}"
        content = on_content_load if on_content_load is not None else self.rng.uniform(180, 900)
        loaded = on_load if on_load is not None else content + self.rng.uniform(20, 600)
        if not self.chrome:
            content, loaded = round(content), round(loaded)
        self.pages.append(
            {
                "startedDateTime": self._device_time(started),
                "id": page_id,
                "title": title,
                "pageTimings": {
                    "onContentLoad": json_number(content),
                    "onLoad": json_number(loaded),
                },
            }
        )
        if self._clock is None or started > self._clock:
            self._clock = started
        return page_id

    def entry(
        self,
        method: str,
        url: str,
        *,
        started: datetime | None = None,
        status: int = 200,
        status_text: str | None = None,
        http_version: str | None = None,
        request_headers: Sequence[Header] = (),
        response_headers: Sequence[Header] = (),
        cookies: Sequence[Cookie] | None = None,
        set_cookies: Sequence[Cookie] = (),
        post_data: str | Mapping[str, Any] | None = None,
        post_mime: str | None = None,
        body: str | Mapping[str, Any] | None = None,
        mime_type: str | None = None,
        server_ip: str | None = None,
        connection: str | None = None,
        timings: Mapping[str, float] | None = None,
        redirect_url: str = "",
        error: str | None = None,
        resource_type: str | None = None,
        initiator: Mapping[str, Any] | None = None,
        priority: str | None = None,
        from_cache: str | None = None,
        page: str | None = None,
        server_date: datetime | None = None,
    ) -> dict[str, Any]:
        """Add one request/response pair and return the entry (a dict you may still edit).

        ``error`` (``net::ERR_…`` or ``ERR_…``) makes it a failed request: status 0 and,
        in Chrome, ``_error``. ``cookies`` defaults to what earlier ``Set-Cookie`` headers
        left in the jar for this host; ``body``/``post_data`` mappings are sent as JSON.
        ``started`` defaults to just after the previous entry ended; ``timings`` are
        made up realistically where not given; ``server_date`` sets the ``Date`` header.
        """
        if started is None:
            if self._clock is None:
                raise ValueError("give Har a start time or pass started= to the first entry")
            started = self._clock + timedelta(milliseconds=self.rng.uniform(1, 120))
        if error is not None:
            status, error = 0, error if error.startswith("net::") else "net::" + error
        scheme = urlsplit(url).scheme
        version = http_version or ("" if status == 0 else HTTP_VERSIONS[self.chrome, scheme])
        post, post_type = encode_body(post_data, post_mime, "application/x-www-form-urlencoded")
        text, mime = encode_body(body, mime_type, "text/html")
        x = Exchange(
            method,
            url,
            started,
            status,
            status_text,
            version,
            request_headers,
            response_headers,
            cookies=[],
            set_cookies=[cookie_dict(c) for c in set_cookies],
            post=post,
            post_mime=post_type,
            body=text or "",
            mime=mime,
            redirect_url=redirect_url,
            error=error,
        )
        x.cookies = (
            [cookie_dict(c) for c in cookies] if cookies is not None else self._cookies_for(url)
        )
        times = self._timings(x, timings)
        parts = ["blocked", "dns", "connect", "send", "wait", "receive"]
        if not self.chrome and self.firefox_ssl_outside_connect:
            parts.append("ssl")
        total = sum(round(times[p], 3) for p in parts if times[p] > 0)
        request = self._request(x)
        response = self._response(x, server_date or started + timedelta(milliseconds=total))
        xhr = method != "GET" or post_data is not None or isinstance(body, Mapping)
        kind = resource_type or ("xhr" if xhr else "document")
        ip = "" if x.failed else (server_ip or self._ip(x.host))
        conn = None if x.failed else (connection or self._connection(x))
        pageref = page or (self.pages[-1]["id"] if self.pages else None)
        if self.chrome:
            entry = chrome_entry(
                self._device_time(x.started),
                request,
                response,
                times,
                total,
                ip,
                conn,
                pageref,
                kind,
                initiator,
                priority,
                from_cache,
            )
        else:
            entry = firefox_entry(
                x, self._device_time(x.started), request, response, times, total, ip, conn, pageref
            )
        self.entries.append(entry)
        self._clock = started + timedelta(milliseconds=total)
        return entry

    def redirects(
        self,
        urls: Sequence[str],
        *,
        started: datetime | None = None,
        statuses: int | Sequence[int] = 302,
        final_status: int = 200,
        final_body: str | Mapping[str, Any] | None = None,
        final_error: str | None = None,
        set_cookies: Mapping[int, Sequence[Cookie]] | None = None,
        **common: Any,
    ) -> list[dict[str, Any]]:
        """Add a redirect chain ``urls[0] → urls[1] → …``; return its entries in order.

        Every hop but the last answers ``statuses`` (one code, or one per hop) with a
        ``Location`` header; the last answers ``final_status`` with ``final_body``, or
        fails with ``final_error`` (e.g. ``ERR_TOO_MANY_REDIRECTS``). ``set_cookies`` maps
        a hop's index to the cookies it sets; other keywords go to every ``entry``.
        """
        hops = len(urls) - 1
        codes = [statuses] * hops if isinstance(statuses, int) else list(statuses)
        if len(codes) != max(hops, 0):
            raise ValueError("need one status per redirect hop")
        common.setdefault("resource_type", "document")
        made = []
        for index, url in enumerate(urls):
            if index < hops:
                outcome: dict[str, Any] = {
                    "status": codes[index],
                    "redirect_url": urls[index + 1],
                    "response_headers": [("Location", urls[index + 1])],
                    "body": "",
                }
            else:
                outcome = {"status": final_status, "body": final_body, "error": final_error}
            made.append(
                self.entry(
                    "GET",
                    url,
                    started=started if index == 0 else None,
                    set_cookies=(set_cookies or {}).get(index, ()),
                    **outcome,
                    **common,
                )
            )
        return made

    def to_dict(self) -> dict[str, Any]:
        """Return the whole HAR as a JSON-ready dict, in the browser's key order."""
        if self.chrome:
            log: dict[str, Any] = {"version": "1.2", "creator": CHROME_CREATOR}
        else:
            firefox = {"name": "Firefox", "version": self.version}
            log = {"version": "1.2", "creator": firefox, "browser": dict(firefox)}
        log["pages"] = self.pages
        log["entries"] = self.entries
        return {"log": log}

    def to_bytes(self) -> bytes:
        """Return the HAR as UTF-8 JSON indented by two spaces, as both browsers save it.

        The bytes equal ``json.dumps(self.to_dict(), indent=2, ensure_ascii=False)``;
        the standard library's indenting encoder is pure Python and four times slower.
        """
        out: list[str] = []
        indented(self.to_dict(), "", out)
        return "".join(out).encode("utf-8")

    def write(self, path: str | Path) -> Path:
        """Write ``to_bytes()`` to ``path`` and return it."""
        target = Path(path)
        target.write_bytes(self.to_bytes())
        return target

    # --------------------------------------------------------------- internals

    def _ip(self, host: str) -> str:
        if host not in self.ips:
            self.ips[host] = f"198.51.100.{self.rng.randrange(2, 250)}"
        return self.ips[host]

    def _connection(self, x: Exchange) -> str:
        if not self.chrome:
            return str(x.port)  # Firefox writes the server port here
        if x.origin not in self._connections:
            self._connections[x.origin] = str(self._next_connection)
            self._next_connection += self.rng.randrange(1, 40)
        return self._connections[x.origin]

    def _cookies_for(self, url: str) -> list[dict[str, Any]]:
        """The jar's cookies a browser would send to ``url`` (domain, path and Secure rules)."""
        parts = urlsplit(url)
        host, path = parts.hostname or "", parts.path or "/"
        found = []
        for (domain, _), cookie in self._jar.items():
            bare = domain.lstrip(".")
            in_domain = host == bare or host.endswith("." + bare)
            secure_ok = parts.scheme == "https" or not cookie.get("secure", True)
            if in_domain and secure_ok and path.startswith(cookie.get("path", "/")):
                found.append(cookie)
        return found

    def _request(self, x: Exchange) -> dict[str, Any]:
        headers = [*self._request_headers(x), *x.request_headers]
        if self.chrome and not x.http1:
            headers = [(n.lower(), v) for n, v in headers]
        # Headers DevTools shows for a request that never got real ones carry no cookies.
        cookies = [] if x.failed else [cookie_entry(c, x.host, self.chrome) for c in x.cookies]
        sized = not x.failed and (x.http1 or not self.chrome)
        request = {
            "method": x.method,
            "url": x.url,
            "httpVersion": x.version,
            "headers": [{"name": n, "value": v} for n, v in headers],
            "queryString": query_pairs(x.query, not self.chrome),
            "cookies": cookies,
            "headersSize": header_bytes(f"{x.method} {x.path} {x.version.upper()}", headers)
            if sized
            else -1,
            "bodySize": len(x.post.encode()) if x.post is not None else 0,
        }
        if not self.chrome:  # Firefox's key order
            request = {k: request[k] for k in FIREFOX_REQUEST_KEYS}
        if x.post is not None:
            post: dict[str, Any] = {"mimeType": x.post_mime}
            if x.post_mime.startswith("application/x-www-form-urlencoded"):
                post["params"] = query_pairs(x.post, not self.chrome)
            elif not self.chrome:
                post["params"] = []
            post["text"] = x.post
            request["postData"] = post
        return request

    def _request_headers(self, x: Exchange) -> list[Header]:
        json_call = x.post is not None or x.mime.startswith("application/json")
        accept = "application/json, text/plain, */*" if json_call else ACCEPT_HTML
        length = str(len(x.post.encode())) if x.post is not None else None
        if self.chrome and x.failed:
            # DevTools' "provisional headers" for a request that never got real ones.
            hints = [(n, v) for n, v in self._client_hints if n != "sec-ch-ua-platform"]
            typed = [("Content-Type", x.post_mime)] if length else []
            return [*typed, *hints, ("User-Agent", self.user_agent), self._client_hints[2]]
        cookie = "; ".join(f"{c['name']}={c['value']}" for c in x.cookies)
        if self.chrome and not x.http1:
            headers = [
                (":authority", x.netloc),
                (":method", x.method),
                (":path", x.path),
                (":scheme", x.scheme),
                ("accept", accept),
                ("accept-encoding", "gzip, deflate, br, zstd"),
                ("accept-language", "zh-CN,zh;q=0.9,en;q=0.8"),
            ]
            if length:
                headers += [("content-length", length), ("content-type", x.post_mime)]
            if cookie:
                headers.append(("cookie", cookie))
            mode = ("navigate", "document") if not json_call else ("cors", "empty")
            return [
                *headers,
                *self._client_hints,
                ("sec-fetch-dest", mode[1]),
                ("sec-fetch-mode", mode[0]),
                ("sec-fetch-site", "same-origin"),
                ("user-agent", self.user_agent),
            ]
        headers = [
            ("Host", x.netloc),
            ("User-Agent", self.user_agent),
            ("Accept", accept),
            ("Accept-Language", "zh-CN,zh;q=0.8,en-US;q=0.5,en;q=0.3"),
            ("Accept-Encoding", "gzip, deflate, br"),
        ]
        if length:
            headers += [("Content-Type", x.post_mime), ("Content-Length", length)]
        headers.append(("Connection", "keep-alive"))
        return headers + ([("Cookie", cookie)] if cookie else [])

    def _response(self, x: Exchange, date: datetime) -> dict[str, Any]:
        lower = not x.http1  # HTTP/2 and HTTP/3 header names arrive in lower case
        status_text = x.status_text
        if status_text is None:
            status_text = "" if x.failed or (self.chrome and lower) else reason_phrase(x.status)
        size = len(x.body.encode())
        headers: list[Header] = []
        if not x.failed:
            headers = [("Date", format_datetime(date.astimezone(UTC), usegmt=True))]
            if x.mime:
                headers.append(("Content-Type", with_charset(x.mime)))
            headers.append(("Content-Length", str(size)))
            for cookie in x.set_cookies:
                headers.append(("Set-Cookie", set_cookie_header(cookie)))
                self._jar[(cookie.get("domain", x.host), cookie["name"])] = cookie
            headers += x.response_headers
            if lower:
                headers = [(n.lower(), v) for n, v in headers]
        sized = not x.failed and (x.http1 or not self.chrome)
        first_line = f"{x.version.upper()} {x.status} {status_text}"
        content: dict[str, Any] = {"size": size, "mimeType": x.mime or "x-unknown"}
        if not self.chrome:
            content = {"mimeType": x.mime, "size": size}
        if x.body:
            content["text"] = x.body
        response: dict[str, Any] = {
            "status": x.status,
            "statusText": status_text,
            "httpVersion": x.version,
            "headers": [{"name": n, "value": v} for n, v in headers],
            "cookies": [cookie_entry(c, x.host, True) for c in x.set_cookies if headers],
            "content": content,
            "redirectURL": x.redirect_url,
            "headersSize": header_bytes(first_line, headers) if sized else -1,
            "bodySize": size if sized else -1,
        }
        if self.chrome:
            response["_transferSize"] = 0 if x.failed else estimate_transfer(headers, size)
            response["_error"] = x.error
        return response

    def _timings(self, x: Exchange, given: Mapping[str, float] | None) -> dict[str, float]:
        rng = self.rng
        times = {
            "blocked": rng.uniform(1, 30),
            "dns": -1.0,
            "connect": -1.0,
            "ssl": -1.0,
            "send": 0.0,
            "wait": 0.0,
            "receive": 0.0,
        }
        if not x.failed:
            times.update(
                blocked=rng.uniform(0.4, 6),
                send=rng.uniform(0.05, 0.6),
                wait=rng.uniform(25, 260),
                receive=rng.uniform(0.3, 4) + len(x.body) / 4000,
            )
            if x.origin not in self._origins_seen:
                # A new connection: name lookup, TCP, and TLS (which Chrome counts in connect).
                tls = rng.uniform(35, 140) if x.scheme == "https" else -1.0
                times.update(
                    dns=rng.uniform(3, 60), ssl=tls, connect=rng.uniform(18, 70) + max(tls, 0.0)
                )
            elif not self.chrome:
                times.update(dns=0.0, connect=0.0, ssl=0.0)
            self._origins_seen.add(x.origin)
        times.update({k: float(v) for k, v in (given or {}).items()})
        if not self.chrome:
            times = {k: float(round(v)) for k, v in times.items()}
            if self.firefox_ssl_outside_connect and times["ssl"] > 0 and times["connect"] > 0:
                times["connect"] = max(times["connect"] - times["ssl"], 0.0)
        return times
