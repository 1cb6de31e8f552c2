"""Per-file accounting: what was read, what was skipped and why, and how."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Keep the first few problems of each file with their location; count the rest.
MAX_ERRORS_KEPT = 20


@dataclass
class SourceReport:
    """What happened to one input file; serialises to the report's ``sources`` entry."""

    path: str
    kind: str
    format: str | None = None
    records: int = 0
    skipped: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    errors_total: int = 0
    bytes: int = 0
    seconds: float = 0.0
    clock_offset_s: float | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def error(self, record: int | None, reason: str, *, skipped: bool = True) -> None:
        """Record one problem at ``record`` (line, entry, frame or event number)."""
        if skipped:
            self.skipped += 1
        self.errors_total += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append({"record": record, "reason": reason})

    def to_json(self) -> dict[str, Any]:
        """Return the JSON form used by ``analyze --format json``."""
        return {
            "path": self.path,
            "kind": self.kind,
            "format": self.format,
            "records": self.records,
            "skipped": self.skipped,
            "errors": self.errors,
            "errors_total": self.errors_total,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 4),
            "clock_offset_s": self.clock_offset_s,
            **self.details,
        }
