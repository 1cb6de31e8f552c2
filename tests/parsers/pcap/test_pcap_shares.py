"""The deep tier in shares: forked children give exactly what one process gives."""

from __future__ import annotations

import gc
import os
from pathlib import Path
from typing import Any

import pytest

from bench.gen_capture import generate
from parsers.pcap import dissect as dissect_module
from parsers.pcap import shares
from parsers.pcap.dissect import Dissected, dissect
from parsers.pcap.flows import assign_flows, summarise_flows
from parsers.pcap.packets import decode_packets
from parsers.pcap.rows import Columns
from parsers.pcap.walk import open_records

pytestmark = pytest.mark.skipif(
    "fork" not in __import__("multiprocessing").get_all_start_methods(), reason="needs fork"
)


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("shares") / "mixed.pcap"
    generate(path, 20_000, seed=11)
    return path


def rows(columns: Columns) -> list[dict[str, object]]:
    """The rows again, every column in each (None where the row had none)."""
    values = columns.values.values()
    return [dict(zip(columns.values, row, strict=True)) for row in zip(*values, strict=True)]


@pytest.mark.parametrize("parts", [2, 3])
def test_shares_give_the_same_events_and_problems(capture: Path, parts: int) -> None:
    records = open_records(capture, "mixed.pcap")
    packets = decode_packets(records)
    flows_in = assign_flows(packets.frame)
    flows = summarise_flows(flows_in, {})
    alone = dissect(records.buffer, packets.frame, flows_in, flows, parts=1)
    shared = dissect(records.buffer, packets.frame, flows_in, flows, parts=parts)
    assert sum(columns.count for columns in alone.events.values()) > 1000
    assert shared.problems == alone.problems
    for kind, columns in alone.events.items():
        # Flows are dealt to shares by number, so each kind's rows come back regrouped.
        key = lambda row: (row["ts_ns"], str(sorted(row.items())))  # noqa: E731
        mine, theirs = rows(shared.events[kind]), rows(columns)
        assert sorted(mine, key=key) == sorted(theirs, key=key), kind


@pytest.mark.parametrize("enabled", [True, False])
def test_the_cycle_collector_is_paused_only_while_dissecting(
    capture: Path, enabled: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = open_records(capture, "mixed.pcap")
    packets = decode_packets(records)
    flows_in = assign_flows(packets.frame)
    flows = summarise_flows(flows_in, {})
    seen: list[bool] = []
    share = dissect_module._dissect_share

    def watched(*args: Any) -> Dissected:
        seen.append(gc.isenabled())
        return share(*args)

    monkeypatch.setattr(dissect_module, "_dissect_share", watched)
    (gc.enable if enabled else gc.disable)()
    try:
        dissect(records.buffer, packets.frame, flows_in, flows, parts=1)
        assert seen == [False] and gc.isenabled() == enabled
    finally:
        gc.enable()


def _square_or_die(part: int, parts: int) -> int:
    if part == 1 and os.getpid() != PARENT:
        os._exit(3)  # a child that dies without a word
    return part * part


def _square_or_raise(part: int, parts: int) -> int:
    if os.getpid() != PARENT:
        raise MemoryError("child ran out")
    return part * part


PARENT = os.getpid()


@pytest.mark.parametrize("work", [_square_or_die, _square_or_raise])
def test_a_failed_child_share_is_redone_by_the_parent(work: object) -> None:
    assert shares.run_shares(work, 3) == [0, 1, 4]  # type: ignore[arg-type]


def test_the_parent_failing_stops_the_children() -> None:
    def work(part: int, parts: int) -> int:
        if part == 0:
            raise ValueError("parent share broke")
        return part

    with pytest.raises(ValueError, match="parent share broke"):
        shares.run_shares(work, 2)


def test_default_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: {0, 1, 2, 3, 4, 5, 6, 7})
    assert shares.default_parts(100) == 1  # too little work to fork for
    assert shares.default_parts(12_000) == 2
    assert shares.default_parts(10**6) == shares.MAX_PARTS
    monkeypatch.setenv(shares.WORKERS_VARIABLE, "1")
    assert shares.default_parts(10**6) == 1
