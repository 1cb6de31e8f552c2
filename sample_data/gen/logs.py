"""Client logs in every layout loginlens parses, written the way the real writers write them.

A ``ClientLog`` holds ``Record``s (true time, level, tag, message) and renders
them in one format — Mars xlog decoded text, Android logcat (threadtime and
brief), Apple ``log show``, Electron, Chromium/CEF or JSON Lines — with that
writer's header lines, time layout and handling of multi-line messages, then
encodes the text as UTF-8 (with or without BOM), UTF-16 LE with BOM or GB18030.
``chatter`` fills a time span with the ordinary lines a WeCom client writes
between the interesting ones; ``stack_trace`` makes Java, Objective-C, C++ and
Node traces. Logs say what a client says (hosts, errcodes, exceptions), never
a root-cause id.
"""

from __future__ import annotations

import functools
import json
import random
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, NamedTuple

from sample_data.gen.har import SERVICE_IPS

__all__ = [
    "DETECTED_ENCODING",
    "ENCODINGS",
    "FORMATS",
    "ClientLog",
    "Record",
    "chatter",
    "stack_trace",
]

FORMATS = (
    "mars_xlog",
    "logcat_threadtime",
    "logcat_brief",
    "apple_log_show",
    "electron_log",
    "chromium",
    "json_lines",
)
ENCODINGS = ("utf-8", "utf-8-sig", "utf-16-le", "gb18030")
# What ``parsers.text`` reports for each encoding ``render`` writes.
DETECTED_ENCODING = {
    "utf-8": "utf-8",
    "utf-8-sig": "utf-8 (BOM)",
    "utf-16-le": "utf-16-le (BOM)",
    "gb18030": "gb18030",
}
LEVELS = ("trace", "debug", "info", "warn", "error", "fatal")

# Each writer's spelling of the six levels.
_LETTER = {"trace": "V", "debug": "D", "info": "I", "warn": "W", "error": "E", "fatal": "F"}
_APPLE = {"trace": "Debug", "debug": "Debug", "info": "Default", "warn": "Default",
          "error": "Error", "fatal": "Fault"}  # fmt: skip
_ELECTRON = {"trace": "verbose", "debug": "debug", "info": "info", "warn": "warn",
             "error": "error", "fatal": "error"}  # fmt: skip
_CHROMIUM = {"trace": "VERBOSE1", "debug": "VERBOSE1", "info": "INFO", "warn": "WARNING",
             "error": "ERROR", "fatal": "FATAL"}  # fmt: skip
# Which formats write a UTC offset: always, optionally, or never.
_OFFSET_ALWAYS = frozenset({"mars_xlog", "apple_log_show"})
_OFFSET_OPTIONAL = frozenset({"electron_log", "json_lines"})

_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # made once: it is hot
_DISK = "capacity:255465385984 free:91325440000 available:91325440000"
_SOURCE_SUFFIXES = (".c", ".cc", ".cpp", ".h", ".m", ".mm", ".java", ".kt", ".js", ".swift")
_APPLE_COLUMNS = (
    "Timestamp                       Thread     Type        Activity             PID    TTL  "
)


class Record(NamedTuple):
    """One log record: ``ts`` is true (server) time; ``message`` may span lines.

    ``raw`` records are written verbatim (banners, dividers) and are not records to a parser.
    """

    ts: datetime
    level: str
    tag: str
    message: str
    tid: int | None = None
    file: str | None = None
    func: str | None = None
    line: int | None = None
    fields: tuple[tuple[str, Any], ...] = ()
    raw: bool = False


def _rng(seed: random.Random | int) -> random.Random:
    return seed if isinstance(seed, random.Random) else random.Random(seed)


