"""The rules, each a function from the analysed codebase to the places it is broken."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from uowgen._doctor._flow import Flow, UseAfterCommit
from uowgen._doctor._kinds import (
    ASYNC_SESSION_NAMES,
    CACHES,
    CONTEXT_MANAGERS,
    ENGINE_FUNCTIONS,
    FACTORY_NAMES,
    SA,
    SESSION_NAMES,
    Inference,
    Scope,
    Tag,
    dotted,
    is_generator,
    last_name,
    own_nodes,
)
from uowgen._doctor._symbols import ClassInfo, External, FunctionInfo, Module, Project

_FIXTURES = frozenset({"fixture", "yield_fixture"})
_LAZY_DEFAULTS = ("select", True)


@dataclass(frozen=True)
class Hit:
    """A rule broken at a node of a module, with the message to show."""

    code: str
    module: Module
    node: ast.AST
    message: str


class Checker:
    """Runs the selected rules over a codebase."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.inference = Inference(project)
        self.flow = Flow(self.inference)
        self._depends: dict[int, list[str | None]] | None = None
        self._facts: dict[int, _Facts] = {}

    def facts(self, module: Module) -> _Facts:
        """What one walk of the module's tree finds: its calls, functions, imports."""
        facts = self._facts.get(id(module))
        if facts is None:
            facts = self._facts[id(module)] = _Facts.of(module, self.project)
        return facts

    def module_rules(self) -> list[tuple[str, Callable[[Module], Iterator[Hit]]]]:
        """The rules that look at one module at a time, by code."""
        return [
            ("UOW001", self.shared_sessions),
            ("UOW002", self.commits_after_yield),
            ("UOW003", self.http_in_transaction),
            ("UOW004", self.autocommit),
            ("UOW005", self.undisposed_engines),
            ("UOW007", self.lazy_relationships),
        ]

    # -- UOW001 -----------------------------------------------------------------------

    def shared_sessions(self, module: Module) -> Iterator[Hit]:
        """UOW001: a session, or an object keeping one, built at import time.

        Of nested calls both flagged (`Repository(SessionLocal())`), the inner one.
        """
        hits = list(self._shared_sessions(module))
        for hit in hits:
            if not any(_contains(hit.node, other.node) for other in hits):
                yield hit

    def _shared_sessions(self, module: Module) -> Iterator[Hit]:
        scope = self.inference.module_scope(module)
        for call, where in import_time_calls(module.tree.body, self.project, module):
            kind = self.inference.kind_of(call, scope)
            if kind is None:
                continue
            text = _call_text(call)
            if kind.tag is Tag.SESSION:
                yield Hit(
                    "UOW001",
                    module,
                    call,
                    f"`{text}` builds a session {where}: every request and task "
                    "shares it",
                )
            elif kind.tag is Tag.INSTANCE and kind.cls is not None:
                reason = self.inference.stores_session(kind.cls)
                if reason is not None:
                    yield Hit(
                        "UOW001",
                        module,
                        call,
                        f"`{text}` is built {where} and keeps a session on self "
                        f"({reason}): every request and task shares it",
                    )

    # -- UOW002 -----------------------------------------------------------------------

    def depends_scopes(self) -> dict[int, list[str | None]]:
        """For each function used as a FastAPI dependency, the `scope=` of each use."""
        if self._depends is None:
            found: dict[int, list[str | None]] = {}
            for module in self.project.modules:
                for node in self.facts(module).calls:
                    depends = self.inference.depends_call(node, module)
                    target = self.inference.depends_target(depends) if depends else None
                    if depends is None or target is None:
                        continue
                    symbol = self.project.resolve(module, target)
                    if isinstance(symbol, FunctionInfo):
                        scope = next(
                            (
                                k.value.value
                                for k in depends.keywords
                                if k.arg == "scope"
                                and isinstance(k.value, ast.Constant)
                            ),
                            None,
                        )
                        found.setdefault(id(symbol.node), []).append(
                            scope if isinstance(scope, str) else None
                        )
            self._depends = found
        return self._depends

    def commits_after_yield(self, module: Module) -> Iterator[Hit]:
        """UOW002: a FastAPI dependency that commits after its `yield`."""
        for function in self._functions_of(module):
            node = function.node
            if not is_generator(node):
                continue
            decorators = {
                last_name(d.func if isinstance(d, ast.Call) else d)
                for d in node.decorator_list
            }
            if decorators & (CONTEXT_MANAGERS | _FIXTURES):
                continue
            scopes = self.depends_scopes().get(id(node))
            if scopes is not None:
                if all(scope == "function" for scope in scopes):
                    continue
            else:
                yielded = self.inference.yield_kind(function)
                if yielded is None or not (
                    yielded.is_session or self.flow.is_holder(yielded)
                ):
                    continue
            yield from self._after_yield(function, module)

    def _after_yield(self, function: FunctionInfo, module: Module) -> Iterator[Hit]:
        scope = self.inference.function_scope(function)
        name = function.name
        hits: list[Hit] = []

        def scan(body: list[ast.stmt], after: bool) -> bool:
            for stmt in body:
                after = visit(stmt, after)
            return after

        def visit(stmt: ast.stmt, after: bool) -> bool:
            yields = _has_yield(stmt)
            if isinstance(stmt, ast.Try | ast.TryStar):
                body_after = scan(stmt.body, after)
                caught = after or _has_yield_in(stmt.body)
                for handler in stmt.handlers:
                    scan(handler.body, caught)
                scan(stmt.orelse, body_after)
                scan(stmt.finalbody, caught or body_after)
                return after or yields
            if isinstance(stmt, ast.With | ast.AsyncWith):
                if _has_yield_in(stmt.body):
                    for item in stmt.items:
                        hit = self._commits_at_exit(
                            item.context_expr, scope, module, name
                        )
                        if hit is not None:
                            hits.append(hit)
                if after:
                    self._commit_calls(stmt.items, module, name, hits)
                scan(stmt.body, after)
                return after or yields
            if isinstance(stmt, ast.If | ast.For | ast.AsyncFor | ast.While):
                if after:
                    self._commit_calls([stmt], module, name, hits, shallow=True)
                scan(stmt.body, after)
                scan(stmt.orelse, after)
                return after or yields
            if after:
                self._commit_calls([stmt], module, name, hits)
            return after or yields

        scan(function.node.body, False)
        yield from hits

    def _commit_calls(
        self,
        nodes: Sequence[ast.stmt | ast.withitem],
        module: Module,
        name: str,
        hits: list[Hit],
        *,
        shallow: bool = False,
    ) -> None:
        for root in nodes:
            parts: list[ast.AST] = [root]
            if shallow and isinstance(root, ast.If | ast.While):
                parts = [root.test]
            elif shallow and isinstance(root, ast.For | ast.AsyncFor):
                parts = [root.iter]
            for part in parts:
                for node in ast.walk(part):
                    if (
                        isinstance(node, ast.Call)
                        and isinstance(node.func, ast.Attribute)
                        and node.func.attr == "commit"
                    ):
                        hits.append(
                            Hit(
                                "UOW002",
                                module,
                                node,
                                f"`{_call_text(node)}` after `yield` in dependency "
                                f"`{name}` runs after the response is sent: a failed "
                                "commit cannot change it",
                            )
                        )

    def _commits_at_exit(
        self, expr: ast.expr, scope: Scope, module: Module, name: str
    ) -> Hit | None:
        kind = self.inference.kind_of(expr, scope)
        if kind is None:
            return None
        commits = kind.tag is Tag.TRANSACTION
        if kind.tag is Tag.CONTEXT and kind.function is not None:
            commits = self.flow.analyse(kind.function).commits_at_exit
        elif kind.tag is Tag.INSTANCE and kind.cls is not None:
            exit_method = self.project.method(
                kind.cls, "__aexit__"
            ) or self.project.method(kind.cls, "__exit__")
            commits = exit_method is not None and self.flow.commits(exit_method)
        if not commits:
            return None
        return Hit(
            "UOW002",
            module,
            expr,
            f"`yield` inside `{_call_text(expr)}` in dependency `{name}`: the block "
            "commits when it exits, after the response is sent",
        )

    # -- UOW003 -----------------------------------------------------------------------

    def http_in_transaction(self, module: Module) -> Iterator[Hit]:
        """UOW003: an outbound HTTP call while a session's transaction is open."""
        for function in self._functions_of(module):
            if self.flow.does_http(function) is None:
                continue  # no outbound call here or in what it calls: nothing to find
            for found in self.flow.analyse(function).http:
                http = found.http
                if found.direct:
                    what = f"{http.what} is an outbound HTTP call"
                else:
                    what = (
                        f"`{found.callee}()` makes an outbound HTTP call "
                        f"({http.what}, line {http.line})"
                    )
                yield Hit(
                    "UOW003",
                    module,
                    found.call,
                    f"{what} while a transaction is open (since {found.opened.what}, "
                    f"line {found.opened.line}): the connection sits idle in "
                    "transaction for the whole call",
                )

    # -- UOW004 -----------------------------------------------------------------------

    def autocommit(self, module: Module) -> Iterator[Hit]:
        """UOW004: `autocommit=True` given to a session or a sessionmaker."""
        scope = self.inference.module_scope(module)
        for node in self.facts(module).calls:
            keyword = next((k for k in node.keywords if k.arg == "autocommit"), None)
            if keyword is None or not (
                isinstance(keyword.value, ast.Constant) and keyword.value.value
            ):
                continue
            symbol = self.project.resolve(module, node.func)
            callee = self.inference.kind_of(node.func, scope)
            is_session = isinstance(symbol, External) and (
                symbol.is_one_of(SA, FACTORY_NAMES | ASYNC_SESSION_NAMES)
                or (symbol.is_one_of(SA, SESSION_NAMES) and "." in symbol.qualname)
            )
            if is_session or (callee is not None and callee.tag is Tag.FACTORY):
                yield Hit(
                    "UOW004",
                    module,
                    keyword,
                    f"`autocommit=True` on `{_text(node.func)}()`: SQLAlchemy 2.0 "
                    "removed it (TypeError when a session is made)",
                )

    # -- UOW005 -----------------------------------------------------------------------

    def disposes(self) -> bool:
        """Whether anything in the codebase calls `.dispose()`."""
        cached = getattr(self, "_disposes", None)
        if cached is None:
            cached = any(
                isinstance(node.func, ast.Attribute) and node.func.attr == "dispose"
                for module in self.project.modules
                for node in self.facts(module).calls
            )
            self._disposes = cached
        return bool(cached)

    def undisposed_engines(self, module: Module) -> Iterator[Hit]:
        """UOW005: an engine created at import time, and no `.dispose()` anywhere."""
        calls = import_time_calls(module.tree.body, self.project, module, cached=False)
        for call, where in calls:
            symbol = self.project.resolve(module, call.func)
            if not (
                isinstance(symbol, External) and symbol.is_one_of(SA, ENGINE_FUNCTIONS)
            ):
                continue
            if self.disposes():
                return
            yield Hit(
                "UOW005",
                module,
                call,
                f"`{_text(call.func)}()` {where}, and nothing in the codebase calls "
                "`.dispose()`: its pooled connections are never closed at shutdown",
            )

    # -- UOW006 -----------------------------------------------------------------------

    def expire_on_commit(self) -> Iterator[Hit]:
        """UOW006: async factories expiring on commit, when objects are read after one."""
        factories = [
            (module, call)
            for module in self.project.modules
            for call in self._async_factories(module)
        ]
        if not factories:
            return
        use = self._first_use_after_commit()
        if use is None:
            return
        where = f"{use.function.module.source.display}:{getattr(use.node, 'lineno', 0)}"
        read = (
            f"`{dotted(use.node)}`"
            if isinstance(use.node, ast.Attribute) and dotted(use.node)
            else f"`{use.name}`"
        )
        for module, call in factories:
            yield Hit(
                "UOW006",
                module,
                call,
                f"`{_text(call.func)}()` leaves expire_on_commit on, and {read} is "
                f"read after a commit ({where}, committed at line {use.commit_line}): "
                "that reload raises MissingGreenlet under asyncio",
            )

    def _async_factories(self, module: Module) -> Iterator[ast.Call]:
        for node in self.facts(module).calls:
            if last_name(node.func) not in ("async_sessionmaker", "AsyncSession") and (
                last_name(node.func) != "sessionmaker"
            ):
                continue
            symbol = self.project.resolve(module, node.func)
            if not isinstance(symbol, External):
                continue
            is_async = symbol.is_one_of(
                SA, ASYNC_SESSION_NAMES | {"async_sessionmaker"}
            )
            if symbol.is_one_of(SA, frozenset({"sessionmaker"})):
                is_async = any(
                    k.arg == "class_" and last_name(k.value) == "AsyncSession"
                    for k in node.keywords
                )
            if not is_async or any(k.arg is None for k in node.keywords):
                continue
            setting = next(
                (k for k in node.keywords if k.arg == "expire_on_commit"), None
            )
            if setting is None or (
                isinstance(setting.value, ast.Constant) and setting.value.value is True
            ):
                yield node

    def _first_use_after_commit(self) -> UseAfterCommit | None:
        uses: list[UseAfterCommit] = []
        for function in self.project.functions():
            if function.is_async and _may_commit(function):
                try:
                    uses.extend(self.flow.analyse(function).uses)
                except RecursionError:
                    continue
        uses.sort(
            key=lambda u: (
                u.function.module.source.display,
                getattr(u.node, "lineno", 0),
            )
        )
        return uses[0] if uses else None

    # -- UOW007 -----------------------------------------------------------------------

    def uses_asyncio(self) -> bool:
        """Whether any module imports SQLAlchemy's (or SQLModel's) asyncio extension."""
        cached = getattr(self, "_uses_asyncio", None)
        if cached is None:
            cached = any(
                self.facts(module).imports_asyncio for module in self.project.modules
            )
            self._uses_asyncio = cached
        return bool(cached)

    def lazy_relationships(self, module: Module) -> Iterator[Hit]:
        """UOW007: a lazy-loading relationship where the asyncio extension is used."""
        if not self.uses_asyncio():
            return
        for node, owner in self.facts(module).relationships:
            symbol = self.project.resolve(module, node.func)
            name = symbol.name if isinstance(symbol, External) else None
            if symbol is None and isinstance(node.func, ast.Name):
                name = node.func.id if node.func.id == "relationship" else None
            elif isinstance(symbol, External) and not symbol.is_one_of(
                SA, frozenset({"relationship", "Relationship"})
            ):
                name = None
            if name not in ("relationship", "Relationship"):
                continue
            if owner is not None and self._async_attrs(owner):
                continue
            lazy = _lazy_setting(node, name)
            if lazy is _UNKNOWN:
                continue
            if lazy is None or lazy in _LAZY_DEFAULTS:
                shown = "without lazy=" if lazy is None else f"with lazy={lazy!r}"
                yield Hit(
                    "UOW007",
                    module,
                    node,
                    f"`{_text(node.func)}()` {shown} loads on attribute access, which "
                    "raises MissingGreenlet under asyncio",
                )

    def _async_attrs(self, owner: ast.ClassDef) -> bool:
        info = self.project.class_info(owner)
        if info is None:
            return False
        for base in self.project.mro(info):
            name = base.name if isinstance(base, External | ClassInfo) else ""
            if name == "AsyncAttrs":
                return True
        return any(last_name(b) == "AsyncAttrs" for b in owner.bases)

    # -- helpers ----------------------------------------------------------------------

    def _functions_of(self, module: Module) -> list[FunctionInfo]:
        return self.facts(module).functions


