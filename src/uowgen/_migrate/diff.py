"""Old spec + new spec -> one Alembic revision, built from Alembic's own operations.

`plan_revision` compares two specs model by model and field by field and answers with
Alembic operations (`alembic.operations.ops`) for the upgrade and for its reverse.
`write_revision` renders them with Alembic's renderer into the next file of
`migrations/versions`, in the style of the initial migration. Diffing specs rather
than a reflected database knows what reflection cannot: which field was renamed,
what value existing rows get, and exactly which names the models give constraints.

Every table change is a batch operation (`op.batch_alter_table`): an ALTER on
PostgreSQL, a copy of the table on SQLite. The revision runs them on SQLite with
foreign keys off (see `_GUARD`), so copying a parent table never fires ON DELETE.
"""

from __future__ import annotations

import ast
import math
import re
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from alembic.autogenerate import render_python_code, renderers
from alembic.autogenerate.api import AutogenContext
from alembic.autogenerate.render import _repr_type
from alembic.operations import ops
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import functions as sa_functions
from sqlalchemy.sql.elements import conv
from sqlalchemy.types import TypeEngine

from uowgen._schema.tables import (
    ID_TYPE,
    SHARED_COLUMNS,
    Column,
    Schema,
    Table,
)
from uowgen._schema.types import Value, placeholder
from uowgen._spec.models import ProjectSpec, Renames
from uowgen.errors import UowgenError

# SQLAlchemy's PostgreSQL dialect has an untyped __init__.
_DIALECTS: tuple[Dialect, Dialect] = (
    sqlite.dialect(),
    postgresql.dialect(),  # type: ignore[no-untyped-call]
)


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


INITIAL_MESSAGE = "Create the tables of the initial models."


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


def initial_migration(spec: ProjectSpec) -> str:
    """The text of a new project's `migrations/versions/0001_initial.py`."""
    return render_revision(
        initial_revision(spec),
        revision_id="0001",
        down_revision=None,
        message=INITIAL_MESSAGE,
    )


def write_revision(revision: Revision, versions_dir: Path, *, message: str) -> Path:
    """Write `revision` as the next file of `versions_dir` and return its path.

    Raises:
        UowgenError: as `revision_file` does, or the file exists already.
    """
    path, text = revision_file(revision, versions_dir, message=message)
    try:
        with path.open("x", encoding="utf-8") as file:
            file.write(text)
    except FileExistsError:
        raise UowgenError(f"{path} exists already") from None
    return path


def revision_file(
    revision: Revision, versions_dir: Path, *, message: str
) -> tuple[Path, str]:
    """Where `revision` goes in `versions_dir`, and its text; nothing is written.

    The new revision follows the single head: ids count on from the highest
    numeric one (`0001` -> `0002`), and the file is named after the id and a slug
    of `message` (`0002_add_model_review.py`).

    Raises:
        UowgenError: the folder has no revision or several heads, or a revision file
            cannot be read.
    """
    known = read_revisions(versions_dir)
    if not known:
        raise UowgenError(
            f"{versions_dir}: no Alembic revision found; the initial migration "
            "(0001_initial.py) is missing"
        )
    heads = sorted(set(known) - {down for downs in known.values() for down in downs})
    if len(heads) != 1:
        listed = ", ".join(heads) or "none: the revisions form a cycle"
        raise UowgenError(
            f"{versions_dir}: the migrations must have one head, found {listed}; "
            "merge them first (alembic merge heads)"
        )
    revision_id = _next_id(known)
    path = versions_dir / f"{revision_id}_{_slug(message)}.py"
    text = render_revision(
        revision,
        revision_id=revision_id,
        down_revision=heads[0],
        message=message,
        path=path,
    )
    return path, text


def read_revisions(versions_dir: Path) -> dict[str, tuple[str, ...]]:
    """Each revision id in `versions_dir` -> the ids it revises (its down_revision).

    The files are parsed, not imported, so a revision that imports the project
    is read without it.

    Raises:
        UowgenError: the folder is missing, or a file's revision cannot be read.
    """
    if not versions_dir.is_dir():
        raise UowgenError(f"{versions_dir}: no such folder")
    found: dict[str, tuple[str, ...]] = {}
    for path in sorted(versions_dir.glob("*.py")):
        values = _module_constants(path, ("revision", "down_revision"))
        if "revision" not in values:
            continue
        revision, down = values["revision"], values.get("down_revision")
        downs = (down,) if isinstance(down, str) else tuple(down or ())
        if not isinstance(revision, str) or not all(isinstance(d, str) for d in downs):
            raise UowgenError(f"{path}: `revision` and `down_revision` must be strings")
        if revision in found:
            raise UowgenError(f"{path}: revision {revision!r} is defined twice")
        found[revision] = downs
    return found


