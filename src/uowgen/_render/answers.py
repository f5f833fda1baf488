"""The spec and copier's answers: one mapping, both ways.

A project records the spec of its last render as copier's answers in
`.copier-answers.yml`. `uowgen new` and `sync` pass a spec to copier as answers
(`spec_answers`); copier's context hook turns the answers back into a spec to
validate and derive names from (`asked_spec`), and chooses what the file records
(`recorded_answers`); `check`, `sync` and `update` read the recorded spec back
(`recorded_spec`).

No copier here: the template's extension imports this module too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from uowgen._schema import naming
from uowgen._spec.models import ProjectSpec

ANSWERS_FILE: Final = ".copier-answers.yml"
# The answers that hold the spec; the others are copier's (`_commit`...) and
# uowgen's (`_uowgen_version`).
SPEC_KEYS: Final = ("project_name", "package_name", "admin", "models")


def spec_answers(spec: ProjectSpec) -> dict[str, Any]:
    """The copier answers for a spec: what `copier copy --data-file` would pass.

    Values keep their YAML types (a date default stays a date), so both routes
    record the same `.copier-answers.yml`.
    """
    models = spec.model_dump(mode="python", exclude_defaults=True)["models"]
    answers: dict[str, Any] = {
        "project_name": spec.project_name,
        "package_name": spec.package,
        "models": models,
    }
    if spec.admin:  # left out when off, like every spec key at its default
        answers["admin"] = True
    return answers


def recorded_spec(answers: Mapping[str, Any]) -> dict[str, Any]:
    """The spec data in recorded answers: the spec's keys they have, as recorded.

    `admin` is recorded only when on, so a uowgen from before it reads the answers
    of a project without the admin as it wrote them.
    """
    return {key: answers[key] for key in SPEC_KEYS if key in answers}


def asked_spec(
    models: Any, project_name: Any, package_name: Any, admin: Any = False
) -> dict[str, Any]:
    """The spec data of copier's answers while it renders (the context hook's).

    Copier always has a `package_name` (derived when not given) and an `admin`
    (false by default); the spec has them only when they say more than that.
    """
    data: dict[str, Any] = {"project_name": project_name, "models": models}
    if package_name and package_name != naming.package_name(str(project_name)):
        data["package_name"] = package_name
    if admin:
        data["admin"] = admin
    return data


def recorded_answers(answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers to write in the answers file: `admin` only when it is on.

    So a project without the admin records what it did before the question existed.
    """
    return {
        key: value
        for key, value in answers.items()
        if key != "admin" or value is not False
    }