@dataclass
class _Facts:
    """What one walk of a module finds, for the rules that scan every node."""

    calls: list[ast.Call]
    functions: list[FunctionInfo]
    relationships: list[tuple[ast.Call, ast.ClassDef | None]]
    imports_asyncio: bool

    @classmethod
    def of(cls, module: Module, project: Project) -> _Facts:
        facts = cls([], [], [], _imports_asyncio_extension(module))
        stack: list[tuple[ast.AST, ast.ClassDef | None]] = [(module.tree, None)]
        while stack:
            node, owner = stack.pop()
            if isinstance(node, ast.Call):
                facts.calls.append(node)
                if last_name(node.func) in ("relationship", "Relationship"):
                    facts.relationships.append((node, owner))
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                function = project.function_info(node)
                if function is not None:
                    facts.functions.append(function)
            inner = node if isinstance(node, ast.ClassDef) else owner
            stack.extend((child, inner) for child in ast.iter_child_nodes(node))
        facts.calls.reverse()
        facts.functions.reverse()
        return facts


_UNKNOWN = object()


def _may_commit(function: FunctionInfo) -> bool:
    """Whether a function commits: a `.commit()` call or a `with` block (cheap)."""
    return any(
        isinstance(node, ast.With | ast.AsyncWith)
        or (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "commit"
        )
        for node in own_nodes(function.node)
    )


