"""Upgrade steps: what a template change needs beyond a re-render and a merge.

The three-way merge of `uowgen update` carries a user's edits from the old render to
the new one, file by file. Some changes need more, in the spirit of copier's
`_migrations`: a file the template moved (the merge must carry the edits to its new
path) or a setting it renamed (the user's own `.env` files still say the old name).
Each step belongs to the version that made the change and runs when an update
crosses that version; what it changes is part of the update's plan, so `--pretend`
shows it and a refusal (dirty tree, open conflicts) leaves it undone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from packaging.version import Version

# {path relative to the root: new content} for files outside the merge.
Edits = dict[str, bytes]


@dataclass(frozen=True)
class UpgradeStep:
    """One change of the template that a re-render alone does not carry.

    Attributes:
        version: The version that made the change.
        summary: What changed and what the user may still have to do, one line.
        moves: Files the template moved: {old path: new path}, `{package}` standing
            for the project's package name.
        edit: Rewrites files the template does not render (given the project's
            root), returning only the files it changes.
    """

    version: str
    summary: str
    moves: Mapping[str, str] = field(default_factory=dict)
    edit: Callable[[Path], Edits] | None = None


def _rename_env_variables(renames: Mapping[str, str]) -> Callable[[Path], Edits]:
    """An edit renaming variables in the project's `.env` files (`.env`, `.env.*`)."""
    pattern = re.compile(
        r"^(?P<lead>\s*(?:export\s+)?)(?P<name>"
        + "|".join(re.escape(old) for old in renames)
        + r")(?P<tail>\s*=)",
        re.IGNORECASE | re.MULTILINE,
    )

    def edit(root: Path) -> Edits:
        edits: Edits = {}
        for path in sorted(root.glob(".env*")):
            if not path.is_file():
                continue
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue  # not a text file we can rewrite safely
            new = pattern.sub(
                lambda m: m["lead"] + renames[m["name"].upper()] + m["tail"], text
            )
            if new != text:
                edits[path.name] = new.encode("utf-8")
        return edits

    return edit


STEPS: tuple[UpgradeStep, ...] = (
    UpgradeStep(
        version="0.3.0",
        summary=(
            "settings: DB_POOL_TIMEOUT and DB_CONNECT_TIMEOUT are now "
            "DB_POOL_TIMEOUT_S and DB_CONNECT_TIMEOUT_S (seconds); .env files are "
            "rewritten, and the old names are still read: rename them in your "
            "deployment's environment too"
        ),
        edit=_rename_env_variables(
            {
                "DB_POOL_TIMEOUT": "DB_POOL_TIMEOUT_S",
                "DB_CONNECT_TIMEOUT": "DB_CONNECT_TIMEOUT_S",
            }
        ),
    ),
)


def steps_between(
    old: str, new: str, steps: tuple[UpgradeStep, ...] = STEPS
) -> list[UpgradeStep]:
    """The steps an update from `old` to `new` crosses, oldest first."""
    low, high = Version(old), Version(new)
    crossed = [step for step in steps if low < Version(step.version) <= high]
    return sorted(crossed, key=lambda step: Version(step.version))


def moves_of(steps: list[UpgradeStep], package: str) -> dict[str, str]:
    """The moves of `steps` as the merge takes them: {new path: old path}.

    A file moved twice (a → b, then b → c) moves once, from a to c.
    """
    moved: dict[str, str] = {}  # current path: original path
    for step in steps:
        for old, new in step.moves.items():
            old_path, new_path = (p.replace("{package}", package) for p in (old, new))
            moved[new_path] = moved.pop(old_path, old_path)
    return moved


def edits_of(steps: list[UpgradeStep], root: Path) -> Edits:
    """What the steps' edits change in the project at `root`, in order."""
    edits: Edits = {}
    for step in steps:
        if step.edit is not None:
            edits.update(step.edit(root))
    return edits
