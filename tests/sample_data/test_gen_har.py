"""HAR builder: spec-valid HAR 1.2 in each browser's dialect, deterministic, with secrets to redact."""

from __future__ import annotations

import json
import random
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from sample_data.gen.har import Har, bearer, secret, wecom_cookies, wecom_error
from sample_data.gen.harspec import har_problems

CST = timezone(timedelta(hours=8))
START = datetime(2025, 5, 31, 10, 1, 49, 123000, tzinfo=CST)
BROWSERS = ("chrome", "firefox")

# ------------------------------------------------------------------------ scenario


def login_har(browser: str, seed: int = 7, **options: Any) -> Har:
    """A web QR login that gets a token, is refused by IP policy, then fails on a certificate."""
    rng = random.Random(seed)
    har = Har(browser, rng=rng, start=START, **options)
    har.page("企业微信", START)
    sso = (
        "https://login.work.weixin.qq.com/wwlogin/sso/login?login_type=CorpApp"
        "&appid=ww1a2b3c4d5e6f7a8b&agentid=1000002"
        "&redirect_uri=https%3A%2F%2Foa.example.com%2Fsso%2Fcallback&state=STATE" + secret(rng, 8)
    )
    har.entry(
        "GET", sso, body="<html><title>企业微信</title></html>", set_cookies=wecom_cookies(rng)
    )
    har.entry(
        "GET",
        "https://qyapi.weixin.qq.com/cgi-bin/gettoken?corpid=ww1a2b3c4d5e6f7a8b&corpsecret="
        + secret(rng, 43),
        body={"errcode": 0, "errmsg": "ok", "access_token": secret(rng, 64), "expires_in": 7200},
    )
    har.entry(
        "POST",
        "https://login.work.weixin.qq.com/wwlogin/api/v1/qrcode/check",
        post_data={"qrcode_key": secret(rng, 16), "status": "QRCODE_SCAN_SUCC"},
        request_headers=[("Authorization", bearer(rng))],
        body={"errcode": 0, "errmsg": "ok", "auth_code": secret(rng, 32)},
    )
    code = secret(rng, 32)
    har.redirects(
        [
            "https://login.work.weixin.qq.com/wwlogin/sso/confirm?ticket=" + secret(rng, 24),
            f"https://oa.example.com/sso/callback?code={code}&state=STATE",
            "https://oa.example.com/portal/home",
        ],
        final_body="<html>OA</html>",
        set_cookies={1: [("OASESSID", secret(rng, 26))]},
    )
    har.entry(
        "GET",
        f"https://qyapi.weixin.qq.com/cgi-bin/auth/getuserinfo?access_token={secret(rng, 64)}&code={code}",
        body=wecom_error(60020, rng, from_ip="203.0.113.77", at=START),
    )
    har.entry("GET", "https://qyapi.weixin.qq.com/cgi-bin/user/get?access_token=x", status=502,
              body="<html>502 Bad Gateway</html>")  # fmt: skip
    har.entry(
        "GET", "https://i.work.weixin.qq.com/api/heartbeat", error="ERR_CERT_AUTHORITY_INVALID"
    )
    har.entry("POST", "https://open.work.weixin.qq.com/wwopen/sso/qrConnect", post_data="a=1",
              error="net::ERR_CONNECTION_RESET", timings={"blocked": 21034.2})  # fmt: skip
    return har


def entries(har: Har) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(har.to_bytes())["log"]["entries"]
    return found


# -------------------------------------------------------------------------- tests


@pytest.mark.parametrize("browser", BROWSERS)
def test_every_har_meets_the_har_1_2_spec(browser: str) -> None:
    for seed in range(5):
        doc = json.loads(login_har(browser, seed).to_bytes())
        assert har_problems(doc) == []


def test_the_validator_rejects_what_the_spec_forbids() -> None:
    doc = json.loads(login_har("chrome").to_bytes())
    entry = doc["log"]["entries"][0]
    del entry["request"]["headersSize"]
    entry["timings"]["wait"] = -1
    entry["response"]["status"] = "200"
    assert len(har_problems(doc)) == 3


@pytest.mark.corpus
def test_the_validator_accepts_real_chrome_exports(corpus: Path) -> None:
    for name in ("mitmproxy-timed_out.har", "harviewer-issue-49-chrome51.har"):
        assert har_problems(json.loads((corpus / "har" / name).read_bytes())) == []


@pytest.mark.parametrize("browser", BROWSERS)
def test_same_seed_same_bytes_other_seed_other_bytes(browser: str) -> None:
    first = login_har(browser, 3).to_bytes()
    assert login_har(browser, 3).to_bytes() == first
    assert login_har(browser, 4).to_bytes() != first


