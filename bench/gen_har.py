"""Deterministic generator of a large Chrome-style HAR 1.2 for the HAR benchmark.

Writes what DevTools' "Save all as HAR with content" writes for a WeCom web
login session: ``log.version`` 1.2, creator WebInspector, ``pages``, then
entries with request headers (cookies, ``Authorization: Bearer <JWT>``), query
strings carrying ``access_token`` and OAuth ``code``, JSON ``postData`` with a
password, JSON responses (some with ``{"errcode":60020,...}``, some base64),
JS/CSS bodies of tens of KB, images as base64, a status mix of
200/302/304/403/502 and 0 with ``_error: net::ERR_CONNECTION_RESET``, OAuth
redirect chains with ``redirectURL``, timings with -1 for a reused connection,
``serverIPAddress`` and ``connection`` ids.

Speed: large bodies come from a seeded pool built once (a session loads the
same bundles again and again) and entries are encoded compactly by the C JSON
encoder, one entry per line, in chunks; only the envelope is indented.

Next to ``OUT`` it writes ``OUT.json`` with the entry count, failed requests,
status histogram, vendor error count and the secret values planted, so a
benchmark can check a parser's counts and its redaction exactly.

Usage: ``python -m bench.gen_har OUT [--mb 500] [--seed N]``
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

VERSION = 1
DEFAULT_SEED = 20250531
DEFAULT_MB = 500.0
START = datetime(2025, 5, 31, 8, 0, 0)
PAGE_GAP = timedelta(minutes=10)
# One page (a navigation) per this many bytes of target size.
PAGE_BYTES = 2 * 2**20
CHUNK_ENTRIES = 256
_DUMP = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

_HEX = "0123456789abcdef"
_B62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_B64URL = _B62 + "-_"
_API_HOST = "qyapi.weixin.qq.com"
_WEB_HOST = "work.weixin.qq.com"
_LOGIN_HOST = "login.work.weixin.qq.com"
_CDN_HOST = "wwcdn.weixin.qq.com"
_SSO_HOST = "sso.corp.example.com"
_IPS = {
    _API_HOST: "109.244.194.120",
    _WEB_HOST: "183.3.224.143",
    _LOGIN_HOST: "101.91.37.23",
    _CDN_HOST: "[240e:97c:2f:3::4a]",
    _SSO_HOST: "203.0.113.7",
}
_APIS = (
    "/cgi-bin/user/get",
    "/cgi-bin/user/getuserinfo",
    "/cgi-bin/department/list",
    "/cgi-bin/message/send",
    "/cgi-bin/service/get_login_info",
    "/cgi-bin/agent/get",
)
_ERRMSGS = (
    (60020, "not allow to access from your ip"),
    (40014, "invalid access_token"),
    (42001, "access_token expired"),
    (60011, "no privilege to access/modify contact/party/agent"),
    (45009, "api freq out of limit"),
)
_USERS = ("zhangwei", "lina", "wangfang", "liuyang", "chenjie", "support01")
_CJK_NAMES = ("张伟", "李娜", "王芳", "刘洋", "陈杰")
_DEPTS = ("研发部", "市场部", "客服中心", "财务部")
_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/125.0.0.0 Safari/537.36"
)
_NGINX_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>stgw</center>\r\n"
    "</body>\r\n</html>\r\n"
)


@dataclass
class HarStats:
    """What the generator wrote; saved as ``OUT.json`` next to the HAR."""

    path: str
    seed: int
    target_mb: float
    version: int = VERSION
    bytes: int = 0
    pages: int = 0
    entries: int = 0
    failed_requests: int = 0
    status_histogram: dict[str, int] = field(default_factory=dict)
    vendor_errors: int = 0
    redirects: int = 0
    base64_bodies: int = 0
    large_bodies: int = 0
    secrets: dict[str, str] = field(default_factory=dict)
    secret_plants: dict[str, int] = field(default_factory=dict)  # entries carrying each
    seconds: float = 0.0


def sidecar_path(path: Path) -> Path:
    """Where the generator's ``HarStats`` for ``path`` are written."""
    return path.with_name(path.name + ".json")


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choices(_HEX, k=n))