class ClientLog:
    """A client log in one format: ``add`` records, then ``render`` or ``write`` it."""

    def __init__(
        self,
        fmt: str,
        *,
        rng: random.Random | int = 0,
        tz: tzinfo | None = None,
        clock_skew: timedelta = timedelta(0),
        offset: bool | None = None,
        pid: int | None = None,
        process: str | None = None,
        header: bool = True,
        footer: bool = True,
        newline: str = "\n",
    ) -> None:
        """Start an empty log.

        ``tz`` is the zone the device writes local time in (default: each record's own
        zone); ``clock_skew`` is how far the device clock is off; ``offset`` chooses
        whether the time carries a UTC offset where the format allows a choice (Mars
        xlog and Apple always write it, logcat and Chromium never can). ``process`` is the
        name Apple's log shows; ``header`` and ``footer`` add the banner lines the real
        writer puts around the records; ``newline`` may be ``"\r\n"`` for Windows writers.
        """
        if fmt not in FORMATS:
            raise ValueError(f"unknown log format {fmt!r}; expected one of {FORMATS}")
        if offset is None:
            offset = fmt in _OFFSET_ALWAYS or fmt == "json_lines"
        if offset and fmt not in _OFFSET_ALWAYS | _OFFSET_OPTIONAL:
            raise ValueError(f"{fmt} cannot write a UTC offset")
        if not offset and fmt in _OFFSET_ALWAYS:
            raise ValueError(f"{fmt} always writes a UTC offset")
        self.fmt = fmt
        self.rng = _rng(rng)
        self.tz = tz
        self.clock_skew = clock_skew
        self.offset = offset
        self.pid = pid if pid is not None else self.rng.randrange(1200, 32000)
        self.main_tid = (
            self.pid if fmt.startswith("logcat") else self.pid + self.rng.randrange(1, 9)
        )
        self.process = process or ("企业微信" if fmt == "apple_log_show" else "WXWork")
        self.header = header
        self.footer = footer
        self.newline = newline
        self.records: list[Record] = []
        self._tag_threads: dict[str, int] = {}
        if fmt == "apple_log_show":  # system-wide thread ids, written in hex
            self.main_tid = self.rng.randrange(0x10000, 0x3FFFFF)
            self._threads = [
                self.main_tid,
                *(self.main_tid + self.rng.randrange(9, 4000) for _ in range(5)),
            ]
        else:
            self._threads = [
                self.main_tid,
                *(self.pid + self.rng.randrange(10, 400) for _ in range(5)),
            ]

    def __len__(self) -> int:
        return sum(not r.raw for r in self.records)

    def add(
        self,
        ts: datetime,
        level: str,
        tag: str,
        message: str,
        *,
        tid: int | None = None,
        file: str | None = None,
        func: str | None = None,
        line: int | None = None,
        **fields: Any,
    ) -> Record:
        """Add a record; ``fields`` become extra keys in JSON Lines. Return the record."""
        if level not in LEVELS:
            raise ValueError(f"level must be one of {LEVELS}, not {level!r}")
        record = Record(ts, level, tag, message, tid, file, func, line, tuple(fields.items()))
        self.records.append(record)
        return record

    def extend(self, records: Iterable[Record]) -> None:
        """Add records made elsewhere (``chatter``)."""
        self.records.extend(records)

    def banner(self, ts: datetime) -> None:
        """Add what the writer prints when the app starts again mid-file (Mars: a new header)."""
        self.records.append(Record(ts, "info", "", "\n".join(self._banner(ts)), raw=True))

    # ---------------------------------------------------------------- output

    def lines(self) -> list[str]:
        """Return the rendered lines (without line ends)."""
        records = sorted(self.records, key=lambda r: r.ts)  # stable: ties keep insertion order
        render = getattr(self, f"_{self.fmt}")
        out: list[str] = []
        if self.header:
            out += self._banner(records[0].ts if records else None)
        skew, tz, threads = self.clock_skew, self.tz, self._tag_threads
        for record in records:
            if record.raw:
                out += record.message.split("\n")
                continue
            local = record.ts + skew
            if tz is not None:
                local = local.astimezone(tz)
            tid = record.tid
            if tid is None:
                tid = threads.get(record.tag) or self._thread(record.tag)
            out += render(record, local.isoformat(" ", "microseconds"), tid)
        if self.footer and self.fmt == "apple_log_show":
            out += self._apple_footer(records)
        return out

    @property
    def header_lines(self) -> int:
        """How many lines the header adds before the first record."""
        return len(self._banner(None)) if self.header else 0

    @property
    def footer_lines(self) -> int:
        """How many lines the footer adds after the last record."""
        return 3 if self.footer and self.fmt == "apple_log_show" else 0

    def render(self, encoding: str = "utf-8") -> bytes:
        """Return the log encoded as ``encoding`` (one of ``ENCODINGS``)."""
        text = self.newline.join(self.lines()) + self.newline
        if encoding == "utf-16-le":
            return b"\xff\xfe" + text.encode("utf-16-le")
        if encoding not in ENCODINGS:
            raise ValueError(f"encoding must be one of {ENCODINGS}, not {encoding!r}")
        return text.encode(encoding)

    def write(self, path: str | Path, encoding: str = "utf-8") -> Path:
        """Write ``render(encoding)`` to ``path`` and return it."""
        target = Path(path)
        target.write_bytes(self.render(encoding))
        return target

    # -------------------------------------------------------------- internals

    def _local(self, ts: datetime) -> datetime:
        moment = ts + self.clock_skew
        return moment.astimezone(self.tz) if self.tz is not None else moment

    def _thread(self, tag: str) -> int:
        # Stable per tag, so one component's lines share a thread as in a real client.
        tid = self._threads[sum(map(ord, tag)) % len(self._threads)]
        self._tag_threads[tag] = tid
        return tid

    def _banner(self, first: datetime | None) -> list[str]:
        if self.fmt == "mars_xlog":
            local = self._local(first) if first else datetime(2025, 1, 1)
            stamp = f"{local:%Y-%m-%d} {_offset(local, '')} {local:%H:%M:%S}"
            return [
                f"^^^^^^^^^^Mar 18 2025^^^11:42:07^^^^^^^^^^[{self.pid},{self.main_tid}][{stamp}]",
                "get mmap time: 3",
                "MARS_URL: ",
                "MARS_PATH: HEAD",
                "MARS_REVISION: 7b6d0f2",
                "MARS_BUILD_TIME: 2025-03-18 11:41:52",
                "MARS_BUILD_JOB: wework_pc_release",
                "log appender mode:0, use mmap:1",
                f"cache dir space info, {_DISK}",
                f"log dir space info, {_DISK}",
            ]
        if self.fmt.startswith("logcat"):
            return ["--------- beginning of main"]
        if self.fmt == "apple_log_show":
            return [
                f'Filtering the log data using "process == \\"{self.process}\\""',
                _APPLE_COLUMNS,
            ]
        return []

    # One method per format: (record, local ISO time, thread) → lines. The ISO text is
    # "YYYY-MM-DD HH:MM:SS.ffffff" plus "+HH:MM" when zoned, sliced instead of strftime'd.
    # Continuation lines are written as they come, except by logcat, which repeats its
    # prefix on every line of a message.

    def _mars_xlog(self, r: Record, iso: str, tid: int) -> list[str]:
        star = "*" if tid == self.main_tid else ""
        head = (
            f"[{_LETTER[r.level]}][{iso[:10]} {_hours(iso[26:])} {iso[11:23]}]"
            f"[{self.pid}, {tid}{star}][{r.tag}][{r.file or ''}, {r.func or ''}, {r.line or 0}]["
        )
        first, *rest = r.message.split("\n")
        return [head + first, *rest]

    def _logcat_threadtime(self, r: Record, iso: str, tid: int) -> list[str]:
        prefix = f"{iso[5:10]} {iso[11:23]} {self.pid:5d} {tid:5d} {_LETTER[r.level]} {r.tag:<8}: "
        return [prefix + part for part in r.message.split("\n")]

    def _logcat_brief(self, r: Record, iso: str, tid: int) -> list[str]:
        prefix = f"{_LETTER[r.level]}/{r.tag:<8}({self.pid:5d}): "
        return [prefix + part for part in r.message.split("\n")]

    def _apple_log_show(self, r: Record, iso: str, tid: int) -> list[str]:
        # The sender is a loaded image (a library or the app), never a source file.
        sender = r.file if r.file and not r.file.endswith(_SOURCE_SUFFIXES) else self.process
        where = f"[com.tencent.WeWorkMac:{r.tag}] " if r.tag else ""
        head = (
            f"{iso[:26]}{(iso[26:] or '+00:00').replace(':', '')} {hex(tid):<10} "
            f"{_APPLE[r.level]:<11} {'0x0':<20} {self.pid:<6} {0:<4} "
            f"{self.process}: ({sender}) {where}"
        )
        first, *rest = r.message.split("\n")
        return [head + first, *rest]

    def _apple_footer(self, records: list[Record]) -> list[str]:
        kinds = [_APPLE[r.level] for r in records if not r.raw]
        count = {k: kinds.count(k) for k in ("Default", "Info", "Debug", "Error", "Fault")}
        return [
            "-" * 116,
            f"Log      - Default: {count['Default']:>10}, Info: {count['Info']:>16}, "
            f"Debug: {count['Debug']:>13}, Error: {count['Error']:>10}, "
            f"Fault: {count['Fault']:>10}",
            f"Activity - Create: {0:>10}, Transition: {0:>10}, Actions: {0:>11}",
        ]

    def _electron_log(self, r: Record, iso: str, tid: int) -> list[str]:
        zone = (iso[26:] or "+00:00") if self.offset else ""
        level = f"[{_ELECTRON[r.level]}]"
        scope = f"({r.tag}) " if r.tag else ""
        first, *rest = r.message.split("\n")
        return [f"[{iso[:23]}{zone}] {level:<7} {scope}{first}", *rest]

    def _chromium(self, r: Record, iso: str, tid: int) -> list[str]:
        stamp = f"{iso[5:7]}{iso[8:10]}/{iso[11:13]}{iso[14:16]}{iso[17:19]}.{iso[20:23]}"
        place = f"{r.file or 'cef_main.cc'}({r.line or 100})"
        first, *rest = r.message.split("\n")
        return [f"[{self.pid}:{tid}:{stamp}:{_CHROMIUM[r.level]}:{place}] {first}", *rest]

    def _json_lines(self, r: Record, iso: str, tid: int) -> list[str]:
        zone = (iso[26:] or "+00:00") if self.offset else ""
        obj: dict[str, Any] = {
            "time": f"{iso[:10]}T{iso[11:23]}{zone}",
            "level": r.level,
            "tag": r.tag,
            "pid": self.pid,
            "tid": tid,
            "msg": r.message,
        }
        obj.update(r.fields)
        return [_JSON.encode(obj)]


