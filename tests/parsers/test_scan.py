"""The compiled text scans (``parsers/_scan.c``, ``parsers/_lines.c``) do exactly what their
polars twins do.

Field extraction, redaction and the log formats' head patterns run compiled where the install
built them and as polars patterns (``parsers.logs.fields``, ``analyzer.redact``,
``str.extract_groups``) elsewhere, so both must give the same columns on any text: keys,
separators and values lined up the way the patterns' edges care about, format sample lines
and mutations of them, random Unicode, the bundled samples and every corpus log.
"""

from __future__ import annotations

import importlib
import os
import random
import threading
import time
import types
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.redact import redact_series
from parsers import scan
from parsers.logs import fields
from parsers.logs.formats import BY_NAME, FORMATS
from parsers.logs.parser import _by_value, head_groups, head_pattern
from parsers.logs.timestamps import _naive_iso, _naive_iso_patterns
from parsers.text import read_file, read_lines
from tests.parsers.test_log_fuzz import (
    FIELD_COLUMNS,
    FIELD_KEYS,
    FIELD_PIECES,
    FIELD_SEPARATORS,
    FIELD_VALUES,
    SECRET_KEYS,
    SECRET_PIECES,
    SECRET_SEPARATORS,
    SECRET_VALUES,
    keyed_texts,
)

COMPILED = scan.compiled  # captured before any test swaps it out
PCRE = scan.pcre
ROOT = Path(__file__).resolve().parents[2]
SAMPLE_LOGS = sorted((ROOT / "sample_data").rglob("*.log"))

# Characters the scans treat specially: white space beyond ASCII (NEL, NBSP, ideographic space,
# line separator), the Kelvin sign and long s that Unicode case folding adds to "k" and "s",
# non-ASCII digits, NUL, and bytes that open multi-byte characters.
# Characters Unicode tables classify differently from one version or engine to the next: a
# combining mark, a superscript digit, the Mongolian vowel separator, a zero-width joiner, a
# digit of a script added in Unicode 16.
SPECIAL = "\x85\xa0\u3000\u2028\u1680\u212a\u017f\u0663\x00é中\u0301²\u180e\u200d\U00010d40"
ALPHABET = st.sampled_from(
    list("aeiostkcdhrxy_-=:;,.&?'\"\\/<>[]{}() \t\n\r0123456789AEKSXY") + list(SPECIAL)
)
TEXTS = st.lists(st.text(alphabet=ALPHABET, max_size=120) | st.none(), max_size=40)
FIELD_TEXTS = keyed_texts(
    FIELD_PIECES + list(SPECIAL), FIELD_KEYS, FIELD_SEPARATORS, FIELD_VALUES,
    glue=" ", min_parts=1, max_texts=40,
)  # fmt: skip
SECRET_TEXTS = keyed_texts(
    SECRET_PIECES + list(SPECIAL), SECRET_KEYS, SECRET_SEPARATORS, SECRET_VALUES,
    glue="", min_parts=0, max_texts=40,
)  # fmt: skip
SAME = settings(max_examples=150, deadline=None)


