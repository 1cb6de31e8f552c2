"""Client-log ingest benchmark: loginlens against lnav and ripgrep on the same file.

Generates (or reuses) a ~100 MiB Electron client log, then in one run times
loginlens' in-process ingest (``load_timeline``: parse + redaction), the same
ingest in a fresh interpreter (what one command costs, imports included), the
``loginlens events --format parquet`` CLI, lnav's indexing
(``lnav -n -c ';SELECT count(*) FROM all_logs'``) and ``rg -c`` for the
patterns the log signatures look for, in rounds of one run each. Prints
seconds, MiB/s, lines/s, peak RSS and the ratio peer/loginlens (>1 means
loginlens is faster). Prints figures; never asserts time.

Usage: ``python -m bench.bench_logs [--mb 100] [--keep FILE] [--repeat 2] [--profile]``
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import platform
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.gen_client_log import DEFAULT_SEED, SIGNATURE_PATTERNS, GenStats, generate, load_stats

ROOT = Path(__file__).resolve().parents[1]
MIB = 2**20
LNAV_QUERY = ";SELECT count(*) FROM all_logs"
LNAV_FORMAT_QUERY = ";SELECT log_format, count(*) FROM all_logs GROUP BY log_format"
LNAV_SAMPLE_LINES = 5000
# Run in a fresh interpreter: imports, one ingest timed, its event count.
_FRESH_CHILD = """
import json, sys, time
from analyzer.timeline import load_timeline
started = time.perf_counter()
timeline = load_timeline([sys.argv[1]])
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "events": timeline.events.height}))
"""


@dataclass
class Row:
    """One tool's measurement."""

    tool: str
    runs: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # user+sys seconds of each run, all threads
    rss_bytes: int | None = None
    count: int | None = None
    note: str = ""
    missing: bool = False
    inner: list[float] = field(default_factory=list)  # a child's own timing of its ingest

    @property
    def seconds(self) -> float | None:
        """Best (smallest) wall time, or None when the tool did not run."""
        return min(self.runs) if self.runs else None

    @property
    def cpu_seconds(self) -> float | None:
        """CPU time of the fastest run, when known."""
        if not self.runs or len(self.cpu) != len(self.runs):
            return None
        return self.cpu[self.runs.index(min(self.runs))]

    def add(self, run: _Run) -> None:
        """Record one subprocess run."""
        self.runs.append(run.seconds)
        if run.cpu_seconds is not None:
            self.cpu.append(run.cpu_seconds)
        if run.rss_bytes:
            self.rss_bytes = max(self.rss_bytes or 0, run.rss_bytes)


@dataclass
class BenchResult:
    """Everything one benchmark run measured."""

    path: Path
    stats: GenStats
    rows: list[Row]
    events: int
    records: int
    log_format: str
    verdict: str
    lnav_count: int | None = None
    rg_count: int | None = None


@dataclass
class _Run:
    seconds: float
    returncode: int
    stdout: str
    stderr: str
    rss_bytes: int | None
    cpu_seconds: float | None


def ensure_log(mb: float, keep: Path | None, seed: int = DEFAULT_SEED) -> tuple[Path, GenStats]:
    """Return the benchmark log and its stats, generating it unless a matching one exists."""
    path = keep or Path(tempfile.gettempdir()) / f"loginlens-bench-{mb:g}mb-{seed}.log"
    stats = load_stats(path)
    if stats is not None and stats.target_mb == mb and stats.seed == seed:
        print(f"reusing {path} (generated earlier; {stats.bytes / MIB:.1f} MiB)")
        return path, stats
    print(f"generating {path} ({mb:g} MiB, seed {seed}) ...", flush=True)
    stats = generate(path, mb, seed)
    print(f"  generated in {stats.seconds:.1f}s")
    return path, stats


def _warm(path: Path) -> None:
    """Read the file once so every tool starts from the page cache."""
    with path.open("rb") as handle:
        while handle.read(16 * MIB):
            pass


def _gnu_time() -> str | None:
    """``/usr/bin/time`` if it is GNU time (``-f FORMAT -o FILE``: peak RSS and CPU time)."""
    path = shutil.which("time", path="/usr/bin:/bin")
    if path is None:
        return None
    probe = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    return path if "GNU" in probe.stdout + probe.stderr else None


GNU_TIME = _gnu_time()


