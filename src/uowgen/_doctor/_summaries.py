"""What a call reaches through the codebase's functions: HTTP, queries, commits."""

from __future__ import annotations

import ast

from uowgen._doctor._flow_facts import HttpCall
from uowgen._doctor._inference import Inference
from uowgen._doctor._kinds import HTTP_FUNCTIONS, HTTP_METHODS, Kind, Scope, Tag
from uowgen._doctor._symbols import External, FunctionInfo, Module
from uowgen._doctor._syntax import dotted, last_name, own_nodes, walk

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
_NOT_A_QUERY = frozenset(
    {"isinstance", "len", "id", "type", "repr", "str", "print", "hasattr", "getattr"}
)


_BUSY = object()


class _Summaries:
    """The part of `Flow` that summarises called functions, each once."""

    def __init__(self, inference: Inference) -> None:
        self.inference = inference
        # A call can reach HTTP only through an HTTP name or a codebase function:
        # checking the name first skips most calls without inferring anything.
        external = inference.external
        self.external = external
        self._reachable = (
            _HTTP_NAMES
            | external.methods
            | frozenset(f.node.name for f in inference.project.functions())
            | frozenset(p.rpartition(".")[2] for p in external.functions)
        )
        # Any method of an SDK client calls out: where a module may hold one, every
        # method call is looked at.
        self._any_method = frozenset(
            id(module)
            for module in inference.project.modules
            if external.class_methods or _imports_any(module, external.roots)
        )
        self._results: dict[int, object] = {}
        self._http: dict[int, object] = {}
        self._db: dict[int, object] = {}

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
        any_method = id(function.module) in self._any_method
        calls = [
            node
            for node in own_nodes(function.node)
            if isinstance(node, ast.Call)
            and (
                last_name(node.func) in self._reachable
                or (any_method and isinstance(node.func, ast.Attribute))
            )
        ]
        if calls:  # only then is the function's scope worth working out
            scope = self.inference.function_scope(function)
            awaited = awaited_calls(function.node)
            for node in calls:
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
        for node in own_nodes(function.node):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "commit"
            ):
                return True
        return False

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
        if last_name(func) not in self._reachable and not (
            isinstance(func, ast.Attribute) and id(scope.module) in self._any_method
        ):
            return None
        line = call.lineno
        callee = self.inference.kind_of(func, scope)
        sdk = self._sdk_call(call, callee, scope)
        if sdk is not None:
            return sdk
        if callee is not None and callee.tag is Tag.EXTERNAL:
            external = External(callee.external)
            root = external.qualname.partition(".")[0]
            if external.name in HTTP_FUNCTIONS.get(root, ()):
                return HttpCall(
                    f"`{external.qualname}()`", line, scope.module, call.col_offset
                )
            if external.qualname in THREAD_RUNNERS and call.args:
                return self._callable_http(call.args[0], scope, line)
        if isinstance(func, ast.Attribute):
            receiver = self.inference.kind_of(func.value, scope)
            if (
                receiver is not None
                and receiver.tag is Tag.HTTP
                and func.attr in HTTP_METHODS
            ):
                return HttpCall(
                    f"`{_text(func)}()`", line, scope.module, call.col_offset
                )
            if func.attr == "run_in_executor" and len(call.args) >= 2:
                return self._callable_http(call.args[1], scope, line)
        if (
            callee is not None
            and callee.function is not None
            and callee.tag is Tag.FUNCTION
            and not callee.function.nested
            and (awaited or not callee.function.is_async)
        ):
            # A local helper is followed for its commits, not for HTTP: it is most
            # often run some other way (a thread's target, a callback), or only on
            # a path the caller's arguments choose.
            return self.does_http(callee.function)
        return None

    def _sdk_call(
        self, call: ast.Call, callee: Kind | None, scope: Scope
    ) -> HttpCall | None:
        """An SDK's call: a library function, a client's method, a known name."""
        func = call.func
        where = (call.lineno, scope.module, call.col_offset)
        if (
            callee is not None
            and callee.tag is Tag.EXTERNAL
            and self.external.is_function(callee.external)
        ):
            return HttpCall(f"`{callee.external}()`", *where)
        if isinstance(func, ast.Attribute):
            receiver = self.inference.kind_of(func.value, scope)
            if (
                receiver is not None
                and receiver.tag is Tag.SDK
                and self.external.client_method(receiver.external, func.attr)
            ):
                return HttpCall(f"`{_text(func)}()` ({receiver.external})", *where)
            if func.attr in self.external.methods:
                return HttpCall(f"`{_text(func)}()`", *where)
        if callee is not None and callee.tag is Tag.FUNCTION and callee.function:
            function = callee.function
            qualname = f"{function.module.names[0]}.{function.name}"
            if self.external.is_function(qualname) or (
                function.cls is not None
                and self.external.is_method_of(function.cls.name, function.node.name)
            ):
                return HttpCall(f"`{_text(func)}()` (configured)", *where)
        return None

    def _callable_http(
        self, expr: ast.expr, scope: Scope, line: int
    ) -> HttpCall | None:
        if isinstance(expr, ast.Lambda):
            for node in walk(expr.body):
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
                return HttpCall(
                    f"`{external.qualname}()` in a thread",
                    line,
                    scope.module,
                    expr.col_offset,
                )
        if isinstance(expr, ast.Attribute) and expr.attr in HTTP_METHODS:
            receiver = self.inference.kind_of(expr.value, scope)
            if receiver is not None and receiver.tag is Tag.HTTP:
                return HttpCall(
                    f"`{_text(expr)}()` in a thread",
                    line,
                    scope.module,
                    expr.col_offset,
                )
        if kind is not None and kind.tag is Tag.FUNCTION and kind.function:
            return self.does_http(kind.function)
        return None


def _imports_any(module: Module, roots: frozenset[str]) -> bool:
    return any(ref.module.partition(".")[0] in roots for ref in module.imports.values())


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
                        for inner in walk(arg):
                            if isinstance(inner, ast.Call):
                                awaited.add(id(inner))
    return awaited


def _text(expr: ast.expr) -> str:
    return dotted(expr) or (last_name(expr) or "...")
