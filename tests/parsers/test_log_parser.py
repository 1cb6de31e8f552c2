"""Log parser behaviour: multi-line records, encodings, zones, years, limits, fields."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from analyzer.ledger import SourceReport
from analyzer.schema import EVENT_SCHEMA
from parsers import scan
from parsers.errors import ParseError
from parsers.logs.parser import LogLimits, parse_log
from parsers.logs.timestamps import TimeContext

Write = Callable[[str, bytes | str], Path]

XLOG = "[E][2025-05-31 +8.0 10:02:10.544][6120, 6133][login][Login.cpp, OnResp, 288][{}"
ELECTRON = "[2025-05-31 10:02:{:02d}.000] [error] (login) {}"

COMPILED = scan.compiled  # captured before any test swaps it out


def parse(
    path: Path, context: TimeContext, limits: LogLimits | None = None
) -> tuple[pl.DataFrame, SourceReport]:
    return parse_log(path, path.name, context, limits or LogLimits())


def test_stack_trace_stays_one_event_with_first_line_time(
    write_file: Write, utc_context: TimeContext
) -> None:
    text = (
        ELECTRON.format(1, "Unhandled rejection LoginError") + "\n"
        "    at LoginClient.handle (client.js:212:19)\n"
        "\n"
        "    at process (node:internal:95:5)\n" + ELECTRON.format(2, "next") + "\n"
    )
    events, report = parse(write_file("a.log", text), utc_context)
    assert events.height == 2
    first = events.row(0, named=True)
    assert first["message"].splitlines()[0] == "Unhandled rejection LoginError"
    assert "node:internal:95:5" in first["message"]
    assert first["event.original"].count("\n") == 3
    assert first["@timestamp"] == datetime(2025, 5, 31, 10, 2, 1, tzinfo=UTC)
    assert events["loginlens.record"].to_list() == [1, 5]
    assert report.details["multiline_records"] == 1


def test_lines_before_any_record_are_kept_and_counted(
    write_file: Write, utc_context: TimeContext
) -> None:
    text = "Header1: abc\nHeader2: def\n" + ELECTRON.format(1, "x") + "\n"
    events, report = parse(write_file("h.log", text), utc_context)
    assert events.height == 3
    assert events["loginlens.format"].to_list() == ["unrecognised", "unrecognised", "electron_log"]
    assert report.details["unrecognised_lines"] == 2
    assert report.details["unrecognised_first"] == [1, 2]


def test_file_switching_format_part_way_loses_no_line(
    write_file: Write, utc_context: TimeContext
) -> None:
    xlog = [XLOG.format(f"line {i}") for i in range(50)]
    logcat = [f"05-31 10:03:{i:02d}.000  1  2 I Tag: later {i}" for i in range(30)]
    events, report = parse(write_file("mixed.log", "\n".join(xlog + logcat)), utc_context)
    assert events.height == 80
    assert report.details["formats"] == {"mars_xlog": 50, "logcat_threadtime": 30}
    assert report.format == "mars_xlog"
    assert events["@timestamp"].null_count() == 0


@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [
        ("utf-8", b""),
        ("utf-8", b"\xef\xbb\xbf"),
        ("utf-16-le", b"\xff\xfe"),
        ("utf-16-be", b"\xfe\xff"),
        ("gb18030", b""),
    ],
)
def test_encodings_decode_chinese_text(
    encoding: str, prefix: bytes, write_file: Write, utc_context: TimeContext
) -> None:
    text = "\r\n".join(
        XLOG.format(f"显示错误: 当前网络环境不在企业可信IP范围内 {i}") for i in range(20)
    )
    events, report = parse(write_file("enc.log", prefix + text.encode(encoding)), utc_context)
    assert events.height == 20
    assert events["message"][0] == "显示错误: 当前网络环境不在企业可信IP范围内 0"
    assert report.details["encoding"].startswith(encoding)
    assert "replaced_characters" not in report.details


def test_undecodable_bytes_are_replaced_and_counted(
    write_file: Write, utc_context: TimeContext
) -> None:
    data = (
        ELECTRON.format(1, "ok") + "\n"
    ).encode() + b"[2025-05-31 10:02:02.000] [info] bad \xff\xfe\xfd\n"
    events, report = parse(write_file("bad.log", data), utc_context)
    assert events.height == 2
    assert report.details["replaced_characters"] == 3
    assert any("undecodable" in e["reason"] for e in report.errors)


def test_naive_times_use_the_given_zone(write_file: Write, utc_context: TimeContext) -> None:
    context = TimeContext("Asia/Shanghai", "--tz", utc_context.reference, "test")
    events, report = parse(write_file("z.log", ELECTRON.format(1, "x")), context)
    assert events["@timestamp"][0] == datetime(2025, 5, 31, 2, 2, 1, tzinfo=UTC)
    assert report.details["timestamps"]["zone_used"] == "Asia/Shanghai (--tz)"


def test_offset_in_the_line_wins_over_any_zone(write_file: Write, utc_context: TimeContext) -> None:
    context = TimeContext("America/New_York", "--tz", utc_context.reference, "test")
    events, report = parse(write_file("x.log", XLOG.format("x")), context)
    assert events["@timestamp"][0] == datetime(2025, 5, 31, 2, 2, 10, 544000, tzinfo=UTC)
    assert report.details["timestamps"]["with_offset"] == 1
    assert report.details["timestamps"]["zone_used"] is None


def test_naive_lines_borrow_the_offset_other_lines_carry(
    write_file: Write, utc_context: TimeContext
) -> None:
    text = "2025-05-31T10:00:00+08:00 a\n2025-05-31 10:00:01 b\n"
    events, report = parse(write_file("o.log", text), utc_context)
    assert events["@timestamp"].to_list() == [
        datetime(2025, 5, 31, 2, 0, 0, tzinfo=UTC),
        datetime(2025, 5, 31, 2, 0, 1, tzinfo=UTC),
    ]
    assert report.details["timestamps"]["zone_used"] == "offset +08:00 written in other lines"


def test_no_zone_known_means_utc_and_says_so(write_file: Write, utc_context: TimeContext) -> None:
    events, report = parse(write_file("u.log", ELECTRON.format(1, "x")), utc_context)
    assert events["@timestamp"][0] == datetime(2025, 5, 31, 10, 2, 1, tzinfo=UTC)
    assert report.details["timestamps"]["zone_used"] == "UTC (no zone known)"


def test_missing_year_is_inferred_across_new_year(write_file: Write) -> None:
    context = TimeContext(None, "test", datetime(2026, 1, 10, 9, 0), "bundle.json collected_at")
    text = "Dec 31 23:59:58 host app[1]: before\nJan  1 00:00:01 host app[1]: after\n"
    events, report = parse(write_file("s.log", text), context)
    assert [t.year for t in events["@timestamp"]] == [2025, 2026]
    stamps = report.details["timestamps"]
    assert stamps["year_inferred"] == 2
    assert stamps["reference"] == "2026-01-10 (bundle.json collected_at)"


def test_huge_line_is_cut_and_reported(write_file: Write, utc_context: TimeContext) -> None:
    text = ELECTRON.format(1, "x" * 5000) + "\n" + ELECTRON.format(2, "y")
    events, report = parse(write_file("big.log", text), utc_context, LogLimits(max_line_chars=1000))
    assert events.height == 2
    assert len(events["event.original"][0]) == 1000
    assert report.errors[0]["record"] == 1
    assert "cut to 1000" in report.errors[0]["reason"]


def test_secrets_are_masked_in_lines_cut_to_length(
    write_file: Write, utc_context: TimeContext
) -> None:
    # The split masks the lines it keeps whole; a line cut to length is masked as cut.
    text = ELECTRON.format(1, "token=" + "s" * 80) + "\n" + ELECTRON.format(2, "pwd=abc ok")
    events, report = parse(write_file("cut.log", text), utc_context, LogLimits(max_line_chars=60))
    assert events["event.original"].to_list() == [
        ELECTRON.format(1, "token=<redacted>")[:60],
        ELECTRON.format(2, "pwd=<redacted> ok"),
    ]
    assert "cut to 60" in report.errors[0]["reason"]


def test_a_mask_longer_than_its_secret_never_gets_a_line_cut(
    write_file: Write, utc_context: TimeContext
) -> None:
    # "token=a" masked is nine characters longer: the line is measured as written, both ways.
    line = ELECTRON.format(1, "token=a " + "x" * 40)
    limits = LogLimits(max_line_chars=len(line) + 2)
    path = write_file("near.log", line + "\n")
    compiled = parse(path, utc_context, limits)
    scan.compiled = None
    try:
        patterns = parse(path, utc_context, limits)
    finally:
        scan.compiled = COMPILED
    for events, report in (compiled, patterns):
        assert events["event.original"][0] == ELECTRON.format(1, "token=<redacted> " + "x" * 40)
        assert report.errors == []


def test_a_line_cut_to_white_space_is_blank(write_file: Write, utc_context: TimeContext) -> None:
    # Blank as cut, not as written: the split marks it filled, the cut leaves only spaces.
    text = ELECTRON.format(1, "first") + "\n" + " " * 60 + "tail\n" + ELECTRON.format(2, "y")
    events, report = parse(write_file("cut.log", text), utc_context, LogLimits(max_line_chars=50))
    assert report.details["blank_lines"] == 1
    assert events.height == 2
    assert events["message"][0] == "first"


def test_endless_continuation_is_split_past_the_cap(
    write_file: Write, utc_context: TimeContext
) -> None:
    text = ELECTRON.format(1, "start") + "\n" + "\n".join(f"  junk {i}" for i in range(25))
    events, _report = parse(write_file("c.log", text), utc_context, LogLimits(max_record_lines=10))
    assert events.height == 1 + 16
    assert sum(len(m.splitlines()) for m in events["message"]) == 26


def test_fields_are_extracted_from_text(write_file: Write, utc_context: TimeContext) -> None:
    line = XLOG.format(
        'login resp errcode=60020 errmsg="not allow to access from your ip, from ip: 203.0.113.77" '
        "url=https://qyapi.weixin.qq.com/cgi-bin/user/get?userid=zhang request_id=7d1c9e40-2b5a"
    )
    row = parse(write_file("f.log", line), utc_context)[0].row(0, named=True)
    assert row["error.code"] == "60020"
    assert row["error.message"] == "not allow to access from your ip, from ip: 203.0.113.77"
    assert row["url.domain"] == "qyapi.weixin.qq.com"
    assert row["url.path"] == "/cgi-bin/user/get"
    assert row["related.ip"] == "203.0.113.77"
    assert row["http.request.id"] == "7d1c9e40-2b5a"
    assert row["log.level"] == "error"
    assert row["process.pid"] == 6120


def test_json_lines_fields_and_invalid_lines(write_file: Write, utc_context: TimeContext) -> None:
    text = (
        '{"time": 1748656930123, "level": 50, "msg": "login failed", "errcode": 60020, "pid": 9}\n'
        '{"time": "2025-05-31T02:02:11Z", "level": "warn", "msg": "retry", "host": "Login.Work.Weixin.QQ.com"}\n'
        '{"time": "2025-05-31T02:02:12Z", "msg": "cut off\n'
    )
    events, report = parse(write_file("j.jsonl", text), utc_context)
    assert events.height == 2
    first, second = events.rows(named=True)
    assert first["log.level"] == "error"
    assert first["error.code"] == "60020"
    assert first["@timestamp"] == datetime(2025, 5, 31, 2, 2, 10, 123000, tzinfo=UTC)
    assert second["destination.domain"] == "login.work.weixin.qq.com"
    assert "cut off" in second["message"]  # the broken line continues the record above
    assert report.errors[0]["record"] == 3
    assert report.errors[0]["reason"].startswith("invalid JSON")


def test_messages_lose_trailing_white_space(write_file: Write, utc_context: TimeContext) -> None:
    # A message cut from the end of its line ends as the line does; one taken from inside it
    # (a JSON value, a logfmt msg) ends as it likes, whatever the line ends with.
    text = (
        ELECTRON.format(1, "spaces  ") + "\n" + ELECTRON.format(2, "wide\u3000") + "\n"
        + ELECTRON.format(3, "plain") + "\n"
    )  # fmt: skip
    events, _ = parse(write_file("s.log", text), utc_context)
    assert events["message"].to_list() == ["spaces", "wide", "plain"]
    assert events["event.original"][0].endswith("spaces  ")  # as written
    text = '{"time": "2025-05-31T02:02:11Z", "msg": "inside  "}\n' * 3
    events, _ = parse(write_file("s.jsonl", text), utc_context)
    assert events["message"].to_list() == ["inside"] * 3
    text = 'time=2025-05-31T02:02:11Z level=info msg="quoted \t" n=1\n' * 3
    events, _ = parse(write_file("s.logfmt", text), utc_context)
    assert events["message"].to_list() == ["quoted"] * 3


def test_a_demoted_json_line_past_the_cap_loses_trailing_space(
    write_file: Write, utc_context: TimeContext
) -> None:
    # Past the record cap a lone JSON line stands alone with no format, but keeps the message
    # decoded from it: that message, not the line, says whether it ends in white space.
    text = (
        ELECTRON.format(1, "start") + "\n" + "\n".join(f"    at f{i}()" for i in range(6))
        + '\n{"msg":"hi \\t","level":"error"}\n    at g()\n'
    )  # fmt: skip
    events, _ = parse(write_file("d.log", text), utc_context, LogLimits(max_record_lines=5))
    assert "hi" in events["message"].to_list()


def test_unparseable_timestamp_is_reported_not_fatal(
    write_file: Write, utc_context: TimeContext
) -> None:
    text = '{"ts": "xxx", "msg": "a"}\n{"ts": "2025-02-30T00:00:00Z", "msg": "b"}\n'
    events, report = parse(write_file("t.jsonl", text), utc_context)
    assert events["@timestamp"].null_count() == 2
    assert [e["record"] for e in report.errors] == [1, 2]
    assert report.details["timestamps"]["missing"] == 2


def test_empty_and_blank_files(write_file: Write, utc_context: TimeContext) -> None:
    for content in ("", "\n\n  \n"):
        events, _report = parse(write_file("e.log", content), utc_context)
        assert events.height == 0
        assert list(events.schema.items()) == list(EVENT_SCHEMA.items())


def test_unreadable_file_raises_parse_error(tmp_path: Path, utc_context: TimeContext) -> None:
    with pytest.raises(ParseError) as info:
        parse_log(tmp_path / "missing.log", "missing.log", utc_context)
    assert info.value.path == "missing.log"


def test_output_conforms_to_the_schema(write_file: Write, utc_context: TimeContext) -> None:
    events, _ = parse(write_file("s.log", ELECTRON.format(1, "x")), utc_context)
    assert events.schema == pl.Schema(EVENT_SCHEMA)


def test_format_the_sample_missed_still_claims_its_lines(
    write_file: Write, utc_context: TimeContext
) -> None:
    # 20,004 lines: the detection sample takes every 5th and never reaches the xlog tail.
    generic = [f"2025-05-31 10:00:00.{i % 1000:03d} INFO tick {i}" for i in range(20_001)]
    xlog = [XLOG.format(f"appended {i}") for i in range(3)]
    events, report = parse(write_file("tail.log", "\n".join(generic + xlog)), utc_context)
    assert events.height == 20_004
    assert report.details["formats"] == {"generic": 20_001, "mars_xlog": 3}
    assert events.filter(pl.col("log.level") == "error").height == 3


def test_lone_json_epoch_and_clock_lines_continue_the_record_above(
    write_file: Write, utc_context: TimeContext
) -> None:
    text = "\n".join(
        [
            XLOG.format("login resp body follows"),
            '{"errcode":60020,"errmsg":"not allow to access from your ip"}',
            "1717200000 ms spent",
            "  (server timing)",
            "10:01:50.500 retry scheduled",
            XLOG.format("next"),
        ]
    )
    events, _ = parse(write_file("cont.log", text), utc_context)
    assert events.height == 2
    first = events.row(0, named=True)
    assert first["message"].count("\n") == 4
    assert first["error.code"] == "60020"


def test_lone_epoch_line_continues_its_record_after_other_formats_claimed_lines(
    write_file: Write, utc_context: TimeContext
) -> None:
    # A syslog line is claimed before the generic epoch line is tried: that must not make the
    # epoch line look like a strong claim.
    text = "\n".join(
        [
            ELECTRON.format(1, "a"),
            ELECTRON.format(2, "b"),
            "Nov  3 09:23:38 veridian automount[7998]: lookup failed",
            ELECTRON.format(3, "c"),
            "1490385986 WARN disk almost full",
            ELECTRON.format(4, "d"),
        ]
    )
    events, report = parse(write_file("epoch.log", text), utc_context)
    assert events["loginlens.record"].to_list() == [1, 2, 3, 4, 6]
    assert events.row(3, named=True)["message"] == "c\n1490385986 WARN disk almost full"
    assert report.details["formats"] == {"electron_log": 4, "syslog_3164": 1}


def test_runs_of_json_lines_after_a_record_are_records(
    write_file: Write, utc_context: TimeContext
) -> None:
    json_lines = [f'{{"time": "2025-05-31T02:0{i}:00Z", "msg": "j{i}"}}' for i in range(3)]
    text = "\n".join([XLOG.format("x"), *json_lines])
    events, report = parse(write_file("runs.log", text), utc_context)
    assert events.height == 4
    assert report.details["formats"] == {"mars_xlog": 1, "json_lines": 3}


def test_year_inference_allows_a_day_across_a_month_end(write_file: Write) -> None:
    context = TimeContext(None, "test", datetime(2025, 5, 31, 16, 30), "bundle.json collected_at")
    text = "06-01 00:20:00.000  1  2 I Tag: just after midnight elsewhere\n"
    events, _ = parse(write_file("m.log", text), context)
    assert events["@timestamp"][0].year == 2025


def test_pretty_json_inside_a_record_is_not_reported_as_broken(
    write_file: Write, utc_context: TimeContext
) -> None:
    text = "\n".join([XLOG.format("resp body:"), "{", '  "errcode": 60020', "}", XLOG.format("n")])
    events, report = parse(write_file("pretty.log", text), utc_context)
    assert events.height == 2
    assert report.errors == []
    assert events["error.code"][0] == "60020"


def test_secrets_are_masked_in_every_column_cut_from_a_line(
    write_file: Write, utc_context: TimeContext
) -> None:
    text = (
        ELECTRON.format(1, "GET https://qyapi.weixin.qq.com/cgi-bin/gettoken?corpsecret=CS9x1")
        + "\n"
        + ELECTRON.format(2, 'login failed errmsg="bad ticket" ticket=TK77 code=11')
        + "\n"
        "    Cookie: wwrtx.sid=Zq81; wxuin=1\n"
        + '{"time": "2025-05-31T02:02:03Z", "msg": "refresh", "access_token": "AT55"}\n'
    )
    path = write_file("a.log", text)
    events, _ = parse(path, utc_context)
    dumped = events.write_ndjson()
    for secret in ("CS9x1", "TK77", "Zq81", "AT55"):
        assert secret not in dumped
    assert "corpsecret=<redacted>" in events["url.full"][0]
    assert events["error.code"].to_list()[1] == "11"
    raw, _ = parse_log(path, path.name, utc_context, redact=False)
    assert "Zq81" in raw["event.original"][1]
