"""UOW003 and UOW006: HTTP calls in a transaction, objects read after a commit."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from uowgen._doctor._check_base import Hit, _CheckerBase, _text
from uowgen._doctor._flow_facts import UseAfterCommit
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
                http = found.http
                if found.direct:
                    what = f"{http.what} is an outbound HTTP call"
                else:
                    what = (
                        f"`{found.callee}()` makes an outbound HTTP call "
                        f"({http.what}, line {http.line})"
                    )
                yield Hit(
                    "UOW003",
                    module,
                    found.call,
                    f"{what} while a transaction is open (since {found.opened.what}, "
                    f"line {found.opened.line}): the connection sits idle in "
                    "transaction for the whole call",
                )

    # -- UOW006 -----------------------------------------------------------------------

    def expire_on_commit(self) -> Iterator[Hit]:
        """UOW006: async factories expiring on commit, when objects are read after one."""
        factories = [
            (module, call)
            for module in self.project.modules
            for call in self._async_factories(module)
        ]
        if not factories:
            return
        use = self._first_use_after_commit()
        if use is None:
            return
        where = f"{use.function.module.source.display}:{getattr(use.node, 'lineno', 0)}"
        read = (
            f"`{dotted(use.node)}`"
            if isinstance(use.node, ast.Attribute) and dotted(use.node)
            else f"`{use.name}`"
        )
        for module, call in factories:
            yield Hit(
                "UOW006",
                module,
                call,
                f"`{_text(call.func)}()` leaves expire_on_commit on, and {read} is "
                f"read after a commit ({where}, committed at line {use.commit_line}): "
                "that reload raises MissingGreenlet under asyncio",
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

    def _first_use_after_commit(self) -> UseAfterCommit | None:
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
        return uses[0] if uses else None


def _may_commit(function: FunctionInfo) -> bool:
    """Whether a function commits: a `.commit()` call or a `with` block (cheap)."""
    return any(
        isinstance(node, ast.With | ast.AsyncWith)
        or (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "commit"
        )
        for node in own_nodes(function.node)
    )
