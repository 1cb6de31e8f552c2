"""Client-log writers: every format × encoding is read back by loginlens' own log parser."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from parsers.logs.parser import parse_log
from parsers.logs.timestamps import TimeContext
from sample_data.gen.logs import (
    DETECTED_ENCODING,
    ENCODINGS,
    FORMATS,
    ClientLog,
    chatter,
    stack_trace,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2025, 5, 31, 10, 0, 0, tzinfo=SHANGHAI)
# Naive times are Shanghai local time, as bundle.json would say; missing years from June.
CONTEXT = TimeContext(
    zone="Asia/Shanghai",
    zone_source="test",
    reference=datetime(2025, 6, 1, 12, 0),
    reference_source="test",
)
JAVA = stack_trace(
    "java",
    "java.net.UnknownHostException",
    'Unable to resolve host "i.work.weixin.qq.com": No address associated with hostname',
    caused_by=("android.system.GaiException", "android_getaddrinfo failed: EAI_NODATA"),
)
BODY = '{\n  "errcode": 60020,\n  "errmsg": "not allow to access from your ip"\n}'
# Formats whose writer repeats its prefix on every line of a message.
PREFIX_EVERY_LINE = ("logcat_threadtime", "logcat_brief")


def login_log(fmt: str, seed: int = 11, **options: Any) -> ClientLog:
    """Ten minutes of chatter around a failed login with a stack trace and a JSON body."""
    log = ClientLog(fmt, rng=seed, tz=SHANGHAI, **options)
    log.extend(chatter(seed, START, START + timedelta(minutes=10), per_minute=30))
    at = START + timedelta(minutes=5)
    log.add(at, "info", "login", "开始扫码登录 corpid=ww1a2b3c4d5e6f7a8b", file="LoginLogic.cpp",
            func="StartQrLogin", line=201)  # fmt: skip
    log.add(at + timedelta(seconds=1), "error", "login", "登录失败，请检查网络\n" + JAVA)
    log.add(at + timedelta(seconds=2), "warn", "net", "resp body:\n" + BODY)
    log.add(at + timedelta(seconds=3), "error", "login", "账号已被停用 errcode=60111")
    return log


def parse(path: Path) -> tuple[pl.DataFrame, dict[str, Any], str | None]:
    events, report = parse_log(path, path.name, CONTEXT)
    return events, report.details, report.format


def expected_instants(log: ClientLog) -> list[datetime]:
    """Each record's device time in UTC, at the precision the format writes, once per line."""
    digits = 6 if log.fmt == "apple_log_show" else 3
    out = []
    for record in log.records:
        moment = (record.ts + log.clock_skew).astimezone(UTC)
        moment = moment.replace(
            microsecond=moment.microsecond // 10 ** (6 - digits) * 10 ** (6 - digits)
        )
        lines = record.message.count("\n") + 1 if log.fmt in PREFIX_EVERY_LINE else 1
        out += [moment] * lines
    return sorted(out)


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_the_parser_reads_every_format_in_every_encoding(
    fmt: str, encoding: str, tmp_path: Path
) -> None:
    log = login_log(fmt)
    events, details, detected = parse(log.write(tmp_path / f"{fmt}.log", encoding))
    assert detected == fmt
    assert details["encoding"] == DETECTED_ENCODING[encoding]
    # The writers' banners (Mars header, logcat divider, `log show` header) are records too.
    assert details["unrecognised_lines"] == 0
    assert set(details["formats"]) <= {fmt, "mars_xlog_header", "log_banner"}
    records = events.filter(pl.col("loginlens.format") == fmt)
    stamps = records["@timestamp"]
    if fmt == "logcat_brief":
        assert stamps.null_count() == records.height  # brief has no time at all
    else:
        assert stamps.null_count() == 0
        assert sorted(stamps.to_list()) == expected_instants(log)
    messages = records["message"].to_list()
    assert any("登录失败，请检查网络" in m for m in messages)
    if fmt in PREFIX_EVERY_LINE:
        assert records.height == sum(r.message.count("\n") + 1 for r in log.records)
    else:
        assert records.height == len(log)
        trace = [m for m in messages if "UnknownHostException" in m]
        assert len(trace) == 1 and "Caused by: android.system.GaiException" in trace[0]
        assert trace[0].count("\tat ") == JAVA.count("\tat ")
        body = [m for m in messages if "resp body:" in m]
        assert body and '"errcode": 60020' in body[0]


@pytest.mark.parametrize("fmt", ["mars_xlog", "logcat_threadtime", "apple_log_show"])
def test_banners_are_not_records(fmt: str, tmp_path: Path) -> None:
    with_banners = login_log(fmt)
    assert with_banners.header_lines > 0
    bare = login_log(fmt, header=False, footer=False)
    events, details, detected = parse(bare.write(tmp_path / "bare.log"))
    assert (detected, details["unrecognised_lines"]) == (fmt, 0)
    assert events["@timestamp"].null_count() == 0


def test_apple_footer_is_kept_apart_from_the_last_record(tmp_path: Path) -> None:
    log = login_log("apple_log_show")
    assert log.lines()[-3].startswith("-" * 100) and log.lines()[-2].startswith(
        "Log      - Default:"
    )
    events, _, _ = parse(log.write(tmp_path / "apple.log"))
    assert events["message"][-1].startswith("Activity - Create:")
    assert not any("Log      - Default:" in m for m in events["message"][:-2])


def test_levels_survive_the_round_trip(tmp_path: Path) -> None:
    for fmt in ("mars_xlog", "logcat_threadtime", "electron_log", "chromium", "json_lines"):
        events, _, _ = parse(login_log(fmt).write(tmp_path / f"{fmt}.log"))
        disabled = events.filter(pl.col("message").str.contains("账号已被停用"))
        assert disabled["log.level"].to_list() == ["error"], fmt
        assert disabled["error.code"].to_list() == ["60111"], fmt


