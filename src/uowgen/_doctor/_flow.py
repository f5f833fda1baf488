"""Follow a function's statements: when a transaction is open, what a commit expires.

Each function is walked once, statement by statement, with a small state: which
sessions have an open transaction (and since which query), which local names hold
ORM objects, and which of those a commit has expired. Branches are followed
separately and joined (open on any path counts); loops run twice; a `return` or
`raise` ends a path.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from uowgen._doctor._kinds import (
    HTTP_FUNCTIONS,
    HTTP_METHODS,
    Inference,
    Kind,
    Scope,
    Tag,
    dotted,
    last_name,
    own_nodes,
)
from uowgen._doctor._symbols import External, FunctionInfo

QUERY_METHODS = frozenset(
    {
        "execute",
        "scalar",
        "scalars",
        "get",
        "get_one",
        "flush",
        "refresh",
        "merge",
        "delete",
        "stream",
        "stream_scalars",
        "connection",
        "run_sync",
        "exec",
        "query",
        "exec_driver_sql",
        "begin",
    }
)
ENDING_METHODS = frozenset({"commit", "rollback", "close", "invalidate", "reset"})
THREAD_RUNNERS = frozenset(
    {
        "asyncio.to_thread",
        "anyio.to_thread.run_sync",
        "starlette.concurrency.run_in_threadpool",
        "fastapi.concurrency.run_in_threadpool",
    }
)
_HTTP_NAMES = (
    HTTP_METHODS
    | frozenset().union(*HTTP_FUNCTIONS.values())
    | {"to_thread", "run_sync", "run_in_threadpool", "run_in_executor"}
)
_AWAITED_TOGETHER = frozenset({"gather", "wait", "wait_for", "shield", "timeout"})
_ORM_RESULTS = frozenset(
    {"get", "get_one", "merge", "scalar_one", "scalar_one_or_none", "first", "one"}
    | {"one_or_none"}
)
_NOT_A_QUERY = frozenset(
    {"isinstance", "len", "id", "type", "repr", "str", "print", "hasattr", "getattr"}
)
_PYDANTIC_READS = frozenset(
    {"model_validate", "from_orm", "parse_obj", "validate", "jsonable_encoder"}
)


@dataclass(frozen=True)
class Opened:
    """Where a transaction was opened: the line and what opened it."""

    line: int
    what: str


@dataclass(frozen=True)
class HttpCall:
    """An outbound HTTP call found in a function, for messages."""

    what: str
    line: int


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


@dataclass
class FlowResult:
    """What walking one function found."""

    http: list[HttpInTransaction] = field(default_factory=list)
    uses: list[UseAfterCommit] = field(default_factory=list)
    open_at_yield: bool = False
    commits_at_exit: bool = False


@dataclass
class _State:
    open: dict[str, Opened] = field(default_factory=dict)
    loaded: dict[str, bool] = field(default_factory=dict)
    expired: dict[str, int] = field(default_factory=dict)

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
        for key, line in state.expired.items():
            joined.expired.setdefault(key, line)
    return joined


_BUSY = object()


class Flow:
    """Walks functions and remembers what each one does."""

    def __init__(self, inference: Inference) -> None:
        self.inference = inference
        # A call can reach HTTP only through an HTTP name or a codebase function:
        # checking the name first skips most calls without inferring anything.
        self._reachable = _HTTP_NAMES | frozenset(
            f.node.name for f in inference.project.functions()
        )
        self._results: dict[int, object] = {}
        self._http: dict[int, object] = {}
        self._db: dict[int, object] = {}

    def analyse(self, function: FunctionInfo) -> FlowResult:
        """The flow facts of one function (computed once)."""
        key = id(function.node)
        cached = self._results.get(key)
        if isinstance(cached, FlowResult):
            return cached
        if cached is _BUSY:
            return FlowResult()
        self._results[key] = _BUSY
        result = _Walker(self, function).run()
        self._results[key] = result
        return result

    # -- summaries of called functions ------------------------------------------

    def does_http(self, function: FunctionInfo) -> HttpCall | None:
        """The outbound HTTP call the function makes (itself or through its callees)."""
        key = id(function.node)
        cached = self._http.get(key)
        if cached is _BUSY:
            return None
        if key in self._http:
            return cached if isinstance(cached, HttpCall) else None
        self._http[key] = _BUSY
        found: HttpCall | None = None
        scope = self.inference.function_scope(function)
        awaited = awaited_calls(function.node)
        for node in own_nodes(function.node):
            if isinstance(node, ast.Call):
                found = self.http_call(node, scope, id(node) in awaited)
                if found is not None:
                    break
        self._http[key] = found
        return found

    def touches_db(self, function: FunctionInfo) -> bool:
        """Whether the function queries a session (itself or through its callees)."""
        key = id(function.node)
        cached = self._db.get(key)
        if cached is _BUSY:
            return False
        if isinstance(cached, bool):
            return cached
        self._db[key] = _BUSY
        scope = self.inference.function_scope(function)
        awaited = awaited_calls(function.node)
        result = False
        for node in own_nodes(function.node):
            if isinstance(node, ast.Call) and self._queries(
                node, scope, id(node) in awaited or not function.is_async
            ):
                result = True
                break
        self._db[key] = result
        return result

    def _queries(self, call: ast.Call, scope: Scope, runs: bool) -> bool:
        func = call.func
        if isinstance(func, ast.Attribute):
            kind = self.inference.kind_of(func.value, scope)
            if kind is not None and kind.is_session:
                return func.attr in QUERY_METHODS
            holder = self.holder(func.value, scope)
            if holder is not None:
                method = self.method_of(holder[1], func.attr) if holder[2] else None
                if method is not None:
                    return self.touches_db(method)
                return runs
        return self.session_argument(call, scope, runs) is not None

    def session_argument(self, call: ast.Call, scope: Scope, runs: bool) -> str | None:
        """The session group of a session passed to a call that queries it, or None."""
        for arg in [*call.args, *(k.value for k in call.keywords)]:
            kind = self.inference.kind_of(arg, scope)
            if kind is None or not (kind.is_session or self.is_holder(kind)):
                continue
            callee = self.inference.kind_of(call.func, scope)
            group = group_of(arg, kind)
            if callee is not None and callee.tag is Tag.FUNCTION and callee.function:
                return group if self.touches_db(callee.function) else None
            if callee is not None and callee.tag in (Tag.CLASS, Tag.MODULE):
                return None
            if last_name(call.func) in _NOT_A_QUERY:
                return None
            return group if runs else None
        return None

    def commits(self, function: FunctionInfo) -> bool:
        """Whether the function calls `.commit()` (a holder's `save()`, `__aexit__`)."""
        return any(
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "commit"
            for node in own_nodes(function.node)
        )

    def is_holder(self, kind: Kind) -> bool:
        """Whether a kind is an object holding a session (a repository, a unit of work)."""
        return (
            kind.tag is Tag.INSTANCE
            and kind.cls is not None
            and self.inference.holds_session(kind.cls)
        )

    def holder(self, expr: ast.expr, scope: Scope) -> tuple[str, Kind, bool] | None:
        """The session-holding object `expr` is or is part of: (group, kind, direct)."""
        current: ast.expr = expr
        direct = True
        for _ in range(8):
            kind = self.inference.kind_of(current, scope)
            if kind is not None and self.is_holder(kind):
                return group_of(current, kind), kind, direct
            if kind is not None and kind.tag is not Tag.FUNCTION:
                return None
            if not isinstance(current, ast.Attribute):
                return None
            current = current.value
            direct = False
        return None

    def method_of(self, kind: Kind, name: str) -> FunctionInfo | None:
        """The method `name` of a holder's class."""
        if kind.cls is None:
            return None
        return self.inference.project.method(kind.cls, name)

    # -- outbound HTTP -----------------------------------------------------------

    def http_call(self, call: ast.Call, scope: Scope, awaited: bool) -> HttpCall | None:
        """The outbound HTTP call `call` makes, directly or through a codebase function."""
        func = call.func
        if last_name(func) not in self._reachable:
            return None
        line = call.lineno
        callee = self.inference.kind_of(func, scope)
        if callee is not None and callee.tag is Tag.EXTERNAL:
            external = External(callee.external)
            root = external.qualname.partition(".")[0]
            if external.name in HTTP_FUNCTIONS.get(root, ()):
                return HttpCall(f"`{external.qualname}()`", line)
            if external.qualname in THREAD_RUNNERS and call.args:
                return self._callable_http(call.args[0], scope, line)
        if isinstance(func, ast.Attribute):
            receiver = self.inference.kind_of(func.value, scope)
            if (
                receiver is not None
                and receiver.tag is Tag.HTTP
                and func.attr in HTTP_METHODS
            ):
                return HttpCall(f"`{_text(func)}()`", line)
            if func.attr == "run_in_executor" and len(call.args) >= 2:
                return self._callable_http(call.args[1], scope, line)
        if (
            callee is not None
            and callee.function is not None
            and callee.tag is Tag.FUNCTION
            and (awaited or not callee.function.is_async)
        ):
            return self.does_http(callee.function)
        return None

    def _callable_http(
        self, expr: ast.expr, scope: Scope, line: int
    ) -> HttpCall | None:
        if isinstance(expr, ast.Lambda):
            for node in ast.walk(expr.body):
                if isinstance(node, ast.Call):
                    found = self.http_call(node, scope, False)
                    if found is not None:
                        return found
            return None
        if isinstance(expr, ast.Call):
            callee = self.inference.kind_of(expr.func, scope)
            if (
                callee is not None
                and callee.external == "functools.partial"
                and expr.args
            ):
                return self._callable_http(expr.args[0], scope, line)
            return None
        kind = self.inference.kind_of(expr, scope)
        if kind is not None and kind.tag is Tag.EXTERNAL:
            external = External(kind.external)
            if external.name in HTTP_FUNCTIONS.get(kind.external.partition(".")[0], ()):
                return HttpCall(f"`{external.qualname}()` in a thread", line)
        if isinstance(expr, ast.Attribute) and expr.attr in HTTP_METHODS:
            receiver = self.inference.kind_of(expr.value, scope)
            if receiver is not None and receiver.tag is Tag.HTTP:
                return HttpCall(f"`{_text(expr)}()` in a thread", line)
        if kind is not None and kind.tag is Tag.FUNCTION and kind.function:
            return self.does_http(kind.function)
        return None


def group_of(expr: ast.expr, kind: Kind) -> str:
    """Which session an expression's transaction belongs to."""
    return kind.group or dotted(expr) or f"<line {getattr(expr, 'lineno', 0)}>"


def awaited_calls(node: ast.AST) -> set[int]:
    """The ids of calls that are awaited (directly, or inside `asyncio.gather(...)`)."""
    awaited: set[int] = set()
    for child in own_nodes(node):
        if isinstance(child, ast.Await) and isinstance(child.value, ast.Call):
            call = child.value
            awaited.add(id(call))
            if last_name(call.func) in _AWAITED_TOGETHER:
                for arg in call.args:
                    if isinstance(arg, ast.Call):
                        awaited.add(id(arg))
                    elif isinstance(arg, ast.Starred):
                        for inner in ast.walk(arg):
                            if isinstance(inner, ast.Call):
                                awaited.add(id(inner))
    return awaited


def _keeps_objects(expr: ast.expr) -> bool:
    """`factory(expire_on_commit=False)`: a session whose commits expire nothing."""
    return isinstance(expr, ast.Call) and any(
        k.arg == "expire_on_commit"
        and isinstance(k.value, ast.Constant)
        and k.value.value is False
        for k in expr.keywords
    )


def _text(expr: ast.expr) -> str:
    return dotted(expr) or (last_name(expr) or "...")


def _post_order(expr: ast.AST) -> Iterator[ast.AST]:
    """An expression's nodes, operands before the operation (evaluation order)."""
    stack: list[tuple[ast.AST, bool]] = [(expr, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            yield node
            continue
        stack.append((node, True))
        if isinstance(node, ast.Lambda | ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        stack.extend(
            (child, False) for child in reversed(list(ast.iter_child_nodes(node)))
        )


class _Walker:
    def __init__(self, flow: Flow, function: FunctionInfo) -> None:
        self.flow = flow
        self.inference = flow.inference
        self.function = function
        self.scope = self.inference.function_scope(function)
        self.is_async = function.is_async
        self.awaited = awaited_calls(function.node)
        self.result = FlowResult()
        self.transaction_depth = 0
        self.after_yield = False
        self.loops: list[list[_State]] = []
        self.reported: set[int] = set()
        # Sessions made with `expire_on_commit=False` given to the call itself.
        self.keeps: set[str] = set()

    def run(self) -> FlowResult:
        self.block(self.function.node.body, _State())
        return self.result

    def block(self, body: list[ast.stmt], state: _State | None) -> _State | None:
        for stmt in body:
            if state is None:
                return None
            state = self.statement(stmt, state)
        return state

    def statement(self, stmt: ast.stmt, state: _State) -> _State | None:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            return state
        if isinstance(stmt, ast.Return):
            if stmt.value is not None:
                self.expr(stmt.value, state)
                self.returned(stmt.value, state)
            return None
        if isinstance(stmt, ast.Raise):
            for part in (stmt.exc, stmt.cause):
                if part is not None:
                    self.expr(part, state)
            return None
        if isinstance(stmt, ast.Break | ast.Continue):
            if self.loops:
                self.loops[-1].append(state)
            return None
        if isinstance(stmt, ast.If):
            self.expr(stmt.test, state)
            return _join(
                [
                    self.block(stmt.body, state.copy()),
                    self.block(stmt.orelse, state.copy()),
                ]
            )
        if isinstance(stmt, ast.While | ast.For | ast.AsyncFor):
            return self.loop(stmt, state)
        if isinstance(stmt, ast.With | ast.AsyncWith):
            return self.with_block(stmt, state)
        if isinstance(stmt, ast.Try | ast.TryStar):
            return self.try_block(stmt, state)
        if isinstance(stmt, ast.Match):
            self.expr(stmt.subject, state)
            outs = [self.block(case.body, state.copy()) for case in stmt.cases]
            return _join([*outs, state])
        if isinstance(stmt, ast.Assign):
            self.expr(stmt.value, state)
            for target in stmt.targets:
                self.bind(target, stmt.value, state)
            return state
        if isinstance(stmt, ast.AnnAssign):
            if stmt.value is not None:
                self.expr(stmt.value, state)
                self.bind(stmt.target, stmt.value, state)
            return state
        if isinstance(stmt, ast.AugAssign):
            self.expr(stmt.value, state)
            return state
        for child in ast.iter_child_nodes(stmt):
            if isinstance(child, ast.expr):
                self.expr(child, state)
        return state

    def loop(
        self, stmt: ast.While | ast.For | ast.AsyncFor, state: _State
    ) -> _State | None:
        head = stmt.test if isinstance(stmt, ast.While) else stmt.iter
        self.expr(head, state)
        if not isinstance(stmt, ast.While):
            self.bind(stmt.target, None, state)
        exits: list[_State] = []
        self.loops.append(exits)
        first = self.block(stmt.body, state.copy())
        again = _join([state, first, *exits])
        second = self.block(stmt.body, again.copy()) if again is not None else None
        self.loops.pop()
        after = _join([state, first, second, *exits])
        if after is None:
            return None
        return _join([self.block(stmt.orelse, after.copy()), after])

    def try_block(self, stmt: ast.Try | ast.TryStar, state: _State) -> _State | None:
        body = self.block(stmt.body, state.copy())
        caught = _join([state, body]) or state
        handlers = [self.block(h.body, caught.copy()) for h in stmt.handlers]
        orelse = self.block(stmt.orelse, body) if body is not None else None
        before_finally = _join([orelse, *handlers])
        if not stmt.finalbody:
            return before_finally
        if before_finally is None:
            self.block(stmt.finalbody, caught.copy())
            return None
        return self.block(stmt.finalbody, before_finally)

    def with_block(
        self, stmt: ast.With | ast.AsyncWith, state: _State
    ) -> _State | None:
        exits: list[tuple[str, bool]] = []
        depth = self.transaction_depth
        for item in stmt.items:
            self.expr(item.context_expr, state)
            kind = self.inference.kind_of(item.context_expr, self.scope)
            bound = item.optional_vars
            if bound is not None:
                self.bind(bound, None, state)
            if kind is None:
                continue
            name = dotted(bound) if bound is not None else None
            line = item.context_expr.lineno
            if name is not None and _keeps_objects(item.context_expr):
                self.keeps.add(name)
            if kind.tag is Tag.TRANSACTION:
                receiver = item.context_expr
                if isinstance(receiver, ast.Call) and isinstance(
                    receiver.func, ast.Attribute
                ):
                    receiver = receiver.func.value
                group = (name if kind.inner is not None else None) or kind.group
                group = group or dotted(receiver) or f"<line {line}>"
                text = (
                    _text(item.context_expr.func)
                    if isinstance(item.context_expr, ast.Call)
                    else "begin"
                )
                state.open[group] = Opened(line, f"`{text}()` block")
                exits.append((group, True))
                self.transaction_depth += 1
            elif kind.tag is Tag.CONTEXT and kind.function is not None:
                summary = self.flow.analyse(kind.function)
                group = name or f"<line {line}>"
                if summary.open_at_yield:
                    state.open[group] = Opened(line, f"`{kind.function.name}()` block")
                exits.append((group, summary.commits_at_exit))
                if summary.commits_at_exit:
                    self.transaction_depth += 1
            elif self.flow.is_holder(kind) and kind.cls is not None:
                exit_method = self.inference.project.method(
                    kind.cls, "__aexit__"
                ) or self.inference.project.method(kind.cls, "__exit__")
                commits = exit_method is not None and self.flow.commits(exit_method)
                group = (
                    group_of(bound, self._kind(bound)) if bound is not None else None
                )
                exits.append((group or group_of(item.context_expr, kind), commits))
            elif kind.is_session:
                exits.append((name or group_of(item.context_expr, kind), False))
        out = self.block(stmt.body, state)
        self.transaction_depth = depth
        if out is None:
            return None
        for group, commits in reversed(exits):
            out.open.pop(group, None)
            if commits:
                self.expire(out, stmt.end_lineno or stmt.lineno)
        return out

    def _kind(self, expr: ast.expr) -> Kind:
        return self.inference.kind_of(expr, self.scope) or Kind(Tag.INSTANCE)

    # -- expressions ---------------------------------------------------------------

    def expr(self, expr: ast.expr, state: _State) -> None:
        for node in _post_order(expr):
            if isinstance(node, ast.Call):
                self.call(node, state)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
                self.attribute(node, state)
            elif isinstance(node, ast.Yield | ast.YieldFrom):
                self.result.open_at_yield |= bool(state.open)
                self.result.commits_at_exit |= self.transaction_depth > 0
                self.after_yield = True

    def call(self, call: ast.Call, state: _State) -> None:
        awaited = id(call) in self.awaited
        runs = awaited or not self.is_async
        http = self.flow.http_call(call, self.scope, awaited)
        if http is not None and state.open and id(call) not in self.reported:
            self.reported.add(id(call))
            opened = min(state.open.values(), key=lambda o: o.line)
            direct = http.line == call.lineno
            self.result.http.append(
                HttpInTransaction(call, _text(call.func), http, opened, direct)
            )
        func = call.func
        if isinstance(func, ast.Attribute):
            kind = self.inference.kind_of(func.value, self.scope)
            if kind is not None and kind.is_session:
                self.session_method(call, func, group_of(func.value, kind), state)
                return
            holder = self.flow.holder(func.value, self.scope)
            if holder is not None:
                group, holder_kind, direct = holder
                method = self.flow.method_of(holder_kind, func.attr) if direct else None
                if func.attr in ENDING_METHODS or (
                    method is not None and self.flow.commits(method)
                ):
                    state.open.pop(group, None)
                    if func.attr == "commit" or method is not None:
                        self.committed(state, call.lineno)
                elif (method is not None and self.flow.touches_db(method)) or (
                    method is None and runs
                ):
                    what = f"`{_text(func)}()`"
                    state.open.setdefault(group, Opened(call.lineno, what))
                return
        argument = self.flow.session_argument(call, self.scope, runs)
        if argument is not None:
            state.open.setdefault(argument, Opened(call.lineno, f"`{_text(func)}()`"))
        if (
            self.is_async
            and isinstance(func, ast.Attribute)
            and func.attr in _PYDANTIC_READS
        ):
            for arg in call.args:
                if isinstance(arg, ast.Name):
                    self.use(arg, arg.id, state)

    def session_method(
        self, call: ast.Call, func: ast.Attribute, group: str, state: _State
    ) -> None:
        method = func.attr
        if method == "commit":
            state.open.pop(group, None)
            if dotted(func.value) not in self.keeps:
                self.committed(state, call.lineno)
        elif method in ENDING_METHODS:
            state.open.pop(group, None)
        elif method == "refresh":
            for arg in call.args:
                if isinstance(arg, ast.Name):
                    state.expired.pop(arg.id, None)
            state.open.setdefault(group, Opened(call.lineno, f"`{_text(func)}()`"))
        elif method in ("add", "add_all"):
            for arg in call.args:
                names = arg.elts if isinstance(arg, ast.List | ast.Tuple) else [arg]
                for name in names:
                    if isinstance(name, ast.Name):
                        state.loaded[name.id] = True
                        state.expired.pop(name.id, None)
        elif method in QUERY_METHODS:
            state.open.setdefault(group, Opened(call.lineno, f"`{_text(func)}()`"))

    def committed(self, state: _State, line: int) -> None:
        if self.after_yield:
            self.result.commits_at_exit = True
        self.expire(state, line)

    def expire(self, state: _State, line: int) -> None:
        if not self.is_async:
            return
        for name in state.loaded:
            state.expired.setdefault(name, line)

    def attribute(self, node: ast.Attribute, state: _State) -> None:
        if self.is_async and isinstance(node.value, ast.Name):
            self.use(node, node.value.id, state)

    def use(self, node: ast.AST, name: str, state: _State) -> None:
        line = state.expired.pop(name, None)
        if line is not None:
            self.result.uses.append(UseAfterCommit(node, name, line, self.function))

    def returned(self, value: ast.expr, state: _State) -> None:
        if isinstance(value, ast.Name) and state.loaded.get(value.id):
            self.use(value, value.id, state)

    def bind(self, target: ast.expr, value: ast.expr | None, state: _State) -> None:
        if isinstance(target, ast.Tuple | ast.List):
            for element in target.elts:
                self.bind(element, None, state)
            return
        if not isinstance(target, ast.Name):
            return
        if value is not None and _keeps_objects(value):
            self.keeps.add(target.id)
        state.loaded.pop(target.id, None)
        state.expired.pop(target.id, None)
        strength = self.orm_result(value) if value is not None else None
        if strength is not None:
            state.loaded[target.id] = strength

    def orm_result(self, value: ast.expr) -> bool | None:
        """True: surely an ORM object; False: maybe one (a holder's result); None."""
        if isinstance(value, ast.Await):
            value = value.value
        if not isinstance(value, ast.Call) or not isinstance(value.func, ast.Attribute):
            return None
        method = value.func.attr
        root: ast.expr = value
        while isinstance(root, ast.Call) and isinstance(root.func, ast.Attribute):
            receiver = root.func.value
            kind = self.inference.kind_of(receiver, self.scope)
            if kind is not None and kind.is_session:
                if method in _ORM_RESULTS or root.func.attr in (
                    "get",
                    "get_one",
                    "merge",
                ):
                    return True
                return None
            if kind is not None and self.flow.is_holder(kind):
                return False
            root = receiver.value if isinstance(receiver, ast.Await) else receiver
        return None