def _run(cmd: Sequence[str], env: dict[str, str] | None = None) -> _Run:
    """Run ``cmd`` to completion; wall time and, with GNU time, its peak RSS and CPU time.

    Peak RSS is not taken from ``wait4``: on Linux a child inherits its parent's
    high-water mark across fork/exec, so children of this (large) process would
    all look large. GNU time forks the command from a tiny process instead; its
    own fork+exec adds about a millisecond to the wall time.
    """
    with tempfile.TemporaryDirectory(prefix="loginlens-bench-run-") as tmp:
        out, err, rss_file = (Path(tmp) / name for name in ("out", "err", "rss"))
        full = [GNU_TIME, "-f", "%M %U %S", "-o", str(rss_file), *cmd] if GNU_TIME else [*cmd]
        with out.open("wb") as stdout, err.open("wb") as stderr:
            started = time.perf_counter()
            code = subprocess.run(
                full, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, env=env, check=False
            ).returncode
            seconds = time.perf_counter() - started
        rss: int | None = None
        cpu: float | None = None
        if GNU_TIME and rss_file.exists():
            # Last line: "KiB user sys" (a note about a non-zero exit may come before it).
            lines = rss_file.read_text(errors="replace").strip().splitlines()
            fields = lines[-1].split() if lines else []
            if len(fields) == 3:
                rss, cpu = int(fields[0]) * 1024, float(fields[1]) + float(fields[2])
        return _Run(
            seconds,
            code,
            out.read_text(errors="replace"),
            err.read_text(errors="replace"),
            rss,
            cpu,
        )


def _python_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


def _last_int(text: str) -> int | None:
    """The last integer-only line of a tool's output (lnav's table, rg's count)."""
    for line in reversed(text.strip().splitlines()):
        if line.strip().isdigit():
            return int(line.strip())
    return None


def bench_ingest(path: Path, row: Row) -> tuple[int, int, str]:
    """Time one ``load_timeline`` in this process (warm: imports done, allocators primed)."""
    from analyzer.timeline import load_timeline

    gc.collect()
    started, cpu = time.perf_counter(), time.process_time()
    timeline = load_timeline([path])
    row.runs.append(time.perf_counter() - started)
    row.cpu.append(time.process_time() - cpu)
    events = timeline.events.height
    records = sum(source.records for source in timeline.sources)
    log_format = ", ".join(str(source.format) for source in timeline.sources)
    del timeline
    row.count = events
    row.note = f"{events:,} events, {log_format}"
    return events, records, log_format


def bench_fresh(path: Path, row: Row) -> None:
    """Time one fresh interpreter that imports loginlens and ingests the file, as a user's run
    does; its peak RSS; and, in the note, how much of it was the ingest itself."""
    child = _run([sys.executable, "-c", _FRESH_CHILD, str(path)], _python_env())
    if child.returncode != 0:
        row.note = f"failed: {child.stderr.strip()[-200:]}"
        return
    row.add(child)
    doc = json.loads(child.stdout.strip().splitlines()[-1])
    row.inner.append(doc["seconds"])
    row.count = doc["events"]
    row.note = (
        f"{doc['events']:,} events; whole process, of which the first ingest "
        f"{min(row.inner):.2f}s (best), interpreter and imports the rest"
    )


def bench_cli(path: Path, out: Path, row: Row) -> None:
    """Time one ``python -m analyzer.cli events FILE --format parquet -o OUT -q``."""
    cmd = [sys.executable, "-m", "analyzer.cli", "events", str(path)]
    run = _run([*cmd, "--format", "parquet", "-o", str(out), "-q"], _python_env())
    if run.returncode != 0:
        row.note = f"exit {run.returncode}: {run.stderr.strip()[-300:]}"
        return
    row.add(run)
    import polars as pl

    row.count = pl.scan_parquet(out).select(pl.len()).collect().item()
    row.note = f"{row.count:,} events, {out.stat().st_size / MIB:.1f} MiB parquet"


def bench_lnav(path: Path, home: Path, row: Row) -> None:
    """Time lnav indexing the file once, with ``home`` as its (empty) configuration."""
    lnav = shutil.which("lnav")
    if lnav is None:
        row.missing, row.note = True, "not installed"
        return
    env = dict(os.environ, HOME=str(home), XDG_CONFIG_HOME=str(home))
    run = _run([lnav, "-n", "-c", LNAV_QUERY, str(path)], env)
    if run.returncode != 0:
        row.note = f"exit {run.returncode}: {run.stderr.strip()[-300:]}"
        return
    row.add(run)
    row.count = _last_int(run.stdout)


