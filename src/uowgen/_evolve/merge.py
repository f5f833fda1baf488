"""Three-way merge of two renders into the user's project; knows nothing about copier.

`uowgen sync` (the spec changed) and `uowgen update` (the template changed) both render
the project twice: BASE, what it was last rendered from, and THEIRS, the new render.
This module merges THEIRS into OURS, the user's working tree, in two steps so that a
`--pretend` run and a real one can never disagree:

1. `plan_merge` reads OURS and decides, file by file, what to do (nothing is written);
2. `apply_plan` does it, one atomic write per file.

User edits are never lost and conflicts are never silent: an overlapping edit is
written with git-style conflict markers and listed in `MergePlan.conflicts`, and a
file the user deleted or edited is kept and listed. Line merges are done by
`git merge-file`, not by a hand-made diff3.
"""

from __future__ import annotations

import difflib
import os
import re
import secrets
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from uowgen.errors import UowgenError

Action = Literal[
    "create",  # generated for the first time: written
    "update",  # unedited by the user: the new render is written
    "merge",  # both sides changed different lines: the merged text is written
    "conflict",  # both sides changed the same lines: see `FileChange.new`
    "delete",  # no longer generated and unedited: removed
    "keep_edited",  # no longer generated but edited by the user: kept
    "keep_deleted",  # changed in the new render but deleted by the user: stays deleted
]

# Conflict marker labels: who each side is, in the user's words.
OURS_LABEL = "yours"
BASE_LABEL = "last render"
THEIRS_LABEL = "new render"

_NO_GIT = "uowgen needs git for three-way merges: install git and run the command again"
# git merge-file exits with the number of conflicts, capped at 127; more is an error
# (git reports -1, which the shell sees as 255).
_MAX_CONFLICTS_EXIT = 127


@dataclass(frozen=True)
class FileChange:
    """What the merge does, or reports, for one path.

    Attributes:
        path: POSIX path relative to the project root.
        action: What happens to the file.
        old: The file in the user's project when the plan was made (None if absent).
            `apply_plan` refuses to run if it changed since, and `diff_plan` diffs
            against it.
        new: The content `apply_plan` writes, None when it writes nothing. For a
            conflict this is the text with conflict markers, or None when markers
            cannot be written (binary file, earlier markers, something in the way)
            and the user's file is left as it is.
        note: Why a conflict or a kept file was not merged, for the user; empty
            when the action says it all.
    """

    path: str
    action: Action
    old: bytes | None = None
    new: bytes | None = None
    note: str = ""

    @property
    def writes(self) -> bool:
        """Whether `apply_plan` writes or removes this file."""
        return self.new is not None or self.action == "delete"


@dataclass(frozen=True)
class MergePlan:
    """Every path where the merge does or reports something, sorted by path.

    Paths that need nothing (the same on every side, or edited only by the user)
    are left out, so an empty plan means there is nothing to do.
    """

    changes: tuple[FileChange, ...]

    def _paths(self, action: Action) -> tuple[str, ...]:
        return tuple(change.path for change in self.changes if change.action == action)

    @property
    def conflicts(self) -> tuple[str, ...]:
        """Paths the user must resolve; the CLI exits 1 while there are any."""
        return self._paths("conflict")

    @property
    def created(self) -> tuple[str, ...]:
        """Paths generated for the first time."""
        return self._paths("create")

    @property
    def updated(self) -> tuple[str, ...]:
        """Unedited paths that take the new render."""
        return self._paths("update")

    @property
    def merged(self) -> tuple[str, ...]:
        """Paths where the user's edits and the new render were merged cleanly."""
        return self._paths("merge")

    @property
    def deleted(self) -> tuple[str, ...]:
        """Unedited paths that are no longer generated."""
        return self._paths("delete")

    @property
    def kept_edited(self) -> tuple[str, ...]:
        """Paths no longer generated but kept because the user edited them."""
        return self._paths("keep_edited")

    @property
    def kept_deleted(self) -> tuple[str, ...]:
        """Paths still generated but not brought back because the user deleted them."""
        return self._paths("keep_deleted")


