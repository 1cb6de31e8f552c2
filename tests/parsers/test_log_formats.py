"""Every format's sample lines parse to the fields the registry says they yield."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import regex

from parsers.logs.formats import FORMATS, GENERIC, LogFormat
from parsers.logs.parser import detect_formats, parse_log
from parsers.logs.timestamps import LAYOUTS, TimeContext

SAMPLES = [
    pytest.param(fmt, line, expected, id=f"{fmt.name}-{index}")
    for fmt in FORMATS
    for index, (line, expected) in enumerate(fmt.samples)
]


@pytest.mark.parametrize(("fmt", "line", "expected"), SAMPLES)
def test_sample_line_yields_expected_fields(
    fmt: LogFormat,
    line: str,
    expected: dict[str, str | None],
    utc_context: TimeContext,
    write_file: Callable[[str, bytes | str], Path],
) -> None:
    events, _report = parse_log(write_file("sample.log", line + "\n"), "sample.log", utc_context)
    assert events.height == 1
    row = events.row(0, named=True)
    assert row["loginlens.format"] == fmt.name
    for field, value in expected.items():
        actual = row[field]
        if field == "@timestamp":
            actual = actual.isoformat()
        assert (str(actual) if actual is not None else None) == value, field
    if fmt.layouts != ():
        assert row["@timestamp"] is not None, "a format with a timestamp must yield one"


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.name)
def test_pattern_is_valid_in_python_regex_too(fmt: LogFormat) -> None:
    # Patterns run in Rust (polars) but must stay portable to Python tooling.
    compiled = regex.compile(fmt.pattern)
    for line, _ in fmt.samples:
        assert compiled.match(line), line


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f is not GENERIC], ids=lambda f: f.name)
def test_each_format_is_detected_first_on_its_own_samples(fmt: LogFormat) -> None:
    import polars as pl

    lines = pl.Series([line for line, _ in fmt.samples] * 5)
    best, share = detect_formats(lines)[0]
    assert best is fmt
    assert share == 1.0


def test_layout_names_are_known() -> None:
    for fmt in FORMATS:
        for layout in fmt.layouts or ():
            assert layout in LAYOUTS
