"""Edit a project's `uowgen.yml` as a person would: comments, order and layout kept.

`add-model`, `add-field`, `remove-model` and the rename commands change the spec file
with a round-trip YAML parser (ruamel.yaml), never by dumping it anew, so everything
the user wrote around the change stays as it was. Each function takes and returns the
file's text; the caller validates the result as a spec before writing it.

The file keeps its indentation (guessed from it), a long line stays one line, and a
line the edit did not change keeps its spacing (`{ name: x }` stays so, where the
dump would write `{name: x}`). New fields take the style of the fields beside them.
"""

from __future__ import annotations

import difflib
import io
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark, YAMLError
from ruamel.yaml.tokens import CommentToken
from ruamel.yaml.util import load_yaml_guess_indent

from uowgen.errors import UowgenError


def add_model(text: str, name: str, fields: Sequence[dict[str, Any]]) -> str:
    """Append a model with `fields` to the spec's `models`.

    Raises:
        UowgenError: a model of that name exists, or the file has no `models` list.
    """

    def change(data: Any) -> None:
        models = _models(data)
        if _find(models, name) is not None:
            raise UowgenError(
                f"model {name!r} already exists in uowgen.yml: pick another name, or "
                f"add fields to it with `uowgen add-field {name} FIELD...`"
            )
        model = CommentedMap()
        model["name"] = name
        model["fields"] = _field_list(fields, flow=_flow_fields(models))
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
            raise UowgenError(
                f"model {model_name!r} in uowgen.yml has no `fields`: fix it "
                "(`uowgen validate uowgen.yml` lists every problem)"
            )
        taken = {f.get("name") for f in existing if isinstance(f, dict)}
        clashes = [f["name"] for f in fields if f["name"] in taken]
        if clashes:
            raise UowgenError(
                f"model {model_name!r} already has "
                + ", ".join(f"field {name!r}" for name in clashes)
                + ": give the new fields other names, or rename the existing one "
                f"first with `uowgen rename-field {model_name} {clashes[0]} NEW`"
            )
        _append(existing, list(_field_list(fields, flow=_flow_fields([model]))))

    return _edit(text, change)


