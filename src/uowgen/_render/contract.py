"""The template's contract: the typed objects the templates read.

`uowgen._render.context.build_context` makes them from a spec; copier renders with
StrictUndefined, so a name the templates use and these do not have fails the render
with that name. mypy checks every reader on the Python side.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Ref:
    """Where a ref field points, and the names its relationship uses."""

    target: str
    module: str
    table: str
    relationship: str
    column: str
    on_delete: str
    back_populates: str
    self_reference: bool
    summary: str
    admin_key: str
    fk_name: str


@dataclass(frozen=True)
class Enum:
    """An enum field's class."""

    class_name: str
    members: list[tuple[str, str]]  # (member name, value literal)
    length: int
    type_name: str


@dataclass(frozen=True)
class Field:
    """One field as the templates print it: names, annotations, code, samples."""

    name: str
    attr: str  # the column and attribute (`owner_id` for a ref `owner`)
    kind: str
    optional: bool
    unique: bool
    index: bool
    label: str
    py_type: str
    schema_type: str
    read_type: str
    sample: str
    column_args: str
    annotation: str
    schema_annotation: str
    read_annotation: str
    update_annotation: str
    default_literal: str | None
    schema_default: str | None
    uq_name: str | None
    ix_name: str | None
    ref: Ref | None = None
    enum: Enum | None = None
    max_length: int | None = None
    sa_type: str | None = None


@dataclass(frozen=True)
class Filter:
    """One filter of a list's query string: `?level=beginner`, `?price__gte=3`."""

    param: str  # the query parameter: the attribute, then `__<operator>` if any
    attr: str
    operator: str  # "" (equals), gt, gte, lt, lte, isnull, icontains
    annotation: str  # what the text is read as (`| None` added by the template)
    description: str  # a Python literal, for the OpenAPI document
    linked: bool = False  # a many field's: rows linked to that id (`?tag_id=3`)


@dataclass(frozen=True)
class SortKey:
    """A column a list may sort by (`?sort=-name`), and what its cursor value is."""

    name: str
    annotation: str  # the value's type, as the cursor reads it back
    optional: bool


@dataclass(frozen=True)
class Reverse:
    """A collection a ref adds to its target (`user.vocabulary_sets`)."""

    name: str
    source: str
    source_module: str
    source_admin_key: str
    back_populates: str
    column: str
    self_reference: bool


@dataclass(frozen=True)
class Link:
    """A many field (`tags`): its table of links, relationship and API names."""

    name: str  # the field, and the relationship on the model
    label: str  # for docs and messages: "tags"
    route: str  # the links under a row: `/{id}/tags/{tag_id}`
    table: str  # the table of links, and its variable in the model's module
    owner: str  # the table's column of this model's id
    other: str  # its column of the linked id: the URL's and the list filter's name
    ids: str  # the create and update schemas' list of linked ids: `tag_ids`
    stem: str  # names one link in functions: `link_article_tag`
    target: str
    target_module: str
    target_plural: str  # the target's table, and its repository on a transaction
    target_route: str
    target_admin_key: str
    summary: str  # the schema a read embeds each linked row as
    back_populates: str  # the collection on the target
    self_reference: bool


@dataclass(frozen=True)
class LinkedBy:
    """The collection a many field adds to its target (`tag.articles`)."""

    name: str
    source: str
    source_module: str
    table: str
    owner: str
    other: str
    back_populates: str
    self_reference: bool


@dataclass(frozen=True)
class ModelImports:
    """What a model module imports, by source."""

    sqlalchemy: list[str]
    types: list[str]
    stdlib: list[str]


@dataclass(frozen=True)
class SchemaImports:
    """What a schema module imports: exactly the names its annotations use."""

    stdlib: list[str]
    pydantic: list[str]
    pydantic_json_schema: list[str]
    base: list[str]
    enums: list[str]


@dataclass(frozen=True)
class Access:
    """Who may call some of a model's routes (reads or writes), with `auth` on."""

    value: str  # as the spec says it: "public", "authenticated", "role:editor"
    kind: str  # "public", "authenticated" or "role"
    role: str | None  # the role a token needs, for "role"
    code: str  # the routes' rule: `AccessRule.role("editor")`
    label: str  # for the README: "anyone", "a valid token", "the role `editor`"


