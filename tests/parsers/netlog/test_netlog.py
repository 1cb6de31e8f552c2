"""Chrome NetLog: the sample exports, renumbered constants, cut files, garbage."""

from __future__ import annotations

import json
import random
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.netlog.parser import parse_netlog

ROOT = Path(__file__).resolve().parents[3]
NETLOGS = sorted((ROOT / "sample_data" / "bundles").glob("*/chrome-net-export-log.json"))
INTERCEPTED = (
    ROOT / "sample_data/bundles/network.tls_interception--macos-vpn/chrome-net-export-log.json"
)
NO_DNS = ROOT / "sample_data/bundles/network.dns_failure--ios-cellular/chrome-net-export-log.json"


def _facts(events: pl.DataFrame) -> list[tuple[object, ...]]:
    columns = ("event.action", "event.outcome", "netlog.net_error", "message", "@timestamp")
    return sorted(events.select(columns).rows(), key=str)


@pytest.mark.parametrize("path", NETLOGS, ids=lambda p: p.parent.name)
def test_every_sample_netlog_reads_its_requests(path: Path) -> None:
    events, report = parse_netlog(path, path.name)
    assert events.filter(pl.col("event.action").str.starts_with("http")).height >= 1
    assert events["@timestamp"].null_count() == 0
    assert report.details["unresolved_event_types"] == 0
    closed = path.read_text().rstrip().endswith("}")
    assert report.details.get("truncated", False) is not closed


def test_interception_shows_the_middlebox_certificate() -> None:
    events, _ = parse_netlog(INTERCEPTED, "x")
    tls = events.filter(pl.col("event.action") == "tls-handshake").row(0, named=True)
    assert tls["netlog.net_error"] == "net::ERR_CERT_AUTHORITY_INVALID"
    assert tls["tls.client.server_name"] == "login.work.weixin.qq.com"
    assert "Zscaler" in tls["tls.server.issuer"]
    assert "AUTHORITY_INVALID" in tls["error.code"]
    assert tls["destination.ip"] and tls["destination.port"] == 443


def test_failed_lookup_is_a_failed_dns_event() -> None:
    events, _ = parse_netlog(NO_DNS, "x")
    dns = events.filter(pl.col("event.action") == "dns-answer").row(0, named=True)
    assert (dns["dns.question.name"], dns["netlog.net_error"], dns["event.outcome"]) == (
        "login.work.weixin.qq.com", "net::ERR_NAME_NOT_RESOLVED", "failure",
    )  # fmt: skip


def test_renumbered_constants_give_the_same_events(tmp_path: Path) -> None:
    """Another Chrome numbers event and source types differently; names decide."""
    document = json.loads(INTERCEPTED.read_text())
    rng = random.Random(7)
    constants = document["constants"]
    for table, key in (("logEventTypes", "type"), ("logSourceType", None), ("netError", None)):
        old = constants[table]
        numbers = list(old.values())
        shuffled = rng.sample(range(1000, 1000 + 3 * len(numbers)), len(numbers))
        mapping = dict(zip(numbers, shuffled, strict=True))
        if table == "netError":
            mapping = {n: -m for n, m in mapping.items()}
        constants[table] = {name: mapping[n] for name, n in old.items()}
        for event in document["events"]:
            if key:
                event[key] = mapping[event[key]]
            elif table == "logSourceType":
                event["source"]["type"] = mapping[event["source"]["type"]]
            elif "net_error" in event.get("params", {}):
                event["params"]["net_error"] = mapping[event["params"]["net_error"]]
    renumbered = tmp_path / "renumbered.json"
    renumbered.write_text(json.dumps(document))
    assert _facts(parse_netlog(renumbered, "x")[0]) == _facts(parse_netlog(INTERCEPTED, "x")[0])


def test_cut_file_keeps_whole_events_and_says_where(tmp_path: Path) -> None:
    data = INTERCEPTED.read_bytes()
    cut = tmp_path / "cut.json"
    cut.write_bytes(data[: int(len(data) * 0.8)])
    events, report = parse_netlog(cut, "cut.json")
    assert report.details["truncated"] is True
    assert report.errors[-1]["record"] == report.records + 1
    assert "Chrome was stopped before it closed the file" in report.errors[-1]["reason"]
    assert events.height >= 2


@pytest.mark.parametrize(
    "data",
    [b"", b"{}", b'{"constants": 5}', b'{"events": []}', b'{"constants": {"logEventTypes": {}}}',
     b"\x00\xff" * 50, b'{"constants": {"logEventTypes": {"A": 1}, "logSourceType": {"B": 1}}, "events": [1, "x", {"source": 5}, {"source": {}, "type": "a"}]}'],
)  # fmt: skip
def test_odd_documents_are_reported_not_raised(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "odd.json"
    path.write_bytes(data)
    events, report = parse_netlog(path, "odd.json")
    assert events.height == 0
    assert report.errors or report.records >= 0


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_mutated_netlogs_never_raise(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    original = data.draw(st.sampled_from(NETLOGS)).read_bytes()
    at = data.draw(st.integers(0, len(original) - 1))
    mode = data.draw(st.sampled_from(["cut", "flip", "splice"]))
    if mode == "cut":
        mutated = original[:at]
    elif mode == "flip":
        mutated = original[:at] + bytes([original[at] ^ 0x5A]) + original[at + 1 :]
    else:
        mutated = original[:at] + original[at // 2 :]
    path = tmp_path_factory.mktemp("netlog") / "m.json"
    path.write_bytes(mutated)
    events, report = parse_netlog(path, "m.json")
    assert report.records >= 0 and events.height >= 0
