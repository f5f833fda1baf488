"""`auth` and `access` in the spec: off by default, the shorthand, every refusal.

With `auth: oidc` every route needs a bearer token; a model's `access` opens its reads
or writes (`public`) or asks for a role (`role:editor`). A bad value is refused with
where it is, exit code 2, and nothing written; the generated names auth adds are
reserved while it is on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from uowgen._check.spec import spec_changes
from uowgen._cli.commands import app
from uowgen._render.answers import (
    asked_spec,
    recorded_answers,
    recorded_spec,
    spec_answers,
)
from uowgen._render.context import build_context
from uowgen._render.spec_text import spec_yaml
from uowgen._spec.models import AUTH_NAMES, AccessSpec
from uowgen._spec.validate import parse_spec, parse_spec_text, spec_problems
from uowgen.errors import SpecError


def model(name: str = "User", **options: Any) -> dict[str, Any]:
    return {"name": name, "fields": [{"name": "email", "type": "str"}], **options}


def spec(*models: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"project_name": "App", "models": list(models) or [model()], **top}


# ---------------------------------------------------------------------------
# Valid specs


def test_auth_is_off_unless_asked_for() -> None:
    off = parse_spec(spec())

    assert off.auth is None
    assert "auth" not in off.to_data()
    assert "auth" not in spec_answers(off)
    assert build_context(off).auth_tests is None
    assert build_context(off).entities[0].read_access is None


@pytest.mark.parametrize("written", ["oidc", {"provider": "oidc"}])
def test_the_shorthand_and_the_block_are_the_same_auth(written: object) -> None:
    parsed = parse_spec(spec(auth=written))

    assert parsed.auth is not None
    assert parsed.auth.provider == "oidc"
    assert parsed.auth.roles_claim == "realm_access.roles"
    # Written back the short way, after the project's name, before the models.
    assert parsed.to_data()["auth"] == "oidc"
    assert spec_yaml(parsed).splitlines()[:2] == ["project_name: App", "auth: oidc"]


def test_the_block_is_kept_when_it_says_more() -> None:
    parsed = parse_spec(spec(auth={"provider": "oidc", "roles_claim": "roles"}))

    assert parsed.to_data()["auth"] == {"provider": "oidc", "roles_claim": "roles"}
    assert spec_yaml(parsed).splitlines()[1:4] == [
        "auth:",
        "  provider: oidc",
        "  roles_claim: roles",
    ]
    assert build_context(parsed).auth_roles_claim == "'roles'"


@pytest.mark.parametrize("off", [None, False])
def test_auth_null_or_false_is_off(off: object) -> None:
    assert parse_spec(spec(auth=off)).auth is None


def test_with_auth_every_route_needs_a_token_unless_access_says_otherwise() -> None:
    parsed = parse_spec(
        spec(
            model("Open", access={"read": "public"}),
            model("Closed"),
            model("Edited", access={"write": "role:editor"}),
            auth="oidc",
        )
    )

    rules = {m.name: m.access_rules() for m in parsed.models}
    assert rules["Open"] == AccessSpec(read="public", write="authenticated")
    assert rules["Closed"] == AccessSpec(read="authenticated", write="authenticated")
    assert rules["Edited"] == AccessSpec(read="authenticated", write="role:editor")
    context = build_context(parsed)
    entities = {e.name: e for e in context.entities}
    assert entities["Open"].read_access is not None
    assert entities["Open"].read_access.code == "AccessRule.public()"
    assert entities["Closed"].write_access is not None
    assert entities["Closed"].write_access.code == "AccessRule.authenticated()"
    assert entities["Edited"].write_access is not None
    assert entities["Edited"].write_access.code == "AccessRule.role('editor')"
    tests = context.auth_tests
    assert tests is not None
    assert tests.guarded is entities["Closed"] and tests.guarded_verb == "read"
    assert tests.write_role is entities["Edited"] and tests.read_role is None
    assert tests.public_read is entities["Open"] and tests.public_write is None
    assert tests.roles == ["editor"]


def test_a_role_written_without_quotes_reads_as_a_string() -> None:
    parsed = parse_spec_text(
        "project_name: App\nauth: oidc\nmodels:\n  - name: Post\n"
        "    access: {read: public, write: role:editor}\n"
        "    fields:\n      - {name: title, type: str}\n"
    )

    assert parsed.models[0].access == AccessSpec(read="public", write="role:editor")
    # uowgen.yml keeps it on the model's line, after the name.
    lines = spec_yaml(parsed).splitlines()
    assert lines[3:5] == [
        "  - name: Post",
        "    access: {read: public, write: 'role:editor'}",
    ]


@pytest.mark.parametrize(
    "role", ["editor", "app-editor", "offline_access", "realm.admin", "R2"]
)
def test_role_names_as_providers_write_them(role: str) -> None:
    assert (
        spec_problems(spec(model(access={"write": f"role:{role}"}), auth="oidc")) == []
    )


# ---------------------------------------------------------------------------
# Refusals: the reason and where


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (
            spec(model(access={"read": "everyone"}), auth="oidc"),
            (
                "model 'User', `access`, `read`: unknown access 'everyone'; expected "
                "public, authenticated or role:<name> (like role:editor)"
            ),
        ),
        (
            spec(model(access={"write": "Public"}), auth="oidc"),
            "model 'User', `access`, `write`: unknown access 'Public'",
        ),
        (
            spec(model(access={"write": "role:"}), auth="oidc"),
            "model 'User', `access`, `write`: bad role in 'role:'",
        ),
        (
            spec(model(access={"write": "role:1st"}), auth="oidc"),
            "model 'User', `access`, `write`: bad role in 'role:1st'",
        ),
        (
            spec(model(access={"write": "role:a b"}), auth="oidc"),
            "model 'User', `access`, `write`: bad role in 'role:a b'",
        ),
        (
            spec(model(access={"write": "role:x" + "y" * 64}), auth="oidc"),
            "model 'User', `access`, `write`: bad role in",
        ),
        (
            spec(model(access={"read": "public"})),
            (
                "model 'User', `access`: applies only with `auth` on (add `auth: oidc` "
                "at the top level)"
            ),
        ),
        (
            spec(model(access={"reed": "public"}), auth="oidc"),
            "model 'User', `access`, `reed`: unknown key (check the spelling)",
        ),
        (
            spec(model(access="public"), auth="oidc"),
            "model 'User', `access`: Input should be a valid dictionary",
        ),
        (
            spec(model(access={"read": 1}), auth="oidc"),
            "model 'User', `access`, `read`: Input should be a valid string",
        ),
        (spec(auth="saml"), "`auth`, `provider`: Input should be 'oidc'"),
        (spec(auth=True), "`auth`, `provider`: Input should be 'oidc'"),
        (
            spec(auth={"provider": "oidc", "roles": "x"}),
            "`auth`, `roles`: unknown key (check the spelling)",
        ),
        (
            spec(auth={"provider": "oidc", "roles_claim": "realm_access..roles"}),
            "`auth`, `roles_claim`: 'realm_access..roles' is not a dotted path",
        ),
    ],
)
def test_a_bad_auth_or_access_is_refused_with_where_it_is(
    data: dict[str, Any], problem: str
) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(data, source="spec.yml")
    assert any(found.startswith(problem) for found in info.value.problems), (
        info.value.problems
    )


def test_every_bad_access_is_listed_at_once_beside_other_problems() -> None:
    problems = spec_problems(
        spec(
            model("Post", access={"read": "anyone", "write": "role:"}),
            {"name": "Tag", "fields": [{"name": "label", "type": "strng"}]},
            auth="oidc",
        )
    )

    assert len(problems) == 3, problems
    assert any("`read`: unknown access 'anyone'" in p for p in problems)
    assert any("`write`: bad role in 'role:'" in p for p in problems)
    assert any("unknown type 'strng'" in p for p in problems)


def test_access_is_checked_even_when_a_typo_elsewhere_stops_pydantic() -> None:
    problems = spec_problems(
        spec(
            model("Post", access={"read": "anyone"}),
            {"name": "Tag", "feilds": []},
            auth="oidc",
        )
    )

    assert any("`feilds`: unknown key" in p for p in problems), problems
    assert any("`read`: unknown access 'anyone'" in p for p in problems), problems


@pytest.mark.parametrize("name", AUTH_NAMES)
def test_with_auth_a_model_may_not_take_its_names(name: str) -> None:
    assert spec_problems(spec(model(name))) == []
    problems = spec_problems(spec(model(name), auth="oidc"))
    assert problems == [
        (
            f"model {name!r}: generates the name {name!r}, which the auth package "
            "(`auth`) also generates"
        )
    ]


@pytest.mark.parametrize("package", ["jwt", "cryptography"])
def test_a_package_may_not_shadow_the_token_libraries(package: str) -> None:
    assert any(
        "would shadow a library" in p
        for p in spec_problems(spec(package_name=package, auth="oidc"))
    )


@pytest.mark.parametrize("command", ["validate", "new"])
def test_the_cli_exits_2_names_the_problem_and_writes_nothing(
    tmp_path: Path, command: str
) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "project_name: App\nauth: oidc\nmodels:\n  - name: Post\n"
        "    access: {read: anyone}\n    fields:\n      - {name: title, type: str}\n",
        encoding="utf-8",
    )
    dst = tmp_path / "project"
    args = ["validate", str(bad)] if command == "validate" else ["new", str(dst)]
    if command == "new":
        args += ["--spec", str(bad)]

    result = CliRunner().invoke(app, args)

    assert result.exit_code == 2, result.output
    assert "model 'Post', `access`, `read`: unknown access 'anyone'" in result.stderr
    assert not dst.exists()


# ---------------------------------------------------------------------------
# Copier's answers: `auth` recorded only when on


def test_the_answers_carry_auth_only_when_on() -> None:
    on = parse_spec(spec(model(access={"read": "public"}), auth="oidc"))
    answers = spec_answers(on)

    assert answers["auth"] == "oidc"
    assert answers["models"][0]["access"] == {"read": "public"}
    assert parse_spec(recorded_spec(answers)).renders_like(on)
    assert "auth" not in spec_answers(parse_spec(spec()))


@pytest.mark.parametrize("answer", [None, "", False])
def test_an_empty_auth_answer_is_off_and_not_recorded(answer: object) -> None:
    assert "auth" not in asked_spec([model()], "App", "app", False, answer)
    recorded = recorded_answers({"project_name": "App", "auth": answer})
    assert recorded == {"project_name": "App"}


def test_an_auth_answer_is_recorded_as_given() -> None:
    block = {"provider": "oidc", "roles_claim": "roles"}
    assert asked_spec([model()], "App", "app", False, block)["auth"] == block
    assert recorded_answers({"auth": "oidc"}) == {"auth": "oidc"}


def test_check_names_an_auth_or_access_change() -> None:
    off = parse_spec(spec(model("Post")))
    on = parse_spec(spec(model("Post"), auth="oidc"))
    opened = parse_spec(spec(model("Post", access={"read": "public"}), auth="oidc"))
    claimed = parse_spec(
        spec(model("Post"), auth={"provider": "oidc", "roles_claim": "r"})
    )

    assert spec_changes(off, on) == [("auth is now on", None)]
    assert spec_changes(on, off) == [("auth is now off", None)]
    assert spec_changes(on, opened) == [("Post: access changed", "Post")]
    assert spec_changes(on, claimed) == [("auth changed", None)]


# ---------------------------------------------------------------------------
# The user model and registration


def user(*fields: dict[str, Any], **options: Any) -> dict[str, Any]:
    listed = list(fields) or [{"name": "email", "type": "str", "unique": True}]
    return {"name": "User", "fields": listed, **options}


def with_user(*models: dict[str, Any], **auth: Any) -> dict[str, Any]:
    return spec(*models, auth={"provider": "oidc", "user_model": "User", **auth})


def test_the_user_model_gets_a_subject_column_no_schema_shows() -> None:
    context = build_context(parse_spec(with_user(user())))

    entity = context.entities[0]
    assert entity.subject is not None
    assert (entity.subject.attr, entity.subject.uq_name) == (
        "subject",
        "uq_users_subject",
    )
    assert "subject" not in [f.name for f in entity.fields]
    assert context.auth_user is not None
    assert context.auth_user.entity is entity
    # Nothing else names a subject: only the user model has the column.
    other = build_context(parse_spec(with_user(user(), model("Note"))))
    assert other.entities[1].subject is None


def test_a_row_is_made_from_a_token_only_if_its_claims_fill_every_required_field() -> (
    None
):
    fillable = user(
        {"name": "email", "type": "str", "unique": True},
        {"name": "first_name", "type": "str"},
        {"name": "bio", "type": "text", "optional": True},
        {"name": "active", "type": "bool", "default": True},
    )
    context = build_context(parse_spec(with_user(fillable)))
    assert context.auth_user is not None
    assert context.auth_user.from_token
    assert [(c.field.name, c.claim) for c in context.auth_user.claims] == [
        ("email", "email"),
        ("first_name", "given_name"),
    ]

    needs_a_ref = user(
        {"name": "email", "type": "str", "unique": True},
        {"name": "team", "type": "ref", "to": "Team"},
    )
    team = {"name": "Team", "fields": [{"name": "code", "type": "str"}]}
    context = build_context(parse_spec(with_user(needs_a_ref, team)))
    assert context.auth_user is not None
    assert not context.auth_user.from_token


def test_the_subject_is_in_the_first_migration() -> None:
    from uowgen._migrate.writer import initial_migration

    text = initial_migration(parse_spec(with_user(user())))

    assert 'sa.Column("subject", sa.String(length=255), nullable=True)' in text
    assert 'sa.UniqueConstraint("subject", name=op.f("uq_users_subject"))' in text


@pytest.mark.parametrize(
    ("data", "where", "says"),
    [
        (
            spec(model(), auth={"provider": "oidc", "user_model": "Member"}),
            "`auth`, `user_model`",
            "no model is named 'Member' (the spec's models: User)",
        ),
        (
            with_user(user({"name": "subject", "type": "str"})),
            "model 'User', field 'subject'",
            "the name is taken",
        ),
        (
            spec(model(), auth={"provider": "oidc", "registration": True}),
            "`auth`, `registration`",
            "needs `user_model`",
        ),
        (
            with_user(user({"name": "email", "type": "str"}), registration=True),
            "`auth`, `registration`",
            "needs a unique `email` field of type str on 'User'",
        ),
        (
            with_user(
                user(
                    {"name": "email", "type": "str", "unique": True},
                    {"name": "password", "type": "str"},
                ),
                registration=True,
            ),
            "model 'User', field 'password'",
            "goes to the provider only",
        ),
        (
            with_user(user(), model("Mee", plural="me")),
            "model 'Mee'",
            "generates the name 'route /me'",
        ),
        (
            with_user(user(), model("Registration"), registration=True),
            "model 'Registration'",
            "generates the name 'route /registrations'",
        ),
    ],
)
def test_a_bad_user_model_or_registration_is_refused_with_where(
    data: dict[str, Any], where: str, says: str
) -> None:
    problems = spec_problems(data)

    assert any(p.startswith(f"{where}: ") and says in p for p in problems), problems
    with pytest.raises(SpecError):
        parse_spec(data)


def test_a_bad_user_model_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "models.yml"
    bad.write_text(
        "project_name: App\nauth: {provider: oidc, user_model: Member}\n"
        "models:\n  - {name: User, fields: [{name: email, type: str}]}\n"
    )
    result = CliRunner().invoke(
        app, ["new", str(tmp_path / "out"), "--spec", str(bad), "--defaults"]
    )

    assert result.exit_code == 2, result.output
    assert "user_model" in result.output
    assert not (tmp_path / "out").exists()


def test_user_model_and_registration_round_trip_through_the_answers() -> None:
    parsed = parse_spec(with_user(user(), registration=True))

    assert parsed.to_data()["auth"] == {
        "provider": "oidc",
        "user_model": "User",
        "registration": True,
    }
    answers = recorded_answers(spec_answers(parsed))
    assert parse_spec(recorded_spec(answers)).renders_like(parsed)
