"""Fuzz every example and edge-case project's API with schemathesis, on both databases.

The budget (a fixed seed, `CI_MAX_EXAMPLES` per operation, all phases including the
stateful one) fits CI; `./scripts/fuzz` runs the same harness for longer. Every
check runs (see `tests.fuzz.CHECKS`), so besides no 5xx and no undocumented response,
input the document allows is accepted and input it forbids is refused.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fuzz import CI_MAX_EXAMPLES, SEED, SPECS, fuzz_spec

pytestmark = [pytest.mark.slow, pytest.mark.fuzz]

DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.mark.parametrize("database", DATABASES)
@pytest.mark.parametrize("spec_path", SPECS, ids=[path.stem for path in SPECS])
def test_schemathesis_finds_no_server_error_or_undocumented_response(
    spec_path: Path, database: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # Only PostgreSQL runs start the session's cluster (and skip without one).
    postgres_url = (
        request.getfixturevalue("postgres_url") if database == "postgresql" else None
    )
    result = fuzz_spec(
        spec_path,
        database,
        tmp_path,
        postgres_url=postgres_url,
        max_examples=CI_MAX_EXAMPLES,
        seed=SEED,
    )
    if not result.passed:
        pytest.fail(result.report(), pytrace=False)
