"""Growing a generated project: add-model, add-field, remove-model, rename-field, sync.

The scenario of the issue, as a user runs it: a committed project with edits in
several places and a migrated SQLite database holding rows, grown step by step; after
each step the migration keeps every row and every edit is still there, and at the
end the project's own ruff, mypy --strict and tests pass. A many field is added,
linked through the project's own API, renamed, its target model renamed, and removed:
every link is kept until the field goes.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import create_async_engine
from typer.testing import CliRunner

from tests.conftest import REPO
from tests.helpers import BLOG_WITH_TAGS, check_project, copy_template, run
from tests.helpers import FASTBOT_EDITS as EDITS
from uowgen import generate, load_spec
from uowgen._cli.commands import app

pytestmark = pytest.mark.slow


def git(project: Path, *args: str) -> str:
    return run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], project)


def uowgen(runner: CliRunner, project: Path, *args: str, code: int = 0) -> str:
    result = runner.invoke(app, [*args, "--project", str(project)])
    assert result.exit_code == code, result.output
    return result.output


def alembic(project: Path, url: str, *args: str) -> None:
    run(
        [sys.executable, "-m", "alembic", *args],
        project,
        DATABASE_URL=url,
        PYTHONPATH=str(project / "src"),
    )


def alembic_upgrade(project: Path, database: Path) -> None:
    alembic(project, f"sqlite+aiosqlite:///{database}", "upgrade", "head")


def execute(url: str, *statements: str) -> list[list[tuple[object, ...]]]:
    """Run SQL statements on a database; the rows each returned."""

    async def go() -> list[list[tuple[object, ...]]]:
        engine = create_async_engine(url)
        try:
            async with engine.begin() as connection:
                results = []
                for statement in statements:
                    result = await connection.execute(text(statement))
                    results.append(
                        [tuple(r) for r in result.all()] if result.returns_rows else []
                    )
                return results
        finally:
            await engine.dispose()

    return asyncio.run(go())


def rows(database: Path | str, table: str) -> list[tuple[object, ...]]:
    url = database if isinstance(database, str) else f"sqlite+aiosqlite:///{database}"
    return execute(url, f"SELECT * FROM {table} ORDER BY id")[0]


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file, or a new database on the throwaway
    PostgreSQL cluster."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'app.db'}"
        return
    server: str = request.getfixturevalue("postgres_url")
    name = f"sync_{secrets.token_hex(4)}"
    execute_autocommit(server, f"CREATE DATABASE {name}")
    yield server.rsplit("/", 1)[0] + f"/{name}"
    execute_autocommit(server, f"DROP DATABASE {name} WITH (FORCE)")


def execute_autocommit(url: str, statement: str) -> None:
    async def go() -> None:
        engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as connection:
                await connection.execute(text(statement))
        finally:
            await engine.dispose()

    asyncio.run(go())


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    """The fastbot example, committed, edited in several places, and committed."""
    root = generate(load_spec(REPO / "examples" / "fastbot.yml"), tmp_path / "bot")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "generated")
    for path, addition in EDITS.items():
        with (root / path).open("a", encoding="utf-8") as handle:
            handle.write(addition)
    settings = root / "src/fastbot/settings.py"
    settings.write_text(
        settings.read_text().replace("db_pool_size: int = 10", "db_pool_size: int = 7")
    )
    git(root, "commit", "-qam", "my edits")
    yield root


def seed_rows(url: str) -> None:
    # Rows in parent and child tables: a batch alter on SQLite must not cascade.
    execute(
        url,
        "INSERT INTO user_types (code, name, version) VALUES ('s', 'Student', 1)",
        "INSERT INTO users (email, first_name, nickname, is_active, type_id, version)"
        " VALUES ('ada@example.com', 'Ada', 'ada', TRUE, 1, 1)",
        "INSERT INTO vocabulary_sets (title, level, words, owner_id, version) "
        "VALUES ('Basics', 'beginner', '{}', 1, 1)",
    )


def assert_edits_kept(root: Path) -> None:
    for path, addition in EDITS.items():
        assert addition in (root / path).read_text(), path
    assert "db_pool_size: int = 7" in (root / "src/fastbot/settings.py").read_text()


# Calls the generated API in-process, on the project's database: a list of
# [method, path, body] in, a list of [status, body] out (JSON on the command line).
API_CALLS = """
import asyncio
import json
import sys

