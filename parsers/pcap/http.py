"""Follow HTTP/1.x on one TCP connection: message heads out, bodies skipped by counting.

The capture walker feeds each direction's payloads in sequence order. Heads are
buffered (at most 64 KiB), bodies never are, and a direction that stops making
sense as HTTP is reported once and then ignored, so hostile streams cost linear time.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import deque
from dataclasses import dataclass
from itertools import pairwise

MAX_HEAD = 64 * 1024
MAX_HEADERS = 100
MAX_VALUE = 8 * 1024
MAX_CHUNK_LINE = 1024
MAX_PENDING = 10_000  # unanswered pipelined requests remembered for pairing
KNOWN_METHODS = frozenset(
    {"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "CONNECT", "PATCH", "TRACE"}
)

# Upper-case tokens like CCM_POST count as methods when a target follows (zeek-methods.pcap).
_METHOD_START = re.compile(rb"([A-Z][A-Z0-9_-]{0,31}) (/|[Hh][Tt][Tt][Pp])?")
_METHOD_PREFIX = re.compile(rb"[A-Z][A-Z0-9_-]{0,31}(?: (?:/|[Hh](?:[Tt](?:[Tt][Pp]?)?)?)?)?")
_REQUEST_LINE = re.compile(r"([!#$%&'*+.^_`|~0-9A-Za-z-]+) +([^ ]+) +(HTTP/1\.[0-9]*)")
_STATUS_LINE = re.compile(r"(HTTP/1\.[0-9]*) +([0-9]{3})(?: (.*))?")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9a-z-]+")
_ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://([^/?#]*)")
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_LINE_END = re.compile(rb"\n")
_BLANK_LINES = re.compile(rb"[\r\n]*")  # RFC 9112 §2.2: ignored before a message
_CHUNK_SIZE = re.compile(rb"[ \t]*([0-9A-Fa-f]{1,16})[ \t]*(?:;.*)?")

# Direction states.
_HEAD, _LENGTH, _CHUNK_SIZE_LINE, _CHUNK_DATA, _CHUNK_END, _TRAILER = range(6)
_UNTIL_CLOSE, _AWAIT_CONNECT, _RESYNC, _STOPPED = range(6, 10)


class HttpError(ValueError):
    """The bytes are not a valid HTTP/1.x message head."""


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """A request head; ``path`` is the target without query (the authority for CONNECT)."""

    method: str
    target: str
    version: str
    host: str | None
    path: str
    user_agent: str | None
    headers: tuple[tuple[str, str], ...]  # lower-cased names, at most MAX_HEADERS
    frame: int


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """A response head."""

    version: str
    status: int
    reason: str
    location: str | None
    server: str | None
    content_type: str | None
    content_length: int | None
    headers: tuple[tuple[str, str], ...]
    frame: int


@dataclass(frozen=True, slots=True)
class HttpProblem:
    """Why a direction of the connection stopped being followed, and where."""

    frame: int
    reason: str


HttpEvent = HttpRequest | HttpResponse | HttpProblem


@dataclass(slots=True)
class _Framing:
    """What a head says about the body after it."""

    chunked: bool = False
    other_coding: bool = False  # Transfer-Encoding without chunked last
    length: int | None = None
    bad_length: bool = False


def looks_like_http(data: bytes) -> bool:
    """Return True if ``data`` starts like an HTTP/1.x request line or status line."""
    if data.startswith(b"HTTP/1."):
        return True
    match = _METHOD_START.match(data)
    return bool(match and (match[2] or match[1].decode("ascii") in KNOWN_METHODS))


def parse_head(data: bytes, frame: int) -> HttpRequest | HttpResponse:
    """Parse a request or response head (the blank line optional); raise HttpError if invalid."""
    return _parse_head(data, frame)[0]


def _parse_head(data: bytes, frame: int) -> tuple[HttpRequest | HttpResponse, _Framing]:
    lines = data.decode("latin-1").split("\n")
    first = lines[0].rstrip("\r")
    headers = _headers(lines[1:])
    framing = _framing(headers)
    kept = tuple(headers[:MAX_HEADERS])
    status = _STATUS_LINE.fullmatch(first)
    if status:
        return HttpResponse(
            version=status[1],
            status=int(status[2]),
            reason=(status[3] or "").strip(),
            location=_first(headers, "location"),
            server=_first(headers, "server"),
            content_type=_first(headers, "content-type"),
            content_length=framing.length,
            headers=kept,
            frame=frame,
        ), framing
    request = _REQUEST_LINE.fullmatch(first.rstrip(" \t"))
    if not request:
        raise HttpError(f"not an HTTP/1.x request or status line: {_preview(data)}")
    method, target = request[1], request[2]
    authority = _ABSOLUTE.match(target)
    host = _first(headers, "host")
    # tshark's http.host is the Host header too; the URL's authority is only a fallback.
    if host is None and authority:
        host = authority[1]
    if host is None and method == "CONNECT":
        host = target
    return HttpRequest(
        method=method,
        target=target,
        version=request[3],
        host=host,
        path=_path(method, target, authority),
        user_agent=_first(headers, "user-agent"),
        headers=kept,
        frame=frame,
    ), framing


def _headers(lines: list[str]) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    for raw in lines:
        line = raw.rstrip("\r")
        if not line:
            break
        if line[0] in " \t":
            if headers:  # obsolete line folding continues the previous value
                name, value = headers[-1]
                headers[-1] = (name, (value + " " + line.strip(" \t"))[:MAX_VALUE])
            continue
        name, colon, value = line.partition(":")
        name = name.strip(" \t").lower()
        # Wireshark ends the head at a line without a colon and calls the rest body; the
        # blank line is what both peers framed the message by, so skip the line instead.
        if colon and _HEADER_NAME.fullmatch(name):
            headers.append((name, value.strip(" \t")[:MAX_VALUE]))
    return headers


def _framing(headers: list[tuple[str, str]]) -> _Framing:
    framing = _Framing()
    codings = [
        c.strip().lower() for n, v in headers if n == "transfer-encoding" for c in v.split(",")
    ]
    codings = [c for c in codings if c]
    if codings:
        framing.chunked = codings[-1] == "chunked"
        framing.other_coding = not framing.chunked
    lengths = {v.strip() for n, value in headers if n == "content-length" for v in value.split(",")}
    if lengths:
        # RFC 9110 §8.6: repeated values must agree.
        value = lengths.pop() if len(lengths) == 1 else ""
        if value.isascii() and value.isdigit() and len(value) <= 18:
            framing.length = int(value)
        else:
            framing.bad_length = True
    return framing


def _first(headers: list[tuple[str, str]], name: str) -> str | None:
    return next((value for key, value in headers if key == name), None)


def _path(method: str, target: str, authority: re.Match[str] | None) -> str:
    if method == "CONNECT" or target == "*":
        return target
    rest = target[authority.end() :] if authority else target
    path = rest.partition("?")[0].partition("#")[0]
    return path or "/"


def _starts_head(data: bytes, from_client: bool) -> bool:
    if from_client:
        return looks_like_http(data) and not data.startswith(b"HTTP/")
    return data.startswith(b"HTTP/1.")


def _preview(data: bytes | bytearray) -> str:
    text = bytes(data[:16]).decode("latin-1")
    shown = "".join(c if " " <= c <= "~" else f"\\x{ord(c):02x}" for c in text)
    return f"'{shown}…'" if len(data) > 16 else f"'{shown}'"


class _Direction:
    """One direction's unconsumed bytes, where each fed segment began, and its state."""

    __slots__ = ("base", "buffer", "frames", "remaining", "scan", "started", "starts", "state")

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.base = 0  # stream offset of buffer[0]
        self.starts: list[int] = []  # stream offset of each fed segment
        self.frames: list[int] = []
        self.state = _HEAD
        self.remaining = 0
        self.scan = 0  # stream offset searches resume from, so trickled bytes cost linear time
        self.started = False  # a head has been read in this direction

    def append(self, data: bytes, frame: int) -> None:
        self.starts.append(self.base + len(self.buffer))
        self.frames.append(frame)
        self.buffer += data

    def frame_at(self, index: int) -> int:
        return self.frames[max(bisect_right(self.starts, self.base + index) - 1, 0)]

    def consume(self, count: int) -> None:
        del self.buffer[:count]
        self.base += count
        drop = bisect_right(self.starts, self.base) - 1
        if drop > 0:
            del self.starts[:drop], self.frames[:drop]

    def pieces(self, index: int) -> list[tuple[bytes, int]]:
        """The buffer from ``index`` on, cut back into the segments it was fed as."""
        first = max(bisect_right(self.starts, self.base + index) - 1, 0)
        bounds = [self.base + index, *self.starts[first + 1 :], self.base + len(self.buffer)]
        return [
            (bytes(self.buffer[a - self.base : b - self.base]), frame)
            for (a, b), frame in zip(pairwise(bounds), self.frames[first:], strict=True)
            if b > a
        ]

    def find(self, pattern: re.Pattern[bytes], pos: int, limit: int) -> re.Match[bytes] | None:
        start = max(pos, self.scan - self.base - 3)
        match = pattern.search(self.buffer, start, pos + limit)
        self.scan = 0 if match else self.base + len(self.buffer)
        return match


