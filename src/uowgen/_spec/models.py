"""The spec's models: a project, its models and their fields, as `uowgen.yml` says.

Strict pydantic models (unknown keys are errors) and the names the spec reserves;
`uowgen._spec.validate` reads a spec into them and checks everything else.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from uowgen._schema import naming as _naming

OnDelete = Literal["cascade", "restrict", "set_null"]


# Column names every model gets, and attributes SQLAlchemy or pydantic reserve.
RESERVED_FIELD_NAMES = frozenset(
    {
        "id",
        "version",
        "created_at",
        "updated_at",
        "metadata",
        "registry",
        "query",
        "session",
        # pydantic.BaseModel attributes a field would shadow.
        "copy",
        "dict",
        "json",
        "schema",
        "schema_json",
        "construct",
        "validate",
        "fields",
        "from_orm",
        "parse_obj",
        "parse_raw",
        "parse_file",
        "update_forward_refs",
        # Names the generated class bodies use: a field must not shadow them there.
        "str",
        "int",
        "float",
        "bool",
        "list",
        "date",
        "datetime",
        "frozenset",
        "mapped_column",
        "relationship",
        "enum_values",
        "utcnow",
    }
)
# Classes and modules the template itself defines.
RESERVED_MODEL_NAMES = frozenset(
    {
        "Base",
        "Settings",
        "UnitOfWork",
        "Transaction",
        "Repository",
        "SqlAlchemyRepository",
        "Page",
        "Pagination",
        "NotFoundError",
        "ConflictError",
        "InvalidReferenceError",
        "DatabaseUnavailableError",
        "DomainError",
        "UTCDateTime",
        "ExactDecimal",
        "None",
        "True",
        "False",
        "Any",
        "Decimal",
        "UUID",
        "Enum",
        "StrEnum",
        "Mapped",
    }
)
# The query parameters every list takes: a field's equality filter would take them.
LIST_QUERY_NAMES = frozenset({"limit", "offset", "after", "total", "sort", "cursor"})
RESERVED_MODULES = frozenset(
    {
        "base",
        "types",
        "deps",
        "router",
        "pagination",
        "registry",
        "api_router",
        # The schemas many fields use: `LinkIds`, and the linked rows' summaries.
        "links",
        "summaries",
    }
)
RESERVED_PACKAGES = frozenset(
    {
        "tests",
        "migrations",
        "alembic",
        "sqlalchemy",
        "fastapi",
        "pydantic",
        "pydantic_settings",
        "starlette",
        "uvicorn",
        "httpx",
        "anyio",
        "asyncpg",
        "aiosqlite",
        "pytest",
        "typing",
        "test",
        # What every project (fastapi_offline) or the admin imports.
        "fastapi_offline",
        "starlette_admin",
        "argon2",
        "itsdangerous",
        "jinja2",
        "multipart",
        "python_multipart",
        # What a project with `auth` imports: its tokens' checks.
        "jwt",
        "cryptography",
    }
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class FieldSpec(_Strict):
    """One column of a model, as written in the spec."""

    name: str
    type: str
    optional: bool = False
    unique: bool = False
    index: bool = False
    # Lists may sort by it (`?sort=-field`); it gets the index the sort needs.
    sortable: bool = False
    # Lists may search it, case-insensitively (`?field__icontains=`): text only.
    searchable: bool = False
    default: Any = None
    max_length: int | None = None
    precision: int | None = None
    scale: int | None = None
    values: list[str] | None = None
    to: str | None = None
    on_delete: OnDelete | None = None
    related_name: str | None = None


# Who may call a model's routes, with `auth` on: anyone, any valid token, or a token
# with a role (`role:editor`). Checked by `uowgen._spec.validate`.
PUBLIC = "public"
AUTHENTICATED = "authenticated"
ROLE_PREFIX = "role:"


class AccessSpec(_Strict):
    """Who may read (list, get) and write (create, update, delete) a model's rows."""

    read: str = AUTHENTICATED
    write: str = AUTHENTICATED