def _offset(moment: datetime, colon: str) -> str:
    """``+0800`` (or ``+08:00`` with ``colon=':'``); UTC for naive datetimes."""
    seconds = int((moment.utcoffset() or timedelta(0)).total_seconds())
    sign = "-" if seconds < 0 else "+"
    seconds = abs(seconds)
    return f"{sign}{seconds // 3600:02d}{colon}{seconds % 3600 // 60:02d}"


@functools.lru_cache(maxsize=64)
def _hours(zone: str) -> str:
    """Mars writes the UTC offset as signed hours with one decimal: ``+8.0``, ``-3.5``."""
    if not zone:
        return "+0.0"
    hours = int(zone[1:3]) + int(zone[4:6]) / 60
    return f"{-hours if zone[0] == '-' else hours:+.1f}"


# ------------------------------------------------------------------ chatter

_Line = tuple[int, str, str, str, str, int, Callable[[random.Random, str], str]]


def _n(r: random.Random, low: int, high: int) -> int:
    """A number in [low, high): ``randrange`` costs five times as much and chatter is hot."""
    return low + int(r.random() * (high - low))


def _pick(r: random.Random, items: tuple[Any, ...]) -> Any:
    """``r.choice`` at a third of the cost."""
    return items[int(r.random() * len(items))]


