"""Scenario 5: PostgreSQL stopped and started while clients keep sending."""

import asyncio

import pytest

from tests.lifecycle.conftest import Serve, create_user_type
from tests.lifecycle.harness import (
    load_through_restart,
    mixed_request,
    run_load,
    sql,
)
from tests.postgres import Cluster

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

DOWN_FOR = 2.0
RECOVERY = 3.0  # seconds after the server is back within which every request succeeds


@pytest.mark.usefixtures("empty_tables")
def test_database_restart_answers_503_then_recovers_losing_nothing(
    serve: Serve, cluster: Cluster
) -> None:
    server = serve(db_pool_timeout_s=2, db_connect_timeout_s=2)
    type_id = create_user_type(server)
    request = mixed_request(type_id, "r")

    run = load_through_restart(
        server.url, request, cluster,
        clients=20, duration=10.0, down_s=DOWN_FOR, timeout=15, keep_body=True,
    )  # fmt: skip
    result, stopping, back = run.result, run.stopped_at, run.back_at

    statuses = result.statuses()
    # Every request got an answer: a 503 while down, never a hang. A request still
    # waiting when the client gives up (15 s, beyond the app's own 2 s pool and
    # connect timeouts) has no status, and fails this. The answer times are the
    # benchmark's business, not this test's.
    errors = [o.error for o in result.outcomes if o.status is None]
    assert set(statuses) <= {200, 201, 503}, (statuses, errors[:5])
    down = [o for o in result.outcomes if o.status == 503]
    assert down, "no request saw the database down"
    # The documented error body: a detail, and no input problems.
    assert all(o.body == {"detail": o.body["detail"], "errors": []} for o in down)
    assert all(stopping - 0.5 <= o.started <= back + RECOVERY for o in down)
    # ...and after the restart it recovered by itself.
    after = [o for o in result.outcomes if o.started > back + RECOVERY]
    assert after and all(o.status in (200, 201) for o in after)
    # No write answered 201 was lost.
    created = {o.body["email"] for o in result.outcomes if o.status == 201}
    stored = {row[0] for row in sql(cluster.url, "SELECT email FROM users")}
    assert created <= stored
    assert server.stats()["checked_out"] == 0
    log = server.log()
    assert "Traceback" not in log, log[-4000:]


@pytest.mark.usefixtures("empty_tables")
def test_restart_while_idle_costs_no_request(serve: Serve, cluster: Cluster) -> None:
    """The server restarts while the pool holds idle connections, then load comes.

    Without pool_pre_ping, a pooled connection the server closed used to fail the
    first statement run on it (one 503 per restart). The pool now finds such a
    connection closed when it is checked out (asyncpg marks it as the server's
    goodbye arrives) and replaces it, at no round trip.
    """
    server = serve(db_pool_timeout_s=2, db_connect_timeout_s=2)
    type_id = create_user_type(server)

    # Several connections in the pool, all idle.
    warm_up = mixed_request(type_id, "warm")
    warm = asyncio.run(run_load(server.url, warm_up, clients=10, total=100))
    assert set(warm.statuses()) <= {200, 201}, warm.statuses()
    assert server.stats()["checked_out"] == 0
    cluster.stop("fast")
    cluster.start()  # returns once the server accepts connections

    after = mixed_request(type_id, "after")
    result = asyncio.run(run_load(server.url, after, clients=20, total=200, timeout=15))
    assert set(result.statuses()) <= {200, 201}, result.statuses()
    assert server.stats()["checked_out"] == 0
    log = server.log()
    assert "Traceback" not in log, log[-4000:]
