"""Turn a validated spec into the data the template renders: the template's contract.

Templates print what this module computes and never derive names or code fragments
themselves. Every table's shape comes from the schema (`uowgen._schema.tables`) and
every type's code from the type table (`uowgen._schema.types`); this module arranges
them for the templates, as typed objects that mypy checks here and that copier's
StrictUndefined checks in the templates. Spec values reach generated code only as
`repr()` literals.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from collections.abc import Callable, Sequence

from uowgen._migrate.writer import initial_migration
from uowgen._render import queries
from uowgen._render.contract import (
    Access,
    AdminTests,
    AuthTests,
    AuthUser,
    Claim,
    Context,
    Deferred,
    Entity,
    Enum,
    Field,
    Filter,
    Link,
    LinkedBy,
    LinkPick,
    ModelImports,
    Pick,
    Ref,
    Reverse,
    SchemaImports,
    SortKey,
    Summaries,
)
from uowgen._render.literals import markdown, py_str
from uowgen._render.spec_text import spec_yaml
from uowgen._schema import naming, tables
from uowgen._schema.tables import Column, Schema, Table
from uowgen._schema.types import TYPES
from uowgen._spec.models import (
    ADMIN_SESSION_MODEL,
    CLAIM_FIELDS,
    PUBLIC,
    ROLE_PREFIX,
    SUBJECT_FIELD,
    AuthSpec,
    FieldSpec,
    ModelSpec,
    ProjectSpec,
    related_name,
)


def build_context(spec: ProjectSpec, written: object = None) -> Context:
    """Everything the template needs beyond the copier answers.

    `written` is the `models` answer as given: `uowgen.yml` keeps its key order.
    """
    schema = Schema(spec)
    entities = [
        _entity(schema.tables[model.name], schema.links_of(model.name))
        for model in spec.models
    ]
    by_name = {entity.name: entity for entity in entities}
    for model in spec.models:
        for spec_field in model.fields:
            if spec_field.type == "ref" and spec_field.to is not None:
                target = by_name[spec_field.to]
                target.reverse.append(_reverse(model, spec_field, target))
    for link in schema.links.values():
        by_name[link.target].linked_by.append(_linked_by(link))
    linked = [entity for entity in entities if entity.linked_by]
    for entity in entities:
        entity.summary_module = "summaries" if entity.linked_by else entity.module
    for entity in entities:
        embedded = {target for _, target in entity.ref_modules}
        entity.summary_imports = _summary_imports(entity, embedded, by_name)
    for entity in entities:
        related = {(f.ref.module, f.ref.target) for f in entity.refs if f.ref}
        related |= {(r.source_module, r.source) for r in entity.reverse}
        related |= {(link.target_module, link.target) for link in entity.links}
        related |= {(by.source_module, by.source) for by in entity.linked_by}
        related.discard((entity.module, entity.name))
        entity.type_checking_imports = sorted(related)
    in_order = [by_name[name] for name in schema.order if name in by_name]
    for entity in in_order:
        # A row that needs a capacity-limited row is limited too.
        entity.row_capacity_limited = entity.row_capacity_limited or any(
            by_name[f.ref.target].row_capacity_limited
            for f in entity.refs
            if f.ref and not f.optional and not f.ref.self_reference
        )
    if spec.auth is not None:
        for model in spec.models:
            rules = model.access_rules()
            by_name[model.name].read_access = _access(rules.read)
            by_name[model.name].write_access = _access(rules.write)
    kinds = {f.kind for entity in entities for f in entity.fields}
    # The admin's logins table, built as a model's is (its migration, its model).
    admin_session = (
        _entity(schema.tables[ADMIN_SESSION_MODEL.name]) if spec.admin else None
    )
    return Context(
        package=spec.package,
        distribution=naming.distribution_name(spec.package),
        title_literal=py_str(spec.project_name),
        title_toml=json.dumps(spec.project_name, ensure_ascii=False),
        title_markdown=markdown(spec.project_name),
        entities=entities,
        entities_in_dependency_order=in_order,
        admin=spec.admin,
        admin_session=admin_session,
        admin_tests=_admin_tests(entities, in_order),
        auth_roles_claim=py_str(
            spec.auth.roles_claim if spec.auth else "realm_access.roles"
        ),
        auth_tests=_auth_tests(entities) if spec.auth is not None else None,
        auth_user=_auth_user(spec.auth, by_name),
        uses={
            **{kind: kind in kinds for kind in TYPES},
            "sample_values": any(
                "values." in f.sample for e in entities for f in e.fields
            ),
            "links": any(e.links for e in entities),
        },
        example=_worked_example(entities),
        hostile=_hostile_examples(entities),
        spec_yaml=spec_yaml(spec, written),
        summaries=(Summaries(linked, _summaries_imports(linked)) if linked else None),
        initial_migration=Deferred(functools.partial(initial_migration, spec)),
    )


def _entity(table: Table, links: Sequence[tables.Link] = ()) -> Entity:
    model = table.model
    module = naming.snake(model.name)
    plural = table.name
    fields = [_field(model, c) for c in queries.spec_columns(table)]
    # `auth.user_model`'s column: in the model, in no schema, list or filter.
    subject = next(
        (_field(model, c) for c in table.columns.values() if c.field is SUBJECT_FIELD),
        None,
    )
    refs = [f for f in fields if f.kind == "ref"]
    entity_links = [_link(link) for link in links]
    filters = queries.filters(table, fields, entity_links)
    sort_keys = queries.sort_keys(table, fields)
    enums = [f.enum for f in fields if f.enum is not None]
    classes = naming.model_classes(model.name)
    return Entity(
        name=model.name,
        module=module,
        pk_name=table.pk_name,
        plural=plural,
        table=table.name,
        route="/" + naming.kebab(plural),
        tag=naming.kebab(plural),
        label=module.replace("_", " "),
        label_plural=plural.replace("_", " "),
        # The admin: its view class, its key in URLs (/admin/<key>/list), the
        # names it shows, and the field a row is shown by in selects and titles.
        admin_view=classes["admin_view"],
        admin_key=naming.kebab(plural),
        admin_name=_capitalized(module.replace("_", " ")),
        admin_name_plural=_capitalized(plural.replace("_", " ")),
        admin_label_field=_label_field(fields),
        id_param=f"{module}_id",
        create_schema=classes["create_schema"],
        update_schema=classes["update_schema"],
        public_schema=classes["public_schema"],
        list_schema=classes["list_schema"],
        summary_schema=classes["summary_schema"],
        query_schema=classes["query_schema"],
        repository=classes["repository"],
        fields=fields,
        scalars=[f for f in fields if f.kind != "ref"],
        refs=refs,
        enums=enums,
        unique_fields=[f for f in fields if f.unique and f.kind != "ref"],
        unique_probe=next((f for f in fields if f.unique), None),
        # An update may leave these out, never set them to null.
        not_null=[f.attr for f in fields if not f.optional]
        + [link.ids for link in entity_links],
        update_field=next(
            (
                f
                for f in fields
                if f.kind != "ref" and TYPES[f.kind].varies_on_update and not f.unique
            ),
            None,
        ),
        model_imports=_model_imports(
            [*fields, subject] if subject else fields, links=bool(links)
        ),
        schema_imports=_schema_imports(
            fields, filters, sort_keys, links=bool(entity_links)
        ),
        # The modules whose summaries a read embeds: refs' and many fields' targets.
        ref_modules=sorted(
            {(f.ref.module, f.ref.target) for f in refs if f.ref}
            | {(link.target_module, link.target) for link in entity_links}
        ),
        factory_refs=sorted({f.ref.module for f in refs if f.ref and not f.optional}),
        row_capacity_limited=any(f.kind == "enum" and f.unique for f in fields),
        filters=filters,
        sort_keys=sort_keys,
        sort_pattern=py_str(queries.sort_pattern(sort_keys)),
        subject=subject,
        links=entity_links,
        create_dump=_create_dump(entity_links),
        link_targets=sorted({link.target for link in entity_links} - {model.name}),
    )


def _create_dump(links: list[Link]) -> str:
    """A create schema `data` as its model's keyword arguments: no link ids."""
    if not links:
        return "data.model_dump()"
    ids = ", ".join(f'"{link.ids}"' for link in links)
    return f"data.model_dump(exclude={{{ids}}})"


