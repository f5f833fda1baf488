"""The spec parser refuses every invalid spec with a message a user can act on.

Each refusal names the model and the field concerned and says what is wrong; the
hypothesis tests check that valid specs pass, junk never crashes the parser, and spec
strings reach generated code only as literals that evaluate back to themselves.
"""

from __future__ import annotations

import ast
import datetime as dt
import math
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tests.strategies import project_names, valid_specs
from uowgen._render.context import build_context
from uowgen._render.spec_text import spec_yaml
from uowgen._schema import naming as _naming
from uowgen._schema.types import FIELD_TYPES
from uowgen._spec.models import ProjectSpec, related_name
from uowgen._spec.validate import load_spec, parse_spec, parse_spec_text, spec_problems
from uowgen.errors import SpecError

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "examples").glob("*.yml"))


def field(name: str = "email", type: str = "str", **options: Any) -> dict[str, Any]:
    return {"name": name, "type": type, **options}


def model(
    name: str = "User", *fields: dict[str, Any], **options: Any
) -> dict[str, Any]:
    return {"name": name, "fields": list(fields) or [field()], **options}


def spec(*models: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"project_name": "App", "models": list(models) or [model()], **top}


def one_field(**options: Any) -> dict[str, Any]:
    """A spec whose only model `User` has the one field described."""
    options.setdefault("name", "value")
    options.setdefault("type", "str")
    return spec(model("User", options))


def problems_of(data: object) -> list[str]:
    with pytest.raises(SpecError) as info:
        parse_spec(data, source="spec.yml")
    error = info.value
    assert error.problems, "a SpecError lists at least one problem"
    assert error.message.startswith("spec.yml: invalid spec\n")
    for problem in error.problems:
        assert f"  - {problem}" in error.message
    return error.problems


def assert_refused(data: object, *fragments: str) -> None:
    """Some single problem mentions every fragment (model, field, what is wrong)."""
    problems = problems_of(data)
    assert any(all(part in problem for part in fragments) for problem in problems), (
        f"no problem mentions all of {fragments}: {problems}"
    )


# ---------------------------------------------------------------------------
# Valid specs


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_every_example_is_a_valid_spec(path: Path) -> None:
    parsed = load_spec(path)
    assert spec_problems(parsed.to_data()) == []
    assert build_context(parsed).entities


def test_the_smallest_spec_is_accepted_with_defaults_filled_in() -> None:
    parsed = parse_spec(spec())
    assert parsed.package == "app"
    only = parsed.models[0].fields[0]
    assert (only.optional, only.unique, only.index, only.default) == (
        False,
        False,
        False,
        None,
    )


def test_two_refs_to_the_same_model_get_distinct_reverse_names() -> None:
    data = spec(
        model("Customer", field("email")),
        model(
            "Order",
            field("buyer", "ref", to="Customer"),
            field("gift_for", "ref", to="Customer", optional=True),
        ),
    )
    parsed = parse_spec(data)
    order = parsed.models[1]
    names = [related_name(order, ref) for ref in order.fields]
    assert names == ["orders_by_buyer", "orders_by_gift_for"]


def test_a_self_reference_gets_a_children_collection() -> None:
    parsed = parse_spec(
        spec(
            model(
                "Category",
                field("title"),
                field("parent", "ref", to="Category", optional=True),
            )
        )
    )
    category = parsed.models[0]
    assert related_name(category, category.fields[1]) == "children"


def test_an_explicit_related_name_resolves_a_reverse_name_clash() -> None:
    clash = spec(
        model("User", field("posts", "int")),
        model("Post", field("author", "ref", to="User")),
    )
    assert_refused(clash, "model 'Post', field 'author'", "reverse collection 'posts'")
    fixed = spec(
        model("User", field("posts", "int")),
        model("Post", field("author", "ref", to="User", related_name="written")),
    )
    parsed = parse_spec(fixed)
    assert related_name(parsed.models[1], parsed.models[1].fields[0]) == "written"


@pytest.mark.parametrize(
    "options",
    [
        {"type": "str", "default": "", "max_length": 1},
        {"type": "int", "default": -(2**31)},
        {"type": "int", "default": 2**31 - 1},
        {"type": "bigint", "default": 2**63 - 1},
        {"type": "float", "default": 3},
        {"type": "decimal", "default": "9999999999.99"},
        {"type": "decimal", "default": 5, "precision": 1, "scale": 0},
        {"type": "decimal", "default": 0.5},
        {"type": "decimal", "default": "9" * 38, "precision": 38, "scale": 0},
        {"type": "decimal", "default": "-0.99", "precision": 38, "scale": 38},
        {"type": "bool", "default": False},
        {"type": "date", "default": dt.date(2024, 2, 29)},
        {"type": "date", "default": "2024-02-29"},
        {"type": "datetime", "default": "2024-01-01T12:00:00+02:00"},
        {"type": "datetime", "default": dt.datetime(2024, 1, 1, tzinfo=dt.UTC)},
        {"type": "uuid", "default": "12345678-1234-5678-1234-567812345678"},
        {"type": "json", "default": {"a": [1, 2.5, None, True]}},
        {"type": "json", "default": {}},
        {"type": "enum", "values": ["in-progress", "2-for-1"], "default": "2-for-1"},
    ],
    ids=lambda options: f"{options['type']}={options['default']!r}",
)
def test_defaults_at_the_edge_of_their_type_are_accepted(
    options: dict[str, Any],
) -> None:
    parsed = parse_spec(one_field(**options))
    assert build_context(parsed).entities[0].fields[0].default_literal


