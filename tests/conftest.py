"""Shared fixtures: a fixed time context, a file writer, and the shared corpus."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from parsers.logs.timestamps import TimeContext

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


@pytest.fixture
def utc_context() -> TimeContext:
    """Naive times read as UTC; missing years and dates from 2025-06-01 12:00."""
    return TimeContext(
        zone=None,
        zone_source="test",
        reference=datetime(2025, 6, 1, 12, 0),
        reference_source="test reference",
    )


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[[str, bytes | str], Path]:
    """Write bytes (or UTF-8 text) to a file under tmp_path and return its path."""

    def write(name: str, content: bytes | str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path

    return write


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The shared third-party corpus; tests using it skip when it is absent."""
    if not CORPUS.is_dir():
        pytest.skip(f"corpus not found at {CORPUS}")
    return CORPUS