def render_revision(
    revision: Revision,
    *,
    revision_id: str,
    down_revision: str | None,
    message: str,
    path: Path | None = None,
) -> str:
    """The source of a revision file, formatted by ruff.

    `path` (where the file will go) picks the ruff settings of its project; without
    it the defaults apply, which are the generated projects' settings.
    """
    upgrade, upgrade_uses = _render_ops(revision.upgrade_ops)
    downgrade, downgrade_uses = _render_ops(revision.downgrade_ops)
    uses = upgrade_uses | downgrade_uses
    imports = sorted(uses & {"import datetime", "import decimal", "import uuid"})
    abc = ["Iterator", "Sequence"] if "guard" in uses else ["Sequence"]
    imports.append(f"from collections.abc import {', '.join(abc)}")
    if "guard" in uses:
        imports.append("from contextlib import contextmanager")
    docstring = (
        f"{_docstring_line(message)}\n\n"
        f"Revision ID: {revision_id}\nRevises: {down_revision or ''}\n"
    )
    header = (
        f"revision: str = {revision_id!r}\n"
        f"down_revision: str | None = {down_revision!r}\n"
        "branch_labels: str | Sequence[str] | None = None\n"
        "depends_on: str | Sequence[str] | None = None\n"
    )
    parts = [
        f'"""{docstring}"""\n',
        "\n".join(imports) + "\n\nimport sqlalchemy as sa\nfrom alembic import op\n",
        header,
    ]
    if "ID" in uses:
        parts.append(_ID_DEFINITION)
    parts.append(f"\ndef upgrade() -> None:\n{upgrade}\n")
    parts.append(f"\ndef downgrade() -> None:\n{downgrade}\n")
    if "guard" in uses:
        parts.append(_GUARD)
    return _ruff_format("\n".join(parts), path)


# Code a revision file carries when it needs it.
_ID_DEFINITION = """# 64-bit ids; exactly INTEGER on SQLite, where only INTEGER PRIMARY KEY autoincrements.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
"""
_GUARD = '''
@contextmanager
def sqlite_foreign_keys_off() -> Iterator[None]:
    """On SQLite, alter tables with foreign keys off, then check every reference.

    SQLite alters a table by copying it and dropping the original: with foreign keys
    on, that drop deletes, nulls or refuses to lose the rows pointing at it (their
    ON DELETE). PRAGMA foreign_keys does nothing inside a transaction, so the one the
    migration runs in is committed first and a new one begun. PostgreSQL alters
    tables in place and needs none of this.
    """
    context = op.get_context()
    if context.dialect.name != "sqlite":
        yield
        return
    if context.as_sql:
        op.execute("PRAGMA foreign_keys=OFF")
        yield
        op.execute("PRAGMA foreign_keys=ON")
        return
    bind = op.get_bind()
    if not bind.exec_driver_sql("PRAGMA foreign_keys").scalar():
        # Already off (the migration runs that way): nothing to switch.
        yield
        _check_foreign_keys(bind)
        return
    if _in_transaction(bind):
        bind.exec_driver_sql("COMMIT")
    bind.exec_driver_sql("PRAGMA foreign_keys=OFF")
    bind.exec_driver_sql("BEGIN")
    try:
        yield
        _check_foreign_keys(bind)
    except BaseException:
        if _in_transaction(bind):
            bind.exec_driver_sql("ROLLBACK")
        bind.exec_driver_sql("PRAGMA foreign_keys=ON")
        bind.exec_driver_sql("BEGIN")
        raise
    bind.exec_driver_sql("COMMIT")
    bind.exec_driver_sql("PRAGMA foreign_keys=ON")
    bind.exec_driver_sql("BEGIN")


def _in_transaction(bind: sa.Connection) -> bool:
    driver = bind.connection.driver_connection
    return driver is None or bool(driver.in_transaction)


def _check_foreign_keys(bind: sa.Connection) -> None:
    broken = bind.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        rows = ", ".join(f"{row[0]} row {row[1]} -> {row[2]}" for row in broken[:10])
        raise RuntimeError(f"rows point at rows that do not exist: {rows}")
'''


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


# --- matching the old spec's models and fields to the new one's --------------------


