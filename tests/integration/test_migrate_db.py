"""Revisions from `plan_revision` on real databases: rows survive, no drift remains.

Each scenario renders fastbot (the old spec) and a changed spec, migrates a SQLite
file or a fresh PostgreSQL database to the old head, writes rows into parents and
children, then runs the new project (old 0001 + the planned revision): upgrade,
`alembic check`, downgrade, `alembic check` against the old models, upgrade again.
"""

from __future__ import annotations

import asyncio
import copy
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import EDGE_SPECS, REPO
from tests.helpers import check_project, run
from uowgen import generate, parse_spec
from uowgen._migrate.diff import plan_revision
from uowgen._migrate.revisions import write_revision
from uowgen._spec.models import Renames

pytestmark = pytest.mark.slow

FASTBOT: dict[str, Any] = yaml.safe_load(
    (REPO / "examples" / "fastbot.yml").read_text()
)
Rows = list[tuple[Any, ...]]
Statement = str | tuple[str, dict[str, Any]]


def alembic(project: Path, url: str, *args: str) -> str:
    return run(
        [sys.executable, "-m", "alembic", *args],
        project,
        DATABASE_URL=url,
        PYTHONPATH="src",
    )


def sql(url: str, *statements: Statement) -> list[Rows]:
    """Run statements in one transaction; the rows each one returned."""

    async def main() -> list[Rows]:
        engine = create_async_engine(url)
        try:
            async with engine.begin() as connection:
                found = []
                for statement in statements:
                    text, params = (
                        statement if isinstance(statement, tuple) else (statement, {})
                    )
                    result = await connection.execute(sa.text(text), params)
                    found.append(
                        [tuple(row) for row in result] if result.returns_rows else []
                    )
                return found
        finally:
            await engine.dispose()

    return asyncio.run(main())


def select(url: str, query: str) -> Rows:
    return sql(url, query)[0]


def tables(url: str) -> set[str]:
    async def main() -> set[str]:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as connection:
                names = await connection.run_sync(
                    lambda sync: sa.inspect(sync).get_table_names()
                )
                return set(names) - {"alembic_version"}
        finally:
            await engine.dispose()

    return asyncio.run(main())


# --- the old database ----------------------------------------------------------------


OLD_ROWS: list[Statement] = [
    (
        "INSERT INTO user_types (id, code, name, version) VALUES "
        "(1, 'std', 'Standard', 1), (2, 'pro', 'Pro', 1)"
    ),
    (
        (
            "INSERT INTO users (id, email, first_name, nickname, telegram_id,"
            " is_active, type_id, version) VALUES"
            " (1, 'ann@x.org', 'Ann', 'annie', 111, :yes, 1, 1),"
            " (2, 'bob@x.org', 'Bob', NULL, NULL, :no, 2, 1)"
        ),
        {"yes": True, "no": False},
    ),
    (
        "INSERT INTO language_pairs (id, source, target, user_id, version) VALUES "
        "(1, 'en', 'fr', 1, 1), (2, 'de', 'es', 2, 1)"
    ),
    (
        (
            "INSERT INTO vocabulary_sets (id, title, level, words, owner_id,"
            " language_pair_id, version) VALUES"
            " (1, 'Basics', 'advanced', :words, 1, 1, 1),"
            " (2, 'Verbs', 'intermediate', :words, 2, NULL, 1)"
        ),
        {"words": "{}"},
    ),
]


def check_old_rows(url: str) -> None:
    """The rows of the old schema that every scenario keeps as they were."""
    assert select(
        url, "SELECT id, source, target, user_id FROM language_pairs ORDER BY id"
    ) == [(1, "en", "fr", 1), (2, "de", "es", 2)]


# --- scenarios -----------------------------------------------------------------------


def named(items: list[dict[str, Any]], name: str) -> dict[str, Any]:
    for item in items:
        if item["name"] == name:
            return item
    raise KeyError(name)


def model_of(data: dict[str, Any], name: str) -> dict[str, Any]:
    return named(data["models"], name)


def field_of(data: dict[str, Any], model: str, name: str) -> dict[str, Any]:
    return named(model_of(data, model)["fields"], name)


@dataclass
class Scenario:
    """A new spec, the renames it implies, and what the rows look like after."""

    name: str
    change: Callable[[dict[str, Any]], None]
    after_upgrade: Callable[[str], None]
    after_downgrade: Callable[[str], None]
    renames: Renames = field(default_factory=Renames)

    def new_spec_data(self) -> dict[str, Any]:
        data = copy.deepcopy(FASTBOT)
        self.change(data)
        return data


