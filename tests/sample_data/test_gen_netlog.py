"""NetLog builder: Chrome's net-export layout, names resolved through constants, failures staged."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from sample_data.gen.netlog import NET_ERRORS, NetLog, net_error

CST = timezone(timedelta(hours=8))
START = datetime(2025, 5, 31, 10, 1, 49, 123000, tzinfo=CST)
LOGIN = "https://login.work.weixin.qq.com/wwlogin/sso/login?appid=ww1a2b3c4d5e6f7a8b&state=x"

# The net errors domain/wecom.md documents, with their codes.
DOCUMENTED = {
    "TIMED_OUT": -7, "NETWORK_CHANGED": -21, "CONNECTION_CLOSED": -100, "CONNECTION_RESET": -101,
    "CONNECTION_REFUSED": -102, "NAME_NOT_RESOLVED": -105, "INTERNET_DISCONNECTED": -106,
    "SSL_PROTOCOL_ERROR": -107, "ADDRESS_UNREACHABLE": -109, "TUNNEL_CONNECTION_FAILED": -111,
    "SSL_VERSION_OR_CIPHER_MISMATCH": -113, "CONNECTION_TIMED_OUT": -118,
    "PROXY_CONNECTION_FAILED": -130, "NAME_RESOLUTION_FAILED": -137,
    "TLS13_DOWNGRADE_DETECTED": -180, "CERT_COMMON_NAME_INVALID": -200, "CERT_DATE_INVALID": -201,
    "CERT_AUTHORITY_INVALID": -202, "CERT_INVALID": -207, "CERT_KNOWN_INTERCEPTION_BLOCKED": -217,
}  # fmt: skip
# Where each documented failure first shows: the END event that carries its net_error.
STAGE_EVENT = {
    "NAME_NOT_RESOLVED": "HOST_RESOLVER_DNS_TASK",
    "NAME_RESOLUTION_FAILED": "HOST_RESOLVER_DNS_TASK",
    "INTERNET_DISCONNECTED": "HOST_RESOLVER_DNS_TASK",
    "CONNECTION_REFUSED": "TCP_CONNECT",
    "CONNECTION_TIMED_OUT": "TCP_CONNECT",
    "ADDRESS_UNREACHABLE": "TCP_CONNECT",
    "TIMED_OUT": "SSL_CONNECT",
    "CONNECTION_RESET": "SSL_CONNECT",
    "SSL_PROTOCOL_ERROR": "SSL_CONNECT",
    "SSL_VERSION_OR_CIPHER_MISMATCH": "SSL_CONNECT",
    "TLS13_DOWNGRADE_DETECTED": "SSL_CONNECT",
    "CERT_COMMON_NAME_INVALID": "CERT_VERIFIER_JOB",
    "CERT_DATE_INVALID": "CERT_VERIFIER_JOB",
    "CERT_AUTHORITY_INVALID": "CERT_VERIFIER_JOB",
    "CERT_INVALID": "CERT_VERIFIER_JOB",
    "CERT_KNOWN_INTERCEPTION_BLOCKED": "CERT_VERIFIER_JOB",
    "CONNECTION_CLOSED": "HTTP_TRANSACTION_READ_HEADERS",
    "NETWORK_CHANGED": "HTTP_TRANSACTION_READ_HEADERS",
}

# The stages of one request, in the order they happen.
STAGE_ORDER = (
    "HOST_RESOLVER_DNS_TASK",
    "TCP_CONNECT",
    "SSL_CONNECT",
    "CERT_VERIFIER_JOB",
    "HTTP_TRANSACTION_READ_HEADERS",
    "HTTP_TRANSACTION_READ_RESPONSE_HEADERS",
)


def capture(seed: int = 1, version: str = "124.0.6367.208", **options: Any) -> NetLog:
    """A client that logs in fine, then hits a certificate error and a DNS failure."""
    netlog = NetLog(seed, START, version, **options)
    netlog.request(LOGIN)
    netlog.request(
        "https://login.work.weixin.qq.com/wwlogin/api/v1/qrcode?access_token=T0KEN",
        request_headers=[("Cookie", "wwrtx.sid=S3CRET"), ("Authorization", "Bearer B3ARER")],
    )
    netlog.request(
        "https://qyapi.weixin.qq.com/cgi-bin/gettoken?corpsecret=X",
        outcome="CERT_AUTHORITY_INVALID",
    )
    netlog.request("https://i.work.weixin.qq.com/", outcome="ERR_NAME_NOT_RESOLVED")
    netlog.request("https://oa.example.com/sso", status=302, location="https://oa.example.com/home")
    return netlog


def decoded(netlog: NetLog) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Constants and events with type names resolved through the constants, as a consumer must."""
    doc = json.loads(netlog.to_bytes())
    constants = doc["constants"]
    types = {v: k for k, v in constants["logEventTypes"].items()}
    sources = {v: k for k, v in constants["logSourceType"].items()}
    phases = {v: k for k, v in constants["logEventPhase"].items()}
    events = [
        {
            **e,
            "name": types[e["type"]],
            "kind": sources[e["source"]["type"]],
            "ph": phases[e["phase"]],
        }
        for e in doc["events"]
    ]
    return constants, events


