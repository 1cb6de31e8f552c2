"""Redaction: each kind of secret is masked, the key kept, and harmless text untouched."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analyzer.redact import MASK, RULES, redact_events, redact_text

CASES = [
    (
        "GET /cgi-bin/gettoken?corpid=ww1&corpsecret=S3cr3tValue",
        "corpsecret=<redacted>",
        "S3cr3tValue",
    ),
    ("token ok access_token=a9F3kLm0Qz", "access_token=<redacted>", "a9F3kLm0Qz"),
    ('{"password": "hunter2", "user": "zhang"}', '"password": "<redacted>"', "hunter2"),
    ("login pwd=abc123 user=zhang", "pwd=<redacted>", "abc123"),
    ("redirect?code=CODE9f8e&state=Xy12", "code=<redacted>&state=<redacted>", "CODE9f8e"),
    (
        "Authorization: Bearer eyJhbGciOi.eyJzdWIi.c2lnbmF0dXJl",
        "Authorization: <redacted>",
        "c2lnbmF0dXJl",
    ),
    ("retry with bearer abc.def.ghi", "bearer <redacted>", "abc.def.ghi"),
    ("Cookie: wwrtx.sid=Zq81; wxuin=1", "Cookie: <redacted>", "Zq81"),
    ("Set-Cookie: session=deadbeef; Path=/", "Set-Cookie: <redacted>", "deadbeef"),
    (
        "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.SflKxwRJSMeKKF2QT4",
        ".eyJzdWIiOiIxIn0.<redacted>",
        "SflKxwRJSMeKKF2QT4",
    ),
    ("user_ticket=UT-9981 expires", "user_ticket=<redacted>", "UT-9981"),
    ('token="abc123" next', 'token="<redacted>" next', "abc123"),
    ("password='hunter2' next", "password='<redacted>' next", "hunter2"),
    ('{"password":"a,b;c d"}', '{"password":"<redacted>"}', "a,b;c d"),
    ('corpsecret = "CS9" ok', 'corpsecret = "<redacted>" ok', "CS9"),
    ("accessToken=Xq1 refreshToken: Yq2", "accessToken=<redacted> refreshToken: <redacted>", "Yq2"),
    ("clientSecret=Cs1&secret_key=Sk2", "clientSecret=<redacted>&secret_key=<redacted>", "Sk2"),
    ("callback body code=OAUTHxyz9 ok", "code=<redacted> ok", "OAUTHxyz9"),
    ("code=OAUTHxyz9&state=abc", "code=<redacted>&state=<redacted>", "OAUTHxyz9"),
]
HARMLESS = [
    'login resp errcode=60020 errmsg="not allow to access from your ip"',
    '{"code": 99991663, "msg": "invalid access token"}',
    "sqlite open failed, code=11 msg=database disk image is malformed",
    "connect to i.work.weixin.qq.com:443 rtt=41ms",
    "errmsg: invalid access_token, hint: [1748]",
    "retry after code=11",
]


@pytest.mark.parametrize(("text", "expected", "secret"), CASES)
def test_secret_is_masked_and_key_kept(text: str, expected: str, secret: str) -> None:
    out = redact_events(pl.DataFrame({"message": [text], "event.original": [text]}))
    for column in ("message", "event.original"):
        assert expected in out[column][0]
        assert secret not in out[column][0]


@pytest.mark.parametrize("text", HARMLESS)
def test_harmless_text_is_untouched(text: str) -> None:
    out = redact_events(pl.DataFrame({"message": [text]}))
    assert out["message"][0] == text


@given(
    words=st.lists(
        st.sampled_from([c[0] for c in CASES] + HARMLESS + ["plain", "", "α β", "code", "token"]),
        max_size=8,
    ),
    noise=st.text(max_size=40),
)
def test_prefilter_never_skips_what_the_rules_would_mask(words: list[str], noise: str) -> None:
    texts = [w + noise for w in words] + [None]
    frame = pl.DataFrame(
        {"message": texts, "url.full": texts}, schema={"message": pl.String, "url.full": pl.String}
    )
    direct = frame.select(redact_text(pl.col(c)).alias(c) for c in frame.columns)
    assert redact_events(frame).equals(direct)
    assert all(
        MASK in t
        for t in redact_events(frame)["message"].drop_nulls()
        if any(c[2] in t for c in CASES)
    )


def test_every_rule_keeps_exactly_one_group() -> None:
    # The one-pass replacement names groups 1..N: one per rule.
    import re

    for rule in RULES:
        assert len(re.findall(r"(?<!\\)\((?!\?)", rule)) == 1, rule


def test_documents_are_redacted_by_structure() -> None:
    """HAR-shaped data: name/value pairs, cookies, JSON and form bodies, URLs, userinfo."""
    from analyzer.redact import redact_document

    entry = {
        "request": {
            "url": "https://u:pw9@a.example/cb?code=OC1&x=1#access_token=AT1",
            "headers": [
                {"name": "Authorization", "value": "Basic dXNlcjpwdw=="},
                {"name": "X-Api-Token", "value": "XT1"},
                {"name": "Accept", "value": "*/*"},
            ],
            "cookies": [{"name": "lang", "value": "zh-CN-cookie"}],
            "queryString": [{"name": "code", "value": "OC1"}, {"name": "x", "value": "1"}],
            "postData": {"text": '{"password": "PW1", "user": "li", "code": 60020}'},
        },
        "response": {"content": {"text": "user=li&passwd=PW2&n=1"}, "errcode": 60020},
    }
    text = str(redact_document(entry))
    for secret in ("pw9", "OC1", "AT1", "dXNlcjpwdw", "XT1", "zh-CN-cookie", "PW1", "PW2"):
        assert secret not in text, secret
    for kept in ("*/*", "'x', 'value': '1'", '"user": "li"', '"code": 60020', "'errcode': 60020"):
        assert kept in text, kept


def test_url_fragments_with_many_hashes_are_not_a_recursion() -> None:
    from analyzer.redact import redact_url

    css = "?" + "a{color:#fff}" * 5000
    assert redact_url(css) == css