def _summary_imports(
    entity: Entity, embedded: set[str], by_name: dict[str, Entity]
) -> list[tuple[str, list[str]]]:
    """The summaries an entity's schemas embed, grouped by the module they are in."""
    found: dict[str, list[str]] = {}
    for target in sorted(embedded):
        module = by_name[target].summary_module
        if module != entity.module:  # its own summary is defined right there
            found.setdefault(module, []).append(by_name[target].summary_schema)
    return sorted((module, sorted(names)) for module, names in found.items())


def _summaries_imports(linked: list[Entity]) -> SchemaImports:
    """What `schemas/summaries.py` imports: the names its read annotations use."""
    scalars = [f for entity in linked for f in entity.scalars]
    imports = _schema_imports([], [], [], read=scalars, query=False)
    return dataclasses.replace(
        imports, enums=[f.enum.class_name for f in scalars if f.enum is not None]
    )


def _link(link: tables.Link) -> Link:
    target_module = naming.snake(link.target)
    return Link(
        name=link.field.name,
        label=link.field.name.replace("_", " "),
        route="/" + naming.kebab(link.field.name),
        table=link.name,
        owner=link.owner,
        other=link.other,
        ids=link.ids,
        stem=link.other.removesuffix("_id"),
        target=link.target,
        target_module=target_module,
        target_plural=link.target_table,
        target_route="/" + naming.kebab(link.target_table),
        target_admin_key=naming.kebab(link.target_table),
        summary=f"{link.target}Summary",
        back_populates=link.back_populates,
        self_reference=link.target == link.model.name,
    )


