"""HAR ingest benchmark: streaming ``parse_har`` against jq and ``json.load`` on one file.

Generates (or reuses) a ~500 MiB Chrome-style HAR (``bench.gen_har``), then in
one run measures, each in a fresh process:

- ``parse_har`` (ijson streaming, redaction, the event frame): wall seconds,
  MiB/s, entries/s and peak RSS read by ``resource.getrusage`` in the child;
- ``ijson.items(..., "log.entries.item")`` alone, the floor any streaming
  parser built on it pays;
- ``loginlens events FILE --format parquet -o OUT`` end to end;
- ``jq '.log.entries | length'`` and Python's ``json.load`` of the whole file,
  whose peak RSS shows what reading a HAR without streaming costs.

Then cross-checks the generator's sidecar against what loginlens found (entries,
failed requests, status histogram, vendor errors) and searches every string
column of the parquet output for the secrets the generator planted. Prints a
table, the checks and verdicts against the peak-RSS budget ("within budget" or
"OVER BUDGET"). Prints figures; never asserts time.

Usage: ``python -m bench.bench_har [--mb 500] [--keep FILE] [--repeat 1] [--profile]``
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.bench_logs import GNU_TIME, MIB, Row, _python_env, _run, _warm
from bench.gen_har import DEFAULT_MB, DEFAULT_SEED, HarStats, generate, load_stats

RSS_BUDGET = 2**30  # peak RSS of parse_har on a HAR of any size
_SCALE = "1 if sys.platform == 'darwin' else 1024"  # ru_maxrss is KiB on Linux
# Each child reports its own wall time and peak RSS as one JSON line.
_PARSE_CHILD = f"""
import json, resource, sys, time
from pathlib import Path
import polars as pl
from parsers.har.parser import parse_har
scale = {_SCALE}
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
started, cpu = time.perf_counter(), time.process_time()
events, report = parse_har(Path(sys.argv[1]), "bench.har")
seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
print(json.dumps({{"seconds": seconds, "cpu": cpu, "peak": peak, "base": base,
    "events": events.height, "skipped": report.skipped, "details": report.details,
    "vendor_errors": events.filter(pl.col("error.code").is_not_null()
                                   & (pl.col("event.action") == "http-response")).height,
    "problems": [str(e) for e in report.errors][:5]}}, default=str))
"""
_IJSON_CHILD = f"""
import json, resource, sys, time
import ijson
scale = {_SCALE}
started, cpu = time.perf_counter(), time.process_time()
with open(sys.argv[1], "rb") as handle:
    count = sum(1 for _ in ijson.items(handle, "log.entries.item"))
seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
print(json.dumps({{"seconds": seconds, "cpu": cpu, "peak": peak, "count": count,
                  "backend": ijson.backend}}))
"""
_JSON_LOAD_CHILD = f"""
import json, resource, sys, time
scale = {_SCALE}
started, cpu = time.perf_counter(), time.process_time()
with open(sys.argv[1], "rb") as handle:
    count = len(json.load(handle)["log"]["entries"])
seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
print(json.dumps({{"seconds": seconds, "cpu": cpu, "peak": peak, "count": count}}))
"""


@dataclass
class Check:
    """One cross-check between the generator and what a tool found."""

    what: str
    expected: Any
    found: Any

    @property
    def ok(self) -> bool:
        """True when the figures agree."""
        return bool(self.expected == self.found)


@dataclass
class BenchResult:
    """Everything one benchmark run measured."""

    path: Path
    stats: HarStats
    rows: list[Row]
    checks: list[Check] = field(default_factory=list)
    verdicts: list[str] = field(default_factory=list)
    leaked: dict[str, int] = field(default_factory=dict)  # secret name → cells holding it


def ensure_har(mb: float, keep: Path | None, seed: int = DEFAULT_SEED) -> tuple[Path, HarStats]:
    """Return the benchmark HAR and its stats, generating it unless a matching one exists."""
    path = keep or Path(tempfile.gettempdir()) / f"loginlens-bench-har-{mb:g}mb-{seed}.har"
    stats = load_stats(path)
    if stats is not None and stats.target_mb == mb and stats.seed == seed:
        print(f"reusing {path} (generated earlier; {stats.bytes / MIB:.1f} MiB)")
        return path, stats
    print(f"generating {path} ({mb:g} MiB, seed {seed}) ...", flush=True)
    stats = generate(path, mb, seed)
    print(f"  generated in {stats.seconds:.1f}s")
    return path, stats


def _child(row: Row, script: str, path: Path, repeat: int) -> dict[str, Any] | None:
    """Run a measuring child ``repeat`` times; its self-reported figures of the fastest run."""
    best: dict[str, Any] | None = None
    for _ in range(repeat):
        run = _run([sys.executable, "-c", script, str(path)], _python_env())
        if run.returncode != 0:
            row.note = f"exit {run.returncode}: {run.stderr.strip()[-300:]}"
            return best
        doc = json.loads(run.stdout.strip().splitlines()[-1])
        row.runs.append(float(doc["seconds"]))
        row.cpu.append(float(doc["cpu"]))
        # The child's own getrusage; under GNU time it is not inflated by this process.
        peak = int(doc["peak"]) if GNU_TIME else run.rss_bytes
        row.rss_bytes = max(row.rss_bytes or 0, peak or 0) or None
        if best is None or doc["seconds"] < best["seconds"]:
            best = doc
    return best


def bench_parse(path: Path, repeat: int) -> tuple[Row, dict[str, Any] | None]:
    """``parse_har`` in a fresh interpreter: time, CPU, peak RSS and what it found."""
    row = Row("parse_har (fresh process)")
    doc = _child(row, _PARSE_CHILD, path, repeat)
    if doc is not None:
        row.count = int(doc["events"])
        row.note = (
            f"{row.count:,} events, {doc['skipped']} skipped, "
            f"{doc['base'] / MIB:.0f} MiB after imports"
        )
        if doc["problems"]:
            row.note += f"; problems: {doc['problems']}"
    return row, doc


def bench_ijson(path: Path, repeat: int) -> Row:
    """Bare ``ijson.items`` over the entries: the streaming floor under ``parse_har``."""
    row = Row("ijson.items only (floor)")
    doc = _child(row, _IJSON_CHILD, path, repeat)
    if doc is not None:
        row.count = int(doc["count"])
        row.note = f"{row.count:,} entries, backend {doc['backend']}, no events built"
    return row


def bench_json_load(path: Path, repeat: int) -> Row:
    """``json.load`` of the whole HAR: the non-streaming baseline."""
    row = Row("python json.load (whole file)")
    doc = _child(row, _JSON_LOAD_CHILD, path, repeat)
    if doc is not None:
        row.count = int(doc["count"])
        row.note = f"{row.count:,} entries; holds the whole document in memory"
    return row


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("loginlens")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "analyzer.cli"]


def bench_cli(path: Path, out: Path, repeat: int) -> Row:
    """Time ``loginlens events FILE --format parquet -o OUT -q`` end to end."""
    row = Row("loginlens events → parquet (CLI)")
    cmd = [*_cli(), "events", str(path), "--format", "parquet", "-o", str(out), "-q"]
    for _ in range(repeat):
        run = _run(cmd, _python_env())
        if run.returncode != 0:
            row.note = f"exit {run.returncode}: {run.stderr.strip()[-300:]}"
            return row
        row.add(run)
    import polars as pl

    row.count = pl.scan_parquet(out).select(pl.len()).collect().item()
    row.note = f"{row.count:,} events, {out.stat().st_size / MIB:.1f} MiB parquet"
    return row


def bench_jq(path: Path, repeat: int) -> Row:
    """Time ``jq '.log.entries | length'`` (jq reads the whole document)."""
    row = Row("jq '.log.entries | length'")
    jq = shutil.which("jq")
    if jq is None:
        row.missing, row.note = True, "not installed (apt-get install -y jq)"
        return row
    for _ in range(repeat):
        run = _run([jq, ".log.entries | length", str(path)])
        if run.returncode != 0:
            row.note = f"exit {run.returncode}: {run.stderr.strip()[-300:]}"
            return row
        row.add(run)
        row.count = int(run.stdout.strip() or 0)
    version = _run([jq, "--version"]).stdout.strip()
    row.note = f"{row.count:,} entries ({version})"
    return row


def find_secrets(parquet: Path, secrets: dict[str, str]) -> tuple[dict[str, int], int]:
    """Cells of every string column of ``parquet`` that hold each secret; and columns searched.

    A JWT is also looked for by its signature alone (the part that must never be shown).
    """
    import polars as pl

    frame = pl.read_parquet(parquet)
    columns = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    needles = dict(secrets)
    if "bearer_jwt" in secrets:
        needles["bearer_jwt signature"] = secrets["bearer_jwt"].rsplit(".", 1)[-1]
    hits: dict[str, int] = {}
    for name, value in needles.items():
        cells = frame.select(
            pl.sum_horizontal(
                pl.col(column).str.contains(value, literal=True).fill_null(False).sum()
                for column in columns
            )
        ).item()
        hits[name] = int(cells or 0)
    return hits, len(columns)


def _checks(stats: HarStats, parsed: dict[str, Any] | None, rows: list[Row]) -> list[Check]:
    checks = []
    if parsed is not None:
        details = parsed["details"]
        checks += [
            Check("parse_har events = sidecar entries", stats.entries, parsed["events"]),
            Check("parse_har entries read", stats.entries, details.get("entries")),
            Check("failed requests", stats.failed_requests, details.get("failed_requests")),
            Check("status histogram", stats.status_histogram, details.get("status_histogram")),
            Check("vendor errors (errcode ≠ 0)", stats.vendor_errors, parsed["vendor_errors"]),
        ]
    for row in rows[1:]:
        if row.count is not None:
            checks.append(Check(f"{row.tool} count", stats.entries, row.count))
    return checks


def _rss_verdict(row: Row) -> str:
    if row.rss_bytes is None:
        return f"verdict: {row.tool}: peak RSS not measured"
    within = row.rss_bytes < RSS_BUDGET
    return (
        f"verdict: {row.tool}: peak RSS {row.rss_bytes / MIB:.0f} MiB "
        f"(budget < {RSS_BUDGET / MIB:.0f} MiB): {'within budget' if within else 'OVER BUDGET'}"
    )


def print_table(result: BenchResult, repeat: int, load: tuple[float, float]) -> None:
    """Print the figures of one run."""
    stats, size = result.stats, result.stats.bytes / MIB
    head = (
        f"{'tool':<34} {'seconds':>8} {'cpu s':>7} {'MiB/s':>7} {'entries/s':>10} "
        f"{'peak RSS':>9} {'count':>8}"
    )
    print()
    print(
        f"file: {result.path}  {size:.1f} MiB, {stats.entries:,} entries, "
        f"{stats.pages:,} pages, {stats.failed_requests:,} failed"
    )
    print(
        f"best of {repeat} wall-clock; load average {load[0]:.2f} before, {load[1]:.2f} after "
        f"on {os.cpu_count()} CPUs (cpu s = user+sys of that run)"
    )
    print(head)
    print("-" * len(head))
    for row in result.rows:
        secs = row.seconds
        if secs is None:
            print(f"{row.tool:<34} {'-':>8} {'-':>7} {'-':>7} {'-':>10} {'-':>9} {'-':>8}")
            continue
        rss = f"{row.rss_bytes / MIB:.0f} MiB" if row.rss_bytes else "-"
        cpu = f"{row.cpu_seconds:.2f}" if row.cpu_seconds is not None else "-"
        count = f"{row.count:,}" if row.count is not None else "-"
        print(
            f"{row.tool:<34} {secs:>8.2f} {cpu:>7} {size / secs:>7.1f} "
            f"{stats.entries / secs:>10,.0f} {rss:>9} {count:>8}"
        )
    print("notes:")
    for row in result.rows:
        print(f"  {row.tool}: {row.note}")
    print("checks against the generator's sidecar:")
    for check in result.checks:
        mark = "ok" if check.ok else "MISMATCH"
        shown = f"{check.found}" if check.ok else f"{check.found} ≠ expected {check.expected}"
        print(f"  {mark:<8} {check.what}: {shown}")
    for line in result.verdicts:
        print(line)


def profile_parse(path: Path, top: int = 25) -> None:
    """Run one ``parse_har`` under cProfile and print the heaviest calls."""
    from parsers.har.parser import parse_har

    profiler = cProfile.Profile()
    profiler.enable()
    parse_har(path, "bench.har")
    profiler.disable()
    for key in ("cumulative", "tottime"):
        print(f"\ncProfile of one parse_har, by {key}:")
        pstats.Stats(profiler, stream=sys.stdout).strip_dirs().sort_stats(key).print_stats(top)


def run(mb: float, keep: Path | None, repeat: int, seed: int = DEFAULT_SEED) -> BenchResult:
    """Generate or reuse the HAR, measure every tool, check, print and return the figures."""
    path, stats = ensure_har(mb, keep, seed)
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, GNU time: {bool(GNU_TIME)}")
    load_before = os.getloadavg()[0]
    _warm(path)
    print("timing parse_har ...", flush=True)
    parse, parsed = bench_parse(path, repeat)
    print("timing ijson alone ...", flush=True)
    floor = bench_ijson(path, repeat)
    with tempfile.TemporaryDirectory(prefix="loginlens-bench-har-") as tmp:
        out = Path(tmp) / "events.parquet"
        print("timing loginlens events → parquet ...", flush=True)
        cli = bench_cli(path, out, repeat)
        print("searching the parquet for planted secrets ...", flush=True)
        leaked, columns = find_secrets(out, stats.secrets) if out.exists() else ({}, 0)
    print("timing jq ...", flush=True)
    jq = bench_jq(path, repeat)
    print("timing json.load ...", flush=True)
    whole = bench_json_load(path, repeat)
    rows = [parse, floor, cli, jq, whole]
    checks = _checks(stats, parsed, rows)
    if columns:
        found = {name: n for name, n in leaked.items() if n}
        checks.append(Check(f"planted secrets in parquet ({columns} string columns)", {}, found))
    verdicts = [_rss_verdict(parse), _rss_verdict(cli)]
    failed = [check.what for check in checks if not check.ok]
    agreed = f"all {len(checks)} agree" if not failed else "FAILED: " + "; ".join(failed)
    verdicts.append(f"verdict: cross-checks: {agreed}")
    result = BenchResult(path, stats, rows, checks, verdicts, leaked)
    print_table(result, repeat, (load_before, os.getloadavg()[0]))
    return result


def main(argv: list[str] | None = None) -> BenchResult:
    """Command-line entry point; returns the measurements for callers such as the tests."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_har",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--mb", type=float, default=DEFAULT_MB, help="HAR size in MiB (500)")
    parser.add_argument("--keep", type=Path, help="generate/reuse the HAR at FILE instead of /tmp")
    parser.add_argument("--repeat", type=int, default=1, help="runs per tool; best is kept")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="generator seed")
    parser.add_argument("--profile", action="store_true", help="also cProfile one parse_har")
    args = parser.parse_args(argv)
    result = run(args.mb, args.keep, max(1, args.repeat), args.seed)
    if args.profile:
        profile_parse(result.path)
    return result


if __name__ == "__main__":
    main()
