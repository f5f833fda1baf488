"""The lifecycle scenarios through PgBouncer in transaction mode.

The app runs with DB_POOLER=pgbouncer-transaction and DATABASE_URL naming PgBouncer
(the `bouncer` fixture: Debian's pgbouncer, `pool_mode = transaction`, 20 server
connections, nothing else changed). Without the setting, nothing works at all.
"""

import asyncio
import itertools

import httpx
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
    AppServer,
    Connection,
    Response,
    abandoned_request,
    load_through_restart,
    register_request,
    run_load,
    sql,
    wait_until,
)
from tests.lifecycle.test_concurrency import mixed_request as singleton_request
from tests.lifecycle.test_restart import RECOVERY
from tests.pgbouncer import PgBouncer, pgbouncer
from tests.postgres import Cluster

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

BUSY = (
    "SELECT count(*) FROM pg_stat_activity "
    "WHERE application_name = $1 AND state <> 'idle'"
)


_names = itertools.count()


def serve_through(serve: Serve, bouncer: PgBouncer, **env: object) -> AppServer:
    """The generated app behind PgBouncer, with the documented setting.

    Its application_name is its own for the whole session: PgBouncer keeps idle
    server connections carrying it after the app has gone, which would count as
    another scenario's connections if the name came back.
    """
    return serve(
        database_url=bouncer.url(),
        db_pooler="pgbouncer-transaction",
        db_application_name=f"lifecycle-pgbouncer-{next(_names)}",
        **env,
    )


