"""Scenario 6: the README's read-call-write example never idles in a transaction."""

import asyncio

import pytest

from tests.lifecycle.conftest import (
    STUB_LATENCY,
    Serve,
    application_name,
    assert_clean_log,
    create_user_type,
)
from tests.lifecycle.harness import (
    ActivitySampler,
    ActivitySummary,
    AppServer,
    LoadResult,
    register_request,
    run_load,
)
from tests.postgres import Cluster

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

LIMIT = 0.100  # the longest idle-in-transaction stretch allowed, in seconds


def register_load(
    server: AppServer, cluster: Cluster, type_id: int, prefix: str
) -> tuple[LoadResult, ActivitySummary]:
    register = register_request(type_id, prefix)

    with ActivitySampler(
        cluster.url, application_name(server), interval=0.02
    ) as sampler:
        result = asyncio.run(run_load(server.url, register, clients=20, duration=4.0))
    assert sampler.error is None
    return result, sampler.summary()


@pytest.mark.usefixtures("empty_tables")
def test_read_call_write_never_idles_in_transaction(
    serve: Serve, cluster: Cluster
) -> None:
    generated = serve()
    type_id = create_user_type(generated)
    result, activity = register_load(generated, cluster, type_id, "uow")

    assert set(result.statuses()) == {201}, result.statuses()
    assert len(result.outcomes) >= 60  # 20 clients, 4 s, 0.5 s a call: at most 160
    assert activity.samples >= 100
    assert activity.longest_idle_in_transaction_s < LIMIT, activity
    assert_clean_log(generated)


@pytest.mark.usefixtures("empty_tables")
def test_the_seed_pattern_idles_as_long_as_the_external_call(
    serve: Serve, cluster: Cluster
) -> None:
    type_id = create_user_type(serve())
    seed = serve("seed")
    result, activity = register_load(seed, cluster, type_id, "seed")

    assert set(result.statuses()) == {201}, result.statuses()
    assert activity.longest_idle_in_transaction_s > STUB_LATENCY * 0.8, activity
