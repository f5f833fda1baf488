"""UOW008: one session used by coroutines that run at the same time."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass

from uowgen._doctor._check_base import Hit, Related, _CheckerBase, _text
from uowgen._doctor._kinds import Kind, Scope, Tag
from uowgen._doctor._summaries import QUERY_METHODS, group_of
from uowgen._doctor._symbols import Module
from uowgen._doctor._syntax import last_name, own_nodes

# Calls that run their coroutine arguments concurrently with each other (gather) or
# with the caller (a task).
_GATHER = frozenset({"gather"})
_TASKS = frozenset({"create_task", "ensure_future", "start_soon"})


@dataclass(frozen=True)
class _Launch:
    """A coroutine call started concurrently, and how many run at once (2: many)."""

    launcher: ast.Call
    call: ast.Call
    count: int


class _ConcurrencyRules(_CheckerBase):
    """The rule about sessions shared between concurrent coroutines."""

    def concurrent_sessions(self, module: Module) -> Iterator[Hit]:
        """UOW008: a session, or an object keeping one, used by concurrent coroutines."""
        for function in self._functions_of(module):
            if not function.is_async:
                continue
            launches = list(_launches(function.node))
            if not launches:
                continue
            scope = self.inference.function_scope(function)
            uses: dict[str, list[tuple[_Launch, str]]] = {}
            for launch in launches:
                for group, what in self._sessions_used(launch.call, scope):
                    uses.setdefault(group, []).extend([(launch, what)] * launch.count)
            for used in uses.values():
                if len(used) < 2:
                    continue
                first, what = used[0]
                launcher = first.launcher
                runner = _text(launcher.func)
                together = len({id(launch.call) for launch, _ in used})
                at_once = (
                    "in a loop or comprehension"
                    if together == 1
                    else f"{together} of them"
                )
                yield Hit(
                    "UOW008",
                    module,
                    launcher,
                    f"`{runner}()` runs coroutines at the same time ({at_once}) that "
                    f"all use {what}: one AsyncSession cannot run two operations at "
                    'once ("concurrent operations are not permitted")',
                    related=tuple(
                        Related.at(module, launch.call, "uses the same session")
                        for launch, _ in used[: 1 if together == 1 else None]
                        if launch.call is not launcher
                    ),
                )

    def _sessions_used(self, call: ast.Call, scope: Scope) -> Iterator[tuple[str, str]]:
        """The session groups a coroutine call uses from the caller's scope."""
        func = call.func
        callee = self.inference.kind_of(func, scope)
        if isinstance(func, ast.Attribute):
            receiver = self.inference.kind_of(func.value, scope)
            if receiver is not None and receiver.is_session:
                if func.attr in QUERY_METHODS:
                    yield (
                        group_of(func.value, receiver),
                        f"the session `{_text(func.value)}`",
                    )
                return
            holder = self.flow.holder(func.value, scope)
            if holder is not None:
                group, kind, direct = holder
                method = self.flow.method_of(kind, func.attr) if direct else None
                if method is not None and self.flow.touches_db(method):
                    yield group, _kept_by(func.value, kind)
                return
        if callee is None or callee.tag is not Tag.FUNCTION or callee.function is None:
            return
        if not self.flow.touches_db(callee.function):
            return
        for arg in [*call.args, *(k.value for k in call.keywords)]:
            given = self.inference.kind_of(arg, scope)
            if given is None:
                continue
            if given.is_session:
                yield group_of(arg, given), f"the session `{_text(arg)}`"
            elif self.flow.is_holder(given):
                yield group_of(arg, given), _kept_by(arg, given)


def _kept_by(expr: ast.expr, kind: Kind) -> str:
    name = kind.cls.name if kind.cls is not None else "object"
    return f"the session that `{_text(expr)}` ({name}) keeps"


def _launches(function: ast.AST) -> Iterator[_Launch]:
    """The coroutine calls a function starts concurrently."""
    in_loop: set[int] | None = None  # worked out at the first task started
    for node in own_nodes(function):
        if not isinstance(node, ast.Call):
            continue
        name = last_name(node.func)
        if name in _GATHER:
            for arg in node.args:
                if isinstance(arg, ast.Call):
                    yield _Launch(node, arg, 1)
                elif isinstance(arg, ast.Starred):
                    element = _comprehended_call(arg.value)
                    if element is not None:
                        yield _Launch(node, element, 2)
        elif name in _TASKS and node.args:
            first = node.args[0]
            if in_loop is None:
                in_loop = _loop_bodies(function)
            count = 2 if id(node) in in_loop else 1
            if name == "start_soon" and isinstance(first, ast.expr):
                call = ast.Call(func=first, args=node.args[1:], keywords=[])
                ast.copy_location(call, node)
                yield _Launch(node, call, count)
            elif isinstance(first, ast.Call):
                yield _Launch(node, first, count)


def _comprehended_call(expr: ast.expr) -> ast.Call | None:
    """`f(x)` of `[f(x) for x in xs]` or `(f(x) for x in xs)`."""
    if isinstance(expr, ast.ListComp | ast.GeneratorExp | ast.SetComp):
        element = expr.elt
        if isinstance(element, ast.Await):
            element = element.value
        if isinstance(element, ast.Call):
            return element
    return None


def _loop_bodies(function: ast.AST) -> set[int]:
    """The ids of calls inside a loop or a comprehension of the function."""
    inside: set[int] = set()
    for node in own_nodes(function):
        if isinstance(
            node,
            ast.For
            | ast.AsyncFor
            | ast.While
            | ast.ListComp
            | ast.SetComp
            | ast.GeneratorExp
            | ast.DictComp,
        ):
            for child in ast.walk(node):
                if isinstance(child, ast.Call):
                    inside.add(id(child))
    return inside
