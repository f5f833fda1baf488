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

    In `ast.iter_child_nodes` order, depth first from the last statement, without
    the expression contexts and operators (`Load`, `Add`: no rule looks at them).
    Remembered per node: the rules walk each function several times.
    """
    cached = _OWN.get(id(node))
    if cached is not None and cached[0] is node:
        return cached[1]
    nodes = _own_nodes(node)
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


_NESTED = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda})
# Fields that hold no node a rule looks at: names and numbers, and the expression
# contexts and operators (childless singletons). Skipping them is a third fewer
# nodes to walk.
_SKIPPED = frozenset(
    {"ctx", "op", "ops", "id", "attr", "arg", "asname", "module", "level"}
    | {"type_comment", "simple", "conversion", "is_async"}
)
_WALKED: dict[type[ast.AST], tuple[str, ...]] = {ast.Constant: ()}


def walked_fields(kind: type[ast.AST]) -> tuple[str, ...]:
    """The fields of a node type that may hold nodes the rules look at."""
    fields = _WALKED.get(kind)
    if fields is None:
        fields = _WALKED[kind] = tuple(f for f in kind._fields if f not in _SKIPPED)
    return fields


def node_children(node: ast.AST) -> list[ast.AST]:
    """`child_nodes(node)` without the expression contexts and operators."""
    out: list[ast.AST] = []
    fields = _WALKED.get(node.__class__)
    if fields is None:
        fields = walked_fields(node.__class__)
    for name in fields:
        value = getattr(node, name, None)
        if value.__class__ is list:
            for item in value:
                if isinstance(item, ast.AST):
                    out.append(item)
        elif isinstance(value, ast.AST):
            out.append(value)
    return out


def _own_nodes(node: ast.AST) -> list[ast.AST]:
    # One loop, no generator and no call per node: every function is walked so.
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        stack: list[ast.AST] = list(node.body)
    else:
        stack = node_children(node)
    out: list[ast.AST] = []
    append, pop, push = out.append, stack.pop, stack.append
    nested, walked, is_node = _NESTED, _WALKED, ast.AST
    while stack:
        current = pop()
        append(current)
        kind = current.__class__
        if kind in nested:
            continue
        fields = walked.get(kind)
        if fields is None:
            fields = walked_fields(kind)
        for name in fields:
            value = getattr(current, name, None)
            if value.__class__ is list:
                for item in value:
                    if isinstance(item, is_node):
                        push(item)
            elif isinstance(value, is_node):
                push(value)
    return out


def statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement of a body, nested ones included, and no expression.

    Definitions and imports are statements: walking only these is a fraction of
    walking every node. A block's statements come after it: its body, `else`,
    `finally`, then its handlers' and cases' bodies.
    """
    stack = list(reversed(body))
    while stack:
        stmt = stack.pop()
        yield stmt
        nested = child_statements(stmt)
        if nested:
            stack.extend(reversed(nested))


def child_statements(stmt: ast.AST) -> list[ast.stmt]:
    """The statements directly under one: its blocks, handlers' and cases' too."""
    blocks = _BLOCKS.get(stmt.__class__)
    if blocks is None:
        blocks = _blocks(stmt.__class__)
    nested: list[ast.stmt] = []
    for name, wrapped in blocks:  # most statements have none
        if wrapped:  # handlers, cases: each has a body
            for part in getattr(stmt, name):
                nested.extend(part.body)
        else:
            nested.extend(getattr(stmt, name))
    return nested


_BLOCKS: dict[type[ast.AST], tuple[tuple[str, bool], ...]] = {}


def _blocks(kind: type[ast.AST]) -> tuple[tuple[str, bool], ...]:
    """A statement type's fields that hold statements, in `statements`' order."""
    fields = kind._fields
    blocks = [(name, False) for name in ("body", "orelse", "finalbody")]
    blocks += [("handlers", True), ("cases", True)]
    found = _BLOCKS[kind] = tuple(b for b in blocks if b[0] in fields)
    return found


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
_YIELDS = frozenset({ast.Yield, ast.YieldFrom})


def is_generator(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether the function's own body yields."""
    cached = _GENERATORS.get(id(node))
    if cached is not None and cached[0] is node:
        return cached[1]
    result = False
    for child in own_nodes(node):
        if child.__class__ in _YIELDS:
            result = True
            break
    if len(_GENERATORS) > 100_000:
        _GENERATORS.clear()
    _GENERATORS[id(node)] = (node, result)
    return result
