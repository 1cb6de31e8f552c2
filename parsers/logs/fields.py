"""Common facts pulled out of free-text messages: error codes, URLs, hosts, IPs, request ids.

All extraction is vectorised regex over the message column (Rust regex:
linear time, no backtracking blow-ups on hostile lines). Keywords match
ASCII case-insensitively, ``(?i-u:...)``: Unicode case folding makes the
regex engine several times slower and no key is spelt outside ASCII.

Every pattern but the IPv4 one opens with a keyword or a URL scheme, and most
messages hold none: one Aho-Corasick pass finds the messages that do, and the
other messages reach those patterns as nulls, which cost nothing. Where a value
can be had without capture groups it is, since resolving groups is the regex
engine's slow mode.
"""

from __future__ import annotations

import polars as pl

from analyzer.redact import MASK
from parsers import scan

# Patterns open with their literal keyword so the regex engine can skip ahead to it, and use
# ASCII word boundaries: Unicode-aware ``\b`` is slow on CJK text.
_B = r"(?-u:\b)"
ERRCODE = rf"""{_B}(?i-u:err_?code)["']?\s*[:=]\s*["']?(-?[0-9]+)"""
NUMERIC_CODE = (
    rf"""{_B}(?i-u:error_?code|code|sub_code)["']?\s*[:=]\s*["']?(-?[1-9][0-9]{{1,8}}){_B}"""
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
# The address is the whole match and the id the tail of it after the separator (which holds
# no id character), so neither pattern needs a capture group.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
IPV4 = rf"{_B}{_OCTET}(?:\.{_OCTET}){{3}}{_B}"
REQUEST_ID = rf"""{_B}(?i-u:(?:x-)?(?:request[_-]?id|req[_-]?id|trace[_-]?id))["']?\s*[:=]\s*["']?[A-Za-z0-9_.-]{{6,}}"""
_REQUEST_ID_TAIL = r"[A-Za-z0-9_.-]+$"
# Without userinfo (no "@" in the URL), the host follows the scheme directly.
_URL_HOST = r"^https?://(?:\[[0-9A-Fa-f:.]+\]|[^:/?#]+)"

# One of these (ASCII case-insensitively) is in every match of the patterns above but IPV4:
# "code" in ERRCODE and NUMERIC_CODE, "errmsg"/"err_msg" in ERRMSG, "host"/"domain"/"server"
# in HOST, "req"/"trace" in REQUEST_ID, "://" in URL.
KEYWORDS = ("code", "errmsg", "err_msg", "host", "domain", "server", "req", "trace", "://")


def extract_fields(frame: pl.DataFrame, text: str = "message") -> pl.DataFrame:
    """Add error, URL, host, IP and request-id columns found in ``text``; keep values already set."""
    return fill_fields(frame, find_fields(frame.get_column(text)))


def find_fields(messages: pl.Series) -> pl.DataFrame:
    """What the patterns find in each message, one row per message, for ``fill_fields``."""
    if scan.compiled is None or messages.is_empty():
        found = messages.to_frame("message").lazy().select(**_found_by_patterns(pl.col("message")))
        return found.collect(engine="streaming")
    return scan.fields(messages)


def _found_by_patterns(msg: pl.Expr) -> dict[str, pl.Expr]:
    """What each pattern finds in ``msg``, as ``scan.fields`` returns it: the URL with its
    domain and path, the error code, the error message, the host, the IPv4 address and the
    request id; domain and host in lower case."""
    keyed = pl.when(msg.str.contains_any(list(KEYWORDS), ascii_case_insensitive=True)).then(msg)
    errcode = keyed.str.extract(ERRCODE, 1)
    quoted = keyed.str.extract_groups(ERRMSG).struct
    url = keyed.str.extract(URL, 0).str.strip_chars_end(".,;:)")
    return {
        "url": url,
        "domain": _url_domain(url).str.to_lowercase(),
        "path": url.str.extract(URL_PATH, 1),
        "code": pl.coalesce(
            errcode, pl.when(errcode.is_null()).then(keyed).str.extract(NUMERIC_CODE, 1)
        ),
        "message": pl.coalesce(
            quoted.field("dq"), quoted.field("sq"), quoted.field("bare")
        ).str.strip_chars(),
        "host": keyed.str.extract(HOST, 1).str.to_lowercase(),
        "ip": msg.str.extract(IPV4, 0),
        "request": keyed.str.extract(REQUEST_ID, 0).str.extract(_REQUEST_ID_TAIL, 0),
    }


def fill_fields(frame: pl.DataFrame, found: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with the schema's field columns set, where still null, from ``found`` (what
    ``find_fields`` found in its messages).

    A URL already set (a JSON log's ``url``) is kept, and its domain and path are taken from
    it; otherwise the found URL's are.
    """
    names = {name: f"_found_{name}" for name in found.columns}
    found_col = {name: pl.col(alias) for name, alias in names.items()}
    domain, path = found_col["domain"], found_col["path"]
    if "url.full" in frame.columns and frame.get_column("url.full").null_count() < frame.height:
        given = pl.col("url.full")
        domain = (
            pl.when(given.is_not_null())
            .then(_url_domain(given).str.to_lowercase())
            .otherwise(domain)
        )
        path = pl.when(given.is_not_null()).then(given.str.extract(URL_PATH, 1)).otherwise(path)
    filled = pl.concat([frame.lazy(), found.rename(names).lazy()], how="horizontal").with_columns(
        _domain=domain, _path=path
    )
    # In a text log the columns are all null: nothing in them to keep.
    nulls = frame.null_count().row(0)
    empty = {
        name for name, count in zip(frame.columns, nulls, strict=True) if count == frame.height
    }
    return (
        _fill(
            filled,
            {
                "url.full": found_col["url"],
                "error.code": found_col["code"],
                "error.message": found_col["message"],
                "url.domain": pl.col("_domain"),
                "url.path": pl.col("_path"),
                "destination.domain": pl.coalesce(found_col["host"], pl.col("_domain")),
                "related.ip": found_col["ip"],
                "http.request.id": found_col["request"],
            },
            empty,
        )
        .drop("_domain", "_path", *names.values())
        .collect(engine="in-memory")
    )


def _url_domain(url: pl.Expr) -> pl.Expr:
    """The host of ``url``, as ``URL_DOMAIN`` captures it.

    Capturing is slow where optional userinfo makes the regex ambiguous, so only URLs with an
    "@" are captured; any other's host is the match of ``_URL_HOST`` less the scheme (the host
    holds no ":", so the scheme is "https://" exactly when the match starts so).
    """
    userinfo = url.str.contains("@", literal=True)
    scheme_and_host = pl.when(~userinfo).then(url).str.extract(_URL_HOST, 0)
    plain = scheme_and_host.str.strip_prefix("https://").str.strip_prefix("http://")
    return pl.coalesce(pl.when(userinfo).then(url).str.extract(URL_DOMAIN, 1), plain)


def _fill(frame: pl.LazyFrame, found: dict[str, pl.Expr], empty: set[str]) -> pl.LazyFrame:
    """Set each column to its found value where it is still null; a column ``empty`` (all
    null) takes the found values as they are, not copied into it."""
    present = set(frame.collect_schema().names()) - empty
    return frame.with_columns(
        (pl.coalesce(pl.col(name), expr) if name in present else expr).alias(name)
        for name, expr in found.items()
    )
