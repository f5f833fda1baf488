"""UOW001 and UOW005: sessions and engines built when a module is imported."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from uowgen._doctor._check_base import Hit, _call_text, _CheckerBase, _text
from uowgen._doctor._kinds import CACHES, ENGINE_FUNCTIONS, SA, Scope, Tag
from uowgen._doctor._symbols import External, Module, Project
from uowgen._doctor._syntax import last_name, node_children, own_nodes, statements


class _ImportTimeRules(_CheckerBase):
    """The rules about what runs at import time."""

    # -- UOW001 -----------------------------------------------------------------------

    def shared_sessions(self, module: Module) -> Iterator[Hit]:
        """UOW001: a session, or an object keeping one, built at import time.

        Of nested calls both flagged (`Repository(SessionLocal())`), the inner one.
        """
        hits = list(self._shared_sessions(module))
        for hit in hits:
            if not any(_contains(hit.node, other.node) for other in hits):
                yield hit

    def _shared_sessions(self, module: Module) -> Iterator[Hit]:
        scope = self.inference.module_scope(module)
        # In a class body, a name assigned earlier in a class body is that value
        # (a DI container's `providers.Singleton(async_sessionmaker, ...)`), not
        # the module's: unknown here, rather than guessed from its name.
        in_class: Scope | None = None
        for call, where in import_time_calls(module.tree.body, self.project, module):
            if where == "as a class attribute":
                if in_class is None:
                    names = _class_level_names(module.tree)
                    in_class = Scope(module, local_names=names)
                kind = self.inference.kind_of(call, in_class)
            else:
                kind = self.inference.kind_of(call, scope)
            if kind is None:
                continue
            text = _call_text(call)
            if kind.tag is Tag.SESSION:
                yield Hit(
                    "UOW001",
                    module,
                    call,
                    f"`{text}` builds a session {where}: every request and task "
                    "shares it",
                )
            elif kind.tag is Tag.INSTANCE and kind.cls is not None:
                reason = self.inference.stores_session(kind.cls)
                if reason is not None:
                    yield Hit(
                        "UOW001",
                        module,
                        call,
                        f"`{text}` is built {where} and keeps a session on self "
                        f"({reason}): every request and task shares it",
                    )

    # -- UOW005 -----------------------------------------------------------------------

    def disposes(self) -> bool:
        """Whether anything in the codebase calls `.dispose()`."""
        cached = getattr(self, "_disposes", None)
        if cached is None:
            cached = any(self.kept(module).disposes for module in self.project.modules)
            self._disposes = cached
        return bool(cached)

    def undisposed_engines(self, module: Module) -> Iterator[Hit]:
        """UOW005: an engine created at import time, and no `.dispose()` anywhere."""
        if self.disposes():
            return  # asked first: then no module's calls need a walk
        calls = import_time_calls(module.tree.body, self.project, module, cached=False)
        for call, where in calls:
            symbol = self.project.resolve(module, call.func)
            if not (
                isinstance(symbol, External) and symbol.is_one_of(SA, ENGINE_FUNCTIONS)
            ):
                continue
            yield Hit(
                "UOW005",
                module,
                call,
                f"`{_text(call.func)}()` {where}, and nothing in the codebase calls "
                "`.dispose()`: its pooled connections are never closed at shutdown",
            )


def _class_level_names(tree: ast.Module) -> set[str]:
    """The names assigned at the top of the module's class bodies."""
    names: set[str] = set()
    for node in statements(tree.body):  # a class is a statement: no expression walked
        if isinstance(node, ast.ClassDef):
            for stmt in node.body:
                targets = (
                    stmt.targets
                    if isinstance(stmt, ast.Assign)
                    else [stmt.target]
                    if isinstance(stmt, ast.AnnAssign)
                    else []
                )
                names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def _contains(outer: ast.AST, inner: ast.AST) -> bool:
    return outer is not inner and any(node is inner for node in ast.walk(outer))


def import_time_calls(
    body: list[ast.stmt], project: Project, module: Module, *, cached: bool = True
) -> Iterator[tuple[ast.Call, str]]:
    """The calls that run when the module is imported, with where they are.

    Module-level code (not under `if TYPE_CHECKING:` or `if __name__ ==
    "__main__":`), class bodies, decorators and default values; with `cached`,
    also the bodies of functions under `functools.cache` / `lru_cache`, whose
    result lives as long as the process.
    """
    for stmt in body:
        yield from _import_time_statement(
            stmt, project, module, "at module level", cached
        )


def _import_time_statement(
    stmt: ast.stmt, project: Project, module: Module, where: str, cached: bool
) -> Iterator[tuple[ast.Call, str]]:
    if isinstance(stmt, ast.If):
        if _is_type_checking(stmt.test) or _is_main_guard(stmt.test):
            for inner in stmt.orelse:
                yield from _import_time_statement(inner, project, module, where, cached)
            return
        yield from _calls(stmt.test, where)
        for inner in [*stmt.body, *stmt.orelse]:
            yield from _import_time_statement(inner, project, module, where, cached)
        return
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
        for part in [*stmt.decorator_list, *stmt.args.defaults]:
            yield from _calls(part, where)
        for default in stmt.args.kw_defaults:
            if default is not None:
                yield from _calls(default, "in a default argument")
        names = {
            last_name(d.func if isinstance(d, ast.Call) else d)
            for d in stmt.decorator_list
        }
        if cached and names & CACHES:
            for node in own_nodes(stmt):
                if isinstance(node, ast.Call):
                    yield node, f"in `{stmt.name}()` (cached by functools)"
        return
    if isinstance(stmt, ast.ClassDef):
        for part in [
            *stmt.decorator_list,
            *stmt.bases,
            *(k.value for k in stmt.keywords),
        ]:
            yield from _calls(part, where)
        for inner in stmt.body:
            yield from _import_time_statement(
                inner, project, module, "as a class attribute", cached
            )
        return
    if isinstance(stmt, ast.Try | ast.TryStar | ast.With | ast.For | ast.While):
        heads: list[ast.expr] = []
        if isinstance(stmt, ast.With):
            heads = [item.context_expr for item in stmt.items]
        elif isinstance(stmt, ast.For):
            heads = [stmt.iter]
        elif isinstance(stmt, ast.While):
            heads = [stmt.test]
        for head in heads:
            yield from _calls(head, where)
        blocks: list[list[ast.stmt]] = [
            getattr(stmt, name, [])
            for name in ("body", "orelse", "finalbody")
            if isinstance(getattr(stmt, name, None), list)
        ]
        if isinstance(stmt, ast.Try | ast.TryStar):
            blocks += [handler.body for handler in stmt.handlers]
        for block in blocks:
            for inner in block:
                yield from _import_time_statement(inner, project, module, where, cached)
        return
    yield from _calls(stmt, where)


def _calls(node: ast.AST, where: str) -> Iterator[tuple[ast.Call, str]]:
    stack: list[ast.AST] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, ast.Lambda | ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if isinstance(current, ast.Call):
            yield current, where
        stack.extend(node_children(current))


def _is_type_checking(test: ast.expr) -> bool:
    return last_name(test) == "TYPE_CHECKING"


def _is_main_guard(test: ast.expr) -> bool:
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
    )
