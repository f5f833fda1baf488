"""UOW003 and UOW006: HTTP calls in a transaction, objects read after a commit."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from uowgen._doctor._check_base import Hit, Related, _CheckerBase, _text
from uowgen._doctor._flow import _is_patch
from uowgen._doctor._flow_facts import HttpInTransaction, UseAfterCommit
from uowgen._doctor._kinds import ASYNC_SESSION_NAMES, SA
from uowgen._doctor._symbols import External, FunctionInfo, Module
from uowgen._doctor._syntax import dotted, last_name, own_nodes


class _FlowRules(_CheckerBase):
    """The rules that follow functions' flow."""

    # -- UOW003 -----------------------------------------------------------------------

    def http_in_transaction(self, module: Module) -> Iterator[Hit]:
        """UOW003: an outbound HTTP call while a session's transaction is open."""
        for function in self._functions_of(module):
            if self.flow.does_http(function) is None:
                continue  # no outbound call here or in what it calls: nothing to find
            for found in self.flow.analyse(function).http:
                if not found.direct and self._stubbed(function, found):
                    continue
                yield self._http_hit(module, found)

    # A test's stand-ins that `mock.patch` blocks do not show (those the flow
    # follows): a helper that returns the patch (`with _patch_processor():`), a
    # callee that patches inside, `monkeypatch.setattr()` of a function that makes
    # the call, directly or in a helper given the `monkeypatch` fixture.

    def _stubbed(self, function: FunctionInfo, found: HttpInTransaction) -> bool:
        call = found.call
        module = function.module
        callee = self._project_function(module, call.func)
        if callee is not None and _patches(callee.node):
            return True  # the callee runs what it calls under `mock.patch`
        for node in own_nodes(function.node):
            if isinstance(node, ast.With | ast.AsyncWith) and _inside(call, node):
                for item in node.items:
                    expr = item.context_expr
                    helper = (
                        self._project_function(module, expr.func)
                        if isinstance(expr, ast.Call)
                        else None
                    )
                    if helper is not None and _patches(helper.node):
                        return True
            elif isinstance(node, ast.Call) and node.lineno < call.lineno:
                if self._stubs_http(module, node):
                    return True
                helper = self._project_function(module, node.func)
                if (
                    helper is not None
                    and _passes_monkeypatch(node)
                    and any(
                        self._stubs_http(helper.module, inner)
                        for inner in own_nodes(helper.node)
                        if isinstance(inner, ast.Call)
                    )
                ):
                    return True
        return False

    def _stubs_http(self, module: Module, node: ast.Call) -> bool:
        """`monkeypatch.setattr(api, "name", stand_in)` of a function that calls out.

        A name not written out (a loop's) may be any: it counts.
        """
        func = node.func
        if not (
            isinstance(func, ast.Attribute)
            and func.attr == "setattr"
            and "monkeypatch" in (dotted(func.value) or "")
            and len(node.args) >= 2
        ):
            return False
        owner, name = node.args[0], node.args[1]
        if not isinstance(name, ast.Constant):
            return True
        if not isinstance(name.value, str):
            return False
        target = self.project.resolve(
            module, ast.Attribute(value=owner, attr=name.value, ctx=ast.Load())
        )
        return isinstance(target, FunctionInfo) and (
            self.flow.does_http(target) is not None
        )

    def _project_function(self, module: Module, expr: ast.expr) -> FunctionInfo | None:
        target = self.project.resolve(module, expr)
        return target if isinstance(target, FunctionInfo) else None

    def _http_hit(self, module: Module, found: HttpInTransaction) -> Hit:
        http = found.http
        opened = found.opened
        if found.direct:
            what = f"{http.what} is an outbound HTTP call"
        else:
            what = (
                f"`{found.callee}()` makes an outbound HTTP call "
                f"({http.what}, {_where(http.module, http.line, module)})"
            )
        since = f"since {opened.what}, line {opened.line}"
        if opened.line >= found.call.lineno:
            since += ", on the loop's previous pass"
        left = opened.left
        if left is not None:
            since += (
                f", which returns with it open at "
                f"{_where(left.module, left.line, module)}"
            )
        related = [
            Related(module, opened.line, opened.column, "the transaction opens here")
        ]
        if not found.direct:
            related.insert(
                0,
                Related(http.module, http.line, http.column, "the outbound HTTP call"),
            )
        if left is not None:
            related.append(
                Related(
                    left.module,
                    left.line,
                    0,
                    f"`{left.function}()` returns with the transaction open",
                )
            )
        origin = opened.origin
        if origin is not None:
            related.append(
                Related.at(
                    origin.module, origin.call, "the factory that made the session"
                )
            )
        return Hit(
            "UOW003",
            module,
            found.call,
            f"{what} while a transaction is open ({since}): the connection sits "
            "idle in transaction for the whole call",
            related=tuple(related),
        )

    # -- UOW006 -----------------------------------------------------------------------

    def expire_on_commit(self) -> Iterator[Hit]:
        """UOW006: an async factory that expires on commit, read after a commit.

        Reported only where the session that committed was made by that factory:
        followed from it through context managers, dependencies and modules.
        """
        factories = {
            id(call): (module, call)
            for module in self.project.modules
            for call in self._async_factories(module)
        }
        if not factories:
            return
        first: dict[int, UseAfterCommit] = {}
        for use in self._uses_after_commit():
            if use.origin is not None and id(use.origin.call) in factories:
                first.setdefault(id(use.origin.call), use)
        for key, (module, call) in factories.items():
            if key not in first:
                continue
            use = first[key]
            display = use.function.module.source.display
            read = (
                f"`{dotted(use.node)}`"
                if isinstance(use.node, ast.Attribute) and dotted(use.node)
                else f"`{use.name}`"
            )
            yield Hit(
                "UOW006",
                module,
                call,
                f"`{_text(call.func)}()` leaves expire_on_commit on, and {read}, "
                f"from one of its sessions, is read after a commit "
                f"({display}:{getattr(use.node, 'lineno', 0)}, committed at "
                f"{display}:{use.commit_line}): that reload raises MissingGreenlet "
                "under asyncio",
                related=(
                    Related(use.function.module, use.commit_line, 0, "the commit"),
                    Related.at(use.function.module, use.node, "read after the commit"),
                ),
            )

    def _async_factories(self, module: Module) -> Iterator[ast.Call]:
        for node in self.facts(module).calls:
            if last_name(node.func) not in ("async_sessionmaker", "AsyncSession") and (
                last_name(node.func) != "sessionmaker"
            ):
                continue
            symbol = self.project.resolve(module, node.func)
            if not isinstance(symbol, External):
                continue
            is_async = symbol.is_one_of(
                SA, ASYNC_SESSION_NAMES | {"async_sessionmaker"}
            )
            if symbol.is_one_of(SA, frozenset({"sessionmaker"})):
                is_async = any(
                    k.arg == "class_" and last_name(k.value) == "AsyncSession"
                    for k in node.keywords
                )
            if not is_async or any(k.arg is None for k in node.keywords):
                continue
            setting = next(
                (k for k in node.keywords if k.arg == "expire_on_commit"), None
            )
            if setting is None or (
                isinstance(setting.value, ast.Constant) and setting.value.value is True
            ):
                yield node

    def _uses_after_commit(self) -> list[UseAfterCommit]:
        uses: list[UseAfterCommit] = []
        for function in self.project.functions():
            if function.is_async and _may_commit(function):
                try:
                    uses.extend(self.flow.analyse(function).uses)
                except RecursionError:
                    continue
        uses.sort(
            key=lambda u: (
                u.function.module.source.display,
                getattr(u.node, "lineno", 0),
            )
        )
        return uses


