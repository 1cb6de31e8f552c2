"""The client-log formats loginlens recognises, as data.

Each format is one anchored regex (valid for both Rust's regex crate, which
polars runs, and Python's ``regex``) with named groups among ``ts``, ``level``,
``logger``, ``pid``, ``tid``, ``host``, ``pri`` and a final ``message`` or
``rest``; the timestamp layouts its ``ts`` group may use; and sample lines with
what they must yield, which ``tests/parsers/test_log_formats.py`` runs. Add a
format by adding an entry here.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class LogFormat:
    """One line format: how to match a record's first line and what it yields."""

    name: str
    description: str
    pattern: str
    # Timestamp layouts the ``ts`` group may use: None tries every layout, () means no timestamp.
    layouts: tuple[str, ...] | None
    samples: tuple[tuple[str, dict[str, str | None]], ...]  # line → expected event fields
    level_codes: dict[str, str] = field(default_factory=dict)  # format-specific level spellings
    hex_thread_ids: bool = False  # thread ids written in hex without a 0x prefix


# Level letters used by Android, Mars xlog and glog.
_LETTER_LEVELS = {"v": "trace", "d": "debug", "i": "info", "w": "warn", "e": "error", "f": "fatal"}

MARS_XLOG = LogFormat(
    name="mars_xlog",
    description="Tencent Mars xlog, decoded to text (WeCom, WeChat clients)",
    pattern=(
        r"^\[(?P<level>[VDIWEF])\]\[(?P<ts>\d{4}-\d{2}-\d{2} [+-]\d{1,2}(?:\.\d+)? "
        r"\d{1,2}:\d{2}:\d{2}(?:\.\d+)?)\]\[(?P<pid>\d+), ?(?P<tid>\d+)\*?\]"
        r"\[(?P<logger>[^\]]*)\](?:\[[^\]]*\])?\[?(?P<message>.*)$"
    ),
    layouts=("xlog",),
    samples=(
        (
            "[I][2025-05-31 +8.0 10:01:49.123][1203, 1288*][mmcore][NetCore.cc, Connect, 412]"
            "[connect to i.work.weixin.qq.com:443",
            {
                "log.level": "info",
                "process.pid": "1203",
                "process.thread.id": "1288",
                "log.logger": "mmcore",
                "message": "connect to i.work.weixin.qq.com:443",
                "@timestamp": "2025-05-31T02:01:49.123000+00:00",
            },
        ),
        (
            "[E][2024-12-01 +8.0 09:00:00.001][77, 77][][login.cc, OnResp, 9][errcode=60020",
            {"log.level": "error", "log.logger": None, "message": "errcode=60020"},
        ),
    ),
    level_codes=_LETTER_LEVELS,
)

# The banner Mars writes each time its appender opens; the lines after it (build facts,
# disk space) continue it. Its stamp writes the offset as +0800, unlike the records.
MARS_XLOG_HEADER = LogFormat(
    name="mars_xlog_header",
    description="Tencent Mars xlog banner (log appender opened: build date, pid, tid, time)",
    pattern=(
        r"^(?P<message>\^{10}[A-Z][a-z]{2} +\d{1,2} \d{4}\^{3}\d{2}:\d{2}:\d{2}\^{10}"
        r"\[(?P<pid>\d+), ?(?P<tid>\d+)\]\[(?P<ts>\d{4}-\d{2}-\d{2} [+-]\d{4} "
        r"\d{1,2}:\d{2}:\d{2})\])$"
    ),
    layouts=("xlog",),
    samples=(
        (
            "^^^^^^^^^^Mar 18 2025^^^11:42:07^^^^^^^^^^[8997,9000][2025-05-31 +0800 10:00:16]",
            {
                "process.pid": "8997",
                "process.thread.id": "9000",
                "@timestamp": "2025-05-31T02:00:16+00:00",
            },
        ),
    ),
)

