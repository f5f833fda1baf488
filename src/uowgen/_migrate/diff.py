"""Old spec + new spec -> one Alembic revision, built from Alembic's own operations.

`plan_revision` compares two specs model by model and field by field and answers with
Alembic operations (`alembic.operations.ops`) for the upgrade and for its reverse.
`writer` renders them with Alembic's renderer into a revision file, in the style of
the initial migration, and `revisions` writes it as the next file of
`migrations/versions`. Diffing specs rather than a reflected database knows what
reflection cannot: which field was renamed (`pairing`), what value existing rows get,
and exactly which names the models give constraints.

Every table change is a batch operation (`op.batch_alter_table`): an ALTER on
PostgreSQL, a copy of the table on SQLite. The revision runs them on SQLite with
foreign keys off (see `sqlite_guard`), so copying a parent table never fires ON
DELETE.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from alembic.operations import ops
from sqlalchemy.sql.elements import conv

from uowgen._migrate.operations import (
    _alter_type,
    _AlterColumnOp,
    _BatchTableOps,
    _FillOp,
    _narrows,
    _RenameTableOp,
    _shown_type,
    _SQLOp,
    _type_key,
)
from uowgen._migrate.pairing import _pair, _Pairs
from uowgen._schema.tables import SHARED_COLUMNS, Column, Link, Schema, Table
from uowgen._schema.types import Value, placeholder
from uowgen._spec.models import ProjectSpec, Renames
from uowgen.errors import UowgenError


@dataclass(frozen=True)
class Revision:
    """One Alembic revision: the operations of its upgrade and of its downgrade.

    Attributes:
        upgrade_ops: turn the old spec's tables into the new spec's, keeping rows.
        downgrade_ops: the reverse.
        changes: what the upgrade does, one line each (`users: add column phone`).
        downgrade_changes: what the downgrade does.
    """

    upgrade_ops: ops.UpgradeOps
    downgrade_ops: ops.DowngradeOps
    changes: tuple[str, ...]
    downgrade_changes: tuple[str, ...]


def plan_revision(
    old: ProjectSpec, new: ProjectSpec, *, renames: Renames | None = None
) -> Revision | None:
    """The revision that takes a database from `old`'s tables to `new`'s.

    Models and fields are matched by name, then by `renames`, then by table or
    column name (a model renamed with its `plural` kept is the same table).

    Returns:
        The revision, or None when the tables do not change.

    Raises:
        UowgenError: `renames` does not fit the specs, or existing rows would need a
            value the new spec does not give (a new required field with no default).
    """
    source, target = Schema(old), Schema(new)
    pairs = _pair(source, target, renames or Renames())
    upgrade = _Diff(source, target, pairs, upgrade=True)
    if upgrade.problems:
        raise UowgenError("\n".join(upgrade.problems))
    if not upgrade.ops:
        return None
    downgrade = _Diff(target, source, pairs.inverse(), upgrade=False)
    return Revision(
        upgrade_ops=ops.UpgradeOps(ops=upgrade.ops),
        downgrade_ops=ops.DowngradeOps(ops=downgrade.ops),
        changes=tuple(upgrade.changes),
        downgrade_changes=tuple(downgrade.changes),
    )


def initial_revision(spec: ProjectSpec) -> Revision:
    """The revision that creates `spec`'s tables in an empty database.

    Planned as every later revision is (from no tables to the spec's), so a new
    project's first migration and its later ones come from the one writer.
    """
    empty = Schema(spec.model_copy(update={"models": [], "admin": False}))
    target = Schema(spec)
    pairs = _Pairs({}, {})
    upgrade = _Diff(empty, target, pairs, upgrade=True)
    downgrade = _Diff(target, empty, pairs, upgrade=False)
    return Revision(
        upgrade_ops=ops.UpgradeOps(ops=upgrade.ops),
        downgrade_ops=ops.DowngradeOps(ops=downgrade.ops),
        changes=tuple(upgrade.changes),
        downgrade_changes=tuple(downgrade.changes),
    )


def _placeholder(column: Column, table_names: Mapping[str, str]) -> Value:
    """A value for rows a downgrade gives back a required field that has no default.

    Those rows were written after the upgrade, without the field. A unique text or
    integer takes the row's id; a ref points at the lowest id of its target.
    """
    spec_field = column.field
    kind = spec_field.type
    if kind in ("str", "text") and spec_field.unique:
        return Value('sa.cast(sa.column("id"), sa.String())', "the row's id")
    if kind in ("int", "bigint") and spec_field.unique:
        return Value('sa.column("id")', "the row's id")
    if kind == "ref":
        assert spec_field.to is not None
        target = table_names[spec_field.to]
        code = (
            'sa.select(sa.func.min(sa.column("id")))'
            f".select_from(sa.table({target!r})).scalar_subquery()"
        )
        return Value(code, f"the lowest id of {target}")
    return placeholder(spec_field)


class _Diff:
    """The operations that turn `source`'s tables into `target`'s, in order.

    The same walk makes the upgrade (old -> new) and the downgrade (new -> old);
    they differ in what rows get that need a value the target spec does not give:
    the upgrade refuses (`problems`), the downgrade uses a placeholder.
    """

    def __init__(
        self, source: Schema, target: Schema, pairs: _Pairs, *, upgrade: bool
    ) -> None:
        self.source = source
        self.target = target
        self.pairs = pairs
        self.upgrade = upgrade
        self.ops: list[ops.MigrateOperation] = []
        self.changes: list[str] = []
        self.problems: list[str] = []
        self.table_map = {
            source.table_names[s]: target.table_names[t]
            for t, s in pairs.models.items()
        }
        paired = pairs.models
        kept = set(paired.values())
        # Renamed tables first: new and altered tables may point at them.
        for name in target.order:
            if name in paired:
                before, after = (
                    source.table_names[paired[name]],
                    target.table_names[name],
                )
                if before != after:
                    self.ops.append(_RenameTableOp(before, after))
                    self.changes.append(f"rename table {before} to {after}")
        for name in target.order:
            if name not in paired:
                self._create(target.tables[name])
        # Tables of links once both sides' tables exist, and before any goes.
        self._links()
        for name in target.order:
            if name in paired:
                self._alter(source.tables[paired[name]], target.tables[name])
        # Dropped last: by then no kept table points at them.
        for name in reversed(source.order):
            if name not in kept:
                table = source.tables[name]
                self.ops.append(ops.DropTableOp.from_table(table.table))
                self.changes.append(f"drop table {table.name}")

    def _create(self, table: Table | Link) -> None:
        self.ops.append(ops.CreateTableOp.from_table(table.table))
        for index in sorted(table.table.indexes, key=lambda ix: str(ix.name)):
            self.ops.append(ops.CreateIndexOp.from_index(index))
        self.changes.append(f"create table {table.name}")

    def _links(self) -> None:
        """Tables of links: made and dropped with their many fields.

        A rename that changes a name in one moves its links to the new table.
        Tables that go are dropped first: a field removed, or pointed at another
        model, leaves its table's name (and its key's) to the table made next.
        """
        paired = {
            key: self._paired_link(*key, link)
            for key, link in self.target.links.items()
        }
        kept = {
            (before.model.name, before.field.name)
            for before in paired.values()
            if before is not None
        }
        for key, link in self.source.links.items():
            if key not in kept:
                self.ops.append(ops.DropTableOp.from_table(link.table))
                self.changes.append(f"drop table {link.name}")
        for key, link in self.target.links.items():
            before = paired[key]
            if before is None:
                self._create(link)
            elif _link_shape(before) != _link_shape(link):
                self._move_links(before, link)

    def _paired_link(self, model: str, field: str, link: Link) -> Link | None:
        """The source's table of the same links, if the field is paired.

        The linked model must be paired too: a field retargeted starts empty.
        """
        old_model = self.pairs.models.get(model)
        old_field = self.pairs.fields.get((model, field))
        if old_model is None or old_field is None:
            return None
        before = self.source.links.get((old_model, old_field))
        if before is None or self.pairs.models.get(link.target) != before.target:
            return None
        return before

    def _move_links(self, before: Link, after: Link) -> None:
        """Copy the links aside, drop the old table, make the new one, copy back.

        The copy has no constraints, so the new table may take the old one's
        name, and its key's and index's (names PostgreSQL keeps schema-wide).
        """
        self.ops += [
            _SQLOp(
                f'CREATE TABLE "{_LINKS_COPY}" AS',
                f'SELECT "{before.owner}" AS owner, "{before.other}" AS other',
                f'FROM "{before.name}"',
                why=f"The links of {before.name} wait in a copy while their table "
                "is made again under its new names.",
            ),
            ops.DropTableOp.from_table(before.table),
        ]
        self._create(after)
        self.ops += [
            _SQLOp(
                f'INSERT INTO "{after.name}" ("{after.owner}", "{after.other}")',
                f'SELECT owner, other FROM "{_LINKS_COPY}"',
            ),
            _SQLOp(f'DROP TABLE "{_LINKS_COPY}"'),
        ]
        if before.name != after.name:
            said = f"move the links of {before.name} to {after.name}"
        else:  # a column, or a table a key points at, is renamed
            pairs = zip(_link_shape(before)[1:], _link_shape(after)[1:], strict=True)
            renamed = [f"{old} -> {new}" for old, new in pairs if old != new]
            said = f"{after.name}: move the links ({', '.join(renamed)})"
        self.changes[-1] = said

    def _alter(self, before: Table, after: Table) -> None:
        name = after.name
        model = after.model.name
        sources = {
            f: self.pairs.fields[model, f]
            for f in after.columns
            if (model, f) in self.pairs.fields
        }
        column_map = {c: c for c in SHARED_COLUMNS}
        column_map |= {
            before.columns[s].name: after.columns[f].name for f, s in sources.items()
        }
        first: list[ops.MigrateOperation] = []  # before the fills
        fills: list[ops.MigrateOperation] = []
        last: list[ops.MigrateOperation] = []  # after the fills

        existing = {
            key: _mapped(sig, column_map, self.table_map)
            for key, sig in _constraints(before.table).items()
        }
        wanted = _constraints(after.table)
        for key, sig in existing.items():
            if wanted.get(key) != sig:
                first.append(_drop_constraint(name, key))
                self.changes.append(f"{name}: drop {_KINDS[key[0]]} {key[1]}")

        kept = set(sources.values())
        for field_name, column in before.columns.items():
            if field_name not in kept:
                first.append(ops.DropColumnOp(name, column.name))
                self.changes.append(f"{name}: drop column {column.name}")
        pairs = [(before.columns[s], after.columns[f]) for f, s in sources.items()]
        for old, new in pairs:
            if old.name != new.name:
                first.append(
                    _AlterColumnOp(
                        name,
                        old.name,
                        modify_name=new.name,
                        existing_type=old.type,
                        existing_nullable=old.optional,
                    )
                )
                self.changes.append(f"{name}: rename column {old.name} to {new.name}")
        for field_name, column in after.columns.items():
            if field_name in sources:
                continue
            # Added nullable; made required once every row has a value.
            first.append(
                ops.AddColumnOp(
                    name, sa.Column(column.name, column.type, nullable=True)
                )
            )
            self.changes.append(f"{name}: add column {column.name}")
            value = self._value_for_rows(after, column, "a new required field")
            if value is not None:
                fills.append(_FillOp(name, column.name, column.type, value))
                self.changes.append(
                    f"{name}: existing rows get {value.shown} in {column.name}"
                )
            if not column.optional:
                last.append(
                    _AlterColumnOp(
                        name,
                        column.name,
                        modify_nullable=False,
                        existing_type=column.type,
                        existing_nullable=True,
                    )
                )

        for old, new in pairs:
            self._alter_column(after, old, new, first, fills, last)

        for key, sig in reversed(wanted.items()):
            if existing.get(key) != sig:
                last.append(_create_constraint(after.table, key))
                self.changes.append(f"{name}: add {_KINDS[key[0]]} {key[1]}")

        # Two blocks when rows are filled in between, or when columns are renamed:
        # a batch knows a renamed column by its old name until the block ends (and
        # on SQLite would skip a constraint naming the new one).
        renamed = any(old.name != new.name for old, new in pairs)
        if fills or renamed:
            self.ops += [_BatchTableOps(name, first)] if first else []
            self.ops += fills
            self.ops += [_BatchTableOps(name, last)] if last else []
        elif first or last:
            self.ops.append(_BatchTableOps(name, first + last))

    def _alter_column(
        self,
        table: Table,
        old: Column,
        new: Column,
        first: list[ops.MigrateOperation],
        fills: list[ops.MigrateOperation],
        last: list[ops.MigrateOperation],
    ) -> None:
        name = table.name
        retyped = _type_key(old.type) != _type_key(new.type)
        relax = new.optional and not old.optional
        tighten = old.optional and not new.optional
        if retyped:
            self.changes.append(
                f"{name}: change column {new.name} from {_shown_type(old.type)} "
                f"to {_shown_type(new.type)}"
            )
        filled = len(fills)
        if new.field.type == "enum":
            self._remap_enum(table, old, new, fills)
        if tighten:
            value = self._value_for_rows(table, new, "a field made required")
            if value is not None:
                fills.append(_FillOp(name, new.name, new.type, value))
                self.changes.append(
                    f"{name}: make column {new.name} required; rows without one "
                    f"get {value.shown}"
                )
        elif relax:
            self.changes.append(f"{name}: make column {new.name} optional")
        # Changed after the fills, with the other changes of the table (one copy on
        # SQLite); before them only when the values filled in need the new type. A
        # shorter string always waits until every row holds a value that fits.
        early = retyped and len(fills) > filled and not _narrows(old.type, new.type)
        if early:
            first.append(
                _alter_type(
                    name, new.name, old.type, new.type, existing_nullable=old.optional
                )
            )
        if (retyped and not early) or relax or tighten:
            last.append(
                _alter_type(
                    name,
                    new.name,
                    new.type if early else old.type,
                    new.type if retyped and not early else None,
                    existing_nullable=old.optional,
                    nullable=new.optional if relax or tighten else None,
                )
            )

    def _remap_enum(
        self,
        table: Table,
        old: Column,
        new: Column,
        fills: list[ops.MigrateOperation],
    ) -> None:
        """Rows holding a value the enum no longer has get its default (or NULL)."""
        allowed = list(new.field.values or [])
        if old.field.type == "enum":
            gone = sorted(set(old.field.values or []) - set(allowed))
            if not gone:
                return
            what = f"enum values it no longer has ({', '.join(gone)})"
        else:
            what = "values that are not among its enum values"
        value = self._value_for_rows(table, new, what, outside=True)
        fills.append(_FillOp(table.name, new.name, new.type, value, allowed))
        shown = "NULL" if value is None else value.shown
        self.changes.append(
            f"{table.name}: rows whose {new.name} is not one of {allowed} get {shown}"
        )

    def _value_for_rows(
        self, table: Table, column: Column, what: str, *, outside: bool = False
    ) -> Value | None:
        """What existing rows get in `column`: its default, NULL, or a placeholder.

        In the upgrade, a required column without a default is a problem: the spec
        has to say what the rows get.
        """
        if column.default is not None:
            return column.default
        if column.optional:
            return None
        if not self.upgrade:
            return _placeholder(column, self.target.table_names)
        where = f"model {table.model.name!r}, field {column.field.name!r}"
        if outside:
            self.problems.append(
                f"{where}: existing rows may hold {what}; give the field a default "
                "for them (or make it optional)"
            )
        elif column.field.type == "ref":
            self.problems.append(
                f"{where}: {what} needs a value in existing rows, and a ref has no "
                "default: make it optional"
            )
        elif what == "a new required field":
            self.problems.append(
                f"{where}: a new required field needs a default (or make it "
                "optional): existing rows need a value"
            )
        else:
            self.problems.append(
                f"{where}: {what} needs a default (or keep it optional): existing "
                "rows may have no value"
            )
        return None


# Where links wait while their table is made again (`_Diff._move_links`).
_LINKS_COPY = "uowgen_links_copy"


def _link_shape(link: Link) -> tuple[str, ...]:
    """Every name a table of links has: equal shapes are the same table."""
    return (link.name, link.owner, link.other, link.owner_table, link.target_table)


_KINDS = {"unique": "unique constraint", "foreignkey": "foreign key", "index": "index"}
# (kind, name) -> what the constraint is: its column, and for a foreign key the
# table it points at and its ON DELETE.
_Signature = tuple[str | None, ...]


def _constraints(table: sa.Table) -> dict[tuple[str, str], _Signature]:
    """The table's constraints and indexes by (kind, name), in a stable order."""
    found: dict[tuple[str, str], _Signature] = {}
    for constraint in table.constraints:
        if isinstance(constraint, sa.UniqueConstraint):
            column = next(iter(constraint.columns)).name
            found["unique", str(constraint.name)] = (column,)
        elif isinstance(constraint, sa.ForeignKeyConstraint):
            element = constraint.elements[0]
            found["foreignkey", str(constraint.name)] = (
                element.parent.name,
                element.column.table.name,
                constraint.ondelete,
            )
    for index in table.indexes:
        found["index", str(index.name)] = (next(iter(index.columns)).name,)
    return dict(sorted(found.items(), key=lambda item: (_RANK[item[0][0]], item[0])))


