"""Domain errors raised by services; `api.errors` maps each to one HTTP status."""


class DomainError(Exception):
    """Base of the errors a client can cause; `detail` is safe to show them."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFoundError(DomainError):
    """No row with that id."""


class ConflictError(DomainError):
    """A unique value taken, a stale `version`, or a row still referenced."""


class InvalidReferenceError(DomainError):
    """A reference to a row that does not exist."""


class InvalidValueError(DomainError):
    """A value the database's constraints refuse (NOT NULL, CHECK)."""


class DatabaseUnavailableError(DomainError):
    """The database cannot be reached right now; retrying later may succeed."""


# Not client errors: bugs or deployment mistakes, answered 500 and logged.


class SchemaOutOfDateError(RuntimeError):
    """The database lacks a table or column the models use: run the migrations."""


class WriteInReadScopeError(RuntimeError):
    """A write inside `uow.read()`, refused alike on PostgreSQL and SQLite."""
