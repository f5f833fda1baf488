"""Line merges of one file with `git merge-file`, and the conflict markers left."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from uowgen._evolve.tree import _check_relative, _is_binary, _read
from uowgen.errors import UowgenError

# Conflict marker labels: who each side is, in the user's words.
OURS_LABEL = "yours"
BASE_LABEL = "last render"
THEIRS_LABEL = "new render"

_NO_GIT = "uowgen needs git for three-way merges: install git and run the command again"
# git merge-file exits with the number of conflicts, capped at 127; more is an error
# (git reports -1, which the shell sees as 255).
_MAX_CONFLICTS_EXIT = 127


@dataclass(frozen=True)
class MergeResult:
    """The output of one three-way merge."""

    content: bytes
    conflicts: int  # conflicting hunks; the markers are in `content`


def merge_file(*, base: bytes, ours: bytes, theirs: bytes) -> MergeResult:
    """Merge two edits of `base` line by line with `git merge-file`.

    Conflicts are written in diff3 style, labelled `yours`, `last render` and
    `new render`. An empty `base` stands for a file both sides added; its conflicts
    leave out the empty base section.

    Args:
        base: The common ancestor.
        ours: The user's version.
        theirs: The new render.

    Returns:
        The merged content and the number of conflicting hunks in it.

    Raises:
        UowgenError: git is missing or the merge fails.
    """
    git = _git_executable()
    style = ["--diff3"] if base else []
    labels = ["-L", OURS_LABEL, "-L", BASE_LABEL, "-L", THEIRS_LABEL]
    with tempfile.TemporaryDirectory(prefix="uowgen-merge-") as scratch:
        folder = Path(scratch)
        files = [folder / "ours", folder / "base", folder / "theirs"]
        try:
            for file, content in zip(files, (ours, base, theirs), strict=True):
                file.write_bytes(content)
        except OSError as exc:
            raise UowgenError(f"cannot prepare a merge in {folder}: {exc}") from exc
        try:
            result = subprocess.run(
                [git, "merge-file", "-p", *style, *labels, *map(str, files)],
                capture_output=True,
                cwd=folder,
                env=_git_env(),
                check=False,
            )
        except OSError as exc:
            raise UowgenError(f"{_NO_GIT} ({exc.strerror})") from exc
    if not 0 <= result.returncode <= _MAX_CONFLICTS_EXIT:
        detail = result.stderr.decode(errors="replace").strip()
        raise UowgenError(
            f"git merge-file failed (exit code {result.returncode}): {detail}"
        )
    return MergeResult(content=result.stdout, conflicts=result.returncode)


def keep_both_insertions(merged: bytes) -> bytes | None:
    """`merged` with each conflict where both sides only inserted lines resolved.

    Such a conflict (an empty `last render` section) becomes your lines then the
    new render's. None when another conflict remains: both sides changed lines
    that were there. Reads the markers `merge_file` writes (diff3 style).
    """
    lines = merged.decode("utf-8").split("\n")
    out: list[str] = []
    index = 0
    while index < len(lines):
        if lines[index] != f"<<<<<<< {OURS_LABEL}":
            out.append(lines[index])
            index += 1
            continue
        try:
            middle = lines.index(f"||||||| {BASE_LABEL}", index)
            split = lines.index("=======", middle)
            end = lines.index(f">>>>>>> {THEIRS_LABEL}", split)
        except ValueError:
            return None
        if split != middle + 1:
            return None  # the base had lines here: both sides changed them
        out += lines[index + 1 : middle] + lines[split + 1 : end]
        index = end + 1
    return "\n".join(out).encode("utf-8")


def has_conflict_markers(text: str) -> bool:
    """Whether `text` still holds a conflict left by a merge.

    See `conflict_marker_lines` for the rules.
    """
    return bool(conflict_marker_lines(text))


def conflict_marker_lines(text: str) -> list[int]:
    """The 1-based numbers of the lines that show an unresolved conflict.

    Rules, chosen so that ordinary files do not trip them:

    - a line starting with exactly seven `<` then a space or the line's end opens a
      conflict and is reported;
    - a line starting with exactly seven `>` then a space or the line's end closes
      it, and is reported only when no conflict is open (what is left when the user
      resolved half of it);
    - `=======` and `|||||||` lines are never reported on their own: Markdown and
      reStructuredText use such lines for headings and tables.

    Markers must start the line (git writes them there); a trailing carriage
    return is ignored, and eight or more `<` or `>` are not a marker.
    """
    found: list[int] = []
    is_open = False
    for number, line in enumerate(text.split("\n"), start=1):
        if _START_MARKER.match(line):
            found.append(number)
            is_open = True
        elif _END_MARKER.match(line):
            if not is_open:
                found.append(number)
            is_open = False
    return found


def find_conflict_markers(root: Path, paths: Iterable[str]) -> list[tuple[str, int]]:
    """Where unresolved conflict markers remain, as (path, line number) pairs.

    For `uowgen check`, which fails while any remain. Missing and binary files
    are skipped; the rules are those of `conflict_marker_lines`.

    Args:
        root: The project root.
        paths: POSIX paths relative to `root`, typically the generated files.

    Returns:
        The findings, sorted by path then line.

    Raises:
        UowgenError: A file cannot be read.
        ValueError: A path is not relative and inside the project.
    """
    found: list[tuple[str, int]] = []
    for path in sorted(set(paths)):
        _check_relative(path)
        target = root / path
        if target.is_symlink() or not target.is_file():
            continue
        content = _read(target, path)
        if _is_binary(content):
            continue
        lines = conflict_marker_lines(content.decode("utf-8"))
        found.extend((path, number) for number in lines)
    return found


_START_MARKER = re.compile(r"<{7}(?:[ \r]|$)")
_END_MARKER = re.compile(r">{7}(?:[ \r]|$)")


def _git_executable() -> str:
    git = shutil.which("git")
    if git is None:
        raise UowgenError(_NO_GIT)
    return git


def _git_env() -> dict[str, str]:
    """The environment minus git's repository and config overrides.

    The command line fixes the conflict style and labels; this keeps the user's and
    the system's git config (and any GIT_DIR a hook set) out of the merge.
    """
    env = {
        key: value for key, value in os.environ.items() if not key.startswith("GIT_")
    }
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    env["GIT_CONFIG_GLOBAL"] = os.devnull
    return env
