"""How each network, client and server cause looks from the user's machine.

Each function tells one cause on a ``Story`` and returns the notes for
``expected.json``. ``variant`` (0 or 1) changes the evidence mix, so the two
committed bundles of a cause are not the same story twice. Sources a story
lacks are skipped by ``Story`` itself; the logs always speak.
"""

from __future__ import annotations

from datetime import timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from sample_data.gen import certs
from sample_data.gen.pcap import TLS10, TLS11, TLS12, TLS13
from sample_data.story import Story, v6_for

LONG_LINK = "i.work.weixin.qq.com"
LOGIN = "login.work.weixin.qq.com"
QYAPI = "qyapi.weixin.qq.com"
QR_LOGIN = f"https://{LOGIN}/wwlogin/sso/login?login_type=CorpApp&appid=ww1a2b3c4d5e6f7a8b&agentid=1000005&redirect_uri=https%3A%2F%2Foa.example.com%2Fwecom%2Fcallback&state=STATE7f3a"
PROBES = {
    "windows": ("www.msftconnecttest.com", "/connecttest.txt"),
    "macos": ("captive.apple.com", "/hotspot-detect.html"),
    "ios": ("captive.apple.com", "/hotspot-detect.html"),
    "android": ("connectivitycheck.gstatic.com", "/generate_204"),
}


def login_ok(st: Story) -> None:
    """The part of a login that works: long link up, QR login page, token exchange."""
    long_link_up(st)
    st.say("info", "mmcore", f"long link established rtt={st.rng.randint(20, 80)}ms")
    st.resolve(LOGIN)
    st.request("GET", QR_LOGIN, body="<html><title>企业微信</title></html>")
    st.wait(st.rng.uniform(3, 9))
    st.say("info", "login", "扫码成功，等待确认")
    st.api(
        "/cgi-bin/auth/getuserinfo",
        0,
        query=f"access_token={fake_token(st)}&code=CODE{st.seed:x}",
        tag="login",
        userid=st.setting.user,
        user_ticket=fake_token(st),
    )
    st.say("info", "login", f"login success vid={st.seed % 10**16} 登录成功")


def healthy(st: Story, variant: int) -> str:
    st.start_client()
    if variant:
        st.say("warn", "net", f"httpdns slow {LONG_LINK} cost=1840ms, use cache")
    login_ok(st)
    st.idle(st.rng.uniform(30, 90))
    return "A login that works, amid ordinary client chatter."


PROXY = "10.20.0.1"
KEYCHAIN_SERVICE = {
    "macos": "com.tencent.WeWorkMac",
    "ios": "com.tencent.ww",
    "android": "",
    "windows": "",
}
PHRASES = {502: "Bad Gateway", 503: "Service Temporarily Unavailable", 504: "Gateway Time-out"}


def firewall_block(st: Story, variant: int) -> str:
    st.start_client()
    ip = st.dial(LONG_LINK)
    if st.capture is not None:
        st._sync_capture()
        if variant:
            st.capture.syn_prohibited(ip, 443, attempts=1)
        else:
            st.capture.syn_unanswered(ip, 443)
        st._catch_up()
    if variant:
        st.say("error", "net", f"connect {ip}:443 failed: host unreachable (admin prohibited)")
        st.request("GET", QR_LOGIN, error="net::ERR_ADDRESS_UNREACHABLE")
    else:
        st.say("error", "net", f"connect {LONG_LINK}:443 timeout after 15000ms, errno=10060")
        st.say("info", "net", f"retry via system proxy {PROXY}:8080")
        if st.capture is not None:
            st._sync_capture()
            tunnel = st.capture.tcp(PROXY, 8080, rtt=0.002)
            tunnel.http_request("CONNECT", f"{LONG_LINK}:443", host=f"{LONG_LINK}:443")
            tunnel.http_response(403, headers={"Server": "SangforAC", "Content-Length": "0"})
            tunnel.fin(from_client=False)
            st._catch_up()
        st.say("error", "net", f"proxy CONNECT {LONG_LINK}:443 answered 403 Forbidden")
        st.request(
            "GET",
            QR_LOGIN,
            status=403,
            body="<html><body>Access Denied by policy (category: instant messaging)</body></html>",
            response_headers=[("Server", "SangforAC"), ("Via", "1.1 sangfor-ac")],
        )
    st.say("error", "login", "登录失败，请检查网络设置 (network unreachable)")
    st.idle(20)
    if variant:
        return (
            "Firewall answers the SYN to the long-link address with ICMP admin-prohibited; "
            "HAR/NetLog ERR_ADDRESS_UNREACHABLE; log: host unreachable."
        )
    return (
        "SYNs to the long-link address on 443 retransmitted and never answered; a proxy "
        "(Server: SangforAC) answers the web login 403; log: connect timeout 10060."
    )