def _linked_by(link: tables.Link) -> LinkedBy:
    return LinkedBy(
        name=link.back_populates,
        source=link.model.name,
        source_module=naming.snake(link.model.name),
        table=link.name,
        owner=link.owner,
        other=link.other,
        back_populates=link.field.name,
        self_reference=link.target == link.model.name,
    )


def _field(model: ModelSpec, column: Column) -> Field:
    spec_field = column.field
    kind = column.kind
    ref = enum = None
    if column.foreign_key is not None:
        key = column.foreign_key
        py_type = read_type = "int"
        schema_type, sample = "Id", "None"
        column_args = _join(
            [
                f"ForeignKey({py_str(key.table + '.id')}, ondelete={key.on_delete!r})",
                "unique=True" if spec_field.unique else "",
                "index=True" if not spec_field.unique else "",
            ]
        )
        sa_type = None
        ref = Ref(
            target=key.target,
            module=naming.snake(key.target),
            table=key.table,
            relationship=spec_field.name,
            column=column.name,
            on_delete=key.on_delete,
            back_populates=related_name(model, spec_field),
            self_reference=key.self_reference,
            summary=f"{key.target}Summary",
            admin_key=naming.kebab(key.table),
            fk_name=key.name,
        )
        default = None
    else:
        assert kind is not None
        fill = column.params.fill
        py_type, sa_type = fill(kind.python), fill(kind.sa_type)
        schema_type, read_type = fill(kind.input), fill(kind.read_annotation())
        sample = fill(kind.sample)
        default = (
            None
            if spec_field.default is None
            else kind.literal(spec_field.default, column.params)
        )
        column_args = _join(
            [
                sa_type,
                "unique=True" if spec_field.unique else "",
                "index=True" if column.index_name is not None else "",
                _column_default(spec_field.type, default),
            ]
        )
        if spec_field.type == "enum":
            enum = Enum(
                class_name=column.params.enum_class,
                members=[
                    (naming.enum_member(v), py_str(v)) for v in column.params.values
                ],
                length=column.params.enum_length,
                type_name=column.params.enum_type,
            )

    def optional(annotation: str) -> str:
        return f"{annotation} | None" if spec_field.optional else annotation

    return Field(
        name=spec_field.name,
        attr=column.name,
        kind=spec_field.type,
        optional=spec_field.optional,
        unique=spec_field.unique,
        index=spec_field.index,
        label=spec_field.name.replace("_", " "),
        py_type=py_type,
        schema_type=schema_type,
        read_type=read_type,
        sample=sample,
        column_args=column_args,
        annotation=optional(py_type),
        schema_annotation=optional(schema_type),
        read_annotation=optional(read_type),
        # A PATCH may leave any field out; only nullable columns may be set to
        # null, and the OpenAPI document says so (SkipJsonSchema keeps `null` out).
        update_annotation=(
            f"{schema_type} | None"
            if spec_field.optional
            else f"{schema_type} | SkipJsonSchema[None]"
        ),
        default_literal=default,
        schema_default="None" if default is None and spec_field.optional else default,
        uq_name=column.unique_name,
        ix_name=column.index_name,
        ref=ref,
        enum=enum,
        max_length=column.params.length if spec_field.type == "str" else None,
        sa_type=sa_type,
    )


def _column_default(kind: str, default: str | None) -> str:
    if default is None:
        return ""
    # A json default is mutable: each row gets its own copy.
    if kind != "json":
        return f"default={default}"
    return "default=dict" if default == "{}" else f"default=lambda: {default}"


