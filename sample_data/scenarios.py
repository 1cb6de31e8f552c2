"""Every cause of ``signatures/causes.yaml`` (and a healthy login) as a bundle recipe.

A recipe is the story function plus the sources its evidence needs. The
committed set has two variants per cause that differ in platform, log
format, encoding and evidence mix; the fleet draws sources at random within
what the cause needs.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sample_data import stories_account as acc
from sample_data import stories_network as net
from sample_data.story import Setting, Story, make_setting

Tell = Callable[[Story, int], str]


@dataclass(frozen=True)
class Variant:
    """One committed bundle of a cause: where it happens and which sources it has."""

    tag: str
    platform: str
    network: str
    version: str
    sources: dict[str, Any] = field(default_factory=dict)  # Story keyword arguments


@dataclass(frozen=True)
class Recipe:
    tell: Tell
    # The bundle must hold at least one of these (beyond client logs) for the cause to show.
    needs: frozenset[str]
    variants: tuple[Variant, Variant]
    backend_log: bool = False


W, M, A, IOS_ = "windows", "macos", "android", "ios"
WIN = "4.1.22.6019"
MAC = "4.1.22.21403"
AND = "4.1.22.29104"
IOS = "4.1.22.32015"
OLD_WIN = "3.1.8.3108"
OLD_AND = "3.1.6.12103"
UTF16 = "utf-16-le"
NET = frozenset({"pcap"})
WEB = frozenset({"har", "netlog"})
ANY = frozenset({"pcap", "har", "netlog", "log"})
LOGS = frozenset({"log"})


def _v(tag: str, platform: str, network: str, version: str, **sources: Any) -> Variant:
    return Variant(tag, platform, network, version, sources)


RECIPES: dict[str, Recipe] = {
    "healthy": Recipe(net.healthy, ANY, (
        _v("windows-wired", W, "wired", WIN, har="chrome", prelude=2.0, extra_logs={
            "netdiag.jsonl": ("json_lines", UTF16)}),
        _v("android-cellular", A, "cellular", AND, clock_skew=timedelta(seconds=47)),
    )),
    "network.firewall_block": Recipe(net.firewall_block, NET | WEB, (
        _v("windows-wired", W, "wired", WIN, har="chrome"),
        _v("macos-wired", M, "wired", MAC, pcapng=True, netlog=True, pcap=True),
    )),
    "network.captive_portal": Recipe(net.captive_portal, NET | WEB, (
        _v("macos-wifi", M, "wifi", MAC, pcapng=True, har="chrome"),
        _v("windows-wifi", W, "wifi", WIN, netlog=True, log_format="electron_log"),
    )),
    "network.dns_poisoning": Recipe(net.dns_poisoning, NET, (
        _v("android-cellular", A, "cellular", AND),
        _v("android-cellular-ipv6", A, "cellular", AND, ipv6=True, log_format="logcat_brief"),
    )),
    "network.dns_failure": Recipe(net.dns_failure, NET | WEB, (
        _v("windows-wired", W, "wired", WIN, har="firefox"),
        _v("ios-cellular", IOS_, "cellular", IOS, pcapng=True, netlog=True),
    )),
    "network.tls_interception": Recipe(net.tls_interception, NET | WEB, (
        _v("windows-wired", W, "wired", WIN, har="chrome", log_encoding="utf-8"),
        _v("macos-vpn", M, "vpn", MAC, pcapng=True, netlog=True),
    )),
    "network.mtu_blackhole": Recipe(net.mtu_blackhole, NET, (
        _v("windows-vpn", W, "vpn", WIN),
        _v("macos-vpn", M, "vpn", MAC, pcapng=True),
    )),
    "network.connection_reset": Recipe(net.connection_reset, NET, (
        _v("windows-wired", W, "wired", WIN, har="chrome"),
        _v("android-wifi", A, "wifi", AND),
    )),
    "network.offline": Recipe(net.offline, NET | WEB, (
        _v("windows-wifi", W, "wifi", WIN, netlog=True),
        _v("android-wifi", A, "wifi", AND),
    )),
    "account.not_activated": Recipe(acc.not_activated, LOGS, (
        _v("windows-wired", W, "wired", WIN, har="chrome", pcap=False),
        _v("android-wifi", A, "wifi", AND, pcap=False),
    )),
    "account.disabled": Recipe(acc.disabled, LOGS, (
        _v("macos-wifi", M, "wifi", MAC, pcap=False, extra_logs={
            "wework-unified.log": ("apple_log_show", "utf-8")}),
        _v("windows-wired", W, "wired", WIN, pcap=False, har="firefox"),
    )),
    "account.user_not_found": Recipe(acc.user_not_found, LOGS, (
        _v("windows-wired", W, "wired", WIN, pcap=False, log_format="electron_log"),
        _v("ios-cellular", IOS_, "cellular", IOS, pcap=False, har="chrome"),
    )),
    "account.no_permission": Recipe(acc.no_permission, LOGS, (
        _v("windows-wired", W, "wired", WIN, pcap=False, har="chrome"),
        _v("android-cellular", A, "cellular", AND, pcap=False),
    )),
    "account.ip_not_allowed": Recipe(acc.ip_not_allowed, LOGS, (
        _v("windows-vpn", W, "vpn", WIN, pcap=False, har="chrome", extra_logs={
            "netdiag.jsonl": ("json_lines", UTF16)}),
        _v("macos-wifi", M, "wifi", MAC, pcap=False),
    )),
    "account.sso_misconfigured": Recipe(acc.sso_misconfigured, WEB, (
        _v("windows-wired", W, "wired", WIN, pcap=False, har="chrome"),
        _v("macos-wifi", M, "wifi", MAC, pcap=False, har="firefox"),
    )),
    "client.tls_version_unsupported": Recipe(net.tls_version_unsupported, NET | WEB, (
        _v("windows7-wired", W, "wired", OLD_WIN, har="chrome"),
        _v("windows7-wifi", W, "wifi", OLD_WIN, netlog=True, log_format="chromium"),
    )),
    "client.outdated_version": Recipe(net.outdated_version, LOGS, (
        _v("android-cellular", A, "cellular", OLD_AND, pcap=False),
        _v("windows-wired", W, "wired", OLD_WIN, pcap=False, har="chrome"),
    )),
    "client.clock_skew": Recipe(net.clock_skew, ANY, (
        _v("windows-wired", W, "wired", WIN, har="chrome", clock_skew=timedelta(days=-420)),
        _v("android-wifi", A, "wifi", AND, clock_skew=timedelta(days=800)),
    )),
    "client.keychain_error": Recipe(net.keychain_error, LOGS, (
        _v("macos-wifi", M, "wifi", MAC, pcap=False, extra_logs={
            "wework-unified.log": ("apple_log_show", "utf-8")}),
        _v("windows-wired", W, "wired", WIN, pcap=False),
    )),
    "server.gateway_error": Recipe(net.gateway_error, ANY, (
        _v("windows-wired", W, "wired", WIN, pcap=False, har="chrome"),
        _v("android-cellular", A, "cellular", AND, pcap=False, har="firefox"),
    )),
    "server.ocsp_slow": Recipe(net.ocsp_slow, NET, (
        _v("windows-wired", W, "wired", WIN),
        _v("macos-wifi", M, "wifi", MAC, pcapng=True, netlog=True),
    )),
    "server.session_inconsistent": Recipe(net.session_inconsistent, LOGS, (
        _v("windows-wired", W, "wired", WIN, pcap=False, har="chrome"),
        _v("ios-wifi", IOS_, "wifi", IOS, pcap=False),
    )),
    "security.password_lockout": Recipe(acc.password_lockout, LOGS, (
        _v("windows-wired", W, "wired", WIN, pcap=False, har="chrome"),
        _v("macos-wifi", M, "wifi", MAC, pcap=False, log_format="electron_log"),
    )),
    "security.geo_blocked": Recipe(acc.geo_blocked, LOGS, (
        _v("windows-wifi", W, "wifi", WIN, pcap=False),
        _v("ios-cellular", IOS_, "cellular", IOS, pcap=False, har="chrome"),
    )),
    "security.device_untrusted": Recipe(acc.device_untrusted, LOGS, (
        _v("android-wifi", A, "wifi", AND, pcap=False),
        _v("windows-wired", W, "wired", WIN, pcap=False, har="firefox"),
    )),
    "security.mfa_unavailable": Recipe(acc.mfa_unavailable, LOGS, (
        _v("windows-wired", W, "wired", WIN, pcap=False, har="chrome"),
        _v("android-cellular", A, "cellular", AND, pcap=False),
    )),
    "cache.db_corrupt": Recipe(acc.db_corrupt, LOGS, (
        _v("windows-wired", W, "wired", WIN, pcap=False),
        _v("android-wifi", A, "wifi", AND, pcap=False),
    )),
    "cache.cookie_expired": Recipe(acc.cookie_expired, LOGS, (
        _v("windows-wired", W, "wired", WIN, pcap=False, har="chrome"),
        _v("macos-wifi", M, "wifi", MAC, pcap=False, har="firefox"),
    )),
    "cache.session_mixup": Recipe(acc.session_mixup, LOGS, (
        _v("windows-wired", W, "wired", WIN, pcap=False, har="chrome"),
        _v("android-cellular", A, "cellular", AND, pcap=False),
    )),
    "device.limit_reached": Recipe(acc.limit_reached, LOGS, (
        _v("windows-wired", W, "wired", WIN, pcap=False),
        _v("ios-wifi", IOS_, "wifi", IOS, pcap=False, har="chrome"),
    )),
    "device.kicked": Recipe(acc.kicked, LOGS, (
        _v("windows-wired", W, "wired", WIN, pcap=False),
        _v("android-cellular", A, "cellular", AND, pcap=False),
    )),
    "device.approval_pending": Recipe(acc.approval_pending, LOGS, (
        _v("macos-wifi", M, "wifi", MAC, pcap=False),
        _v("windows-wired", W, "wired", WIN, pcap=False, har="chrome"),
    )),
    "device.policy_blocked": Recipe(acc.policy_blocked, LOGS, (
        _v("android-cellular", A, "cellular", AND, pcap=False),
        _v("ios-wifi", IOS_, "wifi", IOS, pcap=False),
    )),
    "integration.redirect_uri_untrusted": Recipe(acc.redirect_uri_untrusted, WEB, (
        _v("windows-wired", W, "wired", WIN, pcap=False, har="chrome"),
        _v("android-wifi", A, "wifi", AND, pcap=False, har="firefox"),
    ), backend_log=True),
    "integration.invalid_code": Recipe(acc.invalid_code, WEB, (
        _v("windows-wired", W, "wired", WIN, pcap=False, har="chrome"),
        _v("ios-cellular", IOS_, "cellular", IOS, pcap=False, netlog=True, har="chrome"),
    ), backend_log=True),
    "integration.redirect_loop": Recipe(acc.redirect_loop, WEB, (
        _v("ios-wifi", IOS_, "wifi", IOS, pcap=False, har="chrome"),
        _v("android-cellular", A, "cellular", AND, pcap=False, har="firefox"),
    )),
    "integration.token_invalid": Recipe(acc.token_invalid, WEB, (
        _v("windows-wired", W, "wired", WIN, pcap=False, har="chrome"),
        _v("macos-wifi", M, "wifi", MAC, pcap=False, har="firefox"),
    ), backend_log=True),
    "integration.hosts_override": Recipe(acc.hosts_override, NET | WEB, (
        _v("windows-wired", W, "wired", WIN, har="chrome"),
        _v("macos-wired", M, "wired", MAC, pcapng=True, netlog=True),
    )),
}  # fmt: skip

COMMITTED_DAY = date(2025, 5, 31)
# Stories whose every address comes from a lookup, so they can be told over IPv6.
IPV6_STORIES = frozenset(
    {
        "healthy",
        "network.dns_poisoning",
        "network.dns_failure",
        "network.firewall_block",
        "network.tls_interception",
        "network.mtu_blackhole",
        "network.connection_reset",
    }
)


def tell(
    cause: str, setting: Setting, seed: int, variant: int, sources: dict[str, Any], out: Path
) -> None:
    """Tell ``cause`` with ``sources`` in ``setting`` and write the bundle to ``out``."""
    recipe = RECIPES[cause]
    extra = dict(sources.pop("extra_logs", {}))
    if recipe.backend_log:
        extra[acc.BACKEND_LOG] = ("json_lines", "utf-8")
    story = Story(seed, setting, extra_logs=extra, **sources)
    notes = recipe.tell(story, variant)
    status = "healthy" if cause == "healthy" else "failure"
    story.write(out, status, [] if cause == "healthy" else [cause], notes)


def committed(root: Path) -> list[Path]:
    """Write the committed set (two variants per cause) under ``root``; return bundle dirs."""
    written = []
    for number, (cause, recipe) in enumerate(RECIPES.items()):
        for index, variant in enumerate(recipe.variants):
            seed = 1000 * number + index
            rng = random.Random(seed)
            setting = make_setting(
                rng,
                variant.platform,
                variant.version,
                variant.network,
                "CN-GD" if index == 0 else "CN-BJ",
                COMMITTED_DAY,
            )
            if cause == "security.geo_blocked":
                setting = replace(setting, region="HK" if index == 0 else "SG")
            out = root / f"{cause}--{variant.tag}"
            tell(cause, setting, seed, index, dict(variant.sources), out)
            written.append(out)
    return written


def fleet_sources(cause: str, platform: str, rng: random.Random) -> dict[str, Any]:
    """Sources for a fleet bundle of ``cause``: random, but holding what the cause needs."""
    recipe = RECIPES[cause]
    sources: dict[str, Any] = {
        "pcap": rng.random() < 0.5,
        "har": rng.choice((None, None, "chrome", "firefox")),
        "netlog": rng.random() < 0.15,
        "pcapng": rng.random() < 0.3,
    }
    present = {name for name in ("pcap", "netlog") if sources[name]} | (
        {"har"} if sources["har"] else set()
    )
    if not present & recipe.needs and "log" not in recipe.needs:
        need = sorted(recipe.needs)[rng.randrange(len(recipe.needs))]
        if need == "har":
            sources["har"] = "chrome"
        else:
            sources[need] = True
    if platform == "android" and cause in IPV6_STORIES and rng.random() < 0.3:
        sources["ipv6"] = sources["pcap"]
    if cause == "client.clock_skew":
        sources["clock_skew"] = timedelta(days=rng.choice((-420, -900, 600)))
    sources["prelude"] = round(rng.uniform(1, 15), 1)
    if rng.random() < 0.2:
        # The capture came from another machine (a gateway, a laptop on the same Wi-Fi).
        sources.setdefault(
            "clock_skew", timedelta(seconds=rng.choice((-1, 1)) * rng.randint(5, 120))
        )
    if platform == "windows" and rng.random() < 0.2:
        sources["extra_logs"] = {"netdiag.jsonl": ("json_lines", UTF16)}
    return sources
