"""DNS and mDNS messages built with scapy, cached per content; the transaction id is patched in."""

from __future__ import annotations

import functools
import ipaddress

from scapy.layers.dns import DNS, DNSQR, DNSRR, DNSRRSOA, dns_compress


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _zone(name: str) -> str:
    return ".".join(name.rstrip(".").split(".")[-2:])


@functools.cache
def query(name: str, qtype: str) -> bytes:
    """A recursive query, transaction id 0."""
    return bytes(DNS(id=0, rd=1, qd=DNSQR(qname=name, qtype=qtype)))


@functools.cache
def response(name: str, qtype: str, answers: tuple[str, ...], rcode: int, ttl: int) -> bytes:
    """The resolver's reply, transaction id 0; NXDOMAIN or no answer carries an SOA."""
    records = []
    owner = name
    for answer in answers:
        if _is_ip(answer):
            kind = "AAAA" if ":" in answer else "A"
            records.append(DNSRR(rrname=owner, type=kind, ttl=ttl, rdata=answer))
        else:  # a name in the answer list is a CNAME hop; later addresses belong to it
            records.append(DNSRR(rrname=owner, type="CNAME", ttl=ttl, rdata=answer))
            owner = answer
    authority = []
    if rcode == 3 or (rcode == 0 and not answers):
        zone = _zone(name)
        authority.append(
            DNSRRSOA(
                rrname=zone,
                ttl=600,
                mname=f"ns1.{zone}",
                rname=f"hostmaster.{zone}",
                serial=1718236800,
                refresh=300,
                retry=600,
                expire=86400,
                minimum=300,
            )
        )
    message = DNS(
        id=0,
        qr=1,
        rd=1,
        ra=1,
        rcode=rcode,
        qd=DNSQR(qname=name, qtype=qtype),
        an=records,
        ns=authority,
    )
    return bytes(dns_compress(message))  # type: ignore[no-untyped-call]


@functools.cache
def mdns_query(service: str) -> bytes:
    """An mDNS PTR query for ``service``."""
    return bytes(DNS(id=0, rd=0, qd=DNSQR(qname=service, qtype="PTR")))


def with_id(message: bytes, txid: int) -> bytes:
    """``message`` with transaction id ``txid``."""
    return txid.to_bytes(2, "big") + message[2:]
