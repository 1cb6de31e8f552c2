"""Golden NDJSON: each sample log parsed, non-null fields only, compared line by line.

Regenerate after an intended change with ``LOGINLENS_UPDATE_GOLDEN=1 pytest tests/parsers``
and read the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from parsers.logs.parser import parse_log
from parsers.logs.timestamps import TimeContext

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted((ROOT / "sample_data" / "quickstart" / "logs").iterdir())
GOLDEN = Path(__file__).parent / "golden"


def to_ndjson(path: Path, context: TimeContext) -> str:
    events, report = parse_log(path, path.name, context)
    lines = []
    for row in events.iter_rows(named=True):
        kept = {
            k: (v.isoformat() if hasattr(v, "isoformat") else v)
            for k, v in row.items()
            if v is not None
        }
        lines.append(json.dumps(kept, ensure_ascii=False, sort_keys=True))
    ledger = report.to_json()
    ledger.pop("seconds")
    lines.append(json.dumps({"ledger": ledger}, ensure_ascii=False, sort_keys=True))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_sample_log_matches_golden(sample: Path) -> None:
    context = TimeContext(
        "Asia/Shanghai", "bundle.json timezone", datetime_ref(), "bundle.json collected_at"
    )
    actual = to_ndjson(sample, context)
    golden = GOLDEN / f"{sample.name}.ndjson"
    if os.environ.get("LOGINLENS_UPDATE_GOLDEN") or not golden.exists():
        golden.write_text(actual, encoding="utf-8")
    assert actual.splitlines() == golden.read_text(encoding="utf-8").splitlines()


def datetime_ref():  # type: ignore[no-untyped-def]
    from datetime import datetime

    return datetime(2025, 5, 31, 10, 6)
