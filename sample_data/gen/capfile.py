"""A capture being recorded: the interface's clock, framing and counters; pcap/pcapng output."""

from __future__ import annotations

import hashlib
import ipaddress
import random
import struct
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from sample_data.gen import packets
from sample_data.gen.packets import BROADCAST

Seed = int | str
Link = Literal["ether", "sll"]
Format = Literal["pcap", "pcapng"]

LINKTYPE_ETHERNET = 1
LINKTYPE_LINUX_SLL = 113
SNAPLEN = 262144
CLIENT_MAC = "3c:7c:3f:1e:92:4b"
GATEWAY_MAC = "f4:2a:7d:10:0c:01"


def _rng(seed: Seed, *labels: str) -> random.Random:
    # A digest, not hash(), so the stream is the same under any PYTHONHASHSEED.
    text = "\x1f".join([repr(seed), *labels]).encode()
    return random.Random(int.from_bytes(hashlib.sha256(text).digest(), "big"))


def us(seconds: float) -> int:
    """Seconds as whole microseconds, the unit of every capture timestamp."""
    return round(seconds * 1_000_000)


def _gateway_for(client_ip: str) -> str:
    address = ipaddress.ip_address(client_ip)
    if address.version == 6:
        return str(ipaddress.ip_network(f"{client_ip}/64", strict=False).network_address + 1)
    return str(ipaddress.ip_network(f"{client_ip}/24", strict=False).network_address + 1)


