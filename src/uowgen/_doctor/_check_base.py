"""What every rule builds on: the analysed codebase, one walk per module, hits."""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass

from uowgen._doctor._external import ExternalCalls
from uowgen._doctor._fastapi import FastapiVersion
from uowgen._doctor._flow import Flow
from uowgen._doctor._inference import Inference
from uowgen._doctor._kinds import DEPENDS
from uowgen._doctor._symbols import At, FunctionInfo, Module, Project
from uowgen._doctor._syntax import (
    child_statements,
    dotted,
    last_name,
    node_children,
    statements,
)


def _nothing() -> None:
    pass


@dataclass(frozen=True)
class Related:
    """Another place a finding involves: the HTTP call, the transaction's start."""

    module: Module
    line: int
    column: int  # ast's: a 0-based UTF-8 offset
    message: str

    @classmethod
    def at(cls, module: Module, node: ast.AST, message: str) -> Related:
        """The place of a node."""
        return cls(
            module, getattr(node, "lineno", 1), getattr(node, "col_offset", 0), message
        )


@dataclass(frozen=True)
class Hit:
    """A rule broken at a node of a module, with the message to show."""

    code: str
    module: Module
    node: ast.AST
    message: str
    related: tuple[Related, ...] = ()


class _CheckerBase:
    """What the rules share: the codebase, its inference and flow, modules' facts."""

    def __init__(
        self,
        project: Project,
        fastapi: FastapiVersion | None = None,
        external: ExternalCalls | None = None,
        facts: Facts | None = None,
        checkpoint: Callable[[], None] | None = None,
    ) -> None:
        self.project = project
        self.fastapi = fastapi
        self.inference = Inference(project, external)
        self.flow = Flow(self.inference)
        self._depends: dict[int, list[str | None]] | None = None
        self._facts = facts or Facts(project)
        # Called between functions by a rule that walks the whole codebase's: the
        # trees used least recently may be let go there.
        self.checkpoint = checkpoint or _nothing

    def kept(self, module: Module) -> KeptFacts:
        """What the rules about the whole codebase need of a module."""
        return self._facts.kept(module)

    def relationships(
        self, module: Module
    ) -> list[tuple[ast.Call, ast.ClassDef | None]]:
        """The module's `relationship(...)` calls, each with its class."""
        return self._facts.relationships(module)

    # -- helpers ----------------------------------------------------------------------

    def _functions_of(self, module: Module) -> list[FunctionInfo]:
        return self._facts.functions(module)


class Facts:
    """Modules' facts: those read from a held tree, and those kept for the run.

    The facts that hold a module's nodes go with its tree (`forget`), and are read
    again when asked for. What the rules about the whole codebase ask of every
    module is read once, when the module is taken in, and kept without nodes (but
    a few small calls): asking it parses no tree again.
    """

    def __init__(self, project: Project) -> None:
        self.project = project
        self._functions: dict[int, list[FunctionInfo]] = {}
        self._relationships: dict[int, list[tuple[ast.Call, ast.ClassDef | None]]] = {}
        self._kept: dict[int, KeptFacts] = {}

    def take_in(self, module: Module) -> None:
        """Read what is kept of a module (its tree is held)."""
        walked = _Facts.of(module, self.project)
        self._kept[id(module)] = KeptFacts.of(walked)
        self._functions[id(module)] = walked.functions
        self._relationships[id(module)] = walked.relationships

    def functions(self, module: Module) -> list[FunctionInfo]:
        """The functions and methods defined in the module, in order."""
        functions = self._functions.get(id(module))
        if functions is None:
            functions = self._functions[id(module)] = _functions(module, self.project)
        return functions

    def relationships(
        self, module: Module
    ) -> list[tuple[ast.Call, ast.ClassDef | None]]:
        """The module's `relationship(...)` calls, each with its class."""
        found = self._relationships.get(id(module))
        if found is None:
            if "elationship" in module.source.text:
                found = _Facts.of(module, self.project).relationships
            else:
                found = []
            self._relationships[id(module)] = found
        return found

    def kept(self, module: Module) -> KeptFacts:
        """What is kept of the module's facts for the whole run."""
        kept = self._kept.get(id(module))
        if kept is None:
            self.take_in(module)
            kept = self._kept[id(module)]
        return kept

    def forget(self, module: Module) -> None:
        """Let go of the facts that hold the module's nodes."""
        self._relationships.pop(id(module), None)


