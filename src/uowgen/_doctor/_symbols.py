"""The checked codebase as modules, and name resolution through their imports."""

from __future__ import annotations

import ast
import builtins
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from uowgen._doctor._files import SourceFile
from uowgen._doctor._parts import Parts
from uowgen._doctor._syntax import (
    child_statements,
    forget_nodes_of,
    own_nodes,
    statements,
)

_BUILTINS = frozenset(dir(builtins))


@dataclass(frozen=True)
class External:
    """A name defined outside the codebase, by dotted path: `sqlalchemy.orm.Session`."""

    qualname: str

    @property
    def name(self) -> str:
        """The last part of the path: `Session`."""
        return self.qualname.rpartition(".")[2]

    def is_one_of(self, roots: Sequence[str], names: frozenset[str]) -> bool:
        """Whether it is one of `names` from a package in `roots` (or unknown: "")."""
        root = self.qualname.partition(".")[0] if "." in self.qualname else ""
        return self.name in names and (root in roots or root == "")


@dataclass(frozen=True)
class _ImportRef:
    module: str
    name: str | None


# Where a definition starts in its module: (line, column). The key that finds its
# node again in a tree parsed again.
At = tuple[int, int]
# Where a value expression is: (line, column, end line, end column).
Span = tuple[int, int, int, int]


def at(node: ast.stmt) -> At:
    """Where a statement starts."""
    return node.lineno, node.col_offset


def span(node: ast.expr) -> Span:
    """Where an expression is, start to end."""
    return (
        node.lineno,
        node.col_offset,
        node.end_lineno or node.lineno,
        node.end_col_offset or 0,
    )


Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


@dataclass(eq=False)
class _Held:
    """A held tree's nodes by position: definitions, and assigned values."""

    definitions: dict[At, Definition]
    values: dict[Span, ast.expr]

    @classmethod
    def of(cls, tree: ast.Module) -> _Held:
        definitions: dict[At, Definition] = {}
        values: dict[Span, ast.expr] = {}
        for stmt in statements(tree.body):
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                definitions[at(stmt)] = stmt
            elif isinstance(stmt, ast.Assign | ast.AnnAssign) and stmt.value:
                values[span(stmt.value)] = stmt.value
        return cls(definitions, values)


@dataclass(eq=False)
class Module:
    """One parsed file and what its top level binds.

    What it binds is kept as positions and symbols, never as nodes: the module's
    tree may be let go and parsed again, and its nodes found again by position.
    """

    source: SourceFile = field(repr=False)
    names: tuple[str, ...]
    package: str = field(repr=False)
    # name -> its class or function, or the span of the value assigned to it.
    bound: dict[str, ClassInfo | FunctionInfo | Span] = field(
        default_factory=dict, repr=False
    )
    imports: dict[str, _ImportRef] = field(default_factory=dict, repr=False)
    star_imports: list[str] = field(default_factory=list, repr=False)
    # Every module name an import statement of it names (anywhere in it).
    imported: frozenset[str] = field(default=frozenset(), repr=False)
    # What its top level binds, as nodes, until `Project.add` makes them symbols.
    bindings: dict[str, ast.AST] = field(default_factory=dict, repr=False)
    # Its top-level statements' and class bodies' lines, to parse one alone.
    parts: Parts | None = field(default=None, repr=False)
    _held: _Held | None = field(default=None, repr=False)
    _held_tree: ast.Module | None = field(default=None, repr=False)
    # The parts parsed alone while the whole tree is not held, by first line.
    _held_parts: dict[int, _Held] = field(default_factory=dict, repr=False)

    @property
    def tree(self) -> ast.Module:
        """The module's syntax tree."""
        return self.source.tree

    def _nodes(self) -> _Held:
        tree = self.source.tree
        held = self._held
        if held is None or self._held_tree is not tree:
            held = self._held = _Held.of(tree)
            self._held_tree = tree
        return held

    def definition(self, where: At) -> Definition:
        """The def or class statement that starts at `where`."""
        found = self._part(where[0]).definitions.get(where)
        return found if found is not None else self._nodes().definitions[where]

    def value(self, where: Span) -> ast.expr:
        """The assigned value expression at `where`."""
        found = self._part(where[0]).values.get(where)
        return found if found is not None else self._nodes().values[where]

    def _part(self, line: int) -> _Held:
        """The nodes of the statement holding `line`.

        From the whole tree if it is held, else from that statement parsed alone
        (remembered until the module is let go).
        """
        source = self.source
        if source.has_tree or self.parts is None:
            return self._nodes()
        part = self.parts.holding(line)
        if part is None:
            return self._nodes()
        held = self._held_parts.get(part.start)
        if held is None:
            tree = source.parse_part(part)
            if tree is None:
                return self._nodes()
            held = self._held_parts[part.start] = _Held.of(tree)
        source.used = True
        return held

    def forget_tree(self) -> None:
        """Let the tree go (it is parsed again, to the same nodes' positions)."""
        for held in (self._held, *self._held_parts.values()):
            if held is not None:
                forget_nodes_of(held.definitions.values())
        self._held = None
        self._held_tree = None
        self._held_parts = {}
        self.source.forget_tree()


