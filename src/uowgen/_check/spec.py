"""UG2xx: `uowgen.yml` against the spec the project was last rendered from."""

from __future__ import annotations

import re

import yaml

from uowgen._check.findings import Finding, finding, read_text
from uowgen._evolve.project import SPEC_FILE, Project
from uowgen._render.answers import ANSWERS_FILE
from uowgen._spec.models import ProjectSpec
from uowgen.errors import SpecError, UowgenError


def spec_changes(old: ProjectSpec, new: ProjectSpec) -> list[tuple[str, str | None]]:
    """What changed from the rendered spec `old` to `new`, in words.

    Returns:
        (description, model it is about, or None) pairs, in the order of `new`.
    """
    changes: list[tuple[str, str | None]] = []
    if old.project_name != new.project_name:
        changes.append((f"project_name is now {new.project_name!r}", None))
    if old.package != new.package:
        changes.append((f"package is now {new.package}", None))
    if old.admin != new.admin:
        changes.append((f"admin is now {'on' if new.admin else 'off'}", None))
    if (old.auth is None) != (new.auth is None):
        changes.append((f"auth is now {'on' if new.auth else 'off'}", None))
    elif old.auth != new.auth:
        changes.append(("auth changed", None))
    before = {model.name: model for model in old.models}
    after = {model.name: model for model in new.models}
    for name, model in after.items():
        if name not in before:
            changes.append((f"model {name} added", name))
            continue
        was = before[name]
        if was == model:
            continue
        fields_before = {item.name: item for item in was.fields}
        fields_after = {item.name: item for item in model.fields}
        parts = [f"{n} added" for n in fields_after if n not in fields_before]
        parts += [f"{n} removed" for n in fields_before if n not in fields_after]
        parts += [
            f"{n} changed"
            for n, item in fields_after.items()
            if n in fields_before and fields_before[n] != item
        ]
        if was.plural != model.plural:
            parts.append(f"plural is now {model.plural or 'derived'}")
        if was.access != model.access:
            parts.append("access changed")
        changes.append((f"{name}: {', '.join(parts) or 'fields reordered'}", name))
    changes += [(f"model {name} removed", None) for name in before if name not in after]
    if not changes and not old.renders_like(new):
        changes.append(("models reordered", None))
    return changes


def spec_lines(text: str) -> dict[str, int]:
    """The 1-based line of each model in a spec's YAML, by name; "" is `models:`."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    lines: dict[str, int] = {}
    if not isinstance(root, yaml.MappingNode):
        return lines
    for key, value in root.value:
        if key.value != "models" or not isinstance(value, yaml.SequenceNode):
            continue
        lines[""] = key.start_mark.line + 1
        for item in value.value:
            if not isinstance(item, yaml.MappingNode):
                continue
            for name_key, name in item.value:
                if name_key.value == "name" and isinstance(name, yaml.ScalarNode):
                    lines.setdefault(str(name.value), item.start_mark.line + 1)
    return lines


def project_spec_findings(
    project: Project,
) -> tuple[ProjectSpec | None, ProjectSpec | None, list[Finding]]:
    """The current spec, the rendered one (None when unreadable) and the findings."""
    found: list[Finding] = []
    current: ProjectSpec | None = None
    rendered: ProjectSpec | None = None
    try:
        current = project.spec()
    except SpecError as exc:
        for problem in exc.problems:
            where = re.match(r"line (\d+), column \d+: ", problem)
            found.append(
                finding(
                    "spec-invalid",
                    f"{SPEC_FILE} is not a valid spec: {problem}",
                    f"uowgen validate {SPEC_FILE}",
                    SPEC_FILE,
                    int(where.group(1)) if where else None,
                )
            )
    try:
        rendered = project.rendered_spec()
    except UowgenError as exc:
        problems = exc.problems if isinstance(exc, SpecError) else [exc.message]
        found.append(
            finding(
                "answers-invalid",
                f"{ANSWERS_FILE} does not hold the spec of the last render: "
                + "; ".join(problems),
                f"restore it from git (`git checkout -- {ANSWERS_FILE}`)",
                ANSWERS_FILE,
            )
        )
    if (
        current is not None
        and rendered is not None
        and not current.renders_like(rendered)
    ):
        changes = spec_changes(rendered, current)
        lines = spec_lines(read_text(project.spec_path) or "")
        first = next((model for _, model in changes if model is not None), "")
        found.append(
            finding(
                "spec-unapplied",
                f"{SPEC_FILE} has changes never applied to the code: "
                + "; ".join(text for text, _ in changes),
                "uowgen sync (`uowgen sync --pretend` shows the diff)",
                SPEC_FILE,
                lines.get(first) or lines.get(""),
            )
        )
    return current, rendered, found
