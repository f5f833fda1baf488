"""UG4xx: what merges leave behind: conflict markers, `.rej` files, a conflict list."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Final

from uowgen._check.findings import Finding, finding, read_text
from uowgen._evolve.line_merge import find_conflict_markers
from uowgen._evolve.project import CONFLICTS_FILE

# Folders never scanned outside git: environments, caches, other tools' trees.
SKIPPED_DIRS: Final = frozenset(
    {
        ".git",
        ".venv",
        "venv",
        "node_modules",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".tox",
        ".nox",
    }
)


def project_files(root: Path) -> list[str]:
    """The project's files, POSIX and relative to `root`.

    In git: the tracked files and the untracked ones that are not ignored. Else
    every file, except in `SKIPPED_DIRS`.
    """
    try:
        listed = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others"]
            + ["--exclude-standard"],
            capture_output=True,
            check=False,
        )
    except OSError:  # no git: walk the folder instead
        listed = None
    names = (
        listed.stdout.decode("utf-8", errors="surrogateescape").split("\0")
        if listed is not None and listed.returncode == 0
        else []
    )
    plain = {name for name in names if _is_plain_relative(name)}
    # Nothing listed: not a repository, or one that ignores the whole project.
    return sorted(plain) if plain else sorted(_walk(root))


def _walk(root: Path) -> Iterator[str]:
    for folder, dirs, files in os.walk(root):
        dirs[:] = [name for name in dirs if name not in SKIPPED_DIRS]
        for name in files:
            path = Path(folder, name)
            if not path.is_symlink():
                yield path.relative_to(root).as_posix()


def _is_plain_relative(path: str) -> bool:
    pure = PurePosixPath(path)
    return (
        bool(path)
        and "\\" not in path
        and pure.as_posix() == path
        and not (pure.is_absolute() or any(part in (".", "..") for part in pure.parts))
    )


def conflict_findings(root: Path, files: list[str] | None = None) -> list[Finding]:
    """Conflict markers, `.rej` files and a `.uowgen-conflicts` list.

    Args:
        root: The project root.
        files: The files to scan (default: `project_files(root)`).
    """
    if files is None:
        files = project_files(root)
    listed = root / CONFLICTS_FILE
    open_list = listed.is_file()
    resolve = (
        f"resolve the conflict (keep the right lines, delete the marker lines), "
        f"then delete {CONFLICTS_FILE}"
        if open_list
        else "resolve the conflict (keep the right lines, delete the marker lines)"
    )
    found = [
        finding(
            "conflict-marker",
            "unresolved conflict: a merge left git-style markers here",
            resolve,
            path,
            line,
        )
        for path, line in find_conflict_markers(root, files)
    ]
    found += [
        finding(
            "reject-file",
            f"a merge could not apply these changes to {path.removesuffix('.rej')}",
            f"apply its hunks to {path.removesuffix('.rej')} by hand, then delete "
            f"{path}",
            path,
        )
        for path in files
        if path.endswith(".rej") and (root / path).is_file()
    ]
    if open_list:
        paths = [line for line in (read_text(listed) or "").splitlines() if line]
        found.append(
            finding(
                "conflicts-listed",
                f"a sync left conflicts in {len(paths)} file"
                f"{'s' if len(paths) != 1 else ''}: {', '.join(paths) or 'none listed'}",
                f"resolve them, then delete {CONFLICTS_FILE}",
                CONFLICTS_FILE,
            )
        )
    return found
