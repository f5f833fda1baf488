"""What walking a function tracks and finds: open transactions, HTTP calls, reads."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, field

from uowgen._doctor._kinds import Origin
from uowgen._doctor._symbols import FunctionInfo, Module


@dataclass(frozen=True)
class Opened:
    """Where a transaction was opened: the line and what opened it."""

    line: int
    what: str
    column: int = 0
    # What made the session whose transaction this is, when it can be followed.
    origin: Origin | None = None
    # A helper that returns with the transaction open: where it returns.
    left: LeftOpen | None = None


@dataclass(frozen=True)
class LeftOpen:
    """A return path of a function on which a transaction it opened stays open."""

    module: Module
    line: int
    function: str


@dataclass(frozen=True)
class HttpCall:
    """An outbound HTTP call found in a function, for messages."""

    what: str
    line: int
    module: Module
    column: int = 0


@dataclass(frozen=True)
class HttpInTransaction:
    """An outbound HTTP call made while a transaction is open (UOW003)."""

    call: ast.Call
    callee: str
    http: HttpCall
    opened: Opened
    direct: bool


@dataclass(frozen=True)
class UseAfterCommit:
    """An ORM object read after a commit that expired it (for UOW006)."""

    node: ast.AST
    name: str
    commit_line: int
    function: FunctionInfo
    # The factory (or session call) that made the committed session, if known.
    origin: Origin | None = None


@dataclass
class FlowResult:
    """What walking one function found."""

    http: list[HttpInTransaction] = field(default_factory=list)
    uses: list[UseAfterCommit] = field(default_factory=list)
    open_at_yield: bool = False
    commits_at_exit: bool = False
    # The first return path that leaves the caller's session in a transaction.
    left_open: LeftOpen | None = None


@dataclass
class _State:
    open: dict[str, Opened] = field(default_factory=dict)
    loaded: dict[str, bool] = field(default_factory=dict)
    # name -> (the commit's line, what made the session that committed)
    expired: dict[str, tuple[int, Origin | None]] = field(default_factory=dict)

    def copy(self) -> _State:
        return _State(dict(self.open), dict(self.loaded), dict(self.expired))


def _join(states: Iterable[_State | None]) -> _State | None:
    joined: _State | None = None
    for state in states:
        if state is None:
            continue
        if joined is None:
            joined = state.copy()
            continue
        for key, opened in state.open.items():
            joined.open.setdefault(key, opened)
        for key, strong in state.loaded.items():
            joined.loaded[key] = joined.loaded.get(key, False) or strong
        for key, commit in state.expired.items():
            joined.expired.setdefault(key, commit)
    return joined
