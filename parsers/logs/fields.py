"""Common facts pulled out of free-text messages: error codes, URLs, hosts, IPs, request ids.

All extraction is vectorised regex over the message column (Rust regex:
linear time, no backtracking blow-ups on hostile lines).
"""

from __future__ import annotations

import polars as pl

ERRCODE = r"""(?i)["']?\berr_?code["']?\s*[:=]\s*["']?(-?\d+)"""
NUMERIC_CODE = r"""(?i)["']?\b(?:error_?code|code|sub_code)["']?\s*[:=]\s*["']?(-?[1-9]\d{1,8})\b"""
ERRMSG = r"""(?i)["']?\berr_?msg["']?\s*[:=]\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([^,;}\]\r\n]+))"""
URL = r"""https?://[^\s"'<>\[\]{}|\\^`]+"""
URL_DOMAIN = r"^https?://(?:[^@/]*@)?(\[[0-9A-Fa-f:.]+\]|[^:/?#]+)"
URL_PATH = r"^https?://[^/?#]+(/[^?#]*)"
HOST = r"""(?i)["']?\b(?:host|hostname|domain|server)["']?\s*[:=]\s*["']?((?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,})"""
IPV4 = r"\b((?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3})\b"
REQUEST_ID = r"""(?i)["']?\b(?:x-)?(?:request[_-]?id|req[_-]?id|trace[_-]?id)["']?\s*[:=]\s*["']?([\w.-]{6,})"""


def extract_fields(frame: pl.DataFrame, text: str = "message") -> pl.DataFrame:
    """Add error, URL, host, IP and request-id columns found in ``text``; keep values already set."""
    msg = pl.col(text)
    found_url = msg.str.extract(URL, 0).str.strip_chars_end(".,;:)")
    frame = _fill(frame, {"url.full": found_url})
    url = pl.col("url.full")
    return _fill(
        frame,
        {
            "error.code": pl.coalesce(
                msg.str.extract(ERRCODE, 1), msg.str.extract(NUMERIC_CODE, 1)
            ),
            "error.message": pl.coalesce(
                msg.str.extract(ERRMSG, 1), msg.str.extract(ERRMSG, 2), msg.str.extract(ERRMSG, 3)
            ).str.strip_chars(),
            "url.domain": url.str.extract(URL_DOMAIN, 1).str.to_lowercase(),
            "url.path": url.str.extract(URL_PATH, 1),
            "destination.domain": pl.coalesce(
                msg.str.extract(HOST, 1), url.str.extract(URL_DOMAIN, 1)
            ).str.to_lowercase(),
            "related.ip": msg.str.extract(IPV4, 1),
            "http.request.id": msg.str.extract(REQUEST_ID, 1),
        },
    )


def _fill(frame: pl.DataFrame, found: dict[str, pl.Expr]) -> pl.DataFrame:
    """Set each column to its found value where it is still null."""
    return frame.with_columns(
        (pl.coalesce(pl.col(name), expr) if name in frame.columns else expr).alias(name)
        for name, expr in found.items()
    )