@pytest.mark.parametrize("browser", BROWSERS)
def test_bytes_are_two_space_indented_utf8_json(browser: str, tmp_path: Path) -> None:
    har = login_har(browser)
    data = har.to_bytes()
    assert data == json.dumps(har.to_dict(), indent=2, ensure_ascii=False).encode("utf-8")
    assert data.startswith(b'{\n  "log": {\n    "version": "1.2",')
    assert "企业微信".encode() in data
    assert har.write(tmp_path / "a.har").read_bytes() == data


@pytest.mark.parametrize("browser", BROWSERS)
def test_time_is_the_sum_of_the_phases_with_ssl_inside_connect(browser: str) -> None:
    for entry in entries(login_har(browser)):
        timings = entry["timings"]
        phases = ("blocked", "dns", "connect", "send", "wait", "receive")
        assert entry["time"] == pytest.approx(sum(max(timings[p], 0) for p in phases), abs=1)
        if timings["ssl"] >= 0:
            assert 0 <= timings["ssl"] <= timings["connect"]


def test_firefox_can_report_ssl_outside_connect_as_firefox_does() -> None:
    for entry in entries(login_har("firefox", firefox_ssl_outside_connect=True)):
        timings = entry["timings"]
        phases = ("blocked", "dns", "connect", "ssl", "send", "wait", "receive")
        assert entry["time"] == pytest.approx(sum(max(timings[p], 0) for p in phases), abs=1)


def test_the_first_request_to_an_origin_connects_later_ones_reuse_it() -> None:
    chrome = [e for e in entries(login_har("chrome")) if e["response"]["status"]]
    by_origin: dict[str, list[dict[str, Any]]] = {}
    for entry in chrome:
        by_origin.setdefault(urlsplit(entry["request"]["url"]).netloc, []).append(entry)
    login = by_origin["login.work.weixin.qq.com"]
    assert login[0]["timings"]["dns"] > 0 and login[0]["timings"]["ssl"] > 0
    assert all(e["timings"]["connect"] == -1 for e in login[1:])
    assert len({e["connection"] for e in login}) == 1
    assert login[0]["connection"] != by_origin["oa.example.com"][0]["connection"]


def test_chrome_failures_carry_status_0_and_the_net_error() -> None:
    failed = [e for e in entries(login_har("chrome")) if e["response"]["status"] == 0]
    assert [e["response"]["_error"] for e in failed] == [
        "net::ERR_CERT_AUTHORITY_INVALID",
        "net::ERR_CONNECTION_RESET",
    ]
    for entry in failed:
        response = entry["response"]
        assert (response["statusText"], response["httpVersion"], entry["serverIPAddress"]) == (
            "",
            "",
            "",
        )
        assert response["headers"] == [] and entry["request"]["cookies"] == []
    assert failed[1]["timings"]["blocked"] == pytest.approx(21034.2)
    ok = [e for e in entries(login_har("chrome")) if e["response"]["status"]]
    assert all(e["response"]["_error"] is None for e in ok)


def test_firefox_failures_have_status_0_and_no_error_field() -> None:
    failed = [e for e in entries(login_har("firefox")) if e["response"]["status"] == 0]
    assert len(failed) == 2
    assert all("_error" not in e["response"] for e in failed)
    assert failed[0]["_securityState"] == "broken"


def test_chrome_extras_and_firefox_blocks() -> None:
    chrome = json.loads(login_har("chrome").to_bytes())["log"]
    assert chrome["creator"] == {"name": "WebInspector", "version": "537.36"}
    assert "browser" not in chrome
    for entry in chrome["entries"]:
        assert {"_initiator", "_priority", "_resourceType"} <= entry.keys()
        assert {"_transferSize", "_error"} <= entry["response"].keys()
        assert entry["pageref"] == "page_1"
    assert {e["_resourceType"] for e in chrome["entries"]} == {"document", "xhr"}
    firefox = json.loads(login_har("firefox").to_bytes())["log"]
    assert firefox["creator"]["name"] == firefox["browser"]["name"] == "Firefox"
    assert re.fullmatch(r"\d+\.\d+(\.\d+)?", firefox["browser"]["version"])
    for entry in firefox["entries"]:
        assert entry["pageref"] == "page_1" and entry["cache"] == {}
        assert not any(key.startswith("_") for key in entry["response"])
        assert all(isinstance(v, int) for v in entry["timings"].values())