from httpx import ASGITransport, AsyncClient

from fastbot.main import create_app


async def main() -> None:
    app = create_app()
    answers = []
    async with app.router.lifespan_context(app):
        transport = ASGITransport(app=app)
        async with AsyncClient(transport=transport, base_url="http://test") as client:
            for method, path, body in json.loads(sys.argv[1]):
                response = await client.request(method, path, json=body)
                content = response.json() if response.content else None
                answers.append([response.status_code, content])
    print(json.dumps(answers))


asyncio.run(main())
"""


def api(project: Path, url: str, *calls: tuple[str, str, object]) -> list[Any]:
    """Call the project's own API on the database at `url`; [status, body] each."""
    out = run(
        [sys.executable, "-c", API_CALLS, json.dumps(calls)],
        project,
        DATABASE_URL=url,
        PYTHONPATH=str(project / "src"),
    )
    answers: list[Any] = json.loads(out.strip().splitlines()[-1])
    return answers


# A user's edits of the files a many field's steps change, move and delete.
LINK_EDITS = {
    "src/fastbot/repositories/vocabulary_set.py": "\n\n# Mine: sets are small.\n",
    "src/fastbot/services/topic.py": "\n\n# Mine: topics are curated.\n",
}


def link_rows(database_url: str, table: str, owner: str, other: str) -> list[Any]:
    return execute(database_url, f"SELECT {owner}, {other} FROM {table} ORDER BY 1, 2")[
        0
    ]