# ---------------------------------------------------------------------------
# YAML text and files


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("project_name: x\nmodels:\n  - name: [\n", "line 4, column 1"),
        ("project_name: x\n  models: y\n", "line 2, column 9"),
        ("project_name: 'x\n", "line 2, column 1"),
        ("models:\n- {name: User, fields: [}\n", "line 2, column 25"),
        ("project_name: x\n\tmodels: []\n", "line 2, column 1"),
    ],
)
def test_yaml_syntax_errors_say_where_they_are(text: str, where: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec_text(text, source="broken.yml")
    (problem,) = info.value.problems
    assert problem.startswith(f"{where}: YAML syntax error: ")
    assert info.value.message.startswith("broken.yml: invalid spec")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the spec must be a mapping with `models`, got empty"),
        ("- a\n- b\n", "the spec must be a mapping with `models`, got a list"),
        ("just words\n", "the spec must be a mapping with `models`, got a str"),
        ("project_name: x\n", "`models`: is required"),
        (
            "models: [{name: A, fields: [{name: a, type: str}]}]\n",
            "`project_name`: is required",
        ),
        ("n: " + "1" * 5000 + "\n", "cannot read the YAML"),
    ],
)
def test_yaml_that_is_not_a_spec_mapping_is_refused(text: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec_text(text)
    assert any(message in problem for problem in info.value.problems)


def test_a_missing_spec_file_is_reported_as_not_found(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yml"
    with pytest.raises(SpecError) as info:
        load_spec(missing)
    assert info.value.problems == ["file not found"]
    assert str(missing) in info.value.message


def test_a_spec_file_that_is_not_utf8_cannot_be_read(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yml"
    path.write_bytes(b"project_name: Caf\xe9\n")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert info.value.problems[0].startswith("cannot read the file:")


# ---------------------------------------------------------------------------
# Wrong shapes: what pydantic sees, reported with model and field names

SHAPE_CASES: dict[str, tuple[object, tuple[str, ...]]] = {
    "models is a mapping": (
        {"project_name": "A", "models": {"User": []}},
        ("`models`", "valid list"),
    ),
    "models is a string": (
        {"project_name": "A", "models": "User"},
        ("`models`", "valid list"),
    ),
    "model is a list": (
        {"project_name": "A", "models": [[]]},
        ("model #1", "valid dictionary"),
    ),
    "fields is a mapping": (
        spec({"name": "User", "fields": {"email": "str"}}),
        ("model 'User', `fields`", "valid list"),
    ),
    "field is a string": (
        spec({"name": "User", "fields": ["email"]}),
        ("model 'User', field #1", "valid dictionary"),
    ),
    "second field is a number": (
        spec({"name": "User", "fields": [field(), 3]}),
        ("model 'User', field #2", "valid dictionary"),
    ),
    "misspelt optional": (
        one_field(name="email", type="str", optinal=True),
        ("model 'User', field 'email', `optinal`", "unknown key (check the spelling)"),
    ),
    "misspelt fields": (
        spec({"name": "User", "feilds": [field()], "fields": [field()]}),
        ("model 'User', `feilds`", "unknown key"),
    ),
    "unknown top-level key": (spec(modles=[]), ("`modles`", "unknown key")),
    "optional is a string": (
        one_field(name="email", optional="yes"),
        ("model 'User', field 'email', `optional`", "valid boolean"),
    ),
    "unique is a number": (
        one_field(name="email", unique=1),
        ("model 'User', field 'email', `unique`", "valid boolean"),
    ),
    "max_length is a string": (
        one_field(name="email", max_length="10"),
        ("model 'User', field 'email', `max_length`", "valid integer"),
    ),
    "max_length is a bool": (
        one_field(name="email", max_length=True),
        ("model 'User', field 'email', `max_length`", "valid integer"),
    ),
    "values is a string": (
        one_field(name="status", type="enum", values="a, b"),
        ("model 'User', field 'status', `values`", "valid list"),
    ),
    "on_delete is unknown": (
        spec(
            model("User"),
            model("Post", field("author", "ref", to="User", on_delete="nullify")),
        ),
        (
            "model 'Post', field 'author', `on_delete`",
            "'cascade', 'restrict' or 'set_null'",
        ),
    ),
    "type is a number": (
        one_field(name="age", type=3),
        ("model 'User', field 'age', `type`", "valid string"),
    ),
    "field without a name": (
        spec({"name": "User", "fields": [{"type": "str"}]}),
        ("model 'User', field #1, `name`", "is required"),
    ),
    "field without a type": (
        spec({"name": "User", "fields": [{"name": "email"}]}),
        ("model 'User', field 'email', `type`", "is required"),
    ),
    "model without fields": (
        spec({"name": "User"}),
        ("model 'User', `fields`", "is required"),
    ),
    "model name is a number": (
        spec({"name": 7, "fields": [field()]}),
        ("model #1, `name`", "valid string"),
    ),
    "empty model list": (spec(models=[]), ("`models`", "needs at least one model")),
    "model with no fields": (
        spec({"name": "User", "fields": []}),
        ("model 'User', `fields`", "needs at least one field"),
    ),
    "project_name is a number": (
        {"project_name": 3, "models": [model()]},
        ("`project_name`", "valid string"),
    ),
    "non-string key": ({1: 2, **spec()}, ("key 1", "Keys should be strings")),  # type: ignore[misc]
    "non-string key in a model": (
        spec({"name": "User", "fields": [field()], 3: 4}),  # type: ignore[dict-item]
        ("model 'User', key 3", "Keys should be strings"),
    ),
}


@pytest.mark.parametrize(
    ("data", "fragments"), list(SHAPE_CASES.values()), ids=list(SHAPE_CASES)
)
def test_wrong_shapes_are_refused_naming_model_and_field(
    data: object, fragments: tuple[str, ...]
) -> None:
    assert_refused(data, *fragments)


@pytest.mark.parametrize(
    ("data", "kind"),
    [(None, "empty"), ([], "a list"), ("x", "a str"), (3.5, "a float")],
)
def test_a_spec_that_is_not_a_mapping_is_refused(data: object, kind: str) -> None:
    assert problems_of(data) == [
        f"the spec must be a mapping with `models`, got {kind}"
    ]


def test_every_shape_problem_is_reported_at_once() -> None:
    data = spec(
        {
            "name": "User",
            "fields": [field(optinal=True), field("age", "int", unique="no")],
        },
        {"name": "Post"},
    )
    problems = problems_of(data)
    assert len(problems) == 3
    assert any("model 'Post', `fields`: is required" in p for p in problems)


# A typo must not hide the other problems until it is fixed: `validate` promises them
# all in one run.
TYPO_AND_MORE_CASES: dict[str, tuple[object, list[str]]] = {
    "misspelt fields, a bad name and an unknown ref elsewhere": (
        spec(
            {"name": "Post", "feilds": [field("title")]},
            model("user_type"),
            model(
                "Comment", field("post", "ref", to="Post"), field("x", "ref", to="Pst")
            ),
        ),
        [
            "model 'Post', `fields`: is required",
            "model 'Post', `feilds`: unknown key (check the spelling)",
            (
                "model 'user_type': name 'user_type' is not a valid identifier in "
                "PascalCase like `UserType`"
            ),
            (
                "model 'Comment', field 'x': refers to unknown model 'Pst' "
                "(models: Comment, Post, user_type)"
            ),
        ],
    ),
    "misspelt fields in a model with a bad name": (
        spec({"name": "post", "feilds": [field("title")]}),
        [
            "model 'post', `fields`: is required",
            "model 'post', `feilds`: unknown key (check the spelling)",
            (
                "model 'post': name 'post' is not a valid identifier in PascalCase like "
                "`UserType`"
            ),
        ],
    ),
    "unknown top-level key and a reserved field": (
        spec(model("User", field("id")), modles=[]),
        [
            "`modles`: unknown key (check the spelling)",
            (
                "model 'User', field 'id': name is reserved: a generated column, a "
                "library attribute or a name the generated code uses"
            ),
        ],
    ),
    "unknown field key and an unknown ref in another model": (
        spec(
            model("User", field("email", optinal=True)),
            model("Post", field("author", "ref", to="Usr")),
        ),
        [
            "model 'User', field 'email', `optinal`: unknown key (check the spelling)",
            (
                "model 'Post', field 'author': refers to unknown model 'Usr' "
                "(models: Post, User)"
            ),
        ],
    ),
    "misspelt type in a field with a keyword name": (
        spec(model("User", {"name": "class", "typ": "str"}, field("Email"))),
        [
            "model 'User', field 'class', `type`: is required",
            "model 'User', field 'class', `typ`: unknown key (check the spelling)",
            "model 'User', field 'class': name 'class' is a Python keyword",
            (
                "model 'User', field 'Email': name 'Email' is not a valid identifier in "
                "snake_case like `first_name`"
            ),
        ],
    ),
    "unknown key and circular references": (
        spec(
            model("Author", field("post", "ref", to="Post"), field("bio", "text")),
            model("Post", field("author", "ref", to="Author", optinal=True)),
        ),
        [
            "model 'Post', field 'author', `optinal`: unknown key (check the spelling)",
            (
                "model 'Author': circular references between models (Author -> Post -> "
                "Author) are not supported; make one side a plain int field"
            ),
        ],
    ),
}


@pytest.mark.parametrize(
    ("data", "expected"),
    list(TYPO_AND_MORE_CASES.values()),
    ids=list(TYPO_AND_MORE_CASES),
)
def test_unknown_keys_and_the_problems_elsewhere_are_reported_together(
    data: object, expected: list[str]
) -> None:
    assert problems_of(data) == expected


def test_a_ref_to_a_model_whose_name_is_misspelt_is_not_called_unknown() -> None:
    data = spec(
        {"nme": "User", "fields": [field()]},
        model("Post", field("author", "ref", to="User"), field("Title")),
    )
    problems = problems_of(data)
    assert "model #1, `nme`: unknown key (check the spelling)" in problems
    assert not any("unknown model" in problem for problem in problems), problems
    assert any(p.startswith("model 'Post', field 'Title': name") for p in problems)


# ---------------------------------------------------------------------------
# Semantic problems: names, clashes, references, options and defaults

SEMANTIC_CASES: dict[str, tuple[object, tuple[str, ...]]] = {
    # Duplicates
    "duplicate model": (
        spec(model("User"), model("User")),
        ("model 'User'", "is defined more than once"),
    ),
    "duplicate field": (
        spec(model("User", field("email"), field("email", "text"))),
        ("model 'User', field 'email'", "is defined more than once"),
    ),
    # Types and references
    "unknown type": (
        one_field(name="email", type="string"),
        (
            "model 'User', field 'email'",
            "unknown type 'string'",
            "expected one of str, text",
        ),
    ),
    "ref to an unknown model": (
        one_field(name="group", type="ref", to="Group"),
        (
            "model 'User', field 'group'",
            "refers to unknown model 'Group' (models: User)",
        ),
    ),
    "ref without to": (
        one_field(name="group", type="ref"),
        ("model 'User', field 'group'", "a ref needs `to: <ModelName>`"),
    ),
    "self ref not optional": (
        one_field(name="parent", type="ref", to="User"),
        ("model 'User', field 'parent'", "needs `optional: true`"),
    ),
    "set_null on a required ref": (
        spec(
            model("User"),
            model("Post", field("author", "ref", to="User", on_delete="set_null")),
        ),
        (
            "model 'Post', field 'author'",
            "`on_delete: set_null` needs `optional: true`",
        ),
    ),
    "ref foreign key clashes with a field": (
        spec(
            model("User"),
            model("Post", field("author", "ref", to="User"), field("author_id", "int")),
        ),
        ("model 'Post', field 'author'", "foreign key column `author_id` clashes"),
    ),
    "two models in a cycle": (
        spec(
            model("Author", field("latest", "ref", to="Book")),
            model("Book", field("author", "ref", to="Author")),
        ),
        (
            "model 'Author'",
            "circular references between models (Author -> Book -> Author)",
        ),
    ),
    "three models in a cycle": (
        spec(
            model("Aa", field("b", "ref", to="Bb")),
            model("Bb", field("c", "ref", to="Cc", optional=True)),
            model("Cc", field("a", "ref", to="Aa")),
        ),
        ("circular references", "Aa -> Bb -> Cc -> Aa"),
    ),
    # Names that are not identifiers
    "field name with a dash": (
        one_field(name="first-name"),
        ("model 'User', field 'first-name'", "is not a valid identifier in snake_case"),
    ),
    "field name in camel case": (
        one_field(name="firstName"),
        ("model 'User', field 'firstName'", "not a valid identifier"),
    ),
    "field name starting with a digit": (
        one_field(name="2fa"),
        ("model 'User', field '2fa'", "not a valid identifier"),
    ),
    "empty field name": (
        one_field(name=""),
        ("model 'User', field ''", "must not be empty"),
    ),
    "model name in snake case": (
        spec(model("user_type")),
        ("model 'user_type'", "is not a valid identifier in PascalCase"),
    ),
    "model name with a space": (
        spec(model("User Type")),
        ("model 'User Type'", "not a valid"),
    ),
    "non-ascii model name": (
        spec(model("Ünit")),
        ("model 'Ünit'", "not a valid identifier"),
    ),
    "too long field name": (
        one_field(name="a" * 49),
        ("model 'User'", "longer than 48 characters"),
    ),
    # Keywords
    "field called class": (
        one_field(name="class"),
        ("model 'User', field 'class'", "name 'class' is a Python keyword"),
    ),
    "field called def": (one_field(name="def"), ("field 'def'", "is a Python keyword")),
    "model called class": (
        spec(model("class")),
        ("model 'class'", "not a valid identifier"),
    ),
    "model called None": (spec(model("None")), ("model 'None'", "is a Python keyword")),
    "model whose module is a keyword": (
        spec(model("Class")),
        ("model 'Class'", "its module name 'class' is a Python keyword"),
    ),
    "model whose plural is a keyword": (
        spec(model("A")),
        ("model 'A'", "its plural 'as' is a Python keyword; set `plural`"),
    ),
    "plural that is a keyword": (
        spec(model("Item", plural="import")),
        ("model 'Item', `plural`", "is a Python keyword"),
    ),
    # Path separators
    "model name climbing out": (
        spec(model("../evil")),
        ("model '../evil'", "contains a path separator"),
    ),
    "model name with a slash": (spec(model("A/B")), ("model 'A/B'", "path separator")),
    "field name with a slash": (
        one_field(name="a/b"),
        ("model 'User', field 'a/b'", "contains a path separator"),
    ),
    "field name with a backslash": (
        one_field(name="a\\b"),
        ("model 'User', field 'a\\\\b'", "contains a path separator"),
    ),
    "plural with a slash": (
        spec(model("Item", plural="../items")),
        ("model 'Item', `plural`", "path separator"),
    ),
    # Clashes with generated names
    **{
        f"field called {name}": (
            one_field(name=name),
            (f"model 'User', field '{name}'", "name is reserved"),
        )
        for name in (
            "id",
            "version",
            "created_at",
            "updated_at",
            "metadata",
            "model_config",
        )
    },
    **{
        f"model called {name}": (
            spec(model(name)),
            (f"model '{name}'", "name clashes with a class the template generates"),
        )
        for name in ("UnitOfWork", "Base", "Settings", "Repository", "Page")
    },
    **{
        f"model whose module is {module}": (
            spec(model(name)),
            (f"model '{name}'", "name clashes with a module the template generates"),
        )
        for name, module in (
            ("Registry", "registry"),
            ("Router", "router"),
            ("Deps", "deps"),
        )
    },
    "model User plus model UserCreate": (
        spec(model("User"), model("UserCreate")),
        (
            "model 'UserCreate'",
            "generates the name 'UserCreate', which model 'User' also",
        ),
    ),
    "model User plus model UserRepository": (
        spec(model("User"), model("UserRepository")),
        ("generates the name 'UserRepository'",),
    ),
    "two models with one module": (
        spec(model("HTTPLog"), model("HttpLog")),
        ("model 'HttpLog'", "generates the name 'module http_log'"),
    ),
    "two models with one table": (
        spec(model("Item"), model("Thing", plural="items")),
        ("model 'Thing'", "generates the name 'table items'"),
    ),
    "enum class clashes with a model": (
        spec(
            model("User", field("status", "enum", values=["on", "off"])),
            model("UserStatus"),
        ),
        ("model 'UserStatus'", "generates the name 'UserStatus'", "field 'status'"),
    ),
    "uncountable model name": (
        spec(model("Series")),
        ("model 'Series'", "plural 'series' equals the singular; set `plural`"),
    ),
    "plural equal to the singular": (
        spec(model("User", plural="user")),
        ("model 'User', `plural`", "must differ from the singular name"),
    ),
    "reverse name clashes with a field": (
        spec(
            model("User", field("posts", "int")),
            model("Post", field("author", "ref", to="User")),
        ),
        (
            "model 'Post', field 'author'",
            "reverse collection 'posts' on User clashes",
            "set `related_name`",
        ),
    ),
    "reverse name clashes with a foreign key": (
        spec(
            model("Tag"),
            model("User", field("posts", "ref", to="Tag")),
            model("Post", field("author", "ref", to="User")),
        ),
        ("model 'Post', field 'author'", "reverse collection 'posts' on User clashes"),
    ),
    "two reverse names collide": (
        spec(
            model("User"),
            model("Post", field("author", "ref", to="User", related_name="writings")),
            model("Note", field("writer", "ref", to="User", related_name="writings")),
        ),
        (
            "model 'Note', field 'writer'",
            "reverse collection 'writings' on User is also made by",
        ),
    ),
    "reverse name is reserved": (
        spec(
            model("User"),
            model("Post", field("author", "ref", to="User", related_name="id")),
        ),
        ("model 'Post', field 'author'", "reverse collection 'id'"),
    ),
    "related_name is not an identifier": (
        spec(
            model("User"),
            model("Post", field("author", "ref", to="User", related_name="My Posts")),
        ),
        ("model 'Post', field 'author', `related_name`", "not a valid identifier"),
    ),
    # Options on the wrong type, and out of range
    "max_length on int": (
        one_field(name="age", type="int", max_length=3),
        ("model 'User', field 'age'", "`max_length` applies only to type str"),
    ),
    "values on str": (
        one_field(name="code", values=["a"]),
        ("model 'User', field 'code'", "`values` applies only to type enum"),
    ),
    "to on str": (
        one_field(name="code", to="User"),
        ("field 'code'", "`to` applies only to type ref"),
    ),
    "on_delete on int": (
        one_field(name="n", type="int", on_delete="cascade"),
        ("field 'n'", "`on_delete` applies only to type ref"),
    ),
    "related_name on str": (
        one_field(name="code", related_name="codes"),
        ("field 'code'", "`related_name` applies only to type ref"),
    ),
    "precision on float": (
        one_field(name="ratio", type="float", precision=5),
        ("model 'User', field 'ratio'", "`precision` applies only to type decimal"),
    ),
    "max_length zero": (
        one_field(name="code", max_length=0),
        ("field 'code'", "`max_length` must be between 1"),
    ),
    "precision zero": (
        one_field(name="price", type="decimal", precision=0),
        ("model 'User', field 'price'", "`precision` must be between 1 and 38"),
    ),
    "precision too large": (
        one_field(name="price", type="decimal", precision=39),
        ("field 'price'", "`precision` must be between 1 and 38"),
    ),
    "scale above precision": (
        one_field(name="price", type="decimal", precision=4, scale=5),
        ("field 'price'", "`scale` must be between 0 and `precision`"),
    ),
    "negative scale": (
        one_field(name="price", type="decimal", scale=-1),
        ("field 'price'", "`scale` must be between 0 and `precision`"),
    ),
    "unique json": (
        one_field(name="extra", type="json", unique=True),
        ("model 'User', field 'extra'", "a json field cannot be unique or indexed"),
    ),
    "indexed json": (
        one_field(name="extra", type="json", index=True),
        ("cannot be unique or indexed",),
    ),
    "unique bool": (
        one_field(name="flag", type="bool", unique=True),
        ("model 'User', field 'flag'", "a unique bool allows only two rows"),
    ),
    # List queries
    "searchable int": (
        one_field(name="age", type="int", searchable=True),
        ("model 'User', field 'age'", "`searchable` applies only to type str/text"),
    ),
    "searchable ref": (
        {
            "project_name": "p",
            "models": [
                {"name": "User", "fields": [{"name": "n", "type": "str"}]},
                {
                    "name": "Post",
                    "fields": [
                        {"name": "author", "type": "ref", "to": "User"},
                        {"name": "x", "type": "ref", "to": "User", "searchable": True},
                    ],
                },
            ],
        },
        ("model 'Post', field 'x'", "`searchable` applies only to type str/text"),
    ),
    "sortable json": (
        one_field(name="extra", type="json", sortable=True),
        ("model 'User', field 'extra'", "a json field cannot be sortable"),
    ),
    "field named like a list parameter": (
        one_field(name="total", type="int"),
        ("model 'User', field 'total'", "query parameter of every list (`?total=`)"),
    ),
    # Enums
    "enum without values": (
        one_field(name="status", type="enum"),
        ("model 'User', field 'status'", "an enum needs a non-empty list of `values`"),
    ),
    "enum with empty values": (
        one_field(name="status", type="enum", values=[]),
        ("field 'status'", "non-empty list of `values`"),
    ),
    "enum with duplicate values": (
        one_field(name="status", type="enum", values=["a", "b", "a"]),
        ("model 'User', field 'status'", "enum `values` must be unique"),
    ),
    "enum values with one member name": (
        one_field(name="status", type="enum", values=["in-progress", "in progress"]),
        ("field 'status'", "must give distinct names"),
    ),
    "enum value with no letters": (
        one_field(name="status", type="enum", values=["ok", "--"]),
        ("field 'status'", "must give distinct names (letters or digits)"),
    ),
    "enum value too long": (
        one_field(name="status", type="enum", values=["x" * 65]),
        ("field 'status'", "printable and at most 64 characters"),
    ),
    "enum value with a newline": (
        one_field(name="status", type="enum", values=["a\nb"]),
        ("field 'status'", "printable"),
    ),
    # Many fields (many-to-many)
    "many field without a target": (
        one_field(name="tags", type="many"),
        ("field 'tags'", "a many field needs `to: <ModelName>`"),
    ),
    "many field to an unknown model": (
        one_field(name="tags", type="many", to="Tag"),
        ("field 'tags'", "refers to unknown model 'Tag'"),
    ),
    "optional many field": (
        one_field(name="tags", type="many", to="User", optional=True),
        ("field 'tags'", "a many field cannot be optional"),
    ),
    "unique many field": (
        one_field(name="tags", type="many", to="User", unique=True),
        ("field 'tags'", "a many field cannot be unique"),
    ),
    "sortable many field": (
        one_field(name="tags", type="many", to="User", sortable=True),
        ("field 'tags'", "a many field cannot be sortable"),
    ),
    "many field with a default": (
        one_field(name="tags", type="many", to="User", default=[]),
        ("field 'tags'", "a many field cannot have a default"),
    ),
    "many field with on_delete": (
        one_field(name="tags", type="many", to="User", on_delete="cascade"),
        ("field 'tags'", "`on_delete` applies only to type ref"),
    ),
    "many field whose ids clash with a field": (
        spec(
            model("Tag", {"name": "label", "type": "str"}),
            model(
                "Post",
                {"name": "tags", "type": "many", "to": "Tag"},
                {"name": "tag_ids", "type": "json"},
            ),
        ),
        ("model 'Post', field 'tags'", "its list of ids `tag_ids`", "clashes"),
    ),
    "many field whose reverse clashes with a field": (
        spec(
            model("Tag", {"name": "posts", "type": "str"}),
            model("Post", {"name": "tags", "type": "many", "to": "Tag"}),
        ),
        ("field 'tags'", "reverse collection 'posts' on Tag clashes with a field"),
    ),
    "two many fields to one model with one reverse name": (
        spec(
            model("Tag", {"name": "label", "type": "str"}),
            model(
                "Post",
                {"name": "tags", "type": "many", "to": "Tag", "related_name": "x"},
                {"name": "labels", "type": "many", "to": "Tag", "related_name": "x"},
            ),
        ),
        ("reverse collection 'x' on Tag is also made by", "set `related_name`"),
    ),
    # Project and package names
    "package name with a dash": (
        spec(package_name="my-app"),
        ("`package_name`", "'my-app' is not a valid lower-case Python package name"),
    ),
    "package name in capitals": (
        spec(package_name="MyApp"),
        ("`package_name`", "'MyApp' is not a valid"),
    ),
    "package name is a keyword": (
        spec(package_name="class"),
        ("`package_name`", "'class' is not a valid"),
    ),
    "package name shadows tests": (
        spec(package_name="tests"),
        ("`package_name`", "'tests' would shadow a library"),
    ),
    "package name shadows fastapi": (
        spec(package_name="fastapi"),
        ("would shadow a library",),
    ),
    "derived package name is empty": (
        spec(project_name="!!!"),
        ("`package_name`", "(derived from project_name)"),
    ),
    "derived package name shadows a library": (
        spec(project_name="Pytest"),
        ("`package_name`", "'pytest' would shadow a library"),
    ),
    "empty project name": (
        spec(project_name="  "),
        ("`project_name`", "must not be empty"),
    ),
    "two-line project name": (
        spec(project_name="My\nApp", package_name="app"),
        ("`project_name`", "one printable line"),
    ),
    "very long project name": (
        spec(project_name="x" * 101),
        ("`project_name`", "at most 100 chars"),
    ),
}


@pytest.mark.parametrize(
    ("data", "fragments"), list(SEMANTIC_CASES.values()), ids=list(SEMANTIC_CASES)
)
def test_invalid_specs_are_refused_saying_where_and_what(
    data: object, fragments: tuple[str, ...]
) -> None:
    assert_refused(data, *fragments)


BAD_DEFAULTS: list[tuple[dict[str, Any], str]] = [
    ({"type": "str", "default": 3}, "bad default 3: expected a string"),
    ({"type": "text", "default": ["a"]}, "expected a string"),
    ({"type": "str", "default": "abcd", "max_length": 3}, "longer than max_length 3"),
    ({"type": "str", "default": "a\x00b"}, "contains a NUL character"),
    ({"type": "int", "default": "3"}, "bad default '3': expected an integer"),
    ({"type": "int", "default": 1.5}, "expected an integer"),
    ({"type": "int", "default": True}, "expected an integer"),
    ({"type": "int", "default": 2**31}, "bad default 2147483648: out of range for int"),
    ({"type": "int", "default": -(2**31) - 1}, "out of range for int"),
    ({"type": "bigint", "default": 2**63}, "out of range for bigint"),
    ({"type": "float", "default": "1.5"}, "expected a number"),
    ({"type": "float", "default": False}, "expected a number"),
    ({"type": "float", "default": math.nan}, "bad default nan: must be finite"),
    ({"type": "float", "default": -math.inf}, "must be finite"),
    ({"type": "float", "default": 10**400}, "out of range for float"),
    (
        {"type": "decimal", "default": "1.234"},
        "bad default '1.234': has more than 2 decimal places",
    ),
    (
        {"type": "decimal", "default": 0.001, "scale": 2},
        "has more than 2 decimal places",
    ),
    (
        {"type": "decimal", "default": "123.4", "precision": 4, "scale": 2},
        "does not fit precision 4, scale 2",
    ),
    ({"type": "decimal", "default": "12.3.4"}, "not a decimal number"),
    ({"type": "decimal", "default": "NaN"}, "must be finite"),
    ({"type": "decimal", "default": "Infinity"}, "must be finite"),
    ({"type": "decimal", "default": True}, "expected a number or a numeric string"),
    ({"type": "decimal", "default": [1]}, "expected a number or a numeric string"),
    ({"type": "bool", "default": "yes"}, "bad default 'yes': expected true or false"),
    ({"type": "bool", "default": 1}, "expected true or false"),
    (
        {"type": "date", "default": "2024-02-30"},
        "bad default '2024-02-30': expected an ISO date",
    ),
    ({"type": "date", "default": "tomorrow"}, "expected an ISO date string"),
    ({"type": "date", "default": 20240101}, "expected an ISO date string"),
    (
        {"type": "date", "default": dt.datetime(2024, 1, 1, 12, 0)},
        "expected an ISO date string",
    ),
    ({"type": "datetime", "default": "yesterday"}, "expected ISO time string"),
    ({"type": "datetime", "default": dt.date(2024, 1, 1)}, "expected ISO time string"),
    ({"type": "uuid", "default": "not-a-uuid"}, "expected a UUID string"),
    ({"type": "uuid", "default": 12}, "expected a UUID string"),
    ({"type": "json", "default": math.nan}, "expected a JSON object"),
    ({"type": "json", "default": [1, 2]}, "expected a JSON object"),
    ({"type": "json", "default": {"x": math.nan}}, "not a JSON value"),
    ({"type": "json", "default": {"when": dt.date(2024, 1, 1)}}, "not a JSON value"),
    (
        {"type": "enum", "values": ["a", "b"], "default": "c"},
        "bad default 'c': not one of the enum values ['a', 'b']",
    ),
    (
        {"type": "enum", "values": ["1", "2"], "default": 1},
        "not one of the enum values",
    ),
]


@pytest.mark.parametrize(
    ("options", "message"),
    BAD_DEFAULTS,
    ids=[
        f"{options['type']}={options['default']!r}"[:40] for options, _ in BAD_DEFAULTS
    ],
)
def test_a_default_that_does_not_fit_its_type_is_refused(
    options: dict[str, Any], message: str
) -> None:
    assert_refused(
        one_field(name="value", **options), "model 'User', field 'value'", message
    )


def test_a_ref_cannot_have_a_default() -> None:
    data = spec(
        model("User"), model("Post", field("author", "ref", to="User", default=1))
    )
    assert_refused(data, "model 'Post', field 'author'", "a ref cannot have a default")


def test_a_duplicate_is_reported_once() -> None:
    assert problems_of(spec(model("User"), model("User"))) == [
        "model 'User': is defined more than once"
    ]
    assert problems_of(spec(model("User", field(), field()))) == [
        "model 'User', field 'email': is defined more than once"
    ]


def test_every_semantic_problem_is_reported_at_once() -> None:
    data = spec(
        model("User", field("id"), field("class"), field("age", "int", default="x")),
        model("Post", field("author", "ref", to="Nobody")),
    )
    problems = problems_of(data)
    assert len(problems) == 4, problems
    assert problems[0].startswith("model 'User', field 'id'")
    assert problems[3].startswith("model 'Post', field 'author'")


def test_spec_problems_is_empty_for_a_valid_spec_and_lists_them_otherwise() -> None:
    assert spec_problems(spec()) == []
    assert spec_problems(one_field(name="id")) == [
        (
            "model 'User', field 'id': name is reserved: a generated column, a library "
            "attribute or a name the generated code uses"
        )
    ]


# ---------------------------------------------------------------------------
# Hypothesis: random valid specs are accepted


@settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(valid_specs())
def test_random_valid_specs_are_accepted_and_give_a_context(
    data: dict[str, Any],
) -> None:
    parsed = parse_spec(data)
    context = build_context(parsed)
    assert [entity.name for entity in context.entities] == [
        model["name"] for model in data["models"]
    ]
    ordered = [entity.name for entity in context.entities_in_dependency_order]
    for entity in context.entities:
        for ref in entity.refs:
            assert ref.ref is not None
            assert ordered.index(ref.ref.target) <= ordered.index(entity.name)
        for field_info in entity.fields:
            literal = field_info.default_literal
            if literal is not None:
                compile(literal, "<default>", "eval")
    assert parse_spec_text(spec_yaml(parsed)) == parsed


# ---------------------------------------------------------------------------
# Hypothesis: junk never crashes the parser

_SPEC_KEYS = [
    "project_name",
    "package_name",
    "models",
    "name",
    "plural",
    "fields",
    "type",
    "optional",
    "unique",
    "index",
    "default",
    "max_length",
    "precision",
    "scale",
    "values",
    "to",
    "on_delete",
    "related_name",
]
junk_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=8)
    | st.sampled_from([*FIELD_TYPES, "User", "cascade", "set_null", "id", "class"])
    | st.dates()
)
junk = st.recursive(
    junk_scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(_SPEC_KEYS) | st.text(max_size=4), children, max_size=5
        )
    ),
    max_leaves=20,
)
junk_values = junk_scalars | st.lists(junk_scalars, max_size=3)
junk_fields = st.dictionaries(
    st.sampled_from(_SPEC_KEYS[4:]), junk_values, max_size=5
).map(lambda data: {"name": "x", "type": "str", **data})
junk_models = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["User", "Post"]) | junk_scalars,
        "fields": st.lists(junk_fields, max_size=3),
    },
    optional={"plural": junk_scalars},
)
spec_shaped_junk = st.fixed_dictionaries(
    {
        "project_name": st.just("App") | junk_scalars,
        "models": st.lists(junk_models, max_size=3),
    },
    optional={"package_name": junk_scalars},
)


