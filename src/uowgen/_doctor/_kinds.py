"""What an expression holds, as far as the rules care: a session, an engine, a client.

A small, flow-insensitive type inference over the codebase: annotations, the calls
that build things (`async_sessionmaker(...)`, `httpx.AsyncClient()`), FastAPI's
`Depends(...)`, attributes stored on `self`, and what functions return or yield.
Everything unknown is None: the rules only act on what is known.
"""

from __future__ import annotations

import ast
import enum
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from uowgen._doctor._symbols import (
    ClassInfo,
    External,
    FunctionInfo,
    Module,
    Project,
    Symbol,
    Value,
)

SA = ("sqlalchemy", "sqlmodel")
FACTORY_NAMES = frozenset({"sessionmaker", "async_sessionmaker"})
SCOPED_NAMES = frozenset({"scoped_session", "async_scoped_session"})
ASYNC_SESSION_NAMES = frozenset({"AsyncSession"})
SESSION_NAMES = frozenset({"Session", "AsyncSession"})
CONNECTION_NAMES = frozenset({"Connection", "AsyncConnection"})
ENGINE_FUNCTIONS = frozenset(
    {
        "create_engine",
        "create_async_engine",
        "engine_from_config",
        "async_engine_from_config",
    }
)
ENGINE_NAMES = frozenset({"Engine", "AsyncEngine"})
HTTP_CLIENTS = {
    "httpx": frozenset({"AsyncClient", "Client"}),
    "aiohttp": frozenset({"ClientSession"}),
    "requests": frozenset({"Session"}),
    "urllib3": frozenset({"PoolManager", "HTTPConnectionPool", "HTTPSConnectionPool"}),
}
HTTP_VERBS = frozenset(
    {"get", "post", "put", "patch", "delete", "head", "options", "request", "stream"}
)
HTTP_FUNCTIONS = {
    "httpx": HTTP_VERBS,
    "requests": HTTP_VERBS - {"stream"},
    "aiohttp": frozenset({"request"}),
    "urllib3": frozenset({"request"}),
    "urllib": frozenset({"urlopen"}),
}
HTTP_METHODS = HTTP_VERBS | {"send", "ws_connect", "urlopen"}
DEPENDS = frozenset({"Depends", "Security"})
CONTEXT_MANAGERS = frozenset({"contextmanager", "asynccontextmanager"})
CACHES = frozenset({"cache", "lru_cache"})


class Tag(enum.Enum):
    """What kind of thing a value is."""

    SESSION = "session"
    CONNECTION = "connection"
    FACTORY = "session factory"
    ENGINE = "engine"
    HTTP = "HTTP client"
    INSTANCE = "instance"
    CLASS = "class"
    FUNCTION = "function"
    MODULE = "module"
    EXTERNAL = "library name"
    TRANSACTION = "transaction block"
    CONTEXT = "context manager"


@dataclass(frozen=True)
class Kind:
    """A value's kind, with what the rules need to know about it."""

    tag: Tag
    cls: ClassInfo | None = None
    function: FunctionInfo | None = None
    module: Module | None = None
    external: str = ""
    # Which session a session (or an object holding one) is: "request" for the one
    # FastAPI's Depends gives every dependency of a request.
    group: str | None = None
    # For a transaction block or a context manager: what `as` binds.
    inner: Kind | None = None
    is_async: bool = False

    @property
    def is_session(self) -> bool:
        """A session or connection: queries on it open a transaction."""
        return self.tag in (Tag.SESSION, Tag.CONNECTION)


@dataclass(frozen=True)
class Stored:
    """A `self.<attr>` assignment: what it stores and where."""

    kind: Kind
    function: FunctionInfo | None
    line: int
    built_here: bool


@dataclass
class Scope:
    """The names visible in a function (or a module's top level)."""

    module: Module
    function: FunctionInfo | None = None
    cls: ClassInfo | None = None
    self_name: str | None = None
    env: dict[str, Kind] = field(default_factory=dict)
    local_names: set[str] = field(default_factory=set)


_BUILDING = object()


_OWN: dict[int, tuple[ast.AST, list[ast.AST]]] = {}