@dataclass(frozen=True)
class MergeResult:
    """The output of one three-way merge."""

    content: bytes
    conflicts: int  # conflicting hunks; the markers are in `content`


def plan_merge(
    *,
    base: Mapping[str, bytes],
    theirs: Mapping[str, bytes],
    ours: Path,
    moves: Mapping[str, str] | None = None,
) -> MergePlan:
    """Decide how to merge the new render THEIRS into the user's project OURS.

    Nothing is written. Per path:

    - only in THEIRS (newly generated): created if absent from OURS; if OURS has a
      different file there, both are merged as if added on both sides.
    - in BASE and THEIRS: if only one side changed it, that side wins (`update`, or
      nothing); if both did, the lines are merged (`merge`, or `conflict` with
      markers). A file the user deleted stays deleted, and is reported
      (`keep_deleted`) when the new render changed it, so nothing new goes unseen.
    - only in BASE (no longer generated): deleted if unedited, else kept
      (`keep_edited`).

    Binary files are never line-merged: if both sides changed one, it is a conflict
    that keeps the user's file. A file that still has conflict markers from an
    earlier merge is not merged again until the user resolves them.

    Args:
        base: The render the project was last generated from, {path: content}.
        theirs: The new render, {path: content}.
        ours: The root of the user's project.
        moves: Files the new render generates under another name (a renamed
            model), {new path: old path}. The user's file at the old path is merged
            as if it were at the new path: the result goes there, with the user's
            edits, and the old path is removed.

    Returns:
        The plan, for `apply_plan` and `diff_plan`.

    Raises:
        UowgenError: `ours` is not a folder, a file cannot be read, or git is
            missing or fails when a merge is needed.
        ValueError: A render holds a path that is not relative and inside the
            project (a bug in the renderer, not something the user can fix).
    """
    _require_folder(ours)
    moves = dict(moves or {})
    base = dict(base)
    for new, old in moves.items():
        _check_relative(new)
        _check_relative(old)
        if new not in theirs or old not in base or new in base:
            raise ValueError(f"cannot move {old} to {new}: not a renamed render")
        base[new] = base.pop(old)
    changes: list[FileChange] = []
    for path in sorted(base.keys() | theirs.keys()):
        _check_relative(path)
        if path in moves:
            changes.extend(_plan_moved(path, moves[path], base, theirs, ours))
            continue
        found = _look(ours, path)
        if path not in theirs:
            change = _plan_removed(path, base[path], found)
        elif path not in base:
            change = _plan_added(path, theirs[path], found)
        else:
            change = _plan_kept(path, base[path], theirs[path], found)
        if change is not None:
            changes.append(change)
    return MergePlan(changes=tuple(sorted(changes, key=lambda c: c.path)))


def _plan_moved(
    new: str,
    old: str,
    base: Mapping[str, bytes],
    theirs: Mapping[str, bytes],
    ours: Path,
) -> list[FileChange]:
    """Merge the user's file at `old` into the render at `new`, and remove `old`."""
    there = _look(ours, new)
    if there.content is not None or there.odd:
        return [
            FileChange(
                new,
                "conflict",
                note=f"{new} exists already: move your {old} there by hand",
            )
        ]
    found = _look(ours, old)
    if found.odd:
        return [FileChange(new, "conflict", note=f"{old}: {found.odd}")]
    if found.content is None:
        # Deleted by the user: it stays deleted under its new name too.
        return [FileChange(new, "keep_deleted")]
    change = _plan_kept(new, base[new], theirs[new], found)
    if change is None:  # the user's file as it is, under its new name
        change = FileChange(new, "merge", new=found.content)
    elif change.new is None:  # a conflict that cannot be written: keep it where it is
        return [change]
    # `old` in a change is what its own path holds now: nothing at the new path.
    moved = FileChange(
        new, change.action, old=None, new=change.new, note=f"moved from {old}"
    )
    removed = FileChange(old, "delete", old=found.content, note=f"moved to {new}")
    return [moved, removed]


