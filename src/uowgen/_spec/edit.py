"""Edit a project's `uowgen.yml` as a person would: comments, order and layout kept.

`add-model`, `add-field`, `remove-model` and the rename commands change the spec file
with a round-trip YAML parser (ruamel.yaml), never by dumping it anew, so everything
the user wrote around the change stays as it was. Each function takes and returns the
file's text; the caller validates the result as a spec before writing it.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark, YAMLError
from ruamel.yaml.tokens import CommentToken

from uowgen.errors import UowgenError


def add_model(text: str, name: str, fields: Sequence[dict[str, Any]]) -> str:
    """Append a model with `fields` to the spec's `models`.

    Raises:
        UowgenError: a model of that name exists, or the file has no `models` list.
    """

    def change(data: Any) -> None:
        models = _models(data)
        if _find(models, name) is not None:
            raise UowgenError(f"model {name!r} already exists in uowgen.yml")
        model = CommentedMap()
        model["name"] = name
        model["fields"] = _field_list(fields)
        _append(models, [model])

    return _edit(text, change)


def add_fields(text: str, model_name: str, fields: Sequence[dict[str, Any]]) -> str:
    """Append `fields` to a model's `fields`.

    Raises:
        UowgenError: no such model, or a field of the same name exists already.
    """

    def change(data: Any) -> None:
        model = _model(_models(data), model_name)
        existing = model.get("fields")
        if not isinstance(existing, list):
            raise UowgenError(f"model {model_name!r} in uowgen.yml has no `fields`")
        taken = {f.get("name") for f in existing if isinstance(f, dict)}
        clashes = [f["name"] for f in fields if f["name"] in taken]
        if clashes:
            raise UowgenError(
                f"model {model_name!r} already has "
                + ", ".join(f"field {name!r}" for name in clashes)
            )
        _append(existing, list(_field_list(fields)))

    return _edit(text, change)


def remove_model(text: str, name: str) -> str:
    """Remove a model; refuse while other models still refer to it.

    Raises:
        UowgenError: no such model, or other models have refs to it (named).
    """

    def change(data: Any) -> None:
        models = _models(data)
        index = _find(models, name)
        if index is None:
            raise UowgenError(_unknown_model(models, name))
        users = [
            f"{model.get('name')}.{field.get('name')}"
            for model in models
            if isinstance(model, dict) and model.get("name") != name
            for field in model.get("fields") or []
            if isinstance(field, dict)
            and field.get("type") == "ref"
            and field.get("to") == name
        ]
        if users:
            raise UowgenError(
                f"cannot remove model {name!r}: still referred to by "
                + ", ".join(users)
                + "; remove or change those fields first"
            )
        del models[index]

    return _edit(text, change)


def rename_field(text: str, model_name: str, old: str, new: str) -> str:
    """Rename one field of a model.

    Raises:
        UowgenError: no such model or field, or the new name is taken.
    """

    def change(data: Any) -> None:
        model = _model(_models(data), model_name)
        fields = [f for f in model.get("fields") or [] if isinstance(f, dict)]
        names = [f.get("name") for f in fields]
        if old not in names:
            raise UowgenError(f"model {model_name!r} has no field {old!r}")
        if new in names:
            raise UowgenError(f"model {model_name!r} already has a field {new!r}")
        fields[names.index(old)]["name"] = new

    return _edit(text, change)


def rename_model(text: str, old: str, new: str) -> str:
    """Rename a model, and the refs of every model that point at it.

    Raises:
        UowgenError: no such model, or the new name is taken.
    """

    def change(data: Any) -> None:
        models = _models(data)
        model = _model(models, old)
        if _find(models, new) is not None:
            raise UowgenError(f"model {new!r} already exists in uowgen.yml")
        model["name"] = new
        fields = [
            field
            for other in models
            if isinstance(other, dict)
            for field in other.get("fields") or []
            if isinstance(field, dict)
        ]
        for field in fields:
            if field.get("type") == "ref" and field.get("to") == old:
                field["to"] = new

    return _edit(text, change)


def _edit(text: str, change: Callable[[Any], None]) -> str:
    body, closing = _split_closing_comments(text)
    yaml = YAML()  # round-trip mode
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096  # never re-wrap a user's long line
    yaml.preserve_quotes = True
    try:
        data = yaml.load(body)
    except YAMLError as exc:
        raise UowgenError(f"uowgen.yml is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise UowgenError("uowgen.yml must be a mapping with `models`")
    change(data)
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue() + closing


def _append(seq: Any, items: list[Any]) -> None:
    """Append to a sequence, keeping comments that follow it where they were.

    ruamel.yaml hangs the comment lines after a sequence on its last item, deepest
    first; appended naively, the new items would land below them. The comment lines
    (all but an end-of-line comment) move to the new last item.
    """
    moved = _take_trailing_comment(seq)
    seq.extend(items)
    if moved:
        _put_trailing_comment(seq, moved)


def _last_key(node: Any) -> Any:
    # Block collections carry their trailing comment on their last key or index;
    # a flow mapping is written on one line, so its parent carries it.
    if isinstance(node, CommentedMap) and len(node) and not node.fa.flow_style():
        return list(node)[-1]
    if isinstance(node, CommentedSeq) and len(node):
        return len(node) - 1
    return None


def _take_trailing_comment(node: Any) -> str:
    """Detach the comment lines hanging after `node`'s last item (deepest first)."""
    key = _last_key(node)
    if key is None:
        return ""
    moved = _take_trailing_comment(node[key])
    if moved:
        return moved
    entry = node.ca.items.get(key)
    slot = 2 if isinstance(node, CommentedMap) else 0
    token = entry[slot] if entry and len(entry) > slot else None
    if token is None:
        return ""
    value: str = token.value
    end_of_line, newline, rest = value.partition("\n")
    if not rest.strip():
        return ""
    token.value = end_of_line + newline
    return "\n" + rest