def own_nodes(node: ast.AST) -> list[ast.AST]:
    """The nodes of a function's body that run in it (not in nested defs or lambdas).

    Remembered per node: the rules walk each function several times.
    """
    cached = _OWN.get(id(node))
    if cached is not None and cached[0] is node:
        return cached[1]
    nodes = list(_own_nodes(node))
    if len(_OWN) > 200_000:
        _OWN.clear()
    _OWN[id(node)] = (node, nodes)
    return nodes


def _own_nodes(node: ast.AST) -> Iterator[ast.AST]:
    stack: list[ast.AST] = list(ast.iter_child_nodes(node))
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        stack = list(node.body)
    while stack:
        current = stack.pop()
        yield current
        if isinstance(
            current, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda
        ):
            continue
        stack.extend(ast.iter_child_nodes(current))


def dotted(expr: ast.expr) -> str | None:
    """`self.session` for a name or an attribute chain; None for anything else."""
    parts: list[str] = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if isinstance(expr, ast.Name):
        parts.append(expr.id)
        return ".".join(reversed(parts))
    return None


def last_name(expr: ast.expr) -> str | None:
    """The last identifier of a name or attribute: `maker` for `self.maker`."""
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Attribute):
        return expr.attr
    return None


def looks_like_session_factory(name: str) -> bool:
    """`SessionLocal`, `async_session_maker`, `self._session_factory`: by convention."""
    lowered = name.lower()
    return "session" in lowered and any(
        word in lowered for word in ("maker", "factory", "local")
    )


def looks_like_session_dependency(name: str) -> bool:
    """`get_session`, `get_db`, `get_async_session`: a dependency giving a session."""
    lowered = name.lower()
    if any(word in lowered for word in ("http", "client", "cookie", "user")):
        return False
    words = lowered.strip("_").split("_")
    return "session" in lowered or "db" in words or "database" in words


_GENERATORS: dict[int, tuple[ast.AST, bool]] = {}


