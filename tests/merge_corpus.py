"""Replay the merge corpus (tests/fixtures/merge_corpus/edits.yml) across releases.

A pair (old, new) renders the fastbot spec the releases read
(tests/fixtures/releases/fastbot.yml) with the old release (the BASE, and
the project the team edits) and with the new one as `uowgen update` would (THEIRS,
with the upgrade steps' moves and spec amendments). Each edit is then applied
alone to BASE and merged with `plan_merge`, by lines only and by statements, and
its outcome recorded: a conflict or not, which merge made it, and whether every
edit of both sides is in the result.

Used by tests/integration/test_merge_corpus.py and benchmarks/merge_conflicts.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from uowgen._evolve.merge import apply_plan, plan_merge
from uowgen._evolve.past_releases import Release, ReleaseRender
from uowgen._evolve.project import Project
from uowgen._evolve.sync import merged_by_hand
from uowgen._evolve.upgrade_steps import moves_of, spec_of, steps_between
from uowgen._render.engine import render_tree
from uowgen._version import __version__

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "tests" / "fixtures" / "merge_corpus" / "edits.yml"
RELEASES = REPO / "tests" / "fixtures" / "releases"
# examples/fastbot.yml as every release of PAIRS reads it (no `many`, `sortable`).
SPEC = RELEASES / "fastbot.yml"
PAIRS = (("0.2.0", __version__), ("0.2.0", "0.4.0"), ("0.4.0", __version__))


@dataclass(frozen=True)
class Edit:
    """One user edit of one file (see the corpus file's header)."""

    id: str
    path: str
    kind: str
    patches: tuple[tuple[str, str], ...] = ()
    append: str = ""
    conflicts: frozenset[str] = frozenset()

    def apply(self, text: str) -> str | None:
        """The file with the edit made; None when a `find` is not there once."""
        for find, replace in self.patches:
            if text.count(find) != 1:
                return None
            text = text.replace(find, replace)
        return text + self.append

    def true_conflict(self, old: str, new: str) -> bool:
        return f"{old}..{new}" in self.conflicts


def load_edits() -> list[Edit]:
    data: list[dict[str, Any]] = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))
    return [
        Edit(
            id=item["id"],
            path=item["path"],
            kind=item["kind"],
            patches=tuple((p["find"], p["replace"]) for p in item.get("patches", [])),
            append=item.get("append", ""),
            conflicts=frozenset(item.get("conflicts", [])),
        )
        for item in data
    ]


def unpack(version: str, into: Path) -> Path:
    """A release wheel of the fixtures, unpacked (its `uowgen` package inside)."""
    folder = into / f"uowgen-{version}"
    if not folder.is_dir():
        wheel = RELEASES / f"uowgen-{version}-py3-none-any.whl"
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(folder)
    return folder


