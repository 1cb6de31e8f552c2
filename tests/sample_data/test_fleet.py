"""The fleet generator: the bundles it writes agree with the distribution it states."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

from sample_data import fleet
from sample_data.generate import write_fleet


def digest(root: Path) -> str:
    sha = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file():
            sha.update(path.relative_to(root).as_posix().encode())
            sha.update(path.read_bytes())
    return sha.hexdigest()


def test_written_bundles_match_the_stated_truth(tmp_path: Path) -> None:
    truth = write_fleet(tmp_path, 60, seed=7, workers=2)
    assert json.loads((tmp_path / "truth.json").read_text()) == truth
    bundles = sorted(p for p in tmp_path.iterdir() if p.is_dir())
    assert len(bundles) == truth["bundles"] == 60
    causes: Counter[str] = Counter()
    days: Counter[str] = Counter()
    for bundle in bundles:
        verdict = json.loads((bundle / "expected.json").read_text())
        meta = json.loads((bundle / "bundle.json").read_text())
        causes.update(verdict["causes"] or ["healthy"])
        days[meta["collected_at"][:10]] += 1
        assert meta["os"] in {"Windows", "macOS", "Android", "iOS"}
    assert causes["healthy"] == truth["healthy"]
    assert {c["cause"]: c["bundles"] for c in truth["causes"]} == {
        cause: n for cause, n in causes.items() if cause != "healthy"
    }
    # Each bundle's metadata lands in the cell of truth["by"] that counted it.
    seen: dict[str, Counter[str]] = {key: Counter() for key in fleet.BY_KEYS}
    for bundle in bundles:
        meta = json.loads((bundle / "bundle.json").read_text())
        for key in ("client_version", "os", "network", "region"):
            seen[key][meta[key]] += 1
    for key in ("client_version", "os", "network", "region"):
        assert seen[key] == {v: sum(cell.values()) for v, cell in truth["by"][key].items()}, key
    stated_days = {day: sum(cell.values()) for day, cell in truth["by"]["day"].items()}
    # A bundle is collected a few minutes after its story, on the story's day.
    assert days == stated_days


def test_same_seed_same_fleet(tmp_path: Path) -> None:
    write_fleet(tmp_path / "a", 12, seed=3, workers=1)
    write_fleet(tmp_path / "b", 12, seed=3, workers=2)
    assert digest(tmp_path / "a") == digest(tmp_path / "b")


def test_causes_follow_their_conditions() -> None:
    plans = fleet.plan_fleet(3000, seed=11)
    for plan in plans:
        if plan.cause == "network.captive_portal":
            assert plan.network == "wifi"
        if plan.cause == "client.tls_version_unsupported":
            assert plan.platform == "windows" and plan.client_version.startswith("3.")
    outage = [p for p in plans if p.day == fleet.OUTAGE_DAY and p.region == fleet.OUTAGE_REGION]
    share = sum(p.cause == "server.gateway_error" for p in outage) / len(outage)
    elsewhere = [p for p in plans if p not in outage]
    assert share > 5 * sum(p.cause == "server.gateway_error" for p in elsewhere) / len(elsewhere)