def _contains(outer: ast.AST, inner: ast.AST) -> bool:
    return outer is not inner and any(node is inner for node in ast.walk(outer))


def _lazy_setting(call: ast.Call, name: str) -> object:
    keywords = call.keywords
    if name == "Relationship":
        # SQLModel passes SQLAlchemy's arguments in a dict.
        options = next(
            (k.value for k in keywords if k.arg == "sa_relationship_kwargs"), None
        )
        if any(k.arg in ("sa_relationship", None) for k in keywords):
            return _UNKNOWN
        if options is None:
            return None
        if not isinstance(options, ast.Dict):
            return _UNKNOWN
        for key, value in zip(options.keys, options.values, strict=True):
            if key is None:
                return _UNKNOWN
            if isinstance(key, ast.Constant) and key.value == "lazy":
                return value.value if isinstance(value, ast.Constant) else _UNKNOWN
        return None
    if any(k.arg is None for k in keywords):
        return _UNKNOWN
    for keyword in keywords:
        if keyword.arg == "lazy":
            value = keyword.value
            return value.value if isinstance(value, ast.Constant) else _UNKNOWN
    return None


def _imports_asyncio_extension(module: Module) -> bool:
    if "asyncio" not in module.source.text:
        return False
    for node in ast.walk(module.tree):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            if name.startswith(("sqlalchemy.ext.asyncio", "sqlmodel.ext.asyncio")):
                return True
    return False