def pcap_bytes(frames: Sequence[tuple[int, bytes, int]], linktype: int) -> bytes:
    """A classic pcap file (microsecond stamps) of ``(time, frame, direction)``."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, SNAPLEN, linktype)]
    for ts, data, _ in frames:
        sec, usec = divmod(ts, 1_000_000)
        out.append(struct.pack("<IIII", sec, usec, len(data), len(data)))
        out.append(data)
    return b"".join(out)


def _option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + value + b"\x00" * (-len(value) % 4)


def _block(kind: int, body: bytes) -> bytes:
    length = 12 + len(body)
    return struct.pack("<II", kind, length) + body + struct.pack("<I", length)


def pcapng_bytes(frames: Sequence[tuple[int, bytes, int]], linktype: int, ifname: str) -> bytes:
    """A pcapng file: one interface, each packet with its direction flag."""
    # Written by hand: scapy's writer truncates float timestamps and has no direction flags.
    end = _option(0, b"")
    shb = struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)
    shb += _option(4, b"loginlens sample_data generator") + end
    idb = struct.pack("<HHI", linktype, 0, SNAPLEN)
    idb += _option(2, ifname.encode()) + _option(9, b"\x06") + end
    out = [_block(0x0A0D0D0A, shb), _block(1, idb)]
    for ts, data, direction in frames:
        epb = struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(data), len(data))
        epb += data + b"\x00" * (-len(data) % 4)
        epb += _option(2, struct.pack("<I", direction)) + end
        out.append(_block(6, epb))
    return b"".join(out)


class CaptureFile:
    """The frames seen on the client's interface, with its clock, addresses and counters.

    ``Capture`` adds the exchanges; ``Flow`` sends through the same clock and counters.
    """

    def __init__(
        self,
        seed: Seed,
        start: datetime,
        client_ip: str | None = None,
        client_mac: str = CLIENT_MAC,
        gateway_mac: str = GATEWAY_MAC,
        resolver_ip: str | None = None,
        *,
        link: Link = "ether",
        ipv6: bool = False,
        gateway_ip: str | None = None,
        client_ttl: int = 128,
        resolver_ttl: int | None = None,
        server_clock_offset: float = 0.0,
    ) -> None:
        # Capture's constructor too: the rng draws below must stay in this order.
        if link not in ("ether", "sll"):
            raise ValueError(f"link must be 'ether' or 'sll', not {link!r}")
        self.rng = _rng(seed, "capture")
        self.link = link
        self.ipv6 = ipv6
        self.client_ip = client_ip or (
            "240e:390:5a1:c0b0:8d2:4f1e:3b7a:91c4" if ipv6 else "192.168.1.23"
        )
        self.gateway_ip = gateway_ip or _gateway_for(self.client_ip)
        self.resolver_ip = resolver_ip or self.gateway_ip
        self.client_mac = client_mac
        self.gateway_mac = gateway_mac
        self.client_ttl = client_ttl
        private = ipaddress.ip_address(self.resolver_ip).is_private
        self.resolver_ttl = resolver_ttl or (64 if private else self.rng.randint(46, 57))
        self.server_clock_offset = server_clock_offset
        start = start.replace(tzinfo=UTC) if start.tzinfo is None else start
        self._epoch_us = us((start - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds())
        self._clock = 0
        self._frames: list[tuple[int, bytes, int]] = []
        # Windows hands out ephemeral ports from 49152, Linux/macOS-like stacks from 32768.
        self._ports = (49152, 65535) if client_ttl > 64 else (32768, 60999)
        self._next_port = self.rng.randint(*self._ports)
        self._client_ipid = self.rng.randrange(65536)
        self._resolver_ipid = self.rng.randrange(65536)
        self._last_sent: bytes | None = None
        self._mdns_sent = 0

    # -- clock

    @property
    def elapsed(self) -> float:
        """Seconds since the capture start."""
        return self._clock / 1_000_000

    @property
    def now(self) -> datetime:
        """The capture clock as an aware UTC datetime."""
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(
            microseconds=self._epoch_us + self._clock
        )

    def wait(self, seconds: float) -> None:
        """Advance the clock."""
        self._clock += us(seconds)

    def set_time(self, seconds: float) -> None:
        """Move the clock to ``seconds`` after start, also backwards to overlap exchanges.

        Packets are written in time order, so overlapping exchanges interleave.
        """
        self._clock = us(seconds)

    def _gap(self, low: float, high: float) -> int:
        return self.rng.randint(us(low), us(high))

    # -- framing

    @property
    def linktype(self) -> int:
        return LINKTYPE_LINUX_SLL if self.link == "sll" else LINKTYPE_ETHERNET

    def _emit(
        self,
        t: int,
        packet: bytes,
        outgoing: bool,
        *,
        src_mac: str | None = None,
        dst_mac: str | None = None,
        ethertype: int | None = None,
    ) -> None:
        if ethertype is None:
            ethertype = 0x86DD if packet[0] >> 4 == 6 else 0x0800
        src = src_mac or (self.client_mac if outgoing else self.gateway_mac)
        dst = dst_mac or (self.gateway_mac if outgoing else self.client_mac)
        if self.link == "ether":
            frame = packets.mac(dst) + packets.mac(src) + ethertype.to_bytes(2, "big") + packet
            if not outgoing and len(frame) < 60:  # the NIC hands up padded frames
                frame += b"\x00" * (60 - len(frame))
        else:
            if outgoing:
                kind = 4
            elif dst == BROADCAST:
                kind = 1
            elif packets.mac(dst)[0] & 1:
                kind = 2
            else:
                kind = 0
            frame = struct.pack("!HHH8sH", kind, 1, 6, packets.mac(src), ethertype) + packet
        self._frames.append((t, frame, 2 if outgoing else 1))
        self._clock = max(self._clock, t)

    def _next_ipid(self) -> int:
        # One counter for all the client's packets, as Windows does.
        self._client_ipid = (self._client_ipid + 1) & 0xFFFF
        return self._client_ipid

    def _client_ip_packet(self, dst: str, proto: int, payload: bytes, df: bool = True) -> bytes:
        return packets.ip(
            packets.addr(self.client_ip),
            packets.addr(dst),
            proto,
            payload,
            self.client_ttl,
            self._next_ipid(),
            df,
        )

    def _send_ip(self, t: int, packet: bytes) -> None:
        self._last_sent = packet
        self._emit(t, packet, True)

    def _port(self) -> int:
        low, high = self._ports
        self._next_port += self.rng.randint(1, 3)
        if self._next_port > high:
            self._next_port = low + (self._next_port - high)
        return self._next_port

    def _icmp_error(
        self,
        t: int,
        kind: int,
        code: int,
        quoted: bytes,
        from_ip: str,
        rest: bytes = b"\x00\x00\x00\x00",
    ) -> None:
        src, dst = packets.addr(from_ip), packets.addr(self.client_ip)
        message = packets.icmp(src, dst, kind, code, rest, packets.quote(quoted))
        ttl = 64 if ipaddress.ip_address(from_ip).is_private else 50
        self._emit(
            t,
            packets.ip(
                src,
                dst,
                58 if len(src) == 16 else 1,
                message,
                ttl,
                self.rng.randrange(65536),
                False,
            ),
            False,
        )

    # -- output

    def frames(self) -> list[tuple[int, bytes]]:
        """The frames in time order as (microseconds since the Unix epoch, link-layer bytes)."""
        return [(self._epoch_us + t, data) for t, data, _ in self._sorted()]

    def _sorted(self) -> list[tuple[int, bytes, int]]:
        return sorted(self._frames, key=lambda frame: frame[0])  # stable: ties keep call order

    def to_bytes(self, fmt: Format = "pcap") -> bytes:
        """The capture as a classic pcap (microsecond) or pcapng file."""
        frames = [(self._epoch_us + t, data, d) for t, data, d in self._sorted()]
        if fmt == "pcap":
            return pcap_bytes(frames, self.linktype)
        if fmt == "pcapng":
            return pcapng_bytes(frames, self.linktype, "any" if self.link == "sll" else "eth0")
        raise ValueError(f"fmt must be 'pcap' or 'pcapng', not {fmt!r}")

    def write(self, path: str | Path, fmt: Format | None = None) -> Path:
        """Write the capture (``fmt``, else by suffix: .pcapng or pcap) and return the path."""
        path = Path(path)
        fmt = fmt or ("pcapng" if path.suffix == ".pcapng" else "pcap")
        path.write_bytes(self.to_bytes(fmt))
        return path

    def __len__(self) -> int:
        return len(self._frames)
