"""The rules `uowgen doctor` checks: stable codes, messages' subjects and fixes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from uowgen._report import docs_link
from uowgen.errors import UowgenError

PREFIX = "UOW"


@dataclass(frozen=True)
class Rule:
    """One check: its stable code, a short name, what goes wrong, and the fix."""

    code: str
    name: str
    summary: str
    why: str
    fix: str

    @property
    def docs(self) -> str:
        """The page that documents the rule (`docs/doctor/UOW001.md`)."""
        return docs_link(self.code)


RULES: tuple[Rule, ...] = (
    Rule(
        "UOW000",
        "file-not-checked",
        "A Python file doctor could not read or parse",
        "None of its code is checked: a mistake in it would go unreported, and a "
        "name it defines cannot be followed from the files that import it.",
        "Fix the syntax error or the encoding; if the file is not Python (a "
        "template, test data), leave it out with `exclude` in "
        "`[tool.uowgen.doctor]`.",
    ),
    Rule(
        "UOW001",
        "session-shared-across-requests",
        "A session, or an object that stores one on `self`, built at import time",
        "Every request and task shares that one session: concurrent use fails with "
        '"This session is provisioning a new connection; concurrent operations are '
        'not permitted", and its connection is left for the garbage collector.',
        "Keep only a session factory in long-lived objects and open a session per "
        "scope (`async with factory() as session:`); build per-request objects in "
        "a dependency or in the app's lifespan.",
    ),
    Rule(
        "UOW002",
        "commit-after-yield",
        "A commit after `yield` in a FastAPI dependency",
        "Code after a dependency's `yield` runs after the response is sent: a commit "
        "that fails there cannot change the 2xx the client already has.",
        "Commit in the endpoint or service before it returns (e.g. "
        "`async with session.begin():`), or declare the dependency with "
        '`Depends(..., scope="function")` so its exit runs before the response.',
    ),
    Rule(
        "UOW003",
        "http-call-in-transaction",
        "An outbound HTTP call while a session's transaction is open",
        "The connection sits idle in transaction for the whole call: it holds the "
        "pool slot and the row locks, and a few slow calls exhaust the pool.",
        "Read in a short transaction, end it (commit, or leave the "
        "`begin()`/`read()` block), make the call holding no connection, then "
        "write in a second short transaction that re-checks what the read saw.",
    ),
    Rule(
        "UOW004",
        "autocommit-session",
        "`autocommit=True` on a Session or sessionmaker",
        "SQLAlchemy 2.0 removed the session's autocommit mode: the session cannot "
        "be created (TypeError), and once the argument is dropped every query "
        "opens a transaction that stays open until commit, rollback or close.",
        "Drop `autocommit=True`; keep transactions short with "
        "`async with session.begin():`, or use an engine with "
        '`isolation_level="AUTOCOMMIT"` for reads that need no transaction.',
    ),
    Rule(
        "UOW005",
        "engine-never-disposed",
        "An engine created at import time and never disposed",
        "Nothing closes its pooled connections at shutdown: the garbage collector "
        'finds them ("non-checked-in connection"), asyncio drivers cannot close '
        "them without a running loop, and forked workers share the parent's pool.",
        "Create the engine in the app's lifespan and `await engine.dispose()` "
        "when it ends (or call `engine.dispose()` at shutdown).",
    ),
    Rule(
        "UOW006",
        "expire-on-commit-async",
        "An async session factory that expires objects on commit, and objects read "
        "after a commit",
        "With `expire_on_commit` on (the default), a commit expires every loaded "
        "object; reading an attribute afterwards loads it again, which raises "
        "MissingGreenlet under asyncio.",
        "Pass `expire_on_commit=False` to `async_sessionmaker(...)` / "
        "`AsyncSession(...)`, or `await session.refresh(obj)` before reading it.",
    ),
    Rule(
        "UOW007",
        "lazy-relationship-async",
        "A lazy-loading relationship in a codebase that uses SQLAlchemy's asyncio "
        "extension",
        "Touching a relationship that is not loaded emits a query on attribute "
        "access, which asyncio cannot do implicitly: MissingGreenlet, far from the "
        "query that should have loaded it.",
        'Set `lazy="raise"` (and load with `selectinload()` in the query) or '
        '`lazy="selectin"`; or mix `AsyncAttrs` into the base and '
        "`await obj.awaitable_attrs.<name>`.",
    ),
)

RULES = (
    *RULES,
    Rule(
        "UOW008",
        "session-shared-by-concurrent-tasks",
        "A session, or an object keeping one, used by coroutines that run at the "
        "same time (`asyncio.gather`, a `TaskGroup`, `create_task`)",
        "An AsyncSession runs one operation at a time: the second coroutine fails "
        'with "This session is provisioning a new connection; concurrent operations '
        'are not permitted" (or worse, interleaves on one connection), whichever '
        "request happens to overlap.",
        "Give each coroutine its own session: pass the session factory and open "
        "`async with factory() as session:` inside it; or run the calls one after "
        "another.",
    ),
)

RULES_BY_CODE: dict[str, Rule] = {rule.code: rule for rule in RULES}


def selected_codes(
    select: Iterable[str] | None, ignore: Iterable[str]
) -> frozenset[str]:
    """The codes that `select` (default: all) and `ignore` leave, as ruff does.

    A selector is a code or a prefix of codes (`UOW`, `UOW00`, `UOW003`).

    Raises:
        UowgenError: a selector matches no rule.
    """
    chosen = _expand(select) if select is not None else frozenset(RULES_BY_CODE)
    return chosen - _expand(ignore)


def _expand(selectors: Iterable[str]) -> frozenset[str]:
    codes: set[str] = set()
    for raw in selectors:
        selector = raw.strip().upper()
        if not selector:
            continue
        matched = {code for code in RULES_BY_CODE if code.startswith(selector)}
        if selector == "ALL":
            matched = set(RULES_BY_CODE)
        if not matched:
            known = ", ".join(RULES_BY_CODE)
            raise UowgenError(f"unknown rule {raw.strip()!r}: the rules are {known}")
        codes |= matched
    return frozenset(codes)
