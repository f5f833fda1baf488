"""What a doctor run reports: findings, files it could not check, and counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from uowgen._doctor._files import FileWarning
from uowgen._doctor._rules import RULES_BY_CODE, Rule


@dataclass(frozen=True)
class Location:
    """Another place a finding involves, with what happens there."""

    display: str
    line: int
    column: int
    message: str


@dataclass(frozen=True, order=True)
class Finding:
    """One place where a rule is broken."""

    display: str
    line: int
    column: int
    code: str
    message: str
    end_line: int
    end_column: int
    path: Path = field(compare=False)
    # The external call, the transaction's start, the session's origin: each where
    # it is (JSON `related`, SARIF `relatedLocations`).
    related: tuple[Location, ...] = field(default=(), compare=False)
    # "low" where a request-path rule's harm reaches no request: in test code, or
    # in a module nothing imports that is no entry point. `why_low` says which.
    confidence: str = field(default="high", compare=False)
    why_low: str = field(default="", compare=False)

    @property
    def rule(self) -> Rule:
        """The rule broken."""
        return RULES_BY_CODE[self.code]


@dataclass(frozen=True)
class DoctorReport:
    """The result of checking a codebase."""

    findings: tuple[Finding, ...]
    warnings: tuple[FileWarning, ...]
    files: int
    selected: frozenset[str]
    config: Path | None = None
    # Files that could not be read or parsed (UOW000 reports them unless ignored).
    not_checked: tuple[FileWarning, ...] = ()
    # Findings in code nothing imports, left out by `skip-unimported`.
    skipped_unimported: int = 0

    @property
    def ok(self) -> bool:
        """No findings (a file that could not be parsed is one: UOW000)."""
        return not self.findings
