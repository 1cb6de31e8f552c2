"""JSON Lines records: pick the timestamp, level, message and vendor fields by key.

Structured loggers disagree on key names (bunyan ``time``/``msg``, journald
``__REALTIME_TIMESTAMP``/``MESSAGE``, tracing ``fields.message``), so each
field is looked up through a list of known keys.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from parsers.logs.formats import LEVELS, NUMERIC_LEVEL, SYSLOG_SEVERITY

TS_KEYS = (
    "@timestamp",
    "timestamp",
    "time",
    "ts",
    "t",
    "date",
    "datetime",
    "asctime",
    "__REALTIME_TIMESTAMP",
    "started_at",
    "eventTime",
    "logged_at",
)
LEVEL_KEYS = ("level", "lvl", "severity", "log.level", "levelname", "loglevel", "PRIORITY")
MESSAGE_KEYS = ("message", "msg", "MESSAGE", "log", "text")
LOGGER_KEYS = (
    "logger",
    "logger_name",
    "name",
    "tag",
    "target",
    "SYSLOG_IDENTIFIER",
    "module",
    "component",
    "cl",
)
PID_KEYS = ("pid", "_PID", "process_id")
TID_KEYS = ("tid", "threadId", "thread_id", "TID")
HOST_KEYS = ("hostname", "_HOSTNAME")
ERRCODE_KEYS = ("errcode", "err_code", "errCode", "error_code", "sub_code")
ERRMSG_KEYS = ("errmsg", "err_msg", "errMsg", "error_description", "sub_msg")
DOMAIN_KEYS = ("host", "domain", "server_name", "sni")
IP_KEYS = ("ip", "remote_ip", "server_ip", "client_ip", "remote_addr", "peer")
URL_KEYS = ("url", "uri", "request_url")
REQUEST_ID_KEYS = ("request_id", "requestId", "req_id", "trace_id", "traceId", "x-request-id")

COLUMNS = (
    "ts",
    "level",
    "logger",
    "pid",
    "tid",
    "host",
    "message",
    "errcode",
    "errmsg",
    "domain",
    "ip",
    "url",
    "request_id",
)


def decode_records(
    lines: Iterable[str],
) -> tuple[dict[str, list[str | None]], list[int], list[str]]:
    """Decode JSON lines into columns.

    Returns the columns for the lines that decoded to an object, the positions
    (in ``lines``) of those that did not, and why each of those failed.
    """
    columns: dict[str, list[str | None]] = {name: [] for name in COLUMNS}
    failed: list[int] = []
    reasons: list[str] = []
    for position, line in enumerate(lines):
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError) as exc:
            failed.append(position)
            reasons.append(f"invalid JSON: {str(exc)[:80]}")
            continue
        if not isinstance(obj, dict):
            failed.append(position)
            reasons.append("JSON value is not an object")
            continue
        row = _fields(obj, line)
        for name in COLUMNS:
            columns[name].append(row.get(name))
    return columns, failed, reasons


def _fields(obj: dict[str, Any], line: str) -> dict[str, str | None]:
    fields = obj.get("fields")
    nested: dict[str, Any] = fields if isinstance(fields, dict) else {}
    message = _first(obj, MESSAGE_KEYS) or _first(nested, MESSAGE_KEYS)
    return {
        "ts": _first(obj, TS_KEYS),
        "level": _level(_first_raw(obj, LEVEL_KEYS)),
        "logger": _first(obj, LOGGER_KEYS),
        "pid": _first(obj, PID_KEYS),
        "tid": _first(obj, TID_KEYS),
        "host": _first(obj, HOST_KEYS),
        "message": message if message is not None else line.strip(),
        "errcode": _first(obj, ERRCODE_KEYS) or _numeric_code(obj),
        "errmsg": _first(obj, ERRMSG_KEYS),
        "domain": _first(obj, DOMAIN_KEYS),
        "ip": _first(obj, IP_KEYS),
        "url": _first(obj, URL_KEYS),
        "request_id": _first(obj, REQUEST_ID_KEYS),
    }


def _first_raw(obj: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = obj.get(key)
        if value is not None and not isinstance(value, dict | list):
            return value
    return None


def _first(obj: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    value = _first_raw(obj, keys)
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _numeric_code(obj: dict[str, Any]) -> str | None:
    """A bare ``code`` is an error code only when numeric and non-zero (Feishu ``{code, msg}``)."""
    code = obj.get("code")
    if isinstance(code, int) and not isinstance(code, bool) and code != 0:
        return str(code)
    return None


def _level(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = int(value)
        if number >= 10:
            return NUMERIC_LEVEL.get(number // 10 * 10, "fatal" if number > 60 else "trace")
        return SYSLOG_SEVERITY.get(number)
    text = str(value).strip().lower()
    if text.isdigit():
        return _level(int(text))
    return LEVELS.get(text, text)