class HttpConnection:
    """Both directions of one HTTP/1.x connection; feed payloads in sequence order."""

    def __init__(self) -> None:
        self._client = _Direction()
        self._server = _Direction()
        self._pending: deque[str] = deque(maxlen=MAX_PENDING)  # methods awaiting a response
        self._tunnel = False
        self._tunnel_data: tuple[tuple[bool, bytes, int], ...] = ()
        self._resume_client = False  # a refused CONNECT releases the client's held bytes

    @property
    def tunnel_established(self) -> bool:
        """True once a CONNECT was answered 2xx: the rest of both directions is tunnelled."""
        return self._tunnel

    @property
    def tunnel_data(self) -> tuple[tuple[bool, bytes, int], ...]:
        """Tunnel bytes already fed, as (from_client, data, frame): what the client sent
        before the 2xx, then what followed the 2xx head in its segments."""
        return self._tunnel_data

    def feed(self, from_client: bool, data: bytes, frame: int) -> list[HttpEvent]:
        """Add one payload; return the heads and problems it completed, in stream order."""
        side = self._client if from_client else self._server
        if side.state == _RESYNC and _starts_head(data, from_client):
            side.state = _HEAD
        if not data or side.state in (_STOPPED, _UNTIL_CLOSE, _RESYNC):
            return []
        side.append(data, frame)
        events: list[HttpEvent] = []
        self._run(side, from_client, events)
        if self._resume_client:
            self._resume_client = False
            self._run(self._client, True, events)
        for direction in (self._client, self._server):
            if direction.state in (_STOPPED, _UNTIL_CLOSE, _RESYNC):
                direction.consume(len(direction.buffer))  # nothing more will be read from it
        return events

    def _run(self, side: _Direction, from_client: bool, events: list[HttpEvent]) -> None:
        buffer = side.buffer
        pos = 0
        while pos < len(buffer):
            state = side.state
            if state in (_STOPPED, _UNTIL_CLOSE, _RESYNC):
                pos = len(buffer)
            elif state == _AWAIT_CONNECT:
                if len(buffer) - pos > MAX_HEAD:
                    self._stop(side, pos, "over 64 KiB sent before CONNECT was answered", events)
                break
            elif state == _HEAD:
                blank = _BLANK_LINES.match(buffer, pos)
                pos = blank.end() if blank else pos
                if pos == len(buffer):
                    break
                after = self._head(side, from_client, pos, events)
                if after is None:
                    break
                pos = after
            elif state in (_LENGTH, _CHUNK_DATA):
                take = min(side.remaining, len(buffer) - pos)
                pos += take
                side.remaining -= take
                if not side.remaining:
                    side.state = _HEAD if state == _LENGTH else _CHUNK_END
            else:
                after = self._chunked(side, pos, events)
                if after is None:
                    break
                pos = after
        side.consume(pos)

    def _head(
        self, side: _Direction, from_client: bool, pos: int, events: list[HttpEvent]
    ) -> int | None:
        """Read the head at ``pos``; return the offset after it, or None to wait for bytes."""
        start = bytes(side.buffer[pos : pos + 40])
        if not _starts_head(start, from_client):
            if from_client:
                partial = _METHOD_PREFIX.fullmatch(start) is not None
            else:
                partial = b"HTTP/1.".startswith(start)
            if not partial:
                self._stop(side, pos, f"not HTTP: data starts {_preview(start)}", events)
                if not side.started:
                    # A capture that began mid-body: look for a head at each later segment.
                    side.state = _RESYNC
            return None
        match = side.find(_HEAD_END, pos, MAX_HEAD)
        if match is None:
            if len(side.buffer) - pos >= MAX_HEAD:
                self._stop(side, pos, f"head longer than {MAX_HEAD} bytes", events)
            return None
        frame = side.frame_at(pos)
        try:
            message, framing = _parse_head(bytes(side.buffer[pos : match.end()]), frame)
        except HttpError as error:
            self._stop(side, pos, str(error), events)
            return None
        events.append(message)
        side.started = True
        if isinstance(message, HttpRequest):
            self._request_body(side, message, framing, pos, events)
        else:
            self._response_body(message, framing)
            if self._tunnel and not self._tunnel_data:
                self._tunnel_data = (
                    *((True, data, f) for data, f in self._client.pieces(0)),
                    *((False, data, f) for data, f in side.pieces(match.end())),
                )
        return match.end()

    def _request_body(
        self,
        side: _Direction,
        request: HttpRequest,
        framing: _Framing,
        pos: int,
        events: list[HttpEvent],
    ) -> None:
        self._pending.append(request.method)
        if framing.other_coding or framing.bad_length:
            self._stop(side, pos, "request body length unknown", events)
        elif framing.chunked:
            side.state = _CHUNK_SIZE_LINE
        elif framing.length:
            side.state, side.remaining = _LENGTH, framing.length
        if request.method == "CONNECT" and side.state == _HEAD:
            # Clients may send tunnel bytes before the answer; hold them until it comes.
            side.state = _AWAIT_CONNECT

    def _response_body(self, response: HttpResponse, framing: _Framing) -> None:
        side = self._server
        status = response.status
        final = status >= 200 or status == 101
        method = self._pending.popleft() if final and self._pending else None
        if method == "CONNECT" and self._client.state == _AWAIT_CONNECT:
            self._client.state = _HEAD
            self._resume_client = True
        if status == 101 or (method == "CONNECT" and 200 <= status < 300):
            # Switched protocols or tunnel: neither direction carries HTTP/1.x any more.
            self._tunnel = self._tunnel or status != 101
            self._client.state = side.state = _STOPPED
        elif method == "HEAD" or status < 200 or status in (204, 304):
            pass
        elif framing.chunked:
            side.state = _CHUNK_SIZE_LINE
        elif framing.length is not None and not framing.other_coding:
            if framing.length:
                side.state, side.remaining = _LENGTH, framing.length
        else:
            side.state = _UNTIL_CLOSE

    def _chunked(self, side: _Direction, pos: int, events: list[HttpEvent]) -> int | None:
        """Step through chunk framing at ``pos``; return the new offset, or None to wait."""
        buffer = side.buffer
        if side.state == _CHUNK_END:
            if buffer[pos] == 0x0A:
                side.state = _CHUNK_SIZE_LINE
                return pos + 1
            if buffer[pos : pos + 2] == b"\r\n":
                side.state = _CHUNK_SIZE_LINE
                return pos + 2
            if buffer[pos:] != b"\r":
                self._stop(side, pos, "chunk data not followed by CRLF", events)
            return None
        limit = MAX_CHUNK_LINE if side.state == _CHUNK_SIZE_LINE else MAX_HEAD
        match = side.find(_LINE_END, pos, limit)
        if match is None:
            if len(buffer) - pos >= limit:
                self._stop(side, pos, "chunk size or trailer line too long", events)
            return None
        line = bytes(buffer[pos : match.start()]).rstrip(b"\r")
        if side.state == _TRAILER:
            if not line:
                side.state = _HEAD
        elif size := _CHUNK_SIZE.fullmatch(line):
            side.remaining = int(size[1], 16)
            side.state = _CHUNK_DATA if side.remaining else _TRAILER
        else:
            self._stop(side, pos, f"bad chunk size line {_preview(line)}", events)
            return None
        return match.end()

    def _stop(self, side: _Direction, pos: int, reason: str, events: list[HttpEvent]) -> None:
        events.append(HttpProblem(side.frame_at(pos), reason))
        side.state = _STOPPED