def grow_links(runner: CliRunner, project: Path, database_url: str) -> None:
    """A many field added, linked through the API, renamed, the models on both
    sides renamed, then removed: the links are kept until the field goes, and the
    rows and the user's edits through it all."""
    for path, addition in LINK_EDITS.items():
        with (project / path).open("a", encoding="utf-8") as handle:
            handle.write(addition)
    out = uowgen(
        runner,
        project,
        "add-field",
        "VocabularySet",
        "topics:many:Topic",
        "--allow-dirty",
    )
    assert "migration" in out
    alembic(project, database_url, "upgrade", "head")
    assert (
        link_rows(
            database_url, "vocabulary_sets_topics", "vocabulary_set_id", "topic_id"
        )
        == []
    )
    answers = api(
        project,
        database_url,
        ("POST", "/topics", {"title": "Grammar"}),
        ("POST", "/topics", {"title": "Travel"}),
        ("PUT", "/vocabulary-sets/1/topics/1", None),
        ("PUT", "/vocabulary-sets/1/topics/2", None),
        ("PUT", "/vocabulary-sets/1/topics/2", None),  # idempotent
        ("PUT", "/vocabulary-sets/1/topics/99", None),  # no such topic
        ("GET", "/vocabulary-sets/1", None),
    )
    assert [status for status, _ in answers] == [201, 201, 204, 204, 204, 422, 200]
    assert [topic["id"] for topic in answers[-1][1]["topics"]] == [1, 2]
    linked = [(1, 1), (1, 2)]
    assert (
        link_rows(
            database_url, "vocabulary_sets_topics", "vocabulary_set_id", "topic_id"
        )
        == linked
    )

    # Renamed, the field's table of links moves with every link.
    uowgen(
        runner,
        project,
        "rename-field",
        "VocabularySet",
        "topics",
        "subjects",
        "--allow-dirty",
    )
    alembic(project, database_url, "upgrade", "head")
    assert (
        link_rows(
            database_url, "vocabulary_sets_subjects", "vocabulary_set_id", "topic_id"
        )
        == linked
    )
    # So does the model it links to, renamed: its links' column is renamed too.
    out = uowgen(runner, project, "rename-model", "Topic", "Subject", "--allow-dirty")
    assert "moved from src/fastbot/services/topic.py" in out
    alembic(project, database_url, "upgrade", "head")
    assert (
        link_rows(
            database_url, "vocabulary_sets_subjects", "vocabulary_set_id", "subject_id"
        )
        == linked
    )
    ((status, vocabulary_set),) = api(
        project, database_url, ("GET", "/vocabulary-sets/1", None)
    )
    assert status == 200
    assert [subject["id"] for subject in vocabulary_set["subjects"]] == [1, 2]
    assert (
        LINK_EDITS["src/fastbot/services/topic.py"]
        in (project / "src/fastbot/services/subject.py").read_text()
    )
    alembic(project, database_url, "check")
    # And the model that owns the field, renamed and renamed back: the table of
    # links moves there and back, with its column, every link and the user's edit.
    uowgen(runner, project, "rename-model", "VocabularySet", "WordSet", "--allow-dirty")
    alembic(project, database_url, "upgrade", "head")
    assert link_rows(
        database_url, "word_sets_subjects", "word_set_id", "subject_id"
    ) == (linked)
    ((status, word_set),) = api(project, database_url, ("GET", "/word-sets/1", None))
    assert (status, [subject["id"] for subject in word_set["subjects"]]) == (
        200,
        [1, 2],
    )
    repository = "src/fastbot/repositories/vocabulary_set.py"
    assert (
        LINK_EDITS[repository]
        in (project / "src/fastbot/repositories/word_set.py").read_text()
    )
    uowgen(runner, project, "rename-model", "WordSet", "VocabularySet", "--allow-dirty")
    alembic(project, database_url, "upgrade", "head")
    assert (
        link_rows(
            database_url, "vocabulary_sets_subjects", "vocabulary_set_id", "subject_id"
        )
        == linked
    )
    assert LINK_EDITS[repository] in (project / repository).read_text()
    alembic(project, database_url, "check")

    # A model that many fields point at is not removed under them.
    out = uowgen(runner, project, "remove-model", "Subject", code=2)
    assert "VocabularySet.subjects (many)" in out
    # The field removed (by hand: there is no remove-field), its links go with it.
    spec = project / "uowgen.yml"
    field = "      - {name: subjects, type: many, to: Subject}\n"
    assert field in spec.read_text()
    spec.write_text(spec.read_text().replace(field, ""))
    out = uowgen(runner, project, "sync", "--allow-dirty")
    assert "migration" in out
    alembic(project, database_url, "upgrade", "head")
    assert "vocabulary_sets_subjects" not in tables(database_url)
    assert len(rows(database_url, "subjects")) == 2
    assert len(rows(database_url, "vocabulary_sets")) == 1
    assert (
        LINK_EDITS["src/fastbot/repositories/vocabulary_set.py"]
        in (project / "src/fastbot/repositories/vocabulary_set.py").read_text()
    )
    assert_edits_kept(project)


def tables(url: str) -> set[str]:
    async def go() -> set[str]:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as connection:
                names = await connection.run_sync(
                    lambda sync: inspect(sync).get_table_names()
                )
                return set(names)
        finally:
            await engine.dispose()

    return asyncio.run(go())


