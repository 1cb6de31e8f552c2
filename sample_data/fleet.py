"""A fleet of sample bundles with a known distribution of causes.

``plan_fleet`` draws each bundle's platform, client version, network,
region, day and cause from stated weights, with the dependencies a real
fleet shows (old Windows clients fail TLS, captive portals live on Wi-Fi,
DNS pollution on cellular, one regional gateway outage on one day), and
``truth`` counts the plan in the shape of the fleet summary contract so a
``loginlens fleet`` run can be checked against it.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sample_data.story import OS_NAMES

FIRST_DAY = date(2025, 5, 26)
DAYS = 7
OUTAGE_DAY = FIRST_DAY + timedelta(days=3)
OUTAGE_REGION = "CN-SH"

PLATFORM_WEIGHTS = {"windows": 0.45, "macos": 0.2, "android": 0.25, "ios": 0.1}
CLIENT_VERSIONS = {
    "windows": {"4.1.22.6019": 0.5, "4.1.16.6007": 0.3, "3.1.8.3108": 0.2},
    "macos": {"4.1.22.21403": 0.6, "4.1.13.20606": 0.4},
    "android": {"4.1.22.29104": 0.55, "4.1.10.26201": 0.3, "3.1.6.12103": 0.15},
    "ios": {"4.1.22.32015": 0.7, "4.1.12.30310": 0.3},
}
NETWORK_WEIGHTS = {
    "windows": {"wired": 0.6, "wifi": 0.3, "vpn": 0.1},
    "macos": {"wifi": 0.7, "wired": 0.2, "vpn": 0.1},
    "android": {"cellular": 0.55, "wifi": 0.45},
    "ios": {"cellular": 0.5, "wifi": 0.5},
}
REGION_WEIGHTS = {"CN-GD": 0.3, "CN-SH": 0.25, "CN-BJ": 0.25, "CN-ZJ": 0.15, "SG": 0.05}

# Share of bundles per cause before the conditions below; "healthy" is a login that worked.
CAUSE_WEIGHTS: dict[str, float] = {
    "healthy": 18.0,
    "network.firewall_block": 6.0,
    "network.captive_portal": 3.0,
    "network.dns_poisoning": 4.0,
    "network.dns_failure": 3.0,
    "network.tls_interception": 5.0,
    "network.mtu_blackhole": 1.5,
    "network.connection_reset": 2.0,
    "network.offline": 2.0,
    "account.not_activated": 2.0,
    "account.disabled": 3.0,
    "account.user_not_found": 2.0,
    "account.no_permission": 4.0,
    "account.ip_not_allowed": 4.0,
    "account.sso_misconfigured": 1.5,
    "client.tls_version_unsupported": 2.0,
    "client.outdated_version": 2.5,
    "client.clock_skew": 1.5,
    "client.keychain_error": 1.0,
    "server.gateway_error": 1.5,
    "server.ocsp_slow": 1.0,
    "server.session_inconsistent": 1.0,
    "security.password_lockout": 3.0,
    "security.geo_blocked": 1.5,
    "security.device_untrusted": 2.0,
    "security.mfa_unavailable": 1.5,
    "cache.db_corrupt": 2.5,
    "cache.cookie_expired": 2.0,
    "cache.session_mixup": 1.0,
    "device.limit_reached": 2.0,
    "device.kicked": 2.0,
    "device.approval_pending": 1.5,
    "device.policy_blocked": 1.0,
    "integration.redirect_uri_untrusted": 1.5,
    "integration.invalid_code": 2.0,
    "integration.redirect_loop": 1.0,
    "integration.token_invalid": 2.0,
    "integration.hosts_override": 1.0,
}

BY_KEYS = ("client_version", "os", "network", "region", "day")


@dataclass(frozen=True)
class BundlePlan:
    """What one fleet bundle is: its identity, its setting and the cause it shows."""

    id: str
    seed: int
    cause: str
    platform: str
    client_version: str
    network: str
    region: str
    day: date

    @property
    def os(self) -> str:
        return OS_NAMES[self.platform]


def plan_fleet(count: int, seed: int = 20250531) -> list[BundlePlan]:
    """Draw ``count`` bundles; the same seed always gives the same fleet."""
    rng = random.Random(seed)
    plans = []
    for index in range(count):
        platform = _pick(rng, PLATFORM_WEIGHTS)
        version = _pick(rng, CLIENT_VERSIONS[platform])
        network = _pick(rng, NETWORK_WEIGHTS[platform])
        region = _pick(rng, REGION_WEIGHTS)
        day = FIRST_DAY + timedelta(days=rng.randrange(DAYS))
        cause = _pick(rng, _cause_weights(platform, version, network, region, day))
        plans.append(
            BundlePlan(
                id=f"fleet-{index:05d}",
                seed=rng.getrandbits(32),
                cause=cause,
                platform=platform,
                client_version=version,
                network=network,
                region=region,
                day=day,
            )
        )
    return plans


def truth(plans: list[BundlePlan]) -> dict[str, Any]:
    """The plan counted as the fleet summary reports it (failed bundles only under ``causes``)."""
    failures = [plan for plan in plans if plan.cause != "healthy"]
    counts = Counter(plan.cause for plan in failures)
    by: dict[str, dict[str, dict[str, int]]] = {key: {} for key in BY_KEYS}
    for plan in plans:
        values = {
            "client_version": plan.client_version,
            "os": plan.os,
            "network": plan.network,
            "region": plan.region,
            "day": plan.day.isoformat(),
        }
        for key, value in values.items():
            cell = by[key].setdefault(value, {})
            cell[plan.cause] = cell.get(plan.cause, 0) + 1
    return {
        "bundles": len(plans),
        # Every generated bundle is readable: a run should analyse all and fail on none.
        "analysed": len(plans),
        "failed": 0,
        "healthy": len(plans) - len(failures),
        "causes": [
            {"cause": cause, "bundles": n, "share": round(n / len(plans), 4)}
            for cause, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        ],
        "by": {key: dict(sorted(table.items())) for key, table in by.items()},
    }


def _cause_weights(
    platform: str, version: str, network: str, region: str, day: date
) -> dict[str, float]:
    """Cause weights for one bundle's setting: causes only happen where they can."""
    weights = dict(CAUSE_WEIGHTS)
    major = tuple(int(part) for part in version.split(".")[:3])
    old_client = major < (3, 1, 10)
    weights["client.tls_version_unsupported"] = 25.0 if old_client and platform == "windows" else 0
    weights["client.outdated_version"] *= 6 if old_client else 0.3
    if network != "wifi":
        weights["network.captive_portal"] = 0
    weights["network.dns_poisoning"] *= 4 if network == "cellular" else 0.5
    weights["network.firewall_block"] *= 2 if network == "wired" else 0.3
    weights["network.tls_interception"] *= 2.5 if network in {"wired", "vpn"} else 0.2
    if platform in {"android", "ios"}:
        weights["client.keychain_error"] = (
            0 if platform == "android" else weights["client.keychain_error"]
        )
        weights["device.policy_blocked"] *= 3
    else:
        weights["device.policy_blocked"] = 0
    if region == "SG":
        weights["security.geo_blocked"] *= 10
    if day == OUTAGE_DAY and region == OUTAGE_REGION:
        weights["server.gateway_error"] = 60.0
    return weights


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    names = [name for name, weight in weights.items() if weight > 0]
    return rng.choices(names, weights=[weights[name] for name in names])[0]
