"""Deterministic packet captures for sample bundles, written as pcap or pcapng.

A ``Capture`` is a seeded clock plus a packet list, seen from the client's
interface. Its methods add whole exchanges (a DNS lookup, a TCP handshake, a
TLS flight, an injected reset) with consistent addresses, ports, sequence
numbers, IP ids and TTLs. Nothing reads wall time or the environment, so the
same calls give the same bytes in any process.

Link, IP, TCP, UDP and ICMP headers are packed with ``struct`` in ``packets``
(scapy takes ~0.7 ms per TCP packet, far too slow for a 1,000-bundle fleet);
scapy builds the DNS messages in ``dnsmsg``, cached per content with the
transaction id patched in. TLS records are packed by hand in ``tls`` so every
byte (SNI, versions, ALPN) is under the scenario's control. ``capfile`` holds
the clock, framing and file output a ``Capture`` builds on; ``flow`` holds ``Flow``,
one TCP connection.
"""

from __future__ import annotations

import ipaddress
import random
import struct
from collections.abc import Sequence

from sample_data.gen import dnsmsg, packets
from sample_data.gen.capfile import (
    CLIENT_MAC,
    GATEWAY_MAC,
    LINKTYPE_ETHERNET,
    LINKTYPE_LINUX_SLL,
    SNAPLEN,
    CaptureFile,
    Format,
    Link,
    Seed,
    us,
)
from sample_data.gen.flow import DEFAULT_USER_AGENT, Flow
from sample_data.gen.packets import ACK, BROADCAST, RST
from sample_data.gen.tls import (
    ALERTS,
    CIPHERS_LEGACY,
    CIPHERS_MODERN,
    CIPHERS_TLS12,
    TLS10,
    TLS11,
    TLS12,
    TLS13,
    certificate_record,
    client_hello_record,
    server_hello_record,
)

# The builder's public names, wherever they live now, so importers need not change.
__all__ = [
    "ALERTS",
    "CIPHERS_LEGACY",
    "CIPHERS_MODERN",
    "CIPHERS_TLS12",
    "CLIENT_MAC",
    "DEFAULT_USER_AGENT",
    "GATEWAY_MAC",
    "LINKTYPE_ETHERNET",
    "LINKTYPE_LINUX_SLL",
    "NEIGHBOUR_MAC",
    "SNAPLEN",
    "TLS10",
    "TLS11",
    "TLS12",
    "TLS13",
    "Capture",
    "Flow",
    "Format",
    "Link",
    "Seed",
    "certificate_record",
    "client_hello_record",
    "server_hello_record",
]

NEIGHBOUR_MAC = "a4:83:e7:5b:21:9c"
_checksum = packets.checksum  # the old private name, still imported by tests


