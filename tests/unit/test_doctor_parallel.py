"""doctor's speed work (issue 21) changes nothing it reports: the modules checked in
forked workers give the findings one process gives, the faster rewrite of newer
syntax is the rewrite of the whole module, and the faster tree walks visit the
same nodes in the same order."""

from __future__ import annotations

import ast
import fnmatch
import gc
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import libcst as cst
import pytest

from tests.unit.doctor_helpers import CASES, materialize
from tests.unit.test_doctor_modern import HEADER, MODERN
from uowgen._doctor import _modern, _run, run_doctor
from uowgen._doctor._external import _matches
from uowgen._doctor._flow import _post_order
from uowgen._doctor._inference import _block_statements, _statement_nodes
from uowgen._doctor._model import DoctorReport
from uowgen._doctor._parallel import can_fork, forked
from uowgen._doctor._syntax import (
    child_nodes,
    node_children,
    own_nodes,
    statements,
    walk,
)

SOURCES = sorted(Path(_run.__file__).parent.glob("*.py"))


def _all_cases(into: Path) -> Path:
    """Every case of tests/doctor_cases as one codebase."""
    root = into / "cases"
    for group in ("rules", "recall", "precision", "locations"):
        for case in sorted((CASES / group).iterdir()):
            materialize(case, root / group)
    return root


def _everything(report: DoctorReport) -> list[tuple[Any, ...]]:
    return [(f, f.path, f.related, f.confidence) for f in report.findings] + [
        (w,) for w in report.warnings
    ]


@pytest.mark.skipif(not can_fork(), reason="no fork on this system")
def test_checking_in_workers_finds_what_one_process_finds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _all_cases(tmp_path)
    serial = run_doctor([root], use_config=False, cwd=root, jobs=1)

    forks: list[int] = []
    real: Callable[..., Any] = forked

    def counted(work: Callable[[int], Any], shares: int, meanwhile: Any) -> Any:
        forks.append(shares)
        return real(work, shares, meanwhile)

    monkeypatch.setattr(_run, "PARALLEL_FROM", 1)  # the cases are a small codebase
    monkeypatch.setattr(_run, "forked", counted)
    parallel = run_doctor([root], use_config=False, cwd=root, jobs=3)

    # Newer syntax rewritten in two workers; UOW003 checked in two, the rest here.
    assert forks == [2, 2]
    assert len(serial.findings) > 20
    assert len({f.code for f in serial.findings}) >= 7  # most rules find something
    assert _everything(parallel) == _everything(serial)


def test_a_small_codebase_is_checked_in_this_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _all_cases(tmp_path)
    forks: list[int] = []
    monkeypatch.setattr(_run, "forked", lambda *_: forks.append(1))

    run_doctor([root], use_config=False, cwd=root, jobs=4)

    assert forks == []


def _whole_module(text: str) -> str:
    """The rewrite as it was: one walk of the whole module."""
    module = cst.parse_module(text)
    return _modern._apply(text, _modern._edits(module, text))


# Classes and functions rewritten part by part: the header, then each statement of
# the body that the old grammar cannot read.
BY_PART = {
    "class_with_one_newer_method": """
@decorate(f"{x}")
class Service(Base):  # a comment after the colon
    "A docstring."

    limit = 3

    async def run(self, d: dict) -> None:
        await self.session.execute(f"select {d["column"]}")

    def plain(self) -> None:
        pass

    # a comment at the end of the class
""",
    "generic_class_generic_method": """
class Box[T](Generic):
    value: T

    def get[U](self, default: U) -> T | U:
        try:
            return self.value
        except KeyError, IndexError:
            return default

    def put(self, value: T) -> None:
        self.value = value
""",
    "generic_class_header_only": """
class Repository[M: Base, K = int]:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
""",
    "function_with_a_newer_block": """
async def handle[T](session: AsyncSession, items: list[T]) -> None:
    for item in items:
        print(f"{item["name"]!r:>{10}}")
    async with session.begin():
        await session.execute(t"select {items}")
""",
    "newer_decorator": """
@route(f"/{PREFIX["v1"]}/items")
def items() -> list[int]:
    return [1]
""",
}