def fields_both_ways(
    messages: list[str | None], preset: str | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    frame = pl.DataFrame(
        {"message": messages, **{name: preset for name in FIELD_COLUMNS}},
        schema={"message": pl.String, **dict.fromkeys(FIELD_COLUMNS, pl.String)},
    )
    compiled = fields.extract_fields(frame)
    scan.compiled = None
    try:
        patterns = fields.extract_fields(frame)
    finally:
        scan.compiled = COMPILED
    return compiled, patterns


def redact_both_ways(texts: pl.Series) -> tuple[pl.Series, pl.Series]:
    compiled = redact_series(texts)
    scan.compiled = None
    try:
        patterns = redact_series(texts)
    finally:
        scan.compiled = COMPILED
    return compiled, patterns


def assert_frames_equal(compiled: pl.DataFrame, patterns: pl.DataFrame, texts: pl.Series) -> None:
    """Equal frames, or the first differing text and columns, readable."""
    for name in patterns.columns:
        differs = compiled[name].ne_missing(patterns[name])
        if differs.any():
            row = int(differs.arg_true()[0])
            raise AssertionError(
                f"{name}: {texts[row]!r} -> compiled {compiled[name][row]!r}, "
                f"patterns {patterns[name][row]!r}"
            )


def claim_both_ways(lines: pl.Series, head: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    compiled = head_groups(lines, head).collect()
    scan.pcre = None
    try:
        patterns = head_groups(lines, head).collect()
    finally:
        scan.pcre = PCRE
    return compiled, patterns


def assert_claims_alike(lines: pl.Series) -> None:
    """Every format's head pattern finds the same groups and tail with PCRE2 as with polars;
    the stamps PCRE2 reads as it claims are what the timestamp patterns read."""
    for fmt in FORMATS:
        compiled, patterns = claim_both_ways(lines, head_pattern(fmt))
        if "ts" in patterns.columns:
            assert_stamps_read_alike(
                compiled.get_column("_naive"), patterns.get_column("ts"), lines
            )
            compiled = compiled.drop("_naive")
        assert compiled.columns == patterns.columns, fmt.name
        assert_frames_equal(compiled, patterns, lines)


def assert_stamps_read_alike(read: pl.Series, stamps: pl.Series, lines: pl.Series) -> None:
    """``read`` is what the patterns read of ``stamps`` as naive ISO stamps, but on the lines
    left to polars (a character past ASCII, a head past what PCRE2 sees)."""
    expected = _naive_iso_patterns(stamps)
    assert not (read.is_not_null() & read.ne_missing(expected)).any()
    plain = lines.str.contains(r"^[\x00-\x7f]{0,200}$").fill_null(False)
    missed = (read.is_null() & expected.is_not_null() & plain).arg_true()
    assert missed.is_empty(), lines.gather(missed).to_list()


def test_the_install_built_the_scans() -> None:
    # Optional in pyproject.toml so that an install without a C compiler (or without
    # libpcre2-dev) still works; CI has both, so a build that silently failed shows here.
    assert COMPILED is not None
    assert PCRE is not None


def test_a_module_from_an_older_build_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    # An editable install whose rebuild failed keeps the old module; its entry points may take
    # other arguments, so the polars twins run instead.
    import parsers

    stale = types.ModuleType("stale")
    monkeypatch.setattr(parsers, "_scan", stale, raising=False)
    monkeypatch.setattr(parsers, "_lines", stale, raising=False)
    try:
        reloaded = importlib.reload(scan)
        assert reloaded.compiled is None and reloaded.pcre is None
    finally:
        monkeypatch.undo()
        importlib.reload(scan)
    assert scan.compiled is COMPILED and scan.pcre is PCRE


@SAME
@given(messages=FIELD_TEXTS, preset=st.sampled_from([None, "kept"]))
def test_fields_of_keyed_texts(messages: list[str], preset: str | None) -> None:
    compiled, patterns = fields_both_ways(messages, preset)
    assert_frames_equal(compiled, patterns, pl.Series(messages, dtype=pl.String))


@SAME
@given(messages=TEXTS)
def test_fields_of_random_text(messages: list[str | None]) -> None:
    compiled, patterns = fields_both_ways(messages)
    assert_frames_equal(compiled, patterns, pl.Series(messages, dtype=pl.String))


def test_domains_are_lower_cased_past_ascii_too() -> None:
    # The scan folds ASCII letters; a domain with a letter past ASCII is lower-cased by polars.
    messages = ["see https://Login.EXAMPLE.com/a", "go http://BÜCHER.Example/x", None, "none"]
    compiled, patterns = fields_both_ways(messages)
    assert_frames_equal(compiled, patterns, pl.Series(messages, dtype=pl.String))
    assert compiled["url.domain"].to_list() == ["login.example.com", "bücher.example", None, None]
    given = fields_both_ways(["x"], preset="https://Given.Example/p")
    assert given[0].equals(given[1]) and given[0]["url.domain"][0] == "given.example"


@SAME
@given(texts=SECRET_TEXTS)
def test_redaction_of_keyed_texts(texts: list[str]) -> None:
    series = pl.Series("t", texts, dtype=pl.String)
    compiled, patterns = redact_both_ways(series)
    assert_frames_equal(compiled.to_frame(), patterns.to_frame(), series)


@SAME
@given(texts=TEXTS)
def test_redaction_of_random_text(texts: list[str | None]) -> None:
    series = pl.Series("t", texts, dtype=pl.String)
    compiled, patterns = redact_both_ways(series)
    assert_frames_equal(compiled.to_frame(), patterns.to_frame(), series)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("to\u212aen=abc", "to\u212aen=abc"),  # no gate word in ASCII: the rules never run
        ("token=1 to\u212aen=abc", "token=<redacted> to\u212aen=<redacted>"),
        # (?-u:\b) compares bytes: it holds between "x" and a long s, not between " " and one.
        ("token=1 x\u017fid=2", "token=<redacted> x\u017fid=<redacted>"),
        ("token=1 \u017fid=2", "token=<redacted> \u017fid=2"),
        ("?code=ab&state=cd", "?code=<redacted>&state=<redacted>"),
        ("code=12 code=1a", "code=<redacted> code=<redacted>"),  # "^" opens a parameter
        ("x code=12 code=1a", "x code=12 code=<redacted>"),
        # No value after the spaces: the engine gives a space back and masks it.
        ("authorization: \n,", "authorization:<redacted>\n,"),
        ("authorization:\n,", "authorization:\n,"),
        ("authorization:  ,", "authorization: <redacted>,"),
        ('secret="a\\"b" rest', 'secret="<redacted>" rest'),
        # The scan leaps to where the next gate word lets a match start: six bytes before it,
        # or where its word starts; not past a key the gate cannot see (Kelvin sign).
        ("to\u212aen=abc token=1", "to\u212aen=<redacted> token=<redacted>"),
        ("x?auth_code=12", "x?auth_code=<redacted>"),  # a number: only after "?" a secret
        ("a proxy-authorization: Basic xyz", "a proxy-authorization: <redacted>"),
        ("say my_app_access_token=abc ok", "say my_app_access_token=<redacted> ok"),
        ("set-cookie: sid=1", "set-cookie: <redacted>"),
        ("errcode=0 then state=abc", "errcode=0 then state=<redacted>"),
        ("pre_user_ticket=9 ~ tokenize no", "pre_user_ticket=9 ~ tokenize no"),
    ],
)
def test_redaction_edges(text: str, masked: str) -> None:
    compiled, patterns = redact_both_ways(pl.Series("t", [text]))
    assert compiled[0] == patterns[0] == masked


