"""Fixtures shared by uowgen's tests: a throwaway PostgreSQL and rendered projects."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.postgres import PostgresUnavailable, throwaway_cluster

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((REPO / "examples").glob("*.yml"))
# Specs that exist to break the template rather than to show it off.
EDGE_SPECS = sorted((REPO / "tests" / "specs").glob("*.yml"))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL 15 server of our own for the session; fails loudly if missing.

    Set UOWGEN_SKIP_POSTGRES=1 to skip PostgreSQL tests on a machine without it.
    """
    if os.environ.get("UOWGEN_SKIP_POSTGRES") == "1":
        pytest.skip("UOWGEN_SKIP_POSTGRES=1")
    try:
        with throwaway_cluster() as cluster:
            yield cluster.url
    except PostgresUnavailable as exc:
        pytest.fail(str(exc))
