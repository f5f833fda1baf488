"""The field types: one entry each, the only place a type's code is written down.

An entry says, for one spec type, everything every stage needs: the model's Python
annotation and column type (as code, and as the SQLAlchemy type the migrations and
`check` compare), the input and read annotations of the schemas, a test sample, how
a default is written in the generated code and in a migration, what fills a column
on a downgrade, and which spec defaults fit. Adding a type is one entry in `TYPES`
plus its tests; `ref` is the one kind that is not a type of its own column (it is a
foreign key to an id: see `uowgen._schema.tables`).

Code is written with `{placeholders}` filled from a field's `Params` (a str's length,
a decimal's precision and scale, an enum's class and values).
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.types import TypeEngine

from uowgen._schema import naming

if TYPE_CHECKING:
    from uowgen._spec.models import FieldSpec, ModelSpec

# A `str` without `max_length` still gets a bound: VARCHAR(255), checked on input.
DEFAULT_STR_LENGTH = 255
MAX_STR_LENGTH = 10_485_760
# NUMERIC(12, 2) unless the spec says otherwise.
DEFAULT_PRECISION, DEFAULT_SCALE = 12, 2
INT32, INT64 = 2**31, 2**63


@dataclass(frozen=True)
class Params:
    """What a field's code depends on besides its type."""

    length: int = DEFAULT_STR_LENGTH
    precision: int = DEFAULT_PRECISION
    scale: int = DEFAULT_SCALE
    enum_class: str = ""
    enum_type: str = ""
    enum_length: int = 0
    values: tuple[str, ...] = ()

    @property
    def values_literal(self) -> str:
        """The enum's values as Python string literals, comma-separated."""
        return ", ".join(repr(value) for value in self.values)

    def fill(self, code: str) -> str:
        """`code` with its `{placeholders}` filled."""
        return code.format(
            length=self.length,
            precision=self.precision,
            scale=self.scale,
            enum_class=self.enum_class,
            enum_type=self.enum_type,
            enum_length=self.enum_length,
            values=self.values_literal,
        )


def params(model: ModelSpec, spec_field: FieldSpec) -> Params:
    """The parameters of one field's code."""
    values = tuple(spec_field.values or ())
    return Params(
        length=spec_field.max_length or DEFAULT_STR_LENGTH,
        precision=spec_field.precision or DEFAULT_PRECISION,
        scale=DEFAULT_SCALE if spec_field.scale is None else spec_field.scale,
        enum_class=naming.enum_class(model.name, spec_field.name),
        enum_type=naming.enum_type(model.name, spec_field.name),
        enum_length=max((len(value) for value in values), default=0),
        values=values,
    )


@dataclass(frozen=True)
class Value:
    """A value as Python code in a migration, and how a change line shows it."""

    code: str
    shown: str
    imports: frozenset[str] = frozenset()


_DATETIME = frozenset({"import datetime"})
_DECIMAL = frozenset({"import decimal"})
_UUID = frozenset({"import uuid"})


