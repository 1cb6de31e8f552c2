"""HAR parsing: real exports from several tools, broken files, redirects, vendor errors, secrets."""

from __future__ import annotations

import base64
import json
from collections import Counter
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from click.testing import CliRunner

from analyzer.cli import main
from parsers.har.parser import parse_har
from tests.conftest import CORPUS

ROOT = Path(__file__).resolve().parents[3]
SAMPLE_HARS = sorted((ROOT / "sample_data" / "bundles").glob("*/*.har"))
CORPUS_HARS = sorted((CORPUS / "har").glob("*.har"))
T0 = "2025-05-31T10:01:49.123+08:00"


def entry(url: str, status: int = 200, **extra: Any) -> dict[str, Any]:
    response = {"status": status, "statusText": "", "headers": [], "content": {"size": 0}}
    response.update(extra.pop("response", {}))
    return {
        "startedDateTime": extra.pop("started", T0),
        "time": 12.5,
        "request": {"method": "GET", "url": url, "headers": [], "queryString": []},
        "response": response,
        "timings": {"blocked": -1, "dns": 3.0, "connect": 10.0, "ssl": 6.0, "send": 0.1,
                    "wait": 2.0, "receive": 0.4},
        **extra,
    }  # fmt: skip


def write(tmp_path: Path, entries: list[Any], name: str = "t.har") -> Path:
    path = tmp_path / name
    document = {"log": {"version": "1.2", "creator": {"name": "test", "version": "1"}}}
    document["log"]["entries"] = entries
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_one_event_per_entry_with_timings_and_times(tmp_path: Path) -> None:
    events, report = parse_har(write(tmp_path, [entry("https://a.example/x?y=1")]), "t.har")
    row = events.row(0, named=True)
    assert report.records == 1 and report.format == "har (test)"
    assert row["@timestamp"].isoformat() == "2025-05-31T02:01:49.123000+00:00"
    assert row["loginlens.record"] == 1
    assert (row["url.domain"], row["url.path"], row["http.response.status_code"]) == (
        "a.example", "/x", 200,
    )  # fmt: skip
    assert row["event.duration"] == 12_500_000
    assert row["loginlens.har.blocked_ms"] is None  # -1 is "not applicable"
    assert row["loginlens.har.ssl_ms"] == 6.0 and row["loginlens.har.connect_ms"] == 10.0


def test_status_zero_and_chrome_error_are_failed_requests(tmp_path: Path) -> None:
    entries = [
        entry("https://a.example/", 0, _error="net::ERR_CONNECTION_RESET"),
        entry("https://b.example/", 0),
        entry("https://c.example/", 503),
    ]
    events, report = parse_har(write(tmp_path, entries), "t.har")
    actions = events.select("event.action", "event.outcome", "error.message").rows()
    assert actions == [
        ("http-error", "failure", "net::ERR_CONNECTION_RESET"),
        ("http-error", "failure", None),
        ("http-response", "failure", None),
    ]
    assert "failed net::ERR_CONNECTION_RESET" in events["message"][0]
    assert report.details["failed_requests"] == 2
    assert report.details["status_histogram"] == {"503": 1}


def test_vendor_error_fields_from_json_bodies_plain_and_base64(tmp_path: Path) -> None:
    body = '{"errcode":60020,"errmsg":"not allow to access from your ip, hint: [x], from ip: 1.2.3.4, more info at https://open.work.weixin.qq.com/devtool/query?e=60020"}'
    encoded = base64.b64encode(body.encode()).decode()
    entries = [
        entry("https://qyapi.weixin.qq.com/a", response={"content": {"mimeType": "application/json", "text": body}}),
        entry("https://qyapi.weixin.qq.com/b", response={"content": {"mimeType": "application/json; charset=utf-8", "text": encoded, "encoding": "base64"}}),
        entry("https://qyapi.weixin.qq.com/c", response={"content": {"mimeType": "application/json", "text": '{"errcode":0,"errmsg":"ok"}'}}),
    ]  # fmt: skip
    events, _ = parse_har(write(tmp_path, entries), "t.har")
    assert events["error.code"].to_list() == ["60020", "60020", None]
    assert "(errcode 60020: not allow to access" in events["message"][0]


def test_redirect_chain_and_loop_with_fresh_codes(tmp_path: Path) -> None:
    """An OAuth round trip that comes back with a new code each lap is still a loop."""
    authorize = "https://open.weixin.qq.com/connect/oauth2/authorize?appid=ww1&state=S1"
    entries = []
    for lap in range(3):
        callback = f"https://oa.example.com/login?code=C{lap}&state=S1"
        entries.append(entry(authorize, 302, response={"redirectURL": callback}))
        entries.append(
            entry(callback, 302, response={"headers": [{"name": "Location", "value": authorize}]})
        )
    entries.append(entry("https://other.example/", 200))
    events, _ = parse_har(write(tmp_path, entries), "t.har")
    chain = events.select("loginlens.http.chain", "loginlens.http.chain_step").rows()
    assert chain == [(1, n) for n in range(1, 7)] + [(None, None)]
    loops = events["loginlens.http.redirect_loop"].to_list()
    assert loops == [None, None, True, True, True, True, None]
    assert "redirect loop: back at the URL of entry 1" in events["message"][2]
    assert "C0" not in "".join(events["message"].to_list())  # codes are masked


def test_relative_location_is_followed(tmp_path: Path) -> None:
    entries = [
        entry("https://a.example/start", 302, response={"redirectURL": "/next?x=1"}),
        entry("https://a.example/next?x=1", 200),
    ]
    events, _ = parse_har(write(tmp_path, entries), "t.har")
    assert events["loginlens.http.chain_step"].to_list() == [1, 2]


