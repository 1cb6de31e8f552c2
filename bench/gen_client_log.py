"""Deterministic generator of a large, realistic Electron client log for benchmarks.

Writes lines in the electron-log layout the parser recognises, e.g.::

    [2025-05-31 10:01:49.123] [info]  (login) connect to i.work.weixin.qq.com:443 ...

with a mix of ~85% info/debug chatter, ~10% warnings, ~4% errors carrying the
login-failure signatures and ~1% errors followed by an indented stack trace.
Next to ``OUT`` it writes ``OUT.json`` with what was written (line, record and
signature-line counts) so a benchmark can check a parser's record count exactly.

Usage: ``python -m bench.gen_client_log OUT [--mb 100] [--seed N]``
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

VERSION = 1
DEFAULT_SEED = 20250531
START = datetime(2025, 5, 31, 8, 0, 0)
CHUNK_RECORDS = 4096
# The patterns the log signatures look for (the benchmark greps for exactly these).
SIGNATURE_PATTERNS = (
    "errcode=",
    "ERR_CONNECTION_RESET",
    "certificate verify failed",
    "database disk image is malformed",
)

Template = Callable[[random.Random], str]

_WEWORK_HOSTS = (
    "i.work.weixin.qq.com",
    "open.work.weixin.qq.com",
    "qyapi.weixin.qq.com",
    "wwcdn.weixin.qq.com",
    "long.open.weixin.qq.com",
    "rescdn.qq.com",
    "dldir1.qq.com",
    "sso.corp.example.com",
    "login.corp.example.com",
    "proxy.corp.local",
)
_IPS = (
    "109.244.194.120",
    "109.244.194.121",
    "183.3.224.143",
    "101.91.37.23",
    "203.0.113.7",
    "198.51.100.24",
    "10.20.30.40",
    "172.16.8.2",
)
_APIS = (
    "/cgi-bin/user/get",
    "/cgi-bin/user/getuserinfo",
    "/cgi-bin/department/list",
    "/cgi-bin/message/send",
    "/cgi-bin/service/get_login_info",
    "/cgi-bin/agent/get",
    "/cgi-bin/gettoken",
)
_CHANNELS = (
    "presence:update",
    "conv:unread",
    "window:focus",
    "tray:badge",
    "login:state",
    "sync:progress",
    "settings:changed",
)
_FUNCS = (
    "onLoginResult",
    "handleQrScanned",
    "refreshToken",
    "LoginStore.dispatch",
    "Object.onResponse",
    "fetchUserInfo",
    "SyncWorker.pull",
    "IpcBridge.invoke",
)
_FILES = (
    "app://./js/login.8f3c2a.js",
    "app://./js/vendor.1b77e0.js",
    "app://./js/main.c0ffee.js",
    "/opt/wework/resources/app.asar/dist/main.js",
    "node:internal/process/task_queues",
)
_USERS = ("zhangwei", "lina", "wangfang", "liuyang", "chenjie", "admin", "support01")
_CJK_NAMES = ("张伟", "李娜", "王芳", "刘洋", "陈杰")
_DEPTS = ("研发部", "市场部", "客服中心", "财务部")
_ERRMSGS = (
    (60020, "not allow to access from your ip"),
    (40014, "invalid access_token"),
    (42001, "access_token expired"),
    (60011, "no privilege to access/modify contact/party/agent"),
    (45009, "api freq out of limit"),
    (40029, "invalid code"),
)
_HEX = "0123456789abcdef"
_B62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choices(_HEX, k=n))


def _token(rng: random.Random, n: int = 43) -> str:
    return "".join(rng.choices(_B62, k=n))


def _host(rng: random.Random) -> str:
    return rng.choice(_WEWORK_HOSTS)


def _ip(rng: random.Random) -> str:
    return rng.choice(_IPS)


# Info/debug chatter: (template, contains a signature pattern).
_CHATTER: tuple[tuple[Template, bool], ...] = (
    (
        lambda r: f"(login) connect to {_host(r)}:443 ip={_ip(r)} rtt={r.randrange(8, 300)}ms",
        False,
    ),
    (lambda r: f"(net) dns {_host(r)} -> {_ip(r)} in {r.randrange(0, 80)}ms", False),
    (
        lambda r: (
            f"(ipc) send main->renderer channel={r.choice(_CHANNELS)} "
            f"seq={r.randrange(100000, 999999)} bytes={r.randrange(32, 8192)}"
        ),
        False,
    ),
    (
        lambda r: (
            f"(sync) pulled {r.randrange(0, 64)} messages conv=R:{r.randrange(10**15, 10**16)} "
            f"seq={r.randrange(10**6, 10**8)} cost={r.randrange(5, 900)}ms"
        ),
        False,
    ),
    (lambda r: f"(heartbeat) ping ok rtt={r.randrange(10, 250)}ms seq={r.randrange(99999)}", False),
    (
        lambda r: (
            f"(net) GET https://wwcdn.weixin.qq.com/node/wework/images/{_hex(r, 12)}.png "
            f"200 {r.randrange(1, 900)}.{r.randrange(10)}KB {r.randrange(5, 700)}ms"
        ),
        False,
    ),
    (
        lambda r: (
            f"(api) GET https://qyapi.weixin.qq.com{r.choice(_APIS)}?access_token={_token(r)}"
            f"&userid={r.choice(_USERS)} 200 {r.randrange(10, 400)}ms"
        ),
        False,
    ),
    (
        lambda r: (
            f'(api) POST {r.choice(_APIS)} ok errcode=0 errmsg="ok" '
            f"cost={r.randrange(10, 600)}ms req_id={_hex(r, 16)}"
        ),
        True,
    ),
    (
        lambda r: f"(login) qrcode state=wait_scan key={_hex(r, 32)} poll={r.randrange(1, 120)}",
        False,
    ),
    (
        lambda r: (
            f"(update) checking for updates channel=stable current=4.1.{r.randrange(20, 40)}"
            f".{r.randrange(6000, 7000)}"
        ),
        False,
    ),
    (lambda r: f"(main) window focus changed id={r.randrange(1, 9)} visible=true", False),
    (
        lambda r: (
            f"(contacts) loaded user {r.choice(_CJK_NAMES)} ({r.choice(_USERS)}) "
            f"dept={r.choice(_DEPTS)} vid={r.randrange(10**15, 10**16)}"
        ),
        False,
    ),
    (
        lambda r: (
            f"(db) checkpoint msg_{r.randrange(0, 8)}.db pages={r.randrange(1, 5000)} "
            f"wal={r.randrange(0, 4096)}KB"
        ),
        False,
    ),
    (
        lambda r: (
            f"(sso) redirect to https://login.corp.example.com/adfs/ls/?client-request-id="
            f"{_hex(r, 8)}-{_hex(r, 4)}-{_hex(r, 4)}&state={_token(r, 16)}"
        ),
        False,
    ),
)

_WARNINGS: tuple[tuple[Template, bool], ...] = (
    (
        lambda r: (
            f"(net) request to https://{_host(r)}/cgi-bin/sync slow: "
            f"{r.randrange(2000, 15000)}ms, retry {r.randrange(1, 4)}/3"
        ),
        False,
    ),
    (lambda r: f"(heartbeat) timeout after {r.randrange(10, 60) * 1000}ms, reconnecting", False),
    (lambda r: f"(login) token expires in {r.randrange(30, 600)}s, refreshing", False),
    (lambda r: f"(login) qrcode expired key={_hex(r, 32)}, regenerating", False),
    (
        lambda r: (
            f"(net) proxy {r.choice(('proxy.corp.local:8080', '10.0.0.1:3128'))} "
            f"answered 407 for {_host(r)}"
        ),
        False,
    ),
    (lambda r: f"(net) net::ERR_NETWORK_CHANGED on {_host(r)}, retrying", False),
    (lambda r: f"(db) slow query {r.randrange(200, 3000)}ms on msg_{r.randrange(0, 8)}.db", False),
)


def _errcode_line(r: random.Random) -> str:
    code, msg = r.choice(_ERRMSGS)
    ts = r.randrange(1748650000, 1748750000)
    return (
        f"(api) POST https://qyapi.weixin.qq.com{r.choice(_APIS)} failed: errcode={code} "
        f'errmsg="{msg}, hint: [{ts}_{r.randrange(10, 99)}_{_hex(r, 16)}], from ip: {_ip(r)}, '
        f'more info at https://open.work.weixin.qq.com/devtool/query?e={code}"'
    )


_ERRORS: tuple[tuple[Template, bool], ...] = (
    (_errcode_line, True),
    (
        lambda r: (
            f"(net) request to https://{_host(r)}/cgi-bin/login failed: "
            f"net::ERR_CONNECTION_RESET (ip={_ip(r)} after {r.randrange(5, 30000)}ms)"
        ),
        True,
    ),
    (
        lambda r: (
            f"(net) TLS handshake with {_host(r)}:443 failed: certificate verify failed: "
            "unable to get local issuer certificate"
        ),
        True,
    ),
    (
        lambda r: (
            f"(db) open msg_{r.randrange(0, 8)}.db failed: database disk image is malformed "
            "(SQLITE_CORRUPT, code 11)"
        ),
        True,
    ),
)

_TRACE_HEADS: tuple[Template, ...] = (
    lambda r: (
        "(renderer) Uncaught (in promise) TypeError: Cannot read properties of undefined "
        "(reading 'userid')"
    ),
    lambda r: f"(main) unhandled rejection: Error: socket hang up ({_host(r)})",
    lambda r: "(renderer) RangeError: Maximum call stack size exceeded",
)


def _trace_line(r: random.Random) -> str:
    return (
        f"    at {r.choice(_FUNCS)} ({r.choice(_FILES)}:{r.randrange(1, 4000)}:"
        f"{r.randrange(1, 80)})"
    )


@dataclass
class GenStats:
    """What the generator wrote; saved as ``OUT.json`` next to the log."""

    path: str
    seed: int
    target_mb: float
    version: int = VERSION
    bytes: int = 0
    lines: int = 0
    records: int = 0
    continuation_lines: int = 0
    signature_lines: int = 0
    levels: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def sidecar_path(path: Path) -> Path:
    """Where the generator's ``GenStats`` for ``path`` are written."""
    return path.with_name(path.name + ".json")


