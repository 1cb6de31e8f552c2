"""Secrets out of every output: tokens, passwords, OAuth codes, cookies, Authorization.

Log text has no structure to walk, so text is rewritten with vectorised
regexes that keep the key and replace the value with ``<redacted>``. Parsers
redact what they read before building events (the log parser masks each
line once, and every column cut from the line inherits the mask), so no
secret reaches an event frame; ``redact_events`` masks a frame built any
other way.
"""

from __future__ import annotations

import functools
import json
import re
import urllib.parse
from typing import Any

import polars as pl
import regex

from parsers import scan
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
_DOUBLE_QUOTED = r"""(?:[^"\\]|\\.)*"""
_SINGLE_QUOTED = r"[^']*"

# Each pattern has exactly one capture group, the part that stays; what follows it is masked.
RULES: tuple[str, ...] = (
    rf"""(?i)({_KEY}{_SEPARATOR}"){_DOUBLE_QUOTED}""",
    rf"""(?i)({_KEY}{_SEPARATOR}'){_SINGLE_QUOTED}""",
    rf"""(?i)({_KEY}{_SEPARATOR}){_VALUE}""",
    rf"""(?i)((?:^|[?&;])(?:{_PARAM_KEYS})=)[^&\s"'#<>]+""",
    rf"""(?i)((?-u:\b)(?:{_PARAM_KEYS})=)[0-9]*[^0-9&\s"'#<>][^&\s"'#<>]*""",
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

# The first three rules as one: a key and its separator, then a double-quoted, single-quoted or
# bare value, the opening quote a group of its own so that it stays. The key ends where its word
# does and the separator cannot end elsewhere, so the value's first character alone decides
# which of the three rules matches: this matches exactly what they do, but the regex engine,
# resolving groups, tries the key once instead of three times (a third faster on a large log).
_KEYED = rf"""(?i)({_KEY}{_SEPARATOR})(?:("){_DOUBLE_QUOTED}|('){_SINGLE_QUOTED}|{_VALUE})"""

# All rules as one alternation, one pass over the text; groups of the alternatives that did
# not match substitute as empty, so the replacement names every group.
COMBINED = "|".join(f"(?:{pattern})" for pattern in (_KEYED, *RULES[3:]))
COMBINED_REPLACEMENT = "".join(f"${{{n}}}" for n in range(1, len(RULES) + 1)) + MASK


def redact_text(expr: pl.Expr) -> pl.Expr:
    """Return ``expr`` with every secret value masked."""
    return expr.str.replace_all(COMBINED, COMBINED_REPLACEMENT)


def redact_series(text: pl.Series) -> pl.Series:
    """Return ``text`` with every secret value masked; only rows holding a keyword are rewritten."""
    if scan.compiled is not None and text.dtype == pl.String:
        return scan.secrets(text)
    column = pl.col(text.name)
    keyword = column.str.contains_any(list(KEYWORDS), ascii_case_insensitive=True)
    rows = map_parallel(text, keyword).arg_true()
    if rows.is_empty():
        return text
    # A row the rules do not match costs the replacement no more than testing it would: only a
    # match makes the regex engine resolve groups.
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


# ------------------------------------------------------------ parsed documents (HAR, NetLog)

# Header, cookie, parameter and JSON key names whose value is always a secret.
SECRET_NAMES = regex.compile(
    rf"(?i)^(?:{_BOUNDED_KEYS}|{_PARAM_KEYS}|(?:proxy-)?authorization|(?:set-)?cookie"
    r"|x-[a-z-]*(?:token|auth|key|secret)[a-z-]*|[A-Za-z0-9_-]*(?:token|secret)[A-Za-z0-9_-]*"
    r"|access_?key|private_?key|credential[s]?|otp|mfa_?code|verify_?code)$"
)
# HAR lists of {name, value} pairs in which every value is a secret, whatever its name.
ALWAYS_SECRET_LISTS = frozenset({"cookies"})


@functools.lru_cache(maxsize=4096)
def is_secret_name(name: str) -> bool:
    """True when a value stored under ``name`` (header, cookie, parameter, key) is a secret."""
    return SECRET_NAMES.match(name.strip().strip("\"'")) is not None


def redact_document(value: Any, cut: int | None = None, _list_name: str = "") -> Any:
    """A copy of a parsed JSON document with every secret value masked, by structure.

    Values under secret names are masked whole ({name, value} pairs as HAR stores headers,
    cookies, query strings and form fields; plain object keys), every cookie is masked,
    text that is itself JSON or a form body is parsed and walked, and any other text goes
    through the text rules (URLs with ``code=``, ``Bearer`` tokens, JWT signatures). With
    ``cut``, longer strings are first cut to that length (the text rules mask a value cut
    short as surely as a whole one).
    """
    if isinstance(value, dict):
        if _list_name and "name" in value and "value" in value:
            name = str(value.get("name") or "")
            if _list_name in ALWAYS_SECRET_LISTS or is_secret_name(name):
                return {**value, "value": MASK}
        return {
            key: MASK if _secret_item(str(key), item) else redact_document(item, cut, str(key))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact_document(item, cut, _list_name) for item in value]
    if isinstance(value, str):
        if cut is not None and len(value) > cut:
            value = value[:cut] + f"… ({len(value):,} characters)"
        return redact_body(value)
    return value


def _secret_item(key: str, item: Any) -> bool:
    """A JSON member to mask whole. A number under ``code`` or ``state`` is a vendor's error
    code or a status (``{"code": 40029}``), not an OAuth value, and stays."""
    if isinstance(item, bool) or item is None or item == "" or not is_secret_name(key):
        return False
    if isinstance(item, int | float) or (isinstance(item, str) and item.isdigit()):
        return _PARAM_KEY_NAMES.match(key) is None
    return isinstance(item, str)


# Searched in lowercased text: a plain alternation beats a case-insensitive one fivefold.
_KEYWORD = re.compile("|".join(re.escape(word) for word in KEYWORDS))
# What any secret that redact_body masks needs: a text-rule keyword, a secret name's stem, or
# the @ of a URL password.
_BODY_HINT = re.compile(
    "|".join(re.escape(w) for w in (*KEYWORDS, "code", "state", "otp", "credential", "key")) + "|@"
)
_USERINFO = regex.compile(r"^([a-z][a-z0-9+.-]*://[^/?#@:]*:)[^/?#@]*@", regex.I)
_URL_START = regex.compile(r"(?i)[a-z][a-z0-9+.-]*://|/[^/\s]")
_PARAM_KEY_NAMES = regex.compile(rf"(?i)^(?:{_PARAM_KEYS})$")


def redact_body(text: str) -> str:
    """Mask secrets in a body or a string: JSON and form bodies by structure, else as text."""
    if _BODY_HINT.search(text.lower()) is None:
        return text  # no secret name, no URL password: most header values and bodies
    stripped = text.lstrip()
    if stripped[:1] in ("{", "[") and len(text) <= MAX_STRUCTURED_BODY:
        try:
            parsed = json.loads(text)
        except ValueError:
            pass
        else:
            return json.dumps(redact_document(parsed), ensure_ascii=False)
    if _URL_START.match(stripped):
        return redact_url(text)
    if "=" in text and "&" in text and " " not in stripped[:200] and "?" not in text[:200]:
        pairs = urllib.parse.parse_qsl(text, keep_blank_values=True)
        if pairs and any(is_secret_name(name) for name, _ in pairs):
            masked = [(name, MASK if is_secret_name(name) else value) for name, value in pairs]
            return urllib.parse.urlencode(masked, safe="<>")
    return _redact_string(text)


def redact_url(url: str) -> str:
    """``url`` with the value of every secret parameter of its query and fragment masked
    (implicit OAuth flows return the token in the fragment)."""
    head, mark, rest = url.partition("?")
    query, hash_mark, fragment = rest.partition("#") if mark else ("", *url.partition("#")[1:])
    if not mark:
        head = url.partition("#")[0]
    masked = _USERINFO.sub(rf"\1{MASK}@", head, count=1)
    if any(word in masked.lower() for word in KEYWORDS):
        masked = _redact_string(masked)
    if mark:
        masked += "?" + _mask_pairs(query)
    if hash_mark:
        masked += "#" + (_mask_pairs(fragment) if "=" in fragment else fragment)
    return masked


def _mask_pairs(query: str) -> str:
    parts = []
    for part in query.split("&"):
        name, equals, _ = part.partition("=")
        secret = equals and is_secret_name(urllib.parse.unquote_plus(name))
        parts.append(f"{name}={MASK}" if secret else part)
    return "&".join(parts)


MAX_STRUCTURED_BODY = 4 * 2**20


def _redact_string(text: str) -> str:
    """The text rules on one string, by the same linear-time engine as log lines."""
    if _KEYWORD.search(text.lower()) is None:
        return text
    masked = pl.Series([text]).str.replace_all(COMBINED, COMBINED_REPLACEMENT)
    return str(masked[0])
