"""Turn a validated spec into the data the template renders: the template's contract.

Templates print what this module computes and never derive names or code fragments
themselves, so every naming and escaping rule lives here, in plain Python, under test.
Spec values reach generated code only as `repr()` literals.
"""

from __future__ import annotations

import decimal
import json
import re
from collections.abc import Callable
from typing import Any

import yaml

from uowgen._schema import naming as _naming
from uowgen._spec.models import (
    ADMIN_SESSION_MODEL,
    FieldSpec,
    ModelSpec,
    ProjectSpec,
    date_default,
    datetime_default,
    related_name,
)

_DECIMAL_DEFAULTS = (12, 2)
# A `str` without `max_length` still gets a bound: VARCHAR(255), checked on input.
DEFAULT_STR_LENGTH = 255
_INT32, _INT64 = 2**31, 2**63
# The types whose code does not depend on options: Python type, column type,
# migration column type, input schema type (checked on the way in: names from
# `schemas/base.py`), read schema type (plain: it serialises what is stored), and a
# test sample (a Python expression of n).
_TYPE_KEYS = (
    "py_type",
    "sa_type",
    "migration_type",
    "schema_type",
    "read_type",
    "sample",
)
_FIXED_TYPES = {
    "text": ("str", "Text", "sa.Text()", "Text", "str", "values.text(n)"),
    "int": (
        "int",
        "Integer",
        "sa.Integer()",
        f"Annotated[int, Field(strict=True, ge={-_INT32}, le={_INT32 - 1})]",
        "int",
        "n",
    ),
    "bigint": (
        "int",
        "BigInteger",
        "sa.BigInteger()",
        f"Annotated[int, Field(strict=True, ge={-_INT64}, le={_INT64 - 1})]",
        "int",
        "n",
    ),
    "float": ("float", "Float", "sa.Float()", "Finite", "float", "n + 0.5"),
    "bool": ("bool", "Boolean", "sa.Boolean()", "StrictBool", "bool", "n % 2 == 0"),
    "date": ("date", "Date", "sa.Date()", "Day", "date", "values.day(n)"),
    "datetime": (
        "datetime",
        "UTCDateTime",
        "sa.DateTime(timezone=True)",
        "Instant",
        "datetime",
        "values.moment(n)",
    ),
    "uuid": ("UUID", "Uuid", "sa.Uuid()", "UUID", "UUID", "str(uuid4())"),
    "json": (
        "dict[str, Any]",
        "JSON(none_as_null=True)",
        "sa.JSON(none_as_null=True)",
        "JsonObject",
        "dict[str, Any]",
        '{"n": n}',
    ),
}
_ON_DELETE = {"cascade": "CASCADE", "restrict": "RESTRICT", "set_null": "SET NULL"}


