"""How account, security, cache, device and integration causes look from the user's machine.

These causes are decided by the service, so their evidence is what it
answers (WeCom ``errcode`` bodies, refusal pages) and what the client says
about it. Integration stories happen in a browser or webview (HAR, NetLog)
and in the third-party app's backend log (JSON Lines).
"""

from __future__ import annotations

from datetime import timedelta

from sample_data.gen import certs
from sample_data.gen.pcap import TLS12
from sample_data.stories_network import LOGIN, QR_LOGIN, QYAPI, fake_token, login_ok, long_link_up
from sample_data.story import Story

OAUTH = "https://open.weixin.qq.com/connect/oauth2/authorize"
APP = "https://oa.example.com"
BACKEND_LOG = "oa-backend.jsonl"


def _refusal(st: Story, errcode: int, tip: str, *, path: str = "/cgi-bin/auth/getuserinfo") -> None:
    """Up to the login request, which the service refuses with ``errcode``."""
    st.start_client()
    long_link_up(st)
    st.request("GET", QR_LOGIN, body="<html><title>企业微信</title></html>")
    st.wait(st.rng.uniform(3, 8))
    st.api(path, errcode, query=f"access_token={fake_token(st)}&code=CODE{st.seed:x}", tag="login")
    st.say("error", "login", tip)


def _login_result(st: Story, ret: int, reason: str, tip: str, **fields: object) -> None:
    """Up to the login request, which the client reports refused with a login result."""
    st.start_client()
    long_link_up(st)
    st.wait(st.rng.uniform(2, 6))
    extra = " ".join(f"{key}={value}" for key, value in fields.items())
    st.say("error", "login", f'login result ret={ret} reason="{reason}" {extra}'.rstrip())
    st.request(
        "POST",
        f"https://{LOGIN}/wwlogin/sso/confirm",
        status=200,
        body={"ret": ret, "reason": reason, **fields},
    )
    st.say("error", "login", tip)


def not_activated(st: Story, variant: int) -> str:
    _login_result(
        st, -10, "member not activated", "该账号尚未激活，请先在手机端完成激活", member_status=4
    )
    if variant:
        st.api(
            "/cgi-bin/user/get",
            0,
            query=f"access_token={fake_token(st)}&userid={st.setting.user}",
            status=4,
            userid=st.setting.user,
        )
    st.idle(15)
    return "The member was invited but never activated (member status 4)."


def disabled(st: Story, variant: int) -> str:
    status = 5 if variant else 2
    reason = "member has left the corp" if variant else "member disabled"
    _login_result(st, -11, reason, "你的账号已被管理员停用，请联系企业管理员", member_status=status)
    st.idle(15)
    return "The admin disabled the member (or marked them as having left)."


def user_not_found(st: Story, variant: int) -> str:
    path = "/cgi-bin/user/get" if variant else "/cgi-bin/auth/getuserdetail"
    _refusal(st, 60111, "登录失败：成员不存在", path=path)
    st.exception("login", "LoginError", "errcode 60111 userid not found")
    st.idle(15)
    return "The user id is unknown to the tenant (errcode 60111)."


def no_permission(st: Story, variant: int) -> str:
    code = 60011 if variant else 50002
    _refusal(st, code, "你没有使用该应用的权限，请联系管理员")
    st.idle(15)
    return f"The member is outside the app's visible range (errcode {code})."


def ip_not_allowed(st: Story, variant: int) -> str:
    _refusal(st, 60020, "当前网络不在企业可信 IP 范围内")
    if variant:
        st.say("warn", "net", f"egress address {st.egress_ip} differs from office range")
    st.idle(15)
    return f"The request comes from {st.egress_ip}, outside the tenant's trusted IPs (60020)."