@dataclass(frozen=True)
class FieldType:
    """One spec type, as every stage writes it.

    Attributes:
        name: the type's name in the spec.
        python: the model's (and read schema's) Python annotation.
        sa_type: the column type in the model's `mapped_column(...)`.
        column: the column type as SQLAlchemy builds it (migrations, `check`).
        input: the create and update schemas' annotation (checked on the way in:
            the names come from the project's `schemas/base.py`).
        sample: a test sample: a Python expression of `n`, distinct for each `n`.
        literal: a default (validated) as an expression of the generated code.
        value: a default as a migration's value.
        placeholder: what a downgrade gives rows that need a value and have none.
        problem: why a spec default does not fit the type, or None.
        stdlib: imports the model and schema modules need for `python`.
        project_types: the `models/base.py` types `sa_type` uses.
        schema_types: the `schemas/base.py` types `input` and `read` use.
        options: the spec options (`max_length`, ...) the type takes.
        text: whether values are text (the admin's labels, hostile-input tests).
        default_is_text: whether the field shorthand reads a default as text.
        varies_on_update: whether a fresh sample always differs from the last.
        query: a list filter's annotation, read from a query string (`?n=3`): the
            input's bounds, parsed from text; None: `input` (already lax), and
            no filter at all when `filterable` is false.
        filterable: whether lists filter on it (`?name=value`).
        ordered: whether lists filter on it by range (`?name__gte=`).
    """

    name: str
    python: str
    sa_type: str
    column: Callable[[Params], TypeEngine[Any]]
    input: str
    sample: str
    literal: Callable[[Any, Params], str]
    value: Callable[[Any], Value]
    placeholder: Value
    problem: Callable[[FieldSpec], str | None]
    read: str | None = None
    stdlib: tuple[str, ...] = ()
    project_types: tuple[str, ...] = ()
    schema_types: tuple[str, ...] = ()
    options: frozenset[str] = field(default_factory=frozenset)
    text: bool = False
    default_is_text: bool = False
    varies_on_update: bool = True
    query: str | None = None
    filterable: bool = True
    ordered: bool = False

    def query_annotation(self) -> str:
        """A list filter's annotation: what a query string's text is read as."""
        return self.query or self.input

    @property
    def sa_names(self) -> tuple[str, ...]:
        """The `sqlalchemy` names the model imports for `sa_type`."""
        head = self.sa_type.split("(")[0]
        return () if head in self.project_types else (head,)

    def read_annotation(self) -> str:
        """The read schema's annotation: plain, it serialises what is stored."""
        return self.read or self.python


# --- defaults: checking them, and writing them as code ------------------------------


def _repr(value: Any, _params: Params | None = None) -> str:
    return repr(value)


def _text_problem(spec_field: FieldSpec) -> str | None:
    value = spec_field.default
    if not isinstance(value, str):
        return "expected a string"
    if spec_field.max_length is not None and len(value) > spec_field.max_length:
        return f"longer than max_length {spec_field.max_length}"
    if "\x00" in value:
        return "contains a NUL character"
    return None


def _integer_problem(bound: int, kind: str) -> Callable[[FieldSpec], str | None]:
    def problem(spec_field: FieldSpec) -> str | None:
        value = spec_field.default
        if not isinstance(value, int) or isinstance(value, bool):
            return "expected an integer"
        if not -bound <= value < bound:
            return f"out of range for {kind}"
        return None

    return problem


def _float_problem(spec_field: FieldSpec) -> str | None:
    value = spec_field.default
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "expected a number"
    try:
        finite = math.isfinite(value)
    except OverflowError:
        return "out of range for float"
    return None if finite else "must be finite"


def _decimal_problem(spec_field: FieldSpec) -> str | None:
    value = spec_field.default
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return "expected a number or a numeric string"
    try:
        number = decimal.Decimal(str(value))
    except decimal.InvalidOperation:
        return "not a decimal number"
    if not number.is_finite():
        return "must be finite"
    precision = (
        DEFAULT_PRECISION if spec_field.precision is None else spec_field.precision
    )
    scale = DEFAULT_SCALE if spec_field.scale is None else spec_field.scale
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > scale:
        return f"has more than {scale} decimal places"
    if number.copy_abs() >= decimal.Decimal(10) ** (precision - scale):
        return f"does not fit precision {precision}, scale {scale}"
    return None


def _bool_problem(spec_field: FieldSpec) -> str | None:
    return None if isinstance(spec_field.default, bool) else "expected true or false"


def _parsed_problem(
    kind: type, parse: Callable[[str], object], what: str
) -> Callable[[FieldSpec], str | None]:
    def problem(spec_field: FieldSpec) -> str | None:
        value = spec_field.default
        if isinstance(value, kind) and not (
            kind is dt.date and isinstance(value, dt.datetime)
        ):
            return None
        if not isinstance(value, str):
            return f"expected {what} string"
        try:
            parse(value)
        except ValueError:
            return f"expected {what} string"
        return None

    return problem


def _json_problem(spec_field: FieldSpec) -> str | None:
    value = spec_field.default
    # A json field holds an object (`dict[str, Any]` in the generated code).
    if not isinstance(value, Mapping):
        return "expected a JSON object (a mapping)"
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return "not a JSON value"
    return None


