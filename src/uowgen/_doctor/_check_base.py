"""What every rule builds on: the analysed codebase, one walk per module, hits."""

from __future__ import annotations

import ast
from dataclasses import dataclass

from uowgen._doctor._external import ExternalCalls
from uowgen._doctor._fastapi import FastapiVersion
from uowgen._doctor._flow import Flow
from uowgen._doctor._inference import Inference
from uowgen._doctor._symbols import FunctionInfo, Module, Project
from uowgen._doctor._syntax import dotted, last_name, node_children, statements


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
    ) -> None:
        self.project = project
        self.fastapi = fastapi
        self.inference = Inference(project, external)
        self.flow = Flow(self.inference)
        self._depends: dict[int, list[str | None]] | None = None
        self._facts: dict[int, _Facts] = {}

    def facts(self, module: Module) -> _Facts:
        """What one walk of the module's tree finds: its calls, functions, imports."""
        facts = self._facts.get(id(module))
        if facts is None:
            facts = self._facts[id(module)] = _Facts.of(module, self.project)
        return facts

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
    # Names used in coroutines that take an async session (`select(User)`): the
    # classes whose objects such a session may load (UOW007 in sync codebases).
    async_session_names: set[str]
    # How many functions take a sync `Session`, and how many an async one.
    sync_session_functions: int = 0
    async_session_functions: int = 0

    @classmethod
    def of(cls, module: Module, project: Project) -> _Facts:
        facts = cls([], [], [], _imports_asyncio_extension(module), set())
        for stmt in statements(module.tree.body):
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
                function = project.function_info(stmt)
                if function is not None:
                    facts.functions.append(function)
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