def sso_misconfigured(st: Story, variant: int) -> str:
    st.start_client()
    idp = "login.microsoftonline.com" if variant else "adfs.corp.example.com"
    st.resolve(idp, ["20.190.151.7" if variant else "10.20.1.15"])
    saml = f"https://{idp}/adfs/ls/?SAMLRequest=fZJNb9swDIb%2FisGzFVm2k9Y"
    st.request(
        "GET",
        saml,
        status=200,
        body="<html><body>AADSTS50011: The redirect URI "
        "'https://login.work.weixin.qq.com/wwlogin/saml/acs' specified in the request "
        "does not match the redirect URIs configured for the application.</body></html>"
        if variant
        else "<html><body>MSIS7042: The same client browser session has "
        "made '6' requests in the last '11' seconds. RelyingParty: "
        "urn:wecom:sso audience mismatch</body></html>",
    )
    st.say(
        "error",
        "sso",
        "SAML assertion rejected: "
        + ("AADSTS50011 reply URL mismatch" if variant else "Audience mismatch urn:wecom:sso"),
    )
    st.say("error", "login", "企业统一身份认证失败，请联系管理员")
    st.idle(15)
    return "Enterprise SSO is misconfigured at the identity provider."


def password_lockout(st: Story, variant: int) -> str:
    st.start_client()
    cookies = st.cookies()
    for attempt in range(1, 6):
        left = 5 - attempt
        st.request(
            "POST",
            f"https://{LOGIN}/wwlogin/password/verify",
            status=200,
            body={"ret": -3, "reason": "password wrong", "remain": left},
            cookies=cookies,
        )
        st.say("warn", "login", f"password verify failed, remaining attempts {left}")
        st.wait(st.rng.uniform(20, 120 if variant else 60))
    st.request(
        "POST",
        f"https://{LOGIN}/wwlogin/password/verify",
        status=200,
        body={"ret": -4, "reason": "account locked", "unlock_after_s": 1800},
        cookies=cookies,
    )
    st.say(
        "error",
        "login",
        "account locked for 30 min after 5 failed passwords; 密码错误次数过多，账号已被锁定",
    )
    st.idle(15)
    return "Repeated wrong passwords locked the account."


def geo_blocked(st: Story, variant: int) -> str:
    where = "Singapore" if variant else "Hong Kong"
    _login_result(
        st,
        -20,
        f"login location not allowed: {where}",
        "当前登录地区不在企业允许范围内",
        ip=st.egress_ip,
    )
    st.idle(15)
    return f"Risk control refuses logins from {where}."


def device_untrusted(st: Story, variant: int) -> str:
    _login_result(
        st,
        -21,
        "device fingerprint mismatch, verification required",
        "检测到你在新设备上登录，需要验证身份",
        device=st.device_id,
    )
    if variant:
        st.say("error", "login", "device verification failed: sms code expired")
    st.idle(15)
    return "The device is not recognised and its verification is refused or fails."


def mfa_unavailable(st: Story, variant: int) -> str:
    _login_result(
        st,
        -22,
        "second factor required but no verification channel bound",
        "需要进行二次验证，但未绑定手机号",
        mfa="sms",
    )
    if variant:
        st.say("error", "login", "send sms code failed: no mobile bound to member")
    st.idle(15)
    return "Second-factor verification is required but the member has no channel."


def db_corrupt(st: Story, variant: int) -> str:
    st.start_client()
    db = "message.db" if variant else "session.db"
    st.say(
        "error",
        "db",
        f"open {db} failed: database disk image is malformed (SQLITE_CORRUPT, code 11)",
    )
    st.say("error", "db", f"integrity_check {db}: file is not a database (SQLITE_NOTADB, code 26)")
    if variant:
        st.trace("error", "db", "cpp", "wcdb::CorruptException", f"{db} page 1731 is corrupt")
    login_ok(st)
    st.say("error", "login", "本地数据加载失败，登录后界面空白")
    st.idle(15)
    return f"The local {db} is corrupt; login completes but the client cannot load."


def cookie_expired(st: Story, variant: int) -> str:
    st.start_client()
    st.say(
        "info", "login", "auto login with saved ticket issued 2025-04-21 (expires after 30 days)"
    )
    st.request(
        "GET",
        f"https://{LOGIN}/wework_admin/loginpage_wx",
        status=401,
        body={"errcode": -3, "errmsg": "ticket expired"},
        headers=[("Cookie", f"wwrtx.vst={fake_token(st)}; wwrtx.ltype=1")],
    )
    st.say("error", "api", "auto login rejected: ticket expired http=401")
    if variant:
        st.say("warn", "login", "retry auto login with same ticket (cached cookie)")
        st.request(
            "GET",
            f"https://{LOGIN}/wework_admin/loginpage_wx",
            status=401,
            body={"errcode": -3, "errmsg": "ticket expired"},
        )
    st.say("error", "login", "登录已过期，请重新登录")
    st.idle(15)
    return "A stale ticket/cookie is replayed and rejected; no fresh login follows."


