"""The process's kept worker threads (``parsers.frames.worker_threads``)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import polars as pl
import pytest

from parsers import frames
from parsers.logs import parser
from parsers.logs.fields import find_fields
from parsers.logs.timestamps import TimeContext


def test_the_field_scan_keeps_one_thread(
    tmp_path: Path, utc_context: TimeContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """File after file, the field scan runs on the same kept thread (and its glibc arena), not
    on a thread started for each file."""
    seen: list[int] = []

    def recording(messages: pl.Series) -> pl.DataFrame:
        seen.append(threading.get_native_id())
        return find_fields(messages)

    monkeypatch.setattr(parser, "find_fields", recording)
    log = tmp_path / "a.log"
    log.write_text("2024-05-01 10:00:00.000 INFO login errcode=40014 host=Qyapi.Weixin.QQ.com\n")
    for _ in range(3):
        events, _report = parser.parse_log(log, "a.log", utc_context)
        assert events["destination.domain"].to_list() == ["qyapi.weixin.qq.com"]
    assert len(seen) == 3 and len(set(seen)) == 1
    assert seen[0] != threading.get_native_id()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_gets_its_own_threads() -> None:
    """A child forked after the pool started has none of its threads: it starts its own pool,
    and work submitted there runs instead of waiting for a thread that does not exist."""
    pool = frames.worker_threads()
    assert frames.worker_threads() is pool
    assert pool.submit(os.getpid).result(timeout=10) == os.getpid()
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        try:
            mine = frames.worker_threads()
            ok = mine is not pool and mine.submit(os.getpid).result(timeout=10) == os.getpid()
            os.write(writer, b"ok" if ok else b"no")
        finally:
            os._exit(0)
    os.close(writer)
    try:
        with os.fdopen(reader, "rb") as answer:
            assert answer.read() == b"ok"
    finally:
        os.waitpid(child, 0)
