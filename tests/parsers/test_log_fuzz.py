"""Random and mutated bytes never break the log parser: schema-shaped output or ParseError.

Random text also checks the parser's shortcuts against the plain forms they stand for.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzer.redact import COMBINED_REPLACEMENT, RULES, redact_text
from analyzer.schema import EVENT_SCHEMA
from parsers import scan
from parsers.logs import fields, timestamps
from parsers.logs.parser import parse_log
from parsers.logs.timestamps import TimeContext

ROOT = Path(__file__).resolve().parents[2]
SEEDS = [p.read_bytes() for p in sorted((ROOT / "sample_data" / "quickstart" / "logs").iterdir())]
CONTEXT = TimeContext("Asia/Shanghai", "test", datetime(2025, 5, 31, 10, 6), "test")
FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def check(data: bytes, tmp_path: Path) -> None:
    path = tmp_path / "fuzz.log"
    path.write_bytes(data)
    events, report = parse_log(path, "fuzz.log", CONTEXT)
    assert events.schema == pl.Schema(EVENT_SCHEMA)
    assert report.records == events.height
    lines = data.count(b"\n") + 1
    if events.height:
        # Every record points at a real line; UTF-16 halves the byte count of newlines.
        assert 1 <= events["loginlens.record"].min() <= events["loginlens.record"].max() <= lines  # type: ignore[operator]


@FUZZ
@given(data=st.binary(max_size=4096))
def test_random_bytes(data: bytes, tmp_path: Path) -> None:
    check(data, tmp_path)


@FUZZ
@given(
    seed=st.sampled_from(SEEDS),
    cut=st.integers(min_value=0, max_value=4096),
    flips=st.lists(st.tuples(st.integers(0, 4095), st.integers(0, 255)), max_size=12),
    other=st.sampled_from(SEEDS),
    splice=st.integers(min_value=0, max_value=4096),
)
def test_mutated_sample_logs(
    seed: bytes, cut: int, flips: list[tuple[int, int]], other: bytes, splice: int, tmp_path: Path
) -> None:
    data = bytearray(seed[:cut] + other[splice:])
    for position, value in flips:
        if data:
            data[position % len(data)] = value
    check(bytes(data), tmp_path)


@FUZZ
@given(text=st.text(max_size=600))
def test_random_text_in_every_encoding(text: str, tmp_path: Path) -> None:
    for encoding in ("utf-8", "utf-16", "gb18030"):
        try:
            data = text.encode(encoding)
        except UnicodeEncodeError:
            continue
        check(data, tmp_path)


# Pieces of messages that put the field patterns' edges to work: keywords in any case, quotes,
# separators, URLs with userinfo, IPv6 hosts and ports, dotted numbers, non-ASCII digits; and
# whole key-separator-value triples, which random pieces seldom line up.
FIELD_PIECES = [
    "errcode", "ErrCode", "code", "qrcode", "errmsg", "host", "server", "request_id", "traceId",
    "http://", "https://", "HTTP://", "u:pw@", "@", "[::1]", "=", ":", " = ", "'", '"', '\\"',
    ",", ";", "}", "]", ")", ".", "/", "?", "#", ":8080", "a.b.com", "1.2.3.4", "256.1.1.1",
    "-5", "0", "<redacted>", " ", "\n", "é", "中文", "٣", "x",
]  # fmt: skip
FIELD_KEYS = [
    "errcode", "err_code", "ErrCode", "error_code", "code", "sub_code", "errmsg", "ERR_MSG", "host",
    "Hostname", "domain", "server", "request_id", "x-request-id", "req-id", "traceId",
]  # fmt: skip
FIELD_SEPARATORS = ["=", ":", " = ", '"="', "':'", ": '", '="', "\t:\t", "=\n"]
FIELD_VALUES = [
    "60020", "-5", "0", "123456789012", "a.b.com", "Login.Example.ORG", "abc_DEF-1.2.3", "x",
    '"quoted, msg"', "'single'", '"esc\\"aped"', '"open', "bare value; rest", "255.1.1.1", "",
    "https://u:pw@h.example:8080/p/q?x=1#f", "http://[::1]:80/a", "http://h.example.)", "https://:1/p",
]  # fmt: skip
# Keys, separators and values of secrets, with the characters Unicode case folding adds to
# "k" and "s" (Kelvin sign, long s).
SECRET_PIECES = [
    "token", "SECRET", "password", "code", "state", "authorization", "bearer ", "cookie",
    "eyJa.eyJb.", "=", ":", '"', "'", "\\", '\\"', ",", ";", "&", "?", "}", "<", " ", "\t",
    "\u212a", "\u017f", "x", "9", "é",
]  # fmt: skip
SECRET_KEYS = ["token", "accessToken", "app_SECRET_x", "password", "pwd", "sid", "api_key", "xsid"]
SECRET_SEPARATORS = ["=", ":", " = ", '"="', "'='", ": ", "\t=\t"]
SECRET_VALUES = ['"a b"', '"a\\"b"', '"open', "'a b'", "'open", "abc", "", "&x", " x", "\u212a"]
FIELD_COLUMNS = (
    "url.full", "error.code", "error.message", "destination.domain", "related.ip", "http.request.id"
)  # fmt: skip
NAIVE_ISO = r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?$"


def plain_fields(frame: pl.LazyFrame) -> pl.LazyFrame:
    """The fields as the patterns state them: every pattern on every message, groups captured."""
    msg, url = pl.col("message"), pl.col("url.full")
    ip = f"({fields.IPV4})"
    request_id = fields.REQUEST_ID.replace("[A-Za-z0-9_.-]{6,}", "([A-Za-z0-9_.-]{6,})")
    found_url = msg.str.extract(fields.URL, 0).str.strip_chars_end(".,;:)")
    frame = frame.with_columns(url.fill_null(found_url))
    errmsg = msg.str.extract_groups(fields.ERRMSG).struct
    domain = url.str.extract(fields.URL_DOMAIN, 1).str.to_lowercase()
    code = pl.coalesce(msg.str.extract(fields.ERRCODE, 1), msg.str.extract(fields.NUMERIC_CODE, 1))
    quoted = pl.coalesce(errmsg.field("dq"), errmsg.field("sq"), errmsg.field("bare"))
    host = msg.str.extract(fields.HOST, 1).str.to_lowercase()
    return frame.with_columns(
        pl.col("error.code").fill_null(code),
        pl.col("error.message").fill_null(quoted.str.strip_chars()),
        domain.alias("url.domain"),
        url.str.extract(fields.URL_PATH, 1).alias("url.path"),
        pl.col("destination.domain").fill_null(pl.coalesce(host, domain)),
        pl.col("related.ip").fill_null(msg.str.extract(ip, 1)),
        pl.col("http.request.id").fill_null(msg.str.extract(request_id, 1)),
    )


def keyed_texts(
    pieces: Sequence[str],
    keys: Sequence[str],
    separators: Sequence[str],
    values: Sequence[str],
    *,
    glue: str,
    min_parts: int,
    max_texts: int,
) -> st.SearchStrategy[list[str]]:
    """Lists of texts made of loose pieces and ``key``, ``separator``, ``value`` triples."""
    triple = st.tuples(st.sampled_from(keys), st.sampled_from(separators), st.sampled_from(values))
    part = st.sampled_from(pieces) | triple.map("".join)
    text = st.lists(part, min_size=min_parts, max_size=8).map(glue.join)
    return st.lists(text, max_size=max_texts)


@settings(max_examples=100, deadline=None)
@given(
    messages=keyed_texts(
        FIELD_PIECES,
        FIELD_KEYS,
        FIELD_SEPARATORS,
        FIELD_VALUES,
        glue=" ",
        min_parts=1,
        max_texts=60,
    ),
    preset=st.sampled_from([None, "kept", "http://u@h.example/p", "[::1]"]),
)
def test_fields_equal_the_patterns_run_plainly(messages: list[str], preset: str | None) -> None:
    # The keyword prefilter, the capture-free patterns and the split host lookup are shortcuts:
    # what they find must be what the patterns find run on every message. (test_scan checks the
    # compiled scan against these patterns.)
    frame = pl.DataFrame(
        {"message": messages, **{name: preset for name in FIELD_COLUMNS}},
        schema={"message": pl.String, **dict.fromkeys(FIELD_COLUMNS, pl.String)},
    )
    compiled, scan.compiled = scan.compiled, None
    try:
        assert fields.extract_fields(frame).equals(plain_fields(frame.lazy()).collect())
    finally:
        scan.compiled = compiled


@settings(max_examples=100, deadline=None)
@given(
    texts=keyed_texts(
        SECRET_PIECES,
        SECRET_KEYS,
        SECRET_SEPARATORS,
        SECRET_VALUES,
        glue="",
        min_parts=0,
        max_texts=40,
    )
)
def test_keyed_redaction_rule_masks_what_the_three_rules_do(texts: list[str]) -> None:
    plain = "|".join(f"(?:{rule})" for rule in RULES)
    frame = pl.DataFrame({"t": texts}, schema={"t": pl.String})
    expected = frame.select(pl.col("t").str.replace_all(plain, COMBINED_REPLACEMENT))
    assert frame.select(redact_text(pl.col("t"))).equals(expected)


@settings(max_examples=60, deadline=None)
@given(
    parts=st.lists(
        st.tuples(
            st.integers(0, 9999),
            st.integers(0, 13),
            st.integers(0, 32),
            st.sampled_from(" T"),
            st.integers(0, 25),
            st.integers(0, 61),
            st.integers(0, 61),
            st.sampled_from(["", ".", ".5", ",123", ".1234567", ".123456789"]),
        ),
        min_size=1,
        max_size=50,
    )
)
def test_iso_stamps_read_whole_equal_them_sliced(
    parts: list[tuple[int, int, int, str, int, int, int, str]],
) -> None:
    # polars' parser reads most stamps; it must agree with slicing wherever it does.
    stamps = pl.Series(
        "ts",
        [
            f"{y:04d}-{mo:02d}-{d:02d}{t}{h:02d}:{mi:02d}:{s:02d}{f}"
            for y, mo, d, t, h, mi, s, f in parts
        ],
    )
    shaped = stamps.str.contains(NAIVE_ISO)
    assert (
        timestamps._naive_iso(stamps)
        .filter(shaped)
        .equals(timestamps._sliced_iso(stamps.filter(shaped)))
    )
