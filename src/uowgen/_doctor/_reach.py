"""Which modules nothing runs: no other module imports them, and they are no entry.

A demo script that opens its own session and calls an API is not a request path;
its UOW003 findings are reported with low confidence (or left out with
`skip-unimported`).
A module counts as reached when another module imports it (at its top or inside a
function, absolutely or relatively), names it in a string (`"app.main:app"`,
Celery's `include=[...]`), or is an entry itself: it declares routes, dependencies
(`Depends`), an app or router, or task functions, or it is a test module pytest runs.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence

from uowgen._doctor._symbols import Module
from uowgen._doctor._syntax import last_name, walk

# Calls and decorators that make a module an entry point of the app.
_ENTRY_CALLS = frozenset(
    {
        "FastAPI",
        "APIRouter",
        "Starlette",
        "Depends",
        "Security",
        "Celery",
        "WorkerSettings",
        "actor",
        "shared_task",
        "task",
        "cron",
        "add_task",
        "include_router",
        "create_task",
    }
)
_ROUTE_DECORATORS = frozenset(
    {"get", "post", "put", "patch", "delete", "api_route", "websocket", "route"}
)


def unimported(modules: Sequence[Module], candidates: Sequence[Module]) -> set[int]:
    """The ids of the `candidates` that nothing imports and that are no entry point.

    Only the candidates (the modules with findings the answer changes) are looked
    at closely; every module's import statements are read once.
    """
    if not candidates:
        return set()
    imported: set[str] = set()
    for module in modules:
        imported.update(module.imported)
    if not any(name in imported for m in modules for name in m.names):
        return set()  # loose files that import none of each other: no call to make
    left: set[int] = set()
    for module in candidates:
        if any(name in imported for name in module.names) or _is_entry(module):
            continue
        if any(_named_in_a_string(module, other) for other in modules):
            continue
        left.add(id(module))
    return left


def _is_entry(module: Module) -> bool:
    name = module.source.path.name
    if name.startswith("test_") or name.endswith("_test.py"):
        return True
    if name in ("conftest.py", "__main__.py"):
        return True
    for node in walk(module.tree):
        if isinstance(node, ast.Call) and last_name(node.func) in _ENTRY_CALLS:
            return True
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for decorator in node.decorator_list:
                target = (
                    decorator.func if isinstance(decorator, ast.Call) else decorator
                )
                if last_name(target) in _ROUTE_DECORATORS | _ENTRY_CALLS:
                    return True
    return False


def _named_in_a_string(module: Module, other: Module) -> bool:
    """`"app.main:app"`, Celery's `include=["app.jobs"]` in another module."""
    if other is module:
        return False
    text = other.source.text
    for name in module.names:
        if "." not in name or name not in text:
            continue
        for node in walk(other.tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                value = node.value.partition(":")[0]
                if value == name or value.startswith(name + "."):
                    return True
    return False
