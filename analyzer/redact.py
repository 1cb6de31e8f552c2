"""Secrets out of every output: tokens, passwords, OAuth codes, cookies, Authorization.

Log text has no structure to walk, so text is rewritten with vectorised
regexes that keep the key and replace the value with ``<redacted>``. Parsers
redact what they read before building events (the log parser masks each
line once, and every column cut from the line inherits the mask), so no
secret reaches an event frame; ``redact_events`` masks a frame built any
other way.
"""

from __future__ import annotations

import polars as pl

from parsers.frames import map_parallel

MASK = "<redacted>"

# Keys whose values are secrets wherever they appear (query strings, key=value, JSON), in
# snake_case or camelCase. Any word ending in "token" or holding "secret" counts (csrfToken,
# appSecret, secret_key).
_BOUNDED_KEYS = (
    r"password|passwd|pwd|user_?ticket|ticket|session_?key|session_?id|sid|skey|api_?key"
)
_KEY = rf"(?:(?-u:\b)(?:{_BOUNDED_KEYS})|[A-Za-z0-9_]*(?:token|secret[A-Za-z0-9_]*))"
_SEPARATOR = r"""["']?\s*[:=]\s*"""
# OAuth ``code`` and ``state``: always as request parameters; after a space only when the value
# is not a plain number (``code=11`` in a log is an error code and must survive).
_PARAM_KEYS = r"code|state|auth_?code"
_VALUE = r"""[^&\s"',;}\]<>]+"""

# Each pattern has exactly one capture group, the part that stays; what follows it is masked.
RULES: tuple[str, ...] = (
    rf"""(?i)({_KEY}{_SEPARATOR}")(?:[^"\\]|\\.)*""",
    rf"""(?i)({_KEY}{_SEPARATOR}')[^']*""",
    rf"""(?i)({_KEY}{_SEPARATOR}){_VALUE}""",
    rf"""(?i)((?:^|[?&;])(?:{_PARAM_KEYS})=)[^&\s"'#<>]+""",
    rf"""(?i)((?-u:\b)(?:{_PARAM_KEYS})=)\d*[^\d&\s"'#<>][^&\s"'#<>]*""",
    r"""(?i)(?-u:\b)((?:proxy-)?authorization["']?\s*[:=]\s*["']?)[^\r\n"',}]+""",
    r"(?i)(?-u:\b)(bearer\s+)[A-Za-z0-9._~+/=-]+",
    r"""(?i)(?-u:\b)((?:set-)?cookie["']?\s*[:=]\s*["']?)[^\r\n"']+""",
    r"(?-u:\b)(eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.)[A-Za-z0-9_-]+",
)

# Every rule above needs one of these words; rows without any are left alone, which spares
# the regexes most of a large log.
KEYWORDS = (
    "token", "secret", "passw", "pwd", "ticket", "session", "sid", "skey", "api_key", "apikey",
    "code=", "state=", "authorization", "bearer", "cookie", "eyj",
)  # fmt: skip

# All rules as one alternation, one pass over the text; groups of the alternatives that did
# not match substitute as empty, so the replacement names every group.
COMBINED = "|".join(f"(?:{pattern})" for pattern in RULES)
COMBINED_REPLACEMENT = "".join(f"${{{n}}}" for n in range(1, len(RULES) + 1)) + MASK


def redact_text(expr: pl.Expr) -> pl.Expr:
    """Return ``expr`` with every secret value masked."""
    return expr.str.replace_all(COMBINED, COMBINED_REPLACEMENT)


def redact_series(text: pl.Series) -> pl.Series:
    """Return ``text`` with every secret value masked; only rows holding a keyword are rewritten."""
    column = pl.col(text.name)
    keyword = column.str.contains_any(list(KEYWORDS), ascii_case_insensitive=True)
    rows = map_parallel(text, keyword).arg_true()
    if rows.is_empty():
        return text
    # Captures make replacement slow, so rows are first checked for a whole match.
    suspects = text.gather(rows)
    rows = rows.filter(map_parallel(suspects, column.str.contains(COMBINED)))
    if rows.is_empty():
        return text
    masked = map_parallel(text.gather(rows), redact_text(column))
    return text.clone().scatter(rows, masked)


def redact_events(events: pl.DataFrame) -> pl.DataFrame:
    """Mask secrets in every text column of an event frame, lists of text included.

    Every column, not a chosen few: a secret can ride in any field a dissector fills (a
    redirect's Location, a header, a DNS name), and a column added later is covered too.
    """
    schema = events.schema
    texts = [redact_series(events.get_column(n)) for n, t in schema.items() if t == pl.String]
    lists = [
        pl.col(n).list.eval(redact_text(pl.element()))
        for n, t in schema.items()
        if t == pl.List(pl.String)
    ]
    return events.with_columns(*texts, *lists)
