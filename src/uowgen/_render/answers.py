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
from uowgen._spec.models import ProjectSpec, auth_data

ANSWERS_FILE: Final = ".copier-answers.yml"
# The answers that hold the spec; the others are copier's (`_commit`...) and
# uowgen's (`_uowgen_version`).
SPEC_KEYS: Final = ("project_name", "package_name", "admin", "auth", "models")
# The answers recorded only when they are on: a project without them records what it
# did before the questions existed.
_OFF_UNLESS_SET: Final = ("admin", "auth")


def spec_answers(spec: ProjectSpec, written: object = None) -> dict[str, Any]:
    """The copier answers for a spec: what `copier copy --data-file` would pass.

    Values keep their YAML types (a date default stays a date), and with `written`
    (the models as the spec file has them) each key is where the file has it, so
    both routes record the same `.copier-answers.yml` and the same `uowgen.yml`.
    """
    models = spec.model_dump(mode="python", exclude_defaults=True)["models"]
    models = in_written_order(models, written)
    answers: dict[str, Any] = {
        "project_name": spec.project_name,
        "package_name": spec.package,
        "models": models,
    }
    if spec.admin:  # left out when off, like every spec key at its default
        answers["admin"] = True
    if spec.auth is not None:  # `oidc`, or the block when it says more
        answers["auth"] = auth_data(spec.auth)
    return answers


def recorded_spec(answers: Mapping[str, Any]) -> dict[str, Any]:
    """The spec data in recorded answers: the spec's keys they have, as recorded.

    `admin` and `auth` are recorded only when on, so a uowgen from before them
    reads the answers of a project without them as it wrote them.
    """
    return {key: answers[key] for key in SPEC_KEYS if key in answers}


def asked_spec(
    models: Any,
    project_name: Any,
    package_name: Any,
    admin: Any = False,
    auth: Any = None,
) -> dict[str, Any]:
    """The spec data of copier's answers while it renders (the context hook's).

    Copier always has a `package_name` (derived when not given), an `admin` (false
    by default) and an `auth` (empty by default); the spec has them only when they
    say more than that.
    """
    data: dict[str, Any] = {"project_name": project_name, "models": models}
    if package_name and package_name != naming.package_name(str(project_name)):
        data["package_name"] = package_name
    if admin:
        data["admin"] = admin
    if auth:
        data["auth"] = auth
    return data


def recorded_answers(answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers to write in the answers file: `admin` and `auth` only when on.

    So a project without them records what it did before the questions existed.
    """
    return {
        key: value
        for key, value in answers.items()
        if key not in _OFF_UNLESS_SET or value not in (False, None, "")
    }


def in_written_order(
    models: list[dict[str, Any]], written: object
) -> list[dict[str, Any]]:
    """`models` (a spec's data) with its keys in the order they were `written`.

    `written` is the spec's `models` list as YAML read it. The spec is the user's text: a project's `uowgen.yml` keeps their order. Models
    and fields pair by position (parsing keeps both orders); keys `written` lacks
    keep their own order, after the written ones.
    """
    if not isinstance(written, list):
        return models
    ordered = []
    for position, model in enumerate(models):
        as_written = _mapping_at(written, position)
        moved = _keys_like(model, as_written)
        if isinstance(moved.get("fields"), list):
            fields = as_written.get("fields")
            fields = fields if isinstance(fields, list) else []
            moved["fields"] = [
                _keys_like(field, _mapping_at(fields, index))
                for index, field in enumerate(moved["fields"])
            ]
        ordered.append(moved)
    return ordered


def _mapping_at(items: list[Any], position: int) -> Mapping[str, Any]:
    item = items[position] if position < len(items) else None
    return item if isinstance(item, Mapping) else {}


def _keys_like(data: dict[str, Any], written: Mapping[str, Any]) -> dict[str, Any]:
    rank = {key: index for index, key in enumerate(written)}
    return {
        key: data[key] for key in sorted(data, key=lambda k: rank.get(k, len(rank)))
    }