@dataclass(eq=False)
class ClassInfo:
    """A class defined in the codebase."""

    module: Module = field(repr=False)
    at: At = field(repr=False)
    name: str
    outer: ClassInfo | None = field(default=None, repr=False)
    # The base class expressions (small: `Base`, `Generic[T]`), kept.
    base_exprs: tuple[ast.expr, ...] = field(default=(), repr=False)
    # name -> the method, nested class or class-level value (its span) first
    # defined under it in the class body.
    members: dict[str, ClassInfo | FunctionInfo | Span] = field(
        default_factory=dict, repr=False
    )

    @property
    def node(self) -> ast.ClassDef:
        """The class statement."""
        node = self.module.definition(self.at)
        assert isinstance(node, ast.ClassDef)
        return node


@dataclass(eq=False)
class FunctionInfo:
    """A function or method defined in the codebase."""

    module: Module = field(repr=False)
    at: At = field(repr=False)
    simple_name: str = field(repr=False)
    is_async: bool = field(repr=False)
    cls: ClassInfo | None = field(default=None, repr=False)
    # Defined inside another function (a route in a factory, a local helper).
    nested: bool = field(default=False, repr=False)
    _commits: bool | None = field(default=None, repr=False)

    @property
    def commits(self) -> bool:
        """Whether its own code calls `.commit()` (remembered: no tree needed again)."""
        commits = self._commits
        if commits is None:
            if "commit" not in self.module.source.text:
                commits = False
            else:
                commits = any(
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "commit"
                    for node in own_nodes(self.node)
                )
            self._commits = commits
        return commits

    @classmethod
    def of(
        cls,
        node: ast.FunctionDef | ast.AsyncFunctionDef,
        module: Module,
        owner: ClassInfo | None = None,
        *,
        nested: bool = False,
    ) -> FunctionInfo:
        """The info of a def statement."""
        is_async = isinstance(node, ast.AsyncFunctionDef)
        return cls(module, at(node), node.name, is_async, owner, nested)

    @property
    def node(self) -> ast.FunctionDef | ast.AsyncFunctionDef:
        """The def statement."""
        node = self.module.definition(self.at)
        assert not isinstance(node, ast.ClassDef)
        return node

    @property
    def name(self) -> str:
        """The function's name, qualified by its class for a method."""
        return f"{self.cls.name}.{self.simple_name}" if self.cls else self.simple_name


@dataclass(frozen=True, eq=False)
class Value:
    """A module-level assignment: `Session = async_sessionmaker(engine)`."""

    module: Module
    where: Span

    @property
    def expr(self) -> ast.expr:
        """The value's expression."""
        return self.module.value(self.where)


Symbol = Module | ClassInfo | FunctionInfo | Value | External


