"""The capture reader's compiled parts, or None where the install could not build them; their
callers then run Python twins that do the same work, slower.

- ``compiled`` (``_records.c``): the walk's and the decoder's per-record loops;
- ``tls`` (``_tls.c``): one direction of a TLS connection, for well-formed traffic.

Callers read them when they run, so a test can swap either for None.
"""

from __future__ import annotations

__all__ = ["compiled", "tls"]

# The interface of ``_tls`` this code calls: a module left from an older build is not used.
TLS_INTERFACE = 1

try:
    from parsers.pcap import _records as compiled
except ImportError:  # installed without a C compiler
    compiled = None  # type: ignore[assignment]
try:
    from parsers.pcap import _tls as tls
except ImportError:  # installed without a C compiler
    tls = None  # type: ignore[assignment]
if getattr(tls, "INTERFACE", None) != TLS_INTERFACE:
    tls = None  # type: ignore[assignment]
