"""UOW004 and UOW007: SQLAlchemy settings that break: autocommit, lazy loading."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from uowgen._doctor._check_base import Hit, _CheckerBase, _text
from uowgen._doctor._kinds import (
    ASYNC_SESSION_NAMES,
    FACTORY_NAMES,
    SA,
    SESSION_NAMES,
    Tag,
)
from uowgen._doctor._symbols import ClassInfo, External, Module
from uowgen._doctor._syntax import last_name

_LAZY_DEFAULTS = ("select", True)


class _SettingRules(_CheckerBase):
    """The rules about settings given to SQLAlchemy."""

    # -- UOW004 -----------------------------------------------------------------------

    def autocommit(self, module: Module) -> Iterator[Hit]:
        """UOW004: `autocommit=True` given to a session or a sessionmaker."""
        scope = self.inference.module_scope(module)
        for node in self.kept(module).autocommit_calls:
            keyword = next((k for k in node.keywords if k.arg == "autocommit"), None)
            if keyword is None or not (
                isinstance(keyword.value, ast.Constant) and keyword.value.value
            ):
                continue
            symbol = self.project.resolve(module, node.func)
            callee = self.inference.kind_of(node.func, scope)
            is_session = isinstance(symbol, External) and (
                symbol.is_one_of(SA, FACTORY_NAMES | ASYNC_SESSION_NAMES)
                or (symbol.is_one_of(SA, SESSION_NAMES) and "." in symbol.qualname)
            )
            if is_session or (callee is not None and callee.tag is Tag.FACTORY):
                yield Hit(
                    "UOW004",
                    module,
                    keyword,
                    f"`autocommit=True` on `{_text(node.func)}()`: SQLAlchemy 2.0 "
                    "removed it (TypeError when a session is made)",
                )

    # -- UOW007 -----------------------------------------------------------------------

    def uses_asyncio(self) -> bool:
        """Whether any module imports SQLAlchemy's (or SQLModel's) asyncio extension."""
        cached = getattr(self, "_uses_asyncio", None)
        if cached is None:
            cached = any(
                self.kept(module).imports_asyncio for module in self.project.modules
            )
            self._uses_asyncio = cached
        return bool(cached)

    def lazy_relationships(self, module: Module) -> Iterator[Hit]:
        """UOW007: a lazy-loading relationship where the asyncio extension is used."""
        if not self.uses_asyncio():
            return
        for node, owner in self.relationships(module):
            symbol = self.project.resolve(module, node.func)
            name = symbol.name if isinstance(symbol, External) else None
            if symbol is None and isinstance(node.func, ast.Name):
                name = node.func.id if node.func.id == "relationship" else None
            elif isinstance(symbol, External) and not symbol.is_one_of(
                SA, frozenset({"relationship", "Relationship"})
            ):
                name = None
            if name not in ("relationship", "Relationship"):
                continue
            if owner is not None and self._async_attrs(module, owner):
                continue
            if owner is not None and _write_only(owner, node):
                continue  # `WriteOnlyMapped[...]`: lazy="write_only", never loads
            if (
                owner is not None
                and self.mostly_sync()
                and not self._async_loaded(module, owner)
            ):
                continue  # only sync sessions load it: no attribute load under asyncio
            lazy = _lazy_setting(node, name)
            if lazy is _UNKNOWN:
                continue
            if lazy is None or lazy in _LAZY_DEFAULTS:
                shown = "without lazy=" if lazy is None else f"with lazy={lazy!r}"
                yield Hit(
                    "UOW007",
                    module,
                    node,
                    f"`{_text(node.func)}()` {shown} loads on attribute access, which "
                    "raises MissingGreenlet under asyncio",
                )

    def mostly_sync(self) -> bool:
        """Whether more functions take a sync `Session` than an async one.

        A sync codebase with an asyncio corner: most of its models never meet an
        AsyncSession.
        """
        cached = getattr(self, "_mostly_sync", None)
        if cached is None:
            facts = [self.kept(module) for module in self.project.modules]
            cached = sum(f.sync_session_functions for f in facts) > sum(
                f.async_session_functions for f in facts
            )
            self._mostly_sync = cached
        return bool(cached)

    def _async_loaded(self, module: Module, owner: ast.ClassDef) -> bool:
        """Whether a coroutine taking an async session names the class as a value.

        `select(User)`, `SQLAlchemyUserDatabase(session, User)`: the objects of the
        other classes are loaded by sync sessions only.
        """
        info = self.project.class_info(module, owner)
        for other in self.project.modules:
            if owner.name in self.kept(other).async_session_names and (
                self.project.resolve_name(other, owner.name) is info
            ):
                return True
        return False

    def _async_attrs(self, module: Module, owner: ast.ClassDef) -> bool:
        info = self.project.class_info(module, owner)
        if info is None:
            return False
        for base in self.project.mro(info):
            name = base.name if isinstance(base, External | ClassInfo) else ""
            if name == "AsyncAttrs":
                return True
        return any(last_name(b) == "AsyncAttrs" for b in owner.bases)


_UNKNOWN = object()


def _write_only(owner: ast.ClassDef, call: ast.Call) -> bool:
    """Whether `call` is assigned under a `WriteOnlyMapped[...]` annotation."""
    for stmt in owner.body:
        if isinstance(stmt, ast.AnnAssign) and stmt.value is call:
            annotation = stmt.annotation
            if isinstance(annotation, ast.Subscript):
                annotation = annotation.value
            return last_name(annotation) == "WriteOnlyMapped"
    return False


def _lazy_setting(call: ast.Call, name: str) -> object:
    keywords = call.keywords
    if name == "Relationship":
        # SQLModel passes SQLAlchemy's arguments in a dict.
        options = next(
            (k.value for k in keywords if k.arg == "sa_relationship_kwargs"), None
        )
        if any(k.arg in ("sa_relationship", None) for k in keywords):
            return _UNKNOWN
        if options is None:
            return None
        if not isinstance(options, ast.Dict):
            return _UNKNOWN
        for key, value in zip(options.keys, options.values, strict=True):
            if key is None:
                return _UNKNOWN
            if isinstance(key, ast.Constant) and key.value == "lazy":
                return value.value if isinstance(value, ast.Constant) else _UNKNOWN
        return None
    if any(k.arg is None for k in keywords):
        return _UNKNOWN
    for keyword in keywords:
        if keyword.arg == "lazy":
            value = keyword.value
            return value.value if isinstance(value, ast.Constant) else _UNKNOWN
    return None