@pytest.mark.parametrize(
    "database_url",
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
    indirect=True,
)
def test_a_project_grows_step_by_step_keeping_rows_and_edits(
    project: Path, database_url: str, request: pytest.FixtureRequest
) -> None:
    runner = CliRunner()
    alembic(project, database_url, "upgrade", "head")
    seed_rows(database_url)
    tables = ("user_types", "users", "vocabulary_sets")
    before = {table: rows(database_url, table) for table in tables}

    # A model referenced by the next one, then one referencing it and a user.
    out = uowgen(runner, project, "add-model", "Topic", "title:str:unique")
    assert "created" in out and "migration" in out and "alembic upgrade head" in out
    alembic(project, database_url, "upgrade", "head")
    uowgen(
        runner,
        project,
        "add-model",
        "Lesson",
        "title:str(120)",
        "topic:ref:Topic:cascade",
        "author:ref:User:cascade",
        "--allow-dirty",
    )
    alembic(project, database_url, "upgrade", "head")
    assert_edits_kept(project)
    # A required field with a default and an optional one on an existing model; a
    # sortable one gets its index, a searchable one a filter.
    uowgen(
        runner,
        project,
        "add-field",
        "User",
        "score:int:sortable=0",
        "phone:str?:searchable",
        "opens_at:time=09:30",
        "--allow-dirty",
    )
    alembic(project, database_url, "upgrade", "head")
    # Existing rows got the default.
    assert execute(database_url, "SELECT score, phone FROM users")[0] == [(0, None)]
    # The sortable field's index came with its migration (alembic check, below,
    # holds the database to the models).
    migrations = (project / "migrations/versions").glob("*.py")
    assert any("ix_users_score" in path.read_text() for path in migrations)
    # A time of day: datetime.time on PostgreSQL, its ISO text on SQLite.
    ((opens_at,),) = execute(database_url, "SELECT opens_at FROM users")[0]
    assert str(opens_at).startswith("09:30:00")
    # A rename keeps the column's data.
    uowgen(
        runner, project, "rename-field", "User", "nickname", "handle", "--allow-dirty"
    )
    alembic(project, database_url, "upgrade", "head")
    assert execute(database_url, "SELECT handle FROM users")[0] == [("ada",)]
    grow_links(runner, project, database_url)
    # Remove a model nothing references.
    uowgen(runner, project, "remove-model", "Lesson", "--allow-dirty")
    alembic(project, database_url, "upgrade", "head")

    assert_edits_kept(project)
    for table, old in before.items():
        assert len(rows(database_url, table)) == len(old), table
    assert not (project / "src/fastbot/models/lesson.py").exists()
    assert (project / "src/fastbot/models/subject.py").exists()
    registry = (project / "src/fastbot/repositories/registry.py").read_text()
    assert "SubjectRepository" in registry and "LessonRepository" not in registry
    alembic(project, database_url, "check")
    # The grown project passes its own checks and tests, on this database's kind.
    env = {}
    if database_url.startswith("postgresql"):
        env["TEST_DATABASE_URL"] = request.getfixturevalue("postgres_url")
    check_project(project, **env)


def test_pretend_prints_the_diff_and_writes_nothing(project: Path) -> None:
    out = uowgen(CliRunner(), project, "add-model", "Badge", "name:str", "--pretend")

    assert "+++ b/src/fastbot/models/badge.py" in out
    assert "+++ b/uowgen.yml" in out
    assert "nothing was written" in out
    assert git(project, "status", "--porcelain") == ""


def test_uncommitted_changes_in_files_it_would_write_are_refused(
    project: Path,
) -> None:
    model = project / "src/fastbot/models/user.py"
    model.write_text(model.read_text() + "\n# uncommitted\n")
    status = git(project, "status", "--porcelain")

    out = uowgen(CliRunner(), project, "add-field", "User", "score:int=0", code=2)

    assert "uncommitted changes" in out and "models/user.py" in out
    assert git(project, "status", "--porcelain") == status


def test_uncommitted_changes_elsewhere_do_not_stop_it(project: Path) -> None:
    service = project / "src/fastbot/services/user.py"
    service.write_text(service.read_text() + "\n# uncommitted\n")

    uowgen(CliRunner(), project, "add-field", "User", "score:int=0")

    assert service.read_text().endswith("\n# uncommitted\n")


def test_a_line_appended_where_the_render_appends_too_merges_by_statements(
    project: Path,
) -> None:
    router = project / "src/fastbot/api/router.py"
    router.write_text(router.read_text() + "# my last line\n")
    git(project, "commit", "-qam", "edit the router")

    out = uowgen(CliRunner(), project, "add-model", "Badge", "name:str")

    assert "merged     src/fastbot/api/router.py (by statements)" in out
    assert router.read_text().endswith(
        "api_router.include_router(badge.router)\n# my last line\n"
    )


