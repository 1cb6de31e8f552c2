"""Packet-capture benchmark: loginlens' bulk tier and CLI against tshark on the same capture.

Generates (or reuses) a realistic Ethernet capture of ``--packets`` packets
(``bench.gen_capture``), then in one run times:

- the bulk tier (``open_records``, ``decode_packets``, ``assign_flows``,
  ``summarise_flows``) in a fresh interpreter per run, once with polars on one
  thread (the budget is per core) and once on all of them: packets/s, MiB/s,
  seconds per stage and peak RSS. DESIGN.md's budget is on the metadata walk
  (walk and decode, every packet's header fields as columns); the rate with
  flows assigned and summarised is printed beside it;
- ``loginlens events FILE --format parquet -o OUT`` and ``loginlens analyze FILE``
  end to end (every tier, redaction, output);
- ``tshark -r FILE -n -T fields`` extracting the same DNS, TLS, TCP and HTTP fields.

Prints seconds, CPU seconds, MiB/s, packets/s, peak RSS, how many times as long
tshark takes, verdicts against the budgets of DESIGN.md ("within budget" or
"OVER BUDGET"), and a cross-check of what the generator wrote against what
loginlens and tshark found. Prints figures; never asserts time.

Usage: ``python -m bench.bench_pcap [--packets 1000000] [--keep FILE] [--repeat 2] [--pcapng]
[--profile]``
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
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.bench_logs import GNU_TIME, MIB, Row, _python_env, _run, _warm
from bench.gen_capture import DEFAULT_PACKETS, DEFAULT_SEED, CaptureStats, generate, load_stats

BULK_BUDGET = 1_000_000  # packets/s on one core, of the metadata walk (walk and decode)
TSHARK_BUDGET = 10.0  # tshark seconds / loginlens seconds
TSHARK_FIELDS = (
    "frame.number", "ip.src", "ip.dst", "tcp.stream", "udp.stream", "tcp.flags", "tcp.len",
    "tcp.analysis.retransmission", "dns.flags.response", "dns.qry.name", "dns.flags.rcode",
    "dns.a", "tls.handshake.type", "tls.handshake.extensions_server_name",
    "tls.handshake.version", "tls.handshake.extensions.supported_version",
    "tls.alert_message.desc", "http.response.code", "icmp.type",
)  # fmt: skip
STAGES = ("walk", "decode", "assign", "summarise")
# One bulk-tier run in a fresh interpreter: seconds per stage, CPU time and peak RSS.
_BULK_CHILD = """
import json, resource, sys, time
from pathlib import Path
from parsers.pcap.walk import open_records
from parsers.pcap.packets import decode_packets
from parsers.pcap.flows import assign_flows, summarise_flows
from parsers.pcap.dissect import syn_mss
path = Path(sys.argv[1])
cpu, started = time.process_time(), time.perf_counter()
records = open_records(path, path.name)
walked = time.perf_counter()
packets = decode_packets(records)
decoded = time.perf_counter()
flows_in = assign_flows(packets.frame)
assigned, cpu = time.perf_counter(), time.process_time() - cpu
mss = syn_mss(records.buffer, flows_in)  # deep tier: a Python loop over SYN options; untimed
summary_cpu, summary_started = time.process_time(), time.perf_counter()
flows = summarise_flows(flows_in, mss)
done, cpu = time.perf_counter(), cpu + time.process_time() - summary_cpu
scale = 1 if sys.platform == "darwin" else 1024
print(json.dumps({
    "walk": walked - started, "decode": decoded - walked, "assign": assigned - decoded,
    "summarise": done - summary_started, "syn_mss": summary_started - assigned, "cpu": cpu,
    "packets": len(records), "flows": flows.height,
    "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale,
}))
"""


@dataclass
class Check:
    """One quantity as the generator wrote it and as each tool found it."""

    name: str
    generator: int | None
    loginlens: int | None
    tshark: int | None = None
    note: str = ""


@dataclass
class BenchResult:
    """Everything one benchmark run measured."""

    path: Path
    stats: CaptureStats
    rows: list[Row]
    stages: dict[str, float] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    verdicts: list[str] = field(default_factory=list)
    bulk_rate: float | None = None  # packets/s of the metadata walk on one thread
    tshark_ratio: float | None = None


def ensure_capture(
    packets: int, keep: Path | None, seed: int = DEFAULT_SEED, fmt: str = "pcap"
) -> tuple[Path, CaptureStats]:
    """Return the benchmark capture and its stats, generating it unless a matching one exists."""
    path = keep or Path(tempfile.gettempdir()) / f"loginlens-bench-{packets}-{seed}.{fmt}"
    stats = load_stats(path)
    if stats is not None and (stats.target_packets, stats.seed, stats.format) == (
        packets,
        seed,
        fmt,
    ):
        print(f"reusing {path} (generated earlier; {stats.bytes / MIB:.1f} MiB)")
        return path, stats
    print(f"generating {path} ({packets:,} packets, {fmt}, seed {seed}) ...", flush=True)
    stats = generate(path, packets, seed, fmt)
    print(f"  generated in {stats.seconds:.1f}s ({stats.bytes / MIB:.1f} MiB)")
    return path, stats


def bench_bulk(path: Path, repeat: int, threads: int | None) -> tuple[Row, dict[str, float]]:
    """Time the bulk tier in fresh interpreters; ``threads`` caps polars' thread pool."""
    label = "1 thread" if threads == 1 else f"{threads or os.cpu_count()} threads"
    row = Row(f"bulk tier, {label} (walk…summarise)")
    env = _python_env()
    if threads:
        env["POLARS_MAX_THREADS"] = str(threads)
    best: dict[str, float] = {}
    for _ in range(repeat):
        run = _run([sys.executable, "-c", _BULK_CHILD, str(path)], env)
        if run.returncode != 0:
            row.note = f"exit {run.returncode}: {run.stderr.strip()[-300:]}"
            return row, best
        doc = json.loads(run.stdout.strip().splitlines()[-1])
        seconds = sum(doc[stage] for stage in STAGES)
        row.runs.append(seconds)
        row.cpu.append(doc["cpu"])
        row.rss_bytes = max(row.rss_bytes or 0, run.rss_bytes or (doc["peak"] if GNU_TIME else 0))
        if not best or seconds < sum(best[stage] for stage in STAGES):
            best = {key: doc[key] for key in (*STAGES, "syn_mss", "packets", "flows")}
    row.count = int(best["packets"])
    row.note = (
        ", ".join(f"{stage} {best[stage]:.3f}s" for stage in STAGES)
        + f"; {int(best['flows']):,} flows (syn_mss {best['syn_mss']:.3f}s, not counted)"
    )
    return row, best