def _enum_problem(spec_field: FieldSpec) -> str | None:
    if spec_field.default in (spec_field.values or ()):
        return None
    return f"not one of the enum values {list(spec_field.values or ())}"


def date_default(value: object) -> dt.date:
    """A date field's (validated) default as a date: YAML gives a date or a string."""
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def datetime_default(value: object) -> dt.datetime:
    """A datetime field's (validated) default as an aware datetime (naive means UTC)."""
    moment = (
        value
        if isinstance(value, dt.datetime)
        else dt.datetime.fromisoformat(str(value))
    )
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def time_default(value: object) -> dt.time:
    """A time field's (validated) default: YAML gives it as a string."""
    return value if isinstance(value, dt.time) else dt.time.fromisoformat(str(value))


def _time_problem(spec_field: FieldSpec) -> str | None:
    value = spec_field.default
    if isinstance(value, dt.time):
        moment = value
    elif isinstance(value, str):
        try:
            moment = dt.time.fromisoformat(value)
        except ValueError:
            return "expected an ISO time string (HH:MM[:SS[.ffffff]])"
    else:
        # YAML 1.1 reads an unquoted 12:30 as the number 750: quote it.
        return "expected an ISO time string (HH:MM[:SS[.ffffff]]); quote it in YAML"
    return None if moment.tzinfo is None else "a time of day has no UTC offset"


def _decimal_literal(value: Any, _params: Params) -> str:
    text = str(decimal.Decimal(str(value)))
    # Decimal(134), not Decimal("134"): ruff (FURB157) rewrites the latter.
    whole = text.lstrip("-").isdigit() and text != "-0"
    return f"Decimal({int(text) if whole else repr(text)})"


def _date_code(day: dt.date) -> str:
    return f"datetime.date({day.year}, {day.month}, {day.day})"


def _moment_code(moment: dt.datetime) -> str:
    # Stored in UTC, as the models' UTCDateTime stores it.
    utc = moment.astimezone(dt.UTC)
    parts = [utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second]
    if utc.microsecond:
        parts.append(utc.microsecond)
    return f"datetime.datetime({', '.join(map(str, parts))}, tzinfo=datetime.UTC)"


def _time_args(moment: dt.time) -> str:
    parts = [moment.hour, moment.minute, moment.second]
    if moment.microsecond:
        parts.append(moment.microsecond)
    return ", ".join(map(str, parts))


def _plain_value(convert: Callable[[Any], Any]) -> Callable[[Any], Value]:
    return lambda value: Value(repr(convert(value)), repr(value))


def _json_value(value: Any) -> Any:
    # json.loads(json.dumps(...)) normalises YAML oddities (dates, tuples).
    return json.loads(json.dumps(value))


# --- the table ----------------------------------------------------------------------

_INTEGER = "Annotated[int, Field(strict=True, ge={low}, le={high})]"
# The same bounds, read from a query string's text (`?count=3`).
_QUERY_INTEGER = "Annotated[int, Field(ge={low}, le={high})]"