@dataclass(frozen=True)
class KeptFacts:
    """A module's facts that the rules about the whole codebase read."""

    imports_asyncio: bool
    async_session_names: frozenset[str]
    sync_session_functions: int
    async_session_functions: int
    # Whether it calls `.dispose()` on anything (UOW005).
    disposes: bool
    # Few, small calls: its `Depends(...)` / `Security(...)` (UOW002), those that
    # may make an async session factory (UOW006), and those given `autocommit=`
    # (UOW004).
    depends_calls: tuple[ast.Call, ...]
    factory_calls: tuple[ast.Call, ...]
    autocommit_calls: tuple[ast.Call, ...]
    # Where its coroutines that may commit start (UOW006 follows only those).
    committing: frozenset[At] = frozenset()

    def may_commit(self, function: FunctionInfo) -> bool:
        """Whether the coroutine commits: a `.commit()` call or a `with` block."""
        return function.at in self.committing

    @classmethod
    def of(cls, facts: _Facts) -> KeptFacts:
        """The kept part of a module's facts."""
        calls = facts.calls
        return cls(
            imports_asyncio=facts.imports_asyncio,
            async_session_names=frozenset(facts.async_session_names),
            sync_session_functions=facts.sync_session_functions,
            async_session_functions=facts.async_session_functions,
            disposes=any(
                isinstance(call.func, ast.Attribute) and call.func.attr == "dispose"
                for call in calls
            ),
            depends_calls=tuple(c for c in calls if last_name(c.func) in DEPENDS),
            factory_calls=tuple(c for c in calls if last_name(c.func) in _FACTORIES),
            autocommit_calls=tuple(
                c for c in calls if any(k.arg == "autocommit" for k in c.keywords)
            ),
            committing=frozenset(
                f.at for f in facts.functions if f.is_async and _may_commit(f)
            ),
        )


def _may_commit(function: FunctionInfo) -> bool:
    """A `with` block or a `.commit()` call in the function's own code (cheap)."""
    # `with` blocks are statements: no expression needs walking for them.
    stack = list(function.node.body)
    while stack:
        stmt = stack.pop()
        if isinstance(stmt, ast.With | ast.AsyncWith):
            return True
        if not isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            stack.extend(child_statements(stmt))  # a nested def's is not its own
    return function.commits


# The calls that may make an async session factory (UOW006 looks at these only).
_FACTORIES = frozenset({"async_sessionmaker", "AsyncSession", "sessionmaker"})


def _functions(module: Module, project: Project) -> list[FunctionInfo]:
    """The functions and methods of a module, in its statements' order."""
    found: list[FunctionInfo] = []
    for stmt in statements(module.tree.body):
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            function = project.function_info(module, stmt)
            if function is not None:
                found.append(function)
    return found


