"""Client-log ingest benchmark against lnav and rg (``pytest -m bench -s tests/bench``).

The benchmark prints its figures and asserts only correctness facts, never time.
A small generator check runs with the ordinary suite.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.bench_logs import main
from bench.gen_client_log import generate, load_stats, sidecar_path
from parsers.logs.parser import parse_log
from parsers.logs.timestamps import TimeContext

BENCH_MB = 20


def test_generator_is_deterministic_and_parses(tmp_path: Path, utc_context: TimeContext) -> None:
    """Small log: same bytes for the same seed; the sidecar counts match what the parser reads."""
    first, second = tmp_path / "a.log", tmp_path / "b.log"
    stats = generate(first, mb=0.25, seed=7)
    generate(second, mb=0.25, seed=7)
    assert first.read_bytes() == second.read_bytes()
    assert load_stats(first) == stats
    assert json.loads(sidecar_path(first).read_text())["records"] == stats.records
    text = first.read_text(encoding="utf-8")
    assert stats.bytes == first.stat().st_size >= 0.25 * 2**20
    assert stats.lines == text.count("\n") == stats.records + stats.continuation_lines
    assert stats.continuation_lines > 0 and sum(stats.levels.values()) == stats.records
    events, report = parse_log(first, "a.log", utc_context)
    assert report.format == "electron_log"
    assert events.height == report.records == stats.records
    assert events["@timestamp"].is_sorted()
    assert events["@timestamp"].null_count() == 0


@pytest.mark.bench
def test_bench_logs(capsys: pytest.CaptureFixture[str]) -> None:
    """Run the benchmark at 20 MiB and print its table."""
    with capsys.disabled():
        result = main(["--mb", str(BENCH_MB)])
    stats = result.stats
    assert result.events > 0
    assert result.log_format == "electron_log"
    assert result.records == stats.records
    assert result.events == stats.records
    rows = {row.tool: row for row in result.rows}
    for name in ("loginlens ingest, fresh process", "loginlens CLI events → parquet"):
        assert rows[name].count == stats.records, rows[name].note
    if result.rg_count is not None:
        assert result.rg_count == stats.signature_lines
