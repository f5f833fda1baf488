"""What classes store on `self`, and which of them keep a session of their own."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import TYPE_CHECKING

from uowgen._doctor._kinds import _BUILDING, Kind, Scope, Stored, Tag
from uowgen._doctor._symbols import ClassInfo, FunctionInfo, Module, Project
from uowgen._doctor._syntax import own_nodes


class _Attributes:
    """The part of `Inference` that reads classes: what their objects hold."""

    project: Project
    _attrs: dict[int, object]
    _holds: dict[int, object]
    _stores: dict[int, object]

    if TYPE_CHECKING:  # defined by `Inference`

        def module_scope(self, module: Module) -> Scope: ...

        def function_scope(self, function: FunctionInfo) -> Scope: ...

        def annotation_kind(
            self, annotation: ast.expr, module: Module, depth: int = 0
        ) -> Kind | None: ...

        def kind_of(
            self, expr: ast.expr, scope: Scope, depth: int = 0
        ) -> Kind | None: ...

    # -- classes --------------------------------------------------------------

    def attributes(self, cls: ClassInfo) -> dict[str, Stored]:
        """What `cls` (with its bases in the codebase) stores on `self`."""
        key = id(cls)
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
                function = self.project.function_info(cls.module, stmt)
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
        key = id(cls)
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
        key = id(cls)
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
