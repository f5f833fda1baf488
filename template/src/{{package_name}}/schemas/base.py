"""Bases of the generated schemas, and the input types every database stores alike.

Input is checked completely before a transaction starts: a value that PostgreSQL
would refuse, or that SQLite would store but the API could not serialise again (a
NUL character, a lone surrogate, NaN, an instant past year 9999 in UTC), is a 422
here, never a 500 at the database and never a row that poisons later reads.
Read schemas are plain on purpose: they serialise whatever is stored.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import cache
from math import isfinite
from typing import Annotated, Any, ClassVar, Self, get_args

from pydantic_core import CoreSchema, PydanticCustomError, core_schema
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    RootModel,
    TypeAdapter,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic.json_schema import JsonSchemaValue

MAX_ID = 2**63 - 1  # ids are 64-bit (BIGINT on PostgreSQL, INTEGER on SQLite)
MAX_VERSION = 2**31 - 1
# How deep a JSON value may nest: deeper values could not be serialised back.
MAX_JSON_DEPTH = 32
# What the OpenAPI document says of text: no NUL (`_check_text` enforces it). Lone
# surrogates are refused too, but they are not Unicode text, and validators that keep
# strings as UTF-8 (Rust's, Go's) cannot compile a pattern naming them.
TEXT_PATTERN = r"^[^\u0000]*$"


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


# A number written as text: what lax parsing would read as a Unix timestamp.
_NUMBER_TEXT = re.compile(r"\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*")


def _iso_text(value: Any) -> Any:
    # Lax parsing would take a number, or a number as text (a query string's
    # `?since=0.5`), as a Unix timestamp; the API documents (and accepts) ISO 8601
    # strings, or date objects from Python callers.
    if isinstance(value, bool | int | float) or (
        isinstance(value, str) and _NUMBER_TEXT.fullmatch(value)
    ):
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
# the API accepts. (See `JsonNumbers` for integers written 2.0, and decimals.)
Text = Annotated[
    str,
    AfterValidator(_check_text),
    Field(json_schema_extra={"pattern": TEXT_PATTERN}),
]
TextKeys = Field(json_schema_extra={"propertyNames": {"pattern": TEXT_PATTERN}})


class JsonValue(
    RootModel[
        Text
        | float
        | bool
        | None
        | list["JsonValue"]
        | Annotated[dict[str, "JsonValue"], TextKeys]
    ]
):
    """A JSON value whose strings and keys are text; a field nests at most 32 levels."""


class _DocumentedAs:
    """Annotation: document a type as another one; it is still validated as itself."""

    def __init__(self, documented: Any) -> None:
        self._documented = TypeAdapter(documented)

    def __get_pydantic_json_schema__(
        self, _core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return handler(self._documented.core_schema)


# Validated by `_check_json` (one pass, no recursion, clear messages); documented as
# `JsonValue`s, so the document says what that check refuses.
JsonObject = Annotated[
    dict[str, Any],
    AfterValidator(_check_json),
    _DocumentedAs(Annotated[dict[str, JsonValue], TextKeys]),
]
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
# `lt=MAX_ID + 1`, not `le=MAX_ID`: the OpenAPI document keeps a schema's bounds as
# floats, and 2**63 is one, exactly; 2**63 - 1 is not (it would read 2**63).
Id = Annotated[int, Field(strict=True, ge=1, lt=MAX_ID + 1)]
Version = Annotated[int, Field(strict=True, ge=1, le=MAX_VERSION)]
# An id in a list's filter (`?owner_id=3`), read from the query string's text.
QueryId = Annotated[int, Field(ge=1, lt=MAX_ID + 1)]


class ReadSchema(BaseModel):
    """A row as the API returns it; built from ORM objects."""

    model_config = ConfigDict(from_attributes=True)


class RowSchema(ReadSchema):
    """The columns every row has."""

    id: int
    version: int
    created_at: datetime
    updated_at: datetime


# --- numbers as the document states them ---------------------------------------------


def _holds(annotation: Any, kind: type) -> bool:
    """Whether a field's annotation is `kind`, or holds it (`int | None`, ...)."""
    return annotation is kind or any(_holds(a, kind) for a in get_args(annotation))