def captive_portal(st: Story, variant: int) -> str:
    st.start_client()
    probe_host, path = PROBES[st.setting.platform]
    portal = "portal.hotel-wifi.example"
    portal_ip = "172.16.0.1"
    st.resolve(probe_host, [portal_ip])
    location = f"http://{portal}/login?redirect=http%3A%2F%2F{probe_host}{path}"
    if st.capture is not None:
        st._sync_capture()
        flow = st.capture.tcp(portal_ip, 80)
        flow.http_request("GET", path, host=probe_host)
        flow.http_response(302, headers={"Location": location, "Server": "nginx"})
        flow.fin()
        st._catch_up()
    st.request(
        "GET", f"http://{probe_host}{path}", status=302, location=location, server_ip=portal_ip
    )
    st.say("warn", "net", f"network probe {probe_host} redirected to {portal}")
    ip = st.resolve(LONG_LINK, [portal_ip])
    st.say("info", "net", f"connect to {LONG_LINK}:443 ip={ip}")
    if variant:
        chain = certs.portal_chain(LONG_LINK, vendor="hotel")
    else:
        # The portal's own certificate, long expired, as guest networks often leave it.
        chain = certs.portal_chain(
            portal, st.now - timedelta(days=430), st.now - timedelta(days=65), vendor="hotel"
        )
    if st.capture is not None and ip:
        st._sync_capture()
        flow = st.capture.tcp(ip, 443)
        flow.client_hello(LONG_LINK, (TLS13, TLS12))
        flow.server_flight(TLS12, chain)
        flow.alert("fatal", "unknown_ca" if variant else "bad_certificate")
        st._catch_up()
    st.request(
        "GET",
        QR_LOGIN,
        error="net::ERR_CERT_AUTHORITY_INVALID",
        server_ip=portal_ip,
        certificates=chain,
    )
    st.say(
        "error",
        "ssl",
        f"certificate verify failed host={LONG_LINK} "
        f"subject=CN={LONG_LINK if variant else portal} issuer=Hotel WiFi Portal CA",
    )
    st.say("error", "login", "登录失败：无法建立安全连接")
    st.idle(15)
    issued = "for the service name" if variant else "for the portal's own name"
    return (
        f"Connectivity probe answered 302 to a portal; service names resolve to the portal; "
        f"its certificate ({issued}) is refused by the client; ERR_CERT_AUTHORITY_INVALID."
    )


def dns_poisoning(st: Story, variant: int) -> str:
    st.start_client()
    # Addresses seen in injected answers: unrelated foreign hosts, Teredo space for AAAA.
    forged = "46.82.174.68" if variant else "31.13.94.37"
    genuine = st.service_ip(LONG_LINK)
    if st.ipv6:
        forged, genuine = "2001::1f0d:5e25", v6_for(genuine)
    if st.capture is not None:
        st._sync_capture()
        st.capture.dns_injected(LONG_LINK, [forged], [genuine], qtype="AAAA" if st.ipv6 else "A")
        st._catch_up()
    st.resolved[LONG_LINK] = forged
    st.say("info", "net", f"dns {LONG_LINK} -> {forged} in 3ms")
    st.say("info", "net", f"connect to {LONG_LINK}:443 ip={forged}")
    if st.capture is not None:
        st._sync_capture()
        flow = st.capture.tcp(forged, 443, rtt=0.004)
        flow.client_hello(LONG_LINK)
        flow.rst(ttl=251)
        st._catch_up()
    st.say("error", "net", f"ssl handshake with {forged}:443 failed: connection reset by peer")
    st.request("GET", QR_LOGIN, error="net::ERR_CONNECTION_RESET", server_ip=forged)
    st.say("warn", "dns", f"resolved address {forged} not in server list for {LONG_LINK}")
    st.idle(15)
    return (
        f"Two answers to one query: a forged {forged} arrives in 3 ms, the genuine one later "
        "with another IP TTL; the client connects to the forged address and is reset."
    )