def _parse_or_refuse(data: object) -> None:
    try:
        parse_spec(data)
    except SpecError as exc:
        assert exc.problems
        assert all(isinstance(problem, str) and problem for problem in exc.problems)


@settings(deadline=None, max_examples=100)
@given(junk)
def test_junk_data_is_refused_with_a_spec_error_and_nothing_else(data: object) -> None:
    _parse_or_refuse(data)


@settings(deadline=None, max_examples=150)
@given(spec_shaped_junk)
def test_spec_shaped_junk_is_refused_with_a_spec_error_and_nothing_else(
    data: dict[str, Any],
) -> None:
    _parse_or_refuse(data)


@settings(deadline=None, max_examples=100)
@given(st.text(max_size=60))
def test_junk_yaml_text_is_refused_with_a_spec_error_and_nothing_else(
    text: str,
) -> None:
    try:
        parse_spec_text(text)
    except SpecError as exc:
        assert exc.problems


# ---------------------------------------------------------------------------
# Hypothesis: spec strings reach code as literals that evaluate back to themselves

tricky_text = st.lists(
    st.characters(codec="utf-8", exclude_characters="\x00")
    | st.sampled_from(
        ["'", '"', "\\", "\n", "\r", "\t", "'''", '"""', "{{", "}}", "\\n", "é", "🐍"]
    ),
    max_size=12,
).map("".join)


