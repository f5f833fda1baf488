"""UOW002: FastAPI dependencies that commit after their `yield`."""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence

from uowgen._doctor._check_base import Hit, _call_text, _CheckerBase
from uowgen._doctor._kinds import CONTEXT_MANAGERS, Scope, Tag
from uowgen._doctor._symbols import FunctionInfo, Module
from uowgen._doctor._syntax import is_generator, last_name, own_nodes

_FIXTURES = frozenset({"fixture", "yield_fixture"})


class _YieldRules(_CheckerBase):
    """The rule about dependencies with `yield`."""

    # -- UOW002 -----------------------------------------------------------------------

    def depends_scopes(self) -> dict[int, list[str | None]]:
        """For each function used as a FastAPI dependency, the `scope=` of each use."""
        if self._depends is None:
            found: dict[int, list[str | None]] = {}
            for module in self.project.modules:
                for node in self.kept(module).depends_calls:
                    depends = self.inference.depends_call(node, module)
                    target = self.inference.depends_target(depends) if depends else None
                    if depends is None or target is None:
                        continue
                    symbol = self.project.resolve(module, target)
                    if isinstance(symbol, FunctionInfo):
                        scope = next(
                            (
                                k.value.value
                                for k in depends.keywords
                                if k.arg == "scope"
                                and isinstance(k.value, ast.Constant)
                            ),
                            None,
                        )
                        found.setdefault(id(symbol), []).append(
                            scope if isinstance(scope, str) else None
                        )
            self._depends = found
        return self._depends

    def commits_after_yield(self, module: Module) -> Iterator[Hit]:
        """UOW002: a FastAPI dependency that commits after its `yield`."""
        if self.fastapi is not None and self.fastapi.teardown_before_response:
            return  # 0.106 to 0.117 run the exit code before the response
        if "yield" not in module.source.text:
            return  # no generator here
        for function in self._functions_of(module):
            node = function.node
            if not is_generator(node):
                continue
            decorators = {
                last_name(d.func if isinstance(d, ast.Call) else d)
                for d in node.decorator_list
            }
            if decorators & (CONTEXT_MANAGERS | _FIXTURES):
                continue
            scopes = self.depends_scopes().get(id(function))
            if scopes is not None:
                if all(scope == "function" for scope in scopes):
                    continue
            else:
                yielded = self.inference.yield_kind(function)
                if yielded is None or not (
                    yielded.is_session or self.flow.is_holder(yielded)
                ):
                    continue
            yield from self._after_yield(function, module)

    def _after_yield(self, function: FunctionInfo, module: Module) -> Iterator[Hit]:
        scope = self.inference.function_scope(function)
        name = function.name
        hits: list[Hit] = []

        def scan(body: list[ast.stmt], after: bool) -> bool:
            for stmt in body:
                after = visit(stmt, after)
            return after

        def visit(stmt: ast.stmt, after: bool) -> bool:
            yields = _has_yield(stmt)
            if isinstance(stmt, ast.Try | ast.TryStar):
                body_after = scan(stmt.body, after)
                caught = after or _has_yield_in(stmt.body)
                for handler in stmt.handlers:
                    scan(handler.body, caught)
                scan(stmt.orelse, body_after)
                scan(stmt.finalbody, caught or body_after)
                return after or yields
            if isinstance(stmt, ast.With | ast.AsyncWith):
                if _has_yield_in(stmt.body):
                    for item in stmt.items:
                        hit = self._commits_at_exit(
                            item.context_expr, scope, module, name
                        )
                        if hit is not None:
                            hits.append(hit)
                if after:
                    self._commit_calls(stmt.items, module, name, hits)
                scan(stmt.body, after)
                return after or yields
            if isinstance(stmt, ast.If | ast.For | ast.AsyncFor | ast.While):
                if after:
                    self._commit_calls([stmt], module, name, hits, shallow=True)
                scan(stmt.body, after)
                scan(stmt.orelse, after)
                return after or yields
            if after:
                self._commit_calls([stmt], module, name, hits)
            return after or yields

        scan(function.node.body, False)
        yield from hits

    def _commit_calls(
        self,
        nodes: Sequence[ast.stmt | ast.withitem],
        module: Module,
        name: str,
        hits: list[Hit],
        *,
        shallow: bool = False,
    ) -> None:
        for root in nodes:
            parts: list[ast.AST] = [root]
            if shallow and isinstance(root, ast.If | ast.While):
                parts = [root.test]
            elif shallow and isinstance(root, ast.For | ast.AsyncFor):
                parts = [root.iter]
            for part in parts:
                for node in ast.walk(part):
                    if (
                        isinstance(node, ast.Call)
                        and isinstance(node.func, ast.Attribute)
                        and node.func.attr == "commit"
                    ):
                        hits.append(
                            Hit(
                                "UOW002",
                                module,
                                node,
                                f"`{_call_text(node)}` after `yield` in dependency "
                                f"`{name}` {self._after_response()}: a failed commit "
                                f"cannot change it; {self._remedy(name)}",
                            )
                        )

    def _commits_at_exit(
        self, expr: ast.expr, scope: Scope, module: Module, name: str
    ) -> Hit | None:
        kind = self.inference.kind_of(expr, scope)
        if kind is None:
            return None
        commits = kind.tag is Tag.TRANSACTION
        if kind.tag is Tag.CONTEXT and kind.function is not None:
            commits = self.flow.analyse(kind.function).commits_at_exit
        elif kind.tag is Tag.INSTANCE and kind.cls is not None:
            exit_method = self.project.method(
                kind.cls, "__aexit__"
            ) or self.project.method(kind.cls, "__exit__")
            commits = exit_method is not None and self.flow.commits(exit_method)
        if not commits:
            return None
        return Hit(
            "UOW002",
            module,
            expr,
            f"`yield` inside `{_call_text(expr)}` in dependency `{name}`: the block "
            f"commits when it exits, which {self._after_response()}; "
            f"{self._remedy(name)}",
        )

    def _after_response(self) -> str:
        """When this project's FastAPI runs a dependency's exit code, and why we know."""
        version = self.fastapi
        if version is None:
            return (
                "runs after the response is sent (FastAPI before 0.106, and 0.118 on)"
            )
        return (
            f"runs after the response is sent (FastAPI {version.text}, "
            f"from {version.source})"
        )

    def _remedy(self, name: str) -> str:
        """The fix this project's FastAPI offers."""
        version = self.fastapi
        scoped = f'`Depends({name}, scope="function")`'
        if version is None:
            return f"commit before returning, or use {scoped} (FastAPI 0.121 on)"
        if version.has_scope_function:
            return f"use {scoped} to run it before the response"
        if version.version[:2] >= (0, 118):
            return f"commit before returning ({scoped} needs FastAPI 0.121)"
        return "commit before returning"


def _has_yield(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Yield | ast.YieldFrom) for n in _own(node))


def _has_yield_in(body: list[ast.stmt]) -> bool:
    return any(_has_yield(stmt) for stmt in body)


def _own(node: ast.AST) -> Iterator[ast.AST]:
    yield node
    yield from own_nodes(node)
