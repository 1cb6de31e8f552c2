"""What the compiled dissectors' tests share: the captures, and their events of one kind with a
compiled reader in use or swapped for its Python twin."""

from __future__ import annotations

from pathlib import Path

import pytest

from parsers.pcap import native
from parsers.pcap.capture import parse_capture

ROOT = Path(__file__).resolve().parents[3]


def sample_captures() -> list[Path]:
    found = sorted((ROOT / "sample_data").rglob("*.pcap*"))
    assert found, "sample_data holds captures"
    return found


def corpus_captures(corpus: Path) -> list[Path]:
    found = sorted(p for p in (corpus / "pcap").iterdir() if p.suffix in (".pcap", ".pcapng"))
    assert found
    return found


def events(path: Path, dataset: str, reader: str, compiled: bool) -> list[dict[str, object]]:
    """The capture's events of ``dataset``, with ``native.<reader>`` or without it."""
    with pytest.MonkeyPatch.context() as patch:
        if not compiled:
            patch.setattr(native, reader, None)
        found, _ = parse_capture(path, path.name, redact=False)
    return found.filter(found["event.dataset"] == dataset).to_dicts()