def dns_failure(st: Story, variant: int) -> str:
    st.start_client()
    for host in (LONG_LINK, LOGIN):
        st.resolve(host, rcode=0 if variant else 3, unanswered=bool(variant))
    st.request("GET", QR_LOGIN, error="net::ERR_NAME_NOT_RESOLVED")
    st.say(
        "error",
        "net",
        f"getaddrinfo {LONG_LINK} failed: "
        + ("EAI_AGAIN temporary failure in name resolution" if variant else "EAI_NONAME"),
    )
    st.exception("net", "UnknownHostException", f'Unable to resolve host "{LONG_LINK}"')
    st.say("error", "login", "网络不可用，请检查网络连接")
    st.idle(15)
    how = "queries go unanswered (retried 1, 2, 4 s)" if variant else "the resolver says NXDOMAIN"
    return f"Service names do not resolve: {how}; ERR_NAME_NOT_RESOLVED; log: getaddrinfo fails."


def tls_interception(st: Story, variant: int) -> str:
    st.start_client()
    vendor = "zscaler" if variant else "sangfor"
    chain = certs.interception_chain(LONG_LINK, vendor)
    issuer = "Zscaler Intermediate Root CA" if variant else "Sangfor Internet Gateway CA"
    ip = st.dial(LONG_LINK)
    if st.capture is not None and ip:
        st._sync_capture()
        flow = st.capture.tcp(ip, 443)
        flow.client_hello(LONG_LINK, (TLS13, TLS12))
        flow.server_flight(TLS12, chain)
        flow.alert("fatal", "unknown_ca")
        st._catch_up()
    st.request("GET", QR_LOGIN, error="net::ERR_CERT_AUTHORITY_INVALID", certificates=chain)
    st.say(
        "error",
        "ssl",
        f"certificate verify failed: unable to get local issuer certificate, "
        f"issuer=CN={issuer} host={LONG_LINK}",
    )
    st.say("error", "login", "安全连接失败，证书不受信任")
    st.idle(15)
    return (
        f"TLS 1.2 Certificate for the service SNI issued by {issuer}; the client answers "
        "alert unknown_ca (48); ERR_CERT_AUTHORITY_INVALID; log: unexpected issuer."
    )


def mtu_blackhole(st: Story, variant: int) -> str:
    st.start_client()
    ip = st.dial(LONG_LINK)
    if st.capture is not None:
        st._sync_capture()
        flow = st.capture.tcp(ip, 443, path_mtu=1400, icmp_frag_needed=bool(variant))
        flow.client_hello(LONG_LINK, (TLS13, TLS12), pq_key_share=True)
        st._catch_up()
    st.wait(20)
    st.say("error", "ssl", f"TLS handshake timeout with {LONG_LINK}:443 after 20000ms")
    st.request("GET", QR_LOGIN, error="net::ERR_TIMED_OUT")
    st.say("error", "login", "连接服务器超时")
    st.idle(10)
    icmp = "ICMP frag-needed quotes the flow" if variant else "no ICMP comes back"
    return (
        f"Handshake completes but the large ClientHello segment (DF) is retransmitted with "
        f"growing timeouts and never ACKed; {icmp}; log: TLS handshake timeout."
    )


def connection_reset(st: Story, variant: int) -> str:
    st.start_client()
    ip = st.dial(LONG_LINK)
    if st.capture is not None:
        st._sync_capture()
        flow = st.capture.tcp(ip, 443, server_ttl=52)
        flow.client_hello(LONG_LINK)
        flow.rst(ttl=120, ip_id=0, seq_offset=0)
        flow.rst(ttl=120, ip_id=0, seq_offset=1460)
        if variant:
            flow.server_flight(TLS13, st.chain(LONG_LINK))
        st._catch_up()
    st.say("error", "net", f"recv from {ip}:443 failed: connection reset by peer (errno=104)")
    st.request("GET", QR_LOGIN, error="net::ERR_CONNECTION_RESET")
    st.exception("net", "SocketException", "Connection reset by peer (errno 104)")
    st.say("error", "login", "网络连接被重置，请稍后重试")
    st.idle(15)
    after = "; server data still arrives after the resets" if variant else ""
    return (
        f"Two RSTs right after the ClientHello with IP TTL 120 (server packets: 52) and "
        f"different sequence numbers{after}; log: connection reset by peer."
    )