def _ip(r: random.Random, host: str = "i.work.weixin.qq.com") -> str:
    return str(_pick(r, SERVICE_IPS[host]))


_HOSTS = (
    "i.work.weixin.qq.com",
    "qyapi.weixin.qq.com",
    "work.weixin.qq.com",
    "wwcdn.weixin.qq.com",
)
# The line a client writes when its window comes to the front, per platform.
_FOREGROUND: dict[str, Callable[[random.Random], str]] = {
    "windows": lambda r: f"WM_ACTIVATE hwnd=0x{r.randrange(0x10000, 0xFFFFFF):x} active=1",
    "android": lambda r: "onResume com.tencent.wework.launch.WwMainActivity",
    "mac": lambda r: "applicationDidBecomeActive: NSApplication",
}
_STATUS_ZH = ("已连接", "正在同步消息…", "收到新消息", "正在连接", "连接成功", "同步完成")

# (weight, level, tag, file, func, line, message): what a healthy WeCom client keeps saying.
_CHATTER: tuple[_Line, ...] = (
    (14, "info", "mmcore", "LongLink.cc", "SendNoop", 611,
     lambda r, p: f"send noop seq={_n(r, 1, 99999)} interval=270s"),
    (12, "info", "mmcore", "LongLink.cc", "OnNoopResp", 640,
     lambda r, p: f"noop resp seq={_n(r, 1, 99999)} rtt={_n(r, 18, 90)}ms"),
    (8, "info", "sync", "SyncMgr.cpp", "DoSync", 233,
     lambda r, p: f"sync start selector=0x{_n(r, 1, 4096):x} continue=0"),
    (8, "info", "sync", "SyncMgr.cpp", "OnSyncResp", 301,
     lambda r, p: f"sync done msgs={_n(r, 0, 40)} contacts={_n(r, 0, 5)} "
     f"cost={_n(r, 20, 400)}ms"),
    (5, "debug", "db", "SqliteDb.cpp", "Checkpoint", 118,
     lambda r, p: f"wal checkpoint db={_pick(r, ('message.db', 'contact.db', 'session.db'))} "
     f"pages={_n(r, 8, 900)} busy=0"),
    (5, "debug", "ui", "MainWnd.cpp", "OnActivate", 452,
     lambda r, p: _FOREGROUND[p](r)),
    (4, "info", "ui", "StatusBar.cpp", "SetStatus", 87,
     lambda r, p: f"状态: {_pick(r, _STATUS_ZH)}"),
    (4, "info", "config", "ConfigMgr.cpp", "Pull", 150,
     lambda r, p: f"pull config ver={_n(r, 1000, 9999)} keys={_n(r, 3, 60)} ret=0"),
    (5, "info", "mmcore", "NetCore.cc", "Connect", 412,
     lambda r, p: f"connect to i.work.weixin.qq.com:443 ip={_ip(r)} via=longlink"),
    (4, "info", "mmcore", "NetCore.cc", "OnConnected", 455,
     lambda r, p: f"long link established rtt={_n(r, 18, 90)}ms"),
    (5, "info", "dns", "NewDns.cc", "Resolve", 208,
     lambda r, p: f"httpdns resolve {(h := _pick(r, _HOSTS))} -> {_ip(r, h)} "
     f"ttl={_pick(r, (60, 300, 600))} "
     f"cost={_n(r, 3, 80)}ms"),
    (3, "info", "dns", "NewDns.cc", "Resolve", 236,
     lambda r, p: f"local dns {(h := _pick(r, _HOSTS))} -> {_ip(r, h)} cost={_n(r, 2, 60)}ms"),
    (2, "info", "update", "Updater.cpp", "Check", 64,
     lambda r, p: "check update url=https://dldir1.qq.com/wework/work_weixin/update.json "
     "channel=stable"),
    (2, "info", "update", "Updater.cpp", "OnCheck", 97, lambda r, p: "no update available"),
    (4, "debug", "mmcore", "ShortLink.cc", "Send", 188,
     lambda r, p: f"cgi=/cgi-bin/mmwork-bin/{_pick(r, ('getconfig', 'reportkv'))}"
     f" seq={_n(r, 1, 99999)} body={_n(r, 60, 4000)}B"),
    (4, "info", "mmcore", "ShortLink.cc", "OnResp", 240,
     lambda r, p: f"http=200 ret=0 cost={_n(r, 30, 500)}ms"),
    (2, "info", "report", "Report.cc", "Flush", 77,
     lambda r, p: f"report kv count={_n(r, 1, 50)} ret=0"),
    (2, "debug", "app", "Memory.cpp", "Stat", 45,
     lambda r, p: f"memory working_set={_n(r, 180, 900)}MB handles={_n(r, 600, 3000)}"),
    (1, "warn", "ui", "Render.cpp", "Frame", 320,
     lambda r, p: f"slow frame {_n(r, 34, 120)}ms view=ConversationList"),
)  # fmt: skip
_CUM_WEIGHTS = tuple(sum(line[0] for line in _CHATTER[: i + 1]) for i in range(len(_CHATTER)))


