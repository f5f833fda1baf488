"""The revision planned from two specs: every kind of change, refusals, renames."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.operations import ops
from sqlalchemy.dialects import postgresql

from uowgen._migrate.diff import Revision, plan_revision
from uowgen._migrate.revisions import read_revisions, revision_file, write_revision
from uowgen._migrate.writer import render_revision
from uowgen._schema.tables import NAMING_CONVENTION, build_metadata
from uowgen._spec.models import ProjectSpec, Renames
from uowgen._spec.validate import load_spec, parse_spec
from uowgen.errors import UowgenError

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "examples").glob("*.yml"))
PG = postgresql.dialect()  # type: ignore[no-untyped-call]


def spec(*models: dict[str, Any]) -> ProjectSpec:
    return parse_spec({"project_name": "Shop", "models": list(models)})


def model(name: str, *fields: dict[str, Any], **options: Any) -> dict[str, Any]:
    return {"name": name, "fields": list(fields), **options}


def f(name: str, type_: str = "str", **options: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, **options}


USER = model("User", f("email", unique=True), f("name", max_length=100))
POST = model("Post", f("title"), f("author", "ref", to="User", on_delete="cascade"))
BASE = spec(USER, POST)


def with_fields(base: dict[str, Any], *fields: dict[str, Any]) -> dict[str, Any]:
    return {**base, "fields": [*base["fields"], *fields]}


def replace_field(
    base: dict[str, Any], field_name: str, /, **changes: Any
) -> dict[str, Any]:
    fields = [
        {**field, **changes} if field["name"] == field_name else field
        for field in base["fields"]
    ]
    return {**base, "fields": [field for field in fields if field]}


def without_field(base: dict[str, Any], name: str) -> dict[str, Any]:
    return {**base, "fields": [x for x in base["fields"] if x["name"] != name]}


def plan(
    old: ProjectSpec, new: ProjectSpec, renames: Renames | None = None
) -> Revision:
    revision = plan_revision(old, new, renames=renames)
    assert revision is not None
    return revision


def show_type(type_: Any) -> str:
    return str(type_.compile(dialect=PG))


def describe(op: ops.MigrateOperation) -> str:
    """One operation as a short line: what it does, not how it is spelled."""
    if isinstance(op, ops.CreateTableOp):
        return f"create table {op.table_name}"
    if isinstance(op, ops.DropTableOp):
        return f"drop table {op.table_name}"
    if isinstance(op, ops.RenameTableOp):
        return f"rename table {op.table_name} to {op.new_table_name}"
    if isinstance(op, ops.CreateIndexOp):
        columns = [getattr(c, "name", c) for c in op.columns]
        return f"create index {op.index_name} ({', '.join(map(str, columns))})"
    if isinstance(op, ops.DropIndexOp):
        return f"drop index {op.index_name}"
    if isinstance(op, ops.AddColumnOp):
        null = "NULL" if op.column.nullable else "NOT NULL"
        return f"add {op.column.name} {show_type(op.column.type)} {null}"
    if isinstance(op, ops.DropColumnOp):
        return f"drop {op.column_name}"
    if isinstance(op, ops.AlterColumnOp):
        parts = [f"alter {op.column_name}"]
        if op.modify_name is not None:
            parts.append(f"rename to {op.modify_name}")
        if op.modify_type is not None:
            parts.append(
                f"type {show_type(op.existing_type)} -> {show_type(op.modify_type)}"
            )
        if op.modify_nullable is not None:
            parts.append("NULL" if op.modify_nullable else "NOT NULL")
        if op.kw:
            parts.append(f"using {op.kw['postgresql_using']}")
        return " ".join(parts)
    if isinstance(op, ops.CreateUniqueConstraintOp):
        return f"create unique {op.constraint_name} ({', '.join(op.columns)})"
    if isinstance(op, ops.CreateForeignKeyOp):
        return (
            f"create foreign key {op.constraint_name} "
            f"({', '.join(op.local_cols)}) -> {op.referent_table} "
            f"on delete {op.kw.get('ondelete')}"
        )
    if isinstance(op, ops.DropConstraintOp):
        return f"drop {op.constraint_type} {op.constraint_name}"
    if isinstance(op, ops.ExecuteSQLOp):
        return f"execute {op.sqltext}"
    if type(op).__name__ == "_FillOp":
        target = getattr(op, "table_name", "")
        column = getattr(op, "column_name", "")
        value = getattr(op, "value", None)
        only_outside = getattr(op, "only_outside", None)
        code = "NULL" if value is None else value.code
        where = "NULL" if only_outside is None else f"not in {only_outside}"
        return f"fill {target}.{column} = {code} where {where}"
    raise AssertionError(f"unexpected operation {op!r}")


def steps(container: ops.OpContainer) -> list[str]:
    """The operations in order; a batch block is one line: `users: op; op`."""
    lines = []
    for op in container.ops:
        if isinstance(op, ops.ModifyTableOps):
            inner = "; ".join(describe(item) for item in op.ops)
            lines.append(f"{op.table_name}: {inner}")
        else:
            lines.append(describe(op))
    return lines


def up(revision: Revision) -> list[str]:
    return steps(revision.upgrade_ops)


def down(revision: Revision) -> list[str]:
    return steps(revision.downgrade_ops)


# --- no change -----------------------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_the_same_spec_needs_no_revision(path: Path) -> None:
    assert plan_revision(load_spec(path), load_spec(path)) is None


@pytest.mark.parametrize(
    "changed",
    [
        pytest.param(replace_field(USER, "name", default="anon"), id="new default"),
        pytest.param({**USER, "plural": "users"}, id="plural spelled out"),
    ],
)
def test_changes_the_database_does_not_see_need_no_revision(
    changed: dict[str, Any],
) -> None:
    assert plan_revision(BASE, spec(changed, POST)) is None


def test_a_new_related_name_or_enum_value_of_the_same_length_needs_no_revision() -> (
    None
):
    old = spec(USER, model("Tag", f("kind", "enum", values=["ab", "cd"])))
    new = spec(USER, model("Tag", f("kind", "enum", values=["ab", "cd", "ef"])))
    assert plan_revision(old, new) is None
    post = replace_field(POST, "author", related_name="writings")
    assert plan_revision(BASE, spec(USER, post)) is None


# --- tables ------------------------------------------------------------------------


def test_a_new_model_is_created_after_the_table_it_points_at() -> None:
    old = spec(USER)
    revision = plan(old, BASE)
    assert up(revision) == [
        "create table posts",
        "create index ix_posts_author_id (author_id)",
    ]
    assert down(revision) == ["drop table posts"]
    assert revision.changes == ("create table posts",)


def test_new_models_are_created_parents_first_and_dropped_children_first() -> None:
    comment = model(
        "Comment", f("body", "text"), f("post", "ref", to="Post", on_delete="cascade")
    )
    revision = plan(spec(USER), spec(comment, USER, POST))
    assert [s for s in up(revision) if s.startswith("create table")] == [
        "create table posts",
        "create table comments",
    ]
    assert down(revision) == ["drop table comments", "drop table posts"]


def test_a_created_table_is_exactly_the_models_table() -> None:
    revision = plan(spec(USER), BASE)
    create = revision.upgrade_ops.ops[0]
    assert isinstance(create, ops.CreateTableOp)
    table = create.to_table()
    assert [c.name for c in table.columns] == [
        "id",
        "title",
        "author_id",
        "version",
        "created_at",
        "updated_at",
    ]
    assert table.kwargs == {"sqlite_autoincrement": True}
    names = {str(c.name) for c in table.constraints}
    assert names == {"pk_posts", "fk_posts_author_id_users"}


def test_a_removed_model_is_dropped_and_comes_back_empty_on_downgrade() -> None:
    revision = plan(BASE, spec(USER))
    assert up(revision) == ["drop table posts"]
    assert down(revision) == [
        "create table posts",
        "create index ix_posts_author_id (author_id)",
    ]


def test_a_removed_parent_loses_its_children_references_first() -> None:
    tag = model("Tag", f("label"))
    tagged = with_fields(USER, f("tag", "ref", to="Tag", optional=True))
    revision = plan(spec(tagged, tag), spec(USER))
    assert up(revision) == [
        (
            "users: drop index ix_users_tag_id; drop foreignkey fk_users_tag_id_tags; "
            "drop tag_id"
        ),
        "drop table tags",
    ]
    assert down(revision) == [
        "create table tags",
        (
            "users: add tag_id BIGINT NULL; "
            "create foreign key fk_users_tag_id_tags (tag_id) -> tags on delete RESTRICT; "
            "create index ix_users_tag_id (tag_id)"
        ),
    ]


# --- columns -----------------------------------------------------------------------


def test_an_optional_field_is_a_nullable_column() -> None:
    revision = plan(
        BASE, spec(with_fields(USER, f("bio", "text", optional=True)), POST)
    )
    assert up(revision) == ["users: add bio TEXT NULL"]
    assert down(revision) == ["users: drop bio"]
    assert revision.changes == ("users: add column bio",)


def test_a_new_required_field_with_a_default_fills_existing_rows() -> None:
    phone = f("phone", max_length=20, default="n/a")
    revision = plan(BASE, spec(with_fields(USER, phone), POST))
    assert up(revision) == [
        "users: add phone VARCHAR(20) NULL",
        "fill users.phone = 'n/a' where NULL",
        "users: alter phone NOT NULL",
    ]
    assert down(revision) == ["users: drop phone"]
    assert "users: existing rows get 'n/a' in phone" in revision.changes


def test_an_optional_field_with_a_default_gives_it_to_existing_rows() -> None:
    flag = f("active", "bool", optional=True, default=True)
    revision = plan(BASE, spec(with_fields(USER, flag), POST))
    assert up(revision) == [
        "users: add active BOOLEAN NULL",
        "fill users.active = True where NULL",
    ]


def test_a_new_required_field_without_a_default_is_refused() -> None:
    phone = f("phone", max_length=20)
    with pytest.raises(UowgenError) as caught:
        plan_revision(BASE, spec(with_fields(USER, phone), POST))
    assert caught.value.message == (
        "model 'User', field 'phone': a new required field needs a default "
        "(or make it optional): existing rows need a value"
    )
    assert caught.value.exit_code == 2


def test_every_refused_field_is_reported_at_once() -> None:
    user = with_fields(USER, f("phone"), f("age", "int"))
    with pytest.raises(UowgenError) as caught:
        plan_revision(BASE, spec(user, POST))
    assert caught.value.message.splitlines() == [
        (
            "model 'User', field 'phone': a new required field needs a default "
            "(or make it optional): existing rows need a value"
        ),
        (
            "model 'User', field 'age': a new required field needs a default "
            "(or make it optional): existing rows need a value"
        ),
    ]


def test_a_new_required_ref_is_refused_and_told_to_be_optional() -> None:
    post = with_fields(POST, f("editor", "ref", to="User"))
    with pytest.raises(UowgenError, match="a ref has no default: make it optional"):
        plan_revision(BASE, spec(USER, post))


def test_a_new_optional_ref_gets_its_foreign_key_and_index() -> None:
    post = with_fields(POST, f("editor", "ref", to="User", optional=True))
    revision = plan(BASE, spec(USER, post))
    assert up(revision) == [
        (
            "posts: add editor_id BIGINT NULL; "
            "create foreign key fk_posts_editor_id_users (editor_id) -> users "
            "on delete RESTRICT; create index ix_posts_editor_id (editor_id)"
        )
    ]
    assert down(revision) == [
        (
            "posts: drop index ix_posts_editor_id; "
            "drop foreignkey fk_posts_editor_id_users; drop editor_id"
        )
    ]


def test_a_removed_field_is_dropped_and_refilled_on_downgrade() -> None:
    revision = plan(BASE, spec(without_field(USER, "name"), POST))
    assert up(revision) == ["users: drop name"]
    # Rows written after the upgrade have no name: they get a placeholder.
    assert down(revision) == [
        "users: add name VARCHAR(100) NULL",
        'fill users.name = "" where NULL',
        "users: alter name NOT NULL",
    ]


def test_a_removed_unique_field_gets_each_rows_id_on_downgrade() -> None:
    revision = plan(BASE, spec(without_field(USER, "email"), POST))
    assert up(revision) == ["users: drop unique uq_users_email; drop email"]
    assert down(revision) == [
        "users: add email VARCHAR(255) NULL",
        'fill users.email = sa.cast(sa.column("id"), sa.String()) where NULL',
        "users: alter email NOT NULL; create unique uq_users_email (email)",
    ]


def test_a_removed_required_ref_points_at_the_lowest_id_on_downgrade() -> None:
    revision = plan(BASE, spec(USER, without_field(POST, "author")))
    fill = down(revision)[1]
    assert fill == (
        "fill posts.author_id = "
        'sa.select(sa.func.min(sa.column("id"))).select_from('
        "sa.table('users')).scalar_subquery() where NULL"
    )


def test_a_removed_field_with_a_default_gets_it_back_on_downgrade() -> None:
    old = spec(with_fields(USER, f("score", "int", default=7)), POST)
    revision = plan(old, BASE)
    assert down(revision)[1] == "fill users.score = 7 where NULL"


@pytest.mark.parametrize(
    ("field", "code"),
    [
        (f("born", "date", default="2000-02-29"), "datetime.date(2000, 2, 29)"),
        (
            f("seen", "datetime", default="2024-01-01T12:30:00+02:00"),
            "datetime.datetime(2024, 1, 1, 10, 30, 0, tzinfo=datetime.UTC)",
        ),
        (f("price", "decimal", default="9.90"), "decimal.Decimal('9.90')"),
        (
            f("key", "uuid", default="12345678-1234-5678-1234-567812345678"),
            "uuid.UUID('12345678-1234-5678-1234-567812345678')",
        ),
        (f("extra", "json", default={"a": [1, None]}), "{'a': [1, None]}"),
        (f("ratio", "float", default=1), "1.0"),
        (f("level", "enum", values=["low", "high"], default="high"), "'high'"),
    ],
    ids=lambda value: value["type"] if isinstance(value, dict) else "",
)
def test_defaults_of_every_type_are_python_values_of_the_column(
    field: dict[str, Any], code: str
) -> None:
    revision = plan(BASE, spec(with_fields(USER, field), POST))
    assert up(revision)[1] == f"fill users.{field['name']} = {code} where NULL"


# --- nullability, types ----------------------------------------------------------


def test_a_field_made_optional_drops_not_null() -> None:
    revision = plan(BASE, spec(replace_field(USER, "name", optional=True), POST))
    assert up(revision) == ["users: alter name NULL"]
    assert down(revision) == [
        'fill users.name = "" where NULL',
        "users: alter name NOT NULL",
    ]
    assert revision.changes == ("users: make column name optional",)


def test_a_field_made_required_fills_nulls_with_its_default() -> None:
    old = spec(replace_field(USER, "name", optional=True), POST)
    new = spec(replace_field(USER, "name", default="anon"), POST)
    revision = plan(old, new)
    assert up(revision) == [
        "fill users.name = 'anon' where NULL",
        "users: alter name NOT NULL",
    ]
    assert down(revision) == ["users: alter name NULL"]


def test_a_field_made_required_without_a_default_is_refused() -> None:
    old = spec(replace_field(USER, "name", optional=True), POST)
    with pytest.raises(UowgenError) as caught:
        plan_revision(old, BASE)
    assert caught.value.message == (
        "model 'User', field 'name': a field made required needs a default "
        "(or keep it optional): existing rows may have no value"
    )


def test_a_longer_string_alters_the_column_type() -> None:
    revision = plan(BASE, spec(replace_field(USER, "name", max_length=150), POST))
    assert up(revision) == ["users: alter name type VARCHAR(100) -> VARCHAR(150)"]
    assert down(revision) == ["users: alter name type VARCHAR(150) -> VARCHAR(100)"]
    assert revision.changes == (
        "users: change column name from VARCHAR(100) to VARCHAR(150)",
    )


def test_a_new_kind_of_value_is_cast_explicitly_on_postgresql() -> None:
    old = spec(with_fields(USER, f("code", max_length=12, optional=True)), POST)
    new = spec(with_fields(USER, f("code", "int", optional=True)), POST)
    revision = plan(old, new)
    assert up(revision) == [
        'users: alter code type VARCHAR(12) -> INTEGER using "code"::INTEGER'
    ]
    # Anything becomes text, and numbers become numbers, without a cast.
    assert down(revision) == ["users: alter code type INTEGER -> VARCHAR(12)"]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (f("n", "int"), f("n", "bigint")),
        (f("n", "decimal"), f("n", "decimal", precision=14)),
        (f("n", "text"), f("n", max_length=30)),
        (f("n", "bool"), f("n", "int")),
    ],
    ids=["int->bigint", "precision", "text->str", "bool->int"],
)
def test_type_changes_are_reversed_on_downgrade(
    before: dict[str, Any], after: dict[str, Any]
) -> None:
    old = spec(with_fields(USER, {**before, "optional": True}), POST)
    new = spec(with_fields(USER, {**after, "optional": True}), POST)
    revision = plan(old, new)
    (step,) = up(revision)
    (back,) = down(revision)
    old_type, new_type = step.split(" type ")[1].split(" using ")[0].split(" -> ")
    assert f" type {new_type} -> {old_type}" in back


def test_int_and_a_ref_to_it_share_a_column_type_on_sqlite_only() -> None:
    old = spec(USER, with_fields(POST, f("reviewer_id", "int", optional=True)))
    new = spec(USER, with_fields(POST, f("reviewer_id", "bigint", optional=True)))
    assert up(plan(old, new)) == ["posts: alter reviewer_id type INTEGER -> BIGINT"]


# --- unique, index, foreign keys -----------------------------------------------------


def test_a_field_made_unique_trades_its_index_for_a_constraint() -> None:
    old = spec(replace_field(USER, "name", index=True), POST)
    new = spec(replace_field(USER, "name", unique=True), POST)
    revision = plan(old, new)
    assert up(revision) == [
        "users: drop index ix_users_name; create unique uq_users_name (name)"
    ]
    assert down(revision) == [
        "users: drop unique uq_users_name; create index ix_users_name (name)"
    ]
    assert revision.changes == (
        "users: drop index ix_users_name",
        "users: add unique constraint uq_users_name",
    )


def test_an_index_comes_and_goes_with_the_index_option() -> None:
    revision = plan(BASE, spec(replace_field(USER, "name", index=True), POST))
    assert up(revision) == ["users: create index ix_users_name (name)"]
    assert down(revision) == ["users: drop index ix_users_name"]


def test_a_unique_ref_needs_no_index_beside_its_constraint() -> None:
    post = replace_field(POST, "author", unique=True)
    revision = plan(BASE, spec(USER, post))
    assert up(revision) == [
        (
            "posts: drop index ix_posts_author_id; "
            "create unique uq_posts_author_id (author_id)"
        )
    ]


def test_a_new_on_delete_recreates_the_foreign_key() -> None:
    post = replace_field(POST, "author", on_delete="restrict")
    revision = plan(BASE, spec(USER, post))
    assert up(revision) == [
        (
            "posts: drop foreignkey fk_posts_author_id_users; "
            "create foreign key fk_posts_author_id_users (author_id) -> users "
            "on delete RESTRICT"
        )
    ]
    assert down(revision) == [
        (
            "posts: drop foreignkey fk_posts_author_id_users; "
            "create foreign key fk_posts_author_id_users (author_id) -> users "
            "on delete CASCADE"
        )
    ]


def test_a_ref_to_another_model_points_its_foreign_key_there() -> None:
    old = spec(USER, model("Team", f("title")), POST)
    post = replace_field(POST, "author", to="Team")
    revision = plan(old, spec(USER, model("Team", f("title")), post))
    assert up(revision) == [
        (
            "posts: drop foreignkey fk_posts_author_id_users; "
            "create foreign key fk_posts_author_id_teams (author_id) -> teams "
            "on delete CASCADE"
        )
    ]


# --- enums -----------------------------------------------------------------------


LEVELS = ["beginner", "intermediate", "advanced"]


def leveled(**options: Any) -> ProjectSpec:
    level = f("level", "enum", **{"values": LEVELS, "default": "beginner", **options})
    return spec(with_fields(USER, level), POST)


def test_rows_holding_a_removed_enum_value_get_the_default() -> None:
    revision = plan(leveled(), leveled(values=["beginner", "intermediate", "expert"]))
    assert up(revision) == [
        (
            "fill users.level = 'beginner' where not in "
            "['beginner', 'intermediate', 'expert']"
        )
    ]
    assert down(revision) == [
        (
            "fill users.level = 'beginner' where not in "
            "['beginner', 'intermediate', 'advanced']"
        )
    ]


def test_rows_holding_a_removed_enum_value_of_an_optional_field_get_null() -> None:
    new = leveled(values=["beginner", "expert"], default=None, optional=True)
    revision = plan(leveled(), new)
    assert up(revision) == [
        "fill users.level = NULL where not in ['beginner', 'expert']",
        "users: alter level type VARCHAR(12) -> VARCHAR(8) NULL",
    ]


def test_removing_an_enum_value_of_a_required_field_without_default_is_refused() -> (
    None
):
    with pytest.raises(UowgenError) as caught:
        plan_revision(leveled(), leveled(values=["beginner"], default=None))
    assert caught.value.message == (
        "model 'User', field 'level': existing rows may hold enum values it no "
        "longer has (advanced, intermediate); give the field a default for them "
        "(or make it optional)"
    )


def test_a_shorter_enum_is_narrowed_after_the_rows_are_remapped() -> None:
    revision = plan(leveled(), leveled(values=["beginner", "expert"]))
    assert up(revision) == [
        "fill users.level = 'beginner' where not in ['beginner', 'expert']",
        "users: alter level type VARCHAR(12) -> VARCHAR(8)",
    ]
    # Widened before the rows are remapped, on the way back.
    assert down(revision) == [
        "users: alter level type VARCHAR(8) -> VARCHAR(12)",
        (
            "fill users.level = 'beginner' where not in "
            "['beginner', 'intermediate', 'advanced']"
        ),
    ]


def test_a_longer_enum_value_widens_the_column() -> None:
    revision = plan(leveled(), leveled(values=[*LEVELS, "beyond-advanced"]))
    assert up(revision) == ["users: alter level type VARCHAR(12) -> VARCHAR(15)"]


def test_a_string_turned_enum_maps_other_values_to_the_default() -> None:
    old = spec(with_fields(USER, f("level", max_length=20)), POST)
    revision = plan(old, leveled())
    assert up(revision) == [
        (
            "fill users.level = 'beginner' where not in "
            "['beginner', 'intermediate', 'advanced']"
        ),
        "users: alter level type VARCHAR(20) -> VARCHAR(12)",
    ]


# --- renames -------------------------------------------------------------------------


def test_a_renamed_field_keeps_its_column_and_renames_its_constraints() -> None:
    user = replace_field(USER, "email", name="login")
    revision = plan(
        BASE, spec(user, POST), Renames(fields={("User", "login"): "email"})
    )
    # A batch knows a renamed column by its old name until the block ends.
    assert up(revision) == [
        "users: drop unique uq_users_email; alter email rename to login",
        "users: create unique uq_users_login (login)",
    ]
    assert down(revision) == [
        "users: drop unique uq_users_login; alter login rename to email",
        "users: create unique uq_users_email (email)",
    ]
    assert revision.changes == (
        "users: drop unique constraint uq_users_email",
        "users: rename column email to login",
        "users: add unique constraint uq_users_login",
    )


def test_without_a_rename_hint_a_renamed_field_is_a_drop_and_an_add() -> None:
    user = replace_field(USER, "name", name="full_name", optional=True)
    revision = plan(BASE, spec(user, POST))
    assert up(revision) == ["users: drop name; add full_name VARCHAR(100) NULL"]


def test_a_renamed_ref_renames_its_column_index_and_foreign_key() -> None:
    post = replace_field(POST, "author", name="writer")
    revision = plan(
        BASE, spec(USER, post), Renames(fields={("Post", "writer"): "author"})
    )
    assert up(revision) == [
        (
            "posts: drop index ix_posts_author_id; "
            "drop foreignkey fk_posts_author_id_users; "
            "alter author_id rename to writer_id"
        ),
        (
            "posts: create foreign key fk_posts_writer_id_users (writer_id) -> users "
            "on delete CASCADE; create index ix_posts_writer_id (writer_id)"
        ),
    ]


def test_a_renamed_model_renames_its_table_and_every_name_derived_from_it() -> None:
    member = {**USER, "name": "Member"}
    post = replace_field(POST, "author", to="Member")
    revision = plan(BASE, spec(member, post), Renames(models={"Member": "User"}))
    assert up(revision) == [
        "rename table users to members",
        "members: drop unique uq_users_email; create unique uq_members_email (email)",
        (
            "posts: drop foreignkey fk_posts_author_id_users; "
            "create foreign key fk_posts_author_id_members (author_id) -> members "
            "on delete CASCADE"
        ),
    ]
    assert down(revision) == [
        "rename table members to users",
        "users: drop unique uq_members_email; create unique uq_users_email (email)",
        (
            "posts: drop foreignkey fk_posts_author_id_members; "
            "create foreign key fk_posts_author_id_users (author_id) -> users "
            "on delete CASCADE"
        ),
    ]


def test_a_renamed_model_and_field_together() -> None:
    member = replace_field({**USER, "name": "Member"}, "name", name="nick")
    post = replace_field(POST, "author", to="Member")
    renames = Renames(models={"Member": "User"}, fields={("Member", "nick"): "name"})
    revision = plan(BASE, spec(member, post), renames)
    assert up(revision)[:2] == [
        "rename table users to members",
        "members: drop unique uq_users_email; alter name rename to nick",
    ]


def test_a_model_renamed_with_its_table_kept_is_the_same_table() -> None:
    member = {**USER, "name": "Member", "plural": "users"}
    post = replace_field(POST, "author", to="Member")
    assert plan_revision(BASE, spec(member, post)) is None


def test_a_model_whose_plural_changes_renames_its_table() -> None:
    revision = plan(BASE, spec({**USER, "plural": "people"}, POST))
    assert up(revision)[0] == "rename table users to people"


def test_a_ref_turned_integer_keeps_the_column_when_the_names_match() -> None:
    post = replace_field(POST, "author", name="author_id", type="int", to=None)
    post["fields"] = [
        {k: v for k, v in field.items() if v is not None} for field in post["fields"]
    ]
    post["fields"][1].pop("on_delete")
    revision = plan(BASE, spec(USER, post))
    assert up(revision) == [
        (
            "posts: drop index ix_posts_author_id; "
            "drop foreignkey fk_posts_author_id_users; "
            "alter author_id type BIGINT -> INTEGER"
        )
    ]


@pytest.mark.parametrize(
    ("new", "renames", "message"),
    [
        (
            BASE,
            Renames(models={"Ghost": "User"}),
            "model 'Ghost': renamed, but the new spec has no such model",
        ),
        (
            BASE,
            Renames(models={"User": "Ghost"}),
            "model 'User': renamed from 'Ghost', which the old spec does not have",
        ),
        (
            BASE,
            Renames(fields={("User", "email"): "ghost"}),
            (
                "model 'User', field 'email': renamed from 'ghost', which model 'User' "
                "does not have in the old spec"
            ),
        ),
        (
            BASE,
            Renames(fields={("User", "ghost"): "email"}),
            "model 'User', field 'ghost': renamed, but the new spec has no such field",
        ),
        (
            spec(USER, POST, model("Tag", f("label"))),
            Renames(fields={("Tag", "label"): "title"}),
            "model 'Tag', field 'label': renamed, but model 'Tag' is not in both specs",
        ),
        (
            spec(replace_field(USER, "name", name="name2"), POST),
            Renames(fields={("User", "name2"): "name", ("User", "email"): "name"}),
            "model 'User', field 'email': field 'name' is renamed twice",
        ),
    ],
)
def test_renames_that_do_not_fit_the_specs_are_refused(
    new: ProjectSpec, renames: Renames, message: str
) -> None:
    with pytest.raises(UowgenError) as caught:
        plan_revision(BASE, new, renames=renames)
    assert message in caught.value.message.splitlines()


def test_swapped_columns_are_refused() -> None:
    user = model("User", f("email", max_length=100), f("name", unique=True))
    renames = Renames(fields={("User", "email"): "name", ("User", "name"): "email"})
    with pytest.raises(UowgenError, match="rename in two steps"):
        plan_revision(BASE, spec(user, POST), renames=renames)


def test_swapped_tables_are_refused() -> None:
    old = spec(USER, model("Team", f("title")))
    new = spec({**USER, "plural": "teams"}, model("Team", f("title"), plural="users"))
    with pytest.raises(UowgenError, match="its table 'teams' is still model 'Team'"):
        plan_revision(old, new)


def test_a_column_may_be_renamed_into_the_name_a_dropped_one_frees() -> None:
    user = model("User", f("email", max_length=100))
    renames = Renames(fields={("User", "email"): "name"})
    revision = plan(BASE, spec(user, POST), renames)
    assert up(revision)[0] == (
        "users: drop unique uq_users_email; drop email; alter name rename to email"
    )


# --- many fields: tables of links -------------------------------------------------------

TAG = model("Tag", f("label", unique=True))
TAGS = f("tags", "many", to="Tag")
LINKED = spec(USER, with_fields(POST, TAGS), TAG)


def moved(
    before: str, after: str, old: tuple[str, str], new: tuple[str, str]
) -> list[str]:
    """The steps that move the links of table `before` to table `after`."""
    return [
        (
            f'execute CREATE TABLE "uowgen_links_copy" AS SELECT "{old[0]}" AS owner, '
            f'"{old[1]}" AS other FROM "{before}"'
        ),
        f"drop table {before}",
        f"create table {after}",
        f"create index ix_{after}_{new[1]} ({new[1]})",
        (
            f'execute INSERT INTO "{after}" ("{new[0]}", "{new[1]}") '
            'SELECT owner, other FROM "uowgen_links_copy"'
        ),
        'execute DROP TABLE "uowgen_links_copy"',
    ]


def test_a_new_many_field_creates_its_table_of_links_and_downgrade_drops_it() -> None:
    revision = plan(spec(USER, POST, TAG), LINKED)
    assert up(revision) == [
        "create table posts_tags",
        "create index ix_posts_tags_tag_id (tag_id)",
    ]
    assert down(revision) == ["drop table posts_tags"]
    table = build_metadata(LINKED).tables["posts_tags"]
    assert [c.name for c in table.primary_key.columns] == ["post_id", "tag_id"]


def test_a_new_model_and_a_many_field_to_it_come_in_one_revision() -> None:
    revision = plan(BASE, LINKED)
    assert revision.changes == ("create table tags", "create table posts_tags")
    assert revision.downgrade_changes == ("drop table posts_tags", "drop table tags")


def test_a_removed_many_field_drops_its_table_of_links() -> None:
    revision = plan(LINKED, spec(USER, POST, TAG))
    assert up(revision) == ["drop table posts_tags"]
    assert down(revision) == [
        "create table posts_tags",
        "create index ix_posts_tags_tag_id (tag_id)",
    ]


def test_a_renamed_many_field_moves_every_link_to_its_new_table() -> None:
    new = spec(USER, with_fields(POST, {**TAGS, "name": "labels"}), TAG)
    revision = plan(LINKED, new, Renames(fields={("Post", "labels"): "tags"}))
    keys = ("post_id", "tag_id")
    assert up(revision) == moved("posts_tags", "posts_labels", keys, keys)
    assert down(revision) == moved("posts_labels", "posts_tags", keys, keys)
    assert revision.changes == ("move the links of posts_tags to posts_labels",)


def test_without_a_rename_hint_a_renamed_many_field_is_a_drop_and_a_create() -> None:
    new = spec(USER, with_fields(POST, {**TAGS, "name": "labels"}), TAG)
    revision = plan(LINKED, new)
    assert revision.changes == ("drop table posts_tags", "create table posts_labels")


def test_a_renamed_target_model_moves_the_links_to_its_new_column_and_key() -> None:
    label = {**TAG, "name": "Label"}
    post = with_fields(POST, {**TAGS, "to": "Label"})
    revision = plan(LINKED, spec(USER, post, label), Renames(models={"Label": "Tag"}))
    assert up(revision)[0] == "rename table tags to labels"
    assert up(revision)[1:7] == moved(
        "posts_tags", "posts_tags", ("post_id", "tag_id"), ("post_id", "label_id")
    )
    assert down(revision)[0] == "rename table labels to tags"
    assert down(revision)[1:7] == moved(
        "posts_tags", "posts_tags", ("post_id", "label_id"), ("post_id", "tag_id")
    )
    assert revision.changes[:2] == (
        "rename table tags to labels",
        "posts_tags: move the links (tag_id -> label_id, tags -> labels)",
    )


def test_a_renamed_owner_model_moves_the_links_to_its_new_table() -> None:
    article = with_fields({**POST, "name": "Article"}, TAGS)
    revision = plan(
        LINKED, spec(USER, article, TAG), Renames(models={"Article": "Post"})
    )
    assert up(revision)[0] == "rename table posts to articles"
    assert up(revision)[1:7] == moved(
        "posts_tags",
        "articles_tags",
        ("post_id", "tag_id"),
        ("article_id", "tag_id"),
    )


def test_a_renamed_model_with_a_link_to_itself_moves_both_columns() -> None:
    related = f("related", "many", to="Post")
    old = spec(USER, with_fields(POST, related))
    article = with_fields({**POST, "name": "Article"}, {**related, "to": "Article"})
    revision = plan(old, spec(USER, article), Renames(models={"Article": "Post"}))
    assert up(revision)[1:7] == moved(
        "posts_related",
        "articles_related",
        ("post_id", "related_post_id"),
        ("article_id", "related_article_id"),
    )


def test_a_many_field_pointed_at_another_model_starts_empty_in_the_same_table() -> None:
    old = spec(USER, with_fields(POST, TAGS), TAG, model("Topic", f("title")))
    new = spec(
        USER,
        with_fields(POST, {**TAGS, "to": "Topic"}),
        TAG,
        model("Topic", f("title")),
    )
    revision = plan(old, new)
    # The old table goes first: the new one takes its name and its key's.
    assert up(revision) == [
        "drop table posts_tags",
        "create table posts_tags",
        "create index ix_posts_tags_topic_id (topic_id)",
    ]


def test_a_removed_owner_model_takes_its_tables_of_links_along() -> None:
    revision = plan(LINKED, spec(USER, TAG))
    assert up(revision) == ["drop table posts_tags", "drop table posts"]
    assert down(revision)[-2:] == [
        "create table posts_tags",
        "create index ix_posts_tags_tag_id (tag_id)",
    ]


def test_a_removed_target_model_and_the_many_field_to_it_go_together() -> None:
    revision = plan(LINKED, BASE)
    assert up(revision) == ["drop table posts_tags", "drop table tags"]


def test_swapped_many_fields_are_refused() -> None:
    old = spec(USER, with_fields(POST, TAGS, f("extra", "many", to="Tag")), TAG)
    renames = Renames(fields={("Post", "tags"): "extra", ("Post", "extra"): "tags"})
    with pytest.raises(UowgenError) as caught:
        plan_revision(old, old, renames=renames)
    assert (
        "model 'Post', field 'tags': its table of links 'posts_tags' is still "
        "Post.tags's in the old spec; rename in two steps"
    ) in caught.value.message.splitlines()


def test_a_revision_that_moves_links_renders_valid_code() -> None:
    new = spec(USER, with_fields(POST, {**TAGS, "name": "labels"}), TAG)
    text = rendered(plan(LINKED, new, Renames(fields={("Post", "labels"): "tags"})))
    compile(text, "0002_grow.py", "exec")
    # Both ways: copied aside (saying why), copied back, the copy dropped.
    assert "    # The links of posts_tags wait in a copy while their table" in text
    assert "    # The links of posts_labels wait in a copy while their table" in text
    assert text.count("""'FROM "posts_tags"'""") == 1
    assert text.count("""'FROM "posts_labels"'""") == 1
    assert text.count("""'SELECT owner, other FROM "uowgen_links_copy"'""") == 2
    assert text.count("""op.execute('DROP TABLE "uowgen_links_copy"')""") == 2
    # A clause a line: every line fits the project's line length.
    assert max(len(line) for line in text.splitlines()) <= 88


# --- the metadata, the rendered file --------------------------------------------------


def test_the_metadata_names_constraints_like_the_models() -> None:
    template = (REPO / "template/src/{{package_name}}/models/base.py.jinja").read_text()
    block = re.search(r"NAMING_CONVENTION = (\{.*?\})\n", template, re.DOTALL)
    assert block is not None
    assert ast.literal_eval(block.group(1)) == NAMING_CONVENTION
    metadata = build_metadata(BASE)
    posts = metadata.tables["posts"]
    assert {str(ix.name) for ix in posts.indexes} == {"ix_posts_author_id"}
    users = metadata.tables["users"]
    assert isinstance(users.c.id.type, sa.BigInteger)
    assert users.c.email.type.compile(dialect=PG) == "VARCHAR(255)"


def rendered(revision: Revision) -> str:
    return render_revision(
        revision, revision_id="0002", down_revision="0001", message="Grow"
    )


def test_the_rendered_revision_reads_like_the_initial_migration() -> None:
    phone = f("phone", max_length=20, default="n/a")
    text = rendered(plan(BASE, spec(with_fields(USER, phone), POST)))
    assert text.startswith('"""Grow\n\nRevision ID: 0002\nRevises: 0001\n"""\n')
    assert 'revision: str = "0002"\ndown_revision: str | None = "0001"\n' in text
    assert "import sqlalchemy as sa\nfrom alembic import op\n" in text
    assert "def upgrade() -> None:\n    with sqlite_foreign_keys_off():\n" in text
    assert 'with op.batch_alter_table(\n            "users", table_kwargs=' in text
    assert "ID = sa.BigInteger()" not in text  # no id column touched
    compile(text, "0002_grow.py", "exec")


def test_a_created_table_uses_the_id_type_of_the_initial_migration() -> None:
    text = rendered(plan(spec(USER), BASE))
    assert 'ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")' in text
    assert 'sa.Column("id", ID, sa.Identity(), nullable=False)' in text
    assert 'sa.Column("author_id", ID, nullable=False)' in text
    assert "server_default=sa.func.now()" in text
    assert "sqlite_foreign_keys_off" not in text  # no table is altered
    assert "from contextlib" not in text


def test_fill_values_bring_their_imports() -> None:
    fields = [
        f("born", "date", default="2000-01-01"),
        f("price", "decimal", default="1.5"),
        f("key", "uuid", default="12345678-1234-5678-1234-567812345678"),
    ]
    text = rendered(plan(BASE, spec(with_fields(USER, *fields), POST)))
    assert "import datetime\nimport decimal\nimport uuid\nfrom collections" in text


def test_a_type_change_renders_its_postgresql_cast() -> None:
    old = spec(with_fields(USER, f("code", max_length=12, optional=True)), POST)
    new = spec(with_fields(USER, f("code", "int", optional=True)), POST)
    text = rendered(plan(old, new))
    assert """postgresql_using='"code"::INTEGER'""" in text


@pytest.mark.parametrize(
    "message",
    ['say "hi"', "back\\slash", 'ends with "', "two\nlines", ""],
)
def test_any_message_makes_a_valid_docstring(message: str) -> None:
    text = render_revision(
        plan(spec(USER), BASE),
        revision_id="0002",
        down_revision="0001",
        message=message,
    )
    docstring = ast.get_docstring(ast.parse(text))
    assert docstring is not None
    assert docstring.splitlines()[0] == (
        " ".join(message.split()) or "Migrate the tables"
    )


def every_change() -> Revision:
    old = spec(
        with_fields(
            USER,
            f("code", "int", optional=True),
            f("level", "enum", values=LEVELS, default="beginner"),
        ),
        POST,
        model("Tag", f("label", unique=True)),
    )
    member = with_fields(
        replace_field({**USER, "name": "Member"}, "name", name="nick", index=True),
        f("code", max_length=12, optional=True),
        f("level", "enum", values=["beginner", "expert"], default="beginner"),
        f("born", "date", default="2000-01-01"),
        f("seen", "datetime", optional=True, default="2024-01-01T00:00:00Z"),
    )
    post = with_fields(
        replace_field(POST, "author", to="Member", on_delete="restrict"),
        f("editor", "ref", to="Member", optional=True),
    )
    review = model("Review", f("post", "ref", to="Post"), f("stars", "int", default=5))
    renames = Renames(models={"Member": "User"}, fields={("Member", "nick"): "name"})
    return plan(old, spec(member, post, review), renames)


def test_the_rendered_revision_is_lint_clean_under_the_projects_rules() -> None:
    text = rendered(every_change())
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--isolated",
            "--extend-select",
            "B,C4,I,PTH,UP,ARG,T20",
            "--target-version",
            "py311",
            "--stdin-filename",
            "0002_grow.py",
            "-",
        ],
        input=text,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- the versions folder ---------------------------------------------------------------


def write_revision_stub(folder: Path, name: str, revision: str, down: Any) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(
        f'"""x"""\nrevision: str = {revision!r}\ndown_revision = {down!r}\n'
    )


def test_the_next_revision_follows_the_head_and_is_numbered_on(tmp_path: Path) -> None:
    write_revision_stub(tmp_path, "0001_initial.py", "0001", None)
    revision = plan(spec(USER), BASE)
    first = write_revision(revision, tmp_path, message="Add model Post")
    assert first.name == "0002_add_model_post.py"
    second = write_revision(revision, tmp_path, message="Sync!")
    assert second.name == "0003_sync.py"
    assert read_revisions(tmp_path) == {
        "0001": (),
        "0002": ("0001",),
        "0003": ("0002",),
    }
    assert 'down_revision: str | None = "0002"' in second.read_text()


def test_a_planned_file_is_not_written_until_asked(tmp_path: Path) -> None:
    write_revision_stub(tmp_path, "0001_initial.py", "0001", None)
    revision = plan(spec(USER), BASE)
    path, text = revision_file(revision, tmp_path, message="Add model Post")
    assert path == tmp_path / "0002_add_model_post.py"
    assert not path.exists()
    assert write_revision(revision, tmp_path, message="Add model Post") == path
    assert path.read_text() == text
    (tmp_path / "0003_again.py").write_text("# not a revision\n")
    with pytest.raises(UowgenError, match="exists already"):
        write_revision(revision, tmp_path, message="again")


def test_ids_keep_counting_past_hand_made_revisions(tmp_path: Path) -> None:
    write_revision_stub(tmp_path, "0001_initial.py", "0001", None)
    write_revision_stub(tmp_path, "a1b2_manual.py", "a1b2c3", "0001")
    write_revision_stub(tmp_path, "0007_late.py", "0007", "a1b2c3")
    path = write_revision(plan(spec(USER), BASE), tmp_path, message="x " * 40)
    assert path.name == "0008_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x_x.py"
    assert 'down_revision: str | None = "0007"' in path.read_text()


def test_several_heads_are_refused(tmp_path: Path) -> None:
    write_revision_stub(tmp_path, "0001_initial.py", "0001", None)
    write_revision_stub(tmp_path, "0002_a.py", "0002", "0001")
    write_revision_stub(tmp_path, "0003_b.py", "0003", "0001")
    with pytest.raises(UowgenError, match="one head, found 0002, 0003"):
        write_revision(plan(spec(USER), BASE), tmp_path, message="x")


def test_a_merge_revision_is_one_head(tmp_path: Path) -> None:
    write_revision_stub(tmp_path, "0001_initial.py", "0001", None)
    write_revision_stub(tmp_path, "0002_a.py", "0002", "0001")
    write_revision_stub(tmp_path, "0003_b.py", "0003", "0001")
    write_revision_stub(tmp_path, "0004_merge.py", "0004", ("0002", "0003"))
    path = write_revision(plan(spec(USER), BASE), tmp_path, message="x")
    assert path.name == "0005_x.py"


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({}, "no Alembic revision found"),
        ({"0001_a.py": "revision = 1\n"}, "must be strings"),
        ({"0001_a.py": "revision = make()\n"}, "`revision` is not a literal"),
        ({"0001_a.py": "revision = (\n"}, "cannot read the revision"),
        (
            {"0001_a.py": "revision = '1'\n", "0001_b.py": "revision = '1'\n"},
            "revision '1' is defined twice",
        ),
    ],
)
def test_unreadable_versions_are_refused(
    tmp_path: Path, files: dict[str, str], message: str
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(UowgenError, match=re.escape(message)):
        write_revision(plan(spec(USER), BASE), tmp_path, message="x")


def test_a_missing_versions_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UowgenError, match="no such folder"):
        write_revision(plan(spec(USER), BASE), tmp_path / "nope", message="x")


def test_turning_the_admin_on_creates_its_logins_table_and_off_drops_it() -> None:
    off = load_spec(REPO / "examples" / "fastbot.yml")
    on = parse_spec({**off.to_data(), "admin": True})

    up = plan_revision(off, on)
    down = plan_revision(on, off)

    assert up is not None and up.changes == ("create table admin_sessions",)
    assert up.downgrade_changes == ("drop table admin_sessions",)
    assert down is not None and down.changes == ("drop table admin_sessions",)
    assert plan_revision(on, on) is None
    table = build_metadata(on).tables["admin_sessions"]
    assert [c.name for c in table.columns] == [
        "id",
        "token_hash",
        "username",
        "expires_at",
        "version",
        "created_at",
        "updated_at",
    ]
    assert "admin_sessions" not in build_metadata(off).tables


# --- many fields: tables of links ---------------------------------------------

TAGGED = spec(TAG, with_fields(POST, f("tags", "many", to="Tag")), USER)


def test_a_many_field_is_a_table_of_links_keyed_by_the_pair() -> None:
    revision = plan(spec(TAG, POST, USER), TAGGED)
    assert up(revision) == [
        "create table posts_tags",
        "create index ix_posts_tags_tag_id (tag_id)",
    ]
    assert down(revision) == ["drop table posts_tags"]
    create = revision.upgrade_ops.ops[0]
    assert isinstance(create, ops.CreateTableOp)
    table = create.to_table()
    assert [c.name for c in table.columns] == ["post_id", "tag_id"]
    assert [c.name for c in table.primary_key.columns] == ["post_id", "tag_id"]
    keys = {
        str(key.name): (key.elements[0].target_fullname, key.ondelete)
        for key in table.foreign_key_constraints
    }
    assert keys == {
        "fk_posts_tags_post_id_posts": ("posts.id", "CASCADE"),
        "fk_posts_tags_tag_id_tags": ("tags.id", "CASCADE"),
    }


def test_a_many_field_is_not_a_column_of_its_model() -> None:
    assert [c.name for c in build_metadata(TAGGED).tables["posts"].columns] == [
        "id",
        "title",
        "author_id",
        "version",
        "created_at",
        "updated_at",
    ]


def test_a_table_of_links_comes_after_both_tables_and_goes_before_either() -> None:
    revision = plan(spec(USER), TAGGED)
    assert [s for s in up(revision) if s.startswith("create table")] == [
        "create table tags",
        "create table posts",
        "create table posts_tags",
    ]
    assert down(revision)[0] == "drop table posts_tags"


def test_links_survive_a_rename_on_sqlite(tmp_path: Path) -> None:
    """The move, run: every link is in the new table, and back after the downgrade."""
    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    labelled = spec(TAG, with_fields(POST, f("labels", "many", to="Tag")), USER)
    revision = plan(TAGGED, labelled, Renames(fields={("Post", "labels"): "tags"}))
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    build_metadata(TAGGED).create_all(engine)
    links = [(1, 1), (1, 2), (2, 2)]
    with engine.begin() as db:
        db.execute(
            sa.text(
                "INSERT INTO users (id, email, name, version) VALUES (1, 'a', 'A', 1)"
            )
        )
        for n in (1, 2):
            db.execute(
                sa.text(
                    f"INSERT INTO tags (id, label, version) VALUES ({n}, 't{n}', 1)"
                )
            )
            db.execute(
                sa.text(
                    f"INSERT INTO posts (id, title, author_id, version) VALUES ({n}, 'p', 1, 1)"
                )
            )
        for post, tag in links:
            db.execute(sa.text(f"INSERT INTO posts_tags VALUES ({post}, {tag})"))

    def run(container: ops.OpContainer) -> None:
        with engine.begin() as db:
            operations = Operations(MigrationContext.configure(db))
            for op in container.ops:
                operations.invoke(op)

    run(revision.upgrade_ops)
    with engine.connect() as db:
        assert (
            sorted(db.execute(sa.text("SELECT post_id, tag_id FROM posts_labels")))
            == links
        )
        tables = set(sa.inspect(db).get_table_names())
    assert "posts_tags" not in tables and "uowgen_links_copy" not in tables
    run(revision.downgrade_ops)
    with engine.connect() as db:
        assert (
            sorted(db.execute(sa.text("SELECT post_id, tag_id FROM posts_tags")))
            == links
        )