def offline(st: Story, variant: int) -> str:
    st.say("info", "app", f"WXWork start version={st.setting.client_version}")
    if st.capture is not None:
        st._sync_capture()
        st.capture.arp()
        st.capture.dns(LONG_LINK, unanswered=True)
        st.capture.icmp_unreachable(1 if variant else 0)
        st._catch_up()
    if st.net is not None:
        st.net.network_changed(st.now, "NONE")
    st.request("GET", QR_LOGIN, error="net::ERR_INTERNET_DISCONNECTED")
    st.say("error", "net", "network unavailable: no active interface (reachability=none)")
    st.say("error", "login", "当前网络不可用，请检查你的网络设置")
    st.idle(20, per_minute=6, traffic=False)
    return (
        "Only local traffic: DNS unanswered, ICMP unreachable from the gateway; "
        "ERR_INTERNET_DISCONNECTED; log: network unavailable."
    )


def tls_version_unsupported(st: Story, variant: int) -> str:
    st.start_client()
    ip = st.dial(LONG_LINK)
    if st.capture is not None:
        st._sync_capture()
        flow = st.capture.tcp(ip, 443)
        flow.client_hello(LONG_LINK, (TLS11, TLS10) if variant else (TLS10,))
        flow.alert("fatal", "protocol_version", from_client=False)
        st._catch_up()
    st.request("GET", QR_LOGIN, error="net::ERR_SSL_VERSION_OR_CIPHER_MISMATCH")
    st.say(
        "error",
        "ssl",
        "SSL_connect failed: error:1409442E:SSL routines:"
        "ssl3_read_bytes:tlsv1 alert protocol version",
    )
    st.say("error", "login", "登录失败，请升级客户端后重试")
    st.idle(15)
    return (
        "ClientHello offers only TLS <= 1.1; the server answers alert protocol_version (70); "
        "ERR_SSL_VERSION_OR_CIPHER_MISMATCH; old client version in bundle.json."
    )


def outdated_version(st: Story, variant: int) -> str:
    st.start_client()
    long_link_up(st)
    current = st.setting.client_version
    st.request(
        "POST",
        f"https://{LONG_LINK}/cgi-bin/mmwork-bin/checkversion",
        status=426,
        body={"ret": -2, "msg": "client version too low", "min_version": "4.0.0"},
    )
    st.say(
        "error",
        "login",
        f"server requires min version 4.0.0, current {current}; 当前版本过低，请升级到最新版本",
    )
    if variant:
        st.say(
            "info", "update", "download https://dldir1.qq.com/wework/work_weixin/WeCom_4.1.22.exe"
        )
    st.idle(15)
    return "Version check answered HTTP 426 (min 4.0.0); log: version too low, please upgrade."


def clock_skew(st: Story, variant: int) -> str:
    st.start_client()
    ip = st.dial(LONG_LINK)
    if st.capture is not None and ip:
        st._sync_capture()
        flow = st.capture.tcp(ip, 443)
        flow.client_hello(LONG_LINK, (TLS13, TLS12))
        flow.server_flight(TLS12, st.chain(LONG_LINK))
        flow.alert("fatal", "certificate_expired" if variant else "bad_certificate")
        st._catch_up()
    st.request("GET", QR_LOGIN, error="net::ERR_CERT_DATE_INVALID")
    device_now = (st.now + st.clock_skew).astimezone(st.zone).strftime("%Y-%m-%d %H:%M")
    state = "has expired" if variant else "is not yet valid"
    st.say(
        "error", "ssl", f"certificate verify failed: certificate {state} (device time {device_now})"
    )
    st.say("warn", "app", "系统时间与网络时间不一致，请校准设备时间")
    st.idle(15)
    return (
        f"Device clock {st.clock_skew.days:+d} days off: a valid certificate is refused "
        f"(alert {'certificate_expired' if variant else 'bad_certificate'}); "
        "ERR_CERT_DATE_INVALID; log: certificate not valid at device time."
    )


def keychain_error(st: Story, variant: int) -> str:
    st.start_client()
    login_ok(st)
    if st.setting.platform == "windows":
        st.say(
            "error",
            "account",
            "CryptProtectData failed: 0x8009000B (NTE_BAD_KEY_STATE); credential not saved",
        )
    else:
        status, name = (
            (-25308, "errSecInteractionNotAllowed") if variant else (-25300, "errSecItemNotFound")
        )
        st.say(
            "error",
            "account",
            f"SecItemCopyMatching service={KEYCHAIN_SERVICE[st.setting.platform]} "
            f"OSStatus={status} ({name})",
        )
    st.say("warn", "login", "auto login failed: cannot read saved credential, 请重新登录")
    st.idle(20)
    return "Login works, but the OS credential store refuses the saved credential (log only)."


