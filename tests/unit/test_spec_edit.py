"""Editing uowgen.yml keeps what its owner wrote: comments, order, layout."""

from __future__ import annotations

import pytest

from uowgen._spec.edit import (
    add_fields,
    add_model,
    remove_model,
    rename_field,
    rename_model,
)
from uowgen._spec.validate import parse_spec_text
from uowgen.errors import UowgenError

SPEC = """\
# My project's spec: edit me.
project_name: Notes   # the API title
models:
  - name: Note
    fields:
      - {name: body, type: text}  # the note itself
  # Tags come next.
  - name: Tag
    fields:
      - {name: label, type: str, max_length: 30}
      - {name: note, type: ref, to: Note, on_delete: cascade}
# The end.
"""


def test_adding_a_model_appends_it_and_keeps_every_comment() -> None:
    text = add_model(SPEC, "Topic", [{"name": "title", "type": "str", "unique": True}])

    assert text == SPEC.replace(
        "# The end.\n",
        "  - name: Topic\n"
        "    fields:\n"
        "      - {name: title, type: str, unique: true}\n"
        "# The end.\n",
    )
    assert [m.name for m in parse_spec_text(text).models] == ["Note", "Tag", "Topic"]


def test_adding_fields_appends_them_to_their_model_in_flow_style() -> None:
    text = add_fields(SPEC, "Note", [{"name": "score", "type": "int", "default": 0}])

    assert text == SPEC.replace(
        "      - {name: body, type: text}  # the note itself\n",
        "      - {name: body, type: text}  # the note itself\n"
        "      - {name: score, type: int, default: 0}\n",
    )


def test_removing_a_model_leaves_the_rest_as_written() -> None:
    text = remove_model(SPEC, "Tag")

    assert "name: Tag" not in text and "label" not in text
    assert "# My project's spec: edit me.\n" in text
    assert "  - {name: body, type: text}  # the note itself" in text
    assert text.endswith("# The end.\n")


def test_renaming_a_field_changes_only_its_name() -> None:
    text = rename_field(SPEC, "Tag", "label", "title")

    assert text == SPEC.replace("{name: label,", "{name: title,")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda: add_model(SPEC, "Note", [{"name": "x", "type": "int"}]),
            "already exists",
        ),
        (
            lambda: add_fields(SPEC, "Nope", [{"name": "x", "type": "int"}]),
            "no model 'Nope'",
        ),
        (
            lambda: add_fields(SPEC, "Note", [{"name": "body", "type": "int"}]),
            "already has field 'body'",
        ),
        (lambda: remove_model(SPEC, "Note"), "still referred to by Tag.note"),
        (lambda: rename_field(SPEC, "Tag", "nope", "x"), "has no field 'nope'"),
        (
            lambda: rename_field(SPEC, "Tag", "label", "note"),
            "already has a field 'note'",
        ),
        (lambda: add_model("models: [", "X", []), "not valid YAML"),
    ],
)
def test_impossible_edits_are_refused_with_a_reason(edit: object, message: str) -> None:
    with pytest.raises(UowgenError, match=message):
        edit()  # type: ignore[operator]


def test_renaming_a_model_renames_the_refs_to_it() -> None:
    text = rename_model(SPEC, "Note", "Memo")

    assert text == SPEC.replace("- name: Note\n", "- name: Memo\n").replace(
        "to: Note", "to: Memo"
    )
    with pytest.raises(UowgenError, match="already exists"):
        rename_model(SPEC, "Note", "Tag")