@dataclass
class Entity:
    """One model and every name its modules, routes, tests and admin use."""

    name: str
    module: str
    pk_name: str
    plural: str
    table: str
    route: str
    tag: str
    label: str
    label_plural: str
    admin_view: str
    admin_key: str
    admin_name: str
    admin_name_plural: str
    admin_label_field: str | None
    id_param: str
    create_schema: str
    update_schema: str
    public_schema: str
    list_schema: str
    summary_schema: str
    query_schema: str
    repository: str
    fields: list[Field]
    scalars: list[Field]
    refs: list[Field]
    enums: list[Enum]
    unique_fields: list[Field]
    unique_probe: Field | None
    not_null: list[str]
    # A field whose fresh sample always differs, so an update really changes it.
    update_field: Field | None
    model_imports: ModelImports
    schema_imports: SchemaImports
    ref_modules: list[tuple[str, str]]
    factory_refs: list[str]
    # A unique enum (or a one-valued one) caps how many rows a test can make; so
    # does a required ref to such a row (set once every entity is known).
    row_capacity_limited: bool
    reverse: list[Reverse] = field(default_factory=list)
    # Models this one names in annotations only: imported under TYPE_CHECKING.
    type_checking_imports: list[tuple[str, str]] = field(default_factory=list)
    # A list's query string: its filters, and the columns it may sort by (`?sort=`).
    filters: list[Filter] = field(default_factory=list)
    sort_keys: list[SortKey] = field(default_factory=list)
    sort_pattern: str = ""  # a Python literal: the regular expression of `sort`
    # With `auth`: who may read (list, get) and write (create, update, delete).
    read_access: Access | None = None
    write_access: Access | None = None
    # The model of `auth.user_model`: its `subject` column (not in `fields`: no API
    # body sets it).
    subject: Field | None = None
    # The many fields, and the collections other models' many fields add here.
    links: list[Link] = field(default_factory=list)
    # The models its many fields link to, besides itself (its repository imports).
    link_targets: list[str] = field(default_factory=list)
    # Where its summary schema is: its own module, or `summaries` when a many field
    # links to it (two schema modules may then need each other's summaries).
    summary_module: str = ""
    # A create schema `data` as the model's keyword arguments (without link ids).
    create_dump: str = "data.model_dump()"
    # The summaries its schemas embed, by module: [(module, [class, ...])].
    summary_imports: list[tuple[str, list[str]]] = field(default_factory=list)
    linked_by: list[LinkedBy] = field(default_factory=list)


@dataclass(frozen=True)
class Summaries:
    """`schemas/summaries.py`: the summaries of the models many fields link to."""

    entities: list[Entity]
    imports: SchemaImports


@dataclass(frozen=True)
class Pick:
    """A model, and the field of it a generated test or example aims at."""

    entity: Entity
    field: Field | None


@dataclass(frozen=True)
class LinkPick:
    """A model, and the many field of it a generated test picks rows in."""

    entity: Entity
    link: Link


@dataclass(frozen=True)
class AdminTests:
    """The models the generated admin tests exercise, each for what it has.

    `main` has the most references (its edit page loads related rows); the others
    are the first model with a field of that kind, or None when no model has one.
    """

    main: Entity
    unique: Pick | None
    text: Pick | None
    enum: Pick | None
    number: Pick | None
    ref: Pick | None
    restrict: Pick | None
    all: list[Entity]
    # A many field (one to another model if any), for the multi-select's tests.
    link: LinkPick | None = None


@dataclass(frozen=True)
class AuthTests:
    """The models the generated auth tests call, each for the rule it has.

    Each is the first model (in the spec's order) whose reads or writes have that
    rule, or None when no model has it. `guarded` is the route the bad-token tests
    call: a list of a model whose reads need a token, else a create whose writes do.
    """

    guarded: Entity | None
    guarded_verb: str  # "read" or "write": what `guarded` calls
    read_role: Entity | None
    write_role: Entity | None
    public_read: Entity | None
    public_write: Entity | None
    # Every role a route needs: the tests' client carries a token with them all.
    roles: list[str]


@dataclass(frozen=True)
class Claim:
    """A field of the user model that a row made from a token takes from a claim."""

    field: Field
    claim: str  # the standard claim: `email`, `given_name`, ...


@dataclass(frozen=True)
class AuthUser:
    """The model of `auth.user_model`, and how a token's subject becomes its row.

    `claims` are the fields a row made from a token is filled from; `from_token`
    says whether every required field is among them (or has a default): if so, the
    first request with a token makes the row, else only registration does, and
    `CurrentUser` refuses a token with no row.
    """

    entity: Entity
    claims: list[Claim]
    from_token: bool
    registration: bool
    email: Field | None  # the login a registration sends to the provider
    # A registration's body: the create schema's fields, and a password.
    registration_fields: list[Field]


class Deferred:
    """Text computed the first time it is printed (`str()`, as Jinja prints)."""

    def __init__(self, make: Callable[[], str]) -> None:
        self._make = make
        self._text: str | None = None

    def __str__(self) -> str:
        if self._text is None:
            self._text = self._make()
        return self._text

    def __eq__(self, other: object) -> bool:
        # Equal as the texts they stand for (computed, when compared).
        return isinstance(other, Deferred) and str(self) == str(other)

    __hash__ = None  # type: ignore[assignment]  # mutable cache, compared by value


@dataclass(frozen=True)
class Context:
    """Everything the template needs beyond the copier answers."""

    package: str
    distribution: str
    title_literal: str
    title_toml: str
    title_markdown: str
    entities: list[Entity]
    entities_in_dependency_order: list[Entity]
    admin: bool
    admin_session: Entity | None
    admin_tests: AdminTests
    # Bearer tokens (`auth`): the roles claim's default as a literal, and the tests'
    # picks. Templates test copier's own `auth` answer (`oidc`, the block, or empty):
    # a key of the context would replace it, and the validator reads it.
    auth_roles_claim: str
    auth_tests: AuthTests | None
    auth_user: AuthUser | None
    uses: dict[str, bool]  # each field type: whether a model has one; sample_values
    example: Pick
    hostile: dict[str, Pick | None]
    spec_yaml: str
    # `schemas/summaries.py` (None without many fields).
    summaries: Summaries | None
    # Written only when a template prints it: the renders of sync and update leave
    # the migrations out (an applied 0001 is history), and it is most of a context.
    initial_migration: Deferred

    def template_data(self) -> dict[str, Any]:
        """The context as copier's render context takes it: one key per attribute."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