def _token(rng: random.Random, n: int = 43, alphabet: str = _B62) -> str:
    return "".join(rng.choices(alphabet, k=n))


def _b64url(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(_DUMP(data).encode()).rstrip(b"=").decode()


def _secrets(rng: random.Random) -> dict[str, str]:
    """The session's secrets: each is planted many times and must never reach an output."""
    jwt = (
        _b64url({"alg": "RS256", "typ": "JWT"})
        + "."
        + _b64url({"sub": "zhangwei", "corp": "ww" + _hex(rng, 16), "exp": 1748700000})
        + "."
        + _token(rng, 86, _B64URL)
    )
    return {
        "session_cookie": "wwrtx." + _token(rng, 40),
        "bearer_jwt": jwt,
        "access_token": _token(rng, 64, _B64URL),
        "oauth_code": _token(rng, 32, _B64URL),
        "password": "Zq!" + _token(rng, 13) + "#2025",
        "refresh_token": "rt_" + _token(rng, 48),
    }


# ---------------------------------------------------------------- body pool


def _js_bundle(rng: random.Random, size: int) -> str:
    lines = [f"/*! login.{_hex(rng, 6)}.js | (c) Tencent */", '"use strict";']
    total = 0
    while total < size:
        name = f"{rng.choice(('fetch', 'load', 'render', 'refresh', 'poll'))}{rng.randrange(999)}"
        line = (
            f"function {name}(e,t){{var n=e.{rng.choice(('userid', 'corpid', 'state', 'key'))}"
            f'||t;if(!n)return Promise.reject(new Error("{name} failed: "+e.errcode));'
            f'return r.get("/cgi-bin/{rng.choice(("sync", "user", "login"))}",{{params:'
            f'{{v:"{_hex(rng, 8)}",n:n}},timeout:{rng.randrange(1000, 30000)}}})'
            f".then(function(o){{return o.data&&0===o.data.errcode?o.data:"
            f"Promise.reject(o.data)}})}}"
        )
        lines.append(line)
        total += len(line) + 1
    return "\n".join(lines)


def _css_bundle(rng: random.Random, size: int) -> str:
    rules, total = [], 0
    while total < size:
        rule = (
            f".ww_{_hex(rng, 6)}{{display:{rng.choice(('flex', 'block', 'none'))};"
            f"margin:{rng.randrange(24)}px {rng.randrange(24)}px;color:#{_hex(rng, 6)};"
            f"background:url(//{_CDN_HOST}/node/wework/images/{_hex(rng, 12)}.png)}}"
        )
        rules.append(rule)
        total += len(rule)
    return "".join(rules)


@dataclass
class _Pool:
    js: list[str]
    css: list[str]
    images: list[tuple[str, int]]  # (base64 text, decoded size)


def _pool(rng: random.Random) -> _Pool:
    js = [_js_bundle(rng, rng.randrange(10_000, 80_000)) for _ in range(24)]
    css = [_css_bundle(rng, rng.randrange(10_000, 60_000)) for _ in range(8)]
    images = []
    for _ in range(32):
        raw = b"\x89PNG\r\n\x1a\n" + rng.randbytes(rng.randrange(500, 30_000))
        images.append((base64.b64encode(raw).decode("ascii"), len(raw)))
    return _Pool(js, css, images)


# ---------------------------------------------------------------- entries


class _Session:
    """Builds entries one at a time; keeps the connection ids and the pending redirect."""

    def __init__(self, rng: random.Random, secrets: dict[str, str], pool: _Pool) -> None:
        self.rng = rng
        self.secrets = secrets
        self.pool = pool
        self.connections: dict[str, int] = {}
        self.next_connection = 180_000
        self.redirect: str | None = None  # the URL the next entry requests
        self.stats = Counter[str]()
        self.plants = Counter[str]()

    # -- pieces

    def _connection(self, host: str) -> tuple[str, bool]:
        """Connection id for ``host`` and whether it is reused (timings then say -1)."""
        rng = self.rng
        if host in self.connections and rng.random() < 0.85:
            return str(self.connections[host]), True
        self.next_connection += rng.randrange(1, 40)
        self.connections[host] = self.next_connection
        return str(self.next_connection), False

    def _timings(self, reused: bool, failed: bool) -> tuple[dict[str, float], float]:
        rng = self.rng
        if reused:
            dns = connect = ssl = -1.0
        else:
            dns = round(rng.uniform(0.5, 60), 3)
            ssl = round(rng.uniform(8, 120), 3)
            connect = round(ssl + rng.uniform(5, 80), 3)
        wait = round(rng.expovariate(1 / 90), 3)
        receive = -1.0 if failed else round(rng.expovariate(1 / 20), 3)
        timings = {
            "blocked": round(rng.uniform(0.2, 40), 3),
            "dns": dns,
            "ssl": ssl,
            "connect": connect,
            "send": round(rng.uniform(0.05, 2), 3),
            "wait": wait,
            "receive": receive,
            "_blocked_queueing": round(rng.uniform(0.1, 5), 3),
        }
        total = sum(
            v for k, v in timings.items() if v > 0 and k not in ("ssl", "_blocked_queueing")
        )
        return timings, round(total, 3)

    def _request_headers(self, host: str, path: str, api: bool) -> list[dict[str, str]]:
        s = self.secrets
        headers = [
            {"name": ":authority", "value": host},
            {"name": ":method", "value": "GET"},
            {"name": ":path", "value": path},
            {"name": ":scheme", "value": "https"},
            {"name": "accept", "value": "application/json, text/plain, */*" if api else "*/*"},
            {"name": "accept-encoding", "value": "gzip, deflate, br, zstd"},
            {"name": "accept-language", "value": "zh-CN,zh;q=0.9,en;q=0.8"},
            {"name": "cookie", "value": f"wwrtx.sid={s['session_cookie']}; wwrtx.vst=1"},
            {"name": "referer", "value": f"https://{_WEB_HOST}/wework_admin/frame"},
            {"name": "sec-ch-ua-platform", "value": '"Windows"'},
            {"name": "user-agent", "value": _UA},
        ]
        self.plants["session_cookie"] += 1
        if api:
            headers.append({"name": "authorization", "value": f"Bearer {s['bearer_jwt']}"})
            headers.append({"name": "x-csrf-token", "value": _hex(self.rng, 32)})
            self.plants["bearer_jwt"] += 1
        return headers

    def _request(
        self, method: str, url: str, host: str, path: str, query: list[tuple[str, str]], api: bool
    ) -> dict[str, Any]:
        headers = self._request_headers(host, path + ("?" if query else "") + _qs(query), api)
        headers[1]["value"] = method
        return {
            "method": method,
            "url": url,
            "httpVersion": "http/2.0",
            "headers": headers,
            "queryString": [{"name": k, "value": v} for k, v in query],
            "cookies": [
                {
                    "name": "wwrtx.sid",
                    "value": self.secrets["session_cookie"],
                    "path": "/",
                    "domain": ".work.weixin.qq.com",
                    "expires": "1969-12-31T23:59:59.000Z",
                    "httpOnly": True,
                    "secure": True,
                },
                {"name": "wwrtx.vst", "value": "1", "path": "/", "domain": ".qq.com"},
            ],
            "headersSize": -1,
            "bodySize": 0,
        }

    def _response(
        self,
        status: int,
        mime: str,
        text: str | None,
        size: int,
        *,
        encoding: str | None = None,
        location: str = "",
        extra_headers: list[dict[str, str]] | None = None,
        error: str | None = None,
    ) -> dict[str, Any]:
        headers = [] if status == 0 else [
            {"name": "content-type", "value": mime},
            {"name": "date", "value": "Sat, 31 May 2025 08:00:00 GMT"},
            {"name": "server", "value": "nginx" if status != 502 else "stgw"},
            *(extra_headers or []),
        ]  # fmt: skip
        if location:
            headers.append({"name": "location", "value": location})
        content: dict[str, Any] = {"size": size, "mimeType": mime}
        if text is not None:
            content["text"] = text
        if encoding:
            content["encoding"] = encoding
        transfer = 0 if status == 0 else size + 180
        return {
            "status": status,
            "statusText": "",  # DevTools leaves it empty for HTTP/2
            "httpVersion": "http/2.0" if status else "",
            "headers": headers,
            "cookies": [],
            "content": content,
            "redirectURL": location,
            "headersSize": -1,
            "bodySize": -1 if status == 0 else size,
            "_transferSize": transfer,
            "_error": error,
        }

    # -- kinds of entry

    def entry(self, started: str, pageref: str) -> dict[str, Any]:
        """One entry; the kind is drawn from the session's mix, redirects are followed."""
        rng = self.rng
        if self.redirect is not None:
            body = self._follow(self.redirect)
            self.redirect = None
        else:
            roll = rng.random()
            if roll < 0.46:
                body = self._api()
            elif roll < 0.58:
                body = self._asset_js()
            elif roll < 0.63:
                body = self._asset_css()
            elif roll < 0.79:
                body = self._image()
            elif roll < 0.84:
                body = self._not_modified()
            elif roll < 0.88:
                body = self._oauth_start()
            elif roll < 0.91:
                body = self._login_post()
            elif roll < 0.93:
                body = self._bad_gateway()
            else:
                body = self._failed()
        failed = body["response"]["status"] == 0
        host = body["_host"]
        connection, reused = self._connection(host)
        timings, total = self._timings(reused, failed)
        status = body["response"]["status"]
        if failed:
            self.stats["failed"] += 1
        else:
            self.stats[f"status:{status}"] += 1
        entry = {
            "_connectionId": connection,
            "_initiator": {"type": body["_initiator"]},
            "_priority": "High" if body["_type"] in ("xhr", "fetch", "document") else "Low",
            "_resourceType": body["_type"],
            "cache": {},
            "connection": "" if failed else connection,
            "pageref": pageref,
            "request": body["request"],
            "response": body["response"],
            "serverIPAddress": "" if failed else _IPS[host],
            "startedDateTime": started,
            "time": total,
            "timings": timings,
        }
        return entry

    def _api(self) -> dict[str, Any]:
        rng = self.rng
        s = self.secrets
        api = rng.choice(_APIS)
        query = [("access_token", s["access_token"]), ("userid", rng.choice(_USERS))]
        self.plants["access_token"] += 1
        url = f"https://{_API_HOST}{api}?{_qs(query)}"
        roll = rng.random()
        if roll < 0.10:
            code, msg = rng.choice(_ERRMSGS)
            ts = rng.randrange(1748650000, 1748750000)
            doc: dict[str, Any] = {
                "errcode": code,
                "errmsg": (
                    f"{msg}, hint: [{ts}_{rng.randrange(10, 99)}_{_hex(rng, 16)}], from ip: "
                    f"198.51.100.{rng.randrange(2, 250)}, more info at "
                    f"https://open.work.weixin.qq.com/devtool/query?e={code}"
                ),
            }
            status = 403 if code == 60020 and rng.random() < 0.5 else 200
            self.stats["vendor_errors"] += 1
        elif roll < 0.18:
            doc = {
                "errcode": 0,
                "errmsg": "ok",
                "access_token": s["access_token"],
                "refresh_token": s["refresh_token"],
                "expires_in": 7200,
            }
            self.plants["refresh_token"] += 1
            status = 200
        else:
            doc = {
                "errcode": 0,
                "errmsg": "ok",
                "userid": rng.choice(_USERS),
                "name": rng.choice(_CJK_NAMES),
                "department": [rng.randrange(1, 300) for _ in range(rng.randrange(1, 4))],
                "position": rng.choice(_DEPTS),
                "items": [
                    {"id": rng.randrange(10**9), "seq": rng.randrange(10**8), "v": _hex(rng, 24)}
                    for _ in range(rng.randrange(1, 30))
                ],
            }
            status = 200
        text = _DUMP(doc)
        size = len(text.encode())
        mime = "application/json"
        encoding = None
        if rng.random() < 0.1:
            # DevTools stores some responses base64 (binary-looking or undecodable at capture).
            text, encoding = base64.b64encode(text.encode()).decode("ascii"), "base64"
            self.stats["base64"] += 1
        return {
            "_host": _API_HOST,
            "_type": rng.choice(("xhr", "fetch")),
            "_initiator": "script",
            "request": self._request("GET", url, _API_HOST, api, query, api=True),
            "response": self._response(status, mime, text, size, encoding=encoding),
        }

    def _asset(self, text: str, mime: str, kind: str, ext: str) -> dict[str, Any]:
        rng = self.rng
        path = f"/node/wework/{kind}/{_hex(rng, 10)}.{ext}"
        self.stats["large"] += 1
        return {
            "_host": _CDN_HOST,
            "_type": "script" if ext == "js" else "stylesheet",
            "_initiator": "parser",
            "request": self._request(
                "GET", f"https://{_CDN_HOST}{path}", _CDN_HOST, path, [], False
            ),
            "response": self._response(
                200,
                mime,
                text,
                len(text),
                extra_headers=[{"name": "cache-control", "value": "max-age=31536000"}],
            ),
        }

    def _asset_js(self) -> dict[str, Any]:
        return self._asset(self.rng.choice(self.pool.js), "application/javascript", "js", "js")

    def _asset_css(self) -> dict[str, Any]:
        return self._asset(self.rng.choice(self.pool.css), "text/css", "css", "css")

    def _image(self) -> dict[str, Any]:
        rng = self.rng
        text, size = rng.choice(self.pool.images)
        path = f"/node/wework/images/{_hex(rng, 12)}.png"
        self.stats["base64"] += 1
        return {
            "_host": _CDN_HOST,
            "_type": "image",
            "_initiator": "parser",
            "request": self._request(
                "GET", f"https://{_CDN_HOST}{path}", _CDN_HOST, path, [], False
            ),
            "response": self._response(200, "image/png", text, size, encoding="base64"),
        }

    def _not_modified(self) -> dict[str, Any]:
        rng = self.rng
        path = f"/node/wework/js/{_hex(rng, 10)}.js"
        return {
            "_host": _CDN_HOST,
            "_type": "script",
            "_initiator": "parser",
            "request": self._request(
                "GET", f"https://{_CDN_HOST}{path}", _CDN_HOST, path, [], False
            ),
            "response": self._response(
                304,
                "application/javascript",
                None,
                0,
                extra_headers=[{"name": "etag", "value": f'"{_hex(rng, 16)}"'}],
            ),
        }

    def _oauth_start(self) -> dict[str, Any]:
        """SSO authorize → 302 to the callback with ``code``; the next entry follows it."""
        rng = self.rng
        state = _token(rng, 16)
        query = [
            ("appid", "ww" + _hex(rng, 16)),
            ("redirect_uri", f"https://{_WEB_HOST}/wework_admin/loginpage_wx"),
            ("response_type", "code"),
            ("state", state),
        ]
        url = f"https://{_SSO_HOST}/adfs/oauth2/authorize?{_qs(query)}"
        callback = (
            f"https://{_WEB_HOST}/wework_admin/loginpage_wx?code={self.secrets['oauth_code']}"
            f"&state={state}"
        )
        self.plants["oauth_code"] += 1
        self.redirect = callback
        self.stats["redirects"] += 1
        request = self._request("GET", url, _SSO_HOST, "/adfs/oauth2/authorize", query, False)
        return {
            "_host": _SSO_HOST,
            "_type": "document",
            "_initiator": "other",
            "request": request,
            "response": self._response(302, "text/html", "", 0, location=callback),
        }

    def _follow(self, url: str) -> dict[str, Any]:
        """The callback: 302 on to the admin frame (the end of the chain)."""
        path, _, query_text = url.removeprefix(f"https://{_WEB_HOST}").partition("?")
        query = [(k, v) for k, _, v in (p.partition("=") for p in query_text.split("&"))]
        self.plants["oauth_code"] += 1
        self.stats["redirects"] += 1
        home = f"https://{_WEB_HOST}/wework_admin/frame#index"
        request = self._request("GET", url, _WEB_HOST, path, query, False)
        set_cookie = {
            "name": "set-cookie",
            "value": f"wwrtx.sid={self.secrets['session_cookie']}; Path=/; Secure; HttpOnly",
        }
        return {
            "_host": _WEB_HOST,
            "_type": "document",
            "_initiator": "other",
            "request": request,
            "response": self._response(
                302, "text/html", "", 0, location=home, extra_headers=[set_cookie]
            ),
        }

    def _login_post(self) -> dict[str, Any]:
        rng = self.rng
        path = "/wework_admin/login/verify"
        url = f"https://{_LOGIN_HOST}{path}?lang=zh_CN&ajax=1&f=json&random={rng.randrange(10**6)}"
        request = self._request("POST", url, _LOGIN_HOST, path, [("lang", "zh_CN")], True)
        body = _DUMP(
            {
                "username": f"{rng.choice(_USERS)}@corp.example.com",
                "password": self.secrets["password"],
                "remember": True,
                "captcha": _hex(rng, 6),
            }
        )
        self.plants["password"] += 1
        request["postData"] = {"mimeType": "application/json;charset=UTF-8", "text": body}
        request["bodySize"] = len(body)
        if rng.random() < 0.5:
            ts = rng.randrange(1748650000, 1748750000)
            doc: dict[str, Any] = {
                "errcode": 60020,
                "errmsg": (
                    f"not allow to access from your ip, hint: [{ts}_{rng.randrange(10, 99)}_"
                    f"{_hex(rng, 16)}], from ip: 198.51.100.{rng.randrange(2, 250)}, more info "
                    "at https://open.work.weixin.qq.com/devtool/query?e=60020"
                ),
            }
            status = 403
            self.stats["vendor_errors"] += 1
        else:
            doc = {"errcode": 0, "errmsg": "ok", "data": {"vid": rng.randrange(10**15, 10**16)}}
            status = 200
        text = _DUMP(doc)
        return {
            "_host": _LOGIN_HOST,
            "_type": "xhr",
            "_initiator": "script",
            "request": request,
            "response": self._response(status, "application/json", text, len(text.encode())),
        }

    def _bad_gateway(self) -> dict[str, Any]:
        rng = self.rng
        api = rng.choice(_APIS)
        query = [("access_token", self.secrets["access_token"])]
        self.plants["access_token"] += 1
        return {
            "_host": _API_HOST,
            "_type": "xhr",
            "_initiator": "script",
            "request": self._request(
                "GET", f"https://{_API_HOST}{api}?{_qs(query)}", _API_HOST, api, query, True
            ),
            "response": self._response(502, "text/html", _NGINX_502, len(_NGINX_502)),
        }

    def _failed(self) -> dict[str, Any]:
        rng = self.rng
        api = "/cgi-bin/sync"
        query = [("access_token", self.secrets["access_token"]), ("seq", str(rng.randrange(10**6)))]
        self.plants["access_token"] += 1
        error = "net::ERR_CONNECTION_RESET" if rng.random() < 0.8 else "net::ERR_TIMED_OUT"
        return {
            "_host": _API_HOST,
            "_type": "xhr",
            "_initiator": "script",
            "request": self._request(
                "GET", f"https://{_API_HOST}{api}?{_qs(query)}", _API_HOST, api, query, True
            ),
            "response": self._response(0, "x-unknown", None, 0, error=error),
        }


def _qs(query: list[tuple[str, str]]) -> str:
    return "&".join(f"{k}={v}" for k, v in query)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def generate(path: Path, mb: float = DEFAULT_MB, seed: int = DEFAULT_SEED) -> HarStats:
    """Write ~``mb`` MiB of HAR to ``path`` (and its sidecar JSON); return the stats."""
    started = time.perf_counter()
    rng = random.Random(seed)
    target = int(mb * 2**20)
    secrets = _secrets(rng)
    session = _Session(rng, secrets, _pool(rng))
    pages = max(1, target // PAGE_BYTES)
    stats = HarStats(path=str(path), seed=seed, target_mb=mb, pages=pages, secrets=secrets)
    head = {
        "version": "1.2",
        "creator": {"name": "WebInspector", "version": "537.36"},
        "pages": [
            {
                "startedDateTime": _stamp(START + i * PAGE_GAP),
                "id": f"page_{i + 1}",
                "title": f"https://{_WEB_HOST}/wework_admin/frame#index",
                "pageTimings": {"onContentLoad": 812.4, "onLoad": 1630.9},
            }
            for i in range(pages)
        ],
    }
    # The envelope indented as DevTools writes it; entries one per line, compact.
    envelope = json.dumps({"log": head}, indent=2, ensure_ascii=False)
    prefix = envelope[: envelope.rindex("]") + 1] + ',\n    "entries": [\n'
    path.parent.mkdir(parents=True, exist_ok=True)
    page, offset_ms = 0, 0
    with path.open("wb") as out:
        data = prefix.encode("utf-8")
        out.write(data)
        written = len(data)
        first = True
        while written < target:
            chunk: list[str] = []
            for _ in range(CHUNK_ENTRIES):
                now_page = min(pages - 1, written * pages // target)
                if now_page != page:
                    page, offset_ms = now_page, 0
                offset_ms = min(offset_ms + rng.randrange(1, 400), 9 * 60_000)
                moment = START + page * PAGE_GAP + timedelta(milliseconds=offset_ms)
                entry = session.entry(_stamp(moment), f"page_{page + 1}")
                chunk.append(("      " if first else ",\n      ") + _DUMP(entry))
                first = False
                stats.entries += 1
            data = "".join(chunk).encode("utf-8")
            out.write(data)
            written += len(data)
        # A pending redirect is left unfollowed: the capture stopped there.
        tail = b"\n    ]\n  }\n}\n"
        out.write(tail)
        written += len(tail)
    counts = session.stats
    stats.bytes = written
    stats.failed_requests = counts["failed"]
    stats.status_histogram = {
        key.removeprefix("status:"): n
        for key, n in sorted(counts.items(), key=lambda kv: kv[0])
        if key.startswith("status:")
    }
    stats.vendor_errors = counts["vendor_errors"]
    stats.redirects = counts["redirects"]
    stats.base64_bodies = counts["base64"]
    stats.large_bodies = counts["large"]
    stats.secret_plants = dict(sorted(session.plants.items()))
    stats.seconds = round(time.perf_counter() - started, 3)
    sidecar_path(path).write_text(
        json.dumps(asdict(stats), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return stats


def load_stats(path: Path) -> HarStats | None:
    """The sidecar stats of a previously generated ``path``, or None if missing or stale."""
    try:
        doc = json.loads(sidecar_path(path).read_text(encoding="utf-8"))
        stats = HarStats(**doc)
    except (OSError, ValueError, TypeError):
        return None
    if stats.version != VERSION or not path.is_file() or path.stat().st_size != stats.bytes:
        return None
    return stats


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.gen_har",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("out", type=Path, help="HAR file to write")
    parser.add_argument("--mb", type=float, default=DEFAULT_MB, help="size in MiB (default 500)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    args = parser.parse_args(argv)
    stats = generate(args.out, args.mb, args.seed)
    print(
        f"wrote {stats.bytes / 2**20:.1f} MiB, {stats.entries:,} entries "
        f"({stats.failed_requests:,} failed, statuses {stats.status_histogram}, "
        f"{stats.vendor_errors:,} vendor errors) to {args.out} in {stats.seconds:.1f}s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
