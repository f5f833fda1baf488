"""`uowgen check`'s pure parts: versions, spec changes, wiring, alembic, formats."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import pytest

from tests.conftest import REPO
from uowgen._check import project_probe
from uowgen._check.conflicts import conflict_findings, project_files
from uowgen._check.findings import CODES, Finding, finding
from uowgen._check.migrations import (
    PROBE,
    MigrationOutcome,
    describe_operation,
    given_python,
    migration_findings,
    parse_alembic_message,
    parse_outcome,
    run_migration_check,
)
from uowgen._check.run import Report, format_report
from uowgen._check.spec import spec_changes, spec_lines
from uowgen._check.versions import parse_pip_versions, version_findings
from uowgen._check.wiring import (
    ModelWiring,
    WiringFile,
    analyse_models_init,
    analyse_registry,
    analyse_router,
    expected_wiring,
)
from uowgen._doctor import RULES
from uowgen._report import ReportFormat, docs_link
from uowgen._spec.validate import parse_spec
from uowgen.errors import UowgenError

USER = ModelWiring("User", "user", "users", "UserRepository")
USER_TYPE = ModelWiring("UserType", "user_type", "user_types", "UserTypeRepository")
MODELS = [USER_TYPE, USER]

MODELS_INIT = '''\
"""Every model."""

from app.models.base import Base
from app.models.user import User
from app.models.user_type import UserType

__all__ = ["Base", "User", "UserType"]
'''

REGISTRY = '''\
"""One attribute per repository."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.repositories.user import UserRepository
from app.repositories.user_type import UserTypeRepository