def bench_cli(path: Path, repeat: int, command: str, out: Path) -> Row:
    """Time ``loginlens events … --format parquet`` or ``loginlens analyze`` end to end."""
    cmd = [sys.executable, "-m", "analyzer.cli", command, str(path), "-q"]
    if command == "events":
        cmd += ["--format", "parquet", "-o", str(out)]
        row = Row("loginlens events → parquet (CLI)")
    else:
        cmd += ["--format", "json", "-o", str(out)]
        row = Row("loginlens analyze → json (CLI)")
    for _ in range(repeat):
        run = _run(cmd, _python_env())
        if run.returncode != 0:
            row.note = f"exit {run.returncode}: {run.stderr.strip()[-300:]}"
            return row
        row.add(run)
    if command == "events":
        import polars as pl

        row.count = pl.scan_parquet(out).select(pl.len()).collect().item()
        row.note = f"{row.count:,} events, {out.stat().st_size / MIB:.1f} MiB parquet"
    else:
        row.note = f"report {out.stat().st_size / 1024:.0f} KiB"
    return row


def bench_tshark(path: Path, repeat: int) -> tuple[Row, dict[str, int]]:
    """Time tshark extracting the fields; count what it found (uncounted time)."""
    row = Row("tshark -T fields (same DNS/TLS/TCP/HTTP fields)")
    tshark = shutil.which("tshark")
    if tshark is None:
        row.missing, row.note = True, "not installed"
        return row, {}
    cmd = [tshark, "-r", str(path), "-n", "-T", "fields", "-E", "occurrence=a"]
    cmd += ["-E", "aggregator=|", *(arg for name in TSHARK_FIELDS for arg in ("-e", name))]
    counts: dict[str, int] = {}
    for _ in range(repeat):
        run = _run(cmd)
        if run.returncode != 0:
            row.note = f"exit {run.returncode}: {run.stderr.strip()[-300:]}"
            return row, counts
        row.add(run)
        counts = _tshark_counts(run.stdout)
    row.count = counts.get("frames")
    row.note = f"{row.count or 0:,} lines of fields"
    return row, counts