def test_a_long_word_before_a_gate_word_is_crossed_once() -> None:
    # A word run that ends at a character past ASCII ("—", "…") makes the search step a byte
    # at a time: were the way back from the gate word walked again at each step, these lines
    # would take seconds each (minutes at the line cap). A guard against a hang, not a timing.
    texts = pl.Series("t", ["a" * 300_000 + "token\u2014x", "b" * 300_000 + "sid=1 \u2026"])
    started = time.perf_counter()
    masked = redact_series(texts)
    assert time.perf_counter() - started < 5
    compiled, patterns = redact_both_ways(texts)
    assert compiled.equals(patterns) and masked.equals(compiled)


def test_chunked_sliced_and_long_columns_are_read_whole() -> None:
    # Several chunks, a slice that starts mid-chunk, strings inline in the view (<= 12 bytes)
    # and in buffers, and nulls: every row lines up with its own result.
    rows = ["errcode=5 host=a.example.com", None, "x", "see http://h.example/p 10.0.0.1 " * 40]
    chunked = pl.concat([pl.Series("message", rows * 50)] * 3, rechunk=False).slice(7, 500)
    assert chunked.n_chunks() > 1
    compiled, patterns = fields_both_ways(chunked.to_list())
    found = scan.fields(chunked)
    assert found.height == chunked.len()
    assert found["code"].to_list()[:4] == [None, "5", None, None]  # row 7 is rows[3]
    assert_frames_equal(compiled, patterns, chunked)


def test_threads_cut_the_column_without_moving_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = pl.Series("t", [f"n={i} token={i} http://h{i}.example/" for i in range(5000)])
    whole = scan.fields(texts)
    masked = scan.secrets(texts)
    stamps = pl.Series("ts", [f"2025-01-{1 + i % 28:02d} 10:00:{i % 60:02d}" for i in range(5000)])
    stamps = stamps.scatter([3, 999, 4000], ["bad", None, "2025-01-01 10:00:0\u0663"])
    read = scan.naive_iso(stamps)
    monkeypatch.setattr(scan, "MIN_TEXTS_PER_THREAD", 100)
    monkeypatch.setattr(scan, "usable_cores", lambda: 3)
    in_threads = scan.fields(texts)
    assert in_threads.equals(whole)
    # One chunk however many threads: columns that line up with the messages' own chunks are
    # not copied to be aligned.
    assert {column.n_chunks() for column in in_threads.iter_columns()} == {1}
    assert scan.secrets(texts).equals(masked)
    assert masked[4999] == "n=4999 token=<redacted> http://h4999.example/"
    assert scan.naive_iso(stamps).equals(read)
    assert read["naive"].null_count() == 3 and read["undecided"].arg_true().to_list() == [4000]