def check_lnav(path: Path, stats: GenStats, home: Path, row: Row) -> None:
    """Say whether lnav recognised the records, and which of its formats did (untimed)."""
    lnav = shutil.which("lnav")
    if lnav is None or not row.runs:
        return
    env = dict(os.environ, HOME=str(home), XDG_CONFIG_HOME=str(home))
    formats = _lnav_formats(lnav, path, home, env)
    if not row.count:
        row.note = f"lnav did NOT parse the format (count {row.count}); it only loaded text"
    elif row.count == stats.records:
        row.note = f"{row.count:,} records = generator's records; lnav format: {formats}"
    else:
        row.note = (
            f"{row.count:,} records but generator wrote {stats.records:,}; lnav format: {formats}"
        )


def _lnav_formats(lnav: str, path: Path, home: Path, env: dict[str, str]) -> str:
    """Which lnav format(s) claimed the first lines of the file (untimed)."""
    sample = home / "sample.log"
    with path.open("rb") as src, sample.open("wb") as dst:
        for _, line in zip(range(LNAV_SAMPLE_LINES), src, strict=False):
            dst.write(line)
    run = _run([lnav, "-n", "-c", LNAV_FORMAT_QUERY, str(sample)], env)
    rows = [line.split() for line in run.stdout.strip().splitlines()[1:] if line.strip()]
    found = ", ".join(f"{r[0]} {int(r[-1]):,}" for r in rows if len(r) >= 2 and r[-1].isdigit())
    return f"{found or 'none'} of first {LNAV_SAMPLE_LINES:,} lines"


def bench_rg(path: Path, stats: GenStats, row: Row) -> None:
    """Time one ``rg -c`` for the signature patterns; check its count against the generator's."""
    rg = shutil.which("rg")
    if rg is None:
        row.missing, row.note = True, "not installed"
        return
    cmd = [rg, "-c", *(arg for pattern in SIGNATURE_PATTERNS for arg in ("-e", pattern)), str(path)]
    run = _run(cmd)
    if run.returncode not in (0, 1):
        row.note = f"exit {run.returncode}: {run.stderr.strip()[-300:]}"
        return
    row.add(run)
    row.count = _last_int(run.stdout) or 0
    same = "=" if row.count == stats.signature_lines else "≠"
    row.note = f"{row.count:,} matching lines {same} generator's {stats.signature_lines:,}"


def _verdict(ingest: Row, fresh: Row, lnav: Row) -> str:
    if ingest.seconds is None:
        return "verdict: loginlens ingest did not run"
    if lnav.seconds is None:
        return f"verdict: lnav {lnav.note or 'did not run'}; budget (>1× lnav) not checked"
    ratio = lnav.seconds / ingest.seconds
    lines = [f"verdict: loginlens ingest is {_compared(ratio)} lnav indexing (budget: >1× faster)"]
    if ratio < 1:
        lines[0] += " — OVER BUDGET"
    if ingest.cpu_seconds and lnav.cpu_seconds:
        lines.append(
            f"by CPU time: loginlens {ingest.cpu_seconds:.2f}s vs lnav "
            f"{lnav.cpu_seconds:.2f}s ({ingest.cpu_seconds / lnav.cpu_seconds:.1f}× the CPU)"
        )
    if fresh.seconds is not None and fresh.inner:
        lines.append(
            f"a whole fresh loginlens process is {_compared(lnav.seconds / fresh.seconds)} a "
            f"whole lnav process; of its {fresh.seconds:.2f}s, "
            f"{fresh.seconds - min(fresh.inner):.2f}s are the interpreter and imports"
        )
    return "\n         ".join(lines)


def _compared(ratio: float) -> str:
    """``ratio`` (peer seconds / loginlens seconds) in words."""
    return f"{ratio:.2f}× faster than" if ratio >= 1 else f"{1 / ratio:.2f}× slower than"