@pytest.mark.parametrize("name", sorted(MODERN) + sorted(BY_PART))
@pytest.mark.parametrize(
    "variant", ["as written", "no last line break", "CRLF", "newer statement last"]
)
def test_rewriting_only_the_newer_statements_is_the_whole_rewrite(
    name: str, variant: str
) -> None:
    body = MODERN.get(name) or BY_PART[name]
    source = HEADER + "\nimport os\n\n\n" + body + "\n# the end\nx = 1\n"
    if variant == "newer statement last":
        source = (HEADER + body).rstrip("\n")
    if variant == "no last line break":
        source = source.rstrip("\n")
    elif variant == "CRLF":
        source = source.replace("\n", "\r\n")
    module = cst.parse_module(source)

    edits = _modern._statement_edits(module, source)

    assert edits is not None, "each statement was placed in the text"
    assert edits, "the newer statement was rewritten"
    assert _modern.downgrade(source) == _whole_module(source)
    ast.parse(_modern.downgrade(source))


@pytest.mark.parametrize("name", sorted(BY_PART))
def test_classes_and_functions_are_rewritten_by_part(name: str) -> None:
    module = cst.parse_module(BY_PART[name].lstrip("\n"))
    statement = module.body[0]
    assert isinstance(statement, cst.ClassDef | cst.FunctionDef)
    assert isinstance(statement.body, cst.IndentedBlock)
    code = module.code_for_node(statement)

    edits = _modern._edits_by_part(module, statement, statement.body, code)

    assert edits is not None, "the header and each statement were placed in the code"
    whole = _modern._edits(module, module.code)
    assert _modern._apply(code, edits) == _modern._apply(code, whole)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_the_tree_walks_are_the_standard_ones(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))

    assert list(walk(tree)) == list(ast.walk(tree))
    for node in ast.walk(tree):
        assert child_nodes(node) == list(ast.iter_child_nodes(node))


# Every statement that has a body, with `:=` in places, for the walks below.
_STATEMENTS = """
async def f(a, *, b=g(c := 1)):
    x: int = (y := 2)
    if (z := h()) and not a:
        for i in range(3):
            while i < (j := 4):
                i += 1
            else:
                pass
        else:
            pass
    elif a is b:
        async with m() as n, o():
            async for k in n:
                await p(k, q=lambda r: (s := r))
    try:
        class C:
            def method(self):
                return [t for t in self]
    except* ValueError as e:
        raise e from None
    try:
        pass
    except (KeyError, (u := TypeError)):
        pass
    else:
        del x
    finally:
        yield -a + b
    match a:
        case [1, *rest] if (v := rest):
            w = {v: 1 for v in rest}
        case _:
            def inner():
                return (yield from ())
"""


def _reference_own_nodes(node: ast.AST) -> list[ast.AST]:
    """The walk `own_nodes` was: every node, contexts and operators too."""
    stack = list(node.body) if hasattr(node, "body") else child_nodes(node)
    out: list[ast.AST] = []
    while stack:
        current = stack.pop()
        out.append(current)
        if not isinstance(
            current, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda
        ):
            stack.extend(child_nodes(current))
    return out


def _reference_post_order(expr: ast.AST) -> list[ast.AST]:
    """The walk `_post_order` was: operands first, by a stack of pairs."""
    stack: list[tuple[ast.AST, bool]] = [(expr, False)]
    out: list[ast.AST] = []
    while stack:
        node, expanded = stack.pop()
        if expanded:
            out.append(node)
            continue
        stack.append((node, True))
        if not isinstance(node, ast.Lambda | ast.FunctionDef | ast.AsyncFunctionDef):
            stack.extend((child, False) for child in reversed(child_nodes(node)))
    return out


