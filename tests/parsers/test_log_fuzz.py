"""Random and mutated bytes never break the log parser: schema-shaped output or ParseError."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzer.schema import EVENT_SCHEMA
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