def test_started_date_time_is_utc_in_chrome_and_local_with_offset_in_firefox() -> None:
    chrome = entries(login_har("chrome"))[0]["startedDateTime"]
    assert re.fullmatch(r"2025-05-31T02:01:\d\d\.\d{3}Z", chrome)
    firefox = entries(login_har("firefox"))[0]["startedDateTime"]
    assert re.fullmatch(r"2025-05-31T10:01:\d\d\.\d{3}\+08:00", firefox)


def test_clock_skew_moves_device_times_but_not_the_server_date() -> None:
    plain = entries(login_har("chrome"))
    skewed = entries(login_har("chrome", clock_skew=timedelta(hours=-3)))
    moved = datetime.fromisoformat(plain[0]["startedDateTime"]) - datetime.fromisoformat(
        skewed[0]["startedDateTime"]
    )
    assert moved == timedelta(hours=3)
    date = [h["value"] for h in skewed[0]["response"]["headers"] if h["name"] == "date"]
    assert date == [h["value"] for h in plain[0]["response"]["headers"] if h["name"] == "date"]
    assert date[0].startswith("Sat, 31 May 2025 02:01:")


@pytest.mark.parametrize("browser", BROWSERS)
def test_query_strings_come_from_the_url(browser: str) -> None:
    for entry in entries(login_har(browser)):
        query = urlsplit(entry["request"]["url"]).query
        names = [p["name"] for p in entry["request"]["queryString"]]
        assert names == [name for name, _ in parse_qsl(query, keep_blank_values=True)]
    gettoken = entries(login_har("chrome"))[1]["request"]["queryString"]
    assert [p["name"] for p in gettoken] == ["corpid", "corpsecret"]


@pytest.mark.parametrize("browser", BROWSERS)
def test_secrets_are_there_for_redaction_to_find(browser: str) -> None:
    text = login_har(browser).to_bytes().decode()
    log = json.loads(text)["log"]
    header_names = {
        h["name"].lower()
        for e in log["entries"]
        for part in ("request", "response")
        for h in e[part]["headers"]
    }
    assert {"cookie", "set-cookie", "authorization"} <= header_names
    assert re.search(r'"value": "Bearer [\w-]{20,}"', text)
    for pattern in (r"corpsecret=[\w-]{20,}", r"access_token=[\w-]{20,}", r"[?&]code=[\w-]{20,}",
                    r"[?&]state=STATE"):  # fmt: skip
        assert re.search(pattern, text), pattern
    sent = [c for e in log["entries"] for c in e["request"]["cookies"]]
    assert {"wwrtx.sid", "OASESSID"} <= {c["name"] for c in sent}
    assert any(e["response"]["cookies"] for e in log["entries"])


def test_wecom_error_bodies_carry_errcode_and_errmsg() -> None:
    bodies = [
        json.loads(e["response"]["content"]["text"])
        for e in entries(login_har("chrome"))
        if e["response"]["content"]["mimeType"] == "application/json"
    ]
    refused = [b for b in bodies if b["errcode"] == 60020]
    assert len(refused) == 1
    assert refused[0]["errmsg"].startswith("not allow to access from your ip, hint: [1748656909_")
    assert "from ip: 203.0.113.77" in refused[0]["errmsg"]
    assert refused[0]["errmsg"].endswith("devtool/query?e=60020")


def test_redirect_chains_link_each_hop_to_the_next() -> None:
    log = entries(login_har("chrome"))
    hops = [e for e in log if e["response"]["status"] == 302]
    assert len(hops) == 2
    for hop, following in zip(hops, log[log.index(hops[0]) + 1 :], strict=False):
        assert hop["response"]["redirectURL"] == following["request"]["url"]
        assert {"name": "location", "value": following["request"]["url"]} in hop["response"][
            "headers"
        ]
        assert datetime.fromisoformat(following["startedDateTime"]) >= datetime.fromisoformat(
            hop["startedDateTime"]
        )


def test_a_redirect_loop_can_end_in_too_many_redirects() -> None:
    har = Har("chrome", rng=1, start=START)
    loop = ["https://oa.example.com/login", "https://login.work.weixin.qq.com/wwlogin/sso/login"]
    made = har.redirects(loop * 3, final_error="ERR_TOO_MANY_REDIRECTS")
    assert [e["response"]["status"] for e in made] == [302] * 5 + [0]
    assert made[-1]["response"]["_error"] == "net::ERR_TOO_MANY_REDIRECTS"
    with pytest.raises(ValueError, match="one status per"):
        har.redirects(loop, statuses=[301, 302])
