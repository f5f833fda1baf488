"""The seed's trigger, on PostgreSQL: the admin's edit pages under concurrent load.

The first seed's app crashed with "This session is provisioning a new connection;
concurrent operations are not permitted" when its starlette-admin edit page loaded
related rows while the auth provider called the services through a shared unit of
work, and leaked connections at shutdown. Here the same call path runs in a project
generated with `admin: true`: 50 logged-in clients open edit pages that load related
rows (a vocabulary set with its owner and language pair, a user with their
vocabulary sets), the login is resolved through the services on every admin
request, and 50 more clients drive the JSON API at the same time.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher

from tests.lifecycle.conftest import application_name, assert_clean_log
from tests.lifecycle.harness import (
    REPO_ROOT,
    AppServer,
    Connection,
    LoadResult,
    Request,
    Response,
    migrate,
    run_load,
    sql,
    wait_until,
)
from tests.postgres import Cluster

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ADMIN_CLIENTS = 50
API_CLIENTS = 50
REQUESTS_PER_CLIENT = 10
PASSWORD = "a password for the lifecycle test"
SECRET = "lifecycle-admin-secret-0123456789abcdefghijklmnop"
NAME = "lifecycle-admin"


@pytest.fixture(scope="module")
def admin_project(
    cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str]:
    """examples/fastbot.yml with `admin: true`, rendered and migrated into a database
    of its own on the cluster: the project and the database's URL."""
    from uowgen import generate, load_spec, parse_spec

    spec = load_spec(REPO_ROOT / "examples" / "fastbot.yml")
    root = tmp_path_factory.mktemp("admin") / "fastbot"
    generate(parse_spec({**spec.to_data(), "admin": True}), root)
    sql(cluster.url, "DROP DATABASE IF EXISTS fastbot_admin")
    sql(cluster.url, "CREATE DATABASE fastbot_admin")
    url = cluster.url.rsplit("/", 1)[0] + "/fastbot_admin"
    migrate(root, url)
    return root, url


@pytest.fixture
def server(admin_project: tuple[Path, str], tmp_path: Path) -> Iterator[AppServer]:
    root, url = admin_project
    app = AppServer(
        target="tests.lifecycle.apps.admin:create_app",
        env={
            "DATABASE_URL": url,
            "DB_APPLICATION_NAME": NAME,
            "ADMIN_PASSWORD_HASH": PasswordHasher().hash(PASSWORD),
            "ADMIN_SECRET_KEY": SECRET,
            # One worker serves 100 clients on a 2-core machine: CPU-bound, so a
            # scope's connection waits for the event loop before it goes back. The
            # pool is sized for the clients (the cluster allows 200), so they queue
            # for the CPU, not for connections (pool 10 + 10 with its 10 s timeout
            # answered one 503 in 1,000 requests here).
            "DB_POOL_SIZE": "20",
            "DB_MAX_OVERFLOW": "30",
        },
        log_path=tmp_path / "admin-app.log",
        pythonpath=[root / "src", REPO_ROOT],
    )
    app.start()
    yield app
    app.stop()


def log_in(server: AppServer) -> str:
    """Log a new client in through the form; the Cookie header it then sends."""
    with httpx.Client(base_url=server.url, timeout=30) as client:
        client.get("/admin/login")
        token = client.cookies["starlette_admin_csrftoken"]
        response = client.post(
            "/admin/login",
            data={"username": "admin", "password": PASSWORD},
            headers={"X-CSRFToken": token},
        )
        assert response.status_code == 303, response.text
        return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


def seed_rows(server: AppServer) -> dict[str, list[int]]:
    """Users with vocabulary sets and language pairs: what the edit pages load."""
    ids: dict[str, list[int]] = {"users": [], "sets": []}
    with httpx.Client(base_url=server.url, timeout=30) as api:
        type_id = api.post("/user-types", json={"code": "t", "name": "T"}).json()["id"]
        for n in range(10):
            user = api.post(
                "/users",
                json={
                    "email": f"seed{n}@example.com",
                    "first_name": "S",
                    "type_id": type_id,
                },
            ).json()
            pair = api.post(
                "/language-pairs",
                json={"source": "en", "target": "de", "user_id": user["id"]},
            ).json()
            for k in range(3):
                vocabulary_set = api.post(
                    "/vocabulary-sets",
                    json={
                        "title": f"Set {n}.{k}",
                        "owner_id": user["id"],
                        "language_pair_id": pair["id"],
                        "words": {"hello": "hallo"},
                    },
                ).json()
                ids["sets"].append(vocabulary_set["id"])
            ids["users"].append(user["id"])
    return ids


