"""Walking syntax trees: a function's own nodes, dotted names, generators."""

from __future__ import annotations

import ast
from collections import deque
from collections.abc import Iterable, Iterator

_OWN: dict[int, tuple[ast.AST, list[ast.AST]]] = {}
_FIELDS: dict[type[ast.AST], tuple[str, ...]] = {}


def child_nodes(node: ast.AST) -> list[ast.AST]:
    """`ast.iter_child_nodes(node)` as a list, in the same order, at half the cost.

    The rules walk millions of nodes; the standard generator's per-field
    `iter_fields` generator and the repeated `_fields` lookup were a quarter of a
    run on a large codebase.
    """
    kind = type(node)
    fields = _FIELDS.get(kind)
    if fields is None:
        fields = _FIELDS[kind] = kind._fields
    out: list[ast.AST] = []
    for name in fields:
        value = getattr(node, name, None)
        if isinstance(value, ast.AST):
            out.append(value)
        elif value.__class__ is list:  # the parser's lists are plain lists
            for item in value:
                if isinstance(item, ast.AST):
                    out.append(item)
    return out


def walk(node: ast.AST) -> Iterator[ast.AST]:
    """`ast.walk(node)`: every node under `node`, breadth first, in the same order."""
    todo = deque([node])
    while todo:
        current = todo.popleft()
        todo.extend(child_nodes(current))
        yield current


def own_nodes(node: ast.AST) -> list[ast.AST]:
    """The nodes of a function's body that run in it (not in nested defs or lambdas).

    Remembered per node: the rules walk each function several times.
    """
    cached = _OWN.get(id(node))
    if cached is not None and cached[0] is node:
        return cached[1]
    nodes = list(_own_nodes(node))
    if len(_OWN) > 50_000:
        _OWN.clear()
    _OWN[id(node)] = (node, nodes)
    return nodes


def forget_nodes() -> None:
    """Drop the remembered nodes (at the end of a run: they keep its trees alive)."""
    _OWN.clear()
    _GENERATORS.clear()


def forget_nodes_of(definitions: Iterable[ast.AST]) -> None:
    """Drop what is remembered of these functions (their tree is let go).

    The few other nodes remembered (a `with` block's) go when the cache is full.
    """
    for node in definitions:
        _OWN.pop(id(node), None)
        _GENERATORS.pop(id(node), None)


def _own_nodes(node: ast.AST) -> Iterator[ast.AST]:
    stack: list[ast.AST] = child_nodes(node)
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        stack = list(node.body)
    while stack:
        current = stack.pop()
        yield current
        if isinstance(
            current, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda
        ):
            continue
        stack.extend(child_nodes(current))


def statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement of a body, nested ones included, and no expression.

    Definitions and imports are statements: walking only these is a fraction of
    walking every node.
    """
    stack = list(reversed(body))
    while stack:
        stmt = stack.pop()
        yield stmt
        stack.extend(reversed(child_statements(stmt)))


def child_statements(stmt: ast.AST) -> list[ast.stmt]:
    """The statements directly under one: its blocks, handlers' and cases' too."""
    nested: list[ast.stmt] = []
    for name in ("body", "orelse", "finalbody"):
        nested.extend(getattr(stmt, name, ()))
    for handler in getattr(stmt, "handlers", ()):
        nested.extend(handler.body)
    for case in getattr(stmt, "cases", ()):
        nested.extend(case.body)
    return nested


def dotted(expr: ast.expr) -> str | None:
    """`self.session` for a name or an attribute chain; None for anything else."""
    parts: list[str] = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if isinstance(expr, ast.Name):
        parts.append(expr.id)
        return ".".join(reversed(parts))
    return None


def last_name(expr: ast.expr) -> str | None:
    """The last identifier of a name or attribute: `maker` for `self.maker`."""
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Attribute):
        return expr.attr
    return None


_GENERATORS: dict[int, tuple[ast.AST, bool]] = {}


def is_generator(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether the function's own body yields."""
    cached = _GENERATORS.get(id(node))
    if cached is not None and cached[0] is node:
        return cached[1]
    result = any(isinstance(n, ast.Yield | ast.YieldFrom) for n in own_nodes(node))
    if len(_GENERATORS) > 100_000:
        _GENERATORS.clear()
    _GENERATORS[id(node)] = (node, result)
    return result