def _reference_statements(body: list[ast.stmt]) -> list[ast.stmt]:
    """The walk `statements` was: getattr of every block name on each statement."""
    stack = list(reversed(body))
    out: list[ast.stmt] = []
    while stack:
        stmt = stack.pop()
        out.append(stmt)
        nested: list[ast.stmt] = []
        for name in ("body", "orelse", "finalbody"):
            nested.extend(getattr(stmt, name, ()))
        for handler in getattr(stmt, "handlers", ()):
            nested.extend(handler.body)
        for case in getattr(stmt, "cases", ()):
            nested.extend(case.body)
        stack.extend(reversed(nested))
    return out


_CARRY_NOTHING = (ast.expr_context, ast.boolop, ast.operator, ast.unaryop, ast.cmpop)


@pytest.mark.parametrize(
    "source",
    [*(p for p in SOURCES if "def " in p.read_text(encoding="utf-8")), None],
    ids=lambda p: getattr(p, "name", "statements"),
)
def test_the_walks_without_operators_keep_every_other_node_in_order(
    source: Path | None,
) -> None:
    text = _STATEMENTS if source is None else source.read_text(encoding="utf-8")
    tree = ast.parse(text)
    functions = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
    ]
    assert functions
    assert list(statements(tree.body)) == _reference_statements(tree.body)

    for node in ast.walk(tree):
        expected = [c for c in child_nodes(node) if not isinstance(c, _CARRY_NOTHING)]
        assert node_children(node) == expected
        if isinstance(node, ast.expr):
            assert _post_order(node) == [
                n
                for n in _reference_post_order(node)
                if not isinstance(n, _CARRY_NOTHING)
            ]
    for function in functions:
        reference = _reference_own_nodes(function)
        assert own_nodes(function) == [
            n for n in reference if not isinstance(n, _CARRY_NOTHING)
        ]
        in_order = [n for s in function.body for n in _statement_nodes(s)]
        assert {id(n) for n in in_order} == {id(n) for n in own_nodes(function)}
        assert _block_statements(function.body) == [
            n
            for n in in_order
            if isinstance(n, ast.stmt | ast.excepthandler | ast.match_case)
        ]


def test_external_patterns_match_as_fnmatch_does() -> None:
    patterns = ("litellm.*", "openai.*Client", "stripe.?ustomer.create", "x.[ab]*")
    names = [
        "litellm.acompletion",
        "litellm",
        "openai.AsyncClient",
        "openai.AsyncClient.chat",
        "stripe.Customer.create",
        "stripe.customer.create",
        "x.a1",
        "x.c1",
        "",
    ]
    for name in names:
        expected = any(fnmatch.fnmatchcase(name, p) for p in patterns)
        assert _matches(patterns, name) is expected, name


@pytest.mark.skipif(not can_fork(), reason="no fork on this system")
def test_a_workers_exception_is_raised_here() -> None:
    def work(index: int) -> int:
        if index == 1:
            raise ValueError(f"share {index} failed")
        return index

    with pytest.raises(ValueError, match="share 1 failed"):
        forked(work, 3, lambda: None)


@pytest.mark.skipif(not can_fork(), reason="no fork on this system")
def test_a_worker_that_dies_has_its_share_done_here() -> None:
    here = os.getpid()
    ran: list[str] = []

    def work(index: int) -> int:
        if index == 1 and os.getpid() != here:
            os._exit(9)  # as if killed
        return index * 10

    assert forked(work, 3, lambda: ran.append("meanwhile")) == [0, 10, 20]
    assert ran == ["meanwhile"]


def test_a_run_keeps_none_of_its_trees(tmp_path: Path) -> None:
    root = _all_cases(tmp_path)

    def trees() -> int:
        gc.collect()
        return sum(isinstance(o, ast.AST) for o in gc.get_objects())

    before = trees()
    report = run_doctor([root], use_config=False, cwd=root, jobs=1)

    assert report.files > 30
    assert trees() <= before, "a syntax tree (or part of one) outlived the run"
