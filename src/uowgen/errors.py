"""Errors a uowgen user can act on; the CLI prints their message and exits."""

from __future__ import annotations


class UowgenError(Exception):
    """A problem the user can fix; the CLI prints `message` and exits with `exit_code`."""

    exit_code: int = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SpecError(UowgenError):
    """The model spec is invalid; `problems` lists each finding with its location."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"{source}: invalid spec\n{lines}")
