from collections.abc import Callable
from typing import Any

INTERFACE: int

class Unusual(Exception): ...

class Stream:
    @property
    def done(self) -> bool: ...
    @property
    def app_records(self) -> int: ...
    @property
    def last_app_frame(self) -> int | None: ...
    def feed(self, data: bytes, frame: int, /) -> list[Any]: ...

def bind(
    message: type,
    client_hello: type,
    server_hello: type,
    alert: type,
    certificates: type,
    handshake_name: Callable[[int], str],
    /,
) -> None: ...
