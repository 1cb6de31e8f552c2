"""The capture reader's compiled loops (``_records.c``), or None where the install could not
build them; their callers then run Python twins that do the same work, slower.

Callers read ``native.compiled`` when they run, so a test can swap it for None.
"""

from __future__ import annotations

__all__ = ["compiled"]

try:
    from parsers.pcap import _records as compiled
except ImportError:  # installed without a C compiler
    compiled = None  # type: ignore[assignment]