@dataclass
class _Facts:
    """What one walk of a module finds, for the rules that scan every node."""

    calls: list[ast.Call]
    functions: list[FunctionInfo]
    relationships: list[tuple[ast.Call, ast.ClassDef | None]]
    imports_asyncio: bool
    # Names used in coroutines that take an async session (`select(User)`): the
    # classes whose objects such a session may load (UOW007 in sync codebases).
    async_session_names: set[str]
    # How many functions take a sync `Session`, and how many an async one.
    sync_session_functions: int = 0
    async_session_functions: int = 0

    @classmethod
    def of(cls, module: Module, project: Project) -> _Facts:
        facts = cls(
            [],
            _functions(module, project),
            [],
            _imports_asyncio_extension(module),
            set(),
        )
        text = module.source.text
        if not any(word in text for word in _CALLS_WANTED):
            return facts  # no call any rule scans for: no walk of every node
        # Depth first; the class a node is in is restored by a marker under its body.
        owner: ast.ClassDef | None = None
        stack: list[ast.AST | _Owner] = [module.tree]
        pop, push = stack.pop, stack.append
        while stack:
            node = pop()
            if isinstance(node, ast.Call):
                facts.calls.append(node)
                if last_name(node.func) in ("relationship", "Relationship"):
                    facts.relationships.append((node, owner))
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                takes = _session_parameter(node)
                if takes == "async":
                    facts.async_session_functions += 1
                    if isinstance(node, ast.AsyncFunctionDef):
                        facts.async_session_names.update(_bare_names(node.body))
                elif takes == "sync":
                    facts.sync_session_functions += 1
            elif isinstance(node, ast.ClassDef):
                push(_Owner(owner))
                owner = node
            elif isinstance(node, _Owner):
                owner = node.owner
                continue
            stack.extend(node_children(node))
        facts.calls.reverse()
        return facts


class _Owner:
    """A marker in `_Facts.of`'s walk: past it, the nodes are in `owner` again."""

    __slots__ = ("owner",)

    def __init__(self, owner: ast.ClassDef | None) -> None:
        self.owner = owner


# The rules that scan a module's calls look for these names: a module whose text
# has none of them has no call they want.
_CALLS_WANTED = (
    "sessionmaker",
    "AsyncSession",
    "Session",
    "dispose",
    "autocommit",
    "Depends",
    "Security",
    "elationship",
)


def _session_parameter(function: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    """Which session a parameter is annotated with: "async", "sync" or "".

    "async" for `AsyncSession` or a subclass named like one (`AsyncReadSession`),
    "sync" for `Session`.
    """
    arguments = function.args
    found = ""
    for argument in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs):
        if argument.annotation is None:
            continue
        for node in _nodes([argument.annotation]):
            name = node.id if isinstance(node, ast.Name) else None
            name = node.attr if isinstance(node, ast.Attribute) else name
            if name and name.startswith("Async") and name.endswith("Session"):
                return "async"
            if name == "Session":
                found = "sync"
    return found


def _bare_names(body: list[ast.stmt]) -> set[str]:
    """The names a body uses as values: `select(User)`, `User(...)`.

    Not the ones only reached through for their attributes (`Persona.id`).
    """
    names: set[str] = set()
    through: set[int] = set()
    for node in _nodes(body):  # an attribute comes before its value
        if isinstance(node, ast.Attribute):
            through.add(id(node.value))
        elif isinstance(node, ast.Name) and id(node) not in through:
            names.add(node.id)
    return names


def _nodes(roots: list[ast.stmt] | list[ast.expr]) -> list[ast.AST]:
    """Every node under `roots` (nested functions too), each before its children.

    Not in `ast.walk`'s order (neither caller needs it): a list, not its queue of
    generators, and no expression contexts or operators.
    """
    out: list[ast.AST] = []
    stack: list[ast.AST] = list(roots)
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(node_children(node))
    return out


def _imports_asyncio_extension(module: Module) -> bool:
    text = module.source.text
    if "asyncio" not in text or not ("sqlalchemy" in text or "sqlmodel" in text):
        return False
    for node in statements(module.tree.body):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            if name.startswith(("sqlalchemy.ext.asyncio", "sqlmodel.ext.asyncio")):
                return True
    return False


def _text(expr: ast.expr) -> str:
    return dotted(expr) or last_name(expr) or "..."


def _call_text(expr: ast.expr) -> str:
    if isinstance(expr, ast.Call):
        inner = "..." if expr.args or expr.keywords else ""
        return f"{_text(expr.func)}({inner})"
    return _text(expr)
