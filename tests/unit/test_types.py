"""The type table (uowgen._schema.types): every entry is complete and consistent."""

from __future__ import annotations

import datetime
import decimal
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from uowgen._schema.types import FIELD_TYPES, TYPES, Params, params
from uowgen._spec.models import FieldSpec, ModelSpec

# A valid default of each type, and the value it stands for in Python.
DEFAULTS: dict[str, tuple[Any, Any]] = {
    "str": ("hi", "hi"),
    "text": ("a\nb", "a\nb"),
    "int": (-7, -7),
    "bigint": (2**62, 2**62),
    "float": (0.5, 0.5),
    "decimal": ("9.99", decimal.Decimal("9.99")),
    "bool": (True, True),
    "date": ("2024-02-29", datetime.date(2024, 2, 29)),
    "datetime": (
        "2024-01-01T10:00:00+02:00",
        datetime.datetime(2024, 1, 1, 8, tzinfo=datetime.UTC),
    ),
    "time": ("09:30:15.25", datetime.time(9, 30, 15, 250000)),
    "uuid": (
        "5f0e7c3e-6f3a-4a49-9f7e-5c8f2a1b7d11",
        uuid.UUID("5f0e7c3e-6f3a-4a49-9f7e-5c8f2a1b7d11"),
    ),
    "json": ({"a": [1, 2]}, {"a": [1, 2]}),
    "enum": ("on-sale", "on-sale"),
}
# What the generated modules import for a model's default and a migration's value.
NAMES = {
    "Decimal": decimal.Decimal,
    "date": datetime.date,
    "datetime": datetime.datetime,
    "time": datetime.time,
    "UUID": uuid.UUID,
}
MIGRATION_NAMES = {"datetime": datetime, "decimal": decimal, "uuid": uuid}


def field_of(kind: str, **options: Any) -> tuple[ModelSpec, FieldSpec]:
    if kind == "enum":
        options.setdefault("values", ["draft", "on-sale"])
    field = FieldSpec(name="thing", type=kind, **options)
    return ModelSpec(name="Box", fields=[field]), field


def test_every_spec_type_but_ref_and_many_has_an_entry() -> None:
    assert set(FIELD_TYPES) == {*TYPES, "ref", "many"}
    assert set(DEFAULTS) == set(TYPES)


@pytest.mark.parametrize("kind", sorted(TYPES))
def test_each_column_type_compiles_on_both_databases(kind: str) -> None:
    model, field = field_of(kind)
    column = TYPES[kind].column(params(model, field))
    for dialect in (sqlite.dialect(), postgresql.dialect()):  # type: ignore[no-untyped-call]
        assert column.compile(dialect=dialect)


@pytest.mark.parametrize("kind", sorted(TYPES))
def test_a_valid_default_passes_and_is_written_as_the_same_value(kind: str) -> None:
    spec_value, value = DEFAULTS[kind]
    model, field = field_of(kind, default=spec_value)
    entry = TYPES[kind]
    assert entry.problem(field) is None
    literal = entry.literal(spec_value, params(model, field))
    migration = entry.value(spec_value)
    if kind == "enum":
        assert literal == "BoxThing.ON_SALE"
        assert eval(migration.code) == value
        return
    assert eval(literal, dict(NAMES)) == value
    assert eval(migration.code, dict(MIGRATION_NAMES)) == value


@pytest.mark.parametrize("kind", sorted(TYPES))
def test_the_placeholder_is_a_value_of_the_column(kind: str) -> None:
    placeholder = TYPES[kind].placeholder
    if kind == "enum":
        return  # the first of the field's values (see `placeholder`)
    value = eval(placeholder.code, {"sa": sa, **MIGRATION_NAMES})
    assert value is not None


@pytest.mark.parametrize("kind", sorted(TYPES))
def test_code_placeholders_are_all_filled(kind: str) -> None:
    model, field = field_of(kind)
    filled = params(model, field)
    entry = TYPES[kind]
    for code in (
        entry.python,
        entry.sa_type,
        entry.input,
        entry.query_annotation(),
        entry.sample,
    ):
        # Filled without a KeyError, and Python again.
        compile(filled.fill(code), "<code>", "eval")


@pytest.mark.parametrize(
    ("default", "problem"),
    [
        (750, "quote it in YAML"),
        ("noon", "expected an ISO time string"),
        ("09:30+02:00", "no UTC offset"),
    ],
)
def test_a_time_default_must_be_a_time_of_day_without_offset(
    default: object, problem: str
) -> None:
    _, field = field_of("time", default=default)
    found = TYPES["time"].problem(field)
    assert found is not None and problem in found


def test_params_default_a_str_to_255_and_a_decimal_to_12_2() -> None:
    model, text = field_of("str")
    assert params(model, text).length == 255
    model, number = field_of("decimal")
    assert (params(model, number).precision, params(model, number).scale) == (12, 2)
    assert Params().fill("String({length})") == "String(255)"


@pytest.mark.parametrize("kind", [kind for kind in TYPES if TYPES[kind].filterable])
def test_a_filter_reads_query_text_so_it_is_never_strict(kind: str) -> None:
    # A query string is text: a strict annotation would refuse `?count=3`.
    annotation = TYPES[kind].query_annotation()

    assert "strict=True" not in annotation
    assert annotation not in ("Finite", "StrictBool")


def test_ranges_are_on_numbers_dates_and_times_only() -> None:
    ordered = {kind for kind, entry in TYPES.items() if entry.ordered}
    unfiltered = {kind for kind, entry in TYPES.items() if not entry.filterable}

    assert ordered == {"int", "bigint", "float", "decimal", "date", "datetime", "time"}
    assert unfiltered == {"json"}
