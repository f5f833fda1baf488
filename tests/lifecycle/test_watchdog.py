"""Scenario 10: the transaction watchdog and /metrics, in a real run on PostgreSQL.

A write scope held open across slow work (the second seed's shape) is logged once
by the generated app's ConnectionWatch, naming the request and where the
connection was checked out; /metrics shows it with the pool's figures.
"""

import asyncio

import pytest

from tests.lifecycle.conftest import Serve, assert_clean_log
from tests.lifecycle.harness import Connection

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def figures(text: str) -> dict[str, float]:
    return {
        name: float(value)
        for name, value in (
            line.rsplit(" ", 1)
            for line in text.splitlines()
            if line and not line.startswith("#")
        )
    }


@pytest.mark.usefixtures("empty_tables")
def test_a_slow_transaction_is_logged_once_and_counted_in_metrics(
    serve: Serve,
) -> None:
    server = serve(db_slow_transaction_ms=200)

    async def scenario() -> tuple[int, str, str]:
        client = Connection(server.port, timeout=30)
        try:
            before = (await client.get("/metrics")).text
            # 0.6 s inside one write scope: three times the threshold.
            slow = await client.post(
                "/lifecycle/slow-write", json={"tag": "watchdog", "pause": 0.6}
            )
            quick = await client.get("/users")
            assert quick.status_code == 200
            return slow.status_code, before, (await client.get("/metrics")).text
        finally:
            client.close()

    status, before, after = asyncio.run(scenario())
    assert status == 201
    assert figures(before)["db_slow_connections_total"] == 0
    counted = figures(after)
    assert counted["db_slow_connections_total"] == 1
    assert counted['db_pool_checked_out{target="primary"}'] == 0
    assert counted['db_pool_waiting{target="primary"}'] == 0
    assert counted["db_connection_hold_seconds_count"] >= 2
    assert counted['db_connection_hold_seconds_bucket{le="+Inf"}'] >= 2
    server.stop()
    warnings = [
        line for line in server.log().splitlines() if "database connection" in line
    ]
    assert len(warnings) == 1, server.log()
    assert "POST /lifecycle/slow-write" in warnings[0]
    assert "DB_SLOW_TRANSACTION_MS=200" in warnings[0]
    # The frames after the warning line name where the scope began.
    log = server.log()
    place = log[log.index(warnings[0]) :]
    assert "tests/lifecycle/apps/generated.py" in place
    assert_clean_log(server)