# Lines tools print around the records: logcat's buffer markers, the header and summary
# of Apple's ``log show``. They carry no time; kept as records so they continue nothing.
LOG_BANNER = LogFormat(
    name="log_banner",
    description="banner lines of log tools (logcat buffer markers, log show header and summary)",
    pattern=(
        r"^(?P<message>-{9} (?:beginning of|switch to) \w+|"
        r'Filtering the log data using ".*|Skipping (?:info and )?debug messages.*|'
        r"Timestamp {2,}(?:Thread {2,}Type|Ty {2,}Process)\b.*|"
        r"Log {6}- Default: .*|Activity - Create: .*)\s*$"
    ),
    layouts=(),
    samples=(
        ("--------- beginning of main", {"message": "--------- beginning of main"}),
        (
            'Filtering the log data using "process == \\"WeWork\\""',
            {"message": 'Filtering the log data using "process == \\"WeWork\\""'},
        ),
        (
            "Log      - Default:         12, Info:                0, Debug:             0",
            {"log.level": None},
        ),
    ),
)

LOGCAT_THREADTIME = LogFormat(
    name="logcat_threadtime",
    description="Android logcat -v threadtime",
    pattern=(
        r"^(?P<ts>(?:\d{4}-)?\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3,6})\s+(?P<pid>\d+)\s+"
        r"(?P<tid>\d+)\s+(?P<level>[VDIWEFA])\s+(?P<logger>[^:]*?)\s*: ?(?P<message>.*)$"
    ),
    layouts=("iso", "month_day"),
    samples=(
        (
            "05-31 10:01:49.123  2211  2305 E WeWork.Login: login failed errcode=50002",
            {
                "process.pid": "2211",
                "process.thread.id": "2305",
                "log.level": "error",
                "log.logger": "WeWork.Login",
                "message": "login failed errcode=50002",
            },
        ),
    ),
    level_codes={**_LETTER_LEVELS, "a": "fatal"},
)

LOGCAT_TIME = LogFormat(
    name="logcat_time",
    description="Android logcat -v time",
    pattern=(
        r"^(?P<ts>(?:\d{4}-)?\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3,6})\s+(?P<level>[VDIWEFA])/"
        r"(?P<logger>[^(]*?)\s*\(\s*(?P<pid>\d+)\): ?(?P<message>.*)$"
    ),
    layouts=("iso", "month_day"),
    samples=(
        (
            "05-31 10:01:49.123 W/NetworkMonitor(  812): probe failed",
            {
                "log.level": "warn",
                "log.logger": "NetworkMonitor",
                "process.pid": "812",
                "message": "probe failed",
            },
        ),
    ),
    level_codes={**_LETTER_LEVELS, "a": "fatal"},
)

LOGCAT_BRIEF = LogFormat(
    name="logcat_brief",
    description="Android logcat -v brief (no timestamp)",
    pattern=r"^(?P<level>[VDIWEFA])/(?P<logger>[^(]*?)\s*\(\s*(?P<pid>\d+)\): ?(?P<message>.*)$",
    layouts=(),
    samples=(
        (
            "I/ActivityManager( 1234): Start proc com.tencent.wework",
            {"log.level": "info", "log.logger": "ActivityManager", "process.pid": "1234"},
        ),
    ),
    level_codes={**_LETTER_LEVELS, "a": "fatal"},
)

APPLE_LOG_SHOW = LogFormat(
    name="apple_log_show",
    description="Apple unified log, `log show` default style",
    pattern=(
        r"^(?P<ts>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d+[+-]\d{4})\s+(?P<tid>0x[0-9a-fA-F]+)\s+"
        r"(?P<level>[A-Za-z]+)\s+0x[0-9a-fA-F]+\s+(?P<pid>\d+)\s+\d+\s+"
        r"(?P<logger>[^:]+?): (?P<message>.*)$"
    ),
    layouts=("iso",),
    samples=(
        (
            "2025-05-31 10:01:49.123456+0800 0x2f1a3    Error       0x0                  "
            "1402   0    WeWorkMac: (Security) SecTrustEvaluateWithError failed",
            {
                "process.thread.id": "192931",
                "log.level": "error",
                "process.pid": "1402",
                "log.logger": "WeWorkMac",
                "message": "(Security) SecTrustEvaluateWithError failed",
                "@timestamp": "2025-05-31T02:01:49.123456+00:00",
            },
        ),
    ),
    level_codes={"default": "info", "activity": "info", "fault": "fatal"},
)