@dataclass(frozen=True)
class _Pairs:
    """Which target model and field each source one becomes."""

    models: dict[str, str]  # target model -> source model
    fields: dict[tuple[str, str], str]  # (target model, target field) -> source field

    def inverse(self) -> _Pairs:
        models = {source: target for target, source in self.models.items()}
        fields = {
            (self.models[model], source): target
            for (model, target), source in self.fields.items()
        }
        return _Pairs(models, fields)


def _pair(old: Schema, new: Schema, renames: Renames) -> _Pairs:
    problems: list[str] = []
    old_models = {m.name: m for m in old.models}
    new_models = {m.name: m for m in new.models}
    models: dict[str, str] = {}
    for new_name, old_name in renames.models.items():
        where = f"model {new_name!r}"
        if new_name not in new_models:
            problems.append(f"{where}: renamed, but the new spec has no such model")
        elif old_name not in old_models:
            problems.append(
                f"{where}: renamed from {old_name!r}, which the old spec does not have"
            )
        elif old_name in models.values():
            problems.append(f"{where}: model {old_name!r} is renamed twice")
        else:
            models[new_name] = old_name
    taken = set(models.values())
    for name in new_models:
        if name not in models and name in old_models and name not in taken:
            models[name] = name
            taken.add(name)
    # A model renamed with its table kept (`plural`) is the same table.
    unpaired_old = {
        old.table_names[name]: name for name in old_models if name not in taken
    }
    for name in new_models:
        if name not in models and new.table_names[name] in unpaired_old:
            models[name] = unpaired_old.pop(new.table_names[name])
    for new_name, old_name in models.items():
        table, before = new.table_names[new_name], old.table_names[old_name]
        owner = next((m for m, t in old.table_names.items() if t == table), None)
        if table != before and owner is not None:
            problems.append(
                f"model {new_name!r}: its table {table!r} is still model {owner!r}'s "
                "in the old spec; rename in two steps"
            )
    fields = _pair_fields(old, new, models, renames, problems)
    if problems:
        raise UowgenError("\n".join(problems))
    return _Pairs(models, fields)


def _pair_fields(
    old: Schema,
    new: Schema,
    models: dict[str, str],
    renames: Renames,
    problems: list[str],
) -> dict[tuple[str, str], str]:
    fields: dict[tuple[str, str], str] = {}
    used: dict[str, set[str]] = {model: set() for model in models}
    for (model, new_field), old_field in renames.fields.items():
        where = f"model {model!r}, field {new_field!r}"
        if model not in models:
            problems.append(
                f"{where}: renamed, but model {model!r} is not in both specs"
            )
            continue
        old_model = models[model]
        if new_field not in new.tables[model].columns:
            problems.append(f"{where}: renamed, but the new spec has no such field")
        elif old_field not in old.tables[old_model].columns:
            problems.append(
                f"{where}: renamed from {old_field!r}, which model {old_model!r} "
                "does not have in the old spec"
            )
        elif old_field in used[model]:
            problems.append(f"{where}: field {old_field!r} is renamed twice")
        else:
            fields[model, new_field] = old_field
            used[model].add(old_field)
    for model, old_model in models.items():
        before, after = old.tables[old_model].columns, new.tables[model].columns
        taken = used[model]
        for name in after:
            if (model, name) not in fields and name in before and name not in taken:
                fields[model, name] = name
                taken.add(name)
        # A field whose column is the same column (`owner` ref -> `owner_id` int).
        unpaired = {c.name: f for f, c in before.items() if f not in taken}
        for name, column in after.items():
            if (model, name) not in fields and column.name in unpaired:
                fields[model, name] = unpaired.pop(column.name)
                taken.add(fields[model, name])
        for name, column in after.items():
            source = fields.get((model, name))
            if source is None or before[source].name == column.name:
                continue
            # Columns are renamed after the dropped ones go, one rename at a time.
            owner = next(
                (f for f, c in before.items() if c.name == column.name and f in taken),
                None,
            )
            if owner is not None:
                problems.append(
                    f"model {model!r}, field {name!r}: its column {column.name!r} "
                    f"is still field {owner!r}'s in the old spec; rename in two steps"
                )
    return fields


# --- the operations -----------------------------------------------------------------


class _BatchTableOps(ops.ModifyTableOps):
    """Operations on one table, rendered as an `op.batch_alter_table` block."""


class _RenameTableOp(ops.RenameTableOp):
    """`rename_table`, which Alembic's autogenerate has no renderer for."""


class _AlterColumnOp(ops.AlterColumnOp):
    """`alter_column` with its dialect options rendered (`postgresql_using`)."""


