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
import re
from collections.abc import Sequence

from uowgen._doctor._symbols import Module, absolute_import
from uowgen._doctor._syntax import last_name

_DOTTED = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+(?::[\w.]+)?$")
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


def unimported(modules: Sequence[Module]) -> set[int]:
    """The ids of the modules that nothing imports and that are no entry point."""
    imported: set[str] = set()
    entries: set[int] = set()
    for module in modules:
        name = module.source.path.name
        if (
            name.startswith("test_")
            or name.endswith("_test.py")
            or name
            in (
                "conftest.py",
                "__main__.py",
            )
        ):
            entries.add(id(module))
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    imported.update(_prefixes(alias.name))
            elif isinstance(node, ast.ImportFrom):
                base = absolute_import(module, node.module, node.level)
                if base is None:
                    continue
                imported.update(_prefixes(base))
                imported.update(f"{base}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                if len(node.value) < 200 and _DOTTED.match(node.value):
                    imported.update(_prefixes(node.value.partition(":")[0]))
            elif isinstance(node, ast.Call):
                if last_name(node.func) in _ENTRY_CALLS:
                    entries.add(id(module))
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for decorator in node.decorator_list:
                    target = (
                        decorator.func if isinstance(decorator, ast.Call) else decorator
                    )
                    if last_name(target) in _ROUTE_DECORATORS | _ENTRY_CALLS:
                        entries.add(id(module))
    left = {
        id(module)
        for module in modules
        if id(module) not in entries
        and not any(name in imported for name in module.names)
    }
    if len(left) == len(modules):
        return set()  # loose files that import none of each other: no call to make
    return left


def _prefixes(dotted: str) -> list[str]:
    """`a`, `a.b`, `a.b.c` for `a.b.c`: importing it runs each package on the way."""
    parts = dotted.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]