def ends_with_error(events: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [
        (e["name"], e["params"]["net_error"])
        for e in events
        if e["ph"] == "PHASE_END" and "net_error" in e.get("params", {})
    ]


def test_complete_file_parses_and_every_id_resolves() -> None:
    constants, events = decoded(capture())
    assert constants["logEventPhase"] == {"PHASE_BEGIN": 1, "PHASE_END": 2, "PHASE_NONE": 0}
    assert constants["clientInfo"]["version"] == "124.0.6367.208"
    assert int(constants["timeTickOffset"]) > 1_600_000_000_000
    assert len(events) > 100
    names = {e["name"] for e in events}
    assert {"REQUEST_ALIVE", "URL_REQUEST_START_JOB", "HOST_RESOLVER_MANAGER_JOB",
            "HOST_RESOLVER_DNS_TASK", "TCP_CONNECT", "TCP_CONNECT_ATTEMPT", "SOCKET_ALIVE",
            "SSL_CONNECT", "CERT_VERIFIER_JOB", "HTTP_TRANSACTION_SEND_REQUEST",
            "HTTP_TRANSACTION_READ_RESPONSE_HEADERS"} <= names  # fmt: skip
    assert all(
        isinstance(e["time"], str) and isinstance(e["source"]["start_time"], str) for e in events
    )


def test_file_layout_is_one_event_per_line() -> None:
    text = capture().to_bytes().decode()
    lines = text.split("\n")
    assert lines[0].startswith('{"constants":{') and lines[0].endswith("},")
    assert lines[1] == '"events": ['
    assert lines[2].startswith('{"params":') and lines[2].endswith("},")
    assert text.endswith("}\n") and '],\n"polledData": ' in text


def test_ticks_never_go_back_and_map_to_the_device_clock() -> None:
    skew = timedelta(minutes=-9)
    constants, events = decoded(capture(clock_skew=skew))
    ticks = [int(e["time"]) for e in events]
    assert ticks == sorted(ticks)
    first_wall = datetime.fromtimestamp((ticks[0] + int(constants["timeTickOffset"])) / 1000, CST)
    assert abs(first_wall - (START + skew)) < timedelta(seconds=1)
    assert all(int(e["source"]["start_time"]) <= int(e["time"]) for e in events)


def test_server_date_header_ignores_the_device_clock_skew() -> None:
    _, events = decoded(capture(clock_skew=timedelta(hours=5)))
    headers = next(e for e in events if e["name"] == "HTTP_TRANSACTION_READ_RESPONSE_HEADERS")
    assert headers["params"]["headers"][1].startswith("date: Sat, 31 May 2025 02:01:")


def test_documented_error_codes_match() -> None:
    for name, code in DOCUMENTED.items():
        assert NET_ERRORS["ERR_" + name] == code
        assert net_error(name) == net_error("ERR_" + name) == net_error("net::ERR_" + name) == code
    assert net_error("OK") == 0
    with pytest.raises(ValueError):
        net_error("ERR_NOT_A_THING")


@pytest.mark.parametrize("outcome", sorted(STAGE_EVENT))
def test_each_failure_ends_the_right_stage_with_its_code(outcome: str) -> None:
    netlog = NetLog(5, START)
    netlog.request(LOGIN)  # a live session to the same host must not hide connect failures
    netlog.request(LOGIN, outcome=outcome)
    _, events = decoded(netlog)
    code = DOCUMENTED[outcome]
    failures = ends_with_error(events)
    assert {c for _, c in failures} == {code}
    assert failures[0][0] == STAGE_EVENT[outcome]
    assert ("REQUEST_ALIVE", code) in failures and ("URL_REQUEST_START_JOB", code) in failures
    # Nothing after the failing stage happens for the failed (second) request.
    failed = next(
        e for e in events if e["name"] == "REQUEST_ALIVE" and e.get("params", {}).get("net_error")
    )
    began = int(failed["source"]["start_time"])
    later = {e["name"] for e in events if int(e["time"]) >= began}
    stage = STAGE_ORDER.index(STAGE_EVENT[outcome])
    assert STAGE_EVENT[outcome] in later
    assert later.isdisjoint(STAGE_ORDER[stage + 1 :]), later & set(STAGE_ORDER[stage + 1 :])
    if STAGE_EVENT[outcome] == "HOST_RESOLVER_DNS_TASK":
        assert ("HOST_RESOLVER_MANAGER_JOB", code) in failures
    if STAGE_EVENT[outcome] == "CERT_VERIFIER_JOB":
        assert ("SSL_CONNECT", code) in failures
        verify = next(
            e
            for e in events
            if e["name"] == "CERT_VERIFIER_JOB"
            and e["ph"] == "PHASE_END"
            and "net_error" in e["params"]
        )
        assert verify["params"]["cert_status"] > 0
        assert verify["params"]["verified_cert"]["certificates"][0].startswith(
            "-----BEGIN CERTIFICATE-----"
        )


def test_proxy_failures_happen_at_the_proxy() -> None:
    netlog = NetLog(2, START, proxy="10.8.0.1:8080")
    netlog.request(LOGIN, outcome="TUNNEL_CONNECTION_FAILED")
    netlog.request(LOGIN, outcome="PROXY_CONNECTION_FAILED")
    _, events = decoded(netlog)
    failures = ends_with_error(events)
    assert ("HTTP_TRANSACTION_TUNNEL_READ_HEADERS", -111) in failures
    assert ("TCP_CONNECT", -102) in failures and ("CONNECT_JOB", -130) in failures
    tunnel = [e for e in events if e["name"] == "HTTP_TRANSACTION_READ_TUNNEL_RESPONSE_HEADERS"]
    assert tunnel[0]["params"]["headers"] == ["HTTP/1.1 403 Forbidden"]
    connects = [e for e in events if e["name"] == "TCP_CONNECT" and e["ph"] == "PHASE_BEGIN"]
    assert {tuple(e["params"]["address_list"]) for e in connects} == {("10.8.0.1:8080",)}


def test_later_requests_reuse_the_http2_session() -> None:
    _, events = decoded(capture())
    connects = [e for e in events if e["name"] == "TCP_CONNECT" and e["ph"] == "PHASE_BEGIN"]
    # login host once, qyapi once (cert failure), oa once; the DNS failure never connects.
    assert len(connects) == 3
    assert sum(e["name"] == "HTTP2_SESSION_POOL_FOUND_EXISTING_SESSION" for e in events) == 1


def test_resolution_uses_the_given_address() -> None:
    netlog = NetLog(3, START)
    netlog.request(LOGIN, address="10.1.2.3")
    _, events = decoded(netlog)
    resolved = next(
        e for e in events if e["name"] == "HOST_RESOLVER_MANAGER_JOB" and e["ph"] == "PHASE_END"
    )
    assert resolved["params"]["address_list"] == ["10.1.2.3"]
    tcp = next(e for e in events if e["name"] == "TCP_CONNECT" and e["ph"] == "PHASE_END")
    assert tcp["params"]["remote_address"] == "10.1.2.3:443"


def test_redirects_are_logged() -> None:
    _, events = decoded(capture())
    redirect = next(e for e in events if e["name"] == "URL_REQUEST_REDIRECTED")
    assert redirect["params"] == {"location": "https://oa.example.com/home"}


def test_credentials_are_stripped_unless_asked_for() -> None:
    stripped = capture().to_bytes().decode()
    assert "S3CRET" not in stripped and "B3ARER" not in stripped
    assert "cookie: [16 bytes were stripped]" in stripped
    assert (
        "access_token=T0KEN" in stripped and "corpsecret=X" in stripped
    )  # URLs are never stripped
    kept = capture(include_credentials=True).to_bytes().decode()
    assert "cookie: wwrtx.sid=S3CRET" in kept and "authorization: Bearer B3ARER" in kept


def test_type_ids_change_between_chrome_versions() -> None:
    tables = {
        v: decoded(capture(version=v))[0]
        for v in ("96.0.4664.110", "120.0.6099.130", "124.0.6367.208")
    }
    ids = [t["logEventTypes"] for t in tables.values()]
    assert ids[1] != ids[2] and ids[0] != ids[2]
    assert len({t["TCP_CONNECT"] for t in ids}) > 1
    # Before the rename Chrome called its resolver HostResolverImpl.
    assert "HOST_RESOLVER_IMPL_JOB" in ids[0] and "HOST_RESOLVER_MANAGER_JOB" not in ids[0]
    _, old_events = decoded(capture(version="96.0.4664.110"))
    assert any(e["name"] == "HOST_RESOLVER_IMPL_JOB" for e in old_events)


def test_same_seed_same_bytes() -> None:
    assert capture(4).to_bytes() == capture(4).to_bytes()
    assert capture(4).to_bytes() != capture(5).to_bytes()


def test_truncated_files_lack_the_closing_brackets() -> None:
    netlog = capture()
    complete = json.loads(netlog.to_bytes())["events"]
    cut = netlog.to_bytes(truncate=True).decode()
    with pytest.raises(json.JSONDecodeError):
        json.loads(cut)
    assert cut.endswith("},\n") and "polledData" not in cut
    # What a tolerant reader does: drop the trailing comma and close the array and object.
    assert json.loads(cut.rstrip().rstrip(",") + "]}")["events"] == complete
    torn = netlog.to_bytes(truncate=True, cut_last_event=True).decode()
    assert cut.startswith(torn) and not torn.endswith("}\n")
    whole_lines = [line for line in torn.split("\n")[2:] if line.endswith("},")]
    assert len(whole_lines) == len(complete) - 1


def test_network_changes_are_global_events() -> None:
    netlog = NetLog(1, START)
    netlog.network_changed(START + timedelta(seconds=1))
    _, events = decoded(netlog)
    assert [e["name"] for e in events] == [
        "NETWORK_IP_ADDRESSES_CHANGED",
        "NETWORK_CONNECTIVITY_CHANGED",
        "NETWORK_CHANGED",
    ]
    assert {e["kind"] for e in events} == {"NONE"}
    assert events[-1]["params"] == {"new_connection_type": "NONE"}
