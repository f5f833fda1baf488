"""Bases of the generated schemas, and the input types every database stores alike.

Input is checked completely before a transaction starts: a value that PostgreSQL
would refuse, or that SQLite would store but the API could not serialise again (a
NUL character, a lone surrogate, NaN, an instant past year 9999 in UTC), is a 422
here, never a 500 at the database and never a row that poisons later reads.
Read schemas are plain on purpose: they serialise whatever is stored.
"""

from datetime import UTC, date, datetime, time
from math import isfinite
from typing import Annotated, Any, ClassVar, Self

from pydantic_core import PydanticCustomError
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)

MAX_ID = 2**63 - 1  # ids are 64-bit (BIGINT on PostgreSQL, INTEGER on SQLite)
MAX_VERSION = 2**31 - 1
# How deep a JSON value may nest: deeper values could not be serialised back.
MAX_JSON_DEPTH = 32


def _check_text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL (\\u0000) characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (no lone surrogates)") from None
    return value


def _check_json(value: dict[str, Any]) -> dict[str, Any]:
    # Iterative, so a deeply nested value cannot exhaust the stack here.
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise ValueError(f"must not nest deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(item, str):
            _check_text(item)
        elif isinstance(item, float) and not isfinite(item):
            raise ValueError("must not contain NaN or Infinity")
        elif isinstance(item, dict):
            for key, child in item.items():
                _check_text(key)
                pending.append((child, depth + 1))
        elif isinstance(item, list):
            pending.extend((child, depth + 1) for child in item)
    return value


def _iso_text(value: Any) -> Any:
    # Lax parsing would take a number as a Unix timestamp; the API documents (and
    # accepts) ISO 8601 strings, or date objects from Python callers.
    if isinstance(value, bool | int | float):
        raise PydanticCustomError("iso_text", "Input should be an ISO 8601 string")
    return value


def _no_offset(value: time) -> time:
    # A time of day is stored as given (TIME WITHOUT TIME ZONE): an offset would be
    # dropped on the way in, so it is refused rather than silently lost.
    if value.tzinfo is not None:
        raise ValueError("must be a time of day without a UTC offset")
    return value


def _to_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range once converted to UTC") from None


# Input types: what every field of a create or update schema is built from. Numbers
# are strict (no "1" for 1, no true for 1.0): what the OpenAPI document says is what
# the API accepts.
Text = Annotated[str, AfterValidator(_check_text)]
JsonObject = Annotated[dict[str, Any], AfterValidator(_check_json)]
Day = Annotated[date, BeforeValidator(_iso_text)]
Instant = Annotated[AwareDatetime, BeforeValidator(_iso_text), AfterValidator(_to_utc)]
# A time of day as "HH:MM[:SS[.ffffff]]", in and out. JSON Schema's "time" format is
# RFC 3339's full-time, which requires an offset: the pattern says what is meant.
Clock = Annotated[
    time,
    BeforeValidator(_iso_text),
    AfterValidator(_no_offset),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$",
        }
    ),
]
Finite = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Id = Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]
Version = Annotated[int, Field(strict=True, ge=1, le=MAX_VERSION)]


class ReadSchema(BaseModel):
    """A row as the API returns it; built from ORM objects."""

    model_config = ConfigDict(from_attributes=True)


class RowSchema(ReadSchema):
    """The columns every row has."""

    id: int
    version: int
    created_at: datetime
    updated_at: datetime


class UpdateSchema(BaseModel):
    """A partial update: fields left out stay as they are.

    `version` must be the version the client last read; an update based on a stale
    read is refused with 409 instead of silently overwriting someone else's change.
    """

    model_config = ConfigDict(extra="forbid")

    # Fields whose column is NOT NULL: they may be left out, but not set to null.
    # (Their schema says so too: `SkipJsonSchema[None]` keeps null out of OpenAPI.)
    not_null: ClassVar[frozenset[str]] = frozenset()

    version: Version

    @model_validator(mode="after")
    def _refuse_null_for_required_fields(self) -> Self:
        nulls = sorted(
            name
            for name in self.not_null
            if name in self.model_fields_set and getattr(self, name) is None
        )
        if nulls:
            raise ValueError(f"cannot be null: {', '.join(nulls)}")
        return self

    def changes(self) -> dict[str, Any]:
        """The fields the client sent, except `version`."""
        return self.model_dump(exclude_unset=True, exclude={"version"})