def build_context(spec: ProjectSpec) -> dict[str, Any]:
    """Everything the template needs beyond the copier answers."""
    models = {model.name: model for model in spec.models}
    entities = [_entity(model, models) for model in spec.models]
    by_name = {entity["name"]: entity for entity in entities}
    for model in spec.models:
        for field in model.fields:
            if field.type == "ref" and field.to is not None:
                target = by_name[field.to]
                target["reverse"].append(_reverse(model, field, target))
    for entity in entities:
        # Models this one names in annotations only: imported under TYPE_CHECKING.
        related = {(f["ref"]["module"], f["ref"]["target"]) for f in entity["refs"]}
        related |= {(r["source_module"], r["source"]) for r in entity["reverse"]}
        related.discard((entity["module"], entity["name"]))
        entity["type_checking_imports"] = sorted(related)
    ordered = _dependency_order(spec)
    for name in ordered:
        # A row that needs a capacity-limited row is limited too.
        entity = by_name[name]
        entity["row_capacity_limited"] = entity["row_capacity_limited"] or any(
            by_name[f["ref"]["target"]]["row_capacity_limited"]
            for f in entity["refs"]
            if not f["optional"] and not f["ref"]["self"]
        )
    package = spec.package
    kinds = {field["kind"] for entity in entities for field in entity["fields"]}
    in_order = [by_name[name] for name in ordered]
    # The admin's logins table, built as a model's is (its migration, its model).
    admin_session = _entity(ADMIN_SESSION_MODEL, {}) if spec.admin else None
    return {
        "package": package,
        "distribution": _naming.distribution_name(package),
        "title_literal": _py_str(spec.project_name),
        "title_toml": json.dumps(spec.project_name, ensure_ascii=False),
        "title_markdown": _markdown(spec.project_name),
        "entities": entities,
        "entities_in_dependency_order": in_order,
        # Every table the initial migration creates, referenced ones first.
        "tables_in_dependency_order": in_order
        + ([admin_session] if admin_session else []),
        "admin": spec.admin,
        "admin_session": admin_session,
        "admin_tests": _admin_tests(entities, in_order),
        "uses": {
            **{kind: kind in kinds for kind in ("decimal", "datetime", "json", "uuid")},
            "sample_values": any(
                "values." in field["sample"] for e in entities for field in e["fields"]
            ),
        },
        "example": _worked_example(entities),
        "hostile": _hostile_examples(entities),
        "spec_yaml": spec_yaml(spec),
    }


def spec_yaml(spec: ProjectSpec) -> str:
    """The canonical text of a spec, as kept in the generated `uowgen.yml`."""
    data = spec.to_data()
    data["models"] = [
        {**model, "fields": [_flow(field) for field in model["fields"]]}
        for model in data["models"]
    ]
    return yaml.dump(data, Dumper=_SpecDumper, sort_keys=False, allow_unicode=True)


class _Flow(dict[str, Any]):
    """A mapping dumped on one line: `{name: email, type: str}`."""


def _flow(value: dict[str, Any]) -> _Flow:
    return _Flow(value)


class _SpecDumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # Indent list items under their key, as people write YAML by hand.
        del indentless
        super().increase_indent(flow, False)


_SpecDumper.add_representer(
    _Flow,
    lambda dumper, data: dumper.represent_mapping(
        "tag:yaml.org,2002:map", data.items(), flow_style=True
    ),
)
# PyYAML writes U+0085 (NEXT LINE) raw in plain and single-quoted scalars, where it
# reads back as a line break; double quotes escape it as `\N`.
_SpecDumper.add_representer(
    str,
    lambda dumper, data: dumper.represent_scalar(
        "tag:yaml.org,2002:str", data, style='"' if "\x85" in data else None
    ),
)


def _py_str(value: str) -> str:
    """A Python string literal for any text: quotes, backslashes, newlines escaped."""
    return repr(value)


def _markdown(value: str) -> str:
    return "".join(
        f"\\{char}" if char in "\\`*_{}[]<>()#+-.!|" else char for char in value
    )


