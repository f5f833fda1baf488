"""A validated spec as typed tables: columns, types, constraints and their names.

Built once per spec, this is what the template context, every migration (the
initial one too), `check` and the spec validator read: none of them derives a
table's shape again. The tables are SQLAlchemy's own (`Schema.metadata`), built as
the generated models declare theirs, so a migration written from them is exactly
what `alembic check` expects of the models.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.types import TypeEngine

from uowgen._schema import naming
from uowgen._schema.types import TYPES, FieldType, Params, Value, params
from uowgen._spec.models import SUBJECT_FIELD, link_columns, related_name

if TYPE_CHECKING:
    from uowgen._spec.models import FieldSpec, ModelSpec, ProjectSpec

# The same as NAMING_CONVENTION in the template's models/base.py (a test holds them
# equal): the names the models give constraints are the names migrations create.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
# The models' ID_TYPE: 64-bit ids, exactly INTEGER on SQLite (the rowid).
ID_TYPE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# The columns every table has besides its fields.
SHARED_COLUMNS = ("id", "version", "created_at", "updated_at")
ON_DELETE = {"cascade": "CASCADE", "restrict": "RESTRICT", "set_null": "SET NULL"}


def pk_name(table: str) -> str:
    """The primary key constraint's name."""
    return NAMING_CONVENTION["pk"] % {"table_name": table}


def uq_name(table: str, column: str) -> str:
    """A one-column unique constraint's name."""
    return NAMING_CONVENTION["uq"] % {"table_name": table, "column_0_name": column}


def ix_name(table: str, column: str) -> str:
    """A one-column index's name."""
    return NAMING_CONVENTION["ix"] % {"column_0_label": f"{table}_{column}"}


def fk_name(table: str, column: str, target: str) -> str:
    """A foreign key constraint's name."""
    return NAMING_CONVENTION["fk"] % {
        "table_name": table,
        "column_0_name": column,
        "referred_table_name": target,
    }


@dataclass(frozen=True)
class ForeignKey:
    """Where a ref's column points."""

    target: str  # the target model
    table: str  # its table
    on_delete: str  # as SQL: CASCADE, RESTRICT, SET NULL
    name: str  # the constraint's name
    self_reference: bool


@dataclass(frozen=True)
class Column:
    """One field's column, with every name and type derived from it."""

    field: FieldSpec
    name: str
    kind: FieldType | None  # None for a ref: its column holds an id
    params: Params
    type: TypeEngine[Any]
    default: Value | None
    foreign_key: ForeignKey | None
    unique_name: str | None
    index_name: str | None

    @property
    def optional(self) -> bool:
        """Whether the column is nullable."""
        return self.field.optional


@dataclass(frozen=True)
class Table:
    """One model's table."""

    model: ModelSpec
    name: str
    pk_name: str
    columns: dict[str, Column]  # by field name, in spec order (no many fields)
    table: sa.Table


@dataclass(frozen=True)
class Link:
    """A many field's table of links: one row per linked pair, nothing else.

    Its primary key is the pair (the owner's id first, which reads a row's links);
    the second column has an index of its own (which reads a target's rows, and
    finds the links to delete with a target). Both keys cascade on delete.
    """

    model: ModelSpec  # the model that declares the field
    field: FieldSpec
    name: str  # the table's
    owner: str  # the column of the model's id
    other: str  # the column of the linked row's id: the link's name in URLs
    owner_table: str
    target: str  # the linked model
    target_table: str
    back_populates: str  # the collection on the target
    table: sa.Table

    @property
    def ids(self) -> str:
        """The create and update schemas' list of linked ids (`tag_ids`)."""
        return f"{self.other}s"


