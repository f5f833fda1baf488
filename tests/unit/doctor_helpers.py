"""Helpers of the doctor tests: materialize a case, read its `# expect:` markers."""

from __future__ import annotations

import io
import shutil
import tokenize
from pathlib import Path

from uowgen._doctor import DoctorReport

REPO = Path(__file__).resolve().parent.parent.parent
CASES = REPO / "tests" / "doctor_cases"
_MARKER = "expect:"


def materialize(case: Path, into: Path) -> Path:
    """Copy a case (a `.py.txt` file or a folder of them) as Python files.

    Returns the copied file or folder.
    """
    into.mkdir(parents=True, exist_ok=True)
    if case.is_file():
        target = into / case.name.removesuffix(".txt")
        shutil.copyfile(case, target)
        return target
    root = into / case.name
    for source in case.rglob("*"):
        if source.is_file():
            target = root / source.relative_to(case)
            target = target.with_name(target.name.removesuffix(".txt"))
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    return root


def expected(root: Path) -> set[tuple[str, int, str]]:
    """(path, line, code) for each `# expect: CODE` comment in the Python files."""
    files = [root] if root.is_file() else sorted(root.rglob("*.py"))
    marks: set[tuple[str, int, str]] = set()
    for path in files:
        text = path.read_text(encoding="utf-8")
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT and _MARKER in token.string:
                codes = token.string.split(_MARKER, 1)[1].replace(",", " ").split()
                for code in codes:
                    marks.add((_name(path, root), token.start[0], code))
    return marks


def found(report: DoctorReport, root: Path) -> set[tuple[str, int, str]]:
    """(path, line, code) of each finding, paths relative to the case."""
    return {(_name(f.path, root), f.line, f.code) for f in report.findings}


def _name(path: Path, root: Path) -> str:
    if root.is_file():
        return path.name
    return path.resolve().relative_to(root.resolve()).as_posix()
