"""Field-level agreement with tshark on every capture of ../shared/corpus/pcap.

For each file both tools are asked the same questions: DNS query names, rcodes
and answer sets; TLS SNI, negotiated versions, alerts (frame and description)
and certificate subjects and issuers; HTTP status codes with the frame their
status line arrived in (tshark's first reassembled segment; for a response the
capture never completes, the segment whose Info column shows the status line);
TCP and UDP flow counts; Community IDs. The test prints one agreement row per file. Where the
tools differ on purpose the difference is listed in ``EXPLAINED`` with the
reason, and only then tolerated.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from cryptography import x509

from parsers.pcap.capture import parse_capture
from tests.conftest import CORPUS

PCAPS = sorted(p for p in (CORPUS / "pcap").glob("*.pcap*") if not p.name.endswith(".txt"))
TSHARK = shutil.which("tshark")

pytestmark = [
    pytest.mark.corpus,
    pytest.mark.skipif(not PCAPS, reason="../shared/corpus/pcap is absent"),
    pytest.mark.skipif(TSHARK is None, reason="tshark is not installed"),
]

# (file, check) → why loginlens and tshark legitimately differ.
EXPLAINED: dict[tuple[str, str], str] = {
    ("ndpi-malformed_dns.pcap", "dns"): "tshark shows an answer name longer than 255 octets as "
    "'<Name too long>'; loginlens keeps the decoded text and reports the problem in the ledger",
    ("zeek-curl-8.1.2-dev-http3-www-google-de.pcap", "sni"): "the ClientHello is inside QUIC "
    "Initial packets, which tshark decrypts; loginlens does not dissect QUIC",
    ("zeek-curl-8.1.2-dev-http3-www-google-de.pcap", "versions"): "TLS 1.3 inside QUIC, as above",
    ("arkime-ssl-selfsign.pcap", "certs"): "tshark lists the client's certificate too (the server "
    "asked for one); loginlens reports the server's chain",
}

Facts = dict[str, object]


def _tshark(
    path: Path, display_filter: str, *fields: str, two_pass: bool = False
) -> list[list[str]]:
    command = [TSHARK or "tshark", "-r", str(path), "-n", "-T", "fields", "-E", "occurrence=a"]
    command += ["-2"] if two_pass else []
    if "communityid" in fields:
        command += ["--enable-protocol", "communityid"]
    command += ["-E", "aggregator=|", "-Y", display_filter]
    for name in fields:
        command += ["-e", name]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
    return [line.split("\t") for line in done.stdout.splitlines() if line.strip()]


def _split(value: str) -> list[str]:
    return [v for v in value.split("|") if v]


ANSWER_TYPES = {"1": ("A", "dns.a"), "28": ("AAAA", "dns.aaaa"), "5": ("CNAME", "dns.cname")}


def _tshark_dns(path: Path) -> list[tuple[int, str, int, tuple[tuple[str, str, int], ...]]]:
    """Responses on port 53: (frame, query name, rcode, answer-section A/AAAA/CNAME with TTLs).

    Read from tshark's JSON tree, where the answer section is apart from the others.
    """
    command = [TSHARK or "tshark", "-r", str(path), "-n", "-T", "json", "-Y"]
    command.append("dns.flags.response == 1 && (udp.port == 53 || tcp.port == 53) && !icmp")
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
    found = []
    for packet in json.loads(done.stdout or "[]"):
        layers = packet["_source"]["layers"]
        dns = layers["dns"]
        # An UPDATE (opcode 5) names its zone where other messages put the question.
        queries = list(dns.get("Queries", dns.get("Zone", {})).values())
        answers = []
        for record in dns.get("Answers", {}).values():
            kind = ANSWER_TYPES.get(record.get("dns.resp.type", ""))
            if kind and kind[1] in record:
                answers.append((kind[0], record[kind[1]], int(record["dns.resp.ttl"])))
        found.append(
            (
                int(layers["frame"]["frame.number"]),
                queries[0]["dns.qry.name"] if queries else "",
                int(dns["dns.flags_tree"]["dns.flags.rcode"]),
                tuple(sorted(answers)),
            )
        )
    return sorted(found)


def _cert_names(hex_chain: str) -> list[tuple[str, str]]:
    names = []
    for der in _split(hex_chain):
        cert = x509.load_der_x509_certificate(bytes.fromhex(der.replace(":", "")))
        names.append((cert.subject.rfc4514_string(), cert.issuer.rfc4514_string()))
    return names


def tshark_facts(path: Path) -> Facts:
    """What tshark says about the capture, in the shapes the events give."""
    alerts = _tshark(path, "tls.alert_message.desc", "frame.number", "tls.alert_message.desc")
    hellos = _tshark(path, "tls.handshake.type == 1", "tls.handshake.extensions_server_name")
    servers = _tshark(
        path,
        "tls.handshake.type == 2",
        "tls.handshake.version", "tls.handshake.extensions.supported_version",
    )  # fmt: skip
    certs = _tshark(path, "tls.handshake.type == 11", "tls.handshake.certificate")
    http = _tshark(path, "http.response.code", "frame.number", "tcp.segment", "http.response.code")
    # A response whose body the capture never completes is not dissected as HTTP; its first
    # segment (two passes tell it apart from the first segment of a completed one) is.
    unfinished = _tshark(
        path,
        "tcp.payload[0:7] == \"HTTP/1.\" && !tcp.reassembled_in && !http"
        " && !tcp.analysis.retransmission && !tcp.analysis.spurious_retransmission",
        "frame.number", "tcp.payload",
        two_pass=True,
    )  # fmt: skip
    # Packets quoted inside ICMP errors are dissected by tshark too; they are not flows.
    streams = _tshark(path, "(tcp || udp) && !icmp && !icmpv6", "tcp.stream", "udp.stream")
    community = _tshark(path, "(tcp || udp) && !icmp && !icmpv6", "communityid")
    return {
        "dns": _tshark_dns(path),
        "alerts": sorted((int(f), int(d)) for f, d in alerts if d and "|" not in d),
        "sni": sorted({s for (s,) in hellos if s}),
        "versions": sorted(
            {_split(sv)[-1] if sv else v.split("|")[0] for v, sv in servers if v or sv}
        ),
        "certs": sorted({names[0] for (chain,) in certs if (names := _cert_names(chain))}),
        "http": sorted(
            [(int(_split(segments)[0] if segments else f), int(c)) for f, segments, c in http]
            + [(int(f), int(bytes.fromhex(head)[9:12])) for f, head in unfinished]
        ),
        "tcp_flows": len({t for t, _ in streams if t}),
        "udp_flows": len({u for _, u in streams if u}),
        "community": sorted({c for (c,) in community if c}),
    }


def _version_hex(version: str | None, protocol: str | None) -> str | None:
    codes = {("ssl", "3.0"): "0x0300", ("tls", "1.0"): "0x0301", ("tls", "1.1"): "0x0302"}
    codes |= {("tls", "1.2"): "0x0303", ("tls", "1.3"): "0x0304"}
    if version is None or protocol is None:
        return None
    return codes.get((protocol, version), version)


def loginlens_facts(path: Path) -> tuple[Facts, pl.DataFrame]:
    """The same facts from loginlens' events."""
    events, _ = parse_capture(path, path.name)

    def kind(action: str) -> pl.DataFrame:
        return events.filter(pl.col("event.action") == action)

    dns = kind("dns-answer").filter(
        pl.col("destination.port").eq(53) | pl.col("source.port").eq(53)
    )
    rcodes = {"NOERROR": 0, "FORMERR": 1, "SERVFAIL": 2, "NXDOMAIN": 3, "NOTIMP": 4, "REFUSED": 5}
    answers = [
        (r["loginlens.record"], r["dns.question.name"], rcodes.get(r["dns.response_code"], -1),
         tuple(sorted((t, d, ttl) for t, d, ttl in zip(
             r["dns.answers.type"], r["dns.answers.data"], r["dns.answers.ttl"], strict=True)
             if t in ("A", "AAAA", "CNAME"))))
        for r in dns.iter_rows(named=True)
    ]  # fmt: skip
    handshakes = kind("tls-handshake")
    alerts = kind("tls-alert").filter(pl.col("error.code").is_not_null())
    http = kind("http-response")
    flows = kind("connection")
    versions = {
        _version_hex(v, p)
        for v, p in handshakes.select("tls.version", "tls.version_protocol").iter_rows()
    }
    certs = {
        (s, i)
        for s, i in handshakes.select("tls.server.subject", "tls.server.issuer").iter_rows()
        if s is not None
    }
    facts: Facts = {
        "dns": sorted(answers),
        "alerts": sorted(
            (f, int(c)) for f, c in alerts.select("loginlens.record", "error.code").iter_rows()
        ),
        "sni": sorted({s for s in handshakes.get_column("tls.client.server_name") if s}),
        "versions": sorted(v for v in versions if v),
        "certs": sorted(certs),
        "http": sorted(http.select("loginlens.record", "http.response.status_code").iter_rows()),
        "tcp_flows": flows.filter(pl.col("network.transport") == "tcp").height,
        "udp_flows": flows.filter(pl.col("network.transport") == "udp").height,
        "community": sorted(set(flows.get_column("network.community_id"))),
    }
    return facts, events


