import numpy as np

def chain(
    data: np.ndarray,
    out: np.ndarray,
    position: int,
    end: int,
    length_at: int,
    header: int,
    limit: int,
    big_endian: bool,
    /,
) -> int: ...
def gather(data: np.ndarray, starts: np.ndarray, out: np.ndarray, width: int, /) -> None: ...
def decode(
    data: np.ndarray,
    offset: np.ndarray,
    caplen: np.ndarray,
    link: np.ndarray,
    columns: tuple[np.ndarray, ...],
    /,
) -> tuple[int, int]: ...