@settings(deadline=None)
@given(text=tricky_text, kind=st.sampled_from(["str", "text"]))
def test_string_defaults_become_literals_that_evaluate_back_to_the_same_string(
    text: str, kind: str
) -> None:
    context = build_context(parse_spec(one_field(type=kind, default=text)))
    (field_info,) = context.entities[0].fields
    assert field_info.default_literal is not None
    assert ast.literal_eval(field_info.default_literal) == text
    assert field_info.column_args.endswith(f"default={field_info.default_literal}")


printable_text = st.text(
    st.characters(codec="utf-8", categories=("L", "N", "P", "S")) | st.just(" "),
    max_size=10,
)
# A leading letter gives every value a member name; the rest may be any punctuation.
tricky_enum_values = st.lists(
    st.tuples(st.sampled_from("abcxyz"), printable_text).map("".join),
    min_size=1,
    max_size=4,
    unique_by=_naming.enum_member,
)


@settings(deadline=None)
@given(tricky_enum_values)
def test_enum_values_become_literals_that_evaluate_back_to_the_same_string(
    values: list[str],
) -> None:
    context = build_context(
        parse_spec(one_field(name="status", type="enum", values=values))
    )
    (enum,) = context.entities[0].enums
    assert [ast.literal_eval(literal) for _, literal in enum.members] == values
    assert all(member.isidentifier() for member, _ in enum.members)