def _tshark_counts(text: str) -> dict[str, int]:
    """What tshark's field lines show: streams, DNS answers, TLS hellos, HTTP responses, …"""
    column = {name: index for index, name in enumerate(TSHARK_FIELDS)}
    tcp_streams: set[str] = set()
    udp_streams: set[str] = set()
    counts: Counter[str] = Counter()
    for line in text.splitlines():
        cells = line.split("\t")
        if len(cells) < len(TSHARK_FIELDS):
            continue

        def cell(name: str, cells: list[str] = cells) -> str:
            return cells[column[name]]

        counts["frames"] += 1
        # An ICMP error quoting a header shows that flow's stream again: sets count it once.
        tcp_streams.update(cell("tcp.stream").split("|") if cell("tcp.stream") else ())
        udp_streams.update(cell("udp.stream").split("|") if cell("udp.stream") else ())
        # Retransmitted data, as loginlens counts it (tshark also flags repeated SYNs).
        resent = bool(cell("tcp.analysis.retransmission"))
        counts["retransmissions"] += resent and cell("tcp.len") not in ("", "0")
        if cell("icmp.type") in ("3", "11"):
            counts["icmp_errors"] += 1
        responses = cell("dns.flags.response").split("|")
        counts["dns_responses"] += responses.count("1")
        counts["dns_a_records"] += len(cell("dns.a").split("|")) if cell("dns.a") else 0
        if "1" in responses:
            counts["dns_nxdomain"] += cell("dns.flags.rcode").split("|").count("3")
        types = cell("tls.handshake.type").split("|")
        counts["tls_client_hellos"] += types.count("1")
        counts["tls_server_hellos"] += types.count("2")
        counts["tls_sni"] += bool(cell("tls.handshake.extensions_server_name"))
        if "2" in types:
            chosen = cell("tls.handshake.extensions.supported_version").split("|")[-1]
            counts["tls_1.3" if chosen == "0x0304" else "tls_1.2"] += 1
        alerts = cell("tls.alert_message.desc")
        counts["tls_alerts"] += len(alerts.split("|")) if alerts else 0
        counts["http_responses"] += bool(cell("http.response.code"))
    counts["tcp_flows"] = len(tcp_streams)
    counts["udp_flows"] = len(udp_streams)
    return dict(counts)


def _loginlens_counts(events_path: Path) -> dict[str, int]:
    """What the events written by ``loginlens events`` show, for the cross-check."""
    import polars as pl

    events = pl.read_parquet(events_path)
    action = pl.col("event.action")
    flows = events.filter(action == "connection")
    answers = events.filter(action == "dns-answer")
    hellos = events.filter(action == "tls-handshake")
    counts = {
        "tcp_flows": flows.filter(pl.col("network.transport") == "tcp").height,
        "udp_flows": flows.filter(pl.col("network.transport") == "udp").height,
        "retransmissions": int(flows["loginlens.flow.retransmissions"].sum()),
        "dns_responses": answers.height,
        "dns_a_records": int(
            answers.select(pl.col("dns.answers.type").list.count_matches("A").sum()).item()
        ),
        "dns_nxdomain": answers.filter(pl.col("dns.response_code") == "NXDOMAIN").height,
        "dns_unanswered": events.filter(action == "dns-query").height,
        "tls_flows": hellos.height,
        "tls_sni": hellos["tls.client.server_name"].drop_nulls().len(),
        "tls_1.2": hellos.filter(pl.col("tls.version") == "1.2").height,
        "tls_1.3": hellos.filter(pl.col("tls.version") == "1.3").height,
        "tls_alerts": events.filter(action == "tls-alert").height,
        "http_responses": events.filter(action == "http-response").height,
        "icmp_errors": events.filter(action == "icmp-error").height,
    }
    for (transport, state), number in Counter(
        zip(flows["network.transport"], flows["loginlens.flow.state"], strict=True)
    ).items():
        counts[f"{transport}:{state}"] = number
    return counts