def _decimal_digits(field: FieldInfo) -> tuple[int, int] | None:
    """A decimal field's `max_digits` and `decimal_places`, wherever annotated."""
    digits: dict[str, int] = {}
    pending: list[Any] = [*field.metadata, field.annotation]
    while pending:
        item = pending.pop()
        if isinstance(item, FieldInfo):
            pending.extend(item.metadata)
            continue
        pending.extend(get_args(item))
        for key in ("max_digits", "decimal_places"):
            if isinstance(value := getattr(item, key, None), int):
                digits[key] = value
    if len(digits) < 2:
        return None
    return digits["max_digits"], digits["decimal_places"]


@dataclass(frozen=True)
class _IntegerRule:
    """JSON Schema counts 3.0 as an integer, so an integer field takes it too."""

    def check(self, value: Any) -> Any:
        if isinstance(value, list):  # a many field's ids: each is an integer
            return [self.check(item) for item in value]
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value  # 3.5, "3" and true stay refused: the fields are strict

    def document(self, schema: dict[str, Any]) -> None:
        pass  # `type: integer` says it


@dataclass(frozen=True)
class _DecimalRule:
    """A decimal: a number, or digits in a string, with at most `whole` digits
    before the point and `places` after it (NUMERIC(whole + places, places))."""

    whole: int
    places: int

    @property
    def pattern(self) -> str:
        # Leading and trailing zeros are read as the same number; nothing else
        # (" 3", "3e2", "1_000") is a decimal the document describes.
        if not self.whole:  # NUMERIC(n, n): "0.5", never "0" (a digit before the point)
            return rf"^[+-]?0*\.[0-9]{{1,{self.places}}}0*$"
        whole = f"0*[0-9]{{1,{self.whole}}}"
        fraction = rf"(\.[0-9]{{1,{self.places}}}0*)?" if self.places else r"(\.0+)?"
        return f"^[+-]?{whole}{fraction}$"

    def check(self, value: Any) -> Any:
        if isinstance(value, str) and not re.fullmatch(self.pattern, value):
            raise ValueError(
                f"must be a decimal number: digits, at most {self.whole} before the "
                f"point and {self.places} after it"
            )
        return value

    def document(self, schema: dict[str, Any]) -> None:
        for branch in schema.get("anyOf", [schema]):
            if branch.get("type") == "number":
                branch["multipleOf"] = 10**-self.places if self.places else 1
                branch["exclusiveMinimum"] = -(10**self.whole)
                branch["exclusiveMaximum"] = 10**self.whole
            elif branch.get("type") == "string":
                branch["pattern"] = self.pattern


@dataclass(frozen=True)
class DecimalText:
    """Annotation: a decimal in a list's filter (`?price__gte=9.99`), read from the
    query string's text and documented as the text NUMERIC(precision, scale) holds
    (as a body's decimal sent as a string is)."""

    precision: int
    scale: int

    @property
    def rule(self) -> _DecimalRule:
        return _DecimalRule(whole=self.precision - self.scale, places=self.scale)

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_before_validator_function(
            self.rule.check, handler(source)
        )

    def __get_pydantic_json_schema__(
        self, _core_schema: CoreSchema, _handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "string", "pattern": self.rule.pattern}


@cache
def _number_rules(model: type[BaseModel]) -> dict[str, _IntegerRule | _DecimalRule]:
    rules: dict[str, _IntegerRule | _DecimalRule] = {}
    for name, field in model.model_fields.items():
        if _holds(field.annotation, int):
            rules[name] = _IntegerRule()
        elif _holds(field.annotation, Decimal) and (digits := _decimal_digits(field)):
            precision, places = digits
            rules[name] = _DecimalRule(whole=precision - places, places=places)
    return rules


class JsonNumbers:
    """A request body's numbers, accepted as its OpenAPI document states them.

    An integer field takes a whole number written either way, 3 or 3.0 (JSON Schema
    counts both as integers). A decimal field's document gives its bounds, its
    places (`multipleOf`) and, for a decimal sent as a string, a `pattern`; a string
    the pattern does not describe is refused rather than read loosely. A mixin,
    listed before `BaseModel` (linters know a model by `BaseModel` among its bases).
    """

    @field_validator("*", mode="before")
    @classmethod
    def _as_documented(cls, value: Any, info: ValidationInfo) -> Any:
        if not issubclass(cls, BaseModel) or info.field_name is None:
            return value
        rule = _number_rules(cls).get(info.field_name)
        return value if rule is None else rule.check(value)

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(core_schema)
        if issubclass(cls, BaseModel):
            properties = handler.resolve_ref_schema(json_schema).get("properties", {})
            for name, rule in _number_rules(cls).items():
                if name in properties:
                    rule.document(properties[name])
        return json_schema


class UpdateSchema(JsonNumbers, BaseModel):
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