def grow(data: dict[str, Any]) -> None:
    """A model pointing at existing ones, new fields, an enum and types changed."""
    user = model_of(data, "User")
    user["fields"] += [
        {"name": "phone", "type": "str", "max_length": 20, "default": "n/a"},
        {"name": "bio", "type": "text", "optional": True},
    ]
    telegram = field_of(data, "User", "telegram_id")
    telegram.update(type="str", max_length=32)
    field_of(data, "VocabularySet", "level")["values"] = [
        "beginner",
        "intermediate",
        "expert",
    ]
    field_of(data, "LanguagePair", "source")["max_length"] = 16
    data["models"].append(
        {
            "name": "Review",
            "fields": [
                {"name": "author", "type": "ref", "to": "User", "on_delete": "cascade"},
                {
                    "name": "vocabulary_set",
                    "type": "ref",
                    "to": "VocabularySet",
                    "optional": True,
                    "on_delete": "set_null",
                },
                {"name": "stars", "type": "int", "default": 5},
            ],
        }
    )


def grown(url: str) -> None:
    assert select(
        url, "SELECT id, email, telegram_id, phone, bio FROM users ORDER BY id"
    ) == [(1, "ann@x.org", "111", "n/a", None), (2, "bob@x.org", None, "n/a", None)]
    # Children of the users table, which SQLite copied: none lost, none nulled.
    assert select(
        url,
        "SELECT id, level, owner_id, language_pair_id FROM vocabulary_sets ORDER BY id",
    ) == [(1, "beginner", 1, 1), (2, "intermediate", 2, None)]
    check_old_rows(url)
    # The new table works, references included.
    sql(
        url,
        "INSERT INTO reviews (id, author_id, vocabulary_set_id, stars, version) "
        "VALUES (1, 1, 1, 4, 1)",
    )
    assert select(url, "SELECT author_id, stars FROM reviews") == [(1, 4)]


def grown_back(url: str) -> None:
    assert "reviews" not in tables(url)
    assert select(url, "SELECT id, email, telegram_id FROM users ORDER BY id") == [
        (1, "ann@x.org", 111),
        (2, "bob@x.org", None),
    ]
    assert select(
        url, "SELECT id, level, owner_id FROM vocabulary_sets ORDER BY id"
    ) == [(1, "beginner", 1), (2, "intermediate", 2)]
    check_old_rows(url)


def reshape(data: dict[str, Any]) -> None:
    """A model dropped, a table and a column renamed, lengths, unique and index."""
    data["models"] = [m for m in data["models"] if m["name"] != "VocabularySet"]
    user_type = model_of(data, "UserType")
    user_type["name"] = "Role"
    field_of(data, "Role", "name")["name"] = "title"
    field_of(data, "User", "type")["to"] = "Role"
    field_of(data, "User", "first_name")["max_length"] = 60
    field_of(data, "User", "nickname")["unique"] = True
    field_of(data, "User", "last_name")["index"] = True
    pair_target = field_of(data, "LanguagePair", "target")
    del pair_target["index"]
    field_of(data, "LanguagePair", "source")["optional"] = True


def reshaped(url: str) -> None:
    assert "vocabulary_sets" not in tables(url)
    assert "user_types" not in tables(url)
    assert select(url, "SELECT id, code, title FROM roles ORDER BY id") == [
        (1, "std", "Standard"),
        (2, "pro", "Pro"),
    ]
    # Users point at the renamed (and, on SQLite, copied) table: none lost.
    assert select(
        url, "SELECT id, first_name, nickname, type_id FROM users ORDER BY id"
    ) == [(1, "Ann", "annie", 1), (2, "Bob", None, 2)]
    check_old_rows(url)


def reshaped_back(url: str) -> None:
    assert select(url, "SELECT id, code, name FROM user_types ORDER BY id") == [
        (1, "std", "Standard"),
        (2, "pro", "Pro"),
    ]
    assert select(url, "SELECT id, type_id FROM users ORDER BY id") == [(1, 1), (2, 2)]
    # A dropped model comes back as an empty table: its rows are gone.
    assert select(url, "SELECT count(*) FROM vocabulary_sets") == [(0,)]
    check_old_rows(url)


SCENARIOS = {
    "grow": Scenario("grow", grow, grown, grown_back),
    "reshape": Scenario(
        "reshape",
        reshape,
        reshaped,
        reshaped_back,
        Renames(models={"Role": "UserType"}, fields={("Role", "title"): "name"}),
    ),
}


