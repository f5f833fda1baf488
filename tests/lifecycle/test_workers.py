"""Many workers: `uvicorn --workers 2` drains on SIGTERM, then disposes its engines."""

import asyncio
import threading

import pytest

from tests.lifecycle.conftest import Serve, application_name, assert_clean_log
from tests.lifecycle.harness import Connection, HttpError, sql, wait_until
from tests.postgres import Cluster

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

CONNECTIONS = "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1"
IN_FLIGHT = 20
PAUSE_S = 2.0


@pytest.mark.usefixtures("empty_tables")
def test_sigterm_lets_in_flight_requests_finish_then_leaves_no_connection(
    serve: Serve, cluster: Cluster
) -> None:
    server = serve(workers=2, db_application_name="lifecycle-workers-drain")
    name = application_name(server)
    statuses: list[int | None] = []

    async def slow_writes() -> None:
        # Each request holds its write scope for PAUSE_S, then commits.
        async def one(n: int) -> None:
            client = Connection(server.port, timeout=30)
            body = {"tag": f"drain{n}", "pause": PAUSE_S, "in_database": False}
            try:
                statuses.append(
                    (await client.post("/lifecycle/slow-write", json=body)).status_code
                )
            except HttpError:
                statuses.append(None)
            finally:
                client.close()

        await asyncio.gather(*(one(n) for n in range(IN_FLIGHT)))

    load = threading.Thread(target=lambda: asyncio.run(slow_writes()))
    load.start()
    # Every request inside its write scope: a connection each, on the server.
    wait_until(
        lambda: int(sql(cluster.url, CONNECTIONS, name)[0][0]) >= IN_FLIGHT, timeout=10
    )

    exit_code = server.stop(timeout=30)
    load.join(30)

    assert exit_code in (0, -15), server.log()[-3000:]
    # Drained: each request in flight at SIGTERM finished and committed.
    assert statuses == [201] * IN_FLIGHT
    stored = sql(cluster.url, "SELECT count(*) FROM user_types")[0][0]
    assert stored == 2 * IN_FLIGHT
    # Both workers ran their shutdown, which disposes the engines.
    assert server.log().count("Application shutdown complete") == 2
    assert_clean_log(server)
    wait_until(lambda: int(sql(cluster.url, CONNECTIONS, name)[0][0]) == 0, timeout=2)
