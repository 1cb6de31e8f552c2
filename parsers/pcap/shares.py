"""Run pure-Python work in shares across cores, the extra shares in forked processes.

The deep tier's dissectors are Python and hold the GIL, so threads would take turns.
A forked child inherits the capture buffer and the dissection plan without copying
them, does its share and sends back only its event rows. The parent does share 0
meanwhile. Polars must not run in a child (its thread pool does not survive a fork),
so callers prepare everything polars computes before asking for shares.

A child that fails in any way costs nothing but time: the parent redoes that share
itself, and meets the same error, if any, in its own process.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import TypeVar

from parsers.frames import WORKERS_VARIABLE, usable_cores

__all__ = ["WORKERS_VARIABLE", "default_parts", "run_shares"]

T = TypeVar("T")

# Below this much work a fork and the pickling of its result cost more than they save.
MIN_WORK_PER_SHARE = 5_000
MAX_PARTS = 4


def default_parts(work: int) -> int:
    """How many shares to cut ``work`` items into: one per usable core, if worth it.

    ``LOGINLENS_WORKERS`` caps it (a fleet job already running one capture per core
    sets it to 1).
    """
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(usable_cores(), MAX_PARTS, work // MIN_WORK_PER_SHARE))


def run_shares(work: Callable[[int, int], T], parts: int) -> list[T]:
    """``[work(part, parts) for part in range(parts)]``, the parts past 0 in children."""
    if parts <= 1:
        return [work(0, 1)]
    context = multiprocessing.get_context("fork")
    children = []
    for part in range(1, parts):
        reader, writer = context.Pipe(duplex=False)
        child = context.Process(target=_child, args=(work, part, parts, writer), daemon=True)
        child.start()
        writer.close()
        children.append((part, child, reader))
    try:
        results = [work(0, parts)]
        for part, child, reader in children:
            try:
                done, value = reader.recv()
            except (EOFError, OSError):  # the child died before answering
                done, value = False, None
            child.join()
            results.append(value if done else work(part, parts))
        return results
    finally:
        for _, child, reader in children:
            reader.close()
            if child.is_alive():  # the parent's own share failed: nobody will read
                child.terminate()
                child.join()


def _child(work: Callable[[int, int], T], part: int, parts: int, writer: Connection) -> None:
    answer: tuple[bool, T | None]
    try:
        answer = (True, work(part, parts))
    except BaseException:  # the parent redoes the share and meets the error itself
        answer = (False, None)
    try:
        writer.send(answer)
    finally:
        writer.close()