def _entity(model: ModelSpec, models: dict[str, ModelSpec]) -> dict[str, Any]:
    module = _naming.snake(model.name)
    plural = model.plural or _naming.plural_snake(model.name)
    fields = [_field(model, field, models) for field in model.fields]
    refs = [field for field in fields if field["kind"] == "ref"]
    unique = [f for f in fields if f["unique"] and f["kind"] != "ref"]
    for field in fields:
        # Constraint names follow the naming convention in models/base.py, so the
        # initial migration and `alembic check` agree with the models.
        column = field["attr"]
        field["uq_name"] = f"uq_{plural}_{column}" if field["unique"] else None
        # A unique constraint is indexed already: no second index beside it.
        wants_index = (field["index"] or field["kind"] == "ref") and not field["unique"]
        field["ix_name"] = f"ix_{plural}_{column}" if wants_index else None
        if field["ref"]:
            field["ref"]["fk_name"] = f"fk_{plural}_{column}_{field['ref']['table']}"
    return {
        "name": model.name,
        "module": module,
        "pk_name": f"pk_{plural}",
        "plural": plural,
        "table": plural,
        "route": "/" + _naming.kebab(plural),
        "tag": _naming.kebab(plural),
        "label": module.replace("_", " "),
        "label_plural": plural.replace("_", " "),
        # The admin: its view class, its key in URLs (/admin/<key>/list), the
        # names it shows, and the field a row is shown by in selects and titles.
        "admin_view": f"{model.name}Admin",
        "admin_key": _naming.kebab(plural),
        "admin_name": _capitalized(module.replace("_", " ")),
        "admin_name_plural": _capitalized(plural.replace("_", " ")),
        "admin_label_field": _label_field(fields),
        "id_param": f"{module}_id",
        "create_schema": f"{model.name}Create",
        "update_schema": f"{model.name}Update",
        "public_schema": f"{model.name}Public",
        "list_schema": f"{model.name}List",
        "summary_schema": f"{model.name}Summary",
        "repository": f"{model.name}Repository",
        "fields": fields,
        "scalars": [field for field in fields if field["kind"] != "ref"],
        "refs": refs,
        "enums": [field["enum"] for field in fields if field["kind"] == "enum"],
        "reverse": [],
        "unique_fields": unique,
        "unique_probe": next((f for f in fields if f["unique"]), None),
        "not_null": [f["attr"] for f in fields if not f["optional"]],
        # A field whose fresh sample always differs, so an update really changes it.
        "update_field": next(
            (
                f
                for f in fields
                if f["kind"] not in ("ref", "bool", "enum", "decimal")
                and not f["unique"]
            ),
            None,
        ),
        "model_imports": _model_imports(fields),
        "schema_imports": _schema_imports(fields),
        "ref_modules": sorted({(f["ref"]["module"], f["ref"]["target"]) for f in refs}),
        "factory_refs": sorted({f["ref"]["module"] for f in refs if not f["optional"]}),
        # A unique enum (or a one-valued one) caps how many rows a test can make.
        "row_capacity_limited": any(
            f["kind"] == "enum" and f["unique"] for f in fields
        ),
    }


def _field(
    model: ModelSpec, field: FieldSpec, models: dict[str, ModelSpec]
) -> dict[str, Any]:
    kind = field.type
    info: dict[str, Any] = {
        "name": field.name,
        "attr": field.name,
        "kind": kind,
        "optional": field.optional,
        "unique": field.unique,
        "index": field.index,
        "label": field.name.replace("_", " "),
    }
    if kind == "ref":
        assert field.to is not None
        target = models[field.to]
        target_table = target.plural or _naming.plural_snake(target.name)
        column = f"{field.name}_id"
        on_delete = _ON_DELETE[field.on_delete or "restrict"]
        info.update(
            attr=column,
            py_type="int",
            column_args=_join(
                [
                    f"ForeignKey({_py_str(target_table + '.id')}, ondelete={on_delete!r})",
                    "unique=True" if field.unique else "",
                    "index=True" if not field.unique else "",
                ]
            ),
            # The migration's `ID` type: the type of the ids it points at.
            migration_type="ID",
            schema_type="Id",
            read_type="int",
            sample="None",
            ref={
                "target": target.name,
                "module": _naming.snake(target.name),
                "table": target_table,
                "relationship": field.name,
                "column": column,
                "on_delete": on_delete,
                "back_populates": related_name(model, field),
                "self": target.name == model.name,
                "summary": f"{target.name}Summary",
                "admin_key": _naming.kebab(target_table),
            },
        )
    else:
        info.update(_scalar(model, field))
    annotation = info["py_type"]
    info["annotation"] = f"{annotation} | None" if field.optional else annotation
    schema_type, read_type = info["schema_type"], info["read_type"]
    info["schema_annotation"] = (
        f"{schema_type} | None" if field.optional else schema_type
    )
    info["read_annotation"] = f"{read_type} | None" if field.optional else read_type
    # A PATCH may leave any field out; only nullable columns may be set to null, and
    # the OpenAPI document says so (SkipJsonSchema keeps `null` out of it).
    info["update_annotation"] = (
        f"{schema_type} | None"
        if field.optional
        else f"{schema_type} | SkipJsonSchema[None]"
    )
    info["default_literal"] = _default_literal(model, field)
    if info["default_literal"] is None and field.optional:
        info["schema_default"] = "None"
    else:
        info["schema_default"] = info["default_literal"]
    info["migration_kwargs"] = _join(
        [
            f"nullable={field.optional}",
            "unique=True" if field.unique and kind != "ref" else "",
        ]
    )
    return info


