"""Redaction: each kind of secret is masked, the key kept, and harmless text untouched."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analyzer.redact import MASK, redact_events, redact_text

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
]
HARMLESS = [
    'login resp errcode=60020 errmsg="not allow to access from your ip"',
    '{"code": 99991663, "msg": "invalid access token"}',
    "sqlite open failed, code=11 msg=database disk image is malformed",
    "connect to i.work.weixin.qq.com:443 rtt=41ms",
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