def test_an_edit_where_the_render_changes_too_is_a_listed_conflict(
    project: Path,
) -> None:
    router = project / "src/fastbot/api/router.py"
    imports = "import language_pair, tag, user, user_type, vocabulary_set\n"
    router.write_text(
        router.read_text().replace(imports, imports.replace("\n", "  # mine\n"))
    )
    git(project, "commit", "-qam", "edit the router")

    result = CliRunner().invoke(
        app, ["add-model", "Badge", "name:str", "--project", str(project)]
    )

    assert result.exit_code == 1, result.output
    assert "CONFLICT   src/fastbot/api/router.py (by lines)" in result.output
    text = router.read_text()
    assert "<<<<<<< yours" in text and "# mine" in text
    # Until the markers are resolved, sync refuses.
    again = CliRunner().invoke(app, ["sync", "--project", str(project)])
    assert again.exit_code == 2 and "api/router.py" in again.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add-model", "User", "x:int"], "already exists"),
        (["add-model", "Badge", "owner:ref:Nobody"], "unknown model 'Nobody'"),
        (["add-model", "Badge", "name:strng"], "unknown type 'strng'"),
        (["add-field", "User", "email:str"], "already has field 'email'"),
        (["add-field", "User", "rank:int"], "needs a default"),
        (["remove-model", "User"], "still referred to by"),
        (["remove-model", "Nobody"], "no model 'Nobody'"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(
    project: Path, args: list[str], message: str
) -> None:
    out = uowgen(CliRunner(), project, *args, code=2)

    assert message in out
    assert git(project, "status", "--porcelain") == ""


def test_outside_a_project_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["sync", "--project", str(tmp_path)])

    assert result.exit_code == 2
    assert "not inside a uowgen project" in result.output


def test_another_uowgen_version_is_refused(project: Path) -> None:
    answers = project / ".copier-answers.yml"
    answers.write_text(
        answers.read_text().replace("_uowgen_version: ", "_uowgen_version: 0.0.")
    )
    git(project, "commit", "-qam", "pretend an older render")

    out = uowgen(CliRunner(), project, "add-field", "User", "score:int=0", code=2)

    assert "was rendered by uowgen 0.0." in out and "`uowgen update`" in out
    assert git(project, "status", "--porcelain") == ""


def test_new_overwrite_refuses_a_generated_project(project: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "new",
            str(project),
            "--spec",
            str(REPO / "examples/minimal.yml"),
            "--overwrite",
        ],
    )

    assert result.exit_code == 2
    assert "uowgen sync" in result.output
    assert git(project, "status", "--porcelain") == ""


def test_a_project_made_by_plain_copier_grows_too(tmp_path: Path) -> None:
    template = copy_template(tmp_path / "template")
    spec = tmp_path / "models.yml"
    shutil.copy2(REPO / "examples/minimal.yml", spec)
    run(
        [
            sys.executable,
            "-m",
            "copier",
            "copy",
            "--trust",
            "--defaults",
            "--data-file",
            str(spec),
            str(template),
            str(tmp_path / "notes"),
        ],
        tmp_path,
    )
    root = tmp_path / "notes"
    database = tmp_path / "notes.db"
    alembic_upgrade(root, database)

    uowgen(CliRunner(), root, "add-field", "Note", "title:str=untitled")

    alembic_upgrade(root, database)
    assert "title" in (root / "src/notes/models/note.py").read_text()
    assert len(list((root / "migrations/versions").glob("0002_*.py"))) == 1


def test_plain_copier_update_never_rewrites_the_applied_initial_migration(
    tmp_path: Path,
) -> None:
    template = copy_template(tmp_path / "template")
    git(template, "init", "-q")
    git(template, "add", "-A")
    git(template, "commit", "-qm", "v1")
    git(template, "tag", "v1")
    copier = [sys.executable, "-m", "copier"]
    run(
        [
            *copier,
            "copy",
            "--trust",
            "--defaults",
            "--data-file",
            str(REPO / "examples/minimal.yml"),
            str(template),
            "notes",
        ],
        tmp_path,
    )
    root = tmp_path / "notes"
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "generated")
    initial = (root / "migrations/versions/0001_initial.py").read_bytes()
    more = tmp_path / "more.yml"
    more.write_text(
        "models:\n"
        "  - {name: Note, fields: [{name: body, type: text}]}\n"
        "  - {name: Tag, fields: [{name: label, type: str}]}\n"
    )

    run([*copier, "update", "--trust", "--defaults", "--data-file", str(more)], root)

    assert (root / "src/notes/models/tag.py").is_file()
    assert (root / "migrations/versions/0001_initial.py").read_bytes() == initial