# Indexes go first and come last: a unique constraint or foreign key is the reason
# an index went, or one comes.
_RANK = {"index": 0, "unique": 1, "foreignkey": 2}


def _mapped(
    signature: _Signature, columns: Mapping[str, str], tables: Mapping[str, str]
) -> _Signature:
    """A source constraint in the target's names (None: its column or table goes)."""
    column, *rest = signature
    mapped: list[str | None] = [columns.get(column or "")]
    if rest:
        mapped += [tables.get(rest[0] or ""), rest[1]]
    return tuple(mapped)


def _drop_constraint(table_name: str, key: tuple[str, str]) -> ops.MigrateOperation:
    kind, name = key
    if kind == "index":
        return ops.DropIndexOp(conv(name), table_name=table_name)
    return ops.DropConstraintOp(conv(name), table_name, type_=kind)


def _create_constraint(table: sa.Table, key: tuple[str, str]) -> ops.MigrateOperation:
    kind, name = key
    if kind == "index":
        index = next(ix for ix in table.indexes if str(ix.name) == name)
        return ops.CreateIndexOp.from_index(index)
    constraint = next(c for c in table.constraints if str(c.name) == name)
    if kind == "unique":
        assert isinstance(constraint, sa.UniqueConstraint)
        return ops.CreateUniqueConstraintOp.from_constraint(constraint)
    assert isinstance(constraint, sa.ForeignKeyConstraint)
    return ops.CreateForeignKeyOp.from_constraint(constraint)