def _scalar(model: ModelSpec, field: FieldSpec) -> dict[str, Any]:
    """Types, column arguments and test samples of a non-ref field."""
    kind = field.type
    unique_or_index = [
        "unique=True" if field.unique else "",
        "index=True" if field.index and not field.unique else "",
    ]
    info: dict[str, Any] = {"ref": None, "enum": None}
    if kind == "str":
        length = field.max_length or DEFAULT_STR_LENGTH
        info.update(
            max_length=length,
            py_type="str",
            sa_type=f"String({length})",
            migration_type=f"sa.String(length={length})",
            schema_type=f"Annotated[Text, Field(max_length={length})]",
            read_type="str",
            sample=f"values.text(n, {length})",
        )
    elif kind in _FIXED_TYPES:
        info.update(zip(_TYPE_KEYS, _FIXED_TYPES[kind], strict=True))
    elif kind == "decimal":
        precision = field.precision or _DECIMAL_DEFAULTS[0]
        scale = _DECIMAL_DEFAULTS[1] if field.scale is None else field.scale
        info.update(
            py_type="Decimal",
            sa_type=f"ExactDecimal({precision}, {scale})",
            migration_type=f"sa.Numeric(precision={precision}, scale={scale})",
            schema_type=(
                f"Annotated[Decimal, Field(max_digits={precision}, "
                f"decimal_places={scale})]"
            ),
            read_type="Decimal",
            sample=f"values.number(n, {precision}, {scale})",
        )
    elif kind == "enum":
        values = field.values or ()
        class_name = f"{model.name}{_naming.pascal(field.name)}"
        length = max(len(value) for value in values)
        type_name = f"{_naming.snake(model.name)}_{field.name}"
        enum = {
            "class_name": class_name,
            "members": [(_naming.enum_member(v), _py_str(v)) for v in values],
            "length": length,
            "type_name": type_name,
        }
        values_literal = ", ".join(_py_str(v) for v in values)
        info.update(
            enum=enum,
            py_type=class_name,
            sa_type=(
                f"Enum({class_name}, native_enum=False, length={length}, "
                f"values_callable=enum_values, name={type_name!r})"
            ),
            migration_type=(
                f"sa.Enum({values_literal}, native_enum=False, length={length}, "
                f"name={type_name!r})"
            ),
            schema_type=class_name,
            read_type=class_name,
            sample=f"values.pick(n, [{values_literal}])",
        )
    default = _default_literal(model, field)
    column_default = ""
    if default is not None:
        # A json default is mutable: each row gets its own copy.
        if kind != "json":
            column_default = f"default={default}"
        elif default == "{}":
            column_default = "default=dict"
        else:
            column_default = f"default=lambda: {default}"
    info["column_args"] = _join([info["sa_type"], *unique_or_index, column_default])
    return info