def cross_check(stats: CaptureStats, mine: dict[str, int], tshark: dict[str, int]) -> list[Check]:
    """The generator's counts beside loginlens' and tshark's."""
    wrote: dict[str, int] = {
        "tcp_flows": stats.tcp_flows,
        "udp_flows": stats.udp_flows,
        "retransmissions": stats.retransmissions,
        "dns_responses": stats.dns_responses,
        "dns_a_records": stats.dns_a_records,
        "dns_nxdomain": stats.dns_nxdomain,
        "dns_unanswered": stats.dns_unanswered,
        "tls_flows": stats.tls_flows,
        "tls_client_hellos": stats.tls_client_hellos,
        "tls_server_hellos": stats.tls_server_hellos,
        "tls_sni": stats.tls_client_hellos,
        "tls_1.2": stats.tls_versions.get("1.2", 0),
        "tls_1.3": stats.tls_versions.get("1.3", 0),
        "tls_alerts": stats.tls_alerts,
        "http_responses": stats.http_responses,
        "icmp_errors": stats.icmp_errors,
        **{f"tcp:{state}": n for state, n in sorted(stats.tcp_states.items())},
        **{f"udp:{state}": n for state, n in sorted(stats.udp_states.items())},
    }
    hellos = mine.get("tls_flows")
    derived = {"tls_client_hellos": hellos, "tls_server_hellos": hellos}
    return [
        Check(name, value, mine.get(name, derived.get(name)), tshark.get(name))
        for name, value in wrote.items()
    ]


def metadata_rate(bulk: Row, stages: dict[str, float]) -> float | None:
    """Packets/s of the metadata walk: records walked and their headers decoded into columns.

    DESIGN.md's budget ("pcap metadata walk") covers this part of the bulk tier; flows
    are built from its columns afterwards and are reported beside it.
    """
    seconds = stages.get("walk", 0.0) + stages.get("decode", 0.0)
    return bulk.count / seconds if bulk.count and seconds else None


def _verdicts(
    bulk: Row, stages: dict[str, float], events: Row, analyze: Row, tshark: Row
) -> tuple[list[str], float | None]:
    lines = []
    rate = metadata_rate(bulk, stages)
    if rate is None or not bulk.seconds:
        lines.append(f"verdict: bulk tier did not run ({bulk.note})")
    else:
        within = "within budget" if rate >= BULK_BUDGET else "OVER BUDGET"
        lines.append(
            f"verdict: metadata walk (walk and decode) {rate:,.0f} packets/s on one thread "
            f"(budget ≥ {BULK_BUDGET:,}/s on one core) — {within}; with flows assigned and "
            f"summarised, the whole bulk tier {bulk.count / bulk.seconds:,.0f} packets/s"
        )
    ratio = None
    for row in (events, analyze):
        if row.seconds is None or tshark.seconds is None:
            lines.append(f"verdict: {row.tool} vs tshark not measured ({tshark.note or row.note})")
            continue
        factor = tshark.seconds / row.seconds
        ratio = factor if ratio is None else ratio
        within = "within budget" if factor >= TSHARK_BUDGET else "OVER BUDGET"
        lines.append(
            f"verdict: tshark takes {factor:.1f}× as long as {row.tool} "
            f"(budget ≥ {TSHARK_BUDGET:.0f}×) — {within}"
        )
    return lines, ratio


def print_table(result: BenchResult, repeat: int, load: tuple[float, float]) -> None:
    """Print the figures and checks of one run."""
    stats, size = result.stats, result.stats.bytes / MIB
    tshark = result.rows[-1].seconds
    head = (
        f"{'tool':<46} {'seconds':>8} {'cpu s':>7} {'MiB/s':>8} {'packets/s':>11} "
        f"{'peak RSS':>9} {'tshark÷':>8}"
    )
    print()
    print(
        f"file: {result.path}  {size:.1f} MiB, {stats.packets:,} packets ({stats.format}), "
        f"{stats.tcp_flows:,} TCP + {stats.udp_flows:,} UDP flows"
    )
    print(f"best of {repeat} wall-clock; tshark÷ = tshark seconds / tool seconds (>1: faster)")
    print(
        f"load average {load[0]:.2f} before, {load[1]:.2f} after on {os.cpu_count()} CPUs "
        "(other work inflates wall time; cpu s = user+sys of that run, all threads)"
    )
    print(head)
    print("-" * len(head))
    for row in result.rows:
        secs = row.seconds
        if secs is None:
            print(f"{row.tool:<46} {'-':>8} {'-':>7} {'-':>8} {'-':>11} {'-':>9} {'-':>8}")
            continue
        rss = f"{row.rss_bytes / MIB:.0f} MiB" if row.rss_bytes else "-"
        cpu = f"{row.cpu_seconds:.2f}" if row.cpu_seconds is not None else "-"
        ratio = f"{tshark / secs:.2f}×" if tshark else "-"
        print(
            f"{row.tool:<46} {secs:>8.3f} {cpu:>7} {size / secs:>8.1f} "
            f"{stats.packets / secs:>11,.0f} {rss:>9} {ratio:>8}"
        )
    print("notes:")
    for row in result.rows:
        print(f"  {row.tool}: {row.note}")
    print()
    print(f"{'cross-check':<22} {'generator':>10} {'loginlens':>10} {'tshark':>10}")
    for check in result.checks:
        cells = [
            "-" if value is None else f"{value:,}"
            for value in (check.generator, check.loginlens, check.tshark)
        ]
        same = "" if check.loginlens == check.generator else "  ≠ loginlens"
        if check.tshark is not None and check.tshark != check.generator:
            same += "  ≠ tshark"
        print(f"{check.name:<22} {cells[0]:>10} {cells[1]:>10} {cells[2]:>10}{same}")
    for line in result.verdicts:
        print(line)


