"""What annotations and FastAPI's `Depends(...)` declare a value to be."""

from __future__ import annotations

import ast

from uowgen._doctor._external import ExternalCalls
from uowgen._doctor._kinds import (
    ASYNC_SESSION_NAMES,
    DEPENDS,
    Kind,
    Tag,
    external_type_kind,
)
from uowgen._doctor._symbols import ClassInfo, External, Module, Project, Value
from uowgen._doctor._syntax import last_name


class _Declared:
    """The part of `Inference` that reads declarations: annotations and Depends."""

    project: Project
    external: ExternalCalls

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
            kind = external_type_kind(symbol)
            if kind is None and self.external.is_client(symbol.qualname):
                return Kind(Tag.SDK, external=symbol.qualname)
            return kind
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
