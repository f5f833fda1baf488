"""The Alembic operations a revision is made of, beyond Alembic's own.

Custom operations with their renderers (a batch block, `rename_table`, an
`alter_column` with dialect options, an UPDATE that fills existing rows, plain SQL
a clause a line), and how a column's type compares between the databases and is
altered.
"""

from __future__ import annotations

import math
import textwrap
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import renderers
from alembic.autogenerate.api import AutogenContext
from alembic.autogenerate.render import _repr_type
from alembic.operations import ops
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeEngine

from uowgen._schema.types import Value

# SQLAlchemy's PostgreSQL dialect has an untyped __init__.
_DIALECTS: tuple[Dialect, Dialect] = (
    sqlite.dialect(),
    postgresql.dialect(),  # type: ignore[no-untyped-call]
)


class _BatchTableOps(ops.ModifyTableOps):
    """Operations on one table, rendered as an `op.batch_alter_table` block."""


class _RenameTableOp(ops.RenameTableOp):
    """`rename_table`, which Alembic's autogenerate has no renderer for."""


class _AlterColumnOp(ops.AlterColumnOp):
    """`alter_column` with its dialect options rendered (`postgresql_using`)."""


class _SQLOp(ops.ExecuteSQLOp):
    """Plain SQL, rendered a clause a line, after a comment saying why (if `why`)."""

    def __init__(self, *clauses: str, why: str = "") -> None:
        super().__init__(" ".join(clauses))
        self.clauses = clauses
        self.why = why


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


@renderers.dispatch_for(_SQLOp, replace=True)
def _render_sql(autogen_context: AutogenContext, op: _SQLOp) -> list[str]:
    del autogen_context
    # Wrapped to fit the project's line length inside a `with` block.
    comment = [f"# {line}" for line in textwrap.wrap(op.why, 76)]
    if len(op.clauses) == 1:
        return [*comment, f"op.execute({op.clauses[0]!r})"]
    # One string a clause, each but the last ending in the space that joins them.
    parts = [repr(f"{clause} ") for clause in op.clauses[:-1]]
    return [*comment, "op.execute(", *parts, repr(op.clauses[-1]), ")"]


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


# --- column types -----------------------------------------------------------------


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
