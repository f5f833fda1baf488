"""Growing a generated project: add-model, add-field, remove-model, rename-field, sync.

The scenario of the issue, as a user runs it: a committed project with edits in
several places and a migrated SQLite database holding rows, grown step by step; after
each step the migration keeps every row and every edit is still there, and at the
end the project's own ruff, mypy --strict and tests pass.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import REPO
from uowgen import generate, load_spec
from uowgen._cli import app

pytestmark = pytest.mark.slow

EDITS = {
    "src/fastbot/services/user.py": (
        "\n\nasync def count_users(uow: UnitOfWork) -> int:\n"
        '    """A use case of my own."""\n'
        "    async with uow.read() as tx:\n"
        "        return await tx.users.count()\n"
    ),
    "src/fastbot/repositories/user.py": (
        "\n    async def by_email(self, email: str) -> User | None:\n"
        '        """A query of my own."""\n'
        "        return await self.find_by(email=email)\n"
    ),
    "src/fastbot/unit_of_work.py": "\n\n# A note of mine about the unit of work.\n",
    "README.md": "\n## Our team's notes\n\nDeploy on Tuesdays.\n",
}


def run(command: list[str], cwd: Path, **env: str) -> str:
    result = subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **env},
        timeout=600,
    )
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def git(project: Path, *args: str) -> str:
    return run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], project)


def uowgen(runner: CliRunner, project: Path, *args: str, code: int = 0) -> str:
    result = runner.invoke(app, [*args, "--project", str(project)])
    assert result.exit_code == code, result.output
    return result.output


def alembic_upgrade(project: Path, database: Path) -> None:
    run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        project,
        DATABASE_URL=f"sqlite+aiosqlite:///{database}",
        PYTHONPATH=str(project / "src"),
    )


def rows(database: Path, table: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(database) as connection:
        return connection.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()


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


def seed_rows(database: Path) -> None:
    with sqlite3.connect(database) as db:
        db.execute(
            "INSERT INTO user_types (code, name, version) VALUES ('s', 'Student', 1)"
        )
        db.execute(
            "INSERT INTO users (email, first_name, is_active, type_id, version) "
            "VALUES ('ada@example.com', 'Ada', 1, 1, 1)"
        )
        db.execute(
            "INSERT INTO vocabulary_sets (title, level, words, owner_id, version) "
            "VALUES ('Basics', 'beginner', '{}', 1, 1)"
        )


def assert_edits_kept(root: Path) -> None:
    for path, addition in EDITS.items():
        assert addition in (root / path).read_text(), path
    assert "db_pool_size: int = 7" in (root / "src/fastbot/settings.py").read_text()


def test_a_project_grows_step_by_step_keeping_rows_and_edits(
    project: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    database = tmp_path / "app.db"
    alembic_upgrade(project, database)
    seed_rows(database)
    before = {t: rows(database, t) for t in ("user_types", "users", "vocabulary_sets")}

    # A model referenced by the next one, then one referencing it and a user.
    out = uowgen(runner, project, "add-model", "Topic", "title:str:unique")
    assert "created" in out and "migration" in out and "alembic upgrade head" in out
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
    alembic_upgrade(project, database)
    assert_edits_kept(project)
    # A required field with a default and an optional one on an existing model.
    uowgen(
        runner,
        project,
        "add-field",
        "User",
        "score:int=0",
        "phone:str?",
        "--allow-dirty",
    )
    alembic_upgrade(project, database)
    users = rows(database, "users")
    assert len(users) == 1 and 0 in users[0], users
    # Rename keeps the column's data.
    uowgen(
        runner, project, "rename-field", "User", "nickname", "handle", "--allow-dirty"
    )
    alembic_upgrade(project, database)
    # Remove a model nothing references.
    uowgen(runner, project, "remove-model", "Lesson", "--allow-dirty")
    alembic_upgrade(project, database)

    assert_edits_kept(project)
    for table, old in before.items():
        assert len(rows(database, table)) == len(old), table
    assert not (project / "src/fastbot/models/lesson.py").exists()
    assert (project / "src/fastbot/models/topic.py").exists()
    registry = (project / "src/fastbot/repositories/registry.py").read_text()
    assert "TopicRepository" in registry and "LessonRepository" not in registry
    run(
        [sys.executable, "-m", "alembic", "check"],
        project,
        DATABASE_URL=f"sqlite+aiosqlite:///{database}",
        PYTHONPATH=str(project / "src"),
    )
    # The grown project passes its own checks and tests.
    run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], project)
    run([sys.executable, "-m", "ruff", "format", "--no-cache", "--check", "."], project)
    run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--cache-dir",
            "/dev/null",
            "src",
            "tests",
        ],
        project,
    )
    out = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], project)
    assert " passed" in out and " failed" not in out


def test_pretend_prints_the_diff_and_writes_nothing(project: Path) -> None:
    out = uowgen(CliRunner(), project, "add-model", "Tag", "name:str", "--pretend")

    assert "+++ b/src/fastbot/models/tag.py" in out
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


def test_an_edit_where_the_render_changes_too_is_a_listed_conflict(
    project: Path,
) -> None:
    router = project / "src/fastbot/api/router.py"
    router.write_text(router.read_text() + "# my last line\n")
    git(project, "commit", "-qam", "edit the router")

    result = CliRunner().invoke(
        app, ["add-model", "Tag", "name:str", "--project", str(project)]
    )

    assert result.exit_code == 1, result.output
    assert "src/fastbot/api/router.py" in result.output
    text = router.read_text()
    assert "<<<<<<< yours" in text and "# my last line" in text
    # Until the markers are resolved, sync refuses.
    again = CliRunner().invoke(app, ["sync", "--project", str(project)])
    assert again.exit_code == 2 and "api/router.py" in again.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add-model", "User", "x:int"], "already exists"),
        (["add-model", "Tag", "owner:ref:Nobody"], "unknown model 'Nobody'"),
        (["add-model", "Tag", "name:strng"], "unknown type 'strng'"),
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
