"""Scenarios 1 and 2: one shared unit of work under concurrency; clean shutdown."""

import asyncio
import threading
import time

import pytest

from tests.lifecycle.conftest import (
    Serve,
    application_name,
    assert_clean_log,
    create_user,
    create_user_type,
)
from tests.lifecycle.harness import (
    Connection,
    Request,
    Response,
    run_load,
    sql,
    wait_until,
)
from tests.postgres import Cluster

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def mixed_request(type_id: int, user_ids: list[int]) -> Request:
    """Reads and writes through the seed-style singleton services and the routes."""

    async def request(client: Connection, n: int) -> Response:
        kind = n % 6
        if kind == 0:
            body = {"email": f"u{n}@example.com", "first_name": "U", "type_id": type_id}
            return await client.post("/singleton/users", json=body)
        if kind == 1:
            return await client.get(f"/singleton/users/{user_ids[n % len(user_ids)]}")
        if kind == 2:
            return await client.post(
                "/singleton/user-types", json={"code": f"t{n}", "name": "T"}
            )
        if kind == 3:
            return await client.get("/singleton/user-types/count")
        if kind == 4:
            return await client.get("/users?limit=20")
        return await client.get(f"/users/{user_ids[n % len(user_ids)]}")

    return request


@pytest.mark.usefixtures("empty_tables")
def test_one_shared_unit_of_work_serves_100_concurrent_clients(serve: Serve) -> None:
    server = serve()
    type_id = create_user_type(server)
    user_ids = [
        create_user(server, type_id, f"seed{i}@example.com")["id"] for i in range(10)
    ]

    result = asyncio.run(
        run_load(server.url, mixed_request(type_id, user_ids), clients=100, total=1000)
    )

    assert len(result.outcomes) == 1000
    assert result.statuses() == {
        200: sum(1 for o in result.outcomes if o.status == 200),
        201: sum(1 for o in result.outcomes if o.status == 201),
    }, result.statuses()
    assert server.stats()["checked_out"] == 0
    assert_clean_log(server)


@pytest.mark.usefixtures("empty_tables")
def test_sigterm_under_load_leaves_no_connection_behind(
    serve: Serve, cluster: Cluster
) -> None:
    server = serve()
    name = application_name(server)
    type_id = create_user_type(server)
    user_ids = [
        create_user(server, type_id, f"seed{i}@example.com")["id"] for i in range(10)
    ]
    load = threading.Thread(
        target=lambda: asyncio.run(
            run_load(
                server.url, mixed_request(type_id, user_ids), clients=30, duration=3.0
            )
        )
    )
    load.start()
    time.sleep(1.0)
    assert (
        int(
            sql(
                cluster.url,
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                name,
            )[0][0]
        )
        > 0
    )

    exit_code = server.stop()
    load.join(30)

    assert exit_code in (0, -15), server.log()[-3000:]  # uvicorn re-raises SIGTERM
    assert "Application shutdown complete" in server.log()
    assert_clean_log(server)

    def app_connections() -> int:
        rows = sql(
            cluster.url,
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
            name,
        )
        return int(rows[0][0])

    # A backend leaves pg_stat_activity once it has read the client's goodbye.
    wait_until(lambda: app_connections() == 0, timeout=2)
