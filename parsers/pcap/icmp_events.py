"""ICMP and ICMPv6 errors → events linked to the flow whose packet they quote.

A router that cannot forward a packet sends back its IP header and first
transport bytes; from those the error is tied to the flow (by Community ID)
and, for "fragmentation needed" and "packet too big", to the path MTU that
explains a black-holed TLS handshake.
"""

from __future__ import annotations

import ipaddress

import numpy as np
import polars as pl

from parsers.pcap.flows import address_text, community_id
from parsers.pcap.packets import ICMP, ICMPV6, TCP, UDP
from parsers.pcap.rows import Row, payload

# The largest MTU the Int32 field holds; RFC 8200 jumbograms stop far below it.
MAX_MTU = 2**31 - 1

# (IP version, type) → name; codes for destination unreachable.
ERRORS = {
    (4, 3): "destination unreachable",
    (4, 4): "source quench",
    (4, 5): "redirect",
    (4, 11): "time exceeded",
    (4, 12): "parameter problem",
    (6, 1): "destination unreachable",
    (6, 2): "packet too big",
    (6, 3): "time exceeded",
    (6, 4): "parameter problem",
}
UNREACHABLE_CODES = {
    4: {
        0: "network unreachable",
        1: "host unreachable",
        2: "protocol unreachable",
        3: "port unreachable",
        4: "fragmentation needed",
        9: "network administratively prohibited",
        10: "host administratively prohibited",
        13: "communication administratively prohibited",
    },
    6: {
        0: "no route",
        1: "administratively prohibited",
        3: "address unreachable",
        4: "port unreachable",
        5: "source address failed policy",
        6: "reject route",
    },
}
TRANSPORT_NAMES = {TCP: "tcp", UDP: "udp", ICMP: "icmp", ICMPV6: "ipv6-icmp"}


def icmp_events(
    buffer: np.ndarray,
    packets: pl.DataFrame,
    flows: pl.DataFrame,
    problems: list[tuple[int | None, str]],
) -> list[Row]:
    """One event per ICMP error, with the quoted flow's endpoints and Community ID."""
    errors = packets.filter(
        (pl.col("transport") == 3)
        & (
            ((pl.col("ip_version") == 4) & pl.col("icmp_type").is_in([3, 4, 5, 11, 12]))
            | ((pl.col("ip_version") == 6) & pl.col("icmp_type").is_in([1, 2, 3, 4]))
        )
    ).select(
        "frame",
        "ts_ns",
        "ip_version",
        "src_hi",
        "src_lo",
        "dst_hi",
        "dst_lo",
        "icmp_type",
        "icmp_code",
        "l4_at",
        "payload_at",
        "captured",
    )
    known = set(flows.get_column("community_id").to_list()) if flows.height else set()
    rows: list[Row] = []
    for (
        frame,
        ts_ns,
        version,
        s_hi,
        s_lo,
        d_hi,
        d_lo,
        kind,
        code,
        l4_at,
        at,
        length,
    ) in errors.iter_rows():
        header = payload(buffer, l4_at, 8)
        quoted = _quoted(payload(buffer, at, length), version)
        name = ERRORS[(version, kind)]
        if name == "destination unreachable":
            name = UNREACHABLE_CODES[version].get(code, f"{name} (code {code})")
        mtu = None
        if (version, kind, code) == (4, 3, 4):
            mtu = int.from_bytes(header[6:8], "big")
        elif (version, kind) == (6, 2):
            mtu = int.from_bytes(header[4:8], "big")
            if mtu > MAX_MTU:  # no link carries this; keep the claim in the message only
                name = f"{name} (claimed MTU {mtu})"
                mtu = None
        sender = address_text(s_hi, s_lo, ipv6=version == 6)
        row: Row = {
            "ts_ns": ts_ns,
            "loginlens.record": frame,
            "event.dataset": "pcap.icmp",
            "event.action": "icmp-error",
            "event.outcome": "failure",
            "network.transport": "icmp" if version == 4 else "ipv6-icmp",
            "loginlens.icmp.type": kind,
            "loginlens.icmp.code": code,
            "loginlens.icmp.mtu": mtu,
            "related.ip": sender,
        }
        text = f"ICMP {name}" + (f" (next-hop MTU {mtu})" if mtu is not None else "")
        text += f" from {sender}"
        if quoted is None:
            problems.append(
                (frame, "ICMP error quotes too little of the original packet to name its flow")
            )
            row["message"] = text
            row["source.ip"], row["destination.ip"] = (
                sender,
                address_text(d_hi, d_lo, ipv6=version == 6),
            )
            rows.append(row)
            continue
        proto, src, sport, dst, dport = quoted
        flow_id = community_id(src, sport, dst, dport, proto) if proto in (TCP, UDP) else None
        text += (
            f" about {TRANSPORT_NAMES.get(proto, str(proto)).upper()} {src}:{sport} → {dst}:{dport}"
        )
        if flow_id is not None and flow_id not in known:
            text += " (a flow not otherwise in the capture)"
        row.update(
            {
                "message": text,
                "source.ip": src,
                "source.port": sport,
                "destination.ip": dst,
                "destination.port": dport,
                "network.community_id": flow_id,
            }
        )
        rows.append(row)
    return rows


def _quoted(data: bytes, version: int) -> tuple[int, str, int, str, int] | None:
    """(protocol, source, source port, destination, destination port) of the quoted packet."""
    if version == 4 and len(data) >= 20 and data[0] >> 4 == 4:
        start = (data[0] & 0x0F) * 4
        proto = data[9]
        src, dst = str(ipaddress.IPv4Address(data[12:16])), str(ipaddress.IPv4Address(data[16:20]))
    elif version == 6 and len(data) >= 40 and data[0] >> 4 == 6:
        start, proto = 40, data[6]
        src = ipaddress.IPv6Address(data[8:24]).compressed
        dst = ipaddress.IPv6Address(data[24:40]).compressed
    else:
        return None
    if proto in (TCP, UDP) and len(data) >= start + 4:
        return (
            proto,
            src,
            int.from_bytes(data[start : start + 2], "big"),
            dst,
            int.from_bytes(data[start + 2 : start + 4], "big"),
        )
    return proto, src, 0, dst, 0