def is_generator(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether the function's own body yields."""
    cached = _GENERATORS.get(id(node))
    if cached is not None and cached[0] is node:
        return cached[1]
    result = any(isinstance(n, ast.Yield | ast.YieldFrom) for n in own_nodes(node))
    if len(_GENERATORS) > 100_000:
        _GENERATORS.clear()
    _GENERATORS[id(node)] = (node, result)
    return result


class Inference:
    """Kinds of expressions across the codebase, computed lazily and remembered."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self._values: dict[int, object] = {}
        self._scopes: dict[int, Scope] = {}
        self._attrs: dict[int, object] = {}
        self._returns: dict[int, object] = {}
        self._holds: dict[int, object] = {}
        self._stores: dict[int, object] = {}
        self._http: dict[int, object] = {}
        self._db: dict[int, object] = {}
        self._module_scopes: dict[int, Scope] = {}

    # -- scopes ---------------------------------------------------------------

    def module_scope(self, module: Module) -> Scope:
        """The scope of a module's top level."""
        scope = self._module_scopes.get(id(module))
        if scope is None:
            scope = self._module_scopes[id(module)] = Scope(module)
        return scope

    def function_scope(self, function: FunctionInfo) -> Scope:
        """The scope of a function: its parameters and its locals' kinds."""
        cached = self._scopes.get(id(function.node))
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
        self._scopes[id(node)] = scope
        self._bind_locals(scope, node.body)
        return scope

    def _bind_locals(self, scope: Scope, body: list[ast.stmt]) -> None:
        for stmt in body:
            for node in _statement_nodes(stmt):
                if isinstance(node, ast.Assign):
                    names = [
                        t for t in node.targets if not isinstance(t, ast.Attribute)
                    ]
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
            return annotated
        target = self.depends_target(depends)
        kind = self.dependency_kind(target, module) if target is not None else None
        kind = kind or annotated
        if kind is None:
            return None
        return replace(kind, group="request")

    # -- FastAPI --------------------------------------------------------------

    def depends_call(self, expr: ast.expr, module: Module) -> ast.Call | None:
        """`expr` if it is a `Depends(...)` or `Security(...)` call."""
        if not isinstance(expr, ast.Call):
            return None
        name = last_name(expr.func)
        if name not in DEPENDS:
            return None  # aliased imports of Depends are not followed: cheap first
        found = self.project.resolve(module, expr.func)
        if isinstance(found, External):
            if found.is_one_of(("fastapi",), DEPENDS):
                return expr
        elif found is None and name in DEPENDS:
            return expr
        return None

    @staticmethod
    def depends_target(call: ast.Call) -> ast.expr | None:
        """The dependency a Depends call names (None: the annotation's class)."""
        if call.args:
            return call.args[0]
        for keyword in call.keywords:
            if keyword.arg == "dependency":
                return keyword.value
        return None

    def annotated_depends(
        self, annotation: ast.expr, module: Module
    ) -> ast.Call | None:
        """The Depends in `Annotated[T, Depends(f)]`, through aliases."""
        for _ in range(8):
            if isinstance(annotation, ast.Subscript) and isinstance(
                annotation.slice, ast.Tuple
            ):
                for element in annotation.slice.elts[1:]:
                    found = self.depends_call(element, module)
                    if found is not None:
                        return found
                return None
            if isinstance(annotation, ast.Name | ast.Attribute):
                symbol = self.project.resolve(module, annotation)
                if isinstance(symbol, Value):
                    annotation, module = symbol.expr, symbol.module
                    continue
            return None
        return None

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

    # -- annotations ----------------------------------------------------------

    def annotation_kind(
        self, annotation: ast.expr, module: Module, depth: int = 0
    ) -> Kind | None:
        """The kind a type annotation declares."""
        if depth > 8:
            return None
        if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
            try:
                parsed = ast.parse(annotation.value.strip(), mode="eval").body
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                return None
            return self.annotation_kind(parsed, module, depth + 1)
        if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
            return self.annotation_kind(
                annotation.left, module, depth + 1
            ) or self.annotation_kind(annotation.right, module, depth + 1)
        if isinstance(annotation, ast.Subscript):
            return self._subscript_kind(annotation, module, depth)
        if not isinstance(annotation, ast.Name | ast.Attribute):
            return None
        symbol = self.project.resolve(module, annotation)
        if isinstance(symbol, Value):
            return self.annotation_kind(symbol.expr, symbol.module, depth + 1)
        if isinstance(symbol, ClassInfo):
            return self.instance_kind(symbol)
        if isinstance(symbol, External):
            return external_type_kind(symbol)
        if (
            symbol is None
            and isinstance(annotation, ast.Name)
            and annotation.id in ASYNC_SESSION_NAMES
        ):
            return Kind(Tag.SESSION, is_async=True)
        return None

    def _subscript_kind(
        self, annotation: ast.Subscript, module: Module, depth: int
    ) -> Kind | None:
        base = self.project.resolve(module, annotation.value)
        name = base.name if isinstance(base, External) else last_name(annotation.value)
        elements = (
            annotation.slice.elts
            if isinstance(annotation.slice, ast.Tuple)
            else [annotation.slice]
        )
        if name in ("Optional", "Union", "Annotated"):
            for element in elements if name != "Annotated" else elements[:1]:
                kind = self.annotation_kind(element, module, depth + 1)
                if kind is not None:
                    return kind
            return None
        if name == "Callable" and len(elements) == 2:
            returned = self.annotation_kind(elements[1], module, depth + 1)
            if returned is not None and returned.tag is Tag.SESSION:
                return Kind(Tag.FACTORY, is_async=returned.is_async)
            return None
        if name in ("type", "Type", "list", "List", "Sequence", "dict", "Dict"):
            return None
        return self.annotation_kind(annotation.value, module, depth + 1)

    def instance_kind(self, cls: ClassInfo) -> Kind:
        """The kind of an object of a codebase class (a session if it is one)."""
        for base in self.project.mro(cls):
            if isinstance(base, External):
                kind = external_type_kind(base)
                if kind is not None and kind.tag in (Tag.SESSION, Tag.HTTP):
                    return kind
        return Kind(Tag.INSTANCE, cls=cls)

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
        key = id(symbol.expr)
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
        callee = self.kind_of(func, scope, depth + 1)
        if callee is None:
            name = last_name(func)
            if name is not None and looks_like_session_factory(name):
                return Kind(Tag.SESSION)
            return None
        if callee.tag is Tag.FACTORY:
            return Kind(Tag.SESSION, is_async=callee.is_async)
        if callee.tag is Tag.EXTERNAL:
            return external_call_kind(External(callee.external), call)
        if callee.tag is Tag.CLASS and callee.cls is not None:
            kind = self.instance_kind(callee.cls)
            if kind.tag is Tag.INSTANCE:
                for arg in [*call.args, *(k.value for k in call.keywords)]:
                    given = self.kind_of(arg, scope, depth + 1)
                    if given is not None and given.is_session:
                        return replace(kind, group=given.group or dotted(arg))
            return kind
        if callee.tag is Tag.FUNCTION and callee.function is not None:
            return self.return_kind(callee.function)
        return None

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
        key = id(function.node)
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

    # -- classes --------------------------------------------------------------

    def attributes(self, cls: ClassInfo) -> dict[str, Stored]:
        """What `cls` (with its bases in the codebase) stores on `self`."""
        key = id(cls.node)
        cached = self._attrs.get(key)
        if isinstance(cached, dict):
            return cached
        stored: dict[str, Stored] = {}
        if cached is _BUILDING:
            return stored
        self._attrs[key] = _BUILDING
        bases = [b for b in self.project.mro(cls) if isinstance(b, ClassInfo)]
        for base in reversed(bases[1:]):
            stored.update(self.attributes(base))
        self._attrs[key] = stored  # partial, for the methods' own lookups
        scope = self.module_scope(cls.module)
        for stmt in cls.node.body:
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                kind = self.annotation_kind(stmt.annotation, cls.module)
                if kind is None and stmt.value is not None:
                    kind = self.kind_of(stmt.value, scope)
                if kind is not None and kind.tag not in (Tag.CLASS, Tag.FUNCTION):
                    stored.setdefault(
                        stmt.target.id, Stored(kind, None, stmt.lineno, False)
                    )
        for function in self._methods(cls):
            self._collect_stores(function, stored)
        return stored

    def _methods(self, cls: ClassInfo) -> Iterator[FunctionInfo]:
        for stmt in cls.node.body:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
                function = self.project.function_info(stmt)
                if function is not None:
                    yield function

    def _collect_stores(
        self, function: FunctionInfo, stored: dict[str, Stored]
    ) -> None:
        scope = self.function_scope(function)
        if scope.self_name is None:
            return
        for node in own_nodes(function.node):
            targets: list[ast.expr] = []
            value: ast.expr | None = None
            if not isinstance(node, ast.stmt):
                continue
            if isinstance(node, ast.Assign):
                targets, value = node.targets, node.value
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                targets, value = [node.target], node.value
            for target in targets:
                if (
                    isinstance(target, ast.Attribute)
                    and isinstance(target.value, ast.Name)
                    and target.value.id == scope.self_name
                    and value is not None
                ):
                    kind = self.kind_of(value, scope)
                    if kind is None or kind.tag in (Tag.MODULE, Tag.EXTERNAL):
                        continue
                    built = isinstance(
                        value.value if isinstance(value, ast.Await) else value, ast.Call
                    )
                    current = stored.get(target.attr)
                    if current is None or (
                        kind.is_session and not current.kind.is_session
                    ):
                        stored[target.attr] = Stored(kind, function, node.lineno, built)

    def holds_session(self, cls: ClassInfo, depth: int = 0) -> bool:
        """Whether objects of `cls` hold a session, directly or in what they store."""
        key = id(cls.node)
        cached = self._holds.get(key)
        if isinstance(cached, bool):
            return cached
        if cached is _BUILDING or depth > 16:
            return False
        self._holds[key] = _BUILDING
        result = False
        for stored in self.attributes(cls).values():
            kind = stored.kind
            if kind.is_session or (
                kind.tag is Tag.INSTANCE
                and kind.cls is not None
                and kind.cls is not cls
                and self.holds_session(kind.cls, depth + 1)
            ):
                result = True
                break
        self._holds[key] = result
        return result

    def stores_session(self, cls: ClassInfo, depth: int = 0) -> str | None:
        """Why objects of `cls` keep a session of their own, or None.

        A session (or connection) assigned to `self.<attr>` in any method, or an
        object built in a method whose class does that.
        """
        key = id(cls.node)
        cached = self._stores.get(key)
        if cached is _BUILDING or depth > 16:
            return None
        if key in self._stores:
            return cached if isinstance(cached, str) else None
        self._stores[key] = _BUILDING
        reason: str | None = None
        for attr, stored in self.attributes(cls).items():
            where = (
                f"in {stored.function.name}, line {stored.line}"
                if stored.function
                else f"line {stored.line}"
            )
            if stored.kind.is_session and stored.function is not None:
                reason = f"`self.{attr}`, a {stored.kind.tag.value} set {where}"
                break
            if (
                stored.built_here
                and stored.kind.tag is Tag.INSTANCE
                and stored.kind.cls is not None
                and stored.kind.cls is not cls
            ):
                inner = self.stores_session(stored.kind.cls, depth + 1)
                if inner is not None:
                    reason = (
                        f"`self.{attr}`, a {stored.kind.cls.name} set {where}, "
                        f"which keeps {inner}"
                    )
                    break
        self._stores[key] = reason
        return reason


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
        stack.extend(reversed(list(ast.iter_child_nodes(current))))


def external_type_kind(symbol: External) -> Kind | None:
    """The kind an annotation with a library type declares."""
    if symbol.is_one_of(SA, ASYNC_SESSION_NAMES):
        return Kind(Tag.SESSION, is_async=True)
    if symbol.is_one_of(SA, SESSION_NAMES) and "." in symbol.qualname:
        return Kind(Tag.SESSION)
    if symbol.is_one_of(SA, CONNECTION_NAMES) and "." in symbol.qualname:
        return Kind(Tag.CONNECTION, is_async=symbol.name.startswith("Async"))
    if symbol.is_one_of(SA, FACTORY_NAMES | SCOPED_NAMES):
        return Kind(Tag.FACTORY, is_async=symbol.name.startswith("async"))
    if symbol.is_one_of(SA, ENGINE_NAMES) and "." in symbol.qualname:
        return Kind(Tag.ENGINE, is_async=symbol.name.startswith("Async"))
    root = symbol.qualname.partition(".")[0]
    if symbol.name in HTTP_CLIENTS.get(root, ()):
        return Kind(Tag.HTTP, external=symbol.qualname)
    return None


def external_call_kind(symbol: External, call: ast.Call) -> Kind | None:
    """What calling a library name gives."""
    if symbol.is_one_of(SA, FACTORY_NAMES | SCOPED_NAMES):
        is_async = symbol.name.startswith("async") or any(
            k.arg == "class_" and last_name(k.value) == "AsyncSession"
            for k in call.keywords
        )
        return Kind(Tag.FACTORY, is_async=is_async)
    if symbol.is_one_of(SA, ENGINE_FUNCTIONS):
        return Kind(Tag.ENGINE, is_async="async" in symbol.name)
    kind = external_type_kind(symbol)
    if kind is not None and kind.tag in (Tag.SESSION, Tag.HTTP):
        return kind
    return None


def _method_result(receiver: Kind, method: str) -> Kind | None:
    """What `receiver.method()` gives, for the SQLAlchemy methods the rules follow."""
    if method == "begin":
        if receiver.tag is Tag.FACTORY:
            inner = Kind(Tag.SESSION, is_async=receiver.is_async)
            return Kind(Tag.TRANSACTION, inner=inner, is_async=receiver.is_async)
        if receiver.tag is Tag.ENGINE:
            inner = Kind(Tag.CONNECTION, is_async=receiver.is_async)
            return Kind(Tag.TRANSACTION, inner=inner, is_async=receiver.is_async)
        if receiver.is_session:
            return Kind(
                Tag.TRANSACTION, group=receiver.group, is_async=receiver.is_async
            )
    if method == "connect" and receiver.tag is Tag.ENGINE:
        return Kind(Tag.CONNECTION, is_async=receiver.is_async)
    return None
