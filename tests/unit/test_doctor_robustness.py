"""uowgen doctor never crashes on valid Python: random modules, odd files, deep code.

The modules are random but valid ASTs (printed with `ast.unparse`), built from the
names and shapes the rules look at (sessions, Depends, HTTP clients, `with`,
`yield`, classes storing things on `self`), so the analysis paths are exercised,
not only the parser.
"""

from __future__ import annotations

import ast
import gc
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from uowgen._doctor import format_doctor_report, run_doctor
from uowgen._report import ReportFormat

NAMES = [
    "session",
    "db",
    "engine",
    "client",
    "uow",
    "tx",
    "self",
    "SessionLocal",
    "Session",
    "AsyncSession",
    "async_sessionmaker",
    "sessionmaker",
    "create_async_engine",
    "create_engine",
    "Depends",
    "httpx",
    "requests",
    "asyncio",
    "relationship",
    "User",
    "Repo",
    "get_session",
    "helper",
    "x",
]
ATTRS = [
    "execute",
    "commit",
    "rollback",
    "close",
    "get",
    "post",
    "begin",
    "add",
    "scalar",
    "dispose",
    "session",
    "users",
    "write",
    "read",
    "AsyncClient",
    "to_thread",
    "id",
    "refresh",
]
KEYWORDS = ["autocommit", "expire_on_commit", "lazy", "scope", "bind", "class_", None]
MODULES = [
    "sqlalchemy",
    "sqlalchemy.orm",
    "sqlalchemy.ext.asyncio",
    "fastapi",
    "httpx",
    "requests",
    "functools",
    "contextlib",
    "m0",
    "m1",
]


def _name(draw: Any) -> ast.expr:
    return ast.Name(draw(st.sampled_from(NAMES)), ast.Load())


@st.composite
def expressions(draw: Any, depth: int = 0, in_async: bool = False) -> ast.expr:
    choice = draw(st.integers(0, 6 if depth < 3 else 1))
    if choice == 0:
        return _name(draw)
    if choice == 1:
        return ast.Constant(
            draw(st.sampled_from([True, False, None, 1, "x", "select"]))
        )
    if choice == 2:
        return ast.Attribute(
            draw(expressions(depth + 1, in_async)),
            draw(st.sampled_from(ATTRS)),
            ast.Load(),
        )
    if choice in (3, 4):
        args = draw(st.lists(expressions(depth + 1, in_async), max_size=2))
        keywords = [
            ast.keyword(key, draw(expressions(depth + 1, in_async)))
            for key in draw(
                st.lists(st.sampled_from(KEYWORDS), max_size=2, unique=True)
            )
        ]
        return ast.Call(draw(expressions(depth + 1, in_async)), args, keywords)
    if choice == 5 and in_async:
        return ast.Await(draw(expressions(depth + 1, in_async)))
    empty = ast.arguments(
        posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[]
    )
    return ast.Lambda(empty, draw(expressions(depth + 1)))


@st.composite
def blocks(
    draw: Any, depth: int, function: str | None, in_class: bool = False
) -> list[ast.stmt]:
    size = draw(st.integers(1, 4 if depth < 2 else 2))
    return [draw(statements(depth, function, in_class)) for _ in range(size)]