def test_a_column_that_is_not_text_is_refused() -> None:
    assert COMPILED is not None
    with pytest.raises(ValueError, match="does not hold strings"):
        COMPILED.fields(pl.Series([1, 2]).__arrow_c_stream__(), 1)
    with pytest.raises(ValueError, match="does not hold strings"):
        COMPILED.redact(pl.Series([1.5]).__arrow_c_stream__())


SAMPLE_LINES = [line for fmt in FORMATS for line, _ in fmt.samples]
# What the head patterns' edges turn on: digits (ASCII and not), separators, brackets, spaces.
EDITS = st.sampled_from([*"0123456789 :-.,[]()/T+Z\t", *SPECIAL, ""])


@st.composite
def mutated_lines(draw: st.DrawFn) -> list[str | None]:
    """Format sample lines with a few characters replaced, inserted or removed."""
    lines: list[str | None] = []
    for _ in range(draw(st.integers(1, 12))):
        line = draw(st.sampled_from(SAMPLE_LINES))
        for _ in range(draw(st.integers(0, 3))):
            at = draw(st.integers(0, len(line)))
            cut = draw(st.integers(0, 2))
            line = line[:at] + draw(EDITS) + line[at + cut :]
        lines.append(draw(st.sampled_from([line, line, line, None])))
    return lines


def test_format_samples_claim_alike() -> None:
    assert_claims_alike(pl.Series("line", [*SAMPLE_LINES, None, "", " "], dtype=pl.String))


@SAME
@given(lines=mutated_lines())
def test_mutated_format_lines_claim_alike(lines: list[str | None]) -> None:
    assert_claims_alike(pl.Series("line", lines, dtype=pl.String))


@SAME
@given(lines=TEXTS)
def test_random_lines_claim_alike(lines: list[str | None]) -> None:
    assert_claims_alike(pl.Series("line", lines, dtype=pl.String))


def test_the_tail_is_the_line_without_the_matched_text_in_front() -> None:
    # As strip_prefix takes it off: a match further on removes the same text from the front.
    lines = pl.Series("line", ["bab", "cab", "xb"])
    compiled, patterns = claim_both_ways(lines, r"\B(?P<b>b)")
    assert compiled["_tail"].to_list() == patterns["_tail"].to_list() == ["ab", "cab", "xb"]


def test_patterns_pcre2_refuses_are_matched_by_polars() -> None:
    assert PCRE is not None
    lines = pl.Series("line", ["ab", "b"])
    assert scan.claim(lines, r"(?-u:\b)a") is None  # Rust syntax PCRE2 does not know
    assert scan.claim(lines, r"(a)(?P<b>b)") is None  # polars would name the group "1"
    compiled, patterns = claim_both_ways(lines, r"(?-u:\b)(?P<a>a)")
    assert compiled.equals(patterns)


def test_lines_past_ascii_or_backtracking_are_left_to_polars() -> None:
    # Engines classify characters past ASCII by different Unicode tables; a backtracking
    # engine can take time quadratic in a line where polars' automata cannot.
    logcat = head_pattern(BY_NAME["logcat_threadtime"])
    stalled = "05-31 10:01:49.123  2211  2305 E WeWork" + " " * 3000 + "x: y"
    lines = pl.Series("line", [stalled, "05-31 10:01:49.123  2211  2305 E Tag\u180e: y", "ok"])
    found = scan.claim(lines, logcat)
    assert found is not None
    assert found["_undecided"].to_list() == [True, True, False]
    compiled, patterns = claim_both_ways(pl.concat([lines] * 50), logcat)
    assert compiled.drop("_naive").equals(patterns)
    backtracking = r"^(?P<run>(?:a|aa)+)$"  # past PCRE2's match limit on the first line
    compiled, patterns = claim_both_ways(pl.Series("line", ["a" * 40 + "!", "aa"]), backtracking)
    assert compiled.equals(patterns)
    assert compiled["run"].to_list() == [None, "aa"]