def remove_model(text: str, name: str) -> str:
    """Remove a model; refuse while other models still refer to it.

    A ref or a many field of another model pointing at it is a reference: the
    user decides what becomes of those fields (and of the links a many field
    holds), never the command. The model's own many fields go with it, and the
    migration drops their tables of links.

    Raises:
        UowgenError: no such model, or other models have refs or many fields to
            it (named).
    """

    def change(data: Any) -> None:
        models = _models(data)
        index = _find(models, name)
        if index is None:
            raise UowgenError(_unknown_model(models, name))
        users = [
            f"{model.get('name')}.{field.get('name')}"
            + (" (many)" if field.get("type") == "many" else "")
            for model in models
            if isinstance(model, dict) and model.get("name") != name
            for field in model.get("fields") or []
            if isinstance(field, dict)
            and field.get("type") in _POINTING
            and field.get("to") == name
        ]
        if users:
            raise UowgenError(
                f"cannot remove model {name!r}: still referred to by "
                + ", ".join(users)
                + "; remove or change those fields first (a many field's links "
                f"go with it), then run `uowgen remove-model {name}` again"
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
            raise UowgenError(
                f"model {model_name!r} has no field {old!r} (its fields: "
                f"{', '.join(map(str, names))}): give one of them to "
                "`uowgen rename-field`"
            )
        if new in names:
            raise UowgenError(
                f"model {model_name!r} already has a field {new!r}: give "
                "`uowgen rename-field` another new name"
            )
        fields[names.index(old)]["name"] = new

    return _edit(text, change)


def rename_model(text: str, old: str, new: str) -> str:
    """Rename a model, and the refs and many fields of every model that point at it.

    Raises:
        UowgenError: no such model, or the new name is taken.
    """

    def change(data: Any) -> None:
        models = _models(data)
        model = _model(models, old)
        if _find(models, new) is not None:
            raise UowgenError(
                f"model {new!r} already exists in uowgen.yml: give "
                "`uowgen rename-model` another new name"
            )
        model["name"] = new
        fields = [
            field
            for other in models
            if isinstance(other, dict)
            for field in other.get("fields") or []
            if isinstance(field, dict)
        ]
        for field in fields:
            if field.get("type") in _POINTING and field.get("to") == old:
                field["to"] = new

    return _edit(text, change)


def set_plurals(text: str, plurals: Mapping[str, str]) -> str:
    """Give models a `plural`, right after their `name`: {model name: plural}.

    A model the file does not have, or one that sets a `plural` already, is left
    as it is; an empty `plural:` is filled in.
    """

    def change(data: Any) -> None:
        for model in _models(data):
            if not isinstance(model, CommentedMap) or model.get("plural") is not None:
                continue
            plural = plurals.get(str(model.get("name")))
            if plural is None:
                continue
            if "plural" in model:
                model["plural"] = plural
            else:
                keys = list(model)
                position = keys.index("name") + 1 if "name" in keys else 0
                model.insert(position, "plural", plural)

    return _edit(text, change)


# The field types that point at a model (`to:`): a ref, and a many field's links.
_POINTING = ("ref", "many")


def _edit(text: str, change: Callable[[Any], None]) -> str:
    body, closing = _split_closing_comments(text)
    yaml = YAML()  # round-trip mode
    yaml.indent(**_indentation(body))
    yaml.width = sys.maxsize  # never wrap a line, however long
    yaml.preserve_quotes = True
    try:
        data = yaml.load(body)
    except YAMLError as exc:
        raise UowgenError(
            f"uowgen.yml is not valid YAML: {exc}\nfix it (`uowgen validate "
            "uowgen.yml` shows where)"
        ) from exc
    if not isinstance(data, dict):
        raise UowgenError(
            "uowgen.yml must be a mapping with `models`: fix it (`uowgen validate "
            "uowgen.yml` lists every problem)"
        )
    change(data)
    out = io.StringIO()
    yaml.dump(data, out)
    return _keep_spacing(text, out.getvalue() + closing)


def _indentation(text: str) -> dict[str, int]:
    """The file's own indentation, as `YAML.indent` takes it.

    `sequence` is where a list item's content starts and `offset` where its dash
    is, from the parent key's column; `mapping` is a nested mapping's indent.
    Without a nested block to tell, the generated file's: 2, 4 and 2.
    """
    try:
        _, sequence, offset = load_yaml_guess_indent(text)
    except YAMLError:
        sequence = offset = None  # loading it again reports the error
    if sequence is None:
        return {"mapping": 2, "sequence": 4, "offset": 2}
    offset = offset or 0
    mapping = sequence - offset if sequence > offset else sequence
    return {"mapping": mapping, "sequence": sequence, "offset": offset}


def _keep_spacing(before: str, after: str) -> str:
    """`after`, with the lines the edit left alone written as in `before`.

    The dump normalizes the spacing inside a line (`{ name: x }` becomes
    `{name: x}`, `key:   value` becomes `key: value`): a line of `after` that
    differs from its line in `before` only so is taken from `before`. Should that
    change what the file says, `after` is returned as dumped.
    """
    old = before.splitlines(keepends=True)
    new = after.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(
        None,
        [_squeezed(line) for line in old],
        [_squeezed(line) for line in new],
        autojunk=False,
    )
    kept: list[str] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            kept += old[i1:i2]
        elif tag == "replace" and i2 - i1 == j2 - j1:
            # Lines changed one for one (a renamed `to:`) keep their comments' indent.
            kept += map(_comment_spacing, old[i1:i2], new[j1:j2])
        else:
            kept += new[j1:j2]
    merged = "".join(kept)
    if merged == after or _data(merged) != _data(after):
        return after
    return merged


# The spaces before an end-of-line comment, and the comment.
_COMMENT = re.compile(r"(\s+)(#.*)$")


def _comment_spacing(before: str, after: str) -> str:
    """`after` with the spaces before its end-of-line comment as in `before`.

    The dump writes one space before a comment on a line it changed; a line ending
    in the same comment keeps the owner's. (A `#` inside a quoted value could
    match too: `_keep_spacing` then sees the data differ and keeps the dump.)
    """
    old = _COMMENT.search(before.rstrip("\n"))
    new = _COMMENT.search(after.rstrip("\n"))
    if old is None or new is None or old.group(2) != new.group(2):
        return after
    return after[: new.start()] + old.group(1) + after[new.start(2) :]


def _squeezed(line: str) -> str:
    """A line without the spacing a dump may change: its indent, then no spaces."""
    body = line.lstrip(" ")
    return line[: len(line) - len(body)] + re.sub(r"\s+", "", body)


def _data(text: str) -> Any:
    try:
        return YAML(typ="safe", pure=True).load(text)
    except YAMLError:
        return None


def _flow_fields(models: Sequence[Any]) -> bool:
    """Whether new fields are written in flow style, as the fields beside them are.

    The last field of the last of `models` that has fields decides; flow if none.
    """
    for model in reversed(models):
        fields = model.get("fields") if isinstance(model, dict) else None
        if isinstance(fields, list) and fields:
            last = fields[-1]
            return not isinstance(last, CommentedMap) or bool(last.fa.flow_style())
    return True


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


def _field_list(fields: Sequence[dict[str, Any]], *, flow: bool) -> CommentedSeq:
    # One field a line, `{name: x, type: y}`, as the generated uowgen.yml has them,
    # or a block mapping each where the file writes its fields so.
    items = CommentedSeq()
    for field in fields:
        item = CommentedMap({key: _one_line(value) for key, value in field.items()})
        if flow:
            item.fa.set_flow_style()
        else:
            item.fa.set_block_style()
        items.append(item)
    return items


def _one_line(value: Any) -> Any:
    """A list or mapping value written on its key's line: `values: [a, b]`."""
    if isinstance(value, list):
        seq = CommentedSeq(value)
        seq.fa.set_flow_style()
        return seq
    if isinstance(value, dict):
        mapping = CommentedMap(value)
        mapping.fa.set_flow_style()
        return mapping
    return value


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
        raise UowgenError(
            "uowgen.yml has no `models` list: fix it (`uowgen validate uowgen.yml` "
            "lists every problem)"
        )
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
    return (
        f"uowgen.yml has no model {name!r} (its models: {', '.join(known)}): give "
        f"one of them, or add it with `uowgen add-model {name} FIELD...`"
    )
