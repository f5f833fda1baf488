"""Parse and validate a uowgen spec; knows nothing about rendering.

The spec is a small YAML document (`uowgen.yml`). `parse_spec` checks its shape with
pydantic, then checks what pydantic cannot see (names, clashes, references, defaults)
and reports every problem at once, each with the model and field it concerns. Types
and their options come from the type table, generated names from the names module.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from uowgen import _yaml
from uowgen._schema import naming as _naming
from uowgen._schema.types import (
    DEFAULT_PRECISION,
    DEFAULT_SCALE,
    FIELD_TYPES,
    MANY_OPTIONS,
    MAX_STR_LENGTH,
    REF_OPTIONS,
    TYPES,
)
from uowgen._spec.models import (
    ADMIN_NAMES,
    AUTH_NAMES,
    AUTHENTICATED,
    LIST_QUERY_NAMES,
    PUBLIC,
    RESERVED_FIELD_NAMES,
    RESERVED_MODEL_NAMES,
    RESERVED_MODULES,
    RESERVED_PACKAGES,
    ROLE_PREFIX,
    SUBJECT_FIELD,
    AccessSpec,
    AuthSpec,
    FieldSpec,
    ModelSpec,
    ProjectSpec,
    column_names,
    link_columns,
    related_name,
)
from uowgen.errors import SpecError

_PASCAL = re.compile(r"[A-Z][A-Za-z0-9]*")
_SNAKE = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")
_MAX_NAME = 48
# A role's name (`role:editor`), as identity providers name them: a letter, then
# letters, digits, `_`, `-` or `.` (Keycloak's `offline_access`, `app-editor`).
_ROLE = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")
# A dotted path to the roles in a token: `realm_access.roles`.
_CLAIM_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_:-]*(\.[A-Za-z_][A-Za-z0-9_:-]*)*")


def load_spec(path: Path) -> ProjectSpec:
    """Read and validate the spec at `path`.

    Raises:
        SpecError: the file is missing, not YAML, or not a valid spec.
    """
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(source, ["file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(source, [f"cannot read the file: {exc}"]) from exc
    return parse_spec_text(text, source=source)


def parse_spec_text(text: str, *, source: str = "<spec>") -> ProjectSpec:
    """Validate a spec given as YAML text."""
    try:
        data = _yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(source, [f"{where}YAML syntax error: {problem}"]) from exc
    except ValueError as exc:  # e.g. an integer literal too long to convert
        raise SpecError(source, [f"cannot read the YAML: {exc}"]) from exc
    return parse_spec(data, source=source)


def parse_spec(data: object, *, source: str = "<spec>") -> ProjectSpec:
    """Validate spec data (as loaded from YAML) and return the spec.

    Raises:
        SpecError: listing every problem found, each with its model and field.
    """
    if not isinstance(data, Mapping):
        name = type(data).__name__
        kind = (
            "empty" if data is None else f"{'an' if name[0] in 'aeiou' else 'a'} {name}"
        )
        raise SpecError(
            source, [f"the spec must be a mapping with `models`, got {kind}"]
        )
    try:
        spec = ProjectSpec.model_validate(dict(data))
    except ValidationError as exc:
        # Report what the rest of the spec gets wrong too, so a typo does not hide
        # the other problems until it is fixed.
        problems = _shape_problems(exc, data) + _Checker.salvaged(data).run()
        raise SpecError(source, problems) from exc
    problems = _Checker(spec).run()
    if problems:
        raise SpecError(source, problems)
    return spec


def spec_problems(data: object) -> list[str]:
    """The problems of spec data, or an empty list when it is valid."""
    try:
        parse_spec(data)
    except SpecError as exc:
        return exc.problems
    return []


def _where(data: object, loc: tuple[int | str, ...]) -> str:
    """Describe a pydantic location with model and field names: `model User, field x`."""
    parts: list[str] = []
    node: Any = data
    for position, key in enumerate(loc):
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            node = None
        indexed = position + 1 < len(loc) and isinstance(loc[position + 1], int)
        if key in ("models", "fields") and indexed:
            continue
        listed = position > 0 and loc[position - 1] in ("models", "fields")
        if isinstance(key, int) and listed:
            named = isinstance(node, Mapping) and isinstance(node.get("name"), str)
            label = "model" if not parts else "field"
            parts.append(
                f"{label} {node['name']!r}" if named else f"{label} #{key + 1}"
            )
        else:
            parts.append(f"`{key}`" if isinstance(key, str) else f"key {key!r}")
    return ", ".join(parts) or "top level"


def _shape_problems(exc: ValidationError, data: object) -> list[str]:
    problems = []
    for error in exc.errors():
        loc = error["loc"]
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown key (check the spelling)"
        elif error["type"] == "missing":
            message = "is required"
        elif error["type"] == "too_short" and loc and loc[-1] in ("models", "fields"):
            message = f"needs at least one {str(loc[-1])[:-1]}"
        problems.append(f"{_where(data, loc)}: {message}")
    return problems


class _NameOnly(FieldSpec):
    """A field too malformed to check (a key missing or of the wrong type) but its name."""


def _known_keys(item: object, model: type[BaseModel]) -> object:
    """`item` without the keys `model` does not define: what is left of a typo."""
    if not isinstance(item, Mapping):
        return item
    return {key: value for key, value in item.items() if key in model.model_fields}


def _without_unknown_keys(data: Mapping[Any, Any]) -> dict[Any, Any]:
    top = {key: value for key, value in data.items() if key in ProjectSpec.model_fields}
    if isinstance(top.get("models"), list):
        models = [_known_keys(item, ModelSpec) for item in top["models"]]
        for item in models:
            if isinstance(item, dict) and isinstance(item.get("fields"), list):
                item["fields"] = [_known_keys(f, FieldSpec) for f in item["fields"]]
        top["models"] = models
    return top


class _Checker:
    """The checks pydantic cannot express, collected rather than raised one by one."""

    def __init__(
        self,
        spec: ProjectSpec,
        *,
        complete: bool = True,
        check_project: bool = True,
        all_models_named: bool = True,
    ) -> None:
        self.spec = spec
        self.complete = complete
        self.check_project = check_project
        self.all_models_named = all_models_named
        self.problems: list[str] = []
        self.models = {model.name: model for model in spec.models}

    @classmethod
    def salvaged(cls, data: Mapping[Any, Any]) -> _Checker:
        """A checker for the well-formed parts of spec data pydantic refused.

        Unknown keys are left out. If that is all that was wrong, every check runs;
        otherwise each model and field is checked as far as its own keys allow (a
        field with a missing or mistyped key only by its name), and the checks that
        need the whole spec (generated names, cycles) wait until it is well formed.
        """
        known = _without_unknown_keys(data)
        try:
            return cls(ProjectSpec.model_validate(known))
        except ValidationError:
            pass
        project_name = known.get("project_name")
        package_name = known.get("package_name")
        check_project = isinstance(project_name, str) and isinstance(
            package_name, str | None
        )
        models: list[ModelSpec] = []
        listed = known.get("models")
        items = listed if isinstance(listed, list) else []
        for item in items:
            if isinstance(item, Mapping) and isinstance(item.get("name"), str):
                models.append(_salvaged_model(item))
        spec = ProjectSpec.model_construct(
            project_name=str(project_name) if check_project else "",
            package_name=package_name if check_project else None,
            auth=_salvaged_auth(known.get("auth")),
            models=models,
        )
        return cls(
            spec,
            complete=False,
            check_project=check_project,
            all_models_named=len(models) == len(items),
        )

    def run(self) -> list[str]:
        if self.check_project:
            self._check_project()
        if self.spec.auth is not None:
            self._check_auth(self.spec.auth)
        names = [model.name for model in self.spec.models]
        for position, model in enumerate(self.spec.models):
            self._check_model(model)
            self._check_access(model)
            if model.name in names[:position]:
                self.add(f"model {model.name!r}", "is defined more than once")
        if self.complete and not self.problems:
            self._check_generated_names()
            self._check_cycles()
        return self.problems

    def add(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def _check_project(self) -> None:
        name = self.spec.project_name
        if not name.strip():
            self.add("`project_name`", "must not be empty")
        elif not name.isprintable() or len(name) > 100:
            self.add(
                "`project_name`", "must be one printable line of at most 100 chars"
            )
        package = self.spec.package
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", package) or keyword.iskeyword(package):
            self.add(
                "`package_name`",
                f"{package!r} is not a valid lower-case Python package name"
                + ("" if self.spec.package_name else " (derived from project_name)"),
            )
        elif package in RESERVED_PACKAGES:
            self.add(
                "`package_name`", f"{package!r} would shadow a library; pick another"
            )

    def _check_auth(self, auth: AuthSpec) -> None:
        if not _CLAIM_PATH.fullmatch(auth.roles_claim):
            self.add(
                "`auth`, `roles_claim`",
                f"{auth.roles_claim!r} is not a dotted path to a claim, like "
                "`realm_access.roles`",
            )
        if auth.user_model is not None:
            self._check_user_model(auth, auth.user_model)
        elif auth.registration:
            self.add(
                "`auth`, `registration`",
                "needs `user_model`: the model a registration makes a row of "
                "(add `user_model: User` to `auth`)",
            )

    def _check_user_model(self, auth: AuthSpec, name: str) -> None:
        """The user model exists, leaves `subject` free, and fits registration."""
        model = self.models.get(name)
        if model is None:
            if self.all_models_named:
                known = ", ".join(self.models) or "none"
                self.add(
                    "`auth`, `user_model`",
                    f"no model is named {name!r} (the spec's models: {known})",
                )
            return
        fields = {f.name: f for f in model.fields}
        if SUBJECT_FIELD.name in fields:
            self.add(
                f"model {name!r}, field {SUBJECT_FIELD.name!r}",
                "the name is taken: `auth.user_model` adds this column (the token's "
                "subject, `sub`); rename the field",
            )
        if not auth.registration:
            return
        email = fields.get("email")
        if email is None or email.type != "str" or not email.unique:
            self.add(
                "`auth`, `registration`",
                f"needs a unique `email` field of type str on {name!r} (the login at "
                "the provider, checked here before the provider is called): add "
                "`{name: email, type: str, unique: true}`",
            )
        if "password" in fields:
            self.add(
                f"model {name!r}, field 'password'",
                "with `auth.registration` a password goes to the provider only and is "
                "never stored here; remove the field",
            )

    def _check_access(self, model: ModelSpec) -> None:
        """`access` only with `auth`, each value public, authenticated or a role."""
        if model.access is None:
            return
        where = f"model {model.name!r}, `access`"
        if self.spec.auth is None:
            self.add(
                where,
                "applies only with `auth` on (add `auth: oidc` at the top level): "
                "without it every route is open",
            )
            return
        for verb in ("read", "write"):
            value = getattr(model.access, verb)
            problem = access_problem(value)
            if problem:
                self.add(f"{where}, `{verb}`", problem)

    def _check_model(self, model: ModelSpec) -> None:
        where = f"model {model.name!r}"
        if self._check_name(where, model.name, pascal=True):
            if model.name in RESERVED_MODEL_NAMES:
                self.add(where, "name clashes with a class the template generates")
            module = _naming.snake(model.name)
            if module in RESERVED_MODULES:
                self.add(where, "name clashes with a module the template generates")
            elif keyword.iskeyword(module):
                self.add(where, f"its module name {module!r} is a Python keyword")
            plural = _naming.plural_snake(model.name)
            if model.plural is None and keyword.iskeyword(plural):
                self.add(
                    where, f"its plural {plural!r} is a Python keyword; set `plural`"
                )
        if (
            model.plural is not None
            and self._check_name(f"{where}, `plural`", model.plural, pascal=False)
            and model.plural == _naming.snake(model.name)
        ):
            self.add(f"{where}, `plural`", "must differ from the singular name")
        names = [field.name for field in model.fields]
        for position, field in enumerate(model.fields):
            fwhere = f"{where}, field {field.name!r}"
            if field.name in names[:position]:
                self.add(fwhere, "is defined more than once")
            if isinstance(field, _NameOnly):
                self._check_field_name(field.name, fwhere)
                continue
            self._check_field(model, field, fwhere)
            if field.type == "ref" and f"{field.name}_id" in names:
                self.add(
                    fwhere,
                    f"its foreign key column `{field.name}_id` clashes with a field",
                )
            if field.type == "many" and field.to is not None:
                _, other = link_columns(model, field)
                ids = f"{other}s"  # the create and update schemas' list of ids
                if ids in names or ids in column_names(model):
                    self.add(
                        fwhere,
                        f"its list of ids `{ids}` (in create and update) clashes "
                        "with a field; rename one",
                    )

    def _check_name(self, where: str, name: str, *, pascal: bool) -> bool:
        pattern, style = (
            (_PASCAL, "PascalCase like `UserType`")
            if pascal
            else (
                _SNAKE,
                "snake_case like `first_name`",
            )
        )
        if not name:
            self.add(where, "name must not be empty")
        elif "/" in name or "\\" in name or ".." in name:
            self.add(where, f"name {name!r} contains a path separator; use {style}")
        elif not pattern.fullmatch(name):
            self.add(where, f"name {name!r} is not a valid identifier in {style}")
        elif keyword.iskeyword(name) or keyword.issoftkeyword(name) and name == "_":
            self.add(where, f"name {name!r} is a Python keyword")
        elif len(name) > _MAX_NAME:
            self.add(where, f"name {name!r} is longer than {_MAX_NAME} characters")
        else:
            return True
        return False

    def _check_field_name(self, name: str, where: str) -> None:
        if self._check_name(where, name, pascal=False) and (
            name in RESERVED_FIELD_NAMES or name.startswith("model_")
        ):
            self.add(
                where,
                "name is reserved: a generated column, a library attribute or a name "
                "the generated code uses",
            )
        elif name in LIST_QUERY_NAMES:
            self.add(
                where,
                f"name is a query parameter of every list (`?{name}=`): its filter "
                "would take it; rename the field",
            )

    def _check_field(self, model: ModelSpec, field: FieldSpec, where: str) -> None:
        self._check_field_name(field.name, where)
        if field.type not in FIELD_TYPES:
            self.add(
                where,
                f"unknown type {field.type!r}; expected one of {', '.join(FIELD_TYPES)}",
            )
            return
        self._check_options(field, where)
        if field.type in ("ref", "many"):
            self._check_ref(model, field, where)
        if field.type == "enum":
            self._check_enum(field, where)
        if field.default is not None and field.type in TYPES:
            problem = TYPES[field.type].problem(field)
            if problem:
                self.add(where, f"bad default {field.default!r}: {problem}")

    def _check_options(self, field: FieldSpec, where: str) -> None:
        allowed = {
            option: [name for name, kind in TYPES.items() if option in kind.options]
            for option in ("max_length", "precision", "scale", "values")
        }
        allowed.update(
            (option, ["ref", "many"] if option in MANY_OPTIONS else ["ref"])
            for option in REF_OPTIONS
        )
        for option, types in allowed.items():
            if getattr(field, option) is not None and field.type not in types:
                self.add(where, f"`{option}` applies only to type {'/'.join(types)}")
        if field.max_length is not None and not 1 <= field.max_length <= MAX_STR_LENGTH:
            self.add(where, f"`max_length` must be between 1 and {MAX_STR_LENGTH}")
        if field.type == "decimal":
            precision = (
                DEFAULT_PRECISION if field.precision is None else field.precision
            )
            scale = DEFAULT_SCALE if field.scale is None else field.scale
            if not 1 <= precision <= 38:
                self.add(where, "`precision` must be between 1 and 38")
            if not 0 <= scale <= precision:
                self.add(where, "`scale` must be between 0 and `precision`")
        if field.type == "ref" and field.default is not None:
            self.add(where, "a ref cannot have a default")
        if field.type == "many":
            # A set of links: none is its empty value, and its table is indexed.
            for option in ("optional", "unique", "index", "sortable", "searchable"):
                if getattr(field, option):
                    self.add(
                        where,
                        f"a many field cannot be {option} (it is a set of links, "
                        "empty by default)",
                    )
            if field.default is not None:
                self.add(where, "a many field cannot have a default (it starts empty)")
        if field.type == "json" and (field.unique or field.index):
            self.add(where, "a json field cannot be unique or indexed")
        if field.type == "bool" and field.unique:
            self.add(where, "a unique bool allows only two rows; drop `unique`")
        if field.searchable and not (field.type in TYPES and TYPES[field.type].text):
            texts = "/".join(name for name, kind in TYPES.items() if kind.text)
            self.add(where, f"`searchable` applies only to type {texts}")
        if field.sortable and field.type == "json":
            self.add(where, "a json field cannot be sortable")

    def _check_ref(self, model: ModelSpec, field: FieldSpec, where: str) -> None:
        if field.to is None:
            what = "a ref" if field.type == "ref" else "a many field"
            self.add(where, f"{what} needs `to: <ModelName>`")
            return
        if field.to not in self.models and self.all_models_named:
            known = ", ".join(sorted(self.models))
            self.add(where, f"refers to unknown model {field.to!r} (models: {known})")
        if field.to == model.name and field.type == "ref" and not field.optional:
            self.add(where, "a reference to its own model needs `optional: true`")
        if field.on_delete == "set_null" and not field.optional:
            self.add(where, "`on_delete: set_null` needs `optional: true`")
        if field.related_name is not None:
            self._check_name(
                f"{where}, `related_name`", field.related_name, pascal=False
            )

    def _check_enum(self, field: FieldSpec, where: str) -> None:
        if not field.values:
            self.add(where, "an enum needs a non-empty list of `values`")
            return
        members = [_naming.enum_member(value) for value in field.values]
        if len(set(field.values)) != len(field.values):
            self.add(where, "enum `values` must be unique")
        elif "" in members or len(set(members)) != len(members):
            self.add(
                where, "enum `values` must give distinct names (letters or digits)"
            )
        if any(len(value) > 64 or not value.isprintable() for value in field.values):
            self.add(where, "enum values must be printable and at most 64 characters")

    def _check_generated_names(self) -> None:
        """Every derived class, module, table and attribute name must be unique."""
        owners: dict[str, str] = {}

        def claim(name: str, owner: str) -> None:
            if name in owners and owners[name] != owner:
                self.add(
                    owner,
                    f"generates the name {name!r}, which {owners[name]} also generates",
                )
            owners.setdefault(name, owner)

        if self.spec.admin:
            # The admin's own model, module and table, and its classes.
            admin = "the admin (`admin: true`)"
            for name in (*ADMIN_NAMES, "AdminSessionRepository"):
                claim(name, admin)
            claim("module admin_session", admin)
            claim("table admin_sessions", admin)
        if self.spec.auth is not None:
            # The classes of the project's `auth/` package and its tests' stub.
            for name in AUTH_NAMES:
                claim(name, "the auth package (`auth`)")
            # The caller's routes (`/me`) and modules, and registration's.
            claim("route /me", "the auth package (`auth`)")
            claim("module accounts", "the auth package (`auth`)")
            if self.spec.auth.registration:
                claim("route /registrations", "registration (`auth.registration`)")
                claim("module registration", "registration (`auth.registration`)")
        reverse: dict[str, dict[str, str]] = {m.name: {} for m in self.spec.models}
        for model in self.spec.models:
            where = f"model {model.name!r}"
            plural = _naming.table(model.name, model.plural)
            claim(model.name, where)
            for name in _naming.model_classes(
                model.name, admin=self.spec.admin
            ).values():
                claim(name, where)
            claim(f"module {_naming.snake(model.name)}", where)
            claim(f"table {plural}", where)
            claim(f"route /{_naming.kebab(plural)}", where)
            if plural == _naming.snake(model.name):
                self.add(where, f"plural {plural!r} equals the singular; set `plural`")
            for field in model.fields:
                fwhere = f"{where}, field {field.name!r}"
                if field.type == "enum":
                    claim(_naming.enum_class(model.name, field.name), fwhere)
                if field.type == "many":
                    owner_table = _naming.table(model.name, model.plural)
                    claim(f"table {owner_table}_{field.name}", fwhere)
                if field.type in ("ref", "many") and field.to in self.models:
                    target = self.models[field.to]
                    name = related_name(model, field)
                    taken = {f.name for f in target.fields} | column_names(target)
                    if name in taken or name in RESERVED_FIELD_NAMES:
                        self.add(
                            fwhere,
                            f"reverse collection {name!r} on {target.name} clashes with "
                            "a field there; set `related_name`",
                        )
                    elif name in reverse[target.name]:
                        self.add(
                            fwhere,
                            f"reverse collection {name!r} on {target.name} is also made "
                            f"by {reverse[target.name][name]}; set `related_name`",
                        )
                    reverse[target.name][name] = fwhere

    def _check_cycles(self) -> None:
        edges = {
            m.name: {f.to for f in m.fields if f.type == "ref" and f.to != m.name}
            for m in self.spec.models
        }
        state: dict[str, int] = {}

        def visit(name: str, path: list[str]) -> None:
            state[name] = 1
            for target in sorted(t for t in edges[name] if t is not None):
                if state.get(target) == 1:
                    cycle = " -> ".join([*path[path.index(target) :], target])
                    self.add(
                        f"model {target!r}",
                        f"circular references between models ({cycle}) are not "
                        "supported; make one side a plain int field",
                    )
                elif target not in state:
                    visit(target, [*path, target])
            state[name] = 2

        for name in edges:
            if name not in state:
                visit(name, [name])


def access_problem(value: str) -> str | None:
    """What is wrong with an access value (`public`, `role:editor`), or None."""
    if value in (PUBLIC, AUTHENTICATED):
        return None
    if not value.startswith(ROLE_PREFIX):
        return (
            f"unknown access {value!r}; expected {PUBLIC}, {AUTHENTICATED} or "
            f"{ROLE_PREFIX}<name> (like {ROLE_PREFIX}editor)"
        )
    role = value[len(ROLE_PREFIX) :]
    if not _ROLE.fullmatch(role):
        return (
            f"bad role in {value!r}: a role's name starts with a letter, then "
            "letters, digits, `_`, `-` or `.` (at most 64), like role:editor"
        )
    return None


def _salvaged_auth(data: object) -> AuthSpec | None:
    """`auth` if it is well formed, else None (pydantic reported it)."""
    try:
        return ProjectSpec.model_validate(
            {"project_name": "x", "models": [_PROBE], "auth": data}
        ).auth
    except ValidationError:
        return None


_PROBE = {"name": "Probe", "fields": [{"name": "label", "type": "str"}]}


def _salvaged_model(item: Mapping[Any, Any]) -> ModelSpec:
    """A model from its well-formed parts: its name, its plural, its fields."""
    plural = item.get("plural")
    listed = item.get("fields")
    fields: list[FieldSpec] = []
    for data in listed if isinstance(listed, list) else []:
        try:
            fields.append(FieldSpec.model_validate(data))
        except ValidationError:
            if isinstance(data, Mapping) and isinstance(data.get("name"), str):
                fields.append(_NameOnly.model_construct(name=data["name"], type=""))
    try:
        access = (
            None
            if item.get("access") is None
            else AccessSpec.model_validate(item["access"])
        )
    except ValidationError:
        access = None  # pydantic reported it
    return ModelSpec.model_construct(
        name=item["name"],
        plural=plural if isinstance(plural, str) else None,
        access=access,
        fields=fields,
    )
