"""Hypothesis strategies for valid uowgen specs, shared by the spec and render tests."""

from __future__ import annotations

import datetime as dt
import decimal
import keyword
from typing import Any

from hypothesis import strategies as st

from uowgen._schema import naming as _naming
from uowgen._schema.types import FIELD_TYPES
from uowgen._spec.models import (
    RESERVED_FIELD_NAMES,
    RESERVED_MODEL_NAMES,
    RESERVED_MODULES,
    RESERVED_PACKAGES,
)

_EXACT = decimal.Context(prec=100)
_UNSUITABLE_WORDS = set(_naming._IRREGULAR_PLURALS) | set(_naming._UNCOUNTABLE)


def _usable_model_name(name: str) -> bool:
    module = _naming.snake(name)
    plural = _naming.plural_snake(name)
    return (
        name not in RESERVED_MODEL_NAMES
        and module not in RESERVED_MODULES
        and module not in _UNSUITABLE_WORDS
        and not keyword.iskeyword(module)
        and not keyword.iskeyword(plural)
        and plural not in RESERVED_FIELD_NAMES
    )


LOWER = "abcdefghijklmnopqrstuvwxyz"


def _joined(*parts: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(*parts).map("".join)


# One capitalised word each, so no model name is another's name plus a suffix
# (`UserCreate`) or another's enum class (`UserStatus`).
model_names = _joined(
    st.sampled_from(LOWER.upper()), st.text(LOWER, min_size=2, max_size=7)
).filter(_usable_model_name)
# Field names end in a digit: never a plural, so never a reverse collection's name.
field_names = _joined(
    st.text(LOWER, min_size=1, max_size=6),
    st.sampled_from(["", "_"]),
    st.text(LOWER, max_size=5),
    st.sampled_from("0123456789"),
).filter(lambda name: not name.startswith("model_"))
package_names = _joined(
    st.sampled_from(LOWER), st.text(LOWER + "0123456789_", max_size=12)
).filter(lambda name: not keyword.iskeyword(name) and name not in RESERVED_PACKAGES)
# Printable means no "Other" or "Separator" character, except the ASCII space.
project_names = st.text(
    st.characters(codec="utf-8", categories=("L", "M", "N", "P", "S")) | st.just(" "),
    min_size=1,
    max_size=100,
).filter(lambda name: name.strip() != "")
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
enum_values = st.lists(
    _joined(st.sampled_from(LOWER), st.text(LOWER + "0123456789 '\"-", max_size=10)),
    min_size=1,
    max_size=5,
    unique_by=_naming.enum_member,
)


@st.composite
def scalar_fields(draw: st.DrawFn, name: str) -> dict[str, Any]:
    kind = draw(st.sampled_from([t for t in FIELD_TYPES if t not in ("ref", "many")]))
    data: dict[str, Any] = {"name": name, "type": kind}
    if draw(st.booleans()):
        data["optional"] = True
    if kind not in ("json", "bool") and draw(st.booleans()):
        data["unique"] = True
    if kind != "json" and draw(st.booleans()):
        data["index"] = True
    default: st.SearchStrategy[Any] | None = None
    if kind in ("str", "text"):
        length = draw(st.none() | st.integers(1, 300)) if kind == "str" else None
        if length is not None:
            data["max_length"] = length
        default = st.text(
            st.characters(codec="utf-8", exclude_characters="\x00"),
            max_size=length or 20,
        )
    elif kind in ("int", "bigint"):
        bound = 2**31 if kind == "int" else 2**63
        default = st.integers(-bound, bound - 1)
    elif kind == "float":
        default = st.floats(allow_nan=False, allow_infinity=False)
    elif kind == "decimal":
        precision = draw(st.integers(1, 38))
        scale = draw(st.integers(0, precision))
        data.update(precision=precision, scale=scale)
        default = st.integers(-(10**precision) + 1, 10**precision - 1).map(
            lambda n: str(decimal.Decimal(n).scaleb(-scale, _EXACT))
        )
    elif kind == "bool":
        default = st.booleans()
    elif kind == "date":
        default = st.dates().map(dt.date.isoformat)
    elif kind == "datetime":
        default = st.datetimes(timezones=st.just(dt.UTC)).map(dt.datetime.isoformat)
    elif kind == "time":
        default = st.times().map(dt.time.isoformat)
    elif kind == "uuid":
        default = st.uuids().map(str)
    elif kind == "json":
        default = st.dictionaries(st.text(max_size=5), json_values, max_size=3)
    elif kind == "enum":
        values = draw(enum_values)
        data["values"] = values
        default = st.sampled_from(values)
    if default is not None and draw(st.booleans()):
        data["default"] = draw(default)
    return data


@st.composite
def valid_specs(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(
        st.lists(model_names, min_size=1, max_size=4, unique_by=_naming.plural_snake)
    )
    models = []
    for position, name in enumerate(names):
        field_list = draw(st.lists(field_names, min_size=1, max_size=5, unique=True))
        fields = []
        for field_name in field_list:
            roll = draw(st.integers(0, 7))
            if roll == 7:
                # Links may point anywhere, itself included: a table of links
                # comes after both tables. The reverse collection is named, as
                # a ref and a many field to one model would share the default.
                target = draw(st.sampled_from(names))
                module = _naming.snake(name)
                fields.append(
                    {
                        "name": field_name,
                        "type": "many",
                        "to": target,
                        "related_name": f"{field_name}_{module}",
                    }
                )
            elif roll < 2:
                # Refs point only at earlier models (or self), so there is no cycle.
                target = draw(st.sampled_from(names[: position + 1]))
                optional = target == name or draw(st.booleans())
                ref: dict[str, Any] = {"name": field_name, "type": "ref", "to": target}
                if optional:
                    ref["optional"] = True
                choices = ["cascade", "restrict", *(["set_null"] if optional else [])]
                on_delete = draw(st.none() | st.sampled_from(choices))
                if on_delete:
                    ref["on_delete"] = on_delete
                if draw(st.booleans()):
                    ref["unique"] = True
                fields.append(ref)
            else:
                fields.append(draw(scalar_fields(field_name)))
        models.append({"name": name, "fields": fields})
    data: dict[str, Any] = {"project_name": draw(project_names), "models": models}
    data["package_name"] = draw(package_names)
    return data