@st.composite
def statements(
    draw: Any, depth: int, function: str | None, in_class: bool = False
) -> ast.stmt:
    in_async = function == "async"
    kinds = ["assign", "expr", "import"]
    if depth < 3:
        kinds += ["if", "with", "try", "for", "def", "class"]
    if function is not None:
        kinds += ["return", "yield", "attr_assign"]
    kind = draw(st.sampled_from(kinds))
    expr = expressions(0, in_async)
    if kind == "assign":
        name = draw(st.sampled_from(NAMES[:8] + ["x", "User"]))
        return ast.Assign([ast.Name(name, ast.Store())], draw(expr))
    if kind == "attr_assign":
        attribute = ast.Attribute(
            ast.Name("self", ast.Load()), draw(st.sampled_from(ATTRS)), ast.Store()
        )
        return ast.Assign([attribute], draw(expr))
    if kind == "expr":
        return ast.Expr(draw(expr))
    if kind == "import":
        module = draw(st.sampled_from(MODULES))
        name = draw(st.sampled_from(NAMES[7:]))
        return ast.ImportFrom(module, [ast.alias(name)], 0)
    if kind == "return":
        return ast.Return(draw(expr) if draw(st.booleans()) else None)
    if kind == "yield":
        return ast.Expr(ast.Yield(draw(expr)))
    if kind == "if":
        return ast.If(
            draw(expr),
            draw(blocks(depth + 1, function)),
            draw(blocks(depth + 1, function)) if draw(st.booleans()) else [],
        )
    if kind == "with":
        items = [
            ast.withitem(
                draw(expr), ast.Name(draw(st.sampled_from(NAMES[:6])), ast.Store())
            )
        ]
        body = draw(blocks(depth + 1, function))
        if in_async and draw(st.booleans()):
            return ast.AsyncWith(items, body)
        return ast.With(items, body)
    if kind == "try":
        handler = ast.ExceptHandler(
            ast.Name("Exception", ast.Load()),
            "error",
            draw(blocks(depth + 1, function)),
        )
        return ast.Try(
            draw(blocks(depth + 1, function)),
            [handler],
            [],
            draw(blocks(depth + 1, function)) if draw(st.booleans()) else [],
        )
    if kind == "for":
        return ast.For(
            ast.Name("item", ast.Store()),
            draw(expr),
            draw(blocks(depth + 1, function)),
            [],
        )
    if kind == "def":
        is_async = draw(st.booleans())
        args = [ast.arg("self")] if in_class else []
        for name in draw(st.lists(st.sampled_from(NAMES[:5]), max_size=2, unique=True)):
            annotation = draw(
                st.sampled_from([None, "AsyncSession", "Session", "Repo"])
            )
            args.append(
                ast.arg(name, ast.Name(annotation, ast.Load()) if annotation else None)
            )
        defaults = [draw(expressions(1))] if args and draw(st.booleans()) else []
        decorators: list[ast.expr] = [
            ast.Name(name, ast.Load())
            for name in draw(
                st.lists(
                    st.sampled_from(["lru_cache", "asynccontextmanager", "cache"]),
                    max_size=1,
                )
            )
        ]
        node_type = ast.AsyncFunctionDef if is_async else ast.FunctionDef
        body = draw(blocks(depth + 1, "async" if is_async else "sync"))
        return node_type(
            name=draw(
                st.sampled_from(["helper", "get_session", "write", "__aenter__"])
            ),
            args=ast.arguments(
                posonlyargs=[],
                args=args,
                kwonlyargs=[],
                kw_defaults=[],
                defaults=defaults,
            ),
            body=body,
            decorator_list=decorators,
        )
    bases: list[ast.expr] = [
        ast.Name(draw(st.sampled_from(["Repo", "User", "object"])), ast.Load())
    ]
    return ast.ClassDef(
        name=draw(st.sampled_from(["Repo", "User", "UnitOfWork"])),
        bases=bases,
        keywords=[],
        body=draw(blocks(depth + 1, None, in_class=True)),
        decorator_list=[],
    )


@st.composite
def modules(draw: Any) -> str:
    tree = ast.Module(draw(blocks(0, None)), [])
    source = ast.unparse(ast.fix_missing_locations(tree))
    try:
        compile(source, "<generated>", "exec")
    except SyntaxError:
        assume(False)  # e.g. `return` with a value in an async generator
    return source


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(first=modules(), second=modules())
def test_random_valid_modules_never_crash_the_doctor(
    first: str, second: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    root = tmp_path_factory.mktemp("random")
    (root / "m0.py").write_text(first, encoding="utf-8")
    (root / "m1.py").write_text(second, encoding="utf-8")

    report = run_doctor([root], use_config=False)

    assert report.warnings == ()
    lines = {"m0.py": first.count("\n") + 1, "m1.py": second.count("\n") + 1}
    for finding in report.findings:
        assert 1 <= finding.line <= lines[finding.path.name]
        assert finding.column >= 1
    for output in ReportFormat:
        format_doctor_report(report, output)


def test_code_nested_deeper_than_the_stack_is_a_warning_or_checked(
    tmp_path: Path,
) -> None:
    (tmp_path / "wide.py").write_text(
        "x = " + " + ".join(["session.execute()"] * 20_000) + "\n", encoding="utf-8"
    )
    (tmp_path / "deep.py").write_text(
        "x = " + "(" * 190 + "1" + ")" * 190 + "\n", encoding="utf-8"
    )
    (tmp_path / "chain.py").write_text(
        "x = session" + ".execute()" * 3_000 + "\n", encoding="utf-8"
    )

    report = run_doctor([tmp_path], use_config=False)

    assert report.files == 3


@pytest.mark.slow
def test_the_standard_library_never_crashes_the_doctor() -> None:
    stdlib = Path(ast.__file__).parent
    report = run_doctor([stdlib], use_config=False)

    # Files that do not parse (lib2to3's test data) are UOW000; nothing raises.
    assert report.files > 1000
    assert all("skipped" in w.message for w in report.warnings)
    assert all("cannot" in w.message for w in report.not_checked)


def test_the_collector_is_back_on_after_a_run(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n", encoding="utf-8")
    assert gc.isenabled()

    run_doctor([tmp_path], use_config=False)

    assert gc.isenabled()
