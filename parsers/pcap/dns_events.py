"""DNS messages → events: each response matched to its query, duplicates numbered.

A lookup answered twice (an injected reply racing the real one) is the
classic sign of DNS poisoning, so every response is its own event carrying
its arrival order, how many responses the query got, the response time and
the IP TTL it arrived with (a forged reply often has a different one).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from parsers.pcap.dns import split_tcp_dns
from parsers.pcap.rows import DnsPacket, Row, Segment, elapsed

MAX_SHOWN_ANSWERS = 6


def tcp_dns_messages(segments: Iterable[Segment]) -> Iterator[tuple[bool, bytes, int, int, int]]:
    """Length-prefixed DNS messages of one TCP flow, with the frame that completed each."""
    pending = {True: b"", False: b""}
    for from_orig, data, frame, ts_ns, ttl in segments:
        messages, pending[from_orig] = split_tcp_dns(pending[from_orig] + data)
        for message in messages:
            yield from_orig, message, frame, ts_ns, ttl


def dns_events(packets: list[DnsPacket], problems: list[tuple[int | None, str]]) -> list[Row]:
    """One event per response, and one per query that got no response at all."""
    queries: dict[tuple[str, int], list[DnsPacket]] = {}
    answered: dict[int, list[DnsPacket]] = {}  # query frame → its responses
    orphans: list[DnsPacket] = []
    for packet in sorted(packets, key=lambda p: p.frame):
        if packet.message is None:
            problems.append((packet.frame, f"DNS message unreadable: {packet.error}"))
            continue
        for problem in packet.message.problems:
            problems.append((packet.frame, f"DNS: {problem}"))
        key = (packet.flow.community_id, packet.message.id)
        if not packet.message.response:
            queries.setdefault(key, []).append(packet)
            continue
        earlier = [q for q in queries.get(key, []) if q.frame < packet.frame]
        if earlier:
            answered.setdefault(earlier[-1].frame, []).append(packet)
        else:
            orphans.append(packet)
    rows: list[Row] = []
    for attempts in queries.values():
        replied = [q for q in attempts if q.frame in answered]
        if not replied:
            rows.append(_unanswered(attempts))
        for query in replied:
            responses = answered[query.frame]
            rows.extend(
                _answer(query, response, index + 1, len(responses))
                for index, response in enumerate(responses)
            )
    rows.extend(_answer(None, response, 1, 1) for response in orphans)
    return rows


def _base(packet: DnsPacket) -> Row:
    message = packet.message
    assert message is not None
    return {
        "ts_ns": packet.ts_ns,
        "loginlens.record": packet.frame,
        "event.dataset": "pcap.dns",
        **packet.flow.endpoints(),
        "network.protocol": "dns",
        "dns.id": message.id,
        "dns.question.name": message.qname,
        "dns.question.type": message.qtype,
        "destination.domain": message.qname,
    }


def _answer(query: DnsPacket | None, response: DnsPacket, index: int, total: int) -> Row:
    message = response.message
    assert message is not None
    answers = message.answers
    resolved = [a.data for a in answers if a.type in ("A", "AAAA")]
    took = elapsed(response.ts_ns, query.ts_ns if query is not None else None)
    # Addresses and aliases explain a lookup; signatures and glue records stay in the fields.
    plain = [a.data for a in answers if a.type in ("A", "AAAA", "CNAME")]
    shown = ", ".join(plain[:MAX_SHOWN_ANSWERS])
    if len(answers) > len(plain[:MAX_SHOWN_ANSWERS]):
        shown += f", … ({len(answers)} answers)"
    text = f"DNS {message.qname} {message.qtype} → {message.rcode_name}"
    text += f": {shown}" if shown else ""
    if query is None:
        text += " (no query seen)"
    elif took is not None:
        text += f" in {took / 1e6:.1f} ms"
    if total > 1:
        text += f"; response {index} of {total} to one query"
    text += f", IP TTL {response.ttl}"
    return {
        **_base(response),
        "event.action": "dns-answer",
        "event.outcome": "success" if message.rcode == 0 else "failure",
        "event.duration": took,
        "message": text,
        "dns.type": "answer",
        "dns.response_code": message.rcode_name,
        "dns.answers.type": [a.type for a in answers],
        "dns.answers.data": [a.data for a in answers],
        "dns.answers.ttl": [a.ttl for a in answers],
        "dns.resolved_ip": resolved,
        "loginlens.dns.response_index": index,
        "loginlens.dns.responses": total,
        "loginlens.ip.ttl": response.ttl,
    }


def _unanswered(attempts: list[DnsPacket]) -> Row:
    first = attempts[0]
    assert first.message is not None
    sent = f"sent {len(attempts)} times" if len(attempts) > 1 else "sent once"
    return {
        **_base(first),
        "event.action": "dns-query",
        "event.outcome": "failure",
        "message": f"DNS {first.message.qname} {first.message.qtype}: no response ({sent})",
        "dns.type": "query",
        "loginlens.dns.responses": 0,
        "loginlens.ip.ttl": first.ttl,
    }