def session_mixup(st: Story, variant: int) -> str:
    st.start_client()
    login_ok(st)
    other = "li.na" if st.setting.user != "li.na" else "wang.lei"
    st.say("info", "account", f"switch account {st.setting.user} -> {other}")
    st.wait(3)
    st.say(
        "error",
        "api",
        f"request for vid of {other} carries session of {st.setting.user}: userid mismatch",
    )
    st.request(
        "GET",
        f"https://{LOGIN}/wework_admin/getmyinfo?vid_of={other}",
        status=403,
        body={"ret": -14, "msg": "session belongs to another user"},
        cookies=st.cookies(),
    )
    if variant:
        st.say("warn", "account", "session cache key collision, cleared")
    st.say("error", "login", "切换账号后登录异常，请退出后重新登录")
    st.idle(15)
    return "After an account switch, requests carry the previous account's session."


def limit_reached(st: Story, variant: int) -> str:
    _login_result(
        st,
        -30,
        "device count limit reached",
        "登录设备数已达上限，请先退出其他设备",
        online_devices=3 if variant else 2,
        max_device_count=3 if variant else 2,
    )
    st.idle(15)
    return "The account is already signed in on the maximum number of devices."


def kicked(st: Story, variant: int) -> str:
    st.start_client()
    login_ok(st)
    st.idle(st.rng.uniform(30, 90))
    where = "Windows" if variant else "iPhone"
    st.say("warn", "mmcore", f"longlink push: kickout reason=login_elsewhere device={where}")
    st.say("error", "login", f"你的账号已在其他设备（{where}）登录，当前设备已退出")
    st.idle(15)
    return "The session ended because the account signed in on another device."


def approval_pending(st: Story, variant: int) -> str:
    _login_result(
        st,
        -31,
        "new device pending admin approval",
        "新设备登录需管理员审批，请等待",
        approval="pending",
    )
    if variant:
        st.wait(60)
        st.say("info", "login", "poll approval status: pending")
    st.idle(15)
    return "A new device waits for the admin's approval."


def policy_blocked(st: Story, variant: int) -> str:
    ios = st.setting.platform == "ios"
    what = "jailbroken" if ios else "rooted"
    policy = {"allow_jailbreak": 0} if ios else {"allow_android_root": 0}
    _login_result(
        st, -32, f"device policy: {what} device not allowed", "企业已禁止在此类设备上登录", **policy
    )
    if variant:
        found = "/Applications/Cydia.app" if ios else "/system/xbin/su"
        st.say("warn", "security", f"environment check: {what}=1 found={found}")
    st.idle(15)
    return f"Device policy forbids {what} devices."


def _oauth_start(st: Story, redirect: str) -> str:
    state = f"st{st.seed % 100000}"
    return (
        f"{OAUTH}?appid=ww1a2b3c4d5e6f7a8b&redirect_uri={redirect}"
        f"&response_type=code&scope=snsapi_base&state={state}#wechat_redirect"
    )


BACKEND_ROUTES = ("/api/todo/list", "/api/notice/unread", "/api/approval/pending", "/static/app.js")


def _backend(st: Story, level: str, message: str, **fields: object) -> None:
    """The third-party app's server logs a line (after some ordinary requests)."""
    for _ in range(st.rng.randint(2, 6)):
        route = BACKEND_ROUTES[st.rng.randrange(len(BACKEND_ROUTES))]
        st.say(
            "info",
            "http",
            "request",
            log=BACKEND_LOG,
            method="GET",
            path=route,
            status=200,
            ms=st.rng.randint(3, 80),
            remote=f"10.30.{st.rng.randint(1, 9)}.{st.rng.randint(2, 250)}",
        )
        st.now += timedelta(milliseconds=st.rng.uniform(20, 900))
    st.say(level, "oa", message, log=BACKEND_LOG, **fields)