@settings(deadline=None)
@given(project_names)
def test_project_names_round_trip_through_python_and_toml_literals(name: str) -> None:
    context = build_context(parse_spec(spec(project_name=name, package_name="app")))
    assert ast.literal_eval(context.title_literal) == name
    assert tomllib.loads(f"x = {context.title_toml}") == {"x": name}


def test_a_parsed_spec_is_frozen() -> None:
    parsed: ProjectSpec = parse_spec(spec())
    with pytest.raises(ValidationError, match="frozen"):
        parsed.project_name = "Other"  # type: ignore[misc]


def test_admin_is_off_unless_asked_for_and_kept_only_when_on() -> None:
    off = parse_spec(spec())
    on = parse_spec(spec(admin=True))

    assert not off.admin and "admin" not in off.to_data()
    assert on.admin and on.to_data()["admin"] is True
    # The spec file keeps it under the project's name, before the models.
    assert spec_yaml(on).splitlines()[:2] == ["project_name: App", "admin: true"]


@pytest.mark.parametrize(
    ("models", "problem"),
    [
        ([model("AdminSession")], "which the admin (`admin: true`) also generates"),
        ([model("Session", plural="admin_sessions")], "table admin_sessions"),
        ([model("User"), model("UserAdmin")], "'UserAdmin', which model 'User'"),
        ([model("ModelAdmin")], "'ModelAdmin', which the admin"),
    ],
)
def test_with_the_admin_a_model_may_not_take_its_names(
    models: list[dict[str, Any]], problem: str
) -> None:
    assert spec_problems(spec(*models)) == []
    problems = spec_problems(spec(*models, admin=True))
    assert any(problem in found for found in problems), problems