def _model_imports(fields: list[Field], *, links: bool = False) -> ModelImports:
    """What a model module imports, by source, so templates print exact imports."""
    sqlalchemy: set[str] = set()
    project: set[str] = set()
    stdlib: set[str] = set()
    if links:  # its tables of links
        sqlalchemy.update(("Column", "ForeignKey", "Table"))
        project.add("ID_TYPE")
    for f in fields:
        if f.kind == "ref":
            sqlalchemy.add("ForeignKey")
            continue
        kind = TYPES[f.kind]
        sqlalchemy.update(kind.sa_names)
        project.update(kind.project_types)
        stdlib.update(kind.stdlib)
    return ModelImports(sorted(sqlalchemy), sorted(project), sorted(stdlib))


# Where each name a schema annotation may use comes from: the type table's imports
# and the project's `schemas/base.py` types, and the few names every schema shares.
_SCHEMA_IMPORTS = {
    "Annotated": ("stdlib", "from typing import Annotated"),
    "Field": ("pydantic", "Field"),
    "StrictBool": ("pydantic", "StrictBool"),
    "SkipJsonSchema": ("pydantic_json_schema", "SkipJsonSchema"),
    "Id": ("base", "Id"),  # a ref's id
    "QueryId": ("base", "QueryId"),  # a ref's id in a list's filter
    **{
        line.rsplit(" ", 1)[1]: ("stdlib", line)
        for kind in TYPES.values()
        for line in kind.stdlib
    },
    **{name: ("base", name) for kind in TYPES.values() for name in kind.schema_types},
}


