"""Bring a project to the installed uowgen's template: `uowgen update`.

The same three-way merge as `sync`, with the template changing instead of the spec:

- BASE: the recorded spec rendered by the uowgen version that rendered the project
  (its own template and code, fetched by `uowgen._evolve.past_releases`);
- THEIRS: the same spec rendered by this version (as the upgrade steps amend it);
- OURS: the working tree.

Upgrade steps (`uowgen._evolve.upgrade_steps`) of the versions crossed join the plan: file
moves go into the merge, edits of files the template does not render are shown
and written with it, and amendments of the recorded spec (a name to keep) go into
THEIRS and the new answers. The plan is a `SyncPlan`, so pretend, apply, the
dirty-tree refusal and the conflict list are the ones `sync` uses.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from uowgen._evolve.merge import plan_merge
from uowgen._evolve.past_releases import Release, ReleaseRender, locate
from uowgen._evolve.project import Project, uncommitted
from uowgen._evolve.sync import SyncPlan, check_no_open_conflicts, merged_by_hand
from uowgen._evolve.upgrade_steps import (
    edits_of,
    moves_of,
    spec_of,
    steps_between,
)
from uowgen._render.answers import ANSWERS_FILE
from uowgen._render.engine import render_tree
from uowgen._version import __version__
from uowgen.errors import UowgenError


def plan_update(
    project: Project, *, source: str | None = None, ref: str | None = None
) -> tuple[SyncPlan | None, Release | None]:
    """Plan the update of `project` to this version's template.

    Returns the plan (None when the project is already at this version) and the
    release it was rendered by (None when nothing had to be fetched).

    Raises:
        UowgenError: a newer uowgen rendered the project, conflicts of an earlier
            sync or update are still open, or the old release cannot be found or
            cannot render the recorded spec.
    """
    recorded = project.rendered_version()
    if recorded is not None and _newer(recorded, than=__version__):
        raise UowgenError(
            f"{project.root} was rendered by uowgen {recorded}, newer than this "
            f"uowgen {__version__}: install it (`pip install -U "
            f"'uowgen>={recorded}'`); an update never goes back"
        )
    if recorded == __version__ and source is None:
        return None, None
    check_no_open_conflicts(project)
    answers = project.answers()
    spec = project.rendered_spec()
    with tempfile.TemporaryDirectory(prefix="uowgen-update-") as scratch:
        release = locate(
            recorded, source=source, ref=ref, answers=answers, scratch=Path(scratch)
        )
        if release.version == __version__:
            return None, release
        if _newer(release.version, than=__version__):
            raise UowgenError(
                f"{release.origin} is uowgen {release.version}, newer than this "
                f"uowgen {__version__}: install it (`pip install -U "
                f"'uowgen>={release.version}'`), or pass --from with the uowgen "
                "that rendered the project"
            )
        steps = steps_between(release.version, __version__)
        amended = spec_of(steps, spec)
        # The old version renders in its own process while this one renders here.
        with ReleaseRender(release, answers, Path(scratch)) as old_render:
            rendered = render_tree(amended)
            old = old_render.result()
    base = {p: c for p, c in old.items() if not merged_by_hand(p)}
    theirs = {p: c for p, c in rendered.items() if not merged_by_hand(p)}
    merge = plan_merge(
        base=base,
        theirs=theirs,
        ours=project.root,
        moves=moves_of(steps, spec.package),
    )
    edits = edits_of(steps, project.root)
    written = [c.path for c in merge.changes if c.writes] + [ANSWERS_FILE, *edits]
    plan = SyncPlan(
        project=project,
        old=spec,
        new=amended,
        merge=merge,
        answers=_keep_git_source(rendered[ANSWERS_FILE], answers, source),
        spec=None,
        migration=None,
        dirty=uncommitted(project.root, sorted(written)),
        edits=edits,
        steps=tuple(f"{step.version}: {step.summary}" for step in steps),
    )
    return plan, release


def _keep_git_source(new: bytes, old: dict[str, Any], source: str | None) -> bytes:
    """Keep a `copier copy` project on its git template, so `copier update` works.

    When the template's repository has this version's tag (`v<version>`), the new
    answers point at it; otherwise they record the version alone, as `uowgen new`
    does, and `uowgen update` stays the way to update.
    """
    url, commit = old.get("_src_path"), old.get("_commit")
    if source is not None or not isinstance(url, str) or not commit:
        return new
    tag = f"v{__version__}"
    listed = subprocess.run(
        ["git", "ls-remote", "--tags", url, f"refs/tags/{tag}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if listed.returncode != 0 or not listed.stdout.strip():
        return new
    head, _, rest = new.decode("utf-8").partition("\n")
    recorded = f"_commit: {tag}\n_src_path: {json.dumps(url)}\n"
    return f"{head}\n{recorded}{rest}".encode()


def _newer(version: str, *, than: str) -> bool:
    try:
        return Version(version) > Version(than)
    except InvalidVersion as exc:
        raise UowgenError(
            f"not a uowgen version: {exc}; fix `_uowgen_version` in "
            ".copier-answers.yml, or pass --from with the uowgen that rendered the "
            "project"
        ) from exc