def print_table(result: BenchResult, repeat: int, load: tuple[float, float]) -> None:
    """Print the figures of one run."""
    stats, size = result.stats, result.stats.bytes / MIB
    base = result.rows[0].seconds
    head = (
        f"{'tool':<42} {'seconds':>8} {'cpu s':>7} {'MiB/s':>8} {'lines/s':>11} "
        f"{'peak RSS':>9} {'ratio':>7}"
    )
    print()
    print(f"file: {result.path}  {size:.1f} MiB, {stats.lines:,} lines, {stats.records:,} records")
    print(
        f"best of {repeat} wall-clock; ratio = tool seconds / loginlens ingest seconds "
        "(>1: loginlens faster)"
    )
    print(
        f"load average {load[0]:.2f} before, {load[1]:.2f} after on {os.cpu_count()} CPUs "
        "(other work inflates wall time; cpu s = user+sys of that run)"
    )
    print(head)
    print("-" * len(head))
    for row in result.rows:
        secs = row.seconds
        if secs is None:
            print(f"{row.tool:<42} {'-':>8} {'-':>7} {'-':>8} {'-':>11} {'-':>9} {'-':>7}")
            continue
        rss = f"{row.rss_bytes / MIB:.0f} MiB" if row.rss_bytes else "-"
        cpu = f"{row.cpu_seconds:.2f}" if row.cpu_seconds is not None else "-"
        ratio = f"{secs / base:.2f}×" if base else "-"
        print(
            f"{row.tool:<42} {secs:>8.3f} {cpu:>7} {size / secs:>8.1f} "
            f"{stats.lines / secs:>11,.0f} {rss:>9} {ratio:>7}"
        )
    print("notes:")
    for row in result.rows:
        print(f"  {row.tool}: {row.note}")
    print(result.verdict)


def profile_ingest(path: Path, top: int = 25) -> None:
    """Run one ingest under cProfile and print the heaviest calls (cumulative, then own time)."""
    from analyzer.timeline import load_timeline

    profiler = cProfile.Profile()
    profiler.enable()
    load_timeline([path])
    profiler.disable()
    for key in ("cumulative", "tottime"):
        print(f"\ncProfile of one load_timeline, by {key}:")
        pstats.Stats(profiler, stream=sys.stdout).strip_dirs().sort_stats(key).print_stats(top)


def run(mb: float, keep: Path | None, repeat: int, seed: int = DEFAULT_SEED) -> BenchResult:
    """Generate or reuse the log, measure every tool, print the table and return the figures."""
    import polars as pl

    path, stats = ensure_log(mb, keep, seed)
    from parsers import scan

    compiled = "compiled" if scan.compiled is not None else "NOT compiled (polars patterns)"
    print(
        f"python {platform.python_version()}, polars {pl.__version__}, {os.cpu_count()} CPUs, "
        f"field and secret scans {compiled}"
    )
    load_before = os.getloadavg()[0]
    _warm(path)
    ingest = Row("loginlens ingest (load_timeline)")
    fresh = Row("loginlens ingest, fresh process")
    cli = Row("loginlens CLI events → parquet")
    lnav = Row("lnav -n (SELECT count(*) FROM all_logs)")
    rg = Row("rg -c (signature patterns)")
    # Round after round, each tool once per round: a spell of other load on the machine then
    # slows every tool alike instead of one tool's block of runs.
    with tempfile.TemporaryDirectory(prefix="loginlens-bench-") as tmp:
        home, out = Path(tmp), Path(tmp) / "events.parquet"
        for round_ in range(1, repeat + 1):
            print(f"round {round_} of {repeat}: loginlens, lnav, rg ...", flush=True)
            events, records, log_format = bench_ingest(path, ingest)
            bench_fresh(path, fresh)
            bench_cli(path, out, cli)
            bench_lnav(path, home, lnav)
            bench_rg(path, stats, rg)
        check_lnav(path, stats, home, lnav)
    result = BenchResult(
        path=path,
        stats=stats,
        rows=[ingest, fresh, cli, lnav, rg],
        events=events,
        records=records,
        log_format=log_format,
        verdict=_verdict(ingest, fresh, lnav),
        lnav_count=lnav.count,
        rg_count=rg.count,
    )
    print_table(result, repeat, (load_before, os.getloadavg()[0]))
    return result


def main(argv: list[str] | None = None) -> BenchResult:
    """Command-line entry point; returns the measurements for callers such as the tests."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_logs",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--mb", type=float, default=100.0, help="log size in MiB (default 100)")
    parser.add_argument("--keep", type=Path, help="generate/reuse the log at FILE instead of /tmp")
    parser.add_argument("--repeat", type=int, default=2, help="runs per tool; best is kept")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="generator seed")
    parser.add_argument("--profile", action="store_true", help="also cProfile one ingest")
    args = parser.parse_args(argv)
    result = run(args.mb, args.keep, max(1, args.repeat), args.seed)
    if args.profile:
        profile_ingest(result.path)
    return result


if __name__ == "__main__":
    main()
