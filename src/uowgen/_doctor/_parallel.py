"""Running a doctor step in forked worker processes (issue 21).

The rules read the syntax trees of the whole codebase (a call is followed into the
module that defines its callee), so a worker needs them all: a forked child shares
the parent's parsed codebase without copying or pickling it, checks its share of
the modules, and sends back only its findings, which are small.

Only where `fork` exists (Linux, macOS); elsewhere, and for small codebases, the
run stays in one process. Plain `os.fork` and a pipe per worker: no pool threads
alive at a fork, and a worker that dies is seen (its pipe closes empty).
"""

from __future__ import annotations

import os
import pickle
import signal
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# Below this many files, starting processes costs more than it saves.
PARALLEL_FROM = 300


def default_jobs() -> int:
    """The processes to use when not told: one per core this process may use."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


def can_fork() -> bool:
    """Whether worker processes can be forked here."""
    return hasattr(os, "fork")


def forked(
    work: Callable[[int], T], shares: int, meanwhile: Callable[[], None]
) -> list[T]:
    """`[work(0), ..., work(shares - 1)]`, each in a forked process of its own.

    `meanwhile` runs in this process while the workers do. A worker's exception is
    raised here; a worker that dies (killed for memory, say) has its share done
    here instead.
    """
    children: list[tuple[int, int]] = []
    try:
        for index in range(shares):
            read_end, write_end = os.pipe()
            pid = os.fork()
            if pid == 0:  # pragma: no cover - the worker; its exit ends it here
                os.close(read_end)
                _work_and_exit(work, index, write_end)
            os.close(write_end)
            children.append((pid, read_end))
        meanwhile()
        results: list[T] = []
        while children:
            pid, read_end = children.pop(0)
            with os.fdopen(read_end, "rb") as pipe:
                data = pipe.read()
            os.waitpid(pid, 0)
            if not data:
                results.append(work(len(results)))
                continue
            failed, value = pickle.loads(data)
            if failed:
                raise value
            results.append(value)
        return results
    finally:
        for pid, read_end in children:  # left by an exception: end them
            os.close(read_end)
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


def _work_and_exit(work: Callable[[int], T], index: int, write_end: int) -> None:
    """In a worker: send `work(index)` (or its exception) down the pipe, and exit.

    `os._exit`: the worker must not run the parent's exit handlers, flush its
    buffers, or free the codebase's objects one by one.
    """
    try:
        try:
            data = pickle.dumps((False, work(index)), pickle.HIGHEST_PROTOCOL)
        except BaseException as exc:  # noqa: BLE001 - every failure goes to the parent
            try:
                data = pickle.dumps((True, exc))
            except Exception:  # noqa: BLE001 - an exception that cannot be pickled
                data = pickle.dumps((True, RuntimeError(repr(exc))))
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(data)
    finally:
        os._exit(0)
