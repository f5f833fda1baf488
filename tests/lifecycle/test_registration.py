"""The second seed's registration, on PostgreSQL: no connection across the provider.

The generated `POST /registrations` (examples/registration.yml) and the same flow
written the seed's way, each under a bounded load against the project's stub
provider answering its admin API after 0.3 s. The apps record, as each call to the
provider starts, what the calling request holds (apps/instrument.py): that is the
property, whatever the machine's load. Throughput and the idle-in-transaction
stretch are benchmark figures (benchmarks/registration.py), not assertions.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.lifecycle import registration
from tests.postgres import Cluster

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

log = logging.getLogger(__name__)
LATENCY = 0.3


@pytest.fixture(scope="module")
def registry(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return registration.render_registry(
        tmp_path_factory.mktemp("render") / "registry", cluster
    )


@pytest.fixture(scope="module")
def issuer(registry: Path) -> Iterator[str]:
    with registration.provider(registry, LATENCY) as running:
        yield running.issuer


@pytest.mark.parametrize("app", list(registration.APPS))
def test_registration_under_load(
    app: str, cluster: Cluster, registry: Path, issuer: str, tmp_path: Path
) -> None:
    server = registration.serve(app, cluster, registry, tmp_path, issuer, pool_size=5)
    try:
        type_id = registration.new_user_type(cluster)
        row = registration.load(
            app, server, cluster, type_id, clients=20, latency=LATENCY, total=40
        )
    finally:
        server.stop()
    log.info("%s", row)
    assert row["sampler_error"] is None
    assert row["ok"] == row["requests"] == 40, (row, server.log()[-3000:])
    # Every registration made its user at the provider: one create each, at least.
    assert row["provider_calls"] >= 40
    if app == "registration":
        assert row["provider_calls_holding_a_connection"] == 0, row
        assert row["provider_calls_in_a_transaction"] == 0, row
    else:
        # The measure can see it: the seed's way holds its transaction at each call.
        assert row["provider_calls_in_a_transaction"] >= 40, row