class AuthSpec(_Strict):
    """Bearer tokens of an OpenID Connect provider on every route (`auth: oidc`)."""

    provider: Literal["oidc"]
    # Where a token's roles are: a dotted path to a list (Keycloak's realm roles).
    roles_claim: str = "realm_access.roles"
    # The model whose rows are the token's users: it gets a unique `subject` column
    # (the token's `sub`), and routes can ask for the caller's row (`CurrentUser`).
    user_model: str | None = None
    # `POST /registrations`: a user made at the provider (its admin API), then here.
    registration: bool = False


class ModelSpec(_Strict):
    """One model: a table, a repository, a service and a router."""

    name: str
    plural: str | None = None
    # Only with `auth`: who may read and write (left out, both need a valid token).
    access: AccessSpec | None = None
    fields: list[FieldSpec] = Field(min_length=1)

    def access_rules(self) -> AccessSpec:
        """Who may read and write this model's rows (with `auth` on)."""
        return self.access or AccessSpec()


class ProjectSpec(_Strict):
    """The whole spec: the project, its admin and auth, and its models."""

    project_name: str
    package_name: str | None = None
    # A dashboard at /admin with a login (starlette-admin); off unless asked for.
    admin: bool = False
    # Bearer tokens on the API (`auth: oidc`, or the block); off unless asked for.
    auth: AuthSpec | None = None
    models: list[ModelSpec] = Field(min_length=1)

    @field_validator("auth", mode="before")
    @classmethod
    def _auth_shorthand(cls, value: Any) -> Any:
        """`auth: oidc` is `auth: {provider: oidc}`; `auth: false` is off."""
        if value is False or value is None:
            return None
        if isinstance(value, Mapping | AuthSpec):
            return value
        return {"provider": value}  # `oidc`; anything else is refused as a provider

    @property
    def package(self) -> str:
        """The Python package the project is generated into."""
        return self.package_name or _naming.package_name(self.project_name)

    def renders_like(self, other: ProjectSpec) -> bool:
        """Whether the two specs render the same project.

        A package left to be derived equals the same name given: copier records
        `package_name` in its answers even when `uowgen.yml` leaves it out.
        """
        return self.model_copy(update={"package_name": self.package}) == (
            other.model_copy(update={"package_name": other.package})
        )

    def to_data(self) -> dict[str, Any]:
        """The spec as plain data, without the keys left at their defaults.

        `auth` with nothing but its provider is written the short way: `auth: oidc`.
        """
        data = self.model_dump(mode="json", exclude_defaults=True)
        if "auth" in data:
            data["auth"] = auth_data(self.auth)
        return data

    def table_models(self) -> list[ModelSpec]:
        """The models that have a table: the spec's, then the admin's logins."""
        return [*self.models, ADMIN_SESSION_MODEL] if self.admin else self.models


def auth_data(auth: AuthSpec | None) -> Any:
    """`auth` as written in a spec: `oidc`, the block when it says more, or None."""
    if auth is None:
        return None
    data = auth.model_dump(mode="json", exclude_defaults=True)
    return auth.provider if data.keys() == {"provider"} else data


# The table where the admin keeps its logins (`admin: true`): the template's model,
# not the spec's, described as one so the migrations build it as they build the
# others. A login cookie carries a random token; the table keeps only its hash.
ADMIN_SESSION_MODEL = ModelSpec(
    name="AdminSession",
    fields=[
        FieldSpec(name="token_hash", type="str", unique=True, max_length=64),
        FieldSpec(name="username", type="str"),
        FieldSpec(name="expires_at", type="datetime", index=True),
    ],
)
# The column `auth.user_model` adds to its model: the token's subject (`sub`) the row
# belongs to. Set by registration or by the first request with the token, never by an
# API body; empty for rows made another way (by the API or the admin).
SUBJECT_FIELD = FieldSpec(name="subject", type="str", unique=True, optional=True)
# OpenID Connect's standard claims a row made from a token is filled from, by the
# field's name (a `str` or `text` field): `email` from the `email` claim, ...
CLAIM_FIELDS = {
    "email": "email",
    "name": "name",
    "full_name": "name",
    "given_name": "given_name",
    "first_name": "given_name",
    "family_name": "family_name",
    "last_name": "family_name",
    "preferred_username": "preferred_username",
    "username": "preferred_username",
    "nickname": "nickname",
}

