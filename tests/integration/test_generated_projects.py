"""Render every example and run the generated project's own checks and tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.conftest import EDGE_SPECS, EXAMPLES, REPO
from tests.helpers import run
from uowgen import generate, load_spec, parse_spec

pytestmark = pytest.mark.slow


# Every spec as it is, and with `admin: true` the seeds' domain (fastbot), every
# field type (shop) and the edge cases (self-references, a one-to-one ref, a unique
# enum, odd names).
SPECS = [(path, False) for path in EXAMPLES + EDGE_SPECS] + [
    (REPO / "examples" / "fastbot.yml", True),
    (REPO / "examples" / "shop.yml", True),
    (REPO / "tests" / "specs" / "edge_cases.yml", True),
]


@pytest.fixture(
    scope="module",
    params=SPECS,
    ids=[f"{path.stem}{'-admin' if admin else ''}" for path, admin in SPECS],
)
def project(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    spec_path, admin = request.param
    spec = load_spec(spec_path)
    if admin:
        spec = parse_spec({**spec.to_data(), "admin": True})
    return generate(spec, tmp_path_factory.mktemp("gen") / spec_path.stem)


def test_generated_project_is_lint_and_format_clean(project: Path) -> None:
    run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], project)
    run([sys.executable, "-m", "ruff", "format", "--no-cache", "--check", "."], project)


def test_generated_project_passes_mypy_strict(project: Path) -> None:
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


def test_generated_project_passes_its_tests_on_sqlite(project: Path) -> None:
    out = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], project)
    assert " passed" in out and " failed" not in out


def test_generated_project_passes_its_tests_on_postgresql(
    project: Path, postgres_url: str
) -> None:
    out = run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs"],
        project,
        TEST_DATABASE_URL=postgres_url,
    )
    # On PostgreSQL nothing is skipped: read-only scopes, timeouts, races all run.
    assert " passed" in out and "skipped" not in out and " failed" not in out


def test_migration_builds_a_database_the_app_serves(
    project: Path, tmp_path: Path
) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'app.db'}"
    run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        project,
        DATABASE_URL=database,
    )
    run([sys.executable, "-m", "alembic", "check"], project, DATABASE_URL=database)