def _default_literal(model: ModelSpec, field: FieldSpec) -> str | None:
    """The field's default as a Python expression, or None when it has none."""
    value = field.default
    if value is None:
        return None
    kind = field.type
    if kind == "decimal":
        text = str(decimal.Decimal(str(value)))
        # Decimal(134), not Decimal("134"): ruff (FURB157) rewrites the latter.
        whole = text.lstrip("-").isdigit() and text != "-0"
        return f"Decimal({int(text) if whole else _py_str(text)})"
    if kind == "date":
        parsed = date_default(value)
        return f"date({parsed.year}, {parsed.month}, {parsed.day})"
    if kind == "datetime":
        moment = datetime_default(value)
        return f"datetime.fromisoformat({_py_str(moment.isoformat())})"
    if kind == "uuid":
        return f"UUID({_py_str(str(value))})"
    if kind == "enum":
        assert field.values is not None
        return f"{model.name}{_naming.pascal(field.name)}.{_naming.enum_member(value)}"
    if kind == "float":
        return repr(float(value))
    if kind == "json":
        # json.loads(json.dumps(...)) normalises YAML oddities (dates, tuples).
        return repr(json.loads(json.dumps(value)))
    return repr(value)


def _model_imports(fields: list[dict[str, Any]]) -> dict[str, list[str]]:
    """What a model module imports, by source, so templates print exact imports."""
    sqlalchemy: set[str] = set()
    project: set[str] = set()
    stdlib: set[str] = set()
    for field in fields:
        kind = field["kind"]
        if kind == "ref":
            sqlalchemy.add("ForeignKey")
            continue
        head = field["sa_type"].split("(")[0]
        if head == "ExactDecimal" or head == "UTCDateTime":
            project.add(head)
        else:
            sqlalchemy.add(head)
        stdlib |= _stdlib_for(kind)
    return {
        "sqlalchemy": sorted(sqlalchemy),
        "types": sorted(project),
        "stdlib": sorted(stdlib),
    }


_SCHEMA_IMPORTS = {
    "Annotated": ("stdlib", "from typing import Annotated"),
    "Any": ("stdlib", "from typing import Any"),
    "Decimal": ("stdlib", "from decimal import Decimal"),
    "UUID": ("stdlib", "from uuid import UUID"),
    "date": ("stdlib", "from datetime import date"),
    "datetime": ("stdlib", "from datetime import datetime"),
    "Field": ("pydantic", "Field"),
    "StrictBool": ("pydantic", "StrictBool"),
    "SkipJsonSchema": ("pydantic_json_schema", "SkipJsonSchema"),
    **{
        name: ("base", name)
        for name in ("Day", "Finite", "Id", "Instant", "JsonObject", "Text")
    },
}


def _schema_imports(fields: list[dict[str, Any]]) -> dict[str, Any]:
    """What a schema module imports: exactly the names its annotations use."""
    code = " ".join(
        text
        for field in fields
        for text in (
            field["schema_annotation"],
            field["read_annotation"],
            field["update_annotation"],
            field["default_literal"] or "",
        )
    )
    used = set(re.findall(r"[A-Za-z_]\w*", code))
    found: dict[str, set[str]] = {
        "stdlib": set(),
        "pydantic": set(),
        "pydantic_json_schema": set(),
        "base": set(),
    }
    for name in used & _SCHEMA_IMPORTS.keys():
        source, line = _SCHEMA_IMPORTS[name]
        found[source].add(line)
    enums = [f["enum"]["class_name"] for f in fields if f["kind"] == "enum"]
    return {**{key: sorted(lines) for key, lines in found.items()}, "enums": enums}


def _stdlib_for(kind: str) -> set[str]:
    return {
        "decimal": {"from decimal import Decimal"},
        "date": {"from datetime import date"},
        "datetime": {"from datetime import datetime"},
        "uuid": {"from uuid import UUID"},
        "json": {"from typing import Any"},
    }.get(kind, set())


def _reverse(
    model: ModelSpec, field: FieldSpec, target: dict[str, Any]
) -> dict[str, Any]:
    return {
        "name": related_name(model, field),
        "source": model.name,
        "source_module": _naming.snake(model.name),
        "source_admin_key": _naming.kebab(
            model.plural or _naming.plural_snake(model.name)
        ),
        "back_populates": field.name,
        "column": f"{field.name}_id",
        "self": model.name == target["name"],
    }