class Capture(CaptureFile):
    """A seeded packet capture on the client's interface; add exchanges, then ``write``."""

    # -- UDP and DNS

    def udp(
        self,
        dst_ip: str,
        dport: int,
        payload: bytes,
        *,
        reply: bytes | None = None,
        sport: int | None = None,
        rtt: float = 0.03,
        server_ttl: int = 52,
    ) -> int:
        """A datagram from the client (and ``reply`` after ``rtt``); returns the source port."""
        sport = sport or self._port()
        t = self._clock + self._gap(0.0002, 0.002)
        src, dst = packets.addr(self.client_ip), packets.addr(dst_ip)
        self._send_ip(
            t,
            self._client_ip_packet(
                dst_ip, 17, packets.udp(src, dst, sport, dport, payload), df=False
            ),
        )
        if reply is not None:
            back = packets.ip(
                dst,
                src,
                17,
                packets.udp(dst, src, dport, sport, reply),
                server_ttl,
                self.rng.randrange(65536),
                False,
            )
            self._emit(t + self._gap(rtt * 0.9, rtt * 1.1), back, False)
        return sport

    def _resolver_packet(
        self,
        sport: int,
        payload: bytes,
        ip_ttl: int,
        ident: int | None = None,
    ) -> bytes:
        src, dst = packets.addr(self.resolver_ip), packets.addr(self.client_ip)
        if ident is None:
            self._resolver_ipid += 1
            ident = self._resolver_ipid
        return packets.ip(
            src, dst, 17, packets.udp(src, dst, 53, sport, payload), ip_ttl, ident, False
        )

    def dns(
        self,
        name: str,
        qtype: str = "A",
        answers: Sequence[str] = (),
        *,
        rcode: int = 0,
        ttl: int = 600,
        rtt: float = 0.02,
        unanswered: bool = False,
        attempts: int = 3,
        ip_ttl: int | None = None,
    ) -> None:
        """A lookup of ``name``; ``answers`` holds addresses and CNAME hops in order.

        ``unanswered`` sends ``attempts`` identical queries 1, 2, 4 ... s apart and no
        reply; rcode 3 (NXDOMAIN) and empty answers carry the zone's SOA.
        """
        sport, txid = self._port(), self.rng.randrange(1, 65536)
        query = dnsmsg.with_id(dnsmsg.query(name, qtype), txid)
        src, dst = packets.addr(self.client_ip), packets.addr(self.resolver_ip)
        t = self._clock + self._gap(0.0002, 0.002)
        sends = attempts if unanswered else 1
        for attempt in range(sends):
            at = t + us(2**attempt - 1)
            self._send_ip(
                at,
                self._client_ip_packet(
                    self.resolver_ip, 17, packets.udp(src, dst, sport, 53, query), df=False
                ),
            )
        if unanswered:
            return
        response = dnsmsg.with_id(dnsmsg.response(name, qtype, tuple(answers), rcode, ttl), txid)
        back = self._resolver_packet(sport, response, ip_ttl or self.resolver_ttl)
        self._emit(t + self._gap(rtt * 0.9, rtt * 1.15), back, False)

    def dns_injected(
        self,
        name: str,
        forged: Sequence[str],
        genuine: Sequence[str] = (),
        *,
        qtype: str = "A",
        ttl: int = 600,
        forged_ttl: int = 60,
        forged_delay: float = 0.003,
        rtt: float = 0.06,
        forged_ip_ttl: int | None = None,
        copies: int = 1,
    ) -> None:
        """One query answered twice: a fast forged reply (other IP TTL) first, then the genuine one.

        An empty ``genuine`` leaves only the forged reply(s).
        """
        sport, txid = self._port(), self.rng.randrange(1, 65536)
        query = dnsmsg.with_id(dnsmsg.query(name, qtype), txid)
        src, dst = packets.addr(self.client_ip), packets.addr(self.resolver_ip)
        t = self._clock + self._gap(0.0002, 0.002)
        self._send_ip(
            t,
            self._client_ip_packet(
                self.resolver_ip, 17, packets.udp(src, dst, sport, 53, query), df=False
            ),
        )
        if forged_ip_ttl is None:
            # An on-path injector sits a different number of hops away, with its own initial TTL.
            forged_ip_ttl = self.resolver_ttl + self.rng.choice([-1, 1]) * self.rng.randint(9, 30)
            forged_ip_ttl = min(max(forged_ip_ttl, 20), 250)
        fake = dnsmsg.with_id(dnsmsg.response(name, qtype, tuple(forged), 0, forged_ttl), txid)
        at = t + self._gap(forged_delay * 0.8, forged_delay * 1.2)
        for _ in range(copies):
            packet = self._resolver_packet(sport, fake, forged_ip_ttl, self.rng.randrange(65536))
            self._emit(at, packet, False)
            at += self._gap(0.00003, 0.0003)
        if genuine:
            real = dnsmsg.with_id(dnsmsg.response(name, qtype, tuple(genuine), 0, ttl), txid)
            back = self._resolver_packet(sport, real, self.resolver_ttl)
            self._emit(max(at, t + self._gap(rtt * 0.9, rtt * 1.15)), back, False)

    # -- TCP

    def _flow(
        self,
        server_ip: str,
        port: int,
        mss: int,
        server_mss: int | None,
        rtt: float,
        server_ttl: int | None,
    ) -> Flow:
        if ipaddress.ip_address(server_ip).version != ipaddress.ip_address(self.client_ip).version:
            raise ValueError(f"server {server_ip} and client {self.client_ip} differ in IP version")
        ttl = server_ttl or 64 - self.rng.randint(8, 16)
        return Flow(self, server_ip, port, mss, server_mss or mss, us(rtt), ttl)

    def tcp(
        self,
        server_ip: str,
        port: int = 443,
        *,
        mss: int = 1460,
        server_mss: int | None = None,
        rtt: float = 0.03,
        server_ttl: int | None = None,
        path_mtu: int | None = None,
        icmp_frag_needed: bool = False,
        router_ip: str | None = None,
    ) -> Flow:
        """A connection with a completed three-way handshake.

        ``path_mtu`` makes the path a black hole for larger packets (see ``Flow.send``);
        ``icmp_frag_needed`` adds the router's ICMP frag-needed / Packet Too Big.
        """
        flow = self._flow(server_ip, port, mss, server_mss, rtt, server_ttl)
        flow.path_mtu, flow.icmp_frag_needed = path_mtu, icmp_frag_needed
        flow.router_ip = router_ip or self.gateway_ip
        t = self._clock + self._gap(0.0002, 0.002)
        flow._syn(t)
        t += flow._rtt()
        flow._syn_ack(t)
        flow._segment(t + self._gap(0.00003, 0.0002), True, ACK)
        flow.established = True
        return flow

    def syn_unanswered(
        self, server_ip: str, port: int = 443, *, retries: int = 4, mss: int = 1460
    ) -> Flow:
        """A SYN retransmitted ``retries`` times at 1, 2, 4, 8 ... s backoff, never answered."""
        flow = self._flow(server_ip, port, mss, None, 0.03, None)
        t = self._clock + self._gap(0.0002, 0.002)
        for attempt in range(retries + 1):
            flow._syn(t + us(2**attempt - 1))
        return flow

    def syn_refused(
        self,
        server_ip: str,
        port: int = 443,
        *,
        attempts: int = 1,
        rtt: float = 0.03,
        server_ttl: int | None = None,
    ) -> Flow:
        """A SYN answered by RST/ACK (closed port or firewall), ``attempts`` times 0.5 s apart."""
        flow = self._flow(server_ip, port, 1460, None, rtt, server_ttl)
        t = self._clock + self._gap(0.0002, 0.002)
        for attempt in range(attempts):
            at = t + us(0.5 * attempt)
            flow._syn(at)
            flow._segment(at + flow._rtt(), False, RST | ACK, seq=0, ack=flow.client_next, window=0)
        return flow

    def syn_prohibited(
        self,
        server_ip: str,
        port: int = 443,
        *,
        code: int | None = None,
        from_ip: str | None = None,
        attempts: int = 3,
        rtt: float = 0.004,
    ) -> Flow:
        """SYNs answered by ICMP administratively prohibited (IPv4 3/13, IPv6 1/1)."""
        flow = self._flow(server_ip, port, 1460, None, rtt, None)
        if code is None:
            code = 1 if flow.v6 else 13
        t = self._clock + self._gap(0.0002, 0.002)
        for attempt in range(attempts):
            at = t + us(2**attempt - 1)
            quoted = flow._syn(at)
            self._icmp_error(
                at + self._gap(rtt * 0.9, rtt * 1.1),
                1 if flow.v6 else 3,
                code,
                quoted,
                from_ip or self.gateway_ip,
            )
        return flow

    def icmp_unreachable(
        self,
        code: int,
        *,
        quoting: bytes | None = None,
        from_ip: str | None = None,
        delay: float = 0.002,
    ) -> None:
        """Destination unreachable from the gateway about the client's last packet (or ``quoting``).

        ``code`` is an ICMPv4 type-3 code (0 net, 1 host, 3 port, 13 prohibited) or, for IPv6,
        an ICMPv6 type-1 code (0 no route, 1 prohibited, 3 address, 4 port).
        """
        quoted = quoting or self._last_sent
        if quoted is None:
            raise ValueError("nothing to quote: the client has sent no IP packet yet")
        kind = 1 if quoted[0] >> 4 == 6 else 3
        self._icmp_error(
            self._clock + self._gap(delay * 0.8, delay * 1.2),
            kind,
            code,
            quoted,
            from_ip or self.gateway_ip,
        )

    def arp(self, target_ip: str | None = None) -> None:
        """ARP who-has for the gateway (or ``target_ip``) and its reply (IPv4 captures)."""
        target = target_ip or self.gateway_ip
        t = self._clock + self._gap(0.0002, 0.002)
        me, them = packets.addr(self.client_ip), packets.addr(target)
        ask = struct.pack(
            "!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, packets.mac(self.client_mac), me, b"\0" * 6, them
        )
        self._emit(t, ask, True, dst_mac=BROADCAST, ethertype=0x0806)
        tell = struct.pack(
            "!HHBBH6s4s6s4s",
            1,
            0x0800,
            6,
            4,
            2,
            packets.mac(self.gateway_mac),
            them,
            packets.mac(self.client_mac),
            me,
        )
        self._emit(t + self._gap(0.0005, 0.004), tell, False, ethertype=0x0806)

    def neighbour_solicitation(self) -> None:
        """IPv6 neighbour solicitation for the gateway and its advertisement."""
        t = self._clock + self._gap(0.0002, 0.002)
        me, gw = packets.addr(self.client_ip), packets.addr(self.gateway_ip)
        group = packets.addr("ff02::1:ff00:0")[:13] + gw[13:]
        solicit = packets.icmp(
            me, group, 135, 0, b"\0\0\0\0", gw + b"\x01\x01" + packets.mac(self.client_mac)
        )
        group_mac = "33:33:" + ":".join(f"{b:02x}" for b in group[12:])
        self._emit(t, packets.ip(me, group, 58, solicit, 255), True, dst_mac=group_mac)
        advert = packets.icmp(
            gw, me, 136, 0, b"\xe0\0\0\0", gw + b"\x02\x01" + packets.mac(self.gateway_mac)
        )
        self._emit(t + self._gap(0.0005, 0.004), packets.ip(gw, me, 58, advert, 255), False)

    def mdns(self, service: str = "_googlecast._tcp.local", *, neighbour: int = 0) -> None:
        """An mDNS PTR query multicast by LAN neighbour number ``neighbour``.

        Wireshark takes two id-0 queries in one conversation for a retransmission, so
        ask each service from its own neighbour.
        """
        t = self._clock + self._gap(0.0002, 0.002)
        from_mac = NEIGHBOUR_MAC[:-2] + f"{0x9C + neighbour:02x}"[-2:]
        if self.ipv6:
            src, dst, mac = (
                packets.addr(f"fe80::a683:e7ff:fe5b:{0x219C + neighbour:x}"),
                packets.addr("ff02::fb"),
                "33:33:00:00:00:fb",
            )
        else:
            src, dst, mac = (
                packets.addr(_neighbour_for(self.client_ip, neighbour)),
                packets.addr("224.0.0.251"),
                "01:00:5e:00:00:fb",
            )
        packet = packets.ip(
            src,
            dst,
            17,
            packets.udp(src, dst, 5353, 5353, dnsmsg.mdns_query(service)),
            255,
            self.rng.randrange(65536),
            False,
        )
        self._emit(t, packet, False, src_mac=from_mac, dst_mac=mac)

    def ntp(self, server_ip: str, *, rtt: float = 0.04) -> None:
        """An NTPv4 client request and the server's reply."""
        now = (self._epoch_us + self._clock) / 1_000_000 + 2208988800
        stamp = struct.pack("!II", int(now), int((now % 1) * 2**32))
        request = b"\x23" + b"\x00" * 39 + stamp
        reply = (
            b"\x24\x02\x00\xe9"
            + b"\x00" * 8
            + b"\x0a\x10\x20\x01"
            + stamp
            + request[40:]
            + stamp * 2
        )
        self.udp(
            server_ip,
            123,
            request,
            reply=reply,
            sport=123 if self.client_ttl > 64 else None,
            rtt=rtt,
        )

    # -- noise

    def background(self, n: int, rng: random.Random | None = None) -> None:
        """``n`` unrelated exchanges (DNS, TLS, HTTP, NTP, mDNS, ARP), each after a short pause."""
        rng = rng or self.rng
        kinds = ["dns", "dns", "tls", "tls", "http", "ntp", "mdns", "arp"]
        for _ in range(n):
            self.wait(rng.uniform(0.05, 1.5))
            kind, site = rng.choice(kinds), rng.choice(_SITES)
            name, cnames, v4, v6 = site
            qtype, address = ("AAAA", v6) if self.ipv6 else ("A", v4)
            if kind in ("dns", "tls", "http"):
                self.dns(
                    name,
                    qtype,
                    [*cnames, address],
                    ttl=rng.choice([60, 120, 300, 600]),
                    rtt=rng.uniform(0.008, 0.05),
                )
            if kind == "tls":
                flow = self.tcp(address, 443, rtt=rng.uniform(0.01, 0.06))
                flow.handshake(name, TLS13)
                flow.app_data(rng.randint(300, 900))
                flow.app_data(rng.randint(1200, 9000), from_client=False)
                flow.fin()
            elif kind == "http":
                flow = self.tcp(address, 80, rtt=rng.uniform(0.01, 0.06))
                flow.http_request(
                    "GET",
                    "/msdownload/update/v3/static/trustedr/en/disallowedcertstl.cab",
                    host=name,
                    headers={"If-Modified-Since": "Tue, 13 May 2025 18:02:11 GMT"},
                )
                flow.http_response(304, headers={"Server": "ECAcc (hkb/0B55)"})
                flow.fin()
            elif kind == "ntp":
                self.ntp(_NTP_V6 if self.ipv6 else _NTP_V4)
            elif kind == "mdns" and self._mdns_sent < len(_MDNS_SERVICES):
                # Each service once, from its own neighbour (see ``mdns``).
                self.mdns(_MDNS_SERVICES[self._mdns_sent], neighbour=self._mdns_sent)
                self._mdns_sent += 1
            elif kind in ("arp", "mdns"):
                if self.ipv6:
                    self.neighbour_solicitation()
                else:
                    self.arp()


