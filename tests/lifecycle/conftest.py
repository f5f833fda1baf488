"""Fixtures of the lifecycle scenarios: a real PostgreSQL, a rendered project served by
uvicorn, the slow external stub. Helpers live in `harness.py` (shared with the
benchmark)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.lifecycle.harness import (
    REPO_ROOT,
    AppServer,
    migrate,
    render_project,
    sql,
    stub_server,
)
from tests.pgbouncer import PgBouncer, PgBouncerUnavailable, pgbouncer
from tests.postgres import Cluster, PostgresUnavailable, throwaway_cluster

TABLES = (
    "vocabulary_sets_tags, vocabulary_sets, tags, language_pairs, users, user_types"
)
STUB_LATENCY = 0.5


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    """A throwaway PostgreSQL of the lifecycle suite (stopped and started by tests)."""
    if os.environ.get("UOWGEN_SKIP_POSTGRES") == "1":
        pytest.skip("UOWGEN_SKIP_POSTGRES=1")
    try:
        with throwaway_cluster() as running:
            yield running
    except PostgresUnavailable as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def bouncer(cluster: Cluster) -> Iterator[PgBouncer]:
    """PgBouncer in transaction mode in front of `cluster` (20 server connections).

    Two settings as the README advises: a transaction waiting for a server
    connection (PostgreSQL down or restarting) fails after `query_wait_timeout` (5 s,
    not PgBouncer's default 120 s), so the app answers 503 rather than hang; and
    PgBouncer tries the server again `server_login_retry` (1 s, not 15 s) after a
    failed login, so service resumes soon after PostgreSQL is back.
    """
    settings = {"query_wait_timeout": "5", "server_login_retry": "1"}
    try:
        with pgbouncer(cluster, pool_size=20, **settings) as running:
            yield running
    except PgBouncerUnavailable as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def project(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/fastbot.yml rendered, the README example added, migrated."""
    root = render_project(tmp_path_factory.mktemp("render") / "fastbot")
    migrate(root, cluster.url)
    return root


@pytest.fixture(scope="session")
def stub_url() -> Iterator[str]:
    """The slow external service (0.5 s per request)."""
    with stub_server(STUB_LATENCY) as url:
        yield url


@pytest.fixture
def empty_tables(cluster: Cluster, project: Path) -> None:
    del project
    sql(cluster.url, f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")


Serve = Callable[..., AppServer]


@pytest.fixture
def serve(
    cluster: Cluster, project: Path, stub_url: str, tmp_path: Path
) -> Iterator[Serve]:
    """Start an app (`generated` by default, or `seed`) on 127.0.0.1; stopped after.

    The app runs with the generated settings' defaults (pool 10 + 10 overflow, 10 s
    pool timeout); keyword arguments become environment variables of the app
    (db_pool_size=5 sets DB_POOL_SIZE=5).
    """
    servers: list[AppServer] = []

    def start(app: str = "generated", workers: int = 1, **env: object) -> AppServer:
        name = f"lifecycle-{app}-{len(servers)}"
        environment = {
            "DATABASE_URL": cluster.url,
            "DB_APPLICATION_NAME": name,
            "STUB_URL": stub_url,
            **{key.upper(): str(value) for key, value in env.items()},
        }
        server = AppServer(
            target=f"tests.lifecycle.apps.{app}:create_app",
            env=environment,
            log_path=tmp_path / f"{name}.log",
            pythonpath=[project / "src", REPO_ROOT],
            workers=workers,
        )
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


def application_name(server: AppServer) -> str:
    return server.env["DB_APPLICATION_NAME"]


def create_user_type(server: AppServer, code: str = "student") -> int:
    response = httpx.post(
        f"{server.url}/user-types", json={"code": code, "name": code}, timeout=10
    )
    assert response.status_code == 201, response.text
    user_type_id: int = response.json()["id"]
    return user_type_id


def create_user(server: AppServer, type_id: int, email: str) -> dict[str, Any]:
    body = {"email": email, "first_name": "Ada", "type_id": type_id}
    response = httpx.post(f"{server.url}/users", json=body, timeout=10)
    assert response.status_code == 201, response.text
    user: dict[str, Any] = response.json()
    return user


def assert_clean_log(server: AppServer) -> None:
    """No traceback, no pool warning, no concurrent-session error in the app's log."""
    log = server.log()
    for needle in (
        "Traceback",
        "non-checked-in connection",
        "concurrent operations are not permitted",
        "Exception in ASGI application",
    ):
        assert needle not in log, f"{needle!r} in the app's log:\n{log[-4000:]}"