CHECKS: tuple[str, ...] = (
    "dns", "alerts", "sni", "versions", "certs", "http", "tcp_flows", "udp_flows", "community",
)  # fmt: skip


def _summary(value: object) -> str:
    return str(len(value)) if isinstance(value, list) else str(value)


@pytest.fixture(scope="module")
def agreement() -> dict[str, dict[str, tuple[object, object]]]:
    """Per file and check: (tshark's answer, loginlens' answer)."""
    table: dict[str, dict[str, tuple[object, object]]] = {}
    for path in PCAPS:
        theirs = tshark_facts(path)
        ours, _ = loginlens_facts(path)
        table[path.name] = {check: (theirs[check], ours[check]) for check in CHECKS}
    print(f"\n{'capture':<58}" + "".join(f"{c:>10}" for c in CHECKS))
    for name, row in table.items():
        cells = []
        for check, (theirs, ours) in row.items():
            mark = "=" if theirs == ours else ("~" if (name, check) in EXPLAINED else "≠")
            cells.append(f"{mark}{_summary(theirs)}/{_summary(ours)}".rjust(10))
        print(f"{name:<58}" + "".join(cells))
    return table


@pytest.mark.parametrize("check", CHECKS)
def test_agrees_with_tshark(
    agreement: dict[str, dict[str, tuple[object, object]]], check: str
) -> None:
    """Every capture: loginlens' answer equals tshark's, unless the difference is explained."""
    differing = {
        name: row[check]
        for name, row in agreement.items()
        if row[check][0] != row[check][1] and (name, check) not in EXPLAINED
    }
    assert not differing, "\n".join(
        f"{n}: tshark {t!r}\n   loginlens {o!r}" for n, (t, o) in differing.items()
    )


def test_every_capture_parses_without_skips() -> None:
    """The corpus files are whole: every frame is read and no record is skipped."""
    counts: Callable[[Path], int] = lambda p: len(_tshark(p, "frame", "frame.number"))  # noqa: E731
    for path in PCAPS:
        _, report = parse_capture(path, path.name)
        assert report.records == counts(path), path.name
        assert report.skipped == 0, (path.name, report.errors)


def test_expected_alerts_match_manifest() -> None:
    """Ground truth from the original projects: the handshake-failure capture's alert."""
    path = CORPUS / "pcap" / "zeek-tls-1.2-handshake-failure.pcap"
    _, events = loginlens_facts(path)
    alert = events.filter(pl.col("event.action") == "tls-alert").row(0, named=True)
    assert alert["loginlens.tls.alert"] == "handshake_failure"
    assert alert["loginlens.tls.alert_from"] == "server"
    assert Counter(events.get_column("event.action"))["tls-handshake"] == 1
