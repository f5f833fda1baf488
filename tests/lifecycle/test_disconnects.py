"""Scenarios 3 and 8: clients that go away inside a write, or during a long query."""

import asyncio
import time

import asyncpg
import pytest

from tests.lifecycle.conftest import (
    Serve,
    application_name,
    assert_clean_log,
    create_user,
    create_user_type,
)
from tests.lifecycle.harness import (
    ActivitySampler,
    abandoned_request,
    asyncpg_dsn,
    sql,
    wait_until,
)
from tests.postgres import Cluster

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

IN_TRANSACTION = "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND state <> 'idle'"


@pytest.mark.usefixtures("empty_tables")
def test_100_clients_that_drop_inside_write_leave_nothing_behind(
    serve: Serve, cluster: Cluster
) -> None:
    # A pool large enough that all 100 requests are inside write() at once.
    server = serve(db_pool_size=50, db_max_overflow=50)
    name = application_name(server)

    async def drop_all() -> None:
        await asyncio.gather(
            *(
                abandoned_request(
                    server.port,
                    "POST",
                    "/lifecycle/slow-write",
                    # Half pause in Python between two statements, half in a query.
                    {"tag": f"drop{n}", "pause": 5.0, "in_database": n % 2 == 1},
                    after=1.5,
                )
                for n in range(100)
            )
        )

    with ActivitySampler(cluster.url, name) as sampler:
        asyncio.run(drop_all())
        wait_until(lambda: server.stats()["checked_out"] == 0, timeout=5)
        time.sleep(0.1)

    # The requests were inside their write scopes when their clients went away...
    assert sampler.max_connections >= 90, sampler.summary()
    assert sampler.samples_idle_in_transaction_max >= 40, sampler.summary()
    # ...and afterwards: nothing checked out, no transaction open, no partial rows.
    assert server.stats()["checked_out"] == 0
    assert sql(cluster.url, IN_TRANSACTION, name)[0][0] == 0
    assert sql(cluster.url, "SELECT count(*) FROM user_types")[0][0] == 0
    assert_clean_log(server)


@pytest.mark.usefixtures("empty_tables")
def test_a_client_gone_during_a_long_statement_frees_the_connection_and_lock(
    serve: Serve, cluster: Cluster
) -> None:
    timeout_ms = 2000
    server = serve(db_statement_timeout_ms=timeout_ms)
    name = application_name(server)
    user = create_user(server, create_user_type(server), "locked@example.com")

    async def lock_then_drop() -> float:
        # Holds the row lock, then runs pg_sleep(30); the client leaves at 0.5 s.
        await abandoned_request(
            server.port,
            "POST",
            f"/lifecycle/lock/{user['id']}",
            {"seconds": 30},
            after=0.5,
        )
        gone = time.monotonic()
        conn = await asyncpg.connect(asyncpg_dsn(cluster.url))
        try:
            await conn.execute("SET lock_timeout = '50ms'")
            while True:
                try:
                    async with conn.transaction():
                        await conn.execute(
                            "SELECT id FROM users WHERE id = $1 FOR UPDATE", user["id"]
                        )
                    return time.monotonic() - gone
                except asyncpg.LockNotAvailableError:
                    assert time.monotonic() - gone < 10, (
                        "the row lock was never released"
                    )
        finally:
            await conn.close()

    took = asyncio.run(lock_then_drop())

    assert took < timeout_ms / 1000, f"row lock free after {took:.2f} s"
    wait_until(lambda: server.stats()["checked_out"] == 0, timeout=timeout_ms / 1000)
    assert sql(cluster.url, IN_TRANSACTION, name)[0][0] == 0
    assert_clean_log(server)