def test_an_unanchored_match_past_what_pcre2_sees_is_left_to_polars() -> None:
    # PCRE2 sees a line up to its first character past ASCII: a pattern without "^" may match
    # after it, so a line it does not match there is polars' to decide.
    unanchored = r"(?P<tag>\[\w+\])"
    lines = pl.Series("line", ["中 [tag] x", "x" * 300 + " [tag]", "[tag] ok", "none"])
    found = scan.claim(lines, unanchored)
    assert found is not None
    assert found["_undecided"].to_list() == [True, True, False, False]
    compiled, patterns = claim_both_ways(lines, unanchored)
    assert compiled.equals(patterns)
    assert compiled["tag"].to_list() == ["[tag]", "[tag]", "[tag]", None]
    anchored = scan.claim(lines, r"^" + unanchored)
    assert anchored is not None and anchored["_undecided"].to_list() == [True, False, False, False]


def test_threads_cut_the_lines_without_moving_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = pl.Series("line", [f"[{i}] x{i}" for i in range(5000)])
    whole = scan.claim(lines, r"^\[(?P<n>\d+)\] ")
    monkeypatch.setattr(scan, "MIN_TEXTS_PER_THREAD", 100)
    monkeypatch.setattr(scan, "usable_cores", lambda: 3)
    cut = scan.claim(lines, r"^\[(?P<n>\d+)\] ")
    assert whole is not None and cut is not None and cut.equals(whole)
    assert whole.row(4999) == ("4999", "x4999", False)


@st.composite
def iso_stamps(draw: st.DrawFn) -> str:
    """Stamps of the naive ISO shape with every field at and past its limits, some mutated."""

    def two(low: int, high: int) -> str:
        return f"{draw(st.integers(low, high)):02d}"

    stamp = (
        f"{draw(st.integers(0, 9999)):04d}-{two(0, 13)}-{two(0, 32)}"
        f"{draw(st.sampled_from(' T'))}{two(0, 25)}:{two(0, 61)}:{two(0, 61)}"
    )
    if draw(st.booleans()):
        stamp += draw(st.sampled_from(".,")) + draw(st.text("0123456789", max_size=10))
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(stamp)))
        stamp = stamp[:at] + draw(EDITS) + stamp[at + draw(st.integers(0, 1)) :]
    return stamp


@SAME
@given(stamps=st.lists(iso_stamps() | st.none(), max_size=30))
def test_naive_iso_stamps_read_alike(stamps: list[str | None]) -> None:
    texts = pl.Series("ts", stamps, dtype=pl.String)
    compiled = _naive_iso(texts).cast(pl.Int64)  # year 0 has no Python datetime
    patterns = _naive_iso_patterns(texts).cast(pl.Int64)
    assert_frames_equal(compiled.to_frame(), patterns.to_frame(), texts)


@pytest.mark.parametrize(
    "stamp",
    [
        "2024-02-29 23:59:60.5",  # a leap second is the next minute
        "2023-02-29T00:00:00",
        "0000-01-01 00:00:00",
        "1969-12-31 23:59:59.999999999",
        "2025-05-31 08:00:00.\u0661",  # digits of another script: the patterns decide
        "\u0662025-05-31 08:00:00",
    ],
)
def test_naive_iso_edges(stamp: str) -> None:
    texts = pl.Series("ts", [stamp])
    assert _naive_iso(texts).cast(pl.Int64).equals(_naive_iso_patterns(texts).cast(pl.Int64))


# Bytes a file's split turns on: line ends, NUL, ESC, and UTF-8 whole, cut, overlong, surrogate
# and past U+10FFFF; plus the BOMs that send a file down the decoding path.
@SAME
@given(texts=st.lists(st.sampled_from(["", "a", "A", "中", "x" * 13, "x" * 14]) | st.none()
                      | st.text(alphabet=ALPHABET, max_size=20), max_size=60),
       most=st.integers(1, 8))  # fmt: skip
def test_values_are_told_apart_alike(texts: list[str | None], most: int) -> None:
    series = pl.Series("t", texts, dtype=pl.String)
    found = scan.codes(series, most)
    distinct = series.drop_nulls().unique(maintain_order=True)
    if distinct.len() > most:
        assert found is None
        return
    assert found is not None
    code, firsts = found
    assert firsts.len() == distinct.len() and series.gather(firsts).to_list() == distinct.to_list()
    assert series.gather(firsts).gather(code).to_list() == texts
    assert code.is_null().to_list() == series.is_null().to_list()
    none_allowed = scan.codes(series, -most)  # as with 0: no distinct text at all
    assert (none_allowed is None) == (distinct.len() > 0)


