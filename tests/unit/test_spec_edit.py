"""Editing uowgen.yml keeps what its owner wrote: comments, order, layout."""

from __future__ import annotations

import pytest

from uowgen._spec.edit import (
    add_fields,
    add_model,
    remove_model,
    rename_field,
    rename_model,
    set_plurals,
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


# Notes linked to tags, and to each other: many fields on both sides of a model.
LINKED = """\
project_name: Notes
models:
  - name: Tag
    fields:
      - {name: label, type: str}
  - name: Note
    fields:
      - {name: body, type: text}  # the note itself
      - {name: tags, type: many, to: Tag}
      - {name: related, type: many, to: Note}
"""


def test_a_many_field_is_added_in_the_shape_the_shorthand_gives() -> None:
    text = add_fields(SPEC, "Note", [{"name": "labels", "type": "many", "to": "Tag"}])

    assert "      - {name: labels, type: many, to: Tag}\n" in text
    (note, _) = parse_spec_text(text).models
    assert (note.fields[-1].name, note.fields[-1].to) == ("labels", "Tag")


def test_renaming_a_model_renames_the_many_fields_to_it_on_either_side() -> None:
    text = rename_model(LINKED, "Tag", "Label")

    assert text == LINKED.replace("- name: Tag\n", "- name: Label\n").replace(
        "to: Tag}", "to: Label}"
    )
    parse_spec_text(text)  # a valid spec
    text = rename_model(LINKED, "Note", "Memo")

    assert "{name: related, type: many, to: Memo}" in text
    assert "      - {name: body, type: text}  # the note itself\n" in text
    assert "      - {name: tags, type: many, to: Tag}\n" in text
    parse_spec_text(text)


def test_a_line_changed_by_a_rename_keeps_its_comments_spacing() -> None:
    commented = LINKED.replace(
        "{name: tags, type: many, to: Tag}\n",
        "{name: tags, type: many, to: Tag}    # links, in a table of their own\n",
    )
    text = rename_model(commented, "Tag", "Label")

    assert text == commented.replace("- name: Tag\n", "- name: Label\n").replace(
        "to: Tag}", "to: Label}"
    )


def test_renaming_a_many_field_changes_only_its_name() -> None:
    text = rename_field(LINKED, "Note", "tags", "labels")

    assert text == LINKED.replace("{name: tags,", "{name: labels,")


def test_removing_a_model_that_many_fields_point_at_is_refused_naming_them() -> None:
    with pytest.raises(UowgenError) as caught:
        remove_model(LINKED, "Tag")

    assert caught.value.message == (
        "cannot remove model 'Tag': still referred to by Note.tags (many); remove "
        "or change those fields first (a many field's links go with it), then run "
        "`uowgen remove-model Tag` again"
    )


def test_removing_the_model_that_owns_many_fields_takes_them_along() -> None:
    text = remove_model(LINKED.replace("to: Note}", "to: Tag}"), "Note")

    assert "tags" not in text and "related" not in text
    assert [m.name for m in parse_spec_text(text).models] == ["Tag"]


# Written the way its owner likes: keys in an order of their own, spaces inside the
# braces, four-space indents, and an enum line of 150 characters.
LEVELS = ", ".join(f"level_{n}" for n in range(12))
CUSTOM = f"""\
project_name: Courses
models:
    -   name: Course
        fields:
            -   {{ name: title, type: str, max_length: 200, optional: true }}
            -   {{name: level, type: enum, default: level_0, values: [{LEVELS}]}}
            -   {{type: int, name: seats,   default: 20}}
    -   name: Teacher
        fields:
            -   name: email
                type: str
                unique: true
"""


def test_adding_fields_keeps_every_other_line_and_never_wraps_one() -> None:
    values = [f"value_{n}" for n in range(15)]
    text = add_fields(
        CUSTOM,
        "Course",
        [{"name": "room", "type": "str", "optional": True},
         {"name": "track", "type": "enum", "values": values}],
    )  # fmt: skip

    added = (
        "            -   {name: room, type: str, optional: true}\n"
        f"            -   {{name: track, type: enum, values: [{', '.join(values)}]}}\n"
    )
    assert len(added.splitlines()[1]) > 120
    assert max(len(line) for line in CUSTOM.splitlines()) > 120
    assert text == CUSTOM.replace(
        "    -   name: Teacher\n", added + "    -   name: Teacher\n"
    )
    parse_spec_text(text)


def test_fields_added_to_a_model_written_in_block_style_are_block_style() -> None:
    text = add_fields(
        CUSTOM, "Teacher", [{"name": "rank", "type": "enum", "values": ["a", "b"]}]
    )

    assert text == CUSTOM + (
        "            -   name: rank\n"
        "                type: enum\n"
        "                values: [a, b]\n"
    )


def test_setting_plurals_writes_them_after_the_name_and_nothing_else() -> None:
    text = set_plurals(SPEC, {"Note": "notez", "Nope": "x"})

    assert text == SPEC.replace(
        "  - name: Note\n", "  - name: Note\n    plural: notez\n"
    )
    assert set_plurals(text, {"Note": "other"}) == text  # a plural set stays
    empty = text.replace("plural: notez", "plural:")
    assert set_plurals(empty, {"Note": "notez"}) == text
