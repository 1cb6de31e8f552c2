"""The one exception parsers raise: the file as a whole could not be read."""

from __future__ import annotations


class ParseError(Exception):
    """An input file could not be read at all; carries the path shown to the user."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
