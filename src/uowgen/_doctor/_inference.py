"""The kind of any expression: a session, an engine, a client, or None.

A small, flow-insensitive type inference over the codebase: annotations, the calls
that build things (`async_sessionmaker(...)`, `httpx.AsyncClient()`), FastAPI's
`Depends(...)`, attributes stored on `self`, and what functions return or yield.
Everything unknown is None: the rules only act on what is known.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import replace

from uowgen._doctor._attributes import _Attributes
from uowgen._doctor._declared import _Declared
from uowgen._doctor._external import LOCAL_METHODS, ExternalCalls
from uowgen._doctor._kinds import (
    _BUILDING,
    CONTEXT_MANAGERS,
    IN_PROCESS_TRANSPORTS,
    Kind,
    Origin,
    Scope,
    Tag,
    external_call_kind,
    looks_like_session_dependency,
    looks_like_session_factory,
)
from uowgen._doctor._symbols import (
    ClassInfo,
    External,
    FunctionInfo,
    Module,
    Project,
    Span,
    Symbol,
)
from uowgen._doctor._syntax import (
    dotted,
    is_generator,
    last_name,
    node_children,
    own_nodes,
)


class Inference(_Declared, _Attributes):
    """Kinds of expressions across the codebase, computed lazily and remembered."""

    def __init__(self, project: Project, external: ExternalCalls | None = None) -> None:
        self.project = project
        self.external = external or ExternalCalls()
        self._values: dict[tuple[int, Span], object] = {}
        self._scopes: dict[int, Scope] = {}
        self._attrs: dict[int, object] = {}
        self._returns: dict[int, object] = {}
        self._holds: dict[int, object] = {}
        self._stores: dict[int, object] = {}
        self._http: dict[int, object] = {}
        self._db: dict[int, object] = {}
        self._module_scopes: dict[int, Scope] = {}
        self._walrus: dict[int, bool] = {}

    # -- scopes ---------------------------------------------------------------

    def module_scope(self, module: Module) -> Scope:
        """The scope of a module's top level."""
        scope = self._module_scopes.get(id(module))
        if scope is None:
            scope = self._module_scopes[id(module)] = Scope(module)
        return scope

    def function_scope(self, function: FunctionInfo) -> Scope:
        """The scope of a function: its parameters and its locals' kinds."""
        cached = self._scopes.get(id(function))
        if isinstance(cached, Scope):
            return cached  # in a cycle, the scope being built: parameters known
        node = function.node
        scope = Scope(function.module, function)
        args = node.args
        positional = [*args.posonlyargs, *args.args]
        decorators = {last_name(d) for d in node.decorator_list}
        if (
            function.cls is not None
            and positional
            and not decorators & {"staticmethod", "classmethod"}
        ):
            scope.cls = function.cls
            scope.self_name = positional[0].arg
        defaults: list[ast.expr | None] = [None] * (
            len(positional) - len(args.defaults)
        )
        defaults += list(args.defaults)
        params = list(zip(positional, defaults, strict=True))
        params += list(zip(args.kwonlyargs, args.kw_defaults, strict=True))
        for arg, default in params:
            scope.local_names.add(arg.arg)
            kind = self.param_kind(arg, default, function.module)
            if kind is not None:
                scope.env[arg.arg] = kind
        for extra in (args.vararg, args.kwarg):
            if extra is not None:
                scope.local_names.add(extra.arg)
        self._scopes[id(function)] = scope
        self._bind_locals(scope, node.body)
        return scope

    def _bind_locals(self, scope: Scope, body: list[ast.stmt]) -> None:
        # Only statements bind names, and `:=` in an expression: in a function
        # without one, the statements alone are walked, not every node.
        module = scope.module
        walrus = self._walrus.get(id(module))
        if walrus is None:
            walrus = self._walrus[id(module)] = ":=" in module.source.text
        if walrus and scope.function is not None:
            own = own_nodes(scope.function.node)  # the same nodes, in another order
            walrus = any(node.__class__ is ast.NamedExpr for node in own)
        if walrus:
            nodes: list[ast.AST] = [n for s in body for n in _statement_nodes(s)]
        else:
            nodes = _block_statements(body)
        for node in nodes:
            if isinstance(node, ast.Assign):
                names = [t for t in node.targets if not isinstance(t, ast.Attribute)]
                kind = self.kind_of(node.value, scope) if names else None
                for target in names:
                    self._bind(scope, target, kind)
            elif isinstance(node, ast.AnnAssign):
                kind = self.annotation_kind(node.annotation, scope.module)
                if kind is None and node.value is not None:
                    kind = self.kind_of(node.value, scope)
                self._bind(scope, node.target, kind)
            elif isinstance(node, ast.NamedExpr):
                self._bind(scope, node.target, self.kind_of(node.value, scope))
            elif isinstance(node, ast.With | ast.AsyncWith):
                for item in node.items:
                    if item.optional_vars is not None:
                        entered = self.entered_kind(
                            self.kind_of(item.context_expr, scope)
                        )
                        name = dotted(item.optional_vars)
                        if entered is not None and entered.group != "request":
                            # What a context manager yields is this block's own
                            # session, whatever it was called inside the manager.
                            entered = replace(entered, group=name)
                        self._bind(scope, item.optional_vars, entered)
            elif isinstance(node, ast.For | ast.AsyncFor):
                self._bind(scope, node.target, None)
            elif isinstance(node, ast.ExceptHandler) and node.name:
                scope.local_names.add(node.name)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                # A helper defined in the function: followed like any other.
                nested = self.project.function_info(scope.module, node)
                scope.local_names.add(node.name)
                if nested is not None:
                    scope.env[node.name] = Kind(
                        Tag.FUNCTION, function=nested, is_async=nested.is_async
                    )

    def _bind(self, scope: Scope, target: ast.expr, kind: Kind | None) -> None:
        if isinstance(target, ast.Name):
            scope.local_names.add(target.id)
            if kind is None:
                scope.env.pop(target.id, None)
            else:
                if kind.is_session and kind.group is None:
                    kind = replace(kind, group=target.id)
                scope.env[target.id] = kind
        elif isinstance(target, ast.Tuple | ast.List):
            for element in target.elts:
                self._bind(scope, element, None)
        elif isinstance(target, ast.Starred):
            self._bind(scope, target.value, None)

    def param_kind(
        self, arg: ast.arg, default: ast.expr | None, module: Module
    ) -> Kind | None:
        """A parameter's kind: from its annotation, or from the Depends it declares."""
        depends = self.depends_call(default, module) if default is not None else None
        if depends is None and arg.annotation is not None:
            depends = self.annotated_depends(arg.annotation, module)
        annotated = (
            self.annotation_kind(arg.annotation, module) if arg.annotation else None
        )
        if depends is None:
            if annotated is not None and annotated.is_session:
                return replace(annotated, group=f"param {arg.arg}")
            if annotated is not None and annotated.tag is Tag.HTTP:
                fixtures = self._fixtures(arg.arg)
                if fixtures:
                    # A test's client is what its pytest fixture makes: most often
                    # a client over the app itself (ASGITransport), not outbound.
                    return self._made_by(fixtures[0])
            return annotated
        target = self.depends_target(depends)
        kind = self.dependency_kind(target, module) if target is not None else None
        kind = kind or annotated
        if kind is None:
            return None
        return replace(kind, group="request")

    def _fixtures(self, name: str) -> list[FunctionInfo]:
        """The pytest fixtures named `name` (a test's parameter gets one of them)."""
        return [
            function
            for function in self.project.functions_named(name)
            if any(
                last_name(d.func if isinstance(d, ast.Call) else d) == "fixture"
                for d in function.node.decorator_list
            )
        ]

    def _made_by(self, function: FunctionInfo) -> Kind | None:
        if is_generator(function.node):
            return self.yield_kind(function)
        return self.return_kind(function)

    # -- FastAPI --------------------------------------------------------------

    def dependency_kind(self, target: ast.expr, module: Module) -> Kind | None:
        """What FastAPI injects for `Depends(target)`."""
        symbol = self.project.resolve(module, target)
        if isinstance(symbol, FunctionInfo):
            if is_generator(symbol.node):
                return self.yield_kind(symbol)
            return self.return_kind(symbol)
        if isinstance(symbol, ClassInfo):
            return self.instance_kind(symbol)
        name = last_name(target)
        if symbol is None and name is not None and looks_like_session_dependency(name):
            return Kind(Tag.SESSION)
        return None

    # -- expressions ----------------------------------------------------------

    def symbol_kind(self, symbol: Symbol | None) -> Kind | None:
        """The kind of what a top-level name refers to."""
        if symbol is None:
            return None
        if isinstance(symbol, Module):
            return Kind(Tag.MODULE, module=symbol)
        if isinstance(symbol, ClassInfo):
            return Kind(Tag.CLASS, cls=symbol)
        if isinstance(symbol, FunctionInfo):
            return Kind(Tag.FUNCTION, function=symbol, is_async=symbol.is_async)
        if isinstance(symbol, External):
            return Kind(Tag.EXTERNAL, external=symbol.qualname)
        key = (id(symbol.module), symbol.where)
        cached = self._values.get(key)
        if cached is _BUILDING:
            return None
        if key in self._values:
            return cached if isinstance(cached, Kind) else None
        self._values[key] = _BUILDING
        kind = self.kind_of(symbol.expr, self.module_scope(symbol.module))
        self._values[key] = kind
        return kind

    def kind_of(self, expr: ast.expr, scope: Scope, depth: int = 0) -> Kind | None:
        """The kind of `expr` evaluated in `scope`, or None if unknown."""
        if depth > 24:
            return None
        if isinstance(expr, ast.Await | ast.NamedExpr):
            return self.kind_of(expr.value, scope, depth + 1)
        if isinstance(expr, ast.Name):
            return self._name_kind(expr.id, scope)
        if isinstance(expr, ast.Attribute):
            return self._attribute_kind(expr, scope, depth)
        if isinstance(expr, ast.Call):
            return self._call_kind(expr, scope, depth)
        if isinstance(expr, ast.Subscript):
            return _context_kind(expr)
        return None

    def _name_kind(self, name: str, scope: Scope) -> Kind | None:
        if name == scope.self_name and scope.cls is not None:
            return self.self_kind(scope.cls)
        if name in scope.env:
            return scope.env[name]
        if name in scope.local_names:
            return None
        return self.symbol_kind(self.project.resolve_name(scope.module, name))

    def self_kind(self, cls: ClassInfo) -> Kind:
        """The kind of `self` in a method of `cls`: its session group is its own."""
        group = "self"
        for stored in self.attributes(cls).values():
            if stored.kind.group == "request":
                group = "request"
        return Kind(Tag.INSTANCE, cls=cls, group=group)

    def _attribute_kind(
        self, expr: ast.Attribute, scope: Scope, depth: int
    ) -> Kind | None:
        base = self.kind_of(expr.value, scope, depth + 1)
        if base is None:
            return None
        if base.tag is Tag.INSTANCE and base.cls is not None:
            stored = self.attributes(base.cls).get(expr.attr)
            if stored is not None:
                kind = stored.kind
                if kind.group != "request" and (kind.is_session or kind.cls):
                    kind = replace(kind, group=base.group or dotted(expr))
                return kind
            method = self.project.method(base.cls, expr.attr)
            if method is not None:
                return Kind(
                    Tag.FUNCTION,
                    function=method,
                    group=base.group,
                    is_async=method.is_async,
                )
            return None
        if base.tag is Tag.MODULE and base.module is not None:
            return self.symbol_kind(self.project.resolve_name(base.module, expr.attr))
        if base.tag is Tag.EXTERNAL:
            return Kind(Tag.EXTERNAL, external=f"{base.external}.{expr.attr}")
        if base.tag is Tag.SDK:
            return base  # `client.chat.completions`: still the client's API
        if base.tag is Tag.CLASS and base.cls is not None:
            return self.symbol_kind(self.project.class_member(base.cls, expr.attr))
        if base.is_session and expr.attr == "sync_session":
            return replace(base, is_async=False)
        if base.tag is Tag.ENGINE and expr.attr == "sync_engine":
            return base
        return None

    def _call_kind(self, call: ast.Call, scope: Scope, depth: int) -> Kind | None:
        func = call.func
        if isinstance(func, ast.Attribute):
            receiver = self.kind_of(func.value, scope, depth + 1)
            if receiver is not None:
                kind = _method_result(receiver, func.attr)
                if kind is not None:
                    return kind
                if receiver.tag is Tag.SDK and func.attr in LOCAL_METHODS:
                    return receiver  # `session.client("s3")`: another client
        callee = self.kind_of(func, scope, depth + 1)
        if callee is None:
            name = last_name(func)
            if (
                isinstance(func, ast.Name)
                and scope.function is None
                and func.id in scope.local_names
            ):
                return None  # a class body's own name: its value is not guessed
            if name is not None and looks_like_session_factory(name):
                return Kind(Tag.SESSION)
            return None
        if callee.tag is Tag.FACTORY:
            origin = callee.origin
            if any(k.arg == "expire_on_commit" for k in call.keywords):
                origin = Origin(scope.module, call)  # this session's own setting
            return Kind(Tag.SESSION, is_async=callee.is_async, origin=origin)
        if callee.tag is Tag.EXTERNAL:
            kind = external_call_kind(External(callee.external), call)
            if kind is None:
                if self.external.is_client(callee.external):
                    return Kind(Tag.SDK, external=callee.external)
                return None
            if kind.tag is Tag.HTTP and self._in_process(call, scope):
                return None
            if kind.tag in (Tag.FACTORY, Tag.SESSION):
                return replace(kind, origin=Origin(scope.module, call))
            return kind
        if callee.tag is Tag.CLASS and callee.cls is not None:
            kind = self.instance_kind(callee.cls)
            if kind.tag is Tag.HTTP and self._in_process(call, scope):
                return None  # a subclass of httpx's client, over the app itself
            if kind.tag is Tag.INSTANCE:
                for arg in [*call.args, *(k.value for k in call.keywords)]:
                    given = self.kind_of(arg, scope, depth + 1)
                    if given is not None and given.is_session:
                        return replace(kind, group=given.group or dotted(arg))
            return kind
        if callee.tag is Tag.FUNCTION and callee.function is not None:
            return self.return_kind(callee.function)
        return None

    def _in_process(self, call: ast.Call, scope: Scope) -> bool:
        """`httpx.AsyncClient(transport=ASGITransport(app))`: requests stay here.

        So does `AsyncClient(app=app)`, the same before httpx 0.28.
        """
        for keyword in call.keywords:
            if keyword.arg == "app":
                return True
            if keyword.arg == "transport":
                given = self.kind_of(keyword.value, scope)
                if given is not None and given.tag is Tag.IN_PROCESS:
                    return True
                if last_name(keyword.value) in IN_PROCESS_TRANSPORTS or (
                    isinstance(keyword.value, ast.Call)
                    and last_name(keyword.value.func) in IN_PROCESS_TRANSPORTS
                ):
                    return True
        return False

    def entered_kind(self, kind: Kind | None) -> Kind | None:
        """What `with X as name` binds, given X's kind."""
        if kind is None:
            return None
        if kind.tag in (Tag.TRANSACTION, Tag.CONTEXT):
            return kind.inner
        if kind.tag is Tag.INSTANCE and kind.cls is not None:
            enter = self.project.method(kind.cls, "__aenter__") or self.project.method(
                kind.cls, "__enter__"
            )
            if enter is None:
                return kind
            returned = self.return_kind(enter)
            if returned is not None and returned.cls is kind.cls:
                return kind  # `return self`: keep the group
            return returned
        return kind

    # -- functions ------------------------------------------------------------

    def return_kind(self, function: FunctionInfo) -> Kind | None:
        """What calling the function gives (a context manager's kind for a cm)."""
        key = id(function)
        cached = self._returns.get(key)
        if cached is _BUILDING:
            return None
        if key in self._returns:
            return cached if isinstance(cached, Kind) else None
        self._returns[key] = _BUILDING
        kind = self._compute_return_kind(function)
        self._returns[key] = kind
        return kind

    def _compute_return_kind(self, function: FunctionInfo) -> Kind | None:
        node = function.node
        names = {
            last_name(d if not isinstance(d, ast.Call) else d.func)
            for d in node.decorator_list
        }
        if names & CONTEXT_MANAGERS:
            return Kind(
                Tag.CONTEXT,
                function=function,
                inner=self.yield_kind(function),
                is_async="asynccontextmanager" in names,
            )
        if is_generator(node):
            return None
        if node.returns is not None:
            kind = self.annotation_kind(node.returns, function.module)
            if kind is not None:
                return kind
        scope = self.function_scope(function)
        if scope.self_name is not None and scope.cls is not None:
            for child in own_nodes(node):
                if (
                    isinstance(child, ast.Return)
                    and isinstance(child.value, ast.Name)
                    and child.value.id == scope.self_name
                ):
                    return Kind(Tag.INSTANCE, cls=scope.cls)
        for child in own_nodes(node):
            if isinstance(child, ast.Return) and child.value is not None:
                kind = self.kind_of(child.value, scope)
                if kind is not None:
                    return kind
        return None

    def yield_kind(self, function: FunctionInfo) -> Kind | None:
        """The kind of what a generator function yields first."""
        scope = self.function_scope(function)
        for child in own_nodes(function.node):
            if isinstance(child, ast.Yield) and child.value is not None:
                kind = self.kind_of(child.value, scope)
                if kind is not None:
                    return kind
        return None