def test_bad_entries_are_skipped_with_their_index(tmp_path: Path) -> None:
    entries = [entry("https://a.example/"), "text", {"request": {"url": 5}}, {"response": {}},
               entry("https://b.example/", started="not a date")]  # fmt: skip
    events, report = parse_har(write(tmp_path, entries), "t.har")
    assert events["loginlens.record"].to_list() == [1, 5]
    assert events["@timestamp"].null_count() == 1
    assert [e["record"] for e in report.errors] == [2, 3, 4]
    assert report.skipped == 3
    assert "not an object" in report.errors[0]["reason"]


@pytest.mark.parametrize("cut", [0.3, 0.6, 0.95])
def test_truncated_har_keeps_the_entries_before_the_cut(tmp_path: Path, cut: float) -> None:
    full = write(tmp_path, [entry(f"https://a.example/{n}") for n in range(40)])
    data = full.read_bytes()
    broken = tmp_path / "cut.har"
    broken.write_bytes(data[: int(len(data) * cut)])
    events, report = parse_har(broken, "cut.har")
    assert 0 < events.height < 40
    assert events["loginlens.record"].to_list() == list(range(1, events.height + 1))
    assert report.errors[-1]["record"] == events.height + 1
    assert "JSON broken near byte" in report.errors[-1]["reason"]


def test_garbage_and_odd_documents_never_raise(tmp_path: Path) -> None:
    for name, data in {
        "empty.har": b"",
        "garbage.har": b"\x00\xff{{{" * 100,
        "no-entries.har": b'{"log": {"version": "1.2"}}',
        "entries-not-list.har": b'{"log": {"entries": {"a": 1}}}',
        "bom.har": b"\xef\xbb\xbf" + json.dumps({"log": {"entries": [entry("https://a/")]}}).encode(),
        "fiddler.har": json.dumps({"log": {"entries": [entry("https://a/", started="2025-05-31T10:01:49.1234567+08:00")]}}).encode(),
    }.items():  # fmt: skip
        path = tmp_path / name
        path.write_bytes(data)
        events, report = parse_har(path, name)
        assert report.records == events.height, name
        if name in ("bom.har", "fiddler.har"):
            assert events.height == 1 and events["@timestamp"][0] is not None, name
        else:
            assert events.height == 0 and report.errors, name


def _secrets(document: Any, found: set[str], key: str = "") -> set[str]:
    """Every value a HAR holds under a secret name: cookies, auth headers, tokens, codes."""
    secret_names = ("cookie", "set-cookie", "authorization", "access_token", "corpsecret",
                    "code", "state", "password", "passwd", "pwd", "user_ticket", "ticket")  # fmt: skip
    if isinstance(document, dict):
        name = str(document.get("name", "")).lower()
        value = document.get("value")
        if (
            isinstance(value, str)
            and len(value) >= 6
            and (key == "cookies" or name in secret_names)
        ):
            found.add(value)
        for k, v in document.items():
            _secrets(v, found, k)
    elif isinstance(document, list):
        for item in document:
            _secrets(item, found, key)
    return found


def test_sample_hars_hold_secrets_to_hide() -> None:
    """The no-leak tests below look for something."""
    found = set().union(*(_secrets(json.loads(p.read_text()), set()) for p in SAMPLE_HARS))
    assert len(found) >= 20


@pytest.mark.parametrize(
    "args",
    [("events", "--format", "jsonl"), ("events", "--format", "csv"), ("analyze", "--format", "json"),
     ("analyze", "--format", "html"), ("analyze", "--format", "md"), ("analyze",)],
)  # fmt: skip
def test_no_secret_from_sample_hars_in_any_output(args: tuple[str, ...]) -> None:
    bundles = sorted({p.parent for p in SAMPLE_HARS})[:40]
    secrets = set().union(
        *(_secrets(json.loads(p.read_text()), set()) for b in bundles for p in b.glob("*.har"))
    )
    command = [args[0], *map(str, bundles), *args[1:]]
    if args[0] == "events":
        command += ["-o", "-"]
    out = CliRunner().invoke(main, [*command, "--quiet"]).stdout
    assert "HAR GET" in out or "har" in out
    leaked = sorted(s for s in secrets if s in out)
    assert not leaked


def test_raw_entry_is_kept_redacted_for_opening() -> None:
    path = next(p for p in SAMPLE_HARS if "token_invalid" in str(p))
    document = json.loads(path.read_text())
    secrets = _secrets(document, set())
    events, _ = parse_har(path, path.name)
    originals = "".join(events["event.original"].to_list())
    assert '"request"' in originals and "<redacted>" in originals
    assert not [s for s in secrets if s in originals]


@pytest.mark.corpus
@pytest.mark.skipif(not CORPUS_HARS, reason="../shared/corpus/har is absent")
def test_every_corpus_har_parses() -> None:
    """Counts agree with the document read whole; prints a row per file."""
    print(f"\n{'har':<60}{'entries':>8}{'failed':>8}  statuses")
    for path in CORPUS_HARS:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
        entries = document["log"]["entries"]
        events, report = parse_har(path, path.name)
        assert report.skipped == 0 and events.height == len(entries), path.name
        expected = Counter(e["response"]["status"] for e in entries if e["response"]["status"])
        assert report.details["status_histogram"] == {
            str(k): v for k, v in sorted(expected.items())
        }
        failed = events.filter(pl.col("event.action") == "http-error").height
        # no status, or a status and then a Chrome error (a body cut by a QUIC error)
        unanswered = [e for e in entries if not e["response"]["status"] or e.get("_error")
                      or e["response"].get("_error")]  # fmt: skip
        assert failed == len(unanswered)
        histogram = " ".join(f"{k}×{v}" for k, v in report.details["status_histogram"].items())
        print(f"{path.name:<60}{events.height:>8}{failed:>8}  {histogram}")
