"""Write the sample bundles: the committed set, or a fleet of many.

    python -m sample_data.generate                  # rewrite sample_data/bundles/
    python -m sample_data.generate --check          # exit 1 if the committed set is stale
    python -m sample_data.generate fleet --count 1000 --out /tmp/fleet [--workers 2]

Everything is seeded: the same command always writes the same bytes.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import random
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from sample_data import fleet
from sample_data.scenarios import RECIPES, committed, fleet_sources, tell
from sample_data.story import make_setting

BUNDLES = Path(__file__).resolve().parent / "bundles"


README = BUNDLES.parent / "README.md"
README_HEAD = """\
# Sample bundles

Bundles as a support engineer receives them (client logs, packet captures,
HAR files, Chrome NetLog, `bundle.json`), one or more per root cause of
`signatures/causes.yaml` plus healthy logins, each with `expected.json`:
`{"status", "causes", "notes", "device_clock_skew_s", "sources"}`, where
`sources` says what every file is (kind, log format, encoding, link type), so
tests can hold the parsers to it. loginlens reads `expected.json` as the answer
key it is, never as evidence.

Everything here is written by a seeded generator; do not edit by hand.

```sh
python -m sample_data.generate            # rewrite bundles/ and this file
python -m sample_data.generate --check    # exit 1 if they are stale
python -m sample_data.generate fleet --count 1000 --out /tmp/fleet   # not committed
```

The fleet command writes `N` bundles whose causes follow stated weights and
conditions (`sample_data/fleet.py`: old Windows clients fail TLS, captive
portals happen on Wi-Fi, DNS pollution on cellular, one regional gateway
outage on one day) and `truth.json`, the true distribution in the shape of the
fleet summary contract. Building blocks live in `sample_data/gen/`
(certificates, packets, HAR, NetLog, client logs); the stories, one function
per cause, in `sample_data/stories_*.py`.

| cause | bundle | device | sources | what the evidence shows |
|---|---|---|---|---|
"""


def readme(root: Path = BUNDLES) -> str:
    """The README: how the bundles are made and a table of what each one holds."""
    rows = []
    for bundle in sorted(path for path in root.iterdir() if path.is_dir()):
        verdict = json.loads((bundle / "expected.json").read_text(encoding="utf-8"))
        meta = json.loads((bundle / "bundle.json").read_text(encoding="utf-8"))
        cause = (verdict["causes"] or ["healthy"])[0]
        device = f"{meta['os']} {meta['client_version']}, {meta['network']}"
        skew = verdict["device_clock_skew_s"]
        if skew:
            device += f", device clock {skew:+.0f} s"
        sources = ", ".join(_describe(name, facts) for name, facts in verdict["sources"].items())
        rows.append(f"| `{cause}` | `{bundle.name}` | {device} | {sources} | {verdict['notes']} |")
    return README_HEAD + "\n".join(rows) + "\n"


def _describe(name: str, facts: dict[str, object]) -> str:
    if facts["kind"] == "log":
        return f"log `{Path(name).name}` ({facts['format']}, {facts['encoding']})"
    if facts["kind"] in {"pcap", "pcapng"}:
        return f"{facts['kind']} ({facts['link']}{', IPv6' if facts['ipv6'] else ''})"
    if facts["kind"] == "netlog":
        return "NetLog" + (" (cut short)" if facts["truncated"] else "")
    return f"HAR ({Path(name).stem.split('-')[0]})"


def write_committed(root: Path = BUNDLES) -> list[Path]:
    """Regenerate the committed set and README in place (the directory is replaced)."""
    if root.exists():
        shutil.rmtree(root)
    written = committed(root)
    README.write_text(readme(root), encoding="utf-8")
    return written


def stale_files(root: Path = BUNDLES) -> list[str]:
    """Files that differ between ``root`` and a fresh generation (empty when up to date)."""
    with tempfile.TemporaryDirectory() as scratch:
        fresh = Path(scratch) / "bundles"
        committed(fresh)
        stale = _differences(filecmp.dircmp(root, fresh), Path())
        if not README.exists() or README.read_text(encoding="utf-8") != readme(fresh):
            stale.append("../README.md")
        return stale


def _differences(comparison: filecmp.dircmp[str], where: Path) -> list[str]:
    found = [str(where / name) for name in comparison.left_only + comparison.right_only]
    _, mismatch, errors = filecmp.cmpfiles(
        comparison.left, comparison.right, comparison.common_files, shallow=False
    )
    found += [str(where / name) for name in mismatch + errors]
    for name, sub in comparison.subdirs.items():
        found += _differences(sub, where / name)
    return sorted(found)


def _build(plan: fleet.BundlePlan, out: Path) -> None:
    rng = random.Random(plan.seed)
    setting = make_setting(
        rng, plan.platform, plan.client_version, plan.network, plan.region, plan.day
    )
    sources = fleet_sources(plan.cause, plan.platform, rng)
    variant = rng.randrange(2)
    if plan.cause == "client.clock_skew":
        variant = int(sources["clock_skew"].days > 0)
    tell(plan.cause, setting, plan.seed, variant, sources, out / plan.id)


def _build_chunk(plans: list[fleet.BundlePlan], out: Path) -> int:
    for plan in plans:
        _build(plan, out)
    return len(plans)


def write_fleet(out: Path, count: int, seed: int, workers: int) -> dict[str, object]:
    """Write ``count`` bundles and ``truth.json`` under ``out``; return the truth."""
    plans = fleet.plan_fleet(count, seed)
    out.mkdir(parents=True, exist_ok=True)
    # A fleet written before (another seed or count) must not mix into this one.
    for old in out.glob("fleet-*"):
        shutil.rmtree(old)
    # Keys and certificates are cached per process: make them once before the workers fork.
    with tempfile.TemporaryDirectory() as scratch:
        warm = make_setting(
            random.Random(0), "windows", "4.1.22.6019", "wired", "CN-GD", fleet.FIRST_DAY
        )
        tell("healthy", warm, 0, 0, {"har": "chrome"}, Path(scratch))
    chunks = [plans[i :: workers * 8] for i in range(workers * 8)]
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            list(pool.map(_build_chunk, chunks, [out] * len(chunks)))
    else:
        for chunk in chunks:
            _build_chunk(chunk, out)
    truth = fleet.truth(plans)
    (out / "truth.json").write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8")
    return truth


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sample_data.generate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    sub = parser.add_subparsers(dest="command")
    fleet_cmd = sub.add_parser("fleet", help="write N bundles and truth.json")
    fleet_cmd.add_argument("--count", type=int, default=1000)
    fleet_cmd.add_argument("--out", type=Path, required=True)
    fleet_cmd.add_argument("--seed", type=int, default=20250531)
    fleet_cmd.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.command == "fleet":
        truth = write_fleet(args.out, args.count, args.seed, max(1, args.workers))
        elapsed = time.perf_counter() - started
        print(
            f"wrote {truth['bundles']} bundles ({truth['healthy']} healthy) to {args.out} "
            f"in {elapsed:.1f}s; true distribution in {args.out / 'truth.json'}"
        )
        return 0
    if args.check:
        stale = stale_files()
        if stale:
            print(f"{len(stale)} file(s) differ from a fresh generation:", *stale[:20], sep="\n  ")
            return 1
        print(f"sample_data/bundles is up to date ({len(RECIPES)} recipes)")
        return 0
    written = write_committed()
    size = sum(f.stat().st_size for d in written for f in d.rglob("*") if f.is_file())
    print(
        f"wrote {len(written)} bundles ({size / 1e6:.1f} MB) to {BUNDLES} "
        f"in {time.perf_counter() - started:.1f}s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
