"""HAR ingest benchmark against jq and json.load (``pytest -m bench -s tests/bench``).

The benchmark prints its figures and asserts only correctness facts, never time.
A small generator check runs with the ordinary suite.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from bench.bench_har import main
from bench.gen_har import generate, load_stats, sidecar_path
from parsers.har.parser import parse_har

BENCH_MB = 50


def test_generator_is_deterministic_and_parses(tmp_path: Path) -> None:
    """Small HAR: same bytes for the same seed; parse_har's counts equal the sidecar's and no
    planted secret reaches an event."""
    first, second = tmp_path / "a.har", tmp_path / "b.har"
    stats = generate(first, mb=2, seed=7)
    generate(second, mb=2, seed=7)
    assert first.read_bytes() == second.read_bytes()
    assert load_stats(first) == stats
    assert json.loads(sidecar_path(first).read_text())["entries"] == stats.entries
    assert stats.bytes == first.stat().st_size >= 2 * 2**20
    document = json.loads(first.read_text(encoding="utf-8"))
    assert document["log"]["creator"]["name"] == "WebInspector"
    assert len(document["log"]["entries"]) == stats.entries
    assert stats.failed_requests > 0 and stats.vendor_errors > 0
    assert {"200", "302", "304", "403", "502"} <= set(stats.status_histogram)
    assert all(stats.secret_plants[name] > 0 for name in stats.secrets)

    events, report = parse_har(first, "a.har")
    assert report.format == "har (WebInspector)"
    assert events.height == report.records == stats.entries
    assert report.skipped == 0
    assert report.details["failed_requests"] == stats.failed_requests
    assert report.details["status_histogram"] == stats.status_histogram
    vendor = events.filter(
        pl.col("error.code").is_not_null() & (pl.col("event.action") == "http-response")
    )
    assert vendor.height == stats.vendor_errors
    text = events.select(pl.col(pl.String)).write_ndjson()
    for name, secret in stats.secrets.items():
        assert secret not in text, name


@pytest.mark.bench
def test_bench_har(capsys: pytest.CaptureFixture[str]) -> None:
    """Run the benchmark at 50 MiB and print its table."""
    with capsys.disabled():
        result = main(["--mb", str(BENCH_MB)])
    failed = [f"{c.what}: {c.found} ≠ {c.expected}" for c in result.checks if not c.ok]
    assert not failed
    assert not any(result.leaked.values()), result.leaked
    assert result.rows[0].count == result.stats.entries