# --- fixtures ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def old_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(parse_spec(FASTBOT), tmp_path_factory.mktemp("old") / "fastbot")


@dataclass
class Migrated:
    """The new project: its own render, the old 0001 and the planned revision."""

    path: Path
    revision: Path
    scenario: Scenario


@pytest.fixture(scope="module", params=sorted(SCENARIOS))
def new_project(
    request: pytest.FixtureRequest,
    old_project: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Migrated:
    scenario = SCENARIOS[request.param]
    new = parse_spec(scenario.new_spec_data())
    path = generate(new, tmp_path_factory.mktemp(scenario.name) / "fastbot")
    versions = path / "migrations" / "versions"
    shutil.rmtree(versions)
    shutil.copytree(old_project / "migrations" / "versions", versions)
    revision = plan_revision(parse_spec(FASTBOT), new, renames=scenario.renames)
    assert revision is not None
    written = write_revision(revision, versions, message=f"Sync: {scenario.name}")
    return Migrated(path, written, scenario)


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'app.db'}"
        return
    server: str = request.getfixturevalue("postgres_url")
    name = f"migrate_{uuid.uuid4().hex[:12]}"
    admin = server.replace("postgresql+asyncpg://", "postgresql://")

    async def execute(statement: str) -> None:
        connection = await asyncpg.connect(admin)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(execute(f"CREATE DATABASE {name}"))
    yield server.rsplit("/", 1)[0] + f"/{name}"
    asyncio.run(execute(f"DROP DATABASE {name}"))


# --- tests ---------------------------------------------------------------------------


def test_upgrade_keeps_rows_and_downgrade_reverses_it(
    old_project: Path, new_project: Migrated, database_url: str
) -> None:
    scenario = new_project.scenario
    alembic(old_project, database_url, "upgrade", "head")
    sql(database_url, *OLD_ROWS)

    alembic(new_project.path, database_url, "upgrade", "head")
    scenario.after_upgrade(database_url)
    assert "No new upgrade operations detected" in alembic(
        new_project.path, database_url, "check"
    )

    alembic(new_project.path, database_url, "downgrade", "-1")
    scenario.after_downgrade(database_url)
    # The downgraded schema is exactly the old models' schema.
    assert "No new upgrade operations detected" in alembic(
        old_project, database_url, "check"
    )

    alembic(new_project.path, database_url, "upgrade", "head")
    assert "No new upgrade operations detected" in alembic(
        new_project.path, database_url, "check"
    )


def test_sqlite_tables_keep_autoincrement_after_a_copy(
    old_project: Path, new_project: Migrated, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'app.db'}"
    alembic(old_project, url, "upgrade", "head")
    alembic(new_project.path, url, "upgrade", "head")
    (schema,) = select(url, "SELECT sql FROM sqlite_master WHERE name = 'users'")
    assert "AUTOINCREMENT" in schema[0]


def test_the_revision_passes_the_projects_lint_format_and_type_checks(
    new_project: Migrated,
) -> None:
    project = new_project.path
    revision = str(new_project.revision.relative_to(project))
    check_project(project, revision)


@pytest.mark.parametrize(
    "server", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_the_projects_own_migration_test_passes_with_the_revision(
    new_project: Migrated, request: pytest.FixtureRequest, server: str
) -> None:
    env = {}
    if server == "postgresql":
        env["TEST_DATABASE_URL"] = request.getfixturevalue("postgres_url")
    out = run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/integration/test_migrations.py",
        ],
        new_project.path,
        **env,
    )
    assert " passed" in out


# --- the metadata mirrors the models ----------------------------------------------------


MIRROR_CHECK = """
import sys
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.dialects import postgresql, sqlite

from uowgen import load_spec
from uowgen._schema.tables import build_metadata
from {package}.models import Base


def shape(metadata):
    found = {{}}
    for table in metadata.tables.values():
        columns = {{
            c.name: (
                # A TypeDecorator as the database sees it (ExactDecimal: NUMERIC(p, s)).
                tuple(
                    getattr(c.type, "impl_instance", c.type).compile(dialect=d)
                    for d in DIALECTS
                ),
                c.nullable,
                c.primary_key,
                c.server_default is not None,
            )
            for c in table.columns
        }}
        constraints = {{
            (type(c).__name__, str(c.name), tuple(col.name for col in c.columns),
             getattr(c, "ondelete", None),
             tuple(e.target_fullname for e in getattr(c, "elements", ())))
            for c in table.constraints
        }}
        indexes = {{
            (str(i.name), tuple(col.name for col in i.columns), i.unique)
            for i in table.indexes
        }}
        found[table.name] = (columns, constraints, indexes, dict(table.kwargs))
    return found


DIALECTS = (sqlite.dialect(), postgresql.dialect())
ours = build_metadata(load_spec(Path(sys.argv[1])))
assert shape(ours) == shape(Base.metadata), (shape(ours), shape(Base.metadata))
engine = sa.create_engine("sqlite://")
with engine.begin() as connection:
    ours.create_all(connection)
    context = MigrationContext.configure(connection)
    diff = compare_metadata(context, Base.metadata)
    assert diff == [], diff
"""