def _put_trailing_comment(node: Any, text: str) -> bool:
    """Hang comment lines after `node`'s last item, where ruamel.yaml looks."""
    key = _last_key(node)
    if key is None:
        return False
    if not _put_trailing_comment(node[key], text):
        slot = 2 if isinstance(node, CommentedMap) else 0
        entry: list[Any] = [None, None, None, None]
        entry[slot] = CommentToken(text, CommentMark(0))
        node.ca.items[key] = entry
    return True


def _field_list(fields: Sequence[dict[str, Any]]) -> CommentedSeq:
    # One field a line, `{name: x, type: y}`, as the generated uowgen.yml has them.
    items = CommentedSeq()
    for field in fields:
        item = CommentedMap(field)
        item.fa.set_flow_style()
        items.append(item)
    return items


def _split_closing_comments(text: str) -> tuple[str, str]:
    """The text without its closing comment lines, and those lines.

    Comments at the very end of the file belong to the file, not to the last model:
    they are set aside and put back after the edit, so they stay last.
    """
    lines = text.splitlines(keepends=True)
    cut = len(lines)
    while cut and (
        not lines[cut - 1].strip() or lines[cut - 1].lstrip().startswith("#")
    ):
        cut -= 1
    closing = "".join(lines[cut:])
    return "".join(lines[:cut]), closing if closing.strip() else ""


def _models(data: Any) -> list[Any]:
    models = data.get("models")
    if not isinstance(models, list):
        raise UowgenError("uowgen.yml has no `models` list")
    return models


def _find(models: list[Any], name: str) -> int | None:
    for index, model in enumerate(models):
        if isinstance(model, dict) and model.get("name") == name:
            return index
    return None


def _model(models: list[Any], name: str) -> Any:
    index = _find(models, name)
    if index is None:
        raise UowgenError(_unknown_model(models, name))
    return models[index]


def _unknown_model(models: list[Any], name: str) -> str:
    known = [str(m.get("name")) for m in models if isinstance(m, dict)]
    return f"uowgen.yml has no model {name!r} (its models: {', '.join(known)})"
