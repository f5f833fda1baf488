"""A finding of `uowgen check`: its stable code, what is wrong, and the fix."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from uowgen._report import docs_link

# Every finding's kind and its stable code. Codes are never reused for another kind.
CODES: Final[Mapping[str, str]] = {
    "template-behind": "UG101",
    "template-ahead": "UG102",
    "version-unrecorded": "UG103",
    "release-available": "UG104",
    "spec-unapplied": "UG201",
    "spec-invalid": "UG202",
    "answers-invalid": "UG203",
    "wiring-missing": "UG301",
    "wiring-stale": "UG302",
    "wiring-file-missing": "UG303",
    "wiring-file-invalid": "UG304",
    "conflict-marker": "UG401",
    "reject-file": "UG402",
    "conflicts-listed": "UG403",
    "migration-drift": "UG501",
    "migration-failed": "UG502",
    "migrations-unchecked": "UG503",
    "project-not-installed": "UG504",
}


@dataclass(frozen=True)
class Finding:
    """One way the project is out of step.

    Attributes:
        code: Stable code, e.g. `UG201` (see `CODES`).
        kind: Stable name of the code, e.g. `spec-unapplied`.
        message: What is wrong, on one line.
        fix: The command (or edit) that fixes it.
        path: POSIX path relative to the project root, when the finding has one.
        line: 1-based line in `path`, when there is one.
    """

    code: str
    kind: str
    message: str
    fix: str
    path: str | None = None
    line: int | None = None

    @property
    def docs(self) -> str:
        """The page that documents the code (`docs/check/UG201.md`)."""
        return docs_link(self.code)

    def to_data(self) -> dict[str, Any]:
        """The finding as JSON data: every key always present."""
        return {
            "code": self.code,
            "kind": self.kind,
            "message": self.message,
            "fix": self.fix,
            "path": self.path,
            "line": self.line,
            "docs": self.docs,
        }


def finding(
    kind: str, message: str, fix: str, path: str | None = None, line: int | None = None
) -> Finding:
    """A finding of `kind`, with its code from `CODES`."""
    return Finding(CODES[kind], kind, message, fix, path, line)


def read_text(path: Path) -> str | None:
    """The file's text, or None when it cannot be read as UTF-8."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
