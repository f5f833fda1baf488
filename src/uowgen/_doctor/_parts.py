"""Parsing one part of a module alone: a top-level statement, or one of a class's.

A rule that follows a call into a module it is not checking needs one function of
it, or one value. When that module's tree is not held, only the statement that
holds the node is parsed, not the whole file: on a 700 KB module of services, a
method is a few hundred lines.

A part is parsed from the module's own lines, padded with blank lines so that
every node keeps its line and column; a statement of a class body is parsed
inside an `if 1:` block, at its own indentation.
"""

from __future__ import annotations

import ast
import bisect
from dataclasses import dataclass


@dataclass(frozen=True)
class Part:
    """Where a statement is: its first line (decorators included) and last line."""

    start: int
    end: int
    # In a class body: parsed inside a block.
    indented: bool = False
    # A class's body statements, each a part of its own.
    inner: tuple[Part, ...] = ()


@dataclass(frozen=True)
class Parts:
    """A module's parts, in order, to find the one holding a line."""

    parts: tuple[Part, ...]
    starts: tuple[int, ...]

    @classmethod
    def of(cls, tree: ast.Module) -> Parts:
        """The parts of a module's tree."""
        parts = tuple(
            Part(
                _first_line(stmt),
                stmt.end_lineno or stmt.lineno,
                inner=tuple(
                    Part(_first_line(s), s.end_lineno or s.lineno, indented=True)
                    for s in stmt.body
                )
                if isinstance(stmt, ast.ClassDef)
                else (),
            )
            for stmt in tree.body
        )
        return cls(parts, tuple(p.start for p in parts))

    def holding(self, line: int) -> Part | None:
        """The smallest part that holds the line, or None (the whole module does)."""
        index = bisect.bisect_right(self.starts, line) - 1
        if index < 0:
            return None
        part = self.parts[index]
        if line > part.end:
            return None
        for inner in part.inner:
            # A statement on the class's own line is parsed with the class.
            if inner.start <= line <= inner.end and inner.start > part.start:
                return inner
        return part


def part_source(code: str, part: Part) -> str:
    """The part's code (its lines), where it is in the module (blank lines above)."""
    if part.indented:
        return "\n" * (part.start - 2) + "if 1:\n" + code + "\n"
    return "\n" * (part.start - 1) + code + "\n"


def _first_line(stmt: ast.stmt) -> int:
    decorators: list[ast.expr] = getattr(stmt, "decorator_list", [])
    return min([stmt.lineno, *(d.lineno for d in decorators)])
