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
`git merge-file` (`line_merge`), not by a hand-made diff3; the user's files are read
and written by `tree`. A Python file is first merged by statements (`py_merge`),
which keeps apart edits of different statements on neighbouring lines; its result
is taken only when it parses and ruff finds no new error in it, else the line
merge decides. `FileChange.how` says which merge made a file.
"""

from __future__ import annotations

import dataclasses
import difflib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from uowgen._evolve.line_merge import (
    _git_executable,
    has_conflict_markers,
    keep_both_insertions,
    merge_file,
)
from uowgen._evolve.py_merge import Candidate, merge_all_checked
from uowgen._evolve.tree import (
    _check_relative,
    _Found,
    _is_binary,
    _look,
    _remove,
    _require_folder,
    _write_atomically,
)
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
# Which merge made a "merge" or a "conflict": Python statements, lines, or lines
# with a TOML file's insertions at the same point kept (a dependency each side added).
How = Literal["statements", "lines", "toml", ""]


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
        how: For a merge or a conflict with markers: "statements" when the
            Python statement merge made it, "lines" when `git merge-file` did,
            "toml" when it did and both sides' insertions at one point in a TOML
            file were kept; empty otherwise.
    """

    path: str
    action: Action
    old: bytes | None = None
    new: bytes | None = None
    note: str = ""
    how: How = ""

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
    def merged_by_statements(self) -> tuple[str, ...]:
        """Merged paths the Python statement merge made (the rest: by lines)."""
        return tuple(
            change.path
            for change in self.changes
            if change.action == "merge" and change.how == "statements"
        )

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


def plan_merge(
    *,
    base: Mapping[str, bytes],
    theirs: Mapping[str, bytes],
    ours: Path,
    moves: Mapping[str, str] | None = None,
    by_statements: bool = True,
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
        by_statements: Merge Python files by statements first, and keep both
            sides' insertions at one point in TOML files (False: lines only, as
            uowgen 0.5.0 did; for comparisons).

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
    for path in base.keys() | theirs.keys():
        _check_relative(path)
    # Python files both sides changed, merged by statements all at once (one ruff
    # run checks them all); None when lines only.
    statements = _python_merges(base, theirs, ours, moves) if by_statements else None
    changes: list[FileChange] = []
    for path in sorted(base.keys() | theirs.keys()):
        if path in moves:
            changes.extend(
                _plan_moved(path, moves[path], base, theirs, ours, statements)
            )
            continue
        found = _look(ours, path)
        if path not in theirs:
            change = _plan_removed(path, base[path], found)
        elif path not in base:
            change = _plan_added(path, theirs[path], found)
        else:
            change = _plan_kept(path, base[path], theirs[path], found, statements)
        if change is not None:
            changes.append(change)
    return MergePlan(changes=tuple(sorted(changes, key=lambda c: c.path)))


def _python_merges(
    base: Mapping[str, bytes],
    theirs: Mapping[str, bytes],
    ours: Path,
    moves: Mapping[str, str],
) -> dict[str, bytes | None]:
    """The statement merges of the Python files both sides changed.

    {path: the merged content, or None when the line merge decides}.
    """
    candidates = []
    for path in sorted(base.keys() & theirs.keys()):
        if not path.endswith((".py", ".pyi")) or base[path] == theirs[path]:
            continue
        mine = _look(ours, moves.get(path, path)).content
        if mine is not None and mine not in (base[path], theirs[path]):
            candidates.append(Candidate(path, base[path], mine, theirs[path]))
    return merge_all_checked(candidates)


def _plan_moved(
    new: str,
    old: str,
    base: Mapping[str, bytes],
    theirs: Mapping[str, bytes],
    ours: Path,
    statements: Mapping[str, bytes | None] | None,
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
    change = _plan_kept(new, base[new], theirs[new], found, statements)
    if change is None:  # the user's file as it is, under its new name
        change = FileChange(new, "merge", new=found.content)
    elif change.new is None:  # a conflict that cannot be written: keep it where it is
        return [change]
    # `old` in a change is what its own path holds now: nothing at the new path.
    moved = dataclasses.replace(change, old=None, note=f"moved from {old}")
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
            f"written:\n{listed}\nrun the command again to merge the current files"
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
    return _merge_both_changed(path, b"", found.content, theirs, statements=None)


def _plan_kept(
    path: str,
    base: bytes,
    theirs: bytes,
    found: _Found,
    statements: Mapping[str, bytes | None] | None,
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
    return _merge_both_changed(path, base, ours, theirs, statements=statements)


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
    path: str,
    base: bytes,
    ours: bytes,
    theirs: bytes,
    *,
    statements: Mapping[str, bytes | None] | None,
) -> FileChange | None:
    """A path both the user and the new render changed.

    `statements` holds the checked statement merges of Python files (None: merge
    by lines only). A Python file without one there (it did not check out, or is
    a conflict) is left to the line merge; so is a file both sides added. A TOML
    file's same-point insertions are kept on both sides (`_toml_insertions`),
    unless merging by lines only.
    """
    if any(_is_binary(content) for content in (base, ours, theirs)):
        note = "a binary file changed on both sides; yours was kept"
        return FileChange(path, "conflict", old=ours, note=note)
    if has_conflict_markers(ours.decode("utf-8")):
        # Merging again would nest markers; the user resolves the first ones first.
        note = "it still has conflict markers; resolve them, then run this again"
        return FileChange(path, "conflict", old=ours, note=note)
    merged = statements.get(path) if statements is not None and base else None
    if merged == ours:
        return None
    if merged is not None:
        return FileChange(path, "merge", old=ours, new=merged, how="statements")
    _git_executable()  # a missing git is not this file's problem: no path prefix
    try:
        result = merge_file(base=base, ours=ours, theirs=theirs)
    except UowgenError as exc:
        raise UowgenError(f"{path}: {exc.message}") from exc
    if result.conflicts and statements is not None and path.endswith(".toml"):
        both = _toml_insertions(result.content)
        if both is not None:
            return FileChange(path, "merge", old=ours, new=both, how="toml")
    if result.conflicts:
        return FileChange(path, "conflict", old=ours, new=result.content, how="lines")
    if result.content == ours:  # the new render's change is already in yours
        return None
    return FileChange(path, "merge", old=ours, new=result.content, how="lines")


def _toml_insertions(merged: bytes) -> bytes | None:
    """A TOML line merge with its same-point insertions kept, if still valid TOML.

    Resolves only conflicts where both sides inserted lines at one point (yours
    first); None when another remains. Two dependencies added after the same line
    is the common case; the same key added twice makes the TOML invalid, and stays
    a conflict.
    """
    both = keep_both_insertions(merged)
    if both is None:
        return None
    try:
        tomllib.loads(both.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return None
    return both


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