TYPES: dict[str, FieldType] = {
    entry.name: entry
    for entry in (
        FieldType(
            name="str",
            python="str",
            sa_type="String({length})",
            column=lambda p: sa.String(p.length),
            input="Annotated[Text, Field(max_length={length})]",
            sample="values.text(n, {length})",
            literal=_repr,
            value=_plain_value(str),
            placeholder=Value('""', repr("")),
            problem=_text_problem,
            schema_types=("Text",),
            options=frozenset({"max_length"}),
            text=True,
            default_is_text=True,
        ),
        FieldType(
            name="text",
            python="str",
            sa_type="Text",
            column=lambda _: sa.Text(),
            input="Text",
            sample="values.text(n)",
            literal=_repr,
            value=_plain_value(str),
            placeholder=Value('""', repr("")),
            problem=_text_problem,
            schema_types=("Text",),
            text=True,
            default_is_text=True,
        ),
        FieldType(
            name="int",
            python="int",
            sa_type="Integer",
            column=lambda _: sa.Integer(),
            input=_INTEGER.format(low=-INT32, high=INT32 - 1),
            query=_QUERY_INTEGER.format(low=-INT32, high=INT32 - 1),
            ordered=True,
            sample="n",
            literal=_repr,
            value=_plain_value(lambda value: value),
            placeholder=Value("0", "0"),
            problem=_integer_problem(INT32, "int"),
        ),
        FieldType(
            name="bigint",
            python="int",
            sa_type="BigInteger",
            column=lambda _: sa.BigInteger(),
            # `lt=` 2**63, not `le=` 2**63 - 1: the OpenAPI document keeps bounds
            # as floats, and 2**63 is one exactly (2**63 - 1 would read as 2**63).
            input=f"Annotated[int, Field(strict=True, ge={-INT64}, lt={INT64})]",
            query=f"Annotated[int, Field(ge={-INT64}, lt={INT64})]",
            ordered=True,
            sample="n",
            literal=_repr,
            value=_plain_value(lambda value: value),
            placeholder=Value("0", "0"),
            problem=_integer_problem(INT64, "bigint"),
        ),
        FieldType(
            name="float",
            python="float",
            sa_type="Float",
            column=lambda _: sa.Float(),
            input="Finite",
            query="Annotated[float, Field(allow_inf_nan=False)]",
            ordered=True,
            sample="n + 0.5",
            literal=lambda value, _: repr(float(value)),
            value=lambda value: Value(repr(float(value)), repr(value)),
            placeholder=Value("0.0", "0.0"),
            problem=_float_problem,
            schema_types=("Finite",),
        ),
        FieldType(
            name="decimal",
            python="Decimal",
            sa_type="ExactDecimal({precision}, {scale})",
            column=lambda p: sa.Numeric(p.precision, p.scale),
            input=(
                "Annotated[Decimal, Field(max_digits={precision}, "
                "decimal_places={scale})]"
            ),
            query=(
                "Annotated[Decimal, Field(max_digits={precision}, "
                "decimal_places={scale}), DecimalText({precision}, {scale})]"
            ),
            ordered=True,
            sample="values.number(n, {precision}, {scale})",
            literal=_decimal_literal,
            value=lambda value: Value(
                f"decimal.Decimal({str(decimal.Decimal(str(value)))!r})",
                repr(value),
                _DECIMAL,
            ),
            placeholder=Value("decimal.Decimal(0)", "0", _DECIMAL),
            problem=_decimal_problem,
            stdlib=("from decimal import Decimal",),
            project_types=("ExactDecimal",),
            schema_types=("DecimalText",),
            options=frozenset({"precision", "scale"}),
            default_is_text=True,
            varies_on_update=False,
        ),
        FieldType(
            name="bool",
            python="bool",
            sa_type="Boolean",
            column=lambda _: sa.Boolean(),
            input="StrictBool",
            query="bool",
            sample="n % 2 == 0",
            literal=_repr,
            value=_plain_value(lambda value: value),
            placeholder=Value("False", "False"),
            problem=_bool_problem,
            varies_on_update=False,
        ),
        FieldType(
            name="date",
            python="date",
            sa_type="Date",
            column=lambda _: sa.Date(),
            input="Day",
            ordered=True,
            sample="values.day(n)",
            literal=lambda value, _: "date({0.year}, {0.month}, {0.day})".format(
                date_default(value)
            ),
            value=lambda value: Value(
                _date_code(date_default(value)), repr(value), _DATETIME
            ),
            placeholder=Value(
                _date_code(dt.date(1970, 1, 1)), "a placeholder", _DATETIME
            ),
            problem=_parsed_problem(dt.date, dt.date.fromisoformat, "an ISO date"),
            schema_types=("Day",),
            stdlib=("from datetime import date",),
            default_is_text=True,
        ),
        FieldType(
            name="datetime",
            python="datetime",
            sa_type="UTCDateTime",
            column=lambda _: sa.DateTime(timezone=True),
            input="Instant",
            ordered=True,
            sample="values.moment(n)",
            literal=lambda value, _: (
                f"datetime.fromisoformat({datetime_default(value).isoformat()!r})"
            ),
            value=lambda value: Value(
                _moment_code(datetime_default(value)), repr(value), _DATETIME
            ),
            placeholder=Value(
                _moment_code(dt.datetime(1970, 1, 1, tzinfo=dt.UTC)),
                "a placeholder",
                _DATETIME,
            ),
            problem=_parsed_problem(dt.datetime, dt.datetime.fromisoformat, "ISO time"),
            schema_types=("Instant",),
            stdlib=("from datetime import datetime",),
            project_types=("UTCDateTime",),
            default_is_text=True,
        ),
        FieldType(
            name="time",
            python="time",
            sa_type="Time",
            column=lambda _: sa.Time(),
            input="Clock",
            ordered=True,
            # Read as Clock too: its documented pattern (not JSON Schema's "time",
            # which requires an offset) is what the API writes.
            read="Clock",
            # A distinct time of day per n (cycling after a day's seconds).
            sample='f"{{n // 3600 % 24:02d}}:{{n // 60 % 60:02d}}:{{n % 60:02d}}"',
            literal=lambda value, _: f"time({_time_args(time_default(value))})",
            value=lambda value: Value(
                f"datetime.time({_time_args(time_default(value))})",
                repr(value),
                _DATETIME,
            ),
            placeholder=Value("datetime.time(0, 0, 0)", "midnight", _DATETIME),
            problem=_time_problem,
            schema_types=("Clock",),
            stdlib=("from datetime import time",),
            default_is_text=True,
        ),
        FieldType(
            name="uuid",
            python="UUID",
            sa_type="Uuid",
            column=lambda _: sa.Uuid(),
            input="UUID",
            sample="str(uuid4())",
            literal=lambda value, _: f"UUID({str(value)!r})",
            value=lambda value: Value(
                f"uuid.UUID({str(uuid.UUID(str(value)))!r})", repr(value), _UUID
            ),
            placeholder=Value("uuid.UUID(int=0)", "a placeholder", _UUID),
            problem=_parsed_problem(uuid.UUID, uuid.UUID, "a UUID"),
            stdlib=("from uuid import UUID",),
            default_is_text=True,
        ),
        FieldType(
            name="json",
            python="dict[str, Any]",
            sa_type="JSON(none_as_null=True)",
            column=lambda _: sa.JSON(none_as_null=True),
            input="JsonObject",
            filterable=False,
            sample='{{"n": n}}',
            literal=lambda value, _: repr(_json_value(value)),
            value=lambda value: Value(repr(_json_value(value)), repr(value)),
            placeholder=Value("{}", "{}"),
            problem=_json_problem,
            schema_types=("JsonObject",),
            stdlib=("from typing import Any",),
        ),
        FieldType(
            name="enum",
            python="{enum_class}",
            sa_type=(
                "Enum({enum_class}, native_enum=False, length={enum_length}, "
                "values_callable=enum_values, name='{enum_type}')"
            ),
            column=lambda p: sa.Enum(
                *p.values, native_enum=False, length=p.enum_length, name=p.enum_type
            ),
            input="{enum_class}",
            sample="values.pick(n, [{values}])",
            literal=lambda value, p: f"{p.enum_class}.{naming.enum_member(str(value))}",
            value=_plain_value(str),
            placeholder=Value("", ""),  # the first value: see `placeholder`
            problem=_enum_problem,
            options=frozenset({"values"}),
            default_is_text=True,
            varies_on_update=False,
        ),
    )
}
# The spec's type names: the column types, then `ref` (a foreign key to an id) and
# `many` (links to any number of rows of another model, through a table of links).
FIELD_TYPES: tuple[str, ...] = (*TYPES, "ref", "many")
# Options only a ref takes, and those a many field takes.
REF_OPTIONS = ("to", "on_delete", "related_name")
MANY_OPTIONS = ("to", "related_name")


def placeholder(spec_field: FieldSpec) -> Value:
    """What a downgrade gives rows that need a value in a required field."""
    if spec_field.type == "enum":
        first = (spec_field.values or [""])[0]
        return Value(repr(first), repr(first))
    return TYPES[spec_field.type].placeholder
