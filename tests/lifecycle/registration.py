"""The second seed's registration under load: the generated flow and the seed's way.

Shared by the lifecycle test (tests/lifecycle/test_registration.py) and the
benchmark (benchmarks/registration.py). Renders examples/registration.yml, runs the
project's own stub OpenID provider (`python -m tests.utils.oidc_provider`, in the
rendered project) with a latency on its token endpoint and admin API, and serves
either app with uvicorn on 127.0.0.1:

- `registration`: the generated `POST /registrations` (read, call, write);
- `seed_registration`: the same call in a session-per-request transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.lifecycle.harness import (
    PYTHON,
    REPO_ROOT,
    ActivitySampler,
    AppServer,
    Connection,
    Request,
    Response,
    insert_user_type,
    migrate,
    run_load,
    sql,
)
from tests.postgres import Cluster

APPS = {
    "registration": "uowgen project (generated read, call, write)",
    "seed_registration": "seed: session per request",
}
PACKAGE = "registry"
DATABASE = "registry"
START_TIMEOUT_S = 30.0


def database_url(cluster: Cluster) -> str:
    """The registry's own database on the cluster: the other lifecycle projects
    (fastbot) have `users` tables and an Alembic history of their own."""
    from sqlalchemy import make_url

    url = make_url(cluster.url).set(database=DATABASE)
    return url.render_as_string(hide_password=False)


def render_registry(dst: Path, cluster: Cluster) -> Path:
    """examples/registration.yml rendered into dst, migrated on a database of its own."""
    from uowgen import generate, load_spec

    generate(load_spec(REPO_ROOT / "examples" / "registration.yml"), dst)
    sql(cluster.url, f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    sql(cluster.url, f'CREATE DATABASE "{DATABASE}"')
    migrate(dst, database_url(cluster))
    return dst


@dataclass(frozen=True)
class Provider:
    """A stub provider running: its issuer, and a token it printed (valid 1 h)."""

    issuer: str
    token: str


@contextlib.contextmanager
def provider(
    project: Path, admin_latency: float = 0.0, roles: Sequence[str] = ()
) -> Iterator[Provider]:
    """The project's stub provider on a free port, its token with `roles`."""
    from tests.lifecycle.harness import free_port

    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(project / "src"), str(project)]),
    }
    process = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "tests.utils.oidc_provider",
            "--port",
            str(free_port()),
            "--admin-latency",
            str(admin_latency),
            *(f"--role={role}" for role in roles),
        ],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        issuer = token = ""
        deadline = time.monotonic() + START_TIMEOUT_S
        while not token and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                raise RuntimeError("the stub provider exited before it served")
            if line.startswith("AUTH_ISSUER_URL="):
                issuer = line.split("=", 1)[1].strip()
            elif line.startswith("token: "):
                token = line.removeprefix("token: ").strip()
        if not (issuer and token):
            raise RuntimeError("the stub provider did not start")
        yield Provider(issuer, token)
    finally:
        process.terminate()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()


def serve(
    app: str,
    cluster: Cluster,
    project: Path,
    logs: Path,
    issuer: str,
    *,
    pool_size: int,
    cpus: frozenset[int] | None = None,
) -> AppServer:
    """One of APPS on 127.0.0.1, with `pool_size` connections and no overflow."""
    env = {
        "DATABASE_URL": database_url(cluster),
        "DB_APPLICATION_NAME": f"bench-{app}",
        "DB_POOL_SIZE": str(pool_size),
        "DB_MAX_OVERFLOW": "0",
        "DB_POOL_TIMEOUT_S": "30",
        "AUTH_ISSUER_URL": issuer,
        "AUTH_AUDIENCE": "api-tests",
        "AUTH_ADMIN_CLIENT_ID": "api-admin",
        "AUTH_ADMIN_CLIENT_SECRET": "stub-provider-secret",
        "AUTH_HTTP_TIMEOUT_S": "30",
    }
    return AppServer(
        target=f"tests.lifecycle.apps.{app}:create_app",
        env=env,
        log_path=logs / f"{app}.log",
        pythonpath=[project / "src", REPO_ROOT],
        cpus=cpus,
    ).start()


def new_user_type(cluster: Cluster) -> int:
    return insert_user_type(database_url(cluster))


def registration_request(type_id: int, prefix: str) -> Request:
    """A load request: register `<prefix><n>@example.com` with a password."""

    async def register(client: Connection, n: int) -> Response:
        body = {
            "email": f"{prefix}{n}@example.com",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "type_id": type_id,
            "password": "a long passphrase",
        }
        return await client.post("/registrations", json=body)

    return register


def load(
    app: str,
    server: AppServer,
    cluster: Cluster,
    type_id: int,
    *,
    clients: int,
    latency: float,
    duration: float | None = None,
    total: int | None = None,
) -> dict[str, Any]:
    """Register users with `clients` concurrent clients; what it cost and held."""
    register = registration_request(type_id, f"{app}-{time.monotonic_ns()}-")
    before = server.stats()
    with ActivitySampler(
        cluster.url, server.env["DB_APPLICATION_NAME"], interval=0.02
    ) as sampler:
        result = asyncio.run(
            run_load(
                server.url,
                register,
                clients=clients,
                duration=duration,
                total=total,
                timeout=120,
                # Spread the clients' starts over one provider latency.
                ramp=latency,
            )
        )
    after = server.stats()
    activity = sampler.summary()
    ok = result.ok()
    calls = after["external_calls"]
    return {
        "app": app,
        "label": APPS[app],
        "requests": len(result.outcomes),
        "ok": len(ok),
        "errors": len(result.outcomes) - len(ok),
        "statuses": sorted({o.status for o in result.outcomes if o.status}),
        "throughput_rps": len(ok) / result.wall_s,
        "p50_s": result.latency_quantile(0.50),
        "p99_s": result.latency_quantile(0.99),
        "longest_idle_in_transaction_s": activity.longest_idle_in_transaction_s,
        "server_connections": activity.max_connections,
        "provider_calls": calls["calls"] - before["external_calls"]["calls"],
        "provider_calls_holding_a_connection": calls["holding_connection"]
        - before["external_calls"]["holding_connection"],
        "provider_calls_in_a_transaction": calls["in_transaction"]
        - before["external_calls"]["in_transaction"],
        "sampler_error": sampler.error,
    }