@pytest.mark.parametrize(
    "spec_path",
    [REPO / "examples" / "shop.yml", REPO / "examples" / "fastbot.yml", *EDGE_SPECS],
    ids=lambda path: path.stem,
)
def test_the_metadata_is_exactly_the_generated_models(
    spec_path: Path, tmp_path: Path
) -> None:
    from uowgen import load_spec

    spec = load_spec(spec_path)
    project = generate(spec, tmp_path / "project")
    script = tmp_path / "mirror.py"
    script.write_text(MIRROR_CHECK.format(package=spec.package))
    run(
        [sys.executable, str(script), str(spec_path)],
        project,
        PYTHONPATH="src",
    )


def test_a_revision_that_would_break_references_fails_and_changes_nothing(
    old_project: Path, database_url: str, tmp_path: Path
) -> None:
    new_data = copy.deepcopy(FASTBOT)
    # Language pairs now point at user types: pair 2's user_id 2 has no such row.
    field_of(new_data, "LanguagePair", "user")["to"] = "UserType"
    new = parse_spec(new_data)
    project = generate(new, tmp_path / "fastbot")
    versions = project / "migrations" / "versions"
    shutil.rmtree(versions)
    shutil.copytree(old_project / "migrations" / "versions", versions)
    revision = plan_revision(parse_spec(FASTBOT), new)
    assert revision is not None
    write_revision(revision, versions, message="Point pairs at user types")

    alembic(old_project, database_url, "upgrade", "head")
    sql(
        database_url,
        *OLD_ROWS[:2],
        "INSERT INTO user_types (id, code, name, version) VALUES (3, 'x', 'X', 1)",
        "INSERT INTO language_pairs (id, source, target, user_id, version) VALUES "
        "(1, 'en', 'fr', 2, 1)",
    )
    # user_types 1..3 exist, so only a pair pointing at 2 would break: delete type 2.
    sql(
        database_url,
        "UPDATE users SET type_id = 1",
        "DELETE FROM user_types WHERE id = 2",
    )
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": "src"},
        timeout=600,
    )
    assert result.returncode != 0
    assert (
        "rows point at rows that do not exist: language_pairs row 1 -> user_types"
        if database_url.startswith("sqlite")
        else "violates foreign key constraint"
    ) in result.stderr
    assert select(database_url, "SELECT version_num FROM alembic_version") == [
        ("0001",)
    ]
    assert select(database_url, "SELECT id, user_id FROM language_pairs") == [(1, 2)]
    assert select(database_url, "SELECT count(*) FROM users") == [(2,)]
    assert "No new upgrade operations detected" in alembic(
        old_project, database_url, "check"
    )


# --- tables of links -----------------------------------------------------------------

# Tags on articles, articles related to articles (a link to its own model), and a
# many field the new spec drops. The new spec renames both models and a many field,
# and adds one: every table of links moves, goes or comes. Two many fields to one
# model name their second column after the field (`tags_tag_id`).
LINKED_OLD: dict[str, Any] = {
    "project_name": "Blog",
    "models": [
        {"name": "Tag", "fields": [{"name": "label", "type": "str", "unique": True}]},
        {
            "name": "Article",
            "fields": [
                {"name": "title", "type": "str"},
                {"name": "tags", "type": "many", "to": "Tag"},
                {"name": "related", "type": "many", "to": "Article"},
                {"name": "extra", "type": "many", "to": "Tag"},
            ],
        },
    ],
}
LINKED_NEW: dict[str, Any] = {
    "project_name": "Blog",
    "models": [
        {"name": "Label", "fields": [{"name": "label", "type": "str", "unique": True}]},
        {
            "name": "Post",
            "fields": [
                {"name": "title", "type": "str"},
                {"name": "labels", "type": "many", "to": "Label"},
                {"name": "related", "type": "many", "to": "Post"},
                {"name": "featured", "type": "many", "to": "Label"},
            ],
        },
    ],
}
LINK_RENAMES = Renames(
    models={"Label": "Tag", "Post": "Article"}, fields={("Post", "labels"): "tags"}
)
LINKED_ROWS: list[Statement] = [
    "INSERT INTO tags (id, label, version) VALUES (1, 'sql', 1), (2, 'web', 1)",
    "INSERT INTO articles (id, title, version) VALUES (1, 'One', 1), (2, 'Two', 1)",
    "INSERT INTO articles_tags (article_id, tags_tag_id) VALUES (1, 1), (1, 2), (2, 2)",
    "INSERT INTO articles_related (article_id, related_article_id) VALUES (1, 2), (2, 1)",
    "INSERT INTO articles_extra (article_id, extra_tag_id) VALUES (2, 1)",
]
TAG_LINKS = [(1, 1), (1, 2), (2, 2)]
RELATED_LINKS = [(1, 2), (2, 1)]


