"""Follow a function's statements: when a transaction is open, what a commit expires.

Each function is walked once, statement by statement, with a small state: which
sessions have an open transaction (and since which query), which local names hold
ORM objects, and which of those a commit has expired. Branches are followed
separately and joined (open on any path counts); loops run twice; a `return` or
`raise` ends a path.
"""

from __future__ import annotations

import ast

from uowgen._doctor._flow_facts import (
    FlowResult,
    HttpInTransaction,
    LeftOpen,
    Opened,
    UseAfterCommit,
    _join,
    _State,
)
from uowgen._doctor._kinds import Kind, Origin, Tag
from uowgen._doctor._summaries import (
    _BUSY,
    QUERY_METHODS,
    _Summaries,
    _text,
    awaited_calls,
    group_of,
)
from uowgen._doctor._symbols import FunctionInfo
from uowgen._doctor._syntax import child_nodes, dotted, last_name, node_children

ENDING_METHODS = frozenset({"commit", "rollback", "close", "invalidate", "reset"})
_ORM_RESULTS = frozenset(
    {"get", "get_one", "merge", "scalar_one", "scalar_one_or_none", "first", "one"}
    | {"one_or_none"}
)
_PYDANTIC_READS = frozenset(
    {"model_validate", "from_orm", "parse_obj", "validate", "jsonable_encoder"}
)


class Flow(_Summaries):
    """Walks functions and remembers what each one does."""

    def leaves_open(self, function: FunctionInfo) -> bool:
        """Whether calling the function leaves its caller's session in a transaction.

        It queries, and some return path does not end what it began.
        """
        if not self.touches_db(function):
            return False
        return self.analyse(function).left_open is not None

    def closes(self, function: FunctionInfo) -> bool:
        """Whether calling the function ends the transaction.

        It must commit, and no return path may leave one open: a token refresh
        that commits only when the token is stale does not close on its fast path.
        """
        return self.commits(function) and self.analyse(function).left_open is None

    def analyse(self, function: FunctionInfo) -> FlowResult:
        """The flow facts of one function (computed once)."""
        key = id(function)
        cached = self._results.get(key)
        if isinstance(cached, FlowResult):
            return cached
        if cached is _BUSY:
            return FlowResult()
        self._results[key] = _BUSY
        result = _Walker(self, function).run()
        self._results[key] = result
        return result


def _keeps_objects(expr: ast.expr) -> bool:
    """`factory(expire_on_commit=False)`: a session whose commits expire nothing."""
    return isinstance(expr, ast.Call) and any(
        k.arg == "expire_on_commit"
        and isinstance(k.value, ast.Constant)
        and k.value.value is False
        for k in expr.keywords
    )


def _is_patch(expr: ast.expr) -> bool:
    """`patch(...)`, `mock.patch.object(...)`, `patch.dict(...)`: a test's stand-in."""
    target = expr.func if isinstance(expr, ast.Call) else expr
    name = dotted(target) or ""
    parts = name.split(".")
    return "patch" in parts or last_name(target) == "patch"


def _closed_session(expr: ast.expr) -> ast.expr | None:
    """What `contextlib.closing(x)` closes at the block's exit: `x`."""
    if isinstance(expr, ast.Call) and last_name(expr.func) == "closing" and expr.args:
        return expr.args[0]
    return None


def _post_order(expr: ast.AST) -> list[ast.AST]:
    """An expression's nodes, operands before the operation (evaluation order).

    The reverse of a depth-first walk that takes the last operand first: one list,
    no pair per node.
    """
    stack: list[ast.AST] = [expr]
    out: list[ast.AST] = []
    while stack:
        node = stack.pop()
        out.append(node)
        if not isinstance(node, ast.Lambda | ast.FunctionDef | ast.AsyncFunctionDef):
            stack.extend(node_children(node))
    out.reverse()
    return out


