"""The SQLite foreign-key guard that revision files carry, as real, checked code.

A revision that alters tables (`op.batch_alter_table`) runs them inside
`sqlite_foreign_keys_off()`. Generated projects do not import this module: the
writer (`uowgen._migrate.writer`) pastes everything below the marker line into each
revision file that needs it, as it is. Keep it self-contained: it may use only the
imports here, which the revision file has too.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

# --- pasted into revision files below this line ---


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