def chatter(
    rng: random.Random | int,
    start: datetime,
    end: datetime,
    per_minute: float = 20.0,
    *,
    platform: str = "windows",
) -> list[Record]:
    """Return ordinary client lines (heartbeats, sync, db, UI, config, DNS, updates) in a span.

    About ``per_minute`` records at random times between ``start`` and ``end``, in time
    order, with source places (file, function, line) for the formats that show them.
    ``platform`` (``windows``, ``android``, ``mac``) picks platform-specific wording; on
    Android only the C++ network core logs source places, as Mars' Java layer writes none.
    """
    if platform not in _FOREGROUND:
        raise ValueError(f"platform must be one of {sorted(_FOREGROUND)}, not {platform!r}")
    r = _rng(rng)
    span_us = max(0, round((end - start).total_seconds() * 1_000_000))
    count = round(per_minute * span_us / 60_000_000)
    offsets = sorted(int(r.random() * span_us) for _ in range(count))
    picks = r.choices(_CHATTER, cum_weights=_CUM_WEIGHTS, k=count)
    java = platform == "android"
    step = timedelta(microseconds=1)
    return [
        Record(start + us * step, level, tag, say(r, platform), None, file, func, line)
        if not java or file.endswith(".cc")
        else Record(start + us * step, level, tag, say(r, platform))
        for us, (_, level, tag, file, func, line, say) in zip(offsets, picks, strict=True)
    ]