APPLE_LOG_COMPACT = LogFormat(
    name="apple_log_compact",
    description="Apple unified log, `log show --style compact`",
    pattern=(
        r"^(?P<ts>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d+)\s+(?P<level>Df|Db|I|E|F|A|Er|Fa)\s+"
        r"(?P<logger>[^\[\s]+)\[(?P<pid>\d+):(?P<tid>[0-9a-fA-Fx]+)\] (?P<message>.*)$"
    ),
    layouts=("iso",),
    samples=(
        (
            "2025-05-31 10:01:49.123 E  WeWorkMac[1402:2f1a3] [com.tencent.login] token refresh failed",
            {
                "log.level": "error",
                "log.logger": "WeWorkMac",
                "process.pid": "1402",
                "process.thread.id": "192931",
            },
        ),
    ),
    level_codes={
        "df": "info",
        "db": "debug",
        "i": "info",
        "e": "error",
        "er": "error",
        "f": "fatal",
        "fa": "fatal",
        "a": "info",
    },
    hex_thread_ids=True,
)

ELECTRON_LOG = LogFormat(
    name="electron_log",
    description="Electron client log (electron-log style `[date] [level] message`)",
    pattern=(
        r"^\[(?P<ts>\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?)\]"
        r"\s*\[(?P<level>[A-Za-z]+)\]\s*(?:\((?P<logger>[^)]*)\)\s*)?(?P<message>.*)$"
    ),
    layouts=("iso",),
    samples=(
        (
            "[2025-05-31 10:01:49.123] [error] (login) request failed: net::ERR_CONNECTION_RESET",
            {
                "log.level": "error",
                "log.logger": "login",
                "message": "request failed: net::ERR_CONNECTION_RESET",
            },
        ),
        (
            "[2025-05-31 10:01:49.123] [info]  window ready",
            {"log.level": "info", "message": "window ready"},
        ),
    ),
)

CHROMIUM = LogFormat(
    name="chromium",
    description="Chromium/CEF log `[pid:tid:MMDD/HHMMSS.mmm:LEVEL:file(line)] message`",
    pattern=(
        r"^\[(?:(?P<pid>\d+):(?P<tid>\d+):)?(?P<ts>\d{4}/\d{6}(?:\.\d+)?):"
        r"(?P<level>[A-Z]+\d?):(?P<logger>[^\]]*)\] ?(?P<message>.*)$"
    ),
    layouts=("chromium",),
    samples=(
        (
            "[1776:2344:0531/100149.123:ERROR:ssl_client_socket_impl.cc(985)] handshake failed; "
            "returned -1, SSL error code 1, net_error -202",
            {
                "process.pid": "1776",
                "process.thread.id": "2344",
                "log.level": "error",
                "log.logger": "ssl_client_socket_impl.cc(985)",
            },
        ),
    ),
)

SYSLOG_5424 = LogFormat(
    name="syslog_5424",
    description="syslog RFC 5424",
    pattern=(
        r"^<(?P<pri>\d{1,3})>1 (?P<ts>\S+) (?P<host>\S+) (?P<logger>\S+) (?P<pid>\S+) \S+ "
        r"(?:-|(?:\[(?:[^\]\\]|\\.)*\])+) ?(?P<message>.*)$"
    ),
    layouts=("iso",),
    samples=(
        (
            '<165>1 2025-05-31T10:01:49.003Z gw01 wework 4211 ID47 [ex@32473 iut="3"] proxy denied',
            {
                "log.level": "info",
                "host.hostname": "gw01",
                "log.logger": "wework",
                "process.pid": "4211",
                "message": "proxy denied",
            },
        ),
    ),
)

