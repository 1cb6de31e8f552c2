"""Common facts pulled out of free-text messages: error codes, URLs, hosts, IPs, request ids.

All extraction is vectorised regex over the message column (Rust regex:
linear time, no backtracking blow-ups on hostile lines). Keywords match
ASCII case-insensitively, ``(?i-u:...)``: Unicode case folding makes the
regex engine several times slower and no key is spelt outside ASCII.
"""

from __future__ import annotations

import polars as pl

from analyzer.redact import MASK

# Patterns open with their literal keyword so the regex engine can skip ahead to it, and use
# ASCII word boundaries: Unicode-aware ``\b`` is slow on CJK text.
_B = r"(?-u:\b)"
ERRCODE = rf"""{_B}(?i-u:err_?code)["']?\s*[:=]\s*["']?(-?\d+)"""
NUMERIC_CODE = (
    rf"""{_B}(?i-u:error_?code|code|sub_code)["']?\s*[:=]\s*["']?(-?[1-9]\d{{1,8}}){_B}"""
)
ERRMSG = (
    rf"""{_B}(?i-u:err_?msg)["']?\s*[:=]\s*"""
    r"""(?:"(?P<dq>(?:[^"\\]|\\.)*)"|'(?P<sq>[^']*)'|(?P<bare>[^,;}\]\r\n]+))"""
)
# A masked value (``<redacted>``) stays inside the URL it was cut from.
URL = rf"""https?://(?:{MASK}|[^\s"'<>\[\]{{}}|\\^`])+"""
URL_DOMAIN = r"^https?://(?:[^@/]*@)?(\[[0-9A-Fa-f:.]+\]|[^:/?#]+)"
URL_PATH = r"^https?://[^/?#]+(/[^?#]*)"
HOST = rf"""{_B}(?i-u:host|hostname|domain|server)["']?\s*[:=]\s*["']?((?:[A-Za-z0-9-]+\.)+[A-Za-z]{{2,}})"""
IPV4 = (
    rf"{_B}((?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){{3}}){_B}"
)
REQUEST_ID = rf"""{_B}(?i-u:(?:x-)?(?:request[_-]?id|req[_-]?id|trace[_-]?id))["']?\s*[:=]\s*["']?([A-Za-z0-9_.-]{{6,}})"""


def extract_fields(frame: pl.LazyFrame, text: str = "message") -> pl.LazyFrame:
    """Add error, URL, host, IP and request-id columns found in ``text``; keep values already set."""
    msg = pl.col(text)
    found_url = msg.str.extract(URL, 0).str.strip_chars_end(".,;:)")
    frame = _fill(frame, {"url.full": found_url})
    url = pl.col("url.full")
    frame = frame.with_columns(
        _errmsg=msg.str.extract_groups(ERRMSG),
        _domain=url.str.extract(URL_DOMAIN, 1).str.to_lowercase(),
    )
    quoted = pl.col("_errmsg").struct
    return _fill(
        frame,
        {
            "error.code": pl.coalesce(
                msg.str.extract(ERRCODE, 1), msg.str.extract(NUMERIC_CODE, 1)
            ),
            "error.message": pl.coalesce(
                quoted.field("dq"), quoted.field("sq"), quoted.field("bare")
            ).str.strip_chars(),
            "url.domain": pl.col("_domain"),
            "url.path": url.str.extract(URL_PATH, 1),
            "destination.domain": pl.coalesce(
                msg.str.extract(HOST, 1).str.to_lowercase(), pl.col("_domain")
            ),
            "related.ip": msg.str.extract(IPV4, 1),
            "http.request.id": msg.str.extract(REQUEST_ID, 1),
        },
    ).drop("_errmsg", "_domain")


def _fill(frame: pl.LazyFrame, found: dict[str, pl.Expr]) -> pl.LazyFrame:
    """Set each column to its found value where it is still null."""
    present = frame.collect_schema().names()
    return frame.with_columns(
        (pl.coalesce(pl.col(name), expr) if name in present else expr).alias(name)
        for name, expr in found.items()
    )