class _FillOp(ops.MigrateOperation):
    """Give existing rows a value: `UPDATE table SET column = value WHERE ...`.

    `only_outside` None fills NULLs; a list fills the rows whose value is not in it.
    """

    def __init__(
        self,
        table_name: str,
        column_name: str,
        type_: TypeEngine[Any],
        value: Value | None,
        only_outside: list[str] | None = None,
    ) -> None:
        self.table_name = table_name
        self.column_name = column_name
        # Only binds the value: an enum's values are plain strings.
        self.type = sa.String(type_.length) if isinstance(type_, sa.Enum) else type_
        self.value = value
        self.only_outside = only_outside


@renderers.dispatch_for(_BatchTableOps, replace=True)
def _render_batch(autogen_context: AutogenContext, op: _BatchTableOps) -> list[str]:
    lines: list[str] = renderers.dispatch(ops.ModifyTableOps)(autogen_context, op)
    if lines:
        # The copy SQLite makes keeps AUTOINCREMENT only when told: ids of deleted
        # rows are never handed out again.
        lines[0] = (
            f"with op.batch_alter_table({op.table_name!r}, "
            'table_kwargs={"sqlite_autoincrement": True}) as batch_op:'
        )
    return lines


@renderers.dispatch_for(_RenameTableOp, replace=True)
def _render_rename_table(autogen_context: AutogenContext, op: _RenameTableOp) -> str:
    del autogen_context
    return f"op.rename_table({op.table_name!r}, {op.new_table_name!r})"


@renderers.dispatch_for(_AlterColumnOp, replace=True)
def _render_alter_column(autogen_context: AutogenContext, op: _AlterColumnOp) -> str:
    text: str = renderers.dispatch(ops.AlterColumnOp)(autogen_context, op)
    options = "".join(f", {key}={value!r}" for key, value in sorted(op.kw.items()))
    return text[:-1] + options + ")"


@renderers.dispatch_for(_FillOp, replace=True)
def _render_fill(autogen_context: AutogenContext, op: _FillOp) -> str:
    column = op.column_name
    # _repr_type spells a type as autogenerate does (asking render_item first): the
    # one private name used here, stable across Alembic 1.x, which is pinned.
    table = (
        f"sa.table({op.table_name!r}, "
        f"sa.column({column!r}, {_repr_type(op.type, autogen_context)}))"
    )
    if op.only_outside is None:
        where = f"sa.column({column!r}).is_(None)"
    else:
        where = f"sa.column({column!r}).not_in({op.only_outside!r})"
    value = "None" if op.value is None else op.value.code
    return (
        f"op.execute(sa.update({table}).where({where}).values({{{column!r}: {value}}}))"
    )


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
        for name in target.order:
            if name in paired:
                self._alter(source.tables[paired[name]], target.tables[name])
        # Dropped last: by then no kept table points at them.
        for name in reversed(source.order):
            if name not in kept:
                table = source.tables[name]
                self.ops.append(ops.DropTableOp.from_table(table.table))
                self.changes.append(f"drop table {table.name}")

    def _create(self, table: Table) -> None:
        self.ops.append(ops.CreateTableOp.from_table(table.table))
        for index in sorted(table.table.indexes, key=lambda ix: str(ix.name)):
            self.ops.append(ops.CreateIndexOp.from_index(index))
        self.changes.append(f"create table {table.name}")

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


def _alter_type(
    table_name: str,
    column_name: str,
    existing_type: TypeEngine[Any],
    type_: TypeEngine[Any] | None,
    *,
    existing_nullable: bool,
    nullable: bool | None = None,
) -> _AlterColumnOp:
    options: dict[str, Any] = {}
    if type_ is not None and _needs_cast(existing_type, type_):
        # PostgreSQL converts by itself only where it has an assignment cast
        # (between numbers, to text); anything else is cast explicitly.
        new = type_.compile(dialect=_DIALECTS[1])
        options["postgresql_using"] = f'"{column_name}"::{new}'
    return _AlterColumnOp(
        table_name,
        column_name,
        existing_type=existing_type,
        existing_nullable=existing_nullable,
        modify_type=type_,
        modify_nullable=nullable,
        **options,
    )


_PG_NUMBERS = {"SMALLINT", "INTEGER", "BIGINT", "NUMERIC", "FLOAT", "REAL"}
_PG_TEXT = {"VARCHAR", "TEXT"}


def _needs_cast(old: TypeEngine[Any], new: TypeEngine[Any]) -> bool:
    before, after = (t.compile(dialect=_DIALECTS[1]).split("(")[0] for t in (old, new))
    return not (
        before == after
        or after in _PG_TEXT
        or (before in _PG_NUMBERS and after in _PG_NUMBERS)
    )