@pytest.mark.usefixtures("empty_tables")
def test_without_the_setting_every_request_fails(
    serve: Serve, bouncer: PgBouncer
) -> None:
    # Today's engine sends the server timeouts as startup parameters: PgBouncer
    # refuses the connection, and the app answers 503 to everything.
    server = serve(database_url=bouncer.url())
    answers = [httpx.get(f"{server.url}/user-types", timeout=10) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [503, 503, 503]
    assert "unsupported startup parameter" in server.log()


@pytest.mark.usefixtures("empty_tables")
def test_without_the_setting_asyncpg_fails_even_when_pgbouncer_ignores_timeouts(
    serve: Serve, cluster: Cluster
) -> None:
    # PgBouncer told to ignore the two startup parameters (the timeouts are then
    # silently lost): asyncpg's prepared statements meet other server connections.
    ignoring = "statement_timeout,idle_in_transaction_session_timeout"
    with pgbouncer(cluster, pool_size=5, ignore_startup_parameters=ignoring) as other:
        server = serve(database_url=other.url())
        type_id = create_user_type(server)
        user_ids = [create_user(server, type_id, "s0@example.com")["id"]]
        result = asyncio.run(
            run_load(
                server.url, singleton_request(type_id, user_ids), clients=20, total=200
            )
        )
        server.stop()
    statuses = result.statuses()
    assert statuses.get(500, 0) + statuses.get(503, 0) > 0, statuses
    assert "prepared statement" in server.log()


@pytest.mark.usefixtures("empty_tables")
def test_one_shared_unit_of_work_serves_100_clients_through_pgbouncer(
    serve: Serve, cluster: Cluster, bouncer: PgBouncer
) -> None:
    server = serve_through(serve, bouncer)
    type_id = create_user_type(server)
    user_ids = [
        create_user(server, type_id, f"seed{i}@example.com")["id"] for i in range(10)
    ]

    with ActivitySampler(cluster.url, application_name(server)) as sampler:
        result = asyncio.run(
            run_load(
                server.url,
                singleton_request(type_id, user_ids),
                clients=100,
                total=1000,
            )
        )

    assert len(result.outcomes) == 1000
    assert set(result.statuses()) <= {200, 201}, result.statuses()
    # The server saw PgBouncer's connections, never more than its pool.
    assert 0 < sampler.max_connections <= bouncer.pool_size, sampler.summary()
    assert server.stats()["checked_out"] == 0
    assert_clean_log(server)


@pytest.mark.usefixtures("empty_tables")
def test_50_updates_of_the_same_version_one_wins_through_pgbouncer(
    serve: Serve, cluster: Cluster, bouncer: PgBouncer
) -> None:
    server = serve_through(serve, bouncer)
    user = create_user(server, create_user_type(server), "row@example.com")

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
    assert_clean_log(server)


@pytest.mark.usefixtures("empty_tables")
def test_postgresql_restart_behind_pgbouncer_answers_503_then_recovers(
    serve: Serve, cluster: Cluster, bouncer: PgBouncer
) -> None:
    server = serve_through(serve, bouncer, db_pool_timeout_s=2, db_connect_timeout_s=2)
    type_id = create_user_type(server)

    run = load_through_restart(
        server.url, register_request(type_id, "r", "/users"), cluster,
        clients=20, duration=10.0, down_s=2.0, timeout=15, keep_body=True,
    )  # fmt: skip
    result, back = run.result, run.back_at

    statuses = result.statuses()
    errors = [o.error for o in result.outcomes if o.status is None]
    assert set(statuses) <= {201, 503}, (statuses, errors[:5])
    after = [o for o in result.outcomes if o.started > back + RECOVERY]
    assert after and all(o.status == 201 for o in after)
    created = {o.body["email"] for o in result.outcomes if o.status == 201}
    stored = {row[0] for row in sql(cluster.url, "SELECT email FROM users")}
    assert created <= stored
    assert server.stats()["checked_out"] == 0
    assert "Traceback" not in server.log(), server.log()[-4000:]


@pytest.mark.usefixtures("empty_tables")
def test_clients_that_drop_inside_write_leave_nothing_behind_through_pgbouncer(
    serve: Serve, cluster: Cluster, bouncer: PgBouncer
) -> None:
    server = serve_through(serve, bouncer, db_pool_size=20, db_max_overflow=20)
    name = application_name(server)

    async def drop_all() -> None:
        await asyncio.gather(
            *(
                abandoned_request(
                    server.port,
                    "POST",
                    "/lifecycle/slow-write",
                    {"tag": f"drop{n}", "pause": 5.0, "in_database": n % 2 == 1},
                    after=1.5,
                )
                for n in range(40)
            )
        )

    asyncio.run(drop_all())
    wait_until(lambda: server.stats()["checked_out"] == 0, timeout=10)
    wait_until(lambda: sql(cluster.url, BUSY, name)[0][0] == 0, timeout=10)
    assert sql(cluster.url, "SELECT count(*) FROM user_types")[0][0] == 0
    # PgBouncer still serves: the cancelled transactions left it nothing stuck.
    assert httpx.get(f"{server.url}/user-types", timeout=10).status_code == 200
    assert_clean_log(server)


@pytest.mark.usefixtures("empty_tables")
def test_the_seed_flow_through_pgbouncer_holds_nothing_during_the_call(
    serve: Serve, bouncer: PgBouncer
) -> None:
    server = serve_through(serve, bouncer)
    type_id = create_user_type(server)

    result = asyncio.run(
        run_load(
            server.url, register_request(type_id, "seed"), clients=20, duration=4.0
        )
    )

    assert set(result.statuses()) == {201}, result.statuses()
    calls = server.stats()["external_calls"]
    assert calls["calls"] == len(result.outcomes), calls
    assert calls["holding_connection"] == 0, calls
    assert calls["in_transaction"] == 0, calls
    assert_clean_log(server)


@pytest.mark.usefixtures("empty_tables")
def test_the_server_timeouts_apply_through_pgbouncer(
    serve: Serve, cluster: Cluster, bouncer: PgBouncer
) -> None:
    server = serve_through(serve, bouncer, db_statement_timeout_ms=1000)
    user = create_user(server, create_user_type(server), "locked@example.com")
    # pg_sleep(30) under the row lock: the statement timeout (SET LOCAL) ends it.
    answer = httpx.post(
        f"{server.url}/lifecycle/lock/{user['id']}", json={"seconds": 30}, timeout=20
    )
    assert answer.status_code >= 500, answer.text
    assert "canceling statement due to statement timeout" in server.log()
    assert sql(cluster.url, BUSY, application_name(server))[0][0] == 0