def test_distinct_values_are_converted_once() -> None:
    levels = pl.Series("level", ["Info", None, "WARN", "info", "Info"] * 1000)
    seen: list[int] = []

    def lower(values: pl.Series) -> pl.Series:
        seen.append(values.len())
        return values.str.to_lowercase()

    assert _by_value(levels, lower).to_list() == ["info", None, "warn", "info", "info"] * 1000
    assert seen == [3]
    scan.compiled = None
    try:
        assert _by_value(levels, lower).to_list() == levels.str.to_lowercase().to_list()
    finally:
        scan.compiled = COMPILED


FILE_PIECES = st.sampled_from(
    [
        b"\n", b"\r", b"\r\n", b"\x00", b"\x1b[31m", b"plain text ", b"0123456789abc",
        "中文é".encode(), b"\xe4\xb8", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
        b"\xff", b"\xef\xbb\xbf", b"\xff\xfe",
    ]
)  # fmt: skip


@SAME
@given(pieces=st.lists(FILE_PIECES, max_size=40))
def test_files_split_alike(pieces: list[bytes], tmp_path_factory: pytest.TempPathFactory) -> None:
    data = b"".join(pieces)
    path = tmp_path_factory.mktemp("split") / "f.log"
    path.write_bytes(data)
    read = read_file(path)
    expected = read_lines(data)
    assert read.decoded.lines.to_list() == expected.lines.to_list()
    decoded = read.decoded
    assert (decoded.encoding, decoded.bom, decoded.replaced, decoded.nul_bytes) == (
        expected.encoding, expected.bom, expected.replaced, expected.nul_bytes
    )  # fmt: skip
    assert (read.size, read.has_escapes) == (len(data), b"\x1b" in data)
    if read.blank is not None and read.spaced is not None:  # as the patterns say, or left open
        pattern = read.decoded.lines.str.contains(r"^\s*$")
        assert read.blank.fill_null(pattern).to_list() == pattern.to_list()
        ends = read.decoded.lines.str.contains(r"\s$")
        assert not (ends & ~read.spaced).any()
    # Cut in shares after a line feed, split in threads and put end to end: the same lines.
    alone = scan.split_file(path, 1)
    for threads in (2, 3, 7):
        found = scan.split_file(path, threads)
        if alone is None:
            assert found is None
            continue
        assert found is not None
        assert found[0].equals(alone[0]) and found[1:] == alone[1:]


SECRET_FILE_PIECES = st.sampled_from(
    [
        b"token=abc123 ", b"Authorization: Bearer eyJhbGciOi.x.y", b"?code=12&state=zz",
        "pwd=中文 ".encode(), b"TOKEN", b"=", b"sid:", b"cookie: a=b; c=d",
    ]
)  # fmt: skip


def split_masked_alike(path: Path, limit: int) -> None:
    """Split with secrets masked in 1, 2, 3 and 7 threads: the lines of at most ``limit`` bytes
    as the redaction patterns mask them, the others as written, and the same marks."""
    for threads in (1, 2, 3, 7):
        plain = scan.split_file(path, threads)
        found = scan.split_file(path, threads, redact_up_to=limit)
        if plain is None:
            assert found is None
            continue
        assert found is not None and found[1:] == plain[1:]
        lines = plain[0].get_column("line")
        scan.compiled = None
        try:
            masked = redact_series(lines)
        finally:
            scan.compiled = COMPILED
        expected = pl.select(
            pl.when(lines.str.len_bytes() <= limit).then(masked).otherwise(lines)
        ).to_series()
        assert found[0].get_column("line").to_list() == expected.to_list()
        assert found[0].get_column("masked").to_list() == expected.ne(lines).to_list()
        assert found[0].drop("line", "masked").equals(plain[0].drop("line", "masked"))