def _context_kind(expr: ast.Subscript) -> Kind | None:
    """`ctx["session_maker"]`, `ctx["db"]`: what a worker's context holds.

    arq's jobs get their resources this way; the key is read by the naming
    conventions the inference trusts for names.
    """
    key = expr.slice
    if not isinstance(key, ast.Constant) or not isinstance(key.value, str):
        return None
    if looks_like_session_factory(key.value):
        return Kind(Tag.FACTORY, is_async=True)
    if looks_like_session_dependency(key.value):
        return Kind(Tag.SESSION)
    return None


def _statement_nodes(stmt: ast.stmt) -> Iterator[ast.AST]:
    """The nodes of one statement, in source order, not entering nested scopes."""
    stack: list[ast.AST] = [stmt]
    while stack:
        current = stack.pop()
        yield current
        if isinstance(
            current, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda
        ):
            continue
        stack.extend(reversed(node_children(current)))


_NESTED_SCOPES = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef})
_BLOCKS = frozenset({"body", "orelse", "finalbody", "handlers", "cases"})
_BLOCK_FIELDS: dict[type[ast.AST], tuple[str, ...]] = {}


def _block_statements(body: list[ast.stmt]) -> list[ast.AST]:
    """A body's statements, except handlers and match cases, in source order.

    The nodes `_statement_nodes` gives that are not expressions, in the same order,
    not entering nested scopes: at a fraction of the cost of walking every node.
    """
    out: list[ast.AST] = []
    stack: list[ast.AST] = list(reversed(body))
    while stack:
        node = stack.pop()
        out.append(node)
        kind = type(node)
        if kind in _NESTED_SCOPES:
            continue
        fields = _BLOCK_FIELDS.get(kind)
        if fields is None:
            fields = _BLOCK_FIELDS[kind] = tuple(
                name for name in kind._fields if name in _BLOCKS
            )
        if len(fields) == 1:
            stack.extend(reversed(getattr(node, fields[0])))
        elif fields:
            inner: list[ast.AST] = []
            for name in fields:
                inner += getattr(node, name)
            stack.extend(reversed(inner))
    return out


def _method_result(receiver: Kind, method: str) -> Kind | None:
    """What `receiver.method()` gives, for the SQLAlchemy methods the rules follow."""
    if method == "begin":
        if receiver.tag is Tag.FACTORY:
            inner = Kind(
                Tag.SESSION, is_async=receiver.is_async, origin=receiver.origin
            )
            return Kind(Tag.TRANSACTION, inner=inner, is_async=receiver.is_async)
        if receiver.tag is Tag.ENGINE:
            inner = Kind(Tag.CONNECTION, is_async=receiver.is_async)
            return Kind(Tag.TRANSACTION, inner=inner, is_async=receiver.is_async)
        if receiver.is_session:
            return Kind(
                Tag.TRANSACTION,
                group=receiver.group,
                is_async=receiver.is_async,
                origin=receiver.origin,
            )
    if method == "connect" and receiver.tag is Tag.ENGINE:
        return Kind(Tag.CONNECTION, is_async=receiver.is_async)
    return None