def generate(path: Path, mb: float = 100.0, seed: int = DEFAULT_SEED) -> GenStats:
    """Write ~``mb`` MiB of client log to ``path`` (and its sidecar JSON); return the stats."""
    started = time.perf_counter()
    rng = random.Random(seed)
    target = int(mb * 2**20)
    stats = GenStats(path=str(path), seed=seed, target_mb=mb)
    levels = {"debug": 0, "info": 0, "warn": 0, "error": 0}
    ms = 0
    second = -1
    stamp = ""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        while stats.bytes < target:
            chunk: list[str] = []
            for _ in range(CHUNK_RECORDS):
                ms += rng.randrange(0, 40)
                if ms // 1000 != second:
                    second = ms // 1000
                    stamp = (START + timedelta(seconds=second)).strftime("[%Y-%m-%d %H:%M:%S.")
                roll = rng.random()
                trace = 0
                if roll < 0.85:
                    level = "debug" if roll < 0.30 else "info"
                    template, hit = rng.choice(_CHATTER)
                    message = template(rng)
                elif roll < 0.95:
                    level = "warn"
                    template, hit = rng.choice(_WARNINGS)
                    message = template(rng)
                elif roll < 0.99:
                    level = "error"
                    template, hit = rng.choice(_ERRORS)
                    message = template(rng)
                else:
                    level = "error"
                    hit = False
                    message = rng.choice(_TRACE_HEADS)(rng)
                    trace = rng.randrange(3, 7)
                chunk.append(f"{stamp}{ms % 1000:03d}] [{level}]{' ' * (6 - len(level))}{message}")
                for _ in range(trace):
                    chunk.append(_trace_line(rng))
                levels[level] += 1
                stats.records += 1
                stats.continuation_lines += trace
                stats.signature_lines += hit
            data = ("\n".join(chunk) + "\n").encode("utf-8")
            out.write(data)
            stats.bytes += len(data)
            stats.lines += len(chunk)
    stats.levels = levels
    stats.seconds = round(time.perf_counter() - started, 3)
    sidecar_path(path).write_text(json.dumps(asdict(stats), indent=2) + "\n", encoding="utf-8")
    return stats


def load_stats(path: Path) -> GenStats | None:
    """The sidecar stats of a previously generated ``path``, or None if missing or stale."""
    try:
        doc = json.loads(sidecar_path(path).read_text(encoding="utf-8"))
        stats = GenStats(**doc)
    except (OSError, ValueError, TypeError):
        return None
    if stats.version != VERSION or not path.is_file() or path.stat().st_size != stats.bytes:
        return None
    return stats


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.gen_client_log",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("out", type=Path, help="log file to write")
    parser.add_argument("--mb", type=float, default=100.0, help="size in MiB (default 100)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    args = parser.parse_args(argv)
    stats = generate(args.out, args.mb, args.seed)
    print(
        f"wrote {stats.bytes / 2**20:.1f} MiB, {stats.lines:,} lines, {stats.records:,} records "
        f"({stats.continuation_lines:,} stack-trace lines, {stats.signature_lines:,} signature "
        f"lines) to {args.out} in {stats.seconds:.1f}s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
