"""Find a generated project and read what it records about its last render.

A project keeps two records: `uowgen.yml`, the spec its owner edits, and copier's
`.copier-answers.yml`, the answers (the spec) and the uowgen version it was last
rendered from. `uowgen sync` applies the difference between the two.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from uowgen import _yaml
from uowgen._render.answers import ANSWERS_FILE, recorded_spec
from uowgen._spec.models import ProjectSpec
from uowgen._spec.validate import load_spec, parse_spec
from uowgen.errors import UowgenError

SPEC_FILE = "uowgen.yml"
VERSION_KEY = "_uowgen_version"
# Where a sync or an update that left conflicts lists their files, until resolved.
CONFLICTS_FILE = ".uowgen-conflicts"


@dataclass(frozen=True)
class Project:
    """A generated project on disk."""

    root: Path

    @property
    def spec_path(self) -> Path:
        """The spec its owner edits."""
        return self.root / SPEC_FILE

    @property
    def answers_path(self) -> Path:
        """Copier's record of the last render."""
        return self.root / ANSWERS_FILE

    def spec(self) -> ProjectSpec:
        """The spec in `uowgen.yml`, validated (SpecError names every problem)."""
        return load_spec(self.spec_path)

    def answers(self) -> dict[str, Any]:
        """The recorded answers of the last render."""
        try:
            data = _yaml.safe_load(self.answers_path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise UowgenError(
                f"{self.answers_path}: cannot read it: {exc}; restore it from git "
                f"(`git checkout -- {ANSWERS_FILE}`)"
            ) from exc
        if not isinstance(data, dict):
            raise UowgenError(
                f"{self.answers_path}: not a copier answers file; restore it from "
                f"git (`git checkout -- {ANSWERS_FILE}`)"
            )
        return data

    def rendered_spec(self) -> ProjectSpec:
        """The spec the project was last rendered from."""
        return parse_spec(recorded_spec(self.answers()), source=str(self.answers_path))

    def rendered_version(self) -> str | None:
        """The uowgen version that last rendered the project (None: not recorded)."""
        version = self.answers().get(VERSION_KEY)
        return str(version) if version is not None else None


def find_project(start: Path) -> Project:
    """The generated project holding `start`, found as git finds its repository.

    That is `start` or its nearest parent with both `uowgen.yml` and
    `.copier-answers.yml`.

    Raises:
        UowgenError: no such folder up to the file system's root.
    """
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / SPEC_FILE).is_file() and (folder / ANSWERS_FILE).is_file():
            return Project(folder)
    raise UowgenError(
        f"{start} is not inside a uowgen project (no folder up from it has both "
        f"{SPEC_FILE} and {ANSWERS_FILE}); run it in a project made by "
        "`uowgen new DST --spec SPEC`, or pass --project DIR"
    )


def uncommitted(root: Path, paths: list[str]) -> list[str] | None:
    """Which of `paths` have uncommitted changes in git; None outside a repository."""
    inside = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--show-toplevel"],
        capture_output=True,
        text=True,
        check=False,
    )
    if inside.returncode != 0:
        return None
    if not paths:
        return []
    status = subprocess.run(
        ["git", "-C", str(root), "status", "--porcelain", "-z", "--", *paths],
        capture_output=True,
        text=True,
        check=False,
    )
    if status.returncode != 0:
        raise UowgenError(
            f"git status failed in {root}: {status.stderr.strip()}; fix the "
            "repository (`git status` shows the error), then run the command again"
        )
    entries = [entry for entry in status.stdout.split("\0") if entry]
    # "XY path": untracked files ("??") count too: sync would overwrite them.
    return sorted(entry[3:] for entry in entries if len(entry) > 3)