def admin_request(cookies: list[str], ids: dict[str, list[int]]) -> Request:
    """What a logged-in admin's browser asks for: edit pages that load related rows,
    and the lookup their selects make. Each client sends its own login cookie."""
    own = itertools.cycle(cookies)

    async def request(client: Connection, n: int) -> Response:
        client.headers.setdefault("cookie", next(own))
        kind = n % 3
        if kind == 0:
            set_id = ids["sets"][n % len(ids["sets"])]
            return await client.get(f"/admin/vocabulary-sets/edit?pk={set_id}")
        if kind == 1:
            user_id = ids["users"][n % len(ids["users"])]
            return await client.get(f"/admin/users/edit?pk={user_id}")
        user_id = ids["users"][n % len(ids["users"])]
        return await client.get(f"/admin/_api/users/relation-lookup?pks={user_id}")

    return request


def api_request(ids: dict[str, list[int]]) -> Request:
    """JSON API reads and writes on the same rows the admin pages show."""

    async def request(client: Connection, n: int) -> Response:
        kind = n % 4
        user_id = ids["users"][n % len(ids["users"])]
        if kind == 0:
            body = {"title": f"Load {n}", "owner_id": user_id}
            return await client.post("/vocabulary-sets", json=body)
        if kind == 1:
            return await client.get(f"/users/{user_id}")
        if kind == 2:
            return await client.get("/vocabulary-sets?limit=20")
        return await client.get(f"/vocabulary-sets/{ids['sets'][n % len(ids['sets'])]}")

    return request


def describe(result: LoadResult) -> dict[str, object]:
    latencies = sorted(o.elapsed for o in result.outcomes)
    return {
        "requests": len(result.outcomes),
        "statuses": result.statuses(),
        "errors": sum(1 for o in result.outcomes if o.error is not None),
        "wall_s": round(result.wall_s, 2),
        "p50_s": round(latencies[len(latencies) // 2], 3),
        "p99_s": round(latencies[int(len(latencies) * 0.99)], 3),
    }


def test_admin_edit_pages_and_the_api_under_load_then_a_clean_shutdown(
    server: AppServer, admin_project: tuple[Path, str]
) -> None:
    url = admin_project[1]
    ids = seed_rows(server)
    cookies = [log_in(server) for _ in range(ADMIN_CLIENTS)]
    before = httpx.get(f"{server.url}/_admin_stats", timeout=5).json()["login_checks"]

    async def both() -> tuple[LoadResult, LoadResult]:
        admin_load = run_load(
            server.url,
            admin_request(cookies, ids),
            clients=ADMIN_CLIENTS,
            total=ADMIN_CLIENTS * REQUESTS_PER_CLIENT,
            timeout=60,
        )
        api_load = run_load(
            server.url,
            api_request(ids),
            clients=API_CLIENTS,
            total=API_CLIENTS * REQUESTS_PER_CLIENT,
            timeout=60,
        )
        return await asyncio.gather(admin_load, api_load)

    started = time.monotonic()
    admin, api = asyncio.run(both())
    figures = {
        "admin": describe(admin),
        "api": describe(api),
        "wall_s": round(time.monotonic() - started, 2),
    }
    sys.stdout.write(f"\nadmin concurrency figures: {json.dumps(figures)}\n")

    assert admin.statuses() == {200: ADMIN_CLIENTS * REQUESTS_PER_CLIENT}, figures
    api_ok = {s: c for s, c in api.statuses().items() if s in (200, 201)}
    assert api.statuses() == api_ok, figures
    assert sum(api_ok.values()) == API_CLIENTS * REQUESTS_PER_CLIENT
    # Every admin request resolved its login through the services: a read of
    # admin_sessions each (the seed's auth provider call path).
    after = httpx.get(f"{server.url}/_admin_stats", timeout=5).json()["login_checks"]
    assert after - before >= ADMIN_CLIENTS * REQUESTS_PER_CLIENT
    assert server.stats()["checked_out"] == 0
    assert_clean_log(server)

    # Shut down while the admin is still busy: nothing left behind.
    name = application_name(server)
    load = threading.Thread(
        target=lambda: asyncio.run(
            run_load(server.url, admin_request(cookies, ids), clients=20, duration=2.0)
        )
    )
    load.start()
    time.sleep(0.5)
    exit_code = server.stop()
    load.join(30)

    assert exit_code in (0, -15), server.log()[-3000:]
    assert "Application shutdown complete" in server.log()
    assert_clean_log(server)
    assert not re.search(r"non-checked-in connection", server.log())

    def app_connections() -> int:
        rows = sql(
            url,
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
            name,
        )
        return int(rows[0][0])

    wait_until(lambda: app_connections() == 0, timeout=2)
