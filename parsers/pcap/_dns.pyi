from collections.abc import Callable
from typing import Any

INTERFACE: int

def parse(data: bytes, /) -> Any: ...
def bind(message: type, record: type, type_name: Callable[[int], str], /) -> None: ...
