"""Apply a changed `uowgen.yml` to its project: merge the code, write a migration.

The plan and its application serve `uowgen update` too (`uowgen._evolve.update`), which
merges a new template version instead of a new spec.

`plan_sync` renders the template twice, with the spec the project was last rendered
from (the base) and with the spec in `uowgen.yml` (theirs), plans a three-way merge
of the two into the working tree (ours), and plans one Alembic revision for the table
changes. `apply_sync` carries the plan out. A `--pretend` run prints the same plan
and applies nothing, so the two cannot disagree.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from uowgen._evolve.line_merge import find_conflict_markers
from uowgen._evolve.merge import (
    MergePlan,
    apply_plan,
    diff_plan,
    plan_merge,
)
from uowgen._evolve.project import (
    CONFLICTS_FILE,
    SPEC_FILE,
    Project,
    uncommitted,
)
from uowgen._migrate.diff import plan_revision
from uowgen._migrate.revisions import revision_file
from uowgen._render.answers import ANSWERS_FILE
from uowgen._render.engine import render_trees
from uowgen._schema.naming import snake
from uowgen._spec.models import ProjectSpec, Renames
from uowgen._spec.validate import parse_spec_text
from uowgen._version import __version__
from uowgen.errors import UowgenError

VERSIONS_DIR = "migrations/versions"


def merged_by_hand(path: str) -> bool:
    """Whether a sync or an update leaves `path` out of the three-way merge."""
    # Applied migrations are history: never rewritten, only followed by new ones.
    # The spec is the user's own input; the answers file is written from the render.
    return path in (SPEC_FILE, ANSWERS_FILE, CONFLICTS_FILE) or PurePosixPath(
        path
    ).is_relative_to(VERSIONS_DIR)


@dataclass(frozen=True)
class SyncPlan:
    """Everything one sync (or update) will change, computed without writing."""

    project: Project
    old: ProjectSpec
    new: ProjectSpec
    merge: MergePlan
    answers: bytes  # the new .copier-answers.yml
    spec: bytes | None  # a new uowgen.yml, or None to keep the file as it is
    migration: tuple[str, str] | None  # (path relative to the root, its text)
    # The files the sync writes that git reports as changed; None outside git.
    dirty: list[str] | None
    # Files outside the merge that an update's upgrade steps rewrite: {path: text}.
    edits: dict[str, bytes] = field(default_factory=dict)
    # One line per upgrade step an update runs.
    steps: tuple[str, ...] = ()


def plan_sync(
    project: Project,
    *,
    spec_text: str | None = None,
    renames: Renames | None = None,
) -> SyncPlan | None:
    """Plan the sync of `project` to its spec; None when it is in step.

    `spec_text` is a new text for `uowgen.yml` (what add-model and the other
    commands make), written only when the plan is applied; without it the file's
    current text is the spec.

    Raises:
        SpecError: the spec is not valid.
        UowgenError: the project was rendered by another uowgen version, still
            holds conflicts of an earlier sync, or the change cannot be migrated.
    """
    _check_version(project)
    check_no_open_conflicts(project)
    if spec_text is None:
        new = project.spec()
    else:
        new = parse_spec_text(spec_text, source=f"{project.spec_path} (as changed)")
    old = project.rendered_spec()
    if new.renders_like(old) and spec_text is None:
        return None
    old_render, rendered = render_trees(old, new)
    base = {p: c for p, c in old_render.items() if not merged_by_hand(p)}
    theirs = {p: c for p, c in rendered.items() if not merged_by_hand(p)}
    moves = _moves(base, theirs, renames)
    merge = plan_merge(base=base, theirs=theirs, ours=project.root, moves=moves)
    revision = plan_revision(old, new, renames=renames)
    migration = None
    if revision is not None:
        path, text = revision_file(
            revision,
            project.root / VERSIONS_DIR,
            message="; ".join(revision.changes[:3]) or "sync uowgen.yml",
        )
        migration = (path.relative_to(project.root).as_posix(), text)
    spec = spec_text.encode() if spec_text is not None else None
    written = [c.path for c in merge.changes if c.writes] + [ANSWERS_FILE]
    written += [SPEC_FILE] if spec is not None else []
    written += [migration[0]] if migration is not None else []
    return SyncPlan(
        project=project,
        old=old,
        new=new,
        merge=merge,
        answers=rendered[ANSWERS_FILE],
        spec=spec,
        migration=migration,
        dirty=uncommitted(project.root, sorted(written)),
    )


def _moves(
    base: dict[str, bytes], theirs: dict[str, bytes], renames: Renames | None
) -> dict[str, str]:
    """The files of renamed models: {new path: old path}, so edits move along."""
    moves: dict[str, str] = {}
    for new_name, old_name in (renames.models if renames else {}).items():
        old, new = snake(old_name), snake(new_name)
        pattern = re.compile(rf"(?<![a-z0-9]){re.escape(old)}(?=(_api)?\.py$)")
        for path in base.keys() - theirs.keys():
            folder, _, name = path.rpartition("/")
            moved = f"{folder}/{pattern.sub(new, name)}" if folder else name
            if moved != path and moved in theirs and moved not in base:
                moves[moved] = path
    return moves


def apply_sync(plan: SyncPlan) -> None:
    """Write what `plan` says: merged code, the migration, the new answers."""
    root = plan.project.root
    apply_plan(plan.merge, root)
    if plan.spec is not None:
        plan.project.spec_path.write_bytes(plan.spec)
    if plan.migration is not None:
        path, text = plan.migration
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
    for path, content in plan.edits.items():
        (root / path).write_bytes(content)
    (root / ANSWERS_FILE).write_bytes(plan.answers)
    conflicts = root / CONFLICTS_FILE
    if plan.merge.conflicts:
        conflicts.write_text("\n".join(plan.merge.conflicts) + "\n", encoding="utf-8")
    elif conflicts.exists():
        conflicts.unlink()


def open_conflicts(project: Project) -> list[str]:
    """Where the conflicts of an earlier sync are still open.

    `path:line` for each conflict marker left in a file the sync listed; a listed
    binary file (which gets no markers) stays open until the list is deleted.
    """
    listed = project.root / CONFLICTS_FILE
    if not listed.is_file():
        return []
    paths = [p for p in listed.read_text(encoding="utf-8").splitlines() if p]
    places = [
        f"{path}:{line}" for path, line in find_conflict_markers(project.root, paths)
    ]
    for path in paths:
        try:
            (project.root / path).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            places.append(f"{path} (binary: keep one version)")
        except OSError:
            continue
    return places


def _check_version(project: Project) -> None:
    rendered = project.rendered_version()
    if rendered != __version__:
        made = f"uowgen {rendered}" if rendered else "an unknown uowgen version"
        raise UowgenError(
            f"{project.root} was rendered by {made}, and this is uowgen "
            f"{__version__}: sync merges only against the template that rendered "
            f"the project. Bring the project to this version first with "
            f"`uowgen update`, or install uowgen=={rendered} to sync"
        )


def check_no_open_conflicts(project: Project) -> None:
    left = open_conflicts(project)
    if left:
        raise UowgenError(
            "resolve the conflicts of the last sync first:\n"
            + "\n".join(f"  {place}" for place in left)
            + f"\nthen delete {CONFLICTS_FILE} and run the command again "
            "(`uowgen check` lists what is left)"
        )


def describe(plan: SyncPlan) -> list[str]:
    """One line per file the sync creates, merges, deletes or keeps."""
    verbs = {
        "create": "created",
        "update": "updated",
        "merge": "merged",
        "conflict": "CONFLICT",
        "delete": "deleted",
        "keep_edited": "kept (edited; no longer generated)",
        "keep_deleted": "not restored (you deleted it)",
    }
    lines = []
    for change in plan.merge.changes:
        if change.note.startswith("moved to "):
            continue  # said on the line of the file it moved to
        line = f"  {verbs[change.action]:<10} {change.path}"
        said = [change.note] if change.note.startswith("moved from ") else []
        if change.how and change.new is not None:
            said.append(HOW[change.how])
        if said:
            line += f" ({', '.join(said)})"
        lines.append(line)
    lines += [f"  {'edited':<10} {path} (upgrade step)" for path in plan.edits]
    if plan.migration is not None:
        lines.append(f"  {'migration':<10} {plan.migration[0]}")
    return lines


# How each merge is named in the summary and in --pretend.
HOW = {
    "statements": "by statements",
    "lines": "by lines",
    "toml": "by lines, both insertions kept",
}


def merges(plan: SyncPlan) -> list[str]:
    """One line per file a sync merges (or marks), and how: for `--pretend`."""
    return [
        f"  {'would merge' if change.action == 'merge' else 'CONFLICT':<11} "
        f"{change.path} ({HOW[change.how]})"
        for change in plan.merge.changes
        if change.how and change.new is not None
    ]


def check_clean(plan: SyncPlan, *, allow_dirty: bool) -> None:
    """Refuse to overwrite uncommitted work, so `git checkout .` undoes a sync.

    Raises:
        UowgenError: git reports changes in files the sync would write.
    """
    if plan.dirty and not allow_dirty:
        listed = "\n".join(f"  {path}" for path in plan.dirty)
        raise UowgenError(
            "these files have uncommitted changes and the sync would write them:\n"
            f"{listed}\ncommit or stash them first, so that `git checkout .` can "
            "undo the sync, then run the command again (or pass --allow-dirty)"
        )


def pretend_diff(plan: SyncPlan) -> str:
    """What applying `plan` would change, as a unified diff."""
    parts = []
    if plan.spec is not None:
        old = plan.project.spec_path.read_text(encoding="utf-8")
        parts.append(_text_diff(SPEC_FILE, old, plan.spec.decode()))
    parts.append(diff_plan(plan.merge))
    for path, content in plan.edits.items():
        old = (plan.project.root / path).read_text(encoding="utf-8")
        parts.append(_text_diff(path, old, content.decode()))
    if plan.migration is not None:
        parts.append(_text_diff(plan.migration[0], "", plan.migration[1]))
    return "".join(parts)


def _text_diff(path: str, old: str, new: str) -> str:
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=f"a/{path}" if old else "/dev/null",
        tofile=f"b/{path}",
    )
    return "".join(lines)