def profile_parse(path: Path, top: int = 30) -> None:
    """cProfile one ``parse_capture`` (every tier) and print the heaviest calls."""
    from parsers.pcap.capture import parse_capture

    profiler = cProfile.Profile()
    profiler.enable()
    parse_capture(path, path.name)
    profiler.disable()
    for key in ("cumulative", "tottime"):
        print(f"\ncProfile of one parse_capture, by {key}:")
        pstats.Stats(profiler, stream=sys.stdout).strip_dirs().sort_stats(key).print_stats(top)


def run(
    packets: int, keep: Path | None, repeat: int, seed: int = DEFAULT_SEED, fmt: str = "pcap"
) -> BenchResult:
    """Generate or reuse the capture, measure every tool, print the table; return the figures."""
    import polars as pl

    path, stats = ensure_capture(packets, keep, seed, fmt)
    print(f"python {platform.python_version()}, polars {pl.__version__}, {os.cpu_count()} CPUs")
    load_before = os.getloadavg()[0]
    _warm(path)
    print("timing the bulk tier (1 thread, then all) ...", flush=True)
    bulk_one, stages = bench_bulk(path, repeat, 1)
    bulk_all, _ = bench_bulk(path, repeat, None)
    with tempfile.TemporaryDirectory(prefix="loginlens-bench-pcap-") as tmp:
        print("timing loginlens events and analyze ...", flush=True)
        events_path = Path(tmp) / "events.parquet"
        events = bench_cli(path, repeat, "events", events_path)
        analyze = bench_cli(path, repeat, "analyze", Path(tmp) / "report.json")
        mine = _loginlens_counts(events_path) if events.count else {}
    print("timing tshark ...", flush=True)
    tshark, theirs = bench_tshark(path, repeat)
    verdicts, ratio = _verdicts(bulk_one, stages, events, analyze, tshark)
    result = BenchResult(
        path=path,
        stats=stats,
        rows=[bulk_one, bulk_all, events, analyze, tshark],
        stages=stages,
        checks=cross_check(stats, mine, theirs),
        verdicts=verdicts,
        bulk_rate=metadata_rate(bulk_one, stages),
        tshark_ratio=ratio,
    )
    print_table(result, repeat, (load_before, os.getloadavg()[0]))
    return result


def main(argv: list[str] | None = None) -> BenchResult:
    """Command-line entry point; returns the measurements for callers such as the tests."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_pcap",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--packets", type=int, default=DEFAULT_PACKETS, help="capture size")
    parser.add_argument("--keep", type=Path, help="generate/reuse the capture at FILE, not /tmp")
    parser.add_argument("--repeat", type=int, default=2, help="runs per tool; best is kept")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="generator seed")
    parser.add_argument("--pcapng", action="store_true", help="benchmark a pcapng capture")
    parser.add_argument("--profile", action="store_true", help="also cProfile one parse_capture")
    args = parser.parse_args(argv)
    fmt = "pcapng" if args.pcapng else "pcap"
    result = run(args.packets, args.keep, max(1, args.repeat), args.seed, fmt)
    if args.profile:
        profile_parse(result.path)
    return result


if __name__ == "__main__":
    main()