SYSLOG_3164 = LogFormat(
    name="syslog_3164",
    description="syslog RFC 3164 (BSD), also macOS/Linux /var/log/system.log",
    pattern=(
        r"^(?:<(?P<pri>\d{1,3})>)?(?P<ts>\p{L}{3,5}\.? {1,2}\d{1,2} \d{2}:\d{2}:\d{2}) "
        r"(?P<host>\S+) (?P<logger>[^\[:\s]+)(?:\[(?P<pid>\d+)\])?: ?(?P<message>.*)$"
    ),
    layouts=("syslog",),
    samples=(
        (
            "Nov  3 09:23:38 veridian automount[7998]: lookup(file): lookup for foobar failed",
            {"host.hostname": "veridian", "log.logger": "automount", "process.pid": "7998"},
        ),
        ("août 19 11:08:37 nlaptop symphorien[4961]: test", {"log.logger": "symphorien"}),
    ),
)

GLOG = LogFormat(
    name="glog",
    description="Google glog / absl `Lmmdd hh:mm:ss.uuuuuu threadid file:line] msg`",
    pattern=(
        r"^(?P<level>[IWEF])(?P<ts>\d{4} \d{2}:\d{2}:\d{2}\.\d+)\s+(?P<tid>\d+) "
        r"(?P<logger>[^\]\s]+)\] ?(?P<message>.*)$"
    ),
    layouts=("glog",),
    samples=(
        (
            "E0517 15:04:22.619632 1952452992 logging_unittest.cc:253] Log every 3, iteration 19",
            {
                "log.level": "error",
                "process.thread.id": "1952452992",
                "log.logger": "logging_unittest.cc:253",
            },
        ),
    ),
    level_codes=_LETTER_LEVELS,
)

LOGFMT = LogFormat(
    name="logfmt",
    description="logfmt key=value lines starting with a time key",
    pattern=r'^(?:time|ts|timestamp|t)="?(?P<ts>[^" ]+(?: [0-9:.]+)?)"?\s+(?P<rest>.*)$',
    layouts=None,
    samples=(
        (
            'time="2021-09-15T21:17:10.220731Z" level=error msg="pod is not found" ns=a',
            {"log.level": "error", "message": "pod is not found"},
        ),
    ),
)

# The generic fallback: any line that starts with a recognisable timestamp.
_GENERIC_TS = (
    r"\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}:\d{2}(?:[.,]\d{1,9})?(?:\s?(?:Z|UTC|GMT|[+-]\d{2}:?\d{2}))?"
    r"|\d{4}/\d{1,2}/\d{1,2}[ T-]\d{1,2}:\d{2}:\d{2}(?:[.,]\d{1,9})?"
    r"|\d{4}-\d{3}T\d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?"
    r"|\d{2}-\d{2} \d{2}:\d{2}:\d{2}[.,]\d{1,9}"
    r"|(?:[A-Z][a-z]{2},? )?\p{L}{3,5}\.? {1,2}\d{1,2},? \d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?(?: \d{4})?"
    r"|\d{1,2}[ /-][A-Z][a-z]{2}[ /-]\d{4}[ :]\d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?(?: [+-]\d{4})?"
    r"|\d{10}(?:\d{3})?(?:\.\d{1,9})?"
    r"|\d{2}:\d{2}:\d{2}[.,]\d{1,9}"
)
GENERIC = LogFormat(
    name="generic",
    description="any line starting with a common timestamp",
    # Letters glued to the time (an unknown zone such as "FOO") are skipped, not kept.
    pattern=rf"^\[?(?P<ts>{_GENERIC_TS})(?:[A-Za-z]+\b)?(?:\]|\b)[\s,:|\]-]*(?P<rest>.*)$",
    layouts=None,
    samples=(
        (
            "2012-07-02 10:22:40,672:DEBUG:foo bar baz",
            {"log.level": "debug", "message": "foo bar baz"},
        ),
        (
            "2016/10/25 14:49:34 [error] 54053#0: *1 open() failed",
            {"log.level": "error", "message": "54053#0: *1 open() failed"},
        ),
        ("1490385986 WARN disk almost full", {"log.level": "warn"}),
        (
            "2015-04-24T21:08:10.313913FOO err rbd  [22968]lotuscreds:ERROR:Could not",
            {"@timestamp": "2015-04-24T21:08:10.313913+00:00", "log.level": "error"},
        ),
        ("2012-025T10:22:40,672:DEBUG:foo", {"@timestamp": "2012-01-25T10:22:40.672000+00:00"}),
        (
            "Mar 24 15:17:38.999  000000000264F I shmem.res",
            {"message": "000000000264F I shmem.res"},
        ),
    ),
)