def _where(module: Module, line: int, here: Module) -> str:
    """`line 12` in the finding's own file, `app/clients.py:12` in another."""
    if module is here:
        return f"line {line}"
    return f"{module.source.display}:{line}"


def _patches(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether a function makes a `mock.patch` (returns one, or runs under one)."""
    return any(
        isinstance(inner, ast.Call) and _is_patch(inner) for inner in own_nodes(node)
    ) or any(_is_patch(d) for d in node.decorator_list)


def _inside(call: ast.Call, block: ast.With | ast.AsyncWith) -> bool:
    """Whether the call is in the body of the `with` block."""
    first, last = block.body[0].lineno, block.body[-1].end_lineno or block.lineno
    return first <= call.lineno <= last


def _passes_monkeypatch(call: ast.Call) -> bool:
    return any(
        isinstance(arg, ast.Name) and arg.id == "monkeypatch"
        for arg in (*call.args, *(k.value for k in call.keywords))
    )


def _may_commit(function: FunctionInfo) -> bool:
    """Whether a function commits: a `.commit()` call or a `with` block (cheap)."""
    for node in own_nodes(function.node):  # a loop: every function is looked at
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and node.func.attr == "commit":
                return True
        elif isinstance(node, ast.With | ast.AsyncWith):
            return True
    return False
