"""Types the deep-tier dissectors share: the flow a payload belongs to, and event rows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import repeat
from types import MappingProxyType
from typing import Any, NamedTuple

import numpy as np

from parsers.pcap import dns as dns_wire
from parsers.pcap.walk import NO_TIME

# An event row: ``ts_ns`` (int nanoseconds) plus event-schema columns.
Row = dict[str, Any]
# One TCP segment's payload: (from originator, bytes, frame number, time in ns, IP TTL).
Segment = tuple[bool, bytes, int, int, int]


@dataclass
class Columns:
    """Event rows as columns, as a share of the deep tier hands them back.

    Names are in the order rows first use them; a column a row lacks holds None there.
    Lists of plain values cross from a forked child several times faster than dicts.
    """

    count: int = 0
    values: dict[str, list[Any]] = field(default_factory=dict)

    @classmethod
    def of(cls, rows: list[Row]) -> Columns:
        names = dict.fromkeys(name for row in rows for name in row)
        return cls(len(rows), {name: list(map(dict.get, rows, repeat(name))) for name in names})

    def extend(self, other: Columns) -> None:
        """Append ``other``'s rows."""
        for name, values in other.values.items():
            if name in self.values:
                self.values[name].extend(values)
            else:
                self.values[name] = [None] * self.count + values
        self.count += other.count
        for column in self.values.values():
            column.extend(repeat(None, self.count - len(column)))


@dataclass(frozen=True)
class FlowInfo:
    """What events need to know about the flow a payload belongs to."""

    orig_ip: str
    orig_port: int
    resp_ip: str
    resp_port: int
    community_id: str
    proto: int
    _endpoints: Mapping[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Made once per flow: every event of the flow starts from them.
        endpoints = {
            "source.ip": self.orig_ip,
            "source.port": self.orig_port,
            "destination.ip": self.resp_ip,
            "destination.port": self.resp_port,
            "network.community_id": self.community_id,
            "network.transport": "tcp" if self.proto == 6 else "udp",
        }
        object.__setattr__(self, "_endpoints", MappingProxyType(endpoints))

    def endpoints(self) -> Mapping[str, Any]:
        """ECS source/destination columns, the originator as source (read-only)."""
        return self._endpoints


class DnsPacket(NamedTuple):
    """One DNS message (or why it could not be read) with where and when it was seen.

    A named tuple: a capture holds tens of thousands, and a frozen dataclass's __init__ costs
    several times a tuple's."""

    frame: int
    ts_ns: int
    flow: FlowInfo
    from_orig: bool
    ttl: int
    transport: str
    message: dns_wire.DnsMessage | None
    error: str | None = None


def elapsed(later: int, earlier: int | None) -> int | None:
    """Nanoseconds between two packet times; None when either packet has no time."""
    if earlier is None or NO_TIME in (later, earlier):
        return None
    return later - earlier


def payload(buffer: np.ndarray | memoryview, at: int, length: int) -> bytes:
    """The captured bytes at ``at``; a memoryview of the buffer copies them fastest."""
    return buffer[at : at + length].tobytes()