# JSON Lines are matched by shape and decoded in Python (see jsonl.py).
JSON_LINES = LogFormat(
    name="json_lines",
    description="JSON Lines (one JSON object per line: bunyan, pino, zap, journald, tracing)",
    pattern=r"^\s*\{",
    layouts=None,
    samples=(
        (
            '{"time":"2023-03-24T14:26:16.243Z","level":30,"msg":"login ok","pid":7}',
            {"log.level": "info", "message": "login ok", "process.pid": "7"},
        ),
    ),
)

# Order breaks ties in detection: specific formats before the generic fallback.
FORMATS: tuple[LogFormat, ...] = (
    MARS_XLOG,
    MARS_XLOG_HEADER,
    LOG_BANNER,
    LOGCAT_THREADTIME,
    LOGCAT_TIME,
    LOGCAT_BRIEF,
    APPLE_LOG_SHOW,
    APPLE_LOG_COMPACT,
    ELECTRON_LOG,
    CHROMIUM,
    SYSLOG_5424,
    SYSLOG_3164,
    GLOG,
    LOGFMT,
    JSON_LINES,
    GENERIC,
)
BY_NAME = {fmt.name: fmt for fmt in FORMATS}

# Level spellings shared by all formats, mapped to loginlens' six levels.
LEVELS = {
    "trace": "trace", "verbose": "trace", "finest": "trace", "finer": "trace",
    "debug": "debug", "dbg": "debug", "fine": "debug", "debug1": "debug", "debug2": "debug",
    "debug3": "debug", "debug4": "debug", "debug5": "debug",
    "verbose1": "debug", "verbose2": "debug", "verbose3": "debug",
    "info": "info", "information": "info", "informational": "info", "notice": "info",
    "default": "info", "stats": "info",
    "warn": "warn", "warning": "warn",
    "error": "error", "err": "error", "severe": "error",
    "fatal": "fatal", "critical": "fatal", "crit": "fatal", "alert": "fatal", "emerg": "fatal",
    "emergency": "fatal", "panic": "fatal", "fault": "fatal",
}  # fmt: skip

# Where a generic line carries a level word, it is near the start, set off by punctuation.
LEVEL_WORD = (
    r"(?i)(?:^|[\s\[(<:|\]-])(?P<level>trace|verbose|debug\d?|info|notice|warn(?:ing)?|"
    r"err(?:or)?|severe|crit(?:ical)?|fatal|alert|emerg(?:ency)?|panic)(?:[\s\]):>|,-]|$)"
)
LEADING_LEVEL = (
    r"(?i)^[\s\[(<:|-]*(?:trace|verbose|debug\d?|info|notice|warn(?:ing)?|err(?:or)?|severe|"
    r"crit(?:ical)?|fatal|alert|emerg(?:ency)?|panic)(?:[\]):>|,-]+\s*|\s+|$)"
)

# Syslog severities (PRI % 8) and bunyan/pino numeric levels.
SYSLOG_SEVERITY = {0: "fatal", 1: "fatal", 2: "fatal", 3: "error", 4: "warn", 5: "info",
                   6: "info", 7: "debug"}  # fmt: skip
NUMERIC_LEVEL = {10: "trace", 20: "debug", 30: "info", 40: "warn", 50: "error", 60: "fatal"}