def render_project(version: str, dst: Path, scratch: Path) -> Path:
    """`uowgen new` of the releases' fastbot spec as uowgen `version` runs it."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    if version != __version__:
        env["PYTHONPATH"] = str(unpack(version, scratch))
    subprocess.run(
        [sys.executable, "-m", "uowgen", "new", str(dst), "--spec", str(SPEC)],
        check=True,
        capture_output=True,
        env=env,
    )
    return dst


def tree(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(root).parts
    }


@dataclass
class Renders:
    """BASE and THEIRS of one pair, as `uowgen update` merges them."""

    old: str
    new: str
    base: dict[str, bytes]
    theirs: dict[str, bytes]
    moves: dict[str, str]  # {new path: old path}


def renders(old: str, new: str, scratch: Path) -> Renders:
    """Render the pair: the old release's project, and the new release's render."""
    project_dir = render_project(old, scratch / f"project-{old}-{new}", scratch)
    project = Project(project_dir)
    steps = steps_between(old, new)
    spec = project.rendered_spec()
    if new == __version__:
        theirs = render_tree(spec_of(steps, spec))
    else:
        release = Release(new, unpack(new, scratch), f"the {new} wheel")
        work = scratch / f"render-{old}-{new}"
        work.mkdir()
        with ReleaseRender(release, project.answers(), work) as rendering:
            theirs = rendering.result()
    base = tree(project_dir)
    return Renders(
        old=old,
        new=new,
        base={p: c for p, c in base.items() if not merged_by_hand(p)},
        theirs={p: c for p, c in theirs.items() if not merged_by_hand(p)},
        moves=dict(moves_of(steps, spec.package)),
    )


@dataclass(frozen=True)
class Outcome:
    """What merging one edit into one pair gave."""

    conflict: bool
    how: str  # "statements", "lines", or "" (one side only: no merge needed)
    kept: bool  # every edit of both sides is in the result
    result: str


def replay(
    edit: Edit, pair: Renders, *, by_statements: bool, root: Path
) -> Outcome | None:
    """Merge `edit` alone into the pair; None when it does not apply to it."""
    if edit.path not in pair.base:
        return None
    base_text = pair.base[edit.path].decode()
    ours_text = edit.apply(base_text)
    if ours_text is None:
        return None
    target = root / edit.path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(ours_text, encoding="utf-8")
    moves = {new: old for new, old in pair.moves.items() if old == edit.path}
    moved_to = next(iter(moves), edit.path)
    theirs = {moved_to: pair.theirs[moved_to]} if moved_to in pair.theirs else {}
    plan = plan_merge(
        base={edit.path: pair.base[edit.path]},
        theirs=theirs,
        ours=root,
        moves=moves,
        by_statements=by_statements,
    )
    apply_plan(plan, root)
    where = root / moved_to if (root / moved_to).exists() else target
    result = where.read_text(encoding="utf-8")
    how = next((c.how for c in plan.changes if c.how), "")
    theirs_text = theirs[moved_to].decode() if theirs else base_text
    conflict = bool(plan.conflicts)
    kept = (
        _added_lines_present(base_text, ours_text, result)
        if conflict
        else _both_kept(base_text, ours_text, theirs_text, result)
    )
    return Outcome(conflict=conflict, how=how, kept=kept, result=result)


def _counts(text: str) -> Counter[str]:
    return Counter(line for line in text.splitlines() if line.strip())


def _both_kept(base: str, ours: str, theirs: str, result: str) -> bool:
    """Every line either side added or removed is added or removed in the result.

    For a clean merge of separate edits, each line is in the result as often as in
    ours and theirs together, less base (blank lines aside: layout).
    """
    b, o, t, r = (_counts(text) for text in (base, ours, theirs, result))
    return all(r[line] == o[line] + t[line] - b[line] for line in b | o | t | r)


def _added_lines_present(base: str, ours: str, result: str) -> bool:
    """A conflict keeps the user's lines (inside its markers)."""
    added = _counts(ours) - _counts(base)
    have = _counts(result)
    return all(have[line] >= count for line, count in added.items())


@dataclass
class Tally:
    """The outcomes of one pair, one merge mode."""

    applied: int = 0
    true_conflicts: int = 0
    conflicts: int = 0
    false_conflicts: int = 0
    missed: list[str] = field(default_factory=list)  # true conflicts merged
    lost: list[str] = field(default_factory=list)  # edits not kept
    false: list[str] = field(default_factory=list)
    by_statements: int = 0


def tally(
    pair: Renders, edits: list[Edit], *, by_statements: bool, scratch: Path
) -> Tally:
    counted = Tally()
    for number, edit in enumerate(edits):
        outcome = replay(
            edit, pair, by_statements=by_statements, root=scratch / f"{number}"
        )
        if outcome is None:
            continue
        counted.applied += 1
        true = edit.true_conflict(pair.old, pair.new)
        counted.true_conflicts += true
        counted.conflicts += outcome.conflict
        counted.by_statements += outcome.how == "statements" and not outcome.conflict
        if outcome.conflict and not true:
            counted.false_conflicts += 1
            counted.false.append(edit.id)
        if true and not outcome.conflict:
            counted.missed.append(edit.id)
        if not outcome.kept:
            counted.lost.append(edit.id)
    return counted
