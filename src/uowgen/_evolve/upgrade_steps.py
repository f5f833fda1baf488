"""Upgrade steps: what a template change needs beyond a re-render and a merge.

The three-way merge of `uowgen update` carries a user's edits from the old render to
the new one, file by file. Some changes need more, in the spirit of copier's
`_migrations`: a file the template moved (the merge must carry the edits to its new
path) or a setting it renamed (the user's own `.env` files still say the old name).
A step may also amend the recorded spec before the new version renders it: a name
the template now derives differently stays as the project has it (its tables are
in the database under that name).
Each step belongs to the version that made the change and runs when an update
crosses that version; what it changes is part of the update's plan, so `--pretend`
shows it and a refusal (dirty tree, open conflicts) leaves it undone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from packaging.version import Version

from uowgen._schema import naming
from uowgen._spec import edit as spec_edit
from uowgen._spec.models import ProjectSpec
from uowgen.errors import UowgenError

SPEC_FILE = "uowgen.yml"

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
        spec: Amends the recorded spec before this version renders it (and
            records it so in the answers file).
    """

    version: str
    summary: str
    moves: Mapping[str, str] = field(default_factory=dict)
    edit: Callable[[Path], Edits] | None = None
    spec: Callable[[ProjectSpec], ProjectSpec] | None = None


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


def _changed_plurals(models: list[tuple[str, str | None]]) -> dict[str, str]:
    """The models whose derived plural 0.5.0 changed: {model: its old plural}.

    Only models without a `plural` of their own (`Shelf`: `shelfs`, now `shelves`).
    """
    changed = {}
    for name, plural in models:
        if plural is None:
            old = naming.legacy_plural_snake(name)
            if old != naming.plural_snake(name) and old != naming.snake(name):
                changed[name] = old
    return changed


def _pin_plurals_in_spec_file(root: Path) -> Edits:
    """Write `plural: <old plural>` into uowgen.yml where 0.5.0's plural differs.

    The file is edited as `add-field` edits it (uowgen._spec.edit): every other line
    stays as written. A file that does not read as a spec is left to `sync` to
    report.
    """
    path = root / SPEC_FILE
    try:
        text = path.read_text(encoding="utf-8")
        data: Any = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    models = data.get("models") if isinstance(data, dict) else None
    if not isinstance(models, list):
        return {}
    changed = _changed_plurals(
        [
            (model["name"], model.get("plural"))
            for model in models
            if isinstance(model, dict) and isinstance(model.get("name"), str)
        ]
    )
    if not changed:
        return {}
    try:
        new = spec_edit.set_plurals(text, changed)
    except UowgenError:
        return {}
    return {SPEC_FILE: new.encode("utf-8")} if new != text else {}


def _pin_plurals_in_spec(spec: ProjectSpec) -> ProjectSpec:
    """The recorded spec with its models' old plurals set where 0.5.0 changed them."""
    changed = _changed_plurals([(model.name, model.plural) for model in spec.models])
    if not changed:
        return spec
    models = [
        model.model_copy(update={"plural": changed[model.name]})
        if model.name in changed
        else model
        for model in spec.models
    ]
    return spec.model_copy(update={"models": models})


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
    UpgradeStep(
        version="0.5.0",
        summary=(
            "plurals: tables and routes are named by English plurals (Shelf: "
            "shelves, no longer shelfs); models whose name the old rule pluralized "
            "otherwise keep their tables and routes: uowgen.yml gets their old "
            "plural as `plural:`"
        ),
        edit=_pin_plurals_in_spec_file,
        spec=_pin_plurals_in_spec,
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


def spec_of(steps: list[UpgradeStep], spec: ProjectSpec) -> ProjectSpec:
    """The recorded spec as the new version renders it: each step's amendment."""
    for step in steps:
        if step.spec is not None:
            spec = step.spec(spec)
    return spec


def edits_of(steps: list[UpgradeStep], root: Path) -> Edits:
    """What the steps' edits change in the project at `root`, in order."""
    edits: Edits = {}
    for step in steps:
        if step.edit is not None:
            edits.update(step.edit(root))
    return edits