def gateway_error(st: Story, variant: int) -> str:
    st.start_client()
    st.resolve(QYAPI)
    for attempt in range(4):
        status = (502, 504, 503, 502)[attempt] if variant else 502
        st.request(
            "GET",
            f"https://{QYAPI}/cgi-bin/auth/getuserinfo?access_token={fake_token(st)}"
            f"&code=CODE{attempt}",
            status=status,
            body="<html><center>"
            f"<h1>{status} {PHRASES[status]}</h1></center><hr><center>stgw</center></html>",
            response_headers=[("Server", "stgw")],
        )
        st.say(
            "error",
            "api",
            f"GET /cgi-bin/auth/getuserinfo http={status} errcode=-1 "
            f'errmsg="system busy" retry={attempt}',
        )
        st.wait(st.rng.uniform(1, 4))
    st.say("error", "login", "服务器繁忙，请稍后再试")
    st.idle(15)
    return "Four API calls answered 5xx by the gateway (Server: stgw); log: errcode -1 bursts."


def ocsp_slow(st: Story, variant: int) -> str:
    st.start_client()
    ocsp_host = "ocsp.dcocsp.cn"
    ocsp_ip = st.resolve(ocsp_host, ["183.2.143.51"], log=False) or "183.2.143.51"
    ip = st.dial(LONG_LINK)
    if st.capture is not None:
        st._sync_capture()
        flow = st.capture.tcp(ip, 443)
        flow.client_hello(LONG_LINK, (TLS12,))
        flow.server_flight(TLS12, st.chain(LONG_LINK))
        if variant:
            st.capture.syn_unanswered(ocsp_ip, 80, retries=3)
        else:
            ocsp = st.capture.tcp(ocsp_ip, 80)
            ocsp.http_request(
                "POST",
                "/",
                host=ocsp_host,
                headers={"Content-Type": "application/ocsp-request"},
                body=ocsp_request(st.chain(LONG_LINK)),
            )
        st.wait(15)
        flow.alert("fatal", "certificate_unknown")
        st._catch_up()
    else:
        st.wait(15)
    st.say("warn", "ssl", f"revocation check timeout url=http://{ocsp_host}/ after 15000ms")
    st.request("GET", QR_LOGIN, error="net::ERR_TIMED_OUT")
    st.say("error", "login", "连接超时，请稍后重试")
    st.idle(10)
    how = "its SYNs go unanswered" if variant else "the OCSP POST gets no response"
    return (
        f"The handshake waits on the OCSP responder ({how}), then fails after 15 s; "
        "log: revocation check timeout."
    )


def session_inconsistent(st: Story, variant: int) -> str:
    st.start_client()
    login_ok(st)
    sid = f"sid={st.rng.getrandbits(48):012x}"
    st.wait(2)
    st.say("info", "login", f"session issued {sid[:8]}… ttl=7200s")
    st.request(
        "GET",
        f"https://{LOGIN}/wework_admin/getmyinfo",
        status=401,
        body={"errcode": -2, "errmsg": "session invalid"},
    )
    st.say("error", "api", "GET /wework_admin/getmyinfo http=401 session invalid 2s after login")
    if variant:
        st.say("warn", "login", "relogin attempt 1: session rejected again")
    st.say("error", "login", "登录状态已失效，请重新登录")
    st.idle(15)
    return "Login succeeds; 2 s later the next call answers 401 session invalid."


def ocsp_request(chain: list[bytes]) -> bytes:
    """The DER OCSP request a client sends to check the leaf of ``chain`` (no nonce)."""
    leaf, issuer = (x509.load_der_x509_certificate(der) for der in chain[:2])
    request = ocsp.OCSPRequestBuilder().add_certificate(leaf, issuer, hashes.SHA1()).build()
    return request.public_bytes(serialization.Encoding.DER)


def long_link_up(st: Story) -> None:
    """The client's long connection comes up: lookup, TLS handshake, first exchange."""
    ip = st.resolve(LONG_LINK)
    flow = st.connect(LONG_LINK, ip)
    st.exchange(flow)


def fake_token(st: Story) -> str:
    return "".join(
        st.rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789-_")
        for _ in range(43)
    )