# The classes the admin adds, and the names its views module imports beside the
# models (a model may not shadow them there), besides each model's `<Model>Admin`.
ADMIN_NAMES = (
    "AdminSession",
    "AdminAccount",
    "ModelAdmin",
    "FieldConverter",
    "RelatedRows",
    "VersionField",
    "HasOne",
    "RowSchema",
    "Sequence",
    "UnitOfWorkGetter",
)
# The classes `auth` adds (the project's `auth/` package), which the routes and the
# tests import beside the models' names.
AUTH_NAMES = (
    "AccessRule",
    "AuthSettingsError",
    "Principal",
    "ProviderKeys",
    "ProviderUnavailableError",
    "TokenRefusedError",
    "TokenVerifier",
    "StubProvider",
    # With `user_model` and `registration`.
    "CurrentUser",
    "NotLinkedError",
    "ProviderAdmin",
    "Registration",
    "UserExistsAtProviderError",
    "UserRefusedByProviderError",
)


@dataclasses.dataclass(frozen=True)
class Renames:
    """What the new spec renamed, as `renamed_from` hints in it would say.

    Attributes:
        models: new model name -> the model's name in the old spec.
        fields: (new model name, new field name) -> the field's name in the old spec.
    """

    models: Mapping[str, str] = dataclasses.field(default_factory=dict)
    fields: Mapping[tuple[str, str], str] = dataclasses.field(default_factory=dict)


def _default_related_name(model: ModelSpec, field: FieldSpec) -> str:
    """The collection a ref or a many field adds to its target: `users`, ...

    ... or `reviews_by_author` when two fields of the model point at one target.
    """
    plural = _naming.table(model.name, model.plural)
    same_target = [f for f in model.fields if f.type == field.type and f.to == field.to]
    if field.type == "many" and (
        model.name == field.to
        or any(f.type == "ref" and f.to == field.to for f in model.fields)
    ):
        # A ref to the same model keeps the plain name (`books`) it had before.
        return f"{plural}_by_{field.name}"
    if len(same_target) > 1:
        return f"{plural}_by_{field.name}"
    if model.name == field.to:
        return "children"
    return plural


def related_name(model: ModelSpec, field: FieldSpec) -> str:
    """The reverse collection name a ref or many field gets on its target."""
    return field.related_name or _default_related_name(model, field)


def column_names(model: ModelSpec) -> set[str]:
    """The names of a model's columns from its fields (a ref's is `<name>_id`)."""
    return {
        f"{f.name}_id" if f.type == "ref" else f.name
        for f in model.fields
        if f.type != "many"
    }


def link_columns(model: ModelSpec, field: FieldSpec) -> tuple[str, str]:
    """A many field's two columns in its table of links: the model's id, the other's.

    The second is also the name of the link in URLs (`/sets/{set_id}/tags/{tag_id}`)
    and of the list's filter (`?tag_id=`): `<target>_id`, or `<field>_<target>_id`
    when that would be ambiguous (a link to its own model, two many fields to one
    model) or is a column's name already.
    """
    assert field.to is not None
    owner = f"{_naming.snake(model.name)}_id"
    other = f"{_naming.snake(field.to)}_id"
    same_target = [f for f in model.fields if f.type == "many" and f.to == field.to]
    if field.to == model.name or len(same_target) > 1 or other in column_names(model):
        other = f"{field.name}_{other}"
    return owner, other