# ------------------------------------------------------------- stack traces

_JAVA_FRAMES = (
    "com.tencent.wework.foundation.net.NetworkEngine.execute(NetworkEngine.java:214)",
    "com.tencent.wework.foundation.net.CgiRequest.run(CgiRequest.java:88)",
    "com.tencent.wework.login.controller.LoginService.requestTicket(LoginService.java:412)",
    "com.tencent.wework.login.controller.LoginService$2.run(LoginService.java:390)",
    "java.util.concurrent.ThreadPoolExecutor.runWorker(ThreadPoolExecutor.java:1145)",
    "java.util.concurrent.ThreadPoolExecutor$Worker.run(ThreadPoolExecutor.java:644)",
    "java.lang.Thread.run(Thread.java:1012)",
)
_OBJC_FRAMES = (
    "CoreFoundation                      0x00000001a0b2c8f8 __exceptionPreprocess + 176",
    "libobjc.A.dylib                     0x00000001a0622b90 objc_exception_throw + 60",
    "Security                            0x00000001a3d4e1c4 SecItemCopyMatching + 312",
    "WeWorkMac                           0x0000000104a1f0b8 -[WWKeychainStore readToken:] + 204",
    "WeWorkMac                           0x0000000104a1c2e0 -[WWLoginManager restoreSession] + 96",
    "libdispatch.dylib                   0x00000001a083e3e8 _dispatch_call_block_and_release + 32",
)
_CPP_FRAMES = (
    "WXWork!LocalDb::Open+0x1a2 (LocalDb.cpp:130)",
    "WXWork!SessionStore::Load+0x8c (SessionStore.cpp:58)",
    "WXWork!LoginLogic::RestoreSession+0x44 (LoginLogic.cpp:96)",
    "WXWork!LoginLogic::Start+0x120 (LoginLogic.cpp:61)",
    "WXWork!AppMain::Run+0x2f0 (AppMain.cpp:140)",
)
_NODE_FRAMES = (
    "LoginClient.handleResponse (app.asar/login/client.js:212:19)",
    "LoginClient.request (app.asar/login/client.js:160:12)",
    "async LoginWindow.onQrConfirmed (app.asar/login/window.js:88:7)",
    "processTicksAndRejections (node:internal/process/task_queues:95:5)",
)


def stack_trace(
    kind: str,
    exception: str,
    message: str,
    *,
    caused_by: tuple[str, str] | None = None,
    depth: int | None = None,
) -> str:
    """Return a multi-line trace as the runtime prints it: ``java``, ``objc``, ``cpp`` or ``node``.

    The first line names the exception and its message; ``caused_by`` (exception,
    message) adds a Java ``Caused by:`` section.
    """
    if kind == "java":
        frames = _JAVA_FRAMES[:depth]
        text = f"{exception}: {message}\n" + "\n".join(f"\tat {f}" for f in frames)
        if caused_by:
            text += f"\nCaused by: {caused_by[0]}: {caused_by[1]}"
            text += "\n\tat libcore.io.Linux.android_getaddrinfo(Native Method)"
            text += f"\n\t... {len(frames)} more"
        return text
    if kind == "objc":
        frames = _OBJC_FRAMES[:depth]
        lines = [f"{i:<4}{frame}" for i, frame in enumerate(frames)]
        return (
            f"*** Terminating app due to uncaught exception '{exception}', reason: '{message}'\n"
            + ("*** First throw call stack:\n" + "\n".join(lines))
        )
    if kind == "cpp":
        frames = _CPP_FRAMES[:depth]
        return f"{exception}: {message}\n" + "\n".join(f"  #{i} {f}" for i, f in enumerate(frames))
    if kind == "node":
        frames = _NODE_FRAMES[:depth]
        return f"{exception}: {message}\n" + "\n".join(f"    at {f}" for f in frames)
    raise ValueError(f"unknown stack kind {kind!r}")
