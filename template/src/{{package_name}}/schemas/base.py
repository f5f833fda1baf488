"""Bases of the generated schemas."""

from datetime import datetime
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, model_validator


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
    not_null: ClassVar[frozenset[str]] = frozenset()

    version: int

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
