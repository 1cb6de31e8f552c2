"""The compiled record loops (``parsers/pcap/_records.c``) do exactly what their Python twins do.

The walk runs the compiled loops where the install built them and the Python
ones elsewhere, so both must give the same records, problems and decoded
packets on any bytes: whole captures, cut, flipped and spliced ones, and
random bytes behind a capture header.
"""

from __future__ import annotations

import struct
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsers.pcap import walk
from parsers.pcap.packets import decode_packets
from tests.parsers.pcap.test_pcap_fuzz import SEEDS

pytestmark = pytest.mark.timeout(120)

SAME = settings(
    max_examples=60,
    deadline=timedelta(seconds=10),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Taken before any test swaps it out.
COMPILED = walk.compiled
ARRAYS = ("offset", "caplen", "origlen", "ts_ns", "interface", "prefix")


def test_the_install_built_the_compiled_loops() -> None:
    # Optional in pyproject.toml so that an install without a C compiler still works; CI has
    # one, so a build that silently failed shows here.
    assert COMPILED is not None


def read_both_ways(
    data: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[object, object]:
    path = tmp_path / "capture"
    path.write_bytes(data)
    outcomes = []
    for compiled in (COMPILED, None):
        monkeypatch.setattr(walk, "compiled", compiled)
        try:
            records = walk.open_records(path, "capture")
        except Exception as exc:  # compared, not judged: the fuzz tests judge what is raised
            outcomes.append(("raised", type(exc).__name__, str(exc)))
            continue
        packets = decode_packets(records)
        outcomes.append(
            (
                *(getattr(records, name) for name in ARRAYS),
                records.interfaces,
                records.problems,
                records.skipped,
                packets.notes,
                packets.frame,
            )
        )
    return outcomes[0], outcomes[1]


def assert_same(data: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, slow = read_both_ways(data, tmp_path, monkeypatch)
    assert type(fast) is type(slow)
    if isinstance(fast, tuple) and isinstance(fast[0], str):  # ("raised", name, message)
        assert fast == slow
        return
    assert isinstance(fast, tuple) and isinstance(slow, tuple)
    names = (*ARRAYS, "interfaces", "problems", "skipped", "notes")
    for name, mine, theirs in zip(names, fast, slow, strict=False):
        if isinstance(mine, np.ndarray) or isinstance(theirs, np.ndarray):
            assert np.array_equal(mine, theirs), name
        else:
            assert mine == theirs, name
    assert fast[-1].equals(slow[-1])


@SAME
@given(
    seed=st.sampled_from(SEEDS),
    cut=st.integers(min_value=0, max_value=200_000),
    flips=st.lists(st.tuples(st.integers(0, 200_000), st.integers(0, 255)), max_size=12),
    other=st.sampled_from(SEEDS),
    splice=st.integers(min_value=0, max_value=200_000),
)
def test_mutated_captures_read_alike(
    seed: bytes,
    cut: int,
    flips: list[tuple[int, int]],
    other: bytes,
    splice: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = bytearray(seed[:cut] + other[splice:])
    for position, value in flips:
        if data:
            data[position % len(data)] = value
    assert_same(bytes(data), tmp_path, monkeypatch)


@SAME
@given(
    head=st.sampled_from([seed[:24] for seed in SEEDS if seed[:4] in walk.PCAP_MAGICS]),
    big_endian=st.booleans(),
    tail=st.binary(max_size=4096),
)
def test_random_records_behind_a_pcap_header_read_alike(
    head: bytes, big_endian: bool, tail: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if big_endian:  # the same header in the other byte order
        magic, major, minor, zone, sigfigs, snaplen, network = struct.unpack("<IHHiIII", head)
        head = struct.pack(">IHHiIII", magic, major, minor, zone, sigfigs, snaplen, network)
    assert_same(head + tail, tmp_path, monkeypatch)


@SAME
@given(
    size=st.integers(0, 300),
    width=st.integers(0, 100),
    starts=st.lists(st.integers(0, 500), max_size=50),
)
def test_gather_alike(size: int, width: int, starts: list[int]) -> None:
    buffer = np.arange(size, dtype=np.uint64).astype(np.uint8)
    positions = np.asarray(starts, dtype=np.int64)
    assert np.array_equal(
        walk.gather(buffer, positions, width), walk._gather_python(buffer, positions, width)
    )


@pytest.mark.corpus
def test_corpus_captures_read_alike(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    captures = [p for p in sorted((corpus / "pcap").glob("*.pcap*")) if p.suffix != ".txt"]
    assert captures
    for path in captures:
        assert_same(path.read_bytes(), tmp_path, monkeypatch)
