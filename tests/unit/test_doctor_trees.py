"""Holding only some syntax trees changes nothing doctor reports (issue 21).

`tree_budget=1` lets every tree go at every checkpoint, so each is parsed again
whenever a rule needs it: the reports must be the same as with every tree held.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.unit.doctor_helpers import CASES, materialize
from uowgen._doctor import DoctorReport, _files, run_doctor
from uowgen._doctor._files import SourceFile, read_source
from uowgen._doctor._symbols import (
    ClassInfo,
    FunctionInfo,
    Project,
    Value,
    build_module,
)
from uowgen._doctor._trees import TreeStore

ALL_CASES = sorted(
    p for group in CASES.iterdir() if group.is_dir() for p in group.iterdir()
)


def _report(report: DoctorReport) -> tuple[object, ...]:
    return (
        [(f, f.path, f.related, f.confidence, f.why_low) for f in report.findings],
        report.warnings,
        report.not_checked,
        report.files,
    )


def _count_parses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    count = [0]
    parse = _files._parse

    def counted(source: str | bytes, path: Path) -> ast.Module:
        count[0] += 1
        return parse(source, path)

    monkeypatch.setattr(_files, "_parse", counted)
    return count


def _every_case(tmp_path: Path) -> Path:
    """Every doctor case in one folder: one codebase."""
    root = tmp_path / "cases"
    for case in ALL_CASES:
        materialize(case, root / case.parent.name)
    return root


def test_every_case_at_once_is_reported_the_same_with_every_tree_let_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _every_case(tmp_path)
    held = run_doctor([root], cwd=root, jobs=1, use_config=False)
    parses = _count_parses(monkeypatch)

    let_go = run_doctor([root], cwd=root, jobs=1, use_config=False, tree_budget=1)

    assert held.findings, "the cases have findings to compare"
    assert _report(let_go) == _report(held)
    assert parses[0] > let_go.files, "trees were let go and parsed again"


def test_holding_every_tree_lets_none_go_and_reports_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _every_case(tmp_path)
    (root / "pyproject.toml").write_text(
        "[tool.uowgen.doctor]\nhold-all-trees = true\n", encoding="utf-8"
    )
    let_go = [0]
    forget = _files.SourceFile.forget_tree

    def counted(source: _files.SourceFile) -> None:
        let_go[0] += 1
        forget(source)

    monkeypatch.setattr(_files.SourceFile, "forget_tree", counted)
    some = run_doctor([root], cwd=root, jobs=1, hold_all_trees=False, tree_budget=1)
    assert let_go[0] > 0
    let_go[0] = 0

    every = run_doctor([root], cwd=root, jobs=1)  # the config's hold-all-trees

    assert _report(every) == _report(some)
    assert let_go[0] == 0


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_each_case_is_reported_the_same_with_every_tree_let_go(
    case: Path, tmp_path: Path
) -> None:
    root = materialize(case, tmp_path)

    held = run_doctor([root], cwd=tmp_path, jobs=1, use_config=False)
    let_go = run_doctor([root], cwd=tmp_path, jobs=1, use_config=False, tree_budget=1)

    assert _report(let_go) == _report(held)


def _project(tmp_path: Path, files: dict[str, str]) -> tuple[Project, TreeStore]:
    project, store = Project(), TreeStore(budget=1)
    for order, (name, text) in enumerate(files.items()):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        source = read_source(path, name)
        assert isinstance(source, SourceFile)
        module = build_module(source, tmp_path)
        project.add(module, order)
        store.hold(module)
    return project, store


def test_a_tree_let_go_is_parsed_again_and_its_symbols_find_their_nodes(
    tmp_path: Path,
) -> None:
    project, store = _project(
        tmp_path,
        {
            "a.py": "import b\n\nclass Repo:\n    def get(self):\n        return 1\n",
            "b.py": "LIMIT = compute(3)\n\n\nasync def fetch():\n    pass\n",
        },
    )
    a, b = project.modules
    store.checkpoint()

    assert store.held == 1, "all but the newest tree let go (a budget of 1)"
    assert not a.source.has_tree
    repo = project.resolve_name(a, "Repo")
    assert isinstance(repo, ClassInfo)
    method = project.class_member(repo, "get")
    assert isinstance(method, FunctionInfo)
    assert method.node.name == "get"
    assert (method.node.lineno, method.node.col_offset) == method.at
    assert a.source.reparsed == 1
    limit = project.resolve_name(b, "LIMIT")
    assert isinstance(limit, Value)
    assert ast.unparse(limit.expr) == "compute(3)"
    fetch = project.resolve_name(b, "fetch")
    assert isinstance(fetch, FunctionInfo)
    assert fetch.is_async
    assert fetch.name == "fetch"


def test_trees_used_since_the_last_checkpoint_are_let_go_last(tmp_path: Path) -> None:
    project, store = _project(
        tmp_path, {f"m{i}.py": f"def f{i}():\n    return {i}\n" for i in range(4)}
    )
    first = project.modules[0]
    store.budget = 2 * len(first.source.text)  # room for about two trees
    first.tree  # noqa: B018 - used: kept over the others held

    store.checkpoint()

    assert first.source.has_tree
    assert not project.modules[1].source.has_tree


def test_the_modules_are_put_back_in_the_files_order(tmp_path: Path) -> None:
    project = Project()
    modules = []
    for name in ("a.py", "b.py", "c.py"):
        path = tmp_path / name
        path.write_text("def fixture():\n    pass\n", encoding="utf-8")
        source = read_source(path, name)
        assert isinstance(source, SourceFile)
        modules.append(build_module(source, tmp_path))
    for order in (2, 0, 1):
        project.add(modules[order], order)

    project.sort()

    assert project.modules == modules
    assert [f.module for f in project.functions_named("fixture")] == modules


PARTS = (
    "import x\r\n"
    "\r\n"
    "@decorate(1)\r\n"
    "class Service(Base):\r\n"
    '    """A docstring."""\r\n'
    "\r\n"
    "    limit = compute(2)\r\n"
    "\r\n"
    "    @staticmethod\r\n"
    "    async def fetch(client):  # a comment\r\n"
    '        text = """\r\n'
    "at column 0\r\n"
    '"""\r\n'
    "        return await client.get(\r\n"
    "            text)\r\n"
    "\r\n"
    "    class Inner:\r\n"
    "        def deep(self): pass\r\n"
    "\r\n"
    "class Tabbed:\r\n"
    "\tdef tabbed(self):\r\n"
    "\t\treturn 1\r\n"
    "\r\n"
    "class OneLine: size = 3; other = 4\r\n"
    "if x:\r\n"
    "    def maybe():\r\n"
    "        return 1\r\n"
)


def test_a_statement_parsed_alone_gives_the_nodes_of_the_whole_tree(
    tmp_path: Path,
) -> None:
    """Methods, decorators, nested classes, CRLF, tabs, strings at column 0."""
    project, store = _project(tmp_path, {"parts.py": PARTS, "other.py": "y = 1\n"})
    module = project.modules[0]
    whole = {
        (node.lineno, node.col_offset): ast.dump(node, include_attributes=True)
        for node in ast.walk(module.tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }
    project.modules[1].tree  # noqa: B018 - used last: the one tree kept
    store.checkpoint()
    assert not module.source.has_tree

    infos: list[FunctionInfo | ClassInfo] = [*project.functions(), *project.classes()]
    for info in infos:
        if info.module is module:
            node = info.node
            assert ast.dump(node, include_attributes=True) == whole[info.at]
    assert not module.source.has_tree, "only statements were parsed, not the file"
    one_line = project.resolve_name(module, "OneLine")
    assert isinstance(one_line, ClassInfo)
    size = project.class_member(one_line, "size")
    assert isinstance(size, Value)
    assert ast.unparse(size.expr) == "3"