def test_same_seed_same_bytes() -> None:
    for fmt in FORMATS:
        assert login_log(fmt, 5).render("gb18030") == login_log(fmt, 5).render("gb18030")
        assert login_log(fmt, 5).render() != login_log(fmt, 6).render()


def test_encodings_are_written_as_named() -> None:
    log = login_log("electron_log")
    text = "\n".join(log.lines()) + "\n"
    assert log.render("utf-8") == text.encode()
    assert log.render("utf-8-sig") == b"\xef\xbb\xbf" + text.encode()
    assert log.render("utf-16-le") == b"\xff\xfe" + text.encode("utf-16-le")
    assert log.render("gb18030").decode("gb18030") == text
    crlf = login_log("electron_log", newline="\r\n").render()
    assert crlf.count(b"\r\n") == len(log.lines())
    with pytest.raises(ValueError):
        log.render("latin-1")


def test_mars_xlog_layout() -> None:
    lines = login_log("mars_xlog").lines()
    assert re.fullmatch(
        r"\^{10}\w{3} \d\d \d{4}\^{3}[\d:]{8}\^{10}\[\d+,\d+\]\[2025-05-31 \+0800 10:00:\d\d\]",
        lines[0],
    )
    records = [line for line in lines if line.startswith("[")]
    pattern = r"\[[VDIWEF]\]\[2025-05-31 \+8\.0 \d\d:\d\d:\d\d\.\d{3}\]\[\d+, \d+\*?\]\[\w*\]\[[\w.]*, \w*, \d+\]\[.*"
    assert all(re.fullmatch(pattern, line) for line in records)
    assert any("*]" in line for line in records) and any(
        re.search(r"\d\]\[", line) for line in records
    )
    assert not any(line.endswith("]") for line in records if "check update" in line)


def test_offsets_where_the_format_allows_them(tmp_path: Path) -> None:
    electron = login_log("electron_log", offset=True)
    assert electron.lines()[0].startswith("[2025-05-31 10:00:") and "+08:00]" in electron.lines()[0]
    events, details, _ = parse(electron.write(tmp_path / "e.log"))
    assert details["timestamps"]["with_offset"] == events.height
    naive_json = login_log("json_lines", offset=False).lines()[0]
    assert re.match(r'\{"time":"2025-05-31T10:00:\d\d\.\d{3}",', naive_json)
    with pytest.raises(ValueError, match="cannot write"):
        ClientLog("logcat_threadtime", offset=True)
    with pytest.raises(ValueError, match="always writes"):
        ClientLog("mars_xlog", offset=False)


def test_clock_skew_shifts_what_the_device_writes(tmp_path: Path) -> None:
    skew = timedelta(minutes=-42)
    log = login_log("chromium", clock_skew=skew)
    events, _, _ = parse(log.write(tmp_path / "skewed.log"))
    assert sorted(events["@timestamp"].to_list()) == expected_instants(log)
    first = min(events["@timestamp"].to_list())
    assert first < START.astimezone(UTC) + skew + timedelta(minutes=1)


def test_tz_rewrites_local_time() -> None:
    log = ClientLog("logcat_threadtime", rng=1, tz=ZoneInfo("Europe/Berlin"), header=False)
    log.add(START, "info", "Tag", "hello", tid=4321)
    assert log.lines() == [f"05-31 04:00:00.000 {log.pid:5d}  4321 I Tag     : hello"]


def test_banner_marks_a_restart_mid_file() -> None:
    log = ClientLog("mars_xlog", rng=1, tz=SHANGHAI)
    log.add(START, "info", "app", "first run")
    log.banner(START + timedelta(minutes=1))
    log.add(START + timedelta(minutes=2), "info", "app", "second run")
    lines = log.lines()
    assert len(lines) == 2 * log.header_lines + 2
    assert lines[log.header_lines + 1].startswith("^^^^^^^^^^")


def test_chatter_fills_the_span_in_order_and_says_nothing_alarming() -> None:
    end = START + timedelta(minutes=30)
    records = chatter(random.Random(3), START, end, per_minute=40, platform="android")
    assert len(records) == 1200
    times = [r.ts for r in records]
    assert times == sorted(times) and times[0] >= START and times[-1] <= end
    text = "\n".join(r.message for r in records)
    assert "i.work.weixin.qq.com:443" in text and "dldir1.qq.com" in text
    assert re.search(r"[\u4e00-\u9fff]", text)
    assert not re.search(r"(?i)fail|error|errcode|timeout|refused|denied|reset", text)
    assert "onResume" in text and "WM_ACTIVATE" not in text
    assert chatter(3, START, end, 40, platform="android") == records
    with pytest.raises(ValueError):
        chatter(3, START, end, platform="beos")


def test_stack_traces_read_like_their_runtimes() -> None:
    assert JAVA.splitlines()[1].startswith("\tat com.tencent.wework.")
    assert JAVA.splitlines()[-1].startswith("\t... ")
    objc = stack_trace("objc", "NSInvalidArgumentException", "keychain item not found", depth=3)
    assert objc.splitlines()[2].startswith("0   CoreFoundation")
    assert stack_trace("node", "LoginError", "errcode 60020").splitlines()[1].startswith("    at ")
    assert (
        stack_trace("cpp", "SqliteError", "database disk image is malformed")
        .splitlines()[1]
        .startswith("  #0 ")
    )
    with pytest.raises(ValueError):
        stack_trace("cobol", "X", "y")