class Schema:
    """A spec's tables, built as the models build them (types, names, constraints).

    `spec` must be valid. `tables` and `order` put referenced tables first.
    """

    def __init__(self, spec: ProjectSpec, *, with_admin: bool = True) -> None:
        self.spec = spec
        self.models = spec.table_models() if with_admin else list(spec.models)
        self.metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
        self.order = dependency_order(self.models)
        by_name = {model.name: model for model in self.models}
        self.table_names = {
            model.name: naming.table(model.name, model.plural) for model in self.models
        }
        self.tables: dict[str, Table] = {}
        # Referenced tables first, so every foreign key names a table already there.
        for name in self.order:
            self.tables[name] = self._table(by_name[name])
        # Tables of links last: they point at two models' tables.
        self.links: dict[tuple[str, str], Link] = {}
        for model in self.models:
            for spec_field in model.fields:
                if spec_field.type == "many":
                    self.links[model.name, spec_field.name] = self._link(
                        model, spec_field
                    )

    def links_of(self, model: str) -> list[Link]:
        """The links a model's many fields make, in spec order."""
        return [link for (owner, _), link in self.links.items() if owner == model]

    def _link(self, model: ModelSpec, spec_field: FieldSpec) -> Link:
        assert spec_field.to is not None
        owner_table = self.table_names[model.name]
        target_table = self.table_names[spec_field.to]
        name = f"{owner_table}_{spec_field.name}"
        owner, other = link_columns(model, spec_field)
        table = sa.Table(
            name,
            self.metadata,
            sa.Column(
                owner,
                ID_TYPE,
                sa.ForeignKey(f"{owner_table}.id", ondelete="CASCADE"),
                primary_key=True,
            ),
            sa.Column(
                other,
                ID_TYPE,
                sa.ForeignKey(f"{target_table}.id", ondelete="CASCADE"),
                primary_key=True,
                index=True,
            ),
        )
        return Link(
            model=model,
            field=spec_field,
            name=name,
            owner=owner,
            other=other,
            owner_table=owner_table,
            target=spec_field.to,
            target_table=target_table,
            back_populates=related_name(model, spec_field),
            table=table,
        )

    def _table(self, model: ModelSpec) -> Table:
        name = self.table_names[model.name]
        fields = [f for f in model.fields if f.type != "many"]  # see `_link`
        if self.spec.auth is not None and self.spec.auth.user_model == model.name:
            fields.append(SUBJECT_FIELD)  # the token's subject: see SUBJECT_FIELD
        columns = {f.name: self._column(model, name, f) for f in fields}
        sa_columns = [sa.Column("id", ID_TYPE, sa.Identity(), primary_key=True)]
        for column in columns.values():
            extra: list[Any] = []
            if column.foreign_key is not None:
                key = column.foreign_key
                extra.append(sa.ForeignKey(f"{key.table}.id", ondelete=key.on_delete))
            sa_columns.append(
                sa.Column(
                    column.name,
                    column.type,
                    *extra,
                    nullable=column.optional,
                    # A unique constraint is an index already: no second one.
                    unique=column.field.unique or None,
                    index=column.index_name is not None or None,
                )
            )
        sa_columns += [
            sa.Column("version", sa.Integer(), nullable=False),
            _timestamp("created_at"),
            _timestamp("updated_at"),
        ]
        table = sa.Table(name, self.metadata, *sa_columns, sqlite_autoincrement=True)
        return Table(model, name, pk_name(name), columns, table)

    def _column(self, model: ModelSpec, table: str, spec_field: FieldSpec) -> Column:
        name = naming.column(spec_field.name, spec_field.type)
        foreign_key = None
        kind = TYPES.get(spec_field.type)
        field_params = params(model, spec_field)
        if kind is None:  # a ref
            assert spec_field.to is not None
            target = self.table_names[spec_field.to]
            foreign_key = ForeignKey(
                target=spec_field.to,
                table=target,
                on_delete=ON_DELETE[spec_field.on_delete or "restrict"],
                name=fk_name(table, name, target),
                self_reference=spec_field.to == model.name,
            )
            type_: TypeEngine[Any] = ID_TYPE
        else:
            type_ = kind.column(field_params)
        # A sortable field's index serves its ORDER BY and its keyset pages.
        indexed = spec_field.index or spec_field.sortable or spec_field.type == "ref"
        default = None
        if kind is not None and spec_field.default is not None:
            default = kind.value(spec_field.default)
        return Column(
            field=spec_field,
            name=name,
            kind=kind,
            params=field_params,
            type=type_,
            default=default,
            foreign_key=foreign_key,
            unique_name=uq_name(table, name) if spec_field.unique else None,
            index_name=(
                ix_name(table, name) if indexed and not spec_field.unique else None
            ),
        )


def build_metadata(spec: ProjectSpec) -> sa.MetaData:
    """The tables of `spec` exactly as the generated models declare them."""
    return Schema(spec).metadata


def dependency_order(models: Sequence[ModelSpec]) -> list[str]:
    """Model names with every ref target before the models that point at it."""
    done: list[str] = []
    deps = {
        m.name: [f.to for f in m.fields if f.type == "ref" and f.to and f.to != m.name]
        for m in models
    }

    def visit(name: str) -> None:
        if name in done:
            return
        for dep in deps[name]:
            visit(dep)
        done.append(name)

    for model in models:
        visit(model.name)
    return done


def _timestamp(name: str) -> sa.Column[Any]:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
    )