def redirect_uri_untrusted(st: Story, variant: int) -> str:
    st.start_client()
    code = 80001 if variant else 50001
    redirect = "https%3A%2F%2Foa-test.example.net%2Fcb"
    st.request(
        "GET",
        _oauth_start(st, redirect),
        status=200,
        body={"errcode": code, "errmsg": "redirect_url not authorised"},
    )
    st.say("error", "webview", f"oauth authorize errcode={code} redirect_uri=oa-test.example.net")
    _backend(st, "warn", "no oauth callback received", path="/cb")
    st.idle(15)
    return f"The OAuth redirect_uri is not a trusted domain of the app ({code})."


def invalid_code(st: Story, variant: int) -> str:
    st.start_client()
    code = 42022 if variant else 40029
    callback = f"{APP}/wecom/callback?code=CODE{st.seed:x}&state=st1"
    st.request(
        "GET",
        _oauth_start(st, "https%3A%2F%2Foa.example.com%2Fwecom%2Fcallback"),
        status=302,
        location=callback,
    )
    st.request("GET", callback, status=500, body={"error": "login failed", "errcode": code})
    _backend(
        st,
        "error",
        "getuserinfo failed",
        errcode=code,
        api=f"https://{QYAPI}/cgi-bin/auth/getuserinfo",
    )
    if variant:
        _backend(st, "warn", "code reused from a previous callback (page refresh)")
    st.idle(15)
    return f"The OAuth code is invalid or already used ({code})."


def redirect_loop(st: Story, variant: int) -> str:
    st.start_client()
    start = _oauth_start(st, "https%3A%2F%2Foa.example.com%2Flogin")
    for _ in range(4 if variant else 3):
        st.request("GET", start, status=302, location=f"{APP}/login?code=CODE1&state=st1")
        st.request("GET", f"{APP}/login?code=CODE1&state=st1", status=302, location=start)
    st.request("GET", start, error="net::ERR_TOO_MANY_REDIRECTS")
    st.say("warn", "webview", "jump to browser and back to app repeated 4 times (universal link)")
    st.idle(15)
    return "Login redirects loop between the app and the OAuth page."


def token_invalid(st: Story, variant: int) -> str:
    st.start_client()
    code = 42001 if variant else 40014
    st.request(
        "GET",
        f"{APP}/wecom/callback?code=CODE{st.seed:x}&state=st1",
        status=500,
        body={"error": "wecom api error", "errcode": code},
    )
    _backend(
        st,
        "error",
        "wecom api call failed",
        errcode=code,
        errmsg="access_token expired" if variant else "invalid access_token",
        api=f"https://{QYAPI}/cgi-bin/auth/getuserinfo",
    )
    st.idle(15)
    return f"The integration's access token is invalid or expired ({code})."


def hosts_override(st: Story, variant: int) -> str:
    st.start_client()
    override = "10.12.0.5" if variant else "192.168.50.2"
    st.say("info", "net", f"hosts entry found: {override} {QYAPI}")
    st.resolved[QYAPI] = override
    st.say("info", "net", f"connect to {QYAPI}:443 ip={override}")
    # The private deployment's own certificate; in one variant issued with a future start date.
    start = st.now + timedelta(days=-200 if variant else 20)
    chain = certs.interception_chain(
        "wecom.corp.internal", "Corp Internal Root CA", start, start + timedelta(days=398)
    )
    if st.capture is not None:
        st._sync_capture()
        flow = st.capture.tcp(override, 443)
        flow.client_hello(QYAPI)
        flow.server_flight(TLS12, chain)
        flow.alert("fatal", "bad_certificate")
        st._catch_up()
    st.request(
        "GET",
        f"https://{QYAPI}/cgi-bin/gettoken?corpid=ww1&corpsecret={fake_token(st)}",
        error="net::ERR_CERT_COMMON_NAME_INVALID",
        server_ip=override,
        certificates=chain,
    )
    st.say("error", "ssl", f"certificate name mismatch host={QYAPI} cn=wecom.corp.internal")
    st.idle(15)
    return "A hosts-file entry sends the service name to a private address."