def apply_plan(plan: MergePlan, ours: Path) -> None:
    """Write the plan into the user's project.

    Each file is written atomically (a temporary file in the same folder, then
    renamed over the target), keeping the permissions of the file it replaces.
    Removed files take their now-empty parent folders with them, never the root.
    Paths not in the plan are never touched, and applying a plan twice is harmless.

    Args:
        plan: A plan from `plan_merge`.
        ours: The project root the plan was made for.

    Raises:
        UowgenError: A file the plan would write or remove changed since the plan
            was made (nothing is written then), or a file cannot be written.
    """
    _require_folder(ours)
    moved = [
        change.path
        for change in plan.changes
        if change.writes and not _still_as_planned(change, ours)
    ]
    if moved:
        listed = "\n".join(f"  - {path}" for path in moved)
        raise UowgenError(
            "these files changed after the merge was planned, so nothing was "
            f"written:\n{listed}\nRun the command again to merge the current files."
        )
    writes = [
        (change.path, change.new) for change in plan.changes if change.new is not None
    ]
    for path, content in writes:
        _write_atomically(ours, path, content)
    for change in plan.changes:
        if change.action == "delete":
            _remove(ours, change.path)


def diff_plan(plan: MergePlan) -> str:
    """A unified diff of everything `apply_plan` would write, for `--pretend`.

    The diff is made from the contents recorded in the plan, so it shows exactly
    what applying that plan does. Binary files get a one-line notice.

    Args:
        plan: A plan from `plan_merge`.

    Returns:
        The diff text; empty when the plan writes nothing.
    """
    parts: list[str] = []
    for change in plan.changes:
        if change.writes:
            after = None if change.action == "delete" else change.new
            parts.append(_unified_diff(change.path, change.old, after))
    return "".join(parts)


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


@dataclass(frozen=True)
class _Found:
    """What the user's project has at a path."""

    content: bytes | None  # None when absent, or when `odd`
    odd: str = ""  # why it is not a plain file (link, folder...): never read or written
    blocked: str = ""  # why it is absent and cannot be created: a parent is a file


def _look(root: Path, path: str) -> _Found:
    for parent in reversed(PurePosixPath(path).parents[:-1]):
        folder = root / parent
        if folder.is_dir():  # a linked folder is a folder too
            continue
        if folder.exists() or folder.is_symlink():
            return _Found(None, blocked=f"{parent} is a file in your project")
        return _Found(None)  # its parent folder is missing, so is the file
    target = root / path
    if target.is_symlink():
        return _Found(None, odd="it is a symbolic link, which uowgen does not write")
    if not target.exists():
        return _Found(None)
    if not target.is_file():
        return _Found(None, odd="it is not a regular file in your project")
    return _Found(_read(target, path))


def _plan_added(path: str, theirs: bytes, found: _Found) -> FileChange | None:
    """A path generated for the first time."""
    if found.odd:
        return FileChange(path, "conflict", note=found.odd)
    if found.content is None:
        if found.blocked:
            return FileChange(path, "conflict", note=found.blocked)
        return FileChange(path, "create", new=theirs)
    if found.content == theirs:
        return None
    return _merge_both_changed(path, b"", found.content, theirs)


def _plan_kept(
    path: str, base: bytes, theirs: bytes, found: _Found
) -> FileChange | None:
    """A path generated before and now."""
    if theirs == base:
        return None  # whatever the user did to it stands
    if found.odd:
        return FileChange(path, "conflict", note=found.odd)
    ours = found.content
    if ours is None:
        return FileChange(path, "keep_deleted", note=found.blocked)
    if ours == theirs:
        return None
    if ours == base:
        return FileChange(path, "update", old=ours, new=theirs)
    return _merge_both_changed(path, base, ours, theirs)


def _plan_removed(path: str, base: bytes, found: _Found) -> FileChange | None:
    """A path generated before but not now."""
    if found.odd:
        return FileChange(path, "keep_edited", note=found.odd)
    if found.content is None:
        return None
    if found.content == base:
        return FileChange(path, "delete", old=found.content)
    return FileChange(path, "keep_edited", old=found.content)


