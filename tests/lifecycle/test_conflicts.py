"""Scenarios 4 and 7: lost updates refused; a failed COMMIT never answers 2xx."""

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from tests.lifecycle.conftest import (
    Serve,
    assert_clean_log,
    create_user,
    create_user_type,
)
from tests.lifecycle.harness import Connection, Response, run_load, sql
from tests.postgres import Cluster

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.mark.usefixtures("empty_tables")
def test_50_updates_of_the_same_version_one_wins(
    serve: Serve, cluster: Cluster
) -> None:
    server = serve()
    user = create_user(server, create_user_type(server), "row@example.com")
    assert user["version"] == 1

    async def update(client: Connection, n: int) -> Response:
        body = {"version": 1, "first_name": f"writer-{n}"}
        return await client.patch(f"/users/{user['id']}", json=body)

    result = asyncio.run(
        run_load(server.url, update, clients=50, total=50, keep_body=True)
    )

    assert result.statuses() == {200: 1, 409: 49}
    (winner,) = result.ok()
    rows = sql(
        cluster.url, "SELECT first_name, version FROM users WHERE id = $1", user["id"]
    )
    assert [tuple(r) for r in rows] == [(winner.body["first_name"], 2)]
    assert winner.body["version"] == 2
    assert_clean_log(server)


@pytest.fixture
def deferred_constraints(cluster: Cluster) -> Iterator[None]:
    """The unique code of user types and the users' type FK, checked at COMMIT."""
    sql(
        cluster.url,
        "ALTER TABLE user_types DROP CONSTRAINT uq_user_types_code, "
        "ADD CONSTRAINT uq_user_types_code UNIQUE (code) DEFERRABLE INITIALLY DEFERRED",
    )
    sql(
        cluster.url,
        "ALTER TABLE users ALTER CONSTRAINT fk_users_type_id_user_types "
        "DEFERRABLE INITIALLY DEFERRED",
    )
    yield
    sql(
        cluster.url,
        "ALTER TABLE user_types DROP CONSTRAINT uq_user_types_code, "
        "ADD CONSTRAINT uq_user_types_code UNIQUE (code)",
    )
    sql(
        cluster.url,
        "ALTER TABLE users ALTER CONSTRAINT fk_users_type_id_user_types NOT DEFERRABLE",
    )


@pytest.mark.usefixtures("empty_tables", "deferred_constraints")
def test_a_commit_that_fails_answers_an_error_and_stores_nothing(
    serve: Serve, cluster: Cluster
) -> None:
    server = serve()
    create_user_type(server, "taken")

    duplicate = httpx.post(
        f"{server.url}/user-types", json={"code": "taken", "name": "again"}, timeout=10
    )
    dangling = httpx.post(
        f"{server.url}/users",
        json={"email": "x@example.com", "first_name": "X", "type_id": 999_999},
        timeout=10,
    )

    assert duplicate.status_code == 409, duplicate.text
    assert dangling.status_code == 422, dangling.text
    assert sql(cluster.url, "SELECT count(*) FROM user_types")[0][0] == 1
    assert sql(cluster.url, "SELECT count(*) FROM users")[0][0] == 0
    assert server.stats()["checked_out"] == 0
    assert_clean_log(server)