class _Walker:
    def __init__(self, flow: Flow, function: FunctionInfo) -> None:
        self.flow = flow
        self.inference = flow.inference
        self.function = function
        self.scope = self.inference.function_scope(function)
        self.is_async = function.is_async
        self.awaited = awaited_calls(function.node)
        self.result = FlowResult()
        args = function.node.args
        self.params = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
        self.transaction_depth = 0
        # In a test patching with `mock.patch`: the function itself, or a block.
        self.patched = any(_is_patch(d) for d in function.node.decorator_list)
        # The groups the enclosing `with` blocks end at their exit.
        self.with_groups: list[str] = []
        self.after_yield = False
        self.loops: list[list[_State]] = []
        self.reported: set[int] = set()
        # Sessions made with `expire_on_commit=False` given to the call itself.
        self.keeps: set[str] = set()

    def run(self) -> FlowResult:
        end = self.block(self.function.node.body, _State())
        if end is not None:
            self.returns(end, self.function.node.end_lineno or 0)
        return self.result

    def returns(self, state: _State, line: int) -> None:
        """A return path: does it leave a transaction of the caller's session open?

        Its own sessions (bound in it, not given) are its business; `with` blocks
        are counted out by the names they bind (their exit ends them).
        """
        if self.result.left_open is not None:
            return
        for group in state.open:
            own = group in self.scope.local_names and group not in self.params
            ended = group in self.with_groups or group.startswith("<line")
            if not own and not ended:
                self.result.left_open = LeftOpen(
                    self.function.module, line, self.function.name
                )
                return

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
            self.returns(state, stmt.lineno)
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
        for child in child_nodes(stmt):
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
        exits: list[tuple[str, bool, Origin | None]] = []
        depth = self.transaction_depth
        patched = self.patched
        if any(_is_patch(item.context_expr) for item in stmt.items):
            self.patched = True
        for item in stmt.items:
            self.expr(item.context_expr, state)
            kind = self.inference.kind_of(item.context_expr, self.scope)
            bound = item.optional_vars
            if bound is not None:
                self.bind(bound, None, state)
            closed = _closed_session(item.context_expr)
            if closed is not None:
                # `with closing(session):` closes it at the exit: its transaction ends
                closed_kind = self.inference.kind_of(closed, self.scope)
                if closed_kind is not None and closed_kind.is_session:
                    exits.append((group_of(closed, closed_kind), False, None))
                continue
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
                origin = kind.inner.origin if kind.inner is not None else kind.origin
                state.open[group] = Opened(
                    line,
                    f"`{text}()` block",
                    item.context_expr.col_offset,
                    origin,
                )
                exits.append((group, True, origin))
                self.transaction_depth += 1
            elif kind.tag is Tag.CONTEXT and kind.function is not None:
                summary = self.flow.analyse(kind.function)
                group = name or f"<line {line}>"
                if summary.open_at_yield:
                    state.open[group] = Opened(
                        line,
                        f"`{kind.function.name}()` block",
                        item.context_expr.col_offset,
                        kind.inner.origin if kind.inner is not None else None,
                    )
                origin = kind.inner.origin if kind.inner is not None else None
                exits.append((group, summary.commits_at_exit, origin))
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
                exits.append(
                    (
                        group or group_of(item.context_expr, kind),
                        commits,
                        self.holder_origin(kind),
                    )
                )
            elif kind.is_session:
                exits.append((name or group_of(item.context_expr, kind), False, None))
        mark = len(self.with_groups)
        self.with_groups.extend(group for group, _, _ in exits)
        out = self.block(stmt.body, state)
        self.patched = patched
        del self.with_groups[mark:]
        self.transaction_depth = depth
        if out is None:
            return None
        for group, commits, origin in reversed(exits):
            out.open.pop(group, None)
            if commits:
                self.expire(out, stmt.end_lineno or stmt.lineno, origin)
        return out

    def _partly_closed(self, function: FunctionInfo | None) -> LeftOpen | None:
        """A helper that commits on some paths but not all: where it leaves it open.

        (A plain read leaves the transaction open too, but says nothing new.)
        """
        if function is None or not self.flow.commits(function):
            return None
        return self.flow.analyse(function).left_open

    def holder_origin(self, kind: Kind) -> Origin | None:
        """What made the session a repository or unit of work keeps on `self`."""
        if kind.cls is None:
            return None
        for stored in self.inference.attributes(kind.cls).values():
            if stored.kind.is_session and stored.kind.origin is not None:
                return stored.kind.origin
        return None

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
        if http is not None and self.patched and http.line != call.lineno:
            http = None  # a test that patches what it calls: its HTTP may be gone
        if http is not None and state.open and id(call) not in self.reported:
            self.reported.add(id(call))
            # The earliest query before the call; a later line only when a loop's
            # previous pass opened the transaction (the message says so).
            opened = min(
                state.open.values(), key=lambda o: (o.line >= call.lineno, o.line)
            )
            direct = http.line == call.lineno
            self.result.http.append(
                HttpInTransaction(call, _text(call.func), http, opened, direct)
            )
        func = call.func
        if isinstance(func, ast.Attribute):
            kind = self.inference.kind_of(func.value, self.scope)
            if kind is not None and kind.is_session:
                self.session_method(
                    call, func, group_of(func.value, kind), state, kind.origin
                )
                return
            holder = self.flow.holder(func.value, self.scope)
            if holder is not None:
                group, holder_kind, direct = holder
                method = self.flow.method_of(holder_kind, func.attr) if direct else None
                if func.attr in ENDING_METHODS or (
                    method is not None and self.flow.closes(method)
                ):
                    state.open.pop(group, None)
                    if func.attr == "commit" or method is not None:
                        self.committed(
                            state, call.lineno, self.holder_origin(holder_kind)
                        )
                elif (method is not None and self.flow.leaves_open(method)) or (
                    method is None and runs
                ):
                    left = self._partly_closed(method)
                    state.open.setdefault(
                        group,
                        Opened(
                            call.lineno,
                            f"`{_text(func)}()`",
                            call.col_offset,
                            self.holder_origin(holder_kind),
                            left,
                        ),
                    )
                return
        callee = self.inference.kind_of(func, self.scope)
        target = (
            callee.function
            if callee is not None and callee.tag is Tag.FUNCTION and runs
            else None
        )
        closing = target is not None and self.flow.closes(target)
        if closing:
            # A helper given the session that commits on every path (even one that
            # only adds and commits): the caller's transaction is over.
            for arg in [*call.args, *(k.value for k in call.keywords)]:
                given = self.inference.kind_of(arg, self.scope)
                if given is not None and (
                    given.is_session or self.flow.is_holder(given)
                ):
                    state.open.pop(group_of(arg, given), None)
                    self.committed(state, call.lineno, None)
        argument = self.flow.session_argument(call, self.scope, runs)
        if (
            argument is not None
            and not closing
            and (target is None or self.flow.leaves_open(target))
        ):
            state.open.setdefault(
                argument,
                Opened(
                    call.lineno,
                    f"`{_text(func)}()`",
                    call.col_offset,
                    left=self._partly_closed(target),
                ),
            )
        if (
            self.is_async
            and isinstance(func, ast.Attribute)
            and func.attr in _PYDANTIC_READS
        ):
            for arg in call.args:
                if isinstance(arg, ast.Name):
                    self.use(arg, arg.id, state)

    def session_method(
        self,
        call: ast.Call,
        func: ast.Attribute,
        group: str,
        state: _State,
        origin: Origin | None,
    ) -> None:
        method = func.attr
        if method == "commit":
            state.open.pop(group, None)
            if dotted(func.value) not in self.keeps:
                self.committed(state, call.lineno, origin)
        elif method in ENDING_METHODS:
            state.open.pop(group, None)
        elif method == "refresh":
            for arg in call.args:
                if isinstance(arg, ast.Name):
                    state.expired.pop(arg.id, None)
            state.open.setdefault(
                group,
                Opened(call.lineno, f"`{_text(func)}()`", call.col_offset, origin),
            )
        elif method in ("add", "add_all"):
            for arg in call.args:
                names = arg.elts if isinstance(arg, ast.List | ast.Tuple) else [arg]
                for name in names:
                    if isinstance(name, ast.Name):
                        state.loaded[name.id] = True
                        state.expired.pop(name.id, None)
        elif method in QUERY_METHODS:
            state.open.setdefault(
                group,
                Opened(call.lineno, f"`{_text(func)}()`", call.col_offset, origin),
            )

    def committed(self, state: _State, line: int, origin: Origin | None) -> None:
        if self.after_yield:
            self.result.commits_at_exit = True
        self.expire(state, line, origin)

    def expire(self, state: _State, line: int, origin: Origin | None) -> None:
        if not self.is_async:
            return
        for name in state.loaded:
            state.expired.setdefault(name, (line, origin))

    def attribute(self, node: ast.Attribute, state: _State) -> None:
        if self.is_async and isinstance(node.value, ast.Name):
            self.use(node, node.value.id, state)

    def use(self, node: ast.AST, name: str, state: _State) -> None:
        commit = state.expired.pop(name, None)
        if commit is not None:
            line, origin = commit
            self.result.uses.append(
                UseAfterCommit(node, name, line, self.function, origin)
            )

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
