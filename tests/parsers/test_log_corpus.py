"""Real third-party logs (../shared/corpus/logs): timestamps recognised for ≥ 99% of records
whose line starts with a timestamp. Prints a per-file table."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest
import regex

from parsers.logs.parser import parse_log
from parsers.logs.timestamps import TimeContext

pytestmark = pytest.mark.corpus

# Written independently of the parser's own patterns: does this line start with a timestamp?
STARTS_WITH_TIMESTAMP = regex.compile(
    r"""^\[?(?:
        \d{4}[-/]\d{1,2}[-/]\d{1,2}[T\ ]\d{1,2}:\d{2}:\d{2}
      | \d{4}-\d{3}T\d{2}:\d{2}
      | (?:[A-Z][a-z]{2}\ )?\p{L}{3,5}\.?\ {1,2}\d{1,2}\ \d{2}:\d{2}:\d{2}
      | \d{2}-\d{2}\ \d{2}:\d{2}:\d{2}
      | [IWEF]\d{4}\ \d{2}:\d{2}:\d{2}
      | \d{10}(?:\d{3})?\b
      | \d{2}:\d{2}:\d{2}[.,]\d
    )""",
    regex.VERBOSE,
)


def test_corpus_logs_timestamps_recognised(corpus: Path) -> None:
    files = sorted((corpus / "logs").iterdir())
    assert files
    print(
        f"\n{'file':42} {'format':18} {'lines':>6} {'records':>7} {'ts-lines':>8} {'ok':>5} {'share':>7}"
    )
    failures = []
    for path in files:
        context = TimeContext(None, "test", datetime.fromtimestamp(os.path.getmtime(path)), "mtime")
        events, report = parse_log(path, path.name, context)
        text = path.read_bytes().decode("utf-8", errors="replace")
        stamped_lines = {
            number
            for number, line in enumerate(text.split("\n"), start=1)
            if STARTS_WITH_TIMESTAMP.match(line.lstrip("\ufeff"))
        }
        parsed = events.filter(events["@timestamp"].is_not_null())["loginlens.record"].to_list()
        recognised = stamped_lines & set(parsed)
        share = len(recognised) / len(stamped_lines) if stamped_lines else 1.0
        print(f"{path.name:42} {report.format or '-':18} {report.details['lines']:>6} "
              f"{report.records:>7} {len(stamped_lines):>8} {len(recognised):>5} {share:>7.1%}")  # fmt: skip
        if share < 0.99:
            failures.append((path.name, sorted(stamped_lines - recognised)[:5]))
    assert not failures, failures