def sql_with_foreign_keys(url: str, *statements: Statement) -> list[Rows]:
    """`sql`, with SQLite enforcing foreign keys as the app's engine has it do."""
    if url.startswith("sqlite"):
        return sql(url, "PRAGMA foreign_keys = ON", *statements)[1:]
    return sql(url, *statements)


def test_links_are_kept_when_both_models_and_a_many_field_are_renamed(
    database_url: str, tmp_path: Path
) -> None:
    old_spec, new_spec = parse_spec(LINKED_OLD), parse_spec(LINKED_NEW)
    old = generate(old_spec, tmp_path / "old" / "blog")
    new = generate(new_spec, tmp_path / "new" / "blog")
    versions = new / "migrations" / "versions"
    shutil.rmtree(versions)
    shutil.copytree(old / "migrations" / "versions", versions)
    revision = plan_revision(old_spec, new_spec, renames=LINK_RENAMES)
    assert revision is not None
    write_revision(revision, versions, message="Rename the blog's models")
    alembic(old, database_url, "upgrade", "head")
    sql(database_url, *LINKED_ROWS)

    alembic(new, database_url, "upgrade", "head")
    assert (
        select(
            database_url,
            "SELECT post_id, labels_label_id FROM posts_labels ORDER BY 1, 2",
        )
        == TAG_LINKS
    )
    assert (
        select(
            database_url,
            "SELECT post_id, related_post_id FROM posts_related ORDER BY 1, 2",
        )
        == RELATED_LINKS
    )
    assert select(database_url, "SELECT count(*) FROM posts_featured") == [(0,)]
    assert {"articles_tags", "articles_related", "articles_extra"}.isdisjoint(
        tables(database_url)
    )
    assert "No new upgrade operations detected" in alembic(new, database_url, "check")
    # The moved tables are whole: their keys refuse a duplicate link and a link to
    # a row that does not exist.
    for bad in (
        "INSERT INTO posts_labels (post_id, labels_label_id) VALUES (1, 1)",
        "INSERT INTO posts_labels (post_id, labels_label_id) VALUES (1, 99)",
    ):
        with pytest.raises(sa.exc.IntegrityError):
            sql_with_foreign_keys(database_url, bad)

    alembic(new, database_url, "downgrade", "-1")
    assert (
        select(
            database_url,
            "SELECT article_id, tags_tag_id FROM articles_tags ORDER BY 1, 2",
        )
        == TAG_LINKS
    )
    assert (
        select(
            database_url,
            "SELECT article_id, related_article_id FROM articles_related ORDER BY 1, 2",
        )
        == RELATED_LINKS
    )
    # A dropped many field comes back as an empty table: its links are gone.
    assert select(database_url, "SELECT count(*) FROM articles_extra") == [(0,)]
    assert "posts_featured" not in tables(database_url)
    assert "No new upgrade operations detected" in alembic(old, database_url, "check")

    alembic(new, database_url, "upgrade", "head")
    assert (
        select(
            database_url,
            "SELECT post_id, labels_label_id FROM posts_labels ORDER BY 1, 2",
        )
        == TAG_LINKS
    )
    assert "No new upgrade operations detected" in alembic(new, database_url, "check")
    # Deleting a row deletes its links: the moved keys still cascade.
    sql_with_foreign_keys(database_url, "DELETE FROM labels WHERE id = 2")
    assert select(
        database_url, "SELECT post_id, labels_label_id FROM posts_labels ORDER BY 1, 2"
    ) == [(1, 1)]