def test_rename_model_moves_its_files_with_the_edits_and_keeps_its_rows(
    project: Path, tmp_path: Path
) -> None:
    database = tmp_path / "app.db"
    url = f"sqlite+aiosqlite:///{database}"
    alembic(project, url, "upgrade", "head")
    seed_rows(url)
    execute(
        url,
        "INSERT INTO language_pairs (source, target, user_id, version) "
        "VALUES ('en', 'fr', 1, 1)",
    )
    repository = project / "src/fastbot/repositories/language_pair.py"
    repository.write_text(
        repository.read_text().replace(
            "from sqlalchemy.orm import joinedload, selectinload\n",
            "# Mine: pairs are per user.\n"
            "from sqlalchemy.orm import joinedload, selectinload\n",
        )
    )
    git(project, "commit", "-qam", "a note in the repository")

    out = uowgen(CliRunner(), project, "rename-model", "LanguagePair", "LangPair")

    assert "moved from src/fastbot/repositories/language_pair.py" in out
    assert not repository.exists()
    moved = project / "src/fastbot/repositories/lang_pair.py"
    assert "# Mine: pairs are per user." in moved.read_text()
    assert "class LangPairRepository" in moved.read_text()
    alembic(project, url, "upgrade", "head")
    assert execute(url, "SELECT source, target FROM lang_pairs")[0] == [("en", "fr")]
    alembic(project, url, "check")
    check_project(project)