def _has_yield(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Yield | ast.YieldFrom) for n in _own(node))


def _has_yield_in(body: list[ast.stmt]) -> bool:
    return any(_has_yield(stmt) for stmt in body)


def _own(node: ast.AST) -> Iterator[ast.AST]:
    yield node
    yield from own_nodes(node)


def import_time_calls(
    body: list[ast.stmt], project: Project, module: Module, *, cached: bool = True
) -> Iterator[tuple[ast.Call, str]]:
    """The calls that run when the module is imported, with where they are.

    Module-level code (not under `if TYPE_CHECKING:` or `if __name__ ==
    "__main__":`), class bodies, decorators and default values; with `cached`,
    also the bodies of functions under `functools.cache` / `lru_cache`, whose
    result lives as long as the process.
    """
    for stmt in body:
        yield from _import_time_statement(
            stmt, project, module, "at module level", cached
        )


def _import_time_statement(
    stmt: ast.stmt, project: Project, module: Module, where: str, cached: bool
) -> Iterator[tuple[ast.Call, str]]:
    if isinstance(stmt, ast.If):
        if _is_type_checking(stmt.test) or _is_main_guard(stmt.test):
            for inner in stmt.orelse:
                yield from _import_time_statement(inner, project, module, where, cached)
            return
        yield from _calls(stmt.test, where)
        for inner in [*stmt.body, *stmt.orelse]:
            yield from _import_time_statement(inner, project, module, where, cached)
        return
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
        for part in [*stmt.decorator_list, *stmt.args.defaults]:
            yield from _calls(part, where)
        for default in stmt.args.kw_defaults:
            if default is not None:
                yield from _calls(default, "in a default argument")
        names = {
            last_name(d.func if isinstance(d, ast.Call) else d)
            for d in stmt.decorator_list
        }
        if cached and names & CACHES:
            for node in own_nodes(stmt):
                if isinstance(node, ast.Call):
                    yield node, f"in `{stmt.name}()` (cached by functools)"
        return
    if isinstance(stmt, ast.ClassDef):
        for part in [
            *stmt.decorator_list,
            *stmt.bases,
            *(k.value for k in stmt.keywords),
        ]:
            yield from _calls(part, where)
        for inner in stmt.body:
            yield from _import_time_statement(
                inner, project, module, "as a class attribute", cached
            )
        return
    if isinstance(stmt, ast.Try | ast.TryStar | ast.With | ast.For | ast.While):
        heads: list[ast.expr] = []
        if isinstance(stmt, ast.With):
            heads = [item.context_expr for item in stmt.items]
        elif isinstance(stmt, ast.For):
            heads = [stmt.iter]
        elif isinstance(stmt, ast.While):
            heads = [stmt.test]
        for head in heads:
            yield from _calls(head, where)
        blocks: list[list[ast.stmt]] = [
            getattr(stmt, name, [])
            for name in ("body", "orelse", "finalbody")
            if isinstance(getattr(stmt, name, None), list)
        ]
        if isinstance(stmt, ast.Try | ast.TryStar):
            blocks += [handler.body for handler in stmt.handlers]
        for block in blocks:
            for inner in block:
                yield from _import_time_statement(inner, project, module, where, cached)
        return
    yield from _calls(stmt, where)


def _calls(node: ast.AST, where: str) -> Iterator[tuple[ast.Call, str]]:
    stack: list[ast.AST] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, ast.Lambda | ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if isinstance(current, ast.Call):
            yield current, where
        stack.extend(ast.iter_child_nodes(current))


def _is_type_checking(test: ast.expr) -> bool:
    return last_name(test) == "TYPE_CHECKING"


def _is_main_guard(test: ast.expr) -> bool:
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
    )


def _text(expr: ast.expr) -> str:
    return dotted(expr) or last_name(expr) or "..."


def _call_text(expr: ast.expr) -> str:
    if isinstance(expr, ast.Call):
        inner = "..." if expr.args or expr.keywords else ""
        return f"{_text(expr.func)}({inner})"
    return _text(expr)
