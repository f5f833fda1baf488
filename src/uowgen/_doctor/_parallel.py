"""Running a doctor step in forked worker processes (issue 21).

The rules read the syntax trees of the whole codebase (a call is followed into the
module that defines its callee), so a worker needs them all: a forked child shares
the parent's parsed codebase without copying or pickling it, checks its share of
the modules, and sends back only its findings, which are small.

Only where `fork` exists (Linux, macOS); elsewhere, and for small codebases, the
run stays in one process.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# Below this many files, starting processes costs more than it saves.
PARALLEL_FROM = 300

# The work a forked worker runs: set by `forked` just before the pool forks, so
# the child inherits it with everything it refers to (no pickling).
_WORK: Callable[[int], object] | None = None


def default_jobs() -> int:
    """The processes to use when not told: one per core this process may use."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


def can_fork() -> bool:
    """Whether worker processes can be forked here."""
    return "fork" in multiprocessing.get_all_start_methods()


def forked(
    work: Callable[[int], T], shares: int, meanwhile: Callable[[], None]
) -> list[T]:
    """`[work(0), ..., work(shares - 1)]`, each in a forked process of its own.

    `meanwhile` runs in this process while the workers do. A worker's exception is
    raised here.
    """
    global _WORK
    _WORK = work
    try:
        # A Pool forks all its workers before it starts its own threads (a fork
        # from a process with threads may deadlock).
        context = multiprocessing.get_context("fork")
        with context.Pool(processes=shares) as pool:
            results = pool.map_async(_run_share, range(shares), chunksize=1)
            meanwhile()
            return results.get()  # type: ignore[return-value]
    finally:
        _WORK = None


def _run_share(index: int) -> object:
    assert _WORK is not None, "a worker forked without its work"
    return _WORK(index)
