"""The capture reader's compiled parts, or None where the install could not build them; their
callers then run Python twins that do the same work, slower.

- ``compiled`` (``_records.c``): the walk's and the decoder's per-record loops;
- ``tls`` (``_tls.c``): one direction of a TLS connection, for well-formed traffic;
- ``dns`` (``_dns.c``): DNS messages with nothing wrong with them.

Callers read them when they run, so a test can swap either for None.
"""

from __future__ import annotations

__all__ = ["compiled", "dns", "tls"]

# The interfaces of ``_tls`` and ``_dns`` this code calls: a module left from an older build
# is not used.
TLS_INTERFACE = 1
DNS_INTERFACE = 1

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
try:
    from parsers.pcap import _dns as dns
except ImportError:  # installed without a C compiler
    dns = None  # type: ignore[assignment]
if getattr(dns, "INTERFACE", None) != DNS_INTERFACE:
    dns = None  # type: ignore[assignment]
