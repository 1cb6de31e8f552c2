"""One sample bundle as a story told through every source the user's machine collected.

A ``Story`` keeps a clock and the sources a bundle has (client logs, a packet
capture, a HAR, a NetLog) and offers the steps a login is made of: start the
client, resolve a name, open a TLS connection, call an API. Scenarios
(``sample_data/scenarios.py``) tell the story of one cause with these steps,
and ``write`` puts the bundle on disk as DESIGN.md's bundle contract says.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sample_data.gen import certs
from sample_data.gen.har import SERVICE_IPS, Har, wecom_cookies, wecom_error
from sample_data.gen.logs import ClientLog, chatter, stack_trace
from sample_data.gen.netlog import NetLog
from sample_data.gen.pcap import TLS12, TLS13, Capture, Flow

OS_NAMES = {"windows": "Windows", "macos": "macOS", "android": "Android", "ios": "iOS"}
OS_VERSIONS = {
    "windows": ("10.0.19045", "10.0.22631", "6.1.7601"),
    "macos": ("14.5", "13.6.7", "12.7.5"),
    "android": ("14", "12", "10"),
    "ios": ("17.5.1", "16.7.8"),
}
# The main client log of each platform: (format, file name pattern, encoding).
MAIN_LOG = {
    "windows": ("mars_xlog", "WXWork_{day}.xlog.log", "gb18030"),
    "macos": ("mars_xlog", "WeWork_{day}.xlog.log", "utf-8"),
    "android": ("logcat_threadtime", "logcat_{day}.txt", "utf-8"),
    "ios": ("mars_xlog", "WeWork_{day}.xlog.log", "utf-8"),
}
CHATTER_PLATFORM = {"windows": "windows", "macos": "mac", "android": "android", "ios": "mac"}
SURNAMES = ("zhang", "wang", "li", "liu", "chen", "yang", "zhao", "huang", "zhou", "wu")
GIVEN = ("wei", "fang", "na", "min", "jing", "lei", "qiang", "yan", "jie", "tao")
CLIENT_IPS = {"wired": "10.20.31.45", "wifi": "192.168.1.23", "vpn": "10.8.0.14"}
CELLULAR_IP = "10.146.87.201"
CELLULAR_IPV6 = "2409:8a55:3c1:7e20:8d2:4f1e:3b7a:91c4"
# Where in the client's source each tag's lines come from (Mars and Chromium logs show it).
SOURCE_PLACES = {
    "app": ("AppMain.cpp", "WinMain", 88),
    "net": ("NetCore.cc", "Connect", 412),
    "mmcore": ("LongLink.cc", "OnConnected", 455),
    "ssl": ("SslSocket.cc", "OnHandshake", 733),
    "login": ("LoginLogic.cpp", "OnLoginResp", 288),
    "api": ("CgiTask.cpp", "OnResp", 164),
    "dns": ("NewDns.cc", "Resolve", 208),
    "db": ("SqliteDb.cpp", "Open", 61),
    "account": ("AccountStore.cpp", "LoadCredential", 97),
    "update": ("Updater.cpp", "Download", 131),
    "sso": ("SsoLogin.cpp", "OnAssertion", 219),
    "webview": ("WebViewHost.cpp", "OnNavigate", 342),
    "security": ("EnvCheck.cpp", "Scan", 58),
}
RCODES = {0: "ok", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 5: "REFUSED"}
PAGE_TITLES = {
    "login.work.weixin.qq.com": "企业微信登录",
    "open.weixin.qq.com": "企业微信授权",
    "oa.example.com": "OA 办公平台",
}
# Chatter only a connected client writes (long link, sync, DNS, config pulls, status).
ONLINE_CHATTER = re.compile(
    r"long link|noop|ret=0|connect to|dns|resolve|sync|pull config|update|连接|同步|新消息"
)
# WeCom's network diagnostics tool writes JSON Lines (UTF-16 on Windows) beside the client log.
DIAG_LOG = "netdiag.jsonl"
PUBLIC_RESOLVERS = {"cellular": "211.136.192.6", "wifi": "114.114.114.114"}


@dataclass(frozen=True)
class Setting:
    """Who and where: what ``bundle.json`` says about the device."""

    platform: str
    client_version: str
    network: str
    region: str
    day: date
    timezone: str = "Asia/Shanghai"
    os_version: str = ""
    user: str = ""


@dataclass
class Story:
    """A bundle being told: a clock, the sources, and the expected verdict."""

    seed: int
    setting: Setting
    pcap: bool = True
    har: str | None = None  # "chrome" | "firefox" | None
    netlog: bool = False
    log_format: str | None = None  # main log format other than the platform's
    log_encoding: str | None = None
    ipv6: bool = False
    clock_skew: timedelta = timedelta(0)  # device clock minus true time
    pcapng: bool = False
    prelude: float = 0.0  # minutes of ordinary use before the story starts
    extra_logs: dict[str, tuple[str, str]] = field(default_factory=dict)  # file → (fmt, enc)
    rng: random.Random = field(init=False)
    zone: ZoneInfo = field(init=False)
    now: datetime = field(init=False)
    logs: dict[str, ClientLog] = field(init=False)
    capture: Capture | None = field(init=False)
    browser: Har | None = field(init=False)
    net: NetLog | None = field(init=False)
    resolved: dict[str, str] = field(init=False)
    started: datetime = field(init=False)
    _page: str | None = field(init=False, default=None)
    failed: bool = field(init=False, default=False)  # the client has logged an error

    def __post_init__(self) -> None:
        s = self.setting
        self.rng = random.Random(self.seed)
        self.zone = ZoneInfo(s.timezone)
        start_local = datetime.combine(s.day, time(8, 30), self.zone) + timedelta(
            seconds=self.rng.randrange(0, 9 * 3600)
        )
        self.now = self.started = start_local.astimezone(UTC)
        fmt, _, _ = MAIN_LOG[s.platform]
        fmt = self.log_format or fmt
        self.logs = {"main": self._new_log(fmt)}
        for name, (extra_fmt, _) in self.extra_logs.items():
            self.logs[name] = self._new_log(extra_fmt)
        self.capture = None
        client_ip = CELLULAR_IPV6 if self.ipv6 else CLIENT_IPS.get(s.network, CELLULAR_IP)
        if self.pcap:
            # Android captures come from tcpdump on the device and share its clock; desktop
            # ones from a mirror port or gateway, on true time. HTTP Date headers stay true.
            on_device = s.platform == "android"
            self.capture = Capture(
                self.seed,
                self.now + (self.clock_skew if on_device else timedelta(0)),
                server_clock_offset=-self.clock_skew.total_seconds() if on_device else 0.0,
                client_ip=client_ip,
                resolver_ip=None if self.ipv6 else PUBLIC_RESOLVERS.get(s.network),
                link="sll" if on_device else "ether",
                ipv6=self.ipv6,
                client_ttl=128 if s.platform == "windows" else 64,
            )
        self.browser = (
            Har(self.har, rng=self.rng.getrandbits(32), start=self.now, clock_skew=self.clock_skew)
            if self.har
            else None
        )
        self.net = (
            NetLog(
                self.rng.getrandbits(32),
                self.now,
                clock_skew=self.clock_skew,
                local_ip=client_ip,
            )
            if self.netlog
            else None
        )
        self.resolved = {}

    # ------------------------------------------------------------------ clock

    def wait(self, seconds: float) -> None:
        """Let ``seconds`` pass on every source's clock."""
        self.now += timedelta(seconds=seconds)
        self._sync_capture()

    def _sync_capture(self) -> None:
        """Bring the packet clock up to the story clock (it may lag behind)."""
        if self.capture is not None and self.capture.elapsed < self._elapsed():
            self.capture.set_time(self._elapsed())

    def _catch_up(self) -> None:
        """Bring the story clock up to the packet clock after an exchange."""
        if self.capture is not None and self.capture.elapsed > self._elapsed():
            self.now = self.started + timedelta(seconds=self.capture.elapsed)

    def _elapsed(self) -> float:
        """Seconds of story since it started (the capture's clock counts the same way)."""
        return (self.now - self.started).total_seconds()

    # ------------------------------------------------------------------ logs

    def _new_log(self, fmt: str) -> ClientLog:
        offset = True if fmt in {"mars_xlog", "apple_log_show"} else None
        return ClientLog(
            fmt,
            rng=self.rng.getrandbits(32),
            tz=self.zone,
            clock_skew=self.clock_skew,
            offset=offset if fmt != "electron_log" else False,
        )

    def say(self, level: str, tag: str, message: str, log: str = "main", **fields: Any) -> None:
        """The client writes a line now (in its own, possibly skewed, clock)."""
        self.failed = self.failed or level == "error"
        target = self.logs[log]
        if target.fmt in {"mars_xlog", "chromium"}:
            file, func, line = SOURCE_PLACES.get(tag, ("AppMain.cpp", "Run", 120))
            fields = {"file": file, "func": func, "line": line, **fields}
        target.add(self.now, level, tag, message, **fields)
        if log == "main":
            # macOS's unified log also records what the app sends to os_log.
            for other in self.logs.values():
                if other.fmt == "apple_log_show" and other is not target:
                    other.add(self.now + timedelta(microseconds=180), level, tag, message)

    def exception(self, tag: str, exception: str, message: str) -> None:
        """The client logs an error with the stack trace its runtime prints."""
        fmt = self.logs["main"].fmt
        kind = {"electron_log": "node", "logcat_threadtime": "java", "logcat_brief": "java"}.get(
            fmt, "objc" if self.setting.platform in {"macos", "ios"} else "cpp"
        )
        self.trace("error", tag, kind, exception, message)

    def trace(self, level: str, tag: str, kind: str, exception: str, message: str) -> None:
        """The client writes an exception with its stack trace."""
        self.say(level, tag, stack_trace(kind, exception, message))

    def idle(
        self, seconds: float, per_minute: float = 30.0, log: str = "main", traffic: bool = True
    ) -> None:
        """Ordinary chatter for ``seconds``; with ``traffic``, unrelated flows in the capture."""
        end = self.now + timedelta(seconds=seconds)
        platform = CHATTER_PLATFORM[self.setting.platform]
        for target in self.logs.values() if log == "main" else [self.logs[log]]:
            if target.fmt == "json_lines":
                continue
            records = chatter(
                self.rng.getrandbits(32), self.now, end, per_minute, platform=platform
            )
            if self.failed:
                # After a failed login the client is not connected: only local chatter remains.
                records = [r for r in records if not ONLINE_CHATTER.search(r.message)]
            target.extend(records)
        if self.capture is not None and traffic:
            self._sync_capture()
            self.capture.background(max(1, int(seconds // 8)), self.rng)
        self.now = end
        self._sync_capture()

    def start_client(self) -> None:
        """The client starts: version banner, configuration, cached account."""
        s = self.setting
        if self.prelude:
            self.say("info", "app", f"WXWork start version={s.client_version} os={s.os_version}")
            self.idle(self.prelude * 60, per_minute=20)
            self.say("info", "app", "main window hidden to tray; 企业微信已最小化")
            self.idle(self.rng.uniform(5, 30))
            self.say("warn", "mmcore", "long link lost, reconnecting (network changed)")
            self.say("info", "login", "session expired, show login window 请重新登录")
            return
        self.say("info", "app", f"WXWork start version={s.client_version} os={s.os_version}")
        self.say("info", "app", f"企业微信启动 device={self.device_id} net={s.network}")
        self.idle(self.rng.uniform(4, 12))

    # ------------------------------------------------------------------ packets

    def resolve(
        self,
        host: str,
        answers: Sequence[str] | None = None,
        *,
        rcode: int = 0,
        unanswered: bool = False,
        log: bool = True,
    ) -> str | None:
        """Look ``host`` up (system DNS, seen in the capture); return the address used."""
        found = list(answers) if answers is not None else [self.service_ip(host)]
        if self.capture is not None:
            self._sync_capture()
            qtype = "AAAA" if self.ipv6 else "A"
            if self.ipv6 and answers is None:
                found = [v6_for(found[0])]
            self.capture.dns(
                host,
                qtype,
                [] if rcode or unanswered else found,
                rcode=rcode,
                unanswered=unanswered,
            )
            self._catch_up()
        if DIAG_LOG in self.logs:
            outcome = "timeout" if unanswered else RCODES.get(rcode, f"rcode {rcode}")
            self.say(
                "info" if outcome == "ok" else "warn",
                "netdiag",
                "dns probe",
                log=DIAG_LOG,
                host=host,
                result=outcome,
                answers=[] if rcode or unanswered else found,
            )
        if rcode or unanswered:
            if log:
                reason = "timeout" if unanswered else RCODES.get(rcode, f"rcode {rcode}")
                self.say("error", "net", f"dns resolve {host} failed: {reason}")
            return None
        address = found[-1]
        self.resolved[host] = address
        if log:
            self.say("info", "net", f"dns {host} -> {address} in {self.rng.randint(8, 90)}ms")
        return address

    def dial(self, host: str) -> str:
        """Resolve ``host`` and log the connection attempt; return the address ("" if none)."""
        address = self.resolve(host) or ""
        self.say("info", "net", f"connect to {host}:443 ip={address}")
        return address

    def service_ip(self, host: str) -> str:
        known = SERVICE_IPS.get(host)
        if known:
            return known[self.rng.randrange(len(known))]
        if host.endswith("qq.com"):
            return f"203.205.{self.rng.randint(128, 250)}.{self.rng.randint(2, 250)}"
        # Third-party apps and identity providers live in public clouds.
        return f"47.98.{self.rng.randint(1, 250)}.{self.rng.randint(2, 250)}"

    def connect(self, host: str, ip: str | None = None, *, rtt: float = 0.03) -> Flow | None:
        """Open TCP to ``host``:443 and complete a normal TLS handshake; None without a capture."""
        address = ip or self.resolved.get(host) or self.service_ip(host)
        self.say("info", "net", f"connect to {host}:443 ip={address}")
        if DIAG_LOG in self.logs:
            self.say(
                "info",
                "netdiag",
                "tcp probe",
                log=DIAG_LOG,
                host=host,
                ip=address,
                port=443,
                rtt_ms=round(rtt * 1000),
            )
        if self.capture is None:
            return None
        self._sync_capture()
        flow = self.capture.tcp(address, 443, rtt=rtt)
        flow.handshake(host, TLS12 if self.ipv6 else TLS13, self.chain(host))
        self._catch_up()
        return flow

    def chain(self, host: str) -> list[bytes]:
        return certs.service_chain(host)

    def exchange(self, flow: Flow | None, request: int = 900, response: int = 1800) -> None:
        """Encrypted request and response on an open flow."""
        if flow is None:
            return
        flow.app_data(request)
        flow.app_data(response, from_client=False)
        self._catch_up()

    # ------------------------------------------------------------------ web

    def request(
        self,
        method: str,
        url: str,
        *,
        status: int = 200,
        body: str | dict[str, Any] | None = None,
        error: str | None = None,
        server_ip: str | None = None,
        location: str | None = None,
        headers: Sequence[tuple[str, str]] = (),
        response_headers: Sequence[tuple[str, str]] = (),
        set_cookies: Sequence[dict[str, Any]] = (),
        cookies: Sequence[dict[str, Any]] | None = None,
        certificates: Sequence[bytes] | None = None,
        wire: bool = True,
    ) -> None:
        """A browser or webview request: a HAR entry and NetLog events, when the bundle has them.

        With ``wire``, an answered HTTPS request also appears in the capture as a TLS flow to the
        same address (stories draw failed requests' packets themselves).
        """
        parts = urlsplit(url)
        host = parts.hostname or ""
        address = server_ip or self.resolved.get(host) or self.service_ip(host)
        if wire and self.capture is not None and error is None and parts.scheme == "https":
            if host not in self.resolved:
                self.resolve(host, log=False)
                address = server_ip or self.resolved.get(host) or address
            if ":" in address or not self.ipv6:
                self._sync_capture()
                flow = self.capture.tcp(address, 443, rtt=self.rng.uniform(0.01, 0.05))
                flow.handshake(host, TLS13, self.chain(host))
                self.exchange(flow, self.rng.randint(500, 1400), self.rng.randint(600, 6000))
        if self.browser is not None:
            if not self.browser.pages:
                self._page = self.browser.page(PAGE_TITLES.get(host, host), self.now)
            extra = list(response_headers)
            if location:
                extra.append(("Location", location))
            self.browser.entry(
                method,
                url,
                started=self.now,
                status=status,
                body=body,
                error=error,
                server_ip=None if error and "NAME" in error else address,
                redirect_url=location or "",
                request_headers=headers,
                response_headers=extra,
                set_cookies=set_cookies,
                cookies=cookies,
                page=self._page,
            )
        if self.net is not None:
            self.net.request(
                url,
                at=self.now,
                method=method,
                outcome=(error or "OK").removeprefix("net::"),
                address=address,
                status=status or 200,
                location=location,
                certificates=certificates,
            )
        self.now += timedelta(milliseconds=self.rng.uniform(60, 400))

    def api(
        self,
        path: str,
        errcode: int,
        *,
        host: str = "qyapi.weixin.qq.com",
        method: str = "GET",
        query: str = "",
        tag: str = "api",
        log: bool = True,
        **extra: Any,
    ) -> dict[str, Any]:
        """A WeCom API call answered with ``errcode``; logged as the client logs it."""
        body = (
            {"errcode": 0, "errmsg": "ok", **extra}
            if errcode == 0
            else wecom_error(errcode, self.rng, from_ip=self.egress_ip, at=self.now, **extra)
        )
        url = f"https://{host}{path}" + (f"?{query}" if query else "")
        self.request(method, url, body=body, cookies=self.cookies())
        if log:
            level = "info" if errcode == 0 else "error"
            text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
            self.say(level, tag, f"{method} {url} resp {text}")
        return body

    @property
    def egress_ip(self) -> str:
        return {"wired": "61.141.72.19", "wifi": "183.14.29.117", "vpn": "47.103.22.8"}.get(
            self.setting.network, "112.97.61.203"
        )

    @property
    def device_id(self) -> str:
        return f"{self.setting.platform[:3].upper()}-{self.seed & 0xFFFFFF:06X}"

    @property
    def corpid(self) -> str:
        return "ww" + f"{self.seed:016x}"[-16:]

    def cookies(self) -> list[dict[str, Any]]:
        return wecom_cookies(self.rng, self.corpid)

    # ------------------------------------------------------------------ output

    def write(self, directory: Path, status: str, causes: Sequence[str], notes: str) -> None:
        """Write the bundle: logs, capture, HAR, NetLog, bundle.json and expected.json."""
        s = self.setting
        (directory / "logs").mkdir(parents=True, exist_ok=True)
        day = s.day.strftime("%Y%m%d")
        _, name, encoding = MAIN_LOG[s.platform]
        if self.log_format and self.log_format != MAIN_LOG[s.platform][0]:
            name = {
                "electron_log": "wxwork-main.log",
                "json_lines": "wework-events.jsonl",
                "logcat_brief": "logcat_brief_{day}.txt",
                "chromium": "cef_debug.log",
                "apple_log_show": "wework-unified.log",
            }.get(self.log_format, name)
        names = {"main": (name.format(day=day), self.log_encoding or encoding)}
        names |= {file_name: (file_name, enc) for file_name, (_, enc) in self.extra_logs.items()}
        # What each file is, as written: tests hold the parsers to it.
        sources: dict[str, dict[str, Any]] = {}
        for key, log in self.logs.items():
            file_name, enc = names[key]
            log.write(directory / "logs" / file_name, enc)
            sources[f"logs/{file_name}"] = {"kind": "log", "format": log.fmt, "encoding": enc}
        if self.capture is not None:
            suffix = "pcapng" if self.pcapng else "pcap"
            self.capture.write(directory / f"capture.{suffix}")
            link = {"ether": "ethernet", "sll": "linux_sll"}[self.capture.link]
            sources[f"capture.{suffix}"] = {"kind": suffix, "link": link, "ipv6": self.ipv6}
        if self.browser is not None:
            self.browser.write(directory / f"{self.browser.browser}-login.har")
            sources[f"{self.browser.browser}-login.har"] = {"kind": "har"}
        if self.net is not None:
            truncated = self.seed % 2 == 0
            self.net.write(directory / "chrome-net-export-log.json", truncate=truncated)
            sources["chrome-net-export-log.json"] = {"kind": "netlog", "truncated": truncated}
        collected = (self.now + timedelta(minutes=3)).astimezone(self.zone)
        meta = {
            "device_id": self.device_id,
            "user": s.user,
            "os": OS_NAMES[s.platform],
            "os_version": s.os_version,
            "client": "WeCom",
            "client_version": s.client_version,
            "network": s.network,
            "region": s.region,
            "timezone": s.timezone,
            "collected_at": collected.replace(microsecond=0).isoformat(),
        }
        skew = self.clock_skew.total_seconds()
        expected = {
            "status": status,
            "causes": list(causes),
            "notes": notes,
            "device_clock_skew_s": skew,
            "sources": dict(sorted(sources.items())),
        }
        for file_name, value in (("bundle.json", meta), ("expected.json", expected)):
            text = json.dumps(value, ensure_ascii=False, indent=2) + "\n"
            (directory / file_name).write_text(text, encoding="utf-8")


def v6_for(address: str) -> str:
    """A stable IPv6 address standing for an IPv4 service address."""
    parts = [int(p) for p in address.split(".")]
    return f"240e:e1:a800:{parts[0]:x}:{parts[1]:x}::{parts[2] * 256 + parts[3]:x}"


def make_setting(
    rng: random.Random,
    platform: str,
    client_version: str,
    network: str,
    region: str,
    day: date,
) -> Setting:
    """A setting with a user and an OS version drawn from ``rng``."""
    user = f"{rng.choice(SURNAMES)}.{rng.choice(GIVEN)}"
    return Setting(
        platform=platform,
        client_version=client_version,
        network=network,
        region=region,
        day=day,
        timezone="Asia/Singapore" if region == "SG" else "Asia/Shanghai",
        # Clients older than 3.1.10 are the ones still found on Windows 7.
        os_version="6.1.7601"
        if platform == "windows" and client_version.startswith("3.")
        else rng.choice(OS_VERSIONS[platform]),
        user=user,
    )
