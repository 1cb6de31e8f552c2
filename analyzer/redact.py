"""Secrets out of every output: tokens, passwords, OAuth codes, cookies, Authorization.

Log text has no structure to walk, so text columns are rewritten with
vectorised regexes that keep the key and replace the value with ``<redacted>``.
"""

from __future__ import annotations

import polars as pl

MASK = "<redacted>"
TEXT_COLUMNS = ("message", "event.original", "url.full", "error.message")

# Keys whose values are secrets wherever they appear (query strings, key=value, JSON).
_SECRET_KEYS = (
    r"access_token|refresh_token|id_token|suite_token|suite_access_token|provider_access_token|"
    r"corpsecret|client_secret|app_secret|secret|password|passwd|pwd|user_ticket|ticket|"
    r"session_?key|session_?id|sessionid|sid|skey|api_?key|auth_?token|token"
)
# OAuth ``code`` and ``state`` are secrets only as request parameters (a numeric JSON
# ``code`` is a vendor error code and must survive).
_PARAM_KEYS = r"code|state|auth_code|authcode"

RULES: tuple[tuple[str, str], ...] = (
    (
        rf"""(?i)((?:^|[^A-Za-z0-9_])(?:{_SECRET_KEYS})["']?\s*(?:=|:\s*"|:)\s*)[^&\s"',;}}\]<>]+""",
        f"${{1}}{MASK}",
    ),
    (rf"(?i)([?&;](?:{_PARAM_KEYS})=)[^&\s\"'#<>]+", f"${{1}}{MASK}"),
    (r"(?i)\b((?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?)[^\r\n\"',}]+", f"${{1}}{MASK}"),
    (r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+", f"${{1}}{MASK}"),
    (r"(?i)\b((?:set-)?cookie[\"']?\s*[:=]\s*[\"']?)[^\r\n\"']+", f"${{1}}{MASK}"),
    (r"\b(eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.)[A-Za-z0-9_-]+", f"${{1}}{MASK}"),
)


# Every rule above needs one of these words; rows without any are left alone, which spares
# the regexes most of a large log.
KEYWORDS = (
    "token", "secret", "passw", "pwd", "ticket", "session", "sid", "skey", "api_key", "apikey",
    "code=", "state=", "authorization", "bearer", "cookie", "eyj",
)  # fmt: skip


# All rules as one alternation, one pass over the text. Each rule keeps exactly one group
# (the key); groups of the alternatives that did not match substitute as empty.
assert all(replacement == f"${{1}}{MASK}" for _, replacement in RULES)
COMBINED = "|".join(f"(?:{pattern})" for pattern, _ in RULES)
COMBINED_REPLACEMENT = "".join(f"${{{n}}}" for n in range(1, len(RULES) + 1)) + MASK


def redact_text(expr: pl.Expr) -> pl.Expr:
    """Return ``expr`` with every secret value masked."""
    return expr.str.replace_all(COMBINED, COMBINED_REPLACEMENT)


def redact_events(events: pl.DataFrame) -> pl.DataFrame:
    """Mask secrets in the text columns of an event frame."""
    present = [name for name in TEXT_COLUMNS if name in events.columns]
    if not present or events.is_empty():
        return events
    suspect = pl.any_horizontal(
        pl.col(name).str.contains_any(list(KEYWORDS), ascii_case_insensitive=True).fill_null(False)
        for name in present
    )
    rows = events.select(suspect.arg_true()).to_series()
    if rows.is_empty():
        return events
    masked = events.select(present)[rows].select(redact_text(pl.col(n)).alias(n) for n in present)
    return events.with_columns(
        events.get_column(name).clone().scatter(rows, masked.get_column(name)) for name in present
    )