def test_admin_must_be_a_boolean() -> None:
    assert spec_problems(spec(admin="yes")) == [
        "`admin`: Input should be a valid boolean"
    ]


# ---------------------------------------------------------------------------
# The time type: one entry in the type table (uowgen._schema.types)


@pytest.mark.parametrize("default", ["09:30", "23:59:59", "00:00:00.250000"])
def test_a_time_default_is_an_iso_time_of_day(default: str) -> None:
    parsed = parse_spec(one_field(type="time", default=default))
    (field_info,) = build_context(parsed).entities[0].fields
    assert field_info.py_type == "time"
    assert field_info.schema_type == "Clock"
    assert field_info.default_literal is not None
    assert field_info.default_literal.startswith("time(")


@pytest.mark.parametrize(
    ("default", "problem"),
    [
        (750, "quote it in YAML"),  # YAML 1.1 reads an unquoted 12:30 as 750
        ("noon", "expected an ISO time string"),
        ("25:00", "expected an ISO time string"),
        ("09:30+02:00", "no UTC offset"),
    ],
)
def test_a_bad_time_default_says_what_a_time_of_day_is(
    default: object, problem: str
) -> None:
    with pytest.raises(SpecError, match=problem):
        parse_spec(one_field(type="time", default=default))


def test_a_many_field_beside_a_ref_to_one_model_gets_its_own_reverse_name() -> None:
    parsed = parse_spec(
        spec(
            model("Tag", {"name": "label", "type": "str"}),
            model(
                "Post",
                {"name": "main_tag", "type": "ref", "to": "Tag"},
                {"name": "tags", "type": "many", "to": "Tag"},
            ),
        )
    )
    post = parsed.models[1]
    assert [related_name(post, field) for field in post.fields] == [
        "posts",  # as before the many field came
        "posts_by_tags",
    ]
