"""Packet-capture benchmark against tshark (``pytest -m bench -s tests/bench``).

The benchmark prints its figures and asserts only correctness facts, never time.
A small generator check runs with the ordinary suite: the capture it writes is
the same for the same seed, and the parser finds exactly what it wrote.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest

from bench.bench_pcap import main
from bench.gen_capture import generate, load_stats, sidecar_path
from parsers.pcap.capture import parse_capture

SMALL = 20_000
BENCH_PACKETS = 200_000


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated capture (seed 7), shared by the tests of this module."""
    path = tmp_path_factory.mktemp("gen") / "small.pcap"
    generate(path, SMALL, seed=7)
    return path


def _counts(events: pl.DataFrame) -> Counter[str]:
    """What the events of a capture say, in the generator's terms."""
    action = events.get_column("event.action")
    counts: Counter[str] = Counter(action.to_list())
    flows = events.filter(action == "connection")
    for transport, state in flows.select("network.transport", "loginlens.flow.state").rows():
        counts[f"{transport}:{state}"] += 1
    counts["retransmissions"] = int(flows.get_column("loginlens.flow.retransmissions").sum())
    answers = events.filter(action == "dns-answer")
    counts["nxdomain"] = answers.filter(pl.col("dns.response_code") == "NXDOMAIN").height
    counts["a_records"] = int(
        answers.select(pl.col("dns.answers.type").list.count_matches("A").sum()).item()
    )
    hellos = events.filter(action == "tls-handshake")
    for version in hellos.get_column("tls.version").to_list():
        counts[f"tls:{version}"] += 1
    counts["sni"] = hellos.get_column("tls.client.server_name").drop_nulls().len()
    for status in events.filter(action == "http-response")["http.response.status_code"]:
        counts[f"http:{status}"] += 1
    return counts


def test_generator_is_deterministic(capture: Path, tmp_path: Path) -> None:
    """Same seed, same bytes and sidecar; another seed, another capture."""
    again, other = tmp_path / "again.pcap", tmp_path / "other.pcap"
    stats = generate(again, SMALL, seed=7)
    assert again.read_bytes() == capture.read_bytes()
    assert load_stats(again) == stats
    first = load_stats(capture)
    assert first is not None
    assert replace(first, path="", seconds=0) == replace(stats, path="", seconds=0)
    assert json.loads(sidecar_path(again).read_text())["packets"] == stats.packets == SMALL
    assert stats.bytes == again.stat().st_size
    generate(other, SMALL, seed=8)
    assert other.read_bytes() != capture.read_bytes()


def test_parser_finds_what_the_generator_wrote(capture: Path) -> None:
    """Flows, their states, DNS answers, TLS hellos, HTTP responses and ICMP errors, exactly."""
    stats = load_stats(capture)
    assert stats is not None
    events, report = parse_capture(capture, capture.name)
    assert report.records == stats.packets == SMALL
    assert report.details["flows"] == stats.tcp_flows + stats.udp_flows
    assert not report.errors
    got = _counts(events)
    assert got["connection"] == stats.tcp_flows + stats.udp_flows
    assert {state: got[f"tcp:{state}"] for state in stats.tcp_states} == stats.tcp_states
    assert {state: got[f"udp:{state}"] for state in stats.udp_states} == stats.udp_states
    assert got["retransmissions"] == stats.retransmissions > 0
    assert got["dns-answer"] == stats.dns_responses
    assert got["dns-query"] == stats.dns_unanswered > 0
    assert (got["nxdomain"], got["a_records"]) == (stats.dns_nxdomain, stats.dns_a_records)
    assert got["tls-handshake"] == stats.tls_flows == stats.tls_client_hellos == got["sni"]
    assert {v: got[f"tls:{v}"] for v in stats.tls_versions} == stats.tls_versions
    assert got["tls-alert"] == stats.tls_alerts > 0
    assert got["http-response"] == stats.http_responses
    assert {s: got[f"http:{s}"] for s in stats.http_status} == stats.http_status
    assert got["icmp-error"] == stats.icmp_errors > 0
    assert events.filter(pl.col("event.action") == "connection")["@timestamp"].null_count() == 0


def test_pcapng_holds_the_same_packets(capture: Path, tmp_path: Path) -> None:
    """The pcapng writer carries the same packets: the events differ only in the format."""
    path = tmp_path / "small.pcapng"
    stats = generate(path, SMALL, seed=7, fmt="pcapng")
    assert stats.format == "pcapng" and stats.packets == SMALL
    pcap_events, _ = parse_capture(capture, "c")
    pcapng_events, report = parse_capture(path, "c")
    assert report.format == "pcapng"
    assert pcapng_events.drop("loginlens.format").equals(pcap_events.drop("loginlens.format"))


@pytest.mark.bench
def test_bench_pcap(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Run the benchmark at 200,000 packets and print its table; check only what was found."""
    with capsys.disabled():
        result = main(["--packets", str(BENCH_PACKETS), "--repeat", "1"])
    stats = result.stats
    assert stats.packets == BENCH_PACKETS
    bulk = result.rows[0]
    assert bulk.count == stats.packets, bulk.note
    wrong = [c for c in result.checks if c.loginlens is not None and c.loginlens != c.generator]
    assert not wrong, wrong
    tshark = {c.name: c.tshark for c in result.checks if c.tshark is not None}
    for name in ("tcp_flows", "udp_flows", "dns_responses", "tls_client_hellos", "http_responses"):
        if name in tshark:
            assert tshark[name] == getattr(stats, name), name