def module_names(path: Path, root: Path) -> tuple[str, tuple[str, ...]]:
    """The package for relative imports and the dotted names a file may go by.

    One name follows the `__init__.py` files up from the file; another is its path
    under the checked folder (without a leading `src`), so a file outside any
    package can still be found by its import.
    """
    stem = [] if path.stem == "__init__" else [path.stem]
    parts: list[str] = []
    folder = path.parent
    while (folder / "__init__.py").is_file() and folder != folder.parent:
        parts.insert(0, folder.name)
        folder = folder.parent
    package = ".".join(parts)
    names = [".".join([*parts, *stem])]
    try:
        relative = path.with_suffix("").relative_to(root).parts
    except ValueError:
        relative = ()
    if relative and relative[-1] == "__init__":
        relative = relative[:-1]
    for start in (0, 1):
        if relative[start:] and (start == 0 or relative[0] == "src"):
            names.append(".".join(relative[start:]))
    return package, tuple(dict.fromkeys(n for n in names if n))


def build_module(source: SourceFile, root: Path) -> Module:
    """A module with its top-level bindings and imports collected."""
    package, names = module_names(source.path.absolute(), root)
    module = Module(source, names, package)
    for stmt in _top_level(module.tree.body):
        _bind(module, stmt)
    module.imported = frozenset(_imported(module))
    module.parts = Parts.of(module.tree)
    return module


