"""What `uowgen check` and `uowgen doctor` share in their reports.

The output formats, the escaping of GitHub's workflow commands, and the link to the
page that documents a finding's code. Each command keeps its own report shapes
(`uowgen._check.run`, `uowgen._doctor._report`); this module holds nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum
from typing import Final, Literal

# Where the documentation lives, relative to the repository root: one page per code.
DOCS_BASE: Final = "docs"
# A code's letters name the command that reports it, and its folder of pages.
DOCS_SECTIONS: Final = {"UOW": "doctor", "UG": "check"}
_CODE = re.compile(r"([A-Z]+)[0-9]+")


class ReportFormat(StrEnum):
    """The output formats of `--format` (`uowgen check` takes all but `sarif`)."""

    TEXT = "text"
    JSON = "json"
    GITHUB = "github"
    SARIF = "sarif"


def docs_link(code: str) -> str:
    """The page that documents `code`, relative to the repository root.

    `docs/doctor/UOW001.md` for a doctor rule, `docs/check/UG201.md` for a check
    finding.

    Raises:
        ValueError: `code` is neither a doctor's nor a check's code.
    """
    match = _CODE.fullmatch(code)
    section = DOCS_SECTIONS.get(match.group(1)) if match else None
    if section is None:
        raise ValueError(f"no documentation page for code {code!r}")
    return f"{DOCS_BASE}/{section}/{code}.md"


def counted(count: int, noun: str) -> str:
    """`1 finding`, `3 findings`: a count and its noun, plural unless one."""
    return f"{count} {noun}{'s' if count != 1 else ''}"


def github_data(text: str) -> str:
    """Escape a workflow command's message, as GitHub's runner unescapes it.

    The escapes of actions/toolkit's `command.ts`.
    """
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def github_property(text: str) -> str:
    """Escape a workflow command's property value (`:` and `,` too)."""
    return github_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotation(
    level: Literal["error", "warning"],
    message: str,
    properties: Iterable[tuple[str, str | int]],
) -> str:
    """One GitHub workflow command that annotates a file: `::error file=...::text`.

    Args:
        level: `error` or `warning`.
        message: The annotation's text (escaped here).
        properties: (name, value) pairs in the order to write them: `file`, `line`,
            `col`, `endLine`, `endColumn`, `title` (values escaped here).
    """
    shown = ",".join(
        f"{name}={github_property(str(value))}" for name, value in properties
    )
    command = f"{level} {shown}" if shown else level
    return f"::{command}::{github_data(message)}"