def _schema_imports(
    fields: list[Field],
    filters: list[Filter],
    sort_keys: list[SortKey],
    *,
    links: bool = False,
    read: Sequence[Field] = (),
    query: bool = True,
) -> SchemaImports:
    """What a schema module imports: exactly the names its annotations use."""
    code = " ".join(
        [
            *(f.read_annotation for f in read),
            # A many field's update: `LinkIds | SkipJsonSchema[None]`.
            "SkipJsonSchema" if links else "",
            *(
                text
                for f in fields
                for text in (
                    f.schema_annotation,
                    f.read_annotation,
                    f.update_annotation,
                    f.default_literal or "",
                )
            ),
            *(f.annotation for f in filters),
            *(key.annotation for key in sort_keys),
            "Field" if query else "",  # the list query's fields
        ]
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
    return SchemaImports(
        stdlib=sorted(found["stdlib"]),
        pydantic=sorted(found["pydantic"]),
        pydantic_json_schema=sorted(found["pydantic_json_schema"]),
        base=sorted(found["base"]),
        enums=[f.enum.class_name for f in fields if f.enum is not None],
    )


def _reverse(model: ModelSpec, spec_field: FieldSpec, target: Entity) -> Reverse:
    return Reverse(
        name=related_name(model, spec_field),
        source=model.name,
        source_module=naming.snake(model.name),
        source_admin_key=naming.kebab(naming.table(model.name, model.plural)),
        back_populates=spec_field.name,
        column=naming.column(spec_field.name, "ref"),
        self_reference=model.name == target.name,
    )


def _worked_example(entities: list[Entity]) -> Pick:
    """Pick a model and field for the README's read -> slow call -> write example.

    A unique text field is the point of the example; an email is the seed's case.
    The first model (in spec order) with a unique `email` field, else the first
    model, with its first unique text field if it has one. So a model appended to
    the spec (`uowgen add-model`) never moves the example, unless it brings the
    spec's first unique email.
    """
    for entity in entities:
        email = next(
            (f for f in entity.fields if _unique_text(f) and f.name == "email"), None
        )
        if email is not None:
            return Pick(entity, email)
    first = entities[0]
    return Pick(first, next((f for f in first.fields if _unique_text(f)), None))


def _unique_text(f: Field) -> bool:
    return f.unique and _is_text(f)


def _first(entities: list[Entity], wanted: Callable[[Field], bool]) -> Pick | None:
    for entity in entities:
        for f in entity.fields:
            if wanted(f):
                return Pick(entity, f)
    return None


def _is_text(f: Field) -> bool:
    return f.kind != "ref" and TYPES[f.kind].text


def _restricting(f: Field) -> bool:
    return (
        f.ref is not None and f.ref.on_delete == "RESTRICT" and not f.ref.self_reference
    )


def _hostile_examples(entities: list[Entity]) -> dict[str, Pick | None]:
    """Fields the generated hostile-input tests aim at: the first of each kind."""
    return {
        "text": _first(entities, _is_text),
        "float": _first(entities, lambda f: f.kind == "float"),
        "decimal": _first(entities, lambda f: f.kind == "decimal"),
        "json": _first(entities, lambda f: f.kind == "json"),
        "datetime": _first(entities, lambda f: f.kind == "datetime"),
        "ref": _first(entities, lambda f: f.ref is not None),
        "restrict": _first(entities, _restricting),
        "self_ref": _first(
            entities, lambda f: f.ref is not None and f.ref.self_reference
        ),
    }


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def _label_field(fields: list[Field]) -> str | None:
    """The field a row is named by in the admin: a unique text, else the first text."""
    texts = [f for f in fields if _is_text(f)]
    unique = [f for f in texts if f.unique]
    chosen = unique or texts
    return chosen[0].attr if chosen else None


def _admin_tests(entities: list[Entity], in_order: list[Entity]) -> AdminTests:
    """The models the generated admin tests exercise, each for what it has."""

    def first(wanted: Callable[[Field], bool]) -> Pick | None:
        for entity in in_order:
            chosen = next((f for f in entity.fields if wanted(f)), None)
            if chosen is not None:
                return Pick(entity, chosen)
        return None

    linked = [LinkPick(e, link) for e in in_order for link in e.links]
    main = max(
        in_order,
        key=lambda e: len([r for r in e.refs if r.ref and not r.ref.self_reference]),
    )
    return AdminTests(
        main=main,
        unique=first(lambda f: f.unique and _is_text(f)),
        text=first(lambda f: f.kind == "str"),
        enum=first(lambda f: f.kind == "enum"),
        number=first(lambda f: f.kind in ("int", "bigint")),
        ref=first(lambda f: f.ref is not None and not f.ref.self_reference),
        restrict=first(_restricting),
        all=entities,
        link=next(
            (pick for pick in linked if not pick.link.self_reference),
            linked[0] if linked else None,
        ),
    )


def _join(parts: list[str]) -> str:
    return ", ".join(part for part in parts if part)


def _access(value: str) -> Access:
    """A validated access value (`public`, `authenticated`, `role:editor`)."""
    if value.startswith(ROLE_PREFIX):
        role = value[len(ROLE_PREFIX) :]
        return Access(
            value=value,
            kind="role",
            role=role,
            code=f"AccessRule.role({py_str(role)})",
            label=f"a token with the role `{role}`",
        )
    if value == PUBLIC:
        return Access(
            value=value,
            kind=PUBLIC,
            role=None,
            code="AccessRule.public()",
            label="anyone",
        )
    return Access(
        value=value,
        kind="authenticated",
        role=None,
        code="AccessRule.authenticated()",
        label="a valid token",
    )


def _auth_tests(entities: list[Entity]) -> AuthTests:
    """The models the generated auth tests call, each for the rule it has."""

    def first(verb: str, wanted: Callable[[Access], bool]) -> Entity | None:
        for entity in entities:
            access = getattr(entity, f"{verb}_access")
            if access is not None and wanted(access):
                return entity
        return None

    guarded_read = first("read", lambda a: a.kind != PUBLIC)
    guarded = guarded_read or first("write", lambda a: a.kind != PUBLIC)
    roles = {
        access.role
        for entity in entities
        for access in (entity.read_access, entity.write_access)
        if access is not None and access.role is not None
    }
    return AuthTests(
        guarded=guarded,
        guarded_verb="read" if guarded_read else "write",
        read_role=first("read", lambda a: a.kind == "role"),
        write_role=first("write", lambda a: a.kind == "role"),
        public_read=first("read", lambda a: a.kind == PUBLIC),
        public_write=first("write", lambda a: a.kind == PUBLIC),
        roles=sorted(roles),
    )


def _auth_user(auth: AuthSpec | None, by_name: dict[str, Entity]) -> AuthUser | None:
    """The user model of `auth.user_model`, and what a token fills in a new row."""
    if auth is None or auth.user_model is None:
        return None
    entity = by_name[auth.user_model]
    claims = [
        Claim(field=f, claim=CLAIM_FIELDS[f.name])
        for f in entity.fields
        if f.name in CLAIM_FIELDS and f.kind in {"str", "text"}
    ]
    filled = {c.field.name for c in claims}
    return AuthUser(
        entity=entity,
        claims=claims,
        from_token=all(
            f.name in filled or f.optional or f.default_literal is not None
            for f in entity.fields
        ),
        registration=auth.registration,
        email=next((f for f in entity.fields if f.name == "email"), None),
        registration_fields=entity.fields,
    )
