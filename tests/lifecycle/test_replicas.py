"""Read replicas: DATABASE_READ_URL sends uow.read() to a streaming replica.

The replica is a real hot standby of the lifecycle cluster (`pg_basebackup -R` on
another port). Where each scope ran is seen on each server's pg_stat_activity.
"""

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from tests.lifecycle.conftest import (
    Serve,
    application_name,
    assert_clean_log,
    create_user,
    create_user_type,
)
from tests.lifecycle.harness import Connection, Response, run_load, sql, wait_until
from tests.postgres import Cluster, streaming_replica

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

CONNECTIONS = "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1"


@pytest.fixture(scope="module")
def replica(cluster: Cluster, project: object) -> Iterator[Cluster]:
    """A streaming replica of the migrated lifecycle cluster."""
    del project  # migrated first, though the copy would carry the schema anyway
    with streaming_replica(cluster) as running:
        yield running


@pytest.fixture
def replica_running(replica: Cluster) -> Iterator[Cluster]:
    """The replica, replaying, and started again if a test stopped it."""
    yield replica
    if replica.pg_ctl("status", check=False).returncode != 0:
        replica.start()
    sql(replica.url, "SELECT pg_wal_replay_resume()")


def connections(url: str, name: str) -> int:
    return int(sql(url, CONNECTIONS, name)[0][0])


def replicated(replica: Cluster, email: str) -> bool:
    rows = sql(replica.url, "SELECT count(*) FROM users WHERE email = $1", email)
    return int(rows[0][0]) == 1


@pytest.mark.usefixtures("empty_tables")
def test_reads_run_on_the_replica_and_writes_on_the_primary(
    serve: Serve, cluster: Cluster, replica_running: Cluster
) -> None:
    replica = replica_running
    server = serve(database_read_url=replica.url)
    name = application_name(server)
    type_id = create_user_type(server)  # a write: the primary
    user = create_user(server, type_id, "reader@example.com")
    wait_until(lambda: replicated(replica, "reader@example.com"), timeout=10)
    writes_on_primary = connections(cluster.url, name)
    assert writes_on_primary >= 1
    assert connections(replica.url, name) == 0  # no read yet

    async def read(client: Connection, n: int) -> Response:
        if n % 2:
            return await client.get(f"/users/{user['id']}")
        return await client.get("/users?limit=10")

    result = asyncio.run(run_load(server.url, read, clients=10, total=200))

    assert set(result.statuses()) == {200}, result.statuses()
    # The reads opened connections on the replica, and none more on the primary.
    assert connections(replica.url, name) >= 1
    assert connections(cluster.url, name) == writes_on_primary
    ready = httpx.get(f"{server.url}/readyz", timeout=10).json()
    assert ready["replicas"] == [{"replica": 1, "status": "ok"}]
    metrics = httpx.get(f"{server.url}/metrics", timeout=10).text
    assert 'db_pool_size{target="replica1"}' in metrics
    assert server.stats()["checked_out"] == 0
    assert_clean_log(server)


@pytest.mark.usefixtures("empty_tables")
def test_read_primary_sees_the_write_just_made_while_the_replica_lags(
    serve: Serve, replica_running: Cluster
) -> None:
    replica = replica_running
    server = serve(database_read_url=replica.url)
    user = create_user(server, create_user_type(server), "lag@example.com")
    wait_until(lambda: replicated(replica, "lag@example.com"), timeout=10)
    # A replica that lags for as long as the test wants: replay paused.
    sql(replica.url, "SELECT pg_wal_replay_pause()")

    answer = httpx.post(
        f"{server.url}/lifecycle/rename/{user['id']}",
        json={"first_name": "Renamed"},
        timeout=10,
    )

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"primary": "Renamed", "replica": "Ada"}
    assert_clean_log(server)


@pytest.mark.parametrize(
    ("fallback", "expected"), [("primary", {200}), ("fail", {503})]
)
@pytest.mark.usefixtures("empty_tables")
def test_a_stopped_replica_makes_reads_do_what_the_setting_says(
    serve: Serve,
    replica_running: Cluster,
    fallback: str,
    expected: set[int],
) -> None:
    replica = replica_running
    server = serve(
        database_read_url=replica.url,
        db_read_fallback=fallback,
        db_connect_timeout_s=2,
    )
    user = create_user(server, create_user_type(server), "down@example.com")
    wait_until(lambda: replicated(replica, "down@example.com"), timeout=10)
    # Warm: the pool holds replica connections when the replica goes away.
    warm = [httpx.get(f"{server.url}/users/{user['id']}", timeout=10) for _ in range(3)]
    assert {answer.status_code for answer in warm} == {200}
    replica.stop("fast")

    async def read(client: Connection, _n: int) -> Response:
        return await client.get(f"/users/{user['id']}")

    # Every read answers (a client timeout of 15 s, far above DB_CONNECT_TIMEOUT_S).
    result = asyncio.run(run_load(server.url, read, clients=10, total=100, timeout=15))

    assert set(result.statuses()) == expected, result.statuses()
    ready = httpx.get(f"{server.url}/readyz", timeout=10)
    assert ready.status_code == 200  # the primary decides readiness
    assert ready.json()["replicas"] == [{"replica": 1, "status": "unreachable"}]
    assert "cannot be reached" in server.log()
    assert server.stats()["checked_out"] == 0