@SAME
@given(pieces=st.lists(FILE_PIECES | SECRET_FILE_PIECES, max_size=40), limit=st.integers(0, 80))
def test_files_split_and_masked_alike(
    pieces: list[bytes], limit: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("masked") / "f.log"
    path.write_bytes(b"".join(pieces))
    split_masked_alike(path, limit)


def test_large_files_are_read_in_shares_and_chunks_alike(tmp_path: Path) -> None:
    """Files past the 256 KiB a thread reads at a time: characters cut by a chunk's or a share's
    end, a line longer than a whole share, secrets on either side of a cut."""
    rng = random.Random(5)
    words = ["plain", "中文", "é", "token=abc", "state=xyz", "\r", "  ", "code=12", "x" * 40]
    lines = [" ".join(rng.choices(words, k=rng.randrange(0, 30))) for _ in range(12_000)]
    body = "\n".join(lines).replace("\\r", "\r").encode()
    chunk = 1 << 18
    for at in (chunk - 2, chunk - 1, chunk):  # a three-byte character across the first cut
        data = bytearray(body)
        data[at : at + 3] = "中".encode()
        data[len(data) // 2 : len(data) // 2 + 300_000] = b"token=" + b"y" * 299_994  # no LF
        path = tmp_path / f"large{at}.log"
        path.write_bytes(bytes(data))
        assert read_file(path).decoded.lines.to_list() == read_lines(bytes(data)).lines.to_list()
        split_masked_alike(path, 1 << 20)
    data[chunk + 5] = 0xFF  # invalid UTF-8 past the first chunk: no thread count takes it
    path.write_bytes(bytes(data))
    assert all(scan.split_file(path, threads) is None for threads in (1, 2, 3, 7))


def test_a_pipe_is_read_to_its_end(tmp_path: Path) -> None:
    """A file whose size is not known beforehand is read whole, then split."""
    path = tmp_path / "pipe"
    os.mkfifo(path)
    data = b"one token=abc\ntwo\r\n" * 50_000
    writer = threading.Thread(target=path.write_bytes, args=(data,))
    writer.start()
    try:
        found = scan.split_file(path, 2, redact_up_to=100)
    finally:
        writer.join()
    assert found is not None
    assert found[1] == len(data)
    assert found[0].get_column("line").to_list() == ["one token=<redacted>", "two"] * 50_000


def test_a_plain_utf8_file_is_split_by_the_compiled_scan(tmp_path: Path) -> None:
    path = tmp_path / "f.log"
    path.write_bytes("one\r\ntwo 中文 and a line longer than twelve\n\nlast\r".encode())
    found = scan.split_file(path)
    assert found is not None
    split, size, has_escapes = found
    assert split.get_column("line").to_list() == [
        "one", "two 中文 and a line longer than twelve", "", "last"
    ]  # fmt: skip
    assert split.get_column("blank").to_list() == [False, False, True, False]
    assert (size, has_escapes) == (path.stat().st_size, False)
    # White space in ASCII decides; a character past it is left open (U+3000 is a space).
    path.write_bytes(" \t\r\n \u3000\n  \u3000x\n 中\n\x0b\x0c\n".encode())
    found = scan.split_file(path)
    assert found is not None
    assert found[0].get_column("blank").to_list() == [True, None, None, None, True]
    # May end in white space: in ASCII, or a character past it (U+3000, or not a space at all).
    assert found[0].get_column("spaced").to_list() == [True, True, False, True, True]
    path.write_bytes(b"nul \x00 inside\n")
    assert scan.split_file(path) is None
    with pytest.raises(OSError):
        scan.split_file(tmp_path / "missing.log")
    with pytest.raises(OSError):
        scan.split_file(tmp_path)  # a directory
    with path.open("r+b") as sparse:  # 2 GiB said by its size: refused before it is read
        sparse.truncate(1 << 31)
    assert scan.split_file(path) is None


def log_lines(path: Path) -> pl.Series:
    return read_lines(path.read_bytes()).lines


@pytest.mark.parametrize("path", SAMPLE_LOGS, ids=lambda p: p.name)
def test_sample_logs_scan_alike(path: Path) -> None:
    lines = log_lines(path)
    compiled, patterns = redact_both_ways(lines)
    assert compiled.equals(patterns)
    found, expected = fields_both_ways(compiled.to_list())
    assert_frames_equal(found, expected, compiled)
    assert_claims_alike(lines)


@pytest.mark.corpus
def test_corpus_logs_scan_alike(corpus: Path) -> None:
    paths = sorted(p for p in (corpus / "logs").iterdir() if p.is_file())
    assert paths
    for path in paths:
        lines = log_lines(path)
        compiled, patterns = redact_both_ways(lines)
        assert compiled.equals(patterns), path.name
        found, expected = fields_both_ways(compiled.to_list())
        assert_frames_equal(found, expected, compiled)
        assert_claims_alike(lines)
        print(f"{path.name}: {lines.len()} lines, {int((compiled != lines).sum())} masked")