def _neighbour_for(client_ip: str, index: int) -> str:
    return str(
        ipaddress.ip_network(f"{client_ip}/24", strict=False).network_address + 37 + 11 * index
    )


# Everyday names for background traffic: (name, CNAME hops, IPv4, IPv6).
_SITES = (
    ("www.baidu.com", ("www.a.shifen.com",), "110.242.68.66", "240e:ff:e020:966:0:ff:b042:f296"),
    (
        "mtalk.google.com",
        ("mobile-gtalk.l.google.com",),
        "142.250.157.188",
        "2404:6800:4008:c13::bc",
    ),
    ("time.windows.com", ("twc.trafficmanager.net",), "20.101.57.9", "2603:1020:1004:1::5"),
    (
        "www.qq.com",
        ("ins-r23tsuuf.ias.tencent-cloud.net",),
        "121.14.77.221",
        "240e:97c:2f:3003::77",
    ),
    ("api.weibo.cn", (), "180.149.153.216", "2400:89c0:1053:3::25"),
    (
        "ctldl.windowsupdate.com",
        ("ctldl.windowsupdate.com.edgesuite.net",),
        "117.18.232.200",
        "2606:2800:233:fa02:67b:9ff6:37d:1a5c",
    ),
    (
        "settings-win.data.microsoft.com",
        ("atm-settingsfe-prod-geo2.trafficmanager.net",),
        "20.42.65.92",
        "2603:1030:7::10",
    ),
)
_MDNS_SERVICES = (
    "_googlecast._tcp.local",
    "_airplay._tcp.local",
    "_spotify-connect._tcp.local",
    "_companion-link._tcp.local",
    "_raop._tcp.local",
    "_ipp._tcp.local",
)
_NTP_V4, _NTP_V6 = "20.101.57.9", "2603:1020:1004:1::5"