def _type_key(type_: TypeEngine[Any]) -> tuple[str, ...]:
    """The column type as each database spells it: equal keys, no ALTER needed."""
    return tuple(type_.compile(dialect=dialect) for dialect in _DIALECTS)


def _shown_type(type_: TypeEngine[Any]) -> str:
    return type_.compile(dialect=_DIALECTS[1])


def _string_length(type_: TypeEngine[Any]) -> float | None:
    if isinstance(type_, sa.Text):
        return math.inf
    if isinstance(type_, sa.String):
        return type_.length or math.inf
    return None


def _narrows(old: TypeEngine[Any], new: TypeEngine[Any]) -> bool:
    before, after = _string_length(old), _string_length(new)
    return before is not None and after is not None and after < before


# --- rendering ------------------------------------------------------------------------


def _render_ops(container: ops.OpContainer) -> tuple[str, set[str]]:
    """The body of upgrade() or downgrade(), and the helpers and imports it uses."""
    uses: set[str] = set()

    def render_item(
        kind: str, obj: Any, autogen_context: AutogenContext
    ) -> str | Literal[False]:
        del autogen_context
        if kind == "type" and _is_id_type(obj):
            uses.add("ID")
            return "ID"
        if kind == "server_default" and isinstance(obj, sa.Identity):
            return "sa.Identity()"
        if (
            kind == "server_default"
            and isinstance(obj, sa.DefaultClause)
            and isinstance(obj.arg, sa_functions.now)
        ):
            return "sa.func.now()"
        return False

    operations = list(container.ops)
    code = render_python_code(
        ops.UpgradeOps(ops=operations), render_as_batch=True, render_item=render_item
    )
    # Alembic's own opening and closing comments go; every other line is indented.
    lines = [line for line in code.splitlines() if not line.strip().startswith("#")]
    body = "\n".join(lines)
    for op in operations:
        if isinstance(op, _FillOp) and op.value is not None:
            uses |= op.value.imports
    if any(isinstance(op, _BatchTableOps) for op in operations):
        uses.add("guard")
        indented = "\n".join(
            f"    {line}" if line else line for line in body.split("\n")
        )
        body = f"    with sqlite_foreign_keys_off():\n{indented}"
    return body, uses


def _is_id_type(type_: Any) -> bool:
    variants = getattr(type_, "_variant_mapping", None) or {}
    return type_ is ID_TYPE or (
        isinstance(type_, sa.BigInteger) and type(variants.get("sqlite")) is sa.Integer
    )


def _ruff_format(source: str, path: Path | None) -> str:
    """Fix (e.g. join nested `with`s) and format, as the project's own ruff would."""
    where = (
        ["--isolated", "--line-length", "88", "-"]
        if path is None
        else ["--stdin-filename", str(path), "-"]
    )
    # Formatted first: some fixes (joining `with`s) apply only to lines that fit.
    formatted = _ruff(["format", *where], source)
    fixed = _ruff(["check", "--fix", "--exit-zero", "--quiet", *where], formatted)
    return _ruff(["format", *where], fixed)


def _ruff(arguments: list[str], source: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", *arguments],
        input=source,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"ruff could not tidy the revision:\n{result.stderr}")
    return result.stdout


def _docstring_line(message: str) -> str:
    """`message` on one line, safe inside a triple-quoted docstring."""
    line = " ".join(message.split()) or "Migrate the tables"
    line = line.replace("\\", "\\\\").replace('"', '\\"')
    return line


def _slug(message: str) -> str:
    words = re.findall(r"[a-z0-9]+", message.lower())
    slug = ""
    for word in words:
        if len(slug) + len(word) + 1 > 40:
            break
        slug = f"{slug}_{word}" if slug else word
    return slug or "migrate"


def _next_id(known: Mapping[str, object]) -> str:
    numbers = [int(r) for r in known if r.isdigit()]
    width = max([4, *(len(r) for r in known if r.isdigit())])
    candidate = max(numbers, default=0) + 1
    while f"{candidate:0{width}d}" in known:
        candidate += 1
    return f"{candidate:0{width}d}"


def _module_constants(path: Path, names: tuple[str, ...]) -> dict[str, Any]:
    """Literal values assigned to `names` at the top level of a Python file."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, UnicodeDecodeError, SyntaxError) as exc:
        raise UowgenError(f"{path}: cannot read the revision: {exc}") from exc
    found: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name) and target.id in names:
                try:
                    found[target.id] = ast.literal_eval(value)
                except ValueError as exc:
                    raise UowgenError(
                        f"{path}: `{target.id}` is not a literal"
                    ) from exc
    return found