def test_auth_is_turned_on_and_off_by_sync(project: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    database = tmp_path / "app.db"
    alembic_upgrade(project, database)
    spec = project / "uowgen.yml"
    original = spec.read_text()
    spec.write_text(
        original.replace(
            "project_name: Fastbot\n", "project_name: Fastbot\nauth: oidc\n"
        ).replace(
            "  - name: UserType\n",
            '  - name: UserType\n    access: {read: public, write: "role:admin"}\n',
        )
    )

    uowgen(runner, project, "sync")

    auth = project / "src/fastbot/auth"
    assert (auth / "tokens.py").is_file() and (auth / "keys.py").is_file()
    # Tokens need no table: no migration.
    assert not list((project / "migrations/versions").glob("0002_*.py"))
    routes = (project / "src/fastbot/api/routes/user_type.py").read_text()
    assert 'WRITE_ACCESS = AccessRule.role("admin")' in routes
    assert "READ_ACCESS = AccessRule.public()" in routes
    assert (
        "READ_ACCESS = AccessRule.authenticated()"
        in (project / "src/fastbot/api/routes/user.py").read_text()
    )
    assert "auth: oidc" in (project / ".copier-answers.yml").read_text()
    assert "AUTH_ISSUER_URL" in (project / "README.md").read_text()
    assert '"PyJWT==' in (project / "pyproject.toml").read_text()
    assert_edits_kept(project)
    git(project, "add", "-A")
    git(project, "commit", "-qm", "auth on")

    # Then the users: a token's subject linked to a User, and registration. The
    # one schema change is the subject column, migrated with the rows kept.
    execute(
        f"sqlite+aiosqlite:///{database}",
        "INSERT INTO user_types (code, name, version, created_at, updated_at) "
        "VALUES ('t', 'T', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
        "INSERT INTO users (email, first_name, is_active, type_id, version, "
        "created_at, updated_at) VALUES ('ada@example.org', 'Ada', 1, 1, 1, "
        "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
    )
    spec.write_text(
        spec.read_text().replace(
            "auth: oidc\n",
            "auth: {provider: oidc, user_model: User, registration: true}\n",
        )
    )
    uowgen(runner, project, "sync")

    (migration,) = (project / "migrations/versions").glob("0002_*.py")
    assert "subject" in migration.read_text()
    alembic_upgrade(project, database)
    # The row is kept, linked to no subject yet.
    url = f"sqlite+aiosqlite:///{database}"
    assert execute(url, "SELECT email, subject FROM users")[0] == [
        ("ada@example.org", None)
    ]
    assert (auth / "users.py").is_file() and (auth / "provider_admin.py").is_file()
    assert "AUTH_ADMIN_CLIENT_ID" in (project / "README.md").read_text()
    assert_edits_kept(project)
    # The project's own checks and tests, the auth ones on its stub provider.
    check_project(project)

    git(project, "add", "-A")
    git(project, "commit", "-qm", "users on")
    spec.write_text(original)
    uowgen(runner, project, "sync")

    assert not auth.exists()
    # The subject column goes with the user model's link.
    (dropped,) = (project / "migrations/versions").glob("0003_*.py")
    assert "subject" in dropped.read_text()
    alembic_upgrade(project, database)
    assert (
        "AccessRule"
        not in (project / "src/fastbot/api/routes/user_type.py").read_text()
    )
    assert "auth" not in (project / ".copier-answers.yml").read_text()
    assert_edits_kept(project)
    check_project(project, "src")


def test_the_admin_is_turned_on_and_off_by_sync(project: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    database = tmp_path / "app.db"
    alembic_upgrade(project, database)
    spec = project / "uowgen.yml"
    original = spec.read_text()
    spec.write_text(
        original.replace(
            "project_name: Fastbot\n", "project_name: Fastbot\nadmin: true\n"
        )
    )

    out = uowgen(runner, project, "sync")

    assert "migration" in out, out
    admin = project / "src/fastbot/admin"
    assert (admin / "views.py").is_file() and (admin / "auth.py").is_file()
    migration = next((project / "migrations/versions").glob("0002_*.py")).read_text()
    assert "admin_sessions" in migration and "create_table" in migration
    assert "admin: true" in (project / ".copier-answers.yml").read_text()
    assert "ADMIN_PASSWORD_HASH" in (project / "README.md").read_text()
    assert_edits_kept(project)
    alembic_upgrade(project, database)
    alembic(project, f"sqlite+aiosqlite:///{database}", "check")
    check_project(project)

    git(project, "add", "-A")
    git(project, "commit", "-qm", "admin on")
    spec.write_text(original)
    uowgen(runner, project, "sync")

    assert not admin.exists()
    assert (
        "admin_sessions"
        in next((project / "migrations/versions").glob("0003_*.py")).read_text()
    )
    assert "admin" not in (project / ".copier-answers.yml").read_text()
    alembic_upgrade(project, database)
    alembic(project, f"sqlite+aiosqlite:///{database}", "check")
    assert_edits_kept(project)


@pytest.mark.parametrize(
    "database_url",
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
    indirect=True,
)
def test_renaming_the_model_that_owns_links_and_a_second_field_keep_them(
    tmp_path: Path, database_url: str
) -> None:
    spec = tmp_path / "blog.yml"
    spec.write_text(BLOG_WITH_TAGS)
    project = generate(load_spec(spec), tmp_path / "blog")
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "generated")
    alembic(project, database_url, "upgrade", "head")
    execute(
        database_url,
        "INSERT INTO tags (label, version) VALUES ('sql', 1), ('web', 1)",
        "INSERT INTO articles (title, version) VALUES ('One', 1), ('Two', 1)",
        "INSERT INTO articles_tags (article_id, tag_id) VALUES (1, 1), (1, 2), (2, 2)",
    )
    linked = [(1, 1), (1, 2), (2, 2)]
    runner = CliRunner()

    out = uowgen(runner, project, "rename-model", "Article", "Post")
    assert "moved from src/blog/models/article.py" in out
    alembic(project, database_url, "upgrade", "head")
    assert link_rows(database_url, "posts_tags", "post_id", "tag_id") == linked
    # A second many field to Tag names both fields' columns after the field: the
    # first one's links move to `tags_tag_id`.
    uowgen(runner, project, "add-field", "Post", "topics:many:Tag", "--allow-dirty")
    alembic(project, database_url, "upgrade", "head")
    assert link_rows(database_url, "posts_tags", "post_id", "tags_tag_id") == linked
    assert link_rows(database_url, "posts_topics", "post_id", "topics_tag_id") == []
    alembic(project, database_url, "check")

    alembic(project, database_url, "downgrade", "-2")
    assert link_rows(database_url, "articles_tags", "article_id", "tag_id") == linked
    assert "posts_tags" not in tables(database_url)