def _merge_both_changed(
    path: str, base: bytes, ours: bytes, theirs: bytes
) -> FileChange | None:
    """A path both the user and the new render changed."""
    if any(_is_binary(content) for content in (base, ours, theirs)):
        note = "a binary file changed on both sides; yours was kept"
        return FileChange(path, "conflict", old=ours, note=note)
    if has_conflict_markers(ours.decode("utf-8")):
        # Merging again would nest markers; the user resolves the first ones first.
        note = "it still has conflict markers; resolve them, then run this again"
        return FileChange(path, "conflict", old=ours, note=note)
    _git_executable()  # a missing git is not this file's problem: no path prefix
    try:
        result = merge_file(base=base, ours=ours, theirs=theirs)
    except UowgenError as exc:
        raise UowgenError(f"{path}: {exc.message}") from exc
    if result.conflicts:
        return FileChange(path, "conflict", old=ours, new=result.content)
    if result.content == ours:  # the new render's change is already in yours
        return None
    return FileChange(path, "merge", old=ours, new=result.content)


def _still_as_planned(change: FileChange, root: Path) -> bool:
    """Whether the file is as the plan found it, or as applying the plan leaves it."""
    found = _look(root, change.path)
    if found.odd:
        return False
    if found.content == change.old:
        return True
    if change.action == "delete":
        return found.content is None
    return found.content == change.new


def _write_atomically(root: Path, path: str, content: bytes) -> None:
    target = root / path
    try:
        if target.is_file():
            if target.read_bytes() == content:
                return
            mode: int | None = stat.S_IMODE(target.stat().st_mode)
        else:
            mode = None
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.uowgen")
        # O_EXCL: never clobber a file that happens to have this name; 0o666 lets the
        # umask decide a new file's permissions, as for any file the user creates.
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        descriptor = os.open(temporary, flags, 0o666)
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(content)
                file.flush()
                os.fsync(file.fileno())
            if mode is not None:
                temporary.chmod(mode)
            temporary.replace(target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise UowgenError(f"{path}: cannot write it: {exc.strerror}") from exc


def _remove(root: Path, path: str) -> None:
    try:
        (root / path).unlink(missing_ok=True)
    except OSError as exc:
        raise UowgenError(f"{path}: cannot remove it: {exc.strerror}") from exc
    for parent in PurePosixPath(path).parents[:-1]:  # never "." (the root)
        try:
            (root / parent).rmdir()
        except OSError:  # not empty (or not a folder): stop pruning here
            break


def _require_folder(root: Path) -> None:
    if not root.is_dir():
        raise UowgenError(f"{root} is not a folder")


def _check_relative(path: str) -> None:
    pure = PurePosixPath(path)
    if (
        not path
        or "\\" in path
        or pure.is_absolute()
        or pure.as_posix() != path
        or any(part in {".", ".."} for part in pure.parts)
    ):
        raise ValueError(f"not a normalised relative POSIX path: {path!r}")


def _read(target: Path, path: str) -> bytes:
    try:
        return target.read_bytes()
    except OSError as exc:
        raise UowgenError(f"{path}: cannot read it: {exc.strerror}") from exc


def _is_binary(content: bytes) -> bool:
    if b"\0" in content:
        return True
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


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


def _unified_diff(path: str, before: bytes | None, after: bytes | None) -> str:
    source = f"a/{path}" if before is not None else "/dev/null"
    target = f"b/{path}" if after is not None else "/dev/null"
    if any(_is_binary(content) for content in (before, after) if content is not None):
        return f"Binary files {source} and {target} differ\n"
    lines = difflib.unified_diff(
        _lines(before), _lines(after), fromfile=source, tofile=target
    )
    return "".join(
        line if line.endswith("\n") else f"{line}\n\\ No newline at end of file\n"
        for line in lines
    )


def _lines(content: bytes | None) -> list[str]:
    """The lines of `content` with their newlines; split on newlines only, as git does."""
    if content is None:
        return []
    *complete, last = content.decode("utf-8").split("\n")
    return [f"{line}\n" for line in complete] + ([last] if last else [])