class Repositories:
    """The repositories of every model, sharing one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.user_types = UserTypeRepository(session)
        self.users = UserRepository(session)
'''

ROUTER = '''\
"""All routers."""

from fastapi import APIRouter

from app.api.routes import user, user_type

api_router = APIRouter()
api_router.include_router(user_type.router)
api_router.include_router(user.router)
'''

ALEMBIC_MESSAGE = (
    "New upgrade operations detected: [('add_table', Table('tags', MetaData(), "
    "Column('label', String(length=40), table=<tags>, nullable=False), "
    "Column('id', BigInteger(), table=<tags>, primary_key=True, nullable=False), "
    "schema=None)), ('add_column', None, 'users', Column('phone', "
    "String(length=20), table=<users>)), ('remove_index', Index('ix_users_code', "
    "Column('code', String(length=40), table=<users>))), [('modify_nullable', "
    "None, 'users', 'nickname', {'existing_type': VARCHAR(length=255)}, True, "
    "False)]]"
)

USER_TYPE_SPEC: dict[str, Any] = {
    "name": "UserType",
    "fields": [{"name": "code", "type": "str"}],
}
USER_SPEC: dict[str, Any] = {
    "name": "User",
    "fields": [
        {"name": "email", "type": "str", "unique": True},
        {"name": "type", "type": "ref", "to": "UserType"},
    ],
}
SPEC: dict[str, Any] = {"project_name": "App", "models": [USER_TYPE_SPEC, USER_SPEC]}


def codes(findings: list[Finding]) -> list[str]:
    return [item.code for item in findings]


# --- versions ---------------------------------------------------------------------


def test_the_same_version_is_in_step() -> None:
    assert version_findings("0.3.0", "0.3.0") == []


def test_an_older_recorded_version_asks_for_uowgen_update() -> None:
    [item] = version_findings("0.3.0", "0.2.0", line=83)
    assert (item.code, item.kind, item.fix) == (
        "UG101",
        "template-behind",
        "uowgen update",
    )
    assert (item.path, item.line) == (".copier-answers.yml", 83)
    assert "0.2.0" in item.message and "0.3.0" in item.message


def test_versions_are_compared_as_versions_not_strings() -> None:
    # "0.10.0" < "0.9.0" as text: a string comparison would say the opposite.
    assert codes(version_findings("0.10.0", "0.9.0")) == ["UG101"]
    assert codes(version_findings("0.9.0", "0.10.0")) == ["UG102"]


def test_a_newer_recorded_version_asks_to_install_that_uowgen() -> None:
    [item] = version_findings("0.3.0", "0.4.1")
    assert item.kind == "template-ahead"
    assert item.fix == "pip install 'uowgen>=0.4.1'"


@pytest.mark.parametrize("recorded", [None, "not a version"])
def test_a_missing_or_unreadable_record_is_a_finding(recorded: str | None) -> None:
    [item] = version_findings("0.3.0", recorded)
    assert item.kind == "version-unrecorded"
    assert "_uowgen_version" in item.message + item.fix


def test_a_newer_release_on_the_index_is_a_finding_only_when_newer() -> None:
    assert version_findings("0.3.0", "0.3.0", latest="0.3.0") == []
    [item] = version_findings("0.3.0", "0.3.0", latest="9.0.0")
    assert item.kind == "release-available"
    assert item.fix == "pip install -U uowgen && uowgen update"


def test_pip_index_output_gives_the_newest_version() -> None:
    output = (
        "uowgen (9.0.0)\nAvailable versions: 9.0.0, 0.2.0\n"
        "  INSTALLED: 0.3.0\n  LATEST:    9.0.0\n"
    )
    assert parse_pip_versions(output) == "9.0.0"
    assert parse_pip_versions("ERROR: No matching distribution found") is None
    assert parse_pip_versions("uowgen (not-a-version)") is None


# --- the spec ---------------------------------------------------------------------


def test_a_package_left_to_derive_equals_the_same_package_given() -> None:
    derived = parse_spec(SPEC)
    given = parse_spec({**SPEC, "package_name": "app"})
    other = parse_spec({**SPEC, "package_name": "other"})
    assert derived != given  # what a plain comparison says
    assert derived.renders_like(given)
    assert not derived.renders_like(other)


def test_spec_changes_name_models_and_fields() -> None:
    old = parse_spec(SPEC)
    grown = {
        **USER_SPEC,
        "fields": [*USER_SPEC["fields"], {"name": "p", "type": "int"}],
    }
    tag = {"name": "Tag", "fields": [{"name": "label", "type": "str"}]}
    new = parse_spec({**SPEC, "models": [USER_TYPE_SPEC, grown, tag]})
    assert spec_changes(old, new) == [
        ("User: p added", "User"),
        ("model Tag added", "Tag"),
    ]
    removed = parse_spec({**SPEC, "models": [USER_TYPE_SPEC]})
    assert spec_changes(old, removed) == [("model User removed", None)]
    with_admin = parse_spec({**SPEC, "admin": True})
    assert spec_changes(old, with_admin) == [("admin is now on", None)]
    assert spec_changes(with_admin, old) == [("admin is now off", None)]


def test_spec_lines_point_at_each_model() -> None:
    text = (
        "# comment\nproject_name: App\nmodels:\n  - name: UserType\n"
        "    fields: []\n  - {name: User, fields: []}\n"
    )
    assert spec_lines(text) == {"": 3, "UserType": 4, "User": 6}
    assert spec_lines("models: [") == {}


# --- wiring -----------------------------------------------------------------------


def test_expected_wiring_uses_the_templates_names() -> None:
    spec = parse_spec(
        {"project_name": "App", "models": [{"name": "HTTPLog", "fields": SPEC_FIELD}]}
    )
    assert expected_wiring(spec) == [
        ModelWiring("HTTPLog", "http_log", "http_logs", "HTTPLogRepository")
    ]


SPEC_FIELD = [{"name": "code", "type": "str"}]
EXISTS = ["__init__", "base", "registry", "user", "user_type"]


def models_init(source: str | None) -> list[Finding]:
    return analyse_models_init(
        WiringFile("src/app/models/__init__.py", source), "app", MODELS, EXISTS
    )


def registry(source: str | None) -> list[Finding]:
    return analyse_registry(
        WiringFile("src/app/repositories/registry.py", source), "app", MODELS, EXISTS
    )


def router(source: str | None) -> list[Finding]:
    return analyse_router(
        WiringFile("src/app/api/router.py", source), "app", MODELS, EXISTS
    )


def test_the_generated_wiring_is_in_step() -> None:
    assert models_init(MODELS_INIT) == []
    assert registry(REGISTRY) == []
    assert router(ROUTER) == []


def test_a_deleted_model_import_is_reported_with_the_line_to_restore() -> None:
    [item] = models_init(MODELS_INIT.replace("from app.models.user import User\n", ""))
    assert (item.kind, item.path, item.line) == (
        "wiring-missing",
        "src/app/models/__init__.py",
        4,
    )
    assert "User" in item.message
    assert "from app.models.user import User" in item.fix


def test_a_deleted_registry_line_is_reported_at_the_end_of_init() -> None:
    [item] = registry(
        REGISTRY.replace("        self.users = UserRepository(session)\n", "")
    )
    assert item.kind == "wiring-missing"
    assert item.line == 14  # the last line of Repositories.__init__
    assert "self.users = UserRepository(session)" in item.fix


def test_a_repository_assigned_under_another_class_is_reported_where_it_is() -> None:
    source = REGISTRY.replace("UserRepository(session)", "UserTypeRepository(session)")
    [item] = registry(source)
    assert (item.kind, item.line) == ("wiring-missing", 15)


def test_a_router_not_included_is_reported() -> None:
    [item] = router(ROUTER.replace("api_router.include_router(user.router)\n", ""))
    assert item.kind == "wiring-missing"
    assert "include_router(user.router)" in item.fix
    assert item.line == 8


def test_relative_and_aliased_imports_count_as_wiring() -> None:
    relative = MODELS_INIT.replace("from app.models.", "from .")
    assert models_init(relative) == []
    aliased = (
        "from fastapi import APIRouter\n"
        "from .routes.user import router as user_router\n"
        "from app.api.routes import user_type as types\n"
        "api_router = APIRouter()\n"
        "api_router.include_router(user_router)\n"
        "api_router.include_router(types.router, prefix='/v1')\n"
    )
    assert router(aliased) == []


def test_the_users_own_models_repositories_and_routers_are_not_reported() -> None:
    # The generated README says to add them here; their modules exist.
    exists = [*EXISTS, "audit"]
    source = MODELS_INIT + "from app.models.audit import AuditEntry\n"
    found = analyse_models_init(WiringFile("m.py", source), "app", MODELS, exists)
    assert found == []
    source = ROUTER.replace("user, user_type", "audit, user, user_type")
    source += "api_router.include_router(audit.router)\n"
    assert analyse_router(WiringFile("r.py", source), "app", MODELS, exists) == []


def test_wiring_of_a_module_that_is_gone_is_stale() -> None:
    source = MODELS_INIT + "from app.models.tag import Tag\n"
    [item] = models_init(source)
    assert (item.kind, item.line) == ("wiring-stale", 8)
    assert "app.models.tag" in item.message
    source = REGISTRY.replace(
        "\n\nclass", "\nfrom app.repositories.tag import TagRepository\n\n\nclass"
    )
    assert [(i.kind, i.line) for i in registry(source)] == [("wiring-stale", 8)]
    source = ROUTER.replace("user, user_type", "tag, user, user_type")
    assert [(i.kind, i.line) for i in router(source)] == [("wiring-stale", 5)]


def test_a_missing_or_broken_wiring_file_is_a_finding_not_a_crash() -> None:
    [missing] = registry(None)
    assert (missing.kind, missing.path) == (
        "wiring-file-missing",
        "src/app/repositories/registry.py",
    )
    assert "git checkout -- src/app/repositories/registry.py" in missing.fix
    [broken] = router(ROUTER.replace("api_router = APIRouter()", "api_router = ("))
    assert (broken.kind, broken.line) == ("wiring-file-invalid", 7)
    [no_class] = registry("from x import y\n")
    assert no_class.kind == "wiring-missing"
    assert "Repositories" in no_class.message


# --- alembic ----------------------------------------------------------------------


def test_alembics_message_is_read_into_operations() -> None:
    assert parse_alembic_message(ALEMBIC_MESSAGE) == [
        {"op": "add_table", "table": "tags"},
        {"op": "add_column", "table": "users", "column": "phone"},
        {"op": "remove_index", "table": "users", "name": "ix_users_code"},
        {"op": "modify_nullable", "table": "users", "column": "nickname"},
    ]
    assert parse_alembic_message("nothing here") == []


def test_operations_read_as_sentences_naming_tables_and_columns() -> None:
    assert describe_operation({"op": "add_table", "table": "tags"}) == (
        "table tags is in the models but no migration creates it"
    )
    assert describe_operation(
        {"op": "add_column", "table": "users", "column": "phone"}
    ) == ("column users.phone is in the model but no migration adds it")
    assert (
        describe_operation(
            {
                "op": "modify_nullable",
                "table": "users",
                "column": "nickname",
                "old": True,
                "new": False,
            }
        )
        == "column users.nickname is NOT NULL in the model, nullable in the migrations"
    )
    unknown = describe_operation({"op": "add_widget", "table": "t", "detail": "x"})
    assert unknown == "add_widget on t: x"


def test_drift_without_a_spec_change_asks_alembic_for_a_revision() -> None:
    outcome = parse_outcome(
        {
            "status": "drift",
            "operations": [
                {"op": "add_table", "table": "tags", "path": "src/a/tag.py", "line": 9},
                {"op": "add_column", "table": "users", "column": "phone"},
            ],
        }
    )
    found = migration_findings(outcome)
    assert [(i.code, i.path, i.line) for i in found] == [
        ("UG501", "src/a/tag.py", 9),
        ("UG501", None, None),
    ]
    assert found[0].fix == (
        'alembic revision --autogenerate -m "add table tags, add users.phone"'
    )
    assert migration_findings(outcome, spec_changed=True)[0].fix == "uowgen sync"


def test_the_revision_message_names_a_new_table_once_not_its_indexes_too() -> None:
    outcome = parse_outcome(
        {
            "status": "drift",
            "operations": [
                {"op": "add_table", "table": "articles_tags"},
                {"op": "add_index", "table": "articles_tags", "columns": ["tag_id"]},
                {"op": "remove_index", "table": "users", "columns": ["code"]},
            ],
        }
    )
    found = migration_findings(outcome)
    assert len(found) == 3
    assert found[0].fix == (
        'alembic revision --autogenerate -m "add table articles_tags, remove users"'
    )


def test_drift_from_alembics_message_alone_is_still_described() -> None:
    found = migration_findings(MigrationOutcome("drift", message=ALEMBIC_MESSAGE))
    assert len(found) == 4
    assert found[0].message == "table tags is in the models but no migration creates it"
    assert "and 2 more" in found[0].fix


def test_a_migration_that_fails_is_a_finding_with_alembics_error() -> None:
    outcome = parse_outcome(
        {
            "status": "failed",
            "stage": "upgrade",
            "error": "OperationalError: no such table: users\n[SQL: ALTER ...]",
            "path": "migrations/versions/0002_x.py",
            "line": 21,
        }
    )
    [item] = migration_findings(outcome)
    assert (item.kind, item.path, item.line) == (
        "migration-failed",
        "migrations/versions/0002_x.py",
        21,
    )
    assert item.message.endswith("OperationalError: no such table: users")
    heads = MigrationOutcome("failed", error="Multiple head revisions are present")
    assert migration_findings(heads)[0].fix == 'alembic merge heads -m "merge heads"'


def test_a_check_that_cannot_run_says_how_to_make_it_run() -> None:
    outcome = parse_outcome({"status": "unavailable", "error": "No module 'fastapi'"})
    [item] = migration_findings(outcome)
    assert item.kind == "migrations-unchecked"
    assert "pip install -e ." in item.fix
    assert parse_outcome({"status": "?"}).status == "unavailable"
    assert migration_findings(parse_outcome({"status": "ok"})) == []


# --- conflicts --------------------------------------------------------------------


def test_markers_rej_files_and_the_conflict_list_are_each_reported(
    tmp_path: Path,
) -> None:
    (tmp_path / "a.py").write_text("x\n<<<<<<< yours\na\n=======\nb\n>>>>>>> new\n")
    (tmp_path / "README.md.rej").write_text("@@ -1 +1 @@\n-a\n+b\n")
    (tmp_path / ".uowgen-conflicts").write_text("a.py\n")
    # Not project files: never scanned.
    for skipped in (".venv", "node_modules", ".git"):
        (tmp_path / skipped).mkdir()
        (tmp_path / skipped / "b.py").write_text("<<<<<<< yours\n")
        (tmp_path / skipped / "c.rej").write_text("")
    (tmp_path / "data.bin").write_bytes(b"\0<<<<<<< yours\n")
    found = conflict_findings(tmp_path)
    assert [(i.kind, i.path, i.line) for i in found] == [
        ("conflict-marker", "a.py", 2),
        ("reject-file", "README.md.rej", None),
        ("conflicts-listed", ".uowgen-conflicts", None),
    ]
    assert "delete .uowgen-conflicts" in found[0].fix
    assert "README.md" in found[1].fix


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_in_git_the_files_are_tracked_and_untracked_but_not_ignored(
    tmp_path: Path,
) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text("*.db\nbuild/\n")
    (tmp_path / "a.py").write_text("")
    (tmp_path / "app.db").write_text("")
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "x.rej").write_text("")
    assert project_files(tmp_path) == [".gitignore", "a.py"]


# --- output -----------------------------------------------------------------------


def report(*findings: Finding) -> Report:
    return Report(
        project=Path("/work/app"),
        uowgen_version="0.3.0",
        recorded_version="0.2.0",
        findings=findings,
    )


DRIFT = finding("migration-drift", "table tags", "alembic revision", "src/a.py", 9)
SPEC_FINDING = finding("spec-unapplied", "changes", "uowgen sync", "uowgen.yml")
LATEST = finding("release-available", "100% new,\r\nbetter: yes", "pip install -U")


def test_text_is_one_line_per_finding_then_a_summary() -> None:
    text = format_report(report(DRIFT, SPEC_FINDING, LATEST), ReportFormat.TEXT)
    assert text.splitlines() == [
        "src/a.py:9: UG501 table tags (fix: alembic revision)",
        "uowgen.yml: UG201 changes (fix: uowgen sync)",
        "UG104 100% new, better: yes (fix: pip install -U)",
        "3 findings: /work/app is not in step with uowgen 0.3.0 and uowgen.yml",
    ]
    assert format_report(report(), ReportFormat.TEXT) == (
        "/work/app is in step with uowgen 0.3.0 and uowgen.yml"
    )


def test_paths_are_shown_relative_to_the_current_folder_when_under_it() -> None:
    text = format_report(report(DRIFT), ReportFormat.TEXT, cwd=Path("/work"))
    assert text.startswith("app/src/a.py:9: UG501")
    text = format_report(report(DRIFT), ReportFormat.TEXT, cwd=Path("/elsewhere"))
    assert text.startswith("/work/app/src/a.py:9: UG501")


def test_json_has_the_documented_shape() -> None:
    data = json.loads(format_report(report(DRIFT, LATEST), ReportFormat.JSON))
    assert data == {
        "schema": 1,
        "project": "/work/app",
        "uowgen_version": "0.3.0",
        "recorded_version": "0.2.0",
        "latest_version": None,
        "ok": False,
        "findings": [
            {
                "code": "UG501",
                "kind": "migration-drift",
                "message": "table tags",
                "fix": "alembic revision",
                "path": "src/a.py",
                "line": 9,
                "docs": "docs/check/UG501.md",
            },
            {
                "code": "UG104",
                "kind": "release-available",
                "message": "100% new,\r\nbetter: yes",
                "fix": "pip install -U",
                "path": None,
                "line": None,
                "docs": "docs/check/UG104.md",
            },
        ],
    }
    assert json.loads(format_report(report(), ReportFormat.JSON))["ok"] is True


def test_github_annotations_escape_what_the_runner_unescapes() -> None:
    lines = format_report(
        report(DRIFT, SPEC_FINDING, LATEST), ReportFormat.GITHUB
    ).splitlines()
    assert lines[0] == (
        "::error file=src/a.py,line=9,title=UG501 migration-drift::table tags "
        "(fix: alembic revision; docs: docs/check/UG501.md)"
    )
    assert lines[1] == (
        "::error file=uowgen.yml,title=UG201 spec-unapplied::changes "
        "(fix: uowgen sync; docs: docs/check/UG201.md)"
    )
    assert lines[2] == (
        "::error title=UG104 release-available::100%25 new,%0D%0Abetter: yes "
        "(fix: pip install -U; docs: docs/check/UG104.md)"
    )
    odd = finding("conflict-marker", "m", "f", "a,b:c%.py", 1)
    assert format_report(report(odd), ReportFormat.GITHUB).startswith(
        "::error file=a%2Cb%3Ac%25.py,line=1,"
    )


def test_every_kind_has_a_distinct_stable_code() -> None:
    assert len(set(CODES.values())) == len(CODES)
    assert all(code.startswith("UG") and len(code) == 5 for code in CODES.values())


def test_every_code_links_to_its_documentation_page() -> None:
    codes = [*CODES.values(), *(rule.code for rule in RULES)]
    assert docs_link("UG201") == "docs/check/UG201.md"
    assert docs_link("UOW001") == "docs/doctor/UOW001.md"
    assert [code for code in codes if not (REPO / docs_link(code)).is_file()] == []
    with pytest.raises(ValueError, match="UX1"):
        docs_link("UX1")


def test_the_probe_runs_without_uowgen(tmp_path: Path) -> None:
    # -I -S: no site-packages, no PYTHONPATH, not the probe's own folder; alembic
    # is missing too, which the probe reports instead of failing.
    out = tmp_path / "result.json"
    subprocess.run(
        [sys.executable, "-I", "-S", str(PROBE), str(tmp_path), str(out)],
        check=True,
        cwd=tmp_path,
    )
    outcome = parse_outcome(json.loads(out.read_text(encoding="utf-8")))
    assert outcome.status == "not-installed"
    assert outcome.missing == ("alembic", "sqlalchemy", "greenlet", "aiosqlite")


# --- UG504: the project not installed where the check runs ------------------------


PYPROJECT = """\
[project]
name = "notes"
dependencies = [
  "sqlalchemy[asyncio]==2.1.9",
  "Alembic >= 1.0",
  "no_such-dist.xyz==1.0",
  "pywin32==306; sys_platform == 'win32'",
]
"""


def test_the_projects_declared_dependencies_are_read_by_name(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")

    assert project_probe.declared_dependencies(tmp_path) == [
        "sqlalchemy",
        "Alembic",
        "no_such-dist.xyz",
    ]
    assert project_probe.declared_dependencies(tmp_path / "nowhere") == []


def test_a_missing_declared_or_needed_dependency_is_found_without_importing(
    tmp_path: Path,
) -> None:
    # This interpreter has the `project` extra: all but the made-up distribution.
    (tmp_path / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    assert project_probe.missing_dependencies(tmp_path) == ["no_such-dist.xyz"]
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    assert project_probe.missing_dependencies(tmp_path) == []


def test_an_import_error_of_a_dependency_while_migrating_is_not_installed(
    tmp_path: Path,
) -> None:
    (tmp_path / "src" / "notes").mkdir(parents=True)
    dependency = ModuleNotFoundError("No module named 'greenlet'", name="greenlet")
    own = ModuleNotFoundError("No module named 'notes.gone'", name="notes.gone")

    assert project_probe.failure("upgrade", dependency, tmp_path) == {
        "status": "not-installed",
        "missing": ["greenlet"],
        "error": "ModuleNotFoundError: No module named 'greenlet'",
    }
    assert project_probe.failure("upgrade", own, tmp_path)["status"] == "failed"


def not_installed(
    chosen: Literal["--python", ".venv", "uowgen"], python: str, *missing: str
) -> Finding:
    outcome = parse_outcome(
        {"status": "not-installed", "missing": list(missing), "error": "..."}
    )
    [item] = migration_findings(replace(outcome, python=python, chosen=chosen))
    return item


def test_not_installed_is_ug504_saying_how_to_install_the_project() -> None:
    without_venv = not_installed("uowgen", "/usr/bin/python3", "greenlet", "aiosqlite")
    in_venv = not_installed(".venv", ".venv/bin/python", *"abcdefg")
    given = not_installed("--python", "/opt/py/bin/python", "fastapi")

    assert (without_venv.code, without_venv.kind) == ("UG504", "project-not-installed")
    assert without_venv.message == (
        "the project is not installed: it has no .venv, and the interpreter running "
        "uowgen (/usr/bin/python3) lacks greenlet, aiosqlite"
    )
    assert without_venv.fix == (
        "create .venv with `python -m venv .venv && .venv/bin/pip install -e "
        "'.[dev]'`, or pass --python PATH"
    )
    assert in_venv.message.endswith(
        "(.venv/bin/python): it lacks a, b, c, d, e and 2 more"
    )
    assert "`.venv/bin/pip install -e '.[dev]'`" in in_venv.fix
    assert "--python /opt/py/bin/python: it lacks fastapi" in given.message
    assert "`/opt/py/bin/python -m pip install -e '.[dev]'`" in given.fix
    assert docs_link("UG504") == "docs/check/UG504.md"


def test_the_check_in_an_interpreter_without_the_project_is_ug504(
    tmp_path: Path,
) -> None:
    # An interpreter with the standard library only (-I -S), as a bare venv's is.
    (tmp_path / "alembic.ini").write_text("[alembic]\n", encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    bare = tmp_path / "python"
    bare.write_text(f'#!/bin/sh\nexec "{sys.executable}" -I -S "$@"\n')
    bare.chmod(0o755)

    outcome = run_migration_check(tmp_path, str(bare))

    assert (outcome.status, outcome.chosen, outcome.python) == (
        "not-installed",
        "--python",
        "python",  # shown relative to the project
    )
    assert outcome.missing[:3] == ("sqlalchemy", "Alembic", "no_such-dist.xyz")
    assert "greenlet" in outcome.missing
    assert codes(migration_findings(outcome)) == ["UG504"]


def test_python_must_name_an_executable_file(tmp_path: Path) -> None:
    plain = tmp_path / "plain.txt"
    plain.write_text("")

    assert given_python(sys.executable) == str(Path(sys.executable).absolute())
    name = Path(sys.executable).name  # a bare name is looked up on PATH
    if shutil.which(name):
        assert given_python(name) == shutil.which(name)
    for bad, why in [
        (tmp_path / "nope", "no such file"),
        (tmp_path, "not an executable file"),
        (plain, "not an executable file"),
    ]:
        with pytest.raises(UowgenError, match=why) as raised:
            given_python(str(bad))
        assert f"--python {bad}: " in raised.value.message
        assert "`uowgen check --python .venv/bin/python`" in raised.value.message
    assert not os.access(plain, os.X_OK)