def _imported(module: Module) -> Iterator[str]:
    """The modules its import statements run: `a`, `a.b`, `a.b.c` for `a.b.c`.

    And `base.name` for `from base import name`, which may be a module.
    """
    for node in statements(module.tree.body):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield from prefixes(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = absolute_import(module, node.module, node.level)
            if base is not None:
                yield from prefixes(base)
                yield from (f"{base}.{alias.name}" for alias in node.names)


def prefixes(dotted: str) -> list[str]:
    """`a`, `a.b`, `a.b.c` for `a.b.c`: importing it runs each package on the way."""
    parts = dotted.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def _top_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements that run at import, through `if`, `try` and `with`."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, ast.If):
            yield from _top_level(stmt.body)
            yield from _top_level(stmt.orelse)
        elif isinstance(stmt, ast.Try | ast.TryStar):
            for block in (stmt.body, stmt.orelse, stmt.finalbody):
                yield from _top_level(block)
            for handler in stmt.handlers:
                yield from _top_level(handler.body)
        elif isinstance(stmt, ast.With):
            yield from _top_level(stmt.body)


def _bind(module: Module, stmt: ast.stmt) -> None:
    if isinstance(stmt, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
        module.bindings[stmt.name] = stmt
        module.imports.pop(stmt.name, None)
    elif isinstance(stmt, ast.Assign):
        for target in stmt.targets:
            if isinstance(target, ast.Name):
                module.bindings[target.id] = stmt.value
                module.imports.pop(target.id, None)
    elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
        if stmt.value is not None:
            module.bindings[stmt.target.id] = stmt.value
            module.imports.pop(stmt.target.id, None)
    elif isinstance(stmt, ast.Import):
        for alias in stmt.names:
            if alias.asname:
                module.imports[alias.asname] = _ImportRef(alias.name, None)
                module.bindings.pop(alias.asname, None)
            else:
                top = alias.name.partition(".")[0]
                module.imports[top] = _ImportRef(top, None)
                module.bindings.pop(top, None)
    elif isinstance(stmt, ast.ImportFrom):
        base = absolute_import(module, stmt.module, stmt.level)
        if base is None:
            return
        for alias in stmt.names:
            if alias.name == "*":
                module.star_imports.append(base)
                continue
            local = alias.asname or alias.name
            module.imports[local] = _ImportRef(base, alias.name)
            module.bindings.pop(local, None)


def absolute_import(module: Module, name: str | None, level: int) -> str | None:
    """The absolute module name of `from <level dots><name> import ...` in `module`."""
    if level == 0:
        return name
    parts = module.package.split(".") if module.package else []
    if level - 1 > len(parts):
        return None
    base = parts[: len(parts) - (level - 1)]
    if name:
        base.append(name)
    return ".".join(base) or None


class Project:
    """Every module checked in one run, and the lookups across them."""

    def __init__(self, modules: Sequence[Module] = ()) -> None:
        self.modules: list[Module] = []
        self._by_name: dict[str, list[Module]] = defaultdict(list)
        # Keyed by module and position: a tree parsed again has other nodes.
        self._classes: dict[tuple[int, At], ClassInfo] = {}
        self._functions: dict[tuple[int, At], FunctionInfo] = {}
        self._by_simple_name: dict[str, list[ClassInfo | FunctionInfo]] = defaultdict(
            list
        )
        self._order: dict[int, int] = {}
        for module in modules:
            self.add(module)

    def sort(self) -> None:
        """Put the modules, and what each lookup lists, in the files' order."""
        order = self._order

        def place(item: ClassInfo | FunctionInfo | Module) -> int:
            return order[id(item if isinstance(item, Module) else item.module)]

        self.modules.sort(key=place)
        for modules in self._by_name.values():
            modules.sort(key=place)
        for named in self._by_simple_name.values():
            named.sort(key=place)
        self._classes = dict(
            sorted(self._classes.items(), key=lambda item: place(item[1]))
        )
        self._functions = dict(
            sorted(self._functions.items(), key=lambda item: place(item[1]))
        )

    def add(self, module: Module, order: int | None = None) -> None:
        """Take in a module: its classes and functions, and its top-level names.

        `order`: its place among the files, if modules come out of order (`sort`).
        """
        self._order[id(module)] = len(self.modules) if order is None else order
        self.modules.append(module)
        for name in module.names:
            self._by_name[name].append(module)
        self._collect(module, module.tree.body, None)
        for name, node in module.bindings.items():
            if isinstance(node, ast.ClassDef):
                module.bound[name] = self._classes[(id(module), at(node))]
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                module.bound[name] = self._functions[(id(module), at(node))]
            elif isinstance(node, ast.expr):
                module.bound[name] = span(node)
        module.bindings = {}

    def _collect(
        self, module: Module, body: list[ast.stmt], cls: ClassInfo | None
    ) -> None:
        for stmt in _top_level(body):
            if isinstance(stmt, ast.ClassDef):
                info = self._class(module, stmt, cls)
                if cls is None:
                    self._by_simple_name[stmt.name].append(info)
                else:
                    cls.members.setdefault(stmt.name, info)
                self._collect(module, stmt.body, info)
            elif isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
                function = FunctionInfo.of(stmt, module, cls)
                self._functions[(id(module), at(stmt))] = function
                if cls is None:
                    self._by_simple_name[stmt.name].append(function)
                else:
                    cls.members.setdefault(stmt.name, function)
                self._collect_nested(module, stmt)
            elif isinstance(stmt, ast.Assign) and cls is not None:
                for target in stmt.targets:
                    if isinstance(target, ast.Name):
                        cls.members.setdefault(target.id, span(stmt.value))

    def _class(
        self, module: Module, node: ast.ClassDef, outer: ClassInfo | None
    ) -> ClassInfo:
        info = ClassInfo(module, at(node), node.name, outer, tuple(node.bases))
        self._classes[(id(module), at(node))] = info
        return info

    def _collect_nested(self, module: Module, function: ast.AST) -> None:
        """Functions and classes defined inside a function (routes in a factory)."""
        # Definitions are statements: the expressions need no walking.
        stack: list[ast.stmt] = list(getattr(function, "body", []))
        while stack:
            node = stack.pop()
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                self._functions[(id(module), at(node))] = FunctionInfo.of(
                    node, module, None, nested=True
                )
                self._collect_nested(module, node)
            elif isinstance(node, ast.ClassDef):
                info = self._class(module, node, None)
                self._collect(module, node.body, info)
            else:
                stack.extend(child_statements(node))

    def classes(self) -> Iterator[ClassInfo]:
        """Every class defined at a module's or a class's top level."""
        yield from self._classes.values()

    def functions(self) -> Iterator[FunctionInfo]:
        """Every function and method defined at a module's or a class's top level."""
        yield from self._functions.values()

    def class_info(self, module: Module, node: ast.ClassDef) -> ClassInfo | None:
        """The ClassInfo of a class statement of `module`."""
        return self._classes.get((id(module), at(node)))

    def function_info(self, module: Module, node: ast.AST) -> FunctionInfo | None:
        """The FunctionInfo of a def statement of `module`."""
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            return None
        return self._functions.get((id(module), at(node)))

    def module_named(self, dotted: str) -> Module | None:
        """The checked module importable as `dotted`, if exactly one is."""
        found = self._by_name.get(dotted, [])
        return found[0] if len(found) == 1 else None

    def resolve_name(self, module: Module, name: str, depth: int = 0) -> Symbol | None:
        """What `name` means at the top level of `module`, following imports."""
        if depth > 8:
            return None
        bound = module.bound.get(name)
        if isinstance(bound, tuple):
            return Value(module, bound)
        if bound is not None:
            return bound
        ref = module.imports.get(name)
        if ref is not None:
            return self._resolve_import(ref, depth)
        for star in module.star_imports:
            target = self.module_named(star)
            if target is not None and target is not module:
                found = self.resolve_name(target, name, depth + 1)
                if found is not None:
                    return found
            elif target is None:
                return External(f"{star}.{name}")
        if name in _BUILTINS:
            return None
        # Snippets and star imports: a name defined once in the codebase is that one.
        same = self._by_simple_name.get(name, [])
        if len(same) == 1:
            return same[0]
        return None

    def _resolve_import(self, ref: _ImportRef, depth: int) -> Symbol | None:
        target = self.module_named(ref.module)
        if ref.name is None:
            return target if target is not None else External(ref.module)
        if target is None:
            submodule = self.module_named(f"{ref.module}.{ref.name}")
            if submodule is not None:
                return submodule
            return External(f"{ref.module}.{ref.name}")
        found = self.resolve_name(target, ref.name, depth + 1)
        if found is None:
            found = self.module_named(f"{ref.module}.{ref.name}")
        return found

    def resolve(self, module: Module, expr: ast.expr, depth: int = 0) -> Symbol | None:
        """What a name or a dotted chain (`sa.orm.Session`) refers to."""
        if isinstance(expr, ast.Name):
            return self.resolve_name(module, expr.id, depth)
        if isinstance(expr, ast.Attribute) and depth < 16:
            base = self.resolve(module, expr.value, depth + 1)
            if isinstance(base, External):
                return External(f"{base.qualname}.{expr.attr}")
            if isinstance(base, Module):
                found = self.resolve_name(base, expr.attr, depth + 1)
                if found is None:
                    for name in base.names:
                        found = self.module_named(f"{name}.{expr.attr}")
                        if found is not None:
                            break
                return found
            if isinstance(base, ClassInfo):
                return self.class_member(base, expr.attr)
        return None

    def class_member(self, cls: ClassInfo, name: str) -> Symbol | None:
        """A method, nested class or class-level value defined in `cls` itself."""
        member = cls.members.get(name)
        if isinstance(member, tuple):
            return Value(cls.module, member)
        return member

    def bases(self, cls: ClassInfo) -> Iterator[Symbol]:
        """What each base class of `cls` resolves to (unresolved ones skipped)."""
        for base in cls.base_exprs:
            if isinstance(base, ast.Subscript):
                base = base.value  # Generic[T], Repository[User]
            found = self.resolve(cls.module, base)
            if found is not None and found is not cls:
                yield found

    def mro(self, cls: ClassInfo) -> Iterator[ClassInfo | External]:
        """`cls` and its bases, depth first, each once."""
        seen: set[int] = set()
        stack: list[ClassInfo | External] = [cls]
        while stack:
            current = stack.pop(0)
            if id(current) in seen or len(seen) > 64:
                continue
            seen.add(id(current))
            yield current
            if isinstance(current, ClassInfo):
                stack[:0] = [
                    b
                    for b in self.bases(current)
                    if isinstance(b, ClassInfo | External)
                ]

    def method(self, cls: ClassInfo, name: str) -> FunctionInfo | None:
        """The method `name` of `cls`, looked up through its bases in the codebase."""
        for current in self.mro(cls):
            if isinstance(current, ClassInfo):
                member = self.class_member(current, name)
                if isinstance(member, FunctionInfo):
                    return member
        return None

    def functions_named(self, name: str) -> list[FunctionInfo]:
        """Module-level functions of that name anywhere in the codebase."""
        return [
            f for f in self._by_simple_name.get(name, []) if isinstance(f, FunctionInfo)
        ]

    def methods_named(self, name: str) -> list[FunctionInfo]:
        """Methods of that name in any class of the codebase."""
        return [
            f
            for f in self._functions.values()
            if f.cls is not None and f.simple_name == name
        ]
