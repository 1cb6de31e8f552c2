"""The committed sample bundles: complete, reproducible, and readable by every tool they claim."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from scapy.utils import PcapNgReader, PcapReader

from analyzer.catalogue import load_causes
from analyzer.timeline import load_timeline
from sample_data.gen.harspec import har_problems
from sample_data.gen.logs import DETECTED_ENCODING
from sample_data.generate import BUNDLES, stale_files, write_fleet

BUNDLE_DIRS = sorted(path for path in BUNDLES.iterdir() if path.is_dir())
# Formats whose records carry no time: logcat brief, and the banners tools print.
TIMELESS = {"logcat_brief", "log_banner"}


def expected(bundle: Path) -> dict[str, Any]:
    value: dict[str, Any] = json.loads((bundle / "expected.json").read_text(encoding="utf-8"))
    return value


def declared(kind: str) -> list[tuple[Path, dict[str, Any]]]:
    """Every file of ``kind`` the committed bundles declare, with its declaration."""
    return [
        (bundle / name, facts)
        for bundle in BUNDLE_DIRS
        for name, facts in expected(bundle)["sources"].items()
        if facts["kind"] == kind
    ]


@pytest.mark.slow
def test_committed_bundles_equal_a_fresh_generation() -> None:
    assert stale_files() == [], "run: python -m sample_data.generate"


def test_every_cause_has_two_bundles_and_healthy_has_two() -> None:
    named: dict[str, int] = {}
    for bundle in BUNDLE_DIRS:
        verdict = expected(bundle)
        assert verdict["status"] in {"failure", "healthy"}
        assert (verdict["status"] == "healthy") == (verdict["causes"] == [])
        assert verdict["notes"]
        for cause in verdict["causes"] or ["healthy"]:
            named[cause] = named.get(cause, 0) + 1
    wanted = {*load_causes(), "healthy"}
    assert set(named) == wanted
    assert min(named.values()) >= 2


def test_the_two_bundles_of_a_cause_differ_in_platform_or_evidence() -> None:
    by_cause: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for bundle in BUNDLE_DIRS:
        meta = json.loads((bundle / "bundle.json").read_text(encoding="utf-8"))
        verdict = expected(bundle)
        shape = tuple(
            sorted(f"{f['kind']}:{f.get('format', '')}" for f in verdict["sources"].values())
        )
        for cause in verdict["causes"] or ["healthy"]:
            by_cause.setdefault(cause, []).append((meta["os"], shape))
    for cause, variants in by_cause.items():
        assert len(set(variants)) == len(variants), cause


@pytest.mark.parametrize("bundle", BUNDLE_DIRS, ids=lambda p: p.name)
def test_logs_parse_as_written(bundle: Path) -> None:
    check_logs_parse_as_written(bundle)


def check_logs_parse_as_written(bundle: Path) -> None:
    timeline = load_timeline([bundle])
    reports = {Path(r.path).relative_to(bundle).as_posix(): r for r in timeline.sources}
    for name, facts in expected(bundle)["sources"].items():
        report = reports[name]
        assert report.kind == facts["kind"], name
        if facts["kind"] != "log":
            continue
        details = report.details
        assert report.format == facts["format"], name
        assert details["encoding"] == DETECTED_ENCODING[facts["encoding"]], name
        assert details["unrecognised_lines"] == 0, name
        assert report.errors == [], name
        timeless = sum(n for fmt, n in details["formats"].items() if fmt in TIMELESS)
        assert details["timestamps"]["parsed"] == report.records - timeless, name
    # What the bundle leaves out (expected.json) is never read as evidence.
    assert reports["expected.json"].kind == "expected_verdict"


@pytest.mark.parametrize("bundle", BUNDLE_DIRS, ids=lambda p: p.name)
def test_no_secret_survives_ingest(bundle: Path) -> None:
    text = load_timeline([bundle]).events.write_ndjson()
    leaked = re.findall(
        r"(?:access_token|corpsecret|user_ticket)[\"']?[=:] ?\"?(?!<redacted>)\w", text
    )
    assert leaked == []


def test_logs_decode_strictly_in_their_declared_encoding() -> None:
    logs = declared("log")
    assert {facts["encoding"] for _, facts in logs} >= {"utf-8", "utf-16-le", "gb18030"}
    assert {facts["format"] for _, facts in logs} >= {
        "mars_xlog", "logcat_threadtime", "logcat_brief", "apple_log_show", "electron_log",
        "chromium", "json_lines",
    }  # fmt: skip
    for path, facts in logs:
        text = path.read_bytes().decode(facts["encoding"])
        assert "\ufffd" not in text, path


def test_every_har_meets_the_har_1_2_spec() -> None:
    hars = declared("har")
    assert len(hars) >= 20
    for path, _ in hars:
        assert har_problems(json.loads(path.read_bytes())) == [], path


def test_every_netlog_is_json_once_a_cut_tail_is_closed() -> None:
    netlogs = declared("netlog")
    assert {facts["truncated"] for _, facts in netlogs} == {True, False}
    for path, facts in netlogs:
        text = path.read_text(encoding="utf-8")
        if facts["truncated"]:
            text = text.rstrip().removesuffix(",") + "]}"
        doc = json.loads(text)
        assert doc["events"] and "logEventTypes" in doc["constants"], path


def test_every_capture_reads_back_in_scapy() -> None:
    captures = declared("pcap") + declared("pcapng")
    assert {facts["link"] for _, facts in captures} == {"ethernet", "linux_sll"}
    assert any(facts["ipv6"] for _, facts in captures)
    for path, facts in captures:
        reader = PcapNgReader if facts["kind"] == "pcapng" else PcapReader
        with reader(str(path)) as packets:
            assert sum(1 for _ in packets) > 5, path


def tshark_complaints(path: Path) -> list[str]:
    """What tshark says is wrong with a capture: stderr, malformed frames, expert errors.

    ICMP errors quote a cut TCP segment whose checksum cannot verify; that is how they are.
    """
    run = subprocess.run(
        ["tshark", "-r", str(path), "-Y", "_ws.malformed || _ws.expert.severity >= error",
         "-T", "fields", "-e", "frame.number", "-e", "_ws.expert.message"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    said = [line for line in run.stderr.splitlines() if "Running as user" not in line]
    flagged = [line for line in run.stdout.splitlines() if "checksum" not in line.lower()]
    return said + flagged + ([f"exit {run.returncode}"] if run.returncode else [])


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
def test_every_capture_opens_in_tshark_without_complaint() -> None:
    for path, _ in declared("pcap") + declared("pcapng"):
        assert tshark_complaints(path) == [], path


def test_evidence_never_names_its_cause() -> None:
    causes = [*load_causes()]
    for bundle in BUNDLE_DIRS:
        for name, facts in expected(bundle)["sources"].items():
            data = (bundle / name).read_bytes()
            text = data.decode(str(facts.get("encoding", "utf-8")), errors="replace")
            assert not any(cause in text for cause in causes), name


@pytest.mark.slow
def test_fleet_bundles_pass_the_same_checks(tmp_path: Path) -> None:
    # The fleet mixes sources the committed set never combines (IPv6 with pcapng, account
    # stories with captures, NetLog beside HAR): hold a sample of it to the same standard.
    write_fleet(tmp_path, 48, seed=99, workers=2)
    for bundle in sorted(p for p in tmp_path.iterdir() if p.is_dir()):
        check_logs_parse_as_written(bundle)
        for name, facts in expected(bundle)["sources"].items():
            if facts["kind"] == "har":
                assert har_problems(json.loads((bundle / name).read_bytes())) == [], name
            if facts["kind"] in {"pcap", "pcapng"} and shutil.which("tshark"):
                assert tshark_complaints(bundle / name) == [], (bundle.name, name)