def _dependency_order(spec: ProjectSpec) -> list[str]:
    """Model names with every ref target before the models that point at it."""
    done: list[str] = []
    deps = {
        m.name: [f.to for f in m.fields if f.type == "ref" and f.to and f.to != m.name]
        for m in spec.models
    }

    def visit(name: str) -> None:
        if name in done:
            return
        for dep in deps[name]:
            visit(dep)
        done.append(name)

    for model in spec.models:
        visit(model.name)
    return done


def _worked_example(entities: list[dict[str, Any]]) -> dict[str, Any]:
    """Pick a model and field for the README's read -> slow call -> write example.

    A unique text field is the point of the example; an email is the seed's case.
    """
    candidates = [
        (entity, field)
        for entity in entities
        for field in entity["fields"]
        if field["unique"] and field["kind"] in ("str", "text")
    ]
    candidates.sort(key=lambda pair: pair[1]["name"] != "email")
    if candidates:
        entity, field = candidates[0]
        return {"entity": entity, "field": field}
    return {"entity": entities[0], "field": None}


def _hostile_examples(entities: list[dict[str, Any]]) -> dict[str, Any]:
    """Fields the generated hostile-input tests aim at: the first of each kind.

    Each entry is `{"entity": ..., "field": ...}`, or None when no model has one.
    """

    def first(wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
        for entity in entities:
            for field in entity["fields"]:
                if wanted(field):
                    return {"entity": entity, "field": field}
        return None

    def of_kind(*kinds: str) -> dict[str, Any] | None:
        return first(lambda field: field["kind"] in kinds)

    return {
        "text": of_kind("str", "text"),
        "float": of_kind("float"),
        "decimal": of_kind("decimal"),
        "json": of_kind("json"),
        "datetime": of_kind("datetime"),
        "ref": first(lambda field: field["ref"] is not None),
        "restrict": first(
            lambda field: (
                field["ref"] is not None
                and field["ref"]["on_delete"] == "RESTRICT"
                and not field["ref"]["self"]
            )
        ),
        "self_ref": first(lambda f: f["ref"] is not None and f["ref"]["self"]),
    }


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def _label_field(fields: list[dict[str, Any]]) -> str | None:
    """The field a row is named by in the admin: a unique text, else the first text."""
    texts = [f for f in fields if f["kind"] in ("str", "text")]
    unique = [f for f in texts if f["unique"]]
    chosen = unique or texts
    return str(chosen[0]["attr"]) if chosen else None


def _admin_tests(
    entities: list[dict[str, Any]], in_order: list[dict[str, Any]]
) -> dict[str, Any]:
    """The models the generated admin tests exercise, each for what it has.

    `main` has the most references (its edit page loads related rows); the others
    are the first model with a field of that kind, or None when no model has one.
    """

    def first(wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
        for entity in in_order:
            field = next((f for f in entity["fields"] if wanted(f)), None)
            if field is not None:
                return {"entity": entity, "field": field}
        return None

    main = max(
        in_order, key=lambda e: len([r for r in e["refs"] if not r["ref"]["self"]])
    )
    return {
        "main": main,
        "unique": first(lambda f: f["unique"] and f["kind"] in ("str", "text")),
        "text": first(lambda f: f["kind"] == "str"),
        "enum": first(lambda f: f["kind"] == "enum"),
        "number": first(lambda f: f["kind"] in ("int", "bigint")),
        "ref": first(lambda f: f["ref"] is not None and not f["ref"]["self"]),
        "restrict": first(
            lambda f: (
                f["ref"] is not None
                and not f["ref"]["self"]
                and f["ref"]["on_delete"] == "RESTRICT"
            )
        ),
        "all": entities,
    }


def _join(parts: list[str]) -> str:
    return ", ".join(part for part in parts if part)
